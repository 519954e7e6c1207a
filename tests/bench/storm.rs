//! Memory per idle agency stream and the reconnect storm, against the real `hub` binary in a
//! process of its own (this process is only the load, so the hub's memory is its own):
//!
//! 1. `streams` agencies, each with its own certificate, connect over mutual TLS (the handshake
//!    rate is measured here) and open their case streams; the hub's resident memory grows by the
//!    figure per stream; after they leave it should come back within 1% of where it started.
//! 2. They connect again; appeals are assigned across all of them at a steady rate (fan-out:
//!    commit → arrival); then more to some of them and the hub is killed with SIGKILL
//!    and started again on the same address. Every agency reconnects (backing off up to a second,
//!    as agency clients do) and resumes from the cursor it last saw: the time until all have
//!    resumed is compared with what the handshake rate allows, and every assignment must arrive
//!    exactly once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hotline_hub::pki::Issued;
use hotline_hub::principal::{Principal, StaffRole};
use hotline_proto::v1 as pb;
use hotline_proto::v1::agency_gateway_client::AgencyGatewayClient;
use hotline_proto::v1::appeal_registry_client::AppealRegistryClient;
use hotline_tests::process::{HubProcess, authority, load_directory};
use hotline_tests::{TestDb, TestPki, assign_to, register_water, staff, tls_channel};

use super::bare::BareServer;
use tokio::task::JoinSet;

/// Handshakes in flight at once while connecting.
const CONNECTING: usize = 64;

/// What the agencies saw: (agency, appeal) → how many times its assignment arrived, and when first.
type Arrivals = Arc<Mutex<HashMap<(usize, String), (usize, Instant)>>>;

