//! The `hub` command line: `serve` and `migrate` run the hub itself; the staff commands (`appeal …`,
//! `authority …`, `directory load`) talk to a running hub over gRPC and print readable tables, or JSON
//! with `--json`.
//!
//! # Layout
//! - this file: the commands and their arguments (clap), and `serve`/`migrate`.
//! - [`staff`]: the staff commands, one gRPC call each.
//! - [`report`], [`chart`]: `hub report …`, as tables, CSV, JSON, XLSX and SVG charts.
//! - [`local`]: `pki` and `audit`, which work on files and the database on the hub's host.
//! - [`output`]: tables and JSON.

pub mod chart;
pub mod local;
pub mod output;
pub mod report;
pub mod staff;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::api::{self, ApiSettings};
use crate::app::Hotline;
use crate::config::{ConfigError, ServeConfig, ServeOptions, TlsSource};
use crate::domain::Limits;
use crate::pki;
use crate::starter::{self, DirectoryFile};
use crate::store::{self, AnyStore, Caller, Store, StoreError};
use crate::tls::{ReloadingTls, TlsFiles};

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
    /// `hub audit verify` or `hub receipt verify` found something altered.
    #[error("{0}")]
    AuditBroken(String),
}

fn code_name(code: tonic::Code) -> String {
    format!("{code:?}").to_uppercase()
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
    Appeal(staff::Connection<staff::AppealCommand>),
    /// Authorities of the directory.
    Authority(staff::Connection<staff::AuthorityCommand>),
    /// The directory as a whole.
    Directory(staff::Connection<staff::DirectoryCommand>),
    /// Monitoring reports and charts.
    Report(report::ReportArgs),
    /// The hotline's certificate authority: make a CA, issue and revoke certificates.
    Pki(local::PkiArgs),
    /// The audit trail (read from the database directly, on the hub's host).
    Audit(local::AuditArgs),
    /// Signed receipts given to authorities.
    Receipt(local::ReceiptArgs),
}

/// Runs a parsed command line; `shutdown` ends `serve`.
pub async fn run(
    cli: Cli,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(options) => {
            serve(
                ServeConfig::resolve(options, cli.config.as_deref())?,
                shutdown,
            )
            .await
        }
        Command::Migrate(options) => {
            let config = ServeConfig::resolve(options, cli.config.as_deref())?;
            open(&config).await?;
            println!("migrations applied to {}", redact(&config.database_url));
            Ok(())
        }
        Command::Appeal(c) => staff::appeal(c).await,
        Command::Authority(c) => staff::authority(c).await,
        Command::Directory(c) => staff::directory(c).await,
        Command::Report(args) => report::report(args).await,
        Command::Pki(args) => local::pki(args),
        Command::Audit(args) => local::audit(args, cli.config.as_deref()).await,
        Command::Receipt(args) => local::receipt(args),
    }
}

/// The database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub(crate) async fn open(config: &ServeConfig) -> Result<AnyStore, CliError> {
    if config.is_sqlite() {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            CliError::Io(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
    }
    Ok(store::open(&config.database_url).await?)
}

/// Runs the hub until `shutdown`.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), CliError> {
    match open(&config).await? {
        AnyStore::Sqlite(s) => serve_on(s, config, shutdown).await,
        AnyStore::Postgres(s) => serve_on(s, config, shutdown).await,
    }
}

async fn serve_on<S: Store>(
    store: S,
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), CliError> {
    let hotline = Hotline {
        store,
        limits: Limits {
            max_text_chars: config.max_text_chars,
            max_callback_attempts: config.max_callback_attempts,
            max_attachment_bytes: config.max_attachment_bytes,
            max_attachments: config.max_attachments,
            repeat_window_days: config.repeat_window_days,
        },
        number_prefix: config.number_prefix.clone(),
        receipts: std::sync::Arc::new(pki::receipt_signer(&config.receipt_key)?),
    };
    if config.load_starter && hotline.store.list_districts().await?.is_empty() {
        let file = DirectoryFile::starter();
        starter::load(
            &hotline,
            &file,
            &Caller::system("hub serve: starter directory"),
        )
        .await?;
        tracing::info!(
            districts = file.districts.len(),
            categories = file.categories.len(),
            authorities = file.authorities.len(),
            "empty database: loaded the starter directory"
        );
    }
    let files = match &config.tls {
        TlsSource::DevPki(dir) => {
            if pki::ensure_dev_pki(dir)? {
                eprintln!(
                    "made a development PKI in {0}: staff certificates operator.pem, analyst.pem, supervisor.pem, \
                     admin.pem; an authority's: hub pki issue agency CODE --pki-dir {0}",
                    dir.display()
                );
            }
            TlsFiles {
                cert: dir.join("server.pem"),
                key: dir.join("server.key"),
                client_ca: dir.join("ca.pem"),
                crl: Some(dir.join("crl.pem")),
            }
        }
        TlsSource::Files(files) => files.clone(),
    };
    let tls = ReloadingTls::new(files)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| CliError::Io(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Io(e.to_string()))?;
    tracing::info!(%addr, database = %redact(&config.database_url), "hub listening");
    eprintln!(
        "hub listening on {addr} (database {})",
        redact(&config.database_url)
    );
    let mut settings = ApiSettings::new(config.max_message_bytes);
    settings.tls_reload_interval = std::time::Duration::from_secs(config.tls_reload_secs);
    settings.heartbeat_interval = std::time::Duration::from_secs(config.heartbeat_secs);
    settings.deadline_monitor = Some((
        std::time::Duration::from_secs(config.monitor_secs),
        config.due_soon_days,
    ));
    api::serve(listener, tls, hotline, settings, shutdown).await?;
    tracing::info!("hub stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://hub:secret@db:5432/hotline"),
            "postgres://hub:***@db:5432/hotline"
        );
        assert_eq!(
            redact("postgres://hub@db/hotline"),
            "postgres://hub@db/hotline"
        );
        assert_eq!(redact("sqlite://data/hub.db"), "sqlite://data/hub.db");
    }
}
