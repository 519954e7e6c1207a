//! The `agency-client` command line: `run` (the daemon) and the commands clerks and scripts use.
//! Reports are written to the outbox first and sent at once when the hub is reachable; otherwise the
//! daemon sends them later. Commands that work on the local store alone (`cases`, `case show`,
//! `status`, `receipts`, `hooks retry`) need neither the hub nor the TLS files. Readable output by
//! default, `--json` for scripts.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use hotline_proto::v1 as pb;

use crate::client::{Action, Agency, ClientError, Sent};
use crate::config::{ClientOptions, ConfigError, Settings};
use crate::local::LocalStore;

mod inspect;
mod users;

pub use users::UserCommand;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The client.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The local store.
    #[error(transparent)]
    Local(#[from] crate::local::LocalError),
    /// Bad arguments or a refused request.
    #[error("{0}")]
    Failed(String),
}

/// The agency client of the hotline hub.
#[derive(Debug, Parser)]
#[command(name = "agency-client", version, about)]
pub struct Cli {
    /// Configuration file (TOML, the same keys as the flags, with `_`).
    #[arg(long, global = true, env = "AGENCY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Connection, store and hooks.
    #[command(flatten)]
    pub options: ClientOptions,
    /// Print JSON (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Progress a report can state.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportStatus {
    /// Work is under way.
    InProgress,
}

/// How a case ended, as the Law names it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutcomeArg {
    /// Resolved positively.
    Resolved,
    /// Explained (роз'яснено).
    Explained,
    /// Refused; `--outcome-detail` gives the legal reason (art. 15).
    Refused,
    /// Forwarded; `--outcome-detail` names the competent body (art. 7).
    Forwarded,
    /// Not within this authority's competence.
    NotCompetent,
}

impl From<OutcomeArg> for pb::Outcome {
    fn from(outcome: OutcomeArg) -> Self {
        match outcome {
            OutcomeArg::Resolved => Self::Resolved,
            OutcomeArg::Explained => Self::Explained,
            OutcomeArg::Refused => Self::Refused,
            OutcomeArg::Forwarded => Self::Forwarded,
            OutcomeArg::NotCompetent => Self::NotCompetent,
        }
    }
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: receive cases into the local store, run the hooks, send the outbox, until
    /// SIGTERM or Ctrl-C (a second one stops at once).
    Run,
    /// List the cases in the local store.
    Cases {
        /// Only cases in this status (assigned, accepted, in_progress, resolved, …).
        #[arg(long)]
        status: Option<String>,
    },
    /// One case.
    Case {
        /// What to do with it.
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// Accept a case as within the authority's competence.
    Accept {
        /// Case id.
        case_id: i64,
    },
    /// Decline a case.
    Decline {
        /// Case id.
        case_id: i64,
        /// Why (not our competence, duplicate, …).
        #[arg(long)]
        reason: String,
    },
    /// Report progress.
    Report {
        /// Case id.
        case_id: i64,
        /// The progress stated.
        #[arg(long, value_enum, default_value = "in-progress")]
        status: ReportStatus,
        /// What is being done.
        #[arg(long)]
        comment: String,
        /// Planned completion date (YYYY-MM-DD).
        #[arg(long)]
        planned: Option<NaiveDate>,
    },
    /// Ask the contact centre a question about a case.
    Ask {
        /// Case id.
        case_id: i64,
        /// The question.
        #[arg(long)]
        question: String,
    },
    /// Submit the result of a case.
    Resolve {
        /// Case id.
        case_id: i64,
        /// File with the answer to the citizen.
        #[arg(long)]
        answer_file: PathBuf,
        /// Measures taken.
        #[arg(long, default_value = "")]
        measures: String,
        /// Documents to attach.
        #[arg(long)]
        attach: Vec<PathBuf>,
        /// How the case ended.
        #[arg(long, value_enum)]
        outcome: OutcomeArg,
        /// For `refused`: the legal reason (art. 15); for `forwarded`: the competent body (art. 7).
        #[arg(long, default_value = "")]
        outcome_detail: String,
    },
    /// Ask for more time on a case (only a one-month term can be extended, to at most 45 days
    /// from receipt); the contact centre grants or refuses it.
    Extend {
        /// Case id.
        case_id: i64,
        /// The deadline asked for (YYYY-MM-DD).
        #[arg(long)]
        to: NaiveDate,
        /// Why more time is needed.
        #[arg(long)]
        reason: String,
    },
    /// Connection, cursor and acknowledgement, outbox, hook queue and dead letters, last error.
    Status,
    /// The hub's signed receipts kept locally.
    Receipts {
        /// What to do.
        #[command(subcommand)]
        command: ReceiptsCommand,
    },
    /// The clerks who may sign in to the desk (`run --desk`).
    User {
        /// What to do.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The hooks' queue.
    Hooks {
        /// What to do.
        #[command(subcommand)]
        command: HooksCommand,
    },
}

/// `hooks …`
#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Put every dead-lettered event back in the hook queue (after the hook was fixed); the running
    /// daemon picks them up within seconds.
    Retry,
}

/// `case …`
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Show a case with its citizen contact, answer and documents.
    Show {
        /// Case id.
        case_id: i64,
    },
}

/// `receipts …`
#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// Check every kept receipt against the hub's receipt key; exits 1 if any does not check out.
    Verify,
    /// Print every kept receipt as a JSON line (for `hub receipt verify FILE`).
    Export,
}

fn media_type(path: &std::path::Path) -> String {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("txt") => "text/plain",
        Some("doc") => "application/msword",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
    .to_string()
}

