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
pub use super::sheets::{Cell, Sheet, daily_sheets, quarterly_sheet, ratings_sheet, trends_sheets};
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
    /// The month's open data (nothing personal): one row per appeal, as published at
    /// /open-data/YYYY/MM.json on the public listener.
    OpenData {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
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
    /// How the period's appeals ended, by outcome.
    Outcomes,
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
            out.push_str(&line(row.iter().map(Cell::csv_text).collect()));
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
        ReportCommand::OpenData { month } => {
            let rows = client
                .open_data_month(pb::OpenDataMonthRequest {
                    month: month.clone(),
                })
                .await?
                .into_inner()
                .rows;
            vec![super::sheets::open_data_sheet(month, &rows)]
        }
        ReportCommand::Chart { chart, period: p } => {
            let svg = match chart {
                Chart::PerDay => {
                    super::chart::per_day(&client.appeals_per_day(period(p)).await?.into_inner())
                }
                Chart::Overdue => {
                    super::chart::overdue(&client.authority_ratings(period(p)).await?.into_inner())
                }
                Chart::Outcomes => {
                    super::chart::outcomes(&client.daily_report(period(p)).await?.into_inner())
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
