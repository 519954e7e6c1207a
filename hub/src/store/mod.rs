//! Persistence: small traits by concern ([`DirectoryStore`], [`AppealStore`], [`AgencyStore`],
//! [`EventLog`], [`AuditLog`], [`ReportQueries`], [`NoticeStore`], [`Leases`], [`StaffLogins`]),
//! implemented once by [`SqlStore`] for SQLite ([`SqliteStore`]) and PostgreSQL ([`PgStore`]); [`open`] picks one from the URL.
//!
//! Every change to an appeal goes through [`AppealStore::transact`]: one database transaction that
//! locks the appeal, runs a pure domain transition on it, writes the new state, appends the events
//! and the audit row. The event log is read by cursor ([`EventLog::events_after`]); a reader never
//! skips an event, even when transactions commit out of id order.
//!
//! # Layout
//! - [`backend`]: [`SqlStore`] and what differs per database ([`Backend`]).
//! - `sqlite`, `postgres`: the two backends: connecting, migrations, notifications.
//! - `rows`: rows back into domain types; `transition`: the locked read-modify-write of an appeal.
//! - `appeals`, `agency`, `directory`, `events`, `audit`, `reports`, `leases`, `operations`: one
//!   trait each.

mod agency;
mod appeals;
mod audit;
pub mod backend;
mod classifier;
mod directory;
mod events;
mod exchange;
mod incidents;
mod leases;
mod migrations;
mod notices;
mod opendata;
mod operations;
mod postgres;
mod registration;
mod reports;
mod requests;
mod rows;
mod sqlite;
mod staff;
mod transition;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::watch;

use crate::audit::AuditEntry;
use crate::domain::exchange::CodeMapping;
use crate::domain::reports::{
    AuthorityTotals, CellCount, DimensionTotals, KindCount, ReceivedCount,
};
use crate::domain::{
    AppealState, AppealStatus, AttachmentInfo, Authority, Caller, Case, CaseStatus, Category,
    Change, ClassifierEntry, Cursor, Dimension, District, DomainError, Incident, IncidentStatus,
    NewAttachment, NoticeChannel, NoticeKind, NoticeStatus, Queue, StoredEvent,
};

pub use backend::{Backend, SqlStore};
pub use operations::{
    FeedPosition, ID_TABLES, IdMarks, OperationsQueries, PoolUse, RestoreMark, postgres_is_empty,
};
pub use postgres::{PgStore, connect_options as pg_connect_options};
pub use sqlite::SqliteStore;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The domain refused the transition; nothing was written.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A unique key is taken.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The database cannot be reached right now; the caller may retry.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(err.to_string()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::AlreadyExists(db.message().to_string())
            }
            // SQLite reports a locked database after busy_timeout: a retryable condition.
            sqlx::Error::Database(db) if db.message().contains("database is locked") => {
                Self::Unavailable(db.message().to_string())
            }
            // A full disk or a database that became read-only heals when space or the
            // permission returns: retryable, like a database that does not answer.
            sqlx::Error::Database(db) if cannot_write(db.message(), db.code().as_deref()) => {
                Self::Unavailable(db.message().to_string())
            }
            _ => Self::Internal(err.to_string()),
        }
    }
}

/// True for a database that cannot write now: SQLite's full disk or read-only file, PostgreSQL's
/// `disk_full` (53100), `read_only_sql_transaction` (25006) and an administrator's shutdown (57P01).
fn cannot_write(message: &str, code: Option<&str>) -> bool {
    message.contains("database or disk is full")
        || message.contains("readonly database")
        || matches!(code, Some("53100" | "25006" | "57P01" | "57P02" | "57P03"))
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Self::Internal(format!("migration failed: {err}"))
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Which appeal a transition addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppealKey {
    /// By its number.
    Number(String),
    /// By the id of one of its cases.
    Case(i64),
}

impl fmt::Display for AppealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "appeal {n}"),
            Self::Case(id) => write!(f, "case {id}"),
        }
    }
}

