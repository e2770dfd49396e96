//! A backend in this process's memory, for engine tests and embedders: the same
//! commit rules as every store ([`Commit::apply_to`], one serial a commit, empty
//! commits change nothing) and the same lock semantics (one holder; a second
//! locker waits up to its timeout, then is refused with the holder's record).
//! Clones share one state.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::backend::{Backend, LockRequest, Locked};
use crate::lock::{LockError, LockInfo};
use crate::{
    now, random_id, Commit, HistoryEntry, RecoverFrom, Result, Snapshot, StateError, StateStore,
};

#[derive(Clone, Default)]
pub struct MemoryBackend {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<Inner>,
    released: Condvar,
}

#[derive(Default)]
struct Inner {
    /// Created on the first open for writing, as a store on disk is.
    created: bool,
    snapshot: Snapshot,
    history: Vec<HistoryEntry>,
    holder: Option<LockInfo>,
}

impl Shared {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MemoryBackend {
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }
}

impl std::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.shared.inner();
        f.debug_struct("MemoryBackend")
            .field("serial", &inner.snapshot.serial)
            .field("holder", &inner.holder)
            .finish()
    }
}

impl Backend for MemoryBackend {
    fn read(&self) -> Result<Snapshot> {
        Ok(self.shared.inner().snapshot.clone())
    }

    fn history(&self) -> Result<Vec<HistoryEntry>> {
        Ok(self.shared.inner().history.clone())
    }

    fn snapshot_at(&self, serial: u64) -> Result<Snapshot> {
        snapshot_at(&self.shared.inner(), serial)
    }

