//! `plinth drift`: what differs between state and reality, per resource and per
//! attribute path, and where reality now differs from the configuration; ignore
//! rules; the objects no state holds (`unmanaged.rs`).
//!
//! `diff.rs` finds where two values differ, path by path; `rules.rs` reads ignore
//! rules; `render.rs` prints a report as text, JSON or Markdown. [`report`] reads a
//! finished plan and decides nothing about it.

pub mod diff;
pub mod render;
pub mod rules;

use std::collections::HashMap;

pub mod unmanaged;

use serde::{Deserialize, Serialize};

use crate::plan::{Action, Plan};
use diff::{differences, Path};
use rules::Rules;

/// Drift found by one plan of one stack, ignore rules applied.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Objects that changed or were deleted outside plinth: state against reality.
    pub resources: Vec<DriftedResource>,
    /// Instances whose planned change (reality against the configuration) is
    /// something other than putting drift back: configuration changes.
    pub config_changes: Vec<String>,
    /// Instances whose planned change only puts drifted attributes back (or
    /// re-creates what was deleted outside plinth): what `revert-drift` applies.
    #[serde(default)]
    pub reverts: Vec<String>,
    /// Instances whose planned change would only put back paths the ignore rules
    /// leave to something else: reconcile never applies them.
    #[serde(default)]
    pub held: Vec<String>,
    /// How many differences ignore rules left out.
    pub ignored: usize,
}

impl Report {
    pub fn has_drift(&self) -> bool {
        !self.resources.is_empty()
    }
}

/// One instance's drift.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DriftedResource {
    pub address: String,
    /// `changed` or `deleted`.
    pub kind: DriftKind,
    /// Each attribute path that differs (empty for a deletion).
    pub attributes: Vec<AttributeDrift>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    Changed,
    Deleted,
}

/// One attribute path's value in state (`before`) and in reality (`after`), as JSON
/// (a sensitive value is `null` on both sides with `sensitive` set).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AttributeDrift {
    /// Terraform's spelling: `scaling_config[0].desired_size`, `tags["team"]`.
    pub path: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

/// The drift `plan` found (its refresh against state) and how its changes relate to
/// it, with `rules` applied: an ignored path is neither reported nor counted as drift
/// a change may put back.
pub fn report(plan: &Plan, rules: &Rules) -> Report {
    let mut out = Report::default();
    let mut drifted: HashMap<String, Option<Vec<Path>>> = HashMap::new();
    for d in &plan.drift {
        let address = d.address.to_string();
        if rules.covers_whole(&d.address) {
            out.ignored += 1;
            continue;
        }
        if d.action == Action::Delete || d.after.is_none() {
            drifted.insert(address.clone(), None);
            out.resources.push(DriftedResource {
                address,
                kind: DriftKind::Deleted,
                attributes: Vec::new(),
            });
            continue;
        }
        let (Some(before), Some(after)) = (&d.before, &d.after) else {
            continue;
        };
        let mut attributes = Vec::new();
        let mut paths = Vec::new();
        for difference in differences(before, after) {
            if rules.covers(&d.address, &difference.path) {
                out.ignored += 1;
                continue;
            }
            attributes.push(attribute(&difference));
            paths.push(difference.path);
        }
        if attributes.is_empty() {
            continue;
        }
        drifted.insert(address.clone(), Some(paths));
        out.resources.push(DriftedResource {
            address,
            kind: DriftKind::Changed,
            attributes,
        });
    }
    for change in &plan.changes {
        if !change.action.is_change() || change.action == Action::Read {
            continue;
        }
        let address = change.address.to_string();
        if rules.covers_whole(&change.address) {
            out.held.push(address);
            continue;
        }
        if change.action == Action::Update {
            if let (Some(before), Some(after)) = (&change.before, &change.after) {
                let changed = differences(before, after);
                if !changed.is_empty()
                    && changed
                        .iter()
                        .all(|c| rules.covers(&change.address, &c.path))
                {
                    out.held.push(address);
                    continue;
                }
            }
        }
        let reverts = match (drifted.get(&address), change.action) {
            (None, _) => false,
            (Some(None), action) => action == Action::Create,
            (
                Some(Some(paths)),
                Action::Update | Action::DeleteThenCreate | Action::CreateThenDelete,
            ) => {
                let (Some(before), Some(after)) = (&change.before, &change.after) else {
                    continue;
                };
                differences(before, after)
                    .iter()
                    .all(|c| paths.iter().any(|p| p.overlaps(&c.path)))
            }
            (Some(Some(_)), _) => false,
        };
        if reverts {
            out.reverts.push(address);
        } else {
            out.config_changes.push(address);
        }
    }
    out.resources.sort_by(|a, b| a.address.cmp(&b.address));
    out.reverts.sort();
    out.config_changes.sort();
    out.held.sort();
    out
}

