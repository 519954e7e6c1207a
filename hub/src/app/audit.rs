//! Reading the audit trail on the hub's host: the whole chain checked, or one appeal's rows.

use super::{AppResult, Hotline};
use crate::audit::{self, AuditEntry, Finding};
use crate::domain::text::check_number;
use crate::store::Store;

impl<S: Store> Hotline<S> {
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
