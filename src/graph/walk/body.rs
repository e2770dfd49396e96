//! Decoding a block body into an object value, guided by its schema where there is
//! one, with `dynamic` blocks expanded.

use std::collections::BTreeMap;

use super::scope::InstanceScope;
use super::Walk;
use crate::config::{Body, Expr};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics};
use crate::lang::convert::convert;
use crate::lang::{Constraint, Evaluator, Value};
use crate::schema::{Nesting, Schema};

impl Walk<'_> {
    /// Evaluates a block body into an object: arguments by name, nested blocks as
    /// lists of objects, `dynamic` blocks expanded. With a schema, names and types are
    /// checked against it.
    pub(super) fn body(
        &self,
        body: &Body,
        schema: Option<&Schema>,
        scope: &InstanceScope,
        bindings: &mut Vec<(String, Value)>,
        diags: &mut Diagnostics,
    ) -> Value {
        if let (true, Some(s)) = (body.json, schema) {
            if let Some(read) = json_schema_blocks(body, s) {
                return self.body(&read, schema, scope, bindings, diags);
            }
        }
        let mut out = BTreeMap::new();
        let eval = |e: &Expr, bindings: &Vec<(String, Value)>| {
            let mut ev = Evaluator::new(e.file, &self.sources.get(e.file).text, scope);
            for (n, v) in bindings {
                ev.bind(n, v.clone());
            }
            ev.eval(&e.expr)
        };
        for a in &body.attrs {
            let attr_schema = schema.map(|s| s.attributes.get(&a.name));
            if let Some(None)
            | Some(Some(crate::schema::AttributeSchema {
                required: false,
                optional: false,
                ..
            })) = attr_schema
            {
                let valid = schema.map(Schema::argument_names).unwrap_or_default();
                let computed_only = matches!(attr_schema, Some(Some(_)));
                diags.push(
                    Diagnostic::error(if computed_only { "Value for unconfigurable attribute" } else { "Unsupported argument" })
                        .detail(if computed_only {
                            format!("Can't configure a value for {:?}: its value will be decided automatically based on the result of applying this configuration.", a.name)
                        } else {
                            format!("An argument named {:?} is not expected here.", a.name)
                        })
                        .at(a.name_span)
                        .help_opt(did_you_mean(&a.name, valid.iter().copied()).or_else(|| Some(format!("Valid arguments here are: {}.", valid.join(", "))))),
                );
                continue;
            }
            let value = match eval(&a.expr, bindings) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(d);
                    Value::unknown()
                }
            };
            let value = match attr_schema.flatten() {
                Some(s) => convert(value, &Constraint::from_type(&s.ty)).unwrap_or_else(|e| {
                    diags.push(
                        Diagnostic::error("Incorrect attribute value type")
                            .detail(format!(
                                "Inappropriate value for attribute {:?}: {e}.",
                                a.name
                            ))
                            .at_opt(a.expr.span()),
                    );
                    Value::unknown()
                }),
                None => value,
            };
            out.insert(a.name.clone(), value);
        }
        if let Some(s) = schema {
            for (name, a) in &s.attributes {
                if a.required && !out.contains_key(name) {
                    diags.push(
                        Diagnostic::error("Missing required argument")
                            .detail(format!(
                                "The argument {name:?} is required, but no definition was found."
                            ))
                            .at_opt(body.blocks.first().map(|b| b.span)),
                    );
                }
            }
        }
        let mut blocks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut unknown_blocks: Vec<String> = Vec::new();
        for b in &body.blocks {
            let (kind, is_dynamic) = if b.kind == "dynamic" {
                (b.labels.first().cloned().unwrap_or_default(), true)
            } else {
                (b.kind.clone(), false)
            };
            let nested = match schema {
                Some(s) => match s.blocks.get(&kind) {
                    Some(n) => Some(n),
                    None => {
                        diags.push(
                            Diagnostic::error("Unsupported block type")
                                .detail(format!("Blocks of type {kind:?} are not expected here."))
                                .at(b.span)
                                .help_opt(did_you_mean(&kind, s.blocks.keys().map(String::as_str))),
                        );
                        continue;
                    }
                },
                None => None,
            };
            let nested_schema = nested.map(|n| &n.block);
            if !is_dynamic {
                let v = self.body(&b.body, nested_schema, scope, bindings, diags);
                blocks.entry(kind).or_default().push(v);
                continue;
            }
            match self.dynamic_block(b, &kind, nested_schema, scope, bindings, diags) {
                Some(values) => blocks.entry(kind).or_default().extend(values),
                None => unknown_blocks.push(kind),
            }
        }
        for (kind, values) in blocks {
            let nesting = schema.and_then(|s| s.blocks.get(&kind)).map(|n| n.nesting);
            let v = match nesting {
                Some(Nesting::Single | Nesting::Group) => {
                    values.into_iter().next().unwrap_or_else(Value::null)
                }
                _ => Value::Tuple(values),
            };
            out.insert(kind, v);
        }
        for kind in unknown_blocks {
            out.insert(kind, Value::unknown());
        }
        Value::Object(out)
    }

    /// Expands a `dynamic` block: one block of content per element of `for_each`,
    /// with the iterator bound. `None` when `for_each` is unknown.
    pub(super) fn dynamic_block(
        &self,
        b: &crate::config::NestedBlock,
        kind: &str,
        schema: Option<&Schema>,
        scope: &InstanceScope,
        bindings: &mut Vec<(String, Value)>,
        diags: &mut Diagnostics,
    ) -> Option<Vec<Value>> {
        let mut for_each = None;
        let mut iterator = kind.to_string();
        for a in &b.body.attrs {
            match a.name.as_str() {
                "for_each" => for_each = Some(&a.expr),
                "iterator" => match &a.expr.expr {
                    hcl_edit::expr::Expression::Variable(v) => iterator = v.as_str().to_string(),
                    _ => diags.push(
                        Diagnostic::error("Invalid dynamic iterator name")
                            .detail("The iterator argument must be a single name, such as iterator = rule.")
                            .at_opt(a.expr.span()),
                    ),
                },
                "labels" => {}
                other => diags.push(
                    Diagnostic::error("Unsupported argument")
                        .detail(format!("An argument named {other:?} is not expected in a dynamic block."))
                        .at(a.name_span)
                        .help("A dynamic block takes for_each, iterator, labels and one content block."),
                ),
            }
        }
        let contents: Vec<&crate::config::NestedBlock> = b
            .body
            .blocks
            .iter()
            .filter(|c| c.kind == "content")
            .collect();
        for other in b.body.blocks.iter().filter(|c| c.kind != "content") {
            diags.push(
                Diagnostic::error("Unsupported block type")
                    .detail(format!("Blocks of type {:?} are not expected in a dynamic block; put them inside its content block.", other.kind))
                    .at(other.span),
            );
        }
        let Some(for_each) = for_each else {
            diags.push(
                Diagnostic::error("Missing required argument")
                    .detail("The argument \"for_each\" is required in a dynamic block.")
                    .at(b.span),
            );
            return Some(Vec::new());
        };
        let [content] = contents.as_slice() else {
            diags.push(
                Diagnostic::error(if contents.is_empty() {
                    "Missing content block"
                } else {
                    "Duplicate content block"
                })
                .detail("A dynamic block must have exactly one nested block of type \"content\".")
                .at(b.span),
            );
            return Some(Vec::new());
        };
        let mut ev = Evaluator::new(for_each.file, &self.sources.get(for_each.file).text, scope);
        for (n, v) in bindings.iter() {
            ev.bind(n, v.clone());
        }
        let collection = match ev.eval(&for_each.expr) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        let (collection, marked) = collection.unmark();
        let items: Vec<(Value, Value)> = match collection {
            Value::Unknown(_) => return None,
            Value::Null(_) => {
                diags.push(
                    Diagnostic::error("Invalid dynamic for_each value")
                        .detail("Cannot use a null value in for_each.")
                        .at_opt(for_each.span()),
                );
                return Some(Vec::new());
            }
            Value::List(_, e) | Value::Tuple(e) => e
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::number(i), v))
                .collect(),
            Value::Set(_, e) => e.into_iter().map(|v| (v.clone(), v)).collect(),
            Value::Map(_, m) | Value::Object(m) => {
                m.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
            }
            other => {
                diags.push(
                    Diagnostic::error("Invalid dynamic for_each value")
                        .detail(format!("Cannot use a {} value in for_each. An iterable collection is required.", other.ty().friendly_name()))
                        .at_opt(for_each.span()),
                );
                return Some(Vec::new());
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (k, v) in items {
            let it = Value::Object(
                [
                    ("key".to_string(), k.mark(marked)),
                    ("value".to_string(), v.mark(marked)),
                ]
                .into(),
            );
            bindings.push((iterator.clone(), it));
            out.push(self.body(&content.body, schema, scope, bindings, diags));
            bindings.pop();
        }
        Some(out)
    }
}

