//! Leadership's view of the day: the daily report's figures (received, open, overdue, closed,
//! outcomes, satisfaction), appeals per day by section as bars, the district × category cells with
//! their pain points, and the authorities' ratings with what is overdue now — the `hub report`
//! views, refreshed live as the event log moves — and the period's `hub report daily|ratings`
//! spreadsheets to download (the same sheets and XLSX writer as the command line).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Days, NaiveDate};
use serde::Deserialize;

use super::{ConsoleState, Frame, Signed, app_error, page};
use crate::app::{AppError, Store};
use crate::domain::deadline::kyiv_date;

/// One bar of a chart: its label, value and width in percent of the largest.
#[derive(Debug, Clone)]
pub struct Bar {
    /// What it counts.
    pub label: String,
    /// How many.
    pub value: i64,
    /// Width, 0–100.
    pub width: i64,
}

fn bars(items: &[(String, i64)], name: impl Fn(&str) -> String) -> Vec<Bar> {
    let top = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    items
        .iter()
        .map(|(label, value)| Bar {
            label: name(label),
            value: *value,
            width: value * 100 / top,
        })
        .collect()
}

/// One authority's line of the ratings.
#[derive(Debug, Clone)]
pub struct RatingRow {
    /// Name (code).
    pub authority: String,
    /// Cases answered in the period.
    pub answered: i64,
    /// On time, percent.
    pub on_time: String,
    /// Overdue now.
    pub overdue_now: i64,
    /// Confirmed by citizens, percent.
    pub confirmed: String,
    /// Average satisfaction.
    pub satisfaction: String,
}

/// A district × category cell of the heat map.
#[derive(Debug, Clone)]
pub struct Cell {
    /// District.
    pub district: String,
    /// Category.
    pub category: String,
    /// Appeals in the period.
    pub count: i64,
    /// Colour strength 1–5.
    pub heat: i64,
    /// A pain point: far above its baseline.
    pub pain: bool,
}

