//! The embedded backend: one sled database per stack and workspace.
//!
//! Trees: `meta` (lineage, serial, outputs), `resources` (address → JSON),
//! `intents` (id → JSON) and `history` (big-endian serial → the commit). A commit is
//! one sled transaction over all of them, then a flush (fsync), then a line in the
//! published journal (see [`crate::published`]). sled holds an exclusive OS lock on
//! its files while open, so only the holder of the stack lock opens it; readers read
//! the published copy, which is never behind a durable commit.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::published::{self, Publisher};
use crate::safe_fs;
use crate::{now, random_id, Commit, HistoryEntry, Result, Snapshot, StateError, StateStore};

pub struct SledStore {
    dir: PathBuf,
    db: sled::Db,
    meta: sled::Tree,
    resources: sled::Tree,
    intents: sled::Tree,
    history: sled::Tree,
    /// Serializes commits within this process.
    commit_lock: Mutex<()>,
    /// The published copy, and when its snapshot was last rewritten.
    publisher: Mutex<(Publisher, Instant)>,
    /// Set once the copy was found to agree with the database: a store refused as
    /// damaged must not "repair" its copy when it is dropped.
    verified: std::sync::atomic::AtomicBool,
}

const DB: &str = "db";
const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);

/// Whether `dir` holds a store at all (before the first apply it does not; an empty
/// directory is no store either).
pub fn exists(dir: &Path) -> bool {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()),
        Ok(_) => true,
        Err(_) => false,
    }
}

fn damaged(dir: &Path, what: String) -> StateError {
    StateError::Damaged {
        what,
        recover: published::recover_hint(dir),
    }
}

/// What readers may rely on: the store's parts are real files and directories,
/// the database is there when the copy says anything was ever committed, and the
/// copy is there when the database is.
fn check_layout(dir: &Path) -> Result<()> {
    safe_fs::check_dirs(dir).map_err(|e| storage(dir, e))?;
    safe_fs::check_tree(dir).map_err(|e| storage(dir, e))?;
    Ok(())
}

fn missing_database(dir: &Path, copy: &Snapshot) -> StateError {
    damaged(
        dir,
        format!(
            "the state database {} is missing, but its published copy records serial {} ({} resource instances).",
            dir.join(DB).display(),
            copy.serial,
            copy.resources.len()
        ),
    )
}

fn db_present(dir: &Path) -> bool {
    let db = dir.join(DB);
    db.join("conf").is_file() && db.join("db").is_file()
}

