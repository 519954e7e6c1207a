//! Shared helpers of the end-to-end tests: a real hub on an ephemeral port over a fresh database
//! (a temporary SQLite file, or a new PostgreSQL database per test), gRPC clients, a small directory,
//! and waiting on conditions with a timeout.
//!
//! PostgreSQL tests run when `HOTLINE_TEST_POSTGRES` names a server (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`). Without it they say so and pass; with `CI=true`
//! and no URL, they fail, so CI can never skip them silently.

#![forbid(unsafe_code)]

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use hotline_hub::api::{self, ApiSettings};
use hotline_hub::app::Hotline;
use hotline_hub::pki::{Ca, Issued, Validity};
use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::starter::{self, DirectoryFile};
use hotline_hub::store::{Caller, PgStore, SqliteStore, Store};
use hotline_hub::tls::{ReloadingTls, TlsFiles};
use hotline_proto::v1 as pb;
use hotline_proto::v1::appeal_registry_client::AppealRegistryClient;
use hotline_proto::v1::directory_client::DirectoryClient;
use sqlx::Connection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "HOTLINE_TEST_POSTGRES";

/// A small directory: two districts, a settlement, a section with a subject, four authorities.
pub const DIRECTORY: &str = r#"
[[districts]]
code = "dniprovskyi"
name = "Дніпровський район"
kind = "district"

[[districts]]
code = "kryvorizkyi"
name = "Криворізький район"
kind = "district"

[[districts]]
code = "dnipro"
name = "Дніпро"
kind = "settlement"
parent = "dniprovskyi"

[[categories]]
code = "07"
name = "Комунальне господарство"
term_days = 30

[[categories]]
code = "07.01"
name = "Водопостачання"
parent = "07"
term_days = 15

[[authorities]]
code = "vodokanal"
name = "КП «Дніпроводоканал»"
kind = "utility"
district = "dniprovskyi"

[[authorities]]
code = "city-council"
name = "Дніпровська міська рада"
kind = "city_council"
district = "dniprovskyi"

[[authorities]]
code = "heating"
name = "КП «Теплоенерго»"
kind = "utility"
district = "dniprovskyi"

[[authorities]]
code = "kryvyi-rih-council"
name = "Криворізька міська рада"
kind = "city_council"
district = "kryvorizkyi"
"#;

/// Installs the one rustls crypto provider (ring), as `main` does.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A certificate authority and the hub's TLS files, made in a temporary directory for one test.
#[derive(Debug)]
pub struct TestPki {
    /// The CA.
    pub ca: Ca,
    /// Where the files are.
    pub dir: PathBuf,
    /// The files the hub serves with (server certificate, CA bundle, CRL).
    pub files: TlsFiles,
}

