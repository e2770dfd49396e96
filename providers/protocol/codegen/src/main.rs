//! Regenerates plinth-protocol's prost messages and tonic clients and servers from the
//! protocol definitions, with protox (a protobuf compiler in Rust: no `protoc` needed).
//!
//! ```sh
//! cargo run --manifest-path providers/protocol/codegen/Cargo.toml          # rewrite
//! cargo run --manifest-path providers/protocol/codegen/Cargo.toml -- --check
//! ```
//!
//! `--check` writes nothing and exits 1 when a generated file is not what the
//! definitions give.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const PROTOS: [&str; 4] = ["tfplugin5", "tfplugin6", "plugin", "plinth"];

fn main() -> ExitCode {
    let check = std::env::args().skip(1).any(|a| a == "--check");
    match run(check) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Whether the generated files are (or now are) what the definitions give.
fn run(check: bool) -> Result<bool, Box<dyn std::error::Error>> {
    let protocol = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no protocol crate above the codegen crate")?
        .to_path_buf();
    let proto_dir = protocol.join("proto");
    let files: Vec<PathBuf> = PROTOS
        .iter()
        .map(|p| proto_dir.join(format!("{p}.proto")))
        .collect();
    let descriptors = protox::compile(&files, [&proto_dir])?;
    let scratch = std::env::temp_dir().join(format!("plinth-codegen-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .out_dir(&scratch)
        .compile_fds(descriptors)?;
    let generated = protocol.join("src/generated");
    let mut same = true;
    for p in PROTOS {
        let name = format!("{p}.rs");
        let fresh = std::fs::read_to_string(scratch.join(&name))?;
        let target = generated.join(&name);
        let current = std::fs::read_to_string(&target).unwrap_or_default();
        if current == fresh {
            continue;
        }
        same = false;
        if check {
            eprintln!("{} is out of date", target.display());
        } else {
            std::fs::write(&target, fresh)?;
            eprintln!("wrote {}", target.display());
        }
    }
    std::fs::remove_dir_all(&scratch)?;
    Ok(same || !check)
}
