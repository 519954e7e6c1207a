//! The use cases: what each staff action, each authority's request, the deadline monitor and the
//! reports do, end to end. This layer is the only way into the store: it looks up the references a
//! rule needs, runs the pure domain transition inside one store transaction, and returns plain
//! types. No gRPC types here; no SQL either. One clock, read once per use case.
//!
//! # Layout
//! - this file: [`Hotline`] (the services over a store), [`AppError`], the [`Clock`].
//! - [`directory`]: authorities, districts, the classifier; `directory_snapshot`: the same in memory.
//! - [`registration`]: registering an appeal (the card's look-ups and checks).
//! - [`appeals`]: reads, search, and every staff transition.
//! - [`incidents`]: incidents (mass appeals) and the staff queues.
//! - [`agency`]: an authority's requests, its case list, acknowledgements and deliveries.
//! - [`exchange`]: the national contact centre's exchange, both ways.
//! - [`log_tail`]: the log's tail read once per hub for every live stream.
//! - [`feed`]: following the event log by cursor, shared by every stream.
//! - [`monitor`]: the deadline monitor.
//! - [`opendata`]: what the public may see: Open311 and the monthly export.
//! - [`notices`]: notices to citizens: the operators' queue and the e-mail worker.
//! - [`reports`]: the monitoring reports.
//! - [`operations`]: the on-duty status, the metrics collector, backup and restore.
//! - [`audit`]: reading and checking the audit trail.
//! - [`staff`]: the console's password sign-in and sessions.
//! - [`suggest`]: authorities to suggest for an assignment, from history.

pub mod agency;
pub mod appeals;
pub mod audit;
pub mod certificates;
pub mod directory;
mod directory_snapshot;
pub mod exchange;
pub mod feed;
mod group_commit;
pub mod incidents;
pub mod log_tail;
pub mod monitor;
pub mod notices;
pub mod opendata;
pub mod operations;
pub mod registration;
pub mod reports;
pub mod staff;
pub mod suggest;

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use hotline_proto::receipt::ReceiptSigner;
use tokio::sync::watch;

use crate::domain::attachment::AttachmentError;
use crate::domain::{AppealState, Caller, CaseEvent, Change, DomainError, Limits};
use crate::store::StoreError;

/// Why a use case failed. Mapped to a gRPC status in one place (`api::error`).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request breaks a rule, names something missing, or asks for an illegal transition.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The caller may not do this (any more): an authority deactivated while its stream was open.
    #[error("{0}")]
    Forbidden(String),
    /// A unique key (an authority code, a request id used for something else) is taken.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// A size limit was exceeded.
    #[error("{0}")]
    TooLarge(String),
    /// The database cannot be reached right now; the caller may retry.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a database fault (details are logged, not shown).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Domain(e) => Self::Domain(e),
            StoreError::AlreadyExists(what) => Self::AlreadyExists(what),
            StoreError::Unavailable(why) => Self::Unavailable(why),
            StoreError::Internal(why) => Self::Internal(why),
        }
    }
}

impl From<AttachmentError> for AppError {
    fn from(err: AttachmentError) -> Self {
        match err {
            AttachmentError::Invalid(e) => Self::Domain(e),
            AttachmentError::TooLarge(what) => Self::TooLarge(what),
        }
    }
}

/// Result of a use case.
pub type AppResult<T> = Result<T, AppError>;

/// Where use cases read the time. Injected, so tests can move it.
pub trait Clock: Send + Sync + Debug {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved: for tests that need a given date.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    /// Sets the time.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }

    /// Moves the time forward.
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// The hub's services over a store.
#[derive(Debug, Clone)]
pub struct Hotline<S> {
    /// Where everything is kept; reached only through the use cases.
    store: S,
    /// Text lengths, call-back attempts, documents, the repeat window.
    limits: Limits,
    /// Prefix of appeal numbers (`DP` gives `DP-2026-000123`): the oblast's code.
    number_prefix: String,
    /// The key that signs receipts for what authorities receive and send.
    receipts: Arc<ReceiptSigner>,
    /// The time.
    clock: Arc<dyn Clock>,
    /// The deactivated authorities: their case streams end. Set at once by a deactivation in this
    /// hub, and from the database every interval (for deactivations in other hubs).
    inactive: Arc<watch::Sender<Arc<HashSet<String>>>>,
    /// The registrations waiting for the next group commit (started on first use).
    registrar: Arc<std::sync::OnceLock<registration::Registrar>>,
    /// The reads of personal data waiting for their audit rows' group commit (started on first use).
    auditor: Arc<std::sync::OnceLock<audit::ReadAuditor>>,
    /// The log's tail, read once for every live stream (started on first use).
    tail: Arc<tokio::sync::OnceCell<Arc<log_tail::LogTail>>>,
    /// The directory kept in memory for the hot paths.
    directory: Arc<directory_snapshot::SnapshotCell>,
}

impl<S: Store> Hotline<S> {
    /// Services over `store` with default limits, the `DP` prefix, a new receipt key and the
    /// system clock.
    pub fn new(store: S) -> Self {
        let key = ReceiptSigner::generate_pkcs8();
        Self {
            store,
            limits: Limits::default(),
            number_prefix: "DP".into(),
            receipts: Arc::new(ReceiptSigner::from_pkcs8(&key).expect("a freshly generated key")),
            clock: Arc::new(SystemClock),
            inactive: Arc::new(watch::channel(Arc::default()).0),
            registrar: Arc::default(),
            auditor: Arc::default(),
            tail: Arc::default(),
            directory: Arc::default(),
        }
    }

