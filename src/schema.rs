//! The shape of a resource's configuration as a provider declares it: attributes with
//! their types and whether they are required, optional or computed, and nested blocks.
//! Validation checks arguments against it; the evaluator types unknown resources by it.
//! The model is the protocol crate's, so schemas from plugins and the built-in ones
//! are the same thing.

use std::sync::OnceLock;

pub use plinth_protocol::schema::{
    Attribute as AttributeSchema, Block as Schema, NestedBlock as NestedBlockSchema, Nesting,
};

use crate::lang::Type;

fn attr(ty: Type, optional: bool, computed: bool) -> AttributeSchema {
    AttributeSchema {
        optional,
        computed,
        ..AttributeSchema::new(ty)
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
                    ("id".to_string(), attr(Type::String, false, true)),
                    ("input".to_string(), attr(Type::Dynamic, true, false)),
                    ("output".to_string(), attr(Type::Dynamic, false, true)),
                    (
                        "triggers_replace".to_string(),
                        attr(Type::Dynamic, true, false),
                    ),
                ]
                .into(),
                ..Schema::default()
            }
        })),
        _ => None,
    }
}
