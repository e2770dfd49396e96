//! The functions of Terraform's built-in `terraform` provider (Terraform 1.8), called
//! as `provider::terraform::NAME` without any `required_providers` entry:
//! `encode_tfvars`, `decode_tfvars` and `encode_expr`. Values are written as
//! Terraform writes them (hclwrite's layout): one object attribute a line, nested
//! objects indented two spaces, the `=` of consecutive one-line attributes aligned.

use std::collections::{BTreeMap, HashMap};

use super::{fixed, p, unknown_ok, FnError, Function, Param};
use crate::lang::eval::{Evaluator, Scope};
use crate::lang::refs::Reference;
use crate::lang::types::{Constraint, Type};
use crate::lang::value::Value;

/// Every name is namespaced: `provider::terraform::` and the function.
pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    let any = || Param {
        allow_null: true,
        ..unknown_ok("value", Constraint::Any)
    };
    t.insert(
        "provider::terraform::encode_tfvars",
        fixed([any()], |_| Type::String, encode_tfvars),
    );
    t.insert(
        "provider::terraform::encode_expr",
        fixed([any()], |_| Type::String, encode_expr),
    );
    t.insert(
        "provider::terraform::decode_tfvars",
        fixed(
            [p("src", Constraint::String)],
            |_| Type::Dynamic,
            decode_tfvars,
        ),
    );
}

fn encode_tfvars(args: &[Value]) -> Result<Value, FnError> {
    let v = &args[0];
    if v.is_null() {
        return Err(FnError::arg(
            0,
            "cannot encode a null value in tfvars syntax",
        ));
    }
    if !v.is_wholly_known() {
        return Ok(Value::Unknown(Type::String));
    }
    let (Value::Map(_, entries) | Value::Object(entries)) = v.peel().0 else {
        return Err(FnError::arg(0, "invalid value to encode: must be an object whose attribute names will become the encoded variable names"));
    };
    let mut raw = String::new();
    for (name, value) in entries {
        if !hcl_primitives::ident::is_ident(name) {
            return Err(FnError::arg(0, format!("invalid variable name {name:?}: must be a valid identifier, per Terraform's rules for input variable declarations")));
        }
        raw.push_str(name);
        raw.push_str(" = ");
        raw_expression(value, &mut raw);
        raw.push('\n');
    }
    Ok(Value::String(layout(&raw)))
}

fn encode_expr(args: &[Value]) -> Result<Value, FnError> {
    if !args[0].is_wholly_known() {
        return Ok(Value::Unknown(Type::String));
    }
    let mut raw = String::new();
    raw_expression(&args[0], &mut raw);
    Ok(Value::String(layout(&raw).trim().to_string()))
}

/// A tfvars file's arguments as an object; the values are constants (no
/// references, no function calls), as in a `.tfvars` file.
fn decode_tfvars(args: &[Value]) -> Result<Value, FnError> {
    let Some(src) = args[0].as_str() else {
        return Err(FnError::arg(0, "argument must be a string"));
    };
    let body = hcl_edit::parser::parse_body(src)
        .map_err(|e| FnError::arg(0, format!("invalid tfvars syntax: {e}")))?;
    let mut out = BTreeMap::new();
    for structure in body.iter() {
        let Some(attr) = structure.as_attribute() else {
            return Err(FnError::arg(
                0,
                "invalid tfvars content: blocks are not allowed in a tfvars file",
            ));
        };
        let name = attr.key.as_str();
        let invalid = |detail: String| {
            FnError::arg(
                0,
                format!("invalid expression for variable {name:?}: {detail}"),
            )
        };
        if calls_a_function(&attr.value) {
            return Err(invalid("Functions may not be called here.".into()));
        }
        let value = Evaluator::new(u32::MAX, src, &Constants)
            .eval(&attr.value)
            .map_err(|d| invalid(format!("{} {}", d.summary, d.detail).trim().to_string()))?;
        out.insert(name.to_string(), value);
    }
    Ok(Value::Object(out))
}

struct Constants;

impl Scope for Constants {
    fn resolve(&self, reference: &Reference) -> Result<Value, crate::diag::Diagnostic> {
        Err(crate::diag::Diagnostic::error("Variables not allowed")
            .detail("Variables may not be used here.")
            .at(reference.span))
    }
}

