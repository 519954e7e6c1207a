//! The hub as a process of its own — the real `hub` binary, killed with SIGKILL and restarted on the
//! same address — and a directory with as many authorities as a test or benchmark wants, loaded the
//! way `hub directory load` would.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hotline_hub::app::Hotline;
use hotline_hub::domain::Caller;
use hotline_hub::starter::{self, DirectoryFile};
use hotline_hub::store::{self, AnyStore};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::{DIRECTORY, TestPki, staff, tls_channel, wait_for};

/// The `hub` binary of this build: next to a test's executable (`target/<profile>/deps/…` →
/// `target/<profile>/hub`) or to a binary's (`target/<profile>/hub-bench`).
pub fn hub_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("hub"))
        .collect();
    candidates
        .iter()
        .find(|hub| hub.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{} is missing: build it first (cargo build [--release] -p hotline-hub --bin hub; .ci/run does)",
                candidates[0].display()
            )
        })
}

/// The code of the `i`-th generated authority.
pub fn authority(i: usize) -> String {
    format!("agency-{i:03}")
}

/// The test directory plus `extra` generated authorities, loaded into the database at `url`
/// (migrating it), the way `hub directory load` would.
pub async fn load_directory(url: &str, extra: usize) {
    let mut text = DIRECTORY.to_string();
    for i in 0..extra {
        text.push_str(&format!(
            "\n[[authorities]]\ncode = \"{}\"\nname = \"Орган {i}\"\nkind = \"utility\"\ndistrict = \"dniprovskyi\"\n",
            authority(i)
        ));
    }
    let file = DirectoryFile::parse(&text).expect("directory");
    let caller = Caller::system("fault test set-up");
    match store::open(url).await.expect("open database") {
        AnyStore::Sqlite(s) => {
            starter::load(&Hotline::new(s.clone()), &file, &caller)
                .await
                .expect("load");
            s.pool().close().await;
        }
        AnyStore::Postgres(s) => {
            starter::load(&Hotline::new(s.clone()), &file, &caller)
                .await
                .expect("load");
            s.pool().close().await;
        }
    }
}

/// A free port on 127.0.0.1 (bound, then released for the hub to take).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// The hub as a process of its own.
#[derive(Debug)]
pub struct HubProcess {
    /// Its process id while it runs (for its memory, read from `/proc`).
    pub pid: Option<u32>,
    /// Where it serves gRPC.
    pub addr: SocketAddr,
    /// Where it serves metrics.
    pub metrics: SocketAddr,
    /// Its stderr, for a failing test to show.
    pub log: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl HubProcess {
    /// Starts `hub serve` over `database_url` with the test PKI's files and waits until it serves.
    pub async fn start(database_url: &str, pki: &TestPki, data_dir: &Path) -> Self {
        Self::start_with(database_url, pki, data_dir, &[]).await
    }

    /// [`Self::start`] with more `hub serve` arguments (limits, say).
    pub async fn start_with(
        database_url: &str,
        pki: &TestPki,
        data_dir: &Path,
        extra: &[&str],
    ) -> Self {
        let (addr, metrics) = (free_port(), free_port());
        let files = &pki.files;
        let path = |p: &Path| p.display().to_string();
        let args = vec![
            "serve".into(),
            "--listen".into(),
            addr.to_string(),
            "--metrics-listen".into(),
            metrics.to_string(),
            "--data-dir".into(),
            path(data_dir),
            "--database-url".into(),
            database_url.to_string(),
            "--tls-cert".into(),
            path(&files.cert),
            "--tls-key".into(),
            path(&files.key),
            "--client-ca".into(),
            path(&files.client_ca),
            "--no-starter".into(),
            "--readiness-drain-secs".into(),
            "0".into(),
        ];
        // Heartbeats every second, so that tests see them, unless `extra` says otherwise.
        let heartbeat = ["--heartbeat-secs", "1"];
        let args = args
            .into_iter()
            .chain(
                heartbeat
                    .iter()
                    .filter(|_| !extra.contains(&heartbeat[0]))
                    .chain(extra)
                    .map(|a| a.to_string()),
            )
            .collect();
        let mut hub = Self {
            addr,
            metrics,
            log: data_dir.join("hub.log"),
            args,
            child: None,
            pid: None,
        };
        hub.spawn(pki).await;
        hub
    }

    async fn spawn(&mut self, pki: &TestPki) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("hub log");
        let child = Command::new(hub_binary())
            .args(&self.args)
            .env("HOTLINE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start the hub");
        self.pid = Some(child.id());
        self.child = Some(child);
        let addr = self.addr;
        wait_for(
            "the hub process to serve",
            Duration::from_secs(60),
            || async {
                let channel = tls_channel(
                    addr,
                    pki.ca.cert_pem(),
                    Some(&pki.client(&staff(hotline_hub::principal::StaffRole::Supervisor))),
                )
                .await
                .ok()?;
                let answer = HealthClient::new(channel)
                    .check(HealthCheckRequest::default())
                    .await
                    .ok()?;
                (answer.into_inner().status == 1).then_some(())
            },
        )
        .await;
    }

    /// `kill -9`: no shutdown, no flush, nothing.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            self.pid = None;
            child.kill().expect("SIGKILL the hub");
            child.wait().expect("reap the hub");
        }
    }

    /// Its metrics, as Prometheus scrapes them (`GET /metrics`).
    pub async fn scrape(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut conn = tokio::net::TcpStream::connect(self.metrics)
            .await
            .expect("metrics listener");
        conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut text = String::new();
        conn.read_to_string(&mut text).await.unwrap();
        text
    }

    /// Its resident memory in KiB, from `/proc` (Linux); `None` when it is not running.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid?)
    }

    /// Starts it again with the same arguments (same address, same database).
    pub async fn restart(&mut self, pki: &TestPki) {
        self.kill9();
        self.spawn(pki).await;
    }
}

/// The resident memory of process `pid` in KiB, from `/proc` (Linux); `None` when it is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
