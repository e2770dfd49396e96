//! The applier: the walk's resource handler during apply, making each instance's
//! change through its provider between an intent and a state commit.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use plinth_state::{Commit, Intent, IntentAction, ResourceState, Snapshot, StateStore};

use super::Progress;
use crate::addrs::{BlockName, ResourceInstance};
use crate::cancel::CancelToken;
use crate::config::{ModuleId, Resource};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::walk::{ResourceHandler, Trigger};
use crate::lang::Value;
use crate::plan::{
    about_instance, decide, lock, no_provider, outside_targets, prevent_destroy, scope_wants,
    state_value, Action, Decided, TargetScope,
};
use crate::plugin::host::PLUGIN_FAILED;
use crate::plugin::{ApplyRequest, BoxFuture, ObjectState, Provider, Providers};

/// Applies changes during a walk, committing each instance's result at once.
pub struct Applier<'s> {
    pub(super) store: Arc<dyn StateStore>,
    pub(super) providers: &'s Providers,
    pub(super) prior: Snapshot,
    pub(super) moved: HashMap<ResourceInstance, ResourceInstance>,
    pub(super) replace: HashSet<ResourceInstance>,
    pub(super) targets: Option<TargetScope>,
    pub(super) dependencies: HashMap<(ModuleId, String), Vec<String>>,
    /// Each resource's key with those of every resource it depends on.
    pub(super) depends_on: HashMap<(ModuleId, String), Vec<(ModuleId, String)>>,
    /// Resources with an instance whose change failed: what depends on them is not
    /// applied (a pipeline stops at the step that failed), as in Terraform.
    pub(super) failed: Mutex<HashSet<(ModuleId, String)>>,
    pub(super) seen: Mutex<HashSet<String>>,
    pub(super) progress: &'s dyn Progress,
    pub(super) limit: usize,
    pub(super) decided: Decided,
    /// Instances changed.
    pub(super) applied: AtomicUsize,
    pub(super) cancel: CancelToken,
    /// What `removed` blocks say: orphans they forget leave state undestroyed.
    pub(super) removed: crate::plan::RemovedRules,
    /// What this stage leaves for the next: instances of unknown provider
    /// configurations, what depends on them, and what the plan deferred.
    pub(super) deferral: crate::plan::deferred::Deferral,
    /// State addresses of the providers left unconfigured: their orphans stay.
    pub(super) unconfigured: HashSet<String>,
    /// Per provider state address, the resources its configuration refers to:
    /// destroy goes through the provider's objects first.
    pub(super) provider_sources: HashMap<String, Vec<String>>,
}

/// A change the provider refused: its errors, whether the prior object is gone
/// (deleted before a failed create), and the object the failed call left, with
/// whether it is tainted (it was being created).
struct Failure {
    diagnostics: Diagnostics,
    prior_gone: bool,
    left: Option<(ObjectState, bool)>,
}

/// How an instance's change reads in progress lines.
fn verbs(action: Action) -> (IntentAction, &'static str, &'static str) {
    match action {
        Action::Create => (IntentAction::Create, "Creating...", "Creation complete"),
        Action::Update => (
            IntentAction::Update,
            "Modifying...",
            "Modifications complete",
        ),
        Action::Delete => (
            IntentAction::Delete,
            "Destroying...",
            "Destruction complete",
        ),
        _ => (
            IntentAction::Replace,
            "Replacing...",
            "Replacement complete",
        ),
    }
}