/// Search filters; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    /// Status.
    pub status: Option<AppealStatus>,
    /// Has a case for this authority.
    pub authority_code: Option<String>,
    /// Category, or any subject of a section.
    pub category_code: Option<String>,
    /// District.
    pub district_code: Option<String>,
    /// The citizen's phone, normalized (personal data: the caller audits what it shows).
    pub citizen_phone: Option<String>,
    /// Received at or after.
    pub received_from: Option<DateTime<Utc>>,
    /// Received before.
    pub received_before: Option<DateTime<Utc>>,
    /// Only with an open case due before this Kyiv date.
    pub overdue_on: Option<NaiveDate>,
    /// Only appeals with an id below this (the page token).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Which events to read from the log.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this appeal's.
    pub appeal_id: Option<i64>,
    /// Only the case events of this authority.
    pub authority: Option<String>,
    /// Only the events of appeals linked to this exchange partner.
    pub partner: Option<String>,
}

/// A client-made request id and what the request was: a write that carries one is applied once per
/// (principal, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// Who made it (`staff:operator:ivan`, `agency:vodokanal`).
    pub principal: String,
    /// The client-made id.
    pub request_id: String,
    /// The RPC it called.
    pub rpc: String,
    /// Hex SHA-256 of its content: a retry carries the same.
    pub fingerprint: String,
}

/// What an earlier request with the same key did: a retry is answered from it and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The appeal it created or changed.
    pub appeal_number: String,
    /// The exact answer it got, where that was kept (an authority's request).
    pub response: Option<Vec<u8>>,
}

/// What a write that may be a retry did.
#[derive(Debug, Clone)]
pub enum Applied<T> {
    /// Applied now.
    Done(T),
    /// A retry of a request applied before: nothing changed.
    Replayed(Replay),
}

/// A declined case with its appeal's number.
#[derive(Debug, Clone)]
pub struct DeclinedCase {
    /// The appeal's number.
    pub appeal_number: String,
    /// The case.
    pub case: Case,
}

/// A transition run on a locked appeal: what it changed (its events and the notices they require),
/// or why it was refused.
pub trait Transition: FnOnce(&mut AppealState) -> Result<Change, DomainError> + Send {}
impl<F> Transition for F where F: FnOnce(&mut AppealState) -> Result<Change, DomainError> + Send {}

