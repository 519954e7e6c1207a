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
        ("priority appeals received", Cell::Int(r.priority_received)),
        ("emergencies received", Cell::Int(r.emergencies_received)),
        ("incidents opened", Cell::Int(r.incidents_opened)),
        ("appeals in incidents", Cell::Int(r.incident_appeals)),
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
            "priority assigned",
            "priority on time %",
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
                    Cell::Int(a.priority_assigned),
                    Cell::measure(a.priority_on_time_percent),
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

/// The signs in the order of the official form.
const SIGNS: [&str; 5] = ["primary", "repeat", "duplicate", "multiple", "mass"];

/// The quarterly summary as a sheet in the layout of the official quarterly form: a row per
/// classifier code (sections, then their subjects) and a total over the sections (subjects are
/// already counted in their section); columns by kind, by sign, by author category (those that
/// occur, named from the classifier), collective and anonymous, then by outcome.
pub fn quarterly_sheet(r: &pb::QuarterlySummaryResponse) -> Sheet {
    let count = |list: &[pb::LabelCount], label: &str| {
        list.iter()
            .find(|c| c.label == label)
            .map_or(0, |c| c.count)
    };
    let authors: std::collections::BTreeSet<&str> = r
        .rows
        .iter()
        .flat_map(|q| q.by_author_category.iter().map(|c| c.label.as_str()))
        .collect();
    let values = |q: &pb::QuarterRow| -> Vec<i64> {
        let mut v = vec![q.proposals, q.applications, q.complaints, q.total];
        v.extend(SIGNS.iter().map(|s| count(&q.by_sign, s)));
        v.extend(authors.iter().map(|a| count(&q.by_author_category, a)));
        v.extend([
            q.collective,
            q.anonymous,
            q.resolved,
            q.explained,
            q.refused,
            q.forwarded,
            q.consultations,
            q.total - q.resolved - q.explained - q.refused - q.forwarded - q.consultations,
        ]);
        v
    };
    let row = |code: String, name: String, values: Vec<i64>| {
        let mut row = vec![Cell::Text(code), Cell::Text(name)];
        row.extend(values.into_iter().map(Cell::Int));
        row
    };
    let mut rows: Vec<Vec<Cell>> = r
        .rows
        .iter()
        .map(|q| row(q.category_code.clone(), q.category_name.clone(), values(q)))
        .collect();
    let sections: Vec<Vec<i64>> = r
        .rows
        .iter()
        .filter(|q| !q.category_code.contains('.'))
        .map(values)
        .collect();
    let width = sections.first().map_or(0, Vec::len);
    let totals = (0..width)
        .map(|i| sections.iter().map(|v| v[i]).sum())
        .collect();
    rows.push(row("total".into(), String::new(), totals));
    let mut columns: Vec<String> = [
        "code",
        "category",
        "proposals",
        "applications",
        "complaints",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect();
    columns.push("total".into());
    columns.extend(SIGNS.iter().map(|s| format!("sign: {s}")));
    columns.extend(authors.iter().map(|a| {
        let name = r.author_category_names.get(*a).map_or("", String::as_str);
        format!("author: {a} {name}").trim_end().to_string()
    }));
    columns.extend(
        [
            "collective",
            "anonymous",
            "resolved",
            "explained",
            "refused",
            "forwarded",
            "consultations",
            "other or open",
        ]
        .iter()
        .map(|c| c.to_string()),
    );
    Sheet {
        title: format!("Quarter {} to {}", r.from, r.to),
        columns,
        rows,
    }
}

/// The month's open data as a sheet.
pub fn open_data_sheet(month: &str, rows: &[pb::OpenDataRow]) -> Sheet {
    sheet(
        &format!("Open data {month}"),
        &[
            "id",
            "received_at",
            "section",
            "subject",
            "subject_name",
            "settlement",
            "district",
            "channel",
            "outcome",
            "closed_at",
        ],
        rows.iter()
            .map(|r| {
                [
                    &r.id,
                    &r.received_at,
                    &r.section,
                    &r.subject,
                    &r.subject_name,
                    &r.settlement,
                    &r.district,
                    &r.channel,
                    &r.outcome,
                    &r.closed_at,
                ]
                .into_iter()
                .map(|v| Cell::Text(v.clone()))
                .collect()
            })
            .collect(),
    )
}
