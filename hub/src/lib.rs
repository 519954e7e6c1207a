//! The hotline hub: registers citizens' appeals, routes them to authorities as cases with legal
//! deadlines, checks the answers and closes appeals once the citizen confirms.
//!
//! # Layout
//! One direction of flow: `api` → `app` → `domain`, with `app` the only way into `store`.
//! - [`domain`]: the rules (state machines, deadlines, the Law, the directory, validation). Pure.
//! - [`app`]: the use cases: look up references, run a domain transition inside one store
//!   transaction, follow the event log; one clock.
//! - [`store`]: small traits by concern, one SQL implementation for SQLite and PostgreSQL, the event log.
//! - [`api`]: thin tonic handlers, the auth layer, error mapping, and [`api::serve`].
//! - [`console`]: the staff console, web pages over the same use cases and authorization matrix.
//! - [`server`]: startup wiring: database, use cases, TLS, listener, API and deadline monitor.
//! - [`config`]: configuration by flags, environment and a TOML file.
//! - [`tls`], [`live`], [`pki`], [`principal`], [`audit`]: mutual TLS, live connections, the CA,
//!   identities, the audit chain.
//! - [`metrics`], [`presence`]: the Prometheus metrics and who is connected (for `hub status`).
//! - [`backup`]: backup and restore of the database (`hub backup`, `hub restore`).
//! - [`starter`]: the starter directory (districts, classifier, authorities) a new hotline loads.
//! - [`cli`]: the `hub` binary's commands.

#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod audit;
pub mod backup;
pub mod cli;
pub mod config;
pub mod console;
pub mod domain;
pub mod live;
pub mod metrics;
pub mod pki;
pub mod presence;
pub mod principal;
pub mod server;
pub mod starter;
pub mod store;
pub mod tls;