/// Runs a parsed command line; `shutdown` ends `run`.
pub async fn run(
    cli: Cli,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), CliError> {
    let metrics_listen = crate::metrics::address(cli.options.metrics_listen, cli.config.as_deref());
    let settings = Settings::resolve(cli.options, cli.config.as_deref())?;
    let json = cli.json;
    let action = match cli.command {
        Command::Run => {
            let agency = Agency::open_with(settings.client, settings.daemon).await?;
            if let Some(addr) = metrics_listen {
                let bound = crate::metrics::listen(addr, agency.local.clone())
                    .await
                    .map_err(|e| ClientError::Invalid(format!("--metrics-listen {addr}: {e}")))?;
                eprintln!("agency-client: metrics on http://{bound}/metrics");
            }
            // The desk stops with the daemon: the shutdown future is shared through a channel.
            let (stopping, stopped) = tokio::sync::watch::channel(false);
            let shutdown = async move {
                shutdown.await;
                let _ = stopping.send(true);
            };
            let desk = match settings.desk_listen {
                Some(addr) => {
                    let mut stopped = stopped.clone();
                    let (bound, task) = crate::desk::spawn(
                        addr,
                        agency.clone(),
                        settings.desk.clone(),
                        async move {
                            let _ = stopped.wait_for(|s| *s).await;
                        },
                    )
                    .await
                    .map_err(|e| ClientError::Invalid(format!("--desk {addr}: {e}")))?;
                    eprintln!("agency-client: the desk on http://{bound}/");
                    Some(task)
                }
                None => None,
            };
            eprintln!(
                "agency-client: following {} (local store {})",
                agency.config.hub,
                agency.config.data_dir.display()
            );
            let result = agency.run(shutdown).await;
            drop(stopped);
            if let Some(desk) = desk
                && let Ok(Err(err)) = desk.await
            {
                tracing::error!(error = %err, "the desk stopped with an error");
            }
            agency.local.close().await;
            result?;
            return Ok(());
        }
        Command::Cases { status } => {
            let local = LocalStore::open(&settings.client.data_dir).await?;
            return inspect::cases(&local, status.as_deref(), json).await;
        }
        Command::Case {
            command: CaseCommand::Show { case_id },
        } => {
            let local = LocalStore::open(&settings.client.data_dir).await?;
            return inspect::case(&local, case_id, json).await;
        }
        Command::Status => {
            let local = LocalStore::open(&settings.client.data_dir).await?;
            return inspect::status(&local, &settings, json).await;
        }
        Command::Receipts { command } => {
            let local = LocalStore::open(&settings.client.data_dir).await?;
            return inspect::receipts(&local, &settings.client, command).await;
        }
        Command::User { command } => {
            let local = LocalStore::open(&settings.client.data_dir).await?;
            return users::run(&local, command).await;
        }
        Command::Hooks {
            command: HooksCommand::Retry,
        } => {
            let local = LocalStore::open(&settings.client.data_dir).await?;
            let count = local.retry_dead_hooks().await?;
            if json {
                println!("{}", serde_json::json!({ "requeued": count }));
            } else {
                println!("{count} dead-lettered events back in the hook queue");
            }
            return Ok(());
        }
        Command::Accept { case_id } => (case_id, Action::Accept),
        Command::Decline { case_id, reason } => (case_id, Action::Decline { reason }),
        Command::Report {
            case_id,
            status: ReportStatus::InProgress,
            comment,
            planned,
        } => (case_id, Action::Report { comment, planned }),
        Command::Ask { case_id, question } => (case_id, Action::Ask { question }),
        Command::Extend {
            case_id,
            to,
            reason,
        } => (case_id, Action::Extend { to, reason }),
        Command::Resolve {
            case_id,
            answer_file,
            measures,
            attach,
            outcome,
            outcome_detail,
        } => {
            let answer = std::fs::read_to_string(&answer_file)
                .map_err(|e| CliError::Failed(format!("{}: {e}", answer_file.display())))?;
            let mut attachments = Vec::new();
            for path in attach {
                let bytes = std::fs::read(&path)
                    .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                attachments.push((name, media_type(&path), bytes));
            }
            (
                case_id,
                Action::Resolve {
                    answer,
                    measures,
                    attachments,
                    outcome: outcome.into(),
                    outcome_detail,
                },
            )
        }
    };
    let (case_id, action) = action;
    let agency = Agency::open_with(settings.client, settings.daemon).await?;
    let request_id = agency.act(case_id, action).await?;
    let outcome = agency
        .send_pending()
        .await?
        .into_iter()
        .find(|(id, _)| *id == request_id)
        .map(|(_, sent)| sent)
        .unwrap_or_else(|| Sent::Queued("an earlier report is still waiting".into()));
    let out = agency.local.outgoing(&request_id).await?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "request_id": request_id, "case_id": case_id,
                "state": out.as_ref().map(|o| o.state.clone()),
                "outcome": format!("{outcome:?}"),
            })
        );
    }
    match outcome {
        Sent::Confirmed => {
            if !json {
                println!("case {case_id}: confirmed by the hub (request {request_id})");
            }
            Ok(())
        }
        Sent::Queued(reason) => {
            if !json {
                println!(
                    "case {case_id}: queued in the outbox, the daemon will send it ({reason})"
                );
            }
            Ok(())
        }
        Sent::Refused(reason) => Err(CliError::Failed(format!(
            "case {case_id}: the hub refused: {reason}"
        ))),
    }
}
