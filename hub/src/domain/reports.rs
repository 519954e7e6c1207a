//! The arithmetic of the monitoring reports, kept pure so it is tested on its own: periods in Kyiv
//! dates, duration percentiles, percentages, the quarterly roll-up, and the Poisson test that tells a
//! pain point from a merely big number.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};

use super::DomainError;
use super::deadline::{kyiv_date, kyiv_midnight};

/// Longest period a report covers, in days (a little over a year, so a year fits whatever its length).
pub const MAX_PERIOD_DAYS: i64 = 400;
/// A cell needs at least this many appeals in the period to be a pain point.
pub const MIN_NOTABLE_COUNT: i64 = 5;
/// …and growth this unlikely under its baseline rate.
pub const NOTABLE_P: f64 = 0.01;

/// A period of Kyiv dates, both ends included, and the instants that bound it: [start, end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day (included).
    pub to: NaiveDate,
}

impl Period {
    /// A checked period; `from` defaults to `to`, `to` to `today`.
    pub fn new(
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Self, DomainError> {
        let to = to.unwrap_or(today);
        let from = from.unwrap_or(to);
        if from > to {
            return Err(DomainError::invalid(
                "from",
                format!("{from} is after `to` {to}"),
            ));
        }
        if (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(DomainError::invalid(
                "from",
                format!("a period is at most {MAX_PERIOD_DAYS} days"),
            ));
        }
        Ok(Self { from, to })
    }

    /// The first instant of the period.
    pub fn start(&self) -> DateTime<Utc> {
        kyiv_midnight(self.from)
    }

    /// The first instant after the period.
    pub fn end(&self) -> DateTime<Utc> {
        kyiv_midnight(self.to + Days::new(1))
    }

    /// Length in days.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

/// Appeals received in a period, counted by channel, kind, category and district.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedCount {
    /// Channel code.
    pub channel: String,
    /// Kind code.
    pub kind: String,
    /// Category code.
    pub category: String,
    /// District code.
    pub district: String,
    /// How many.
    pub count: i64,
}

/// Per-authority totals over the cases assigned in a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorityTotals {
    /// The authority.
    pub authority: String,
    /// Cases assigned (reassigned-away ones excluded).
    pub assigned: i64,
    /// Cases with a result.
    pub answered: i64,
    /// Cases whose first result came by the deadline.
    pub on_time: i64,
    /// Cases returned for rework at least once.
    pub returned: i64,
    /// Cases whose appeal ended after an answer (closed or closed unconfirmed).
    pub ended: i64,
    /// Of those, appeals the citizen confirmed.
    pub confirmed: i64,
    /// Cases of appeals that repeat an earlier one.
    pub repeats: i64,
    /// Sum of the satisfaction scores given on the call-backs of its cases' appeals.
    pub satisfaction_sum: i64,
    /// How many scores that sum holds.
    pub satisfaction_count: i64,
    /// Its accepted answers, by outcome: resolved, explained, refused, forwarded, not competent.
    pub outcomes: [i64; 5],
    /// Its cases of priority appeals.
    pub priority_assigned: i64,
    /// Of those, answered (accepted).
    pub priority_answered: i64,
    /// Of those, on time.
    pub priority_on_time: i64,
}

/// Who appealed and how urgently, over a period: the daily report's priority and incident lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DimensionTotals {
    /// Priority appeals received.
    pub priority: i64,
    /// Emergency appeals received.
    pub emergencies: i64,
    /// Appeals received that are attached to an incident.
    pub incident_appeals: i64,
    /// Incidents opened.
    pub incidents_opened: i64,
}

/// Appeals in one district × category × period bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellCount {
    /// District.
    pub district: String,
    /// Category.
    pub category: String,
    /// Index of the period (0 the oldest).
    pub bucket: i64,
    /// How many.
    pub count: i64,
}

/// Appeals received in a period of one category, kind and outcome (`None` while open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCount {
    /// Category.
    pub category: String,
    /// Kind of appeal.
    pub kind: String,
    /// How it ended, if it has.
    pub outcome: Option<String>,
    /// The sign.
    pub sign: String,
    /// Author categories (codes).
    pub author_categories: Vec<String>,
    /// More than one signatory.
    pub collective: bool,
    /// Anonymous.
    pub anonymous: bool,
    /// How many.
    pub count: i64,
}