fn calls_a_function(e: &hcl_edit::expr::Expression) -> bool {
    use hcl_edit::expr::Expression as E;
    match e {
        E::FuncCall(_) => true,
        E::Array(a) => a.iter().any(calls_a_function),
        E::Object(o) => o
            .iter()
            .any(|(k, v)| k.as_expr().is_some_and(calls_a_function) || calls_a_function(v.expr())),
        E::Parenthesis(p) => calls_a_function(p.inner()),
        E::Conditional(c) => [&c.cond_expr, &c.true_expr, &c.false_expr]
            .into_iter()
            .any(calls_a_function),
        E::UnaryOp(u) => calls_a_function(&u.expr),
        E::BinaryOp(b) => calls_a_function(&b.lhs_expr) || calls_a_function(&b.rhs_expr),
        E::Traversal(t) => calls_a_function(&t.expr),
        E::ForExpr(f) => calls_a_function(&f.intro.collection_expr),
        _ => false,
    }
}

/// `v` written as an expression, each object attribute on a line of its own, before
/// [`layout`] indents and aligns the lines.
pub(crate) fn raw_expression(v: &Value, out: &mut String) {
    match v.peel().0 {
        Value::Null(_) | Value::Unknown(_) | Value::Sensitive(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => quoted(s, out),
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                raw_expression(item, out);
            }
            out.push(']');
        }
        Value::Map(_, entries) | Value::Object(entries) if entries.is_empty() => out.push_str("{}"),
        Value::Map(_, entries) | Value::Object(entries) => {
            out.push_str("{\n");
            for (key, value) in entries {
                if hcl_primitives::ident::is_ident(key) {
                    out.push_str(key);
                } else {
                    quoted(key, out);
                }
                out.push_str(" = ");
                raw_expression(value, out);
                out.push('\n');
            }
            out.push('}');
        }
    }
}

/// A quoted string literal: quotes, backslashes and control characters escaped, and
/// `${` and `%{` doubled so that they are not read as templates.
fn quoted(s: &str, out: &mut String) {
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' | '%' => {
                out.push(c);
                if chars.peek() == Some(&'{') {
                    out.push(c);
                }
            }
            c if c.is_control() => {
                let code = c as u32;
                if code < 0x10000 {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One line of [`raw_expression`]'s output: the bracket balance it changes, and,
/// for an attribute whose value ends on the same line, where its `=` is.
struct Line<'a> {
    text: &'a str,
    net: i32,
    assign: Option<usize>,
}

fn scan(text: &str) -> Line<'_> {
    let (mut net, mut in_string, mut escaped) = (0, false, false);
    let mut equals = None;
    for (i, b) in text.bytes().enumerate() {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'[' | b'{' | b'(') => net += 1,
            (false, _, b']' | b'}' | b')') => net -= 1,
            (false, _, b'=') if equals.is_none() && i > 0 => equals = Some((i, net)),
            _ => {}
        }
    }
    // Only a value that closes every bracket it opens joins an alignment group.
    let assign = equals.and_then(|(i, before)| (net == before).then_some(i));
    Line { text, net, assign }
}

/// Indents and aligns lines as Terraform's writer does: a line that opens brackets
/// indents what follows by one level however many it opens, closing them returns
/// to that level, and consecutive one-line attributes align their `=`.
fn layout(raw: &str) -> String {
    let lines: Vec<Line> = raw.split('\n').map(scan).collect();
    let mut indents: Vec<i32> = Vec::new();
    let mut depths = Vec::with_capacity(lines.len());
    for line in &lines {
        if line.net > 0 {
            depths.push(indents.len());
            indents.push(line.net);
            continue;
        }
        let mut closed = -line.net;
        while closed > 0 {
            let Some(last) = indents.last_mut() else {
                break;
            };
            if closed >= *last {
                closed -= *last;
                indents.pop();
            } else {
                *last -= closed;
                closed = 0;
            }
        }
        depths.push(indents.len());
    }
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let chain_end = (i..lines.len())
            .find(|&j| lines[j].assign.is_none())
            .unwrap_or(lines.len());
        if chain_end == i {
            push_line(&mut out, depths[i], lines[i].text, None);
            i += 1;
            continue;
        }
        let width = (i..chain_end)
            .filter_map(|j| {
                lines[j]
                    .assign
                    .map(|a| depths[j] * 2 + lines[j].text[..a].trim_end().len())
            })
            .max()
            .unwrap_or(0);
        for j in i..chain_end {
            push_line(
                &mut out,
                depths[j],
                lines[j].text,
                lines[j].assign.map(|a| (a, width)),
            );
        }
        i = chain_end;
    }
    // Each line was followed by a newline; the raw text's own last line was not.
    out.pop();
    out
}

