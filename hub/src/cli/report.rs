//! `hub report …`: the monitoring reports as terminal tables, CSV, JSON or XLSX, and charts as SVG.
//! Every report becomes one or more [`Sheet`]s; each output format renders sheets.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use hotline_proto::render::table;
use hotline_proto::v1 as pb;
use hotline_proto::v1::reports_client::ReportsClient;

use super::CliError;
use super::connect::{HubArgs, channel};
use crate::principal::StaffRole;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables in the terminal.
    Table,
    /// Comma-separated values.
    Csv,
    /// JSON.
    Json,
    /// An Excel workbook, one sheet per table (needs --out).
    Xlsx,
}

/// `hub report …`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Connection.
    #[command(flatten)]
    pub hub: HubArgs,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value = "table")]
    pub format: Format,
    /// Write to this file instead of the terminal.
    #[arg(long, global = true)]
    pub out: Option<PathBuf>,
    /// Which report.
    #[command(subcommand)]
    pub command: ReportCommand,
}

/// A period of dates.
#[derive(Debug, Clone, Args)]
pub struct PeriodArgs {
    /// First day (YYYY-MM-DD) [default: --to].
    #[arg(long, default_value = "")]
    pub from: String,
    /// Last day, included (YYYY-MM-DD) [default: today].
    #[arg(long, default_value = "")]
    pub to: String,
}

/// Reports.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Daily monitoring: received, closed and how, open, overdue, returned, times to answer and close.
    Daily(PeriodArgs),
    /// Authorities' ratings, worst first.
    Authorities(PeriodArgs),
    /// District × category against the previous periods, pain points flagged.
    Trends {
        /// Last day of the period examined [default: today].
        #[arg(long, default_value = "")]
        to: String,
        /// Days per period.
        #[arg(long, default_value_t = 7)]
        period_days: i32,
        /// Earlier periods forming the baseline.
        #[arg(long, default_value_t = 4)]
        baseline: i32,
    },
    /// The quarterly summary by classifier code and kind.
    Quarterly {
        /// Year.
        #[arg(long)]
        year: i32,
        /// Quarter (1-4).
        #[arg(long)]
        quarter: i32,
    },
    /// Draw a chart as SVG (--out FILE.svg).
    Chart {
        /// Which chart.
        #[arg(value_enum)]
        chart: Chart,
        /// The period (per-day and heat map; the heat map shows its last 7 days).
        #[command(flatten)]
        period: PeriodArgs,
    },
}

/// Charts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Chart {
    /// Appeals per day, stacked by category section.
    PerDay,
    /// Overdue cases now, by authority.
    Overdue,
    /// District × category heat map of the last period, pain points outlined.
    Heatmap,
}

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
    fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num(n) => format!("{n:.2}"),
            Cell::Missing => "—".into(),
        }
    }

    fn csv_text(&self) -> String {
        match self {
            Cell::Missing => String::new(),
            other => other.text(),
        }
    }

    fn json(&self) -> serde_json::Value {
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
            Cell::Num(answer.median_hours),
        ),
        ("time to answer, p90 hours", Cell::Num(answer.p90_hours)),
        ("closings measured", Cell::Int(close.count)),
        ("time to close, median hours", Cell::Num(close.median_hours)),
        ("time to close, p90 hours", Cell::Num(close.p90_hours)),
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

/// The quarterly summary as a sheet.
pub fn quarterly_sheet(r: &pb::QuarterlySummaryResponse) -> Sheet {
    let mut rows: Vec<Vec<Cell>> = r
        .rows
        .iter()
        .map(|q| {
            vec![
                Cell::Text(q.category_code.clone()),
                Cell::Text(q.category_name.clone()),
                Cell::Int(q.proposals),
                Cell::Int(q.applications),
                Cell::Int(q.complaints),
                Cell::Int(q.total),
            ]
        })
        .collect();
    rows.push(vec![
        Cell::Text("total".into()),
        Cell::Text(String::new()),
        Cell::Int(
            r.rows
                .iter()
                .filter(|q| !q.category_code.contains('.'))
                .map(|q| q.proposals)
                .sum(),
        ),
        Cell::Int(
            r.rows
                .iter()
                .filter(|q| !q.category_code.contains('.'))
                .map(|q| q.applications)
                .sum(),
        ),
        Cell::Int(
            r.rows
                .iter()
                .filter(|q| !q.category_code.contains('.'))
                .map(|q| q.complaints)
                .sum(),
        ),
        Cell::Int(r.total),
    ]);
    sheet(
        &format!("Quarter {} to {}", r.from, r.to),
        &[
            "code",
            "category",
            "proposals",
            "applications",
            "complaints",
            "total",
        ],
        rows,
    )
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// CSV: one sheet as is; several as one table with the sheet's title in the first column.
pub fn to_csv(sheets: &[Sheet]) -> String {
    let mut out = String::new();
    let many = sheets.len() > 1;
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",")
            + "\n"
    };
    if many {
        out.push_str(&line(vec!["table".into(), "label".into(), "value".into()]));
        for s in sheets {
            for row in &s.rows {
                let label = row.first().map(Cell::csv_text).unwrap_or_default();
                let value = row.get(1).map(Cell::csv_text).unwrap_or_default();
                out.push_str(&line(vec![s.title.clone(), label, value]));
            }
        }
    } else if let Some(s) = sheets.first() {
        out.push_str(&line(s.columns.clone()));
        for row in &s.rows {
            out.push_str(&line(row.iter().map(Cell::text).collect()));
        }
    }
    out
}

