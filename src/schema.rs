//! The shape of a resource's configuration as a provider declares it: attributes with
//! their types and whether they are required, optional or computed, and nested blocks.
//! Validation checks arguments against it; the evaluator types unknown resources by it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::lang::Type;

#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub attributes: BTreeMap<String, AttributeSchema>,
    pub blocks: BTreeMap<String, NestedBlockSchema>,
}

#[derive(Clone, Debug)]
pub struct AttributeSchema {
    pub ty: Type,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
}

#[derive(Clone, Debug)]
pub struct NestedBlockSchema {
    pub nesting: Nesting,
    pub block: Schema,
}

impl Schema {
    /// The object type of a resource's value under this schema.
    pub fn implied_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|(k, a)| (k.clone(), a.ty.clone()))
            .collect();
        for (k, b) in &self.blocks {
            let inner = b.block.implied_type();
            let ty = match b.nesting {
                Nesting::Single => inner,
                Nesting::List => Type::list(inner),
                Nesting::Set => Type::set(inner),
                Nesting::Map => Type::map(inner),
            };
            attrs.insert(k.clone(), ty);
        }
        Type::Object(attrs)
    }

    /// The names a user may set in a block of this schema.
    pub fn argument_names(&self) -> Vec<&str> {
        self.attributes
            .iter()
            .filter(|(_, a)| a.required || a.optional)
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

fn attr(ty: Type, required: bool, optional: bool, computed: bool) -> AttributeSchema {
    AttributeSchema {
        ty,
        required,
        optional,
        computed,
        sensitive: false,
    }
}

/// Schemas of the resources built into the engine (the `plinth` provider): today
/// `plinth_data`, also accepted as `terraform_data`.
pub fn builtin_resource(type_name: &str) -> Option<&'static Schema> {
    static DATA: OnceLock<Schema> = OnceLock::new();
    match type_name {
        "plinth_data" | "terraform_data" => Some(DATA.get_or_init(|| {
            Schema {
                attributes: [
                    ("id".to_string(), attr(Type::String, false, false, true)),
                    ("input".to_string(), attr(Type::Dynamic, false, true, false)),
                    (
                        "output".to_string(),
                        attr(Type::Dynamic, false, false, true),
                    ),
                    (
                        "triggers_replace".to_string(),
                        attr(Type::Dynamic, false, true, false),
                    ),
                ]
                .into(),
                blocks: BTreeMap::new(),
            }
        })),
        _ => None,
    }
}
