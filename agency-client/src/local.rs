//! The client's own SQLite store (`<data-dir>/agency.db`): the inbox of cases, the events already
//! stored (an event id is stored once, however often the hub delivers it), the outbox of reports
//! the hub has not confirmed yet, and the hub's receipts. The daemon and the CLI share it.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use hotline_proto::render::case_status;
use hotline_proto::v1 as pb;
use prost::Message;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlitePool};

/// Why the local store failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// SQLite said no.
    #[error("local store: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("local store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored bytes do not decode.
    #[error("local store holds an unreadable {0}")]
    Corrupt(&'static str),
}

/// Result of a local store call.
pub type LocalResult<T> = Result<T, LocalError>;

/// A message in the outbox.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Order of writing: sent in this order.
    pub seq: i64,
    /// The client-made id the hub applies once.
    pub request_id: String,
    /// `AcceptCase`, `DeclineCase`, `ReportStatus`, `RequestClarification` or `SubmitResult`.
    pub rpc: String,
    /// The case.
    pub case_id: i64,
    /// The encoded request.
    pub body: Vec<u8>,
    /// `pending`, `done` or `failed`.
    pub state: String,
    /// Send attempts so far.
    pub attempts: i64,
    /// The last error, when one happened.
    pub last_error: String,
}

/// What `status` shows.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The stream's position (last stored event).
    pub cursor: String,
    /// Cases in the inbox.
    pub cases: i64,
    /// Reports waiting to be confirmed by the hub.
    pub outbox_pending: i64,
    /// Reports the hub refused for good.
    pub outbox_failed: i64,
    /// Receipts kept.
    pub receipts: i64,
    /// `connected`, `disconnected`, or empty before the daemon ever ran.
    pub connection: String,
    /// When the daemon last heard from the hub.
    pub last_contact: String,
    /// The last error the daemon met.
    pub last_error: String,
}

/// An event with its case, as the hooks read it.
type HookRow = (i64, String, String, i64, String, String, Vec<u8>);
/// An outbox row.
type OutboxRow = (i64, String, String, i64, Vec<u8>, String, i64, String);

/// The local store.
#[derive(Debug, Clone)]
pub struct LocalStore {
    /// The SQLite pool.
    pool: SqlitePool,
}

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        Cow::Borrowed("local"),
        MigrationType::Simple,
        AssertSqlSafe(include_str!("../migrations/0001_local.sql")).into_sql_str(),
        false,
    )])
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The `cursor` of an event, as the hub wrote it (`txid.id`), compared numerically.
fn cursor_key(cursor: &str) -> (i64, i64) {
    let (t, i) = cursor.split_once('.').unwrap_or(("0", "0"));
    (t.parse().unwrap_or(0), i.parse().unwrap_or(0))
}

