//! Retry safety: a write carrying a client-made request id is applied once per (principal, id). The
//! check runs inside the write's transaction (under the appeal's lock where there is one), so a
//! retry racing its original waits for it and is then replayed.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, QueryBuilder, Type};

use super::backend::{Backend, Column, ROWS_PER_STATEMENT, SqlStore};
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
        row.map(|row| replay_of(request, row)).transpose()
    }

    /// [`Self::earlier`] for several requests in one query, in the order given.
    pub(super) async fn earlier_of(
        conn: &mut DB::Connection,
        requests: &[&RequestKey],
    ) -> StoreResult<Vec<Option<Replay>>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        // Both lists are bound as given; the exact pairs are matched below. The principals are few
        // (the callers of one group), so the primary key still narrows the read.
        let mut q = QueryBuilder::<DB>::new(
            "SELECT principal, request_id, rpc, fingerprint, appeal_number, response FROM requests \
             WHERE principal IN (",
        );
        let mut principals = q.separated(", ");
        for r in requests {
            principals.push_bind(r.principal.clone());
        }
        q.push(") AND request_id IN (");
        let mut ids = q.separated(", ");
        for r in requests {
            ids.push_bind(r.request_id.clone());
        }
        q.push(")");
        let mut found: HashMap<(String, String), RequestRow> = q
            .build_query_as::<(String, String, String, String, String, Option<Vec<u8>>)>()
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(principal, id, rpc, fingerprint, number, response)| {
                ((principal, id), (rpc, fingerprint, number, response))
            })
            .collect();
        requests
            .iter()
            .map(|r| {
                let key = (r.principal.clone(), r.request_id.clone());
                found.remove(&key).map(|row| replay_of(r, row)).transpose()
            })
            .collect()
    }

    /// Records that each request was applied to its appeal, one statement for many.
    pub(super) async fn remember_of(
        conn: &mut DB::Connection,
        requests: &[(&RequestKey, &str, DateTime<Utc>)],
    ) -> StoreResult<()> {
        for chunk in requests.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO requests (principal, request_id, rpc, fingerprint, appeal_number, \
                 response, created_at) ",
            );
            q.push_values(chunk, |mut b, (request, number, now)| {
                b.push_bind(request.principal.clone())
                    .push_bind(request.request_id.clone())
                    .push_bind(request.rpc.clone())
                    .push_bind(request.fingerprint.clone())
                    .push_bind(number.to_string())
                    .push_bind(None::<Vec<u8>>)
                    .push_bind(*now);
            });
            q.build().persistent(false).execute(&mut *conn).await?;
        }
        Ok(())
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

/// What the stored row of `request`'s key says: a replay when it was this same request;
/// `AlreadyExists` naming the id when the id was used for something else.
fn replay_of(request: &RequestKey, row: RequestRow) -> StoreResult<Replay> {
    let (rpc, fingerprint, appeal_number, response) = row;
    // Rows kept before fingerprints were recorded match by RPC alone.
    let same = rpc == request.rpc && (fingerprint.is_empty() || fingerprint == request.fingerprint);
    if !same {
        return Err(StoreError::AlreadyExists(format!(
            "request id `{}` (used for another request: {rpc} on {appeal_number})",
            request.request_id
        )));
    }
    Ok(Replay {
        appeal_number,
        response,
    })
}
