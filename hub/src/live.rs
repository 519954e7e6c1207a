//! Live connections: every connection the TLS listener accepted, registered with its peer's
//! certificate chain, identity and expiry, and a switch that closes it. A rustls handshake check
//! does nothing for a connection that is already open, so whoever decides that a peer lost its
//! access (a revoked or no longer trusted certificate, an expired one, a deactivated authority)
//! closes its connections here: every call and stream on them ends at once.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tonic::transport::server::Connected;

use crate::principal::Principal;

/// What is known of one live connection's peer.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its certificate chain, end entity first.
    pub chain: Vec<CertificateDer<'static>>,
    /// What the certificate names, or why it names nothing usable: read once at the handshake
    /// and handed to every call on the connection ([`PeerInfo`]), since parsing the certificate
    /// at each call was a measurable part of a small call's cost.
    pub identity: Arc<Result<Principal, String>>,
    /// When its certificate expires (seconds since the epoch).
    pub not_after: i64,
}

impl Peer {
    /// Its identity, when the certificate names one.
    pub fn principal(&self) -> Option<&Principal> {
        self.identity.as_ref().as_ref().ok()
    }

    /// The peer of a verified chain.
    pub fn of(chain: Vec<CertificateDer<'static>>) -> Self {
        let leaf = chain.first();
        let identity = leaf.map_or_else(
            || Err("a client certificate is required".to_string()),
            |c| Principal::from_cert_der(c),
        );
        Self {
            identity: Arc::new(identity),
            not_after: leaf.map_or(i64::MIN, |c| not_after(c)),
            chain,
        }
    }
}

/// A certificate's end of validity, in seconds since the epoch (the past for one that cannot be read).
fn not_after(der: &CertificateDer<'_>) -> i64 {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert.validity().not_after.timestamp())
        .unwrap_or(i64::MIN)
}

#[derive(Debug)]
struct Entry {
    peer: Peer,
    close: watch::Sender<bool>,
}

/// The registry of live connections.
#[derive(Debug, Default)]
pub struct LiveConnections {
    next: AtomicU64,
    live: Mutex<HashMap<u64, Entry>>,
}

impl LiveConnections {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Registers `io` (a connection whose peer is `peer`) and returns it guarded: it fails every
    /// read and write once closed, and leaves the registry when dropped.
    pub fn register<IO>(self: &Arc<Self>, io: IO, peer: Peer) -> Guarded<IO> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let identity = Arc::clone(&peer.identity);
        let (close, mut closed) = watch::channel(false);
        self.live
            .lock()
            .expect("live connections lock")
            .insert(id, Entry { peer, close });
        Guarded {
            io,
            id,
            identity,
            registry: Arc::clone(self),
            closed: Box::pin(async move {
                let _ = closed.wait_for(|c| *c).await;
            }),
            is_closed: false,
        }
    }

    /// Closes every live connection whose peer `condemn` names a reason for, and logs why.
    /// Returns how many were closed.
    pub fn close_where(&self, condemn: impl Fn(&Peer) -> Option<String>) -> usize {
        let live = self.live.lock().expect("live connections lock");
        let mut closed = 0;
        for entry in live.values() {
            if *entry.close.borrow() {
                continue;
            }
            if let Some(why) = condemn(&entry.peer) {
                let who = entry
                    .peer
                    .principal()
                    .map_or_else(|| "unknown peer".to_string(), ToString::to_string);
                tracing::warn!(peer = %who, reason = %why, "closing a live connection");
                let _ = entry.close.send(true);
                closed += 1;
            }
        }
        closed
    }

    /// How many connections are open.
    pub fn count(&self) -> usize {
        self.live.lock().expect("live connections lock").len()
    }

    fn remove(&self, id: u64) {
        self.live.lock().expect("live connections lock").remove(&id);
    }
}

/// A connection that can be closed from outside.
pub struct Guarded<IO> {
    io: IO,
    id: u64,
    identity: Arc<Result<Principal, String>>,
    registry: Arc<LiveConnections>,
    closed: Pin<Box<dyn Future<Output = ()> + Send + Sync>>,
    is_closed: bool,
}

impl<IO> std::fmt::Debug for Guarded<IO> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Guarded(connection {})", self.id)
    }
}

impl<IO> Guarded<IO> {
    /// An error once the connection was closed (registering the task to wake when it is).
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if !self.is_closed && self.closed.as_mut().poll(cx).is_ready() {
            self.is_closed = true;
        }
        if self.is_closed {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the peer lost its access",
            ))
        } else {
            Ok(())
        }
    }
}

impl<IO> Drop for Guarded<IO> {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Guarded<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(err) = this.check(cx) {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Guarded<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(err) = this.check(cx) {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(err) = this.check(cx) {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// What a connection tells each of its calls, in the request's extensions: the transport's own
/// details and the identity its peer's certificate names (read once, at the handshake).
#[derive(Debug, Clone)]
pub struct PeerInfo<C> {
    /// The transport's details (over TLS: the peer's certificates).
    pub transport: C,
    /// What the peer's certificate names, or why it names nothing usable.
    pub identity: Arc<Result<Principal, String>>,
}

impl<IO: Connected> Connected for Guarded<IO> {
    type ConnectInfo = PeerInfo<IO::ConnectInfo>;

    fn connect_info(&self) -> Self::ConnectInfo {
        PeerInfo {
            transport: self.io.connect_info(),
            identity: Arc::clone(&self.identity),
        }
    }
}
