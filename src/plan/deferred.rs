//! Staged apply: instances whose provider configuration is not wholly known when
//! planning are deferred — not planned through that provider — together with
//! everything that depends on them. Applying the rest makes the configuration
//! known; the next stage plans what was deferred.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::addrs::ResourceInstance;
use crate::diag::{Diagnostic, Span};
use crate::lang::Value;

use super::lock;

/// At most this many stages in one `apply`: each stage must make some deferred
/// provider configuration known, so more means a configuration that never settles.
pub const MAX_STAGES: usize = 10;

/// A provider configuration whose arguments are not all known.
#[derive(Clone, Debug, PartialEq)]
pub struct UnknownProvider {
    /// Its local address: `kubernetes` or `kubernetes.gpu`.
    pub provider: String,
    /// The arguments that are unknown, in name order.
    pub arguments: Vec<String>,
    /// The resources (configuration addresses) its block refers to, through
    /// locals, variables and module outputs: what the unknowns come from.
    pub sources: Vec<String>,
    /// The first unknown argument (or the block, when it cannot be placed).
    pub span: Option<Span>,
    /// Whether the provider was configured (from state) before the plan found its
    /// configuration unknown: its process keeps that configuration, so the next
    /// stage needs a new run.
    pub configured: bool,
}

impl UnknownProvider {
    /// `provider "local" argument root (from plinth_data.cluster)`.
    pub fn describe(&self) -> String {
        let args = self.arguments.join(", ");
        let noun = if self.arguments.len() == 1 {
            "argument"
        } else {
            "arguments"
        };
        match self.sources.is_empty() {
            true => format!("provider {:?} {noun} {args}", self.provider),
            false => format!(
                "provider {:?} {noun} {args} (from {})",
                self.provider,
                self.sources.join(", ")
            ),
        }
    }
}

/// Why an instance waits for a later stage.
#[derive(Clone, Debug, PartialEq)]
pub enum DeferReason {
    /// Its provider's configuration is unknown (Terraform's
    /// `provider_config_unknown`).
    ProviderConfig(UnknownProvider),
    /// It depends on a deferred resource (Terraform's `deferred_prereq`).
    Prerequisite { on: String },
    /// As a saved plan recorded it: the code and the words.
    Saved { code: String, detail: String },
}

impl DeferReason {
    /// The JSON plan's `reason`, in Terraform 1.9's words.
    pub fn code(&self) -> &str {
        match self {
            DeferReason::ProviderConfig(_) => "provider_config_unknown",
            DeferReason::Prerequisite { .. } => "deferred_prereq",
            DeferReason::Saved { code, .. } => code,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            DeferReason::ProviderConfig(p) => format!("waits for {}", p.describe()),
            DeferReason::Prerequisite { on } => format!("depends on deferred {on}"),
            DeferReason::Saved { detail, .. } => detail.clone(),
        }
    }
}

/// An instance a plan leaves for the next stage.
#[derive(Clone, Debug, PartialEq)]
pub struct DeferredChange {
    pub address: ResourceInstance,
    /// The provider configuration's state address.
    pub provider: String,
    pub reason: DeferReason,
}

/// Where a root provider block is and what it refers to, to describe it when its
/// configuration turns out unknown.
#[derive(Clone, Debug, Default)]
pub struct ProviderSite {
    pub block: Option<Span>,
    pub arguments: HashMap<String, Span>,
    pub sources: Vec<String>,
}

/// What one plan (or apply) walk defers: the provider configurations left
/// unconfigured and the instances that wait, shared by the walk's calls.
#[derive(Default)]
pub struct Deferral {
    providers: Mutex<HashMap<String, UnknownProvider>>,
    /// The root provider blocks, by local address.
    sites: HashMap<String, ProviderSite>,
    /// Configuration addresses (`module.m.type.name`) with a deferred instance.
    blocks: Mutex<HashSet<String>>,
    changes: Mutex<Vec<DeferredChange>>,
    /// Instances a plan deferred, which the apply that follows leaves alone too.
    planned: HashSet<ResourceInstance>,
}

impl Deferral {
    pub fn new(sites: HashMap<String, ProviderSite>) -> Deferral {
        Deferral {
            sites,
            ..Deferral::default()
        }
    }

    /// The same sites and unknown providers, for another walk; `planned` are the
    /// instances the plan it follows deferred.
    pub fn for_apply(&self, planned: HashSet<ResourceInstance>) -> Deferral {
        Deferral {
            providers: Mutex::new(lock(&self.providers).clone()),
            sites: self.sites.clone(),
            planned,
            ..Deferral::default()
        }
    }

