//! A state in Terraform's JSON state shape (`terraform show -json` of a state, and a
//! JSON plan's `prior_state`): `values` holds the root outputs and the root module's
//! resources, each child module instance nested in its parent's `child_modules`. It
//! decides nothing: it prints the state it is given.

use std::collections::BTreeMap;

use plinth_state::{ResourceState, Snapshot};
use serde_json::{json, Map, Value as J};

use super::json::{sensitive_as_bool, FORMAT_VERSION, TERRAFORM_VERSION};
use crate::addrs::{InstanceKey, ModuleInstance, ResourceInstance};
use crate::lang::refs::ResourceMode;
use crate::lang::Value;

/// The whole document: `format_version`, `terraform_version` and the state's
/// `values` (none for a state with nothing in it, as Terraform prints it).
pub fn document(state: &Snapshot) -> J {
    let mut doc = json!({
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "plinth_version": env!("CARGO_PKG_VERSION"),
    });
    if !state.resources.is_empty() || !state.outputs.is_empty() {
        doc["values"] = values(state);
    }
    doc
}

/// `{outputs, root_module: {resources, child_modules}}` of a state.
pub fn values(state: &Snapshot) -> J {
    let resources = state
        .resources
        .values()
        .filter_map(|rs| Some((ResourceInstance::parse(&rs.address).ok()?, resource(rs))));
    let outputs = state.outputs.iter().map(|(name, o)| {
        let value = Value::from_json(&o.value).mark(o.sensitive);
        (name.clone(), value)
    });
    module_values(resources, outputs)
}

/// The `values` object from resource entries (each with its address) and root
/// output values (sensitive ones marked).
pub fn module_values(
    resources: impl IntoIterator<Item = (ResourceInstance, J)>,
    outputs: impl IntoIterator<Item = (String, Value)>,
) -> J {
    let mut modules: BTreeMap<ModuleInstance, Vec<(String, J)>> = BTreeMap::new();
    modules.entry(ModuleInstance::root()).or_default();
    for (address, entry) in resources {
        let mut module = address.module.clone();
        // Every module above one holding resources is shown, so each can be nested.
        while let Some((parent, _)) = module.parent() {
            modules.entry(module.clone()).or_default();
            module = parent;
        }
        modules
            .entry(address.module.clone())
            .or_default()
            .push((address.to_string(), entry));
    }
    let outputs: Map<String, J> = outputs
        .into_iter()
        .map(|(name, value)| (name, output(&value)))
        .collect();
    let mut values = json!({ "root_module": module(&ModuleInstance::root(), &modules) });
    if !outputs.is_empty() {
        values["outputs"] = J::Object(outputs);
    }
    values
}

/// One root output: `{sensitive, value}`, the value left out while unknown.
pub fn output(value: &Value) -> J {
    let mut out = json!({ "sensitive": value.is_sensitive() });
    if value.is_wholly_known() {
        out["value"] = value.clone().deep_unmark().to_json();
    }
    out
}

fn module(at: &ModuleInstance, modules: &BTreeMap<ModuleInstance, Vec<(String, J)>>) -> J {
    let mut resources = modules.get(at).cloned().unwrap_or_default();
    resources.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Map::new();
    if !resources.is_empty() {
        out.insert(
            "resources".into(),
            J::Array(resources.into_iter().map(|(_, r)| r).collect()),
        );
    }
    if !at.is_root() {
        out.insert("address".into(), json!(at.to_string()));
    }
    let mut children: Vec<&ModuleInstance> = modules
        .keys()
        .filter(|m| m.parent().is_some_and(|(p, _)| &p == at))
        .collect();
    children.sort_by_key(|m| m.to_string());
    if !children.is_empty() {
        out.insert(
            "child_modules".into(),
            children.into_iter().map(|c| module(c, modules)).collect(),
        );
    }
    J::Object(out)
}

/// The provider's source address out of a provider configuration address:
/// `provider["registry.terraform.io/hashicorp/aws"].west` → `registry.terraform.io/hashicorp/aws`.
pub fn provider_name(config_address: &str) -> String {
    let inner = config_address
        .strip_prefix("provider[\"")
        .and_then(|rest| rest.split("\"]").next());
    inner.unwrap_or(config_address).to_string()
}

