//! The plan file: a versioned JSON document holding the changes (with Terraform's
//! `after_unknown` / `after_sensitive` masks), the root variable values, a hash of the
//! configuration, and the lineage and serial of the state it was planned against.
//! `apply FILE` refuses a file from another plinth version, for another
//! configuration, or against a state that has moved on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as J;

use super::{Action, Plan, PlannedChange};
use crate::diag::Sources;
use crate::lang::Value;

pub const FORMAT: &str = "plinth-plan";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct PlanFile {
    pub format: String,
    pub format_version: u32,
    pub plinth_version: String,
    pub config_hash: String,
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
        _ => return None,
    })
}

fn encode_change(c: &PlannedChange) -> EncodedChange {
    EncodedChange {
        address: c.address.clone(),
        previous_address: c.previous_address.clone(),
        type_name: c.type_name.clone(),
        name: c.name.clone(),
        provider_name: c.provider.clone(),
        actions: actions(c.action),
        action_reason: c.reason.map(str::to_string),
        before: c.before.as_ref().map(encode),
        after: c.after.as_ref().map(encode),
        replace_paths: c.replace_paths.clone(),
    }
}

fn decode_change(c: &EncodedChange) -> PlannedChange {
    PlannedChange {
        address: c.address.clone(),
        previous_address: c.previous_address.clone(),
        type_name: c.type_name.clone(),
        name: c.name.clone(),
        provider: c.provider_name.clone(),
        action: action_of(&c.actions).unwrap_or(Action::NoOp),
        reason: None,
        before: c.before.as_ref().map(decode),
        after: c.after.as_ref().map(decode),
        replace_paths: c.replace_paths.clone(),
    }
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
        replace: Vec<String>,
        targets: Vec<String>,
    ) -> PlanFile {
        PlanFile {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            plinth_version: env!("CARGO_PKG_VERSION").to_string(),
            config_hash,
            lineage: plan.lineage.clone(),
            serial: plan.serial,
            destroy,
            replace,
            targets,
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
        }
    }

    pub fn plan(&self) -> Plan {
        Plan {
            changes: self.changes.iter().map(decode_change).collect(),
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
            drift: self.drift.iter().map(decode_change).collect(),
            refresh_only: self.refresh_only,
            imports: self.imports.clone(),
        }
    }

    /// Reads a plan file, refusing one this plinth cannot apply exactly.
    pub fn read(path: &std::path::Path) -> Result<PlanFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read plan file {}: {e}", path.display()))?;
        let file: PlanFile = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a plinth plan file: {e}", path.display()))?;
        if file.format != FORMAT || file.format_version != FORMAT_VERSION {
            return Err(format!(
                "{} is a {} v{} file; this plinth reads {FORMAT} v{FORMAT_VERSION}.",
                path.display(),
                file.format,
                file.format_version
            ));
        }
        if file.plinth_version != env!("CARGO_PKG_VERSION") {
            return Err(format!(
                "the plan file was made by plinth {}, and this is plinth {}: a plan can only be applied by the version that made it. Run plinth plan again.",
                file.plinth_version,
                env!("CARGO_PKG_VERSION")
            ));
        }
        Ok(file)
    }

    pub fn write(&self, path: &std::path::Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write plan file {}: {e}", path.display()))
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
