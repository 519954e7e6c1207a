//! Compiles `hotline/v1/*.proto` with the pure-Rust `protox` compiler (no system `protoc`) and writes
//! the file descriptor set that the hub serves through gRPC reflection.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "hotline/v1/common.proto",
    "hotline/v1/appeals.proto",
    "hotline/v1/directory.proto",
    "hotline/v1/agency.proto",
    "hotline/v1/exchange.proto",
    "hotline/v1/reports.proto",
    "hotline/v1/operations.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("hotline_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
