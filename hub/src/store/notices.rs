//! Notices to the citizen: written with the change that requires them (a transactional outbox),
//! listed for the operators who call or post them, marked done, and sent by e-mail by the hub.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, ColumnIndex, Encode, Executor, IntoArguments, QueryBuilder, Row, Type};

use super::backend::{Backend, Column, ROWS_PER_STATEMENT, SqlStore};
use super::rows::stored;
use super::{NoticeFilter, NoticeStore, StoreResult, StoredNotice};
use crate::domain::{Caller, Notice, NoticeChannel, NoticeKind, NoticeStatus};

/// The columns of a notice row (`n`) with its appeal's number (`a`).
const NOTICE_COLUMNS: &str = "n.id, a.number, n.kind, n.channel, n.status, n.address, n.text, \
    n.attempts, n.last_error, n.created_at, n.done_at, n.done_by";

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
    /// Queues the notices of several appeals, one statement for many.
    pub(super) async fn insert_notices(
        conn: &mut DB::Connection,
        notices: &[(i64, &[Notice], DateTime<Utc>)],
    ) -> StoreResult<()> {
        let rows: Vec<(i64, &Notice, DateTime<Utc>)> = notices
            .iter()
            .flat_map(|&(appeal_id, list, now)| list.iter().map(move |n| (appeal_id, n, now)))
            .collect();
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO notices (appeal_id, kind, channel, status, address, text, created_at) ",
            );
            q.push_values(chunk, |mut b, (appeal_id, n, now)| {
                b.push_bind(*appeal_id)
                    .push_bind(n.kind.code())
                    .push_bind(n.channel.code())
                    .push_bind(NoticeStatus::Pending.code())
                    .push_bind(n.address.clone())
                    .push_bind(n.text.clone())
                    .push_bind(*now);
            });
            q.build().persistent(false).execute(&mut *conn).await?;
        }
        Ok(())
    }

    fn notice_from_row(row: &DB::Row) -> StoreResult<StoredNotice> {
        let kind: String = row.try_get("kind")?;
        let channel: String = row.try_get("channel")?;
        let status: String = row.try_get("status")?;
        Ok(StoredNotice {
            id: row.try_get("id")?,
            appeal_number: row.try_get("number")?,
            kind: stored::<NoticeKind>(&kind, "notice kind")?,
            channel: stored::<NoticeChannel>(&channel, "notice channel")?,
            status: stored::<NoticeStatus>(&status, "notice status")?,
            address: row.try_get("address")?,
            text: row.try_get("text")?,
            attempts: row.try_get("attempts")?,
            last_error: row.try_get("last_error")?,
            created_at: row.try_get("created_at")?,
            done_at: row.try_get("done_at")?,
            done_by: row.try_get("done_by")?,
        })
    }
}

impl<DB: Backend> NoticeStore for SqlStore<DB>
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
    async fn notices(&self, filter: &NoticeFilter) -> StoreResult<Vec<StoredNotice>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {NOTICE_COLUMNS} FROM notices n JOIN appeals a ON a.id = n.appeal_id \
             WHERE ($1 IS NULL OR n.status = $1) AND ($2 IS NULL OR n.channel = $2) \
             AND ($3 IS NULL OR a.number = $3) ORDER BY n.id LIMIT $4"
        ));
        let rows = sqlx::query(sql)
            .bind(filter.status.map(|s| s.code().to_string()))
            .bind(filter.channel.map(|c| c.code().to_string()))
            .bind(filter.appeal_number.clone())
            .bind(filter.limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::notice_from_row).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn mark_notice_done(
        &self,
        id: i64,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredNotice>> {
        let mut tx = DB::begin_write(&self.pool).await?;
        let sql = AssertSqlSafe(format!(
            "SELECT {NOTICE_COLUMNS} FROM notices n JOIN appeals a ON a.id = n.appeal_id \
             WHERE n.id = $1"
        ));
        let Some(row) = sqlx::query(sql).bind(id).fetch_optional(&mut *tx).await? else {
            return Ok(None);
        };
        let mut notice = Self::notice_from_row(&row)?;
        if notice.status != NoticeStatus::Done {
            sqlx::query("UPDATE notices SET status = $1, done_at = $2, done_by = $3 WHERE id = $4")
                .bind(NoticeStatus::Done.code())
                .bind(now)
                .bind(caller.principal.clone())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let detail = serde_json::json!({ "notice": id, "kind": notice.kind.code() });
            Self::append_audit(
                &mut tx,
                caller,
                Some(&notice.appeal_number),
                "notice.done",
                &detail.to_string(),
                now,
            )
            .await?;
            notice.status = NoticeStatus::Done;
            notice.done_at = Some(now);
            notice.done_by = caller.principal.clone();
        }
        tx.commit().await?;
        Ok(Some(notice))
    }

    #[tracing::instrument(skip_all)]
    async fn email_attempt(
        &self,
        id: i64,
        result: Result<(), String>,
        give_up: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.pool).await?;
        let (status, error, done_at) = match &result {
            Ok(()) => (NoticeStatus::Done, String::new(), Some(now)),
            Err(e) if give_up => (NoticeStatus::Failed, e.clone(), None),
            Err(e) => (NoticeStatus::Pending, e.clone(), None),
        };
        sqlx::query(
            "UPDATE notices SET status = $1, attempts = attempts + 1, last_error = $2, \
             done_at = $3, done_by = $4 WHERE id = $5",
        )
        .bind(status.code())
        .bind(error)
        .bind(done_at)
        .bind(if result.is_ok() { "system:mail" } else { "" }.to_string())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
