//! The plan file: a versioned JSON document holding the changes (with Terraform's
//! `after_unknown` / `after_sensitive` masks), the root variable values, a hash of the
//! configuration, the stack and workspace it was made for, and the lineage and serial
//! of the state it was planned against. A header line carries the SHA-256 of the
//! document, so an edited or truncated file is refused as damaged. `apply FILE`
//! refuses a file from another plinth version, for another stack or configuration,
//! against a state that has moved on, or whose changes planning again does not
//! reproduce value for value.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value as J;

use super::{Action, Plan, PlannedChange};
use crate::addrs::{ResourceInstance, Target};
use crate::diag::Sources;
use crate::lang::Value;

/// A plan file that cannot be read or written, or that this plinth must not apply.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {}: {error}", path.display())]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write plan file {}: {error}", path.display())]
    Unwritable {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}")]
    Encode(serde_json::Error),
    #[error("{} is not a plinth plan file: {why}", path.display())]
    NotAPlan { path: PathBuf, why: String },
    #[error("the plan file {} is damaged: its checksum does not match its content (it was edited or truncated). Run plinth plan again.", .0.display())]
    Damaged(PathBuf),
    #[error("{} is a {format} v{version} file; this plinth reads {FORMAT} v{FORMAT_VERSION}.", path.display())]
    Format {
        path: PathBuf,
        format: String,
        version: u32,
    },
    #[error("{} records the address {address:?}, which is not a resource instance address.", path.display())]
    BadAddress { path: PathBuf, address: String },
    #[error("the plan file was made by plinth {0}, and this is plinth {this}: a plan can only be applied by the version that made it. Run plinth plan again.", this = env!("CARGO_PKG_VERSION"))]
    OtherVersion(String),
}

pub const FORMAT: &str = "plinth-plan";
pub const FORMAT_VERSION: u32 = 2;
const HEADER: &str = "plinth-plan sha256=";

#[derive(Debug, Serialize, Deserialize)]
pub struct PlanFile {
    pub format: String,
    pub format_version: u32,
    pub plinth_version: String,
    pub config_hash: String,
    /// The stack directory (canonical path) and workspace the plan was made in: a
    /// plan applies only there.
    pub stack: String,
    pub workspace: String,
    pub lineage: String,
    pub serial: u64,
    pub destroy: bool,
    #[serde(default)]
    pub replace: Vec<String>,
    #[serde(default)]
    pub targets: Vec<String>,
    /// Root variable values the plan was made with.
    pub variables: BTreeMap<String, EncodedValue>,
    pub changes: Vec<EncodedChange>,
    #[serde(default)]
    pub output_changes: Vec<EncodedOutputChange>,
    /// Planned with `--refresh=false`.
    #[serde(default)]
    pub skip_refresh: bool,
    #[serde(default)]
    pub refresh_only: bool,
    /// What refresh found changed outside plinth.
    #[serde(default)]
    pub drift: Vec<EncodedChange>,
    /// Instances `import` blocks bring in: address → id.
    #[serde(default)]
    pub imports: BTreeMap<String, String>,
    /// When the plan was made (RFC 3339): `plantimestamp()` gives it again when the
    /// plan is applied.
    #[serde(default)]
    pub plan_time: Option<String>,
    /// Instances this partial plan leaves for a later stage (their provider's
    /// configuration is unknown, or they depend on such an instance).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<EncodedDeferred>,
    /// The plan in Terraform's JSON plan format, as planning rendered it (what
    /// `show --json FILE` prints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terraform_json: Option<J>,
}

/// A deferred instance: its address, its provider's state address, the reason's
/// code (`provider_config_unknown`, `deferred_prereq`) and words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodedDeferred {
    pub address: String,
    pub provider_name: String,
    pub reason: String,
    pub detail: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EncodedOutputChange {
    pub name: String,
    pub actions: Vec<String>,
    pub before: Option<EncodedValue>,
    pub after: Option<EncodedValue>,
}

