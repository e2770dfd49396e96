//! Refreshing state before a plan or an apply, and recording what the refresh (or
//! the plan's) found.

use std::collections::{BTreeMap, HashSet};

use plinth_state::{Commit, Snapshot, StateStore};

use super::ChangeOptions;
use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::refresh::refresh;
use crate::plan::{Basis, PlannedChange};
use crate::stack::Prepared;

/// Refreshes `with_imports` (`prior` plus imported objects) unless told not to: the
/// state to plan against, what drifted, and the plan's basis (what an apply right
/// after the plan records before walking).
pub(super) fn refreshed_with_basis(
    prepared: &Prepared,
    prior: &Snapshot,
    with_imports: &Snapshot,
    options: &ChangeOptions,
    imported: &BTreeMap<String, String>,
    unconfigured: &HashSet<String>,
) -> (Snapshot, Vec<PlannedChange>, Diagnostics, Basis) {
    let basis = |state: Snapshot, put, remove| Basis {
        lineage: prior.lineage.clone(),
        serial: prior.serial,
        state,
        put,
        remove,
        imported: imported.clone(),
    };
    let imported: Vec<String> = imported.keys().cloned().collect();
    if options.skip_refresh {
        let put = imported
            .iter()
            .filter_map(|a| with_imports.resources.get(a).cloned())
            .collect();
        let b = basis(with_imports.clone(), put, Vec::new());
        return (with_imports.clone(), Vec::new(), Diagnostics::default(), b);
    }
    let r = refresh(
        with_imports,
        &prepared.providers,
        options.limit(),
        unconfigured,
    );
    let (put, remove) = r.commit_parts_with(&imported);
    let b = basis(r.state.clone(), put, remove);
    (r.state, r.drift, r.diagnostics, b)
}

/// Refreshes `prior` and writes what changed outside plinth to the store: the state
/// to apply against, and how many instances drifted. The objects of `unconfigured`
/// providers (state addresses) are kept as stored.
pub(super) fn refresh_and_record(
    prepared: &Prepared,
    store: &dyn StateStore,
    prior: Snapshot,
    options: &ChangeOptions,
    unconfigured: &HashSet<String>,
    diags: &mut Diagnostics,
) -> Option<(Snapshot, usize)> {
    if options.skip_refresh {
        return Some((prior, 0));
    }
    let r = refresh(&prior, &prepared.providers, options.limit(), unconfigured);
    diags.extend(r.diagnostics.clone());
    if r.diagnostics.has_errors() {
        return None;
    }
    let (put, remove) = r.commit_parts();
    if !put.is_empty() || !remove.is_empty() {
        if let Err(e) = store.commit(Commit {
            put,
            remove,
            ..Commit::default()
        }) {
            diags.push(Diagnostic::error("Failed to save state").detail(e.to_string()));
            return None;
        }
    }
    Some((r.state, r.drift.len()))
}

/// Records what the plan imported and refreshed; false when it could not be saved.
pub(super) fn record_basis(store: &dyn StateStore, b: &Basis, diags: &mut Diagnostics) -> bool {
    if b.put.is_empty() && b.remove.is_empty() {
        return true;
    }
    let saved = store.commit(Commit {
        put: b.put.clone(),
        remove: b.remove.clone(),
        ..Commit::default()
    });
    if let Err(e) = saved {
        diags.push(Diagnostic::error("Failed to save state").detail(e.to_string()));
        return false;
    }
    true
}
