//! Destroying what state holds and the configuration no longer has (and everything,
//! for `destroy`), dependents first.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::Instant;

use plinth_state::{Commit, IntentAction, Snapshot};

use super::Applier;
use crate::addrs::ResourceInstance;
use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::{lock, state_value};
use crate::plugin::ApplyRequest;

impl Applier<'_> {
    /// Deletes instances in state that the configuration no longer has, each only
    /// after every instance depending on it is gone, independent ones at once.
    pub(super) async fn delete_orphans(&self, diags: &mut Diagnostics) {
        use futures_util::stream::{FuturesUnordered, StreamExt};
        let renamed: HashSet<String> = self.moved.values().map(|a| a.to_string()).collect();
        let seen = lock(&self.seen).clone();
        let orphans: Vec<String> = self
            .prior
            .resources
            .keys()
            .filter(|a| !seen.contains(*a) && !renamed.contains(*a))
            .filter(|a| {
                self.prior
                    .resources
                    .get(*a)
                    .is_none_or(|rs| !self.unconfigured.contains(&rs.provider))
            })
            .filter(|a| {
                self.targets.as_ref().is_none_or(|t| {
                    ResourceInstance::parse(a).is_ok_and(|instance| t.contains(&instance))
                })
            })
            .cloned()
            .collect();
        // A data source's last read leaves state with its block; nothing is destroyed.
        let (data, orphans): (Vec<String>, Vec<String>) = orphans
            .into_iter()
            .partition(|a| crate::plan::is_data_address(a));
        if !data.is_empty() {
            let commit = Commit {
                remove: data.clone(),
                ..Commit::default()
            };
            if !self.save(commit, &data[0], diags).await {
                return;
            }
        }
        let (forgotten, orphans): (Vec<String>, Vec<String>) = orphans.into_iter().partition(|a| {
            ResourceInstance::parse(a).is_ok_and(|instance| self.removed.forgets(&instance))
        });
        if !self.forget(&forgotten, diags).await {
            return;
        }
        let mut order = DestroyOrder::new(&self.prior, &orphans, &self.provider_sources);
        let limit =
            tokio::sync::Semaphore::new(self.limit.clamp(1, tokio::sync::Semaphore::MAX_PERMITS));
        let limit = &limit;
        let mut running = FuturesUnordered::new();
        let mut failed = false;
        loop {
            if !failed && !self.cancel.is_cancelled() {
                for address in order.ready() {
                    running.push(async move {
                        let _permit = limit.acquire().await.ok();
                        let mut d = Diagnostics::default();
                        let ok = self.delete_one(&address, &mut d).await;
                        (address, ok, d)
                    });
                }
            }
            let Some((address, ok, d)) = running.next().await else {
                break;
            };
            diags.extend(d);
            if ok {
                order.done(&address);
            } else {
                failed = true;
            }
        }
    }

    /// Drops what `removed` blocks forget from state in one commit: no provider is
    /// called, the objects stay where they are.
    async fn forget(&self, addresses: &[String], diags: &mut Diagnostics) -> bool {
        let Some(first) = addresses.first() else {
            return true;
        };
        if self.cancel.is_cancelled() {
            return false;
        }
        let commit = Commit {
            remove: addresses.to_vec(),
            ..Commit::default()
        };
        if !self.save(commit, first, diags).await {
            return false;
        }
        for address in addresses {
            self.progress
                .note(&format!("{address}: Removed from state (not destroyed)"));
        }
        true
    }

    async fn delete_one(&self, address: &str, diags: &mut Diagnostics) -> bool {
        let Some(rs) = self.prior.resources.get(address) else {
            return true;
        };
        let Ok(instance) = ResourceInstance::parse(address) else {
            diags.push(
                Diagnostic::error("Invalid address in state").detail(format!(
                    "{address:?} is not a resource instance address; it was not destroyed."
                )),
            );
            return false;
        };
        let type_name = &instance.resource.type_name;
        let Some(provider) = self.providers.for_state(&rs.provider, type_name) else {
            diags.push(Diagnostic::error("Provider not available").detail(format!(
                "{address} was made by {}, and plinth cannot reach that provider to destroy it.",
                rs.provider
            )));
            return false;
        };
        let started = Instant::now();
        let Some(id) = self
            .begin(address, IntentAction::Delete, "Destroying...", diags)
            .await
        else {
            return false;
        };
        let prior = state_value(rs);
        let request = ApplyRequest {
            type_name,
            prior: Some(&prior),
            planned: None,
            config: None,
            private: &rs.private,
            provider_meta: self
                .providers
                .provider_meta(&instance.module, type_name.split('_').next().unwrap_or("")),
        };
        let outcome = provider.apply(request).await;
        let (commit, ok) = match outcome {
            Ok(_) => (
                Commit {
                    remove: vec![address.to_string()],
                    end_intents: vec![id],
                    ..Commit::default()
                },
                true,
            ),
            Err(d) => {
                for mut x in d.items {
                    x.detail = format!("{}\n\nwhile destroying {address}", x.detail);
                    x.instance = Some(address.to_string().into());
                    diags.push(x);
                }
                (
                    Commit {
                        end_intents: vec![id],
                        ..Commit::default()
                    },
                    false,
                )
            }
        };
        if !self.save(commit, address, diags).await || !ok {
            self.progress.finished(address, None);
            return false;
        }
        self.applied.fetch_add(1, Ordering::SeqCst);
        self.progress.finished(
            address,
            Some(&format!(
                "Destruction complete after {}s",
                started.elapsed().as_secs()
            )),
        );
        true
    }
}

