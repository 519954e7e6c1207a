//! `agency-client`: the daemon and command line an authority runs to work its hotline cases.

#![forbid(unsafe_code)]

use clap::Parser;
use hotline_agency_client::cli::{self, Cli};
use tracing_subscriber::EnvFilter;

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
    if let Err(err) = cli::run(cli, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
    Ok(())
}
