//! A certificate authority per test: the hub's server certificate, client certificates for any
//! principal, and mutual-TLS channels to a hub.

use std::path::PathBuf;

use hotline_hub::pki::{Ca, Issued, Validity};
use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::tls::TlsFiles;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Installs the one rustls crypto provider (ring), as `main` does.
///
/// Also shows the hub's log in a test's output when `RUST_LOG` is set (e.g. `RUST_LOG=warn`),
/// so an internal error can be read from the failing test.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// A certificate authority and the hub's TLS files, made in a temporary directory for one test.
#[derive(Debug)]
pub struct TestPki {
    /// The CA.
    pub ca: Ca,
    /// Where the files are.
    pub dir: PathBuf,
    /// The files the hub serves with (server certificate, CA bundle, CRL).
    pub files: TlsFiles,
}

impl TestPki {
    /// A fresh CA with a server certificate for localhost and 127.0.0.1.
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("hotline-pki-{}", uuid::Uuid::new_v4()));
        let ca = Ca::init(&dir, "test CA").expect("CA");
        ca.issue_server(
            &["localhost".into()],
            &["127.0.0.1".parse().unwrap()],
            Validity::days(2),
        )
        .expect("server certificate")
        .write(&dir, "server")
        .expect("write server certificate");
        let files = TlsFiles {
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
            client_ca: dir.join("ca.pem"),
            crl: Some(dir.join("crl.pem")),
        };
        Self { ca, dir, files }
    }

    /// A client certificate for `principal`, valid for a day.
    pub fn client(&self, principal: &Principal) -> Issued {
        self.ca
            .issue_client(principal, Validity::days(1))
            .expect("client certificate")
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

/// A mutual-TLS channel to `addr` trusting `ca_pem`, presenting `identity`.
pub async fn tls_channel(
    addr: std::net::SocketAddr,
    ca_pem: &str,
    identity: Option<&Issued>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some(id) = identity {
        tls = tls.identity(Identity::from_pem(&id.cert_pem, &id.key_pem));
    }
    Endpoint::from_shared(format!("https://{addr}"))
        .expect("uri")
        .tls_config(tls)?
        .connect()
        .await
}

/// The principal of a staff role in tests.
pub fn staff(role: StaffRole) -> Principal {
    Principal::Staff {
        role,
        login: format!("test-{}", role.code()),
    }
}
