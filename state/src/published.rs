//! The published copy of a store: what readers read, so that they never open sled
//! (whose exclusive file lock would make a writer fail), and never behind a commit
//! the writer has returned from. (A writer killed between sled's flush and the
//! journal append leaves the copy one commit behind the database; the next writer
//! publishes it.)
//!
//! Two files beside the database:
//! - `snapshot`: the whole state at one serial. A header line
//!   `plinth-snapshot 1 sha256=<hex of the body> journal=<byte offset>` and the body,
//!   the [`Snapshot`] as JSON. Rewritten atomically now and then.
//! - `journal`: every commit since serial 1, one line each, `<sha256 hex> <entry JSON>`,
//!   only ever appended to. The snapshot's offset is where the entries after its serial
//!   begin.
//!
//! A reader takes the snapshot and the journal lines after it: the state at the last
//! complete line, which the writer appends right after each commit is durable. Every
//! part is checked against its checksum and the serials must follow each other, so a
//! copy that was edited, truncated in the middle or mixed up is refused, not read.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::safe_fs;
use crate::{HistoryEntry, Result, Snapshot, StateError};

pub const SNAPSHOT: &str = "snapshot";
pub const JOURNAL: &str = "journal";
const MAGIC: &str = "plinth-snapshot";
const FORMAT: u32 = 1;

/// The state a reader sees, and where the journal stands.
pub struct Published {
    pub state: Snapshot,
    /// Bytes of the journal up to the end of its last complete line.
    pub journal_len: u64,
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn corrupt(path: &Path, message: impl std::fmt::Display) -> StateError {
    StateError::Corrupt {
        key: path.display().to_string(),
        message: message.to_string(),
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> StateError {
    StateError::Storage {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Reads a file that must be a regular file (never through a link).
fn read_file(path: &Path) -> Result<Option<Vec<u8>>> {
    safe_fs::check_file(path).map_err(|e| io_err(path, e))?;
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path, e)),
    }
}

/// The snapshot file: `None` when there is none.
fn read_snapshot(dir: &Path) -> Result<Option<(Snapshot, u64)>> {
    let path = dir.join(SNAPSHOT);
    let Some(bytes) = read_file(&path)? else {
        return Ok(None);
    };
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| corrupt(&path, "it has no header line"))?;
    let header = std::str::from_utf8(&bytes[..newline])
        .map_err(|_| corrupt(&path, "its header is not text"))?;
    let body = &bytes[newline + 1..];
    let mut fields = header.split(' ');
    let (magic, format, sum, offset) = (fields.next(), fields.next(), fields.next(), fields.next());
    if magic != Some(MAGIC) {
        return Err(corrupt(&path, "it is not a plinth snapshot"));
    }
    if format != Some(&FORMAT.to_string()) {
        return Err(corrupt(
            &path,
            format!(
                "format {} is not the format this plinth writes ({FORMAT})",
                format.unwrap_or("?")
            ),
        ));
    }
    let sum = sum.and_then(|s| s.strip_prefix("sha256=")).unwrap_or("");
    if sum != hex(body) {
        return Err(corrupt(
            &path,
            "its checksum does not match its content: it was edited or damaged",
        ));
    }
    let offset: u64 = offset
        .and_then(|s| s.strip_prefix("journal="))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| corrupt(&path, "its header has no journal offset"))?;
    let snapshot: Snapshot = serde_json::from_slice(body).map_err(|e| corrupt(&path, e))?;
    Ok(Some((snapshot, offset)))
}

/// Parses journal lines from `bytes` (which start at byte `start` of the journal),
/// calling `each` with every entry. Returns the offset just past the last complete
/// line; an incomplete last line is a write in progress, not yet part of the copy.
fn parse_journal(
    path: &Path,
    bytes: &[u8],
    start: u64,
    mut each: impl FnMut(HistoryEntry) -> Result<()>,
) -> Result<u64> {
    let mut pos = 0usize;
    while let Some(len) = bytes[pos..].iter().position(|&b| b == b'\n') {
        let line = &bytes[pos..pos + len];
        let at = start + pos as u64;
        let space = line
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| corrupt(path, format!("the line at byte {at} has no checksum")))?;
        let (sum, json) = (&line[..space], &line[space + 1..]);
        if sum != hex(json).as_bytes() {
            return Err(corrupt(
                path,
                format!("the line at byte {at} does not match its checksum: the journal was edited or damaged"),
            ));
        }
        let entry: HistoryEntry = serde_json::from_slice(json)
            .map_err(|e| corrupt(path, format!("the line at byte {at}: {e}")))?;
        each(entry)?;
        pos += len + 1;
    }
    Ok(start + pos as u64)
}

fn read_journal_from(path: &Path, offset: u64) -> Result<Option<Vec<u8>>> {
    safe_fs::check_file(path).map_err(|e| io_err(path, e))?;
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path, e)),
    };
    let len = file.metadata().map_err(|e| io_err(path, e))?.len();
    if len < offset {
        return Err(corrupt(
            path,
            format!("it is {len} bytes long, but the snapshot says its entries start at byte {offset}: it was truncated"),
        ));
    }
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| io_err(path, e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| io_err(path, e))?;
    Ok(Some(bytes))
}

