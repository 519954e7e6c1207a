//! Reports as sheets — titled tables of cells — whatever the output format: the daily report,
//! the authorities' ratings, the trends and the quarterly summary, each with the Law's outcome and
//! the citizens' satisfaction where they apply.

use hotline_proto::v1 as pb;

/// A cell of a sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A count.
    Int(i64),
    /// A measure (percent, hours, ratio).
    Num(f64),
    /// Nothing was measured: shown as `—`, empty in XLSX and CSV, null in JSON.
    Missing,
}

impl Cell {
    /// A measure, or [`Cell::Missing`] when there is none.
    pub fn measure(value: Option<f64>) -> Self {
        value.map_or(Self::Missing, Self::Num)
    }
}

impl Cell {
    /// As the terminal shows it.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num(n) => format!("{n:.2}"),
            Cell::Missing => "—".into(),
        }
    }

    /// As CSV holds it (nothing for a missing measure).
    pub fn csv_text(&self) -> String {
        match self {
            Cell::Missing => String::new(),
            other => other.text(),
        }
    }

    /// As JSON holds it (null for a missing measure).
    pub fn json(&self) -> serde_json::Value {
        match self {
            Cell::Text(t) => serde_json::Value::String(t.clone()),
            Cell::Int(i) => (*i).into(),
            Cell::Num(n) => serde_json::Number::from_f64((n * 100.0).round() / 100.0)
                .map_or(serde_json::Value::Null, Into::into),
            Cell::Missing => serde_json::Value::Null,
        }
    }
}

/// One table of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// Its title (also the XLSX sheet name, shortened).
    pub title: String,
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
}

fn sheet(title: &str, columns: &[&str], rows: Vec<Vec<Cell>>) -> Sheet {
    Sheet {
        title: title.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    }
}

fn counts(title: &str, items: &[pb::LabelCount]) -> Sheet {
    sheet(
        title,
        &["label", "count"],
        items
            .iter()
            .map(|c| vec![Cell::Text(c.label.clone()), Cell::Int(c.count)])
            .collect(),
    )
}

/// A duration statistic, missing when nothing was measured.
fn hours(stats: &pb::DurationStats, value: f64) -> Cell {
    if stats.count == 0 {
        Cell::Missing
    } else {
        Cell::Num(value)
    }
}

/// The daily report as sheets.
pub fn daily_sheets(r: &pb::DailyReportResponse) -> Vec<Sheet> {
    let answer = r.time_to_answer.unwrap_or_default();
    let close = r.time_to_close.unwrap_or_default();
    let summary = vec![
        ("received", Cell::Int(r.received)),
        ("open now", Cell::Int(r.open_now)),
        ("overdue now", Cell::Int(r.overdue_now)),
        ("returned for rework", Cell::Int(r.returned_for_rework)),
        ("answers measured", Cell::Int(answer.count)),
        (
            "time to answer, median hours",
            hours(&answer, answer.median_hours),
        ),
        (
            "time to answer, p90 hours",
            hours(&answer, answer.p90_hours),
        ),
        ("closings measured", Cell::Int(close.count)),
        (
            "time to close, median hours",
            hours(&close, close.median_hours),
        ),
        ("time to close, p90 hours", hours(&close, close.p90_hours)),
        ("consultations given", Cell::Int(r.consultations)),
        ("satisfaction, average 1-5", Cell::measure(r.satisfaction)),
        ("satisfaction scores given", Cell::Int(r.satisfaction_count)),
        ("closed over disagreement", Cell::Int(r.disagreements)),
    ];
    vec![
        sheet(
            &format!("Daily report {} to {}", r.from, r.to),
            &["measure", "value"],
            summary
                .into_iter()
                .map(|(k, v)| vec![Cell::Text(k.into()), v])
                .collect(),
        ),
        counts("Received by channel", &r.by_channel),
        counts("Received by kind", &r.by_kind),
        counts("Received by category", &r.by_category),
        counts("Received by district", &r.by_district),
        counts("Closed, by how", &r.closed),
        counts("Ended, by outcome", &r.by_outcome),
    ]
}

