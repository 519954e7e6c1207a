//! `hub-bench`: the hub's speed against floors measured in the same run on the same machine.
//!
//! 1. Registration throughput and latency (1 and 64 callers) against the database's own floor:
//!    durable transactions of three inserts each, as many callers, on the same backend.
//! 2. Fan-out: agency streams connected, appeals assigned at a steady rate; commit → arrival at the
//!    authority's stream, p50/p99/max.
//! 3. Memory per idle stream and the reconnect storm, the hub in its own process (`storm.rs`).
//! 4. Layer overhead: `grpc.health.v1.Health/Check` through every layer of the hub against a bare
//!    tonic server over the same mutual TLS; `GetAppeal` against the same floor.
//!
//! The hub runs in this process over a real listener and mutual TLS (two cores are shared by the
//! hub and the load either way); every figure is printed with its floor, the ratio and the command
//! that reproduces it. `--quick` is the seconds-long form CI runs so the suite cannot rot.
//!
//! Reproduce: `cargo run --release -p hotline-tests --bin hub-bench -- [--seconds 10]
//! [--postgres postgres://postgres@127.0.0.1:5432/postgres] [--streams 480] [--rate 200]
//! [--only registration,fan-out,layers,storm] [--no-sqlite] [--storm 10000]`
//! (`storm` runs the real `hub` binary: build it first, `cargo build --release -p hotline-hub --bin hub`)

mod bare;
mod storm;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hotline_hub::domain::{Authority, Caller};
use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::starter::{self, DirectoryFile};
use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_proto::v1::agency_gateway_client::AgencyGatewayClient;
use hotline_proto::v1::appeal_registry_client::AppealRegistryClient;
use hotline_tests::{TestDb, TestHub, staff, water_complaint};
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;

#[derive(Debug, Clone)]
struct Args {
    seconds: u64,
    postgres: Option<String>,
    streams: usize,
    rate: u64,
    quick: bool,
    /// Agencies in the memory and reconnect-storm run (the hub in its own process).
    storm: usize,
    /// Skip the SQLite run (measure PostgreSQL alone).
    no_sqlite: bool,
    /// The figures to measure (`registration`, `fan-out`, `layers`); all when empty.
    only: Vec<String>,
}

impl Args {
    fn wants(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == part)
    }
}

fn args() -> Args {
    let mut a = Args {
        seconds: 10,
        postgres: std::env::var("HOTLINE_TEST_POSTGRES")
            .ok()
            .filter(|u| !u.is_empty()),
        streams: 480,
        rate: 200,
        quick: false,
        no_sqlite: false,
        storm: 1_000,
        only: Vec::new(),
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < raw.len() {
        let value = || raw.get(i + 1).cloned().unwrap_or_default();
        if raw[i] == "--quick" {
            a.quick = true;
            a.seconds = 1;
            a.streams = 24;
            a.rate = 20;
            a.storm = 20;
            i += 1;
            continue;
        }
        if raw[i] == "--no-sqlite" {
            a.no_sqlite = true;
            i += 1;
            continue;
        }
        match raw[i].as_str() {
            "--seconds" => a.seconds = value().parse().expect("--seconds N"),
            "--postgres" => a.postgres = Some(value()),
            "--streams" => a.streams = value().parse().expect("--streams N"),
            "--rate" => a.rate = value().parse().expect("--rate N"),
            "--storm" => a.storm = value().parse().expect("--storm N"),
            "--only" => a.only = value().split(',').map(str::to_string).collect(),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a
}

/// Calls `call` from `callers` tasks for `seconds`; returns (calls per second, p50, p99).
async fn drive<F, Fut>(callers: usize, seconds: u64, call: F) -> (f64, Duration, Duration)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut n = 0u64;
            while Instant::now() < until {
                let t = Instant::now();
                call(c, n).await;
                times.push(t.elapsed());
                n += 1;
            }
            times
        }));
    }
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await.expect("a caller"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort();
    let (p50, p99) = (quantile(&times, 0.5), quantile(&times, 0.99));
    (times.len() as f64 / elapsed, p50, p99)
}

/// The `q`-quantile of `sorted` (zero when it is empty).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let at = ((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(at).copied().unwrap_or_default()
}

