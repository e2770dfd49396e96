//! The state in the shape of Terraform's JSON state (`terraform show -json` with no
//! plan file, and a JSON plan's `prior_state`): `values.root_module` with its
//! `resources` and nested `child_modules`, and `values.outputs`. It decides nothing:
//! it writes the snapshot it is given.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as J};

use crate::addrs::{InstanceKey, ModuleInstance, ResourceInstance};
use crate::lang::refs::ResourceMode;
use crate::lang::Value;
use plinth_state::{ResourceState, Snapshot};

/// The JSON state format this writes (Terraform 1.1 and later write `1.0`).
pub const FORMAT_VERSION: &str = "1.0";

/// The Terraform language version plinth follows, written as `terraform_version`
/// where tools expect Terraform's.
pub const TERRAFORM_VERSION: &str = "1.9.0";

/// The whole document: `format_version`, `terraform_version`, `values` (left out, as
/// Terraform leaves it out, when the state holds no resources and no outputs).
pub fn document(snapshot: &Snapshot) -> J {
    let mut doc = Map::new();
    doc.insert("format_version".into(), json!(FORMAT_VERSION));
    doc.insert("terraform_version".into(), json!(TERRAFORM_VERSION));
    doc.insert("plinth_version".into(), json!(env!("CARGO_PKG_VERSION")));
    if !snapshot.resources.is_empty() || !snapshot.outputs.is_empty() {
        doc.insert("values".into(), values(snapshot));
    }
    J::Object(doc)
}

/// `values`: `outputs` (when there are any) and `root_module`.
pub fn values(snapshot: &Snapshot) -> J {
    let mut values = Map::new();
    if !snapshot.outputs.is_empty() {
        let outputs: Map<String, J> = snapshot
            .outputs
            .iter()
            .map(|(name, o)| {
                (
                    name.clone(),
                    json!({ "sensitive": o.sensitive, "value": o.value }),
                )
            })
            .collect();
        values.insert("outputs".into(), J::Object(outputs));
    }
    values.insert("root_module".into(), root_module(snapshot));
    J::Object(values)
}

/// One module instance's resources and those of the modules under it.
#[derive(Default)]
struct ModuleNode {
    resources: Vec<J>,
    children: BTreeMap<String, ModuleNode>,
}

impl ModuleNode {
    fn insert(&mut self, module: &ModuleInstance, depth: usize, resource: J) {
        if depth == module.0.len() {
            self.resources.push(resource);
            return;
        }
        let address = ModuleInstance(module.0[..=depth].to_vec()).to_string();
        self.children
            .entry(address)
            .or_default()
            .insert(module, depth + 1, resource);
    }

    fn to_json(&self, address: Option<&str>) -> J {
        let mut out = Map::new();
        if !self.resources.is_empty() {
            out.insert("resources".into(), J::Array(self.resources.clone()));
        }
        if let Some(a) = address {
            out.insert("address".into(), json!(a));
        }
        if !self.children.is_empty() {
            let children = self
                .children
                .iter()
                .map(|(a, child)| child.to_json(Some(a)))
                .collect();
            out.insert("child_modules".into(), J::Array(children));
        }
        J::Object(out)
    }
}

/// `root_module`: resources sorted by address, as Terraform sorts them; an instance
/// whose address does not read is left out (planning refuses such a state).
pub fn root_module(snapshot: &Snapshot) -> J {
    let mut root = ModuleNode::default();
    for (address, rs) in &snapshot.resources {
        let Ok(parsed) = ResourceInstance::parse(address) else {
            continue;
        };
        root.insert(&parsed.module, 0, resource(&parsed, rs));
    }
    root.to_json(None)
}