/// A value in JSON with its unknown and sensitive masks, as Terraform's JSON plan
/// writes `after` / `after_unknown` / `after_sensitive`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncodedValue {
    pub value: J,
    pub unknown: J,
    pub sensitive: J,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EncodedChange {
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<String>,
    #[serde(rename = "type")]
    pub type_name: String,
    pub name: String,
    pub provider_name: String,
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_reason: Option<String>,
    pub before: Option<EncodedValue>,
    pub after: Option<EncodedValue>,
    #[serde(default)]
    pub replace_paths: Vec<String>,
}

pub fn encode(v: &Value) -> EncodedValue {
    fn walk(v: &Value) -> (J, J, J) {
        let (inner, marked) = v.peel();
        let (value, unknown, sensitive) = match inner {
            Value::Unknown(_) => (J::Null, J::Bool(true), J::Bool(false)),
            Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
                let parts: Vec<(J, J, J)> = e.iter().map(walk).collect();
                (
                    J::Array(parts.iter().map(|p| p.0.clone()).collect()),
                    J::Array(parts.iter().map(|p| p.1.clone()).collect()),
                    J::Array(parts.iter().map(|p| p.2.clone()).collect()),
                )
            }
            Value::Map(_, m) | Value::Object(m) => {
                let mut a = serde_json::Map::new();
                let mut b = serde_json::Map::new();
                let mut c = serde_json::Map::new();
                for (k, x) in m {
                    let (p, q, r) = walk(x);
                    a.insert(k.clone(), p);
                    b.insert(k.clone(), q);
                    c.insert(k.clone(), r);
                }
                (J::Object(a), J::Object(b), J::Object(c))
            }
            other => (other.to_json(), J::Bool(false), J::Bool(false)),
        };
        if marked {
            (value, unknown, J::Bool(true))
        } else {
            (value, unknown, sensitive)
        }
    }
    let (value, unknown, sensitive) = walk(v);
    EncodedValue {
        value,
        unknown,
        sensitive,
    }
}

pub fn decode(e: &EncodedValue) -> Value {
    fn walk(v: &J, unknown: &J, sensitive: &J) -> Value {
        let out = if unknown == &J::Bool(true) {
            Value::unknown()
        } else {
            match v {
                J::Array(items) => Value::Tuple(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, x)| {
                            walk(
                                x,
                                unknown.get(i).unwrap_or(&J::Null),
                                sensitive.get(i).unwrap_or(&J::Null),
                            )
                        })
                        .collect(),
                ),
                J::Object(m) => Value::Object(
                    m.iter()
                        .map(|(k, x)| {
                            let value = walk(
                                x,
                                unknown.get(k).unwrap_or(&J::Null),
                                sensitive.get(k).unwrap_or(&J::Null),
                            );
                            (k.clone(), value)
                        })
                        .collect(),
                ),
                other => Value::from_json(other),
            }
        };
        out.mark(sensitive == &J::Bool(true))
    }
    walk(&e.value, &e.unknown, &e.sensitive)
}

fn actions(a: Action) -> Vec<String> {
    let names: &[&str] = match a {
        Action::NoOp => &["no-op"],
        Action::Read => &["read"],
        Action::Create => &["create"],
        Action::Update => &["update"],
        Action::DeleteThenCreate => &["delete", "create"],
        Action::CreateThenDelete => &["create", "delete"],
        Action::Delete => &["delete"],
        Action::Forget => &["forget"],
    };
    names.iter().map(|s| s.to_string()).collect()
}

fn action_of(names: &[String]) -> Option<Action> {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Some(match names.as_slice() {
        ["no-op"] => Action::NoOp,
        ["create"] => Action::Create,
        ["update"] => Action::Update,
        ["delete", "create"] => Action::DeleteThenCreate,
        ["create", "delete"] => Action::CreateThenDelete,
        ["delete"] => Action::Delete,
        ["read"] => Action::Read,
        ["forget"] => Action::Forget,
        _ => return None,
    })
}

