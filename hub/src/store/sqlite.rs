//! The embedded SQLite backend: one file in the data directory, WAL, `synchronous = FULL`.
//! SQLite has one writer at a time, so every write transaction starts with `BEGIN IMMEDIATE` (it takes
//! the write lock up front instead of failing on upgrade) and event ids follow commit order.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::watch;

use super::sql::{appeal_columns, case_columns, sql_store};
use super::{StoreResult, migrations};

/// The hub's store on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Connection pool; readers run in parallel with the one writer thanks to WAL.
    pool: SqlitePool,
    /// Bumped after each commit that appended events, to wake event-log readers.
    commits: Arc<watch::Sender<u64>>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`, `sqlite::memory:` or a
    /// path) and applies the migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
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
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        migrations::sqlite().run(&pool).await?;
        Ok(Self {
            pool,
            commits: Arc::new(watch::channel(0).0),
        })
    }

    /// Starts a write transaction holding SQLite's write lock.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// The pool, for tests and tools that inspect the database directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

sql_store!(SqliteStore, Sqlite, lock = "", visible = "", notify = None);
