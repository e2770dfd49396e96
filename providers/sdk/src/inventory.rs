//! Listing what exists, for `plinth drift --unmanaged` (plinth's `Inventory` service).
//!
//! A provider that implements [`crate::Provider::list`] answers with the objects it can
//! see that the request does not say are managed, each with what an `import` block and
//! a `resource` block need. Terraform and OpenTofu never ask.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Block, Nesting, Object, Value};

/// What a generated configuration holds in place of a sensitive value.
pub const PLACEHOLDER: &str = "FILL IN: not listed (sensitive)";

/// The arguments of a `resource` block with which a plan after importing the object
/// `state` describes changes nothing: every required and optional attribute the state
/// holds a value for (computed-only ones left out, and those named in `skip`, such as
/// an argument that conflicts with another), nested blocks likewise (`timeouts`
/// left out). A sensitive value is written as [`PLACEHOLDER`] (each value of a
/// sensitive map); the second result says whether any was.
pub fn config_from_state(
    block: &Block,
    state: &Object,
    skip: &[&str],
) -> (serde_json::Map<String, serde_json::Value>, bool) {
    let mut out = serde_json::Map::new();
    let mut placeholders = false;
    for (name, attribute) in &block.attributes {
        if (attribute.computed && !attribute.optional) || skip.contains(&name.as_str()) {
            continue;
        }
        let raw = state.0.get(name).cloned().unwrap_or_else(Value::null);
        let (value, marked) = raw.peel();
        if value.is_null() {
            continue;
        }
        let json = if attribute.sensitive || marked || value.contains_sensitive() {
            placeholders = true;
            placeholder(&value.clone().deep_unmark().to_json())
        } else {
            value.to_json()
        };
        out.insert(name.clone(), json);
    }
    for (name, nested) in &block.blocks {
        if name == "timeouts" || skip.contains(&name.as_str()) {
            continue;
        }
        let value = state.get(name);
        let mut one = |v: &Value| {
            let (c, p) = config_from_state(&nested.block, &Object::from_value(v), &[]);
            placeholders |= p;
            serde_json::Value::Object(c)
        };
        let json = match (&value, nested.nesting) {
            (Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items), _) => {
                if items.is_empty() {
                    continue;
                }
                serde_json::Value::Array(items.iter().map(&mut one).collect())
            }
            (Value::Map(_, m) | Value::Object(m), Nesting::Map) => {
                if m.is_empty() {
                    continue;
                }
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), one(v))).collect())
            }
            (v, _) if v.is_null() => continue,
            (v, _) => one(v),
        };
        out.insert(name.clone(), json);
    }
    (out, placeholders)
}

/// `value` with each string it holds (each map value) replaced by [`PLACEHOLDER`].
fn placeholder(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(m) => m
            .keys()
            .map(|k| (k.clone(), serde_json::Value::String(PLACEHOLDER.into())))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        _ => serde_json::Value::String(PLACEHOLDER.into()),
    }
}

/// What plinth asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListRequest {
    /// The types wanted; empty for every type the provider lists.
    pub type_names: Vec<String>,
    /// Only objects carrying each of these tags (labels, for Kubernetes).
    pub tags: BTreeMap<String, String>,
    /// The objects state already holds: (type name, `id`).
    pub managed: BTreeSet<(String, String)>,
    /// Every object state holds, with its attributes: (type name, attributes as
    /// JSON), for types whose identity is not `id` alone.
    pub managed_states: Vec<(String, serde_json::Value)>,
}

impl ListRequest {
    /// Whether objects of `type_name` are wanted.
    pub fn wants(&self, type_name: &str) -> bool {
        self.type_names.is_empty() || self.type_names.iter().any(|t| t == type_name)
    }

    /// Whether state holds the object of `type_name` whose `id` is `id`.
    pub fn is_managed(&self, type_name: &str, id: &str) -> bool {
        self.managed
            .contains(&(type_name.to_string(), id.to_string()))
    }

    /// The ids state holds for objects of `type_name`.
    pub fn managed_ids<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.managed
            .iter()
            .filter(move |(t, _)| t == type_name)
            .map(|(_, id)| id.as_str())
    }

    /// Whether `tags` carry every tag the request filters by.
    pub fn tags_match(&self, tags: &BTreeMap<String, String>) -> bool {
        self.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
    }

    /// Keeps `object` in `out` when it is wanted, not managed and its tags match.
    pub fn keep(&self, object: Listed, out: &mut Vec<Listed>) {
        if self.wants(&object.type_name)
            && !self.is_managed(&object.type_name, &object.id)
            && self.tags_match(&object.tags)
        {
            out.push(object);
        }
    }
}

