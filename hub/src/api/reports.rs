//! `hotline.v1.Reports`: the daily monitoring report, authorities' ratings, trends and pain points,
//! the quarterly summary and chart data. Decode, call one use case, encode. Counts only: no
//! personal data.

use hotline_proto::v1 as pb;
use hotline_proto::v1::reports_server::Reports;
use tonic::{Request, Response, Status};

use super::convert::{self, date};
use super::error::{invalid, status};
use crate::app::directory::AuthorityNames;
use crate::app::reports::{DailyReport, Durations};
use crate::app::{Hotline, Store};
use crate::domain::reports::{Period, Rating};

/// The reports service.
#[derive(Debug, Clone)]
pub struct ReportsApi<S> {
    /// The use cases.
    hotline: Hotline<S>,
}

impl<S: Store> ReportsApi<S> {
    /// The service over `hotline`.
    pub fn new(hotline: Hotline<S>) -> Self {
        Self { hotline }
    }

    fn period(&self, r: &pb::PeriodRequest) -> Result<Period, Status> {
        self.hotline
            .period(date("from", &r.from)?, date("to", &r.to)?)
            .map_err(status)
    }
}

/// Counts by code, in code order.
fn counts(by: std::collections::BTreeMap<String, i64>) -> Vec<pb::LabelCount> {
    by.into_iter()
        .map(|(label, count)| pb::LabelCount { label, count })
        .collect()
}

fn labels(counts: Vec<(String, i64)>) -> Vec<pb::LabelCount> {
    counts
        .into_iter()
        .map(|(label, count)| pb::LabelCount { label, count })
        .collect()
}

fn durations(d: Durations) -> Option<pb::DurationStats> {
    Some(pb::DurationStats {
        count: d.count,
        median_hours: d.median_hours,
        p90_hours: d.p90_hours,
    })
}

/// The daily report as the API (and `hub report daily`'s sheets) carry it.
pub fn daily_response(r: DailyReport) -> pb::DailyReportResponse {
    pb::DailyReportResponse {
        from: r.period.from.to_string(),
        to: r.period.to.to_string(),
        received: r.received,
        by_channel: labels(r.by_channel),
        by_kind: labels(r.by_kind),
        by_category: labels(r.by_category),
        by_district: labels(r.by_district),
        closed: labels(r.closed),
        open_now: r.open_now,
        overdue_now: r.overdue_now,
        returned_for_rework: r.returned_for_rework,
        time_to_answer: durations(r.time_to_answer),
        time_to_close: durations(r.time_to_close),
        by_outcome: labels(r.by_outcome),
        consultations: r.consultations,
        satisfaction: r.satisfaction,
        satisfaction_count: r.satisfaction_count,
        disagreements: r.disagreements,
        priority_received: r.dimensions.priority,
        emergencies_received: r.dimensions.emergencies,
        incidents_opened: r.dimensions.incidents_opened,
        incident_appeals: r.dimensions.incident_appeals,
    }
}

