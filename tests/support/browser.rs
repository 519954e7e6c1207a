//! A headless Chromium driven over WebDriver (fantoccini), through a chromedriver this helper
//! starts on a free port and kills when the [`Browser`] is dropped. Screenshots go to
//! `<workspace>/target/screenshots/<name>.png`, kept as test artifacts.
//!
//! A machine without chromedriver fails the test with the Debian packages to install: a browser
//! test is never skipped silently.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::wd::Capabilities;
use hyper_util::client::legacy::connect::HttpConnector;

/// Where chromedriver and Chromium are (Debian's `chromium-driver` and `chromium`), unless the
/// environment says otherwise (`CHROMEDRIVER`, `CHROMIUM`).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless browser session and the chromedriver behind it.
pub struct Browser {
    client: fantoccini::Client,
    driver: Child,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("chromedriver", &self.driver.id())
            .finish_non_exhaustive()
    }
}

fn from_env(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// The workspace's `target/screenshots` folder.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .join("target")
        .join("screenshots")
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session (1280x900).
    pub async fn start() -> anyhow::Result<Browser> {
        let driver_path = from_env("CHROMEDRIVER", CHROMEDRIVER);
        let chromium = from_env("CHROMIUM", CHROMIUM);
        if !driver_path.exists() || !chromium.exists() {
            bail!(
                "browser tests need {} and {}: install the Debian packages `chromium` and \
                 `chromium-driver` (apt-get install chromium chromium-driver)",
                driver_path.display(),
                chromium.display()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("start {}", driver_path.display()))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if tokio::time::Instant::now() > deadline {
                let _ = driver.kill();
                bail!("chromedriver did not listen on port {port} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=uk-UA",
                ],
            }),
        );
        let client = fantoccini::ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match client {
            Ok(client) => Ok(Browser { client, driver }),
            Err(err) => {
                let _ = driver.kill();
                let _ = driver.wait();
                bail!("open a Chromium session: {err}")
            }
        }
    }

    /// The WebDriver client.
    pub fn client(&self) -> &fantoccini::Client {
        &self.client
    }

    /// Saves a PNG of the window to `<workspace>/target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<()> {
        let png = self.client.screenshot().await?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{name}.png")), png)?;
        Ok(())
    }

    /// Ends the browser session (chromedriver is killed on drop).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
