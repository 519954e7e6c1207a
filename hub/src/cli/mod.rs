//! The `hub` command line: `serve` and `migrate` run the hub itself; the staff commands (`appeal …`,
//! `authority …`, `directory load`) talk to a running hub over gRPC and print readable tables, or JSON
//! with `--json`.
//!
//! # Layout
//! - this file: the command tree (clap), and `serve`/`migrate` (wired in [`crate::server`]).
//! - [`appeal`]: `hub appeal …`, one gRPC call each; [`directory`]: `hub authority|directory …`.
//! - [`connect`]: which hub, which certificate, how to print; [`args`]: domain values on the command line.
//! - [`report`], [`chart`]: `hub report …`, as tables, CSV, JSON, XLSX and SVG charts.
//! - [`local`]: `pki` and `audit`, which work on files and the database on the hub's host.
//! - [`staff`]: `hub staff password set`, the console's passwords, on the hub's host.
//! - [`status`]: `hub status`, the on-duty view; [`backup`]: `hub backup` and `hub restore`.
//! - [`output`]: tables and JSON.

pub mod appeal;
pub mod args;
pub mod backup;
pub mod chart;
pub mod connect;
pub mod directory;
pub mod exchange;
pub mod incident;
pub mod local;
pub mod output;
pub mod register;
pub mod report;
pub mod schema;
pub mod sheets;
pub mod staff;
pub mod status;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::AppError;
use crate::config::{ConfigError, ServeConfig, ServeOptions};
use crate::server::{self, ServeError};
use crate::store::StoreError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The hub refused the call.
    #[error("{}: {}", code_name(.0.code()), .0.message())]
    Status(#[from] tonic::Status),
    /// The hub could not be reached.
    #[error("cannot reach the hub: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A use case failed.
    #[error(transparent)]
    App(#[from] AppError),
    /// The hub could not start or failed while serving.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The arguments do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// Certificate authority work failed.
    #[error(transparent)]
    Pki(#[from] crate::pki::PkiError),
    /// The TLS material does not load.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// A backup or restore did not happen.
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    /// `hub audit verify` or `hub receipt verify` found something altered.
    #[error("{0}")]
    AuditBroken(String),
}

/// The canonical name of a status code: `FAILED_PRECONDITION` for `FailedPrecondition`.
fn code_name(code: tonic::Code) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// The hotline hub: the server and the staff commands.
#[derive(Debug, Parser)]
#[command(name = "hub", version, about)]
pub struct Cli {
    /// Configuration file (TOML, `[serve]` table).
    #[arg(long, global = true, env = "HOTLINE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub (embedded SQLite in ./data unless --database-url says otherwise).
    Serve(ServeOptions),
    /// Apply the database migrations and exit.
    Migrate(ServeOptions),
    /// Appeals: register, show, search, assign, verify, call back, close.
    Appeal(connect::Connection<appeal::AppealCommand>),
    /// The exchange with the national contact centre: mappings, held records, forwarding up,
    /// and files for partners without a live link.
    Exchange(connect::Connection<exchange::ExchangeCommand>),
    /// Incidents: many appeals about one event, answered once.
    Incident(connect::Connection<incident::IncidentCommand>),
    /// Authorities of the directory.
    Authority(connect::Connection<directory::AuthorityCommand>),
    /// The directory as a whole.
    Directory(connect::Connection<directory::DirectoryCommand>),
    /// Monitoring reports and charts.
    Report(report::ReportArgs),
    /// The hotline's certificate authority: make a CA, issue and revoke certificates.
    Pki(local::PkiArgs),
    /// The audit trail (read from the database directly, on the hub's host).
    Audit(local::AuditArgs),
    /// Signed receipts given to authorities.
    Receipt(local::ReceiptArgs),
    /// Staff sign-in to the console: `hub staff password set LOGIN --role R --password-stdin`
    /// (on the hub's host, on the database directly).
    Staff(staff::StaffArgs),
    /// For the staff on duty: connected and silent authorities, lagging streams, failed calls,
    /// deadlines, the database.
    Status(status::StatusArgs),
    /// Write a consistent backup of the database while the hub runs.
    Backup(backup::BackupArgs),
    /// Restore a backup (SQLite: with the hub stopped; PostgreSQL: into a new, empty database).
    Restore(backup::RestoreArgs),
}

/// Runs a parsed command line; `shutdown` ends `serve`.
pub async fn run(
    cli: Cli,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(options) => Ok(server::serve(
            ServeConfig::resolve(options, cli.config.as_deref())?,
            shutdown,
        )
        .await?),
        Command::Migrate(options) => {
            let config = ServeConfig::resolve(options, cli.config.as_deref())?;
            server::open(&config).await?;
            println!(
                "migrations applied to {}",
                server::redact(&config.database_url)
            );
            Ok(())
        }
        Command::Appeal(c) => appeal::run(c).await,
        Command::Incident(c) => incident::run(c).await,
        Command::Exchange(c) => exchange::run(c).await,
        Command::Authority(c) => directory::authority(c).await,
        Command::Directory(c) => directory::directory(c).await,
        Command::Report(args) => report::report(args).await,
        Command::Pki(args) => local::pki(args),
        Command::Audit(args) => local::audit(args, cli.config.as_deref()).await,
        Command::Receipt(args) => local::receipt(args),
        Command::Staff(args) => staff::staff(args, cli.config.as_deref()).await,
        Command::Status(args) => status::status(args).await,
        Command::Backup(args) => backup::backup(args, cli.config.as_deref()).await,
        Command::Restore(args) => backup::restore(args, cli.config.as_deref()).await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_codes_read_as_grpc_names_them() {
        assert_eq!(
            super::code_name(tonic::Code::FailedPrecondition),
            "FAILED_PRECONDITION"
        );
        assert_eq!(super::code_name(tonic::Code::NotFound), "NOT_FOUND");
    }
}