/// The published state in `dir`: `Ok(None)` when there is no snapshot file.
pub fn read(dir: &Path) -> Result<Option<Published>> {
    let Some((mut state, offset)) = read_snapshot(dir)? else {
        return Ok(None);
    };
    let path = dir.join(JOURNAL);
    let Some(bytes) = read_journal_from(&path, offset)? else {
        return Err(StateError::Damaged {
            what: format!(
                "the state's journal {} is missing (its snapshot is at serial {}).",
                path.display(),
                state.serial
            ),
            recover: recover_hint(dir),
        });
    };
    let journal_len = parse_journal(&path, &bytes, offset, |entry| {
        if entry.serial != state.serial + 1 {
            return Err(corrupt(
                &path,
                format!(
                    "it has serial {} where serial {} should follow",
                    entry.serial,
                    state.serial + 1
                ),
            ));
        }
        entry.commit.apply_to(&mut state);
        state.serial = entry.serial;
        Ok(())
    })?;
    Ok(Some(Published { state, journal_len }))
}

/// Every commit the journal holds, oldest first, checked to run from serial 1 on.
pub fn history(dir: &Path) -> Result<Vec<HistoryEntry>> {
    let path = dir.join(JOURNAL);
    let Some(bytes) = read_journal_from(&path, 0)? else {
        return Ok(Vec::new());
    };
    let mut entries: Vec<HistoryEntry> = Vec::new();
    parse_journal(&path, &bytes, 0, |entry| {
        let expected = entries.last().map_or(1, |e| e.serial + 1);
        if entry.serial != expected {
            return Err(corrupt(
                &path,
                format!(
                    "it has serial {} where serial {expected} should follow",
                    entry.serial
                ),
            ));
        }
        entries.push(entry);
        Ok(())
    })?;
    Ok(entries)
}

pub fn recover_hint(dir: &Path) -> String {
    format!(
        "Nothing was changed. To see what can be recovered, run: plinth state recover (in the stack directory; the store is {}).",
        dir.display()
    )
}

/// The writer's side: appends to the journal and rewrites the snapshot.
pub struct Publisher {
    dir: PathBuf,
    journal: File,
    journal_len: u64,
    /// The last serial in the journal.
    pub journaled: u64,
}

impl Publisher {
    /// Starts a copy from scratch in `dir` (a new store, or one being rebuilt): the
    /// snapshot `state` and a journal holding `entries`, which must lead up to it.
    pub fn create(dir: &Path, state: &Snapshot, entries: &[HistoryEntry]) -> Result<Publisher> {
        let path = dir.join(JOURNAL);
        let mut text = Vec::new();
        for e in entries {
            text.extend(line(dir, e)?);
        }
        safe_fs::write_atomic(&path, &text).map_err(|e| io_err(&path, e))?;
        let journal = safe_fs::open_append(&path).map_err(|e| io_err(&path, e))?;
        let mut publisher = Publisher {
            dir: dir.to_path_buf(),
            journal,
            journal_len: text.len() as u64,
            journaled: entries.last().map_or(0, |e| e.serial),
        };
        publisher.write_snapshot(state)?;
        Ok(publisher)
    }

    /// Continues the copy in `dir`, whose journal is complete up to `journal_len`
    /// bytes (a torn line after it, left by a killed writer, is cut off).
    pub fn resume(dir: &Path, journal_len: u64, journaled: u64) -> Result<Publisher> {
        let path = dir.join(JOURNAL);
        let journal = safe_fs::open_append(&path).map_err(|e| io_err(&path, e))?;
        let len = journal.metadata().map_err(|e| io_err(&path, e))?.len();
        if len > journal_len {
            journal.set_len(journal_len).map_err(|e| io_err(&path, e))?;
        }
        Ok(Publisher {
            dir: dir.to_path_buf(),
            journal,
            journal_len,
            journaled,
        })
    }

    /// Appends committed entries; each line is one write, so a reader sees a whole
    /// line or an incomplete one it ignores.
    pub fn append(&mut self, entries: &[HistoryEntry]) -> Result<()> {
        let path = self.dir.join(JOURNAL);
        for e in entries {
            if e.serial <= self.journaled {
                continue;
            }
            let bytes = line(&self.dir, e)?;
            self.journal
                .write_all(&bytes)
                .map_err(|err| io_err(&path, err))?;
            self.journal_len += bytes.len() as u64;
            self.journaled = e.serial;
        }
        Ok(())
    }

    /// Rewrites the snapshot at `state`, which must be the state at the journal's
    /// last serial, so that readers replay less.
    pub fn write_snapshot(&mut self, state: &Snapshot) -> Result<()> {
        let path = self.dir.join(SNAPSHOT);
        let body = serde_json::to_vec(state).map_err(|e| io_err(&path, e))?;
        let mut bytes = format!(
            "{MAGIC} {FORMAT} sha256={} journal={}\n",
            hex(&body),
            self.journal_len
        )
        .into_bytes();
        bytes.extend(body);
        safe_fs::write_atomic(&path, &bytes).map_err(|e| io_err(&path, e))
    }

    /// Makes the journal durable (on close; commits themselves are durable in sled).
    pub fn sync(&self) -> Result<()> {
        self.journal
            .sync_data()
            .map_err(|e| io_err(&self.dir.join(JOURNAL), e))
    }
}

fn line(dir: &Path, e: &HistoryEntry) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(e).map_err(|err| io_err(&dir.join(JOURNAL), err))?;
    let mut out = hex(&json).into_bytes();
    out.push(b' ');
    out.extend(json);
    out.push(b'\n');
    Ok(out)
}