/// One authority's rating over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    /// The authority.
    pub authority: String,
    /// Its totals (all zero when it only has overdue cases from earlier periods).
    pub totals: AuthorityTotals,
    /// Share of answers given by the deadline, in percent; `None` when nothing was answered.
    pub on_time_percent: Option<f64>,
    /// Cases overdue now.
    pub overdue_now: i64,
    /// Share of answers returned for rework, in percent; `None` when nothing was answered.
    pub returned_percent: Option<f64>,
    /// Share of ended appeals the citizen confirmed, in percent; `None` when none ended.
    pub confirmed_percent: Option<f64>,
    /// Average satisfaction score, 1-5; `None` when no citizen gave one.
    pub satisfaction: Option<f64>,
    /// Share of its priority cases answered on time, in percent; `None` when none was answered.
    pub priority_on_time_percent: Option<f64>,
}

/// Ratings of every authority with cases in the period or overdue cases now, worst first: most
/// overdue now, then the lowest on-time share, then the most returned, then by code.
pub fn ratings(totals: Vec<AuthorityTotals>, overdue: &HashMap<String, i64>) -> Vec<Rating> {
    let mut by_code: BTreeMap<String, AuthorityTotals> = totals
        .into_iter()
        .map(|t| (t.authority.clone(), t))
        .collect();
    for code in overdue.keys() {
        by_code
            .entry(code.clone())
            .or_insert_with(|| AuthorityTotals {
                authority: code.clone(),
                ..AuthorityTotals::default()
            });
    }
    let mut out: Vec<Rating> = by_code
        .into_values()
        .map(|t| Rating {
            on_time_percent: percent(t.on_time, t.answered),
            overdue_now: overdue.get(&t.authority).copied().unwrap_or_default(),
            returned_percent: percent(t.returned, t.answered),
            confirmed_percent: percent(t.confirmed, t.ended),
            satisfaction: average(t.satisfaction_sum, t.satisfaction_count),
            priority_on_time_percent: percent(t.priority_on_time, t.priority_answered),
            authority: t.authority.clone(),
            totals: t,
        })
        .collect();
    // Nothing measured is not the worst: an unmeasured share sorts as the best one.
    let on_time = |r: &Rating| r.on_time_percent.unwrap_or(f64::INFINITY);
    let returned = |r: &Rating| r.returned_percent.unwrap_or(f64::NEG_INFINITY);
    out.sort_by(|a, b| {
        b.overdue_now
            .cmp(&a.overdue_now)
            .then(on_time(a).total_cmp(&on_time(b)))
            .then(returned(b).total_cmp(&returned(a)))
            .then(a.authority.cmp(&b.authority))
    });
    out
}

/// The periods a trends report compares: `baseline_periods` earlier periods of `period_days` days,
/// then the period examined, which ends with `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrendWindow {
    /// Last day of the period examined.
    pub to: NaiveDate,
    /// Days per period.
    pub period_days: u64,
    /// Earlier periods forming the baseline.
    pub baseline_periods: usize,
}

impl TrendWindow {
    /// A checked window: periods of 1–92 days (default 7), 1–26 baseline periods (default 4).
    pub fn new(
        to: NaiveDate,
        period_days: i32,
        baseline_periods: i32,
    ) -> Result<Self, DomainError> {
        let period_days = match period_days {
            0 => 7,
            d @ 1..=92 => d as u64,
            d => {
                return Err(DomainError::invalid(
                    "period_days",
                    format!("{d} is not between 1 and 92"),
                ));
            }
        };
        let baseline_periods = match baseline_periods {
            0 => 4,
            n @ 1..=26 => n as usize,
            n => {
                return Err(DomainError::invalid(
                    "baseline_periods",
                    format!("{n} is not between 1 and 26"),
                ));
            }
        };
        Ok(Self {
            to,
            period_days,
            baseline_periods,
        })
    }

    /// The first day of the period examined.
    pub fn from(&self) -> NaiveDate {
        self.to + Days::new(1) - Days::new(self.period_days)
    }

    /// The instants bounding every period, oldest first: `baseline_periods + 2` of them.
    pub fn bounds(&self) -> Vec<DateTime<Utc>> {
        let first_day = self.to + Days::new(1)
            - Days::new(self.period_days * (self.baseline_periods as u64 + 1));
        (0..=self.baseline_periods as u64 + 1)
            .map(|i| kyiv_midnight(first_day + Days::new(self.period_days * i)))
            .collect()
    }
}

