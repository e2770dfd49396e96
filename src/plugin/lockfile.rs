//! `.plinth.lock.hcl`: the exact provider versions `plinth init` installed and the
//! SHA-256 of each binary, so later runs use exactly those and refuse a binary that
//! changed. Written in the shape of Terraform's `.terraform.lock.hcl`:
//!
//! ```hcl
//! provider "registry.terraform.io/plinth/local" {
//!   version     = "0.1.0"
//!   constraints = ">= 0.1"
//!   hashes = [
//!     "sha256:0f1e…",
//!   ]
//! }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

pub const FILE: &str = ".plinth.lock.hcl";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Locked {
    pub version: String,
    pub constraints: Option<String>,
    /// `sha256:<hex>` of each binary accepted for this provider.
    pub hashes: Vec<String>,
}

/// Provider source address (`registry.terraform.io/plinth/local`) → what is locked.
pub type LockFile = BTreeMap<String, Locked>;

pub fn read(stack_dir: &Path) -> Result<LockFile, String> {
    let path = stack_dir.join(FILE);
    // Only a lock file that is not there at all means nothing is locked: a dangling
    // symlink or a FIFO in its place is an error, never an empty lock.
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LockFile::new()),
        Err(e) => return Err(format!("cannot read {FILE}: {e}")),
        Ok(_) => {}
    }
    let text = crate::config::load::read_file(&path, FILE).map_err(|d| d.to_string())?;
    let body = hcl_edit::parser::parse_body(&text).map_err(|e| format!("{FILE}: {e}"))?;
    let mut out = LockFile::new();
    for block in body.get_blocks("provider") {
        let Some(address) = block.labels.first().map(|l| l.as_str().to_string()) else {
            continue;
        };
        let string = |name: &str| -> Option<String> {
            match block.body.get_attribute(name).map(|a| &a.value) {
                Some(hcl_edit::expr::Expression::String(s)) => Some(s.value().to_string()),
                _ => None,
            }
        };
        let hashes = match block.body.get_attribute("hashes").map(|a| &a.value) {
            Some(hcl_edit::expr::Expression::Array(items)) => items
                .iter()
                .filter_map(|e| match e {
                    hcl_edit::expr::Expression::String(s) => Some(s.value().to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        out.insert(
            address,
            Locked {
                version: string("version").unwrap_or_default(),
                constraints: string("constraints"),
                hashes,
            },
        );
    }
    Ok(out)
}

pub fn write(stack_dir: &Path, lock: &LockFile) -> Result<(), String> {
    let mut text = String::from(
        "# This file is maintained automatically by \"plinth init\".\n# Manual edits may be lost in future updates.\n",
    );
    for (address, l) in lock {
        text.push_str(&format!("\nprovider {address:?} {{\n"));
        text.push_str(&format!("  version     = {:?}\n", l.version));
        if let Some(c) = &l.constraints {
            text.push_str(&format!("  constraints = {c:?}\n"));
        }
        text.push_str("  hashes = [\n");
        for h in &l.hashes {
            text.push_str(&format!("    {h:?},\n"));
        }
        text.push_str("  ]\n}\n");
    }
    plinth_state::safe_fs::write_atomic(&stack_dir.join(FILE), text.as_bytes())
        .map_err(|e| format!("cannot write {FILE}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut lock = LockFile::new();
        lock.insert(
            "registry.terraform.io/plinth/local".into(),
            Locked {
                version: "0.1.0".into(),
                constraints: Some(">= 0.1".into()),
                hashes: vec!["sha256:abc".into()],
            },
        );
        write(dir.path(), &lock).unwrap();
        assert_eq!(read(dir.path()).unwrap(), lock);
        assert!(read(&dir.path().join("nowhere")).unwrap().is_empty());
    }
}
