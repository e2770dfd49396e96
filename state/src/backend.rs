//! The contract every state backend keeps: one [`Backend`] per stack and workspace,
//! readable without a lock, writable only through the [`Locked`] guard its
//! [`Backend::lock`] returns.
//!
//! Locking belongs to the backend, so a remote backend brings its own lock (a row in
//! PostgreSQL, a conditional write in S3) and the engine never knows which it is.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::lock::{LockError, LockInfo, StackLock};
use crate::{GroupCommit, HistoryEntry, RecoverFrom, Result, SledStore, Snapshot, StateStore};

/// What a writer asks the lock for.
#[derive(Clone, Debug)]
pub struct LockRequest {
    /// What the holder will do, shown to whoever has to wait: "apply", "state rm"…
    pub operation: String,
    /// How long to wait for another holder to finish.
    pub timeout: Duration,
}

/// Where one stack's state lives, for one workspace.
pub trait Backend: Send + Sync {
    /// The published state, as every reader sees it: no lock taken, never a writer
    /// made to fail, never an empty state in place of one that cannot be read whole.
    fn read(&self) -> Result<Snapshot>;
    /// Every committed serial, oldest first, as readers see them.
    fn history(&self) -> Result<Vec<HistoryEntry>>;
    /// The state right after `serial` was committed, as readers see it.
    fn snapshot_at(&self, serial: u64) -> Result<Snapshot>;
    /// Takes the write lock, waiting up to the request's timeout for a holder to
    /// finish. A holder known to be dead is replaced, and the guard says whose lock
    /// it took over. The lock is released when the guard is dropped.
    fn lock(&self, request: &LockRequest) -> std::result::Result<Box<dyn Locked>, LockError>;
    /// Whoever holds the write lock now, if anyone does (only the record is read).
    fn holder(&self) -> Option<LockInfo>;
    /// Clears a lock left behind by a holder that is gone; `id` must be its id.
    fn force_unlock(&self, id: &str) -> std::result::Result<(), LockError>;
}

/// The write lock, held: the only way to change the state.
pub trait Locked: Send + Sync {
    fn info(&self) -> &LockInfo;
    /// The record of a dead holder this lock replaced, if any.
    fn took_over(&self) -> Option<&LockInfo>;
    /// The state the holder plans from, checked whole, without opening the store for
    /// writing (so a plan that fails leaves the store exactly as it was).
    fn read(&self) -> Result<Snapshot>;
    /// Whether there is a store yet (before the first write there is none, and a run
    /// with nothing to write need not make one).
    fn exists(&self) -> bool;
    /// The store, opened for writing (created if there is none). Every clone must be
    /// dropped before the guard is.
    fn open(&self) -> Result<Arc<dyn StateStore>>;
    /// Repairs a store whose parts disagree or are missing; returns what was done.
    fn recover(&self, from: Option<RecoverFrom>) -> Result<String>;
}

/// The embedded backend: sled under `.plinth/workspaces/<name>/store/`, the lock file
/// beside it.
#[derive(Clone, Debug)]
pub struct SledBackend {
    workspace_dir: PathBuf,
}

impl SledBackend {
    /// The backend of one workspace directory (`.plinth/workspaces/<name>`).
    pub fn new(workspace_dir: &Path) -> SledBackend {
        SledBackend {
            workspace_dir: workspace_dir.to_path_buf(),
        }
    }

    fn store_dir(&self) -> PathBuf {
        self.workspace_dir.join("store")
    }
}

impl Backend for SledBackend {
    fn read(&self) -> Result<Snapshot> {
        SledStore::read(&self.store_dir())
    }

    fn history(&self) -> Result<Vec<HistoryEntry>> {
        SledStore::read_history(&self.store_dir())
    }

    fn snapshot_at(&self, serial: u64) -> Result<Snapshot> {
        SledStore::read_at(&self.store_dir(), serial)
    }

    fn lock(&self, request: &LockRequest) -> std::result::Result<Box<dyn Locked>, LockError> {
        let lock = StackLock::acquire(&self.workspace_dir, &request.operation, request.timeout)?;
        Ok(Box::new(SledLocked {
            lock,
            store_dir: self.store_dir(),
        }))
    }

    fn holder(&self) -> Option<LockInfo> {
        StackLock::holder(&self.workspace_dir)
    }

    fn force_unlock(&self, id: &str) -> std::result::Result<(), LockError> {
        StackLock::force_unlock(&self.workspace_dir, id)
    }
}

struct SledLocked {
    lock: StackLock,
    store_dir: PathBuf,
}

impl Locked for SledLocked {
    fn info(&self) -> &LockInfo {
        &self.lock.info
    }

    fn took_over(&self) -> Option<&LockInfo> {
        self.lock.took_over.as_ref()
    }

    fn read(&self) -> Result<Snapshot> {
        SledStore::read_locked(&self.store_dir)
    }

    fn exists(&self) -> bool {
        crate::store_exists(&self.store_dir)
    }

    fn open(&self) -> Result<Arc<dyn StateStore>> {
        Ok(Arc::new(GroupCommit::new(SledStore::open(
            &self.store_dir,
        )?)))
    }

    fn recover(&self, from: Option<RecoverFrom>) -> Result<String> {
        SledStore::recover(&self.store_dir, from)
    }
}
