//! Type constraint expressions: `string`, `list(number)`, `object({ name = string,
//! size = optional(number, 1) })`, as written in a variable's `type` argument.

use std::collections::BTreeMap;

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::Span as _;

use super::model::Expr;
use crate::diag::{did_you_mean, Diagnostic, Span};
use crate::lang::types::AttributeConstraint;
use crate::lang::{Constraint, Value};

const KEYWORDS: [&str; 10] = [
    "string", "number", "bool", "any", "list", "set", "map", "object", "tuple", "optional",
];

/// Reads a type constraint. `default_of` evaluates an `optional(type, default)`
/// default, which must be a constant.
pub fn parse_constraint(
    expr: &Expr,
    default_of: &dyn Fn(&Expr) -> Result<Value, Diagnostic>,
) -> Result<Constraint, Diagnostic> {
    parse(&expr.expr, expr, default_of, false).map(|(c, _)| c)
}

fn span(e: &Expression, ctx: &Expr) -> Option<Span> {
    e.span().map(|r| Span::new(ctx.file, r))
}

fn invalid(e: &Expression, ctx: &Expr, detail: String) -> Diagnostic {
    Diagnostic::error("Invalid type specification")
        .detail(detail)
        .at_opt(span(e, ctx))
}

type Parsed = (Constraint, Option<(bool, Option<Value>)>);

fn parse(
    e: &Expression,
    ctx: &Expr,
    default_of: &dyn Fn(&Expr) -> Result<Value, Diagnostic>,
    in_object: bool,
) -> Result<Parsed, Diagnostic> {
    match e {
        Expression::Parenthesis(p) => parse(p.inner(), ctx, default_of, in_object),
        Expression::Variable(v) => match v.as_str() {
            "string" => Ok((Constraint::String, None)),
            "number" => Ok((Constraint::Number, None)),
            "bool" => Ok((Constraint::Bool, None)),
            "any" => Ok((Constraint::Any, None)),
            // Terraform 0.11's bare `list` and `map` are still read, as list(any) and
            // map(any); `set` never had that form.
            "list" => Ok((Constraint::List(Box::new(Constraint::Any)), None)),
            "map" => Ok((Constraint::Map(Box::new(Constraint::Any)), None)),
            "set" | "object" | "tuple" => Err(invalid(
                e,
                ctx,
                format!("The {} type constructor requires one argument specifying the element type.", v.as_str()),
            )),
            other => Err(invalid(e, ctx, format!("The keyword {other:?} is not a valid type specification."))
                .help_opt(did_you_mean(other, KEYWORDS))),
        },
        Expression::String(s) => {
            let quoted = s.value().as_str();
            let instead = match quoted {
                "list" | "map" => format!(" and write {quoted}(string) instead to explicitly indicate that the {quoted} elements are strings"),
                _ => String::new(),
            };
            Err(Diagnostic::error("Invalid quoted type constraints")
                .detail(format!(
                    "Terraform 0.11 and earlier required type constraints to be given in quotes, but that form is now deprecated and will be removed in a future version of Terraform. Remove the quotes around {quoted:?}{instead}."
                ))
                .at_opt(span(e, ctx)))
        }
        Expression::FuncCall(call) => {
            let name = call.name.name.as_str();
            let args: Vec<&Expression> = call.args.iter().collect();
            let one = |args: &[&Expression]| -> Result<Constraint, Diagnostic> {
                match args {
                    [a] => parse(a, ctx, default_of, false).map(|(c, _)| c),
                    _ => Err(invalid(e, ctx, format!("The {name} type constructor requires one argument specifying the element type."))),
                }
            };
            match name {
                "list" => Ok((Constraint::List(Box::new(one(&args)?)), None)),
                "set" => Ok((Constraint::Set(Box::new(one(&args)?)), None)),
                "map" => Ok((Constraint::Map(Box::new(one(&args)?)), None)),
                "tuple" => match args.as_slice() {
                    [Expression::Array(items)] => {
                        let mut out = Vec::new();
                        for item in items.iter() {
                            out.push(parse(item, ctx, default_of, false)?.0);
                        }
                        Ok((Constraint::Tuple(out), None))
                    }
                    _ => Err(invalid(e, ctx, "The tuple type constructor requires one argument specifying the element types as a list.".into())),
                },
                "object" => match args.as_slice() {
                    [Expression::Object(obj)] => {
                        let mut attrs = BTreeMap::new();
                        for (k, v) in obj.iter() {
                            let key = match k {
                                ObjectKey::Ident(id) => id.as_str().to_string(),
                                ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                                ObjectKey::Expression(Expression::Variable(id)) => id.as_str().to_string(),
                                ObjectKey::Expression(other) => {
                                    return Err(invalid(other, ctx, "Object constructor map keys must be attribute names.".into()))
                                }
                            };
                            let (constraint, opt) = parse(v.expr(), ctx, default_of, true)?;
                            let (optional, default) = opt.unwrap_or((false, None));
                            attrs.insert(key, AttributeConstraint { constraint, optional, default });
                        }
                        Ok((Constraint::Object(attrs), None))
                    }
                    _ => Err(invalid(e, ctx, "The object type constructor requires one argument specifying the attribute types as a map.".into())),
                },
                "optional" if in_object => match args.as_slice() {
                    [t] => Ok((parse(t, ctx, default_of, false)?.0, Some((true, None)))),
                    [t, d] => {
                        let c = parse(t, ctx, default_of, false)?.0;
                        let value = default_of(&Expr { file: ctx.file, expr: (*d).clone() })?;
                        let value = crate::lang::convert::convert(value, &c).map_err(|err| {
                            invalid(d, ctx, format!("Invalid default value for optional attribute: {err}."))
                        })?;
                        Ok((c, Some((true, Some(value)))))
                    }
                    _ => Err(invalid(e, ctx, "The optional modifier takes a type and, optionally, a default value.".into())),
                },
                "optional" => Err(invalid(e, ctx, "Keyword \"optional\" is valid only as a modifier for object type attributes.".into())),
                other => Err(invalid(e, ctx, format!("Keyword {other:?} is not a valid type constructor."))
                    .help_opt(did_you_mean(other, KEYWORDS))),
            }
        }
        _ => Err(invalid(e, ctx, "A type specification is either a primitive type keyword (bool, number, string), a type constructor call, or \"any\".".into())),
    }
}
