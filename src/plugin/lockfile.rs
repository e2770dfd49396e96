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

#[derive(Debug, thiserror::Error)]
pub enum LockFileError {
    #[error("cannot read {FILE}: {0}")]
    Unreadable(std::io::Error),
    #[error("{0}")]
    File(Box<crate::diag::Diagnostic>),
    #[error("{FILE}: {0}")]
    Syntax(hcl_edit::parser::Error),
    #[error("cannot write {FILE}: {0}")]
    Unwritable(std::io::Error),
}

pub fn read(stack_dir: &Path) -> Result<LockFile, LockFileError> {
    let path = stack_dir.join(FILE);
    // Only a lock file that is not there at all means nothing is locked: a dangling
    // symlink or a FIFO in its place is an error, never an empty lock.
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LockFile::new()),
        Err(e) => return Err(LockFileError::Unreadable(e)),
        Ok(_) => {}
    }
    let text = crate::config::load::read_file(&path, FILE)
        .map_err(|d| LockFileError::File(Box::new(d)))?;
    let body = hcl_edit::parser::parse_body(&text).map_err(LockFileError::Syntax)?;
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

pub fn write(stack_dir: &Path, lock: &LockFile) -> Result<(), LockFileError> {
    let mut text = String::from(
        "# This file is maintained automatically by \"plinth init\".\n# Manual edits may be lost in future updates.\n",
    );
    for (address, l) in lock {
        text.push_str(&format!("\nprovider {address:?} {{\n"));
        // `=` aligned as `fmt` aligns it: over version and constraints when both are
        // there (hashes, a multi-line value, is never aligned).
        match &l.constraints {
            Some(c) => text.push_str(&format!(
                "  version     = {:?}\n  constraints = {c:?}\n",
                l.version
            )),
            None => text.push_str(&format!("  version = {:?}\n", l.version)),
        }
        text.push_str("  hashes = [\n");
        for h in &l.hashes {
            text.push_str(&format!("    {h:?},\n"));
        }
        text.push_str("  ]\n}\n");
    }
    plinth_state::safe_fs::write_atomic(&stack_dir.join(FILE), text.as_bytes())
        .map_err(LockFileError::Unwritable)
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

    #[test]
    fn written_as_fmt_writes_it() {
        let dir = tempfile::tempdir().unwrap();
        for constraints in [Some(">= 0.1".to_string()), None] {
            let mut lock = LockFile::new();
            lock.insert(
                "registry.terraform.io/plinth/local".into(),
                Locked {
                    version: "0.1.0".into(),
                    constraints,
                    hashes: vec!["sha256:abc".into(), "sha256:def".into()],
                },
            );
            write(dir.path(), &lock).unwrap();
            let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
            assert_eq!(crate::config::format::format_source(&text), text);
            assert_eq!(read(dir.path()).unwrap(), lock);
        }
    }

    #[test]
    fn unreadable_lock_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "provider \"x\" {\n").unwrap();
        let err = read(dir.path()).unwrap_err();
        assert!(matches!(err, LockFileError::Syntax(_)), "{err}");
        assert!(err.to_string().starts_with(".plinth.lock.hcl: "), "{err}");
        std::fs::remove_file(dir.path().join(FILE)).unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join(FILE)).unwrap();
        assert!(matches!(read(dir.path()), Err(LockFileError::File(_))));
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, "").unwrap();
        let err = write(&blocked, &LockFile::new()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot write .plinth.lock.hcl: "),
            "{err}"
        );
    }
}
