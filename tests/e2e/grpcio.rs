//! The hub driven by a gRPC stack we did not write: grpcio (gRPC's C core, installed by .ci/run),
//! through `tests/python/grpcio_driver.py`, over one mutual-TLS channel per driver.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use prost::Message;
use tokio::sync::mpsc;

/// How long a driver waits for an answer line.
const ANSWER: Duration = Duration::from_secs(20);

/// True when grpcio can be imported; in CI its absence fails the test that needs it.
pub fn available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import grpc"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI must have grpcio (.ci/run installs it)"
        );
        eprintln!("grpcio test not run: pip install grpcio");
    }
    ok
}

/// One grpcio channel to the hub, as one identity.
pub struct Driver {
    child: Child,
    stdin: ChildStdin,
    answers: mpsc::UnboundedReceiver<String>,
    stream: mpsc::UnboundedReceiver<String>,
    dir: std::path::PathBuf,
}

/// What grpcio saw: the reply's bytes, or the status code's name and details.
pub type Reply = Result<Vec<u8>, (String, String)>;

impl Driver {
    /// Starts a driver connecting to `addr`, trusting `ca_pem`, presenting `identity`.
    pub fn start(
        addr: std::net::SocketAddr,
        ca_pem: &str,
        identity: &hotline_hub::pki::Issued,
    ) -> Self {
        let dir = std::env::temp_dir().join(format!("hotline-grpcio-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca, cert, key) = (
            dir.join("ca.pem"),
            dir.join("client.pem"),
            dir.join("client.key"),
        );
        std::fs::write(&ca, ca_pem).unwrap();
        std::fs::write(&cert, &identity.cert_pem).unwrap();
        std::fs::write(&key, &identity.key_pem).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/grpcio_driver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(addr.to_string())
            .arg(&ca)
            .arg(&cert)
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run python3");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (answer_tx, answers) = mpsc::unbounded_channel();
        let (stream_tx, stream) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let sent = match line.strip_prefix("S ") {
                    Some(rest) => stream_tx.send(rest.to_string()),
                    None => answer_tx.send(line),
                };
                if sent.is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            stdin,
            answers,
            stream,
            dir,
        }
    }

    fn send(&mut self, line: String) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// One unary call of `method` with `request`.
    pub async fn call(&mut self, method: &str, request: &impl Message) -> Reply {
        self.send(format!("CALL {method} {}", hex(&request.encode_to_vec())));
        let line = tokio::time::timeout(ANSWER, self.answers.recv())
            .await
            .expect("grpcio answers in time")
            .expect("the driver is running");
        parse(&line)
    }

    /// Opens a server stream of `method` with `request`; its lines come from [`Driver::next`].
    pub fn open_stream(&mut self, method: &str, request: &impl Message) {
        self.send(format!("STREAM {method} {}", hex(&request.encode_to_vec())));
    }

    /// The next line of the open stream: `MSG <hex>`, `END` or `ERROR <code> <details>`; `None`
    /// when nothing came within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<String> {
        tokio::time::timeout(wait, self.stream.recv())
            .await
            .ok()
            .flatten()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "QUIT");
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex.
pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn parse(line: &str) -> Reply {
    if let Some(reply) = line.strip_prefix("OK") {
        return Ok(unhex(reply.trim()));
    }
    let rest = line.strip_prefix("ERROR ").unwrap_or(line);
    let (code, details) = rest.split_once(' ').unwrap_or((rest, ""));
    Err((code.to_string(), details.to_string()))
}