/// The first day of a quarter and the first day after it.
pub fn quarter(year: i32, quarter: i32) -> Result<(NaiveDate, NaiveDate), DomainError> {
    if !(1..=4).contains(&quarter) {
        return Err(DomainError::invalid(
            "quarter",
            format!("{quarter} is not 1 to 4"),
        ));
    }
    let from = NaiveDate::from_ymd_opt(year, (quarter as u32 - 1) * 3 + 1, 1)
        .filter(|d| (2000..=2100).contains(&d.year()))
        .ok_or_else(|| {
            DomainError::invalid("year", format!("{year} is not a year this hub reports on"))
        })?;
    let next = from
        .checked_add_months(Months::new(3))
        .expect("a quarter later exists");
    Ok((from, next))
}

/// Appeals per Kyiv day and category section, from (received, category) pairs, by day then section.
pub fn per_day(times: Vec<(DateTime<Utc>, String)>) -> Vec<(NaiveDate, String, i64)> {
    let mut counts: BTreeMap<(NaiveDate, String), i64> = BTreeMap::new();
    for (at, category) in times {
        *counts
            .entry((kyiv_date(at), section(&category).to_string()))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((day, section), count)| (day, section, count))
        .collect()
}

/// Median and 90th percentile (nearest rank) of durations, in hours; `None` when there are none.
pub fn duration_stats(pairs: &[(DateTime<Utc>, DateTime<Utc>)]) -> Option<(f64, f64)> {
    let mut hours: Vec<f64> = pairs
        .iter()
        .map(|(start, end)| (*end - *start).num_seconds() as f64 / 3600.0)
        .collect();
    if hours.is_empty() {
        return None;
    }
    hours.sort_by(f64::total_cmp);
    let rank = |q: f64| {
        let n = hours.len();
        let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
        hours[i]
    };
    Some((rank(0.5), rank(0.9)))
}

/// `sum / count`; `None` when `count` is 0 (nothing was measured).
pub fn average(sum: i64, count: i64) -> Option<f64> {
    (count != 0).then(|| sum as f64 / count as f64)
}

/// `part` of `whole` in percent; `None` when `whole` is 0 (nothing was measured).
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole != 0).then(|| 100.0 * part as f64 / whole as f64)
}

/// P(X ≥ k) for X ~ Poisson(λ): how surprising `k` appeals are when `λ` are expected.
pub fn poisson_upper_tail(k: i64, lambda: f64) -> f64 {
    if k <= 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    // ln pmf(i) = −λ + i·ln λ − ln i!, in log space so large counts stay finite.
    let ln_pmf =
        |i: i64| -lambda + i as f64 * lambda.ln() - (1..=i).map(|j| (j as f64).ln()).sum::<f64>();
    if (k as f64) <= lambda {
        // The tail is large: 1 − P(X ≤ k−1) loses nothing.
        let mut term = -lambda;
        let mut below = term.exp();
        for i in 1..k {
            term += lambda.ln() - (i as f64).ln();
            below += term.exp();
        }
        return (1.0 - below).clamp(0.0, 1.0);
    }
    // The tail is small: sum it directly, from k up, until the terms no longer matter.
    let mut term = ln_pmf(k);
    let mut tail = 0.0;
    let mut i = k;
    loop {
        let value = term.exp();
        tail += value;
        if value < tail * 1e-17 || value == 0.0 {
            break;
        }
        i += 1;
        term += lambda.ln() - (i as f64).ln();
    }
    tail.clamp(0.0, 1.0)
}

/// The baseline rate of a cell: the average over the earlier periods, at least 0.5 so that a cell
/// that was empty before is judged against a small rate rather than zero.
pub fn baseline(previous: &[i64]) -> f64 {
    if previous.is_empty() {
        return 0.5;
    }
    (previous.iter().sum::<i64>() as f64 / previous.len() as f64).max(0.5)
}

/// Whether a cell is a pain point.
pub fn notable(count: i64, p_value: f64) -> bool {
    count >= MIN_NOTABLE_COUNT && p_value < NOTABLE_P
}

/// The method, stated in the report.
pub fn method(period_days: i64, baseline_periods: usize) -> String {
    format!(
        "Each district × category is compared with its average over the previous {baseline_periods} periods of \
         {period_days} days (at least 0.5). A cell is a pain point when it has at least {MIN_NOTABLE_COUNT} appeals \
         and P(X ≥ count) < {NOTABLE_P} for X ~ Poisson(average): growth unlikely to be chance, not just a big number."
    )
}

/// One district × category of the period examined, against its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// District.
    pub district: String,
    /// Category.
    pub category: String,
    /// Appeals in the period examined.
    pub count: i64,
    /// Average over the earlier periods (at least 0.5).
    pub baseline: f64,
    /// count / baseline.
    pub ratio: f64,
    /// P(X ≥ count) under the baseline rate.
    pub p_value: f64,
    /// A pain point.
    pub notable: bool,
}

