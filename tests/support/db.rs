//! A database per test (a temporary SQLite file, or a new PostgreSQL database on the server named
//! by `HOTLINE_TEST_POSTGRES`), and SQL run on it directly, behind the hub's back.

use std::path::PathBuf;
use std::time::Duration;

use hotline_hub::domain::{Cursor, StoredEvent};
use hotline_hub::store::{EventFilter, EventLog};
use sqlx::Connection;

use crate::hub::TestHub;
use crate::wait_for;

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "HOTLINE_TEST_POSTGRES";

/// A database made for one test, removed by [`TestHub::stop`].
#[derive(Debug)]
pub enum TestDb {
    /// A SQLite file in its own temporary directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database `name` on the server at `admin_url`.
    Postgres {
        /// URL of the server's admin database.
        admin_url: String,
        /// The test's database.
        name: String,
    },
}

impl TestDb {
    /// A new SQLite database file.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("hotline-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self::Sqlite(dir)
    }

    /// A new PostgreSQL database, or `None` when PostgreSQL tests are not switched on.
    pub async fn postgres() -> Option<Self> {
        let admin_url = match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("CI=true but {POSTGRES_ENV} is not set: PostgreSQL tests must run in CI")
            }
            _ => {
                eprintln!(
                    "PostgreSQL test not run: set {POSTGRES_ENV}=postgres://postgres@127.0.0.1:5432/postgres"
                );
                return None;
            }
        };
        Some(Self::postgres_at(&admin_url).await)
    }

    /// A new PostgreSQL database on the server at `admin_url`.
    pub async fn postgres_at(admin_url: &str) -> Self {
        let admin_url = admin_url.to_string();
        let name = format!("hotline_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but PostgreSQL is unreachable: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        Self::Postgres { admin_url, name }
    }

    /// The URL the hub connects to.
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("sqlite://{}", dir.join("hub.db").display()),
            Self::Postgres { admin_url, name } => {
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(admin_url);
                format!("{base}/{name}")
            }
        }
    }

    /// Removes the database.
    pub async fn drop_db(&self) {
        match self {
            Self::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Self::Postgres { admin_url, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            }
        }
    }
}

/// Runs one SQL statement directly on the hub's database (to play someone who edits it by hand).
pub async fn execute<S>(hub: &TestHub<S>, sql: &str) {
    let url = hub.db.url();
    let statement = sqlx::AssertSqlSafe(sql.to_string());
    if url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("open sqlite");
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect("execute");
    } else {
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .expect("open postgres");
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect("execute");
    }
}

/// One number from a query run directly on the hub's database (a plain count, not the event log's
/// cursor view).
pub async fn count_rows<S>(hub: &TestHub<S>, sql: &str) -> i64 {
    let url = hub.db.url();
    let statement = sqlx::AssertSqlSafe(sql.to_string());
    if url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("open sqlite");
        sqlx::query_scalar(statement)
            .fetch_one(&mut conn)
            .await
            .expect("count")
    } else {
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .expect("open postgres");
        sqlx::query_scalar(statement)
            .fetch_one(&mut conn)
            .await
            .expect("count")
    }
}

/// The event log as a cursor reader sees it once it has caught up with every committed event (of
/// `authority`, when given). On PostgreSQL a reader sees events only below the oldest transaction in
/// flight anywhere on the server (parallel tests included), so right after a commit it may still lag.
pub async fn settled_events<S: EventLog>(
    hub: &TestHub<S>,
    authority: Option<&str>,
) -> Vec<StoredEvent> {
    let sql = match authority {
        Some(code) => format!("SELECT COUNT(*) FROM events WHERE authority_code = '{code}'"),
        None => "SELECT COUNT(*) FROM events".to_string(),
    };
    let filter = EventFilter {
        appeal_id: None,
        authority: authority.map(str::to_string),
        partner: None,
    };
    wait_for(
        "the event log to settle",
        Duration::from_secs(30),
        || async {
            let committed = count_rows(hub, &sql).await;
            let visible = hub
                .store
                .events_after(Cursor::default(), &filter, 1_000_000)
                .await
                .expect("events");
            (visible.len() as i64 == committed).then_some(visible)
        },
    )
    .await
}
