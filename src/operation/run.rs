//! Plan, apply, destroy and refresh-only: load and check the stack before touching
//! the state, then (to change anything) lock, plan, confirm and apply.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use plinth_state::{Snapshot, StateStore};

use super::{check, lock, CancelToken, Notice, OperationError, Question, Result, Store};
use super::{Summary, View};
use crate::apply::{self, ChangeOptions};
use crate::plan::deferred::{needs_new_run, MAX_STAGES};
use crate::plan::Plan;
use crate::stack::{prepare, Prepared, StackOptions};

/// What to plan or apply.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// The stack directory.
    pub dir: PathBuf,
    pub stack: StackOptions,
    pub change: ChangeOptions,
    /// Plan (or apply) destroying everything in state.
    pub destroy: bool,
    /// How long to wait for another holder of the state's lock.
    pub lock_timeout: Duration,
}

pub struct PlanOutcome {
    pub plan: Plan,
    /// The configuration's drift ignore rules (`ignore_changes`, `drift { ignore }`).
    pub drift_rules: crate::drift::rules::Rules,
    /// The hash of the stack's files, as a plan file records it.
    pub config_hash: String,
}

/// Plans without changing anything: from the published state, as every reader
/// reads it, and without the lock, so a plan never makes an apply fail. With
/// `save_to` the plan is saved for `apply_saved`.
pub fn plan(
    request: &RunRequest,
    store: &Store,
    view: &dyn View,
    save_to: Option<&Path>,
) -> Result<PlanOutcome> {
    let prepared = prepare_checked(&request.dir, &request.stack, view)?;
    if request.change.refresh_only && request.change.skip_refresh {
        return Err(refresh_only_conflict());
    }
    let prior = store.read().map_err(OperationError::State)?;
    let plan = show_plan(&prepared, &prior, &request.change, request.destroy, view)?;
    if let Some(path) = save_to {
        super::saved::save(&plan, &prepared, request, path)?;
        view.summary(Summary::PlanSaved { path });
    }
    Ok(PlanOutcome {
        plan,
        drift_rules: crate::drift::rules::Rules::of(&prepared.config),
        config_hash: crate::plan::file::config_hash(&prepared.sources),
    })
}

/// Applies (or, with `destroy`, destroys) under the state's lock, after the view
/// confirms the plan.
pub fn apply(
    request: &RunRequest,
    store: &Store,
    view: &dyn View,
    cancel: &CancelToken,
) -> Result<()> {
    let prepared = prepare_checked(&request.dir, &request.stack, view)?;
    let change = ChangeOptions {
        cancel: cancel.clone(),
        ..request.change.clone()
    };
    if change.refresh_only && (change.skip_refresh || request.destroy) {
        return Err(refresh_only_conflict());
    }
    let operation = if request.destroy { "destroy" } else { "apply" };
    let locking = crate::timing::phase("lock");
    let locked = lock(store, view, operation, request.lock_timeout)?;
    drop(locking);
    // Plan against the published state, checked whole: opening the store for writing
    // may rewrite its files, and a plan that fails must leave the store as it was.
    let reading = crate::timing::phase("read state");
    let published = locked.read().map_err(OperationError::State)?;
    drop(reading);
    let mut plan = show_plan(&prepared, &published, &change, request.destroy, view)?;
    if !plan.has_changes() && !locked.exists() {
        // No state yet and nothing to make: no store to create.
        view.applied_nothing(&published.outputs);
        return Ok(());
    }
    // The store is the state's one source of truth: it is opened whatever the plan,
    // checked against the copy the plan was made from, and the calls a killed plinth
    // left in flight are settled before anything else.
    let opening = crate::timing::phase("open state");
    let store = locked.open().map_err(OperationError::State)?;
    drop(opening);
    let current = store.snapshot().map_err(OperationError::State)?;
    if current.serial != published.serial {
        view.notice(Notice::PlanningAgain);
        plan = show_plan(&prepared, &current, &change, request.destroy, view)?;
    }
    if !plan.has_changes() {
        if !current.intents.is_empty() {
            settle(&prepared, &store, view)?;
        }
        view.applied_nothing(&current.outputs);
        return Ok(());
    }
    let question = if request.destroy {
        Question::Destroy
    } else {
        Question::Apply
    };
    if !view.confirm(question) {
        return Err(OperationError::Declined);
    }
    execute(
        &prepared,
        Arc::clone(&store),
        &plan,
        request.destroy,
        &change,
        view,
    )?;
    apply_stages(&prepared, &store, plan, &change, view)
}

