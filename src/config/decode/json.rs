//! Terraform's JSON configuration syntax (`*.tf.json`), read into the same
//! `TopBlock`s as native files. A JSON document is also an HCL object expression
//! (`"key": value` is HCL object syntax, and a JSON string is an HCL template), so the
//! file is checked to be JSON and then parsed by hcl-edit as one expression, keeping
//! every span in the JSON text. Then: the root object's keys are block types; a
//! block's labels are nested object keys, down to its body object, and an array of
//! objects at any of those levels is several blocks; `"//"` properties are comments.
//! Inside a body, the nested block types the language defines (`lifecycle`,
//! `provisioner`, `dynamic`, `validation`, …) are blocks and every other property is
//! an argument; a resource's or provider's own nested blocks can only be told from
//! arguments by its schema, so such bodies are marked `json` and the walk reads an
//! object-valued argument the schema calls a block as that block
//! ([`json_blocks`]). Arguments whose strings Terraform reads as expressions
//! (`depends_on`, `provider`, `type`, `ignore_changes`, `moved`'s `from`/`to`, …) are
//! re-parsed from the string's text.

use hcl_edit::expr::{Expression, Object, ObjectKey};
use hcl_edit::Span as _;

use super::{Decoder, TopBlock};
use crate::config::model::*;
use crate::diag::{Diagnostic, FileId, Span};

/// How many labels a block type written in JSON has, where it is a block: top-level
/// blocks, then the nested blocks the language itself defines, by the kind of the
/// block they are in.
fn nested_block_labels(parent: &str, kind: &str) -> Option<usize> {
    match (parent, kind) {
        ("resource" | "data", "lifecycle" | "connection") => Some(0),
        ("resource", "provisioner") => Some(1),
        ("resource" | "data" | "provider" | "dynamic", "dynamic") => Some(1),
        ("dynamic", "content") => Some(0),
        ("lifecycle", "precondition" | "postcondition") => Some(0),
        ("provisioner", "connection") => Some(0),
        ("variable", "validation") => Some(0),
        ("output", "precondition") => Some(0),
        ("check", "assert") => Some(0),
        ("check", "data") => Some(2),
        ("removed", "lifecycle") => Some(0),
        ("removed", "provisioner") => Some(1),
        ("terraform" | "plinth", "required_providers" | "cloud") => Some(0),
        ("terraform" | "plinth", "backend" | "provider_meta") => Some(1),
        _ => None,
    }
}

/// Bodies whose other object-valued properties may be nested blocks of a schema.
fn schema_body(kind: &str) -> bool {
    matches!(
        kind,
        "resource" | "data" | "provider" | "dynamic" | "content" | "schema"
    )
}

/// Arguments whose string values Terraform reads as expressions, not templates.
fn expression_in_string(parent: &str, name: &str) -> bool {
    matches!(
        (parent, name),
        (_, "depends_on")
            | ("resource" | "data" | "import", "provider")
            | ("variable", "type")
            | ("lifecycle", "ignore_changes" | "replace_triggered_by")
            | ("moved", "from" | "to")
            | ("removed", "from")
            | ("import", "to")
            | ("module", "providers")
    )
}

fn key_text(key: &ObjectKey) -> Option<String> {
    match key {
        ObjectKey::Ident(id) => Some(id.as_str().to_string()),
        ObjectKey::Expression(Expression::String(s)) => Some(s.value().to_string()),
        ObjectKey::Expression(_) => None,
    }
}

fn key_span(key: &ObjectKey, file: FileId) -> Option<Span> {
    let range = match key {
        ObjectKey::Ident(id) => id.span(),
        ObjectKey::Expression(e) => e.span(),
    };
    range.map(|r| Span::new(file, r))
}