    /// With these limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// With this number prefix.
    pub fn with_number_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.number_prefix = prefix.into();
        self
    }

    /// With this receipt key.
    pub fn with_receipts(mut self, signer: Arc<ReceiptSigner>) -> Self {
        self.receipts = signer;
        self
    }

    /// With this clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The key that signs receipts.
    pub fn receipts(&self) -> &Arc<ReceiptSigner> {
        &self.receipts
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Records which authorities are deactivated (read from the directory): their streams end.
    pub fn set_inactive_authorities(&self, codes: HashSet<String>) {
        self.inactive.send_if_modified(|current| {
            let changed = **current != codes;
            if changed {
                *current = Arc::new(codes);
            }
            changed
        });
    }

    /// The deactivated authorities, as they change.
    pub fn inactive_authorities(&self) -> watch::Receiver<Arc<HashSet<String>>> {
        self.inactive.subscribe()
    }

    /// Records an authority's active flag as this hub just changed it.
    fn authority_changed(&self, code: &str, active: bool) {
        self.inactive.send_if_modified(|current| {
            if current.contains(code) != active {
                return false;
            }
            let mut codes = (**current).clone();
            if active {
                codes.remove(code);
            } else {
                codes.insert(code.to_string());
            }
            *current = Arc::new(codes);
            true
        });
    }

    /// Checks the database answers (for health checks).
    pub async fn ping(&self) -> AppResult<()> {
        Ok(self.store.ping().await?)
    }
}

impl<S: Store> Hotline<S> {
    /// A domain transition as the store runs it: its events, and the notices the Law requires
    /// because of them (by e-mail when a relay is configured).
    pub(crate) fn noticed<F>(&self, transition: F) -> impl crate::store::Transition + use<F, S>
    where
        F: FnOnce(&mut AppealState) -> Result<Vec<CaseEvent>, DomainError> + Send,
    {
        let email = self.limits.email_notices;
        move |state: &mut AppealState| {
            let events = transition(state)?;
            let notices = crate::domain::notice::required(state, &events, email);
            Ok(Change::new(events, notices))
        }
    }
}

impl<S: Store> Hotline<S> {
    /// The log's tail shared by this hub's live streams (started on first use).
    pub(crate) async fn log_tail(&self) -> AppResult<Arc<log_tail::LogTail>> {
        let store = self.store.clone();
        Ok(self
            .tail
            .get_or_try_init(|| log_tail::LogTail::start(store))
            .await?
            .clone())
    }

    /// [`Self::noticed`] for a transition that also takes an id the store allots in the same
    /// transaction (an incident's).
    pub(crate) fn noticed_with<F>(
        &self,
        transition: F,
    ) -> impl FnOnce(&mut AppealState, i64) -> Result<Change, DomainError> + Send + use<F, S>
    where
        F: FnOnce(&mut AppealState, i64) -> Result<Vec<CaseEvent>, DomainError> + Send,
    {
        let email = self.limits.email_notices;
        move |state: &mut AppealState, id: i64| {
            let events = transition(state, id)?;
            let notices = crate::domain::notice::required(state, &events, email);
            Ok(Change::new(events, notices))
        }
    }
}

// What the API layer names from the store, re-exported so that handlers depend on the use cases
// only: the bound of every service, and the filters and notices the use cases take and return as the
// store defines them.
pub use crate::store::{IncidentFilter, NoticeFilter, SearchFilter, Store, StoredNotice};

/// Longest client-made request id.
const MAX_REQUEST_ID: usize = 100;

/// A request's client-made id (empty when the client gave none) and a fingerprint of its content
/// (hex SHA-256 of the request as sent): what makes a retry safe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestId {
    /// The id; empty for a request that is not to be deduplicated.
    pub id: String,
    /// Hex SHA-256 of the request's content.
    pub fingerprint: String,
}

impl<S: Store> Hotline<S> {
    /// The store's key for `request` made by `caller`, or `None` when it carries no id.
    fn request_key(
        &self,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<Option<crate::store::RequestKey>> {
        let id = request.id.trim();
        if id.is_empty() {
            return Ok(None);
        }
        if id.chars().count() > MAX_REQUEST_ID || id.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "request_id",
                format!(
                    "`{}` is not a request id: at most {MAX_REQUEST_ID} printable characters",
                    crate::domain::text::echo(id)
                ),
            )
            .into());
        }
        // The method's name, not its path, so that rows kept by older hubs still match.
        let rpc = caller.rpc.rsplit('/').next().unwrap_or(&caller.rpc);
        Ok(Some(crate::store::RequestKey {
            principal: caller.principal.clone(),
            request_id: id.to_string(),
            rpc: rpc.to_string(),
            fingerprint: request.fingerprint.clone(),
        }))
    }
}
