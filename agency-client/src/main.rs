//! `agency-client`: the daemon and CLI each authority runs to receive its cases from the hub over
//! mutual TLS, report progress and send results back (shared/DESIGN.md, "Delivery to authorities").
//!
//! Not built yet: the hub's `AgencyGateway` (declared in `proto/hotline/v1/agency.proto`) and this
//! client are the agency-path issue's work. Until then this binary says so and exits with status 2,
//! rather than pretending to run.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "agency-client {}: not implemented yet; the agency gateway and this client are the agency-path issue's work",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
