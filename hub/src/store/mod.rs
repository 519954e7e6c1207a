//! Persistence: one [`Store`] trait with a SQLite ([`SqliteStore`]) and a PostgreSQL ([`PgStore`])
//! implementation, chosen from the database URL by [`open`].
//!
//! Every change to an appeal goes through [`Store::transact`]: one database transaction that locks
//! the appeal, runs a pure domain transition on it, writes the new state and appends the events. The
//! event log is read by cursor ([`Store::events_after`]); a reader never skips an event, even when
//! transactions commit out of id order (see `migrations/postgres/0001_registry.sql`).

mod migrations;
mod postgres;
mod sql;
mod sqlite;

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::watch;

use crate::audit::AuditEntry;
use crate::domain::card::CheckedCard;
use crate::domain::{AppealState, AppealStatus, CaseEvent, DomainError};

pub use postgres::PgStore;
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
    /// A size limit was exceeded: `RESOURCE_EXHAUSTED`.
    #[error("{0}")]
    TooLarge(String),
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
            _ => Self::Internal(err.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Self::Internal(format!("migration failed: {err}"))
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A district or settlement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct District {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// `district` or `settlement`.
    pub kind: String,
    /// The district of a settlement; empty for a district.
    #[serde(default, rename = "parent")]
    pub parent_code: String,
}

/// A category of the classifier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Category {
    /// Code (`04`, `04.01`).
    pub code: String,
    /// Name.
    pub name: String,
    /// The section of a subject; empty for a section.
    #[serde(default, rename = "parent")]
    pub parent_code: String,
    /// Default legal term in days.
    pub term_days: i32,
}

/// An authority.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Authority {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind of body.
    pub kind: String,
    /// District where it sits.
    #[serde(default, rename = "district")]
    pub district_code: String,
    /// False once deactivated.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Who made a change or a read, and through which RPC: recorded with the events and in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The principal (`staff:operator:ivan`, `agency:vodokanal`, `system`).
    pub principal: String,
    /// The RPC or command (`/hotline.v1.AppealRegistry/AssignAppeal`, `hub serve`).
    pub rpc: String,
}

impl Caller {
    /// The hub itself, doing `what`.
    pub fn system(what: &str) -> Self {
        Self {
            principal: "system".into(),
            rpc: what.into(),
        }
    }
}

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

/// A position in the event log: events are ordered by (transaction id, event id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Cursor {
    /// Transaction id of the event (PostgreSQL); always 0 on SQLite.
    pub txid: i64,
    /// Event id.
    pub id: i64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.txid, self.id)
    }
}

impl FromStr for Cursor {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Ok(Self::default());
        }
        let bad =
            || DomainError::invalid("cursor", format!("`{s}` is not a cursor this hub gave out"));
        let (txid, id) = s.split_once('.').ok_or_else(bad)?;
        let txid: i64 = txid.parse().map_err(|_| bad())?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        if txid < 0 || id < 0 {
            return Err(bad());
        }
        Ok(Self { txid, id })
    }
}

/// One event as stored in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its position.
    pub cursor: Cursor,
    /// Number of its appeal.
    pub appeal_number: String,
    /// Its case, for a case event.
    pub case_id: Option<i64>,
    /// The case's authority, for a case event.
    pub authority_code: Option<String>,
    /// Event kind code.
    pub kind: String,
    /// JSON details.
    pub detail: String,
    /// Who did it.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
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
}

/// A write an authority's agency client made: applied once per (authority, request id).
#[derive(Debug, Clone)]
pub struct AgencyRequest {
    /// The authority that made it.
    pub authority: String,
    /// Its client-made id.
    pub request_id: String,
    /// The RPC (a retry must name the same one).
    pub rpc: String,
    /// The case (a retry must name the same one).
    pub case_id: i64,
    /// Documents attached to a result.
    pub attachments: Vec<NewAttachment>,
}

/// A document an authority attaches to its result.
#[derive(Clone)]
pub struct NewAttachment {
    /// File name.
    pub name: String,
    /// Media type.
    pub content_type: String,
    /// Hex SHA-256, checked against the content.
    pub sha256: String,
    /// The bytes.
    pub content: Vec<u8>,
}

