//! String functions: chomp, indent, join, lower, replace, split, strrev, substr, title,
//! trim, trimprefix, trimspace, trimsuffix, upper, formatlist, regex, regexall, and
//! those added after Terraform 1.0: startswith, endswith (1.3) and strcontains (1.5). Lengths and offsets count grapheme
//! clusters, as Terraform does.

use std::collections::{BTreeMap, HashMap};

use unicode_segmentation::UnicodeSegmentation;

use super::format::format;
use super::{bool_ty, fixed, p, str_arg, string_fn, string_ty, variadic, FnError, Function, Param};
use crate::lang::limits;
use crate::lang::types::{Constraint, Type};
use crate::lang::value::Value;

fn chomp(args: &[Value]) -> Result<Value, FnError> {
    Ok(Value::String(
        str_arg(args, 0).trim_end_matches(['\r', '\n']).to_string(),
    ))
}

fn indent(args: &[Value]) -> Result<Value, FnError> {
    let n = args[0]
        .as_number()
        .and_then(|n| n.to_i64())
        .unwrap_or(0)
        .max(0) as usize;
    let lines = str_arg(args, 1).matches('\n').count();
    FnError::bound(limits::product(lines, n).saturating_add(str_arg(args, 1).len()))?;
    let pad = " ".repeat(n);
    Ok(Value::String(
        str_arg(args, 1).replace('\n', &format!("\n{pad}")),
    ))
}

fn strrev(args: &[Value]) -> Result<Value, FnError> {
    Ok(Value::String(
        str_arg(args, 0).graphemes(true).rev().collect(),
    ))
}

fn substr(args: &[Value]) -> Result<Value, FnError> {
    let text = str_arg(args, 0);
    let int = |i: usize| {
        args[i].as_number().and_then(|n| n.to_i64()).ok_or_else(|| {
            FnError::arg(i, "Invalid function argument: a whole number is required.")
        })
    };
    let (mut offset, length) = (int(1)?, int(2)?);
    let g: Vec<&str> = text.graphemes(true).collect();
    if offset < 0 {
        offset += g.len() as i64;
    } else if length == 0 {
        return Ok(Value::string(""));
    }
    let start = offset.max(0) as usize;
    if start >= g.len() {
        return Ok(Value::string(""));
    }
    let rest = &g[start..];
    let taken = if length < 0 {
        rest
    } else {
        &rest[..(length as usize).min(rest.len())]
    };
    Ok(Value::String(taken.concat()))
}

fn title(args: &[Value]) -> Result<Value, FnError> {
    let mut out = String::new();
    let mut at_start = true;
    for c in str_arg(args, 0).chars() {
        if at_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_start = !(c.is_alphanumeric() || c == '_');
    }
    Ok(Value::String(out))
}

fn trim(args: &[Value]) -> Result<Value, FnError> {
    let cutset: Vec<char> = str_arg(args, 1).chars().collect();
    Ok(Value::String(
        str_arg(args, 0)
            .trim_matches(|c| cutset.contains(&c))
            .to_string(),
    ))
}

fn startswith(args: &[Value]) -> Result<Value, FnError> {
    Ok(Value::Bool(str_arg(args, 0).starts_with(str_arg(args, 1))))
}

fn endswith(args: &[Value]) -> Result<Value, FnError> {
    Ok(Value::Bool(str_arg(args, 0).ends_with(str_arg(args, 1))))
}

fn strcontains(args: &[Value]) -> Result<Value, FnError> {
    Ok(Value::Bool(str_arg(args, 0).contains(str_arg(args, 1))))
}

fn trimprefix(args: &[Value]) -> Result<Value, FnError> {
    let s = str_arg(args, 0);
    Ok(Value::String(
        s.strip_prefix(str_arg(args, 1)).unwrap_or(s).to_string(),
    ))
}

fn trimsuffix(args: &[Value]) -> Result<Value, FnError> {
    let s = str_arg(args, 0);
    Ok(Value::String(
        s.strip_suffix(str_arg(args, 1)).unwrap_or(s).to_string(),
    ))
}