    /// Whether any root provider block refers to a resource.
    pub fn has_any_site(&self) -> bool {
        self.sites.values().any(|s| !s.sources.is_empty())
    }

    /// The state addresses of the provider configurations left unconfigured: their
    /// objects are neither refreshed nor destroyed in this stage.
    pub fn unconfigured(&self, providers: &crate::plugin::Providers) -> HashSet<String> {
        lock(&self.providers)
            .keys()
            .filter_map(|k| providers.address_of(k).map(str::to_string))
            .collect()
    }

    /// Whether provider block `local` of the root refers to any resource.
    pub fn has_site(&self, local: &str) -> bool {
        self.sites.get(local).is_some_and(|s| !s.sources.is_empty())
    }

    /// Records that provider `local`'s configuration `config` is not wholly
    /// known (`configured`: the provider was configured before); false when it is
    /// known (nothing recorded).
    pub fn unknown_config(&self, local: &str, config: &Value, configured: bool) -> bool {
        if config.is_wholly_known() {
            return false;
        }
        let mut arguments: Vec<String> = match config.peel().0 {
            Value::Object(m) => m
                .iter()
                .filter(|(_, v)| !v.is_wholly_known())
                .map(|(k, _)| k.clone())
                .collect(),
            _ => Vec::new(),
        };
        arguments.sort();
        let site = self.sites.get(local).cloned().unwrap_or_default();
        let span = arguments
            .iter()
            .find_map(|a| site.arguments.get(a).copied())
            .or(site.block);
        lock(&self.providers)
            .entry(local.to_string())
            .or_insert(UnknownProvider {
                provider: local.to_string(),
                arguments,
                sources: site.sources,
                span,
                configured,
            });
        true
    }

    /// The provider configuration `local`, when it is unknown.
    pub fn provider(&self, local: &str) -> Option<UnknownProvider> {
        lock(&self.providers).get(local).cloned()
    }

    /// Every unknown provider configuration, by local address.
    pub fn unknown_providers(&self) -> Vec<UnknownProvider> {
        let mut out: Vec<UnknownProvider> = lock(&self.providers).values().cloned().collect();
        out.sort_by(|a, b| a.provider.cmp(&b.provider));
        out
    }

    /// Why `instance` — served by the provider configuration `local` (`None`: the
    /// built-in provider), depending on the resources `dependencies` — waits for a
    /// later stage, if it does. An instance the plan deferred (`for_apply`) waits
    /// as a prerequisite of itself: apply reports no reasons, it only skips.
    pub fn reason(
        &self,
        instance: &ResourceInstance,
        local: Option<&str>,
        dependencies: Option<&Vec<String>>,
    ) -> Option<DeferReason> {
        if let Some(p) = local.and_then(|l| self.provider(l)) {
            return Some(DeferReason::ProviderConfig(p));
        }
        let blocks = lock(&self.blocks);
        if let Some(on) = dependencies.and_then(|deps| deps.iter().find(|d| blocks.contains(*d))) {
            return Some(DeferReason::Prerequisite { on: on.clone() });
        }
        self.planned
            .contains(instance)
            .then(|| DeferReason::Prerequisite {
                on: instance.config_resource().to_string(),
            })
    }

    /// Records a deferred instance; its dependents are deferred in turn.
    pub fn defer(&self, address: &ResourceInstance, provider: &str, reason: DeferReason) {
        lock(&self.blocks).insert(address.config_resource().to_string());
        lock(&self.changes).push(DeferredChange {
            address: address.clone(),
            provider: provider.to_string(),
            reason,
        });
    }

    /// The instances deferred, in address order.
    pub fn changes(&self) -> Vec<DeferredChange> {
        let mut out = lock(&self.changes).clone();
        out.sort_by_cached_key(|c| c.address.to_string());
        out
    }

    /// The configuration addresses with a deferred instance.
    pub fn deferred_blocks(&self) -> HashSet<String> {
        lock(&self.blocks).clone()
    }
}

/// Whether a plan defers instances of a provider that this process configured
/// already: a plugin is configured once, so the stage after it needs a new run.
pub fn needs_new_run(deferred: &[DeferredChange]) -> bool {
    deferred
        .iter()
        .any(|d| matches!(&d.reason, DeferReason::ProviderConfig(p) if p.configured))
}