impl TestPki {
    /// A fresh CA with a server certificate for localhost and 127.0.0.1.
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("hotline-pki-{}", uuid::Uuid::new_v4()));
        let ca = Ca::init(&dir, "test CA").expect("CA");
        ca.issue_server(
            &["localhost".into()],
            &["127.0.0.1".parse().unwrap()],
            Validity::days(2),
        )
        .expect("server certificate")
        .write(&dir, "server")
        .expect("write server certificate");
        let files = TlsFiles {
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
            client_ca: dir.join("ca.pem"),
            crl: Some(dir.join("crl.pem")),
        };
        Self { ca, dir, files }
    }

    /// A client certificate for `principal`, valid for a day.
    pub fn client(&self, principal: &Principal) -> Issued {
        self.ca
            .issue_client(principal, Validity::days(1))
            .expect("client certificate")
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

/// A mutual-TLS channel to `addr` trusting `ca_pem`, presenting `identity`.
pub async fn tls_channel(
    addr: std::net::SocketAddr,
    ca_pem: &str,
    identity: Option<&Issued>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some(id) = identity {
        tls = tls.identity(Identity::from_pem(&id.cert_pem, &id.key_pem));
    }
    Endpoint::from_shared(format!("https://{addr}"))
        .expect("uri")
        .tls_config(tls)?
        .connect()
        .await
}

/// The principal of a staff role in tests.
pub fn staff(role: StaffRole) -> Principal {
    Principal::Staff {
        role,
        login: format!("test-{}", role.code()),
    }
}

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

/// A hub serving on an ephemeral port over its own database.
#[derive(Debug)]
pub struct TestHub<S> {
    /// The application services (and through them the store) of the running hub.
    pub hotline: Hotline<S>,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Its database.
    pub db: TestDb,
    /// Its certificate authority and TLS files.
    pub pki: TestPki,
    /// The running server.
    task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
    /// Ends the server.
    stop: Option<oneshot::Sender<()>>,
}

/// Settings the tests serve with: a short poll so nothing waits long on a missed notification, and
/// TLS files re-checked often so rotation tests finish quickly.
pub fn settings() -> ApiSettings {
    ApiSettings {
        max_message_bytes: 64 * 1024,
        poll_interval: Duration::from_millis(500),
        stream_buffer: 16,
        tls_reload_interval: Duration::from_millis(100),
        heartbeat_interval: Duration::from_millis(500),
        // Tests run the monitor themselves, at the instants they choose.
        deadline_monitor: None,
    }
}

impl<S: Store> TestHub<S> {
    /// Serves `hotline` over mutual TLS on 127.0.0.1:0.
    pub async fn serve(hotline: Hotline<S>, db: TestDb, pki: TestPki) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let tls: Arc<ReloadingTls> = ReloadingTls::new(pki.files.clone()).expect("TLS files");
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(api::serve(
            listener,
            tls,
            hotline.clone(),
            settings(),
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            hotline,
            addr,
            db,
            pki,
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
        self.task = Some(tokio::spawn(api::serve(
            listener,
            tls,
            self.hotline.clone(),
            settings(),
            async move {
                let _ = stopped.await;
            },
        )));
        self.stop = Some(stop);
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
        let public = hotline_proto::receipt::hex(self.hotline.receipts.public_key());
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
    let hotline = Hotline::new(store);
    let directory = DirectoryFile::parse(DIRECTORY).expect("test directory");
    starter::load(&hotline, &directory, &Caller::system("test set-up"))
        .await
        .expect("load directory");
    TestHub::serve(hotline, db, TestPki::new()).await
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
pub async fn settled_events<S: Store>(
    hub: &TestHub<S>,
    authority: Option<&str>,
) -> Vec<hotline_hub::store::StoredEvent> {
    let sql = match authority {
        Some(code) => format!("SELECT COUNT(*) FROM events WHERE authority_code = '{code}'"),
        None => "SELECT COUNT(*) FROM events".to_string(),
    };
    let filter = hotline_hub::store::EventFilter {
        appeal_id: None,
        authority: authority.map(str::to_string),
    };
    wait_for(
        "the event log to settle",
        Duration::from_secs(30),
        || async {
            let committed = count_rows(hub, &sql).await;
            let visible = hub
                .hotline
                .store
                .events_after(hotline_hub::store::Cursor::default(), &filter, 1_000_000)
                .await
                .expect("events");
            (visible.len() as i64 == committed).then_some(visible)
        },
    )
    .await
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

/// Waits until `check` returns `Some`, polling every 20 ms, failing after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What an authority does until the agency gateway lands: deliver, accept, report, resolve.
pub async fn authority_answers<S: Store>(hub: &TestHub<S>, case_id: i64, answer: &str) {
    let store = &hub.hotline.store;
    let actor = Caller {
        principal: "agency:test".into(),
        rpc: "test".into(),
    };
    let key = hotline_hub::store::AppealKey::Case(case_id);
    let now = chrono::Utc::now;
    let status = store
        .load(&key)
        .await
        .unwrap()
        .unwrap()
        .cases
        .iter()
        .find(|c| c.id == case_id)
        .unwrap()
        .status;
    if status == hotline_hub::domain::CaseStatus::Assigned {
        store
            .transact(&key, &actor, |s| s.deliver(case_id, now()))
            .await
            .unwrap();
        store
            .transact(&key, &actor, |s| s.accept(case_id, now()))
            .await
            .unwrap();
    }
    store
        .transact(&key, &actor, |s| {
            s.report_progress(case_id, "crew sent", None, now())
        })
        .await
        .unwrap();
    store
        .transact(&key, &actor, |s| {
            s.resolve(
                case_id,
                answer,
                "",
                &hotline_hub::domain::Limits::default(),
                now(),
            )
        })
        .await
        .unwrap();
}

/// A valid registration card for a water complaint in Dnipro.
pub fn water_complaint() -> pb::RegisterAppealRequest {
    pb::RegisterAppealRequest {
        kind: pb::AppealKind::Complaint as i32,
        channel: pb::Channel::Phone as i32,
        citizen: Some(pb::Citizen {
            name: "Петренко Ганна Іванівна".into(),
            phone: "067 123 45 67".into(),
            address: "м. Дніпро, вул. Січеславська Набережна, 15, кв. 7".into(),
        }),
        district_code: "dniprovskyi".into(),
        settlement_code: "dnipro".into(),
        category_code: "07.01".into(),
        text: "Третій день немає холодної води в будинку".into(),
        ..Default::default()
    }
}

/// Declares `mod $name { sqlite, postgres }` tests running the generic test fn `$name` on both databases.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                hotline_tests::on_sqlite(super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                hotline_tests::on_postgres(super::$name).await;
            }
        }
    )+};
}
