//! Edits of the state under its lock: `state rm`, `state mv`, `taint`, `untaint`,
//! `state recover`, and `force-unlock` for a lock left behind.

use std::time::Duration;

use plinth_state::{Commit, LockRequest, Locked, ResourceState, Snapshot};

use super::{OperationError, RecoverFrom, Result, Store, Summary, View};

/// Takes the lock for a state edit (which never waits) and opens the store.
fn edit(
    store: &Store,
    operation: &str,
    make: impl FnOnce(&Snapshot) -> Result<Commit>,
) -> Result<()> {
    let locked = lock_now(store, operation)?;
    let store = locked.open().map_err(OperationError::State)?;
    let snapshot = store.snapshot().map_err(OperationError::State)?;
    let commit = make(&snapshot)?;
    store.commit(commit).map_err(OperationError::SaveState)?;
    Ok(())
}

fn lock_now(store: &Store, operation: &str) -> Result<Box<dyn Locked>> {
    store
        .backend()
        .lock(&LockRequest {
            operation: operation.to_string(),
            timeout: Duration::ZERO,
        })
        .map_err(OperationError::Lock)
}

/// Forgets instances: plinth stops managing them, nothing is destroyed.
pub fn state_rm(store: &Store, view: &dyn View, addresses: &[String]) -> Result<()> {
    edit(store, "state rm", |s| {
        if let Some(missing) = addresses.iter().find(|a| !s.resources.contains_key(*a)) {
            return Err(OperationError::NotInState {
                address: missing.clone(),
            });
        }
        Ok(Commit {
            remove: addresses.to_vec(),
            ..Commit::default()
        })
    })?;
    view.summary(Summary::Removed { addresses });
    Ok(())
}

/// Renames an instance in state, as a `moved` block would.
pub fn state_mv(store: &Store, view: &dyn View, from: &str, to: &str) -> Result<()> {
    edit(store, "state mv", |s| {
        if !s.resources.contains_key(from) {
            return Err(OperationError::NotInState {
                address: from.to_string(),
            });
        }
        if s.resources.contains_key(to) {
            return Err(OperationError::AlreadyInState {
                address: to.to_string(),
            });
        }
        Ok(Commit {
            rename: vec![(from.to_string(), to.to_string())],
            ..Commit::default()
        })
    })?;
    view.summary(Summary::Moved { from, to });
    Ok(())
}

/// Marks an instance tainted: the next plan replaces it (Terraform's `taint`).
pub fn taint(store: &Store, view: &dyn View, address: &str) -> Result<()> {
    edit(store, "taint", |s| {
        let rs = in_state(s, address)?;
        if crate::addrs::ResourceInstance::parse(address)
            .is_ok_and(|a| a.resource.mode == crate::lang::refs::ResourceMode::Data)
        {
            return Err(OperationError::DataNotTaintable {
                address: address.to_string(),
            });
        }
        Ok(marked(rs, true))
    })?;
    view.summary(Summary::Tainted { address });
    Ok(())
}

/// Clears an instance's taint: the next plan keeps it (Terraform's `untaint`).
pub fn untaint(store: &Store, view: &dyn View, address: &str) -> Result<()> {
    edit(store, "untaint", |s| {
        let rs = in_state(s, address)?;
        if !rs.tainted {
            return Err(OperationError::NotTainted {
                address: address.to_string(),
            });
        }
        Ok(marked(rs, false))
    })?;
    view.summary(Summary::Untainted { address });
    Ok(())
}

fn in_state<'s>(s: &'s Snapshot, address: &str) -> Result<&'s ResourceState> {
    s.resources
        .get(address)
        .ok_or_else(|| OperationError::NotInState {
            address: address.to_string(),
        })
}

/// The commit that writes the instance again with its taint set or cleared.
fn marked(rs: &ResourceState, tainted: bool) -> Commit {
    Commit {
        put: vec![ResourceState {
            tainted,
            ..rs.clone()
        }],
        ..Commit::default()
    }
}

/// Repairs a store whose parts are missing or disagree, under the lock so that no
/// writer is in the middle of a commit.
pub fn recover(store: &Store, view: &dyn View, from: Option<RecoverFrom>) -> Result<()> {
    let locked = lock_now(store, "state recover")?;
    let what = locked.recover(from).map_err(OperationError::State)?;
    view.summary(Summary::Recovered { what: &what });
    Ok(())
}

/// Clears a lock record left behind by a process that is gone.
pub fn force_unlock(store: &Store, view: &dyn View, id: &str) -> Result<()> {
    store
        .backend()
        .force_unlock(id)
        .map_err(OperationError::Unlock)?;
    view.summary(Summary::Unlocked);
    Ok(())
}
