//! Filesystem functions: abspath, dirname, basename, pathexpand, file, fileexists.
//! Relative paths are taken from the working directory, as in Terraform.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{bool_ty, fixed, p, str_arg, string_fn, FnError, Function};
use crate::lang::limits;
use crate::lang::types::Constraint;
use crate::lang::value::Value;

/// `~/x` → `$HOME/x`.
pub(crate) fn expand(path: &str) -> String {
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

/// What kind of thing a path names, for the message refusing one that is not a file.
fn kind(m: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a named pipe"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// The contents of the regular file at `path` (already expanded), refusing anything
/// else — a directory, a pipe, `/dev/zero` — and any file beyond the bound on one
/// value. The read itself is capped, so a file that grows meanwhile is bounded too.
/// The error is the detail after `Invalid value for "path" parameter: `.
pub(crate) fn read_bounded(path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    crate::lang::confine::check(Path::new(path))?;
    let no_file = |e: std::io::Error| format!("no file exists at {path:?}; {e}.");
    let meta = std::fs::metadata(path).map_err(no_file)?;
    if !meta.is_file() {
        return Err(format!(
            "{path:?} is not a regular file, but {}.",
            kind(&meta)
        ));
    }
    let bound = limits::max_value_bytes();
    let too_large = |len: u64| {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        limits::check(len).map_err(|e| format!("cannot read {path:?}: {e}."))
    };
    too_large(meta.len())?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .map_err(no_file)?
        .take(bound as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {path:?}: {e}."))?;
    too_large(bytes.len() as u64)?;
    Ok(bytes)
}

fn file(args: &[Value]) -> Result<Value, FnError> {
    let path = expand(str_arg(args, 0));
    let bytes = read_bounded(&path)
        .map_err(|e| FnError::arg(0, format!("Invalid value for \"path\" parameter: {e}")))?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        FnError::arg(
            0,
            format!("Invalid value for \"path\" parameter: contents of {path:?} are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) to obtain file hashing results instead."),
        )
    })
}

fn fileexists(args: &[Value]) -> Result<Value, FnError> {
    let path = expand(str_arg(args, 0));
    crate::lang::confine::check(Path::new(&path))
        .map_err(|e| FnError::arg(0, format!("Invalid value for \"path\" parameter: {e}")))?;
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(Value::Bool(true)),
        Ok(m) => Err(FnError::arg(
            0,
            format!(
                "Invalid value for \"path\" parameter: {path:?} is not a regular file, but {}.",
                kind(&m)
            ),
        )),
        Err(_) => Ok(Value::Bool(false)),
    }
}

#[derive(Debug, thiserror::Error)]
enum GlobError {
    #[error("unterminated character class")]
    UnterminatedClass,
    #[error("unterminated {{")]
    UnterminatedAlternation,
    #[error("{0}")]
    Regex(regex::Error),
}

/// A `fileset` pattern as a regular expression over `/`-separated relative paths:
/// `*` and `?` stay within one directory, `**` spans any number, `{a,b}` alternates,
/// `[…]` is a class.
fn pattern_regex(pattern: &str) -> Result<regex::Regex, GlobError> {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut depth = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                if chars.get(i + 2) == Some(&'/') {
                    re.push_str("(?:.*/)?");
                    i += 3;
                } else {
                    re.push_str(".*");
                    i += 2;
                }
                continue;
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .ok_or(GlobError::UnterminatedClass)?;
                let mut class: String = chars[i + 1..i + end].iter().collect();
                if let Some(rest) = class.strip_prefix('!') {
                    class = format!("^{rest}");
                }
                re.push('[');
                re.push_str(&class);
                re.push(']');
                i += end + 1;
                continue;
            }
            '{' => {
                depth += 1;
                re.push_str("(?:");
            }
            '}' if depth > 0 => {
                depth -= 1;
                re.push(')');
            }
            ',' if depth > 0 => re.push('|'),
            '\\' if i + 1 < chars.len() => {
                re.push_str(&regex::escape(&chars[i + 1].to_string()));
                i += 2;
                continue;
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    if depth > 0 {
        return Err(GlobError::UnterminatedAlternation);
    }
    re.push('$');
    regex::Regex::new(&re).map_err(GlobError::Regex)
}

fn walk_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        // A link leading out of a confined run's root is not followed, nor listed.
        if crate::lang::confine::check(&path).is_err() {
            continue;
        }
        if path.is_dir() {
            walk_files(root, &path, out);
        } else if path.is_file() {
            if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
}

fn fileset(args: &[Value]) -> Result<Value, FnError> {
    let base = expand(str_arg(args, 0));
    let pattern = str_arg(args, 1);
    let re = pattern_regex(pattern).map_err(|e| {
        FnError::arg(
            1,
            format!(
                "Invalid value for \"pattern\" parameter: failed to glob pattern ({pattern}): {e}."
            ),
        )
    })?;
    crate::lang::confine::check(Path::new(&base))
        .map_err(|e| FnError::arg(0, format!("Invalid value for \"path\" parameter: {e}")))?;
    let mut found = Vec::new();
    walk_files(Path::new(&base), Path::new(&base), &mut found);
    let matched: Vec<Value> = found
        .into_iter()
        .filter(|p| re.is_match(p))
        .map(Value::String)
        .collect();
    Ok(Value::set(crate::lang::types::Type::String, matched))
}

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    t.insert(
        "fileset",
        fixed(
            [
                p("path", Constraint::String),
                p("pattern", Constraint::String),
            ],
            |_| crate::lang::types::Type::set(crate::lang::types::Type::String),
            fileset,
        ),
    );
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
    use super::{clean, pattern_regex, GlobError};

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

    #[test]
    fn unfinished_patterns_are_errors() {
        assert!(matches!(
            pattern_regex("[ab"),
            Err(GlobError::UnterminatedClass)
        ));
        assert_eq!(
            pattern_regex("{a,b").unwrap_err().to_string(),
            "unterminated {"
        );
        assert!(matches!(pattern_regex("[z-a]"), Err(GlobError::Regex(_))));
        assert!(pattern_regex("{a,b}/*.txt").unwrap().is_match("b/x.txt"));
    }
}
