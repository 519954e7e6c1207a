//! The agency client: what each authority runs to receive the cases the hotline assigns it, report
//! progress and send its results back, over mutual TLS, without losing anything when either side
//! restarts.
//!
//! # Layout
//! - [`config`]: flags, environment and a TOML file.
//! - [`local`]: the local SQLite store (inbox, seen events, outbox, receipts).
//! - [`client`]: the stream follower and the outbox sender; [`client::Agency::run`] is the daemon.
//! - [`hooks`]: hand new and changed cases to the authority's own systems.
//! - [`cli`]: the command line.

#![forbid(unsafe_code)]

pub mod cli;
pub mod client;
pub mod config;
pub mod hooks;
pub mod local;

pub use client::{Action, Agency, Sent};
pub use config::ClientConfig;
