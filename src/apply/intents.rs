//! Intents a killed plinth left behind: reporting and closing them.

use std::sync::Arc;

use plinth_state::{Commit, Intent, Snapshot, StateStore};

use super::refresh::refresh_and_record;
use super::{begin, ChangeOptions, Progress};
use crate::diag::{Diagnostic, Diagnostics};
use crate::stack::Prepared;

/// Calls that were in flight when an earlier plinth was killed: their outcome is
/// unknown, so the user is told which, and the instances are planned again from what
/// state (refreshed) says: an instance whose result was never saved is created again.
pub(super) fn close_stale_intents(
    store: &dyn StateStore,
    prior: &Snapshot,
    progress: &dyn Progress,
    diags: &mut Diagnostics,
) {
    if prior.intents.is_empty() {
        return;
    }
    for i in prior.intents.values() {
        progress.note(&format!(
            "Warning: a {:?} of {} was in flight when plinth (pid {}) stopped; its result was never saved, so it is planned again.",
            i.action, i.address, i.pid
        ));
    }
    let ids = prior.intents.keys().cloned().collect();
    if let Err(e) = store.commit(Commit {
        end_intents: ids,
        ..Commit::default()
    }) {
        diags.push(Diagnostic::error("Failed to save state").detail(e.to_string()));
    }
}

/// A run that holds the write lock but has nothing to change still settles the calls
/// a killed plinth left in flight: every instance in state is read through its
/// provider and what exists is recorded (an object that is gone leaves the state),
/// the intents are closed, and each is reported with what was found.
pub fn settle_intents(
    prepared: &Prepared,
    store: Arc<dyn StateStore>,
    progress: &dyn Progress,
) -> Diagnostics {
    let (prior, deferral, mut diags) = match begin(prepared, store.as_ref(), progress) {
        Ok(x) => x,
        Err(d) => return d,
    };
    let intents: Vec<Intent> = prior.intents.values().cloned().collect();
    let Some((now, _)) = refresh_and_record(
        prepared,
        store.as_ref(),
        prior,
        &ChangeOptions::default(),
        &deferral.unconfigured(&prepared.providers),
        &mut diags,
    ) else {
        return diags.sorted_unique();
    };
    for i in &intents {
        let found = if now.resources.contains_key(&i.address) {
            "the object exists and its state was read again"
        } else {
            "there is no object in state for it (it was deleted, or its creation was never recorded: if the provider made one, import it)"
        };
        progress.note(&format!(
            "Resolved the {:?} of {} left in flight by plinth (pid {}): {found}.",
            i.action, i.address, i.pid
        ));
    }
    diags.sorted_unique()
}
