//! What operating the hub reads and writes in the database: how far each authority has
//! acknowledged its feed and how many events it is behind, the deadline counts, the pool's use,
//! an online backup of the SQLite file, and the marks `hub restore` leaves so that agency cursors
//! from the replaced history are re-based rather than followed.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, ColumnIndex, Encode, Executor, IntoArguments, Type};

use super::backend::{Backend, Column, SqlStore, codes};
use super::{StoreError, StoreResult};
use crate::domain::{CaseStatus, Cursor};

/// How far one authority has acknowledged its feed, and what waits after that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPosition {
    /// The authority.
    pub authority: String,
    /// The last position it acknowledged and when, if it ever did.
    pub acked: Option<(Cursor, DateTime<Utc>)>,
    /// Events of its cases after that position.
    pub behind: i64,
}

/// The connection pool's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolUse {
    /// Connections open (busy or idle).
    pub open: u32,
    /// Of those, idle.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

/// One restore of a backup into this database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreMark {
    /// When.
    pub restored_at: DateTime<Utc>,
    /// The backup's last event id.
    pub backup_last_event: i64,
    /// The first event id given out after the restore; ids in between never exist here.
    pub resumed_at_event: i64,
}

/// The tables whose ids people or agency clients see (case ids, event ids, notice ids, …): after a
/// restore none of them may give out an id again that the replaced history gave out.
pub const ID_TABLES: [&str; 5] = ["appeals", "cases", "events", "attachments", "notices"];

/// The highest id of each of [`ID_TABLES`] and the last appeal number of each year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMarks {
    /// (table, highest id) for each of [`ID_TABLES`].
    pub ids: Vec<(String, i64)>,
    /// (year, last appeal number given out).
    pub numbers: Vec<(i32, i64)>,
}

