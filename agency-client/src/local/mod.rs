//! The client's own SQLite store (`<data-dir>/agency.db`), shared by the daemon and every CLI call.
//!
//! # Layout
//! - this file: opening the store (safely, when several processes start at once), its daemon state
//!   (cursor, connection, last error) and the `status` summary;
//! - [`inbox`]: deliveries from the hub (each event stored once), the cases, the hub's receipts;
//! - [`outbox`]: reports written before they are sent, until the hub confirms each one;
//! - [`hook_queue`]: the hooks still owed for stored events, their retries and dead letters;
//! - [`clerks`]: the desk's clerks, their sign-in failures and sessions;
//! - [`desk_log`]: what the desk records and reads besides: contact views, who wrote which outbox
//!   entry, a case's history, outbox entries and receipts.

mod clerks;
mod desk_log;
mod hook_queue;
mod inbox;
mod outbox;

use std::borrow::Cow;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlitePool};

pub use clerks::{Clerk, SessionRow};
pub use desk_log::{CaseEntry, ContactView, DeskOutgoing};
pub use hook_queue::HookJob;
pub use outbox::Outgoing;

/// How long an opener waits for another process that is creating or migrating the same store.
const LOCK_WAIT: Duration = Duration::from_secs(60);
/// How long a statement waits for another connection's write lock (daemon and CLI share the file).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the local store failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// SQLite said no.
    #[error("local store: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("local store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The store's folder or lock file is not usable.
    #[error("local store {0}: {1}")]
    Io(String, std::io::Error),
    /// Another process kept the store locked for too long while opening it.
    #[error("local store {0}: still locked by another agency-client process after {1:?}")]
    Locked(String, Duration),
    /// Stored bytes do not decode.
    #[error("local store holds an unreadable {0}")]
    Corrupt(&'static str),
}

impl LocalError {
    /// SQLite gave up waiting for another writer (busy or locked, after [`BUSY_TIMEOUT`]): the
    /// write did not happen and may simply be tried again — on a starved machine, not a fault.
    pub fn is_busy(&self) -> bool {
        match self {
            LocalError::Db(sqlx::Error::Database(err)) => err
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                // Primary result codes 5 (SQLITE_BUSY) and 6 (SQLITE_LOCKED), with any extension.
                .is_some_and(|code| matches!(code & 0xff, 5 | 6)),
            _ => false,
        }
    }
}

/// Result of a local store call.
pub type LocalResult<T> = Result<T, LocalError>;

/// What `status` shows.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The stream's position (last stored event).
    pub cursor: String,
    /// The last cursor the hub confirmed as acknowledged.
    pub acked: String,
    /// Cases in the inbox.
    pub cases: i64,
    /// Reports waiting to be confirmed by the hub.
    pub outbox_pending: i64,
    /// Reports the hub refused for good.
    pub outbox_failed: i64,
    /// Stored events whose hooks have not succeeded yet (being retried).
    pub hooks_waiting: i64,
    /// Events whose hooks failed every attempt (their payloads are in the dead-letter folder).
    pub hooks_dead: i64,
    /// Receipts kept.
    pub receipts: i64,
    /// `connected`, `disconnected`, `stopped`, or empty before the daemon ever ran.
    pub connection: String,
    /// When the daemon last heard from the hub.
    pub last_contact: String,
    /// The last error the daemon met.
    pub last_error: String,
}

/// The local store.
#[derive(Debug, Clone)]
pub struct LocalStore {
    /// The SQLite pool.
    pool: SqlitePool,
}

/// The migrations, in order. Never edit a shipped one: add the next.
fn migrator() -> Migrator {
    let migration = |version, description, sql: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(description),
            MigrationType::Simple,
            AssertSqlSafe(sql).into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        migration(1, "local", include_str!("../../migrations/0001_local.sql")),
        migration(
            2,
            "hook queue",
            include_str!("../../migrations/0002_hook_queue.sql"),
        ),
        migration(3, "desk", include_str!("../../migrations/0003_desk.sql")),
    ])
}

/// Now, as stored in text columns.
fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The `cursor` of an event, as the hub wrote it (`txid.id`), compared numerically.
fn cursor_key(cursor: &str) -> (i64, i64) {
    let (t, i) = cursor.split_once('.').unwrap_or(("0", "0"));
    (t.parse().unwrap_or(0), i.parse().unwrap_or(0))
}

