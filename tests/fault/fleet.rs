//! What the fault tests put under load and then check: a hub run as the real `hub` binary (killed
//! with SIGKILL, restarted on the same address), a directory with as many authorities as the test
//! wants, and a fleet of agency clients in this process, each accepting every case it receives
//! through its outbox.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hotline_agency_client::{Action, Agency, ClientConfig};
use hotline_hub::app::Hotline;
use hotline_hub::domain::Caller;
use hotline_hub::principal::Principal;
use hotline_hub::starter::{self, DirectoryFile};
use hotline_hub::store::{self, AnyStore};
use hotline_proto::v1 as pb;
use hotline_tests::{DIRECTORY, TestPki, staff, tls_channel, wait_for};
use tokio::sync::watch;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The `hub` binary next to this test's executable (`target/<profile>/hub`).
pub fn hub_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let hub = dir.join("hub");
    assert!(
        hub.exists(),
        "{} is missing: build it first (cargo build -p hotline-hub --bin hub; .ci/run does)",
        hub.display()
    );
    hub
}

/// The code of the `i`-th generated authority.
pub fn authority(i: usize) -> String {
    format!("agency-{i:03}")
}

/// The test directory plus `extra` generated authorities, loaded into the database at `url`
/// (migrating it), the way `hub directory load` would.
pub async fn load_directory(url: &str, extra: usize) {
    let mut text = DIRECTORY.to_string();
    for i in 0..extra {
        text.push_str(&format!(
            "\n[[authorities]]\ncode = \"{}\"\nname = \"Орган {i}\"\nkind = \"utility\"\ndistrict = \"dniprovskyi\"\n",
            authority(i)
        ));
    }
    let file = DirectoryFile::parse(&text).expect("directory");
    let caller = Caller::system("fault test set-up");
    match store::open(url).await.expect("open database") {
        AnyStore::Sqlite(s) => {
            starter::load(&Hotline::new(s.clone()), &file, &caller)
                .await
                .expect("load");
            s.pool().close().await;
        }
        AnyStore::Postgres(s) => {
            starter::load(&Hotline::new(s.clone()), &file, &caller)
                .await
                .expect("load");
            s.pool().close().await;
        }
    }
}

/// A free port on 127.0.0.1 (bound, then released for the hub to take).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// The hub as a process of its own.
#[derive(Debug)]
pub struct HubProcess {
    /// Where it serves gRPC.
    pub addr: SocketAddr,
    /// Where it serves metrics.
    pub metrics: SocketAddr,
    /// Its stderr, for a failing test to show.
    pub log: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl HubProcess {
    /// Starts `hub serve` over `database_url` with the test PKI's files and waits until it serves.
    pub async fn start(database_url: &str, pki: &TestPki, data_dir: &Path) -> Self {
        let (addr, metrics) = (free_port(), free_port());
        let files = &pki.files;
        let path = |p: &Path| p.display().to_string();
        let args = vec![
            "serve".into(),
            "--listen".into(),
            addr.to_string(),
            "--metrics-listen".into(),
            metrics.to_string(),
            "--data-dir".into(),
            path(data_dir),
            "--database-url".into(),
            database_url.to_string(),
            "--tls-cert".into(),
            path(&files.cert),
            "--tls-key".into(),
            path(&files.key),
            "--client-ca".into(),
            path(&files.client_ca),
            "--no-starter".into(),
            "--heartbeat-secs".into(),
            "1".into(),
            "--readiness-drain-secs".into(),
            "0".into(),
        ];
        let mut hub = Self {
            addr,
            metrics,
            log: data_dir.join("hub.log"),
            args,
            child: None,
        };
        hub.spawn(pki).await;
        hub
    }

    async fn spawn(&mut self, pki: &TestPki) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("hub log");
        let child = Command::new(hub_binary())
            .args(&self.args)
            .env("HOTLINE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start the hub");
        self.child = Some(child);
        let addr = self.addr;
        wait_for(
            "the hub process to serve",
            Duration::from_secs(60),
            || async {
                let channel = tls_channel(
                    addr,
                    pki.ca.cert_pem(),
                    Some(&pki.client(&staff(hotline_hub::principal::StaffRole::Supervisor))),
                )
                .await
                .ok()?;
                let answer = HealthClient::new(channel)
                    .check(HealthCheckRequest::default())
                    .await
                    .ok()?;
                (answer.into_inner().status == 1).then_some(())
            },
        )
        .await;
    }

    /// `kill -9`: no shutdown, no flush, nothing.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL the hub");
            child.wait().expect("reap the hub");
        }
    }

    /// Its metrics, as Prometheus scrapes them (`GET /metrics`).
    pub async fn scrape(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut conn = tokio::net::TcpStream::connect(self.metrics)
            .await
            .expect("metrics listener");
        conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut text = String::new();
        conn.read_to_string(&mut text).await.unwrap();
        text
    }

    /// Starts it again with the same arguments (same address, same database).
    pub async fn restart(&mut self, pki: &TestPki) {
        self.kill9();
        self.spawn(pki).await;
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

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
