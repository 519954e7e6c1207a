//! The database goes away or cannot write:
//! - PostgreSQL unreachable: a TCP proxy between the hub and the shared server is cut (the server
//!   itself is never stopped: other tests use it). Calls answer UNAVAILABLE, health goes
//!   NOT_SERVING, and when the proxy passes again the hub recovers by itself; a retried write with
//!   the same request id is applied once.
//! - SQLite full or read-only: SQLite's own limits (`max_page_count`, `query_only`) on every
//!   connection of the hub's pool stand in for a full disk and a read-only file (the tests run as
//!   root, which file modes do not stop, and CI mounts no small file system). Writes answer
//!   UNAVAILABLE, nothing half-written remains (integrity check, audit chain), and writes succeed
//!   again once the limit is lifted.

use std::net::SocketAddr;
use std::time::Duration;

use hotline_hub::audit::Finding;
use hotline_hub::principal::StaffRole;
use hotline_hub::store::{PgStore, SqliteStore, Store};
use hotline_tests::{
    POSTGRES_ENV, TestDb, TestHub, hub_with, settings, staff, wait_for, water_complaint,
};
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::proxy::{Mode, Proxy};

const WAIT: Duration = Duration::from_secs(45);

async fn health<S: Store>(hub: &TestHub<S>) -> i32 {
    HealthClient::new(hub.channel_as(&staff(StaffRole::Supervisor)).await)
        .check(HealthCheckRequest::default())
        .await
        .map_or(-1, |r| r.into_inner().status)
}

async fn register<S: Store>(hub: &TestHub<S>, request_id: &str) -> Result<String, tonic::Status> {
    let mut request = water_complaint();
    request.request_id = request_id.into();
    hub.operator()
        .await
        .register_appeal(request)
        .await
        .map(|r| r.into_inner().number)
}

/// The host:port of the server `HOTLINE_TEST_POSTGRES` names.
fn postgres_server(url: &str) -> (String, SocketAddr) {
    let after = url.split_once('@').map_or(url, |(_, rest)| rest);
    let host_port = after.split('/').next().unwrap().to_string();
    let addr = host_port
        .replace("localhost", "127.0.0.1")
        .parse()
        .expect("HOTLINE_TEST_POSTGRES names host:port");
    (host_port, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_then_back() {
    hotline_tests::install_crypto();
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let admin = std::env::var(POSTGRES_ENV).unwrap();
    let (host_port, server) = postgres_server(&admin);
    let proxy = Proxy::start(server).await;
    let via_proxy = db.url().replace(&host_port, &proxy.addr.to_string());
    let store = PgStore::open(&via_proxy)
        .await
        .expect("open through the proxy");
    let hub = hub_with(store, db, |h| h, settings()).await;
    register(&hub, "before")
        .await
        .expect("works before the cut");
    assert_eq!(health(&hub).await, ServingStatus::Serving as i32);

    proxy.set(Mode::Refuse);
    proxy.reset_all();
    let refused = wait_for("a call to fail while the database is cut", WAIT, || async {
        register(&hub, "during").await.err()
    })
    .await;
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    wait_for("health to go NOT_SERVING", WAIT, || async {
        (health(&hub).await == ServingStatus::NotServing as i32).then_some(())
    })
    .await;

    proxy.set(Mode::Pass);
    wait_for("health to come back by itself", WAIT, || async {
        (health(&hub).await == ServingStatus::Serving as i32).then_some(())
    })
    .await;
    let number = wait_for("writes to work again", WAIT, || async {
        register(&hub, "during").await.ok()
    })
    .await;
    // The retry of "during" (same id) registered one appeal, not two.
    let again = register(&hub, "during").await.unwrap();
    assert_eq!(again, number);
    assert_eq!(
        hotline_tests::count_rows(&hub, "SELECT COUNT(*) FROM appeals").await,
        2
    );
    drop(proxy);
    hub.stop().await;
}

/// Runs `pragma` on every connection of the hub's SQLite pools, the group commits' included (it
/// holds each pool's connections all at once, so each is a different one).
async fn on_every_connection(store: &SqliteStore, pragma: &str) {
    for pool in [store.pool(), store.group_pool()] {
        let mut held = Vec::new();
        for _ in 0..pool.options().get_max_connections() {
            held.push(pool.acquire().await.expect("a connection"));
        }
        for conn in &mut held {
            sqlx::query(sqlx::AssertSqlSafe(pragma.to_string()))
                .execute(&mut **conn)
                .await
                .expect("pragma");
        }
    }
}

async fn intact(hub: &TestHub<SqliteStore>) {
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(hub.store.pool())
        .await
        .unwrap();
    assert_eq!(check, "ok");
    assert!(matches!(
        hub.hotline.verify_audit().await.unwrap(),
        Finding::Intact { .. }
    ));
}

/// Writes until the hub refuses one; returns how many it accepted and the refusal.
async fn fill(hub: &TestHub<SqliteStore>, prefix: &str) -> (usize, tonic::Status) {
    for i in 0..2_000 {
        if let Err(status) = register(hub, &format!("{prefix}-{i}")).await {
            return (i, status);
        }
    }
    panic!("the database never refused a write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_disk_full_then_space_returns() {
    let hub = hotline_tests::sqlite_hub().await;
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(hub.store.pool())
        .await
        .unwrap();
    on_every_connection(
        &hub.store,
        &format!("PRAGMA max_page_count = {}", pages + 2),
    )
    .await;
    let (accepted, refused) = fill(&hub, "full").await;
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    let stored = hotline_tests::count_rows(&hub, "SELECT COUNT(*) FROM appeals").await;
    assert_eq!(
        stored,
        i64::try_from(accepted).unwrap(),
        "nothing half-written"
    );
    intact(&hub).await;

    on_every_connection(&hub.store, "PRAGMA max_page_count = 1073741823").await;
    // The refused request, retried with its id, now goes through, once.
    let id = format!("full-{accepted}");
    let number = register(&hub, &id).await.expect("space returned");
    assert_eq!(register(&hub, &id).await.unwrap(), number);
    intact(&hub).await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_only_then_writable() {
    let hub = hotline_tests::sqlite_hub().await;
    register(&hub, "before").await.unwrap();
    on_every_connection(&hub.store, "PRAGMA query_only = 1").await;
    let refused = register(&hub, "during").await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    // Reads go on.
    assert_eq!(health(&hub).await, ServingStatus::Serving as i32);
    intact(&hub).await;
    on_every_connection(&hub.store, "PRAGMA query_only = 0").await;
    register(&hub, "during").await.expect("writable again");
    assert_eq!(
        hotline_tests::count_rows(&hub, "SELECT COUNT(*) FROM appeals").await,
        2
    );
    hub.stop().await;
}
