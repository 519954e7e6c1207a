//! Configuration of `hub serve`: flags, then environment (`HOTLINE_*`), then a TOML file
//! (`--config`), then defaults that make `hub serve` with no arguments run on embedded SQLite.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

/// `hub serve` options; every one may also come from the environment or the config file.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeOptions {
    /// Address to listen on [default: 127.0.0.1:7545].
    #[arg(long, env = "HOTLINE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the embedded database and (later) the development PKI [default: ./data].
    #[arg(long, env = "HOTLINE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `postgres://…` for PostgreSQL; default `sqlite://<data-dir>/hub.db`.
    #[arg(long, env = "HOTLINE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Prefix of appeal numbers, the oblast's code [default: DP].
    #[arg(long, env = "HOTLINE_NUMBER_PREFIX")]
    pub number_prefix: Option<String>,
    /// Longest appeal text or answer, in characters [default: 10000].
    #[arg(long, env = "HOTLINE_MAX_TEXT_CHARS")]
    pub max_text_chars: Option<usize>,
    /// Failed call-backs before an appeal closes unconfirmed [default: 3].
    #[arg(long, env = "HOTLINE_MAX_CALLBACK_ATTEMPTS")]
    pub max_callback_attempts: Option<i32>,
    /// Largest gRPC request, in bytes [default: what the largest result allows: max-attachments ×
    /// max-attachment-bytes plus its texts; a smaller value is refused].
    #[arg(long, env = "HOTLINE_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<usize>,
    /// The hub's TLS certificate (PEM); with --tls-key and --client-ca. Default: the development PKI
    /// in <data-dir>/pki, made on first start.
    #[arg(long, env = "HOTLINE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The hub's TLS private key (PEM).
    #[arg(long, env = "HOTLINE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// CA bundle client certificates must chain to (PEM).
    #[arg(long, env = "HOTLINE_CLIENT_CA")]
    pub client_ca: Option<PathBuf>,
    /// Revoked client certificates (PEM CRL), re-read when it changes.
    #[arg(long, env = "HOTLINE_CRL")]
    pub crl: Option<PathBuf>,
    /// Seconds between checks of the TLS files for changes [default: 5].
    #[arg(long, env = "HOTLINE_TLS_RELOAD_SECS")]
    pub tls_reload_secs: Option<u64>,
    /// Largest document an authority may attach to a result, in bytes [default: 2097152].
    #[arg(long, env = "HOTLINE_MAX_ATTACHMENT_BYTES")]
    pub max_attachment_bytes: Option<usize>,
    /// Most documents on one result [default: 10].
    #[arg(long, env = "HOTLINE_MAX_ATTACHMENTS")]
    pub max_attachments: Option<usize>,
    /// The receipt signing key (made on first start) [default: receipt.key in the PKI or data directory].
    #[arg(long, env = "HOTLINE_RECEIPT_KEY")]
    pub receipt_key: Option<PathBuf>,
    /// Days within which an appeal from the same phone about the same category and district is
    /// linked as a repeat [default: 30].
    #[arg(long, env = "HOTLINE_REPEAT_WINDOW_DAYS")]
    pub repeat_window_days: Option<u64>,
    /// A case is announced "due soon" this many days before its deadline [default: 3].
    #[arg(long, env = "HOTLINE_DUE_SOON_DAYS")]
    pub due_soon_days: Option<u64>,
    /// Seconds between runs of the deadline monitor [default: 60].
    #[arg(long, env = "HOTLINE_MONITOR_SECS")]
    pub monitor_secs: Option<u64>,
    /// Seconds between heartbeats on idle case streams [default: 15].
    #[arg(long, env = "HOTLINE_HEARTBEAT_SECS")]
    pub heartbeat_secs: Option<u64>,
    /// Days a registration's receipt time may lie in the past without a reason [default: 3].
    #[arg(long, env = "HOTLINE_BACKDATE_DAYS")]
    pub backdate_days: Option<i64>,
    /// Least minutes between two call-back attempts [default: 120].
    #[arg(long, env = "HOTLINE_CALLBACK_SPACING_MINUTES")]
    pub callback_spacing_minutes: Option<i64>,
    /// Least days of the legal term a rework needs; with fewer left the appeal continues in a
    /// linked follow-up [default: 5].
    #[arg(long, env = "HOTLINE_REWORK_DAYS")]
    pub rework_days: Option<u64>,
    /// Hours after receipt when a still unassigned appeal is announced (at most 120: art. 7's 5
    /// days) [default: 72].
    #[arg(long, env = "HOTLINE_UNASSIGNED_HOURS")]
    pub unassigned_hours: Option<i64>,
    /// Days an urgent appeal gets by default (1 to 15) [default: 3].
    #[arg(long, env = "HOTLINE_URGENT_DAYS")]
    pub urgent_days: Option<u64>,
    /// Hours an emergency appeal gets by default (1 to 72) [default: 24].
    #[arg(long, env = "HOTLINE_EMERGENCY_HOURS")]
    pub emergency_hours: Option<i64>,
    /// Hours before an emergency case is due when its authority is warned [default: 6].
    #[arg(long, env = "HOTLINE_EMERGENCY_WARNING_HOURS")]
    pub emergency_warning_hours: Option<i64>,
    /// SMTP relay for e-mail notices to citizens: `smtp://host:port` (STARTTLS when the relay
    /// offers it), `smtps://host:port`; without it notices go by call or post.
    #[arg(long, env = "HOTLINE_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender of e-mail notices [default: hotline@localhost].
    #[arg(long, env = "HOTLINE_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Attempts to send one e-mail notice before it goes to the operators' queue [default: 5].
    #[arg(long, env = "HOTLINE_SMTP_ATTEMPTS")]
    pub smtp_attempts: Option<i32>,
    /// Address of the Prometheus metrics listener (plain HTTP, `GET /metrics`) [default: none, off].
    #[arg(long, env = "HOTLINE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Requests per second one client (certificate) may make on average [default: 100].
    #[arg(long, env = "HOTLINE_RATE_PER_SECOND")]
    pub rate_per_second: Option<f64>,
    /// Requests one client may make at once after a quiet spell [default: 400].
    #[arg(long, env = "HOTLINE_RATE_BURST")]
    pub rate_burst: Option<f64>,
    /// Unary calls in flight in the whole hub; more are refused [default: 512].
    #[arg(long, env = "HOTLINE_MAX_CONCURRENT_CALLS")]
    pub max_concurrent_calls: Option<usize>,
    /// Case streams one authority may hold open [default: 4].
    #[arg(long, env = "HOTLINE_MAX_STREAMS_PER_AUTHORITY")]
    pub max_streams_per_authority: Option<u32>,
    /// Address of the public open-data listener (Open311 GeoReport v2 and the monthly export)
    /// [default: none, off].
    #[arg(long, env = "HOTLINE_OPEN_DATA_LISTEN")]
    pub open_data_listen: Option<SocketAddr>,
    /// Serve the open data over TLS with the hub's server certificate (otherwise plain HTTP, for a
    /// proxy in front).
    #[arg(long, env = "HOTLINE_OPEN_DATA_TLS")]
    #[serde(default)]
    pub open_data_tls: bool,
    /// Log format on stderr: `text` or `json` (one object per line) [default: text].
    #[arg(long, env = "HOTLINE_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// At shutdown, seconds readiness reports NOT_SERVING before streams end [default: 1].
    #[arg(long, env = "HOTLINE_READINESS_DRAIN_SECS")]
    pub readiness_drain_secs: Option<u64>,
    /// At shutdown, seconds open calls may take to finish after streams end [default: 10].
    #[arg(long, env = "HOTLINE_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// Seconds between HTTP/2 pings on every connection [default: 30].
    #[arg(long, env = "HOTLINE_KEEPALIVE_SECS")]
    pub keepalive_secs: Option<u64>,
    /// Seconds a ping may go unanswered before the connection is closed [default: 20].
    #[arg(long, env = "HOTLINE_KEEPALIVE_TIMEOUT_SECS")]
    pub keepalive_timeout_secs: Option<u64>,
    /// Address of the staff console (web pages for operators, analysts, leadership and admins)
    /// [default: none, off]. Served over TLS with the hub's server certificate.
    #[arg(long, env = "HOTLINE_CONSOLE_LISTEN")]
    pub console_listen: Option<SocketAddr>,
    /// Serve the console over plain HTTP, for a TLS-terminating proxy in front (cookies then lose
    /// their `Secure` flag: never expose such a listener beyond loopback).
    #[arg(long, env = "HOTLINE_CONSOLE_PLAIN_HTTP")]
    #[serde(default)]
    pub console_plain_http: bool,
    /// Hours a console session lasts after sign-in [default: 10, a working day].
    #[arg(long, env = "HOTLINE_CONSOLE_SESSION_HOURS")]
    pub console_session_hours: Option<i64>,
    /// Wrong passwords in a row before a console login is locked [default: 5].
    #[arg(long, env = "HOTLINE_CONSOLE_MAX_FAILED_LOGINS")]
    pub console_max_failed_logins: Option<i32>,
    /// Minutes a locked console login stays locked [default: 15].
    #[arg(long, env = "HOTLINE_CONSOLE_LOCKOUT_MINUTES")]
    pub console_lockout_minutes: Option<i64>,
    /// Do not load the starter directory into an empty database.
    #[arg(long, env = "HOTLINE_NO_STARTER")]
    #[serde(default)]
    pub no_starter: bool,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the span of the call (RPC, principal, appeal number).
    Json,
}