fn formatlist(args: &[Value]) -> Result<Value, FnError> {
    let mut length: Option<usize> = None;
    for (i, a) in args.iter().enumerate().skip(1) {
        if let Some(elems) = a.peel().0.elements() {
            if !matches!(a.peel().0, Value::Map(..) | Value::Object(_)) {
                match length {
                    Some(n) if n != elems.len() => {
                        return Err(FnError::arg(
                            i,
                            format!("Invalid function argument: argument {i} has length {}, which is inconsistent with argument 1 of length {n}.", elems.len()),
                        ))
                    }
                    _ => length = Some(elems.len()),
                }
            }
        }
    }
    let Some(n) = length else {
        let one = format(args)?;
        return Ok(Value::List(Type::String, vec![one]));
    };
    let mut out = Vec::with_capacity(n);
    let mut bytes = 0usize;
    for k in 0..n {
        let mut row = vec![args[0].clone()];
        for a in &args[1..] {
            let v = a.peel().0;
            match v {
                Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => row.push(e[k].clone()),
                other => row.push(other.clone()),
            }
        }
        let one = format(&row)?;
        bytes = bytes.saturating_add(limits::size_capped(&one, usize::MAX));
        FnError::bound(bytes)?;
        out.push(one);
    }
    Ok(Value::List(Type::String, out))
}

fn compile(pattern: &str) -> Result<regex::Regex, FnError> {
    regex::Regex::new(pattern).map_err(|e| {
        FnError::arg(
            0,
            format!("Invalid function argument: invalid regular expression pattern: {e}."),
        )
    })
}

/// A match as Terraform returns it: the whole match without groups, a list of the
/// captures with unnamed groups, an object by name with named groups.
fn captured(re: &regex::Regex, caps: &regex::Captures) -> Value {
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    if names.is_empty() {
        return Value::string(caps.get(0).map_or("", |m| m.as_str()));
    }
    let text = |i: usize| {
        caps.get(i)
            .map_or(Value::Null(Type::String), |m| Value::string(m.as_str()))
    };
    if names.iter().any(Option::is_some) {
        let mut m = BTreeMap::new();
        for (i, n) in names.iter().enumerate() {
            if let Some(n) = n {
                m.insert(n.to_string(), text(i + 1));
            }
        }
        return Value::Object(m);
    }
    Value::Tuple((1..=names.len()).map(text).collect())
}

fn regex_fn(args: &[Value]) -> Result<Value, FnError> {
    let re = compile(str_arg(args, 0))?;
    match re.captures(str_arg(args, 1)) {
        Some(c) => Ok(captured(&re, &c)),
        None => Err(FnError::call(
            "Invalid function argument: pattern did not match any part of the given string.",
        )),
    }
}

fn regexall(args: &[Value]) -> Result<Value, FnError> {
    let re = compile(str_arg(args, 0))?;
    let all: Vec<Value> = re
        .captures_iter(str_arg(args, 1))
        .map(|c| captured(&re, &c))
        .collect();
    let ty = all.first().map_or(Type::Dynamic, Value::ty);
    Ok(Value::List(ty, all))
}

fn dynamic_list(_: &[Value]) -> Type {
    Type::list(Type::Dynamic)
}

fn dynamic(_: &[Value]) -> Type {
    Type::Dynamic
}

fn string_list(_: &[Value]) -> Type {
    Type::list(Type::String)
}

fn join(args: &[Value]) -> Result<Value, FnError> {
    let sep = str_arg(args, 0);
    let mut parts = Vec::new();
    let mut bytes = 0usize;
    for (i, list) in args[1..].iter().enumerate() {
        for e in list.elements().unwrap_or_default() {
            match e.as_str() {
                Some(s) => {
                    bytes = bytes.saturating_add(s.len() + sep.len());
                    FnError::bound(bytes)?;
                    parts.push(s)
                }
                None if e.is_null() => return Err(FnError::arg(
                    i + 1,
                    "Invalid function argument: element is null; cannot concatenate null values.",
                )),
                None => return Ok(Value::Unknown(Type::String)),
            }
        }
    }
    Ok(Value::String(parts.join(sep)))
}

