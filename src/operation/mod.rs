//! Operations: what a caller asks of a stack — plan, apply, destroy, refresh-only,
//! apply a saved plan, import, edit the state — each run from start to finish here:
//! load the stack, take the state's lock, read the state, plan, ask for
//! confirmation, apply, release the lock. The terminal, a pull-request bot and a
//! reconcile daemon call the same functions; each brings its own [`View`] (which
//! receives the plan, progress, the confirmation question and the results) and its
//! own [`CancelToken`], and a [`Store`] for the stack's state.
//!
//! An operation decides everything and prints nothing: the view renders.

mod console;
mod import;
mod run;
mod saved;
mod state_edit;

use std::collections::BTreeMap;
use std::path::Path;

use plinth_state::{LockError, LockInfo, LockRequest, Locked, OutputState, StateError};

use crate::apply::Progress;
use crate::diag::{Diagnostics, Sources};
use crate::plan::Plan;

pub use crate::cancel::CancelToken;
pub use console::{Console, Evaluated};
pub use import::{import, ImportRequest};
pub use plinth_state::{Backend, MemoryBackend, RecoverFrom};
pub use run::{apply, plan, PlanOutcome, RunRequest};
pub use saved::{apply_saved, SavedPlanRequest};
pub use state_edit::{force_unlock, recover, state_mv, state_rm, taint, untaint};

/// Where a stack's state lives, as the caller chose it: the embedded store of a
/// workspace on this machine, or any [`Backend`] (a remote one, or [`MemoryBackend`]
/// in tests). Operations lock and write through it; callers read through it.
pub struct Store(Box<dyn Backend>);

impl Store {
    /// A store over any backend.
    pub fn new(backend: impl Backend + 'static) -> Store {
        Store(Box::new(backend))
    }

    /// The embedded store of the workspace selected for the stack in `stack_dir`
    /// (`PLINTH_WORKSPACE`, else `.plinth/environment`, else `default`).
    pub fn local(
        stack_dir: &Path,
    ) -> std::result::Result<Store, plinth_state::workspace::WorkspaceError> {
        let name = plinth_state::workspace::current(stack_dir)?;
        Ok(Store::workspace(stack_dir, &name))
    }

    /// The embedded store of the workspace `name` of the stack in `stack_dir`.
    pub fn workspace(stack_dir: &Path, name: &str) -> Store {
        let dir = plinth_state::workspace::workspace_dir(stack_dir, name);
        Store::new(plinth_state::SledBackend::new(&dir))
    }

    /// The latest state, checked whole.
    pub fn read(&self) -> std::result::Result<plinth_state::Snapshot, StateError> {
        self.0.read()
    }

    /// Every commit, oldest first.
    pub fn history(&self) -> std::result::Result<Vec<plinth_state::HistoryEntry>, StateError> {
        self.0.history()
    }

    /// The state as the commit with `serial` left it.
    pub fn snapshot_at(
        &self,
        serial: u64,
    ) -> std::result::Result<plinth_state::Snapshot, StateError> {
        self.0.snapshot_at(serial)
    }

    /// Whoever holds the write lock now, if anyone (only the record is read).
    pub fn holder(&self) -> Option<LockInfo> {
        self.0.holder()
    }

    fn backend(&self) -> &dyn Backend {
        self.0.as_ref()
    }
}

/// Something an operation says while it runs that is neither progress nor a result.
#[derive(Debug)]
pub enum Notice<'a> {
    /// The lock was taken over from a holder that is gone.
    TookOverStaleLock(&'a LockInfo),
    /// The state had commits its published copy did not show: planning again.
    PlanningAgain,
    /// `import`: the provider is asked for the object.
    Importing { address: &'a str, id: &'a str },
    /// Staged apply: the stage before left `waiting` instances for their provider's
    /// configuration, which is known now; stage `stage` is planned next.
    NextStage { stage: usize, waiting: usize },
    /// A partial saved plan was applied: `waiting` instances are left for the next
    /// plan (their provider's configuration is known now).
    StageLeft { waiting: usize },
    /// Staged apply stopped after a stage that changed what an already configured
    /// provider's configuration comes from: a plugin is configured once per run,
    /// so the `waiting` instances are planned by the next run.
    NewRunNeeded { waiting: usize },
}

/// What an operation asks before it changes anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Question {
    Apply,
    Destroy,
}

/// What an operation did, once it is done.
#[derive(Debug)]
pub enum Summary<'a> {
    Applied {
        imported: usize,
        added: usize,
        changed: usize,
        destroyed: usize,
    },
    /// An apply that also dropped objects from state without destroying them
    /// (`removed` blocks with `destroy = false`).
    AppliedAndForgot {
        imported: usize,
        added: usize,
        changed: usize,
        destroyed: usize,
        forgotten: usize,
    },
    Destroyed {
        destroyed: usize,
    },
    /// A refresh-only apply: the state now records this many outside changes.
    Refreshed {
        drifted: usize,
    },
    /// A saved plan that changes nothing was applied.
    NoChanges,
    /// A plan was saved for a later `apply`.
    PlanSaved {
        path: &'a Path,
    },
    Imported {
        address: &'a str,
    },
    Removed {
        addresses: &'a [String],
    },
    Moved {
        from: &'a str,
        to: &'a str,
    },
    /// `taint`: the next plan replaces the instance.
    Tainted {
        address: &'a str,
    },
    Untainted {
        address: &'a str,
    },
    /// `state recover`, in the backend's words.
    Recovered {
        what: &'a str,
    },
    Unlocked,
}