impl fmt::Debug for NewAttachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NewAttachment({}, {} bytes)",
            self.name,
            self.content.len()
        )
    }
}

/// A stored attachment, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// Its case.
    pub case_id: i64,
    /// File name.
    pub name: String,
    /// Media type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Hex SHA-256.
    pub sha256: String,
}

/// Appeals received in a period, counted by channel, kind, category and district.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedCount {
    /// Channel code.
    pub channel: String,
    /// Kind code.
    pub kind: String,
    /// Category code.
    pub category: String,
    /// District code.
    pub district: String,
    /// How many.
    pub count: i64,
}

/// Per-authority totals over the cases assigned in a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorityTotals {
    /// The authority.
    pub authority: String,
    /// Cases assigned (reassigned-away ones excluded).
    pub assigned: i64,
    /// Cases with a result.
    pub answered: i64,
    /// Cases whose first result came by the deadline.
    pub on_time: i64,
    /// Cases returned for rework at least once.
    pub returned: i64,
    /// Cases whose appeal ended after an answer (closed or closed unconfirmed).
    pub ended: i64,
    /// Of those, appeals the citizen confirmed.
    pub confirmed: i64,
    /// Cases of appeals that repeat an earlier one.
    pub repeats: i64,
}

/// Appeals in one district × category × period bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellCount {
    /// District.
    pub district: String,
    /// Category.
    pub category: String,
    /// Index of the period (0 the oldest).
    pub bucket: i64,
    /// How many.
    pub count: i64,
}

/// A declined case with its appeal's number.
#[derive(Debug, Clone)]
pub struct DeclinedCase {
    /// The appeal's number.
    pub appeal_number: String,
    /// The case.
    pub case: crate::domain::Case,
}

