//! The authority's TLS identity (certificate and key) and the hotline CA, read from disk, checked,
//! and turned into the channel every call goes through. The daemon re-reads the files every few
//! seconds: a changed and valid set replaces the channel (the stream reconnects with the new
//! identity); a broken set (unreadable, not PEM, a key that does not match the certificate — as in
//! the middle of a copy) is refused and the current identity kept.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::watch;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::client::ClientError;
use crate::config::ClientConfig;
use crate::local::LocalStore;

/// The bytes of the three TLS files, checked to belong together.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsMaterial {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    ca_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsMaterial {
    // Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("cert_bytes", &self.cert_pem.len())
            .field("ca_bytes", &self.ca_pem.len())
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|e| ClientError::File(format!("{}: {e}", path.display())))
}

impl TlsMaterial {
    /// Reads the certificate, key and CA named in `config` and checks them.
    pub fn read(config: &ClientConfig) -> Result<Self, ClientError> {
        let material = Self {
            cert_pem: read(&config.cert)?,
            key_pem: read(&config.key)?,
            ca_pem: read(&config.ca)?,
        };
        material.check(config)?;
        Ok(material)
    }

    /// The certificate parses, the key parses and matches it, the CA bundle holds a certificate.
    fn check(&self, config: &ClientConfig) -> Result<(), ClientError> {
        let bad =
            |path: &Path, why: String| ClientError::File(format!("{}: {why}", path.display()));
        let certs = CertificateDer::pem_slice_iter(&self.cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(&config.cert, format!("not a PEM certificate: {e}")))?;
        if certs.is_empty() {
            return Err(bad(&config.cert, "holds no certificate".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| bad(&config.key, format!("not a PEM private key: {e}")))?;
        rustls::sign::CertifiedKey::from_der(certs, key, &rustls::crypto::ring::default_provider())
            .map_err(|e| bad(&config.key, format!("does not fit the certificate: {e}")))?;
        let cas = CertificateDer::pem_slice_iter(&self.ca_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(&config.ca, format!("not a PEM certificate: {e}")))?;
        if cas.is_empty() {
            return Err(bad(&config.ca, "holds no certificate".into()));
        }
        Ok(())
    }

    /// A lazily connecting channel to `hub` presenting this identity.
    fn channel(&self, hub: &str) -> Result<Channel, ClientError> {
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem));
        Ok(Endpoint::from_shared(hub.to_string())
            .map_err(|e| ClientError::Invalid(format!("hub address `{hub}`: {e}")))?
            .tls_config(tls)?
            .connect_timeout(Duration::from_secs(5))
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true)
            .connect_lazy())
    }
}

/// The channel in use and the material it was made from; replaced when the files change.
#[derive(Debug)]
pub struct Connection {
    /// The hub's address.
    hub: String,
    /// Current channel and material (a lock held only to clone or swap).
    current: RwLock<(Channel, TlsMaterial)>,
    /// Bumped at every swap, so the stream reconnects with the new identity.
    generation: watch::Sender<u64>,
}

impl Connection {
    /// A connection to `config.hub` with the files named in `config` (checked now).
    pub fn open(config: &ClientConfig) -> Result<Arc<Self>, ClientError> {
        let material = TlsMaterial::read(config)?;
        let channel = material.channel(&config.hub)?;
        Ok(Arc::new(Self {
            hub: config.hub.clone(),
            current: RwLock::new((channel, material)),
            generation: watch::channel(0).0,
        }))
    }

    /// The channel to use for the next call.
    pub fn channel(&self) -> Channel {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .clone()
    }

    /// Notified at every change of identity.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Re-reads the files: `Ok(true)` when they changed and were taken, `Ok(false)` when unchanged,
    /// an error (and the current identity kept) when the new files are not usable.
    pub fn reload(&self, config: &ClientConfig) -> Result<bool, ClientError> {
        let material = TlsMaterial {
            cert_pem: read(&config.cert)?,
            key_pem: read(&config.key)?,
            ca_pem: read(&config.ca)?,
        };
        let unchanged = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            == material;
        if unchanged {
            return Ok(false);
        }
        material.check(config)?;
        let channel = material.channel(&self.hub)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (channel, material);
        self.generation.send_modify(|g| *g += 1);
        Ok(true)
    }
}