/// The file form: `[serve]` holds the same keys as the flags (with `_` for `-`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    serve: ServeOptions,
}

/// Resolved settings of `hub serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL.
    pub database_url: String,
    /// Appeal number prefix.
    pub number_prefix: String,
    /// Text length limit.
    pub max_text_chars: usize,
    /// Call-back attempts.
    pub max_callback_attempts: i32,
    /// Request size limit.
    pub max_message_bytes: usize,
    /// Load the starter directory into an empty database.
    pub load_starter: bool,
    /// Where the TLS material comes from.
    pub tls: TlsSource,
    /// Seconds between checks of the TLS files.
    pub tls_reload_secs: u64,
    /// Attachment size limit.
    pub max_attachment_bytes: usize,
    /// Attachment count limit.
    pub max_attachments: usize,
    /// The receipt signing key.
    pub receipt_key: PathBuf,
    /// Seconds between heartbeats.
    pub heartbeat_secs: u64,
    /// Repeat window.
    pub repeat_window_days: u64,
    /// Due-soon margin.
    pub due_soon_days: u64,
    /// Monitor interval.
    pub monitor_secs: u64,
    /// Back-dating window, days.
    pub backdate_days: i64,
    /// Call-back spacing, minutes.
    pub callback_spacing_minutes: i64,
    /// Days a rework needs.
    pub rework_days: u64,
    /// Hours until an unassigned appeal is announced.
    pub unassigned_hours: i64,
    /// Days of an urgent appeal.
    pub urgent_days: u64,
    /// Hours of an emergency.
    pub emergency_hours: i64,
    /// Warning before an emergency is due, hours.
    pub emergency_warning_hours: i64,
    /// The SMTP relay for e-mail notices, when configured.
    pub smtp: Option<Smtp>,
    /// Where the metrics are served, when they are.
    pub metrics_listen: Option<SocketAddr>,
    /// Where the open data is served, when it is.
    pub open_data_listen: Option<SocketAddr>,
    /// What one client may ask.
    pub limits: crate::api::limits::Limits,
    /// Over TLS.
    pub open_data_tls: bool,
    /// Log format.
    pub log_format: LogFormat,
    /// Seconds readiness is down before streams end at shutdown.
    pub readiness_drain_secs: u64,
    /// Seconds open calls get at shutdown.
    pub shutdown_grace_secs: u64,
    /// HTTP/2 ping interval, seconds.
    pub keepalive_secs: u64,
    /// HTTP/2 ping timeout, seconds.
    pub keepalive_timeout_secs: u64,
    /// The staff console, when it is served.
    pub console: Option<ConsoleConfig>,
}

