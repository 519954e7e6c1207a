//! End-to-end tests: a real hub on an ephemeral port over SQLite and PostgreSQL, driven through its
//! public gRPC API, by real agency clients and by gRPC's C core (grpcio); the staff console in a
//! real browser.

mod agency;
mod agency_client;
mod bad_input;
mod console;
mod console_cases;
mod console_sessions;
mod desk;
mod dimensions;
mod event_log;
mod exchange;
mod group_commit;
mod grpcio;
mod holes;
mod law;
mod lifecycle;
mod opendata;
mod operations;
mod reports;
mod scale;
mod security;
mod service;