/// The error for a provider configuration that no stage can make known: nothing
/// the plan applies produces what its unknown arguments come from.
pub fn stays_unknown(p: &UnknownProvider) -> Diagnostic {
    let from = match p.sources.is_empty() {
        true => "It refers to no resource, so no stage can make it known (a function such as timestamp() is known only during apply).".to_string(),
        false => format!(
            "This plan does not create, change or read {}, so no stage can make it known: the unknown comes from elsewhere (a function such as timestamp() is known only during apply), or what it comes from is outside -target.",
            p.sources.join(", ")
        ),
    };
    Diagnostic::error("Provider configuration stays unknown")
        .detail(format!(
            "The {} is unknown while planning, and resources of this provider wait for it. {from}",
            p.describe()
        ))
        .at_opt(p.span)
}

/// Whether applying a stage could make the unknown configuration known: one of
/// the resources it comes from is changed, read or deferred in this plan
/// (`changing`, configuration addresses).
pub fn progresses(p: &UnknownProvider, changing: &HashSet<String>) -> bool {
    !p.sources.is_empty() && p.sources.iter().any(|s| changing.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Type;
    use std::collections::BTreeMap;

    fn instance(text: &str) -> ResourceInstance {
        ResourceInstance::parse(text).expect("address")
    }

    fn site(file_span: Span) -> HashMap<String, ProviderSite> {
        HashMap::from([(
            "local".to_string(),
            ProviderSite {
                block: Some(file_span),
                arguments: HashMap::from([("root".to_string(), file_span)]),
                sources: vec!["plinth_data.cluster".to_string()],
            },
        )])
    }

    #[test]
    fn only_the_unknown_arguments_are_named() {
        let span = Span::new(Default::default(), 3..7);
        let d = Deferral::new(site(span));
        let config = Value::Object(BTreeMap::from([
            ("root".to_string(), Value::Unknown(Type::String)),
            ("mode".to_string(), Value::string("fast")),
        ]));
        assert!(d.unknown_config("local", &config, false));
        let p = d.provider("local").expect("recorded");
        assert_eq!(p.arguments, ["root"]);
        assert_eq!(p.span, Some(span));
        assert_eq!(
            p.describe(),
            "provider \"local\" argument root (from plinth_data.cluster)"
        );
        let known = Value::Object(BTreeMap::from([("root".into(), Value::string("/x"))]));
        assert!(!d.unknown_config("other", &known, false));
        assert!(d.provider("other").is_none());
    }

    #[test]
    fn dependents_of_a_deferred_block_are_deferred_in_turn() {
        let d = Deferral::new(site(Span::new(Default::default(), 0..1)));
        d.unknown_config("local", &Value::Unknown(Type::Dynamic), false);
        let file = instance("local_file.app");
        let reason = d.reason(&file, Some("local"), None).expect("waits");
        assert_eq!(reason.code(), "provider_config_unknown");
        d.defer(
            &file,
            "provider[\"registry.terraform.io/plinth/local\"]",
            reason,
        );
        let after = instance("plinth_data.after[0]");
        let deps = vec!["local_file.app".to_string()];
        let reason = d.reason(&after, None, Some(&deps)).expect("waits too");
        assert_eq!(
            reason,
            DeferReason::Prerequisite {
                on: "local_file.app".into()
            }
        );
        let unrelated = instance("plinth_data.other");
        assert!(d.reason(&unrelated, None, Some(&Vec::new())).is_none());
        // An apply following a plan also leaves what the plan deferred.
        let apply = d.for_apply(HashSet::from([unrelated.clone()]));
        assert!(apply.reason(&unrelated, None, None).is_some());
    }

    #[test]
    fn a_configuration_from_nothing_in_the_plan_stays_unknown() {
        let p = UnknownProvider {
            provider: "local".into(),
            arguments: vec!["root".into()],
            sources: vec!["plinth_data.cluster".into()],
            span: None,
            configured: false,
        };
        assert!(!progresses(&p, &HashSet::new()));
        assert!(progresses(
            &p,
            &HashSet::from(["plinth_data.cluster".to_string()])
        ));
        let from_nothing = UnknownProvider {
            sources: Vec::new(),
            ..p
        };
        assert!(!progresses(&from_nothing, &HashSet::new()));
        assert!(stays_unknown(&from_nothing)
            .detail
            .contains("refers to no resource"));
    }
}