/// Where and how the staff console is served (`--console-listen` and its companions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// Its address.
    pub listen: SocketAddr,
    /// Over TLS with the hub's server certificate (false: plain HTTP behind a proxy).
    pub tls: bool,
    /// Session lifetime, hours.
    pub session_hours: i64,
    /// Wrong passwords in a row before the login locks.
    pub max_failed_logins: i32,
    /// How long it stays locked, minutes.
    pub lockout_minutes: i64,
}

/// Where e-mail notices go.
#[derive(Debug, Clone)]
pub struct Smtp {
    /// The relay's URL.
    pub url: String,
    /// The sender.
    pub from: String,
    /// Attempts per notice.
    pub attempts: i32,
}

/// Where `hub serve` takes its TLS material from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// The development PKI in this directory, made on first start.
    DevPki(PathBuf),
    /// Files the operator provides.
    Files(crate::tls::TlsFiles),
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

impl ServeConfig {
    /// Resolves `flags` (which already include the environment) over `file` over the defaults.
    pub fn resolve(flags: ServeOptions, file: Option<&Path>) -> Result<Self, ConfigError> {
        let from_file = match file {
            None => ServeOptions::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.into(),
                    source,
                })?;
                toml::from_str::<ConfigFile>(&text)
                    .map_err(|source| ConfigError::Parse {
                        path: path.into(),
                        source,
                    })?
                    .serve
            }
        };
        let data_dir = flags
            .data_dir
            .or(from_file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let database_url = flags
            .database_url
            .or(from_file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("hub.db").display()));
        let tls = match (
            flags.tls_cert.or(from_file.tls_cert),
            flags.tls_key.or(from_file.tls_key),
            flags.client_ca.or(from_file.client_ca),
        ) {
            (None, None, None) => TlsSource::DevPki(data_dir.join("pki")),
            (Some(cert), Some(key), Some(client_ca)) => TlsSource::Files(crate::tls::TlsFiles {
                cert,
                key,
                client_ca,
                crl: flags.crl.or(from_file.crl),
            }),
            _ => {
                return Err(ConfigError::Invalid(
                    "give --tls-cert, --tls-key and --client-ca together (or none, for the development PKI)".into(),
                ));
            }
        };
        let receipt_key =
            flags
                .receipt_key
                .or(from_file.receipt_key)
                .unwrap_or_else(|| match &tls {
                    TlsSource::DevPki(dir) => dir.join("receipt.key"),
                    TlsSource::Files(_) => data_dir.join("receipt.key"),
                });
        let mut config = Self {
            listen: flags
                .listen
                .or(from_file.listen)
                .unwrap_or(([127, 0, 0, 1], 7545).into()),
            database_url,
            data_dir,
            number_prefix: flags
                .number_prefix
                .or(from_file.number_prefix)
                .unwrap_or_else(|| "DP".into()),
            max_text_chars: flags
                .max_text_chars
                .or(from_file.max_text_chars)
                .unwrap_or(10_000),
            max_callback_attempts: flags
                .max_callback_attempts
                .or(from_file.max_callback_attempts)
                .unwrap_or(3),
            // Set below, from the limits it must hold.
            max_message_bytes: 0,
            load_starter: !(flags.no_starter || from_file.no_starter),
            receipt_key,
            max_attachment_bytes: flags
                .max_attachment_bytes
                .or(from_file.max_attachment_bytes)
                .unwrap_or(2 * 1024 * 1024),
            max_attachments: flags
                .max_attachments
                .or(from_file.max_attachments)
                .unwrap_or(10),
            heartbeat_secs: flags
                .heartbeat_secs
                .or(from_file.heartbeat_secs)
                .unwrap_or(15)
                .max(1),
            repeat_window_days: flags
                .repeat_window_days
                .or(from_file.repeat_window_days)
                .unwrap_or(30),
            due_soon_days: flags.due_soon_days.or(from_file.due_soon_days).unwrap_or(3),
            monitor_secs: flags
                .monitor_secs
                .or(from_file.monitor_secs)
                .unwrap_or(60)
                .max(1),
            backdate_days: flags.backdate_days.or(from_file.backdate_days).unwrap_or(3),
            callback_spacing_minutes: flags
                .callback_spacing_minutes
                .or(from_file.callback_spacing_minutes)
                .unwrap_or(120),
            rework_days: flags.rework_days.or(from_file.rework_days).unwrap_or(5),
            unassigned_hours: flags
                .unassigned_hours
                .or(from_file.unassigned_hours)
                .unwrap_or(72),
            urgent_days: flags.urgent_days.or(from_file.urgent_days).unwrap_or(3),
            emergency_hours: flags
                .emergency_hours
                .or(from_file.emergency_hours)
                .unwrap_or(24),
            emergency_warning_hours: flags
                .emergency_warning_hours
                .or(from_file.emergency_warning_hours)
                .unwrap_or(6),
            smtp: flags.smtp_url.or(from_file.smtp_url).map(|url| Smtp {
                url,
                from: flags
                    .smtp_from
                    .clone()
                    .or(from_file.smtp_from.clone())
                    .unwrap_or_else(|| "hotline@localhost".into()),
                attempts: flags
                    .smtp_attempts
                    .or(from_file.smtp_attempts)
                    .unwrap_or(5)
                    .max(1),
            }),
            metrics_listen: flags.metrics_listen.or(from_file.metrics_listen),
            open_data_listen: flags.open_data_listen.or(from_file.open_data_listen),
            limits: {
                let d = crate::api::limits::Limits::default();
                crate::api::limits::Limits {
                    per_second: flags
                        .rate_per_second
                        .or(from_file.rate_per_second)
                        .unwrap_or(d.per_second),
                    burst: flags.rate_burst.or(from_file.rate_burst).unwrap_or(d.burst),
                    concurrent_calls: flags
                        .max_concurrent_calls
                        .or(from_file.max_concurrent_calls)
                        .unwrap_or(d.concurrent_calls),
                    streams_per_authority: flags
                        .max_streams_per_authority
                        .or(from_file.max_streams_per_authority)
                        .unwrap_or(d.streams_per_authority),
                }
            },
            open_data_tls: flags.open_data_tls || from_file.open_data_tls,
            log_format: flags
                .log_format
                .or(from_file.log_format)
                .unwrap_or_default(),
            readiness_drain_secs: flags
                .readiness_drain_secs
                .or(from_file.readiness_drain_secs)
                .unwrap_or(1),
            shutdown_grace_secs: flags
                .shutdown_grace_secs
                .or(from_file.shutdown_grace_secs)
                .unwrap_or(10),
            keepalive_secs: flags
                .keepalive_secs
                .or(from_file.keepalive_secs)
                .unwrap_or(30)
                .max(1),
            keepalive_timeout_secs: flags
                .keepalive_timeout_secs
                .or(from_file.keepalive_timeout_secs)
                .unwrap_or(20)
                .max(1),
            console: flags
                .console_listen
                .or(from_file.console_listen)
                .map(|listen| ConsoleConfig {
                    listen,
                    tls: !(flags.console_plain_http || from_file.console_plain_http),
                    session_hours: flags
                        .console_session_hours
                        .or(from_file.console_session_hours)
                        .unwrap_or(10)
                        .clamp(1, 24 * 7),
                    max_failed_logins: flags
                        .console_max_failed_logins
                        .or(from_file.console_max_failed_logins)
                        .unwrap_or(5)
                        .max(1),
                    lockout_minutes: flags
                        .console_lockout_minutes
                        .or(from_file.console_lockout_minutes)
                        .unwrap_or(15)
                        .max(1),
                }),
            tls,
            tls_reload_secs: flags
                .tls_reload_secs
                .or(from_file.tls_reload_secs)
                .unwrap_or(5)
                .max(1),
        };
        let largest = config.limits().largest_request_bytes();
        config.max_message_bytes = flags
            .max_message_bytes
            .or(from_file.max_message_bytes)
            .unwrap_or(largest);
        if config.max_message_bytes < largest {
            return Err(ConfigError::Invalid(format!(
                "max-message-bytes {} is smaller than the largest result the other limits allow \
                 ({largest} bytes: {} documents of {} bytes and their texts); raise it, or lower \
                 max-attachments or max-attachment-bytes",
                config.max_message_bytes, config.max_attachments, config.max_attachment_bytes
            )));
        }
        if !(2..=6).contains(&config.number_prefix.len())
            || !config.number_prefix.chars().all(|c| c.is_ascii_uppercase())
        {
            return Err(ConfigError::Invalid(format!(
                "number prefix `{}`: 2 to 6 uppercase latin letters",
                config.number_prefix
            )));
        }
        if !(1..=120).contains(&config.unassigned_hours) {
            return Err(ConfigError::Invalid(format!(
                "unassigned-hours {}: 1 to 120 (art. 7 gives at most 5 days)",
                config.unassigned_hours
            )));
        }
        let l = &config.limits;
        if !(l.per_second > 0.0 && l.burst >= 1.0)
            || l.concurrent_calls == 0
            || l.streams_per_authority == 0
        {
            return Err(ConfigError::Invalid(
                "rate-per-second > 0, rate-burst ≥ 1, max-concurrent-calls ≥ 1, \
                 max-streams-per-authority ≥ 1"
                    .into(),
            ));
        }
        if !(1..=15).contains(&config.urgent_days)
            || !(1..=72).contains(&config.emergency_hours)
            || !(0..config.emergency_hours).contains(&config.emergency_warning_hours)
        {
            return Err(ConfigError::Invalid(format!(
                "urgent-days {} (1 to 15), emergency-hours {} (1 to 72), emergency-warning-hours \
                 {} (0 to less than emergency-hours)",
                config.urgent_days, config.emergency_hours, config.emergency_warning_hours
            )));
        }
        if config.max_callback_attempts < 1
            || config.max_text_chars < 100
            || config.max_message_bytes < 1024
        {
            return Err(ConfigError::Invalid(
                "max-callback-attempts ≥ 1, max-text-chars ≥ 100, max-message-bytes ≥ 1024".into(),
            ));
        }
        Ok(config)
    }

    /// The limits the rules apply.
    pub fn limits(&self) -> crate::domain::Limits {
        crate::domain::Limits {
            max_text_chars: self.max_text_chars,
            max_callback_attempts: self.max_callback_attempts,
            max_attachment_bytes: self.max_attachment_bytes,
            max_attachments: self.max_attachments,
            repeat_window_days: self.repeat_window_days,
            backdate_days: self.backdate_days,
            callback_spacing_minutes: self.callback_spacing_minutes,
            rework_days: self.rework_days,
            unassigned_hours: self.unassigned_hours,
            email_notices: self.smtp.is_some(),
            urgent_days: self.urgent_days,
            emergency_hours: self.emergency_hours,
            emergency_warning_hours: self.emergency_warning_hours,
        }
    }

    /// True when the database is the embedded SQLite file (its directory must exist).
    pub fn is_sqlite(&self) -> bool {
        !self.database_url.starts_with("postgres")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_arguments_means_embedded_sqlite_on_localhost() {
        let c = ServeConfig::resolve(ServeOptions::default(), None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7545");
        assert_eq!(c.database_url, "sqlite://data/hub.db");
        assert!(c.is_sqlite() && c.load_starter);
        assert_eq!(c.max_message_bytes, c.limits().largest_request_bytes());
    }

    #[test]
    fn flags_override_the_file() {
        let dir = std::env::temp_dir().join(format!("hub-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.toml");
        std::fs::write(
            &path,
            "[serve]\nnumber_prefix = \"KV\"\nmax_text_chars = 500\n",
        )
        .unwrap();
        let flags = ServeOptions {
            max_text_chars: Some(800),
            ..Default::default()
        };
        let c = ServeConfig::resolve(flags, Some(&path)).unwrap();
        assert_eq!((c.number_prefix.as_str(), c.max_text_chars), ("KV", 800));
        std::fs::write(&path, "[serve]\nnumber_prefx = \"KV\"\n").unwrap();
        assert!(matches!(
            ServeConfig::resolve(ServeOptions::default(), Some(&path)),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn operations_settings_come_from_the_file() {
        let dir = std::env::temp_dir().join(format!("hub-config-ops-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.toml");
        std::fs::write(
            &path,
            "[serve]\nmetrics_listen = \"127.0.0.1:9545\"\nlog_format = \"json\"\nshutdown_grace_secs = 3\n",
        )
        .unwrap();
        let c = ServeConfig::resolve(ServeOptions::default(), Some(&path)).unwrap();
        assert_eq!(c.metrics_listen, Some(([127, 0, 0, 1], 9545).into()));
        assert_eq!((c.log_format, c.shutdown_grace_secs), (LogFormat::Json, 3));
        assert_eq!((c.readiness_drain_secs, c.keepalive_secs), (1, 30));
        let off = ServeConfig::resolve(ServeOptions::default(), None).unwrap();
        assert_eq!(
            (off.metrics_listen, off.log_format),
            (None, LogFormat::Text)
        );
        std::fs::write(&path, "[serve]\nlog_format = \"xml\"\n").unwrap();
        assert!(ServeConfig::resolve(ServeOptions::default(), Some(&path)).is_err());
    }

    #[test]
    fn a_message_size_too_small_for_the_largest_result_is_refused() {
        let small = ServeOptions {
            max_message_bytes: Some(4 * 1024 * 1024),
            ..ServeOptions::default()
        };
        let err = ServeConfig::resolve(small, None).unwrap_err().to_string();
        assert!(err.contains("max-message-bytes"), "{err}");
        let consistent = ServeOptions {
            max_message_bytes: Some(4 * 1024 * 1024),
            max_attachments: Some(1),
            ..ServeOptions::default()
        };
        assert!(ServeConfig::resolve(consistent, None).is_ok());
    }
}
