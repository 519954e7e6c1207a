//! Operating the hub: the on-duty status (`hub status`), the collector that keeps the metrics'
//! database-derived gauges fresh, backup and restore of the database, and the re-basing of an
//! agency cursor that a restore left pointing into history this log no longer has.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::{AppResult, Hotline};
use crate::domain::Cursor;
use crate::domain::deadline::kyiv_date;
use crate::metrics::HubMetrics;
use crate::presence::{LastError, Presence};
use crate::store::{IdMarks, PoolUse, RestoreMark, Store};

/// One authority as this hub sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityOps {
    /// Directory code.
    pub code: String,
    /// Directory name.
    pub name: String,
    /// Case streams open on this hub.
    pub streams: u32,
    /// Its last call to this hub, or its last acknowledgement (which any hub records).
    pub last_contact: Option<DateTime<Utc>>,
    /// Its last acknowledged position and when.
    pub acked: Option<(Cursor, DateTime<Utc>)>,
    /// Events of its cases after that position.
    pub behind: i64,
    /// Not connected, and not heard from within the silence threshold.
    pub silent: bool,
    /// Its last call on this hub that did not end OK.
    pub last_error: Option<LastError>,
}

/// The hub's status for the staff on duty.
#[derive(Debug, Clone)]
pub struct OperationsStatus {
    /// When it was taken.
    pub now: DateTime<Utc>,
    /// The database answered.
    pub database_up: bool,
    /// The event log's highest id.
    pub last_event_id: i64,
    /// Open cases due within the margin.
    pub due_soon: i64,
    /// Open cases past their deadline.
    pub overdue: i64,
    /// Authorities with a stream open here.
    pub connected: u32,
    /// Every active authority: silent first, then by lag, then by code.
    pub authorities: Vec<AuthorityOps>,
    /// The database pool.
    pub pool: PoolUse,
    /// Restores of a backup into this database.
    pub restores: Vec<RestoreMark>,
}

impl<S: Store> Hotline<S> {
    /// The status: the directory's active authorities with what this hub's `presence` and the
    /// database say of them. An authority is silent when it has no stream open and was last heard
    /// of more than `silent_after` ago (or never).
    pub async fn operations_status(
        &self,
        presence: &Presence,
        silent_after: chrono::Duration,
        due_soon_days: u64,
    ) -> AppResult<OperationsStatus> {
        let now = self.now();
        let today = kyiv_date(now);
        let (due_soon, overdue) = self
            .store
            .deadline_counts(today, today + chrono::Days::new(due_soon_days))
            .await?;
        let positions = self.store.feed_positions().await?;
        let seen = presence.snapshot();
        let mut authorities: Vec<AuthorityOps> = self
            .store
            .list_authorities(false)
            .await?
            .into_iter()
            .map(|a| {
                let here = seen.get(&a.code).cloned().unwrap_or_default();
                let feed = positions.iter().find(|p| p.authority == a.code);
                let acked = feed.and_then(|p| p.acked);
                let last_contact = here.last_contact.max(acked.map(|(_, at)| at));
                let silent = here.streams == 0
                    && last_contact.is_none_or(|at| now.signed_duration_since(at) > silent_after);
                AuthorityOps {
                    code: a.code,
                    name: a.name,
                    streams: here.streams,
                    last_contact,
                    acked,
                    behind: feed.map_or(0, |p| p.behind),
                    silent,
                    last_error: here.last_error,
                }
            })
            .collect();
        authorities
            .sort_by(|a, b| (!a.silent, -a.behind, &a.code).cmp(&(!b.silent, -b.behind, &b.code)));
        Ok(OperationsStatus {
            now,
            database_up: true,
            last_event_id: self.store.last_event_id().await?,
            due_soon,
            overdue,
            connected: u32::try_from(presence.connected()).unwrap_or(u32::MAX),
            authorities,
            pool: self.store.pool_use(),
            restores: self.store.restore_marks().await?,
        })
    }

