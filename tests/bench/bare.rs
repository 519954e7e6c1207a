//! The floor for memory per stream: a bare tonic server — `grpc.health.v1`, nothing of the hub —
//! over the same mutual TLS, in a process of its own (this bench's own executable, started with
//! `--bare-watch-server`), with as many idle server streams (`Health/Watch`) as the hub had agency
//! streams, each on its own connection with its own client certificate. What it costs per stream,
//! and whether its memory comes back after they leave, is what tonic, h2, rustls, tokio and the
//! allocator cost before any code of ours runs.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use hotline_hub::pki::Issued;
use hotline_tests::process::rss_kib;
use hotline_tests::{TestPki, tls_channel};
use tokio::task::JoinSet;
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The flag that makes this executable the bare server: `--bare-watch-server CERT KEY CA`.
pub const FLAG: &str = "--bare-watch-server";

/// The bare server's process; killed when dropped.
pub struct BareServer {
    child: Child,
    pub addr: SocketAddr,
}

impl BareServer {
    /// Starts this executable as the bare server with the hub's certificate and CA; returns once it
    /// has printed the address it listens on.
    pub fn start(pki: &TestPki) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("this executable"))
            .arg(FLAG)
            .arg(&pki.files.cert)
            .arg(&pki.files.key)
            .arg(&pki.files.client_ca)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the bare server");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("its address");
        let addr = line.trim().parse().expect("an address on its first line");
        Self { child, addr }
    }

    /// Its resident memory in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.child.id())
    }

    /// Opens one idle `Health/Watch` stream per identity, each on a connection of its own, at most
    /// `connecting` handshakes at a time; returns when all are open. Aborting the set closes them.
    pub async fn watch_all(
        &self,
        pki: &Arc<TestPki>,
        identities: &Arc<Vec<Issued>>,
        connecting: usize,
    ) -> JoinSet<()> {
        let gate = Arc::new(tokio::sync::Semaphore::new(connecting));
        let (opened, mut opened_rx) = tokio::sync::mpsc::channel::<()>(identities.len().max(1));
        let mut watchers = JoinSet::new();
        for i in 0..identities.len() {
            let (gate, opened, pki, identities) = (
                gate.clone(),
                opened.clone(),
                pki.clone(),
                identities.clone(),
            );
            let addr = self.addr;
            watchers.spawn(async move {
                let stream = {
                    let _turn = gate.acquire().await;
                    let channel = tls_channel(addr, pki.ca.cert_pem(), Some(&identities[i]))
                        .await
                        .expect("a connection to the bare server");
                    HealthClient::new(channel)
                        .watch(HealthCheckRequest::default())
                        .await
                        .expect("a watch stream")
                        .into_inner()
                };
                let _ = opened.send(()).await;
                let mut stream = stream;
                while let Ok(Some(_status)) = stream.message().await {}
            });
        }
        for _ in 0..identities.len() {
            opened_rx.recv().await;
        }
        watchers
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bare server itself: tonic's own TLS (rustls) requiring a client certificate from `ca`, the
/// hub's keepalive defaults, TCP_NODELAY as the hub sets it, and the health service alone. Prints
/// its address, then serves until killed.
pub async fn serve(cert: &Path, key: &Path, ca: &Path) {
    let read = |p: &Path| std::fs::read_to_string(p).expect("a PEM file");
    let tls = tonic::transport::ServerTlsConfig::new()
        .identity(tonic::transport::Identity::from_pem(read(cert), read(key)))
        .client_ca_root(tonic::transport::Certificate::from_pem(read(ca)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    println!("{}", listener.local_addr().expect("its address"));
    let (_reporter, health) = tonic_health::server::health_reporter();
    let ops = hotline_hub::api::Ops::default();
    tonic::transport::Server::builder()
        .tls_config(tls)
        .expect("TLS")
        .http2_keepalive_interval(Some(ops.keepalive_interval))
        .http2_keepalive_timeout(Some(ops.keepalive_timeout))
        .add_service(health)
        .serve_with_incoming(
            tokio_stream::wrappers::TcpListenerStream::new(listener).map(|conn| {
                conn.and_then(|c| {
                    c.set_nodelay(true)?;
                    Ok(c)
                })
            }),
        )
        .await
        .expect("the bare server");
}