impl SledStore {
    /// Opens (creating if needed) the store in `dir` for writing; the caller holds
    /// the stack lock. The published copy is checked against the database: a copy
    /// that is behind (a writer was killed between a commit and its publication) is
    /// brought up to date; one that disagrees, or a database that is missing or
    /// behind its copy, is refused as [`StateError::Damaged`].
    pub fn open(dir: &Path) -> Result<SledStore> {
        if !exists(dir) {
            create(dir)?;
        }
        check_layout(dir)?;
        let copy = published::read(dir)?.ok_or_else(|| {
            damaged(
                dir,
                format!(
                    "the state's published copy {} is missing.",
                    dir.join(published::SNAPSHOT).display()
                ),
            )
        })?;
        // Without a database, only a copy at serial 0 is whole: a writer was stopped
        // between publishing a new store and creating its database.
        if !db_present(dir) && copy.state.serial > 0 {
            return Err(missing_database(dir, &copy.state));
        }
        // sled "recovers" a damaged database it opens by rewriting it: check a copy
        // first, so that a damaged database is refused as it is.
        if db_present(dir) {
            check_database(dir, &copy.state)?;
        }
        let db = sled::Config::new()
            .path(dir.join(DB))
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|e| open_error(dir, e))?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| storage(dir, e));
        let (meta, resources, intents, history) = (
            tree("meta")?,
            tree("resources")?,
            tree("intents")?,
            tree("history")?,
        );
        if meta.get("lineage").map_err(|e| storage(dir, e))?.is_none() {
            if copy.state.serial > 0 || db_was_used(&history)? {
                return Err(damaged(
                    dir,
                    format!(
                        "the state database {} has no lineage: it is damaged or not plinth's.",
                        dir.join(DB).display()
                    ),
                ));
            }
            meta.insert("lineage", copy.state.lineage.as_bytes())
                .map_err(|e| storage(dir, e))?;
            meta.insert("serial", &0u64.to_be_bytes())
                .map_err(|e| storage(dir, e))?;
            db.flush().map_err(|e| storage(dir, e))?;
        }
        let publisher = Publisher::resume(dir, copy.journal_len, copy.state.serial)?;
        let store = SledStore {
            dir: dir.to_path_buf(),
            db,
            meta,
            resources,
            intents,
            history,
            commit_lock: Mutex::new(()),
            publisher: Mutex::new((publisher, Instant::now())),
            verified: std::sync::atomic::AtomicBool::new(false),
        };
        store.reconcile(&copy.state)?;
        store
            .verified
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(store)
    }

    /// Checks the published copy against the database and brings a lagging copy up
    /// to date.
    fn reconcile(&self, copy: &Snapshot) -> Result<()> {
        let (lineage, serial) = self.position()?;
        let disagree = |what: String| damaged(&self.dir, what);
        // The whole journal must read (checksums, consecutive serials) up to the
        // copy's serial: it is the history, and what a lost database is rebuilt from.
        let journaled = published::history(&self.dir)?;
        if journaled.last().map_or(0, |e| e.serial) != copy.serial {
            return Err(disagree(format!(
                "the state's journal ends at serial {} but its snapshot is at serial {}.",
                journaled.last().map_or(0, |e| e.serial),
                copy.serial
            )));
        }
        same_state(&self.dir, &lineage, serial, copy)?;
        let at_copy = if copy.serial == serial {
            self.snapshot()?
        } else {
            self.snapshot_at(copy.serial)?
        };
        if &at_copy != copy {
            return Err(disagree_at(&self.dir, copy.serial));
        }
        if copy.serial < serial {
            let missing: Vec<HistoryEntry> = self
                .history
                .range((copy.serial + 1).to_be_bytes()..)
                .map(|item| {
                    let (k, v) = item.map_err(|e| storage(&self.dir, e))?;
                    decode(&k, &v)
                })
                .collect::<Result<_>>()?;
            let mut publisher = self.publisher.lock().unwrap_or_else(|e| e.into_inner());
            publisher.0.append(&missing)?;
            publisher.0.write_snapshot(&self.snapshot()?)?;
            publisher.0.sync()?;
        }
        Ok(())
    }

    /// The current state as readers see it, without opening the database (whose
    /// file lock would make a writer fail): the published snapshot and the journal
    /// after it, which the writer appends to as each commit becomes durable. Before
    /// the first apply this is an empty state; a store that cannot be read whole is
    /// an error, never an empty state.
    pub fn read(dir: &Path) -> Result<Snapshot> {
        let writer = dir
            .parent()
            .and_then(crate::lock::StackLock::holder)
            .is_some();
        Self::read_checking(dir, !writer)
    }

    /// What the holder of the stack lock plans from, before it opens sled: the
    /// published state, with the database checked against it as a reader checks it
    /// (on a copy, so that a plan that fails changes nothing).
    pub fn read_locked(dir: &Path) -> Result<Snapshot> {
        Self::read_checking(dir, true)
    }

    fn read_checking(dir: &Path, check_database_too: bool) -> Result<Snapshot> {
        if !exists(dir) {
            return Ok(Snapshot::default());
        }
        check_layout(dir)?;
        let copy = published::read(dir)?.ok_or_else(|| {
            damaged(
                dir,
                format!(
                    "the state's published copy {} is missing{}.",
                    dir.join(published::SNAPSHOT).display(),
                    if db_present(dir) {
                        " (the database is there)"
                    } else {
                        ""
                    }
                ),
            )
        })?;
        if copy.state.serial > 0 && !db_present(dir) {
            return Err(missing_database(dir, &copy.state));
        }
        // The database is checked against the copy too (unless a writer is at work:
        // it checks when it opens): no command shows a state a writer would refuse.
        if check_database_too && db_present(dir) {
            if let Some(ahead) = check_database(dir, &copy.state)? {
                return Ok(ahead);
            }
        }
        Ok(copy.state)
    }

    /// Every committed serial, oldest first, from the published journal.
    pub fn read_history(dir: &Path) -> Result<Vec<HistoryEntry>> {
        Self::read(dir)?;
        published::history(dir)
    }

    /// The state as it was right after `serial`, from the published journal.
    pub fn read_at(dir: &Path, serial: u64) -> Result<Snapshot> {
        let current = Self::read(dir)?;
        if serial > current.serial {
            return Err(StateError::NoSuchSerial(serial));
        }
        let mut s = Snapshot {
            lineage: current.lineage,
            ..Snapshot::default()
        };
        for entry in published::history(dir)? {
            if entry.serial > serial {
                break;
            }
            entry.commit.apply_to(&mut s);
            s.serial = entry.serial;
        }
        Ok(s)
    }

    /// Appends what was committed up to `serial` to the journal (and now and then
    /// rewrites the snapshot), so readers see every durable commit.
    fn publish(&self, serial: u64, force_snapshot: bool) -> Result<()> {
        let mut guard = self.publisher.lock().unwrap_or_else(|e| e.into_inner());
        let (publisher, last) = &mut *guard;
        if serial > publisher.journaled {
            let entries: Vec<HistoryEntry> = self
                .history
                .range((publisher.journaled + 1).to_be_bytes()..=serial.to_be_bytes())
                .map(|item| {
                    let (k, v) = item.map_err(|e| storage(&self.dir, e))?;
                    decode(&k, &v)
                })
                .collect::<Result<_>>()?;
            publisher.append(&entries)?;
        }
        if force_snapshot || last.elapsed() >= SNAPSHOT_EVERY {
            let snapshot = self.snapshot_at_journaled(publisher.journaled)?;
            publisher.write_snapshot(&snapshot)?;
            *last = Instant::now();
        }
        Ok(())
    }

    /// The state at `serial`, which is the journal's last: the current state unless
    /// another thread committed since.
    fn snapshot_at_journaled(&self, serial: u64) -> Result<Snapshot> {
        let _serialized = self
            .commit_lock
            .lock()
            .map_err(|_| storage(&self.dir, "poisoned lock"))?;
        let current = self.snapshot()?;
        if current.serial == serial {
            Ok(current)
        } else {
            self.snapshot_at(serial)
        }
    }

    fn serial(&self) -> Result<u64> {
        let raw = self.meta.get("serial").map_err(|e| storage(&self.dir, e))?;
        Ok(raw.map(|v| be_u64(&v)).unwrap_or(0))
    }
}