/// `p50 … p99 … max …` of `latencies`, in milliseconds.
fn spread(mut latencies: Vec<Duration>) -> String {
    latencies.sort();
    format!(
        "p50 {} p99 {} max {}",
        ms(quantile(&latencies, 0.5)),
        ms(quantile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The database's floor: `callers` tasks each committing transactions of three inserts.
async fn floor(db: &TestDb, callers: usize, seconds: u64) -> (f64, Duration, Duration) {
    let url = db.url();
    let sqlite = url.starts_with("sqlite");
    let ddl = [
        "CREATE TABLE IF NOT EXISTS floor_a (id BIGINT, body TEXT)",
        "CREATE TABLE IF NOT EXISTS floor_b (id BIGINT, body TEXT)",
        "CREATE TABLE IF NOT EXISTS floor_c (id BIGINT, body TEXT)",
    ];
    if sqlite {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().expect("sqlite url");
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(
                options
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(30)),
            )
            .await
            .expect("floor pool");
        for statement in ddl {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        drive(callers, seconds, move |c, n| {
            let pool = pool.clone();
            async move {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
                for table in ["floor_a", "floor_b", "floor_c"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO {table} (id, body) VALUES ($1, $2)"
                    )))
                    .bind((c as i64) << 32 | n as i64)
                    .bind("Третій день немає холодної води в будинку")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                }
                tx.commit().await.unwrap();
            }
        })
        .await
    } else {
        // Connected as the hub connects (no TLS to a database on this host; see `pg_connect_options`).
        let options = hotline_hub::store::pg_connect_options(&url).expect("postgres url");
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(callers.clamp(1, 64) as u32)
            .connect_with(options)
            .await
            .expect("floor pool");
        for statement in ddl {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        drive(callers, seconds, move |c, n| {
            let pool = pool.clone();
            async move {
                let mut tx = pool.begin().await.unwrap();
                for table in ["floor_a", "floor_b", "floor_c"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO {table} (id, body) VALUES ($1, $2)"
                    )))
                    .bind((c as i64) << 32 | n as i64)
                    .bind("Третій день немає холодної води в будинку")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                }
                tx.commit().await.unwrap();
            }
        })
        .await
    }
}

/// A hub with the starter directory and no limit in the way of the load.
async fn hub<S: Store>(store: S, db: TestDb) -> TestHub<S> {
    let ops = hotline_hub::api::Ops {
        limits: hotline_hub::api::limits::Limits {
            per_second: 1e9,
            burst: 1e9,
            concurrent_calls: 100_000,
            streams_per_authority: 1_000,
        },
        ..hotline_hub::api::Ops::default()
    };
    // Served as `hub serve` serves: gauges every 15 s, streams' heartbeats every 15 s.
    let settings = hotline_hub::api::ApiSettings::new(4 * 1024 * 1024);
    let hub = hotline_tests::hub::hub_with_settings(store, db, settings, ops).await;
    starter::load(
        &hub.hotline,
        &DirectoryFile::starter(),
        &Caller::system("bench"),
    )
    .await
    .expect("starter directory");
    hub
}

async fn channels<S: Store>(hub: &TestHub<S>, role: StaffRole, n: usize) -> Vec<Channel> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(hub.channel_as(&staff(role)).await);
    }
    out
}

fn card(c: usize, n: u64) -> pb::RegisterAppealRequest {
    let mut card = water_complaint();
    card.citizen.as_mut().unwrap().phone = format!("+380{:02}{:07}", 50 + c % 49, n % 10_000_000);
    card
}

async fn registration<S: Store>(hub: &TestHub<S>, label: &str, a: &Args) {
    for callers in [1usize, 64] {
        let channels = channels(hub, StaffRole::Operator, callers.min(8)).await;
        let (rate, p50, p99) = drive(callers, a.seconds, move |c, n| {
            let mut client = AppealRegistryClient::new(channels[c % channels.len()].clone());
            async move {
                client
                    .register_appeal(card(c, n))
                    .await
                    .expect("registered");
            }
        })
        .await;
        let floor_db = match &hub.db {
            TestDb::Sqlite(_) => TestDb::sqlite(),
            TestDb::Postgres { admin_url, .. } => TestDb::postgres_at(admin_url).await,
        };
        let (floor_rate, floor_p50, _) = floor(&floor_db, callers, a.seconds).await;
        floor_db.drop_db().await;
        println!(
            "RegisterAppeal {label}, {callers:>2} callers: {rate:>7.0}/s p50 {} p99 {} | floor {floor_rate:>7.0} tps p50 {} | {:>4.0}% of the floor",
            ms(p50),
            ms(p99),
            ms(floor_p50),
            100.0 * rate / floor_rate
        );
    }
}

