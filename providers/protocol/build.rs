//! Compiles the protocol definitions with protox (a protobuf compiler in Rust, so
//! building needs no `protoc` on the machine) and generates prost messages and tonic
//! clients and servers for both major versions.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/tfplugin5.proto",
        "proto/tfplugin6.proto",
        "proto/plugin.proto",
        "proto/plinth.proto",
    ];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