/// How an operation reports to its caller. The terminal's view prints text; a bot's
/// comments on a pull request; a daemon's records metrics.
pub trait View: Sync {
    /// Problems found (errors and warnings), with the files they point into. When
    /// they hold errors the operation then fails with [`OperationError::Invalid`].
    fn diagnostics(&self, sources: &Sources, diagnostics: &Diagnostics);
    fn notice(&self, notice: Notice<'_>);
    /// The plan, as soon as it is made (again if the operation plans again).
    fn plan(&self, plan: &Plan);
    /// A saved plan, once it is checked and about to be applied. The terminal does
    /// not show it again.
    fn applying_saved(&self, plan: &Plan) {
        let _ = plan;
    }
    /// Whether to go ahead; nothing is changed unless this says yes.
    fn confirm(&self, question: Question) -> bool;
    /// Apply progress, one call per instance as it starts and as it finishes.
    fn progress(&self) -> &dyn Progress;
    fn summary(&self, summary: Summary<'_>);
    /// The root outputs as state holds them after an apply.
    fn outputs(&self, outputs: &BTreeMap<String, OutputState>);
    /// An apply found nothing to change and changed nothing; `outputs` are the root
    /// outputs state holds. The terminal says nothing more than the plan did.
    fn applied_nothing(&self, outputs: &BTreeMap<String, OutputState>) {
        let _ = outputs;
    }
}

/// Why an operation stopped without finishing.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// The stack, the plan or the apply has errors; the view was given them.
    #[error("{errors} error{} found.", if *errors == 1 { "" } else { "s" })]
    Invalid { errors: usize },
    /// The request cannot be carried out as asked.
    #[error("{0}")]
    Request(String),
    #[error("{0}")]
    Lock(LockError),
    /// The state cannot be read (or opened) whole.
    #[error("{0}")]
    State(StateError),
    #[error("{0}")]
    ReadState(StateError),
    #[error("{0}")]
    SaveState(StateError),
    #[error("{0}")]
    SavePlan(String),
    /// A saved plan that may not be applied; nothing was applied.
    #[error("cannot apply {path}: {reason}\nNothing was applied.")]
    PlanRefused { path: String, reason: String },
    /// The view's confirmation said no.
    #[error("Apply cancelled.")]
    Declined,
    /// The view said no to a later stage of a staged apply: the stages before were
    /// applied and saved.
    #[error("Apply cancelled at stage {stage}: the stages before it were applied and saved; {waiting} change(s) of stage {stage} were not made. Run plinth apply again to make them.")]
    DeclinedStage { stage: usize, waiting: usize },
    /// The cancel token stopped an apply: what was in flight finished and was saved.
    #[error("Interrupted: the changes in flight finished and were saved; {not_started} change(s) were not started. Run plinth apply again to finish.")]
    Cancelled { not_started: usize },
    #[error("Resource already managed by plinth\n\n{address} is already in the state; to import it again, first remove it with plinth state rm {address}.")]
    AlreadyManaged { address: String },
    #[error("no provider serves {type_name}.")]
    NoProvider { type_name: String },
    #[error("Cannot import non-existent remote object {id:?}.")]
    NothingToImport { id: String },
    #[error("no instance {address} in state.")]
    NotInState { address: String },
    #[error("{address} already exists in state.")]
    AlreadyInState { address: String },
    #[error("Resource instance is not tainted\n\n{address} is not currently tainted, so it cannot be untainted.")]
    NotTainted { address: String },
    #[error("Cannot taint a data resource\n\n{address} is a data resource: only managed resource instances can be tainted.")]
    DataNotTaintable { address: String },
    /// `force-unlock` was refused.
    #[error("{0}")]
    Unlock(LockError),
}

pub type Result<T> = std::result::Result<T, OperationError>;

/// Fails with diagnostics that hold errors, after reporting them; diagnostics without
/// errors are not reported here.
fn check(view: &dyn View, sources: &Sources, diagnostics: &Diagnostics) -> Result<()> {
    if diagnostics.has_errors() {
        return Err(fail(view, sources, diagnostics));
    }
    Ok(())
}

/// Reports `diagnostics` and fails with them.
fn fail(view: &dyn View, sources: &Sources, diagnostics: &Diagnostics) -> OperationError {
    view.diagnostics(sources, diagnostics);
    OperationError::Invalid {
        errors: diagnostics.errors().count(),
    }
}

/// Takes the backend's write lock for `operation`, telling the view about a stale
/// holder it replaced.
fn lock(
    store: &Store,
    view: &dyn View,
    operation: &str,
    timeout: std::time::Duration,
) -> Result<Box<dyn Locked>> {
    let locked = store
        .backend()
        .lock(&LockRequest {
            operation: operation.to_string(),
            timeout,
        })
        .map_err(OperationError::Lock)?;
    if let Some(old) = locked.took_over() {
        view.notice(Notice::TookOverStaleLock(old));
    }
    Ok(locked)
}
