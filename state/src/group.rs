//! Group commit: many threads committing at once share one transaction and one
//! flush. The first caller to find no commit under way becomes the leader, takes
//! every change queued so far, commits them as one, and wakes the others with the
//! result; callers arriving meanwhile queue for the next round. Each caller still
//! returns only once its change is durable.
//!
//! Changes in one round must not touch the same address: the engine never has two
//! changes for one instance outstanding at once, so this holds.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::{Commit, HistoryEntry, Result, Snapshot, StateError, StateStore};

pub struct GroupCommit<S> {
    inner: S,
    queue: Mutex<Queue>,
    finished: Condvar,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<(u64, Commit)>,
    next_ticket: u64,
    leader: bool,
    /// Each finished ticket's serial, or the error the round's commit returned.
    done: HashMap<u64, std::result::Result<u64, Arc<StateError>>>,
}

impl<S: StateStore> GroupCommit<S> {
    pub fn new(inner: S) -> GroupCommit<S> {
        GroupCommit {
            inner,
            queue: Mutex::new(Queue::default()),
            finished: Condvar::new(),
        }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One commit doing everything `changes` do, in their order within each kind.
fn merge(changes: Vec<Commit>) -> Commit {
    let mut out = Commit::default();
    for c in changes {
        out.put.extend(c.put);
        out.remove.extend(c.remove);
        out.rename.extend(c.rename);
        out.begin_intents.extend(c.begin_intents);
        out.end_intents.extend(c.end_intents);
        if c.outputs.is_some() {
            out.outputs = c.outputs;
        }
    }
    out
}

impl<S: StateStore> StateStore for GroupCommit<S> {
    fn snapshot(&self) -> Result<Snapshot> {
        self.inner.snapshot()
    }

    fn position(&self) -> Result<(String, u64)> {
        self.inner.position()
    }

    fn commit(&self, change: Commit) -> Result<u64> {
        if change.is_empty() {
            return self.inner.commit(change);
        }
        let mut q = self.lock();
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.waiting.push((ticket, change));
        loop {
            if let Some(outcome) = q.done.remove(&ticket) {
                return outcome.map_err(|error| StateError::Storage {
                    path: "(group commit)".into(),
                    message: error.to_string(),
                });
            }
            if q.leader {
                q = self.finished.wait(q).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            q.leader = true;
            let round = std::mem::take(&mut q.waiting);
            drop(q);
            let tickets: Vec<u64> = round.iter().map(|(t, _)| *t).collect();
            let merged = merge(round.into_iter().map(|(_, c)| c).collect());
            let outcome = self.inner.commit(merged).map_err(Arc::new);
            q = self.lock();
            for t in tickets {
                q.done.insert(t, outcome.clone());
            }
            q.leader = false;
            self.finished.notify_all();
        }
    }

    fn history(&self) -> Result<Vec<HistoryEntry>> {
        self.inner.history()
    }

    fn snapshot_at(&self, serial: u64) -> Result<Snapshot> {
        self.inner.snapshot_at(serial)
    }
}
