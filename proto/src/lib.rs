//! The `hotline.v1` gRPC contract: messages, clients and servers generated from `../hotline/v1/*.proto`.
//!
//! # Layout
//! - `hotline/v1/common.proto`: the appeal, its cases and the event log entry, shared by every service.
//! - `hotline/v1/appeals.proto`: `AppealRegistry`, the contact centre's staff service.
//! - `hotline/v1/directory.proto`: `Directory`, authorities, classifier and districts.
//! - `hotline/v1/agency.proto`: `AgencyGateway`, what an authority's agency client calls.
//! - `hotline/v1/reports.proto`: `Reports`, daily monitoring for leadership.
//! - `hotline/v1/exchange.proto`: `ContactCentreExchange`, the national contact centre's exchange.
//! - `hotline/v1/operations.proto`: `Operations`, the hub's status for the staff on duty.
//!
//! - [`render`]: enum names, JSON forms and text tables for the command lines.
//! - [`receipt`]: the canonical form of the hub's signed receipts, signing and checking.
//!
//! Generated code is never edited; the hub converts to its own domain types at the API edge.

#![forbid(unsafe_code)]
pub mod receipt;
pub mod render;

/// Version 1 of the contract (`package hotline.v1`).
#[allow(missing_debug_implementations, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("hotline.v1");
}

/// The encoded `FileDescriptorSet` of every hotline proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/hotline_descriptor.bin"));
