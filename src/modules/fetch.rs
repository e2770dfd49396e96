//! Getting a module's files: from a local module mirror (a directory in the registry
//! layout `HOST/NAMESPACE/NAME/SYSTEM/VERSION/`, for offline installs), from a git
//! repository (the `git` program, as Terraform runs it), and copying them into place.

use std::path::{Path, PathBuf};
use std::process::Command;

use semver::Version;

/// The versions a mirror holds of a registry module, highest first.
pub fn mirror_versions(mirror: &Path, module: &[&str; 4]) -> Vec<(Version, PathBuf)> {
    let dir = module.iter().fold(mirror.to_path_buf(), |d, p| d.join(p));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<(Version, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let version = crate::plugin::constraint::parse_version(&name).ok()?;
            Some((version, e.path()))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp_precedence(&a.0));
    found
}

/// Clones `url` at `reference` (a branch, tag or commit; the default branch when
/// `None`) into `into`, which must not exist yet.
pub fn git_clone(url: &str, reference: Option<&str>, into: &Path) -> Result<(), String> {
    let run = |args: &[&str], cwd: Option<&Path>| -> Result<(), String> {
        let mut command = Command::new("git");
        command
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(std::process::Stdio::null());
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let out = command
            .output()
            .map_err(|e| format!("git could not be run: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "git {} failed: {}",
                args.first().copied().unwrap_or(""),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    let target = into.to_string_lossy().into_owned();
    match reference {
        None => run(
            &["clone", "--quiet", "--depth", "1", "--", url, &target],
            None,
        ),
        Some(r) => {
            // A branch or tag clones shallowly; a commit needs the history.
            if run(
                &[
                    "clone", "--quiet", "--depth", "1", "--branch", r, "--", url, &target,
                ],
                None,
            )
            .is_ok()
            {
                return Ok(());
            }
            let _ = std::fs::remove_dir_all(into);
            run(&["clone", "--quiet", "--", url, &target], None)?;
            run(&["checkout", "--quiet", r], Some(into))
                .map_err(|e| format!("{e} (the ref {r:?} is not a branch, tag or commit of {url})"))
        }
    }
}

/// Copies the directory `from` to `to` (which must not exist): regular files and
/// directories, symbolic links as links; a `.git` directory is left out.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let kind = entry.file_type()?;
        let target = to.join(&name);
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
