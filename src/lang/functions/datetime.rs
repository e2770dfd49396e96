//! Date and time functions: timestamp, plantimestamp (Terraform 1.5), timeadd,
//! timecmp (Terraform 1.3), formatdate, and uuid. `timestamp` and
//! `uuid` are impure: as in Terraform, they are unknown until apply (see
//! [`impure_known`]).

use std::cell::Cell;
use std::collections::HashMap;

use super::{fixed, p, str_arg, string_ty, FnError, Function};
use crate::lang::types::{Constraint, Type};
use crate::lang::value::Value;

thread_local! {
    static IMPURE_KNOWN: Cell<bool> = const { Cell::new(false) };
    static PLAN_TIME: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// While the returned guard lives, `plantimestamp()` evaluated on this thread gives
/// `time` (the RFC 3339 time the plan was made: plan and apply), or is unknown (`None`:
/// validate), as in Terraform 1.5.
pub fn plan_time(time: Option<String>) -> PlanTimeGuard {
    PlanTimeGuard(PLAN_TIME.with(|c| c.replace(time)))
}

pub struct PlanTimeGuard(Option<String>);

impl Drop for PlanTimeGuard {
    fn drop(&mut self) {
        let before = self.0.take();
        PLAN_TIME.with(|c| *c.borrow_mut() = before);
    }
}

/// The current time in RFC 3339 (seconds, UTC), as `timestamp()` gives it.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(Instant {
        secs: now,
        nanos: 0,
        offset: 0,
    })
}

fn plantimestamp(_: &[Value]) -> Result<Value, FnError> {
    Ok(PLAN_TIME.with(|c| match &*c.borrow() {
        Some(t) => Value::String(t.clone()),
        None => Value::Unknown(Type::String),
    }))
}

/// While the returned guard lives, `timestamp()` and `uuid()` evaluated on this
/// thread give real values (apply); otherwise they are unknown (validate, plan).
pub fn impure_known(known: bool) -> ImpureGuard {
    let before = IMPURE_KNOWN.with(|c| c.replace(known));
    ImpureGuard(before)
}

pub struct ImpureGuard(bool);

/// Whether impure functions give values now (apply).
pub(super) fn impure_now() -> bool {
    IMPURE_KNOWN.with(Cell::get)
}

impl Drop for ImpureGuard {
    fn drop(&mut self) {
        IMPURE_KNOWN.with(|c| c.set(self.0));
    }
}

/// A point in time: seconds since the Unix epoch, nanoseconds, and the UTC offset
/// (seconds) it was written with.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Instant {
    secs: i64,
    nanos: u32,
    offset: i32,
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// RFC 3339, as Terraform requires of timestamps: `2017-11-22T00:00:00Z`,
/// `2017-11-22T00:00:00.5+01:00`.
fn parse_rfc3339(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = s.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        let padded = format!("{:0<9}", &frac[..frac.len().min(9)]);
        nanos = padded.parse().ok()?;
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let o = (oh * 3600 + om * 60) as i32;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86400 + h * 3600 + mi * 60 + se - offset as i64;
    Some(Instant {
        secs,
        nanos,
        offset,
    })
}

/// The civil fields of an instant in its own offset.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    weekday: i64,
}

fn civil(t: Instant) -> Civil {
    let local = t.secs + t.offset as i64;
    let days = local.div_euclid(86400);
    let rem = local.rem_euclid(86400);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
        // 1970-01-01 was a Thursday (4, counting Sunday as 0).
        weekday: (days + 4).rem_euclid(7),
    }
}

fn offset_text(offset: i32, colon: bool) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let o = offset.unsigned_abs();
    if colon {
        format!("{sign}{:02}:{:02}", o / 3600, o % 3600 / 60)
    } else {
        format!("{sign}{:02}{:02}", o / 3600, o % 3600 / 60)
    }
}