/// JSON: a list of sheets, rows as objects.
pub fn to_json(sheets: &[Sheet]) -> serde_json::Value {
    serde_json::Value::Array(
        sheets
            .iter()
            .map(|s| {
                let rows: Vec<serde_json::Value> = s
                    .rows
                    .iter()
                    .map(|row| {
                        serde_json::Value::Object(
                            s.columns
                                .iter()
                                .cloned()
                                .zip(row.iter().map(Cell::json))
                                .collect(),
                        )
                    })
                    .collect();
                serde_json::json!({ "title": s.title, "rows": rows })
            })
            .collect(),
    )
}

/// XLSX: one worksheet per sheet, numbers as numbers.
pub fn to_xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, CliError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let xlsx = |e: rust_xlsxwriter::XlsxError| CliError::Io(format!("xlsx: {e}"));
    for (i, s) in sheets.iter().enumerate() {
        let sheet = workbook.add_worksheet();
        // Sheet names: at most 31 characters, no []:*?/\ and unique.
        let name: String = s
            .title
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(27)
            .collect();
        sheet
            .set_name(format!("{} {name}", i + 1).trim())
            .map_err(xlsx)?;
        for (c, title) in s.columns.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, title, &bold)
                .map_err(xlsx)?;
        }
        for (r, row) in s.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (row, col) = (r as u32 + 1, c as u16);
                match cell {
                    Cell::Text(t) => sheet.write_string(row, col, t).map_err(xlsx)?,
                    Cell::Int(n) => sheet.write_number(row, col, *n as f64).map_err(xlsx)?,
                    Cell::Num(n) => sheet.write_number(row, col, *n).map_err(xlsx)?,
                    Cell::Missing => sheet,
                };
            }
        }
        sheet.autofit();
    }
    workbook.save_to_buffer().map_err(xlsx)
}

fn as_table(sheets: &[Sheet]) -> String {
    let mut out = String::new();
    for s in sheets {
        let rows: Vec<Vec<String>> = s
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::text).collect())
            .collect();
        let columns: Vec<&str> = s.columns.iter().map(String::as_str).collect();
        let _ = writeln!(out, "{}\n{}", s.title, table(&columns, &rows));
    }
    out
}

fn emit(bytes: Vec<u8>, out: &Option<PathBuf>) -> Result<(), CliError> {
    match out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| CliError::Io(format!("{}: {e}", path.display())))?;
            eprintln!("wrote {}", path.display());
        }
        None => {
            use std::io::Write;
            let _ = std::io::stdout().write_all(&bytes);
        }
    }
    Ok(())
}

/// Renders sheets in `format` to `out` (or the terminal).
pub fn write_sheets(
    sheets: &[Sheet],
    format: Format,
    out: &Option<PathBuf>,
) -> Result<(), CliError> {
    let bytes = match format {
        Format::Table => as_table(sheets).into_bytes(),
        Format::Csv => to_csv(sheets).into_bytes(),
        Format::Json => serde_json::to_vec_pretty(&to_json(sheets)).expect("JSON values serialize"),
        Format::Xlsx => {
            if out.is_none() {
                return Err(CliError::Usage(
                    "--format xlsx needs --out FILE.xlsx".into(),
                ));
            }
            to_xlsx(sheets)?
        }
    };
    emit(bytes, out)
}

/// Runs `hub report …`.
pub async fn report(args: ReportArgs) -> Result<(), CliError> {
    let mut client = ReportsClient::new(channel(&args.hub, StaffRole::Supervisor).await?);
    let period = |p: &PeriodArgs| pb::PeriodRequest {
        from: p.from.clone(),
        to: p.to.clone(),
    };
    let sheets = match &args.command {
        ReportCommand::Daily(p) => {
            daily_sheets(&client.daily_report(period(p)).await?.into_inner())
        }
        ReportCommand::Authorities(p) => vec![ratings_sheet(
            &client.authority_ratings(period(p)).await?.into_inner(),
        )],
        ReportCommand::Trends {
            to,
            period_days,
            baseline,
        } => trends_sheets(
            &client
                .trends(pb::TrendsRequest {
                    to: to.clone(),
                    period_days: *period_days,
                    baseline_periods: *baseline,
                })
                .await?
                .into_inner(),
        ),
        ReportCommand::Quarterly { year, quarter } => {
            vec![quarterly_sheet(
                &client
                    .quarterly_summary(pb::QuarterRequest {
                        year: *year,
                        quarter: *quarter,
                    })
                    .await?
                    .into_inner(),
            )]
        }
        ReportCommand::Chart { chart, period: p } => {
            let svg = match chart {
                Chart::PerDay => {
                    super::chart::per_day(&client.appeals_per_day(period(p)).await?.into_inner())
                }
                Chart::Overdue => {
                    super::chart::overdue(&client.authority_ratings(period(p)).await?.into_inner())
                }
                Chart::Heatmap => super::chart::heatmap(
                    &client
                        .trends(pb::TrendsRequest {
                            to: p.to.clone(),
                            period_days: 7,
                            baseline_periods: 4,
                        })
                        .await?
                        .into_inner(),
                ),
            };
            if args.out.is_none() {
                return Err(CliError::Usage("charts need --out FILE.svg".into()));
            }
            return emit(svg.into_bytes(), &args.out);
        }
    };
    write_sheets(&sheets, args.format, &args.out)
}
