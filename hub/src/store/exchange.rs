//! The exchange's rows: links of appeals to partners (written with the change that makes them),
//! records held for classification, the partners' code mappings, their acknowledged cursors.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, ColumnIndex, Encode, Executor, IntoArguments, Row, Type};

use super::backend::{Backend, Column, SqlStore};
use super::rows::{EVENT_COLUMNS, stored};
use super::{ExchangeStore, HeldRecord, StoreError, StoreResult};
use crate::domain::exchange::{CodeMapping, ExchangeLink, MapKind};
use crate::domain::{Caller, Cursor, StoredEvent};

/// The columns of a held record.
const HELD_COLUMNS: &str = "id, partner, external_id, record, record_sha256, missing, \
    received_at, appeal_id";

impl<DB: Backend> ExchangeStore for SqlStore<DB>
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
    async fn link(
        &self,
        partner: &str,
        external_id: &str,
    ) -> StoreResult<Option<(i64, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT l.appeal_id, a.number, l.record_sha256 FROM exchange_links l \
             JOIN appeals a ON a.id = l.appeal_id WHERE l.partner = $1 AND l.external_id = $2",
        )
        .bind(partner.to_string())
        .bind(external_id.to_string())
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn registered_event(&self, appeal_id: i64) -> StoreResult<Option<StoredEvent>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events e JOIN appeals a ON a.id = e.appeal_id \
             WHERE e.appeal_id = $1 AND e.kind = 'appeal.registered' ORDER BY e.id LIMIT 1"
        ));
        let row = sqlx::query(sql)
            .bind(appeal_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::event_from_row).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn hold(&self, held: &HeldRecord, caller: &Caller) -> StoreResult<HeldRecord> {
        let mut tx = DB::begin_write(&self.pool).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO exchange_held (partner, external_id, record, record_sha256, missing, \
             received_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(held.partner.clone())
        .bind(held.external_id.clone())
        .bind(held.record.clone())
        .bind(held.record_sha256.clone())
        .bind(held.missing.clone())
        .bind(held.received_at)
        .fetch_one(&mut *tx)
        .await?;
        let detail = serde_json::json!({
            "partner": held.partner, "external_id": held.external_id, "missing": held.missing,
        });
        Self::append_audit(
            &mut tx,
            caller,
            None,
            "exchange.held",
            &detail.to_string(),
            held.received_at,
        )
        .await?;
        tx.commit().await?;
        Ok(HeldRecord { id, ..held.clone() })
    }

    #[tracing::instrument(skip_all)]
    async fn held_by_external(
        &self,
        partner: &str,
        external_id: &str,
    ) -> StoreResult<Option<HeldRecord>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {HELD_COLUMNS} FROM exchange_held WHERE partner = $1 AND external_id = $2"
        ));
        let row = sqlx::query(sql)
            .bind(partner.to_string())
            .bind(external_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::held_from_row).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn held_record(&self, id: i64) -> StoreResult<Option<HeldRecord>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {HELD_COLUMNS} FROM exchange_held WHERE id = $1"
        ));
        let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(Self::held_from_row).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn held_records(
        &self,
        partner: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<HeldRecord>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {HELD_COLUMNS} FROM exchange_held WHERE appeal_id IS NULL \
             AND ($1 IS NULL OR partner = $1) ORDER BY id LIMIT $2"
        ));
        let rows = sqlx::query(sql)
            .bind(partner.map(str::to_string))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::held_from_row).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn set_mapping(
        &self,
        m: &CodeMapping,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO exchange_mappings (partner, kind, theirs, ours) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (partner, kind, theirs) DO UPDATE SET ours = excluded.ours",
        )
        .bind(m.partner.clone())
        .bind(m.kind.code())
        .bind(m.theirs.clone())
        .bind(m.ours.clone())
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({
            "partner": m.partner, "kind": m.kind.code(), "theirs": m.theirs, "ours": m.ours,
        });
        Self::append_audit(
            &mut tx,
            caller,
            None,
            "exchange.mapping",
            &detail.to_string(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn mappings(&self, partner: &str) -> StoreResult<Vec<CodeMapping>> {
        let rows = sqlx::query(
            "SELECT partner, kind, theirs, ours FROM exchange_mappings WHERE partner = $1 \
             ORDER BY kind, theirs",
        )
        .bind(partner.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                Ok(CodeMapping {
                    partner: row.try_get("partner")?,
                    kind: stored::<MapKind>(&kind, "mapping kind")?,
                    theirs: row.try_get("theirs")?,
                    ours: row.try_get("ours")?,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn partner_cursor(&self, partner: &str) -> StoreResult<Option<Cursor>> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT txid, event_id FROM exchange_cursors WHERE partner = $1")
                .bind(partner.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(txid, id)| Cursor { txid, id }))
    }

    #[tracing::instrument(skip_all)]
    async fn acknowledge_partner(
        &self,
        partner: &str,
        cursor: Cursor,
        now: DateTime<Utc>,
    ) -> StoreResult<Cursor> {
        let mut tx = DB::begin_write(&self.pool).await?;
        let current: Option<(i64, i64)> =
            sqlx::query_as("SELECT txid, event_id FROM exchange_cursors WHERE partner = $1")
                .bind(partner.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let current = current.map(|(txid, id)| Cursor { txid, id });
        // Acknowledgements only move forward: a late, older one changes nothing.
        if current.is_some_and(|c| (c.txid, c.id) >= (cursor.txid, cursor.id)) {
            return Ok(current.unwrap_or_default());
        }
        sqlx::query(
            "INSERT INTO exchange_cursors (partner, txid, event_id, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (partner) DO UPDATE SET txid = excluded.txid, \
             event_id = excluded.event_id, updated_at = excluded.updated_at",
        )
        .bind(partner.to_string())
        .bind(cursor.txid)
        .bind(cursor.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(cursor)
    }

    #[tracing::instrument(skip_all)]
    async fn notices_at(&self, appeal_id: i64, at: DateTime<Utc>) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT text FROM notices WHERE appeal_id = $1 AND created_at = $2 ORDER BY id",
        )
        .bind(appeal_id)
        .bind(at)
        .fetch_all(&self.pool)
        .await?)
    }
}

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
    /// Links an appeal to a partner (in the caller's transaction); a held record it classifies is
    /// marked done. A second link of the same (partner, external id) is `AlreadyExists`.
    pub(super) async fn insert_link(
        conn: &mut DB::Connection,
        appeal_id: i64,
        link: &ExchangeLink,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM exchange_links WHERE partner = $1 AND external_id = $2",
        )
        .bind(link.partner.clone())
        .bind(link.external_id.clone())
        .fetch_one(&mut *conn)
        .await?;
        if taken > 0 {
            return Err(StoreError::AlreadyExists(format!(
                "{} of {} is already registered",
                link.external_id, link.partner
            )));
        }
        sqlx::query(
            "INSERT INTO exchange_links (appeal_id, partner, external_id, record_sha256, direction, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(appeal_id)
        .bind(link.partner.clone())
        .bind(link.external_id.clone())
        .bind(link.record_sha256.clone())
        .bind(link.direction.code())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if let Some(held) = link.held_id {
            sqlx::query("UPDATE exchange_held SET appeal_id = $1, resolved_at = $2 WHERE id = $3")
                .bind(appeal_id)
                .bind(now)
                .bind(held)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    fn held_from_row(row: &DB::Row) -> StoreResult<HeldRecord> {
        Ok(HeldRecord {
            id: row.try_get("id")?,
            partner: row.try_get("partner")?,
            external_id: row.try_get("external_id")?,
            record: row.try_get("record")?,
            record_sha256: row.try_get("record_sha256")?,
            missing: row.try_get("missing")?,
            received_at: row.try_get("received_at")?,
            appeal_id: row.try_get("appeal_id")?,
        })
    }
}
