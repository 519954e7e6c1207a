//! A TCP proxy for fault injection, in the test process: it passes bytes between clients and an
//! upstream, and on command stalls them (connections stay open, nothing moves), refuses new
//! connections, or resets every open connection (an RST, as a dropped route or a restarted NAT
//! would).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Passes bytes both ways.
    Pass,
    /// Keeps connections open but moves nothing (accepts new ones, which stall too).
    Stall,
    /// Resets new connections at once (open ones keep passing until [`Proxy::reset_all`]).
    Refuse,
}

/// A running proxy; it stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    upstream: watch::Sender<SocketAddr>,
    resets: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.resets.send_modify(|n| *n += 1);
    }
}

impl Proxy {
    /// A proxy on 127.0.0.1 (an ephemeral port) to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let mode = watch::channel(Mode::Pass).0;
        let resets = watch::channel(0).0;
        let upstream = watch::channel(upstream).0;
        let (modes, reset_rx, upstreams) =
            (mode.subscribe(), resets.subscribe(), upstream.subscribe());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                if *modes.borrow() == Mode::Refuse {
                    let _ = client.set_zero_linger();
                    continue;
                }
                let (modes, resets) = (modes.clone(), reset_rx.clone());
                let upstream = *upstreams.borrow();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, modes, resets).await;
                    }
                });
            }
        });
        Self {
            addr,
            mode,
            upstream,
            resets,
            task,
        }
    }

    /// Sends new connections to `upstream` from now on, as a load balancer does when a backend
    /// is gone (open connections stay where they are).
    pub fn point_to(&self, upstream: SocketAddr) {
        self.upstream.send_replace(upstream);
    }

    /// Switches what the proxy does.
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// Resets every open connection.
    pub fn reset_all(&self) {
        self.resets.send_modify(|n| *n += 1);
    }
}

/// Moves bytes between `client` and `server` until either side closes or a reset is ordered.
async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    mut mode: watch::Receiver<Mode>,
    mut resets: watch::Receiver<u64>,
) {
    resets.borrow_and_update();
    let (mut up, mut down) = (vec![0_u8; 16 * 1024], vec![0_u8; 16 * 1024]);
    let reset = loop {
        if *mode.borrow_and_update() == Mode::Stall {
            tokio::select! {
                _ = mode.changed() => continue,
                _ = resets.changed() => break true,
            }
        }
        tokio::select! {
            n = client.read(&mut up) => match n {
                Ok(0) | Err(_) => break false,
                Ok(n) => if server.write_all(&up[..n]).await.is_err() { break false },
            },
            n = server.read(&mut down) => match n {
                Ok(0) | Err(_) => break false,
                Ok(n) => if client.write_all(&down[..n]).await.is_err() { break false },
            },
            _ = mode.changed() => {}
            _ = resets.changed() => break true,
        }
    };
    if reset {
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
}
