//! The embedded SQLite backend: one file in the data directory, WAL, `synchronous = FULL`.
//! SQLite has one writer at a time, so every write transaction starts with `BEGIN IMMEDIATE` (it takes
//! the write lock up front instead of failing on upgrade), rows need no lock of their own, and event
//! ids follow commit order: a cursor reader may read everything committed.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Pool, Sqlite, Transaction};
use tokio::sync::watch;

use super::backend::{Backend, GROUP_CONNECTIONS, SqlStore};
use super::{StoreResult, migrations};

/// The hub's store on SQLite.
pub type SqliteStore = SqlStore<Sqlite>;

impl Backend for Sqlite {
    const LOCK: &'static str = "";
    const NOTIFY: Option<&'static str> = None;

    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    async fn read_horizon(_pool: &Pool<Self>) -> Result<i64, sqlx::Error> {
        // One writer, commits in id order, transaction ids all 0: nothing to hold back.
        Ok(i64::MAX)
    }
}

/// Opens (creating if missing) the database at `url` (`sqlite://path`, `sqlite::memory:` or a
/// path) and applies the migrations.
pub(super) async fn open(url: &str) -> StoreResult<SqliteStore> {
    let url = if url.starts_with("sqlite:") {
        url.to_string()
    } else {
        format!("sqlite://{url}")
    };
    let options = SqliteConnectOptions::from_str(&url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    // Readers run in parallel with the one writer thanks to WAL.
    let pool = |size: u32| {
        SqlitePoolOptions::new()
            .max_connections(size)
            .acquire_timeout(Duration::from_secs(10))
            // A commit that failed (disk full, say) can leave a connection that still counts
            // itself inside a transaction: close it instead of lending it out again.
            .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
    };
    let groups = pool(GROUP_CONNECTIONS)
        .connect_with(options.clone())
        .await?;
    let pool = pool(8).connect_with(options).await?;
    migrations::sqlite().run(&pool).await?;
    Ok(SqlStore::over(pool, groups, Arc::new(watch::channel(0).0)))
}

impl SqliteStore {
    /// Opens the SQLite database at `url` (see [`super::open`]).
    pub async fn open(url: &str) -> StoreResult<Self> {
        open(url).await
    }
}
