//! Refresh: every instance in state is read back through its provider, all at once
//! (at most `--parallelism` calls), before anything is planned. What changed outside
//! plinth becomes the plan's drift; the refreshed state is what the plan compares the
//! configuration with.

use futures_util::stream::{FuturesUnordered, StreamExt};
use plinth_state::{ResourceState, Snapshot};

use super::{state_value, Action, PlannedChange};
use crate::addrs::ResourceInstance;
use crate::diag::{Diagnostic, Diagnostics};
use crate::plugin::{runtime, Providers};

pub struct Refreshed {
    /// The state with every instance as its provider reads it now.
    pub state: Snapshot,
    /// Instances that changed (`Update`) or disappeared (`Delete`) outside plinth.
    pub drift: Vec<PlannedChange>,
    /// Instances whose stored attributes or private data refresh changed.
    changed: Vec<String>,
    pub diagnostics: Diagnostics,
}

impl Refreshed {
    /// The instance states to write so that state matches what refresh found:
    /// (changed instances, addresses of vanished ones).
    pub fn commit_parts(&self) -> (Vec<ResourceState>, Vec<String>) {
        self.commit_parts_with(&[])
    }

    /// `commit_parts`, with the instances at `also` (imported ones) put too.
    pub fn commit_parts_with(&self, also: &[String]) -> (Vec<ResourceState>, Vec<String>) {
        let mut addresses: Vec<&String> = self.changed.iter().chain(also).collect();
        addresses.sort();
        addresses.dedup();
        let put = addresses
            .into_iter()
            .filter_map(|a| self.state.resources.get(a).cloned())
            .collect();
        let remove = self
            .drift
            .iter()
            .filter(|d| d.action == Action::Delete)
            .map(|d| d.address.to_string())
            .collect();
        (put, remove)
    }
}

/// Reads every instance in `prior` through its provider, except those of the
/// provider configurations `skip` names (state addresses of providers left
/// unconfigured, whose objects stay as stored).
pub fn refresh(
    prior: &Snapshot,
    providers: &Providers,
    limit: usize,
    skip: &std::collections::HashSet<String>,
) -> Refreshed {
    runtime().block_on(refresh_async(prior, providers, limit, skip))
}

async fn refresh_async(
    prior: &Snapshot,
    providers: &Providers,
    limit: usize,
    skip: &std::collections::HashSet<String>,
) -> Refreshed {
    let limit = tokio::sync::Semaphore::new(limit.clamp(1, tokio::sync::Semaphore::MAX_PERMITS));
    let limit = &limit;
    let mut reads: FuturesUnordered<_> = prior
        .resources
        .values()
        .filter(|rs| !crate::plan::is_data_address(&rs.address) && !skip.contains(&rs.provider))
        .map(|rs| async move {
            let instance = match ResourceInstance::parse(&rs.address) {
                Ok(i) => i,
                Err(e) => {
                    let d = Diagnostic::error("Invalid address in state").detail(e.to_string());
                    return (rs, None, Err(single(d)));
                }
            };
            let type_name = instance.resource.type_name.clone();
            let instance = Some(instance);
            let Some(provider) = providers.for_state(&rs.provider, &type_name) else {
                let d = Diagnostic::error("Provider not available").detail(format!(
                    "{} is in state, made by {}, and plinth cannot reach that provider to read it.",
                    rs.address, rs.provider
                ));
                return (rs, instance, Err(single(d)));
            };
            let _permit = limit.acquire().await.ok();
            let current = match provider
                .upgrade(&type_name, rs.schema_version, &rs.attributes)
                .await
            {
                Ok(v) => crate::plan::remark(v, &rs.sensitive_paths),
                Err(d) => return (rs, instance, Err(d)),
            };
            let meta = instance.as_ref().and_then(|i| {
                providers.provider_meta(&i.module, type_name.split('_').next().unwrap_or(""))
            });
            let read = provider.read(&type_name, &current, &rs.private, meta).await;
            (rs, instance, read)
        })
        .collect();
    let mut state = prior.clone();
    let mut drift = Vec::new();
    let mut changed = Vec::new();
    let mut diagnostics = Diagnostics::default();
    while let Some((rs, instance, outcome)) = reads.next().await {
        let (read, instance) = match (outcome, instance) {
            (Ok(r), Some(i)) => (r, i),
            (Ok(_), None) => continue,
            (Err(d), _) => {
                for mut x in d.items {
                    x.detail = format!("{}\n\nwhile reading {}", x.detail, rs.address);
                    diagnostics.push(x);
                }
                continue;
            }
        };
        let before = state_value(rs);
        let change = |action, after| PlannedChange {
            address: instance.clone(),
            previous_address: None,
            provider: rs.provider.clone(),
            action,
            reason: None,
            before: Some(before.clone()),
            after,
            replace_paths: Vec::new(),
        };
        match read.value {
            None => {
                state.resources.remove(&rs.address);
                drift.push(change(Action::Delete, None));
            }
            Some(now) => {
                let json = now.clone().deep_unmark().to_json();
                if json == rs.attributes && read.private == rs.private {
                    continue;
                }
                if let Some(s) = state.resources.get_mut(&rs.address) {
                    changed.push(rs.address.clone());
                    s.private = read.private;
                    if json != s.attributes {
                        s.attributes = json;
                        drift.push(change(Action::Update, Some(state_value(s))));
                    }
                }
            }
        }
    }
    drift.sort_by(|a, b| a.address.cmp(&b.address));
    Refreshed {
        state,
        drift,
        changed,
        diagnostics,
    }
}

fn single(d: Diagnostic) -> Diagnostics {
    let mut diags = Diagnostics::default();
    diags.push(d);
    diags
}