/// A reader's check of the database against the copy it is about to show, done only
/// while no writer holds the stack lock (a writer checks the same when it opens).
/// `Ok(Some(state))` when the database is ahead of the copy (a writer was killed
/// before publishing its last commit): that is the current state.
fn check_database(dir: &Path, copy: &Snapshot) -> Result<Option<Snapshot>> {
    // sled rewrites the files it opens (and "recovers" damaged ones), and a reader
    // must change nothing: it opens a copy of the database, made while the stack
    // lock's file did not change (no writer came by meanwhile).
    let lock = dir.parent().map(|p| p.join("lock"));
    let stamp = || {
        lock.as_ref()
            .and_then(|l| std::fs::symlink_metadata(l).ok())
            .map(|m| (m.modified().ok(), m.len()))
    };
    let before = stamp();
    let scratch = std::env::temp_dir().join(format!("plinth-check-{}", random_id()));
    let copied = copy_tree(&dir.join(DB), &scratch.join(DB));
    let unchanged = stamp() == before;
    let checked = match copied {
        Ok(()) if unchanged => open_database(&scratch)
            .map_err(|e| match e {
                StateError::Damaged { what, .. } => damaged(
                    dir,
                    what.replace(&scratch.display().to_string(), &dir.display().to_string()),
                ),
                other => other,
            })
            .and_then(|d| d.snapshot(dir)),
        // A writer started, or the files moved while they were copied: it checks
        // the database itself.
        _ => {
            let _ = std::fs::remove_dir_all(&scratch);
            return Ok(None);
        }
    };
    let _ = std::fs::remove_dir_all(&scratch);
    let state = checked?;
    same_state(dir, &state.lineage, state.serial, copy)?;
    if state.serial > copy.serial {
        return Ok(Some(state));
    }
    if &state != copy {
        return Err(disagree_at(dir, copy.serial));
    }
    Ok(None)
}

