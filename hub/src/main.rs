//! `hub`: runs the hotline hub (`hub serve`) and the staff commands that talk to it.

#![forbid(unsafe_code)]

use clap::Parser;
use hotline_hub::cli::{self, Cli, Command};
use hotline_hub::config::{LogFormat, ServeConfig};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // One rustls crypto provider for tonic, sqlx and everything else, before any handshake.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    // `hub serve` may ask for JSON lines (flag, environment or file); every other command logs text.
    let format = match &cli.command {
        Command::Serve(options) => ServeConfig::resolve(options.clone(), cli.config.as_deref())
            .map(|c| c.log_format)
            .unwrap_or_default(),
        _ => LogFormat::Text,
    };
    let filter = EnvFilter::try_from_env("HOTLINE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    if let Err(err) = cli::run(cli, shutdown_signal()).await {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