impl LocalStore {
    /// Opens (creating) `<data_dir>/agency.db`.
    pub async fn open(data_dir: &Path) -> LocalResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| LocalError::Db(sqlx::Error::Io(e)))?;
        let options = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            data_dir.join("agency.db").display()
        ))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        Ok(Self { pool })
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

    /// Stores a delivery in one transaction: the event (once), the case, the receipt and the cursor.
    /// Returns false when the event was already stored (a duplicate delivery).
    pub async fn store_delivery(&self, delivery: &pb::CaseDelivery) -> LocalResult<bool> {
        let (Some(event), Some(case)) = (&delivery.event, &delivery.case) else {
            return Ok(false);
        };
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let inserted = sqlx::query(
            "INSERT INTO events (event_id, cursor, kind, case_id, appeal_number, detail, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event.id)
        .bind(&event.cursor)
        .bind(&event.kind)
        .bind(event.case_id)
        .bind(&event.appeal_number)
        .bind(&event.detail)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        // Only the assignment carries the citizen's contact; later snapshots keep the stored one.
        let mut case = case.clone();
        if case.citizen.is_none() {
            let stored: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT body FROM cases WHERE case_id = $1")
                    .bind(event.case_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(stored) = stored {
                case.citizen = pb::AgencyCase::decode(stored.as_slice())
                    .map_err(|_| LocalError::Corrupt("case"))?
                    .citizen;
            }
        }
        let inner = case.case.clone().unwrap_or_default();
        let status = case_status(inner.status);
        sqlx::query(
            "INSERT INTO cases (case_id, appeal_number, status, deadline, body, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, deadline = excluded.deadline, \
             body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(event.case_id)
        .bind(&case.appeal_number)
        .bind(&status)
        .bind(&inner.deadline)
        .bind(case.encode_to_vec())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        if let Some(receipt) = &delivery.receipt {
            Self::keep_receipt(&mut tx, receipt).await?;
        }
        let current: Option<String> =
            sqlx::query_scalar("SELECT value FROM state WHERE key = 'cursor'")
                .fetch_optional(&mut *tx)
                .await?;
        if current
            .as_deref()
            .is_none_or(|c| cursor_key(c) < cursor_key(&event.cursor))
        {
            sqlx::query("INSERT INTO state (key, value) VALUES ('cursor', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(&event.cursor)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn keep_receipt(
        conn: &mut sqlx::SqliteConnection,
        receipt: &pb::Receipt,
    ) -> LocalResult<()> {
        sqlx::query(
            "INSERT INTO receipts (kind, case_id, event_id, request_id, json, stored_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (kind, event_id, request_id) DO NOTHING",
        )
        .bind(&receipt.kind)
        .bind(receipt.case_id)
        .bind(receipt.event_id)
        .bind(&receipt.request_id)
        .bind(hotline_proto::receipt::to_json(receipt).to_string())
        .bind(now())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Events whose hook has not run yet, oldest first, with their case.
    pub async fn pending_hooks(&self) -> LocalResult<Vec<(pb::AppealEvent, pb::AgencyCase)>> {
        let rows: Vec<HookRow> = sqlx::query_as(
            "SELECT e.event_id, e.cursor, e.kind, e.case_id, e.appeal_number, e.detail, c.body FROM events e \
             JOIN cases c ON c.case_id = e.case_id WHERE e.hook_done = 0 ORDER BY e.event_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, cursor, kind, case_id, appeal_number, detail, body)| {
                let case = pb::AgencyCase::decode(body.as_slice())
                    .map_err(|_| LocalError::Corrupt("case"))?;
                let event = pb::AppealEvent {
                    cursor,
                    id,
                    appeal_number,
                    case_id,
                    kind,
                    detail,
                    ..Default::default()
                };
                Ok((event, case))
            })
            .collect()
    }

    /// Marks an event's hook as run.
    pub async fn hook_done(&self, event_id: i64) -> LocalResult<()> {
        sqlx::query("UPDATE events SET hook_done = 1 WHERE event_id = $1")
            .bind(event_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The inbox, optionally only cases in `status` (as `in_progress`).
    pub async fn cases(&self, status: Option<&str>) -> LocalResult<Vec<pb::AgencyCase>> {
        let bodies: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT body FROM cases WHERE ($1 IS NULL OR status = $1) ORDER BY deadline, case_id",
        )
        .bind(status)
        .fetch_all(&self.pool)
        .await?;
        bodies
            .iter()
            .map(|b| pb::AgencyCase::decode(b.as_slice()).map_err(|_| LocalError::Corrupt("case")))
            .collect()
    }

    /// One case of the inbox.
    pub async fn case(&self, case_id: i64) -> LocalResult<Option<pb::AgencyCase>> {
        let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM cases WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(&self.pool)
            .await?;
        body.map(|b| pb::AgencyCase::decode(b.as_slice()).map_err(|_| LocalError::Corrupt("case")))
            .transpose()
    }

    /// Writes a report to the outbox before anything is sent; returns its request id.
    pub async fn enqueue(
        &self,
        rpc: &str,
        case_id: i64,
        body: Vec<u8>,
        request_id: &str,
    ) -> LocalResult<()> {
        sqlx::query("INSERT INTO outbox (request_id, rpc, case_id, body, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(request_id)
            .bind(rpc)
            .bind(case_id)
            .bind(body)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The outbox in order (only pending ones unless `all`).
    pub async fn outbox(&self, all: bool) -> LocalResult<Vec<Outgoing>> {
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT seq, request_id, rpc, case_id, body, state, attempts, last_error FROM outbox \
             WHERE $1 OR state = 'pending' ORDER BY seq",
        )
        .bind(all)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(seq, request_id, rpc, case_id, body, state, attempts, last_error)| Outgoing {
                    seq,
                    request_id,
                    rpc,
                    case_id,
                    body,
                    state,
                    attempts,
                    last_error,
                },
            )
            .collect())
    }

    /// One outbox message by request id.
    pub async fn outgoing(&self, request_id: &str) -> LocalResult<Option<Outgoing>> {
        Ok(self
            .outbox(true)
            .await?
            .into_iter()
            .find(|o| o.request_id == request_id))
    }

    /// The hub confirmed a report: keep its answer and receipt, update the inbox copy of the case.
    pub async fn confirmed(
        &self,
        request_id: &str,
        response: &pb::CaseActionResponse,
    ) -> LocalResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE outbox SET state = 'done', response = $1, done_at = $2, attempts = attempts + 1 WHERE request_id = $3")
            .bind(response.encode_to_vec())
            .bind(now())
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        if let Some(receipt) = &response.receipt {
            Self::keep_receipt(&mut tx, receipt).await?;
        }
        if let Some(case) = &response.case {
            let body: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT body FROM cases WHERE case_id = $1")
                    .bind(case.id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(body) = body {
                let mut stored = pb::AgencyCase::decode(body.as_slice())
                    .map_err(|_| LocalError::Corrupt("case"))?;
                stored.case = Some(case.clone());
                let status = case_status(case.status);
                sqlx::query(
                    "UPDATE cases SET status = $1, body = $2, updated_at = $3 WHERE case_id = $4",
                )
                .bind(status)
                .bind(stored.encode_to_vec())
                .bind(now())
                .bind(case.id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// A send failed: count it; `permanent` when the hub refused for good (it will not be retried).
    pub async fn attempt_failed(
        &self,
        request_id: &str,
        error: &str,
        permanent: bool,
    ) -> LocalResult<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, \
             state = CASE WHEN $2 THEN 'failed' ELSE state END WHERE request_id = $3",
        )
        .bind(error)
        .bind(permanent)
        .bind(request_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every receipt kept, oldest first.
    pub async fn receipts(&self) -> LocalResult<Vec<pb::Receipt>> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT json FROM receipts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|json| {
                let value: serde_json::Value =
                    serde_json::from_str(json).map_err(|_| LocalError::Corrupt("receipt"))?;
                hotline_proto::receipt::from_json(&value)
                    .map_err(|_| LocalError::Corrupt("receipt"))
            })
            .collect()
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
            cases: count("SELECT COUNT(*) FROM cases").await?,
            outbox_pending: count("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").await?,
            outbox_failed: count("SELECT COUNT(*) FROM outbox WHERE state = 'failed'").await?,
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