/// The fields every resource entry starts with: address, mode, type, name, index.
pub fn resource_head(address: &ResourceInstance) -> Map<String, J> {
    let mut out = Map::new();
    out.insert("address".into(), json!(address.to_string()));
    let mode = match address.resource.mode {
        ResourceMode::Managed => "managed",
        ResourceMode::Data => "data",
    };
    out.insert("mode".into(), json!(mode));
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
    out
}

/// One resource instance of a state.
fn resource(rs: &ResourceState) -> J {
    let address = ResourceInstance::parse(&rs.address);
    let mut out = match &address {
        Ok(a) => resource_head(a),
        Err(_) => Map::from_iter([("address".to_string(), json!(rs.address))]),
    };
    out.insert("provider_name".into(), json!(provider_name(&rs.provider)));
    out.insert("schema_version".into(), json!(rs.schema_version));
    out.insert("values".into(), rs.attributes.clone());
    let marked = Value::from_json(&rs.attributes).mark_paths(&rs.sensitive_paths);
    out.insert(
        "sensitive_values".into(),
        sensitive_as_bool(&unmark_nulls(marked)),
    );
    if !rs.dependencies.is_empty() {
        out.insert("depends_on".into(), json!(rs.dependencies));
    }
    if rs.tainted {
        out.insert("tainted".into(), json!(true));
    }
    J::Object(out)
}

/// The value without marks on nulls. plinth records a provider schema's sensitive
/// attributes in state even where they are null; Terraform's state marks only the
/// values configuration made sensitive, and a null one is not shown as sensitive.
fn unmark_nulls(v: Value) -> Value {
    let (inner, marked) = v.unmark();
    let inner = match inner {
        Value::Null(t) => return Value::Null(t),
        Value::List(t, items) => Value::List(t, items.into_iter().map(unmark_nulls).collect()),
        Value::Set(t, items) => Value::Set(t, items.into_iter().map(unmark_nulls).collect()),
        Value::Tuple(items) => Value::Tuple(items.into_iter().map(unmark_nulls).collect()),
        Value::Map(t, m) => Value::Map(
            t,
            m.into_iter().map(|(k, x)| (k, unmark_nulls(x))).collect(),
        ),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, x)| (k, unmark_nulls(x))).collect())
        }
        other => other,
    };
    inner.mark(marked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(address: &str, attributes: J) -> ResourceState {
        ResourceState {
            address: address.into(),
            provider: "provider[\"registry.terraform.io/plinth/local\"]".into(),
            schema_version: 0,
            attributes,
            sensitive_paths: vec![vec![json!("content")]],
            private: Vec::new(),
            dependencies: Vec::new(),
            create_before_destroy: false,
            tainted: false,
        }
    }

    #[test]
    fn child_modules_nest_under_their_parents() {
        let mut state = Snapshot::default();
        for a in ["local_file.r", "module.a.module.b[\"k\"].local_file.f[0]"] {
            state
                .resources
                .insert(a.into(), instance(a, json!({"content": "x", "id": "1"})));
        }
        let v = values(&state);
        let mut nulls = instance("local_file.n", json!({"content": null}));
        nulls.sensitive_paths = vec![vec![json!("content")]];
        assert_eq!(resource(&nulls)["sensitive_values"], json!({}));
        let root = &v["root_module"];
        assert_eq!(root["resources"][0]["address"], "local_file.r");
        assert_eq!(
            root["resources"][0]["sensitive_values"],
            json!({"content": true})
        );
        assert_eq!(
            root["resources"][0]["provider_name"],
            "registry.terraform.io/plinth/local"
        );
        let a = &root["child_modules"][0];
        assert_eq!(a["address"], "module.a");
        assert!(a.get("resources").is_none());
        let b = &a["child_modules"][0];
        assert_eq!(b["address"], "module.a.module.b[\"k\"]");
        assert_eq!(b["resources"][0]["index"], 0);
        assert!(v.get("outputs").is_none());
    }

    #[test]
    fn only_a_tainted_instance_says_so() {
        let mut rs = instance("local_file.r", json!({"id": "1"}));
        assert!(resource(&rs).get("tainted").is_none());
        rs.tainted = true;
        assert_eq!(resource(&rs)["tainted"], json!(true));
    }

    #[test]
    fn an_empty_state_has_no_values() {
        let doc = document(&Snapshot::default());
        assert!(doc.get("values").is_none());
        assert_eq!(doc["format_version"], FORMAT_VERSION);
    }
}
