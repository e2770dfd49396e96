//! References: what a traversal such as `var.region`, `module.pool["a100"].name` or
//! `aws_instance.gpu[0].id` points at. The graph builder collects them to draw edges;
//! the evaluator resolves them to values. Both read them with [`parse_reference`].

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::{Decorated, Span as _};

use crate::diag::{Diagnostic, FileId, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceMode {
    Managed,
    Data,
}

/// The thing a reference names, before any further attribute access or indexing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Var(String),
    Local(String),
    Resource {
        mode: ResourceMode,
        type_name: String,
        name: String,
    },
    ModuleCall(String),
    CountIndex,
    EachKey,
    EachValue,
    /// `path.module`, `path.root` or `path.cwd`.
    Path(String),
    TerraformWorkspace,
    SelfObject,
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Var(n) => write!(f, "var.{n}"),
            Subject::Local(n) => write!(f, "local.{n}"),
            Subject::Resource {
                mode: ResourceMode::Managed,
                type_name,
                name,
            } => write!(f, "{type_name}.{name}"),
            Subject::Resource {
                mode: ResourceMode::Data,
                type_name,
                name,
            } => write!(f, "data.{type_name}.{name}"),
            Subject::ModuleCall(n) => write!(f, "module.{n}"),
            Subject::CountIndex => f.write_str("count.index"),
            Subject::EachKey => f.write_str("each.key"),
            Subject::EachValue => f.write_str("each.value"),
            Subject::Path(a) => write!(f, "path.{a}"),
            Subject::TerraformWorkspace => f.write_str("terraform.workspace"),
            Subject::SelfObject => f.write_str("self"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub subject: Subject,
    /// Where the reference is written, up to and including the subject.
    pub span: Span,
    /// How many traversal operators the subject itself took (`var.x` takes one).
    pub ops_consumed: usize,
    /// For a module call, the output named right after it (`module.m.out`, or
    /// `module.m["k"].out`).
    pub output: Option<String>,
}

pub type Ops = [Decorated<TraversalOperator>];

fn attr(ops: &Ops, i: usize) -> Option<(&str, Option<std::ops::Range<usize>>)> {
    match ops.get(i).map(|op| (op.value(), op.span())) {
        Some((TraversalOperator::GetAttr(name), span)) => Some((name.as_str(), span)),
        _ => None,
    }
}

/// Reads the reference at the root of a traversal. `root_span` is the root name's span.
pub fn parse_reference(
    root: &str,
    root_span: Span,
    ops: &Ops,
    file: FileId,
) -> Result<Reference, Diagnostic> {
    let extend = |n: usize| -> Span {
        let mut span = root_span;
        for op in ops.iter().take(n) {
            if let Some(r) = op.span() {
                span = span.to(Span::new(file, r));
            }
        }
        span
    };
    let invalid = |detail: String| {
        Diagnostic::error("Invalid reference")
            .detail(detail)
            .at(extend(1.min(ops.len())))
    };
    let one = |make: fn(String) -> Subject, what: &str| -> Result<Reference, Diagnostic> {
        match attr(ops, 0) {
            Some((name, _)) => Ok(Reference {
                subject: make(name.to_string()),
                span: extend(1),
                ops_consumed: 1,
                output: None,
            }),
            None => Err(invalid(format!(
                "The \"{root}\" object cannot be accessed directly. Instead, access one of its attributes{what}."
            ))),
        }
    };
    let fixed = |allowed: &[(&str, Subject)]| -> Result<Reference, Diagnostic> {
        let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
        match attr(ops, 0) {
            Some((name, span)) => match allowed.iter().find(|(n, _)| *n == name) {
                Some((_, subject)) => Ok(Reference {
                    subject: subject.clone(),
                    span: extend(1),
                    ops_consumed: 1,
                    output: None,
                }),
                None => Err(Diagnostic::error(format!("Invalid \"{root}\" attribute"))
                    .detail(format!(
                        "The \"{root}\" object does not have an attribute named {name:?}."
                    ))
                    .at(span.map_or(extend(1), |r| Span::new(file, r)))
                    .help(format!("Valid attributes are: {}.", names.join(", ")))),
            },
            None => Err(invalid(format!(
                "The \"{root}\" object cannot be accessed directly. Valid attributes are: {}.",
                names.join(", ")
            ))),
        }
    };
    match root {
        "var" => one(Subject::Var, " (input variable names)"),
        "local" => one(Subject::Local, " (local value names)"),
        "module" => {
            let Some((name, _)) = attr(ops, 0) else {
                return Err(invalid(
                    "The \"module\" object cannot be accessed directly. Instead, access one of its attributes (module call names).".into(),
                ));
            };
            let mut next = 1;
            if matches!(
                ops.get(1).map(|o| o.value()),
                Some(TraversalOperator::Index(_) | TraversalOperator::LegacyIndex(_))
            ) {
                next = 2;
            }
            Ok(Reference {
                subject: Subject::ModuleCall(name.to_string()),
                span: extend(1),
                ops_consumed: 1,
                output: attr(ops, next).map(|(n, _)| n.to_string()),
            })
        }
        "data" => match (attr(ops, 0), attr(ops, 1)) {
            (Some((t, _)), Some((n, _))) => Ok(Reference {
                subject: Subject::Resource {
                    mode: ResourceMode::Data,
                    type_name: t.to_string(),
                    name: n.to_string(),
                },
                span: extend(2),
                ops_consumed: 2,
                output: None,
            }),
            _ => Err(invalid(
                "The \"data\" object must be followed by two attribute names: the data source type and the resource name.".into(),
            )),
        },
        "count" => fixed(&[("index", Subject::CountIndex)]),
        "each" => fixed(&[("key", Subject::EachKey), ("value", Subject::EachValue)]),
        "path" => fixed(&[
            ("module", Subject::Path("module".into())),
            ("root", Subject::Path("root".into())),
            ("cwd", Subject::Path("cwd".into())),
        ]),
        "terraform" => fixed(&[("workspace", Subject::TerraformWorkspace)]),
        "self" => Ok(Reference {
            subject: Subject::SelfObject,
            span: root_span,
            ops_consumed: 0,
            output: None,
        }),
        type_name => match attr(ops, 0) {
            Some((name, _)) => Ok(Reference {
                subject: Subject::Resource {
                    mode: ResourceMode::Managed,
                    type_name: type_name.to_string(),
                    name: name.to_string(),
                },
                span: extend(1),
                ops_consumed: 1,
                output: None,
            }),
            None => Err(Diagnostic::error("Invalid reference")
                .detail(format!(
                    "A reference to a resource type must be followed by at least one attribute access, specifying the resource name. There is no variable named {type_name:?} here."
                ))
                .at(root_span)),
        },
    }
}

/// Collects every reference in an expression (for graph edges), skipping names bound
/// by enclosing `for` expressions and the iterator names in `shadow`. References that
/// do not parse are left for the evaluator to report.
pub fn collect_references(
    expr: &Expression,
    file: FileId,
    shadow: &mut Vec<String>,
    out: &mut Vec<Reference>,
) {
    visit_references(expr, file, shadow, &mut |r, _| out.push(r));
}

/// Calls `out` with every reference in an expression and the traversal operators
/// written after its root (the subject's own among them), skipping names bound by
/// enclosing `for` expressions and the iterator names in `shadow`.
pub fn visit_references(
    expr: &Expression,
    file: FileId,
    shadow: &mut Vec<String>,
    out: &mut dyn FnMut(Reference, &Ops),
) {
    walk_references(expr, file, shadow, &mut |r, ops| {
        if let Ok(r) = r {
            out(r, ops)
        }
    });
}

/// Like [`visit_references`], and also calls `out` with the error of each reference
/// that does not parse (`each.val`, `count.idx`), for checks made before evaluation.
pub fn walk_references(
    expr: &Expression,
    file: FileId,
    shadow: &mut Vec<String>,
    out: &mut dyn FnMut(Result<Reference, Diagnostic>, &Ops),
) {
    let span_of = |e: &dyn hcl_edit::Span| e.span().map(|r| Span::new(file, r));
    match expr {
        Expression::Null(_)
        | Expression::Bool(_)
        | Expression::Number(_)
        | Expression::String(_) => {}
        Expression::Array(a) => {
            for e in a.iter() {
                walk_references(e, file, shadow, out);
            }
        }
        Expression::Object(o) => {
            for (k, v) in o.iter() {
                if let Some(k) = k.as_expr() {
                    walk_references(k, file, shadow, out);
                }
                walk_references(v.expr(), file, shadow, out);
            }
        }
        Expression::StringTemplate(t) => walk_template(t, file, shadow, out),
        Expression::HeredocTemplate(h) => walk_template(&h.template, file, shadow, out),
        Expression::Parenthesis(p) => walk_references(p.inner(), file, shadow, out),
        Expression::Variable(v) => {
            if !shadow.iter().any(|s| s == v.as_str()) {
                if let Some(span) = span_of(v) {
                    out(parse_reference(v.as_str(), span, &[], file), &[]);
                }
            }
        }
        Expression::Conditional(c) => {
            walk_references(&c.cond_expr, file, shadow, out);
            walk_references(&c.true_expr, file, shadow, out);
            walk_references(&c.false_expr, file, shadow, out);
        }
        Expression::FuncCall(f) => {
            for a in f.args.iter() {
                walk_references(a, file, shadow, out);
            }
        }
        Expression::Traversal(t) => {
            match &t.expr {
                Expression::Variable(v) if !shadow.iter().any(|s| s == v.as_str()) => {
                    if let Some(span) = span_of(v) {
                        out(
                            parse_reference(v.as_str(), span, &t.operators, file),
                            &t.operators,
                        );
                    }
                }
                other => walk_references(other, file, shadow, out),
            }
            for op in &t.operators {
                if let TraversalOperator::Index(e) = op.value() {
                    walk_references(e, file, shadow, out);
                }
            }
        }
        Expression::UnaryOp(u) => walk_references(&u.expr, file, shadow, out),
        Expression::BinaryOp(b) => {
            walk_references(&b.lhs_expr, file, shadow, out);
            walk_references(&b.rhs_expr, file, shadow, out);
        }
        Expression::ForExpr(f) => {
            walk_references(&f.intro.collection_expr, file, shadow, out);
            let before = shadow.len();
            if let Some(k) = &f.intro.key_var {
                shadow.push(k.as_str().to_string());
            }
            shadow.push(f.intro.value_var.as_str().to_string());
            if let Some(k) = &f.key_expr {
                walk_references(k, file, shadow, out);
            }
            walk_references(&f.value_expr, file, shadow, out);
            if let Some(c) = &f.cond {
                walk_references(&c.expr, file, shadow, out);
            }
            shadow.truncate(before);
        }
    }
}

fn walk_template(
    t: &Template,
    file: FileId,
    shadow: &mut Vec<String>,
    out: &mut dyn FnMut(Result<Reference, Diagnostic>, &Ops),
) {
    for element in t.iter() {
        match element {
            Element::Literal(_) => {}
            Element::Interpolation(i) => walk_references(&i.expr, file, shadow, out),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(i) => {
                    walk_references(&i.if_expr.cond_expr, file, shadow, out);
                    walk_template(&i.if_expr.template, file, shadow, out);
                    if let Some(e) = &i.else_expr {
                        walk_template(&e.template, file, shadow, out);
                    }
                }
                Directive::For(f) => {
                    walk_references(&f.for_expr.collection_expr, file, shadow, out);
                    let before = shadow.len();
                    if let Some(k) = &f.for_expr.key_var {
                        shadow.push(k.as_str().to_string());
                    }
                    shadow.push(f.for_expr.value_var.as_str().to_string());
                    walk_template(&f.for_expr.template, file, shadow, out);
                    shadow.truncate(before);
                }
            },
        }
    }
}
