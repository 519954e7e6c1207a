//! A hub serving over mutual TLS on an ephemeral port, over its own database and CA, with the
//! small directory loaded; restarted on the same address, stopped, or handed to agency clients.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hotline_hub::api::{self, ApiSettings};
use hotline_hub::app::{Hotline, ManualClock};
use hotline_hub::domain::Caller;
use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::starter::{self, DirectoryFile};
use hotline_hub::store::{PgStore, SqliteStore, Store};
use hotline_hub::tls::ReloadingTls;
use hotline_proto::v1::appeal_registry_client::AppealRegistryClient;
use hotline_proto::v1::directory_client::DirectoryClient;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use crate::db::TestDb;
use crate::fixtures::DIRECTORY;
use crate::pki::{TestPki, install_crypto, staff, tls_channel};
use crate::wait_for;

/// A hub serving on an ephemeral port over its own database.
#[derive(Debug)]
pub struct TestHub<S> {
    /// The use cases of the running hub.
    pub hotline: Hotline<S>,
    /// Its store, for tests that look behind the use cases (the event log as a reader sees it, a
    /// transition driven directly).
    pub store: S,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Its database.
    pub db: TestDb,
    /// Its certificate authority and TLS files.
    pub pki: TestPki,
    /// How it serves (kept for a restart).
    pub settings: ApiSettings,
    /// Its metrics, the authorities' presence, and how it shuts down (kept for a restart).
    pub ops: api::Ops,
    /// The running server.
    task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
    /// Ends the server.
    stop: Option<oneshot::Sender<()>>,
}

/// Operations settings the tests serve with: gauges and health refreshed often, a short readiness
/// drop at shutdown (so restarts stay quick), a fresh metrics registry per hub.
pub fn test_ops() -> api::Ops {
    api::Ops {
        metrics_refresh: Duration::from_millis(500),
        readiness_delay: Duration::from_millis(100),
        health_interval: Duration::from_millis(200),
        ..api::Ops::default()
    }
}

/// Settings the tests serve with: a short poll so nothing waits long on a missed notification, and
/// TLS files re-checked often so rotation tests finish quickly. No deadline monitor runs: tests run
/// it themselves, at the instants they choose.
pub fn settings() -> ApiSettings {
    ApiSettings {
        max_message_bytes: 64 * 1024,
        poll_interval: Duration::from_millis(500),
        stream_buffer: 16,
        tls_reload_interval: Duration::from_millis(100),
        heartbeat_interval: Duration::from_millis(500),
    }
}

impl<S: Store> TestHub<S> {
    /// Serves `hotline` over mutual TLS on 127.0.0.1:0 with the tests' [`settings`].
    pub async fn serve(store: S, hotline: Hotline<S>, db: TestDb, pki: TestPki) -> Self {
        Self::serve_with(store, hotline, db, pki, settings()).await
    }

    /// Serves `hotline` over mutual TLS on 127.0.0.1:0 with `settings`.
    pub async fn serve_with(
        store: S,
        hotline: Hotline<S>,
        db: TestDb,
        pki: TestPki,
        settings: ApiSettings,
    ) -> Self {
        Self::serve_with_ops(store, hotline, db, pki, settings, test_ops()).await
    }