/// `replace`: a substring, or a regular expression when written between slashes
/// (`/o(.)/`), whose replacement may use `$1`.
fn replace(args: &[Value]) -> Result<Value, FnError> {
    let (text, search, with) = (str_arg(args, 0), str_arg(args, 1), str_arg(args, 2));
    if search.len() > 1 && search.starts_with('/') && search.ends_with('/') {
        let re = regex::Regex::new(&search[1..search.len() - 1]).map_err(|e| {
            FnError::arg(
                1,
                format!("Invalid value for \"substr\" parameter: invalid regular expression: {e}."),
            )
        })?;
        let mut out = String::new();
        let mut last = 0;
        for caps in re.captures_iter(text) {
            let Some(m) = caps.get(0) else { continue };
            out.push_str(&text[last..m.start()]);
            caps.expand(with, &mut out);
            last = m.end();
            FnError::bound(out.len())?;
        }
        out.push_str(&text[last..]);
        return Ok(Value::String(out));
    }
    if with.len() > search.len() {
        let count = if search.is_empty() {
            text.chars().count() + 1
        } else {
            text.matches(search).count()
        };
        FnError::bound(
            text.len()
                .saturating_add(limits::product(count, with.len())),
        )?;
    }
    Ok(Value::String(text.replace(search, with)))
}

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    t.insert("chomp", string_fn(chomp));
    t.insert("strrev", string_fn(strrev));
    t.insert("title", string_fn(title));
    t.insert(
        "indent",
        fixed(
            [
                p("spaces", Constraint::Number),
                p("str", Constraint::String),
            ],
            string_ty,
            indent,
        ),
    );
    t.insert(
        "substr",
        fixed(
            [
                p("str", Constraint::String),
                p("offset", Constraint::Number),
                p("length", Constraint::Number),
            ],
            string_ty,
            substr,
        ),
    );
    for (name, body) in [
        ("trim", trim as super::Impl),
        ("trimprefix", trimprefix),
        ("trimsuffix", trimsuffix),
    ] {
        t.insert(
            name,
            fixed(
                [
                    p("str", Constraint::String),
                    p("cutset", Constraint::String),
                ],
                string_ty,
                body,
            ),
        );
    }
    for (name, second, body) in [
        ("startswith", "prefix", startswith as super::Impl),
        ("endswith", "suffix", endswith),
        ("strcontains", "substr", strcontains),
    ] {
        t.insert(
            name,
            fixed(
                [p("str", Constraint::String), p(second, Constraint::String)],
                bool_ty,
                body,
            ),
        );
    }
    t.insert(
        "formatlist",
        variadic(
            vec![p("format", Constraint::String)],
            Param {
                name: "args",
                ty: Constraint::Any,
                allow_unknown: false,
                allow_null: true,
            },
            string_list,
            formatlist,
        ),
    );
    t.insert(
        "regex",
        fixed(
            [
                p("pattern", Constraint::String),
                p("string", Constraint::String),
            ],
            dynamic,
            regex_fn,
        ),
    );
    t.insert(
        "regexall",
        fixed(
            [
                p("pattern", Constraint::String),
                p("string", Constraint::String),
            ],
            dynamic_list,
            regexall,
        ),
    );
    t.insert(
        "upper",
        string_fn(|a| Ok(Value::String(str_arg(a, 0).to_uppercase()))),
    );
    t.insert(
        "lower",
        string_fn(|a| Ok(Value::String(str_arg(a, 0).to_lowercase()))),
    );
    t.insert(
        "trimspace",
        string_fn(|a| Ok(Value::String(str_arg(a, 0).trim().to_string()))),
    );
    t.insert(
        "join",
        variadic(
            vec![p("separator", Constraint::String)],
            p("lists", Constraint::List(Box::new(Constraint::String))),
            string_ty,
            join,
        ),
    );
    t.insert(
        "split",
        fixed(
            [
                p("separator", Constraint::String),
                p("str", Constraint::String),
            ],
            |_| Type::list(Type::String),
            |a| {
                let sep = str_arg(a, 0);
                let s = str_arg(a, 1);
                let count = if sep.is_empty() {
                    s.chars().count()
                } else {
                    s.matches(sep).count() + 1
                };
                FnError::bound(
                    limits::product(count, limits::ELEMENT_BYTES).saturating_add(s.len()),
                )?;
                let parts: Vec<Value> = if sep.is_empty() {
                    s.chars().map(|c| Value::String(c.to_string())).collect()
                } else {
                    s.split(sep).map(|x| Value::String(x.to_string())).collect()
                };
                Ok(Value::List(Type::String, parts))
            },
        ),
    );
    t.insert(
        "replace",
        fixed(
            [
                p("str", Constraint::String),
                p("substr", Constraint::String),
                p("replace", Constraint::String),
            ],
            string_ty,
            replace,
        ),
    );
}