fn encode_change(c: &PlannedChange) -> EncodedChange {
    EncodedChange {
        address: c.address.to_string(),
        previous_address: c.previous_address.as_ref().map(|a| a.to_string()),
        type_name: c.address.resource.type_name.clone(),
        name: c.address.resource.name.clone(),
        provider_name: c.provider.clone(),
        actions: actions(c.action),
        action_reason: c.reason.map(str::to_string),
        before: c.before.as_ref().map(encode),
        after: c.after.as_ref().map(encode),
        replace_paths: c.replace_paths.clone(),
    }
}

/// A saved change; `None` when an address in it does not read (checked when the file
/// is read, so a plan in hand always decodes).
fn decode_change(c: &EncodedChange) -> Option<PlannedChange> {
    let previous_address = match &c.previous_address {
        Some(p) => Some(ResourceInstance::parse(p).ok()?),
        None => None,
    };
    Some(PlannedChange {
        address: ResourceInstance::parse(&c.address).ok()?,
        previous_address,
        provider: c.provider_name.clone(),
        action: action_of(&c.actions).unwrap_or(Action::NoOp),
        reason: None,
        before: c.before.as_ref().map(decode),
        after: c.after.as_ref().map(decode),
        replace_paths: c.replace_paths.clone(),
    })
}

