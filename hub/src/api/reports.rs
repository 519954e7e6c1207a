//! `hotline.v1.Reports`: the daily monitoring report, authorities' ratings, trends and pain points,
//! the quarterly summary and chart data. Counts only: no personal data.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Days, NaiveDate, Utc};
use hotline_proto::v1 as pb;
use hotline_proto::v1::reports_server::Reports;
use tonic::{Request, Response, Status};

use super::convert::date;
use super::error::{invalid, status};
use crate::app::Hotline;
use crate::domain::deadline::{kyiv_date, kyiv_midnight};
use crate::reports::{self, Period};
use crate::store::Store;

/// The reports service.
#[derive(Debug, Clone)]
pub struct ReportsApi<S> {
    /// The application services.
    hotline: Hotline<S>,
}

impl<S: Store> ReportsApi<S> {
    /// The service over `hotline`.
    pub fn new(hotline: Hotline<S>) -> Self {
        Self { hotline }
    }

    fn period(&self, r: &pb::PeriodRequest) -> Result<Period, Status> {
        let today = kyiv_date(Utc::now());
        Period::new(date("from", &r.from)?, date("to", &r.to)?, today).map_err(|e| status(e.into()))
    }
}

/// Counts summed per label, largest first.
fn by_label<'a>(items: impl Iterator<Item = (&'a str, i64)>) -> Vec<pb::LabelCount> {
    let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
    for (label, count) in items {
        *sums.entry(label).or_default() += count;
    }
    let mut out: Vec<pb::LabelCount> = sums
        .into_iter()
        .map(|(label, count)| pb::LabelCount {
            label: label.to_string(),
            count,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
    out
}

fn stats(pairs: &[(chrono::DateTime<Utc>, chrono::DateTime<Utc>)]) -> pb::DurationStats {
    let (median_hours, p90_hours) = reports::duration_stats(pairs).unwrap_or_default();
    pb::DurationStats {
        count: pairs.len() as i64,
        median_hours,
        p90_hours,
    }
}

#[tonic::async_trait]
impl<S: Store> Reports for ReportsApi<S> {
    async fn daily_report(
        &self,
        request: Request<pb::PeriodRequest>,
    ) -> Result<Response<pb::DailyReportResponse>, Status> {
        let period = self.period(request.get_ref())?;
        let (start, end) = (period.start(), period.end());
        let store = &self.hotline.store;
        let received = store.received_counts(start, end).await.map_err(status)?;
        let closed = store.closed_counts(start, end).await.map_err(status)?;
        let today = kyiv_date(Utc::now());
        let overdue_now = store
            .overdue_by_authority(today)
            .await
            .map_err(status)?
            .iter()
            .map(|(_, n)| n)
            .sum();
        Ok(Response::new(pb::DailyReportResponse {
            from: period.from.to_string(),
            to: period.to.to_string(),
            received: received.iter().map(|r| r.count).sum(),
            by_channel: by_label(received.iter().map(|r| (r.channel.as_str(), r.count))),
            by_kind: by_label(received.iter().map(|r| (r.kind.as_str(), r.count))),
            by_category: by_label(received.iter().map(|r| (r.category.as_str(), r.count))),
            by_district: by_label(received.iter().map(|r| (r.district.as_str(), r.count))),
            closed: by_label(closed.iter().map(|(s, n)| (s.as_str(), *n))),
            open_now: store.open_count().await.map_err(status)?,
            overdue_now,
            returned_for_rework: store.returned_count(start, end).await.map_err(status)?,
            time_to_answer: Some(stats(
                &store.answer_times(start, end).await.map_err(status)?,
            )),
            time_to_close: Some(stats(&store.close_times(start, end).await.map_err(status)?)),
        }))
    }

    async fn authority_ratings(
        &self,
        request: Request<pb::PeriodRequest>,
    ) -> Result<Response<pb::AuthorityRatingsResponse>, Status> {
        let period = self.period(request.get_ref())?;
        let store = &self.hotline.store;
        let totals = store
            .authority_totals(period.start(), period.end())
            .await
            .map_err(status)?;
        let overdue: HashMap<String, i64> = store
            .overdue_by_authority(kyiv_date(Utc::now()))
            .await
            .map_err(status)?
            .into_iter()
            .collect();
        let names: HashMap<String, String> = store
            .list_authorities(true)
            .await
            .map_err(status)?
            .into_iter()
            .map(|a| (a.code, a.name))
            .collect();
        // Every authority with cases in the period or overdue ones now.
        let mut codes: Vec<&String> = totals.iter().map(|t| &t.authority).collect();
        codes.extend(
            overdue
                .keys()
                .filter(|c| !totals.iter().any(|t| &t.authority == *c)),
        );
        let mut ratings: Vec<pb::AuthorityRating> = codes
            .into_iter()
            .map(|code| {
                let t = totals
                    .iter()
                    .find(|t| &t.authority == code)
                    .cloned()
                    .unwrap_or_default();
                pb::AuthorityRating {
                    authority_code: code.clone(),
                    authority_name: names.get(code).cloned().unwrap_or_default(),
                    assigned: t.assigned,
                    answered: t.answered,
                    on_time_percent: reports::percent(t.on_time, t.answered),
                    overdue_now: overdue.get(code).copied().unwrap_or_default(),
                    returned_percent: reports::percent(t.returned, t.answered),
                    confirmed_percent: reports::percent(t.confirmed, t.ended),
                    repeats: t.repeats,
                }
            })
            .collect();
        // Worst first: most overdue now, then the lowest on-time share, then the most returned.
        ratings.sort_by(|a, b| {
            b.overdue_now
                .cmp(&a.overdue_now)
                .then(a.on_time_percent.total_cmp(&b.on_time_percent))
                .then(b.returned_percent.total_cmp(&a.returned_percent))
                .then(a.authority_code.cmp(&b.authority_code))
        });
        Ok(Response::new(pb::AuthorityRatingsResponse {
            from: period.from.to_string(),
            to: period.to.to_string(),
            ratings,
        }))
    }

    async fn trends(
        &self,
        request: Request<pb::TrendsRequest>,
    ) -> Result<Response<pb::TrendsResponse>, Status> {
        let r = request.into_inner();
        let to = date("to", &r.to)?.unwrap_or_else(|| kyiv_date(Utc::now()));
        let period_days = match r.period_days {
            0 => 7,
            d @ 1..=92 => i64::from(d),
            d => {
                return Err(invalid(
                    "period_days",
                    format!("{d} is not between 1 and 92"),
                ));
            }
        };
        let baseline_periods = match r.baseline_periods {
            0 => 4,
            n @ 1..=26 => n as usize,
            n => {
                return Err(invalid(
                    "baseline_periods",
                    format!("{n} is not between 1 and 26"),
                ));
            }
        };
        // Bounds of the baseline periods, oldest first, then of the period examined.
        let first_day =
            to + Days::new(1) - Days::new((period_days as u64) * (baseline_periods as u64 + 1));
        let bounds: Vec<_> = (0..=baseline_periods + 1)
            .map(|i| kyiv_midnight(first_day + Days::new(period_days as u64 * i as u64)))
            .collect();
        let counts = self
            .hotline
            .store
            .district_category_counts(&bounds)
            .await
            .map_err(status)?;
        let out = reports::trends(counts, baseline_periods)
            .into_iter()
            .map(|t| pb::TrendCell {
                district_code: t.district,
                category_code: t.category,
                count: t.count,
                baseline: t.baseline,
                ratio: t.ratio,
                p_value: t.p_value,
                notable: t.notable,
            })
            .collect();
        let from = to + Days::new(1) - Days::new(period_days as u64);
        Ok(Response::new(pb::TrendsResponse {
            from: from.to_string(),
            to: to.to_string(),
            method: reports::method(period_days, baseline_periods),
            cells: out,
        }))
    }

    async fn quarterly_summary(
        &self,
        request: Request<pb::QuarterRequest>,
    ) -> Result<Response<pb::QuarterlySummaryResponse>, Status> {
        let r = request.into_inner();
        if !(1..=4).contains(&r.quarter) {
            return Err(invalid("quarter", format!("{} is not 1 to 4", r.quarter)));
        }
        let from = NaiveDate::from_ymd_opt(r.year, (r.quarter as u32 - 1) * 3 + 1, 1)
            .filter(|d| (2000..=2100).contains(&d.year()))
            .ok_or_else(|| {
                invalid(
                    "year",
                    format!("{} is not a year this hub reports on", r.year),
                )
            })?;
        let next = from
            .checked_add_months(chrono::Months::new(3))
            .expect("a quarter later exists");
        let counts = self
            .hotline
            .store
            .category_kind_counts(kyiv_midnight(from), kyiv_midnight(next))
            .await
            .map_err(status)?;
        let names: HashMap<String, String> = self
            .hotline
            .store
            .list_categories()
            .await
            .map_err(status)?
            .into_iter()
            .map(|c| (c.code, c.name))
            .collect();
        let total = counts.iter().map(|(_, _, n)| n).sum();
        let rows = reports::quarter_rows(counts)
            .into_iter()
            .map(|r| pb::QuarterRow {
                category_name: names.get(&r.code).cloned().unwrap_or_default(),
                category_code: r.code,
                proposals: r.proposals,
                applications: r.applications,
                complaints: r.complaints,
                total: r.total,
            })
            .collect();
        Ok(Response::new(pb::QuarterlySummaryResponse {
            from: from.to_string(),
            to: (next - Days::new(1)).to_string(),
            rows,
            total,
        }))
    }

    async fn appeals_per_day(
        &self,
        request: Request<pb::PeriodRequest>,
    ) -> Result<Response<pb::AppealsPerDayResponse>, Status> {
        let period = self.period(request.get_ref())?;
        let times = self
            .hotline
            .store
            .received_times(period.start(), period.end())
            .await
            .map_err(status)?;
        let mut counts: BTreeMap<(NaiveDate, String), i64> = BTreeMap::new();
        for (at, category) in times {
            *counts
                .entry((kyiv_date(at), reports::section(&category).to_string()))
                .or_default() += 1;
        }
        Ok(Response::new(pb::AppealsPerDayResponse {
            counts: counts
                .into_iter()
                .map(|((day, section), count)| pb::DayCount {
                    day: day.to_string(),
                    section,
                    count,
                })
                .collect(),
        }))
    }
}
