//! The PostgreSQL backend, for production and for several hubs sharing one database.
//!
//! Event ids come from an identity column, so two transactions may commit out of id order. Each event
//! keeps its transaction id; readers order by (txid, id) and read only below a horizon under which
//! every transaction has ended ([`Backend::read_horizon`]), so a cursor never passes an event that
//! could still appear behind it. Every event-appending transaction also sends
//! `NOTIFY hotline_events`, so readers in every hub sharing the database wake at once.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions, PgSslMode};
use sqlx::{Connection, PgPool, Pool, Postgres, Transaction};
use tokio::sync::watch;

use super::backend::{Backend, GROUP_CONNECTIONS, SqlStore};
use super::{StoreResult, migrations};

/// The channel of the commit notifications.
const CHANNEL: &str = "hotline_events";

/// The hub's store on PostgreSQL.
pub type PgStore = SqlStore<Postgres>;

impl Backend for Postgres {
    // NO KEY: a transition never changes the appeal's key, and a registration that names this
    // appeal (`repeat_of`) takes a key-share lock on it for the foreign key. `FOR UPDATE` would
    // make that registration wait for the transition while the transition waits for the audit
    // chain's head its group commit already holds — a deadlock.
    const LOCK: &'static str = " FOR NO KEY UPDATE";
    const NOTIFY: Option<&'static str> = Some("SELECT pg_notify('hotline_events', '')");

    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        pool.begin().await
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    async fn read_horizon(pool: &Pool<Self>) -> Result<i64, sqlx::Error> {
        // The next transaction id to be given out, and the ids of this database's transactions
        // that have one and are still in flight. Not `pg_snapshot_xmin`: that is server-wide, and a
        // long transaction in another database would hold every stream back. Read in a statement
        // of its own, before the events: a writer that commits in between is then visible to them.
        let (xmax, in_flight): (i64, Vec<i64>) = sqlx::query_as(
            "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, \
             ARRAY(SELECT backend_xid::text::bigint FROM pg_stat_activity \
             WHERE datname = current_database() AND backend_xid IS NOT NULL)",
        )
        .fetch_one(pool)
        .await?;
        Ok(horizon(xmax, &in_flight))
    }
}

/// The first transaction id a reader must not pass: the oldest of `in_flight` (32-bit transaction
/// ids, as `pg_stat_activity` shows them) placed in the 64-bit epoch-extended space of `xmax`, or
/// `xmax` itself when nothing is in flight.
fn horizon(xmax: i64, in_flight: &[i64]) -> i64 {
    const SPACE: i64 = 1 << 32;
    in_flight
        .iter()
        .map(|xid| xmax - (xmax - xid).rem_euclid(SPACE))
        .fold(xmax, i64::min)
}

/// How the hub connects to the database at `url`: as the URL says, except that a database on this
/// host (a loopback address) is reached without TLS unless the URL sets `sslmode` itself, and JIT
/// compilation is off unless the URL mentions `jit` (see below).
///
/// Why: sqlx 0.9.0 leaves Nagle's algorithm on (its TCP_NODELAY was dropped in 0.9.0 and restored
/// only after it, sqlx issue 4335), and over TLS a statement longer than one TLS record (16 KiB) is
/// written record by record; on loopback the second write then waits for the server's delayed ACK,
/// 40 ms a time. Measured with the group commit's multi-row statements: groups of 37 registrations
/// took 44 ms instead of 5 (docs/benchmarks.md). TLS to a database on the same host protects
/// nothing the host's own access control does not; across a network the wait is one round trip.
pub fn connect_options(url: &str) -> StoreResult<PgConnectOptions> {
    let options: PgConnectOptions = url.parse()?;
    let host = options
        .get_host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let sslmode_given = url.contains("sslmode=");
    let options = if loopback && !sslmode_given {
        options.ssl_mode(PgSslMode::Disable)
    } else {
        options
    };
    // No JIT compilation unless the URL asks for it: the reports' queries run for tenths of a
    // second, and compiling them took longer than it saved (over 20 million appeals each rating
    // query spent 100-200 ms compiling; docs/benchmarks.md).
    Ok(if url.contains("jit") {
        options
    } else {
        options.options([("jit", "off")])
    })
}

