//! The monitoring reports: the daily report, authorities' ratings, trends and pain points, the
//! quarterly summary, appeals per day. The arithmetic is in `domain::reports`; here the counts are
//! fetched and put together. Counts only: no personal data.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};

use super::directory::AuthorityNames;
use super::{AppResult, Hotline};
use crate::domain::deadline::{kyiv_date, kyiv_midnight};
use crate::domain::reports::{
    self, DimensionTotals, Period, QuarterRow, Rating, Trend, TrendWindow,
};
use crate::store::Store;

/// How many, and how long: median and 90th percentile in hours.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Durations {
    /// How many durations.
    pub count: i64,
    /// Median, hours.
    pub median_hours: f64,
    /// 90th percentile, hours.
    pub p90_hours: f64,
}

impl Durations {
    fn of(pairs: &[(DateTime<Utc>, DateTime<Utc>)]) -> Self {
        let (median_hours, p90_hours) = reports::duration_stats(pairs).unwrap_or_default();
        Self {
            count: pairs.len() as i64,
            median_hours,
            p90_hours,
        }
    }
}

/// The daily monitoring report over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyReport {
    /// The period.
    pub period: Period,
    /// Appeals received.
    pub received: i64,
    /// Received, by channel, kind, category and district (largest first).
    pub by_channel: Vec<(String, i64)>,
    /// By kind.
    pub by_kind: Vec<(String, i64)>,
    /// By category.
    pub by_category: Vec<(String, i64)>,
    /// By district.
    pub by_district: Vec<(String, i64)>,
    /// Appeals that ended in the period, by final status.
    pub closed: Vec<(String, i64)>,
    /// Appeals open now.
    pub open_now: i64,
    /// Cases overdue now.
    pub overdue_now: i64,
    /// Cases of the period's appeals returned for rework.
    pub returned_for_rework: i64,
    /// Time from assignment to the first answer.
    pub time_to_answer: Durations,
    /// Time from receipt to closing.
    pub time_to_close: Durations,
    /// Appeals that ended in the period, by outcome.
    pub by_outcome: Vec<(String, i64)>,
    /// Consultations given among the appeals received.
    pub consultations: i64,
    /// Average satisfaction of the appeals that ended; `None` when no score was given.
    pub satisfaction: Option<f64>,
    /// Scores given.
    pub satisfaction_count: i64,
    /// Appeals closed over the citizen's disagreement.
    pub disagreements: i64,
    /// Priority, emergency and incident lines.
    pub dimensions: DimensionTotals,
}

/// The quarterly summary by classifier code and kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarterly {
    /// First day of the quarter.
    pub from: NaiveDate,
    /// Last day of the quarter.
    pub to: NaiveDate,
    /// Rows by code, sections before their subjects.
    pub rows: Vec<QuarterRow>,
    /// Category names by code.
    pub names: HashMap<String, String>,
    /// Author category names by code.
    pub author_names: HashMap<String, String>,
    /// Appeals of the quarter.
    pub total: i64,
}