    /// Sets the gauges that come from the database and from `presence`.
    pub async fn refresh_metrics(
        &self,
        metrics: &HubMetrics,
        presence: &Presence,
        due_soon_days: u64,
    ) -> AppResult<()> {
        let pool = self.store.pool_use();
        metrics
            .db_pool_connections
            .with_label_values(&["in_use"])
            .set(i64::from(pool.open.saturating_sub(pool.idle)));
        metrics
            .db_pool_connections
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle));
        metrics
            .db_pool_connections
            .with_label_values(&["max"])
            .set(i64::from(pool.max));
        for (code, here) in presence.snapshot() {
            metrics
                .agency_streams
                .with_label_values(&[code.as_str()])
                .set(i64::from(here.streams));
            if let Some(at) = here.last_contact {
                metrics
                    .last_contact_seconds
                    .with_label_values(&[code.as_str()])
                    .set(at.timestamp());
            }
        }
        metrics
            .connected_agencies
            .set(i64::try_from(presence.connected()).unwrap_or(i64::MAX));
        let up = self.store.ping().await.is_ok();
        metrics.db_up.set(i64::from(up));
        if !up {
            return Ok(());
        }
        let now = self.now();
        let today = kyiv_date(now);
        let (due_soon, overdue) = self
            .store
            .deadline_counts(today, today + chrono::Days::new(due_soon_days))
            .await?;
        metrics
            .deadline_cases
            .with_label_values(&["due_soon"])
            .set(due_soon);
        metrics
            .deadline_cases
            .with_label_values(&["overdue"])
            .set(overdue);
        for position in self.store.feed_positions().await? {
            let authority = position.authority.as_str();
            metrics
                .stream_lag_events
                .with_label_values(&[authority])
                .set(position.behind);
            if let Some((_, at)) = position.acked {
                let gauge = metrics.last_contact_seconds.with_label_values(&[authority]);
                gauge.set(gauge.get().max(at.timestamp()));
            }
        }
        metrics
            .events_last_id
            .set(self.store.last_event_id().await?);
        metrics.audit_head_seq.set(self.store.audit_head().await?.0);
        Ok(())
    }

    /// Refreshes the metrics every `every` until `stop`.
    pub async fn run_metrics_collector(
        self,
        metrics: std::sync::Arc<HubMetrics>,
        presence: std::sync::Arc<Presence>,
        every: Duration,
        due_soon_days: u64,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            if let Err(err) = self
                .refresh_metrics(&metrics, &presence, due_soon_days)
                .await
            {
                tracing::debug!(error = %err, "metrics not refreshed");
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// The cursor `authority`'s stream or acknowledgement continues from: `cursor` itself when it
    /// is a position of this log; re-based onto the restored log when it lies in history that a
    /// restore replaced (ids after the backup's last event and before the first id given out
    /// after the restore): the authority's last event up to the backup, from which everything it
    /// has not seen follows. Any other cursor is refused, as ever: it is never followed silently.
    pub async fn admit_agency_cursor(&self, cursor: Cursor, authority: &str) -> AppResult<Cursor> {
        if self.store.has_position(cursor, Some(authority)).await? {
            return Ok(cursor);
        }
        for mark in self.store.restore_marks().await?.into_iter().rev() {
            if cursor.id > mark.backup_last_event && cursor.id < mark.resumed_at_event {
                let rebased = self
                    .store
                    .last_position_up_to(authority, mark.backup_last_event)
                    .await?;
                tracing::warn!(
                    %authority, from = %cursor, to = %rebased,
                    "agency cursor from before the restore re-based onto the restored log"
                );
                return Ok(rebased);
            }
        }
        self.check_cursor(cursor, Some(authority)).await?;
        Ok(cursor)
    }

    /// Writes a consistent copy of the (SQLite) database to `path` while the hub runs.
    pub async fn backup_into(&self, path: &str) -> AppResult<()> {
        Ok(self.store.backup_into(path).await?)
    }

    /// Records that this database was just restored from a backup: ids and appeal numbers
    /// continue after `given_out`, so nothing the replaced history gave out is given again.
    pub async fn mark_restore(&self, given_out: &IdMarks) -> AppResult<RestoreMark> {
        Ok(self.store.mark_restore(given_out, self.now()).await?)
    }

    /// The highest ids and appeal numbers given out (for `hub restore`).
    pub async fn id_marks(&self) -> AppResult<IdMarks> {
        Ok(self.store.id_marks().await?)
    }

    /// The highest event id.
    pub async fn last_event_id(&self) -> AppResult<i64> {
        Ok(self.store.last_event_id().await?)
    }
}
