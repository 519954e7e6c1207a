//! Mutual TLS on the hub's listener, driven through rustls directly (tonic's `ServerTlsConfig` has no CRL
//! or custom verifier): a tokio-rustls acceptor feeds tonic's `serve_with_incoming`, and tonic hands the
//! peer certificates to each request.
//!
//! The server certificate, the client CA bundle and the CRL are re-read when their contents change on
//! disk (checked every few seconds) or on SIGHUP. A new configuration applies to new connections, and
//! every live connection's peer is checked against it again ([`crate::live`]): one whose certificate
//! is now revoked or no longer trusted is closed, while a new server certificate alone leaves healthy
//! connections open. A file that fails to load keeps the previous configuration and logs why.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

use crate::live::{Guarded, LiveConnections, Peer};

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
        Ok(self.load()?.0)
    }

    /// The configuration and the client verifier inside it (kept to check live connections again).
    fn load(&self) -> Result<(ServerConfig, Arc<dyn ClientCertVerifier>), TlsError> {
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
            .with_client_cert_verifier(verifier.clone())
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok((config, verifier))
    }
}

impl TlsFiles {
    /// A configuration for the public listener: the hub's server certificate, no client
    /// certificate asked for (the data is public), ALPN `http/1.1`.
    pub fn public_server_config(&self) -> Result<ServerConfig, TlsError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| file_error(&self.cert, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| file_error(&self.cert, e))?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| file_error(&self.key, e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// The current TLS configuration, replaced when the files change.
#[derive(Debug)]
pub struct ReloadingTls {
    /// Where the material comes from.
    files: TlsFiles,
    /// What new connections get, and its client verifier.
    current: RwLock<(Arc<ServerConfig>, Arc<dyn ClientCertVerifier>)>,
    /// The file contents `current` was built from.
    loaded: Mutex<Vec<Option<Vec<u8>>>>,
    /// Bumped on every reload: live connections are then checked again.
    reloads: watch::Sender<u64>,
}

impl ReloadingTls {
    /// Loads the files; fails when they do not make a valid configuration.
    pub fn new(files: TlsFiles) -> Result<Arc<Self>, TlsError> {
        let loaded = files.snapshot();
        let (config, verifier) = files.load()?;
        Ok(Arc::new(Self {
            files,
            current: RwLock::new((Arc::new(config), verifier)),
            loaded: Mutex::new(loaded),
            reloads: watch::channel(0).0,
        }))
    }

    /// The configuration for a new connection.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.current.read().expect("tls lock").0.clone()
    }

    /// Changes after every reload.
    pub fn reloads(&self) -> watch::Receiver<u64> {
        self.reloads.subscribe()
    }

    /// Checks a peer's chain (end entity first) against the current CA bundle and CRL, now: why it
    /// would be refused, or `None` when it would still be accepted.
    pub fn refuses(&self, chain: &[CertificateDer<'static>]) -> Option<String> {
        let verifier = self.current.read().expect("tls lock").1.clone();
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Some("no certificate".into());
        };
        verifier
            .verify_client_cert(leaf, intermediates, UnixTime::now())
            .err()
            .map(|e| e.to_string())
    }

    /// Rebuilds the configuration if any file changed (or when `force`); returns true when replaced.
    pub fn reload(&self, force: bool) -> bool {
        let snapshot = self.files.snapshot();
        let mut loaded = self.loaded.lock().expect("tls lock");
        if !force && *loaded == snapshot {
            return false;
        }
        match self.files.load() {
            Ok((config, verifier)) => {
                *self.current.write().expect("tls lock") = (Arc::new(config), verifier);
                *loaded = snapshot;
                tracing::info!("TLS certificate, CA bundle or CRL changed: reloaded");
                self.reloads.send_modify(|n| *n = n.wrapping_add(1));
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

/// A connection as the server sees it: TLS over TCP, registered as live.
pub type Connection = Guarded<TlsStream<TcpStream>>;

/// Accepts TCP connections on `listener` and completes TLS handshakes concurrently, yielding the
/// established streams, each registered in `live`. Refused handshakes (no certificate, unknown CA,
/// expired, revoked) are logged and dropped. Ends when the consumer drops the stream.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
    live: Arc<LiveConnections>,
) -> ReceiverStream<Result<Connection, std::io::Error>> {
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
            let live = live.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let chain = stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect())
                            .unwrap_or_default();
                        let _ = tx.send(Ok(live.register(stream, Peer::of(chain)))).await;
                    }
                    Ok(Err(err)) => tracing::info!(%peer, error = %err, "TLS handshake refused"),
                    Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