/// Checks the TLS files every `interval` until `stop`, swapping in a changed valid set; a broken set
/// is reported once (log and `status`) and the current identity kept.
pub async fn watch_files(
    connection: Arc<Connection>,
    config: ClientConfig,
    local: LocalStore,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ClientError> {
    let mut refused: Option<String> = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
        match connection.reload(&config) {
            Ok(true) => {
                refused = None;
                tracing::info!(cert = %config.cert.display(), "client certificate changed on disk; reconnecting with it");
            }
            Ok(false) => refused = None,
            Err(err) => {
                let error = err.to_string();
                if refused.as_deref() != Some(error.as_str()) {
                    tracing::warn!(%error, "cannot use the client certificate files; keeping the current identity");
                    local
                        .set_state(
                            "last_error",
                            &format!("client certificate: {error}; keeping the current identity"),
                        )
                        .await?;
                    refused = Some(error);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate and its key, PEM.
    fn issued() -> (String, String) {
        let made = rcgen::generate_simple_self_signed(vec!["agency.test".to_string()]).unwrap();
        (made.cert.pem(), made.signing_key.serialize_pem())
    }

    /// A configuration whose TLS files are in a fresh folder, written with `cert`/`key`.
    fn config_with(cert: &str, key: &str) -> ClientConfig {
        let dir = std::env::temp_dir().join(format!("agency-identity-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca, _) = issued();
        std::fs::write(dir.join("agency.pem"), cert).unwrap();
        std::fs::write(dir.join("agency.key"), key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca).unwrap();
        ClientConfig {
            hub: "https://127.0.0.1:1".into(),
            cert: dir.join("agency.pem"),
            key: dir.join("agency.key"),
            ca: dir.join("ca.pem"),
            receipt_key: None,
            hook_command: None,
            inbox_dir: None,
            max_backoff: Duration::from_secs(1),
            outbox_poll: Duration::from_secs(1),
            data_dir: dir,
        }
    }

    #[test]
    fn broken_files_are_refused_by_name() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (cert, key) = issued();
        let (_, other_key) = issued();
        TlsMaterial::read(&config_with(&cert, &key)).unwrap();

        let config = config_with(&cert, &other_key);
        let err = TlsMaterial::read(&config).unwrap_err().to_string();
        assert!(
            err.contains("agency.key") && err.contains("does not fit"),
            "{err}"
        );

        let config = config_with("not a certificate", &key);
        let err = TlsMaterial::read(&config).unwrap_err().to_string();
        assert!(
            err.contains("agency.pem") && err.contains("no certificate"),
            "{err}"
        );

        let config = config_with(
            &cert,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        let err = TlsMaterial::read(&config).unwrap_err().to_string();
        assert!(err.contains("agency.key"), "{err}");

        let config = config_with(&cert, &key);
        std::fs::remove_file(&config.ca).unwrap();
        let err = TlsMaterial::read(&config).unwrap_err().to_string();
        assert!(err.contains("ca.pem"), "{err}");
        // The key's bytes never appear in the material's debug form.
        let material = TlsMaterial::read(&config_with(&cert, &key)).unwrap();
        assert!(!format!("{material:?}").contains("PRIVATE"));
    }

    #[tokio::test]
    async fn a_changed_valid_identity_is_taken_and_a_broken_one_refused() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (cert, key) = issued();
        let config = config_with(&cert, &key);
        let connection = Connection::open(&config).unwrap();
        let generation = connection.subscribe();
        assert!(!connection.reload(&config).unwrap(), "unchanged files");

        // Half-way through a rotation: the new certificate, the old key.
        let (new_cert, new_key) = issued();
        std::fs::write(&config.cert, &new_cert).unwrap();
        let err = connection.reload(&config).unwrap_err().to_string();
        assert!(err.contains("does not fit"), "{err}");
        assert_eq!(*generation.borrow(), 0, "the current identity is kept");

        std::fs::write(&config.key, &new_key).unwrap();
        assert!(connection.reload(&config).unwrap());
        assert_eq!(*generation.borrow(), 1);
        assert!(!connection.reload(&config).unwrap());

        std::fs::write(&config.cert, "garbage").unwrap();
        assert!(connection.reload(&config).is_err());
        assert_eq!(*generation.borrow(), 1);
        let _ = std::fs::remove_dir_all(&config.data_dir);
    }
}