/// Authorities' ratings as a sheet.
pub fn ratings_sheet(r: &pb::AuthorityRatingsResponse) -> Sheet {
    sheet(
        &format!("Authorities {} to {}", r.from, r.to),
        &[
            "authority",
            "name",
            "assigned",
            "answered",
            "on time %",
            "overdue now",
            "returned %",
            "confirmed %",
            "repeats",
            "satisfaction",
            "resolved",
            "explained",
            "refused",
            "forwarded",
            "not competent",
        ],
        r.ratings
            .iter()
            .map(|a| {
                vec![
                    Cell::Text(a.authority_code.clone()),
                    Cell::Text(a.authority_name.clone()),
                    Cell::Int(a.assigned),
                    Cell::Int(a.answered),
                    Cell::measure(a.on_time_percent),
                    Cell::Int(a.overdue_now),
                    Cell::measure(a.returned_percent),
                    Cell::measure(a.confirmed_percent),
                    Cell::Int(a.repeats),
                    Cell::measure(a.satisfaction),
                    Cell::Int(a.resolved),
                    Cell::Int(a.explained),
                    Cell::Int(a.refused),
                    Cell::Int(a.forwarded),
                    Cell::Int(a.not_competent),
                ]
            })
            .collect(),
    )
}

/// Trends as sheets: the method, then the cells.
pub fn trends_sheets(r: &pb::TrendsResponse) -> Vec<Sheet> {
    vec![
        sheet(
            &format!("Trends {} to {}", r.from, r.to),
            &["method"],
            vec![vec![Cell::Text(r.method.clone())]],
        ),
        sheet(
            "District x category",
            &[
                "district",
                "category",
                "count",
                "baseline",
                "ratio",
                "p-value",
                "pain point",
            ],
            r.cells
                .iter()
                .map(|c| {
                    vec![
                        Cell::Text(c.district_code.clone()),
                        Cell::Text(c.category_code.clone()),
                        Cell::Int(c.count),
                        Cell::Num(c.baseline),
                        Cell::Num(c.ratio),
                        Cell::Text(format!("{:.2e}", c.p_value)),
                        Cell::Text(if c.notable {
                            "yes".into()
                        } else {
                            String::new()
                        }),
                    ]
                })
                .collect(),
        ),
    ]
}

/// The quarterly summary as a sheet, with a total over the sections (subjects are already counted
/// in their section).
pub fn quarterly_sheet(r: &pb::QuarterlySummaryResponse) -> Sheet {
    let measures: [fn(&pb::QuarterRow) -> i64; 10] = [
        |q| q.proposals,
        |q| q.applications,
        |q| q.complaints,
        |q| q.total,
        |q| q.resolved,
        |q| q.explained,
        |q| q.refused,
        |q| q.forwarded,
        |q| q.consultations,
        |q| q.total - q.resolved - q.explained - q.refused - q.forwarded - q.consultations,
    ];
    let row = |code: String, name: String, values: Vec<i64>| {
        let mut row = vec![Cell::Text(code), Cell::Text(name)];
        row.extend(values.into_iter().map(Cell::Int));
        row
    };
    let mut rows: Vec<Vec<Cell>> = r
        .rows
        .iter()
        .map(|q| {
            let values = measures.iter().map(|m| m(q)).collect();
            row(q.category_code.clone(), q.category_name.clone(), values)
        })
        .collect();
    let sections: Vec<&pb::QuarterRow> = r
        .rows
        .iter()
        .filter(|q| !q.category_code.contains('.'))
        .collect();
    let totals = measures
        .iter()
        .map(|m| sections.iter().map(|q| m(q)).sum())
        .collect();
    rows.push(row("total".into(), String::new(), totals));
    sheet(
        &format!("Quarter {} to {}", r.from, r.to),
        &[
            "code",
            "category",
            "proposals",
            "applications",
            "complaints",
            "total",
            "resolved",
            "explained",
            "refused",
            "forwarded",
            "consultations",
            "other or open",
        ],
        rows,
    )
}
