//! The deadline monitor: announces, once per deadline, the cases due soon and those overdue, as
//! events that reach the authority's stream and the watch stream. One hub of several sharing a
//! database runs it at a time, through a lease.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::{AppResult, Hotline};
use crate::domain::Caller;
use crate::domain::deadline::kyiv_date;
use crate::store::{AppealKey, Store};

/// The lease's name.
const LEASE: &str = "deadline-monitor";

impl<S: Store> Hotline<S> {
    /// One run of the monitor as of `at`: announces the cases due within `due_soon_days` and those
    /// overdue, and the appeals still unassigned after the configured hours. Returns how many cases
    /// and appeals were examined.
    pub async fn announce_deadlines(
        &self,
        due_soon_days: u64,
        at: DateTime<Utc>,
    ) -> AppResult<usize> {
        let today = kyiv_date(at);
        let ids = self
            .store
            .cases_to_announce(today, today + chrono::Days::new(due_soon_days), at)
            .await?;
        let caller = Caller::system("deadline monitor");
        let warning = chrono::Duration::hours(self.limits.emergency_warning_hours);
        for id in &ids {
            self.store
                .transact(
                    &AppealKey::Case(*id),
                    &caller,
                    at,
                    self.noticed(|s| Ok(s.mark_deadlines(due_soon_days, warning, at))),
                )
                .await?;
        }
        let after = chrono::Duration::hours(self.limits.unassigned_hours);
        let unassigned = self.store.unassigned_to_announce(at - after).await?;
        for number in &unassigned {
            self.store
                .transact(
                    &AppealKey::Number(number.clone()),
                    &caller,
                    at,
                    self.noticed(|s| Ok(s.mark_unassigned(after, at))),
                )
                .await?;
        }
        let incidents = self.pass_incident_answers().await?;
        Ok(ids.len() + unassigned.len() + incidents)
    }

    /// Runs the monitor every `interval` while this hub holds the cluster's lease, until `stop`
    /// turns true. A restart announces nothing twice: each announcement is recorded with its event.
    pub async fn run_deadline_monitor(
        self,
        interval: Duration,
        due_soon_days: u64,
        mut stop: watch::Receiver<bool>,
    ) {
        let holder = uuid::Uuid::new_v4().to_string();
        loop {
            let now = self.now();
            let until = now
                + chrono::Duration::from_std(interval * 3).unwrap_or(chrono::Duration::minutes(3));
            match self.store.try_lease(LEASE, &holder, until, now).await {
                Ok(true) => {
                    if let Err(err) = self.announce_deadlines(due_soon_days, now).await {
                        tracing::warn!(error = %err, "deadline monitor run failed; retrying next time");
                    }
                }
                Ok(false) => tracing::debug!("another hub runs the deadline monitor"),
                Err(err) => tracing::warn!(error = %err, "deadline monitor cannot take its lease"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.wait_for(|down| *down) => return,
            }
        }
    }
}