fn attribute(d: &diff::Difference) -> AttributeDrift {
    let sensitive = d.sensitive();
    let json = |v: &crate::lang::value::Value| {
        if sensitive {
            serde_json::Value::Null
        } else {
            v.to_json()
        }
    };
    AttributeDrift {
        path: d.path.to_string(),
        before: json(&d.before),
        after: json(&d.after),
        sensitive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addrs::ResourceInstance;
    use crate::lang::value::Value;
    use crate::plan::PlannedChange;

    fn obj(pairs: &[(&str, &str)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
        )
    }

    fn change(
        address: &str,
        action: Action,
        before: Option<Value>,
        after: Option<Value>,
    ) -> PlannedChange {
        PlannedChange {
            address: ResourceInstance::parse(address).unwrap(),
            previous_address: None,
            provider: "p".into(),
            action,
            reason: None,
            before,
            after,
            replace_paths: Vec::new(),
        }
    }

    /// A plan after refresh: `a` edited outside (`size`, and `owner` which a rule
    /// ignores), `b` deleted outside, `c` changed in the configuration, `d` edited
    /// outside only where a rule ignores, `e` ignored whole and deleted outside.
    fn plan() -> Plan {
        let state_a = obj(&[("size", "2"), ("owner", "x")]);
        let real_a = obj(&[("size", "5"), ("owner", "y")]);
        let planned_a = obj(&[("size", "2"), ("owner", "y")]);
        Plan {
            drift: vec![
                change("t.a", Action::Update, Some(state_a), Some(real_a.clone())),
                change("t.b", Action::Delete, Some(obj(&[("size", "1")])), None),
                change(
                    "t.d",
                    Action::Update,
                    Some(obj(&[("owner", "x")])),
                    Some(obj(&[("owner", "z")])),
                ),
                change("t.e", Action::Delete, Some(obj(&[("size", "1")])), None),
            ],
            changes: vec![
                change("t.a", Action::Update, Some(real_a), Some(planned_a)),
                change("t.b", Action::Create, None, Some(obj(&[("size", "1")]))),
                change(
                    "t.c",
                    Action::Update,
                    Some(obj(&[("size", "1")])),
                    Some(obj(&[("size", "3")])),
                ),
                change(
                    "t.d",
                    Action::Update,
                    Some(obj(&[("owner", "z")])),
                    Some(obj(&[("owner", "x")])),
                ),
                change("t.e", Action::Create, None, Some(obj(&[("size", "1")]))),
                change("t.f", Action::NoOp, Some(obj(&[])), Some(obj(&[]))),
            ],
            ..Plan::default()
        }
    }

    #[test]
    fn drift_is_sorted_from_configuration_changes_and_ignored_paths_are_held() {
        let rules = Rules::default()
            .with(&["t.a.owner".into(), "t.d.owner".into(), "t.e".into()])
            .unwrap();
        let r = report(&plan(), &rules);
        let drifted: Vec<(&str, DriftKind)> = r
            .resources
            .iter()
            .map(|d| (d.address.as_str(), d.kind))
            .collect();
        assert_eq!(
            drifted,
            [("t.a", DriftKind::Changed), ("t.b", DriftKind::Deleted)]
        );
        assert_eq!(r.resources[0].attributes.len(), 1);
        assert_eq!(r.resources[0].attributes[0].path, "size");
        assert_eq!(r.resources[0].attributes[0].before, serde_json::json!("2"));
        assert_eq!(r.resources[0].attributes[0].after, serde_json::json!("5"));
        assert_eq!(r.reverts, ["t.a", "t.b"]);
        assert_eq!(r.config_changes, ["t.c"]);
        assert_eq!(r.held, ["t.d", "t.e"]);
        assert_eq!(r.ignored, 3);
    }

    #[test]
    fn without_rules_everything_outside_is_drift() {
        let r = report(&plan(), &Rules::default());
        assert_eq!(r.resources.len(), 4);
        assert_eq!(r.reverts, ["t.a", "t.b", "t.d", "t.e"]);
        assert_eq!(r.config_changes, ["t.c"]);
        assert!(r.held.is_empty() && r.ignored == 0);
    }
}
