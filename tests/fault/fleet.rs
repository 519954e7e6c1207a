//! What the fault tests put under load and then check: the hub as a process of its own and a
//! directory of generated authorities (both in `hotline_tests::process`), and a fleet of agency
//! clients in this process, each accepting every case it receives through its outbox.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use hotline_agency_client::{Action, Agency, ClientConfig};
use hotline_hub::principal::Principal;
use hotline_proto::v1 as pb;
use hotline_tests::TestPki;
pub use hotline_tests::process::{HubProcess, authority, hub_binary, load_directory};
use tokio::sync::watch;

/// An agency client's configuration for `authority` against the hub at `hub`, with its own
/// temporary data directory and a certificate from `pki`.
pub fn agency_config(pki: &TestPki, hub: SocketAddr, authority: &str) -> ClientConfig {
    let dir = std::env::temp_dir().join(format!(
        "hotline-fault-{authority}-{}",
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).expect("agency dir");
    let issued = pki.client(&Principal::Agency {
        authority: authority.into(),
    });
    std::fs::write(dir.join("agency.pem"), &issued.cert_pem).expect("write");
    std::fs::write(dir.join("agency.key"), &issued.key_pem).expect("write");
    std::fs::write(dir.join("ca.pem"), pki.ca.cert_pem()).expect("write");
    ClientConfig {
        hub: format!("https://{hub}"),
        cert: dir.join("agency.pem"),
        key: dir.join("agency.key"),
        ca: dir.join("ca.pem"),
        receipt_key: None,
        hook_command: None,
        inbox_dir: None,
        max_backoff: Duration::from_millis(500),
        outbox_poll: Duration::from_millis(200),
        data_dir: dir,
    }
}

/// One agency client of the fleet: its daemon, and a driver that accepts every case it receives.
#[allow(missing_debug_implementations)] // the client holds pools and channels
pub struct Member {
    /// Its authority.
    pub authority: String,
    /// The client, to read its local store.
    pub agency: Agency,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts the agency client of `authority` against `hub`.
pub async fn member(pki: &TestPki, hub: SocketAddr, authority: &str) -> Member {
    let agency = Agency::open(agency_config(pki, hub, authority))
        .await
        .expect("open agency client");
    let (stop, stopped) = watch::channel(false);
    let daemon = agency.clone();
    let mut until = stopped.clone();
    let run = tokio::spawn(async move {
        daemon
            .run(async move {
                let _ = until.wait_for(|s| *s).await;
            })
            .await
            .expect("agency daemon");
    });
    let driver = agency.clone();
    let mut until = stopped;
    let accept = tokio::spawn(async move {
        let mut accepted = HashSet::new();
        loop {
            for case in driver.local.cases(None).await.unwrap_or_default() {
                let Some(c) = case.case else { continue };
                let waiting = c.status == pb::CaseStatus::Assigned as i32
                    || c.status == pb::CaseStatus::Delivered as i32;
                if waiting && accepted.insert(c.id) {
                    driver.act(c.id, Action::Accept).await.expect("outbox");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = until.wait_for(|s| *s) => return,
            }
        }
    });
    Member {
        authority: authority.to_string(),
        agency,
        stop,
        tasks: vec![run, accept],
    }
}

impl Member {
    /// Stops the daemon and the driver.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("the agency client stops")
                .expect("agency task");
        }
        let _ = std::fs::remove_dir_all(&self.agency.config.data_dir);
    }
}
