//! plinth's state: what exists in the world, as far as plinth knows it.
//!
//! [`Backend`] is the contract a state backend keeps for one stack and workspace:
//! reads of the published state without a lock, and a write lock ([`Backend::lock`])
//! whose guard ([`Locked`]) is the only way to open the [`StateStore`] the engine
//! writes through. [`SledBackend`] is the embedded backend under `<stack>/.plinth/`;
//! [`MemoryBackend`] keeps the same rules in memory, for tests and embedders.
//!
//! Every change is a [`Commit`]: applied atomically, given the next serial, recorded
//! in the history and durable before `commit` returns. A state's lineage is set when
//! it is created and never changes.
//!
//! The embedded backend's lock is not sled's business: [`lock::StackLock`] is a
//! separate file held with an OS lock, so a killed holder never leaves the stack
//! wedged, and its record (id, operation, who, pid, time) lets a second process say
//! who holds it.

mod backend;
mod group;
pub mod lock;
mod memory;
pub mod published;
pub mod safe_fs;
mod sled_store;
pub mod workspace;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use backend::{Backend, LockRequest, Locked, SledBackend};
pub use group::GroupCommit;
pub use lock::{format_time, LockError, LockInfo};
pub use memory::{MemoryBackend, MemoryStore};
pub use sled_store::{exists as store_exists, RecoverFrom, SledStore};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state store at {path}: {message}")]
    Storage { path: String, message: String },
    #[error("the state is being written by another plinth process; {0}")]
    Busy(String),
    #[error("serial {0} is not in the history of this state")]
    NoSuchSerial(u64),
    #[error("the state cannot be read whole: {key} is damaged: {message}\n  Nothing was changed. To see what can be recovered, run: plinth state recover")]
    Corrupt { key: String, message: String },
    /// A part of the state is missing or disagrees with another: nothing may act on
    /// it until it is recovered.
    #[error("the state cannot be read whole: {what}\n  {recover}")]
    Damaged { what: String, recover: String },
}

pub type Result<T> = std::result::Result<T, StateError>;

/// One resource instance as the provider last reported it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// Full instance address: `module.pool["a100"].aws_eks_node_group.this[0]`.
    pub address: String,
    /// Provider configuration address: `provider["registry.terraform.io/hashicorp/aws"]`.
    pub provider: String,
    pub schema_version: u64,
    /// The attribute values in Terraform's JSON state form.
    pub attributes: serde_json::Value,
    /// Paths (attribute names, map keys and list indices) whose values are sensitive.
    #[serde(default)]
    pub sensitive_paths: Vec<Vec<serde_json::Value>>,
    /// Opaque bytes the provider asked to keep.
    #[serde(default)]
    pub private: Vec<u8>,
    /// Addresses of the resources this one depended on when it was last applied.
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub create_before_destroy: bool,
    /// The object's create failed after the object was made (Terraform's tainted
    /// instance): the next plan replaces it. Written only when set, so an untainted
    /// instance serializes as it did before the mark existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tainted: bool,
}

/// A provider call that was started and may not have finished: recorded before the
/// call, removed in the commit that records its result. After a crash the remaining
/// intents name exactly the calls that were in flight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub id: String,
    pub address: String,
    pub action: IntentAction,
    /// Seconds since the Unix epoch.
    pub started: u64,
    pub pid: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentAction {
    Create,
    Update,
    Replace,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputState {
    pub value: serde_json::Value,
    pub sensitive: bool,
}

/// The whole state at one serial.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub lineage: String,
    pub serial: u64,
    pub resources: BTreeMap<String, ResourceState>,
    pub outputs: BTreeMap<String, OutputState>,
    pub intents: BTreeMap<String, Intent>,
}

/// One atomic change to the state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    /// Resource instances created or updated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub put: Vec<ResourceState>,
    /// Addresses of resource instances that no longer exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    /// Address renames (`moved` blocks, `state mv`): from, to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rename: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub begin_intents: Vec<Intent>,
    /// Ids of intents whose call has finished.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub end_intents: Vec<String>,
    /// When set, the outputs are replaced by these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<BTreeMap<String, OutputState>>,
}

impl Commit {
    pub fn is_empty(&self) -> bool {
        self.put.is_empty()
            && self.remove.is_empty()
            && self.rename.is_empty()
            && self.begin_intents.is_empty()
            && self.end_intents.is_empty()
            && self.outputs.is_none()
    }

    /// Applies this change to a snapshot (the same rules the stores follow).
    pub fn apply_to(&self, s: &mut Snapshot) {
        for (from, to) in &self.rename {
            if let Some(mut r) = s.resources.remove(from) {
                r.address = to.clone();
                s.resources.insert(to.clone(), r);
            }
        }
        for r in &self.put {
            s.resources.insert(r.address.clone(), r.clone());
        }
        for a in &self.remove {
            s.resources.remove(a);
        }
        for i in &self.begin_intents {
            s.intents.insert(i.id.clone(), i.clone());
        }
        for id in &self.end_intents {
            s.intents.remove(id);
        }
        if let Some(outputs) = &self.outputs {
            s.outputs = outputs.clone();
        }
    }
}

/// One entry of `plinth state history`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub serial: u64,
    /// Seconds since the Unix epoch.
    pub time: u64,
    pub commit: Commit,
}

/// The state a lock holder writes through, opened by [`Locked::open`]. The engine
/// talks only to this trait and [`Backend`], so remote backends (PostgreSQL,
/// S3-compatible stores) slot in beside the embedded one.
pub trait StateStore: Send + Sync {
    /// The current state.
    fn snapshot(&self) -> Result<Snapshot>;
    /// Lineage and serial, without reading every resource.
    fn position(&self) -> Result<(String, u64)>;
    /// Applies a change atomically, records it in the history, and makes it durable
    /// before returning the new serial. An empty commit changes nothing and returns
    /// the current serial.
    fn commit(&self, change: Commit) -> Result<u64>;
    /// Every committed serial, oldest first.
    fn history(&self) -> Result<Vec<HistoryEntry>>;
    /// The state as it was right after `serial` was committed.
    fn snapshot_at(&self, serial: u64) -> Result<Snapshot>;
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A random identifier in UUID v4 form (lineages, lock ids, intent ids).
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        // No /dev/urandom: mix the clock, the pid and a counter.
        use std::hash::{BuildHasher, Hasher};
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        for chunk in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            h.write_u32(std::process::id());
            h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_taint_mark_is_written_only_when_set() {
        let old = r#"{"address":"local_file.a","provider":"provider[\"registry.terraform.io/plinth/local\"]","schema_version":0,"attributes":{"id":"1"}}"#;
        let mut rs: ResourceState = serde_json::from_str(old).unwrap();
        assert!(!rs.tainted);
        let untainted = serde_json::to_string(&rs).unwrap();
        assert!(!untainted.contains("tainted"), "{untainted}");
        rs.tainted = true;
        let tainted = serde_json::to_string(&rs).unwrap();
        assert!(tainted.ends_with(r#","tainted":true}"#), "{tainted}");
        let back: ResourceState = serde_json::from_str(&tainted).unwrap();
        assert!(back.tainted);
    }
}