    /// Serves `hotline` over mutual TLS on 127.0.0.1:0 with `settings` and `ops` (limits, say).
    pub async fn serve_with_ops(
        store: S,
        hotline: Hotline<S>,
        db: TestDb,
        pki: TestPki,
        settings: ApiSettings,
        ops: api::Ops,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let tls: Arc<ReloadingTls> = ReloadingTls::new(pki.files.clone()).expect("TLS files");
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(api::serve_with_ops(
            listener,
            tls,
            hotline.clone(),
            settings.clone(),
            ops.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            hotline,
            store,
            addr,
            db,
            pki,
            settings,
            ops,
            task: Some(task),
            stop: Some(stop),
        }
    }

    /// A channel to the hub as `principal` (a certificate issued by the hub's test CA).
    pub async fn channel_as(&self, principal: &Principal) -> Channel {
        tls_channel(
            self.addr,
            self.pki.ca.cert_pem(),
            Some(&self.pki.client(principal)),
        )
        .await
        .expect("connect")
    }

    /// An `AppealRegistry` client for a member of staff in `role`.
    pub async fn registry(&self, role: StaffRole) -> AppealRegistryClient<Channel> {
        AppealRegistryClient::new(self.channel_as(&staff(role)).await)
    }

    /// An `AppealRegistry` client for an operator.
    pub async fn operator(&self) -> AppealRegistryClient<Channel> {
        self.registry(StaffRole::Operator).await
    }

    /// An `AppealRegistry` client for an analyst.
    pub async fn analyst(&self) -> AppealRegistryClient<Channel> {
        self.registry(StaffRole::Analyst).await
    }

    /// A `Directory` client for an admin.
    pub async fn directory(&self) -> DirectoryClient<Channel> {
        DirectoryClient::new(self.channel_as(&staff(StaffRole::Admin)).await)
    }

    /// Stops the server and serves the same database and PKI again on the same address, as after a
    /// restart of the hub process.
    pub async fn restart(&mut self) {
        self.shutdown().await;
        let listener = wait_for(
            "the port to be free again",
            Duration::from_secs(10),
            || async { tokio::net::TcpListener::bind(self.addr).await.ok() },
        )
        .await;
        let tls: Arc<ReloadingTls> = ReloadingTls::new(self.pki.files.clone()).expect("TLS files");
        let (stop, stopped) = oneshot::channel();
        self.task = Some(tokio::spawn(api::serve_with_ops(
            listener,
            tls,
            self.hotline.clone(),
            self.settings.clone(),
            self.ops.clone(),
            async move {
                let _ = stopped.await;
            },
        )));
        self.stop = Some(stop);
    }

    /// Stops the server and serves `store` (over `db`, e.g. a restored database) on the same
    /// address with the same PKI and receipt key, as after a restore and a restart.
    pub async fn reopen(&mut self, store: S, db: TestDb) {
        self.shutdown().await;
        self.hotline = Hotline::new(store.clone())
            .with_limits(self.hotline.limits().clone())
            .with_receipts(self.hotline.receipts().clone());
        self.store = store;
        let old = std::mem::replace(&mut self.db, db);
        if !matches!((&old, &self.db), (TestDb::Sqlite(a), TestDb::Sqlite(b)) if a == b) {
            old.drop_db().await;
        }
        self.restart().await;
    }

    /// Configuration for an agency client of `authority` with its own local store in a new temporary
    /// directory: certificate, key, CA and the hub's receipt key written there.
    pub fn agency_config(&self, authority: &str) -> hotline_agency_client::ClientConfig {
        let dir = std::env::temp_dir().join(format!(
            "hotline-agency-{authority}-{}",
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).expect("agency dir");
        let issued = self.pki.client(&Principal::Agency {
            authority: authority.into(),
        });
        std::fs::write(dir.join("agency.pem"), &issued.cert_pem).expect("write");
        std::fs::write(dir.join("agency.key"), &issued.key_pem).expect("write");
        std::fs::write(dir.join("ca.pem"), self.pki.ca.cert_pem()).expect("write");
        let public = hotline_proto::receipt::hex(self.hotline.receipts().public_key());
        std::fs::write(dir.join("receipt.pub"), public).expect("write");
        hotline_agency_client::ClientConfig {
            hub: format!("https://{}", self.addr),
            cert: dir.join("agency.pem"),
            key: dir.join("agency.key"),
            ca: dir.join("ca.pem"),
            receipt_key: Some(dir.join("receipt.pub")),
            hook_command: None,
            inbox_dir: None,
            max_backoff: Duration::from_millis(500),
            outbox_poll: Duration::from_millis(200),
            data_dir: dir,
        }
    }

    /// Stops the server gracefully (failing the test if that takes over 15 s) and keeps the database.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("graceful shutdown finished in time")
                .expect("server task")
                .expect("server result");
        }
    }

    /// Stops the server and removes the database and the PKI files.
    pub async fn stop(mut self) {
        self.shutdown().await;
        self.db.drop_db().await;
        let _ = std::fs::remove_dir_all(&self.pki.dir);
    }
}

/// Opens a fresh hub over SQLite with the small directory loaded.
pub async fn sqlite_hub() -> TestHub<SqliteStore> {
    install_crypto();
    let db = TestDb::sqlite();
    let store = SqliteStore::open(&db.url()).await.expect("open sqlite");
    hub_over(store, db).await
}

