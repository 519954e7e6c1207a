//! What authorities do through the agency gateway: each request applied once per (authority,
//! request id) with its first answer kept for retries, the documents of a result, and how far each
//! authority has acknowledged its feed.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Type};

use super::backend::{Backend, Column, SqlStore};
use super::{AgencyStore, AppealKey, Replay, RequestKey, StoreError, StoreResult, Transition};
use crate::domain::{
    AppealState, AttachmentInfo, Caller, CaseStatus, Cursor, EventKind, NewAttachment,
};

impl<DB: Backend> AgencyStore for SqlStore<DB>
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
    async fn act_once<F, R>(
        &self,
        case_id: i64,
        caller: &Caller,
        now: DateTime<Utc>,
        request: &RequestKey,
        attachments: &[NewAttachment],
        transition: F,
        respond: R,
    ) -> StoreResult<Vec<u8>>
    where
        F: Transition,
        R: FnOnce(&AppealState, &[i64], &[AttachmentInfo], DateTime<Utc>) -> Vec<u8> + Send,
    {
        let kept = |replay: Replay| {
            replay.response.ok_or_else(|| {
                StoreError::AlreadyExists(format!(
                    "request id `{}` (used for a staff request)",
                    request.request_id
                ))
            })
        };
        let mut tx = DB::begin_write(&self.pool).await?;
        let appeal_id = Self::lock_appeal(&mut tx, &AppealKey::Case(case_id)).await?;
        // Checked under the appeal's lock, so a retry racing its original waits and then replays.
        if let Some(replay) = Self::earlier(&mut tx, request).await? {
            return kept(replay);
        }
        let (state, ids) = Self::apply_in(&mut tx, appeal_id, caller, now, transition).await?;
        for a in attachments {
            sqlx::query(
                "INSERT INTO attachments (case_id, name, content_type, sha256, size, content, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(case_id)
            .bind(a.name.clone())
            .bind(a.content_type.clone())
            .bind(a.sha256.clone())
            .bind(a.content.len() as i64)
            .bind(a.content.clone())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let documents = Self::attachments_in(&mut tx, &[case_id]).await?;
        let response = respond(&state, &ids, &documents, now);
        match Self::remember(
            &mut tx,
            request,
            &state.appeal.number,
            Some(response.clone()),
            now,
        )
        .await
        {
            Err(StoreError::AlreadyExists(_)) => {
                drop(tx);
                return kept(self.after_race(request).await?);
            }
            other => other?,
        }
        tx.commit().await?;
        self.committed();
        Ok(response)
    }

    #[tracing::instrument(skip_all)]
    async fn assigned_cases_up_to(&self, authority: &str, cursor: Cursor) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM cases c WHERE c.authority_code = $1 AND c.status = $2 AND EXISTS ( \
             SELECT 1 FROM events e WHERE e.case_id = c.id AND e.kind = $3 \
             AND (e.txid < $4 OR (e.txid = $4 AND e.id <= $5))) ORDER BY c.id",
        )
        .bind(authority.to_string())
        .bind(CaseStatus::Assigned.code())
        .bind(EventKind::CaseAssigned.code())
        .bind(cursor.txid)
        .bind(cursor.id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn save_agency_cursor(
        &self,
        authority: &str,
        cursor: Cursor,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO agency_cursors (authority_code, txid, event_id, acked_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (authority_code) DO UPDATE SET \
             txid = CASE WHEN (excluded.txid, excluded.event_id) > \
                 (agency_cursors.txid, agency_cursors.event_id) \
                 THEN excluded.txid ELSE agency_cursors.txid END, \
             event_id = CASE WHEN (excluded.txid, excluded.event_id) > \
                 (agency_cursors.txid, agency_cursors.event_id) \
                 THEN excluded.event_id ELSE agency_cursors.event_id END, \
             acked_at = excluded.acked_at",
        )
        .bind(authority.to_string())
        .bind(cursor.txid)
        .bind(cursor.id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
