//! Appeals and their cases: registration under the year's next number, loads, locked transitions,
//! search and the lists staff and authorities work from.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, ColumnIndex, Encode, Executor, IntoArguments, QueryBuilder, Row, Type};

use super::backend::{Backend, Column, ROWS_PER_STATEMENT, SqlStore, codes, non_empty};
use super::rows::{APPEAL_COLUMNS, CASE_COLUMNS, joined_codes, stored};
use super::{
    AppealKey, AppealStore, Applied, DeclinedCase, FollowUp, RegisterJob, RequestKey, SearchFilter,
    StoreError, StoreResult, Transition,
};
use crate::domain::{
    Appeal, AppealState, AppealStatus, AttachmentInfo, Caller, Case, CaseStatus, Change,
    DomainError, Urgency,
};

impl<DB: Backend> AppealStore for SqlStore<DB>
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
    async fn register<F>(
        &self,
        year: i32,
        caller: &Caller,
        now: DateTime<Utc>,
        request: Option<&RequestKey>,
        make: F,
    ) -> StoreResult<Applied<AppealState>>
    where
        F: FnOnce(i64) -> (AppealState, Change) + Send,
    {
        let mut tx = DB::begin_write(&self.pool).await?;
        if let Some(request) = request
            && let Some(replay) = Self::earlier(&mut tx, request).await?
        {
            return Ok(Applied::Replayed(replay));
        }
        let seq = Self::next_number(&mut tx, year).await?;
        let (mut state, change) = make(seq);
        Self::insert_appeal(&mut tx, &mut state).await?;
        Self::record(&mut tx, &state, &change, caller, now).await?;
        if let Some(request) = request {
            match Self::remember(&mut tx, request, &state.appeal.number, None, now).await {
                // A concurrent retry of the same request registered first: this one rolls back
                // (giving its number back) and answers as the retry it is.
                Err(StoreError::AlreadyExists(_)) => {
                    drop(tx);
                    return Ok(Applied::Replayed(self.after_race(request).await?));
                }
                other => other?,
            }
        }
        tx.commit().await?;
        self.committed();
        Ok(Applied::Done(state))
    }

    #[tracing::instrument(skip_all)]
    async fn continue_appeal<F, M>(
        &self,
        key: &AppealKey,
        caller: &Caller,
        now: DateTime<Utc>,
        request: Option<&RequestKey>,
        FollowUp {
            year,
            make,
            end: transition,
        }: FollowUp<M, F>,
    ) -> StoreResult<Applied<AppealState>>
    where
        M: FnOnce(i64, &AppealState) -> Result<(AppealState, Change), DomainError> + Send,
        F: FnOnce(&mut AppealState, &str) -> Result<Change, DomainError> + Send,
    {
        let mut tx = DB::begin_write(&self.pool).await?;
        let appeal_id = Self::lock_appeal(&mut tx, key).await?;
        if let Some(request) = request
            && let Some(replay) = Self::earlier(&mut tx, request).await?
        {
            return Ok(Applied::Replayed(replay));
        }
        let original = Self::load_in(&mut tx, appeal_id)
            .await?
            .ok_or_else(|| DomainError::NotFound(key.to_string()))?;
        let seq = Self::next_number(&mut tx, year).await?;
        let (mut follow_up, change) = make(seq, &original)?;
        let number = follow_up.appeal.number.clone();
        let (ended, _) =
            Self::apply_in(&mut tx, appeal_id, caller, now, |s| transition(s, &number)).await?;
        follow_up.appeal.card.repeat_of = Some(ended.appeal.id);
        Self::insert_appeal(&mut tx, &mut follow_up).await?;
        Self::save_in(&mut tx, &follow_up.clone(), &mut follow_up).await?;
        Self::record(&mut tx, &follow_up, &change, caller, now).await?;
        if let Some(request) = request {
            Self::remember(&mut tx, request, &ended.appeal.number, None, now).await?;
        }
        tx.commit().await?;
        self.committed();
        Ok(Applied::Done(ended))
    }

    #[tracing::instrument(skip_all)]
    async fn appeal_ref(
        &self,
        number: &str,
    ) -> StoreResult<Option<(i64, AppealStatus, String, String)>> {
        let row: Option<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, status, citizen_phone, citizen_name FROM appeals WHERE number = $1",
        )
        .bind(number.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(id, status, phone, name)| {
            Ok((id, stored(&status, "appeal status")?, phone, name))
        })
        .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn appeal_status(&self, number: &str) -> StoreResult<Option<(i64, AppealStatus)>> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, status FROM appeals WHERE number = $1")
                .bind(number.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(id, status)| Ok((id, stored(&status, "appeal status")?)))
            .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn load(&self, key: &AppealKey) -> StoreResult<Option<AppealState>> {
        let mut conn = self.pool.acquire().await?;
        match Self::find_appeal(&mut conn, key, "").await? {
            Some(id) => Self::load_in(&mut conn, id).await,
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip_all, fields(jobs = jobs.len()))]
    async fn register_batch(&self, jobs: &[RegisterJob]) -> StoreResult<Vec<Applied<AppealState>>> {
        self.register_group(jobs).await
    }

    #[tracing::instrument(skip_all)]
    async fn transact<F: Transition>(
        &self,
        key: &AppealKey,
        caller: &Caller,
        now: DateTime<Utc>,
        transition: F,
    ) -> StoreResult<AppealState> {
        let mut tx = DB::begin_write(&self.pool).await?;
        let appeal_id = Self::lock_appeal(&mut tx, key).await?;
        let (state, ids) = Self::apply_in(&mut tx, appeal_id, caller, now, transition).await?;
        if !ids.is_empty() {
            tx.commit().await?;
            self.committed();
        }
        Ok(state)
    }

    #[tracing::instrument(skip_all)]
    async fn transact_once<F: Transition>(
        &self,
        key: &AppealKey,
        caller: &Caller,
        now: DateTime<Utc>,
        request: &RequestKey,
        transition: F,
    ) -> StoreResult<Applied<AppealState>> {
        let mut tx = DB::begin_write(&self.pool).await?;
        let appeal_id = Self::lock_appeal(&mut tx, key).await?;
        // Checked under the appeal's lock, so a retry racing its original waits and then replays.
        if let Some(replay) = Self::earlier(&mut tx, request).await? {
            return Ok(Applied::Replayed(replay));
        }
        let (state, _) = Self::apply_in(&mut tx, appeal_id, caller, now, transition).await?;
        match Self::remember(&mut tx, request, &state.appeal.number, None, now).await {
            // The same id was just used on another appeal: answered from that use.
            Err(StoreError::AlreadyExists(_)) => {
                drop(tx);
                return Ok(Applied::Replayed(self.after_race(request).await?));
            }
            other => other?,
        }
        tx.commit().await?;
        self.committed();
        Ok(Applied::Done(state))
    }

    #[tracing::instrument(skip_all)]
    async fn search(&self, f: &SearchFilter) -> StoreResult<Vec<AppealState>> {
        let mut q = QueryBuilder::<DB>::new(format!(
            "SELECT {APPEAL_COLUMNS} FROM appeals a WHERE 1 = 1"
        ));
        if let Some(status) = f.status {
            q.push(" AND a.status = ").push_bind(status.code());
        }
        if let Some(authority) = &f.authority_code {
            q.push(
                " AND EXISTS (SELECT 1 FROM cases c WHERE c.appeal_id = a.id AND c.authority_code = ",
            )
            .push_bind(authority.clone())
            .push(")");
        }
        if let Some(category) = &f.category_code {
            q.push(" AND (a.category_code = ")
                .push_bind(category.clone())
                .push(" OR a.category_code LIKE ")
                .push_bind(format!("{category}.%"))
                .push(")");
        }
        if let Some(district) = &f.district_code {
            q.push(" AND a.district_code = ")
                .push_bind(district.clone());
        }
        if let Some(phone) = &f.citizen_phone {
            q.push(" AND a.citizen_phone = ").push_bind(phone.clone());
        }
        if let Some(from) = f.received_from {
            q.push(" AND a.received_at >= ").push_bind(from);
        }
        if let Some(before) = f.received_before {
            q.push(" AND a.received_at < ").push_bind(before);
        }
        if let Some(today) = f.overdue_on {
            q.push(" AND EXISTS (SELECT 1 FROM cases c WHERE c.appeal_id = a.id AND c.status IN (")
                .push(codes(CaseStatus::awaits_answer))
                .push(") AND c.deadline < ")
                .push_bind(today)
                .push(")");
        }
        if let Some(before_id) = f.before_id {
            q.push(" AND a.id < ").push_bind(before_id);
        }
        q.push(" ORDER BY a.id DESC LIMIT ").push_bind(f.limit);
        let mut conn = self.pool.acquire().await?;
        let rows = q.build().fetch_all(&mut *conn).await?;
        let appeals = rows
            .iter()
            .map(Self::appeal_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Self::with_cases(&mut conn, appeals).await
    }

    #[tracing::instrument(skip_all)]
    async fn declined_cases(&self) -> StoreResult<Vec<DeclinedCase>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS}, a.number FROM cases c JOIN appeals a ON a.id = c.appeal_id \
             WHERE c.status = $1 ORDER BY c.declined_at, c.id"
        ));
        let rows = sqlx::query(sql)
            .bind(CaseStatus::Declined.code())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(DeclinedCase {
                    appeal_number: row.try_get("number")?,
                    case: Self::case_from_row(row)?,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn authority_cases(
        &self,
        authority: &str,
        status: Option<CaseStatus>,
    ) -> StoreResult<Vec<AppealState>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {APPEAL_COLUMNS} FROM appeals a WHERE a.id IN (SELECT appeal_id FROM cases \
             WHERE authority_code = $1 AND ($2 IS NULL OR status = $2)) ORDER BY a.id"
        ));
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(sql)
            .bind(authority.to_string())
            .bind(status.map(|s| s.code().to_string()))
            .fetch_all(&mut *conn)
            .await?;
        let appeals = rows
            .iter()
            .map(Self::appeal_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Self::with_cases(&mut conn, appeals).await
    }

    #[tracing::instrument(skip_all)]
    async fn find_repeat(
        &self,
        phone: &str,
        category: &str,
        district: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Option<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT id, number FROM appeals WHERE citizen_phone = $1 AND category_code = $2 \
             AND district_code = $3 AND received_at >= $4 AND consultation = $5 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(phone.to_string())
        .bind(category.to_string())
        .bind(district.to_string())
        .bind(since)
        // A consultation answered on the spot is not a matter an authority failed to settle.
        .bind(false)
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn attachments(&self, case_ids: &[i64]) -> StoreResult<Vec<AttachmentInfo>> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.acquire().await?;
        Self::attachments_in(&mut conn, case_ids).await
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
    /// The appeals with their cases, read in one query rather than one per appeal.
    pub(super) async fn with_cases(
        conn: &mut DB::Connection,
        appeals: Vec<Appeal>,
    ) -> StoreResult<Vec<AppealState>> {
        if appeals.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = QueryBuilder::<DB>::new(format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.appeal_id IN ("
        ));
        let mut list = q.separated(", ");
        for a in &appeals {
            list.push_bind(a.id);
        }
        q.push(") ORDER BY c.id");
        let mut by_appeal: HashMap<i64, Vec<Case>> = HashMap::new();
        for row in q.build().fetch_all(&mut *conn).await? {
            let appeal_id: i64 = row.try_get("appeal_id")?;
            by_appeal
                .entry(appeal_id)
                .or_default()
                .push(Self::case_from_row(&row)?);
        }
        Ok(appeals
            .into_iter()
            .map(|appeal| AppealState {
                cases: by_appeal.remove(&appeal.id).unwrap_or_default(),
                appeal,
            })
            .collect())
    }

    /// The documents of these cases (without content), in the order they were stored.
    pub(super) async fn attachments_in(
        conn: &mut DB::Connection,
        case_ids: &[i64],
    ) -> StoreResult<Vec<AttachmentInfo>> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = QueryBuilder::<DB>::new(
            "SELECT case_id, name, content_type, size, sha256 FROM attachments WHERE case_id IN (",
        );
        let mut list = q.separated(", ");
        for id in case_ids {
            list.push_bind(*id);
        }
        q.push(") ORDER BY id");
        let rows: Vec<(i64, String, String, i64, String)> =
            q.build_query_as().fetch_all(&mut *conn).await?;
        Ok(rows
            .into_iter()
            .map(
                |(case_id, name, content_type, size, sha256)| AttachmentInfo {
                    case_id,
                    name,
                    content_type,
                    size,
                    sha256,
                },
            )
            .collect())
    }

    /// The next number of `year`. The counter row is updated in the registering transaction, so
    /// numbers are gapless: a rolled-back registration gives its number back.
    async fn next_number(conn: &mut DB::Connection, year: i32) -> StoreResult<i64> {
        Self::next_numbers(conn, year, 1).await
    }

    /// Takes the next `count` numbers of `year` at once and returns the last of them.
    pub(super) async fn next_numbers(
        conn: &mut DB::Connection,
        year: i32,
        count: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO appeal_numbers (year, last) VALUES ($1, $2) \
             ON CONFLICT (year) DO UPDATE SET last = appeal_numbers.last + $2 RETURNING last",
        )
        .bind(year)
        .bind(count)
        .fetch_one(&mut *conn)
        .await?)
    }

    /// Inserts a new appeal (its cases come through `save_in`) and gives it its id.
    async fn insert_appeal(conn: &mut DB::Connection, state: &mut AppealState) -> StoreResult<()> {
        Self::insert_appeals(conn, std::slice::from_mut(state)).await
    }

    /// Inserts new appeals, one statement for many, and gives each its id.
    pub(super) async fn insert_appeals(
        conn: &mut DB::Connection,
        states: &mut [AppealState],
    ) -> StoreResult<()> {
        for chunk in states.chunks_mut(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO appeals (number, received_at, channel, kind, citizen_name, citizen_phone, \
                 citizen_address, anonymous, signatories, benefit_holder, district_code, \
                 settlement_code, category_code, text, urgent, complained_authority_code, needs_study, \
                 repeat_of, status, status_reason, deadline, callback_attempts, updated_at, closed_at, \
                 citizen_email, consultation, backdate_reason, outcome, sign, author_categories, \
                 social_status, sex, contact_person, urgency, priority, due_at, incident_id, \
                 publishable) ",
            );
            q.push_values(chunk.iter(), |mut b, state| {
                let a = &state.appeal;
                let c = &a.card;
                b.push_bind(a.number.clone())
                    .push_bind(a.received_at)
                    .push_bind(c.channel.code())
                    .push_bind(c.kind.code())
                    .push_bind(c.citizen.name.clone())
                    .push_bind(c.citizen.phone.clone())
                    .push_bind(c.citizen.address.clone())
                    .push_bind(c.anonymous)
                    .push_bind(c.signatories)
                    .push_bind(c.benefit_holder)
                    .push_bind(c.district_code.clone())
                    .push_bind(non_empty(&c.settlement_code))
                    .push_bind(c.category_code.clone())
                    .push_bind(c.text.clone())
                    // Kept for readers of the old column: anything above ordinary.
                    .push_bind(c.profile.urgency != Urgency::Ordinary)
                    .push_bind(non_empty(&c.complained_authority_code))
                    .push_bind(c.needs_study)
                    .push_bind(c.repeat_of)
                    .push_bind(a.status.code())
                    .push_bind(a.status_reason.clone())
                    .push_bind(a.deadline)
                    .push_bind(a.callback_attempts)
                    .push_bind(a.updated_at)
                    .push_bind(a.closed_at)
                    .push_bind(c.citizen.email.clone())
                    .push_bind(c.consultation)
                    .push_bind(c.backdate_reason.clone())
                    .push_bind(a.outcome.map(|o| o.code().to_string()))
                    .push_bind(c.profile.sign.code())
                    .push_bind(joined_codes(&c.profile.author_categories))
                    .push_bind(c.profile.social_status.clone())
                    .push_bind(c.profile.sex.clone())
                    .push_bind(c.profile.contact_person.clone())
                    .push_bind(c.profile.urgency.code())
                    .push_bind(c.profile.priority)
                    .push_bind(a.due_at)
                    .push_bind(a.incident_id)
                    .push_bind(c.publishable);
            });
            q.push(" RETURNING id, number");
            let ids: HashMap<String, i64> = q
                .build_query_as::<(i64, String)>()
                .persistent(false)
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|(id, number)| (number, id))
                .collect();
            for state in chunk.iter_mut() {
                state.appeal.id = *ids.get(&state.appeal.number).ok_or_else(|| {
                    StoreError::Internal(format!("appeal {} not inserted", state.appeal.number))
                })?;
            }
        }
        Ok(())
    }
}