impl Applier<'_> {
    /// Commits `commit` on a blocking thread (it waits for fsync), so other calls
    /// go on meanwhile.
    pub(super) async fn save(
        &self,
        commit: Commit,
        address: &str,
        diags: &mut Diagnostics,
    ) -> bool {
        let store = Arc::clone(&self.store);
        let outcome = tokio::task::spawn_blocking(move || store.commit(commit)).await;
        let error = match outcome {
            Ok(Ok(_)) => return true,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        diags.push(Diagnostic::error("Failed to save state").detail(format!("{address}: {error}")));
        false
    }

    fn intent(address: &str, action: IntentAction) -> Intent {
        Intent {
            id: plinth_state::random_id(),
            address: address.to_string(),
            action,
            started: plinth_state::now(),
            pid: std::process::id(),
        }
    }

    /// Records that a call for `address` is about to start and says so; `None` if
    /// that failed, or if a stop was asked for before the intent could be written
    /// (so no call starts after Ctrl-C, however many were waiting to).
    pub(super) async fn begin(
        &self,
        address: &str,
        action: IntentAction,
        verb: &str,
        diags: &mut Diagnostics,
    ) -> Option<String> {
        let intent = Self::intent(address, action);
        let id = intent.id.clone();
        let commit = Commit {
            begin_intents: vec![intent],
            ..Commit::default()
        };
        // Said before the intent is written, so that every intent a killed plinth
        // leaves behind names a call it reported starting.
        self.progress.started(address, verb);
        let store = Arc::clone(&self.store);
        let cancel = self.cancel.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            (!cancel.is_cancelled()).then(|| store.commit(commit))
        })
        .await;
        let error = match outcome {
            Ok(Some(Ok(_))) => return Some(id),
            Ok(None) => {
                self.progress.finished(address, None);
                diags.push(Diagnostic::error("Apply interrupted").detail(format!(
                    "{address} was not changed: plinth was interrupted, and it let the changes in flight finish and saved them."
                )));
                return None;
            }
            Ok(Some(Err(e))) => e.to_string(),
            Err(e) => e.to_string(),
        };
        self.progress.finished(address, None);
        diags.push(Diagnostic::error("Failed to save state").detail(format!("{address}: {error}")));
        None
    }

    /// Makes one planned change through the provider: for a replacement, the delete
    /// and the create in the order `create_before_destroy` asks for. Returns the new
    /// object (`None`: it no longer exists), or the provider's errors with what
    /// exists after them.
    async fn change(
        &self,
        provider: &dyn Provider,
        resource: &Resource,
        decision: &crate::plan::Decision,
        prior_private: &[u8],
        provider_meta: Option<&Value>,
    ) -> Result<ObjectState, Failure> {
        let type_name = &resource.type_name;
        let create = ApplyRequest {
            type_name,
            prior: None,
            planned: Some(&decision.after),
            config: Some(&decision.config),
            private: &decision.private,
            provider_meta,
        };
        let delete = || ApplyRequest {
            type_name,
            prior: decision.before.as_ref(),
            planned: None,
            config: None,
            private: prior_private,
            provider_meta,
        };
        let refused = |d: Diagnostics| Failure {
            diagnostics: d,
            prior_gone: false,
            left: None,
        };
        match decision.action {
            Action::DeleteThenCreate => {
                provider.apply(delete()).await.map_err(refused)?;
                provider.apply_keeping(create).await.map_err(|f| Failure {
                    diagnostics: f.diagnostics,
                    prior_gone: true,
                    left: f.state.map(|s| (s, true)),
                })
            }
            Action::CreateThenDelete => {
                // The prior object stays in state: plinth keeps one object an
                // instance (no deposed objects), so a failed create's leftover is
                // not recorded here.
                let new = provider.apply(create).await.map_err(refused)?;
                provider.apply(delete()).await.map_err(refused)?;
                Ok(new)
            }
            _ => {
                let creating = decision.before.is_none();
                let update = ApplyRequest {
                    prior: decision.before.as_ref(),
                    ..create
                };
                provider.apply_keeping(update).await.map_err(|f| Failure {
                    diagnostics: f.diagnostics,
                    prior_gone: false,
                    left: f.state.map(|s| (s, creating)),
                })
            }
        }
    }

    async fn instance_async(
        &self,
        module: ModuleId,
        instance: &ResourceInstance,
        resource: &Resource,
        config: Value,
        triggers: &[Trigger],
        diags: &mut Diagnostics,
    ) -> Value {
        // State keys are the address's text.
        let address = instance.to_string();
        let address = address.as_str();
        lock(&self.seen).insert(address.to_string());
        if let Some(v) = outside_targets(self.targets.as_ref(), &self.prior, module, instance) {
            return v;
        }
        let key = (module, resource.address());
        let upstream = self.depends_on.get(&key).and_then(|deps| {
            let failed = lock(&self.failed);
            deps.iter().find(|d| failed.contains(d)).cloned()
        });
        if let Some((_, failed)) = upstream {
            lock(&self.failed).insert(key);
            diags.push(
                Diagnostic::error("Change not applied")
                    .detail(format!(
                        "{address} was not applied because {failed}, which it depends on, failed."
                    ))
                    .at(resource.span),
            );
            return Value::unknown();
        }
        let errors_before = diags.errors().count();
        let value = self
            .apply_instance(module, instance, resource, config, triggers, diags)
            .await;
        if diags.errors().count() > errors_before {
            lock(&self.failed).insert(key);
        }
        value
    }

    async fn apply_instance(
        &self,
        module: ModuleId,
        instance: &ResourceInstance,
        resource: &Resource,
        config: Value,
        triggers: &[Trigger],
        diags: &mut Diagnostics,
    ) -> Value {
        let address = instance.to_string();
        let address = address.as_str();
        let Some((provider_address, provider)) = self.providers.for_resource(resource) else {
            diags.push(no_provider(resource));
            return Value::unknown();
        };
        let key = Providers::config_key(resource);
        let deps = self.dependencies.get(&(module, resource.address()));
        if let Some(reason) = self.deferral.reason(instance, key.as_deref(), deps) {
            self.deferral.defer(instance, provider_address, reason);
            return Value::unknown();
        }
        if !config.is_wholly_known() {
            diags.push(
                Diagnostic::error("Change not applied")
                    .detail(format!(
                        "{address} was not applied because a change it depends on failed."
                    ))
                    .at(resource.span),
            );
            return Value::unknown();
        }
        if resource.mode == crate::lang::refs::ResourceMode::Data {
            let meta = self
                .providers
                .provider_meta(&instance.module, resource.provider_name());
            let before = diags.items.len();
            let value =
                crate::plan::read_data(provider, resource, instance, &config, meta, diags).await;
            // State keeps the last read, as Terraform's does (a check's scoped data
            // source excepted: it is read for its assertions only).
            let read = !diags.items[before..].iter().any(|d| d.is_error());
            if read && resource.check.is_none() {
                let state = ResourceState {
                    address: address.to_string(),
                    provider: provider_address.to_string(),
                    schema_version: 0,
                    attributes: value.clone().deep_unmark().to_json(),
                    sensitive_paths: value.sensitive_paths(),
                    private: Vec::new(),
                    dependencies: Vec::new(),
                    create_before_destroy: false,
                    tainted: false,
                };
                let commit = Commit {
                    put: vec![state],
                    ..Commit::default()
                };
                self.save(commit, address, diags).await;
            }
            return value;
        }
        let previous = self.moved.get(instance).map(|old| old.to_string());
        if let Some(old) = &previous {
            let rename = Commit {
                rename: vec![(old.clone(), address.to_string())],
                ..Commit::default()
            };
            if !self.save(rename, address, diags).await {
                return Value::unknown();
            }
            self.progress.note(&format!("{old}: Moved to {address}"));
        }
        let prior_state = self
            .prior
            .resources
            .get(previous.as_deref().unwrap_or(address));
        let prior_private = prior_state.map(|rs| rs.private.clone()).unwrap_or_default();
        let prior = prior_state.map(|rs| (state_value(rs), prior_private.as_slice()));
        let force = crate::plan::tainted(prior_state).or_else(|| {
            self.decided
                .force_replace(self.replace.contains(instance), triggers)
        });
        let meta = self
            .providers
            .provider_meta(&instance.module, resource.provider_name());
        let decision = match decide(provider, resource, prior, config, force, meta).await {
            Ok(d) => d,
            Err(d) => {
                diags.extend(about_instance(resource, instance, d));
                return Value::unknown();
            }
        };
        self.decided.record(instance, &decision);
        let replacing = matches!(
            decision.action,
            Action::DeleteThenCreate | Action::CreateThenDelete
        );
        if replacing && resource.lifecycle.prevent_destroy {
            diags.push(prevent_destroy(resource, &address));
            return decision.before.unwrap_or_else(Value::unknown);
        }
        if decision.action == Action::NoOp {
            return decision.after;
        }
        if self.cancel.is_cancelled() {
            diags.push(
                Diagnostic::error("Apply interrupted")
                    .detail(format!("{address} was not changed: plinth was interrupted, and it let the changes in flight finish and saved them.")),
            );
            return decision.before.unwrap_or_else(Value::unknown);
        }
        let (action, verb, done) = verbs(decision.action);
        let started = Instant::now();
        let Some(id) = self.begin(address, action, verb, diags).await else {
            return Value::unknown();
        };
        let outcome = self
            .change(provider, resource, &decision, &prior_private, meta)
            .await;
        let key = (module, resource.address());
        let recorded = |new: &Value, private: Vec<u8>| ResourceState {
            address: address.to_string(),
            provider: provider_address.to_string(),
            schema_version: provider.schema_version(&resource.type_name),
            attributes: new.clone().deep_unmark().to_json(),
            sensitive_paths: new.sensitive_paths(),
            private,
            dependencies: self.dependencies.get(&key).cloned().unwrap_or_default(),
            create_before_destroy: resource.lifecycle.create_before_destroy,
            tainted: false,
        };
        let (new, commit) = match outcome {
            Ok(ObjectState {
                value: Some(new),
                private,
            }) => {
                // What the plan marked stays marked in what the provider made.
                let new = new.mark_paths(&decision.after.sensitive_paths());
                let state = recorded(&new, private);
                let commit = Commit {
                    put: vec![state],
                    end_intents: vec![id],
                    ..Commit::default()
                };
                (Some(new), commit)
            }
            Ok(ObjectState { value: None, .. }) => {
                let commit = Commit {
                    remove: vec![address.to_string()],
                    end_intents: vec![id],
                    ..Commit::default()
                };
                (None, commit)
            }
            Err(failure) => {
                // When the plugin itself failed, nobody knows whether the change
                // happened: the intent stays, as after a kill, for the next apply.
                let d = failure.diagnostics;
                let unknown_outcome = d.items.iter().any(|x| x.summary == PLUGIN_FAILED);
                diags.extend(about_instance(resource, instance, d));
                // What the failed call made is kept, tainted after a create, as in
                // Terraform: the next plan replaces it.
                let left = failure.left.and_then(|(left, tainted)| {
                    let value = left.value?.mark_paths(&decision.after.sensitive_paths());
                    Some(ResourceState {
                        tainted,
                        ..recorded(&value, left.private)
                    })
                });
                let commit = Commit {
                    remove: if failure.prior_gone && left.is_none() {
                        vec![address.to_string()]
                    } else {
                        Vec::new()
                    },
                    put: left.into_iter().collect(),
                    end_intents: if unknown_outcome {
                        Vec::new()
                    } else {
                        vec![id]
                    },
                    ..Commit::default()
                };
                self.save(commit, address, diags).await;
                self.progress.finished(address, None);
                return Value::unknown();
            }
        };
        if !self.save(commit, address, diags).await {
            self.progress.finished(address, None);
            return Value::unknown();
        }
        self.applied.fetch_add(1, Ordering::SeqCst);
        let id_text = match new.as_ref().map(|v| v.peel()) {
            Some((Value::Object(m), false)) => {
                m.get("id").map_or(String::new(), |id| match id.peel() {
                    (_, true) => "(sensitive value)".to_string(),
                    (v, false) => v.as_str().unwrap_or_default().to_string(),
                })
            }
            Some((_, true)) => "(sensitive value)".to_string(),
            _ => String::new(),
        };
        let message = format!(
            "{done} after {}s [id={id_text}]",
            started.elapsed().as_secs()
        );
        self.progress.finished(address, Some(&message));
        new.unwrap_or_else(Value::unknown)
    }
}

impl ResourceHandler for Applier<'_> {
    fn wants(&self, module: ModuleId, path: &[String], block: &BlockName) -> bool {
        scope_wants(self.targets.as_ref(), module, path, block)
    }

    fn applying(&self) -> bool {
        true
    }

    fn instance<'a>(
        &'a self,
        module: ModuleId,
        instance: &'a ResourceInstance,
        resource: &'a Resource,
        config: Value,
        triggers: &'a [Trigger],
    ) -> BoxFuture<'a, (Value, Diagnostics)> {
        Box::pin(async move {
            let mut diags = Diagnostics::default();
            let v = self
                .instance_async(module, instance, resource, config, triggers, &mut diags)
                .await;
            (v, diags)
        })
    }
}