/// Connects to `url`, applies the migrations and starts listening for other hubs' commits.
pub(super) async fn open(url: &str) -> StoreResult<PgStore> {
    let options = connect_options(url)?;
    let pool = |size: u32| {
        PgPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(Duration::from_secs(10))
            // A commit cut short (the server went away) can leave a connection that still counts
            // itself inside a transaction: close it instead of lending it out again.
            .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
    };
    let groups = pool(GROUP_CONNECTIONS)
        .connect_with(options.clone())
        .await?;
    let pool = pool(32).connect_with(options).await?;
    migrations::postgres().run(&pool).await?;
    let commits = Arc::new(watch::channel(0).0);
    let listener_pool = pool.clone();
    let listener_commits = Arc::downgrade(&commits);
    tokio::spawn(async move { listen(listener_pool, listener_commits).await });
    Ok(SqlStore::over(pool, groups, commits))
}

impl PgStore {
    /// Connects to the PostgreSQL database at `url` (see [`super::open`]).
    pub async fn open(url: &str) -> StoreResult<Self> {
        open(url).await
    }
}

/// Forwards `NOTIFY hotline_events` from any hub to this hub's readers until the store is dropped.
/// Reconnects after a lost connection; readers also poll, so a gap only delays them.
async fn listen(pool: PgPool, commits: std::sync::Weak<watch::Sender<u64>>) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for commit notifications; retrying");
                if commits.strong_count() == 0 || pool.is_closed() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(err) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %err, "LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        loop {
            let got = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
            let Some(sender) = commits.upgrade() else {
                return;
            };
            match got {
                Ok(Ok(_)) => sender.send_modify(|n| *n = n.wrapping_add(1)),
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "commit notifications interrupted; reconnecting");
                    break;
                }
                Err(_) if pool.is_closed() => return,
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::postgres::PgSslMode;

    use super::{connect_options, horizon};

    #[test]
    fn a_database_on_this_host_is_reached_without_tls_unless_the_url_says() {
        let mode = |url: &str| connect_options(url).unwrap().get_ssl_mode();
        assert!(matches!(
            mode("postgres://hub@127.0.0.1:5432/hotline"),
            PgSslMode::Disable
        ));
        assert!(matches!(
            mode("postgres://hub@localhost/hotline"),
            PgSslMode::Disable
        ));
        assert!(matches!(
            mode("postgres://hub@[::1]:5432/hotline"),
            PgSslMode::Disable
        ));
        assert!(matches!(
            mode("postgres://hub@127.0.0.1/hotline?sslmode=require"),
            PgSslMode::Require
        ));
        assert!(matches!(
            mode("postgres://hub@db.example.org/hotline"),
            PgSslMode::Prefer
        ));
    }

    #[test]
    fn jit_is_off_unless_the_url_sets_it() {
        let options = |url: &str| {
            connect_options(url)
                .unwrap()
                .get_options()
                .map(str::to_string)
        };
        assert_eq!(
            options("postgres://hub@127.0.0.1/hotline").as_deref(),
            Some("-c jit=off")
        );
        assert_eq!(
            options("postgres://hub@127.0.0.1/hotline?options=-c%20jit%3Don").as_deref(),
            Some("-c jit=on")
        );
    }

    #[test]
    fn the_horizon_is_the_oldest_writer_in_flight_across_epochs() {
        assert_eq!(horizon(1_000, &[]), 1_000);
        assert_eq!(horizon(1_000, &[990, 995]), 990);
        // xmax in epoch 1 (2^32 + 5); a writer that took xid 2^32 - 3 in epoch 0 is 8 ids older.
        let xmax = (1_i64 << 32) + 5;
        assert_eq!(horizon(xmax, &[(1_i64 << 32) - 3]), xmax - 8);
        assert_eq!(horizon(xmax, &[3]), xmax - 2);
    }
}
