//! Benchmark: the daily report and the authorities' ratings over a realistic data set, through a real
//! hub over mutual TLS, on SQLite and on PostgreSQL.
//!
//! The generator makes N appeals (default 1,000,000) over two years for the 120 authorities, the
//! classifier's subjects and the districts of the starter directory, skewed as hotline traffic is: a
//! few categories, districts and authorities take most of it; winter brings heating complaints;
//! weekends are quiet. Each figure is the median of several runs, printed next to a floor measured in
//! the same run on the same database (an indexed count of one day's appeals), since absolute times
//! drift between machines.
//!
//! Reproduce: `cargo run --release -p hotline-tests --bin bench-reports -- --appeals 1000000
//! [--postgres postgres://postgres@127.0.0.1:5432/postgres]`

use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use hotline_hub::app::Hotline;
use hotline_hub::domain::Caller;
use hotline_hub::domain::deadline::{kyiv_date, kyiv_midnight};
use hotline_hub::principal::StaffRole;
use hotline_hub::starter::{self, DirectoryFile};
use hotline_hub::store::{PgStore, SqliteStore, Store};
use hotline_proto::v1 as pb;
use hotline_proto::v1::reports_client::ReportsClient;
use hotline_tests::{TestDb, TestHub, TestPki, staff};

/// A small, fast, reproducible random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// An index in 0..n, skewed like Zipf (s ≈ 1): index 0 is the most frequent.
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (((n as f64 + 1.0).powf(u) - 1.0) as usize).min(n - 1)
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A timestamp literal in exactly the text form sqlx writes for SQLite (which PostgreSQL reads too),
/// so that SQLite's text comparisons order generated and written rows alike.
fn ts(t: DateTime<Utc>) -> String {
    quote(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
}

/// Generates the data set as SQL batches (multi-row INSERTs, valid on both databases).
fn generate(
    n: usize,
    end: NaiveDate,
    directory: &DirectoryFile,
    boolean: fn(bool) -> &'static str,
) -> Vec<String> {
    let mut rng = Rng(0x5eed_1545);
    let subjects: Vec<&str> = directory
        .categories
        .iter()
        .filter(|c| !c.parent.is_empty())
        .map(|c| c.code.as_str())
        .collect();
    let districts: Vec<&str> = directory
        .districts
        .iter()
        .filter(|d| d.kind == "district")
        .map(|d| d.code.as_str())
        .collect();
    let authorities: Vec<&str> = directory
        .authorities
        .iter()
        .map(|a| a.code.as_str())
        .collect();
    let channels = [
        "phone",
        "phone",
        "phone",
        "web",
        "email",
        "national_centre",
        "post",
    ];
    let start = kyiv_midnight(end - Days::new(730));
    let span = (kyiv_midnight(end) - start).num_seconds() as u64;
    let now = kyiv_midnight(end);
    let mut batches = Vec::new();
    let (mut appeals, mut cases) = (Vec::new(), Vec::new());
    let mut case_id = 0i64;
    let flush = |rows: &mut Vec<String>, head: &str, batches: &mut Vec<String>| {
        if !rows.is_empty() {
            batches.push(format!("{head} VALUES {}", rows.join(",")));
            rows.clear();
        }
    };
    for i in 0..n {
        let id = i as i64 + 1;
        // Later appeals are more frequent (growth), weekends are quiet.
        let mut received = start
            + chrono::Duration::seconds(
                ((rng.below(span) as f64).sqrt() * (span as f64).sqrt()) as i64,
            );
        if matches!(
            received.date_naive().weekday(),
            chrono::Weekday::Sat | chrono::Weekday::Sun
        ) && rng.chance(60)
        {
            received -= chrono::Duration::days(2);
        }
        let winter = matches!(received.date_naive().month(), 11 | 12 | 1 | 2 | 3);
        let category = if winter && rng.chance(20) {
            "07.02"
        } else {
            subjects[rng.skewed(subjects.len())]
        };
        let district = districts[rng.skewed(districts.len())];
        let kind = ["complaint", "application", "application", "proposal"][rng.below(4) as usize];
        let age = (now - received).num_days();
        let (status, closed_at) = match (age, rng.below(100)) {
            (a, _) if a < 5 => (
                ["registered", "assigned", "in_progress"][rng.below(3) as usize],
                None,
            ),
            (a, r) if a < 30 && r < 40 => (
                [
                    "in_progress",
                    "answered",
                    "awaiting_confirmation",
                    "returned",
                ][rng.below(4) as usize],
                None,
            ),
            (_, r) if r < 4 => (
                "not_considered",
                Some(received + chrono::Duration::hours(2)),
            ),
            (_, r) if r < 12 => (
                "closed_unconfirmed",
                Some(received + chrono::Duration::days(10 + rng.below(30) as i64)),
            ),
            _ => (
                "closed",
                Some(received + chrono::Duration::days(3 + rng.below(35) as i64)),
            ),
        };
        let term = if category.ends_with("01") { 15 } else { 30 };
        let deadline = kyiv_date(received) + Days::new(term);
        let repeat_of = if i > 1000 && rng.chance(5) {
            (id - 1 - rng.below(1000) as i64).to_string()
        } else {
            "NULL".into()
        };
        appeals.push(format!(
            "({id},'DP-{}-{:07}',{},'{}','{kind}','Громадянин {id}','+38050{:07}','',{},1,{},'{district}',NULL,'{category}','Текст звернення {id}',{},NULL,{},{repeat_of},'{status}','','{deadline}',0,{},{})",
            received.format("%Y"),
            id,
            ts(received),
            channels[rng.below(channels.len() as u64) as usize],
            id % 10_000_000,
            boolean(false),
            boolean(rng.chance(8)),
            boolean(rng.chance(3)),
            boolean(term == 30),
            ts(closed_at.unwrap_or(received)),
            closed_at.map_or("NULL".into(), ts),
        ));
        let n_cases = if rng.chance(20) { 2 } else { 1 };
        for _ in 0..n_cases {
            if status == "registered" || status == "not_considered" {
                break;
            }
            case_id += 1;
            let authority = authorities[rng.skewed(authorities.len())];
            let assigned = received + chrono::Duration::hours(1 + rng.below(48) as i64);
            let open = matches!(status, "assigned" | "in_progress");
            let answered =
                (!open).then(|| assigned + chrono::Duration::hours(24 + rng.below(24 * 40) as i64));
            let late = answered.map(|a| kyiv_date(a) > deadline);
            let case_status = match status {
                "closed" | "closed_unconfirmed" => "closed",
                "assigned" => "assigned",
                "in_progress" => "in_progress",
                "answered" => "resolved",
                "awaiting_confirmation" => "verified",
                _ => "returned",
            };
            let returned = u64::from(rng.chance(10));
            cases.push(format!(
                "({case_id},{id},'{authority}','{case_status}','{deadline}','','','',NULL,{},{},'',{},{},{returned})",
                ts(assigned),
                ts(answered.unwrap_or(assigned)),
                answered.map_or("NULL".into(), ts),
                late.map_or("NULL", boolean),
            ));
        }
        if appeals.len() == 2000 {
            flush(&mut appeals, APPEALS, &mut batches);
            flush(&mut cases, CASES, &mut batches);
        }
    }
    flush(&mut appeals, APPEALS, &mut batches);
    flush(&mut cases, CASES, &mut batches);
    batches
}

const APPEALS: &str = "INSERT INTO appeals (id, number, received_at, channel, kind, citizen_name, citizen_phone, \
    citizen_address, anonymous, signatories, benefit_holder, district_code, settlement_code, category_code, text, urgent, \
    complained_authority_code, needs_study, repeat_of, status, status_reason, deadline, callback_attempts, updated_at, closed_at)";
const CASES: &str = "INSERT INTO cases (id, appeal_id, authority_code, status, deadline, extension_reason, reason, answer, \
    declined_at, assigned_at, updated_at, measures, answered_at, answered_late, returned_count)";

/// Median of `runs` timings of `f`.
async fn median<F, Fut>(runs: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f().await;
        times.push(start.elapsed());
    }
    times.sort();
    times[runs / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn bench<S: Store>(
    name: &str,
    hub: TestHub<S>,
    n: usize,
    load: impl AsyncFnOnce(&[String]) -> (),
    floor_sql: impl AsyncFn(DateTime<Utc>, DateTime<Utc>) -> i64,
) {
    let directory = DirectoryFile::starter();
    starter::load(&hub.hotline, &directory, &Caller::system("benchmark"))
        .await
        .expect("directory");
    let end = kyiv_date(Utc::now());
    let boolean: fn(bool) -> &'static str = if name == "PostgreSQL" {
        |b| if b { "TRUE" } else { "FALSE" }
    } else {
        |b| if b { "1" } else { "0" }
    };
    eprintln!("{name}: generating {n} appeals…");
    let started = Instant::now();
    let batches = generate(n, end, &directory, boolean);
    load(&batches).await;
    let load_time = started.elapsed();
    let mut reports = ReportsClient::new(hub.channel_as(&staff(StaffRole::Supervisor)).await);
    let day = end - Days::new(1);
    let (day_start, day_end) = (kyiv_midnight(day), kyiv_midnight(day + Days::new(1)));
    let floor_count = floor_sql(day_start, day_end).await;
    let floor = median(7, || async {
        assert_eq!(floor_sql(day_start, day_end).await, floor_count)
    })
    .await;
    let daily_request = pb::PeriodRequest {
        from: day.to_string(),
        to: day.to_string(),
    };
    let daily = reports
        .daily_report(daily_request.clone())
        .await
        .expect("daily")
        .into_inner();
    assert_eq!(
        daily.received, floor_count,
        "the report counts what the floor query counts"
    );
    let daily_time = median(7, || {
        let mut r = reports.clone();
        let q = daily_request.clone();
        async move {
            r.daily_report(q).await.expect("daily");
        }
    })
    .await;
    let month = pb::PeriodRequest {
        from: (end - Days::new(30)).to_string(),
        to: end.to_string(),
    };
    let ratings = reports
        .authority_ratings(month.clone())
        .await
        .expect("ratings")
        .into_inner();
    let ratings_time = median(7, || {
        let mut r = reports.clone();
        let q = month.clone();
        async move {
            r.authority_ratings(q).await.expect("ratings");
        }
    })
    .await;
    let trends_time = median(5, || {
        let mut r = reports.clone();
        async move {
            r.trends(pb::TrendsRequest::default())
                .await
                .expect("trends");
        }
    })
    .await;
    println!(
        "{name:<10} {n} appeals loaded in {:.0} s | floor (indexed count of one day, {floor_count} appeals): {} | \
         daily report: {} | authorities' ratings, 30 days ({} authorities): {} | trends, 5 weeks: {}",
        load_time.as_secs_f64(),
        ms(floor),
        ms(daily_time),
        ratings.ratings.len(),
        ms(ratings_time),
        ms(trends_time),
    );
    hub.stop().await;
}

/// Runs [`bench`] with loading and the floor query on `$pool` (the two pool types share no trait
/// that would let a function take either).
macro_rules! bench_on {
    ($name:expr, $hub:expr, $n:expr, $pool:expr) => {{
        let pool = $pool;
        bench(
            $name,
            $hub,
            $n,
            async |batches: &[String]| {
                let mut tx = pool.begin().await.expect("begin");
                for b in batches {
                    sqlx::query(sqlx::AssertSqlSafe(b.clone()))
                        .execute(&mut *tx)
                        .await
                        .expect("insert");
                }
                tx.commit().await.expect("commit");
                sqlx::query("ANALYZE")
                    .execute(&pool)
                    .await
                    .expect("analyze");
            },
            async |from, to| {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM appeals WHERE received_at >= $1 AND received_at < $2",
                )
                .bind(from)
                .bind(to)
                .fetch_one(&pool)
                .await
                .expect("floor")
            },
        )
        .await
    }};
}

#[tokio::main]
async fn main() {
    hotline_tests::install_crypto();
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let n: usize = arg("--appeals").map_or(1_000_000, |v| v.parse().expect("--appeals N"));
    println!(
        "Reproduce: cargo run --release -p hotline-tests --bin bench-reports -- --appeals {n} [--postgres URL]"
    );
    println!(
        "Machine: {} cores; times are medians of 5-7 runs through a hub over mutual TLS.",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let db = TestDb::sqlite();
    let store = SqliteStore::open(&db.url()).await.expect("sqlite");
    let pool = store.pool().clone();
    let hub = TestHub::serve(store.clone(), Hotline::new(store), db, TestPki::new()).await;
    bench_on!("SQLite", hub, n, pool);

    if let Some(url) = arg("--postgres") {
        let db = TestDb::postgres_at(&url).await;
        let store = PgStore::open(&db.url()).await.expect("postgres");
        let pool = store.pool().clone();
        let hub = TestHub::serve(store.clone(), Hotline::new(store), db, TestPki::new()).await;
        bench_on!("PostgreSQL", hub, n, pool);
    }
}