/// The database (at `lineage`, `serial`) and its published copy must be one state,
/// the copy never ahead.
fn same_state(dir: &Path, lineage: &str, serial: u64, copy: &Snapshot) -> Result<()> {
    if lineage != copy.lineage {
        return Err(damaged(
            dir,
            format!(
                "the state database has lineage {lineage} but its published copy has lineage {}: they are not the same state.",
                copy.lineage
            ),
        ));
    }
    if copy.serial > serial {
        return Err(damaged(
            dir,
            format!(
                "the state database is at serial {serial} but its published copy is at serial {}: the database has lost commits.",
                copy.serial
            ),
        ));
    }
    Ok(())
}

fn disagree_at(dir: &Path, serial: u64) -> StateError {
    damaged(
        dir,
        format!("the state database and its published copy disagree at serial {serial}."),
    )
}

/// Copies a directory tree of regular files (the database) to `to`.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Whether a database without a lineage still holds commits (so it is damaged,
/// not new).
fn db_was_used(history: &sled::Tree) -> Result<bool> {
    Ok(!history.is_empty())
}

/// Creates a new, empty store in `dir`: the published copy first, in a directory
/// renamed into place whole, so that a reader finds either no store or one with a
/// copy; the database follows when it is first opened.
fn create(dir: &Path) -> Result<()> {
    let parent = dir
        .parent()
        .ok_or_else(|| storage(dir, "the store has no parent directory"))?;
    safe_fs::create_dirs(parent).map_err(|e| storage(parent, e))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.{}.new", random_id()));
    std::fs::create_dir(&tmp).map_err(|e| storage(&tmp, e))?;
    let empty = Snapshot {
        lineage: random_id(),
        ..Snapshot::default()
    };
    let made = Publisher::create(&tmp, &empty, &[])
        .and_then(|p| p.sync())
        .and_then(|()| std::fs::rename(&tmp, dir).map_err(|e| storage(dir, e)))
        .and_then(|()| safe_fs::sync_dir(parent).map_err(|e| storage(parent, e)));
    if made.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    made
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(b)
}

fn storage(dir: &Path, e: impl std::fmt::Display) -> StateError {
    StateError::Storage {
        path: dir.display().to_string(),
        message: e.to_string(),
    }
}

fn open_error(dir: &Path, e: sled::Error) -> StateError {
    let text = e.to_string();
    if text.contains("could not acquire lock") {
        StateError::Busy(format!("{} is open in another process", dir.display()))
    } else {
        damaged(
            dir,
            format!(
                "the state database {} cannot be opened: {text}",
                dir.join(DB).display()
            ),
        )
    }
}

fn encode<T: serde::Serialize>(dir: &Path, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| storage(dir, e))
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], value: &[u8]) -> Result<T> {
    serde_json::from_slice(value).map_err(|e| StateError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        message: e.to_string(),
    })
}

