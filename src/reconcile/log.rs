//! The service's structured log: one JSON object a line on stderr, each with `time`
//! (RFC 3339), `level` and `event`, then the event's fields.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::Outcome;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// The line for one event: `time`, `level`, `event` first, then `fields`.
pub fn line(level: Level, event: &str, fields: Value) -> String {
    let mut text = format!(
        "{{\"time\":{},\"level\":{},\"event\":{}",
        json!(rfc3339(SystemTime::now())),
        json!(level.name()),
        json!(event)
    );
    if let Value::Object(fields) = fields {
        for (key, value) in fields {
            text.push(',');
            text.push_str(&json!(key).to_string());
            text.push(':');
            text.push_str(&value.to_string());
        }
    }
    text.push('}');
    text
}

/// Writes one event to stderr, in one write so lines from threads never interleave.
pub fn emit(level: Level, event: &str, fields: Value) {
    let mut text = line(level, event, fields);
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// A time as RFC 3339 in UTC, to the millisecond.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// A Unix time in seconds as RFC 3339.
pub fn rfc3339_seconds(seconds: f64) -> String {
    rfc3339(UNIX_EPOCH + Duration::from_secs_f64(seconds.max(0.0)))
}

/// The fields of a run's end: what it found and did, in counts, and why it stopped.
pub fn run_fields(stack: &str, outcome: &Outcome) -> Value {
    let mut fields = json!({
        "stack": stack,
        "mode": outcome.mode.name(),
        "result": outcome.result.name(),
        "duration_seconds": (outcome.duration_seconds * 1000.0).round() / 1000.0,
        "drifted": outcome.drift.resources.len(),
        "config_changes": outcome.drift.config_changes.len(),
        "applied": outcome.applied.len(),
        "skipped": outcome.skipped.len(),
    });
    if let Value::Object(map) = &mut fields {
        if let Some(refusal) = &outcome.refusal {
            map.insert("guardrail".into(), json!(refusal.guardrail));
            map.insert("refusal".into(), json!(refusal.message));
        }
        if let Some(holder) = &outcome.lock_holder {
            map.insert("lock_holder".into(), json!(holder));
        }
        if let Some(error) = &outcome.error {
            map.insert("error".into(), json!(error));
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_json_object_with_time_level_and_event_first() {
        let text = line(Level::Warn, "lock_skipped", json!({"stack": "a\nb"}));
        assert!(!text.contains('\n'));
        assert!(text.starts_with("{\"time\":\""), "{text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["level"], "warn");
        assert_eq!(value["event"], "lock_skipped");
        assert_eq!(value["stack"], "a\nb");
        let time = value["time"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(time).is_ok(), "{time}");
        assert_eq!(rfc3339_seconds(0.5), "1970-01-01T00:00:00.500Z");
    }
}