/// Trends from per-period counts (bucket `baseline_periods` is the period examined, the earlier
/// ones the baseline): cells with appeals in the period, pain points first, then by p-value.
pub fn trends(counts: Vec<CellCount>, baseline_periods: usize) -> Vec<Trend> {
    let mut cells: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for c in counts {
        let per_period = cells
            .entry((c.district, c.category))
            .or_insert_with(|| vec![0; baseline_periods + 1]);
        if let Some(slot) = usize::try_from(c.bucket)
            .ok()
            .and_then(|b| per_period.get_mut(b))
        {
            *slot += c.count;
        }
    }
    let mut out: Vec<Trend> = cells
        .into_iter()
        .filter(|(_, counts)| counts[baseline_periods] > 0)
        .map(|((district, category), counts)| {
            let count = counts[baseline_periods];
            let baseline = baseline(&counts[..baseline_periods]);
            let p_value = poisson_upper_tail(count, baseline);
            Trend {
                district,
                category,
                count,
                baseline,
                ratio: count as f64 / baseline,
                p_value,
                notable: notable(count, p_value),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.notable
            .cmp(&a.notable)
            .then(a.p_value.total_cmp(&b.p_value))
            .then(b.count.cmp(&a.count))
    });
    out
}

/// A classifier code's appeals of a quarter by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuarterRow {
    /// Category code.
    pub code: String,
    /// Proposals.
    pub proposals: i64,
    /// Applications.
    pub applications: i64,
    /// Complaints.
    pub complaints: i64,
    /// All kinds.
    pub total: i64,
    /// Of those, resolved positively.
    pub resolved: i64,
    /// Explained.
    pub explained: i64,
    /// Refused.
    pub refused: i64,
    /// Forwarded.
    pub forwarded: i64,
    /// Consultations given.
    pub consultations: i64,
    /// By sign.
    pub by_sign: BTreeMap<String, i64>,
    /// By author category (an appeal with several counts in each).
    pub by_author_category: BTreeMap<String, i64>,
    /// Collective appeals.
    pub collective: i64,
    /// Anonymous appeals.
    pub anonymous: i64,
}

/// Rows by code from (category, kind, outcome, count): each appeal counts under its own code and,
/// for a subject, under its section too; sections sort before their subjects.
pub fn quarter_rows(counts: Vec<KindCount>) -> Vec<QuarterRow> {
    let mut rows: BTreeMap<String, QuarterRow> = BTreeMap::new();
    for KindCount {
        category,
        kind,
        outcome,
        sign,
        author_categories,
        collective,
        anonymous,
        count,
    } in counts
    {
        let mut codes = vec![category.clone()];
        if section(&category) != category {
            codes.push(section(&category).to_string());
        }
        for code in codes {
            let row = rows.entry(code.clone()).or_insert_with(|| QuarterRow {
                code,
                ..QuarterRow::default()
            });
            match kind.as_str() {
                "proposal" => row.proposals += count,
                "application" => row.applications += count,
                _ => row.complaints += count,
            }
            row.total += count;
            *row.by_sign.entry(sign.clone()).or_default() += count;
            for author in &author_categories {
                *row.by_author_category.entry(author.clone()).or_default() += count;
            }
            row.collective += if collective { count } else { 0 };
            row.anonymous += if anonymous { count } else { 0 };
            match outcome.as_deref() {
                Some("resolved") => row.resolved += count,
                Some("explained") => row.explained += count,
                Some("refused") => row.refused += count,
                Some("forwarded") => row.forwarded += count,
                Some("consultation") => row.consultations += count,
                _ => {}
            }
        }
    }
    rows.into_values().collect()
}