/// A stable hash (FNV-1a, 64 bits) of every stack file that was loaded: a plan is
/// only valid for the exact configuration it was made from.
pub fn config_hash(sources: &Sources) -> String {
    let mut files: Vec<(&str, &str)> = sources
        .files()
        .filter(|f| f.name.ends_with(".tf") || f.name.ends_with(".hcl"))
        .map(|f| (f.name.as_str(), f.text.as_str()))
        .collect();
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, text) in files {
        for b in name.bytes().chain([0]).chain(text.bytes()).chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

impl PlanFile {
    pub fn new(
        plan: &Plan,
        config_hash: String,
        destroy: bool,
        replace: &[ResourceInstance],
        targets: &[Target],
    ) -> PlanFile {
        PlanFile {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            plinth_version: env!("CARGO_PKG_VERSION").to_string(),
            config_hash,
            stack: String::new(),
            workspace: String::new(),
            lineage: plan.lineage.clone(),
            serial: plan.serial,
            destroy,
            replace: replace.iter().map(|a| a.to_string()).collect(),
            targets: targets.iter().map(|a| a.to_string()).collect(),
            variables: plan
                .variables
                .iter()
                .map(|(k, v)| (k.clone(), encode(v)))
                .collect(),
            changes: plan.changes.iter().map(encode_change).collect(),
            output_changes: plan
                .output_changes
                .iter()
                .map(|o| EncodedOutputChange {
                    name: o.name.clone(),
                    actions: actions(o.action),
                    before: o.before.as_ref().map(encode),
                    after: o.after.as_ref().map(encode),
                })
                .collect(),
            skip_refresh: false,
            refresh_only: plan.refresh_only,
            drift: plan.drift.iter().map(encode_change).collect(),
            imports: plan.imports.clone(),
            plan_time: None,
            deferred: plan
                .deferred
                .iter()
                .map(|d| EncodedDeferred {
                    address: d.address.to_string(),
                    provider_name: d.provider.clone(),
                    reason: d.reason.code().to_string(),
                    detail: d.reason.describe(),
                })
                .collect(),
            terraform_json: Some(super::render::json(plan)),
        }
    }

    /// The `--replace` addresses the plan was made with (read when the file was).
    pub fn replace(&self) -> Vec<ResourceInstance> {
        let read = self.replace.iter().map(|a| ResourceInstance::parse(a).ok());
        read.flatten().collect()
    }

    /// The `--target` addresses the plan was made with (read when the file was).
    pub fn targets(&self) -> Vec<Target> {
        self.targets
            .iter()
            .filter_map(|a| Target::parse(a).ok())
            .collect()
    }

    pub fn plan(&self) -> Plan {
        Plan {
            changes: self.changes.iter().filter_map(decode_change).collect(),
            lineage: self.lineage.clone(),
            serial: self.serial,
            outputs: BTreeMap::new(),
            variables: self
                .variables
                .iter()
                .map(|(k, v)| (k.clone(), decode(v)))
                .collect(),
            output_changes: self
                .output_changes
                .iter()
                .map(|o| super::OutputChange {
                    name: o.name.clone(),
                    action: action_of(&o.actions).unwrap_or(Action::NoOp),
                    before: o.before.as_ref().map(decode),
                    after: o.after.as_ref().map(decode),
                })
                .collect(),
            drift: self.drift.iter().filter_map(decode_change).collect(),
            refresh_only: self.refresh_only,
            imports: self.imports.clone(),
            basis: None,
            json: None,
            checks: Vec::new(),
            deferred: self
                .deferred
                .iter()
                .filter_map(|d| {
                    Some(super::deferred::DeferredChange {
                        address: ResourceInstance::parse(&d.address).ok()?,
                        provider: d.provider_name.clone(),
                        reason: super::deferred::DeferReason::Saved {
                            code: d.reason.clone(),
                            detail: d.detail.clone(),
                        },
                    })
                })
                .collect(),
            saved_json: self.terraform_json.clone().map(std::sync::Arc::new),
        }
    }

    /// Reads a plan file, refusing one this plinth cannot apply exactly.
    pub fn read(path: &std::path::Path) -> Result<PlanFile, PlanFileError> {
        let bytes = std::fs::read(path).map_err(|error| PlanFileError::Unreadable {
            path: path.to_path_buf(),
            error,
        })?;
        let not_plan = |why: &str| PlanFileError::NotAPlan {
            path: path.to_path_buf(),
            why: why.to_string(),
        };
        let newline = bytes
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| not_plan("it has no header line"))?;
        let header = std::str::from_utf8(&bytes[..newline])
            .map_err(|_| not_plan("its header is not text"))?;
        let sum = header
            .strip_prefix(HEADER)
            .ok_or_else(|| not_plan("it does not start with a plinth plan header"))?;
        let body = &bytes[newline + 1..];
        if sum != sha256_hex(body) {
            return Err(PlanFileError::Damaged(path.to_path_buf()));
        }
        let file: PlanFile = serde_json::from_slice(body).map_err(|e| not_plan(&e.to_string()))?;
        if file.format != FORMAT || file.format_version != FORMAT_VERSION {
            return Err(PlanFileError::Format {
                path: path.to_path_buf(),
                format: file.format,
                version: file.format_version,
            });
        }
        if file.plinth_version != env!("CARGO_PKG_VERSION") {
            return Err(PlanFileError::OtherVersion(file.plinth_version));
        }
        if let Some(a) = file
            .replace
            .iter()
            .find(|a| ResourceInstance::parse(a).is_err())
            .or_else(|| file.targets.iter().find(|a| Target::parse(a).is_err()))
        {
            return Err(PlanFileError::BadAddress {
                path: path.to_path_buf(),
                address: a.clone(),
            });
        }
        if let Some(c) = file
            .changes
            .iter()
            .chain(&file.drift)
            .find(|c| decode_change(c).is_none())
        {
            return Err(PlanFileError::BadAddress {
                path: path.to_path_buf(),
                address: c.address.clone(),
            });
        }
        Ok(file)
    }

    pub fn write(&self, path: &std::path::Path) -> Result<(), PlanFileError> {
        let body = serde_json::to_vec_pretty(self).map_err(PlanFileError::Encode)?;
        let mut bytes = format!("{HEADER}{}\n", sha256_hex(&body)).into_bytes();
        bytes.extend(body);
        std::fs::write(path, bytes).map_err(|error| PlanFileError::Unwritable {
            path: path.to_path_buf(),
            error,
        })
    }

    /// The first way in which planning again (`now`) differs from this saved plan:
    /// an address, an action, a planned value, an output. `None` when they agree.
    pub fn first_difference(&self, now: &PlanFile) -> Option<String> {
        let changes = |f: &PlanFile| -> BTreeMap<String, J> {
            f.changes
                .iter()
                .chain(&f.drift)
                .map(|c| {
                    (
                        c.address.clone(),
                        serde_json::to_value(c).unwrap_or(J::Null),
                    )
                })
                .collect()
        };
        let (saved, again) = (changes(self), changes(now));
        for address in saved.keys() {
            if !again.contains_key(address) {
                return Some(format!(
                    "{address} is in the saved plan, but planning again does not change it"
                ));
            }
        }
        for (address, value) in &again {
            match saved.get(address) {
                None => {
                    return Some(format!(
                        "planning again also changes {address}, which the saved plan does not"
                    ))
                }
                Some(s) => {
                    let show = !has_sensitive(s) && !has_sensitive(value);
                    if let Some(d) = json_difference(s, value, address, show) {
                        return Some(d);
                    }
                }
            }
        }
        if self.deferred != now.deferred {
            let saved: Vec<&str> = self.deferred.iter().map(|d| d.address.as_str()).collect();
            let again: Vec<&str> = now.deferred.iter().map(|d| d.address.as_str()).collect();
            return Some(format!(
                "the saved plan defers {}, planning again defers {}",
                list_or_none(&saved),
                list_or_none(&again)
            ));
        }
        let outputs = |f: &PlanFile| serde_json::to_value(&f.output_changes).unwrap_or(J::Null);
        let (a, b) = (outputs(self), outputs(now));
        let show = !has_sensitive(&a) && !has_sensitive(&b);
        json_difference(&a, &b, "output changes", show)
    }
}