/// The operations queries.
pub trait OperationsQueries {
    /// Every authority that has events or has acknowledged, with its position and lag.
    fn feed_positions(&self) -> impl Future<Output = StoreResult<Vec<FeedPosition>>> + Send;
    /// Open cases owing an answer: (due by `due_by` but not overdue, overdue before `today`).
    fn deadline_counts(
        &self,
        today: NaiveDate,
        due_by: NaiveDate,
    ) -> impl Future<Output = StoreResult<(i64, i64)>> + Send;
    /// The pool's use now.
    fn pool_use(&self) -> PoolUse;
    /// Writes a consistent copy of the whole database to `path` while the hub runs (SQLite's
    /// `VACUUM INTO`); PostgreSQL is backed up with `pg_dump` instead.
    fn backup_into(&self, path: &str) -> impl Future<Output = StoreResult<()>> + Send;
    /// The highest ids and appeal numbers given out so far.
    fn id_marks(&self) -> impl Future<Output = StoreResult<IdMarks>> + Send;
    /// Marks this database as restored from a backup: every id of [`ID_TABLES`] and every year's
    /// appeal numbers continue after `given_out` (or after what the database holds, if higher),
    /// and the mark is recorded, audited. Returns it.
    fn mark_restore(
        &self,
        given_out: &IdMarks,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<RestoreMark>> + Send;
    /// Every restore recorded, oldest first.
    fn restore_marks(&self) -> impl Future<Output = StoreResult<Vec<RestoreMark>>> + Send;
    /// The last position of `authority`'s events with an id at most `last_id` (the start when it
    /// has none).
    fn last_position_up_to(
        &self,
        authority: &str,
        last_id: i64,
    ) -> impl Future<Output = StoreResult<Cursor>> + Send;
}

impl<DB: Backend> OperationsQueries for SqlStore<DB>
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
    async fn feed_positions(&self) -> StoreResult<Vec<FeedPosition>> {
        let acked: Vec<(String, i64, i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT authority_code, txid, event_id, acked_at FROM agency_cursors \
             ORDER BY authority_code",
        )
        .fetch_all(&self.pool)
        .await?;
        let behind: Vec<(String, i64)> = sqlx::query_as(
            "SELECT e.authority_code, COUNT(*) FROM events e \
             LEFT JOIN agency_cursors c ON c.authority_code = e.authority_code \
             WHERE e.authority_code IS NOT NULL AND (c.authority_code IS NULL \
             OR e.txid > c.txid OR (e.txid = c.txid AND e.id > c.event_id)) \
             GROUP BY e.authority_code",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut positions: std::collections::BTreeMap<String, FeedPosition> = acked
            .into_iter()
            .map(|(authority, txid, id, at)| {
                let position = FeedPosition {
                    authority: authority.clone(),
                    acked: Some((Cursor { txid, id }, at)),
                    behind: 0,
                };
                (authority, position)
            })
            .collect();
        for (authority, count) in behind {
            positions
                .entry(authority.clone())
                .or_insert(FeedPosition {
                    authority,
                    acked: None,
                    behind: 0,
                })
                .behind = count;
        }
        Ok(positions.into_values().collect())
    }

    #[tracing::instrument(skip_all)]
    async fn deadline_counts(
        &self,
        today: NaiveDate,
        due_by: NaiveDate,
    ) -> StoreResult<(i64, i64)> {
        let sql = AssertSqlSafe(format!(
            "SELECT COALESCE(SUM(CASE WHEN deadline >= $1 AND deadline <= $2 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN deadline < $1 THEN 1 ELSE 0 END), 0) \
             FROM cases WHERE status IN ({})",
            codes(CaseStatus::awaits_answer)
        ));
        let (soon, overdue): (i64, i64) = sqlx::query_as(sql)
            .bind(today)
            .bind(due_by)
            .fetch_one(&self.pool)
            .await?;
        Ok((soon, overdue))
    }

    fn pool_use(&self) -> PoolUse {
        PoolUse {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    #[tracing::instrument(skip_all)]
    async fn backup_into(&self, path: &str) -> StoreResult<()> {
        if DB::NAME != "SQLite" {
            return Err(StoreError::Internal(
                "an online backup from the hub is for SQLite; back PostgreSQL up with pg_dump"
                    .into(),
            ));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn id_marks(&self) -> StoreResult<IdMarks> {
        let mut ids = Vec::new();
        for table in ID_TABLES {
            let sql = AssertSqlSafe(format!("SELECT MAX(id) FROM {table}"));
            let max: Option<i64> = sqlx::query_scalar(sql).fetch_one(&self.pool).await?;
            ids.push((table.to_string(), max.unwrap_or(0)));
        }
        let numbers: Vec<(i32, i64)> =
            sqlx::query_as("SELECT year, last FROM appeal_numbers ORDER BY year")
                .fetch_all(&self.pool)
                .await?;
        Ok(IdMarks { ids, numbers })
    }

    #[tracing::instrument(skip_all)]
    async fn mark_restore(
        &self,
        given_out: &IdMarks,
        now: DateTime<Utc>,
    ) -> StoreResult<RestoreMark> {
        let mut tx = DB::begin_write(&self.pool).await?;
        if DB::NAME != "SQLite" {
            // Readers order events by (transaction id, id): new events must sort after the
            // restored ones, which holds on the server the backup came from (transaction ids only
            // grow) but not on a younger one.
            let behind: bool = sqlx::query_scalar(
                "SELECT COALESCE(MAX(txid), 0) >= pg_current_xact_id()::text::bigint FROM events",
            )
            .fetch_one(&mut *tx)
            .await?;
            if behind {
                return Err(StoreError::Internal(
                    "the restored events carry transaction ids ahead of this server's; restore \
                     onto the server the backup came from (or one that has run more transactions)"
                        .into(),
                ));
            }
        }
        let mut backup_last_event = 0;
        let mut resumed_at_event = 1;
        for table in ID_TABLES {
            let sql = AssertSqlSafe(format!("SELECT MAX(id) FROM {table}"));
            let held: Option<i64> = sqlx::query_scalar(sql).fetch_one(&mut *tx).await?;
            let held = held.unwrap_or(0);
            let floor = given_out
                .ids
                .iter()
                .find(|(t, _)| t == table)
                .map_or(0, |(_, id)| *id);
            // The next id this table gives out.
            let next = held.max(floor) + 1;
            if DB::NAME == "SQLite" {
                sqlx::query("DELETE FROM sqlite_sequence WHERE name = $1")
                    .bind(table.to_string())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ($1, $2)")
                    .bind(table.to_string())
                    .bind(next - 1)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query("SELECT setval(pg_get_serial_sequence($1, 'id'), $2, false)")
                    .bind(table.to_string())
                    .bind(next)
                    .execute(&mut *tx)
                    .await?;
            }
            if table == "events" {
                (backup_last_event, resumed_at_event) = (held, next);
            }
        }
        for (year, last) in &given_out.numbers {
            sqlx::query(
                "INSERT INTO appeal_numbers (year, last) VALUES ($1, $2) ON CONFLICT (year) \
                 DO UPDATE SET last = CASE WHEN excluded.last > appeal_numbers.last \
                 THEN excluded.last ELSE appeal_numbers.last END",
            )
            .bind(*year)
            .bind(*last)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO restores (restored_at, backup_last_event, resumed_at_event) \
             VALUES ($1, $2, $3)",
        )
        .bind(now)
        .bind(backup_last_event)
        .bind(resumed_at_event)
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({
            "backup_last_event": backup_last_event,
            "resumed_at_event": resumed_at_event,
        })
        .to_string();
        Self::append_audit(
            &mut tx,
            &crate::domain::Caller::system("hub restore"),
            None,
            "hub.restored",
            &detail,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(RestoreMark {
            restored_at: now,
            backup_last_event,
            resumed_at_event,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn restore_marks(&self) -> StoreResult<Vec<RestoreMark>> {
        let rows: Vec<(DateTime<Utc>, i64, i64)> = sqlx::query_as(
            "SELECT restored_at, backup_last_event, resumed_at_event FROM restores ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(restored_at, backup_last_event, resumed_at_event)| RestoreMark {
                    restored_at,
                    backup_last_event,
                    resumed_at_event,
                },
            )
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn last_position_up_to(&self, authority: &str, last_id: i64) -> StoreResult<Cursor> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT txid, id FROM events WHERE authority_code = $1 AND id <= $2 \
             ORDER BY txid DESC, id DESC LIMIT 1",
        )
        .bind(authority.to_string())
        .bind(last_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or_else(Cursor::default, |(txid, id)| Cursor { txid, id }))
    }
}

/// True when the PostgreSQL database at `url` has no table in its schema: a database made for a
/// restore (`pg_restore` then creates the tables as the backup has them). Nothing is migrated.
pub async fn postgres_is_empty(url: &str) -> StoreResult<bool> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_one(&mut conn)
    .await?;
    let _ = conn.close().await;
    Ok(tables == 0)
}