/// Destroys instances dependents-first, by resource as state records dependencies:
/// a resource's instances are ready, all at once, when every resource (among those
/// being destroyed) that depends on it is gone.
struct DestroyOrder {
    /// Per resource (address without instance keys), its instances being destroyed.
    instances: HashMap<String, Vec<String>>,
    /// Per resource, how many of its instances are not destroyed yet.
    left: HashMap<String, usize>,
    /// Resources, with the edges of state's dependencies reversed: a resource waits
    /// for those that depend on it.
    ready: crate::graph::order::Ready<String>,
}

impl DestroyOrder {
    /// `provider_sources`: per provider state address, the resources its
    /// configuration refers to, which wait for that provider's objects.
    fn new(
        state: &Snapshot,
        addresses: &[String],
        provider_sources: &HashMap<String, Vec<String>>,
    ) -> DestroyOrder {
        let mut instances: HashMap<String, Vec<String>> = HashMap::new();
        for a in addresses {
            instances.entry(block_of(a)).or_default().push(a.clone());
        }
        let mut edges = HashSet::new();
        for a in addresses {
            let base = block_of(a);
            let Some(rs) = state.resources.get(a) else {
                continue;
            };
            let through_provider = provider_sources.get(&rs.provider).into_iter().flatten();
            for d in rs.dependencies.iter().chain(through_provider) {
                if *d != base && instances.contains_key(d) {
                    edges.insert((base.clone(), d.clone()));
                }
            }
        }
        let mut blocks: Vec<String> = instances.keys().cloned().collect();
        blocks.sort();
        let left = instances
            .iter()
            .map(|(b, v)| (b.clone(), v.len()))
            .collect();
        DestroyOrder {
            instances,
            left,
            ready: crate::graph::order::Ready::new(blocks, edges),
        }
    }

    /// Instances not started yet whose resource nothing remaining depends on.
    fn ready(&mut self) -> Vec<String> {
        let mut blocks = self.ready.take_all();
        blocks.sort();
        blocks
            .iter()
            .flat_map(|b| self.instances.remove(b).unwrap_or_default())
            .collect()
    }

    fn done(&mut self, address: &str) {
        let base = block_of(address);
        let Some(n) = self.left.get_mut(&base) else {
            return;
        };
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.ready.done(&base);
        }
    }
}

/// The resource block a state address is an instance of, as state records
/// dependencies (`module.m.aws_instance.x`).
fn block_of(address: &str) -> String {
    ResourceInstance::parse(address)
        .map(|i| i.config_resource().to_string())
        .unwrap_or_else(|_| address.to_string())
}
