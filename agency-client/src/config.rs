//! Configuration of the agency client: flags, then environment (`AGENCY_*`), then a TOML file
//! (`--config`, the same keys as the flags with `_`), then defaults (everything in `./agency-data`).
//!
//! [`ClientConfig`] is what every command needs (hub, store, TLS files, hooks); [`DaemonConfig`] is
//! what only the daemon (`run`) uses: how hooks are retried and given up, and how often the TLS
//! files are re-read.

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
    /// This authority's certificate (PEM), re-read when it changes on disk [default: <data-dir>/agency.pem].
    #[arg(long, global = true, env = "AGENCY_CERT")]
    pub cert: Option<PathBuf>,
    /// Its private key (PEM), re-read with the certificate [default: <data-dir>/agency.key].
    #[arg(long, global = true, env = "AGENCY_KEY")]
    pub key: Option<PathBuf>,
    /// The hotline CA that signed the hub's certificate [default: <data-dir>/ca.pem].
    #[arg(long, global = true, env = "AGENCY_CA")]
    pub ca: Option<PathBuf>,
    /// The hub's receipt public key (hex) [default: <data-dir>/receipt.pub, if present].
    #[arg(long, global = true, env = "AGENCY_RECEIPT_KEY")]
    pub receipt_key: Option<PathBuf>,
    /// Command run for every new or changed case, with the case as JSON on stdin (via `sh -c`).
    /// It runs apart from the case stream, retried with growing pauses while it fails.
    #[arg(long, global = true, env = "AGENCY_HOOK_COMMAND")]
    pub hook_command: Option<String>,
    /// Folder where a JSON file is written for every new or changed case.
    #[arg(long, global = true, env = "AGENCY_INBOX_DIR")]
    pub inbox_dir: Option<PathBuf>,
    /// How long one run of the hook command may take, in seconds [default: 60].
    #[arg(long, global = true, env = "AGENCY_HOOK_TIMEOUT_SECS")]
    pub hook_timeout_secs: Option<u64>,
    /// Attempts at an event's hooks before its payload goes to the dead-letter folder; retries come
    /// after 1 s, 2 s, 4 s, … at most 5 min apart [default: 10].
    #[arg(long, global = true, env = "AGENCY_HOOK_MAX_ATTEMPTS")]
    pub hook_max_attempts: Option<u32>,
    /// Folder for payloads whose hooks failed every attempt, each a JSON file with the last error
    /// [default: <data-dir>/dead-letter].
    #[arg(long, global = true, env = "AGENCY_DEAD_LETTER_DIR")]
    pub dead_letter_dir: Option<PathBuf>,
    /// How often the daemon checks the certificate, key and CA files for changes, in seconds [default: 5].
    #[arg(long, global = true, env = "AGENCY_CERT_RELOAD_SECS")]
    pub cert_reload_secs: Option<u64>,
    /// Longest wait between reconnection attempts, in seconds [default: 30].
    #[arg(long, global = true, env = "AGENCY_MAX_BACKOFF_SECS")]
    pub max_backoff_secs: Option<u64>,
    /// Serve Prometheus metrics on this address (`run` only; off by default).
    #[arg(long, global = true, env = "AGENCY_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Serve the desk, the clerks' web page, on this address (`run` only; off by default), e.g.
    /// `127.0.0.1:7600`, or an address of the authority's network to share it there.
    #[arg(long = "desk", global = true, env = "AGENCY_DESK")]
    pub desk_listen: Option<std::net::SocketAddr>,
    /// How long a clerk's session at the desk lasts, in minutes [default: 480].
    #[arg(long, global = true, env = "AGENCY_DESK_SESSION_MINUTES")]
    pub desk_session_minutes: Option<u64>,
    /// Failed sign-ins in a row that lock a clerk's login [default: 5].
    #[arg(long, global = true, env = "AGENCY_DESK_MAX_FAILED_SIGN_INS")]
    pub desk_max_failed_sign_ins: Option<u32>,
    /// How long a locked login stays locked, in minutes [default: 15].
    #[arg(long, global = true, env = "AGENCY_DESK_LOCKOUT_MINUTES")]
    pub desk_lockout_minutes: Option<u64>,
    /// Mark the desk's session cookie `Secure`: set it when clerks reach the desk over HTTPS
    /// (through a reverse proxy) [default: false].
    #[arg(long, global = true, env = "AGENCY_DESK_SECURE_COOKIE")]
    pub desk_secure_cookie: Option<bool>,
}

