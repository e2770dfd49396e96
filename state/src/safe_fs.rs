//! Writing under `.plinth/` without ever following a symbolic link.
//!
//! A link planted under `.plinth/` (by a branch a bot plans, by a careless script)
//! must not make plinth truncate or overwrite the file it points to, nor put state
//! outside the stack. So every directory plinth writes into is checked to be a real
//! directory, files are created with `O_NOFOLLOW | O_EXCL` and moved into place by
//! `rename` (which replaces a link itself, never its target), and everything published
//! for readers is written atomically: temporary file, fsync, rename, fsync of the
//! directory.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Fails if `dir`, or one of its ancestors up to and including the `.plinth`
/// directory, is a symbolic link or exists but is not a directory. Missing
/// components are fine (they are about to be created).
pub fn check_dirs(dir: &Path) -> io::Result<()> {
    for (depth, path) in dir.ancestors().enumerate() {
        if path.as_os_str().is_empty() {
            break;
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refused(path, "is a symbolic link"));
            }
            Ok(m) if !m.is_dir() => return Err(refused(path, "is not a directory")),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        }
        // Stop at the stack's `.plinth`: what lies above it is the user's to arrange.
        if path.file_name().is_some_and(|n| n == ".plinth") || depth >= 8 {
            break;
        }
    }
    Ok(())
}

/// Creates `dir` and its missing parents, refusing links on the way (checked before,
/// so `create_dir_all` cannot follow one, and after, in case one appeared).
pub fn create_dirs(dir: &Path) -> io::Result<()> {
    check_dirs(dir)?;
    std::fs::create_dir_all(dir)?;
    check_dirs(dir)
}

/// Fails if `path` exists and is anything but a regular file (a link included).
pub fn check_file(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(refused(path, "is a symbolic link")),
        Ok(m) if !m.is_file() => Err(refused(path, "is not a regular file")),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}

/// Fails if anything directly inside `dir`, or inside its subdirectories, is a link.
pub fn check_tree(dir: &Path) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
    };
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            return Err(refused(&entry.path(), "is a symbolic link"));
        }
        if kind.is_dir() {
            check_tree(&entry.path())?;
        }
    }
    Ok(())
}

fn refused(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} {what}; plinth never follows links or replaces other files under .plinth/. Remove it and run the command again.",
            path.display()
        ),
    )
}

/// Opens an existing or new file for appending, never through a link.
pub fn open_append(path: &Path) -> io::Result<File> {
    check_file(path)?;
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Opens a file for reading and writing (created if missing), never through a link.
pub fn open_rw(path: &Path) -> io::Result<File> {
    check_file(path)?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Replaces `path` with `bytes` atomically: readers see the old content or the new,
/// never a mix, and a crash leaves one of the two. (The caller checks the directory.)
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_with(path, 0o644, |file| file.write_all(bytes))
}

/// Copies `from` to `to` atomically with permissions `mode` (a provider binary
/// installed under `.plinth/providers/`).
pub fn copy_atomic(from: &Path, to: &Path, mode: u32) -> io::Result<()> {
    let mut source = File::open(from)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", from.display())))?;
    replace_with(to, mode, |file| io::copy(&mut source, file).map(|_| ()))
}

/// Writes a new temporary file beside `path` (never through a link: `O_EXCL`),
/// fsyncs it and renames it over `path`.
fn replace_with(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other(format!("{} has no directory", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{name}.{}.tmp", crate::random_id()));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        fill(&mut file)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Makes a directory's entries (a rename, a new file) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
