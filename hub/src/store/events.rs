//! The event log read by cursor. A reader reads only below [`Backend::read_horizon`], so it never
//! passes an event that a transaction still in flight could put before the ones it has seen.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, ColumnIndex, Encode, Executor, IntoArguments, Type};
use tokio::sync::watch;

use super::backend::{Backend, Column, SqlStore};
use super::rows::EVENT_COLUMNS;
use super::{EventFilter, EventLog, StoreResult};
use crate::domain::{Cursor, StoredEvent};

impl<DB: Backend> EventLog for SqlStore<DB>
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
    async fn events_after(
        &self,
        cursor: Cursor,
        filter: &EventFilter,
        limit: i64,
    ) -> StoreResult<Vec<StoredEvent>> {
        let horizon = DB::read_horizon(&self.pool).await?;
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events e JOIN appeals a ON a.id = e.appeal_id \
             WHERE (e.txid > $1 OR (e.txid = $1 AND e.id > $2)) AND e.txid < $3 \
             AND ($4 IS NULL OR e.appeal_id = $4) AND ($5 IS NULL OR e.authority_code = $5) \
             AND ($7 IS NULL OR e.appeal_id IN \
                  (SELECT l.appeal_id FROM exchange_links l WHERE l.partner = $7)) \
             ORDER BY e.txid, e.id LIMIT $6"
        ));
        let rows = sqlx::query(sql)
            .bind(cursor.txid)
            .bind(cursor.id)
            .bind(horizon)
            .bind(filter.appeal_id)
            .bind(filter.authority.clone())
            .bind(limit)
            .bind(filter.partner.clone())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::event_from_row).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn history(&self, appeal_id: i64, limit: i64) -> StoreResult<Vec<StoredEvent>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events e JOIN appeals a ON a.id = e.appeal_id \
             WHERE e.appeal_id = $1 ORDER BY e.id LIMIT $2"
        ));
        let rows = sqlx::query(sql)
            .bind(appeal_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::event_from_row).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn has_position(&self, cursor: Cursor, authority: Option<&str>) -> StoreResult<bool> {
        if cursor == Cursor::default() {
            return Ok(true);
        }
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM events WHERE id = $1 AND txid = $2 \
             AND ($3 IS NULL OR authority_code = $3)",
        )
        .bind(cursor.id)
        .bind(cursor.txid)
        .bind(authority.map(str::to_string))
        .fetch_one(&self.pool)
        .await?;
        Ok(found > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn last_event_id(&self) -> StoreResult<i64> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(id.unwrap_or(0))
    }

    #[tracing::instrument(skip_all)]
    async fn settled_cursor(&self) -> StoreResult<Cursor> {
        let horizon = DB::read_horizon(&self.pool).await?;
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT txid, id FROM events WHERE txid < $1 ORDER BY txid DESC, id DESC LIMIT 1",
        )
        .bind(horizon)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|(txid, id)| Cursor { txid, id })
            .unwrap_or_default())
    }

    fn commits(&self) -> watch::Receiver<u64> {
        self.commits.subscribe()
    }
}