fn push_line(out: &mut String, depth: usize, text: &str, assign: Option<(usize, usize)>) {
    if !text.is_empty() {
        out.push_str(&" ".repeat(depth * 2));
    }
    match assign {
        Some((at, width)) => {
            let lead = text[..at].trim_end();
            out.push_str(lead);
            out.push_str(&" ".repeat(width - depth * 2 - lead.len() + 1));
            out.push_str("= ");
            out.push_str(text[at + 1..].trim_start());
        }
        None => out.push_str(text),
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Number;

    fn s(v: &str) -> Value {
        Value::string(v)
    }

    fn n(i: i64) -> Value {
        Value::Number(Number::from(i))
    }

    fn object(entries: &[(&str, Value)]) -> Value {
        Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn encoded(f: fn(&[Value]) -> Result<Value, FnError>, v: Value) -> String {
        match f(&[v]) {
            Ok(Value::String(s)) => s,
            other => panic!("{other:?}"),
        }
    }

    /// Terraform's own test of encode_tfvars (internal/builtin/providers/terraform).
    #[test]
    fn encode_tfvars_writes_what_terraform_writes() {
        let strings = |a: &str, b: &str| Value::Set(Type::String, vec![s(a), s(b)]);
        let v = object(&[
            ("string", s("hello")),
            ("number", n(5)),
            ("bool", Value::Bool(true)),
            ("set", strings("beep", "boop")),
            ("list", strings("bleep", "bloop")),
            ("tuple", strings("bibble", "wibble")),
            (
                "map",
                Value::Map(Type::Number, [("one".to_string(), n(1))].into()),
            ),
            (
                "object",
                object(&[("one", n(1)), ("true", Value::Bool(true))]),
            ),
            ("null", Value::Null(Type::String)),
        ]);
        assert_eq!(
            encoded(encode_tfvars, v),
            r#"bool = true
list = ["bleep", "bloop"]
map = {
  one = 1
}
null   = null
number = 5
object = {
  one  = 1
  true = true
}
set    = ["beep", "boop"]
string = "hello"
tuple  = ["bibble", "wibble"]
"#
        );
        assert_eq!(encoded(encode_tfvars, object(&[])), "");
        let bad = object(&[("not valid identifier", s("!"))]);
        assert!(encode_tfvars(&[bad]).is_err());
        assert!(encode_tfvars(&[s("nope")]).is_err());
        assert!(encode_tfvars(&[Value::Null(Type::Dynamic)]).is_err());
    }

    #[test]
    fn encode_expr_escapes_templates_and_lays_out_objects() {
        assert_eq!(encoded(encode_expr, s("hel${lo")), r#""hel$${lo""#);
        assert_eq!(encoded(encode_expr, s("hel%{lo")), r#""hel%%{lo""#);
        assert_eq!(encoded(encode_expr, s("boop\\boop")), r#""boop\\boop""#);
        assert_eq!(
            encoded(encode_expr, s("hello\nworld\n")),
            r#""hello\nworld\n""#
        );
        assert_eq!(encoded(encode_expr, object(&[])), "{}");
        assert_eq!(
            encoded(
                encode_expr,
                object(&[("number", n(5)), ("string", s("..."))])
            ),
            "{\n  number = 5\n  string = \"...\"\n}"
        );
        assert_eq!(
            encoded(encode_expr, Value::Tuple(vec![n(5), s("...")])),
            r#"[5, "..."]"#
        );
        assert_eq!(
            encoded(
                encode_expr,
                object(&[("a", object(&[("bb", n(1)), ("c", n(2))])), ("dd", n(3))])
            ),
            "{\n  a = {\n    bb = 1\n    c  = 2\n  }\n  dd = 3\n}"
        );
        assert_eq!(
            encoded(
                encode_expr,
                Value::Tuple(vec![object(&[("a", n(1))]), object(&[("b", n(2))])])
            ),
            "[{\n  a = 1\n  }, {\n  b = 2\n}]"
        );
    }

    #[test]
    fn decode_tfvars_reads_constants_only() {
        let v = decode_tfvars(&[s("string = \"hello\"\nnumber = 2\n")]).expect("decodes");
        assert_eq!(v, object(&[("string", s("hello")), ("number", n(2))]));
        assert_eq!(decode_tfvars(&[s("")]).expect("empty"), object(&[]));
        for bad in ["not valid syntax", "foo = var.whatever", "foo = whatever()"] {
            assert!(decode_tfvars(&[s(bad)]).is_err(), "{bad}");
        }
    }
}