impl StateStore for SledStore {
    fn snapshot(&self) -> Result<Snapshot> {
        let (lineage, serial) = self.position()?;
        let mut s = Snapshot {
            lineage,
            serial,
            ..Snapshot::default()
        };
        for item in self.resources.iter() {
            let (k, v) = item.map_err(|e| storage(&self.dir, e))?;
            let r: crate::ResourceState = decode(&k, &v)?;
            s.resources.insert(r.address.clone(), r);
        }
        for item in self.intents.iter() {
            let (k, v) = item.map_err(|e| storage(&self.dir, e))?;
            let i: crate::Intent = decode(&k, &v)?;
            s.intents.insert(i.id.clone(), i);
        }
        if let Some(v) = self
            .meta
            .get("outputs")
            .map_err(|e| storage(&self.dir, e))?
        {
            s.outputs = decode(b"outputs", &v)?;
        }
        Ok(s)
    }

    fn position(&self) -> Result<(String, u64)> {
        let lineage = self
            .meta
            .get("lineage")
            .map_err(|e| storage(&self.dir, e))?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        Ok((lineage, self.serial()?))
    }

    fn commit(&self, change: Commit) -> Result<u64> {
        let _serialized = self
            .commit_lock
            .lock()
            .map_err(|_| storage(&self.dir, "poisoned lock"))?;
        if change.is_empty() {
            return self.serial();
        }
        let time = now();
        let puts: Vec<(String, Vec<u8>)> = change
            .put
            .iter()
            .map(|r| Ok((r.address.clone(), encode(&self.dir, r)?)))
            .collect::<Result<_>>()?;
        let new_intents: Vec<(String, Vec<u8>)> = change
            .begin_intents
            .iter()
            .map(|i| Ok((i.id.clone(), encode(&self.dir, i)?)))
            .collect::<Result<_>>()?;
        let outputs = change
            .outputs
            .as_ref()
            .map(|o| encode(&self.dir, o))
            .transpose()?;

        let result = (&self.meta, &self.resources, &self.intents, &self.history).transaction(
            |(meta, resources, intents, history)| {
                let serial = meta.get("serial")?.map(|v| be_u64(&v)).unwrap_or(0) + 1;
                for (from, to) in &change.rename {
                    if let Some(raw) = resources.remove(from.as_bytes())? {
                        let mut r: crate::ResourceState = serde_json::from_slice(&raw)
                            .map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?;
                        r.address = to.clone();
                        let raw = serde_json::to_vec(&r)
                            .map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?;
                        resources.insert(to.as_bytes(), raw)?;
                    }
                }
                for (address, raw) in &puts {
                    resources.insert(address.as_bytes(), raw.as_slice())?;
                }
                for address in &change.remove {
                    resources.remove(address.as_bytes())?;
                }
                for (id, raw) in &new_intents {
                    intents.insert(id.as_bytes(), raw.as_slice())?;
                }
                for id in &change.end_intents {
                    intents.remove(id.as_bytes())?;
                }
                if let Some(raw) = &outputs {
                    meta.insert("outputs", raw.as_slice())?;
                }
                let entry = HistoryEntry {
                    serial,
                    time,
                    commit: change.clone(),
                };
                let raw = serde_json::to_vec(&entry)
                    .map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?;
                history.insert(&serial.to_be_bytes(), raw)?;
                meta.insert("serial", &serial.to_be_bytes())?;
                Ok(serial)
            },
        );
        let serial = match result {
            Ok(serial) => serial,
            Err(TransactionError::Abort(message)) => return Err(storage(&self.dir, message)),
            Err(TransactionError::Storage(e)) => return Err(storage(&self.dir, e)),
        };
        // Flushing outside the commit lock lets concurrent commits share one fsync
        // (group commit); each still returns only after a flush that covers it.
        drop(_serialized);
        self.db.flush().map_err(|e| storage(&self.dir, e))?;
        self.publish(serial, false)?;
        Ok(serial)
    }

    fn history(&self) -> Result<Vec<HistoryEntry>> {
        self.history
            .iter()
            .map(|item| {
                let (k, v) = item.map_err(|e| storage(&self.dir, e))?;
                decode(&k, &v)
            })
            .collect()
    }

