//! Incidents and the staff queues: an incident is opened in one transaction with its primary
//! appeal's attachment; queues read appeals in the order they are worked (priority first).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, ColumnIndex, Encode, Executor, IntoArguments, Row, Type};

use super::backend::{Backend, Column, SqlStore};
use super::rows::{APPEAL_COLUMNS, stored};
use super::{AppealKey, IncidentFilter, IncidentStore, StoreResult};
use crate::domain::{AppealState, Caller, Change, DomainError, Incident, IncidentStatus, Queue};

/// The columns of an incident row (`i`) with its primary appeal's number.
const INCIDENT_COLUMNS: &str = "i.id, i.title, i.description, i.category_code, i.district_code, \
    i.status, i.primary_appeal_id, i.opened_at, i.answered_at, i.closed_at, \
    (SELECT p.number FROM appeals p WHERE p.id = i.primary_appeal_id) AS primary_number";

/// The order of every staff queue (see `domain::queue`).
const QUEUE_ORDER: &str = "a.priority DESC, CASE a.urgency WHEN 'emergency' THEN 0 \
    WHEN 'urgent' THEN 1 ELSE 2 END, a.deadline, a.received_at, a.id";

impl<DB: Backend> IncidentStore for SqlStore<DB>
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
    async fn open_incident<M, A>(
        &self,
        primary: &AppealKey,
        caller: &Caller,
        now: DateTime<Utc>,
        make: M,
        attach: A,
    ) -> StoreResult<(Incident, AppealState)>
    where
        M: FnOnce(&AppealState) -> Result<Incident, DomainError> + Send,
        A: FnOnce(&mut AppealState, i64) -> Result<Change, DomainError> + Send,
    {
        let mut tx = DB::begin_write(&self.pool).await?;
        let appeal_id = Self::lock_appeal(&mut tx, primary).await?;
        let state = Self::load_in(&mut tx, appeal_id)
            .await?
            .ok_or_else(|| DomainError::NotFound(primary.to_string()))?;
        let mut incident = make(&state)?;
        incident.id = sqlx::query_scalar(
            "INSERT INTO incidents (title, description, category_code, district_code, status, \
             primary_appeal_id, opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(incident.title.clone())
        .bind(incident.description.clone())
        .bind(incident.category_code.clone())
        .bind(incident.district_code.clone())
        .bind(incident.status.code())
        .bind(incident.primary_appeal_id)
        .bind(incident.opened_at)
        .fetch_one(&mut *tx)
        .await?;
        let id = incident.id;
        let (state, _) = Self::apply_in(
            &mut tx,
            appeal_id,
            caller,
            now,
            move |s: &mut AppealState| attach(s, id),
        )
        .await?;
        tx.commit().await?;
        self.committed();
        Ok((incident, state))
    }

    #[tracing::instrument(skip_all)]
    async fn incident(&self, id: i64) -> StoreResult<Option<Incident>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.id = $1"
        ));
        let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(Self::incident_from_row).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn incidents(&self, f: &IncidentFilter) -> StoreResult<Vec<Incident>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE ($1 IS NULL OR i.status = $1) \
             AND ($2 IS NULL OR i.category_code = $2) AND ($3 IS NULL OR i.district_code = $3) \
             ORDER BY i.id DESC LIMIT $4"
        ));
        let rows = sqlx::query(sql)
            .bind(f.status.map(|s| s.code().to_string()))
            .bind(f.category_code.clone())
            .bind(f.district_code.clone())
            .bind(f.limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::incident_from_row).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn incident_appeals(&self, id: i64) -> StoreResult<Vec<AppealState>> {
        let mut conn = self.pool.acquire().await?;
        let sql = AssertSqlSafe(format!(
            "SELECT {APPEAL_COLUMNS} FROM appeals a WHERE a.incident_id = $1 ORDER BY a.id"
        ));
        let rows = sqlx::query(sql).bind(id).fetch_all(&mut *conn).await?;
        let appeals = rows
            .iter()
            .map(Self::appeal_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Self::with_cases(&mut conn, appeals).await
    }

    #[tracing::instrument(skip_all)]
    async fn set_incident_status(
        &self,
        id: i64,
        status: IncidentStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let column = match status {
            IncidentStatus::Open => "opened_at",
            IncidentStatus::Answered => "answered_at",
            IncidentStatus::Closed => "closed_at",
        };
        let sql = AssertSqlSafe(format!(
            "UPDATE incidents SET status = $1, {column} = $2 WHERE id = $3"
        ));
        sqlx::query(sql)
            .bind(status.code())
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn incidents_answered_upstream(&self) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT i.id FROM incidents i JOIN appeals p ON p.id = i.primary_appeal_id \
             WHERE i.status = 'open' \
             AND p.status IN ('awaiting_confirmation', 'closed', 'closed_unconfirmed') \
             ORDER BY i.id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn queue(&self, queue: Queue, limit: i64) -> StoreResult<Vec<AppealState>> {
        let filter = match queue {
            // An incident's followers wait with it; its primary is triaged like any appeal.
            Queue::Triage => {
                "a.status = 'registered' AND (a.incident_id IS NULL OR EXISTS (SELECT 1 FROM \
                 incidents i WHERE i.primary_appeal_id = a.id))"
            }
            Queue::Verification => {
                "a.status IN ('answered', 'in_progress', 'returned') AND EXISTS (SELECT 1 FROM \
                 cases c WHERE c.appeal_id = a.id AND c.status = 'resolved')"
            }
            Queue::Callback => "a.status = 'awaiting_confirmation' AND a.awaiting_rework = $2",
            Queue::Rework => "a.awaiting_rework = $2",
        };
        let mut conn = self.pool.acquire().await?;
        let sql = AssertSqlSafe(format!(
            "SELECT {APPEAL_COLUMNS} FROM appeals a WHERE {filter} ORDER BY {QUEUE_ORDER} LIMIT $1"
        ));
        let mut query = sqlx::query(sql).bind(limit);
        match queue {
            Queue::Callback => query = query.bind(false),
            Queue::Rework => query = query.bind(true),
            _ => {}
        }
        let rows = query.fetch_all(&mut *conn).await?;
        let appeals = rows
            .iter()
            .map(Self::appeal_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Self::with_cases(&mut conn, appeals).await
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
    fn incident_from_row(row: &DB::Row) -> StoreResult<Incident> {
        let status: String = row.try_get("status")?;
        let primary: Option<String> = row.try_get("primary_number")?;
        Ok(Incident {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            category_code: row.try_get("category_code")?,
            district_code: row.try_get("district_code")?,
            status: stored::<IncidentStatus>(&status, "incident status")?,
            primary_appeal_id: row.try_get("primary_appeal_id")?,
            primary_number: primary.unwrap_or_default(),
            opened_at: row.try_get("opened_at")?,
            answered_at: row.try_get("answered_at")?,
            closed_at: row.try_get("closed_at")?,
        })
    }
}
