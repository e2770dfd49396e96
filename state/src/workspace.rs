//! Workspaces: each has its own state under `.plinth/workspaces/<name>/`; the selected
//! one is named in `.plinth/environment` (Terraform's convention), `default` if none.

use std::path::{Path, PathBuf};

pub const DEFAULT: &str = "default";

/// `<stack>/.plinth`
pub fn plinth_dir(stack: &Path) -> PathBuf {
    stack.join(".plinth")
}

/// The directory holding one workspace's state and lock.
pub fn workspace_dir(stack: &Path, name: &str) -> PathBuf {
    plinth_dir(stack).join("workspaces").join(name)
}

/// The selected workspace: `PLINTH_WORKSPACE`, else `.plinth/environment`, else default.
pub fn current(stack: &Path) -> String {
    if let Ok(name) = std::env::var("PLINTH_WORKSPACE") {
        if !name.is_empty() {
            return name;
        }
    }
    std::fs::read_to_string(plinth_dir(stack).join("environment"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT.to_string())
}

pub fn select(stack: &Path, name: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(plinth_dir(stack))?;
    std::fs::write(plinth_dir(stack).join("environment"), name)
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

/// Whether a workspace name is acceptable: letters, digits, `-`, `_`, `.`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