/// Authorities' ratings as the API (and `hub report ratings`'s sheet) carry them.
pub fn ratings_response(
    period: Period,
    ratings: Vec<Rating>,
    names: &AuthorityNames,
) -> pb::AuthorityRatingsResponse {
    pb::AuthorityRatingsResponse {
        from: period.from.to_string(),
        to: period.to.to_string(),
        ratings: ratings
            .into_iter()
            .map(|r| pb::AuthorityRating {
                authority_name: names.get(&r.authority).cloned().unwrap_or_default(),
                authority_code: r.authority,
                assigned: r.totals.assigned,
                answered: r.totals.answered,
                on_time_percent: r.on_time_percent,
                overdue_now: r.overdue_now,
                returned_percent: r.returned_percent,
                confirmed_percent: r.confirmed_percent,
                repeats: r.totals.repeats,
                satisfaction: r.satisfaction,
                resolved: r.totals.outcomes[0],
                explained: r.totals.outcomes[1],
                refused: r.totals.outcomes[2],
                forwarded: r.totals.outcomes[3],
                not_competent: r.totals.outcomes[4],
                priority_assigned: r.totals.priority_assigned,
                priority_on_time_percent: r.priority_on_time_percent,
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl<S: Store> Reports for ReportsApi<S> {
    async fn daily_report(
        &self,
        request: Request<pb::PeriodRequest>,
    ) -> Result<Response<pb::DailyReportResponse>, Status> {
        let period = self.period(request.get_ref())?;
        let r = self.hotline.daily_report(period).await.map_err(status)?;
        Ok(Response::new(daily_response(r)))
    }

    async fn authority_ratings(
        &self,
        request: Request<pb::PeriodRequest>,
    ) -> Result<Response<pb::AuthorityRatingsResponse>, Status> {
        let period = self.period(request.get_ref())?;
        let (ratings, names) = self
            .hotline
            .authority_ratings(period)
            .await
            .map_err(status)?;
        Ok(Response::new(ratings_response(period, ratings, &names)))
    }

    async fn trends(
        &self,
        request: Request<pb::TrendsRequest>,
    ) -> Result<Response<pb::TrendsResponse>, Status> {
        let r = request.into_inner();
        let (window, cells) = self
            .hotline
            .trends(date("to", &r.to)?, r.period_days, r.baseline_periods)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::TrendsResponse {
            from: window.from().to_string(),
            to: window.to.to_string(),
            method: crate::domain::reports::method(
                window.period_days as i64,
                window.baseline_periods,
            ),
            cells: cells
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
                .collect(),
        }))
    }

    async fn quarterly_summary(
        &self,
        request: Request<pb::QuarterRequest>,
    ) -> Result<Response<pb::QuarterlySummaryResponse>, Status> {
        let r = request.into_inner();
        let q = self
            .hotline
            .quarterly_summary(r.year, r.quarter)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::QuarterlySummaryResponse {
            from: q.from.to_string(),
            to: q.to.to_string(),
            rows: q
                .rows
                .into_iter()
                .map(|r| pb::QuarterRow {
                    category_name: q.names.get(&r.code).cloned().unwrap_or_default(),
                    category_code: r.code,
                    proposals: r.proposals,
                    applications: r.applications,
                    complaints: r.complaints,
                    total: r.total,
                    resolved: r.resolved,
                    explained: r.explained,
                    refused: r.refused,
                    forwarded: r.forwarded,
                    consultations: r.consultations,
                    by_sign: counts(r.by_sign),
                    by_author_category: counts(r.by_author_category),
                    collective: r.collective,
                    anonymous: r.anonymous,
                })
                .collect(),
            total: q.total,
            author_category_names: q.author_names.into_iter().collect(),
        }))
    }

    async fn appeals_per_day(
        &self,
        request: Request<pb::PeriodRequest>,
    ) -> Result<Response<pb::AppealsPerDayResponse>, Status> {
        let period = self.period(request.get_ref())?;
        let counts = self.hotline.appeals_per_day(period).await.map_err(status)?;
        Ok(Response::new(pb::AppealsPerDayResponse {
            counts: counts
                .into_iter()
                .map(|(day, section, count)| pb::DayCount {
                    day: day.to_string(),
                    section,
                    count,
                })
                .collect(),
        }))
    }

    async fn open_data_month(
        &self,
        request: Request<pb::OpenDataMonthRequest>,
    ) -> Result<Response<pb::OpenDataMonthResponse>, Status> {
        let month = request.into_inner().month;
        let (year, m) = month
            .trim()
            .split_once('-')
            .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
            .ok_or_else(|| invalid("month", format!("`{month}` is not YYYY-MM")))?;
        let rows = self
            .hotline
            .open_data_month(year, m)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::OpenDataMonthResponse {
            rows: rows
                .into_iter()
                .map(|r| pb::OpenDataRow {
                    id: r.number,
                    received_at: convert::time(r.requested),
                    section: r.section_code,
                    subject: r.category_code,
                    subject_name: r.category_name,
                    settlement: r.settlement,
                    district: r.district,
                    channel: r.channel,
                    outcome: r.outcome,
                    closed_at: r.closed.map(convert::time).unwrap_or_default(),
                })
                .collect(),
        }))
    }
}
