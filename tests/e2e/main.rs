//! End-to-end tests: a real hub on an ephemeral port over SQLite and PostgreSQL, driven through its
//! public gRPC API. Agency actions go through the store until the agency gateway lands.

mod agency;
mod agency_client;
mod bad_input;
mod event_log;
mod lifecycle;
mod reports;
mod security;
mod service;
