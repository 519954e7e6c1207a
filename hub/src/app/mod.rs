//! The use cases: what each staff action, each authority's request, the deadline monitor and the
//! reports do, end to end. This layer is the only way into the store: it looks up the references a
//! rule needs, runs the pure domain transition inside one store transaction, and returns plain
//! types. No gRPC types here; no SQL either. One clock, read once per use case.
//!
//! # Layout
//! - this file: [`Hotline`] (the services over a store), [`AppError`], the [`Clock`].
//! - [`directory`]: authorities, districts, the classifier.
//! - [`appeals`]: registration, reads, search, and every staff transition.
//! - [`agency`]: an authority's requests, its case list, acknowledgements and deliveries.
//! - [`feed`]: following the event log by cursor, shared by every stream.
//! - [`monitor`]: the deadline monitor.
//! - [`reports`]: the monitoring reports.
//! - [`audit`]: reading and checking the audit trail.

pub mod agency;
pub mod appeals;
pub mod audit;
pub mod directory;
pub mod feed;
pub mod monitor;
pub mod reports;

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use hotline_proto::receipt::ReceiptSigner;

use crate::domain::attachment::AttachmentError;
use crate::domain::{DomainError, Limits};
use crate::store::StoreError;

/// Why a use case failed. Mapped to a gRPC status in one place (`api::error`).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request breaks a rule, names something missing, or asks for an illegal transition.
    #[error(transparent)]
    Domain(#[from] DomainError),
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

    /// Checks the database answers (for health checks).
    pub async fn ping(&self) -> AppResult<()> {
        Ok(self.store.ping().await?)
    }
}

// What the API layer names from the store, re-exported so that handlers depend on the use cases
// only: the bound of every service, and the two inputs the use cases take as the store defines them.
pub use crate::store::{AgencyRequest, SearchFilter, Store};
