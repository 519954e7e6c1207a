//! Mutual TLS on the hub's listener, driven through rustls directly (tonic's `ServerTlsConfig` has no CRL
//! or custom verifier): a tokio-rustls acceptor feeds tonic's `serve_with_incoming`, and tonic hands the
//! peer certificates to each request.
//!
//! The server certificate, the client CA bundle and the CRL are re-read when their contents change on
//! disk (checked every few seconds) or on SIGHUP. A new configuration applies to new connections; live
//! connections keep theirs. A file that fails to load keeps the previous configuration and logs why.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file is missing or unreadable.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the material.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The files the listener's TLS is built from.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The hub's certificate chain (PEM).
    pub cert: PathBuf,
    /// The hub's private key (PEM).
    pub key: PathBuf,
    /// CA certificates that client certificates must chain to (PEM bundle).
    pub client_ca: PathBuf,
    /// Revoked client certificates (PEM CRLs); optional.
    pub crl: Option<PathBuf>,
}

fn file_error(path: &std::path::Path, reason: impl ToString) -> TlsError {
    TlsError::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl TlsFiles {
    /// The raw bytes of every file, to notice changes.
    fn snapshot(&self) -> Vec<Option<Vec<u8>>> {
        [
            Some(&self.cert),
            Some(&self.key),
            Some(&self.client_ca),
            self.crl.as_ref(),
        ]
        .into_iter()
        .map(|p| p.and_then(|p| std::fs::read(p).ok()))
        .collect()
    }

    /// Builds the rustls configuration: client certificates required, checked against the CA bundle
    /// and the CRL; ALPN `h2` (grpc-go, grpcio and tonic refuse a gRPC server without it).
    pub fn server_config(&self) -> Result<ServerConfig, TlsError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| file_error(&self.cert, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| file_error(&self.cert, e))?;
        if certs.is_empty() {
            return Err(file_error(&self.cert, "no certificate in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| file_error(&self.key, e))?;
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(&self.client_ca)
            .map_err(|e| file_error(&self.client_ca, e))?
        {
            roots
                .add(ca.map_err(|e| file_error(&self.client_ca, e))?)
                .map_err(|e| file_error(&self.client_ca, e))?;
        }
        if roots.is_empty() {
            return Err(file_error(&self.client_ca, "no CA certificate in the file"));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
        if let Some(path) = &self.crl {
            let crls: Vec<CertificateRevocationListDer<'static>> =
                CertificateRevocationListDer::pem_file_iter(path)
                    .map_err(|e| file_error(path, e))?
                    .collect::<Result<_, _>>()
                    .map_err(|e| file_error(path, e))?;
            // Only our CA issues client certificates; a CRL covers them all, so revocation is
            // checked for the end-entity certificate.
            verifier = verifier.with_crls(crls).only_check_end_entity_revocation();
        }
        let verifier = verifier
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(config)
    }
}

/// The current TLS configuration, replaced when the files change.
#[derive(Debug)]
pub struct ReloadingTls {
    /// Where the material comes from.
    files: TlsFiles,
    /// What new connections get.
    current: RwLock<Arc<ServerConfig>>,
    /// The file contents `current` was built from.
    loaded: Mutex<Vec<Option<Vec<u8>>>>,
}

impl ReloadingTls {
    /// Loads the files; fails when they do not make a valid configuration.
    pub fn new(files: TlsFiles) -> Result<Arc<Self>, TlsError> {
        let loaded = files.snapshot();
        let config = files.server_config()?;
        Ok(Arc::new(Self {
            files,
            current: RwLock::new(Arc::new(config)),
            loaded: Mutex::new(loaded),
        }))
    }

    /// The configuration for a new connection.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.current.read().expect("tls lock").clone()
    }

    /// Rebuilds the configuration if any file changed (or when `force`); returns true when replaced.
    pub fn reload(&self, force: bool) -> bool {
        let snapshot = self.files.snapshot();
        let mut loaded = self.loaded.lock().expect("tls lock");
        if !force && *loaded == snapshot {
            return false;
        }
        match self.files.server_config() {
            Ok(config) => {
                *self.current.write().expect("tls lock") = Arc::new(config);
                *loaded = snapshot;
                tracing::info!("TLS certificate, CA bundle or CRL changed: reloaded");
                true
            }
            Err(err) => {
                // Keep serving with what worked; try again when the files change once more.
                *loaded = snapshot;
                tracing::error!(error = %err, "TLS files changed but do not load; keeping the previous configuration");
                false
            }
        }
    }

    /// Re-checks the files every `interval` and on SIGHUP until `stop` turns true.
    pub fn spawn_watcher(self: &Arc<Self>, interval: Duration, mut stop: watch::Receiver<bool>) {
        let tls = Arc::clone(self);
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            loop {
                #[cfg(unix)]
                let hangup = async {
                    match hup.as_mut() {
                        Some(s) => {
                            s.recv().await;
                        }
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup = std::future::pending::<()>();
                tokio::select! {
                    _ = tokio::time::sleep(interval) => { tls.reload(false); }
                    () = hangup => { tls.reload(true); }
                    _ = stop.wait_for(|down| *down) => return,
                }
            }
        });
    }
}

/// Accepts TCP connections on `listener` and completes TLS handshakes concurrently, yielding the
/// established streams. Refused handshakes (no certificate, unknown CA, expired, revoked) are logged
/// and dropped. Ends when the consumer drops the stream.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
) -> ReceiverStream<Result<TlsStream<TcpStream>, std::io::Error>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = tx.closed() => return,
            };
            let (tcp, peer) = match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Small gRPC replies must not wait for Nagle's algorithm and the peer's delayed ACK
            // (tonic sets this only on the listeners it makes itself).
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(%peer, error = %err, "cannot set TCP_NODELAY");
            }
            let acceptor = TlsAcceptor::from(tls.config());
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(err)) => tracing::info!(%peer, error = %err, "TLS handshake refused"),
                    Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