fn rfc3339(t: Instant) -> String {
    let c = civil(t);
    let zone = if t.offset == 0 {
        "Z".to_string()
    } else {
        offset_text(t.offset, true)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// A Go duration: `1h30m`, `-10m`, `1.5h`, `300ms`.
fn parse_duration(s: &str) -> Option<i128> {
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += n * scale;
    }
    let nanos = total.round() as i128;
    Some(if negative { -nanos } else { nanos })
}

fn timeadd(args: &[Value]) -> Result<Value, FnError> {
    let ts = str_arg(args, 0);
    let t = parse_rfc3339(ts).ok_or_else(|| {
        FnError::arg(
            0,
            format!(
                "Invalid value for \"timestamp\" parameter: not a valid RFC3339 timestamp: {ts:?}."
            ),
        )
    })?;
    let d = str_arg(args, 1);
    let nanos = parse_duration(d).ok_or_else(|| {
        FnError::arg(
            1,
            format!("Invalid value for \"duration\" parameter: time: invalid duration {d:?}."),
        )
    })?;
    let total = t.secs as i128 * 1_000_000_000 + t.nanos as i128 + nanos;
    let out = Instant {
        secs: total.div_euclid(1_000_000_000) as i64,
        nanos: total.rem_euclid(1_000_000_000) as u32,
        offset: t.offset,
    };
    Ok(Value::String(rfc3339(out)))
}

/// -1, 0 or 1 as the first instant is before, the same as, or after the second (the
/// UTC offsets they are written with count, not their text).
fn timecmp(args: &[Value]) -> Result<Value, FnError> {
    let mut at = [(0i64, 0u32); 2];
    for (i, name) in ["timestamp_a", "timestamp_b"].into_iter().enumerate() {
        let ts = str_arg(args, i);
        let t = parse_rfc3339(ts).ok_or_else(|| {
            FnError::arg(
                i,
                format!(
                    "Invalid value for \"{name}\" parameter: not a valid RFC3339 timestamp: {ts:?}."
                ),
            )
        })?;
        at[i] = (t.secs, t.nanos);
    }
    let order = match at[0].cmp(&at[1]) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    };
    Ok(Value::number(crate::lang::Number::from_i64(order)))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn formatdate(args: &[Value]) -> Result<Value, FnError> {
    let spec = str_arg(args, 0);
    let ts = str_arg(args, 1);
    let t = parse_rfc3339(ts).ok_or_else(|| {
        FnError::arg(
            1,
            format!(
                "Invalid value for \"timestamp\" parameter: not a valid RFC3339 timestamp: {ts:?}."
            ),
        )
    })?;
    let c = civil(t);
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch == '\'' {
            // A quoted literal; '' inside it is one quote.
            i += 1;
            if chars.get(i) == Some(&'\'') {
                out.push('\'');
                i += 1;
                continue;
            }
            loop {
                match chars.get(i) {
                    None => {
                        return Err(FnError::arg(
                            0,
                            "Invalid value for \"format\" parameter: unterminated literal '.",
                        ))
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        out.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        out.push(*c);
                        i += 1;
                    }
                }
            }
            continue;
        }
        if !ch.is_ascii_alphabetic() {
            out.push(ch);
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&ch) {
            n += 1;
        }
        let token: String = chars[i..i + n].iter().collect();
        let h12 = if c.hour % 12 == 0 { 12 } else { c.hour % 12 };
        let text = match token.as_str() {
            "YYYY" => format!("{:04}", c.year),
            "YY" => format!("{:02}", c.year % 100),
            "MMMM" => MONTHS[(c.month - 1) as usize].to_string(),
            "MMM" => MONTHS[(c.month - 1) as usize][..3].to_string(),
            "MM" => format!("{:02}", c.month),
            "M" => c.month.to_string(),
            "DD" => format!("{:02}", c.day),
            "D" => c.day.to_string(),
            "EEEE" => DAYS[c.weekday as usize].to_string(),
            "EEE" => DAYS[c.weekday as usize][..3].to_string(),
            "hh" => format!("{:02}", c.hour),
            "h" => c.hour.to_string(),
            "HH" => format!("{h12:02}"),
            "H" => h12.to_string(),
            "AA" => if c.hour < 12 { "AM" } else { "PM" }.to_string(),
            "aa" => if c.hour < 12 { "am" } else { "pm" }.to_string(),
            "mm" => format!("{:02}", c.minute),
            "m" => c.minute.to_string(),
            "ss" => format!("{:02}", c.second),
            "s" => c.second.to_string(),
            "ZZZZZ" => offset_text(t.offset, true),
            "ZZZZ" => offset_text(t.offset, false),
            "ZZZ" if t.offset == 0 => "UTC".to_string(),
            "ZZZ" => offset_text(t.offset, false),
            "Z" if t.offset == 0 => "Z".to_string(),
            "Z" => offset_text(t.offset, true),
            _ => {
                return Err(FnError::arg(
                    0,
                    format!("Invalid value for \"format\" parameter: invalid date format verb {token:?}: unsupported format verb."),
                ))
            }
        };
        out.push_str(&text);
        i += n;
    }
    Ok(Value::String(out))
}

fn timestamp(_: &[Value]) -> Result<Value, FnError> {
    if !IMPURE_KNOWN.with(Cell::get) {
        return Ok(Value::Unknown(Type::String));
    }
    Ok(Value::String(now_rfc3339()))
}

fn uuid(_: &[Value]) -> Result<Value, FnError> {
    if !IMPURE_KNOWN.with(Cell::get) {
        return Ok(Value::Unknown(Type::String));
    }
    Ok(Value::String(uuid::Uuid::new_v4().to_string()))
}

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    t.insert("timestamp", fixed([], string_ty, timestamp));
    t.insert("uuid", fixed([], string_ty, uuid));
    t.insert("plantimestamp", fixed([], string_ty, plantimestamp));
    t.insert(
        "timeadd",
        fixed(
            [
                p("timestamp", Constraint::String),
                p("duration", Constraint::String),
            ],
            string_ty,
            timeadd,
        ),
    );
    t.insert(
        "timecmp",
        fixed(
            [
                p("timestamp_a", Constraint::String),
                p("timestamp_b", Constraint::String),
            ],
            super::number_ty,
            timecmp,
        ),
    );
    t.insert(
        "formatdate",
        fixed(
            [
                p("format", Constraint::String),
                p("time", Constraint::String),
            ],
            string_ty,
            formatdate,
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (1969, 12, 31), (2400, 3, 1)] {
            assert_eq!(civil_from_days(days_from_civil(y, m, d)), (y, m, d));
        }
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("-1.5s"), Some(-1_500_000_000));
        assert_eq!(parse_duration("10"), None);
    }

    #[test]
    fn impure_functions_are_unknown_until_apply() {
        assert!(!timestamp(&[]).unwrap().is_known());
        let _apply = impure_known(true);
        assert!(timestamp(&[]).unwrap().is_known());
        assert_eq!(uuid(&[]).unwrap().as_str().map(str::len), Some(36));
    }
}
