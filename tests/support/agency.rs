//! An agency client daemon running inside the test process against a [`TestHub`], with its own
//! local store, stopped on request so a test can restart it or inspect what it kept.

use std::time::Duration;

use hotline_agency_client::Agency;
use hotline_hub::domain::CaseStatus;
use hotline_hub::store::{AppealKey, Store};
use tokio::sync::watch;

use crate::TestHub;

/// An agency client daemon running in this process until [`RunningAgency::stop`].
#[allow(missing_debug_implementations)] // the client holds connections and pools
pub struct RunningAgency {
    /// The client, for sending actions and reading its local store.
    pub agency: Agency,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Opens the agency client of `authority` (its certificate made by the hub's test CA) and runs
/// its daemon.
pub async fn start_agency<S: Store>(hub: &TestHub<S>, authority: &str) -> RunningAgency {
    let agency = Agency::open(hub.agency_config(authority))
        .await
        .expect("open agency client");
    let (stop, mut stopped) = watch::channel(false);
    let daemon = agency.clone();
    let task = tokio::spawn(async move {
        daemon
            .run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
            .expect("agency daemon");
    });
    RunningAgency { agency, stop, task }
}

impl RunningAgency {
    /// Stops the daemon and waits (at most 10 s) for it to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("daemon stops")
            .unwrap();
    }
}

/// Where case `case_id` stands on the hub, read from its store.
pub async fn case_status<S: Store>(hub: &TestHub<S>, case_id: i64) -> CaseStatus {
    let state = hub
        .store
        .load(&AppealKey::Case(case_id))
        .await
        .unwrap()
        .unwrap();
    state.cases.iter().find(|c| c.id == case_id).unwrap().status
}
