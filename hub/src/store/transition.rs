//! The locked read-modify-write every change to an appeal goes through: lock the appeal row, load
//! the aggregate, run the pure transition, write what changed, append the events and the audit row
//! — all in the caller's transaction, so the change and its record commit together or not at all.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, ColumnIndex, Encode, Executor, IntoArguments, QueryBuilder, Type};

use super::audit::change_row;
use super::backend::{Backend, Column, ROWS_PER_STATEMENT, SqlStore};
use super::rows::{APPEAL_COLUMNS, CASE_COLUMNS};
use super::{AppealKey, StoreResult, Transition};
use crate::domain::{AppealState, Caller, Case, CaseEvent, Change, DomainError};

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
    /// The cases of one appeal, in the order they were assigned.
    pub(super) async fn cases_of(
        conn: &mut DB::Connection,
        appeal_id: i64,
    ) -> StoreResult<Vec<Case>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.appeal_id = $1 ORDER BY c.id"
        ));
        let rows = sqlx::query(sql)
            .bind(appeal_id)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(Self::case_from_row).collect()
    }

    /// One appeal with its cases.
    pub(super) async fn load_in(
        conn: &mut DB::Connection,
        appeal_id: i64,
    ) -> StoreResult<Option<AppealState>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {APPEAL_COLUMNS} FROM appeals a WHERE a.id = $1"
        ));
        let row = sqlx::query(sql)
            .bind(appeal_id)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let appeal = Self::appeal_from_row(&row)?;
        let cases = Self::cases_of(conn, appeal_id).await?;
        Ok(Some(AppealState { appeal, cases }))
    }

    /// The id of the appeal `key` addresses, without locking (for reads).
    pub(super) async fn find_appeal(
        conn: &mut DB::Connection,
        key: &AppealKey,
        lock: &'static str,
    ) -> StoreResult<Option<i64>> {
        Ok(match key {
            AppealKey::Number(n) => {
                let sql = AssertSqlSafe(format!("SELECT id FROM appeals WHERE number = $1{lock}"));
                sqlx::query_scalar(sql)
                    .bind(n.clone())
                    .fetch_optional(&mut *conn)
                    .await?
            }
            AppealKey::Case(c) => {
                let sql = AssertSqlSafe(format!(
                    "SELECT a.id FROM appeals a JOIN cases c ON c.appeal_id = a.id WHERE c.id = $1{lock}"
                ));
                sqlx::query_scalar(sql)
                    .bind(*c)
                    .fetch_optional(&mut *conn)
                    .await?
            }
        })
    }

    /// Finds and locks the appeal `key` addresses.
    pub(super) async fn lock_appeal(
        conn: &mut DB::Connection,
        key: &AppealKey,
    ) -> StoreResult<i64> {
        let id = Self::find_appeal(conn, key, DB::LOCK).await?;
        Ok(id.ok_or_else(|| DomainError::NotFound(key.to_string()))?)
    }

    /// Runs `transition` on the locked appeal `appeal_id` and writes state, events and audit.
    /// Returns the new state and the ids of the events written (none: nothing was written).
    pub(super) async fn apply_in<F: Transition>(
        conn: &mut DB::Connection,
        appeal_id: i64,
        caller: &Caller,
        now: DateTime<Utc>,
        transition: F,
    ) -> StoreResult<(AppealState, Vec<i64>)> {
        let mut state = Self::load_in(conn, appeal_id)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("appeal {appeal_id}")))?;
        let before = state.clone();
        // On a domain error the caller's transaction is dropped and rolls back: nothing was written.
        let change = transition(&mut state)?;
        if change.events.is_empty() {
            return Ok((before, Vec::new()));
        }
        Self::save_in(conn, &before, &mut state).await?;
        let ids = Self::record(conn, &state, &change, caller, now).await?;
        Ok((state, ids))
    }

    /// Records a change of `state` (already written): its events, its notices and its audit row.
    pub(super) async fn record(
        conn: &mut DB::Connection,
        state: &AppealState,
        change: &Change,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        Self::record_of(conn, &[(state, change, caller, now)]).await
    }

    /// [`Self::record`] for the changes of several appeals, each kind of row in one statement;
    /// returns the events' ids in the order given.
    pub(super) async fn record_of(
        conn: &mut DB::Connection,
        changes: &[(&AppealState, &Change, &Caller, DateTime<Utc>)],
    ) -> StoreResult<Vec<i64>> {
        let events: Vec<_> = changes
            .iter()
            .map(|&(state, change, caller, _)| (state, change.events.as_slice(), caller))
            .collect();
        let ids = Self::append_events(conn, &events).await?;
        let notices: Vec<_> = changes
            .iter()
            .map(|&(state, change, _, now)| (state.appeal.id, change.notices.as_slice(), now))
            .collect();
        Self::insert_notices(conn, &notices).await?;
        for &(state, change, _, now) in changes {
            if let Some(link) = &change.link {
                Self::insert_link(conn, state.appeal.id, link, now).await?;
            }
        }
        let audit = changes
            .iter()
            .map(|&(state, change, caller, now)| change_row(caller, state, &change.events, now))
            .collect();
        Self::append_audits(conn, audit).await?;
        Ok(ids)
    }

    /// Appends the events of several appeals, one statement for many, and (once) the notification;
    /// returns their ids in the order given.
    pub(super) async fn append_events(
        conn: &mut DB::Connection,
        changes: &[(&AppealState, &[CaseEvent], &Caller)],
    ) -> StoreResult<Vec<i64>> {
        let rows: Vec<_> = changes
            .iter()
            .flat_map(|&(state, events, actor)| events.iter().map(move |e| (state, e, actor)))
            .collect();
        let mut ids = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO events (appeal_id, case_id, authority_code, kind, detail, actor, at) ",
            );
            q.push_values(chunk, |mut b, (state, event, actor)| {
                let case = event.case.map(|i| &state.cases[i]);
                b.push_bind(state.appeal.id)
                    .push_bind(case.map(|c| c.id))
                    .push_bind(case.map(|c| c.authority_code.clone()))
                    .push_bind(event.kind.code())
                    .push_bind(event.detail.to_string())
                    .push_bind(actor.principal.clone())
                    .push_bind(state.appeal.updated_at);
            });
            q.push(" RETURNING id");
            let mut chunk_ids: Vec<i64> = q
                .build_query_scalar()
                .persistent(false)
                .fetch_all(&mut *conn)
                .await?;
            // Ids are drawn row by row in the order of the values; the rows returned need not be.
            chunk_ids.sort_unstable();
            ids.extend(chunk_ids);
        }
        if let (Some(sql), false) = (DB::NOTIFY, rows.is_empty()) {
            sqlx::query(sql).execute(&mut *conn).await?;
        }
        Ok(ids)
    }

    /// Writes what a transition changed: the appeal's mutable fields, changed and new cases.
    pub(super) async fn save_in(
        conn: &mut DB::Connection,
        before: &AppealState,
        state: &mut AppealState,
    ) -> StoreResult<()> {
        let a = &state.appeal;
        sqlx::query(
            "UPDATE appeals SET status = $1, status_reason = $2, callback_attempts = $3, \
             updated_at = $4, closed_at = $5, deadline = $6, outcome = $7, satisfaction = $8, \
             satisfaction_note = $9, disagreement = $10, awaiting_rework = $11, \
             first_callback_at = $12, last_callback_at = $13, unassigned_announced_at = $14, \
             continued_in = $15, sign = $16, incident_id = $17 WHERE id = $18",
        )
        .bind(a.status.code())
        .bind(a.status_reason.clone())
        .bind(a.callback_attempts)
        .bind(a.updated_at)
        .bind(a.closed_at)
        .bind(a.deadline)
        .bind(a.outcome.map(|o| o.code().to_string()))
        .bind(a.satisfaction)
        .bind(a.satisfaction_note.clone())
        .bind(a.disagreement.clone())
        .bind(a.awaiting_rework)
        .bind(a.first_callback_at)
        .bind(a.last_callback_at)
        .bind(a.unassigned_announced_at)
        .bind(a.continued_in.clone())
        .bind(a.card.profile.sign.code())
        .bind(a.incident_id)
        .bind(a.id)
        .execute(&mut *conn)
        .await?;
        let appeal_id = a.id;
        for (i, case) in state.cases.iter_mut().enumerate() {
            if case.id == 0 {
                case.id = Self::insert_case(conn, appeal_id, case).await?;
            } else if before.cases.get(i) != Some(case) {
                Self::update_case(conn, case).await?;
            }
        }
        Ok(())
    }

    async fn insert_case(
        conn: &mut DB::Connection,
        appeal_id: i64,
        case: &Case,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO cases (appeal_id, authority_code, status, deadline, extension_reason, \
             reason, answer, declined_at, assigned_at, updated_at, measures, answered_at, \
             returned_count, due_soon_at, overdue_at, answered_late, outcome, outcome_detail, \
             resolved_at, extension_requested_to, extension_request_reason, role, due_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22, $23) RETURNING id",
        )
        .bind(appeal_id)
        .bind(case.authority_code.clone())
        .bind(case.status.code())
        .bind(case.deadline)
        .bind(case.extension_reason.clone())
        .bind(case.reason.clone())
        .bind(case.answer.clone())
        .bind(case.declined_at)
        .bind(case.assigned_at)
        .bind(case.updated_at)
        .bind(case.measures.clone())
        .bind(case.answered_at)
        .bind(case.returned_count)
        .bind(case.due_soon_at)
        .bind(case.overdue_at)
        .bind(case.answered_late)
        .bind(case.outcome.map(|o| o.code().to_string()))
        .bind(case.outcome_detail.clone())
        .bind(case.resolved_at)
        .bind(case.extension_requested_to)
        .bind(case.extension_request_reason.clone())
        .bind(case.role.code())
        .bind(case.due_at)
        .fetch_one(&mut *conn)
        .await?)
    }

    async fn update_case(conn: &mut DB::Connection, case: &Case) -> StoreResult<()> {
        sqlx::query(
            "UPDATE cases SET status = $1, deadline = $2, extension_reason = $3, reason = $4, \
             answer = $5, declined_at = $6, updated_at = $7, measures = $8, answered_at = $9, \
             returned_count = $10, due_soon_at = $11, overdue_at = $12, answered_late = $13, \
             outcome = $14, outcome_detail = $15, resolved_at = $16, extension_requested_to = $17, \
             extension_request_reason = $18, role = $19, due_at = $20 WHERE id = $21",
        )
        .bind(case.status.code())
        .bind(case.deadline)
        .bind(case.extension_reason.clone())
        .bind(case.reason.clone())
        .bind(case.answer.clone())
        .bind(case.declined_at)
        .bind(case.updated_at)
        .bind(case.measures.clone())
        .bind(case.answered_at)
        .bind(case.returned_count)
        .bind(case.due_soon_at)
        .bind(case.overdue_at)
        .bind(case.answered_late)
        .bind(case.outcome.map(|o| o.code().to_string()))
        .bind(case.outcome_detail.clone())
        .bind(case.resolved_at)
        .bind(case.extension_requested_to)
        .bind(case.extension_request_reason.clone())
        .bind(case.role.code())
        .bind(case.due_at)
        .bind(case.id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
