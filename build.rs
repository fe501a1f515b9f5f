//! Compiles `proto/warden/v1/*.proto` with the pure-Rust `protox` compiler (no
//! system `protoc`), generates tonic services and prost messages, proto3 JSON
//! (serde) impls with `pbjson`, and writes the file descriptor set that the
//! reflection service embeds.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/warden/v1/common.proto",
    "proto/warden/v1/risk.proto",
    "proto/warden/v1/audit.proto",
    "proto/warden/v1/approval.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let fds = protox::compile(PROTOS, ["proto"])?;
    let descriptor_bytes = prost::Message::encode_to_vec(&fds);
    std::fs::write(out_dir.join("warden_descriptor.bin"), &descriptor_bytes)?;

    tonic_prost_build::configure()
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        // Invalid UTF-8 in a string field must be INVALID_ARGUMENT, not the
        // INTERNAL that the stock codec answers for any decode error.
        .codec_path("crate::proto::codec::WardenCodec")
        .compile_fds(fds)?;

    pbjson_build::Builder::new().register_descriptors(&descriptor_bytes)?.build(&[".warden.v1"])?;
    Ok(())
}
