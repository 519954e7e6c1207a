//! Benchmark: the daily report and the authorities' ratings over a realistic data set, through a real
//! hub over mutual TLS, on SQLite and on PostgreSQL.
//!
//! The generator makes N appeals (default 1,000,000) over `--years` (default 2) for the 120 authorities, the
//! classifier's subjects and the districts of the starter directory, skewed as hotline traffic is: a
//! few categories, districts and authorities take most of it; winter brings heating complaints;
//! weekends are quiet. Each figure is the median of several runs, printed next to a floor measured in
//! the same run on the same database (an indexed count of one day's appeals), since absolute times
//! drift between machines.
//!
//! Reproduce: `cargo run --release -p hotline-tests --bin bench-reports -- --appeals 1000000
//! [--postgres postgres://postgres@127.0.0.1:5432/postgres]`; the national centre's volume since 2012:
//! `--appeals 20000000 --years 14 --no-sqlite --postgres …`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use hotline_hub::api::ApiSettings;
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

/// Generates the data set as SQL batches (multi-row INSERTs, valid on both databases), one batch of
/// appeals and their cases at a time, so that 20 million appeals never sit in memory as text.
struct Generator<'d> {
    rng: Rng,
    /// Appeals in the whole data set (arrival times are spread over all of them).
    n: usize,
    /// This generator's appeals: indexes `next..stop`.
    next: usize,
    stop: usize,
    subjects: Vec<&'d str>,
    districts: Vec<&'d str>,
    authorities: Vec<&'d str>,
    start: DateTime<Utc>,
    span: u64,
    now: DateTime<Utc>,
    boolean: fn(bool) -> &'static str,
}

/// Appeals per batch (each batch is one INSERT of appeals and one of their cases).
const BATCH: usize = 2000;

impl<'d> Generator<'d> {
    /// Two generators, for the first and the second half of the appeals, so that two connections
    /// load in parallel (a loading connection keeps one core busy).
    fn halves(
        n: usize,
        end: NaiveDate,
        days: u64,
        directory: &'d DirectoryFile,
        boolean: fn(bool) -> &'static str,
    ) -> [Self; 2] {
        let half = n / 2;
        [
            Self::new(n, 0..half, end, days, directory, boolean),
            Self::new(n, half..n, end, days, directory, boolean),
        ]
    }

    fn new(
        n: usize,
        part: std::ops::Range<usize>,
        end: NaiveDate,
        days: u64,
        directory: &'d DirectoryFile,
        boolean: fn(bool) -> &'static str,
    ) -> Self {
        let start = kyiv_midnight(end - Days::new(days));
        Self {
            rng: Rng(0x5eed_1545 ^ part.start as u64),
            n,
            next: part.start,
            stop: part.end,
            subjects: directory
                .categories
                .iter()
                .filter(|c| !c.parent.is_empty())
                .map(|c| c.code.as_str())
                .collect(),
            districts: directory
                .districts
                .iter()
                .filter(|d| d.kind == "district")
                .map(|d| d.code.as_str())
                .collect(),
            authorities: directory
                .authorities
                .iter()
                .map(|a| a.code.as_str())
                .collect(),
            start,
            span: (kyiv_midnight(end) - start).num_seconds() as u64,
            now: kyiv_midnight(end),
            boolean,
        }
    }

