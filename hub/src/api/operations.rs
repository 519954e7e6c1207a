//! `hotline.v1.Operations`: the hub's status for the staff on duty (supervisors, analysts,
//! admins): connected and silent authorities, lagging streams, last failed calls, deadlines, the
//! database.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hotline_proto::v1 as pb;
use hotline_proto::v1::operations_server::Operations;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use super::convert::time;
use super::error::status;
use crate::app::operations::AuthorityOps;
use crate::app::{Hotline, Store};
use crate::presence::Presence;

/// Silence threshold when the request names none.
const DEFAULT_SILENT_HOURS: u32 = 24;

/// The operations service.
#[derive(Debug, Clone)]
pub struct OperationsApi<S> {
    hotline: Hotline<S>,
    presence: Arc<Presence>,
    /// Days before a deadline a case counts as due soon (the deadline monitor's margin).
    due_soon_days: u64,
    started_at: DateTime<Utc>,
    /// True once the hub drains for shutdown.
    draining: watch::Receiver<bool>,
}

impl<S: Store> OperationsApi<S> {
    /// The service over `hotline` and this hub's `presence`.
    pub fn new(
        hotline: Hotline<S>,
        presence: Arc<Presence>,
        due_soon_days: u64,
        draining: watch::Receiver<bool>,
    ) -> Self {
        Self {
            started_at: hotline.now(),
            hotline,
            presence,
            due_soon_days,
            draining,
        }
    }
}

fn optional_time(at: Option<DateTime<Utc>>) -> String {
    at.map(time).unwrap_or_default()
}

fn authority_to_pb(a: AuthorityOps) -> pb::AuthorityStatus {
    let error = a.last_error.clone();
    pb::AuthorityStatus {
        code: a.code,
        name: a.name,
        streams: a.streams,
        last_contact: optional_time(a.last_contact),
        acked_cursor: a.acked.map(|(c, _)| c.to_string()).unwrap_or_default(),
        acked_at: optional_time(a.acked.map(|(_, at)| at)),
        events_behind: a.behind,
        silent: a.silent,
        last_error_at: optional_time(error.as_ref().map(|e| e.at)),
        last_error_rpc: error.as_ref().map(|e| e.rpc.clone()).unwrap_or_default(),
        last_error_code: error.map(|e| e.code).unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl<S: Store> Operations for OperationsApi<S> {
    async fn get_status(
        &self,
        request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::OperationsStatus>, Status> {
        let hours = match request.into_inner().silent_after_hours {
            0 => DEFAULT_SILENT_HOURS,
            h => h.min(24 * 366),
        };
        let s = self
            .hotline
            .operations_status(
                &self.presence,
                chrono::Duration::hours(i64::from(hours)),
                self.due_soon_days,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::OperationsStatus {
            now: time(s.now),
            started_at: time(self.started_at),
            database_up: s.database_up,
            draining: *self.draining.borrow(),
            last_event_id: s.last_event_id,
            cases_due_soon: s.due_soon,
            cases_overdue: s.overdue,
            connected_agencies: s.connected,
            authorities: s.authorities.into_iter().map(authority_to_pb).collect(),
            db_pool_open: s.pool.open,
            db_pool_idle: s.pool.idle,
            db_pool_max: s.pool.max,
            restores: s
                .restores
                .into_iter()
                .map(|r| pb::RestoreMark {
                    restored_at: time(r.restored_at),
                    backup_last_event: r.backup_last_event,
                    resumed_at_event: r.resumed_at_event,
                })
                .collect(),
        }))
    }
}