/// The category section of a code (`07.01` → `07`).
pub fn section(code: &str) -> &str {
    code.split('.').next().unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn periods_are_kyiv_days() {
        let today = NaiveDate::from_ymd_opt(2026, 7, 10).unwrap();
        let p = Period::new(None, None, today).unwrap();
        assert_eq!((p.from, p.to, p.days()), (today, today, 1));
        // Kyiv summer time is UTC+3: the day starts at 21:00 UTC the evening before.
        assert_eq!(
            p.start(),
            Utc.with_ymd_and_hms(2026, 7, 9, 21, 0, 0).unwrap()
        );
        assert_eq!(
            p.end(),
            Utc.with_ymd_and_hms(2026, 7, 10, 21, 0, 0).unwrap()
        );
        assert!(Period::new(Some(today + Days::new(1)), Some(today), today).is_err());
        assert!(Period::new(Some(today - Days::new(500)), Some(today), today).is_err());
    }

    #[test]
    fn quarter_rows_roll_subjects_up_into_sections() {
        let count = |category: &str, kind: &str, outcome: Option<&str>, count| KindCount {
            category: category.into(),
            kind: kind.into(),
            outcome: outcome.map(Into::into),
            sign: if count == 1 { "repeat" } else { "primary" }.into(),
            author_categories: if kind == "complaint" {
                vec!["ubd".into(), "idp".into()]
            } else {
                Vec::new()
            },
            collective: kind == "proposal",
            anonymous: false,
            count,
        };
        let rows = quarter_rows(vec![
            count("07.01", "complaint", Some("resolved"), 2),
            count("07", "proposal", None, 1),
            count("04.02", "application", Some("consultation"), 3),
        ]);
        let codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["04", "04.02", "07", "07.01"]);
        assert_eq!(
            (rows[2].proposals, rows[2].complaints, rows[2].total),
            (1, 2, 3)
        );
        assert_eq!(rows[0].applications, 3);
        assert_eq!((rows[2].resolved, rows[3].resolved), (2, 2));
        assert_eq!(rows[0].consultations, 3);
        assert_eq!(rows[2].by_sign["primary"], 2);
        assert_eq!(rows[2].by_sign["repeat"], 1);
        assert_eq!(rows[3].by_author_category["ubd"], 2);
        assert_eq!(rows[2].by_author_category["idp"], 2);
        assert_eq!((rows[2].collective, rows[2].anonymous), (1, 0));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let pairs: Vec<_> = (1..=10)
            .map(|h| (t0, t0 + chrono::Duration::hours(h)))
            .collect();
        assert_eq!(duration_stats(&pairs), Some((5.0, 9.0)));
        assert_eq!(duration_stats(&pairs[..1]), Some((1.0, 1.0)));
        assert_eq!(duration_stats(&[]), None);
    }

    #[test]
    fn poisson_tail_matches_known_values() {
        // P(X ≥ 1 | λ = 1) = 1 − e^−1.
        assert!((poisson_upper_tail(1, 1.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        // P(X ≥ 10 | λ = 2) ≈ 4.65e-5.
        assert!((poisson_upper_tail(10, 2.0) - 4.6498e-5).abs() < 1e-7);
        assert_eq!(poisson_upper_tail(0, 3.0), 1.0);
        assert!(
            poisson_upper_tail(5000, 4000.0) < 1e-20,
            "large rates stay finite"
        );
        // A big but usual number is not notable; a small surge is.
        let usual = poisson_upper_tail(105, baseline(&[100, 98, 103, 99]));
        assert!(!notable(105, usual));
        let surge = poisson_upper_tail(12, baseline(&[2, 1, 3, 2]));
        assert!(notable(12, surge));
        assert!(
            !notable(4, poisson_upper_tail(4, baseline(&[0, 0, 0, 0]))),
            "below the minimum count"
        );
    }

    #[test]
    fn ratings_put_the_worst_first_and_include_overdue_only_authorities() {
        let totals = vec![
            AuthorityTotals {
                authority: "good".into(),
                assigned: 4,
                answered: 4,
                on_time: 4,
                ..AuthorityTotals::default()
            },
            AuthorityTotals {
                authority: "slow".into(),
                assigned: 4,
                answered: 4,
                on_time: 1,
                ..AuthorityTotals::default()
            },
        ];
        let overdue = HashMap::from([("late".to_string(), 2)]);
        let order: Vec<String> = ratings(totals, &overdue)
            .into_iter()
            .map(|r| r.authority)
            .collect();
        assert_eq!(order, ["late", "slow", "good"]);
    }

    #[test]
    fn trend_windows_and_quarters_are_checked() {
        let to = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let w = TrendWindow::new(to, 0, 0).unwrap();
        assert_eq!(w.from(), NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        assert_eq!(w.bounds().len(), 6);
        assert_eq!(
            *w.bounds().last().unwrap(),
            kyiv_midnight(to + Days::new(1))
        );
        assert!(TrendWindow::new(to, 93, 4).is_err());
        assert!(TrendWindow::new(to, 7, 27).is_err());
        let (from, next) = quarter(2026, 4).unwrap();
        assert_eq!((from.month(), next.year()), (10, 2027));
        assert!(quarter(2026, 5).is_err());
        assert!(quarter(1999, 1).is_err());
    }
}
