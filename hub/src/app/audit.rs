//! The audit trail: reads of personal data recorded before the data leaves (group-committed, so
//! concurrent reads share one durable write), and reading the trail on the hub's host — the whole
//! chain checked, or one appeal's rows.

use chrono::{DateTime, Utc};

use super::group_commit::GroupCommit;
use super::{AppResult, Hotline};
use crate::audit::{self, AuditEntry, Finding};
use crate::domain::Caller;
use crate::domain::text::check_number;
use crate::store::{ReadAudit, Store};

/// Reads of personal data waiting for their audit rows' group commit.
pub(crate) type ReadAuditor = GroupCommit<ReadAudit, ()>;

fn start_auditor<S: Store>(store: S) -> ReadAuditor {
    let one = store.clone();
    GroupCommit::start(
        move |reads: Vec<ReadAudit>| {
            let store = store.clone();
            async move {
                store.audit_reads(&reads).await?;
                Ok(vec![(); reads.len()])
            }
        },
        move |read: ReadAudit| {
            let store = one.clone();
            async move {
                Ok(store
                    .audit_read(&read.caller, &read.appeal_number, read.now)
                    .await?)
            }
        },
    )
}

impl<S: Store> Hotline<S> {
    /// Records `caller`'s read of the appeal's personal data; returns once it is durable.
    pub(crate) async fn audit_read(
        &self,
        caller: &Caller,
        appeal_number: &str,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        self.auditor
            .get_or_init(|| start_auditor(self.store.clone()))
            .write(ReadAudit {
                caller: caller.clone(),
                appeal_number: appeal_number.to_string(),
                now,
            })
            .await
    }

    /// Walks the whole chain against its head and names the first altered or missing row.
    pub async fn verify_audit(&self) -> AppResult<Finding> {
        let rows = self.store.audit_trail(None).await?;
        let (head_seq, head_hash) = self.store.audit_head().await?;
        Ok(audit::verify(&rows, head_seq, &head_hash))
    }

    /// The audit trail in order (of one appeal, when a number is given).
    pub async fn audit_trail(&self, appeal_number: Option<&str>) -> AppResult<Vec<AuditEntry>> {
        let number = appeal_number
            .map(|n| check_number("appeal", n))
            .transpose()?;
        Ok(self.store.audit_trail(number.as_deref()).await?)
    }
}