/// When an assignment was sent, and when the hub answered that it was committed.
type Sent = (Instant, Option<Instant>);

/// Fan-out: `streams` agency streams, each of its own authority as in production; appeals assigned
/// at `rate` per second, round the authorities; commit → arrival at the authority's stream.
async fn fan_out<S: Store>(hub: &TestHub<S>, a: &Args) {
    let mut codes = Vec::with_capacity(a.streams);
    for i in 0..a.streams {
        let code = format!("bench-{i:05}");
        hub.hotline
            .create_authority(
                Authority {
                    code: code.clone(),
                    name: format!("Bench authority {i}"),
                    kind: "utility".into(),
                    district_code: String::new(),
                    active: true,
                },
                &Caller::system("bench"),
            )
            .await
            .expect("an authority");
        codes.push(code);
    }
    // Per appeal: when its assignment was sent, and when the hub answered that it was committed.
    let sent: Arc<Mutex<HashMap<String, Sent>>> = Arc::new(Mutex::new(HashMap::new()));
    // Per arrival: from the call, and from the committed answer (0 when it arrived first).
    let latencies: Arc<Mutex<Vec<(Duration, Duration)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    for code in &codes {
        let channel = hub
            .channel_as(&Principal::Agency {
                authority: code.clone(),
            })
            .await;
        let mut stream = AgencyGatewayClient::new(channel)
            .stream_cases(pb::StreamCasesRequest::default())
            .await
            .expect("a stream")
            .into_inner();
        let (sent, latencies) = (sent.clone(), latencies.clone());
        readers.push(tokio::spawn(async move {
            while let Ok(Some(d)) = stream.message().await {
                let arrived = Instant::now();
                if let Some(e) = d.event.filter(|e| e.kind == "case.assigned")
                    && let Some((called, answered)) = sent.lock().unwrap().get(&e.appeal_number)
                {
                    let after_commit = answered
                        .map(|t| arrived.saturating_duration_since(t))
                        .unwrap_or_default();
                    latencies
                        .lock()
                        .unwrap()
                        .push((arrived - *called, after_commit));
                }
            }
        }));
    }
    let mut operator = AppealRegistryClient::new(hub.channel_as(&staff(StaffRole::Operator)).await);
    let total = (a.rate * a.seconds) as usize;
    let mut numbers = Vec::with_capacity(total);
    for n in 0..total {
        numbers.push(
            operator
                .register_appeal(card(1, n as u64))
                .await
                .unwrap()
                .into_inner()
                .number,
        );
    }
    let analyst = AppealRegistryClient::new(hub.channel_as(&staff(StaffRole::Analyst)).await);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / a.rate as f64));
    let mut calls = Vec::new();
    for (n, number) in numbers.into_iter().enumerate() {
        tick.tick().await;
        let mut analyst = analyst.clone();
        let sent = sent.clone();
        let authority = codes[n % codes.len()].clone();
        calls.push(tokio::spawn(async move {
            sent.lock()
                .unwrap()
                .insert(number.clone(), (Instant::now(), None));
            analyst
                .assign_appeal(pb::AssignAppealRequest {
                    number: number.clone(),
                    assignments: vec![pb::Assignment {
                        authority_code: authority,
                        deadline: String::new(),
                    }],
                    ..Default::default()
                })
                .await
                .expect("assigned");
            if let Some(entry) = sent.lock().unwrap().get_mut(&number) {
                entry.1 = Some(Instant::now());
            }
        }));
    }
    for c in calls {
        c.await.unwrap();
    }
    // Every assignment reaches its authority's stream once.
    let deadline = Instant::now() + Duration::from_secs(30);
    while latencies.lock().unwrap().len() < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for r in readers {
        r.abort();
    }
    let arrivals = latencies.lock().unwrap().clone();
    println!(
        "Fan-out, {} streams (one authority each), {}/s assigned: commit → arrival {} | call → arrival {} ({} of {} arrivals) | target p99 < 20 ms",
        a.streams,
        a.rate,
        spread(arrivals.iter().map(|l| l.1).collect()),
        spread(arrivals.iter().map(|l| l.0).collect()),
        arrivals.len(),
        total
    );
}