/// The hub's persistence. Implemented for SQLite and PostgreSQL; callers are generic over it.
pub trait Store: Clone + Send + Sync + 'static {
    /// Adds or replaces a district or settlement.
    fn upsert_district(
        &self,
        district: &District,
        caller: &Caller,
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
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The whole classifier, by code.
    fn list_categories(&self) -> impl Future<Output = StoreResult<Vec<Category>>> + Send;
    /// One category.
    fn category(&self, code: &str) -> impl Future<Output = StoreResult<Option<Category>>> + Send;
    /// Adds an authority; `AlreadyExists` when the code is taken.
    fn create_authority(
        &self,
        authority: &Authority,
        now: DateTime<Utc>,
        caller: &Caller,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Changes name, kind, district and active flag; `false` when there is no such authority.
    fn update_authority(
        &self,
        authority: &Authority,
        now: DateTime<Utc>,
        caller: &Caller,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Authorities by code.
    fn list_authorities(
        &self,
        include_inactive: bool,
    ) -> impl Future<Output = StoreResult<Vec<Authority>>> + Send;
    /// One authority.
    fn authority(&self, code: &str) -> impl Future<Output = StoreResult<Option<Authority>>> + Send;

    /// Registers a checked card under the next number of its year, with its events, in one transaction.
    fn register(
        &self,
        checked: CheckedCard,
        number_prefix: &str,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<AppealState>> + Send;
    /// Id and status of an appeal by number (for the repeat check).
    fn appeal_status(
        &self,
        number: &str,
    ) -> impl Future<Output = StoreResult<Option<(i64, AppealStatus)>>> + Send;
    /// One appeal with its cases.
    fn load(
        &self,
        key: &AppealKey,
    ) -> impl Future<Output = StoreResult<Option<AppealState>>> + Send;
    /// Runs `transition` on the locked appeal and writes the new state with its events in one
    /// transaction. A domain error rolls everything back.
    fn transact<F>(
        &self,
        key: &AppealKey,
        caller: &Caller,
        transition: F,
    ) -> impl Future<Output = StoreResult<AppealState>> + Send
    where
        F: FnOnce(&mut AppealState) -> Result<Vec<CaseEvent>, DomainError> + Send;
    /// Appeals matching the filter, newest first.
    fn search(
        &self,
        filter: &SearchFilter,
    ) -> impl Future<Output = StoreResult<Vec<AppealState>>> + Send;
    /// Declined cases of open appeals, oldest decline first.
    fn declined_cases(&self) -> impl Future<Output = StoreResult<Vec<DeclinedCase>>> + Send;
    /// Up to `limit` events after `cursor` that match `filter`, in log order.
    fn events_after(
        &self,
        cursor: Cursor,
        filter: &EventFilter,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<StoredEvent>>> + Send;
    /// Every committed event of one appeal, by id: its history for people to read. (Unlike
    /// [`Store::events_after`] it does not hold back events behind transactions still in flight, since
    /// nobody resumes from it.)
    fn history(
        &self,
        appeal_id: i64,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<StoredEvent>>> + Send;
    /// Like [`Store::transact`] for an authority's request: applied once. A retry with the same
    /// request id returns the first response (`respond` builds it from the new state, the ids of the
    /// events written and the time, inside the transaction) and changes nothing.
    fn transact_once<F, R>(
        &self,
        key: &AppealKey,
        caller: &Caller,
        request: &AgencyRequest,
        transition: F,
        respond: R,
    ) -> impl Future<Output = StoreResult<Vec<u8>>> + Send
    where
        F: FnOnce(&mut AppealState) -> Result<Vec<CaseEvent>, DomainError> + Send,
        R: FnOnce(&AppealState, &[i64], DateTime<Utc>) -> Vec<u8> + Send;
    /// Attachments of these cases (without content).
    fn attachments(
        &self,
        case_ids: &[i64],
    ) -> impl Future<Output = StoreResult<Vec<AttachmentInfo>>> + Send;
    /// Ids of `authority`'s cases still `assigned` whose assignment event is at or before `cursor`.
    fn assigned_cases_up_to(
        &self,
        authority: &str,
        cursor: Cursor,
    ) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;
    /// Records how far `authority` has acknowledged its feed.
    fn save_agency_cursor(
        &self,
        authority: &str,
        cursor: Cursor,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Appeals with a case of `authority` (in `status`, when given).
    fn authority_cases(
        &self,
        authority: &str,
        status: Option<crate::domain::CaseStatus>,
    ) -> impl Future<Output = StoreResult<Vec<AppealState>>> + Send;
    /// The highest event id written so far (0 for an empty log): a cursor beyond it is stale.
    fn last_event_id(&self) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Records a read of the appeal's personal data in the audit trail.
    fn audit_read(
        &self,
        caller: &Caller,
        appeal_number: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The audit trail in order (of one appeal, when given).
    fn audit_trail(
        &self,
        appeal_number: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<AuditEntry>>> + Send;
    /// The chain's head: the last sequence number and hash.
    fn audit_head(&self) -> impl Future<Output = StoreResult<(i64, String)>> + Send;
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
    /// Appeals received in [from, to) per category and kind.
    fn category_kind_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<(String, String, i64)>>> + Send;
    /// (received, category) of every appeal received in [from, to).
    fn received_times(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<(DateTime<Utc>, String)>>> + Send;
    /// Cases the deadline monitor must announce: overdue (deadline before `today`) or due by `due_by`, not yet announced.
    fn cases_to_announce(
        &self,
        today: NaiveDate,
        due_by: NaiveDate,
    ) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;
    /// Takes or renews the lease `name` for `holder` until `until`; false when another holder has it.
    fn try_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The latest earlier appeal from the same phone about the same category in the same district since `since`.
    fn find_repeat(
        &self,
        phone: &str,
        category: &str,
        district: &str,
        since: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<(i64, String)>>> + Send;
    /// A receiver that changes after every commit that appended events (in this process, and on
    /// PostgreSQL in every hub sharing the database).
    fn commits(&self) -> watch::Receiver<u64>;
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
        Ok(AnyStore::Postgres(PgStore::open(url).await?))
    } else {
        Ok(AnyStore::Sqlite(SqliteStore::open(url).await?))
    }
}