fn resource(address: &ResourceInstance, rs: &ResourceState) -> J {
    let mut out = Map::new();
    out.insert("address".into(), json!(address.to_string()));
    out.insert(
        "mode".into(),
        json!(match address.resource.mode {
            ResourceMode::Managed => "managed",
            ResourceMode::Data => "data",
        }),
    );
    out.insert("type".into(), json!(address.resource.type_name));
    out.insert("name".into(), json!(address.resource.name));
    match &address.key {
        InstanceKey::Int(i) => {
            out.insert("index".into(), json!(i));
        }
        InstanceKey::Str(k) => {
            out.insert("index".into(), json!(k));
        }
        InstanceKey::None | InstanceKey::Unknown => {}
    }
    out.insert("provider_name".into(), json!(provider_name(&rs.provider)));
    out.insert("schema_version".into(), json!(rs.schema_version));
    out.insert("values".into(), rs.attributes.clone());
    out.insert(
        "sensitive_values".into(),
        sensitive_values(&super::state_value(rs)),
    );
    if !rs.dependencies.is_empty() {
        let mut deps = rs.dependencies.clone();
        deps.sort();
        deps.dedup();
        out.insert("depends_on".into(), json!(deps));
    }
    J::Object(out)
}

/// `provider["registry.terraform.io/plinth/local"].alias` → the provider's source
/// address, as Terraform's `provider_name`.
pub fn provider_name(provider: &str) -> String {
    provider
        .trim_start_matches("provider[\"")
        .split("\"]")
        .next()
        .unwrap_or(provider)
        .to_string()
}

/// Terraform's `sensitive_values`: `true` where a value is sensitive; objects and maps
/// leave out the keys whose value is `false` (a primitive or null that is not
/// sensitive), lists and sets keep one entry for each element. As in Terraform 1.0,
/// only values marked sensitive count, not attributes the schema calls sensitive.
pub fn sensitive_values(v: &Value) -> J {
    let (inner, marked) = v.peel();
    if marked {
        return J::Bool(true);
    }
    match inner {
        Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
            J::Array(e.iter().map(sensitive_values).collect())
        }
        Value::Map(_, m) | Value::Object(m) => J::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), sensitive_values(x)))
                .filter(|(_, s)| s != &J::Bool(false))
                .collect(),
        ),
        _ => J::Bool(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plinth_state::OutputState;

    fn instance(address: &str, attributes: J, sensitive: &[&str]) -> (String, ResourceState) {
        (
            address.to_string(),
            ResourceState {
                address: address.to_string(),
                provider: "provider[\"registry.terraform.io/plinth/local\"]".into(),
                schema_version: 0,
                attributes,
                sensitive_paths: sensitive.iter().map(|p| vec![json!(p)]).collect(),
                private: Vec::new(),
                dependencies: Vec::new(),
                create_before_destroy: false,
            },
        )
    }

    #[test]
    fn an_empty_state_has_no_values() {
        let doc = document(&Snapshot::default());
        assert_eq!(doc.get("values"), None);
        assert_eq!(doc["format_version"], json!("1.0"));
    }

    #[test]
    fn module_instances_nest_and_keys_become_indexes() {
        let snapshot = Snapshot {
            resources: [
                instance("local_file.a[0]", json!({"id": "1"}), &[]),
                instance("module.m[\"x\"].module.n.local_file.b", json!({}), &[]),
                instance("data.local_file.c", json!({}), &[]),
            ]
            .into_iter()
            .collect(),
            outputs: [(
                "o".to_string(),
                OutputState {
                    value: json!("v"),
                    sensitive: true,
                },
            )]
            .into_iter()
            .collect(),
            ..Snapshot::default()
        };
        let doc = document(&snapshot);
        let root = &doc["values"]["root_module"];
        assert_eq!(root["resources"][0]["address"], json!("data.local_file.c"));
        assert_eq!(root["resources"][0]["mode"], json!("data"));
        assert_eq!(root["resources"][1]["index"], json!(0));
        let m = &root["child_modules"][0];
        assert_eq!(m["address"], json!("module.m[\"x\"]"));
        assert_eq!(m.get("resources"), None);
        let n = &m["child_modules"][0];
        assert_eq!(n["address"], json!("module.m[\"x\"].module.n"));
        assert_eq!(n["resources"][0]["name"], json!("b"));
        assert_eq!(
            doc["values"]["outputs"]["o"],
            json!({"sensitive": true, "value": "v"})
        );
    }

    #[test]
    fn sensitive_values_keep_only_what_is_sensitive() {
        let (_, rs) = instance(
            "local_file.s",
            json!({"content": "x", "id": "1", "tags": ["a", "b"], "m": {"k": "v"}}),
            &["content"],
        );
        assert_eq!(
            sensitive_values(&crate::plan::state_value(&rs)),
            json!({"content": true, "m": {}, "tags": [false, false]})
        );
    }
}
