//! The bound on one value's size, so that no expression can exhaust the machine: a
//! string, a collection or a file read beyond it fails at its expression before it is
//! built. The default is 256 MiB; `PLINTH_MAX_VALUE_BYTES` changes it.

use std::sync::OnceLock;

use super::value::Value;

pub const DEFAULT_MAX_VALUE_BYTES: usize = 256 << 20;

/// The bound in bytes: `PLINTH_MAX_VALUE_BYTES` if it is set to a whole number, else
/// [`DEFAULT_MAX_VALUE_BYTES`]. Read once per process.
pub fn max_value_bytes() -> usize {
    static BOUND: OnceLock<usize> = OnceLock::new();
    *BOUND.get_or_init(|| {
        std::env::var("PLINTH_MAX_VALUE_BYTES")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(DEFAULT_MAX_VALUE_BYTES)
    })
}

/// What one element of a collection costs beyond its own contents.
pub const ELEMENT_BYTES: usize = std::mem::size_of::<Value>();

/// An estimate of the memory `v` holds: each value's own slot plus what it owns.
/// Counting stops once it passes `cap`, so measuring a huge value is cheap.
pub fn size_capped(v: &Value, cap: usize) -> usize {
    let mut total = 0usize;
    add_size(v, cap, &mut total);
    total
}

fn add_size(v: &Value, cap: usize, total: &mut usize) {
    *total = total.saturating_add(ELEMENT_BYTES);
    if *total > cap {
        return;
    }
    match v {
        Value::String(s) => *total = total.saturating_add(s.len()),
        Value::Number(_) => *total = total.saturating_add(16),
        Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
            for x in e {
                add_size(x, cap, total);
                if *total > cap {
                    return;
                }
            }
        }
        Value::Map(_, m) | Value::Object(m) => {
            for (k, x) in m {
                *total = total.saturating_add(k.len() + 32);
                add_size(x, cap, total);
                if *total > cap {
                    return;
                }
            }
        }
        Value::Sensitive(inner) => add_size(inner, cap, total),
        Value::Null(_) | Value::Unknown(_) | Value::Bool(_) => {}
    }
}

/// The estimated size of `v`, counted up to just past the bound.
pub fn size(v: &Value) -> usize {
    size_capped(v, max_value_bytes())
}

/// A value past the bound on one value, with the message every bounded producer gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the result would take more than {}, the bound on one value (PLINTH_MAX_VALUE_BYTES sets it)", human(*.bound))]
pub struct TooLarge {
    pub bound: usize,
}

/// Function bodies report their errors as text (`FnError::call`).
impl From<TooLarge> for String {
    fn from(e: TooLarge) -> String {
        e.to_string()
    }
}

/// `Err` when `bytes` is beyond the bound.
pub fn check(bytes: usize) -> Result<(), TooLarge> {
    let bound = max_value_bytes();
    if bytes > bound {
        Err(TooLarge { bound })
    } else {
        Ok(())
    }
}

pub fn product(count: usize, each: usize) -> usize {
    count.saturating_mul(each)
}

fn human(bytes: usize) -> String {
    const MIB: usize = 1 << 20;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_strings_and_elements() {
        let v = Value::Tuple(vec![Value::string("abc"), Value::Bool(true)]);
        assert_eq!(size_capped(&v, usize::MAX), 3 * ELEMENT_BYTES + 3);
    }

    #[test]
    fn stops_counting_past_the_cap() {
        let v = Value::Tuple(vec![Value::string("x"); 1000]);
        assert!(size_capped(&v, 100) < 100 + 2 * ELEMENT_BYTES + 2);
    }

    #[test]
    fn says_how_large_and_the_bound() {
        let m = check(usize::MAX).unwrap_err().to_string();
        assert!(
            m.contains("more than 256 MiB, the bound on one value"),
            "{m}"
        );
    }
}
