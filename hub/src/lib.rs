//! The hotline hub: registers citizens' appeals, routes them to authorities as cases with legal
//! deadlines, checks the answers and closes appeals once the citizen confirms.
//!
//! # Layout
//! - [`domain`]: the rules (state machines, deadlines, validation). Pure.
//! - [`store`]: one [`store::Store`] trait, with SQLite and PostgreSQL implementations and the event log.
//! - [`app`]: application services: look up references, run a domain transition inside a store transaction.
//! - [`api`]: thin tonic handlers, error mapping, and [`api::serve`] (listener + shutdown future).
//! - [`config`]: configuration by flags, environment and a TOML file.
//! - [`starter`]: the starter directory (districts, classifier, authorities) a new hotline loads.
//! - [`cli`]: the `hub` binary's staff commands, talking to a running hub over gRPC.

#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod domain;
pub mod pki;
pub mod principal;
pub mod reports;
pub mod starter;
pub mod store;
pub mod tls;