/// Health through every layer, and GetAppeal, against a bare tonic server over the same mTLS.
async fn layers<S: Store>(hub: &TestHub<S>, a: &Args) {
    let pki = &hub.pki;
    let bare = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare_addr = bare.local_addr().unwrap();
    let tls = tonic::transport::ServerTlsConfig::new()
        .identity(tonic::transport::Identity::from_pem(
            std::fs::read_to_string(&pki.files.cert).unwrap(),
            std::fs::read_to_string(&pki.files.key).unwrap(),
        ))
        .client_ca_root(tonic::transport::Certificate::from_pem(pki.ca.cert_pem()));
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(
        tonic::transport::Server::builder()
            .tls_config(tls)
            .unwrap()
            .add_service(health)
            // TCP_NODELAY as the hub sets it: without it the floor pays Nagle's delays.
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(bare).map(
                |conn| {
                    conn.and_then(|c| {
                        c.set_nodelay(true)?;
                        Ok(c)
                    })
                },
            )),
    );
    let operator = pki.client(&staff(StaffRole::Operator));
    let bare_channel = hotline_tests::tls_channel(bare_addr, pki.ca.cert_pem(), Some(&operator))
        .await
        .unwrap();
    let hub_channel = hub.channel_as(&staff(StaffRole::Operator)).await;
    let check = |channel: Channel| {
        move |_c: usize, _n: u64| {
            let mut client = HealthClient::new(channel.clone());
            async move {
                client
                    .check(tonic_health::pb::HealthCheckRequest::default())
                    .await
                    .expect("health");
            }
        }
    };
    // The bare server is measured before and after the hub and averaged, so that a machine that
    // speeds up or slows down during the run does not favour either.
    let (before, floor_p50, _) = drive(16, a.seconds, check(bare_channel.clone())).await;
    let (through, p50, _) = drive(16, a.seconds, check(hub_channel.clone())).await;
    let (after, _, _) = drive(16, a.seconds, check(bare_channel)).await;
    let floor = (before + after) / 2.0;
    println!(
        "Health/Check through every layer: {through:>7.0}/s p50 {} | bare tonic over the same mTLS {floor:>7.0}/s p50 {} | {:>4.0}% (target ≥ 90%)",
        ms(p50),
        ms(floor_p50),
        100.0 * through / floor
    );
    let number =
        hotline_tests::register_water(&mut AppealRegistryClient::new(hub_channel.clone())).await;
    let (get, p50, _) = drive(16, a.seconds, move |_c, _n| {
        let mut client = AppealRegistryClient::new(hub_channel.clone());
        let number = number.clone();
        async move {
            client
                .get_appeal(pb::GetAppealRequest { number })
                .await
                .expect("an appeal");
        }
    })
    .await;
    println!(
        "GetAppeal (audited read, history): {get:>7.0}/s p50 {} | {:>4.0}% of bare health (target ≥ 60%)",
        ms(p50),
        100.0 * get / floor
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    hotline_tests::install_crypto();
    let raw: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    if let [flag, cert, key, ca] = raw.as_slice()
        && flag.as_os_str() == bare::FLAG
    {
        return bare::serve(cert, key, ca).await;
    }
    let a = args();
    println!(
        "hub-bench: {} s per figure{} — reproduce: cargo run --release -p hotline-tests --bin hub-bench -- --seconds {}{}",
        a.seconds,
        if a.quick {
            " (quick form: figures are not meaningful)"
        } else {
            ""
        },
        a.seconds,
        a.postgres
            .as_ref()
            .map(|u| format!(" --postgres {u}"))
            .unwrap_or_default()
    );
    if !a.no_sqlite {
        let (store, db) = hotline_tests::sqlite_store().await;
        let sqlite = hub(store, db).await;
        if a.wants("registration") {
            registration(&sqlite, "SQLite", &a).await;
        }
        if a.wants("fan-out") {
            fan_out(&sqlite, &a).await;
        }
        if a.wants("layers") {
            layers(&sqlite, &a).await;
        }
        sqlite.stop().await;
    }
    if a.wants("storm") {
        storm::storm(a.storm, a.rate, a.postgres.as_deref()).await;
    }
    if let Some(url) = &a.postgres {
        let db = TestDb::postgres_at(url).await;
        let store = hotline_hub::store::PgStore::open(&db.url())
            .await
            .expect("postgres");
        let pg = hub(store, db).await;
        if a.wants("registration") {
            registration(&pg, "PostgreSQL", &a).await;
        }
        if a.wants("fan-out") {
            fan_out(&pg, &a).await;
        }
        if a.wants("layers") {
            layers(&pg, &a).await;
        }
        pg.stop().await;
    }
}
