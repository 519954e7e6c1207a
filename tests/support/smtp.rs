//! A local SMTP sink: accepts mail on 127.0.0.1 the way a relay would (no TLS, no authentication)
//! and keeps every message, so tests can read what the hub sent.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message the sink received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The envelope's recipients.
    pub to: Vec<String>,
    /// The message as sent (headers and body).
    pub data: String,
}

/// A running sink.
#[derive(Debug, Clone)]
pub struct SmtpSink {
    /// `smtp://127.0.0.1:<port>`, for the hub's relay setting.
    pub url: String,
    received: Arc<Mutex<Vec<Mail>>>,
    refuse: Arc<Mutex<bool>>,
}

impl SmtpSink {
    /// Starts a sink on an ephemeral port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind smtp sink");
        let url = format!("smtp://{}", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(Mutex::new(false));
        let (store, refusing) = (received.clone(), refuse.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, refusing) = (store.clone(), refusing.clone());
                tokio::spawn(async move {
                    let _ = session(stream, store, refusing).await;
                });
            }
        });
        Self {
            url,
            received,
            refuse,
        }
    }

    /// The messages received so far.
    pub fn mail(&self) -> Vec<Mail> {
        self.received.lock().expect("sink lock").clone()
    }

    /// From now on, refuse every message with a permanent error (a relay that rejects).
    pub fn refuse_all(&self) {
        *self.refuse.lock().expect("sink lock") = true;
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Mail>>>,
    refusing: Arc<Mutex<bool>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    let mut to = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("MAIL FROM") {
            to.clear();
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO") {
            if *refusing.lock().expect("sink lock") {
                b"550 no such mailbox\r\n"
            } else {
                let address = line[8..].trim().trim_start_matches(':').trim();
                to.push(address.trim_matches(['<', '>']).to_string());
                b"250 ok\r\n"
            }
        } else if upper == "DATA" {
            write.write_all(b"354 go on\r\n").await?;
            let mut data = String::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                data.push_str(&l);
                data.push('\n');
            }
            store.lock().expect("sink lock").push(Mail {
                to: std::mem::take(&mut to),
                data,
            });
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 ok\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
