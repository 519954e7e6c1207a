//! The audit trail in the database: every change and every read of personal data, appended in the
//! transaction of what it records and chained by hash (see [`crate::audit`]). The head row's lock
//! serializes appends, so the chain never forks.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, QueryBuilder, Row, Type};

use super::backend::{Backend, Column, ROWS_PER_STATEMENT, SqlStore};
use super::{AuditLog, ReadAudit, StoreResult};
use crate::audit::AuditEntry;
use crate::domain::{AppealState, Caller, CaseEvent};

impl<DB: Backend> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    i32: Column<DB>,
    i64: Column<DB>,
    bool: Column<DB>,
    String: Column<DB>,
    Vec<u8>: Column<DB>,
    NaiveDate: Column<DB>,
    DateTime<Utc>: Column<DB>,
    Option<i64>: Column<DB>,
    Option<bool>: Column<DB>,
    Option<DateTime<Utc>>: Column<DB>,
    Option<String>: Column<DB>,
    Option<Vec<u8>>: Column<DB>,
    Option<i32>: Column<DB>,
    Option<NaiveDate>: Column<DB>,
    &'static str: Encode<'static, DB> + Type<DB>,
{
    /// Appends a row to the hash-chained audit trail, inside the caller's transaction.
    pub(super) async fn append_audit(
        conn: &mut DB::Connection,
        caller: &Caller,
        appeal_number: Option<&str>,
        action: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let row = audit_row(caller, appeal_number, action, detail, now);
        Self::append_audits(conn, vec![row]).await
    }

    /// Appends `rows` in order (their sequence numbers and hashes are given here), taking the chain's
    /// head once: three statements however many rows, so a group commit pays for one append.
    pub(super) async fn append_audits(
        conn: &mut DB::Connection,
        mut rows: Vec<AuditEntry>,
    ) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let count = rows.len() as i64;
        let (last, mut prev): (i64, String) =
            sqlx::query_as("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
                .bind(count)
                .fetch_one(&mut *conn)
                .await?;
        for (row, seq) in rows.iter_mut().zip(last - count + 1..) {
            row.seq = seq;
            row.prev_hash = prev;
            row.hash = row.expected_hash();
            prev = row.hash.clone();
        }
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO audit_log (seq, at, principal, rpc, appeal_number, action, detail, \
                 prev_hash, hash) ",
            );
            q.push_values(chunk, |mut b, row| {
                b.push_bind(row.seq)
                    .push_bind(row.at.clone())
                    .push_bind(row.principal.clone())
                    .push_bind(row.rpc.clone())
                    .push_bind(row.appeal_number.clone())
                    .push_bind(row.action.clone())
                    .push_bind(row.detail.clone())
                    .push_bind(row.prev_hash.clone())
                    .push_bind(row.hash.clone());
            });
            q.build().persistent(false).execute(&mut *conn).await?;
        }
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(prev)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

impl<DB: Backend> AuditLog for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    i32: Column<DB>,
    i64: Column<DB>,
    bool: Column<DB>,
    String: Column<DB>,
    Vec<u8>: Column<DB>,
    NaiveDate: Column<DB>,
    DateTime<Utc>: Column<DB>,
    Option<i64>: Column<DB>,
    Option<bool>: Column<DB>,
    Option<DateTime<Utc>>: Column<DB>,
    Option<String>: Column<DB>,
    Option<Vec<u8>>: Column<DB>,
    Option<i32>: Column<DB>,
    Option<NaiveDate>: Column<DB>,
    &'static str: Encode<'static, DB> + Type<DB>,
{
    #[tracing::instrument(skip_all)]
    async fn audit_action(
        &self,
        caller: &Caller,
        action: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.pool).await?;
        Self::append_audit(&mut tx, caller, None, action, detail, now).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn audit_read(
        &self,
        caller: &Caller,
        appeal_number: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.pool).await?;
        Self::append_audit(
            &mut tx,
            caller,
            Some(appeal_number),
            "read.personal_data",
            "{}",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn audit_reads(&self, reads: &[ReadAudit]) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.groups).await?;
        let rows = reads
            .iter()
            .map(|read| {
                let number = Some(read.appeal_number.as_str());
                audit_row(&read.caller, number, "read.personal_data", "{}", read.now)
            })
            .collect();
        Self::append_audits(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn audit_trail(&self, appeal_number: Option<&str>) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, principal, rpc, appeal_number, action, detail, prev_hash, hash \
             FROM audit_log WHERE ($1 IS NULL OR appeal_number = $1) ORDER BY seq",
        )
        .bind(appeal_number.map(str::to_string))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    seq: row.try_get("seq")?,
                    at: row.try_get("at")?,
                    principal: row.try_get("principal")?,
                    rpc: row.try_get("rpc")?,
                    appeal_number: row.try_get("appeal_number")?,
                    action: row.try_get("action")?,
                    detail: row.try_get("detail")?,
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn audit_head(&self) -> StoreResult<(i64, String)> {
        Ok(
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

/// An audit row before the chain gives it its place (sequence number and hashes).
pub(super) fn audit_row(
    caller: &Caller,
    appeal_number: Option<&str>,
    action: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at: now.to_rfc3339_opts(SecondsFormat::Micros, true),
        principal: caller.principal.clone(),
        rpc: caller.rpc.clone(),
        appeal_number: appeal_number.map(str::to_string),
        action: action.to_string(),
        detail: detail.to_string(),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// The audit row of a transition: its event kinds and the cases they touched.
pub(super) fn change_row(
    caller: &Caller,
    state: &AppealState,
    events: &[CaseEvent],
    now: DateTime<Utc>,
) -> AuditEntry {
    let action = events
        .iter()
        .map(|e| e.kind.code())
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<i64> = events
        .iter()
        .filter_map(|e| e.case.map(|i| state.cases[i].id))
        .collect();
    let detail = serde_json::json!({ "cases": cases }).to_string();
    audit_row(caller, Some(&state.appeal.number), &action, &detail, now)
}
