//! Core's share of planning an object's change, as Terraform's `plans/objchange`: the
//! proposed new state handed to the provider's PlanResourceChange, built from the
//! prior state and the configuration against the resource's schema.

use std::collections::BTreeMap;

use plinth_protocol::schema::{Block, Nesting};

use crate::lang::Value;

/// Terraform core's proposed new state: the configuration, with the prior value of
/// every computed attribute the configuration leaves null; nested blocks likewise,
/// matched by position (lists) or key (maps).
pub fn proposed_new(block: &Block, prior: &Value, config: &Value) -> Value {
    if config.is_null() || !config.is_known() {
        return config.clone();
    }
    let prior_known = !prior.is_null() && prior.is_known();
    let mut out = BTreeMap::new();
    for (name, a) in &block.attributes {
        let c = attr_of(config, name);
        let v = if a.computed && c.is_null() && prior_known {
            attr_of(prior, name)
        } else {
            c
        };
        out.insert(name.clone(), v);
    }
    for (name, nb) in &block.blocks {
        let c = attr_of(config, name);
        let p = if prior_known {
            attr_of(prior, name)
        } else {
            Value::null()
        };
        let v = match (nb.nesting, &c) {
            (Nesting::Single | Nesting::Group, _) => proposed_new(&nb.block, &p, &c),
            (Nesting::List, Value::List(t, items)) => {
                let prior_items = match p.peel().0 {
                    Value::List(_, x) => x.clone(),
                    _ => Vec::new(),
                };
                Value::List(
                    t.clone(),
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, x)| {
                            proposed_new(&nb.block, prior_items.get(i).unwrap_or(&Value::null()), x)
                        })
                        .collect(),
                )
            }
            (Nesting::Map, Value::Map(t, m)) => Value::Map(
                t.clone(),
                m.iter()
                    .map(|(k, x)| (k.clone(), proposed_new(&nb.block, &attr_of(&p, k), x)))
                    .collect(),
            ),
            _ => c.clone(),
        };
        out.insert(name.clone(), v);
    }
    Value::Object(out)
}

/// An object's attribute `name`; null when it has none or is not an object.
pub fn attr_of(v: &Value, name: &str) -> Value {
    match v.peel().0 {
        Value::Object(m) => m.get(name).cloned().unwrap_or_else(Value::null),
        _ => Value::null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Type;
    use plinth_protocol::schema::{Attribute, NestedBlock};

    fn obj(items: &[(&str, Value)]) -> Value {
        Value::Object(
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    /// `name` as configured, `id` computed.
    fn block() -> Block {
        let mut id = Attribute::new(Type::String);
        id.computed = true;
        Block {
            attributes: [
                ("name".to_string(), Attribute::new(Type::String)),
                ("id".to_string(), id),
            ]
            .into(),
            ..Block::default()
        }
    }

    #[test]
    fn a_computed_attribute_left_null_keeps_its_prior_value() {
        let prior = obj(&[("name", Value::string("a")), ("id", Value::string("i-1"))]);
        let config = obj(&[("name", Value::string("b")), ("id", Value::null())]);
        assert_eq!(
            proposed_new(&block(), &prior, &config),
            obj(&[("name", Value::string("b")), ("id", Value::string("i-1"))])
        );
    }

    #[test]
    fn without_a_prior_state_the_configuration_is_proposed() {
        let config = obj(&[("name", Value::string("b")), ("id", Value::null())]);
        assert_eq!(
            proposed_new(&block(), &Value::null(), &config),
            config.clone()
        );
    }

    #[test]
    fn list_blocks_are_matched_with_the_prior_ones_by_position() {
        let outer = Block {
            blocks: [(
                "disk".to_string(),
                NestedBlock {
                    nesting: Nesting::List,
                    block: block(),
                    min_items: 0,
                    max_items: 0,
                },
            )]
            .into(),
            ..Block::default()
        };
        let disk = |name: &str, id: Value| obj(&[("name", Value::string(name)), ("id", id)]);
        let ty = block().implied_type();
        let prior = obj(&[(
            "disk",
            Value::List(ty.clone(), vec![disk("a", Value::string("d-1"))]),
        )]);
        let config = obj(&[(
            "disk",
            Value::List(
                ty.clone(),
                vec![disk("a", Value::null()), disk("b", Value::null())],
            ),
        )]);
        assert_eq!(
            proposed_new(&outer, &prior, &config),
            obj(&[(
                "disk",
                Value::List(
                    ty,
                    vec![disk("a", Value::string("d-1")), disk("b", Value::null())]
                ),
            )])
        );
    }
}
