//! One SQL store for both databases: [`SqlStore<DB>`] holds the queries, written once, and the
//! backend ([`Backend`], implemented for SQLite and PostgreSQL) supplies only what truly differs:
//! how a write transaction starts, how a row is locked, how far a cursor reader may read the event
//! log, and how other hubs are woken after a commit.
//!
//! Why generic rather than two plain modules (atuin's way): the SQL of the two backends is the same
//! text (`$N` placeholders work in both), so two copies would drift apart; a generic store keeps one
//! copy that rustfmt, the compiler and an editor all see. The price is the bound list below, which
//! every `impl` block of the store repeats: Rust does not carry bounds on other types (`i64:
//! Encode<DB>`) from a trait to its users. Text is bound as owned `String`s: a bound on `&str` for
//! every lifetime trips the compiler's check that the store's futures are `Send`.
//!
//! ```text
//! where
//!     for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
//!     DB::Arguments: IntoArguments<DB>,
//!     for<'a> &'a str: ColumnIndex<DB::Row>,
//!     usize: ColumnIndex<DB::Row>,
//!     i32: Column<DB>, i64: Column<DB>, bool: Column<DB>, String: Column<DB>, Vec<u8>: Column<DB>,
//!     NaiveDate: Column<DB>, DateTime<Utc>: Column<DB>,
//!     Option<i64>: Column<DB>, Option<bool>: Column<DB>, Option<DateTime<Utc>>: Column<DB>,
//!     Option<String>: Column<DB>, Option<Vec<u8>>: Column<DB>, Option<i32>: Column<DB>,
//!     Option<NaiveDate>: Column<DB>,
//!     &'static str: Encode<'static, DB> + Type<DB>,
//! ```

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use sqlx::database::HasStatementCache;
use sqlx::{Database, Decode, Encode, Pool, Transaction, Type};
use tokio::sync::watch;

use crate::domain::Coded;

/// Connections reserved for the group commits: one per kind of group.
pub(super) const GROUP_CONNECTIONS: u32 = 2;

/// Most rows one multi-row statement writes: SQLite takes at most 32,766 bound values per
/// statement, and the widest row (an appeal) binds 38. Such statements are sent unprepared
/// (`persistent(false)`): their text changes with the group's size, and keeping a prepared
/// statement per size crowded the connection's statement cache and re-prepared on every group.
pub(super) const ROWS_PER_STATEMENT: usize = 500;

/// What differs between the databases.
pub trait Backend: Database + HasStatementCache + Debug {
    /// Appended to the query that locks an appeal row for a transition (`FOR UPDATE`, or nothing
    /// where the write transaction already excludes other writers).
    const LOCK: &'static str;

    /// Starts a write transaction.
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;

    /// The first transaction id a cursor reader must not pass yet: every event with a smaller
    /// transaction id is committed (or will never be). Read before the events themselves.
    fn read_horizon(pool: &Pool<Self>) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;

    /// A statement run in every transaction that appends events, to wake readers in other hubs.
    const NOTIFY: Option<&'static str>;

    /// Rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

/// A column type both backends bind and read.
pub trait Column<DB: Database>:
    for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send
{
}

impl<DB: Database, T> Column<DB> for T where
    T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send
{
}

/// The hub's store over one database.
#[derive(Debug)]
pub struct SqlStore<DB: Backend> {
    /// Connection pool.
    pub(super) pool: Pool<DB>,
    /// Connections reserved for the group commits (registrations, audited reads): a group must not
    /// queue for a connection behind the very callers it is about to answer.
    pub(super) groups: Pool<DB>,
    /// Bumped after each commit that appended events (here or, on PostgreSQL, in another hub), to
    /// wake event-log readers.
    pub(super) commits: Arc<watch::Sender<u64>>,
}

impl<DB: Backend> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            groups: self.groups.clone(),
            commits: self.commits.clone(),
        }
    }
}

impl<DB: Backend> SqlStore<DB> {
    /// A store over an open pool whose migrations have run, and the group commits' own pool.
    pub(super) fn over(pool: Pool<DB>, groups: Pool<DB>, commits: Arc<watch::Sender<u64>>) -> Self {
        Self {
            pool,
            groups,
            commits,
        }
    }

    /// The pool, for tests and tools that inspect the database directly.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// The group commits' own connections, for tests that change every connection (a fault).
    pub fn group_pool(&self) -> &Pool<DB> {
        &self.groups
    }

    /// Tells this hub's readers that events were committed.
    pub(super) fn committed(&self) {
        self.commits.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// `'a', 'b'`: the codes of the values of `T` that match `keep`, for an SQL `IN` list. Derived from
/// the domain so that SQL never types a status by hand (codes are fixed identifiers, never input).
pub(super) fn codes<T: Coded>(keep: impl Fn(T) -> bool) -> String {
    T::all()
        .iter()
        .copied()
        .filter(|v| keep(*v))
        .map(|v| format!("'{}'", v.code()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Some(text)` for a non-empty code, `None` (SQL NULL) for an empty one.
pub(super) fn non_empty(code: &str) -> Option<String> {
    (!code.is_empty()).then(|| code.to_string())
}