/// Resolved configuration every command uses.
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

/// Resolved configuration only the daemon uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    /// How long one run of the hook command may take before it is killed and counted as failed.
    pub hook_timeout: Duration,
    /// Attempts at an event's hooks before it is dead-lettered (at least 1).
    pub hook_max_attempts: u32,
    /// Where dead-lettered payloads go; `None`: `<data-dir>/dead-letter`.
    pub dead_letter_dir: Option<PathBuf>,
    /// How often the TLS files are checked for changes.
    pub cert_reload: Duration,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            hook_timeout: Duration::from_secs(60),
            hook_max_attempts: 10,
            dead_letter_dir: None,
            cert_reload: Duration::from_secs(5),
        }
    }
}

impl DaemonConfig {
    /// The dead-letter folder for a store in `data_dir`.
    pub fn dead_letter_dir(&self, data_dir: &Path) -> PathBuf {
        self.dead_letter_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("dead-letter"))
    }
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
    /// A value is out of range.
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
}

/// Both halves of the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What every command uses.
    pub client: ClientConfig,
    /// What the daemon uses.
    pub daemon: DaemonConfig,
    /// Where the desk listens (`run` only); `None`: no desk.
    pub desk_listen: Option<std::net::SocketAddr>,
    /// How the desk behaves.
    pub desk: crate::desk::DeskConfig,
}

impl Settings {
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
        let defaults = DaemonConfig::default();
        let hook_timeout = flags.hook_timeout_secs.or(from_file.hook_timeout_secs);
        if hook_timeout == Some(0) {
            return Err(ConfigError::Invalid(
                "hook_timeout_secs",
                "must be at least 1".into(),
            ));
        }
        let hook_max_attempts = flags.hook_max_attempts.or(from_file.hook_max_attempts);
        if hook_max_attempts == Some(0) {
            return Err(ConfigError::Invalid(
                "hook_max_attempts",
                "must be at least 1".into(),
            ));
        }
        let cert_reload = flags.cert_reload_secs.or(from_file.cert_reload_secs);
        if cert_reload == Some(0) {
            return Err(ConfigError::Invalid(
                "cert_reload_secs",
                "must be at least 1".into(),
            ));
        }
        let daemon = DaemonConfig {
            hook_timeout: hook_timeout.map_or(defaults.hook_timeout, Duration::from_secs),
            hook_max_attempts: hook_max_attempts.unwrap_or(defaults.hook_max_attempts),
            dead_letter_dir: flags.dead_letter_dir.or(from_file.dead_letter_dir),
            cert_reload: cert_reload.map_or(defaults.cert_reload, Duration::from_secs),
        };
        let desk_defaults = crate::desk::DeskConfig::default();
        let minutes = |m: u64| Duration::from_secs(m.max(1) * 60);
        let desk = crate::desk::DeskConfig {
            session: flags
                .desk_session_minutes
                .or(from_file.desk_session_minutes)
                .map_or(desk_defaults.session, minutes),
            max_failed_sign_ins: flags
                .desk_max_failed_sign_ins
                .or(from_file.desk_max_failed_sign_ins)
                .unwrap_or(desk_defaults.max_failed_sign_ins)
                .max(1),
            lockout: flags
                .desk_lockout_minutes
                .or(from_file.desk_lockout_minutes)
                .map_or(desk_defaults.lockout, minutes),
            secure_cookie: flags
                .desk_secure_cookie
                .or(from_file.desk_secure_cookie)
                .unwrap_or(desk_defaults.secure_cookie),
        };
        let desk_listen = flags.desk_listen.or(from_file.desk_listen);
        let client = ClientConfig {
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
        };
        Ok(Self {
            client,
            daemon,
            desk_listen,
            desk,
        })
    }
}