    fn snapshot_at(&self, serial: u64) -> Result<Snapshot> {
        let (lineage, current) = self.position()?;
        if serial > current {
            return Err(StateError::NoSuchSerial(serial));
        }
        let mut s = Snapshot {
            lineage,
            serial,
            ..Snapshot::default()
        };
        for item in self.history.range(..=serial.to_be_bytes()) {
            let (k, v) = item.map_err(|e| storage(&self.dir, e))?;
            let entry: HistoryEntry = decode(&k, &v)?;
            entry.commit.apply_to(&mut s);
        }
        Ok(s)
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        if !self.verified.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        // Readers replay less; a failure here leaves the journal, which is complete.
        if let Ok(serial) = self.serial() {
            let _ = self.publish(serial, true);
        }
        if let Ok(guard) = self.publisher.lock() {
            let _ = guard.0.sync();
        }
    }
}

/// Which part `plinth state recover` rebuilds the other from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoverFrom {
    /// The database: the published copy is written again from it.
    Database,
    /// The published copy (snapshot and journal, which holds every commit): the
    /// database is built again from it.
    Copy,
}

impl SledStore {
    /// Repairs a store whose database and published copy are missing or disagree,
    /// from the part that is whole (or the one `from` names). Damaged parts are moved
    /// aside (`*.damaged-<time>`), never deleted. Returns what was done.
    pub fn recover(dir: &Path, from: Option<RecoverFrom>) -> Result<String> {
        if !exists(dir) {
            return Ok("There is no state here yet: nothing to recover.".into());
        }
        check_layout(dir)?;
        if let Ok(store) = SledStore::open(dir) {
            let serial = store.serial()?;
            return Ok(format!(
                "The state is whole (serial {serial}): nothing to recover."
            ));
        }
        let copy = published::read(dir);
        let database = if db_present(dir) {
            open_database(dir)
        } else {
            Err(storage(&dir.join(DB), "missing"))
        };
        let (copy_serial, db_serial) = (
            copy.as_ref()
                .ok()
                .and_then(|c| c.as_ref())
                .map(|c| c.state.serial),
            database.as_ref().ok().map(|d| d.serial),
        );
        let from = match (from, copy_serial, db_serial) {
            (Some(f), _, _) => f,
            (None, Some(c), Some(d)) => {
                if c > d {
                    RecoverFrom::Copy
                } else {
                    RecoverFrom::Database
                }
            }
            (None, Some(_), None) => RecoverFrom::Copy,
            (None, None, Some(_)) => RecoverFrom::Database,
            (None, None, None) => {
                return Err(damaged(
                    dir,
                    "neither the state database nor its published copy can be read; restore .plinth/ from a backup.".into(),
                ))
            }
        };
        let stamp = now();
        let aside = |name: &str| -> Result<()> {
            let path = dir.join(name);
            if std::fs::symlink_metadata(&path).is_ok() {
                std::fs::rename(&path, dir.join(format!("{name}.damaged-{stamp}")))
                    .map_err(|e| storage(&path, e))?;
            }
            Ok(())
        };
        match from {
            RecoverFrom::Database => {
                let db = database?;
                let state = db.snapshot(dir)?;
                let history = db.history(dir)?;
                drop(db);
                aside(published::SNAPSHOT)?;
                aside(published::JOURNAL)?;
                Publisher::create(dir, &state, &history)?.sync()?;
                Ok(format!(
                    "Published the state again from its database: serial {}, {} resource instances, {} history entries.",
                    state.serial,
                    state.resources.len(),
                    history.len()
                ))
            }
            RecoverFrom::Copy => {
                let copy = copy?
                    .ok_or_else(|| damaged(dir, "the state's published copy is missing.".into()))?;
                let history = published::history(dir)?;
                if history.last().map_or(0, |e| e.serial) != copy.state.serial {
                    return Err(damaged(
                        dir,
                        "the published journal does not reach the snapshot's serial.".into(),
                    ));
                }
                drop(database);
                aside(DB)?;
                rebuild_database(dir, &copy.state, &history)?;
                Ok(format!(
                    "Rebuilt the state database from its published copy: serial {}, {} resource instances, {} history entries.",
                    copy.state.serial,
                    copy.state.resources.len(),
                    history.len()
                ))
            }
        }
    }
}

