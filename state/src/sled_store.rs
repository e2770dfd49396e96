//! The embedded backend: one sled database per stack and workspace.
//!
//! Trees: `meta` (lineage, serial, outputs), `resources` (address → JSON),
//! `intents` (id → JSON) and `history` (big-endian serial → the commit). A commit is
//! one sled transaction over all of them, then a flush (fsync). sled holds an
//! exclusive OS lock on its files while open, so a reader that finds it busy falls
//! back to `snapshot.json`, which the writer publishes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

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
    /// When `snapshot.json` was last written.
    last_publish: Mutex<Option<Instant>>,
}

const SNAPSHOT_FILE: &str = "snapshot.json";
const PUBLISH_EVERY: Duration = Duration::from_millis(500);

impl SledStore {
    /// Opens (creating if needed) the store in `dir` for writing. Fails with
    /// [`StateError::Busy`] if another process has it open.
    pub fn open(dir: &Path) -> Result<SledStore> {
        std::fs::create_dir_all(dir).map_err(|e| storage(dir, e))?;
        let db = sled::Config::new()
            .path(dir.join("db"))
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|e| open_error(dir, e))?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| storage(dir, e));
        let store = SledStore {
            dir: dir.to_path_buf(),
            meta: tree("meta")?,
            resources: tree("resources")?,
            intents: tree("intents")?,
            history: tree("history")?,
            db,
            commit_lock: Mutex::new(()),
            last_publish: Mutex::new(None),
        };
        if store
            .meta
            .get("lineage")
            .map_err(|e| storage(dir, e))?
            .is_none()
        {
            store
                .meta
                .insert("lineage", random_id().as_bytes())
                .map_err(|e| storage(dir, e))?;
            store
                .meta
                .insert("serial", &0u64.to_be_bytes())
                .map_err(|e| storage(dir, e))?;
            store.db.flush().map_err(|e| storage(dir, e))?;
        }
        // After a crash the published copy may lag: bring it up to date.
        store.publish()?;
        Ok(store)
    }

    /// Reads the current state without taking the writer's place: from sled when no
    /// one has it open, else from the snapshot the writer last published.
    pub fn read(dir: &Path) -> Result<Snapshot> {
        if !dir.join("db").exists() {
            return Ok(Snapshot::default());
        }
        match SledStore::open(dir) {
            Ok(store) => store.snapshot(),
            Err(StateError::Busy(_)) => {
                let text = std::fs::read_to_string(dir.join(SNAPSHOT_FILE))
                    .map_err(|e| storage(dir, e))?;
                serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
                    key: SNAPSHOT_FILE.into(),
                    message: e.to_string(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The state as last published, without opening sled (which rewrites its files):
    /// for planning, so a plan that fails leaves the store byte-identical. It can lag
    /// sled only after a writer was killed; the next [`SledStore::open`] republishes.
    pub fn read_published(dir: &Path) -> Result<Snapshot> {
        let path = dir.join(SNAPSHOT_FILE);
        if !path.exists() {
            return Ok(Snapshot::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| storage(dir, e))?;
        serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            key: SNAPSHOT_FILE.into(),
            message: e.to_string(),
        })
    }

    /// Writes `snapshot.json` (atomically, by rename) for readers while this process
    /// holds the store.
    pub fn publish(&self) -> Result<()> {
        let mut last = self.last_publish.lock().unwrap_or_else(|e| e.into_inner());
        self.publish_locked(&mut last)
    }

    /// Publishes with the publish lock held, so concurrent committers never race on
    /// the temporary file.
    fn publish_locked(&self, last: &mut Option<Instant>) -> Result<()> {
        let snapshot = self.snapshot()?;
        let text = serde_json::to_vec(&snapshot).map_err(|e| storage(&self.dir, e))?;
        let tmp = self.dir.join(format!("{SNAPSHOT_FILE}.tmp"));
        std::fs::write(&tmp, text).map_err(|e| storage(&self.dir, e))?;
        std::fs::rename(&tmp, self.dir.join(SNAPSHOT_FILE)).map_err(|e| storage(&self.dir, e))?;
        *last = Some(Instant::now());
        Ok(())
    }

    fn serial(&self) -> Result<u64> {
        let raw = self.meta.get("serial").map_err(|e| storage(&self.dir, e))?;
        Ok(raw.map(|v| be_u64(&v)).unwrap_or(0))
    }
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
        storage(dir, text)
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
        // A commit never waits for another thread's publish: that one is recent.
        if let Ok(mut last) = self.last_publish.try_lock() {
            if last.is_none_or(|t| t.elapsed() >= PUBLISH_EVERY) {
                self.publish_locked(&mut last)?;
            }
        }
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
        // Readers see the final state; a failure here leaves the last published one.
        let _ = self.publish();
    }
}