/// Counts summed per label, largest first (ties by label).
fn by_label<'a>(items: impl Iterator<Item = (&'a str, i64)>) -> Vec<(String, i64)> {
    let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
    for (label, count) in items {
        *sums.entry(label).or_default() += count;
    }
    let mut out: Vec<(String, i64)> = sums
        .into_iter()
        .map(|(label, count)| (label.to_string(), count))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

impl<S: Store> Hotline<S> {
    /// A checked period of Kyiv dates; `to` defaults to today, `from` to `to`.
    pub fn period(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> AppResult<Period> {
        Ok(Period::new(from, to, kyiv_date(self.now()))?)
    }

    async fn overdue_now(&self) -> AppResult<HashMap<String, i64>> {
        let today = kyiv_date(self.now());
        Ok(self
            .store
            .overdue_by_authority(today)
            .await?
            .into_iter()
            .collect())
    }

    /// The daily report over `period`.
    pub async fn daily_report(&self, period: Period) -> AppResult<DailyReport> {
        let (start, end) = (period.start(), period.end());
        let store = &self.store;
        let received = store.received_counts(start, end).await?;
        let closed = store.closed_counts(start, end).await?;
        let outcomes = store.outcome_counts(start, end).await?;
        let (satisfaction_sum, satisfaction_count, disagreements) =
            store.satisfaction_totals(start, end).await?;
        Ok(DailyReport {
            period,
            received: received.iter().map(|r| r.count).sum(),
            by_channel: by_label(received.iter().map(|r| (r.channel.as_str(), r.count))),
            by_kind: by_label(received.iter().map(|r| (r.kind.as_str(), r.count))),
            by_category: by_label(received.iter().map(|r| (r.category.as_str(), r.count))),
            by_district: by_label(received.iter().map(|r| (r.district.as_str(), r.count))),
            closed: by_label(closed.iter().map(|(s, n)| (s.as_str(), *n))),
            open_now: store.open_count().await?,
            overdue_now: self.overdue_now().await?.values().sum(),
            returned_for_rework: store.returned_count(start, end).await?,
            time_to_answer: Durations::of(&store.answer_times(start, end).await?),
            time_to_close: Durations::of(&store.close_times(start, end).await?),
            by_outcome: by_label(outcomes.iter().map(|(o, n)| (o.as_str(), *n))),
            consultations: store.consultation_count(start, end).await?,
            satisfaction: reports::average(satisfaction_sum, satisfaction_count),
            satisfaction_count,
            disagreements,
            dimensions: store.dimension_totals(start, end).await?,
        })
    }

    /// Authorities' ratings over `period`, worst first, with their names.
    pub async fn authority_ratings(
        &self,
        period: Period,
    ) -> AppResult<(Vec<Rating>, AuthorityNames)> {
        let totals = self
            .store
            .authority_totals(period.start(), period.end())
            .await?;
        let overdue = self.overdue_now().await?;
        Ok((
            reports::ratings(totals, &overdue),
            self.authority_names().await?,
        ))
    }

    /// Trends: each district × category of the period ending `to` (default today) against its
    /// baseline; pain points first. Returns the window and the cells.
    pub async fn trends(
        &self,
        to: Option<NaiveDate>,
        period_days: i32,
        baseline_periods: i32,
    ) -> AppResult<(TrendWindow, Vec<Trend>)> {
        let to = to.unwrap_or_else(|| kyiv_date(self.now()));
        let window = TrendWindow::new(to, period_days, baseline_periods)?;
        let counts = self
            .store
            .district_category_counts(&window.bounds())
            .await?;
        Ok((window, reports::trends(counts, window.baseline_periods)))
    }

    /// The quarterly summary by classifier code and kind.
    pub async fn quarterly_summary(&self, year: i32, quarter: i32) -> AppResult<Quarterly> {
        let (from, next) = reports::quarter(year, quarter)?;
        let counts = self
            .store
            .category_kind_counts(kyiv_midnight(from), kyiv_midnight(next))
            .await?;
        let names = self
            .store
            .list_categories()
            .await?
            .into_iter()
            .map(|c| (c.code, c.name))
            .collect();
        let total = counts.iter().map(|c| c.count).sum();
        Ok(Quarterly {
            from,
            to: next.pred_opt().expect("a day before the next quarter"),
            rows: reports::quarter_rows(counts),
            names,
            author_names: self
                .store
                .classifier_entries(Some(crate::domain::Dimension::AuthorCategory))
                .await?
                .into_iter()
                .map(|e| (e.code, e.name))
                .collect(),
            total,
        })
    }

    /// Appeals per Kyiv day and category section over `period`.
    pub async fn appeals_per_day(
        &self,
        period: Period,
    ) -> AppResult<Vec<(NaiveDate, String, i64)>> {
        let times = self
            .store
            .received_times(period.start(), period.end())
            .await?;
        Ok(reports::per_day(times))
    }
}
