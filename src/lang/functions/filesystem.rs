//! Filesystem functions: abspath, dirname, basename, pathexpand, file, fileexists.
//! Relative paths are taken from the working directory, as in Terraform.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{bool_ty, fixed, p, str_arg, string_fn, FnError, Function};
use crate::lang::types::Constraint;
use crate::lang::value::Value;

/// `~/x` → `$HOME/x`.
pub(super) fn expand(path: &str) -> String {
    match (path.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{home}{rest}")
        }
        _ => path.to_string(),
    }
}

/// Go's `filepath.Clean`: no `.` steps, `..` resolved where it can be, no doubled
/// separators, no trailing separator.
fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn abspath(args: &[Value]) -> Result<Value, FnError> {
    let path = str_arg(args, 0);
    let full: PathBuf = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        std::env::current_dir()
            .map_err(|e| FnError::call(format!("cannot find the working directory: {e}")))?
            .join(path)
    };
    Ok(Value::String(clean(&full.to_string_lossy())))
}

fn dirname(args: &[Value]) -> Result<Value, FnError> {
    let path = str_arg(args, 0);
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    Ok(Value::String(clean(dir)))
}

fn basename(args: &[Value]) -> Result<Value, FnError> {
    let path = str_arg(args, 0);
    if path.is_empty() {
        return Ok(Value::string("."));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Value::string("/"));
    }
    Ok(Value::string(trimmed.rsplit('/').next().unwrap_or(trimmed)))
}

fn pathexpand(args: &[Value]) -> Result<Value, FnError> {
    Ok(Value::String(expand(str_arg(args, 0))))
}

fn file(args: &[Value]) -> Result<Value, FnError> {
    let path = expand(str_arg(args, 0));
    let bytes = std::fs::read(&path).map_err(|e| {
        FnError::arg(
            0,
            format!("Invalid value for \"path\" parameter: no file exists at {path:?}; {e}."),
        )
    })?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        FnError::arg(
            0,
            format!("Invalid value for \"path\" parameter: contents of {path:?} are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) to obtain file hashing results instead."),
        )
    })
}

fn fileexists(args: &[Value]) -> Result<Value, FnError> {
    let path = expand(str_arg(args, 0));
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(Value::Bool(true)),
        Ok(_) => Err(FnError::arg(
            0,
            format!(
                "Invalid value for \"path\" parameter: {path:?} is not a regular file, but {:?}.",
                "directory"
            ),
        )),
        Err(_) => Ok(Value::Bool(false)),
    }
}

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    t.insert("abspath", string_fn(abspath));
    t.insert("dirname", string_fn(dirname));
    t.insert("basename", string_fn(basename));
    t.insert("pathexpand", string_fn(pathexpand));
    t.insert(
        "file",
        fixed([p("path", Constraint::String)], super::string_ty, file),
    );
    t.insert(
        "fileexists",
        fixed([p("path", Constraint::String)], bool_ty, fileexists),
    );
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn cleans_as_go_does() {
        for (a, b) in [
            ("", "."),
            ("a/b/../c", "a/c"),
            ("/../a", "/a"),
            ("../a", "../a"),
            ("a//b/./", "a/b"),
            ("/", "/"),
        ] {
            assert_eq!(clean(a), b, "{a}");
        }
    }
}
