//! Retry safety: a write carrying a client-made request id is applied once per (principal, id). The
//! check runs inside the write's transaction (under the appeal's lock where there is one), so a
//! retry racing its original waits for it and is then replayed.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Type};

use super::backend::{Backend, Column, SqlStore};
use super::{Replay, RequestKey, StoreError, StoreResult};

/// A row of `requests`: rpc, fingerprint, appeal number, kept answer.
type RequestRow = (String, String, String, Option<Vec<u8>>);

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
    /// What an earlier request with this key did: `None` when there was none; a replay when it was
    /// this same request; `AlreadyExists` naming the id when the id was used for something else.
    pub(super) async fn earlier(
        conn: &mut DB::Connection,
        request: &RequestKey,
    ) -> StoreResult<Option<Replay>> {
        let row: Option<RequestRow> = sqlx::query_as(
            "SELECT rpc, fingerprint, appeal_number, response FROM requests \
             WHERE principal = $1 AND request_id = $2",
        )
        .bind(request.principal.clone())
        .bind(request.request_id.clone())
        .fetch_optional(&mut *conn)
        .await?;
        let Some((rpc, fingerprint, appeal_number, response)) = row else {
            return Ok(None);
        };
        // Rows kept before fingerprints were recorded match by RPC alone.
        let same =
            rpc == request.rpc && (fingerprint.is_empty() || fingerprint == request.fingerprint);
        if !same {
            return Err(StoreError::AlreadyExists(format!(
                "request id `{}` (used for another request: {rpc} on {appeal_number})",
                request.request_id
            )));
        }
        Ok(Some(Replay {
            appeal_number,
            response,
        }))
    }

    /// Records that `request` was applied to `appeal_number` (with the answer kept, when given).
    pub(super) async fn remember(
        conn: &mut DB::Connection,
        request: &RequestKey,
        appeal_number: &str,
        response: Option<Vec<u8>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO requests (principal, request_id, rpc, fingerprint, appeal_number, \
             response, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(request.principal.clone())
        .bind(request.request_id.clone())
        .bind(request.rpc.clone())
        .bind(request.fingerprint.clone())
        .bind(appeal_number.to_string())
        .bind(response)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// After a write lost a race to the original of the same request (the key was taken when it
    /// tried to record it), the original's record, read afresh.
    pub(super) async fn after_race(&self, request: &RequestKey) -> StoreResult<Replay> {
        let mut conn = self.pool.acquire().await?;
        Self::earlier(&mut conn, request).await?.ok_or_else(|| {
            StoreError::Internal(format!(
                "request id `{}` was taken, then not found",
                request.request_id
            ))
        })
    }
}