/// A body written in JSON with the arguments its schema calls nested blocks read as
/// those blocks; `None` when there are none.
fn json_schema_blocks(body: &Body, schema: &Schema) -> Option<Body> {
    let is_block = |a: &crate::config::Attr| {
        schema.blocks.contains_key(&a.name) && !schema.attributes.contains_key(&a.name)
    };
    if !body.attrs.iter().any(is_block) {
        return None;
    }
    let mut read = body.clone();
    read.json = false;
    read.attrs.clear();
    for a in &body.attrs {
        match is_block(a).then(|| crate::config::json_blocks(a)).flatten() {
            Some(blocks) => read.blocks.extend(blocks),
            None => read.attrs.push(a.clone()),
        }
    }
    Some(read)
}

#[cfg(test)]
mod tests {
    use super::json_schema_blocks;
    use crate::diag::Sources;
    use crate::schema::{AttributeSchema, NestedBlockSchema, Nesting, Schema};

    #[test]
    fn json_arguments_a_schema_calls_blocks_are_read_as_blocks() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("main.tf.json"),
            r#"{ "resource": { "x_thing": { "a": {
                "name": "n",
                "tags": { "k": "v" },
                "rule": [ { "port": 1 }, { "port": 2 } ],
                "single": { "on": true }
            } } } }"#,
        )
        .expect("write");
        let mut sources = Sources::default();
        let (config, diags) = crate::config::load_stack(dir.path(), &mut sources);
        assert!(diags.items.is_empty(), "{:?}", diags.items);
        let body = &config.root().resources[0].body;
        assert!(body.json);
        let ty = crate::lang::Type::String;
        let nested = |nesting| NestedBlockSchema {
            nesting,
            block: Schema::default(),
            min_items: 0,
            max_items: 0,
        };
        let schema = Schema {
            attributes: [
                ("name".to_string(), AttributeSchema::new(ty.clone())),
                ("tags".to_string(), AttributeSchema::new(ty)),
            ]
            .into(),
            blocks: [
                ("rule".to_string(), nested(Nesting::List)),
                ("single".to_string(), nested(Nesting::Single)),
            ]
            .into(),
            ..Schema::default()
        };
        let read = json_schema_blocks(body, &schema).expect("blocks read");
        let attrs: Vec<_> = read.attrs.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(attrs, ["name", "tags"]);
        let blocks: Vec<_> = read.blocks.iter().map(|b| b.kind.as_str()).collect();
        assert_eq!(blocks, ["rule", "rule", "single"]);
        assert_eq!(read.blocks[1].body.attrs[0].name, "port");
    }
}
