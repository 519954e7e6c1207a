//! The agency client: what each authority runs to receive the cases the hotline assigns it, report
//! progress and send its results back, over mutual TLS, without losing anything when either side
//! restarts.
//!
//! # Layout
//! - [`config`]: flags, environment and a TOML file.
//! - [`local`]: the local SQLite store (inbox, seen events, outbox, receipts, hook queue).
//! - [`identity`]: the TLS certificate, key and CA, checked, and re-read when they change.
//! - [`client`]: [`Agency`], the handle on the hub: writing reports to the outbox and sending them.
//! - [`stream`]: the case stream into the local store, acknowledged in batches.
//! - [`hooks`]: handing new and changed cases to the authority's own systems, apart from the stream.
//! - [`daemon`]: [`Agency::run`], every task of the daemon and its graceful stop.
//! - [`desk`]: the clerks' web page (`run --desk`), over the local store and the outbox.
//! - [`files`]: safe names and confined, atomic writes for files named from hub data.
//! - [`cli`]: the command line.

#![forbid(unsafe_code)]

pub mod cli;
pub mod client;
pub mod config;
pub mod daemon;
pub mod desk;
pub mod files;
pub mod hooks;
pub mod identity;
pub mod local;
pub mod metrics;
pub mod stream;

pub use client::{Action, Agency, Sent};
pub use config::{ClientConfig, DaemonConfig};
