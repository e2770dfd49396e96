//! Numeric functions: abs, ceil, floor, log, max, min, pow, signum, parseint.

use std::collections::HashMap;

use super::{fixed, number_ty, p, variadic, FnError, Function};
use crate::lang::number::Number;
use crate::lang::types::Constraint;
use crate::lang::value::Value;

fn num(args: &[Value], i: usize) -> Number {
    args[i]
        .as_number()
        .cloned()
        .unwrap_or_else(|| Number::from_i64(0))
}

/// A float64 result as Terraform prints it (shortest round-trip digits).
fn float(f: f64, what: &str) -> Result<Value, FnError> {
    if !f.is_finite() {
        return Err(FnError::call(format!(
            "{what}: the result is not a finite number."
        )));
    }
    Number::parse(&format!("{f}"))
        .map(Value::Number)
        .map_err(|_| FnError::call(format!("{what}: the result is not a number.")))
}

fn ceil(args: &[Value]) -> Result<Value, FnError> {
    Ok(Value::Number(num(args, 0).neg().floor().neg()))
}

fn floor(args: &[Value]) -> Result<Value, FnError> {
    Ok(Value::Number(num(args, 0).floor()))
}

fn log(args: &[Value]) -> Result<Value, FnError> {
    float(
        num(args, 0).to_f64().ln() / num(args, 1).to_f64().ln(),
        "log",
    )
}

fn pow(args: &[Value]) -> Result<Value, FnError> {
    let (base, exp) = (num(args, 0), num(args, 1));
    // Whole powers of whole numbers stay exact, as Terraform's arbitrary precision does.
    if let (Some(_), Some(e)) = (base.as_bigint(), exp.to_i64()) {
        if (0..=1024).contains(&e) {
            let mut out = Number::one();
            for _ in 0..e {
                out = out.mul(&base);
            }
            return Ok(Value::Number(out));
        }
    }
    float(base.to_f64().powf(exp.to_f64()), "pow")
}

fn signum(args: &[Value]) -> Result<Value, FnError> {
    let n = num(args, 0);
    if n.to_i64().is_none() {
        return Err(FnError::arg(
            0,
            "Invalid function argument: value must be a whole number, between -9223372036854775808 and 9223372036854775807.",
        ));
    }
    let s = if n.is_zero() {
        0
    } else if n.is_negative() {
        -1
    } else {
        1
    };
    Ok(Value::number(s))
}

fn parseint(args: &[Value]) -> Result<Value, FnError> {
    let text = args[0].as_str().unwrap_or("");
    let base = num(args, 1).to_i64().unwrap_or(0);
    if !(2..=62).contains(&base) {
        return Err(FnError::arg(
            1,
            format!("Invalid function argument: base must be a whole number between 2 and 62 inclusive, not {base}."),
        ));
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let bad = || {
        FnError::arg(
            0,
            format!("Invalid function argument: cannot parse {text:?} as a base {base} integer."),
        )
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let mut total = Number::from_i64(0);
    let b = Number::from_i64(base);
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as i64 - '0' as i64,
            'a'..='z' => c as i64 - 'a' as i64 + 10,
            'A'..='Z' if base <= 36 => c as i64 - 'A' as i64 + 10,
            'A'..='Z' => c as i64 - 'A' as i64 + 36,
            _ => return Err(bad()),
        };
        if d >= base {
            return Err(bad());
        }
        total = total.mul(&b).add(&Number::from_i64(d));
    }
    Ok(Value::Number(if negative { total.neg() } else { total }))
}

fn max_min(args: &[Value], want_max: bool) -> Result<Value, FnError> {
    let mut best: Option<&Number> = None;
    for a in args {
        if let Some(n) = a.as_number() {
            if best.is_none_or(|b| if want_max { n > b } else { n < b }) {
                best = Some(n);
            }
        }
    }
    best.cloned().map(Value::Number).ok_or_else(|| {
        FnError::call("Not enough function arguments: must pass at least one number.")
    })
}

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    t.insert(
        "ceil",
        fixed([p("num", Constraint::Number)], number_ty, ceil),
    );
    t.insert(
        "floor",
        fixed([p("num", Constraint::Number)], number_ty, floor),
    );
    t.insert(
        "log",
        fixed(
            [p("num", Constraint::Number), p("base", Constraint::Number)],
            number_ty,
            log,
        ),
    );
    t.insert(
        "pow",
        fixed(
            [p("num", Constraint::Number), p("power", Constraint::Number)],
            number_ty,
            pow,
        ),
    );
    t.insert(
        "signum",
        fixed([p("num", Constraint::Number)], number_ty, signum),
    );
    t.insert(
        "parseint",
        fixed(
            [
                p("number", Constraint::String),
                p("base", Constraint::Number),
            ],
            number_ty,
            parseint,
        ),
    );
    t.insert(
        "max",
        variadic(vec![], p("numbers", Constraint::Number), number_ty, |a| {
            max_min(a, true)
        }),
    );
    t.insert(
        "min",
        variadic(vec![], p("numbers", Constraint::Number), number_ty, |a| {
            max_min(a, false)
        }),
    );
    t.insert(
        "abs",
        fixed([p("num", Constraint::Number)], number_ty, |a| {
            let n = a[0].as_number().cloned().unwrap_or(Number::from_i64(0));
            Ok(Value::Number(if n.is_negative() { n.neg() } else { n }))
        }),
    );
}