/// Opens a fresh hub over a new PostgreSQL database, or `None` when PostgreSQL tests are off.
pub async fn postgres_hub() -> Option<TestHub<PgStore>> {
    install_crypto();
    let db = TestDb::postgres().await?;
    let store = PgStore::open(&db.url()).await.expect("open postgres");
    Some(hub_over(store, db).await)
}

async fn hub_over<S: Store>(store: S, db: TestDb) -> TestHub<S> {
    hub_with(store, db, |h| h, settings()).await
}

/// A hub over `store` with the small directory loaded, its use cases shaped by `configure` (limits,
/// a clock) and served with `settings`.
pub async fn hub_with<S: Store>(
    store: S,
    db: TestDb,
    configure: impl FnOnce(Hotline<S>) -> Hotline<S>,
    settings: ApiSettings,
) -> TestHub<S> {
    let hotline = configure(Hotline::new(store.clone()));
    let directory = DirectoryFile::parse(DIRECTORY).expect("test directory");
    starter::load(&hotline, &directory, &Caller::system("test set-up"))
        .await
        .expect("load directory");
    TestHub::serve_with(store, hotline, db, TestPki::new(), settings).await
}

/// A hub whose clock stands still at the present until the test moves it (call-back spacing,
/// terms that end, another day).
pub async fn hub_with_clock<S: Store>(store: S, db: TestDb) -> (TestHub<S>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let shared = clock.clone();
    let hub = hub_with(store, db, move |h| h.with_clock(shared), settings()).await;
    (hub, clock)
}

/// Declares `$name_sqlite` and `$name_postgres` tests running the generic test fn `$name(hub,
/// clock)` on both databases, over a hub with a [`ManualClock`] ([`hub_with_clock`]).
#[macro_export]
macro_rules! on_both_with_clock {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (store, db) = hotline_tests::sqlite_store().await;
                let (hub, clock) = hotline_tests::hub_with_clock(store, db).await;
                super::$name(hub, clock).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some((store, db)) = hotline_tests::postgres_store().await {
                    let (hub, clock) = hotline_tests::hub_with_clock(store, db).await;
                    super::$name(hub, clock).await;
                }
            }
        }
    )+};
}

/// A hub over `store` with the small directory loaded, served with `ops`.
pub async fn hub_with_ops<S: Store>(store: S, db: TestDb, ops: api::Ops) -> TestHub<S> {
    hub_with_settings(store, db, settings(), ops).await
}

/// A hub over `store` with the small directory, serving with `settings` and `ops` (the
/// benchmarks serve as `hub serve` does, not with the tests' short intervals).
pub async fn hub_with_settings<S: Store>(
    store: S,
    db: TestDb,
    settings: ApiSettings,
    ops: api::Ops,
) -> TestHub<S> {
    let hotline = Hotline::new(store.clone());
    let directory = DirectoryFile::parse(DIRECTORY).expect("test directory");
    starter::load(&hotline, &directory, &Caller::system("test set-up"))
        .await
        .expect("load directory");
    TestHub::serve_with_ops(store, hotline, db, TestPki::new(), settings, ops).await
}

/// A fresh SQLite database and its store (for [`hub_with`]).
pub async fn sqlite_store() -> (SqliteStore, TestDb) {
    install_crypto();
    let db = TestDb::sqlite();
    let store = SqliteStore::open(&db.url()).await.expect("open sqlite");
    (store, db)
}

/// A fresh PostgreSQL database and its store (for [`hub_with`]), or `None` when PostgreSQL tests
/// are off.
pub async fn postgres_store() -> Option<(PgStore, TestDb)> {
    install_crypto();
    let db = TestDb::postgres().await?;
    let store = PgStore::open(&db.url()).await.expect("open postgres");
    Some((store, db))
}

/// Runs `test` against a SQLite hub.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(TestHub<SqliteStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    test(sqlite_hub().await).await;
}

/// Runs `test` against a PostgreSQL hub when PostgreSQL tests are on.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(TestHub<PgStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(hub) = postgres_hub().await {
        test(hub).await;
    }
}