/// Runs the parts with `streams` agencies over SQLite, or PostgreSQL at `postgres`; the fan-out
/// assigns at `rate` per second.
pub async fn storm(streams: usize, rate: u64, postgres: Option<&str>) {
    let db = match postgres {
        Some(url) => TestDb::postgres_at(url).await,
        None => TestDb::sqlite(),
    };
    let url = db.url();
    load_directory(&url, streams).await;
    let pki = Arc::new(TestPki::new());
    let dir = std::env::temp_dir().join(format!("hub-bench-storm-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("data dir");
    // The staff side assigns faster than a client's default rate allows; heartbeats as `hub serve`
    // sends them by default (the tests' one a second is 10,000 messages a second at 10,000 streams).
    let settings = [
        "--rate-per-second",
        "1000000",
        "--rate-burst",
        "1000000",
        "--heartbeat-secs",
        "15",
    ];
    let mut hub = HubProcess::start_with(&url, &pki, &dir, &settings).await;
    let identities: Arc<Vec<Issued>> = Arc::new(
        (0..streams)
            .map(|i| {
                pki.client(&Principal::Agency {
                    authority: authority(i),
                })
            })
            .collect(),
    );
    let baseline = settled_rss(&hub).await;

    // 1. Memory.
    let arrivals: Arrivals = Arc::default();
    let resumed = Arc::new(AtomicUsize::new(0));
    let (mut agencies, handshakes) =
        connect_all(&hub, &pki, &identities, &arrivals, &resumed).await;
    let connected = settled_rss(&hub).await;
    agencies.abort_all();
    drop(agencies);
    let after = returned(|| hub.rss_kib().unwrap_or_default(), baseline).await;
    let per_stream = connected.saturating_sub(baseline) / streams.max(1) as u64;
    println!(
        "Memory, {streams} idle mTLS agency streams, hub in its own process: {per_stream} KiB per stream (target ≤ 64 KiB) | after they leave: {:+.1}% of the baseline {} MiB (target within 1%) | handshakes {handshakes:.0}/s",
        100.0 * (after as f64 - baseline as f64) / baseline.max(1) as f64,
        baseline / 1024
    );
    memory_floor(&pki, &identities, per_stream).await;

    // 2. Fan-out over every stream, then the reconnect storm.
    let (mut agencies, handshakes) =
        connect_all(&hub, &pki, &identities, &arrivals, &resumed).await;
    // Memory that did not come back is either kept by the hub or kept by the allocator for reuse:
    // the same streams again tell which.
    let again = settled_rss(&hub).await;
    println!(
        "Memory, the same {streams} streams connected again: {} MiB (the first time: {} MiB, before any: {} MiB)",
        again / 1024,
        connected / 1024,
        baseline / 1024
    );
    fan_out(&hub, &pki, streams, rate, &arrivals).await;
    let assigned = assign(&hub, &pki, streams.min(200)).await;
    resumed.store(0, Ordering::SeqCst);
    let killed = Instant::now();
    hub.restart(&pki).await;
    let serving = killed.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    while resumed.load(Ordering::SeqCst) < streams && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_back = killed.elapsed();
    let back = resumed.load(Ordering::SeqCst);
    let arrived_by = Instant::now() + Duration::from_secs(30);
    let missing = || {
        let seen = arrivals.lock().unwrap();
        assigned.iter().any(|k| !seen.contains_key(k))
    };
    while missing() && Instant::now() < arrived_by {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = arrivals.lock().unwrap().clone();
    let lost = assigned.iter().filter(|k| !seen.contains_key(k)).count();
    let doubled = seen.values().filter(|(n, _)| *n > 1).count();
    let allowed = Duration::from_secs_f64(streams as f64 / handshakes);
    println!(
        "Reconnect storm, {streams} agencies, hub killed (SIGKILL) and restarted: {back} of {streams} resumed {:.1} s after the kill, {:.1} s after it served again | the handshake rate allows {:.1} s (target ≤ 1.5×: {:.1} s) | {} assignments: {lost} lost, {doubled} doubled",
        all_back.as_secs_f64(),
        all_back.saturating_sub(serving).as_secs_f64(),
        allowed.as_secs_f64(),
        1.5 * allowed.as_secs_f64(),
        assigned.len()
    );
    assert!(
        lost == 0 && doubled == 0,
        "the reconnect storm lost {lost} and doubled {doubled} assignments"
    );
    agencies.abort_all();
    hub.kill9();
    db.drop_db().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same streams on a bare tonic server (`bare.rs`): its memory per stream and after they leave,
/// and the hub's figure as a ratio of it.
async fn memory_floor(pki: &Arc<TestPki>, identities: &Arc<Vec<Issued>>, hub_per_stream: u64) {
    let streams = identities.len();
    let bare = BareServer::start(pki);
    let rss = || bare.rss_kib().unwrap_or_default();
    let baseline = settled(rss).await;
    let mut watchers = bare.watch_all(pki, identities, CONNECTING).await;
    let connected = settled(rss).await;
    watchers.abort_all();
    drop(watchers);
    let after = returned(rss, baseline).await;
    let per_stream = connected.saturating_sub(baseline) / streams.max(1) as u64;
    println!(
        "Memory floor, {streams} idle mTLS Health/Watch streams on a bare tonic server in its own process: {per_stream} KiB per stream | after they leave: {:+.1}% of its baseline {} MiB | the hub: {:.0}% of the floor per stream",
        100.0 * (after as f64 - baseline as f64) / baseline.max(1) as f64,
        baseline / 1024,
        100.0 * hub_per_stream as f64 / per_stream.max(1) as f64
    );
}

/// The hub's memory once it has stopped moving (two readings 300 ms apart within 1%).
async fn settled_rss(hub: &HubProcess) -> u64 {
    settled(|| hub.rss_kib().unwrap_or_default()).await
}

/// A process's memory after streams left: once settled, given up to 20 s more to come back within
/// 1% of `baseline` (an allocator may return memory late).
async fn returned(rss: impl Fn() -> u64, baseline: u64) -> u64 {
    let back_by = Instant::now() + Duration::from_secs(20);
    let mut after = settled(&rss).await;
    while after > baseline + baseline / 100 && Instant::now() < back_by {
        tokio::time::sleep(Duration::from_millis(500)).await;
        after = rss();
    }
    after
}

/// A process's memory (`rss`, KiB) once it has stopped moving: two readings 300 ms apart within
/// 1%, or the last of 20.
async fn settled(rss: impl Fn() -> u64) -> u64 {
    let mut last = rss();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = rss();
        if now.abs_diff(last) <= last / 100 {
            return now;
        }
        last = now;
    }
    last
}

/// Connects every agency and opens its stream; returns the agencies' tasks and the handshakes per
/// second it took.
async fn connect_all(
    hub: &HubProcess,
    pki: &Arc<TestPki>,
    identities: &Arc<Vec<Issued>>,
    arrivals: &Arrivals,
    resumed: &Arc<AtomicUsize>,
) -> (JoinSet<()>, f64) {
    let started = Instant::now();
    let (opened, mut opened_rx) = tokio::sync::mpsc::channel::<()>(identities.len().max(1));
    let gate = Arc::new(tokio::sync::Semaphore::new(CONNECTING));
    let mut agencies = JoinSet::new();
    for i in 0..identities.len() {
        let agency = Agency {
            index: i,
            addr: hub.addr,
            pki: pki.clone(),
            identities: identities.clone(),
            arrivals: arrivals.clone(),
            resumed: resumed.clone(),
        };
        let (gate, opened) = (gate.clone(), opened.clone());
        agencies.spawn(async move { agency.run(gate, opened).await });
    }
    for _ in 0..identities.len() {
        opened_rx.recv().await;
    }
    let rate = identities.len() as f64 / started.elapsed().as_secs_f64();
    (agencies, rate)
}

/// One agency: its stream, followed until the task ends, resumed from its cursor after a break.
struct Agency {
    index: usize,
    addr: SocketAddr,
    pki: Arc<TestPki>,
    identities: Arc<Vec<Issued>>,
    arrivals: Arrivals,
    resumed: Arc<AtomicUsize>,
}

impl Agency {
    async fn run(self, gate: Arc<tokio::sync::Semaphore>, opened: tokio::sync::mpsc::Sender<()>) {
        let mut cursor = String::new();
        let mut first = true;
        let mut backoff = Duration::from_millis(100);
        loop {
            let stream = {
                let _turn = gate.acquire().await;
                self.open(&cursor).await
            };
            let Some(mut stream) = stream else {
                // Jittered, as a fleet of real clients would be, so that they do not return as one.
                let jitter = Duration::from_millis(rand_ms(self.index, backoff));
                tokio::time::sleep(jitter).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            };
            backoff = Duration::from_millis(100);
            if first {
                first = false;
                let _ = opened.send(()).await;
            } else {
                self.resumed.fetch_add(1, Ordering::SeqCst);
            }
            while let Ok(Some(delivery)) = stream.message().await {
                let Some(event) = delivery.event else {
                    continue;
                };
                if event.kind == "case.assigned" {
                    self.arrivals
                        .lock()
                        .unwrap()
                        .entry((self.index, event.appeal_number.clone()))
                        .or_insert((0, Instant::now()))
                        .0 += 1;
                }
                cursor = event.cursor;
            }
        }
    }

    async fn open(&self, cursor: &str) -> Option<tonic::Streaming<pb::CaseDelivery>> {
        let channel = tls_channel(
            self.addr,
            self.pki.ca.cert_pem(),
            Some(&self.identities[self.index]),
        )
        .await
        .ok()?;
        AgencyGatewayClient::new(channel)
            .stream_cases(pb::StreamCasesRequest {
                cursor: cursor.to_string(),
            })
            .await
            .ok()
            .map(tonic::Response::into_inner)
    }
}

/// A pseudo-random wait below `ceiling`, different per agency and per attempt.
fn rand_ms(index: usize, ceiling: Duration) -> u64 {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let nanos = u64::from(clock) ^ (index as u64).wrapping_mul(2_654_435_761);
    nanos % ceiling.as_millis().max(1) as u64
}

/// A staff member's client of the hub.
async fn registry(
    hub: &HubProcess,
    pki: &TestPki,
    role: StaffRole,
) -> AppealRegistryClient<tonic::transport::Channel> {
    let issued = pki.client(&staff(role));
    let channel = tls_channel(hub.addr, pki.ca.cert_pem(), Some(&issued))
        .await
        .expect("staff channel");
    AppealRegistryClient::new(channel)
}

/// Assigns `number` to agency `i`; returns when the hub answered (the assignment is committed).
async fn assign_one(
    analyst: &mut AppealRegistryClient<tonic::transport::Channel>,
    i: usize,
    number: String,
) -> Instant {
    analyst
        .assign_appeal(assign_to(&number, &authority(i)))
        .await
        .expect("assigned");
    Instant::now()
}

/// Registers `count` appeals (numbers in order).
async fn register(hub: &HubProcess, pki: &TestPki, count: usize) -> Vec<String> {
    let mut operator = registry(hub, pki, StaffRole::Operator).await;
    let mut numbers = Vec::with_capacity(count);
    for _ in 0..count {
        numbers.push(register_water(&mut operator).await);
    }
    numbers
}

/// Fan-out across every stream: five seconds of assignments at `rate` per second, spread over the
/// agencies; commit (the hub's answer) → arrival on the agency's stream.
async fn fan_out(hub: &HubProcess, pki: &TestPki, streams: usize, rate: u64, arrivals: &Arrivals) {
    let count = usize::try_from(rate * 5)
        .unwrap_or(usize::MAX)
        .clamp(1, streams);
    let numbers = register(hub, pki, count).await;
    let analyst = registry(hub, pki, StaffRole::Analyst).await;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    let mut calls = JoinSet::new();
    for (n, number) in numbers.into_iter().enumerate() {
        tick.tick().await;
        let mut analyst = analyst.clone();
        // Spread over all agencies, so that every stream is a candidate.
        let i = n * streams / count;
        calls.spawn(async move {
            let answered = assign_one(&mut analyst, i, number.clone()).await;
            ((i, number), answered)
        });
    }
    let mut answered = Vec::with_capacity(count);
    while let Some(done) = calls.join_next().await {
        answered.push(done.expect("an assignment"));
    }
    let by = Instant::now() + Duration::from_secs(30);
    let arrived = |key: &(usize, String)| arrivals.lock().unwrap().get(key).map(|(_, at)| *at);
    while answered.iter().any(|(key, _)| arrived(key).is_none()) && Instant::now() < by {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let latencies: Vec<Duration> = answered
        .iter()
        .filter_map(|(key, at)| arrived(key).map(|got| got.saturating_duration_since(*at)))
        .collect();
    let got = latencies.len();
    println!(
        "Fan-out, {streams} streams (hub in its own process), {rate}/s assigned: commit → arrival {} ({got} of {count} arrivals) | target p99 < 20 ms at 1,000 streams, < 100 ms at 10,000",
        super::spread(latencies)
    );
}

/// Registers `count` appeals and assigns the `i`-th to the `i`-th agency at once; returns
/// (agency, appeal).
async fn assign(hub: &HubProcess, pki: &TestPki, count: usize) -> Vec<(usize, String)> {
    let numbers = register(hub, pki, count).await;
    let mut analyst = registry(hub, pki, StaffRole::Analyst).await;
    let mut assigned = Vec::with_capacity(count);
    for (i, number) in numbers.into_iter().enumerate() {
        assign_one(&mut analyst, i, number.clone()).await;
        assigned.push((i, number));
    }
    assigned
}