fn list_or_none(addresses: &[&str]) -> String {
    match addresses.is_empty() {
        true => "nothing".to_string(),
        false => addresses.join(", "),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether an encoded change or output holds a sensitive mark anywhere.
fn has_sensitive(v: &J) -> bool {
    match v {
        J::Object(m) => m.iter().any(|(k, x)| {
            (k == "sensitive" && x != &J::Bool(false) && x != &J::Null && mask_true(x))
                || has_sensitive(x)
        }),
        J::Array(a) => a.iter().any(has_sensitive),
        _ => false,
    }
}

fn mask_true(v: &J) -> bool {
    match v {
        J::Bool(b) => *b,
        J::Object(m) => m.values().any(mask_true),
        J::Array(a) => a.iter().any(mask_true),
        _ => false,
    }
}

/// Where two JSON documents first differ, as `at.path: saved X, now Y` (the values
/// left out when `show` is false: they may be secrets).
fn json_difference(saved: &J, now: &J, at: &str, show: bool) -> Option<String> {
    match (saved, now) {
        (J::Object(a), J::Object(b)) => {
            for (k, x) in a {
                let y = b.get(k).unwrap_or(&J::Null);
                if let Some(d) = json_difference(x, y, &format!("{at}.{k}"), show) {
                    return Some(d);
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k) && b[*k] != J::Null)
                .map(|k| format!("{at}.{k}: not in the saved plan, but planning again gives it a value"))
        }
        (J::Array(a), J::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| json_difference(x, y, &format!("{at}[{i}]"), show)),
        _ if saved == now => None,
        _ if show => Some(format!("{at}: the saved plan has {saved}, planning again gives {now}")),
        _ => Some(format!("{at}: planning again gives a different value than the saved plan (not shown: the change holds sensitive values)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Type;

    #[test]
    fn unknown_and_sensitive_survive_the_round_trip() {
        let v = Value::Object(BTreeMap::from([
            ("id".to_string(), Value::Unknown(Type::String)),
            ("token".to_string(), Value::string("s").sensitive()),
            (
                "list".to_string(),
                Value::Tuple(vec![Value::number(1), Value::unknown()]),
            ),
        ]));
        let e = encode(&v);
        assert_eq!(e.unknown["id"], J::Bool(true));
        assert_eq!(e.sensitive["token"], J::Bool(true));
        assert_eq!(e.unknown["list"][1], J::Bool(true));
        let back = decode(&e);
        let Value::Object(m) = back else {
            panic!("object expected")
        };
        assert!(!m["id"].is_known());
        assert!(m["token"].is_sensitive());
        assert_eq!(m["list"].render(), "[\n  1,\n  (known after apply),\n]");
    }
}
