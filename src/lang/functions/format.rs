//! `format`: Go's `fmt` verbs as Terraform's format function reads them (flags,
//! explicit argument indexes, width, precision).

use std::collections::HashMap;

use super::{p, str_arg, string_ty, variadic, FnError, Function, Param};
use crate::lang::convert::convert;
use crate::lang::number::Number;
use crate::lang::types::{Constraint, Type};
use crate::lang::value::Value;

/// One `%` verb of a format string: flags, explicit argument index, width,
/// precision and the verb letter.
struct Verb {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    index: Option<usize>,
    width: Option<usize>,
    precision: Option<usize>,
    letter: char,
}

fn parse_verb(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<Verb, FnError> {
    let mut v = Verb {
        minus: false,
        plus: false,
        space: false,
        zero: false,
        sharp: false,
        index: None,
        width: None,
        precision: None,
        letter: ' ',
    };
    while let Some(&c) = chars.peek() {
        match c {
            '-' => v.minus = true,
            '+' => v.plus = true,
            ' ' => v.space = true,
            '0' => v.zero = true,
            '#' => v.sharp = true,
            _ => break,
        }
        chars.next();
    }
    let number = |chars: &mut std::iter::Peekable<std::str::Chars>| {
        let mut n = String::new();
        while let Some(c) = chars.peek().filter(|c| c.is_ascii_digit()) {
            n.push(*c);
            chars.next();
        }
        n.parse::<usize>().ok()
    };
    if chars.peek() == Some(&'[') {
        chars.next();
        v.index = number(chars);
        if chars.next() != Some(']') {
            return Err(FnError::arg(
                0,
                "Error in format string: unterminated argument index.",
            ));
        }
    }
    v.width = number(chars);
    if chars.peek() == Some(&'.') {
        chars.next();
        v.precision = Some(number(chars).unwrap_or(0));
    }
    v.letter = chars
        .next()
        .ok_or_else(|| FnError::arg(0, "Error in format string: unterminated format verb."))?;
    Ok(v)
}

/// A whole number in `radix`, with `-` for negatives.
fn in_radix(n: &Number, radix: u32) -> Option<String> {
    let i = n.as_bigint()?;
    Some(i.to_str_radix(radix))
}

fn format_one(v: &Verb, arg: &Value, i: usize) -> Result<String, FnError> {
    let bad = |m: String| {
        FnError::arg(
            i,
            format!("Invalid value for format verb %{}: {m}.", v.letter),
        )
    };
    let as_type = |c: &Constraint| convert(arg.clone(), c).map_err(|e| bad(e.to_string()));
    if arg.is_null() {
        return Err(bad("null value cannot be formatted".into()));
    }
    FnError::bound(v.width.unwrap_or(0).max(v.precision.unwrap_or(0)))
        .map_err(|e| FnError::arg(0, e.message))?;
    let text = match v.letter {
        'v' if v.sharp => serde_json::to_string(&arg.to_json()).unwrap_or_default(),
        'v' => match arg.peel().0 {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => serde_json::to_string(&other.to_json()).unwrap_or_default(),
        },
        's' => {
            let s = as_type(&Constraint::String)?;
            let s = s.as_str().unwrap_or("").to_string();
            match v.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        'q' => {
            let s = as_type(&Constraint::String)?;
            serde_json::to_string(s.as_str().unwrap_or("")).unwrap_or_default()
        }
        't' => as_type(&Constraint::Bool)?
            .as_bool()
            .unwrap_or(false)
            .to_string(),
        'd' | 'b' | 'o' | 'x' | 'X' => {
            let n = as_type(&Constraint::Number)?;
            let n = n
                .as_number()
                .cloned()
                .unwrap_or_else(|| Number::from_i64(0));
            let radix = match v.letter {
                'b' => 2,
                'o' => 8,
                'x' | 'X' => 16,
                _ => 10,
            };
            let digits =
                in_radix(&n, radix).ok_or_else(|| bad(format!("{n} is not a whole number")))?;
            let (negative, digits) = match digits.strip_prefix('-') {
                Some(d) => (true, d.to_string()),
                None => (false, digits),
            };
            let digits = if v.letter == 'X' {
                digits.to_uppercase()
            } else {
                digits
            };
            let prefix = match (v.sharp, v.letter) {
                (true, 'b') => "0b",
                (true, 'o') => "0",
                (true, 'x') => "0x",
                (true, 'X') => "0X",
                _ => "",
            };
            let sign = if negative {
                "-"
            } else if v.plus {
                "+"
            } else if v.space {
                " "
            } else {
                ""
            };
            return Ok(pad_number(v, sign, &format!("{prefix}{digits}")));
        }
        'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
            let n = as_type(&Constraint::Number)?;
            let n = n
                .as_number()
                .cloned()
                .unwrap_or_else(|| Number::from_i64(0));
            let fixed = match (v.letter, v.precision) {
                ('f' | 'F', p) => n.to_fixed(p.unwrap_or(6)),
                ('e', p) => n.to_exponential(p.unwrap_or(6)),
                ('E', p) => n.to_exponential(p.unwrap_or(6)).to_uppercase(),
                ('g', None) => n.to_general(),
                (_, None) => n.to_general().to_uppercase(),
                (_, Some(p)) => {
                    let text = n.to_exponential(p.saturating_sub(1));
                    if v.letter == 'G' {
                        text.to_uppercase()
                    } else {
                        text
                    }
                }
            };
            let (negative, digits) = match fixed.strip_prefix('-') {
                Some(d) => (true, d.to_string()),
                None => (false, fixed),
            };
            let sign = if negative {
                "-"
            } else if v.plus {
                "+"
            } else if v.space {
                " "
            } else {
                ""
            };
            return Ok(pad_number(v, sign, &digits));
        }
        other => {
            return Err(FnError::arg(
                0,
                format!("Error in format string: unsupported format verb %{other}."),
            ))
        }
    };
    Ok(pad(v, &text))
}

fn pad(v: &Verb, text: &str) -> String {
    let len = text.chars().count();
    match v.width {
        Some(w) if w > len && v.minus => format!("{text}{}", " ".repeat(w - len)),
        Some(w) if w > len => format!("{}{text}", " ".repeat(w - len)),
        _ => text.to_string(),
    }
}

/// A number with its sign: zero-padded after the sign with `0`, else as [`pad`].
fn pad_number(v: &Verb, sign: &str, digits: &str) -> String {
    let len = sign.len() + digits.chars().count();
    match v.width {
        Some(w) if w > len && v.zero && !v.minus => {
            format!("{sign}{}{digits}", "0".repeat(w - len))
        }
        _ => pad(v, &format!("{sign}{digits}")),
    }
}

pub(super) fn format(args: &[Value]) -> Result<Value, FnError> {
    let spec = str_arg(args, 0);
    let mut out = String::new();
    let mut next = 1;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let verb = parse_verb(&mut chars)?;
        let index = verb.index.unwrap_or(next);
        let arg = args.get(index).ok_or_else(|| {
            FnError::arg(
                0,
                format!(
                    "Error in format string: not enough arguments for format verb %{}.",
                    verb.letter
                ),
            )
        })?;
        next = index + 1;
        if !arg.is_wholly_known() {
            return Ok(Value::Unknown(Type::String));
        }
        let piece = format_one(&verb, arg, index)?;
        FnError::bound(out.len().saturating_add(piece.len()))?;
        out.push_str(&piece);
    }
    if next < args.len() && !spec.contains("%[") {
        return Err(FnError::call(format!(
            "Error in format string: too many arguments; {} unused.",
            args.len() - next
        )));
    }
    Ok(Value::String(out))
}

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    t.insert(
        "format",
        variadic(
            vec![p("format", Constraint::String)],
            Param {
                name: "args",
                ty: Constraint::Any,
                allow_unknown: true,
                allow_null: true,
            },
            string_ty,
            format,
        ),
    );
}
