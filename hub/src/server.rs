//! Startup wiring, in one place: open the database, build the use cases with the configured limits
//! and keys, load the starter directory into an empty database, prepare TLS, bind the listener, and
//! run the API, the deadline monitor, the e-mail notice worker and (when configured) the metrics
//! listener side by side until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::api::{self, ApiSettings};
use crate::app::notices::MailSettings;
use crate::app::staff::SignInPolicy;
use crate::app::{AppError, Hotline, Store};
use crate::config::{ConfigError, ConsoleConfig, ServeConfig, TlsSource};
use crate::domain::Caller;
use crate::pki;
use crate::starter::{self, DirectoryFile};
use crate::store::{self, AnyStore, StoreError};
use crate::tls::{ReloadingTls, TlsFiles};

/// Why the hub could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A use case failed at start (loading the starter directory).
    #[error(transparent)]
    App(#[from] AppError),
    /// Certificate authority work failed.
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    /// The TLS material does not load.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// A file or socket could not be used.
    #[error("{0}")]
    Io(String),
    /// The server failed.
    #[error("server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// The database URL without its password, for messages.
pub fn redact(url: &str) -> String {
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

/// Opens (creating the data directory for SQLite) and migrates the configured database.
pub async fn open(config: &ServeConfig) -> Result<AnyStore, ServeError> {
    if config.is_sqlite() {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            ServeError::Io(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
    }
    Ok(store::open(&config.database_url).await?)
}

/// Runs the hub until `shutdown`.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    match open(&config).await? {
        AnyStore::Sqlite(s) => serve_on(s, config, shutdown).await,
        AnyStore::Postgres(s) => serve_on(s, config, shutdown).await,
    }
}

/// The use cases over `store`, as configured.
fn hotline<S: Store>(store: S, config: &ServeConfig) -> Result<Hotline<S>, ServeError> {
    Ok(Hotline::new(store)
        .with_limits(config.limits())
        .with_number_prefix(config.number_prefix.clone())
        .with_receipts(Arc::new(pki::receipt_signer(&config.receipt_key)?)))
}

/// The TLS files to serve with: the configured ones, or the development PKI (made on first start).
fn tls_files(config: &ServeConfig) -> Result<TlsFiles, ServeError> {
    Ok(match &config.tls {
        TlsSource::DevPki(dir) => {
            if pki::ensure_dev_pki(dir)? {
                eprintln!(
                    "made a development PKI in {0}: staff certificates operator.pem, analyst.pem, \
                     supervisor.pem, admin.pem; an authority's: hub pki issue agency CODE --pki-dir {0}",
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
    })
}

async fn serve_on<S: Store>(
    store: S,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let hotline = hotline(store, &config)?;
    if config.load_starter && hotline.districts().await?.is_empty() {
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
    let tls = ReloadingTls::new(tls_files(&config)?)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServeError::Io(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    tracing::info!(%addr, database = %redact(&config.database_url), "hub listening");
    eprintln!(
        "hub listening on {addr} (database {})",
        redact(&config.database_url)
    );
    let mut settings = ApiSettings::new(config.max_message_bytes);
    settings.tls_reload_interval = Duration::from_secs(config.tls_reload_secs);
    settings.heartbeat_interval = Duration::from_secs(config.heartbeat_secs);

    // The deadline monitor and the e-mail worker run beside the API and stop with it.
    let (stop_workers, workers_stop) = watch::channel(false);
    let workers_stop_metrics = workers_stop.clone();
    let workers_stop_open_data = workers_stop.clone();
    let workers_stop_console = workers_stop.clone();
    let mut workers = vec![tokio::spawn(hotline.clone().run_deadline_monitor(
        Duration::from_secs(config.monitor_secs),
        config.due_soon_days,
        workers_stop.clone(),
    ))];
    if let Some(smtp) = &config.smtp {
        let mail = MailSettings {
            url: smtp.url.clone(),
            from: smtp.from.clone(),
            attempts: smtp.attempts,
        };
        workers.push(tokio::spawn(hotline.clone().run_notice_mail(
            mail,
            Duration::from_secs(config.monitor_secs.min(30)),
            workers_stop,
        )));
    }
    let ops = api::Ops {
        readiness_delay: Duration::from_secs(config.readiness_drain_secs),
        shutdown_grace: Duration::from_secs(config.shutdown_grace_secs),
        keepalive_interval: Duration::from_secs(config.keepalive_secs),
        keepalive_timeout: Duration::from_secs(config.keepalive_timeout_secs),
        due_soon_days: config.due_soon_days,
        limits: config.limits,
        ..api::Ops::default()
    };
    if let Some(addr) = config.metrics_listen {
        let metrics = ops.metrics.clone();
        let bound = crate::metrics::http::listen(
            addr,
            Arc::new(move || metrics.render()),
            workers_stop_metrics,
        )
        .await
        .map_err(|e| ServeError::Io(format!("cannot serve metrics on {addr}: {e}")))?;
        tracing::info!(%bound, "metrics at http://{bound}/metrics");
        eprintln!("metrics on http://{bound}/metrics");
    }
    if let Some(addr) = config.open_data_listen {
        let public = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| ServeError::Io(format!("cannot serve open data on {addr}: {e}")))?;
        let bound = public
            .local_addr()
            .map_err(|e| ServeError::Io(e.to_string()))?;
        let public_tls = if config.open_data_tls {
            Some(Arc::new(tls_files(&config)?.public_server_config()?))
        } else {
            None
        };
        let scheme = if public_tls.is_some() {
            "https"
        } else {
            "http"
        };
        tokio::spawn(api::opendata::serve(
            public,
            hotline.clone(),
            public_tls,
            workers_stop_open_data,
        ));
        tracing::info!(%bound, "open data at {scheme}://{bound}/open311/v2/services.json");
        eprintln!("open data on {scheme}://{bound}/open311/v2/ and /open-data/");
    }
    if let Some(console) = config.console {
        serve_console(&config, console, hotline.clone(), workers_stop_console).await?;
    }
    let served = api::serve_with_ops(listener, tls, hotline, settings, ops, shutdown).await;
    let _ = stop_workers.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    served?;
    tracing::info!("hub stopped");
    Ok(())
}

/// The hub's own PKI directory, where the console issues and revokes authorities' certificates:
/// the development PKI, or the configured files when they are a `hub pki` directory (its CA key
/// beside the client CA, and the CRL the hub re-reads is that directory's).
fn own_pki(config: &ServeConfig) -> Option<std::path::PathBuf> {
    match &config.tls {
        TlsSource::DevPki(dir) => Some(dir.clone()),
        TlsSource::Files(files) => {
            let dir = files.client_ca.parent()?;
            let ours = files.client_ca.file_name()? == "ca.pem"
                && dir.join("ca.key").exists()
                && files.crl.as_deref() == Some(dir.join("crl.pem").as_path());
            ours.then(|| dir.to_path_buf())
        }
    }
}

/// Binds the staff console's listener and serves it beside the API until `stop`; prints its address.
async fn serve_console<S: Store>(
    config: &ServeConfig,
    console: ConsoleConfig,
    hotline: Hotline<S>,
    stop: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let addr = console.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ServeError::Io(format!("cannot serve the console on {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    let tls = if console.tls {
        Some(Arc::new(tls_files(config)?.public_server_config()?))
    } else {
        None
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let state = crate::console::ConsoleState {
        hotline,
        policy: SignInPolicy {
            session: chrono::Duration::hours(console.session_hours),
            max_failed: console.max_failed_logins,
            lockout: chrono::Duration::minutes(console.lockout_minutes),
        },
        secure: tls.is_some(),
        stop: stop.clone(),
        pki: own_pki(config),
    };
    tokio::spawn(crate::console::serve(listener, state, tls, stop));
    tracing::info!(%bound, "console at {scheme}://{bound}/");
    eprintln!("console: {scheme}://{bound}/");
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