/// A database opened for recovery only, without the published copy's checks.
struct Database {
    db: sled::Db,
    serial: u64,
}

fn open_database(dir: &Path) -> Result<Database> {
    let db = sled::Config::new()
        .path(dir.join(DB))
        .open()
        .map_err(|e| open_error(dir, e))?;
    let meta = db.open_tree("meta").map_err(|e| storage(dir, e))?;
    if meta.get("lineage").map_err(|e| storage(dir, e))?.is_none() {
        return Err(damaged(
            dir,
            format!(
                "the state database {} has no lineage: it is damaged or not plinth's.",
                dir.join(DB).display()
            ),
        ));
    }
    let serial = meta
        .get("serial")
        .map_err(|e| storage(dir, e))?
        .map(|v| be_u64(&v))
        .unwrap_or(0);
    Ok(Database { db, serial })
}

impl Database {
    fn tree(&self, dir: &Path, name: &str) -> Result<sled::Tree> {
        self.db.open_tree(name).map_err(|e| storage(dir, e))
    }

    fn snapshot(&self, dir: &Path) -> Result<Snapshot> {
        let meta = self.tree(dir, "meta")?;
        let lineage = meta
            .get("lineage")
            .map_err(|e| storage(dir, e))?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        let mut s = Snapshot {
            lineage,
            serial: self.serial,
            ..Snapshot::default()
        };
        for item in self.tree(dir, "resources")?.iter() {
            let (k, v) = item.map_err(|e| storage(dir, e))?;
            let r: crate::ResourceState = decode(&k, &v)?;
            s.resources.insert(r.address.clone(), r);
        }
        for item in self.tree(dir, "intents")?.iter() {
            let (k, v) = item.map_err(|e| storage(dir, e))?;
            let i: crate::Intent = decode(&k, &v)?;
            s.intents.insert(i.id.clone(), i);
        }
        if let Some(v) = meta.get("outputs").map_err(|e| storage(dir, e))? {
            s.outputs = decode(b"outputs", &v)?;
        }
        Ok(s)
    }

    fn history(&self, dir: &Path) -> Result<Vec<HistoryEntry>> {
        self.tree(dir, "history")?
            .iter()
            .map(|item| {
                let (k, v) = item.map_err(|e| storage(dir, e))?;
                decode(&k, &v)
            })
            .collect()
    }
}

/// Writes a new database holding `state` and the `history` that led to it.
fn rebuild_database(dir: &Path, state: &Snapshot, history: &[HistoryEntry]) -> Result<()> {
    let db = sled::Config::new()
        .path(dir.join(DB))
        .open()
        .map_err(|e| open_error(dir, e))?;
    let tree = |name: &str| db.open_tree(name).map_err(|e| storage(dir, e));
    let (meta, resources, intents, log) = (
        tree("meta")?,
        tree("resources")?,
        tree("intents")?,
        tree("history")?,
    );
    let put = |t: &sled::Tree, k: &[u8], v: Vec<u8>| {
        t.insert(k, v).map(|_| ()).map_err(|e| storage(dir, e))
    };
    for r in state.resources.values() {
        put(&resources, r.address.as_bytes(), encode(dir, r)?)?;
    }
    for i in state.intents.values() {
        put(&intents, i.id.as_bytes(), encode(dir, i)?)?;
    }
    for e in history {
        put(&log, &e.serial.to_be_bytes(), encode(dir, e)?)?;
    }
    put(&meta, b"outputs", encode(dir, &state.outputs)?)?;
    put(&meta, b"lineage", state.lineage.as_bytes().to_vec())?;
    put(&meta, b"serial", state.serial.to_be_bytes().to_vec())?;
    db.flush().map_err(|e| storage(dir, e))?;
    Ok(())
}