/// Staged apply: while the stage just applied left instances waiting for their
/// provider's configuration, plans the next stage (the state now holds what the
/// configuration comes from), shows it, asks again and applies it. A
/// configuration that no stage can make known is an error when planned
/// (`plan::deferred::stays_unknown`); [`MAX_STAGES`] bounds the rest.
fn apply_stages(
    prepared: &Prepared,
    store: &Arc<dyn StateStore>,
    mut plan: Plan,
    change: &ChangeOptions,
    view: &dyn View,
) -> Result<()> {
    let mut stage = 1;
    while plan.is_partial() {
        if needs_new_run(&plan.deferred) {
            view.notice(Notice::NewRunNeeded {
                waiting: plan.deferred.len(),
            });
            return Ok(());
        }
        if stage == MAX_STAGES {
            return Err(OperationError::Request(format!(
                "{} instances still wait for their provider configuration after {MAX_STAGES} stages; plinth stops here. Run plinth plan to see why.",
                plan.deferred.len()
            )));
        }
        stage += 1;
        view.notice(Notice::NextStage {
            stage,
            waiting: plan.deferred.len(),
        });
        let current = store.snapshot().map_err(OperationError::State)?;
        let next = ChangeOptions {
            basis: None,
            deferred: Default::default(),
            ..change.clone()
        };
        plan = show_plan(prepared, &current, &next, false, view)?;
        if !plan.has_changes() {
            view.applied_nothing(&current.outputs);
            return Ok(());
        }
        if !view.confirm(Question::Apply) {
            return Err(OperationError::DeclinedStage {
                stage,
                waiting: plan.changes.iter().filter(|c| c.action.is_change()).count(),
            });
        }
        execute(prepared, Arc::clone(store), &plan, false, &next, view)?;
    }
    Ok(())
}

pub(super) fn prepare_checked(
    dir: &Path,
    options: &StackOptions,
    view: &dyn View,
) -> Result<Prepared> {
    let prepared = prepare(dir, options);
    check(
        view,
        &prepared.sources,
        &prepared.diagnostics.clone().sorted_unique(),
    )?;
    Ok(prepared)
}

fn refresh_only_conflict() -> OperationError {
    OperationError::Request(
        "--refresh-only cannot be used with --refresh=false or --destroy.".into(),
    )
}

/// Plans from `prior` and shows the plan (and any warnings) to the view.
fn show_plan(
    prepared: &Prepared,
    prior: &Snapshot,
    change: &ChangeOptions,
    destroy: bool,
    view: &dyn View,
) -> Result<Plan> {
    let (plan, diags) = if destroy {
        apply::plan_destroy(prepared, prior, change)
    } else {
        apply::plan(prepared, prior, change)
    };
    check(view, &prepared.sources, &diags)?;
    if !diags.is_empty() {
        view.diagnostics(&prepared.sources, &diags);
    }
    view.plan(&plan);
    Ok(plan)
}

/// A run that holds the lock and changes nothing still settles the calls a killed
/// plinth left in flight.
pub(super) fn settle(
    prepared: &Prepared,
    store: &Arc<dyn StateStore>,
    view: &dyn View,
) -> Result<()> {
    let diags = apply::settle_intents(prepared, Arc::clone(store), view.progress());
    check(view, &prepared.sources, &diags)
}

/// Applies (or destroys) with the store open, then reports. The store is closed
/// before this returns, so the caller can release the lock.
pub(super) fn execute(
    prepared: &Prepared,
    store: Arc<dyn StateStore>,
    plan: &Plan,
    destroy: bool,
    change: &ChangeOptions,
    view: &dyn View,
) -> Result<()> {
    // Apply starts from what the plan read, when the state has not moved since.
    let change = &ChangeOptions {
        basis: plan.basis.clone().or_else(|| change.basis.clone()),
        deferred: plan.deferred.iter().map(|d| d.address.clone()).collect(),
        ..change.clone()
    };
    let (_, diags) = if destroy {
        apply::destroy(prepared, Arc::clone(&store), change, view.progress())
    } else {
        apply::apply(prepared, Arc::clone(&store), change, view.progress())
    };
    if change.cancel.is_cancelled() {
        return Err(OperationError::Cancelled {
            not_started: diags.errors().count(),
        });
    }
    check(view, &prepared.sources, &diags)?;
    // Warnings of the apply itself: check blocks are evaluated again after applying.
    if !diags.is_empty() {
        view.diagnostics(&prepared.sources, &diags);
    }
    let (added, changed, destroyed) = plan.counts();
    if plan.refresh_only {
        view.summary(Summary::Refreshed {
            drifted: plan.drift.len(),
        });
    } else if destroy {
        view.summary(Summary::Destroyed { destroyed });
        return Ok(());
    } else {
        let imported = plan.imports.len();
        view.summary(match plan.forget_count() {
            0 => Summary::Applied {
                imported,
                added,
                changed,
                destroyed,
            },
            forgotten => Summary::AppliedAndForgot {
                imported,
                added,
                changed,
                destroyed,
                forgotten,
            },
        });
    }
    if let Ok(snapshot) = store.snapshot() {
        view.outputs(&snapshot.outputs);
    }
    Ok(())
}
