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

use chrono::{DateTime, Days, Utc};
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

mod report_data;
use report_data::Generator;

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