impl Decoder<'_> {
    /// The top-level blocks of a JSON file, parsed by the loader as one expression.
    pub(in crate::config) fn json_top_blocks(
        &mut self,
        file: FileId,
        root: Expression,
    ) -> Vec<TopBlock> {
        let whole = root
            .span()
            .map(|r| Span::new(file, r))
            .unwrap_or(Span::new(file, 0..0));
        let Expression::Object(root) = root else {
            self.diags.push(
                Diagnostic::error("Invalid JSON configuration")
                    .detail("The root of a JSON configuration file must be an object whose properties are block types.")
                    .at(whole),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in root.iter() {
            let Some(kind) = key_text(key) else { continue };
            if kind == "//" {
                continue;
            }
            let span = key_span(key, file).unwrap_or(whole);
            let labels = match kind.as_str() {
                "resource" | "data" => 2,
                "provider" | "variable" | "output" | "module" | "check" => 1,
                _ => 0,
            };
            let mut found = Vec::new();
            self.json_labelled(
                file,
                &kind,
                value.expr(),
                labels,
                &mut Vec::new(),
                span,
                &mut found,
            );
            for (labels, label_spans, body_expr) in found {
                let header = label_spans.last().copied().unwrap_or(span);
                let body = self.json_body(file, &kind, &body_expr, header);
                out.extend(self.checked_top_block(kind.clone(), labels, label_spans, header, body));
            }
        }
        out
    }

    /// Walks `remaining` levels of label objects (arrays of them allowed at any
    /// level) down to block bodies, collecting each with its labels.
    #[allow(clippy::too_many_arguments)]
    fn json_labelled(
        &mut self,
        file: FileId,
        kind: &str,
        value: &Expression,
        remaining: usize,
        labels: &mut Vec<(String, Span)>,
        at: Span,
        out: &mut Vec<(Vec<String>, Vec<Span>, Expression)>,
    ) {
        match value {
            Expression::Array(items) => {
                for item in items.iter() {
                    self.json_labelled(file, kind, item, remaining, labels, at, out);
                }
            }
            Expression::Object(obj) if remaining > 0 => {
                for (key, v) in obj.iter() {
                    let Some(label) = key_text(key) else { continue };
                    if label == "//" {
                        continue;
                    }
                    labels.push((label, key_span(key, file).unwrap_or(at)));
                    self.json_labelled(file, kind, v.expr(), remaining - 1, labels, at, out);
                    labels.pop();
                }
            }
            Expression::Object(_) => out.push((
                labels.iter().map(|(l, _)| l.clone()).collect(),
                labels.iter().map(|(_, s)| *s).collect(),
                value.clone(),
            )),
            other => self.diags.push(
                Diagnostic::error("Incorrect JSON value type")
                    .detail(format!(
                        "A {kind} block in JSON must be an object{}.",
                        if remaining > 0 {
                            " whose properties are its labels"
                        } else {
                            ""
                        }
                    ))
                    .at_opt(other.span().map(|r| Span::new(file, r)))
                    .at_opt(Some(at)),
            ),
        }
    }

    /// One block body written as a JSON object.
    fn json_body(&mut self, file: FileId, kind: &str, value: &Expression, at: Span) -> Body {
        let mut body = Body {
            json: schema_body(kind),
            ..Body::default()
        };
        let Expression::Object(obj) = value else {
            self.diags.push(
                Diagnostic::error("Incorrect JSON value type")
                    .detail(format!("The body of a {kind} block must be a JSON object."))
                    .at_opt(value.span().map(|r| Span::new(file, r)))
                    .at_opt(Some(at)),
            );
            return body;
        };
        self.json_properties(file, kind, obj, at, &mut body);
        body
    }

    fn json_properties(
        &mut self,
        file: FileId,
        kind: &str,
        obj: &Object,
        at: Span,
        body: &mut Body,
    ) {
        for (key, v) in obj.iter() {
            let Some(name) = key_text(key) else { continue };
            if name == "//" {
                continue;
            }
            let name_span = key_span(key, file).unwrap_or(at);
            if let Some(labels) = nested_block_labels(kind, &name) {
                let mut found = Vec::new();
                self.json_labelled(
                    file,
                    &name,
                    v.expr(),
                    labels,
                    &mut Vec::new(),
                    name_span,
                    &mut found,
                );
                for (labels, _, expr) in found {
                    let nested = self.json_body(file, &name, &expr, name_span);
                    body.blocks.push(NestedBlock {
                        kind: name.clone(),
                        labels,
                        span: name_span,
                        body: nested,
                    });
                }
                continue;
            }
            let mut expr = v.expr().clone();
            if expression_in_string(kind, &name) {
                expr = self.expressions_in_strings(file, expr);
            }
            if let Some(previous) = body.attrs.iter().find(|a| a.name == name) {
                self.diags.push(
                    Diagnostic::error("Attribute redefined")
                        .detail(format!(
                            "The argument {name:?} was already set at {}. Each argument may be set only once.",
                            self.sources.location(previous.name_span)
                        ))
                        .at(name_span),
                );
                continue;
            }
            body.attrs.push(Attr {
                name,
                name_span,
                expr: Expr { file, expr },
            });
        }
    }

    /// `"aws_instance.x"` read as the expression `aws_instance.x`, in arrays and
    /// object values too, with spans in the file's text.
    fn expressions_in_strings(&mut self, file: FileId, expr: Expression) -> Expression {
        match expr {
            Expression::String(_) | Expression::StringTemplate(_) => {
                let Some(range) = expr.span() else {
                    return expr;
                };
                match super::attrs::reparse_string(&self.sources.get(file).text, range.clone()) {
                    Ok(parsed) => parsed,
                    Err(e) => {
                        self.diags.push(
                            Diagnostic::error("Invalid expression")
                                .detail(format!(
                                    "This string must hold an expression: {}",
                                    e.message()
                                ))
                                .at(Span::new(file, range)),
                        );
                        expr
                    }
                }
            }
            Expression::Array(mut items) => {
                for item in items.iter_mut() {
                    let taken =
                        std::mem::replace(item, Expression::Null(hcl_edit::expr::Null.into()));
                    *item = self.expressions_in_strings(file, taken);
                }
                Expression::Array(items)
            }
            Expression::Object(mut obj) => {
                for (_, v) in obj.iter_mut() {
                    let taken = std::mem::replace(
                        v.expr_mut(),
                        Expression::Null(hcl_edit::expr::Null.into()),
                    );
                    *v.expr_mut() = self.expressions_in_strings(file, taken);
                }
                Expression::Object(obj)
            }
            other => other,
        }
    }
}

/// The nested blocks a JSON argument stands for, where a schema says `attr` is a
/// block type: one block for an object, one per element for an array of objects.
pub fn json_blocks(attr: &Attr) -> Option<Vec<NestedBlock>> {
    let objects: Vec<&Object> = match &attr.expr.expr {
        Expression::Object(o) => vec![o],
        Expression::Array(items) => items
            .iter()
            .map(|i| match i {
                Expression::Object(o) => Some(o),
                _ => None,
            })
            .collect::<Option<_>>()?,
        _ => return None,
    };
    let file = attr.expr.file;
    Some(
        objects
            .into_iter()
            .map(|o| {
                let mut body = Body {
                    json: true,
                    ..Body::default()
                };
                for (key, v) in o.iter() {
                    let Some(name) = key_text(key) else { continue };
                    if name == "//" {
                        continue;
                    }
                    body.attrs.push(Attr {
                        name,
                        name_span: key_span(key, file).unwrap_or(attr.name_span),
                        expr: Expr {
                            file,
                            expr: v.expr().clone(),
                        },
                    });
                }
                NestedBlock {
                    kind: attr.name.clone(),
                    labels: Vec::new(),
                    span: attr.name_span,
                    body,
                }
            })
            .collect(),
    )
}
