//! The generated data set of `bench-reports`: appeals and their cases as SQL batches (multi-row
//! INSERTs valid on SQLite and PostgreSQL), skewed as hotline traffic is, produced a batch at a
//! time so that 20 million appeals never sit in memory as text.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use hotline_hub::domain::deadline::{kyiv_date, kyiv_midnight};
use hotline_hub::starter::DirectoryFile;

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
pub struct Generator<'d> {
    rng: Rng,
    /// Appeals in the whole data set (arrival times are spread over all of them).
    n: usize,
    /// This generator's appeals: indexes `next..stop`.
    pub next: usize,
    pub stop: usize,
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
    pub fn halves(
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
    pub fn next_batch(&mut self) -> Option<Vec<String>> {
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