/// Takes the exclusive lock on `<data_dir>/agency.db.lock`, waiting up to [`LOCK_WAIT`]. The lock is
/// the operating system's (`flock`), so a process that dies holding it releases it. `None` when the
/// file system cannot lock (some network mounts): opening goes on unserialized, as before.
async fn lock_for_opening(data_dir: &Path) -> LocalResult<Option<File>> {
    let path = data_dir.join("agency.db.lock");
    let shown = path.display().to_string();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| LocalError::Io(shown.clone(), e))?;
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(TryLockError::WouldBlock) => return Err(LocalError::Locked(shown, LOCK_WAIT)),
            Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
                tracing::warn!(file = %shown, "the file system cannot lock; opening the store unserialized");
                return Ok(None);
            }
            Err(TryLockError::Error(e)) => return Err(LocalError::Io(shown, e)),
        }
    }
}

impl LocalStore {
    /// Opens (creating and migrating) `<data_dir>/agency.db`. Safe when several processes (the
    /// daemon and CLI calls) or tasks open a new store at once: creating the file, switching it to
    /// WAL and migrating happen under an exclusive lock file, and every connection waits up to
    /// [`BUSY_TIMEOUT`] for another one's write lock instead of failing with `database is locked`.
    pub async fn open(data_dir: &Path) -> LocalResult<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| LocalError::Io(data_dir.display().to_string(), e))?;
        let lock = lock_for_opening(data_dir).await?;
        let options = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            data_dir.join("agency.db").display()
        ))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        // Later connections of the pool find the file in WAL mode and migrated: no lock needed.
        drop(lock);
        Ok(Self { pool })
    }

    /// Closes every connection (checkpointing the WAL); used when the daemon stops.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn get_state(&self, key: &str) -> LocalResult<String> {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM state WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(value.unwrap_or_default())
    }

    /// Records a piece of daemon state (connection, last error, …).
    pub async fn set_state(&self, key: &str, value: &str) -> LocalResult<()> {
        sqlx::query("INSERT INTO state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The cursor after the last stored event (empty at first).
    pub async fn cursor(&self) -> LocalResult<String> {
        self.get_state("cursor").await
    }

    /// The last cursor the hub confirmed as acknowledged (empty at first).
    pub async fn acked(&self) -> LocalResult<String> {
        self.get_state("acked").await
    }

    /// Counts and daemon state for `status`.
    pub async fn summary(&self) -> LocalResult<Summary> {
        let count = |sql: &'static str| async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&self.pool)
                .await
                .map_err(LocalError::from)
        };
        Ok(Summary {
            cursor: self.cursor().await?,
            acked: self.acked().await?,
            cases: count("SELECT COUNT(*) FROM cases").await?,
            outbox_pending: count("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").await?,
            outbox_failed: count("SELECT COUNT(*) FROM outbox WHERE state = 'failed'").await?,
            hooks_waiting: count("SELECT COUNT(*) FROM hook_queue WHERE state = 'waiting'").await?,
            hooks_dead: count("SELECT COUNT(*) FROM hook_queue WHERE state = 'dead'").await?,
            receipts: count("SELECT COUNT(*) FROM receipts").await?,
            connection: self.get_state("connection").await?,
            last_contact: self.get_state("last_contact").await?,
            last_error: self.get_state("last_error").await?,
        })
    }

    /// How many events are stored (each once).
    pub async fn event_count(&self) -> LocalResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_compare_numerically() {
        assert!(cursor_key("10.2") > cursor_key("9.30"));
        assert!(cursor_key("1.10") > cursor_key("1.9"));
        assert_eq!(cursor_key("garbage"), (0, 0));
    }
}

#[cfg(test)]
mod busy_tests {
    use std::time::Duration;

    use sqlx::Connection;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

    use super::LocalError;

    /// A write refused because another connection holds the write lock is "busy" (the daemon's
    /// tasks resume after it); any other database error is not.
    #[tokio::test]
    async fn a_locked_database_is_busy_and_a_broken_rule_is_not() {
        let dir = std::env::temp_dir().join(format!("agency-busy-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.join("local.db"))
            .create_if_missing(true)
            .busy_timeout(Duration::ZERO);
        let mut holder = SqliteConnection::connect_with(&options).await.unwrap();
        let mut other = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .execute(&mut holder)
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut holder)
            .await
            .unwrap();
        let locked = sqlx::query("INSERT INTO t (id) VALUES (1)")
            .execute(&mut other)
            .await
            .unwrap_err();
        assert!(LocalError::Db(locked).is_busy());
        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
        sqlx::query("INSERT INTO t (id) VALUES (1)")
            .execute(&mut other)
            .await
            .unwrap();
        let duplicate = sqlx::query("INSERT INTO t (id) VALUES (1)")
            .execute(&mut other)
            .await
            .unwrap_err();
        assert!(!LocalError::Db(duplicate).is_busy());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