/// What [`crate::Provider::list`] answers: the objects, and problems met (a warning
/// for an object that could not be read; an error stops the listing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing {
    pub objects: Vec<Listed>,
    pub diagnostics: Vec<crate::Diagnostic>,
}

/// One object no state holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    pub type_name: String,
    /// The `id` state would hold once imported.
    pub id: String,
    /// The id the type's import takes.
    pub import_id: String,
    /// A suggested resource name (plinth makes it a unique identifier).
    pub name: String,
    pub tags: BTreeMap<String, String>,
    /// The `resource` block's arguments: with them, the plan after import is a no-op.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// A note for whoever pastes the block (a placeholder to fill in), or empty.
    pub note: String,
}

impl Listed {
    pub fn new(type_name: &str, id: &str, name: &str) -> Listed {
        Listed {
            type_name: type_name.to_string(),
            id: id.to_string(),
            import_id: id.to_string(),
            name: name.to_string(),
            tags: BTreeMap::new(),
            config: serde_json::Map::new(),
            note: String::new(),
        }
    }

    /// Sets the import id, when it differs from `id`.
    pub fn import_id(mut self, import_id: &str) -> Listed {
        self.import_id = import_id.to_string();
        self
    }

    pub fn tags(mut self, tags: BTreeMap<String, String>) -> Listed {
        self.tags = tags;
        self
    }

    /// Sets one argument of the `resource` block.
    pub fn arg(mut self, name: &str, value: impl Into<serde_json::Value>) -> Listed {
        self.config.insert(name.to_string(), value.into());
        self
    }

    pub fn note(mut self, note: &str) -> Listed {
        self.note = note.to_string();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{
        block, computed, list_of, optional, optional_computed, required, string_map,
    };
    use crate::Type;

    #[test]
    fn config_from_state_keeps_arguments_and_hides_sensitive_values() {
        let mut data = optional(string_map());
        data.sensitive = true;
        let schema = block(
            vec![
                ("id", computed(Type::String)),
                ("name", required(Type::String)),
                ("name_prefix", optional_computed(Type::String)),
                ("kind", optional_computed(Type::String)),
                ("note", optional(Type::String)),
                ("data", data),
            ],
            vec![(
                "rule",
                list_of(block(vec![("port", required(Type::Number))], vec![])),
            )],
        );
        let rule = Value::Object(BTreeMap::from([("port".to_string(), crate::shape::n(80))]));
        let state = Object(BTreeMap::from([
            ("id".to_string(), crate::shape::s("x")),
            ("name".to_string(), crate::shape::s("a")),
            ("name_prefix".to_string(), crate::shape::s("a")),
            ("kind".to_string(), crate::shape::s("k")),
            ("note".to_string(), Value::null()),
            (
                "data".to_string(),
                Value::Sensitive(Box::new(crate::shape::string_map_value(&BTreeMap::from([
                    ("password".to_string(), "hunter2".to_string()),
                ])))),
            ),
            ("rule".to_string(), Value::List(rule_type(), vec![rule])),
        ]));
        let (config, placeholders) = config_from_state(&schema, &state, &["name_prefix"]);
        assert!(placeholders);
        assert_eq!(
            serde_json::Value::Object(config),
            serde_json::json!({
                "name": "a",
                "kind": "k",
                "data": {"password": PLACEHOLDER},
                "rule": [{"port": 80}],
            })
        );
    }

    fn rule_type() -> Type {
        Type::Object(BTreeMap::from([("port".to_string(), Type::Number)]))
    }

    #[test]
    fn keep_drops_managed_unwanted_and_untagged_objects() {
        let request = ListRequest {
            type_names: vec!["aws_vpc".into()],
            tags: BTreeMap::from([("team".into(), "a".into())]),
            managed: BTreeSet::from([("aws_vpc".into(), "vpc-1".into())]),
            managed_states: Vec::new(),
        };
        let tagged = BTreeMap::from([("team".to_string(), "a".to_string())]);
        let mut out = Vec::new();
        request.keep(
            Listed::new("aws_vpc", "vpc-1", "a").tags(tagged.clone()),
            &mut out,
        );
        request.keep(
            Listed::new("aws_subnet", "subnet-1", "b").tags(tagged.clone()),
            &mut out,
        );
        request.keep(Listed::new("aws_vpc", "vpc-2", "c"), &mut out);
        request.keep(Listed::new("aws_vpc", "vpc-3", "d").tags(tagged), &mut out);
        let ids: Vec<&str> = out.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["vpc-3"]);
    }
}
