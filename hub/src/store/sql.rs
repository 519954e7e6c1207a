//! The SQL both backends share. The queries are written once, with `$N` placeholders that SQLite and
//! PostgreSQL both accept, and instantiated per backend by [`sql_store!`]; what differs (how a write
//! transaction starts, row locks, event visibility, cross-process notification) is passed in.

use crate::domain::{AppealKind, AppealStatus, CaseStatus, Channel};

use super::StoreError;

/// Parses a code read back from the database.
pub(super) fn stored<T>(
    parse: fn(&str) -> Option<T>,
    code: &str,
    column: &str,
) -> Result<T, StoreError> {
    parse(code)
        .ok_or_else(|| StoreError::Internal(format!("unknown {column} `{code}` in the database")))
}

/// Decodes the enum columns of an appeal row.
pub(super) fn appeal_codes(
    kind: &str,
    channel: &str,
    status: &str,
) -> Result<(AppealKind, Channel, AppealStatus), StoreError> {
    Ok((
        stored(AppealKind::from_code, kind, "appeal kind")?,
        stored(Channel::from_code, channel, "channel")?,
        stored(AppealStatus::from_code, status, "appeal status")?,
    ))
}

/// `'assigned', 'delivered', …`: the case states in which the deadline runs, for SQL `IN` lists.
pub(super) fn awaiting_answer_sql() -> String {
    CaseStatus::ALL
        .iter()
        .filter(|s| s.awaits_answer())
        .map(|s| format!("'{}'", s.code()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Some(text)` for a non-empty code, `None` (SQL NULL) for an empty one.
pub(super) fn non_empty(code: &str) -> Option<&str> {
    (!code.is_empty()).then_some(code)
}

macro_rules! appeal_columns {
    () => {
        "a.id, a.number, a.received_at, a.channel, a.kind, a.citizen_name, a.citizen_phone, \
         a.citizen_address, a.anonymous, a.signatories, a.benefit_holder, a.district_code, \
         a.settlement_code, a.category_code, a.text, a.urgent, a.complained_authority_code, \
         a.needs_study, a.repeat_of, a.status, a.status_reason, a.deadline, a.callback_attempts, \
         a.updated_at, a.closed_at, (SELECT r.number FROM appeals r WHERE r.id = a.repeat_of) AS repeat_of_number"
    };
}

macro_rules! case_columns {
    () => {
        "c.id, c.appeal_id, c.authority_code, c.status, c.deadline, c.extension_reason, c.reason, \
         c.answer, c.measures, c.declined_at, c.assigned_at, c.updated_at, c.answered_at, c.answered_late, \
         c.returned_count, c.due_soon_at, c.overdue_at"
    };
}

/// Implements [`super::Store`] for `$store` (a struct with `pool: Pool<$db>`, `commits:
/// Arc<watch::Sender<u64>>` and `async fn begin_write`). `lock` is appended to the query that locks
/// an appeal row; `visible` restricts event reads to what a cursor may safely pass; `notify`, when not
/// empty, runs in every transaction that appends events.
macro_rules! sql_store {
    ($store:ty, $db:ty, lock = $lock:literal, visible = $visible:literal, notify = $notify:expr) => {
        impl $store {
            fn appeal_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::domain::Appeal> {
                use sqlx::Row;
                let kind: String = row.try_get("kind")?;
                let channel: String = row.try_get("channel")?;
                let status: String = row.try_get("status")?;
                let (kind, channel, status) = $crate::store::sql::appeal_codes(&kind, &channel, &status)?;
                let settlement: Option<String> = row.try_get("settlement_code")?;
                let complained: Option<String> = row.try_get("complained_authority_code")?;
                Ok($crate::domain::Appeal {
                    id: row.try_get("id")?,
                    number: row.try_get("number")?,
                    received_at: row.try_get("received_at")?,
                    card: $crate::domain::AppealCard {
                        kind,
                        channel,
                        citizen: $crate::domain::Citizen {
                            name: row.try_get("citizen_name")?,
                            phone: row.try_get("citizen_phone")?,
                            address: row.try_get("citizen_address")?,
                        },
                        anonymous: row.try_get("anonymous")?,
                        signatories: row.try_get("signatories")?,
                        benefit_holder: row.try_get("benefit_holder")?,
                        district_code: row.try_get("district_code")?,
                        settlement_code: settlement.unwrap_or_default(),
                        category_code: row.try_get("category_code")?,
                        text: row.try_get("text")?,
                        urgent: row.try_get("urgent")?,
                        complained_authority_code: complained.unwrap_or_default(),
                        needs_study: row.try_get("needs_study")?,
                        repeat_of: row.try_get("repeat_of")?,
                        repeat_of_number: row.try_get::<Option<String>, _>("repeat_of_number")?.unwrap_or_default(),
                    },
                    status,
                    status_reason: row.try_get("status_reason")?,
                    deadline: row.try_get("deadline")?,
                    callback_attempts: row.try_get("callback_attempts")?,
                    closed_at: row.try_get("closed_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            fn case_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::domain::Case> {
                use sqlx::Row;
                let status: String = row.try_get("status")?;
                Ok($crate::domain::Case {
                    id: row.try_get("id")?,
                    authority_code: row.try_get("authority_code")?,
                    status: $crate::store::sql::stored($crate::domain::CaseStatus::from_code, &status, "case status")?,
                    deadline: row.try_get("deadline")?,
                    extension_reason: row.try_get("extension_reason")?,
                    reason: row.try_get("reason")?,
                    answer: row.try_get("answer")?,
                    measures: row.try_get("measures")?,
                    declined_at: row.try_get("declined_at")?,
                    assigned_at: row.try_get("assigned_at")?,
                    answered_at: row.try_get("answered_at")?,
                    answered_late: row.try_get("answered_late")?,
                    returned_count: row.try_get("returned_count")?,
                    due_soon_at: row.try_get("due_soon_at")?,
                    overdue_at: row.try_get("overdue_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            fn event_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::StoredEvent> {
                use sqlx::Row;
                Ok($crate::store::StoredEvent {
                    cursor: $crate::store::Cursor { txid: row.try_get("txid")?, id: row.try_get("id")? },
                    appeal_number: row.try_get("number")?,
                    case_id: row.try_get("case_id")?,
                    authority_code: row.try_get("authority_code")?,
                    kind: row.try_get("kind")?,
                    detail: row.try_get("detail")?,
                    actor: row.try_get("actor")?,
                    at: row.try_get("at")?,
                })
            }

            fn authority_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::Authority> {
                use sqlx::Row;
                let district: Option<String> = row.try_get("district_code")?;
                Ok($crate::store::Authority {
                    code: row.try_get("code")?,
                    name: row.try_get("name")?,
                    kind: row.try_get("kind")?,
                    district_code: district.unwrap_or_default(),
                    active: row.try_get("active")?,
                })
            }

            fn district_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::District> {
                use sqlx::Row;
                let parent: Option<String> = row.try_get("parent_code")?;
                Ok($crate::store::District {
                    code: row.try_get("code")?,
                    name: row.try_get("name")?,
                    kind: row.try_get("kind")?,
                    parent_code: parent.unwrap_or_default(),
                })
            }

            fn category_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::Category> {
                use sqlx::Row;
                let parent: Option<String> = row.try_get("parent_code")?;
                Ok($crate::store::Category {
                    code: row.try_get("code")?,
                    name: row.try_get("name")?,
                    parent_code: parent.unwrap_or_default(),
                    term_days: row.try_get("term_days")?,
                })
            }

            async fn cases_of(
                conn: &mut <$db as sqlx::Database>::Connection,
                appeal_id: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::Case>> {
                let rows = sqlx::query(concat!("SELECT ", case_columns!(), " FROM cases c WHERE c.appeal_id = $1 ORDER BY c.id"))
                    .bind(appeal_id)
                    .fetch_all(&mut *conn)
                    .await?;
                rows.iter().map(Self::case_from_row).collect()
            }

            async fn load_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                appeal_id: i64,
            ) -> $crate::store::StoreResult<Option<$crate::domain::AppealState>> {
                let row = sqlx::query(concat!("SELECT ", appeal_columns!(), " FROM appeals a WHERE a.id = $1"))
                    .bind(appeal_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let appeal = Self::appeal_from_row(&row)?;
                let cases = Self::cases_of(conn, appeal_id).await?;
                Ok(Some($crate::domain::AppealState { appeal, cases }))
            }

            /// Appends `events` of `state` (whose cases all have ids by now).
            async fn append_events(
                conn: &mut <$db as sqlx::Database>::Connection,
                state: &$crate::domain::AppealState,
                events: &[$crate::domain::CaseEvent],
                actor: &$crate::store::Caller,
            ) -> $crate::store::StoreResult<Vec<i64>> {
                let mut ids = Vec::with_capacity(events.len());
                for event in events {
                    let case = event.case.map(|i| &state.cases[i]);
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO events (appeal_id, case_id, authority_code, kind, detail, actor, at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(state.appeal.id)
                    .bind(case.map(|c| c.id))
                    .bind(case.map(|c| c.authority_code.as_str()))
                    .bind(event.kind.code())
                    .bind(event.detail.to_string())
                    .bind(&actor.principal)
                    .bind(state.appeal.updated_at)
                    .fetch_one(&mut *conn)
                    .await?;
                    ids.push(id);
                }
                let notify: Option<&'static str> = $notify;
                if let (Some(sql), false) = (notify, events.is_empty()) {
                    sqlx::query(sql).execute(&mut *conn).await?;
                }
                Ok(ids)
            }

            /// Finds and locks the appeal `key` addresses.
            async fn lock_appeal(
                conn: &mut <$db as sqlx::Database>::Connection,
                key: &$crate::store::AppealKey,
            ) -> $crate::store::StoreResult<i64> {
                let id: Option<i64> = match key {
                    $crate::store::AppealKey::Number(n) => {
                        sqlx::query_scalar(concat!("SELECT id FROM appeals WHERE number = $1", $lock))
                            .bind(n)
                            .fetch_optional(&mut *conn)
                            .await?
                    }
                    $crate::store::AppealKey::Case(c) => {
                        sqlx::query_scalar(concat!(
                            "SELECT a.id FROM appeals a JOIN cases c ON c.appeal_id = a.id WHERE c.id = $1",
                            $lock
                        ))
                        .bind(c)
                        .fetch_optional(&mut *conn)
                        .await?
                    }
                };
                Ok(id.ok_or_else(|| $crate::domain::DomainError::NotFound(key.to_string()))?)
            }

            /// Runs `transition` on the locked appeal `appeal_id` and writes state, events and audit.
            /// Returns the new state and the ids of the events written (none: nothing was written).
            async fn apply_in<F>(
                conn: &mut <$db as sqlx::Database>::Connection,
                appeal_id: i64,
                caller: &$crate::store::Caller,
                transition: F,
            ) -> $crate::store::StoreResult<($crate::domain::AppealState, Vec<i64>)>
            where
                F: FnOnce(&mut $crate::domain::AppealState) -> Result<Vec<$crate::domain::CaseEvent>, $crate::domain::DomainError>,
            {
                let mut state = Self::load_in(conn, appeal_id)
                    .await?
                    .ok_or_else(|| $crate::domain::DomainError::NotFound(format!("appeal {appeal_id}")))?;
                let before = state.clone();
                // On a domain error the caller's transaction is dropped and rolls back: nothing was written.
                let events = transition(&mut state)?;
                if events.is_empty() {
                    return Ok((before, Vec::new()));
                }
                Self::save_in(conn, &before, &mut state).await?;
                let ids = Self::append_events(conn, &state, &events, caller).await?;
                Self::audit_change(conn, caller, &state, &events).await?;
                Ok((state, ids))
            }

            /// Appends a row to the hash-chained audit trail. The head row's lock serializes appends, so
            /// the chain never forks; callers run this inside the transaction of the change it records.
            async fn append_audit(
                conn: &mut <$db as sqlx::Database>::Connection,
                caller: &$crate::store::Caller,
                appeal_number: Option<&str>,
                action: &str,
                detail: &str,
            ) -> $crate::store::StoreResult<()> {
                let (seq, prev): (i64, String) =
                    sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
                        .fetch_one(&mut *conn)
                        .await?;
                let mut row = $crate::audit::AuditEntry {
                    seq,
                    at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    principal: caller.principal.clone(),
                    rpc: caller.rpc.clone(),
                    appeal_number: appeal_number.map(str::to_string),
                    action: action.to_string(),
                    detail: detail.to_string(),
                    prev_hash: prev,
                    hash: String::new(),
                };
                row.hash = row.expected_hash();
                sqlx::query(
                    "INSERT INTO audit_log (seq, at, principal, rpc, appeal_number, action, detail, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(row.seq)
                .bind(&row.at)
                .bind(&row.principal)
                .bind(&row.rpc)
                .bind(&row.appeal_number)
                .bind(&row.action)
                .bind(&row.detail)
                .bind(&row.prev_hash)
                .bind(&row.hash)
                .execute(&mut *conn)
                .await?;
                sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&row.hash).execute(&mut *conn).await?;
                Ok(())
            }

            /// Audits a transition: its event kinds and the cases they touched.
            async fn audit_change(
                conn: &mut <$db as sqlx::Database>::Connection,
                caller: &$crate::store::Caller,
                state: &$crate::domain::AppealState,
                events: &[$crate::domain::CaseEvent],
            ) -> $crate::store::StoreResult<()> {
                let action = events.iter().map(|e| e.kind.code()).collect::<Vec<_>>().join(",");
                let cases: Vec<i64> = events.iter().filter_map(|e| e.case.map(|i| state.cases[i].id)).collect();
                let detail = serde_json::json!({ "cases": cases }).to_string();
                Self::append_audit(conn, caller, Some(&state.appeal.number), &action, &detail).await
            }

            /// Writes what a transition changed: the appeal's mutable fields, changed and new cases.
            async fn save_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                before: &$crate::domain::AppealState,
                state: &mut $crate::domain::AppealState,
            ) -> $crate::store::StoreResult<()> {
                let a = &state.appeal;
                sqlx::query(
                    "UPDATE appeals SET status = $1, status_reason = $2, callback_attempts = $3, updated_at = $4, \
                     closed_at = $6 WHERE id = $5",
                )
                .bind(a.status.code())
                .bind(&a.status_reason)
                .bind(a.callback_attempts)
                .bind(a.updated_at)
                .bind(a.id)
                .bind(a.closed_at)
                .execute(&mut *conn)
                .await?;
                let appeal_id = a.id;
                for (i, case) in state.cases.iter_mut().enumerate() {
                    if case.id == 0 {
                        case.id = sqlx::query_scalar(
                            "INSERT INTO cases (appeal_id, authority_code, status, deadline, extension_reason, reason, \
                             answer, declined_at, assigned_at, updated_at, measures, answered_at, returned_count, \
                             due_soon_at, overdue_at, answered_late) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
                        )
                        .bind(appeal_id)
                        .bind(&case.authority_code)
                        .bind(case.status.code())
                        .bind(case.deadline)
                        .bind(&case.extension_reason)
                        .bind(&case.reason)
                        .bind(&case.answer)
                        .bind(case.declined_at)
                        .bind(case.assigned_at)
                        .bind(case.updated_at)
                        .bind(&case.measures)
                        .bind(case.answered_at)
                        .bind(case.returned_count)
                        .bind(case.due_soon_at)
                        .bind(case.overdue_at)
                        .bind(case.answered_late)
                        .fetch_one(&mut *conn)
                        .await?;
                    } else if before.cases.get(i) != Some(case) {
                        sqlx::query(
                            "UPDATE cases SET status = $1, deadline = $2, extension_reason = $3, reason = $4, \
                             answer = $5, declined_at = $6, updated_at = $7, measures = $9, answered_at = $10, \
                             returned_count = $11, due_soon_at = $12, overdue_at = $13, answered_late = $14 WHERE id = $8",
                        )
                        .bind(case.status.code())
                        .bind(case.deadline)
                        .bind(&case.extension_reason)
                        .bind(&case.reason)
                        .bind(&case.answer)
                        .bind(case.declined_at)
                        .bind(case.updated_at)
                        .bind(case.id)
                        .bind(&case.measures)
                        .bind(case.answered_at)
                        .bind(case.returned_count)
                        .bind(case.due_soon_at)
                        .bind(case.overdue_at)
                        .bind(case.answered_late)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
                Ok(())
            }

            fn committed(&self) {
                self.commits.send_modify(|n| *n = n.wrapping_add(1));
            }
        }

        impl $crate::store::Store for $store {
            #[tracing::instrument(skip_all)]
            async fn upsert_district(&self, d: &$crate::store::District, caller: &$crate::store::Caller) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO districts (code, name, kind, parent_code) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                     parent_code = excluded.parent_code",
                )
                .bind(&d.code)
                .bind(&d.name)
                .bind(&d.kind)
                .bind($crate::store::sql::non_empty(&d.parent_code))
                .execute(&mut *tx)
                .await?;
                let detail = serde_json::json!({ "code": d.code, "name": d.name, "kind": d.kind, "parent": d.parent_code });
                Self::append_audit(&mut tx, caller, None, "directory.district", &detail.to_string()).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn list_districts(&self) -> $crate::store::StoreResult<Vec<$crate::store::District>> {
                let rows = sqlx::query("SELECT code, name, kind, parent_code FROM districts ORDER BY code")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::district_from_row).collect()
            }

            #[tracing::instrument(skip_all)]
            async fn district(&self, code: &str) -> $crate::store::StoreResult<Option<$crate::store::District>> {
                let row = sqlx::query("SELECT code, name, kind, parent_code FROM districts WHERE code = $1")
                    .bind(code)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::district_from_row).transpose()
            }

            #[tracing::instrument(skip_all)]
            async fn upsert_category(&self, c: &$crate::store::Category, caller: &$crate::store::Caller) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO categories (code, name, parent_code, term_days) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent_code = excluded.parent_code, \
                     term_days = excluded.term_days",
                )
                .bind(&c.code)
                .bind(&c.name)
                .bind($crate::store::sql::non_empty(&c.parent_code))
                .bind(c.term_days)
                .execute(&mut *tx)
                .await?;
                let detail = serde_json::json!({ "code": c.code, "name": c.name, "parent": c.parent_code, "term_days": c.term_days });
                Self::append_audit(&mut tx, caller, None, "directory.category", &detail.to_string()).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn list_categories(&self) -> $crate::store::StoreResult<Vec<$crate::store::Category>> {
                let rows = sqlx::query("SELECT code, name, parent_code, term_days FROM categories ORDER BY code")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::category_from_row).collect()
            }

            #[tracing::instrument(skip_all)]
            async fn category(&self, code: &str) -> $crate::store::StoreResult<Option<$crate::store::Category>> {
                let row = sqlx::query("SELECT code, name, parent_code, term_days FROM categories WHERE code = $1")
                    .bind(code)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::category_from_row).transpose()
            }

            #[tracing::instrument(skip_all)]
            async fn create_authority(
                &self,
                a: &$crate::store::Authority,
                now: chrono::DateTime<chrono::Utc>,
                caller: &$crate::store::Caller,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO authorities (code, name, kind, district_code, active, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(&a.code)
                .bind(&a.name)
                .bind(&a.kind)
                .bind($crate::store::sql::non_empty(&a.district_code))
                .bind(a.active)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| match $crate::store::StoreError::from(e) {
                    $crate::store::StoreError::AlreadyExists(_) => {
                        $crate::store::StoreError::AlreadyExists(format!("authority `{}`", a.code))
                    }
                    other => other,
                })?;
                let detail = serde_json::json!({ "code": a.code, "name": a.name, "kind": a.kind, "district": a.district_code });
                Self::append_audit(&mut tx, caller, None, "directory.authority_created", &detail.to_string()).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn update_authority(
                &self,
                a: &$crate::store::Authority,
                now: chrono::DateTime<chrono::Utc>,
                caller: &$crate::store::Caller,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE authorities SET name = $1, kind = $2, district_code = $3, active = $4, updated_at = $5 \
                     WHERE code = $6",
                )
                .bind(&a.name)
                .bind(&a.kind)
                .bind($crate::store::sql::non_empty(&a.district_code))
                .bind(a.active)
                .bind(now)
                .bind(&a.code)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                let detail = serde_json::json!({ "code": a.code, "name": a.name, "kind": a.kind, "district": a.district_code, "active": a.active });
                Self::append_audit(&mut tx, caller, None, "directory.authority_updated", &detail.to_string()).await?;
                tx.commit().await?;
                Ok(true)
            }

            #[tracing::instrument(skip_all)]
            async fn list_authorities(&self, include_inactive: bool) -> $crate::store::StoreResult<Vec<$crate::store::Authority>> {
                let rows = sqlx::query(
                    "SELECT code, name, kind, district_code, active FROM authorities \
                     WHERE active OR $1 ORDER BY code",
                )
                .bind(include_inactive)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::authority_from_row).collect()
            }

            #[tracing::instrument(skip_all)]
            async fn authority(&self, code: &str) -> $crate::store::StoreResult<Option<$crate::store::Authority>> {
                let row = sqlx::query("SELECT code, name, kind, district_code, active FROM authorities WHERE code = $1")
                    .bind(code)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::authority_from_row).transpose()
            }

            #[tracing::instrument(skip_all)]
            async fn register(
                &self,
                checked: $crate::domain::card::CheckedCard,
                number_prefix: &str,
                caller: &$crate::store::Caller,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::domain::AppealState> {
                use chrono::Datelike;
                let year = $crate::domain::deadline::kyiv_date(checked.received_at).year();
                let mut tx = self.begin_write().await?;
                // The counter row is updated in the registering transaction, so numbers are gapless:
                // a rolled-back registration gives its number back.
                let seq: i64 = sqlx::query_scalar(
                    "INSERT INTO appeal_numbers (year, last) VALUES ($1, 1) \
                     ON CONFLICT (year) DO UPDATE SET last = appeal_numbers.last + 1 RETURNING last",
                )
                .bind(year)
                .fetch_one(&mut *tx)
                .await?;
                let number = format!("{number_prefix}-{year}-{seq:06}");
                let (mut state, events) = $crate::domain::AppealState::register(number, checked, now);
                let a = &state.appeal;
                let c = &a.card;
                state.appeal.id = sqlx::query_scalar(
                    "INSERT INTO appeals (number, received_at, channel, kind, citizen_name, citizen_phone, \
                     citizen_address, anonymous, signatories, benefit_holder, district_code, settlement_code, \
                     category_code, text, urgent, complained_authority_code, needs_study, repeat_of, status, \
                     status_reason, deadline, callback_attempts, updated_at, closed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
                     $19, $20, $21, $22, $23, $24) RETURNING id",
                )
                .bind(&a.number)
                .bind(a.received_at)
                .bind(c.channel.code())
                .bind(c.kind.code())
                .bind(&c.citizen.name)
                .bind(&c.citizen.phone)
                .bind(&c.citizen.address)
                .bind(c.anonymous)
                .bind(c.signatories)
                .bind(c.benefit_holder)
                .bind(&c.district_code)
                .bind($crate::store::sql::non_empty(&c.settlement_code))
                .bind(&c.category_code)
                .bind(&c.text)
                .bind(c.urgent)
                .bind($crate::store::sql::non_empty(&c.complained_authority_code))
                .bind(c.needs_study)
                .bind(c.repeat_of)
                .bind(a.status.code())
                .bind(&a.status_reason)
                .bind(a.deadline)
                .bind(a.callback_attempts)
                .bind(a.updated_at)
                .bind(a.closed_at)
                .fetch_one(&mut *tx)
                .await?;
                Self::append_events(&mut tx, &state, &events, caller).await?;
                Self::audit_change(&mut tx, caller, &state, &events).await?;
                tx.commit().await?;
                self.committed();
                Ok(state)
            }

            #[tracing::instrument(skip_all)]
            async fn appeal_status(
                &self,
                number: &str,
            ) -> $crate::store::StoreResult<Option<(i64, $crate::domain::AppealStatus)>> {
                let row: Option<(i64, String)> = sqlx::query_as("SELECT id, status FROM appeals WHERE number = $1")
                    .bind(number)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|(id, status)| {
                    Ok((id, $crate::store::sql::stored($crate::domain::AppealStatus::from_code, &status, "appeal status")?))
                })
                .transpose()
            }

            #[tracing::instrument(skip_all)]
            async fn load(
                &self,
                key: &$crate::store::AppealKey,
            ) -> $crate::store::StoreResult<Option<$crate::domain::AppealState>> {
                let mut conn = self.pool.acquire().await?;
                let id: Option<i64> = match key {
                    $crate::store::AppealKey::Number(n) => {
                        sqlx::query_scalar("SELECT id FROM appeals WHERE number = $1").bind(n).fetch_optional(&mut *conn).await?
                    }
                    $crate::store::AppealKey::Case(c) => {
                        sqlx::query_scalar("SELECT appeal_id FROM cases WHERE id = $1").bind(c).fetch_optional(&mut *conn).await?
                    }
                };
                match id {
                    Some(id) => Self::load_in(&mut conn, id).await,
                    None => Ok(None),
                }
            }

            #[tracing::instrument(skip_all)]
            async fn transact<F>(
                &self,
                key: &$crate::store::AppealKey,
                caller: &$crate::store::Caller,
                transition: F,
            ) -> $crate::store::StoreResult<$crate::domain::AppealState>
            where
                F: FnOnce(&mut $crate::domain::AppealState) -> Result<Vec<$crate::domain::CaseEvent>, $crate::domain::DomainError> + Send,
            {
                let mut tx = self.begin_write().await?;
                let appeal_id = Self::lock_appeal(&mut tx, key).await?;
                let (state, ids) = Self::apply_in(&mut tx, appeal_id, caller, transition).await?;
                if !ids.is_empty() {
                    tx.commit().await?;
                    self.committed();
                }
                Ok(state)
            }

            #[tracing::instrument(skip_all)]
            async fn transact_once<F, R>(
                &self,
                key: &$crate::store::AppealKey,
                caller: &$crate::store::Caller,
                request: &$crate::store::AgencyRequest,
                transition: F,
                respond: R,
            ) -> $crate::store::StoreResult<Vec<u8>>
            where
                F: FnOnce(&mut $crate::domain::AppealState) -> Result<Vec<$crate::domain::CaseEvent>, $crate::domain::DomainError> + Send,
                R: FnOnce(&$crate::domain::AppealState, &[i64], chrono::DateTime<chrono::Utc>) -> Vec<u8> + Send,
            {
                let mut tx = self.begin_write().await?;
                let appeal_id = Self::lock_appeal(&mut tx, key).await?;
                // Checked under the appeal's lock, so a retry racing its original waits and then replays.
                let earlier: Option<(String, i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT rpc, case_id, response FROM agency_requests WHERE authority_code = $1 AND request_id = $2",
                )
                .bind(&request.authority)
                .bind(&request.request_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((rpc, case_id, response)) = earlier {
                    if rpc != request.rpc || case_id != request.case_id {
                        return Err($crate::store::StoreError::AlreadyExists(format!(
                            "request id `{}` (used for {rpc} on case {case_id})", request.request_id
                        )));
                    }
                    return Ok(response);
                }
                let (state, ids) = Self::apply_in(&mut tx, appeal_id, caller, transition).await?;
                let now = chrono::Utc::now();
                for a in &request.attachments {
                    sqlx::query(
                        "INSERT INTO attachments (case_id, name, content_type, sha256, size, content, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(request.case_id)
                    .bind(&a.name)
                    .bind(&a.content_type)
                    .bind(&a.sha256)
                    .bind(a.content.len() as i64)
                    .bind(&a.content)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                let response = respond(&state, &ids, now);
                sqlx::query(
                    "INSERT INTO agency_requests (authority_code, request_id, rpc, case_id, response, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&request.authority)
                .bind(&request.request_id)
                .bind(&request.rpc)
                .bind(request.case_id)
                .bind(&response)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                self.committed();
                Ok(response)
            }

            #[tracing::instrument(skip_all)]
            async fn attachments(&self, case_ids: &[i64]) -> $crate::store::StoreResult<Vec<$crate::store::AttachmentInfo>> {
                if case_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "SELECT case_id, name, content_type, size, sha256 FROM attachments WHERE case_id IN (",
                );
                let mut list = q.separated(", ");
                for id in case_ids {
                    list.push_bind(*id);
                }
                q.push(") ORDER BY id");
                let rows: Vec<(i64, String, String, i64, String)> = q.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows
                    .into_iter()
                    .map(|(case_id, name, content_type, size, sha256)| $crate::store::AttachmentInfo {
                        case_id, name, content_type, size, sha256,
                    })
                    .collect())
            }

            #[tracing::instrument(skip_all)]
            async fn assigned_cases_up_to(&self, authority: &str, cursor: $crate::store::Cursor) -> $crate::store::StoreResult<Vec<i64>> {
                Ok(sqlx::query_scalar(
                    "SELECT c.id FROM cases c WHERE c.authority_code = $1 AND c.status = 'assigned' AND EXISTS ( \
                     SELECT 1 FROM events e WHERE e.case_id = c.id AND e.kind = 'case.assigned' \
                     AND (e.txid < $2 OR (e.txid = $2 AND e.id <= $3))) ORDER BY c.id",
                )
                .bind(authority)
                .bind(cursor.txid)
                .bind(cursor.id)
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn save_agency_cursor(&self, authority: &str, cursor: $crate::store::Cursor) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO agency_cursors (authority_code, txid, event_id, acked_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (authority_code) DO UPDATE SET txid = excluded.txid, event_id = excluded.event_id, \
                     acked_at = excluded.acked_at",
                )
                .bind(authority)
                .bind(cursor.txid)
                .bind(cursor.id)
                .bind(chrono::Utc::now())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn authority_cases(
                &self,
                authority: &str,
                status: Option<$crate::domain::CaseStatus>,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::AppealState>> {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT DISTINCT appeal_id FROM cases WHERE authority_code = $1 AND ($2 IS NULL OR status = $2) \
                     ORDER BY appeal_id",
                )
                .bind(authority)
                .bind(status.map(|s| s.code()))
                .fetch_all(&self.pool)
                .await?;
                let mut conn = self.pool.acquire().await?;
                let mut found = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(state) = Self::load_in(&mut conn, id).await? {
                        found.push(state);
                    }
                }
                Ok(found)
            }

            #[tracing::instrument(skip_all)]
            async fn search(
                &self,
                f: &$crate::store::SearchFilter,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::AppealState>> {
                let mut q = sqlx::QueryBuilder::<$db>::new(concat!("SELECT ", appeal_columns!(), " FROM appeals a WHERE 1 = 1"));
                if let Some(status) = f.status {
                    q.push(" AND a.status = ").push_bind(status.code());
                }
                if let Some(authority) = &f.authority_code {
                    q.push(" AND EXISTS (SELECT 1 FROM cases c WHERE c.appeal_id = a.id AND c.authority_code = ")
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
                    q.push(" AND a.district_code = ").push_bind(district.clone());
                }
                if let Some(from) = f.received_from {
                    q.push(" AND a.received_at >= ").push_bind(from);
                }
                if let Some(before) = f.received_before {
                    q.push(" AND a.received_at < ").push_bind(before);
                }
                if let Some(today) = f.overdue_on {
                    q.push(" AND EXISTS (SELECT 1 FROM cases c WHERE c.appeal_id = a.id AND c.status IN (")
                        .push($crate::store::sql::awaiting_answer_sql())
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
                let mut found = Vec::with_capacity(rows.len());
                for row in &rows {
                    let appeal = Self::appeal_from_row(row)?;
                    let cases = Self::cases_of(&mut conn, appeal.id).await?;
                    found.push($crate::domain::AppealState { appeal, cases });
                }
                Ok(found)
            }

            #[tracing::instrument(skip_all)]
            async fn declined_cases(&self) -> $crate::store::StoreResult<Vec<$crate::store::DeclinedCase>> {
                use sqlx::Row;
                let rows = sqlx::query(concat!(
                    "SELECT ", case_columns!(), ", a.number FROM cases c JOIN appeals a ON a.id = c.appeal_id \
                     WHERE c.status = 'declined' ORDER BY c.declined_at, c.id"
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::store::DeclinedCase {
                            appeal_number: row.try_get("number")?,
                            case: Self::case_from_row(row)?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(skip_all)]
            async fn events_after(
                &self,
                cursor: $crate::store::Cursor,
                filter: &$crate::store::EventFilter,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::StoredEvent>> {
                let rows = sqlx::query(concat!(
                    "SELECT e.id, e.txid, a.number, e.case_id, e.authority_code, e.kind, e.detail, e.actor, e.at \
                     FROM events e JOIN appeals a ON a.id = e.appeal_id \
                     WHERE (e.txid > $1 OR (e.txid = $1 AND e.id > $2)) AND ($3 IS NULL OR e.appeal_id = $3) \
                     AND ($5 IS NULL OR e.authority_code = $5)",
                    $visible,
                    " ORDER BY e.txid, e.id LIMIT $4"
                ))
                .bind(cursor.txid)
                .bind(cursor.id)
                .bind(filter.appeal_id)
                .bind(limit)
                .bind(filter.authority.as_deref())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::event_from_row).collect()
            }

            #[tracing::instrument(skip_all)]
            async fn history(&self, appeal_id: i64, limit: i64) -> $crate::store::StoreResult<Vec<$crate::store::StoredEvent>> {
                let rows = sqlx::query(
                    "SELECT e.id, e.txid, a.number, e.case_id, e.authority_code, e.kind, e.detail, e.actor, e.at \
                     FROM events e JOIN appeals a ON a.id = e.appeal_id WHERE e.appeal_id = $1 ORDER BY e.id LIMIT $2",
                )
                .bind(appeal_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::event_from_row).collect()
            }

            #[tracing::instrument(skip_all)]
            async fn last_event_id(&self) -> $crate::store::StoreResult<i64> {
                let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM events").fetch_one(&self.pool).await?;
                Ok(id.unwrap_or(0))
            }

            #[tracing::instrument(skip_all)]
            async fn audit_read(&self, caller: &$crate::store::Caller, appeal_number: &str) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                Self::append_audit(&mut tx, caller, Some(appeal_number), "read.personal_data", "{}").await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn audit_trail(&self, appeal_number: Option<&str>) -> $crate::store::StoreResult<Vec<$crate::audit::AuditEntry>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT seq, at, principal, rpc, appeal_number, action, detail, prev_hash, hash FROM audit_log \
                     WHERE ($1 IS NULL OR appeal_number = $1) ORDER BY seq",
                )
                .bind(appeal_number)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::audit::AuditEntry {
                            seq: row.try_get("seq")?,
                            at: row.try_get("at")?,
                            principal: row.try_get("principal")?,
                            rpc: row.try_get("rpc")?,
                            appeal_number: row.try_get("appeal_number")?,
                            action: row.try_get("action")?,
                            detail: row.try_get("detail")?,
                            prev_hash: row.try_get("prev_hash")?,
                            hash: row.try_get("hash")?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(skip_all)]
            async fn audit_head(&self) -> $crate::store::StoreResult<(i64, String)> {
                Ok(sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&self.pool).await?)
            }

            #[tracing::instrument(skip_all)]
            async fn received_counts(&self, from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<Vec<$crate::store::ReceivedCount>> {
                let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
                    "SELECT channel, kind, category_code, district_code, COUNT(*) FROM appeals \
                     WHERE received_at >= $1 AND received_at < $2 GROUP BY channel, kind, category_code, district_code",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(channel, kind, category, district, count)| $crate::store::ReceivedCount { channel, kind, category, district, count })
                    .collect())
            }

            #[tracing::instrument(skip_all)]
            async fn closed_counts(&self, from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<Vec<(String, i64)>> {
                Ok(sqlx::query_as("SELECT status, COUNT(*) FROM appeals WHERE closed_at >= $1 AND closed_at < $2 GROUP BY status")
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn open_count(&self) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM appeals WHERE status IN \
                     ('registered', 'assigned', 'in_progress', 'answered', 'awaiting_confirmation', 'returned')",
                )
                .fetch_one(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn overdue_by_authority(&self, today: chrono::NaiveDate) -> $crate::store::StoreResult<Vec<(String, i64)>> {
                let mut q = sqlx::QueryBuilder::<$db>::new("SELECT authority_code, COUNT(*) FROM cases WHERE status IN (");
                q.push($crate::store::sql::awaiting_answer_sql()).push(") AND deadline < ").push_bind(today);
                q.push(" GROUP BY authority_code");
                Ok(q.build_query_as().fetch_all(&self.pool).await?)
            }

            #[tracing::instrument(skip_all)]
            async fn returned_count(&self, from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM cases c JOIN appeals a ON a.id = c.appeal_id \
                     WHERE a.received_at >= $1 AND a.received_at < $2 AND c.returned_count > 0",
                )
                .bind(from)
                .bind(to)
                .fetch_one(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn answer_times(&self, from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>> {
                Ok(sqlx::query_as("SELECT assigned_at, answered_at FROM cases WHERE answered_at >= $1 AND answered_at < $2")
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn close_times(&self, from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>> {
                Ok(sqlx::query_as(
                    "SELECT received_at, closed_at FROM appeals WHERE closed_at >= $1 AND closed_at < $2 \
                     AND status IN ('closed', 'closed_unconfirmed')",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn authority_totals(&self, from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<Vec<$crate::store::AuthorityTotals>> {
                let rows: Vec<(String, i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
                    "SELECT c.authority_code, COUNT(*), \
                     SUM(CASE WHEN c.answered_at IS NOT NULL THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN c.answered_late = FALSE THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN c.returned_count > 0 THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN a.status IN ('closed', 'closed_unconfirmed') THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN a.status = 'closed' THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN a.repeat_of IS NOT NULL THEN 1 ELSE 0 END) \
                     FROM cases c JOIN appeals a ON a.id = c.appeal_id \
                     WHERE c.assigned_at >= $1 AND c.assigned_at < $2 AND c.status <> 'reassigned' \
                     GROUP BY c.authority_code",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(authority, assigned, answered, on_time, returned, ended, confirmed, repeats)| $crate::store::AuthorityTotals {
                        authority, assigned, answered, on_time, returned, ended, confirmed, repeats,
                    })
                    .collect())
            }

            #[tracing::instrument(skip_all)]
            async fn district_category_counts(&self, bounds: &[chrono::DateTime<chrono::Utc>]) -> $crate::store::StoreResult<Vec<$crate::store::CellCount>> {
                let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else { return Ok(Vec::new()) };
                let mut q = sqlx::QueryBuilder::<$db>::new("SELECT district_code, category_code, CAST(CASE");
                for (i, bound) in bounds.iter().enumerate().skip(1).rev().skip(1) {
                    q.push(" WHEN received_at >= ").push_bind(*bound).push(format!(" THEN {i}"));
                }
                q.push(" ELSE 0 END AS BIGINT) AS bucket, COUNT(*) FROM appeals WHERE received_at >= ").push_bind(*first);
                q.push(" AND received_at < ").push_bind(*last);
                q.push(" GROUP BY district_code, category_code, bucket");
                let rows: Vec<(String, String, i64, i64)> = q.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows
                    .into_iter()
                    .map(|(district, category, bucket, count)| $crate::store::CellCount { district, category, bucket, count })
                    .collect())
            }

            #[tracing::instrument(skip_all)]
            async fn category_kind_counts(&self, from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<Vec<(String, String, i64)>> {
                Ok(sqlx::query_as(
                    "SELECT category_code, kind, COUNT(*) FROM appeals WHERE received_at >= $1 AND received_at < $2 \
                     GROUP BY category_code, kind",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn received_times(&self, from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<Vec<(chrono::DateTime<chrono::Utc>, String)>> {
                Ok(sqlx::query_as("SELECT received_at, category_code FROM appeals WHERE received_at >= $1 AND received_at < $2")
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn cases_to_announce(&self, today: chrono::NaiveDate, due_by: chrono::NaiveDate) -> $crate::store::StoreResult<Vec<i64>> {
                let mut q = sqlx::QueryBuilder::<$db>::new("SELECT id FROM cases WHERE status IN (");
                q.push($crate::store::sql::awaiting_answer_sql());
                q.push(") AND ((overdue_at IS NULL AND deadline < ").push_bind(today);
                q.push(") OR (due_soon_at IS NULL AND overdue_at IS NULL AND deadline <= ").push_bind(due_by);
                q.push(")) ORDER BY id");
                Ok(q.build_query_scalar().fetch_all(&self.pool).await?)
            }

            #[tracing::instrument(skip_all)]
            async fn try_lease(&self, name: &str, holder: &str, until: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                     WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
                )
                .bind(name)
                .bind(holder)
                .bind(until)
                .bind(chrono::Utc::now())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(skip_all)]
            async fn find_repeat(
                &self,
                phone: &str,
                category: &str,
                district: &str,
                since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<(i64, String)>> {
                Ok(sqlx::query_as(
                    "SELECT id, number FROM appeals WHERE citizen_phone = $1 AND category_code = $2 \
                     AND district_code = $3 AND received_at >= $4 ORDER BY id DESC LIMIT 1",
                )
                .bind(phone)
                .bind(category)
                .bind(district)
                .bind(since)
                .fetch_optional(&self.pool)
                .await?)
            }

            fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
                self.commits.subscribe()
            }

            async fn ping(&self) -> $crate::store::StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}
pub(crate) use {appeal_columns, case_columns, sql_store};
