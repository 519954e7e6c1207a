//! Shared helpers of the end-to-end tests: a real hub on an ephemeral port over a fresh database
//! (a temporary SQLite file, or a new PostgreSQL database per test), gRPC clients over mutual TLS
//! with certificates made in the test, a small directory, and waiting on conditions with a timeout.
//!
//! PostgreSQL tests run when `HOTLINE_TEST_POSTGRES` names a server (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`). Without it they say so and pass; with `CI=true`
//! and no URL, they fail, so CI can never skip them silently.
//!
//! # Layout
//! - [`agency`]: an agency client daemon in the test process.
//! - [`browser`]: a headless Chromium over chromedriver, with screenshots.
//! - [`db`]: a database per test, and direct SQL on it.
//! - [`pki`]: a CA per test, client certificates, TLS channels.
//! - [`http`]: a minimal HTTP GET for the plain-HTTP listeners.
//! - [`hub`]: a hub serving over its database and CA; restart, shutdown, agency client configuration.
//! - [`fixtures`]: the small directory and a valid card.
//! - [`process`]: the real `hub` binary as a process of its own; a directory of many authorities.
//! - [`smtp`]: a local SMTP sink that keeps what the hub mails.

#![forbid(unsafe_code)]

pub mod agency;
pub mod browser;
pub mod db;
pub mod fixtures;
pub mod http;
pub mod hub;
pub mod pki;
pub mod process;
pub mod smtp;

use std::future::Future;
use std::time::Duration;

pub use db::{POSTGRES_ENV, TestDb, count_rows, execute, settled_events};
pub use fixtures::{DIRECTORY, assign_to, authority_answers, register_water, water_complaint};
pub use hub::{
    TestHub, hub_with, hub_with_clock, hub_with_ops, on_postgres, on_sqlite, postgres_hub,
    postgres_store, settings, sqlite_hub, sqlite_store, test_ops,
};
pub use pki::{TestPki, install_crypto, staff, tls_channel};

/// Waits until `check` returns `Some`, polling every 20 ms, failing after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Declares `mod $name { sqlite, postgres }` tests running the generic test fn `$name` on both databases.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                hotline_tests::on_sqlite(super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                hotline_tests::on_postgres(super::$name).await;
            }
        }
    )+};
}
