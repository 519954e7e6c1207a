//! Configuration of the agency client: flags, then environment (`AGENCY_*`), then a TOML file
//! (`--config`), then defaults (everything in `./agency-data`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

/// Options every command takes; each may also come from the environment or the config file.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientOptions {
    /// The hub's address [default: https://127.0.0.1:7545].
    #[arg(long, global = true, env = "AGENCY_HUB")]
    pub hub: Option<String>,
    /// Directory of the local store [default: ./agency-data].
    #[arg(long, global = true, env = "AGENCY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// This authority's certificate (PEM) [default: <data-dir>/agency.pem].
    #[arg(long, global = true, env = "AGENCY_CERT")]
    pub cert: Option<PathBuf>,
    /// Its private key (PEM) [default: <data-dir>/agency.key].
    #[arg(long, global = true, env = "AGENCY_KEY")]
    pub key: Option<PathBuf>,
    /// The hotline CA that signed the hub's certificate [default: <data-dir>/ca.pem].
    #[arg(long, global = true, env = "AGENCY_CA")]
    pub ca: Option<PathBuf>,
    /// The hub's receipt public key (hex) [default: <data-dir>/receipt.pub, if present].
    #[arg(long, global = true, env = "AGENCY_RECEIPT_KEY")]
    pub receipt_key: Option<PathBuf>,
    /// Command run for every new or changed case, with the case as JSON on stdin (via `sh -c`).
    #[arg(long, global = true, env = "AGENCY_HOOK_COMMAND")]
    pub hook_command: Option<String>,
    /// Folder where a JSON file is written for every new or changed case.
    #[arg(long, global = true, env = "AGENCY_INBOX_DIR")]
    pub inbox_dir: Option<PathBuf>,
    /// Longest wait between reconnection attempts, in seconds [default: 30].
    #[arg(long, global = true, env = "AGENCY_MAX_BACKOFF_SECS")]
    pub max_backoff_secs: Option<u64>,
}

/// Resolved configuration.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Hub address.
    pub hub: String,
    /// Local store directory.
    pub data_dir: PathBuf,
    /// Client certificate.
    pub cert: PathBuf,
    /// Client key.
    pub key: PathBuf,
    /// CA bundle.
    pub ca: PathBuf,
    /// Hub receipt public key, when known: receipts are checked as they arrive.
    pub receipt_key: Option<PathBuf>,
    /// Hook command.
    pub hook_command: Option<String>,
    /// Inbox folder.
    pub inbox_dir: Option<PathBuf>,
    /// Longest reconnection wait.
    pub max_backoff: Duration,
    /// How often the daemon looks at the outbox when nothing wakes it (the CLI writes from another process).
    pub outbox_poll: Duration,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The file is not valid.
    #[error("{0}: {1}")]
    Parse(PathBuf, toml::de::Error),
}

impl ClientConfig {
    /// Resolves flags (with environment) over the file over the defaults.
    pub fn resolve(flags: ClientOptions, file: Option<&Path>) -> Result<Self, ConfigError> {
        let from_file: ClientOptions = match file {
            None => ClientOptions::default(),
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse(path.into(), e))?
            }
        };
        let data_dir = flags
            .data_dir
            .or(from_file.data_dir)
            .unwrap_or_else(|| PathBuf::from("agency-data"));
        let default_key = data_dir.join("receipt.pub");
        Ok(Self {
            hub: flags
                .hub
                .or(from_file.hub)
                .unwrap_or_else(|| "https://127.0.0.1:7545".into()),
            cert: flags
                .cert
                .or(from_file.cert)
                .unwrap_or_else(|| data_dir.join("agency.pem")),
            key: flags
                .key
                .or(from_file.key)
                .unwrap_or_else(|| data_dir.join("agency.key")),
            ca: flags
                .ca
                .or(from_file.ca)
                .unwrap_or_else(|| data_dir.join("ca.pem")),
            receipt_key: flags
                .receipt_key
                .or(from_file.receipt_key)
                .or(default_key.exists().then_some(default_key)),
            hook_command: flags.hook_command.or(from_file.hook_command),
            inbox_dir: flags.inbox_dir.or(from_file.inbox_dir),
            max_backoff: Duration::from_secs(
                flags
                    .max_backoff_secs
                    .or(from_file.max_backoff_secs)
                    .unwrap_or(30)
                    .max(1),
            ),
            outbox_poll: Duration::from_secs(1),
            data_dir,
        })
    }
}