/// Districts, the classifier and authorities. Each change is audited in its transaction.
pub trait DirectoryStore {
    /// Adds or replaces a district or settlement.
    fn upsert_district(
        &self,
        district: &District,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Every district and settlement, by code.
    fn list_districts(&self) -> impl Future<Output = StoreResult<Vec<District>>> + Send;
    /// One district or settlement.
    fn district(&self, code: &str) -> impl Future<Output = StoreResult<Option<District>>> + Send;
    /// Adds or replaces a category.
    fn upsert_category(
        &self,
        category: &Category,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The whole classifier, by code.
    fn list_categories(&self) -> impl Future<Output = StoreResult<Vec<Category>>> + Send;
    /// One category.
    fn category(&self, code: &str) -> impl Future<Output = StoreResult<Option<Category>>> + Send;
    /// Adds an authority; `AlreadyExists` when the code is taken.
    fn create_authority(
        &self,
        authority: &Authority,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Changes name, kind, district and active flag; `false` when there is no such authority.
    fn update_authority(
        &self,
        authority: &Authority,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Authorities by code.
    fn list_authorities(
        &self,
        include_inactive: bool,
    ) -> impl Future<Output = StoreResult<Vec<Authority>>> + Send;
    /// One authority.
    fn authority(&self, code: &str) -> impl Future<Output = StoreResult<Option<Authority>>> + Send;
}

/// How an appeal continues in a follow-up: registered under the next number of `year`, built by
/// `make` from its sequence number and the original as it was, while `end` ends the original
/// (given the follow-up's number).
#[derive(Debug)]
pub struct FollowUp<M, F> {
    /// The year whose numbering the follow-up takes.
    pub year: i32,
    /// Builds the follow-up and its change.
    pub make: M,
    /// Ends the original.
    pub end: F,
}

/// How an appeal is built from its sequence number (callable again: a failed batch is retried
/// one by one).
pub type MakeAppeal = Arc<dyn Fn(i64) -> (AppealState, Change) + Send + Sync>;

/// One registration of a batch.
#[derive(Clone)]
pub struct RegisterJob {
    /// The year whose numbering it takes.
    pub year: i32,
    /// Who registers it.
    pub caller: Caller,
    /// When.
    pub now: DateTime<Utc>,
    /// Its request key, if it carries one.
    pub request: Option<RequestKey>,
    /// Builds it.
    pub make: MakeAppeal,
}

impl fmt::Debug for RegisterJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegisterJob({} by {})", self.year, self.caller.principal)
    }
}

/// Appeals and their cases.
pub trait AppealStore {
    /// Registers an appeal under the next number of `year`: `make` builds it (and its events) from
    /// that sequence number, and it is written with its events and audit row in one transaction.
    /// With a request key, a retry replays the first registration instead.
    fn register<F>(
        &self,
        year: i32,
        caller: &Caller,
        now: DateTime<Utc>,
        request: Option<&RequestKey>,
        make: F,
    ) -> impl Future<Output = StoreResult<Applied<AppealState>>> + Send
    where
        F: FnOnce(i64) -> (AppealState, Change) + Send;
    /// Registers several appeals in one transaction (group commit: one durable write for all),
    /// each as [`Self::register`] would. All or nothing: on an error none is written, and the
    /// caller registers them one by one (each `make` may be called again).
    fn register_batch(
        &self,
        jobs: &[RegisterJob],
    ) -> impl Future<Output = StoreResult<Vec<Applied<AppealState>>>> + Send;
    /// Ends the appeal `key` addresses and registers, in the same transaction, its follow-up (see
    /// [`FollowUp`]).
    fn continue_appeal<F, M>(
        &self,
        key: &AppealKey,
        caller: &Caller,
        now: DateTime<Utc>,
        request: Option<&RequestKey>,
        follow_up: FollowUp<M, F>,
    ) -> impl Future<Output = StoreResult<Applied<AppealState>>> + Send
    where
        M: FnOnce(i64, &AppealState) -> Result<(AppealState, Change), DomainError> + Send,
        F: FnOnce(&mut AppealState, &str) -> Result<Change, DomainError> + Send;
    /// Id, status, phone and name of an appeal by number (for the repeat check).
    fn appeal_ref(
        &self,
        number: &str,
    ) -> impl Future<Output = StoreResult<Option<(i64, AppealStatus, String, String)>>> + Send;
    /// Id and status of an appeal by number.
    fn appeal_status(
        &self,
        number: &str,
    ) -> impl Future<Output = StoreResult<Option<(i64, AppealStatus)>>> + Send;
    /// One appeal with its cases.
    fn load(
        &self,
        key: &AppealKey,
    ) -> impl Future<Output = StoreResult<Option<AppealState>>> + Send;
    /// Runs `transition` on the locked appeal and writes the new state with its events and audit row
    /// in one transaction. A domain error rolls everything back.
    fn transact<F: Transition>(
        &self,
        key: &AppealKey,
        caller: &Caller,
        now: DateTime<Utc>,
        transition: F,
    ) -> impl Future<Output = StoreResult<AppealState>> + Send;
    /// Like [`AppealStore::transact`], applied once per request key: a retry (same key, same
    /// content) is replayed and changes nothing; the same id with other content is `AlreadyExists`.
    fn transact_once<F: Transition>(
        &self,
        key: &AppealKey,
        caller: &Caller,
        now: DateTime<Utc>,
        request: &RequestKey,
        transition: F,
    ) -> impl Future<Output = StoreResult<Applied<AppealState>>> + Send;
    /// Appeals matching the filter, newest first.
    fn search(
        &self,
        filter: &SearchFilter,
    ) -> impl Future<Output = StoreResult<Vec<AppealState>>> + Send;
    /// Declined cases of open appeals, oldest decline first.
    fn declined_cases(&self) -> impl Future<Output = StoreResult<Vec<DeclinedCase>>> + Send;
    /// Appeals with a case of `authority` (in `status`, when given).
    fn authority_cases(
        &self,
        authority: &str,
        status: Option<CaseStatus>,
    ) -> impl Future<Output = StoreResult<Vec<AppealState>>> + Send;
    /// The latest earlier appeal from the same phone about the same category in the same district since `since`.
    fn find_repeat(
        &self,
        phone: &str,
        category: &str,
        district: &str,
        since: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<(i64, String)>>> + Send;
    /// Attachments of these cases (without content).
    fn attachments(
        &self,
        case_ids: &[i64],
    ) -> impl Future<Output = StoreResult<Vec<AttachmentInfo>>> + Send;
}

/// What authorities do through the agency gateway.
pub trait AgencyStore {
    /// An authority's request on case `case_id`, applied once per request key with `attachments`
    /// stored beside it. `respond` builds the answer inside the transaction (from the new state, the
    /// ids of the events written, the case's documents and the time) and the answer is kept: a retry
    /// gets the same bytes and changes nothing; the same id with other content is `AlreadyExists`.
    #[allow(clippy::too_many_arguments)]
    fn act_once<F, R>(
        &self,
        case_id: i64,
        caller: &Caller,
        now: DateTime<Utc>,
        request: &RequestKey,
        attachments: &[NewAttachment],
        transition: F,
        respond: R,
    ) -> impl Future<Output = StoreResult<Vec<u8>>> + Send
    where
        F: Transition,
        R: FnOnce(&AppealState, &[i64], &[AttachmentInfo], DateTime<Utc>) -> Vec<u8> + Send;
    /// Ids of `authority`'s cases still `assigned` whose assignment event is at or before `cursor`.
    fn assigned_cases_up_to(
        &self,
        authority: &str,
        cursor: Cursor,
    ) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;
    /// Records how far `authority` has acknowledged its feed (never moving it back) and when.
    fn save_agency_cursor(
        &self,
        authority: &str,
        cursor: Cursor,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The append-only event log, read by cursor.
pub trait EventLog {
    /// Up to `limit` events after `cursor` that match `filter`, in log order, never past an event
    /// that a transaction still in flight could put before them.
    fn events_after(
        &self,
        cursor: Cursor,
        filter: &EventFilter,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<StoredEvent>>> + Send;
    /// Every committed event of one appeal, by id: its history for people to read. (Unlike
    /// [`EventLog::events_after`] it does not hold back events behind transactions still in flight,
    /// since nobody resumes from it.)
    fn history(
        &self,
        appeal_id: i64,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<StoredEvent>>> + Send;
    /// True when `cursor` is the position of an event in this log (of `authority`, when given), or
    /// the start: the only cursors this hub gives out.
    fn has_position(
        &self,
        cursor: Cursor,
        authority: Option<&str>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The highest event id written so far (0 for an empty log).
    fn last_event_id(&self) -> impl Future<Output = StoreResult<i64>> + Send;
    /// The position of the last event no transaction in flight can come before: a reader that
    /// starts there misses nothing that [`EventLog::events_after`] will return later.
    fn settled_cursor(&self) -> impl Future<Output = StoreResult<Cursor>> + Send;
    /// A receiver that changes after every commit that appended events (in this process, and on
    /// PostgreSQL in every hub sharing the database).
    fn commits(&self) -> watch::Receiver<u64>;
}

/// A read of an appeal's personal data, to be recorded.
#[derive(Debug, Clone)]
pub struct ReadAudit {
    /// Who read it.
    pub caller: Caller,
    /// Whose appeal.
    pub appeal_number: String,
    /// When.
    pub now: DateTime<Utc>,
}

/// The hash-chained audit trail.
pub trait AuditLog {
    /// Records an action that changes nothing in the database (a certificate issued or revoked
    /// from the hub's PKI directory): who, what, the detail (JSON).
    fn audit_action(
        &self,
        caller: &Caller,
        action: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Records a read of the appeal's personal data.
    fn audit_read(
        &self,
        caller: &Caller,
        appeal_number: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Records several reads in one transaction, in order.
    fn audit_reads(&self, reads: &[ReadAudit]) -> impl Future<Output = StoreResult<()>> + Send;
    /// The audit trail in order (of one appeal, when given).
    fn audit_trail(
        &self,
        appeal_number: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<AuditEntry>>> + Send;
    /// The chain's head: the last sequence number and hash.
    fn audit_head(&self) -> impl Future<Output = StoreResult<(i64, String)>> + Send;
}

/// The counts the monitoring reports are made of. Counts only: no personal data.
pub trait ReportQueries {
    /// Appeals received in [from, to), counted by channel, kind, category and district.
    fn received_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<ReceivedCount>>> + Send;
    /// Appeals that ended in [from, to), counted by final status.
    fn closed_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<(String, i64)>>> + Send;
    /// Appeals open now.
    fn open_count(&self) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Cases owing an answer past their deadline (before `today`), per authority.
    fn overdue_by_authority(
        &self,
        today: NaiveDate,
    ) -> impl Future<Output = StoreResult<Vec<(String, i64)>>> + Send;
    /// Cases of appeals received in [from, to) returned for rework at least once.
    fn returned_count(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// (assigned, first answered) of cases first answered in [from, to).
    fn answer_times(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<(DateTime<Utc>, DateTime<Utc>)>>> + Send;
    /// (received, ended) of appeals closed (confirmed or not) in [from, to).
    fn close_times(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<(DateTime<Utc>, DateTime<Utc>)>>> + Send;
    /// Per-authority totals over cases assigned in [from, to).
    fn authority_totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<AuthorityTotals>>> + Send;
    /// Appeals per district × category in the periods [bounds[i], bounds[i+1]).
    fn district_category_counts(
        &self,
        bounds: &[DateTime<Utc>],
    ) -> impl Future<Output = StoreResult<Vec<CellCount>>> + Send;
    /// Appeals received in [from, to) per category, kind and outcome (NULL while open).
    fn category_kind_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<KindCount>>> + Send;
    /// Appeals that ended in [from, to) per outcome (`none` where there is none: not considered).
    fn outcome_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<(String, i64)>>> + Send;
    /// Consultations given among the appeals received in [from, to).
    fn consultation_count(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Priority, emergency and incident appeals received in [from, to), and incidents opened.
    fn dimension_totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<DimensionTotals>> + Send;
    /// Of the appeals that ended in [from, to): the sum and count of satisfaction scores given,
    /// and how many closed over the citizen's disagreement.
    fn satisfaction_totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<(i64, i64, i64)>> + Send;
    /// (received, category) of every appeal received in [from, to).
    fn received_times(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<(DateTime<Utc>, String)>>> + Send;
    /// Numbers of appeals still registered (not assigned) that were received before `before` and
    /// are not yet announced as unassigned.
    fn unassigned_to_announce(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Cases the deadline monitor must announce: overdue (deadline before `today`, or an
    /// emergency's instant before `now`) or due by `due_by`, not yet announced.
    fn cases_to_announce(
        &self,
        today: NaiveDate,
        due_by: NaiveDate,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;
}

/// Which notices to list.
#[derive(Debug, Clone, Default)]
pub struct NoticeFilter {
    /// Only in this status.
    pub status: Option<NoticeStatus>,
    /// Only by this channel.
    pub channel: Option<NoticeChannel>,
    /// Only of this appeal.
    pub appeal_number: Option<String>,
    /// At most this many, oldest first.
    pub limit: i64,
}

/// A notice as kept: what to tell whom, how, and how far it got. Personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredNotice {
    /// Id.
    pub id: i64,
    /// Its appeal.
    pub appeal_number: String,
    /// Why.
    pub kind: NoticeKind,
    /// How.
    pub channel: NoticeChannel,
    /// Where it stands.
    pub status: NoticeStatus,
    /// Where to (e-mail address, phone, postal address).
    pub address: String,
    /// What to say.
    pub text: String,
    /// E-mail attempts made.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When it was sent, called or posted.
    pub done_at: Option<DateTime<Utc>>,
    /// Who did it.
    pub done_by: String,
}

impl fmt::Debug for StoredNotice {
    // Personal data never reaches a log: no address, no text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "StoredNotice({} of {}: {} by {}, {})",
            self.id, self.appeal_number, self.kind, self.channel, self.status
        )
    }
}

/// A partner's record held for classification. `record` is the JSON of an
/// [`crate::domain::exchange::ExchangeRecord`]: personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct HeldRecord {
    /// Id.
    pub id: i64,
    /// The partner.
    pub partner: String,
    /// The partner's id.
    pub external_id: String,
    /// The record.
    pub record: Vec<u8>,
    /// Hex SHA-256 of the record as the partner sent it.
    pub record_sha256: String,
    /// What has no mapping.
    pub missing: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// The appeal it became, once classified.
    pub appeal_id: Option<i64>,
}

impl fmt::Debug for HeldRecord {
    // The record holds the citizen: left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeldRecord({} of {})", self.external_id, self.partner)
    }
}

/// The exchange with partners.
pub trait ExchangeStore {
    /// The appeal linked to (partner, external id): its id, number and record hash.
    fn link(
        &self,
        partner: &str,
        external_id: &str,
    ) -> impl Future<Output = StoreResult<Option<(i64, String, String)>>> + Send;
    /// The `appeal.registered` event of an appeal.
    fn registered_event(
        &self,
        appeal_id: i64,
    ) -> impl Future<Output = StoreResult<Option<StoredEvent>>> + Send;
    /// Holds a record for classification (audited); `AlreadyExists` when the id is held already.
    fn hold(
        &self,
        held: &HeldRecord,
        caller: &Caller,
    ) -> impl Future<Output = StoreResult<HeldRecord>> + Send;
    /// A held record by (partner, external id), classified or not.
    fn held_by_external(
        &self,
        partner: &str,
        external_id: &str,
    ) -> impl Future<Output = StoreResult<Option<HeldRecord>>> + Send;
    /// A held record by id.
    fn held_record(&self, id: i64) -> impl Future<Output = StoreResult<Option<HeldRecord>>> + Send;
    /// Records still waiting for classification, oldest first.
    fn held_records(
        &self,
        partner: Option<&str>,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<HeldRecord>>> + Send;
    /// Sets a mapping (audited).
    fn set_mapping(
        &self,
        mapping: &CodeMapping,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A partner's mappings.
    fn mappings(&self, partner: &str)
    -> impl Future<Output = StoreResult<Vec<CodeMapping>>> + Send;
    /// The cursor a partner acknowledged last.
    fn partner_cursor(
        &self,
        partner: &str,
    ) -> impl Future<Output = StoreResult<Option<Cursor>>> + Send;
    /// Records a partner's acknowledgement; only ever moves forward. Returns the cursor kept.
    fn acknowledge_partner(
        &self,
        partner: &str,
        cursor: Cursor,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Cursor>> + Send;
    /// The texts of the notices an appeal's change recorded at `at`.
    fn notices_at(
        &self,
        appeal_id: i64,
        at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
}

/// Which appeals the public asks for.
#[derive(Debug, Clone, Default)]
pub struct PublicFilter {
    /// These numbers only (then the window does not apply).
    pub numbers: Vec<String>,
    /// These categories only.
    pub categories: Vec<String>,
    /// Open ones (`Some(true)`) or ended ones (`Some(false)`).
    pub open: Option<bool>,
    /// Received at or after.
    pub from: DateTime<Utc>,
    /// Received before.
    pub to: DateTime<Utc>,
    /// At most this many, oldest first.
    pub limit: i64,
    /// Consultations given on the spot too (the monthly export has them; Open311 does not: no
    /// service was requested).
    pub with_consultations: bool,
}

/// An appeal's public columns (nothing personal is selected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicRow {
    /// Number.
    pub number: String,
    /// Status code.
    pub status: String,
    /// Outcome code, once it ended.
    pub outcome: Option<String>,
    /// Category.
    pub category_code: String,
    /// Channel code.
    pub channel: String,
    /// The text if publishable, else empty.
    pub text: String,
    /// Received.
    pub received_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Deadline.
    pub deadline: NaiveDate,
    /// Ended.
    pub closed_at: Option<DateTime<Utc>>,
    /// District code.
    pub district_code: String,
    /// Settlement code or empty.
    pub settlement_code: String,
    /// Codes of the authorities acting on it.
    pub authorities: Vec<String>,
}

/// The public's reads.
pub trait OpenDataQueries {
    /// Appeals matching the filter (consultations excluded), oldest first.
    fn public_rows(
        &self,
        filter: &PublicFilter,
    ) -> impl Future<Output = StoreResult<Vec<PublicRow>>> + Send;
}

/// The classifier's editable dimensions.
pub trait ClassifierStore {
    /// Adds or replaces an entry (audited).
    fn upsert_entry(
        &self,
        entry: &ClassifierEntry,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The entries of one dimension, or of all, by dimension and code.
    fn classifier_entries(
        &self,
        dimension: Option<Dimension>,
    ) -> impl Future<Output = StoreResult<Vec<ClassifierEntry>>> + Send;
}

/// Which incidents to list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// In this status.
    pub status: Option<IncidentStatus>,
    /// About this category.
    pub category_code: Option<String>,
    /// In this district.
    pub district_code: Option<String>,
    /// At most this many, newest first.
    pub limit: i64,
}

/// Incidents (mass appeals) and the staff queues.
pub trait IncidentStore {
    /// Opens an incident around the appeal `primary` addresses, in one transaction: `make` builds
    /// it from the appeal, `attach` attaches the appeal to it once it has its id.
    fn open_incident<M, A>(
        &self,
        primary: &AppealKey,
        caller: &Caller,
        now: DateTime<Utc>,
        make: M,
        attach: A,
    ) -> impl Future<Output = StoreResult<(Incident, AppealState)>> + Send
    where
        M: FnOnce(&AppealState) -> Result<Incident, DomainError> + Send,
        A: FnOnce(&mut AppealState, i64) -> Result<Change, DomainError> + Send;
    /// One incident.
    fn incident(&self, id: i64) -> impl Future<Output = StoreResult<Option<Incident>>> + Send;
    /// Incidents matching the filter, newest first.
    fn incidents(
        &self,
        filter: &IncidentFilter,
    ) -> impl Future<Output = StoreResult<Vec<Incident>>> + Send;
    /// The appeals attached to an incident, its primary included, oldest first.
    fn incident_appeals(
        &self,
        id: i64,
    ) -> impl Future<Output = StoreResult<Vec<AppealState>>> + Send;
    /// Moves an incident to `status`, stamping the matching time.
    fn set_incident_status(
        &self,
        id: i64,
        status: IncidentStatus,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Open incidents whose primary appeal has its answers accepted: their answer must flow.
    fn incidents_answered_upstream(&self) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;
    /// A staff queue in the order it is worked (priority first), at most `limit` appeals.
    fn queue(
        &self,
        queue: Queue,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<AppealState>>> + Send;
}

/// The notices the Law requires: listed for the operators, marked done, sent by e-mail.
pub trait NoticeStore {
    /// Notices matching the filter, oldest first.
    fn notices(
        &self,
        filter: &NoticeFilter,
    ) -> impl Future<Output = StoreResult<Vec<StoredNotice>>> + Send;
    /// Marks a notice done (called, posted) by `caller`, audited; `None` when there is no such notice.
    fn mark_notice_done(
        &self,
        id: i64,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<StoredNotice>>> + Send;
    /// Records one attempt to send an e-mail notice: sent, or failed (for good when `give_up`).
    fn email_attempt(
        &self,
        id: i64,
        result: Result<(), String>,
        give_up: bool,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Short leases, so that one hub of several sharing a database runs a periodic job.
pub trait Leases {
    /// Takes or renews the lease `name` for `holder` until `until`; false when another holder has it.
    fn try_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// A staff login's password row (the hash only).
#[derive(Clone)]
pub struct StaffPassword {
    /// The login (`urn:hotline:staff:<role>:<login>`).
    pub login: String,
    /// The role code.
    pub role: String,
    /// The argon2id hash in PHC form.
    pub password_hash: String,
    /// Wrong passwords in a row.
    pub failed_attempts: i32,
    /// Locked until then, after too many wrong passwords.
    pub locked_until: Option<DateTime<Utc>>,
}

impl fmt::Debug for StaffPassword {
    /// Never prints the hash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffPassword")
            .field("login", &self.login)
            .field("role", &self.role)
            .field("failed_attempts", &self.failed_attempts)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

/// A console session as stored (its token is known only by its hash).
#[derive(Debug, Clone)]
pub struct StaffSession {
    /// Whose.
    pub login: String,
    /// The role code it was opened with.
    pub role: String,
    /// The token every form of the session carries.
    pub csrf_token: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

/// The staff console's passwords and sessions.
pub trait StaffLogins {
    /// Sets a login's password hash and role, clears its lock, ends its sessions; audited.
    fn set_staff_password(
        &self,
        login: &str,
        role: &str,
        password_hash: &str,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The password row of a login.
    fn staff_password(
        &self,
        login: &str,
    ) -> impl Future<Output = StoreResult<Option<StaffPassword>>> + Send;
    /// Counts a wrong password (from 1 again when `restart`), locking the login until
    /// `lock_until` when the count reaches `max_failures`; returns the count (0: no such login).
    fn count_login_failure(
        &self,
        login: &str,
        restart: bool,
        max_failures: i32,
        lock_until: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<i32>> + Send;
    /// Opens a session (clearing the login's wrong-attempt count); audited as a sign-in.
    fn open_staff_session(
        &self,
        session: &StaffSession,
        token_hash: &str,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The live session with this token hash, if it has not expired and its login still has the
    /// role it was opened with.
    fn staff_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<StaffSession>>> + Send;
    /// Ends a session; audited as a sign-out.
    fn close_staff_session(
        &self,
        token_hash: &str,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The whole store, as the application layer uses it.
pub trait Store:
    DirectoryStore
    + AppealStore
    + AgencyStore
    + EventLog
    + AuditLog
    + ReportQueries
    + NoticeStore
    + ClassifierStore
    + IncidentStore
    + ExchangeStore
    + OpenDataQueries
    + Leases
    + OperationsQueries
    + StaffLogins
    + Clone
    + Send
    + Sync
    + 'static
{
    /// Checks the database answers (for health checks).
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Either backend, picked from the URL: `postgres://…` or `postgresql://…` for PostgreSQL, anything
/// else (`sqlite://…`, a path) for SQLite.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// Embedded SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
}

/// Connects to the database at `url` and applies the migrations.
pub async fn open(url: &str) -> StoreResult<AnyStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(AnyStore::Postgres(postgres::open(url).await?))
    } else {
        Ok(AnyStore::Sqlite(sqlite::open(url).await?))
    }
}
