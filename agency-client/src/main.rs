//! `agency-client`: the daemon and command line an authority runs to work its hotline cases.

#![forbid(unsafe_code)]

use clap::Parser;
use hotline_agency_client::cli::{self, Cli, Command};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// Resolves at the first SIGTERM (service managers, `kill`) or SIGINT (Ctrl-C). A second one while
/// the daemon is stopping ends the process at once. The handlers are installed here, before the
/// daemon starts, so no signal between start-up and the daemon's first wait is lost.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            // Without handlers the default action (termination) still applies.
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            eprintln!("agency-client: second signal, stopping now");
            std::process::exit(130);
        });
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // One rustls crypto provider for everything, before any handshake.
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("AGENCY_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    // Only the daemon takes the signals over: any other command keeps their default (end at once).
    let signals = matches!(cli.command, Command::Run).then(stop_signal);
    let shutdown = async move {
        match signals {
            Some(signals) => signals.await,
            None => std::future::pending().await,
        }
    };
    if let Err(err) = cli::run(cli, shutdown).await {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
    Ok(())
}
