//! Helpers shared by the integration tests: write a stack into a temporary directory,
//! run the real `plinth` binary on it, or evaluate it through the library.

#![allow(dead_code)]

pub mod kube;

use std::path::Path;
use std::process::Command;

use plinth::lang::Value;
use plinth::stack::{load_and_evaluate, LoadedStack, StackOptions};

pub fn stack(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(path, text).expect("write file");
    }
    dir
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn plinth(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().expect("utf-8 path"), "--no-color"])
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run plinth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `plinth` in `dir` with the providers in `plugins` (and a cache beside the stack),
/// never reading Kubernetes settings from the environment.
pub fn plinth_with(dir: &Path, plugins: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().expect("utf-8 path"), "--no-color"])
        .args(args)
        .env("PLINTH_PLUGIN_DIR", plugins)
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .env_remove("KUBE_HOST")
        .env_remove("KUBE_CONFIG_PATH")
        .output()
        .expect("run plinth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn evaluate(dir: &Path) -> LoadedStack {
    load_and_evaluate(dir, &StackOptions::default())
}

/// The root module's value for `output.NAME`.
pub fn output(stack: &LoadedStack, name: &str) -> Value {
    stack
        .evaluation
        .root()
        .and_then(|r| r.outputs.get(name))
        .cloned()
        .unwrap_or_else(|| panic!("no output {name}"))
}

pub fn main_tf(text: &str) -> tempfile::TempDir {
    stack(&[("main.tf", text)])
}

/// The directory holding plinth/local's executable, built beside plinth.
pub fn local_provider_dir() -> std::path::PathBuf {
    provider_dir("terraform-provider-local", "providers/local")
}

/// The directory holding plinth/kubernetes's executable, built beside plinth.
pub fn kubernetes_provider_dir() -> std::path::PathBuf {
    provider_dir("terraform-provider-kubernetes", "providers/kubernetes")
}

/// The directory holding one of the repository's provider executables (package
/// `package`, sources in `source`), built beside plinth. A binary older than any
/// source it is built from is rebuilt (once per test process), so one left by an
/// older build is never used. `cargo test --workspace` has just built it with the
/// workspace's features; building it again with `-p` would resolve other features
/// and compile its dependencies a second time.
pub fn provider_dir(package: &str, source: &str) -> std::path::PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let dir = Path::new(env!("CARGO_BIN_EXE_plinth"))
        .parent()
        .expect("target dir")
        .to_path_buf();
    let mut built_here = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built_here.iter().any(|p| p == package) {
        return dir;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = [source, "providers/sdk", "providers/protocol", "Cargo.lock"];
    let built = modified(&dir.join(package));
    let newest = sources.iter().filter_map(|s| newest(&root.join(s))).max();
    if built.is_none() || built < newest {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", package])
            .current_dir(root)
            .status()
            .expect("cargo build");
        assert!(status.success(), "cargo build -p {package} failed");
    }
    built_here.push(package.to_string());
    dir
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file or of any file under a directory.
fn newest(path: &Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "target")
        .filter_map(|e| newest(&e.path()))
        .max()
}

/// Runs one of the scripts that install a reference program (Terraform v1.0.3, the
/// lxd provider, moto) and print its path; the path.
pub fn installed(script: &str) -> std::path::PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(repo.join("scripts").join(script))
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs Terraform v1.0.3 in `dir` with the CLI configuration `cli_config` (where a
/// test's `dev_overrides` point it at one of the repository's providers).
pub fn terraform(dir: &Path, cli_config: &Path, args: &[&str]) -> Run {
    let out = Command::new(installed("terraform-path"))
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .output()
        .expect("run terraform");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The SHA-256 of `bytes` in hex, as plinth's plan and state files record it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A plan file's text with `body` (the JSON after the header line) and a header
/// whose checksum matches it: what an edit that also recomputes the checksum makes.
pub fn signed_plan(body: &str) -> String {
    format!("plinth-plan sha256={}\n{body}", sha256_hex(body.as_bytes()))
}
