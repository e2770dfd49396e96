//! Where files may be read from: anywhere (the default), or only inside one directory
//! (`plinth plan --untrusted` confines a run to the repository root). The file
//! functions (`file`, `templatefile`, `fileset`, …) and the configuration loader ask
//! [`check`] before reading. The confinement is process-wide, because the functions
//! are plain functions with no context, and one-way: once confined, a process stays
//! confined to that directory for the rest of its life.

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Confines every later read of this process to `root` (resolved, links followed).
/// Confining again to the same directory is allowed; to another is an error.
pub fn confine_to(root: &Path) -> Result<(), String> {
    let resolved = root
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", root.display()))?;
    let set = ROOT.get_or_init(|| resolved.clone());
    if *set == resolved {
        Ok(())
    } else {
        Err(format!(
            "this process is already confined to {}, not {}",
            set.display(),
            resolved.display()
        ))
    }
}

/// The directory reads are confined to, if any.
pub fn root() -> Option<&'static Path> {
    ROOT.get().map(PathBuf::as_path)
}

/// Whether `path` may be read: always when unconfined; when confined, only if the
/// file it names — links followed — is inside the root. A path that does not exist is
/// judged by its nearest existing ancestor, so a missing file inside the root stays a
/// "no such file" for its caller, and `../../etc` never gets that far. The error is
/// the sentence the caller puts after its own words.
pub fn check(path: &Path) -> Result<(), String> {
    let Some(root) = root() else {
        return Ok(());
    };
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("cannot find the working directory: {e}"))?
            .join(path)
    };
    let resolved = resolve(&absolute);
    if resolved.starts_with(root) {
        Ok(())
    } else {
        Err(format!(
            "{} is outside {}, the repository root: a plan run with --untrusted reads files only inside it",
            path.display(),
            root.display()
        ))
    }
}

/// `path` with every link resolved: the whole path when it exists, else its nearest
/// existing ancestor resolved and the rest applied step by step (`..` included).
fn resolve(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let mut existing = path.to_path_buf();
    let mut rest: Vec<Component> = Vec::new();
    let components: Vec<Component> = path.components().collect();
    let mut n = components.len();
    while n > 0 {
        n -= 1;
        existing.pop();
        rest.insert(0, components[n]);
        if let Ok(base) = existing.canonicalize() {
            let mut out = base;
            for c in rest {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(name) => out.push(name),
                    _ => {}
                }
            }
            return out;
        }
    }
    path.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::resolve;
    use std::path::Path;

    #[test]
    fn missing_paths_resolve_through_their_existing_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        std::fs::create_dir(base.join("a")).unwrap();
        assert_eq!(resolve(&base.join("a/missing")), base.join("a/missing"));
        assert_eq!(
            resolve(&base.join("a/missing/../../b")),
            base.join("b"),
            "`..` after a missing step still climbs"
        );
        std::os::unix::fs::symlink("/etc", base.join("out")).unwrap();
        assert_eq!(
            resolve(&base.join("out/nothing-here")),
            Path::new("/etc/nothing-here")
        );
    }
}
