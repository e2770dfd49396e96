//! Saved plans: `plan --out FILE` writes one, bound to the stack, its workspace, its
//! configuration and the state serial it was made against; applying one makes
//! exactly its changes or nothing.

use crate::addrs::ResourceInstance;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::run::{execute, prepare_checked, settle, RunRequest};
use super::{check, lock, CancelToken, Notice, OperationError, Result, Store, Summary, View};
use crate::apply::{self, ChangeOptions};
use crate::config::vars::{InputValue, RawValue};
use crate::plan::file::{config_hash, PlanFile};
use crate::plan::Plan;
use crate::stack::{Prepared, StackOptions};

/// What binds a plan to one stack: the stack directory's canonical path and the
/// workspace.
fn stack_identity(dir: &Path) -> std::result::Result<(String, String), String> {
    let path = std::fs::canonicalize(dir)
        .map_err(|e| format!("cannot resolve the stack directory {}: {e}", dir.display()))?;
    let workspace = plinth_state::workspace::current(dir).map_err(|e| e.to_string())?;
    Ok((path.display().to_string(), workspace))
}

/// Writes `plan` to `path` as a plan file for the stack `request` names.
pub(super) fn save(
    plan: &Plan,
    prepared: &Prepared,
    request: &RunRequest,
    path: &Path,
) -> Result<()> {
    let mut replace: Vec<ResourceInstance> = request.change.replace.iter().cloned().collect();
    replace.sort_by_cached_key(|a| a.to_string());
    let mut file = PlanFile::new(
        plan,
        config_hash(&prepared.sources),
        request.destroy,
        &replace,
        &request.change.targets,
    );
    file.skip_refresh = request.change.skip_refresh;
    file.plan_time = Some(prepared.walk_options.plan_time.clone());
    (file.stack, file.workspace) =
        stack_identity(&request.dir).map_err(OperationError::SavePlan)?;
    file.write(path)
        .map_err(|e| OperationError::SavePlan(e.to_string()))
}

/// Which saved plan to apply, where.
#[derive(Clone, Debug)]
pub struct SavedPlanRequest {
    /// The stack directory.
    pub dir: PathBuf,
    /// The plan file.
    pub path: PathBuf,
    /// How to load the stack; the plan's own variable values replace any given here.
    pub stack: StackOptions,
    /// At most this many provider calls at once.
    pub parallelism: Option<usize>,
    pub lock_timeout: Duration,
}

/// Applies exactly the saved plan, or nothing: it must have been made for this stack
/// and workspace, from this configuration, against the state as it is now, and
/// planning again now must give the same changes, value for value.
pub fn apply_saved(
    request: &SavedPlanRequest,
    store: &Store,
    view: &dyn View,
    cancel: &CancelToken,
) -> Result<()> {
    let refuse = |reason: String| OperationError::PlanRefused {
        path: request.path.display().to_string(),
        reason,
    };
    let file = PlanFile::read(&request.path).map_err(|e| refuse(e.to_string()))?;
    match stack_identity(&request.dir) {
        Ok((stack, workspace)) if stack == file.stack && workspace == file.workspace => {}
        Ok((stack, workspace)) => {
            return Err(refuse(format!(
                "the plan was made for the stack at {} (workspace {:?}), and this is {stack} (workspace {workspace:?}). A plan applies only where it was made.",
                file.stack, file.workspace
            )))
        }
        Err(e) => return Err(refuse(e)),
    }
    let saved = file.plan();
    let mut prepared = prepare_checked(&request.dir, &request.stack, view)?;
    if let Some(time) = &file.plan_time {
        prepared.walk_options.plan_time = time.clone();
    }
    if config_hash(&prepared.sources) != file.config_hash {
        return Err(refuse(
            "the configuration has changed since the plan was made. Run plinth plan again.".into(),
        ));
    }
    prepared.inputs = saved
        .variables
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                InputValue {
                    raw: RawValue::Value(v.clone()),
                    origin: "the plan file".into(),
                },
            )
        })
        .collect();
    let locked = lock(store, view, "apply", request.lock_timeout)?;
    let published = locked.read().map_err(|e| refuse(e.to_string()))?;
    let moved_on = |lineage: &str, serial: u64| {
        refuse(format!(
            "the state has changed since the plan was made (planned against serial {} of lineage {}; the state is now at serial {serial} of lineage {lineage}). Run plinth plan again.",
            file.serial,
            if file.lineage.is_empty() { "(none)" } else { &file.lineage },
        ))
    };
    if published.lineage != file.lineage || published.serial != file.serial {
        return Err(moved_on(&published.lineage, published.serial));
    }
    let change = ChangeOptions {
        replace: file.replace().into_iter().collect(),
        targets: file.targets(),
        parallelism: request.parallelism,
        skip_refresh: file.skip_refresh,
        refresh_only: file.refresh_only,
        exact_targets: false,
        cancel: cancel.clone(),
        basis: None,
        deferred: Default::default(),
    };
    let (now, diags) = if file.destroy {
        apply::plan_destroy(&prepared, &published, &change)
    } else {
        apply::plan(&prepared, &published, &change)
    };
    check(view, &prepared.sources, &diags)?;
    // Apply makes the changes planning again gives: they must be the saved ones,
    // value for value, or nothing is done.
    let mut again = PlanFile::new(
        &now,
        file.config_hash.clone(),
        file.destroy,
        &file.replace(),
        &file.targets(),
    );
    again.skip_refresh = file.skip_refresh;
    if let Some(difference) = file.first_difference(&again) {
        return Err(refuse(format!(
            "planning again now gives different changes than the saved plan: {difference}. Run plinth plan again."
        )));
    }
    let store = locked.open().map_err(|e| refuse(e.to_string()))?;
    match store.position() {
        Ok((lineage, serial))
            if (file.lineage.is_empty() || lineage == file.lineage) && serial == file.serial => {}
        Ok((lineage, serial)) => return Err(moved_on(&lineage, serial)),
        Err(e) => return Err(refuse(format!("the state cannot be read: {e}"))),
    }
    view.applying_saved(&saved);
    if !saved.has_changes() {
        let intents = store.snapshot().map(|s| s.intents.len()).unwrap_or(0);
        if intents > 0 {
            settle(&prepared, &store, view)?;
        }
        view.summary(Summary::NoChanges);
        return Ok(());
    }
    let change = ChangeOptions {
        basis: now.basis.clone(),
        ..change
    };
    execute(&prepared, store, &saved, file.destroy, &change, view)?;
    // A partial plan applies its stage only: what was approved is what it shows.
    if saved.is_partial() {
        view.notice(Notice::StageLeft {
            waiting: saved.deferred.len(),
        });
    }
    Ok(())
}
