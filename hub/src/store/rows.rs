//! How rows read back into the domain's types, and the column lists the queries select. A code the
//! domain does not know (written by a newer hub, or edited by hand) is an internal error naming it.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Row, Type};

use super::backend::{Backend, Column, SqlStore};
use super::{StoreError, StoreResult};
use crate::domain::{
    Appeal, AppealCard, AppealKind, AppealStatus, Authority, Case, CaseRole, CaseStatus, Category,
    Channel, Citizen, Coded, Cursor, District, DistrictKind, Outcome, Profile, Sign, StoredEvent,
    Urgency,
};

/// Author categories as one column: checked codes never contain a comma.
pub(super) fn joined_codes(codes: &[String]) -> String {
    codes.join(",")
}

fn split_codes(joined: &str) -> Vec<String> {
    joined
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// The columns of an appeal row (`a`), with the number of the appeal it repeats.
pub(super) const APPEAL_COLUMNS: &str = "a.id, a.number, a.received_at, a.channel, a.kind, \
    a.citizen_name, a.citizen_phone, a.citizen_address, a.anonymous, a.signatories, \
    a.benefit_holder, a.district_code, a.settlement_code, a.category_code, a.text, a.urgent, \
    a.complained_authority_code, a.needs_study, a.repeat_of, a.status, a.status_reason, a.deadline, \
    a.callback_attempts, a.updated_at, a.closed_at, a.citizen_email, a.consultation, \
    a.backdate_reason, a.outcome, a.satisfaction, a.satisfaction_note, a.disagreement, \
    a.awaiting_rework, a.first_callback_at, a.last_callback_at, a.unassigned_announced_at, \
    a.continued_in, a.sign, a.author_categories, a.social_status, a.sex, a.contact_person, \
    a.urgency, a.priority, a.due_at, a.incident_id, a.publishable, \
    (SELECT l.partner FROM exchange_links l WHERE l.appeal_id = a.id) AS exchange_partner, \
    (SELECT l.external_id FROM exchange_links l WHERE l.appeal_id = a.id) AS external_id, \
    (SELECT r.number FROM appeals r WHERE r.id = a.repeat_of) AS repeat_of_number";

/// The columns of a case row (`c`).
pub(super) const CASE_COLUMNS: &str = "c.id, c.appeal_id, c.authority_code, c.status, c.deadline, \
    c.extension_reason, c.reason, c.answer, c.measures, c.declined_at, c.assigned_at, c.updated_at, \
    c.answered_at, c.answered_late, c.returned_count, c.due_soon_at, c.overdue_at, c.outcome, \
    c.outcome_detail, c.resolved_at, c.extension_requested_to, c.extension_request_reason, c.role, \
    c.due_at";

/// The columns of an event row (`e`) joined with its appeal (`a`).
pub(super) const EVENT_COLUMNS: &str =
    "e.id, e.txid, a.number, e.case_id, e.authority_code, e.kind, e.detail, e.actor, e.at";

/// Parses a code read back from the database.
pub(super) fn stored<T: Coded>(code: &str, column: &str) -> StoreResult<T> {
    T::all()
        .iter()
        .copied()
        .find(|v| v.code() == code)
        .ok_or_else(|| StoreError::Internal(format!("unknown {column} `{code}` in the database")))
}

/// An outcome column: NULL, or a code the domain knows.
fn outcome_of(code: Option<String>) -> StoreResult<Option<Outcome>> {
    code.map(|c| stored::<Outcome>(&c, "outcome")).transpose()
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
    /// An appeal from a row selected with [`APPEAL_COLUMNS`].
    pub(super) fn appeal_from_row(row: &DB::Row) -> StoreResult<Appeal> {
        let kind: String = row.try_get("kind")?;
        let channel: String = row.try_get("channel")?;
        let status: String = row.try_get("status")?;
        let settlement: Option<String> = row.try_get("settlement_code")?;
        let complained: Option<String> = row.try_get("complained_authority_code")?;
        let repeat_of_number: Option<String> = row.try_get("repeat_of_number")?;
        let sign: String = row.try_get("sign")?;
        let urgency: String = row.try_get("urgency")?;
        let author_categories: String = row.try_get("author_categories")?;
        let partner: Option<String> = row.try_get("exchange_partner")?;
        let external_id: Option<String> = row.try_get("external_id")?;
        Ok(Appeal {
            id: row.try_get("id")?,
            number: row.try_get("number")?,
            received_at: row.try_get("received_at")?,
            card: AppealCard {
                kind: stored::<AppealKind>(&kind, "appeal kind")?,
                channel: stored::<Channel>(&channel, "channel")?,
                citizen: Citizen {
                    name: row.try_get("citizen_name")?,
                    phone: row.try_get("citizen_phone")?,
                    address: row.try_get("citizen_address")?,
                    email: row.try_get("citizen_email")?,
                },
                anonymous: row.try_get("anonymous")?,
                signatories: row.try_get("signatories")?,
                benefit_holder: row.try_get("benefit_holder")?,
                district_code: row.try_get("district_code")?,
                settlement_code: settlement.unwrap_or_default(),
                category_code: row.try_get("category_code")?,
                text: row.try_get("text")?,
                profile: Profile {
                    sign: stored::<Sign>(&sign, "sign")?,
                    author_categories: split_codes(&author_categories),
                    social_status: row.try_get("social_status")?,
                    sex: row.try_get("sex")?,
                    contact_person: row.try_get("contact_person")?,
                    urgency: stored::<Urgency>(&urgency, "urgency")?,
                    priority: row.try_get("priority")?,
                },
                complained_authority_code: complained.unwrap_or_default(),
                needs_study: row.try_get("needs_study")?,
                repeat_of: row.try_get("repeat_of")?,
                repeat_of_number: repeat_of_number.unwrap_or_default(),
                backdate_reason: row.try_get("backdate_reason")?,
                consultation: row.try_get("consultation")?,
                publishable: row.try_get("publishable")?,
            },
            status: stored::<AppealStatus>(&status, "appeal status")?,
            status_reason: row.try_get("status_reason")?,
            deadline: row.try_get("deadline")?,
            callback_attempts: row.try_get("callback_attempts")?,
            first_callback_at: row.try_get("first_callback_at")?,
            last_callback_at: row.try_get("last_callback_at")?,
            outcome: outcome_of(row.try_get("outcome")?)?,
            satisfaction: row.try_get("satisfaction")?,
            satisfaction_note: row.try_get("satisfaction_note")?,
            disagreement: row.try_get("disagreement")?,
            awaiting_rework: row.try_get("awaiting_rework")?,
            unassigned_announced_at: row.try_get("unassigned_announced_at")?,
            continued_in: row.try_get("continued_in")?,
            due_at: row.try_get("due_at")?,
            incident_id: row.try_get("incident_id")?,
            exchange: partner.zip(external_id),
            closed_at: row.try_get("closed_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// A case from a row selected with [`CASE_COLUMNS`].
    pub(super) fn case_from_row(row: &DB::Row) -> StoreResult<Case> {
        let status: String = row.try_get("status")?;
        let role: String = row.try_get("role")?;
        Ok(Case {
            id: row.try_get("id")?,
            authority_code: row.try_get("authority_code")?,
            status: stored::<CaseStatus>(&status, "case status")?,
            deadline: row.try_get("deadline")?,
            extension_reason: row.try_get("extension_reason")?,
            reason: row.try_get("reason")?,
            answer: row.try_get("answer")?,
            measures: row.try_get("measures")?,
            declined_at: row.try_get("declined_at")?,
            assigned_at: row.try_get("assigned_at")?,
            role: stored::<CaseRole>(&role, "case role")?,
            due_at: row.try_get("due_at")?,
            outcome: outcome_of(row.try_get("outcome")?)?,
            outcome_detail: row.try_get("outcome_detail")?,
            resolved_at: row.try_get("resolved_at")?,
            answered_at: row.try_get("answered_at")?,
            answered_late: row.try_get("answered_late")?,
            extension_requested_to: row.try_get("extension_requested_to")?,
            extension_request_reason: row.try_get("extension_request_reason")?,
            returned_count: row.try_get("returned_count")?,
            due_soon_at: row.try_get("due_soon_at")?,
            overdue_at: row.try_get("overdue_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// An event from a row selected with [`EVENT_COLUMNS`].
    pub(super) fn event_from_row(row: &DB::Row) -> StoreResult<StoredEvent> {
        Ok(StoredEvent {
            cursor: Cursor {
                txid: row.try_get("txid")?,
                id: row.try_get("id")?,
            },
            appeal_number: row.try_get("number")?,
            case_id: row.try_get("case_id")?,
            authority_code: row.try_get("authority_code")?,
            kind: row.try_get("kind")?,
            detail: row.try_get("detail")?,
            actor: row.try_get("actor")?,
            at: row.try_get("at")?,
        })
    }

    /// An authority row.
    pub(super) fn authority_from_row(row: &DB::Row) -> StoreResult<Authority> {
        let district: Option<String> = row.try_get("district_code")?;
        Ok(Authority {
            code: row.try_get("code")?,
            name: row.try_get("name")?,
            kind: row.try_get("kind")?,
            district_code: district.unwrap_or_default(),
            active: row.try_get("active")?,
        })
    }

    /// A district row.
    pub(super) fn district_from_row(row: &DB::Row) -> StoreResult<District> {
        let parent: Option<String> = row.try_get("parent_code")?;
        let kind: String = row.try_get("kind")?;
        Ok(District {
            code: row.try_get("code")?,
            name: row.try_get("name")?,
            kind: stored::<DistrictKind>(&kind, "district kind")?,
            parent_code: parent.unwrap_or_default(),
        })
    }

    /// A category row.
    pub(super) fn category_from_row(row: &DB::Row) -> StoreResult<Category> {
        let parent: Option<String> = row.try_get("parent_code")?;
        Ok(Category {
            code: row.try_get("code")?,
            name: row.try_get("name")?,
            parent_code: parent.unwrap_or_default(),
            term_days: row.try_get("term_days")?,
        })
    }
}
