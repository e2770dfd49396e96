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