    fn lock(&self, request: &LockRequest) -> std::result::Result<Box<dyn Locked>, LockError> {
        let started = Instant::now();
        let mut inner = self.shared.inner();
        loop {
            match &inner.holder {
                None => break,
                Some(info) => {
                    let waited = started.elapsed();
                    if waited >= request.timeout {
                        return Err(LockError::Held { info: info.clone() });
                    }
                    inner = self
                        .shared
                        .released
                        .wait_timeout(inner, request.timeout - waited)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        let info = LockInfo::new(&request.operation);
        inner.holder = Some(info.clone());
        Ok(Box::new(MemoryLocked {
            shared: Arc::clone(&self.shared),
            info,
        }))
    }

    fn holder(&self) -> Option<LockInfo> {
        self.shared.inner().holder.clone()
    }

    fn force_unlock(&self, id: &str) -> std::result::Result<(), LockError> {
        let inner = self.shared.inner();
        let message = match &inner.holder {
            Some(info) if info.id == id => format!(
                "lock {id} is held by a running operation in this process (pid {}); stop that operation instead",
                info.pid
            ),
            Some(info) => format!("the lock id is {}, not {id}", info.id),
            None => "the state is not locked".into(),
        };
        Err(LockError::Io {
            path: "memory".into(),
            message,
        })
    }
}

fn snapshot_at(inner: &Inner, serial: u64) -> Result<Snapshot> {
    if serial > inner.snapshot.serial {
        return Err(StateError::NoSuchSerial(serial));
    }
    let mut s = Snapshot {
        lineage: inner.snapshot.lineage.clone(),
        serial,
        ..Snapshot::default()
    };
    for entry in inner.history.iter().take_while(|e| e.serial <= serial) {
        entry.commit.apply_to(&mut s);
    }
    Ok(s)
}

struct MemoryLocked {
    shared: Arc<Shared>,
    info: LockInfo,
}

impl Locked for MemoryLocked {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    fn took_over(&self) -> Option<&LockInfo> {
        // A holder in this process releases its lock when it goes.
        None
    }

    fn read(&self) -> Result<Snapshot> {
        Ok(self.shared.inner().snapshot.clone())
    }

    fn exists(&self) -> bool {
        self.shared.inner().created
    }

    fn open(&self) -> Result<Arc<dyn StateStore>> {
        let mut inner = self.shared.inner();
        if !inner.created {
            inner.created = true;
            inner.snapshot.lineage = random_id();
        }
        Ok(Arc::new(MemoryStore {
            shared: Arc::clone(&self.shared),
            lock_id: self.info.id.clone(),
        }))
    }

    fn recover(&self, _from: Option<RecoverFrom>) -> Result<String> {
        let inner = self.shared.inner();
        if !inner.created {
            return Ok("There is no state here yet: nothing to recover.".into());
        }
        Ok(format!(
            "The state is whole (serial {}): nothing to recover.",
            inner.snapshot.serial
        ))
    }
}

impl Drop for MemoryLocked {
    fn drop(&mut self) {
        let mut inner = self.shared.inner();
        if inner.holder.as_ref().is_some_and(|h| h.id == self.info.id) {
            inner.holder = None;
        }
        drop(inner);
        self.shared.released.notify_all();
    }
}

/// The store a [`MemoryBackend`]'s lock holder writes through. It refuses to commit
/// once that lock is released, as only a lock holder may write.
pub struct MemoryStore {
    shared: Arc<Shared>,
    lock_id: String,
}

impl StateStore for MemoryStore {
    fn snapshot(&self) -> Result<Snapshot> {
        Ok(self.shared.inner().snapshot.clone())
    }

    fn position(&self) -> Result<(String, u64)> {
        let inner = self.shared.inner();
        Ok((inner.snapshot.lineage.clone(), inner.snapshot.serial))
    }

    fn commit(&self, change: Commit) -> Result<u64> {
        let mut inner = self.shared.inner();
        if inner.holder.as_ref().is_none_or(|h| h.id != self.lock_id) {
            return Err(StateError::Storage {
                path: "memory".into(),
                message: format!(
                    "the write lock {} was released; only its holder may commit",
                    self.lock_id
                ),
            });
        }
        if change.is_empty() {
            return Ok(inner.snapshot.serial);
        }
        let serial = inner.snapshot.serial + 1;
        change.apply_to(&mut inner.snapshot);
        inner.snapshot.serial = serial;
        inner.history.push(HistoryEntry {
            serial,
            time: now(),
            commit: change,
        });
        Ok(serial)
    }

    fn history(&self) -> Result<Vec<HistoryEntry>> {
        Ok(self.shared.inner().history.clone())
    }

    fn snapshot_at(&self, serial: u64) -> Result<Snapshot> {
        snapshot_at(&self.shared.inner(), serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn request(operation: &str) -> LockRequest {
        LockRequest {
            operation: operation.into(),
            timeout: Duration::ZERO,
        }
    }

    #[test]
    fn a_second_locker_is_refused_with_the_holders_record() {
        let backend = MemoryBackend::new();
        let held = backend.lock(&request("apply")).expect("first lock");
        let Err(LockError::Held { info }) = backend.lock(&request("state rm")) else {
            panic!("a second lock was granted");
        };
        assert_eq!(&info, held.info());
        assert_eq!(backend.holder().as_ref(), Some(held.info()));
        drop(held);
        assert!(backend.holder().is_none());
        assert!(backend.lock(&request("state rm")).is_ok());
    }

    #[test]
    fn commits_follow_the_store_rules_and_need_the_lock() {
        let backend = MemoryBackend::new();
        let held = backend.lock(&request("apply")).expect("lock");
        assert!(!held.exists());
        let store = held.open().expect("open");
        assert!(held.exists());
        let intent = crate::Intent {
            id: "i".into(),
            address: "a.b".into(),
            action: crate::IntentAction::Create,
            started: 0,
            pid: 1,
        };
        let begin = Commit {
            begin_intents: vec![intent],
            ..Commit::default()
        };
        assert_eq!(store.commit(begin).expect("commit"), 1);
        assert_eq!(store.commit(Commit::default()).expect("empty"), 1);
        let end = Commit {
            end_intents: vec!["i".into()],
            ..Commit::default()
        };
        assert_eq!(store.commit(end).expect("commit"), 2);
        assert_eq!(backend.snapshot_at(1).expect("at 1").intents.len(), 1);
        assert!(backend.read().expect("read").intents.is_empty());
        assert!(matches!(
            backend.snapshot_at(3),
            Err(StateError::NoSuchSerial(3))
        ));
        drop(held);
        assert!(store
            .commit(Commit {
                remove: vec!["a.b".into()],
                ..Commit::default()
            })
            .is_err());
    }
}