impl ClientConfig {
    /// Resolves flags (with environment) over the file over the defaults; the daemon's part is
    /// dropped (see [`Settings::resolve`]).
    pub fn resolve(flags: ClientOptions, file: Option<&Path>) -> Result<Self, ConfigError> {
        Settings::resolve(flags, file).map(|s| s.client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = std::env::temp_dir().join(format!("agency-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("agency.toml");
        std::fs::write(
            &file,
            "hook_timeout_secs = 7\nhook_max_attempts = 4\ndead_letter_dir = \"/srv/dead\"\ncert_reload_secs = 2\n",
        )
        .unwrap();
        let flags = ClientOptions {
            hook_max_attempts: Some(2),
            ..Default::default()
        };
        let settings = Settings::resolve(flags, Some(&file)).unwrap();
        assert_eq!(
            settings.daemon,
            DaemonConfig {
                hook_timeout: Duration::from_secs(7),
                hook_max_attempts: 2,
                dead_letter_dir: Some("/srv/dead".into()),
                cert_reload: Duration::from_secs(2),
            }
        );
        let defaults = Settings::resolve(ClientOptions::default(), None).unwrap();
        assert_eq!(defaults.daemon, DaemonConfig::default());
        assert_eq!(
            defaults.daemon.dead_letter_dir(&defaults.client.data_dir),
            PathBuf::from("agency-data/dead-letter")
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_desk_is_off_unless_an_address_is_given() {
        let defaults = Settings::resolve(ClientOptions::default(), None).unwrap();
        assert_eq!(defaults.desk_listen, None);
        assert_eq!(defaults.desk, crate::desk::DeskConfig::default());
        let dir = std::env::temp_dir().join(format!("agency-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("agency.toml");
        std::fs::write(
            &file,
            "desk_listen = \"0.0.0.0:7600\"\ndesk_session_minutes = 60\ndesk_max_failed_sign_ins = 3\ndesk_secure_cookie = true\n",
        )
        .unwrap();
        let flags = ClientOptions {
            desk_listen: Some("127.0.0.1:7601".parse().unwrap()),
            desk_lockout_minutes: Some(30),
            ..Default::default()
        };
        let settings = Settings::resolve(flags, Some(&file)).unwrap();
        assert_eq!(
            settings.desk_listen,
            Some("127.0.0.1:7601".parse().unwrap())
        );
        assert_eq!(
            settings.desk,
            crate::desk::DeskConfig {
                session: Duration::from_secs(3600),
                max_failed_sign_ins: 3,
                lockout: Duration::from_secs(1800),
                secure_cookie: true,
            }
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn zero_limits_and_unknown_keys_are_refused_by_name() {
        let zero = ClientOptions {
            hook_max_attempts: Some(0),
            ..Default::default()
        };
        let err = Settings::resolve(zero, None).unwrap_err().to_string();
        assert!(err.starts_with("hook_max_attempts:"), "{err}");
        let zero = ClientOptions {
            hook_timeout_secs: Some(0),
            ..Default::default()
        };
        let err = Settings::resolve(zero, None).unwrap_err().to_string();
        assert!(err.starts_with("hook_timeout_secs:"), "{err}");
        let dir = std::env::temp_dir().join(format!("agency-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("agency.toml");
        std::fs::write(&file, "hook_retries = 3\n").unwrap();
        let err = Settings::resolve(ClientOptions::default(), Some(&file))
            .unwrap_err()
            .to_string();
        assert!(err.contains("hook_retries"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