    /// The next batch: the INSERT of up to [`BATCH`] appeals and the INSERT of their cases (if any).
    fn next_batch(&mut self) -> Option<Vec<String>> {
        if self.next >= self.stop {
            return None;
        }
        let channels = [
            "phone",
            "phone",
            "phone",
            "web",
            "email",
            "national_centre",
            "post",
        ];
        let (n, rng, start, span, now, boolean) = (
            self.n,
            &mut self.rng,
            self.start,
            self.span,
            self.now,
            self.boolean,
        );
        let (subjects, districts, authorities) =
            (&self.subjects, &self.districts, &self.authorities);
        let first = self.next;
        let (mut appeals, mut cases) = (Vec::new(), Vec::new());
        let range = self.next..(self.next + BATCH).min(self.stop);
        self.next = range.end;
        for i in range {
            let id = i as i64 + 1;
            // Later appeals are more frequent (growth: density grows linearly, so the i-th of n
            // arrives at span·√(i/n)), weekends are quiet. Ids follow arrival, as the hub numbers
            // them, which also keeps the time indexes appended to rather than rewritten at random.
            let position = (i as f64 + (rng.below(1000) as f64 / 1000.0)) / n as f64;
            let mut received =
                start + chrono::Duration::seconds((position.sqrt() * span as f64) as i64);
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
            let kind =
                ["complaint", "application", "application", "proposal"][rng.below(4) as usize];
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
            // A repeat points at an appeal of the same half (the other may not be loaded yet).
            let repeat_of = if i > first + 1000 && rng.chance(5) {
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
            for k in 0..n_cases {
                if status == "registered" || status == "not_considered" {
                    break;
                }
                // At most two cases per appeal: their ids follow from the appeal's.
                let case_id = id * 2 + k;
                let authority = authorities[rng.skewed(authorities.len())];
                let assigned = received + chrono::Duration::hours(1 + rng.below(48) as i64);
                let open = matches!(status, "assigned" | "in_progress");
                let answered = (!open)
                    .then(|| assigned + chrono::Duration::hours(24 + rng.below(24 * 40) as i64));
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
        }
        let mut batch = vec![format!("{APPEALS} VALUES {}", appeals.join(","))];
        if !cases.is_empty() {
            batch.push(format!("{CASES} VALUES {}", cases.join(",")));
        }
        Some(batch)
    }
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
    days: u64,
    load: impl AsyncFnOnce([Generator<'_>; 2]) -> (),
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
    eprintln!("{name}: generating and loading {n} appeals over {days} days…");
    let started = Instant::now();
    load(Generator::halves(n, end, days, &directory, boolean)).await;
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
    if keep() {
        let mut hub = hub;
        hub.shutdown().await;
        println!("{name}: database kept (--keep): {}", hub.db.url());
    } else {
        hub.stop().await;
    }
}

/// `--keep`: leave the generated database in place, to look at its query plans afterwards.
fn keep() -> bool {
    std::env::args().any(|a| a == "--keep")
}

/// A hub serving as in production (gauges every 15 s, not the tests' every half second, whose
/// queries would run between the timed reports).
async fn serve<S: Store>(store: S, db: TestDb) -> TestHub<S> {
    TestHub::serve_with_ops(
        store.clone(),
        Hotline::new(store),
        db,
        TestPki::new(),
        ApiSettings::new(4 * 1024 * 1024),
        hotline_hub::api::Ops::default(),
    )
    .await
}

/// Runs [`bench`] with loading and the floor query on `$pool` (the two pool types share no trait
/// that would let a function take either).
macro_rules! bench_on {
    ($name:expr, $hub:expr, $n:expr, $days:expr, $pool:expr, $indexes:expr, $analyze:expr) => {{
        let pool = $pool;
        bench(
            $name,
            $hub,
            $n,
            $days,
            async |halves: [Generator<'_>; 2]| {
                // The secondary indexes are built once after the load, as a restore would, rather
                // than kept up row by row (which took 85 s per million appeals on PostgreSQL).
                let indexes: Vec<(String, String)> = sqlx::query_as($indexes)
                    .fetch_all(&pool)
                    .await
                    .expect("indexes");
                for (name, _) in &indexes {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {name}")))
                        .execute(&pool)
                        .await
                        .expect("drop index");
                }
                // One transaction per 100,000 appeals: a single one over 20 million rows would
                // hold its whole undo in the database.
                let load_half = async |mut generator: Generator<'_>| {
                    while generator.next < generator.stop {
                        let mut tx = pool.begin().await.expect("begin");
                        for _ in 0..50 {
                            let Some(batch) = generator.next_batch() else {
                                break;
                            };
                            for statement in batch {
                                sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                                    .execute(&mut *tx)
                                    .await
                                    .expect("insert");
                            }
                        }
                        tx.commit().await.expect("commit");
                        if generator.next % 1_000_000 == 0 {
                            eprintln!("  appeal {} loaded", generator.next);
                        }
                    }
                };
                let [first, second] = halves;
                tokio::join!(load_half(first), load_half(second));
                let started = Instant::now();
                let built = indexes.len();
                for (_, definition) in indexes {
                    sqlx::query(sqlx::AssertSqlSafe(definition))
                        .execute(&pool)
                        .await
                        .expect("create index");
                }
                sqlx::query($analyze).execute(&pool).await.expect("analyze");
                eprintln!(
                    "  {built} indexes built and statistics taken in {:.0} s",
                    started.elapsed().as_secs_f64()
                );
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
    let years: u64 = arg("--years").map_or(2, |v| v.parse().expect("--years N"));
    let sqlite = !args.iter().any(|a| a == "--no-sqlite");
    println!(
        "Reproduce: cargo run --release -p hotline-tests --bin bench-reports -- --appeals {n} --years {years}{} [--postgres URL]",
        if sqlite { "" } else { " --no-sqlite" }
    );
    println!(
        "Machine: {} cores; times are medians of 5-7 runs through a hub over mutual TLS.",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let days = years * 365;
    if sqlite {
        let db = TestDb::sqlite();
        let store = SqliteStore::open(&db.url()).await.expect("sqlite");
        let pool = store.pool().clone();
        let hub = serve(store, db).await;
        bench_on!(
            "SQLite",
            hub,
            n,
            days,
            pool,
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name IN ('appeals', 'cases')",
            "ANALYZE"
        );
    }

    if let Some(url) = arg("--postgres") {
        let db = TestDb::postgres_at(&url).await;
        let store = PgStore::open(&db.url()).await.expect("postgres");
        let pool = store.pool().clone();
        let hub = serve(store, db).await;
        // VACUUM as autovacuum would have long done on a live database: it marks the pages
        // all-visible, which index-only scans need.
        bench_on!(
            "PostgreSQL",
            hub,
            n,
            days,
            pool,
            "SELECT indexname::TEXT, indexdef FROM pg_indexes WHERE tablename IN ('appeals', 'cases') \
             AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            "VACUUM ANALYZE"
        );
    }
}
