//! Workspaces: each has its own state under `.plinth/workspaces/<name>/`; the selected
//! one is named in `.plinth/environment` (Terraform's convention), `default` if none.

use std::path::{Path, PathBuf};

pub const DEFAULT: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// `from` says where the name came from: an environment variable or a file.
    #[error("{} (from {from})", invalid_name_message(name))]
    InvalidName { name: String, from: String },
    #[error("cannot read the selected workspace from {}: {error}", path.display())]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// `<stack>/.plinth`
pub fn plinth_dir(stack: &Path) -> PathBuf {
    stack.join(".plinth")
}

/// The directory holding one workspace's state and lock.
pub fn workspace_dir(stack: &Path, name: &str) -> PathBuf {
    plinth_dir(stack).join("workspaces").join(name)
}

/// The selected workspace: `PLINTH_WORKSPACE` (or `TF_WORKSPACE`), else
/// `.plinth/environment`, else default. A name Terraform would not accept is an
/// error, never a path: `../../x` must not put state outside `.plinth/`.
pub fn current(stack: &Path) -> Result<String, WorkspaceError> {
    for var in ["PLINTH_WORKSPACE", "TF_WORKSPACE"] {
        if let Ok(name) = std::env::var(var) {
            if !name.is_empty() {
                return checked(name, &format!("the environment variable {var}"));
            }
        }
    }
    let path = plinth_dir(stack).join("environment");
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => {
            checked(text.trim().to_string(), &path.display().to_string())
        }
        Ok(_) => Ok(DEFAULT.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DEFAULT.to_string()),
        Err(error) => Err(WorkspaceError::Unreadable { path, error }),
    }
}

fn checked(name: String, from: &str) -> Result<String, WorkspaceError> {
    if valid_name(&name) {
        Ok(name)
    } else {
        Err(WorkspaceError::InvalidName {
            name,
            from: from.to_string(),
        })
    }
}

/// Terraform's words for a workspace name it refuses.
pub fn invalid_name_message(name: &str) -> String {
    format!("The workspace name {name:?} is not allowed. The name must contain only URL safe characters, and no path separators.")
}

pub fn select(stack: &Path, name: &str) -> std::io::Result<()> {
    crate::safe_fs::create_dirs(&plinth_dir(stack))?;
    crate::safe_fs::write_atomic(&plinth_dir(stack).join("environment"), name.as_bytes())
}

/// Workspaces that have state, plus `default`.
pub fn list(stack: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(plinth_dir(stack).join("workspaces"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !names.iter().any(|n| n == DEFAULT) {
        names.push(DEFAULT.to_string());
    }
    names.sort();
    names
}

/// Whether a workspace name is acceptable. Terraform's rule: the name is left
/// unchanged by URL path-segment escaping (letters, digits, `-._~` and `$&+:=@`),
/// so it has no path separator; plinth also refuses `.` and `..`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '~' | '$' | '&' | '+' | ':' | '=' | '@')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_selection_is_an_error_naming_its_source() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(plinth_dir(dir.path())).unwrap();
        let environment = plinth_dir(dir.path()).join("environment");
        std::fs::write(&environment, "../../x\n").unwrap();
        assert_eq!(
            current(dir.path()).unwrap_err().to_string(),
            format!(
                "{} (from {})",
                invalid_name_message("../../x"),
                environment.display()
            )
        );
        std::fs::remove_file(&environment).unwrap();
        std::fs::create_dir(&environment).unwrap();
        let err = current(dir.path()).unwrap_err();
        assert!(matches!(err, WorkspaceError::Unreadable { .. }), "{err}");
        assert!(
            err.to_string().starts_with(&format!(
                "cannot read the selected workspace from {}: ",
                environment.display()
            )),
            "{err}"
        );
    }
}
