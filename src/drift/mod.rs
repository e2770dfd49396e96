//! `plinth drift`: what differs between state and reality, per resource and per
//! attribute path, and where reality now differs from the configuration; ignore
//! rules; the objects no state holds (`unmanaged.rs`).

pub mod unmanaged;

use serde::{Deserialize, Serialize};

/// Drift found by one plan of one stack, ignore rules applied.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Objects that changed or were deleted outside plinth: state against reality.
    pub resources: Vec<DriftedResource>,
    /// Instances whose planned change (reality against the configuration) is
    /// something other than putting drift back: configuration changes.
    pub config_changes: Vec<String>,
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
