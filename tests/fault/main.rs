//! The fault suite: the hub and its agency clients through crashes, cuts, stalls, a database that
//! goes away or fills up, and a seeded randomized soak checked against a model. Real processes
//! where it matters (the `hub` binary, killed with SIGKILL); an in-test TCP proxy for the network.
//!
//! The short form runs in CI (`cargo test -p hotline-tests --test fault`, needing the `hub` binary
//! built: `cargo build -p hotline-hub --bin hub`). The long form is the same tests at a larger
//! scale, chosen by the environment:
//!
//! ```sh
//! HOTLINE_FAULT_AGENCIES=100 HOTLINE_FAULT_APPEALS=2000 HOTLINE_FAULT_KILLS=5 \
//! HOTLINE_SOAK_STEPS=2000 HOTLINE_SOAK_SEED=42 \
//! cargo test --release -p hotline-tests --test fault -- --test-threads 1
//! ```
//!
//! # Layout
//! - [`proxy`]: the TCP proxy that passes, stalls, refuses and resets connections.
//! - [`fleet`]: the hub as a process, a generated directory, agency clients that accept every case.
//! - [`crash`]: `kill -9` of the hub under load.
//! - [`cluster`]: two hubs on one database behind a balancer; one killed, its agencies resume
//!   through the other.
//! - [`database`]: PostgreSQL unreachable (cut at a proxy; the shared server is never stopped);
//!   the SQLite file full or read-only.
//! - [`network`]: agency clients behind a proxy that cuts, refuses and stalls.
//! - [`soak`]: a seeded random interleaving of work, cuts and restarts against a model.

mod cluster;
mod crash;
mod database;
mod fleet;
mod network;
mod proxy;
mod soak;

/// How big the load is (the short form by default).
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Agency clients, one per authority.
    pub agencies: usize,
    /// Appeals registered and assigned.
    pub appeals: usize,
    /// Times the hub is killed during the load.
    pub kills: usize,
}

impl Scale {
    /// From `HOTLINE_FAULT_AGENCIES`, `HOTLINE_FAULT_APPEALS`, `HOTLINE_FAULT_KILLS`.
    pub fn from_env() -> Self {
        let get = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Self {
            agencies: get("HOTLINE_FAULT_AGENCIES", 6).max(1),
            appeals: get("HOTLINE_FAULT_APPEALS", 36).max(4),
            kills: get("HOTLINE_FAULT_KILLS", 2).max(1),
        }
    }
}

/// `SELECT COUNT(*) …` on the database at `url`, behind the hub's back.
pub async fn count(url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    let statement = sqlx::AssertSqlSafe(sql.to_string());
    if url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        let n = sqlx::query_scalar(statement)
            .fetch_one(&mut conn)
            .await
            .expect("count");
        let _ = conn.close().await;
        n
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
        let n = sqlx::query_scalar(statement)
            .fetch_one(&mut conn)
            .await
            .expect("count");
        let _ = conn.close().await;
        n
    }
}