/// The dashboard.
#[derive(Debug, Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    frame: Frame,
    from: String,
    to: String,
    received: i64,
    open_now: i64,
    overdue_now: i64,
    closed: i64,
    returned: i64,
    satisfaction: String,
    ratings_count: i64,
    by_category: Vec<Bar>,
    by_outcome: Vec<Bar>,
    per_day: Vec<Bar>,
    ratings: Vec<RatingRow>,
    cells: Vec<Cell>,
}

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD`
#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    from: Option<NaiveDate>,
    #[serde(default)]
    to: Option<NaiveDate>,
}

fn percent(p: Option<f64>) -> String {
    p.map(|p| format!("{p:.0}%")).unwrap_or_else(|| "—".into())
}

/// `GET /dashboard`
pub async fn dashboard<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Query(query): Query<PeriodQuery>,
) -> Response {
    if let Err(refused) = signed.may("hotline.v1.Reports", "DailyReport") {
        return refused;
    }
    let mut frame = signed.frame("Панель дня", "/dashboard");
    frame.live = true;
    let hotline = &state.hotline;
    let loaded = async {
        let period = hotline.period(query.from, query.to)?;
        let report = hotline.daily_report(period).await?;
        let (ratings, names) = hotline.authority_ratings(period).await?;
        let to = query.to.unwrap_or_else(|| kyiv_date(hotline.now()));
        let fortnight = hotline.period(Some(to - Days::new(13)), Some(to))?;
        let per_day = hotline.appeals_per_day(fortnight).await?;
        let (_, trends) = hotline.trends(Some(to), 7, 4).await?;
        let categories = hotline.categories().await?;
        let places = hotline.districts().await?;
        Ok::<_, AppError>((report, ratings, names, per_day, trends, categories, places))
    }
    .await;
    let (report, ratings, names, per_day, trends, categories, places) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return app_error(frame, err),
    };
    let category_name = |code: &str| {
        categories
            .iter()
            .find(|c| c.code == code)
            .map_or_else(|| code.to_string(), |c| format!("{code} {}", c.name))
    };
    let mut days: Vec<(String, i64)> = Vec::new();
    for (day, _section, n) in &per_day {
        match days.last_mut() {
            Some((d, total)) if *d == day.to_string() => *total += n,
            _ => days.push((day.to_string(), *n)),
        }
    }
    let top_cell = trends.iter().map(|t| t.count).max().unwrap_or(0).max(1);
    let page_data = DashboardPage {
        from: report.period.from.to_string(),
        to: report.period.to.to_string(),
        received: report.received,
        open_now: report.open_now,
        overdue_now: report.overdue_now,
        closed: report.closed.iter().map(|(_, n)| n).sum(),
        returned: report.returned_for_rework,
        satisfaction: report
            .satisfaction
            .map(|s| format!("{s:.1} з 5"))
            .unwrap_or_else(|| "—".into()),
        ratings_count: report.satisfaction_count,
        by_category: bars(&report.by_category, category_name),
        by_outcome: bars(&report.by_outcome, |code| {
            crate::domain::Outcome::from_code(code)
                .map_or_else(|| code.to_string(), |o| super::words::outcome(o).into())
        }),
        per_day: bars(&days, str::to_string),
        ratings: ratings
            .iter()
            .map(|r| RatingRow {
                authority: names
                    .get(&r.authority)
                    .map_or_else(|| r.authority.clone(), |n| format!("{n} ({})", r.authority)),
                answered: r.totals.answered,
                on_time: percent(r.on_time_percent),
                overdue_now: r.overdue_now,
                confirmed: percent(r.confirmed_percent),
                satisfaction: r
                    .satisfaction
                    .map(|s| format!("{s:.1}"))
                    .unwrap_or_else(|| "—".into()),
            })
            .collect(),
        cells: trends
            .iter()
            .take(30)
            .map(|t| Cell {
                district: places
                    .iter()
                    .find(|p| p.code == t.district)
                    .map_or_else(|| t.district.clone(), |p| p.name.clone()),
                category: category_name(&t.category),
                count: t.count,
                heat: (t.count * 5 / top_cell).clamp(1, 5),
                pain: t.notable,
            })
            .collect(),
        frame,
    };
    page(StatusCode::OK, &page_data)
}

/// `?report=daily|ratings&from=…&to=…`
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    report: String,
    #[serde(default)]
    from: Option<NaiveDate>,
    #[serde(default)]
    to: Option<NaiveDate>,
}

/// `GET /dashboard/export.xlsx`: the period's daily report or authorities' ratings as the XLSX
/// `hub report daily|ratings --format xlsx` writes, for the roles the API lets read that report.
pub async fn export<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Query(query): Query<ExportQuery>,
) -> Response {
    use crate::api::reports::{daily_response, ratings_response};
    use crate::cli::report::to_xlsx;
    use crate::cli::sheets::{daily_sheets, ratings_sheet};

    let method = match query.report.as_str() {
        "daily" => "DailyReport",
        "ratings" => "AuthorityRatings",
        _ => {
            return super::error_page(
                StatusCode::NOT_FOUND,
                signed.frame("Панель дня", "/dashboard"),
                "Такого звіту немає",
                "Звіти для завантаження: daily (щоденний), ratings (рейтинг органів).",
            );
        }
    };
    if let Err(refused) = signed.may("hotline.v1.Reports", method) {
        return refused;
    }
    let hotline = &state.hotline;
    let made = async {
        let period = hotline.period(query.from, query.to)?;
        let sheets = if method == "DailyReport" {
            daily_sheets(&daily_response(hotline.daily_report(period).await?))
        } else {
            let (ratings, names) = hotline.authority_ratings(period).await?;
            vec![ratings_sheet(&ratings_response(period, ratings, &names))]
        };
        let xlsx = to_xlsx(&sheets).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok::<_, AppError>((period, xlsx))
    }
    .await;
    match made {
        Ok((period, xlsx)) => {
            let name = format!("{}-{}-{}.xlsx", query.report, period.from, period.to);
            (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                xlsx,
            )
                .into_response()
        }
        Err(err) => app_error(signed.frame("Панель дня", "/dashboard"), err),
    }
}
