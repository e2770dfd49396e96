//! Terraform's machine-readable UI (`plan -json`, `apply -json`, `destroy -json`): the
//! operation's view as newline-delimited JSON messages, each with `@level`,
//! `@message`, `@module`, `@timestamp` and a `type` (`version`, `diagnostic`,
//! `resource_drift`, `planned_change`, `change_summary`, `apply_start`,
//! `apply_complete`, `apply_errored`, `outputs`, `log`) and that type's object, as
//! Terraform v1.0.3 writes them (UI version 0.1.0, `@module` `terraform.ui`, so tools
//! that read Terraform's stream read this one).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Map, Value as J};

use crate::addrs::{InstanceKey, ResourceInstance};
use crate::apply::Progress;
use crate::diag::{diagnostic_json, Diagnostics, Severity, Sources};
use crate::operation::{Notice, OperationError, Question, Summary, View};
use crate::plan::{lock, Action, Plan, PlannedChange};

/// The version of the message format, as Terraform v1.0.3 declares it.
const UI_VERSION: &str = "0.1.0";

pub struct JsonView {
    /// Whether applying was approved on the command line (`-auto-approve`); a JSON
    /// stream can never ask.
    auto_approve: bool,
    progress: JsonProgress,
}

impl JsonView {
    /// The view, after writing the stream's first message (`version`).
    pub fn start(auto_approve: bool) -> JsonView {
        emit(
            "info",
            &format!(
                "plinth {} (Terraform language {})",
                env!("CARGO_PKG_VERSION"),
                crate::TERRAFORM_VERSION
            ),
            "version",
            [
                ("terraform", json!(crate::TERRAFORM_VERSION)),
                ("plinth", json!(env!("CARGO_PKG_VERSION"))),
                ("ui", json!(UI_VERSION)),
            ],
        );
        JsonView {
            auto_approve,
            progress: JsonProgress::default(),
        }
    }

    /// The error an operation stopped with, as a `diagnostic` message; exit code 1.
    /// Diagnostics the stack had were already written, one message each.
    pub fn report(&self, error: &OperationError) -> u8 {
        if !matches!(error, OperationError::Invalid { .. }) {
            error_diagnostic(&error.to_string(), "");
        }
        1
    }
}

/// An error that is not about a place in the stack, as a `diagnostic` message.
pub fn error_diagnostic(summary: &str, detail: &str) {
    emit(
        "error",
        &format!("Error: {summary}"),
        "diagnostic",
        [(
            "diagnostic",
            json!({"severity": "error", "summary": summary, "detail": detail}),
        )],
    );
}

impl View for JsonView {
    fn diagnostics(&self, sources: &Sources, diagnostics: &Diagnostics) {
        for d in &diagnostics.items {
            let (level, word) = match d.severity {
                Severity::Error => ("error", "Error"),
                Severity::Warning => ("warn", "Warning"),
            };
            emit(
                level,
                &format!("{word}: {}", d.summary),
                "diagnostic",
                [("diagnostic", diagnostic_json(sources, d))],
            );
        }
    }

    fn notice(&self, notice: Notice<'_>) {
        let text = match notice {
            Notice::TookOverStaleLock(old) => {
                format!("Took over a stale lock: {old}. That process no longer holds it.")
            }
            Notice::PlanningAgain => {
                "The state has changes its published copy did not show; planning again.".into()
            }
            Notice::Importing { address, id } => format!("{address}: Importing from ID {id:?}..."),
            Notice::NextStage { stage, waiting } => format!(
                "{waiting} deferred resource(s) can be planned now that their provider configuration is known: planning stage {stage}."
            ),
            Notice::NewRunNeeded { waiting } => format!(
                "{waiting} resource(s) wait for a provider whose configuration this apply changed; run apply again to plan and apply them with the new configuration."
            ),
            Notice::StageLeft { waiting } => format!(
                "This saved plan was partial: {waiting} resource(s) still wait for provider configuration. Run plan (or apply) again to plan and apply them."
            ),
        };
        log(&text);
    }

    fn plan(&self, plan: &Plan) {
        for drift in &plan.drift {
            let action = change_action(drift.action);
            emit(
                "info",
                &format!("{}: Drift detected ({action})", drift.address),
                "resource_drift",
                [("change", change_json(drift))],
            );
        }
        if plan.refresh_only {
            return;
        }
        planned_changes(plan);
        for d in &plan.deferred {
            log(&format!(
                "{}: Deferred to the next stage ({})",
                d.address,
                d.reason.describe()
            ));
        }
        let (add, change, remove) = plan.counts();
        emit(
            "info",
            &format!("Plan: {add} to add, {change} to change, {remove} to destroy."),
            "change_summary",
            [(
                "changes",
                json!({"add": add, "change": change, "remove": remove, "operation": "plan"}),
            )],
        );
    }

    /// Terraform lists a saved plan's changes again, without their summary.
    fn applying_saved(&self, plan: &Plan) {
        planned_changes(plan);
    }

    fn confirm(&self, _question: Question) -> bool {
        if !self.auto_approve {
            error_diagnostic(APPROVAL_REQUIRED, APPROVAL_REQUIRED_DETAIL);
        }
        self.auto_approve
    }

    fn progress(&self) -> &dyn Progress {
        &self.progress
    }

    fn summary(&self, summary: Summary<'_>) {
        let (operation, add, change, remove) = match summary {
            Summary::Applied {
                added,
                changed,
                destroyed,
                ..
            }
            | Summary::AppliedAndForgot {
                added,
                changed,
                destroyed,
                ..
            } => ("apply", added, changed, destroyed),
            Summary::Refreshed { .. } | Summary::NoChanges => ("apply", 0, 0, 0),
            Summary::Destroyed { destroyed } => ("destroy", 0, 0, destroyed),
            // Terraform's stream does not mention the saved plan.
            Summary::PlanSaved { .. } => return,
            other => {
                log(&format!("{other:?}"));
                return;
            }
        };
        let message = if operation == "destroy" {
            format!("Destroy complete! Resources: {remove} destroyed.")
        } else {
            format!("Apply complete! Resources: {add} added, {change} changed, {remove} destroyed.")
        };
        emit(
            "info",
            &message,
            "change_summary",
            [(
                "changes",
                json!({"add": add, "change": change, "remove": remove, "operation": operation}),
            )],
        );
    }

    fn applied_nothing(&self, outputs: &BTreeMap<String, plinth_state::OutputState>) {
        self.summary(Summary::NoChanges);
        self.outputs(outputs);
    }

    fn outputs(&self, outputs: &BTreeMap<String, plinth_state::OutputState>) {
        let all: Map<String, J> = outputs
            .iter()
            .map(|(name, o)| {
                // Sensitive values too, as Terraform writes them here and in `output -json`.
                let entry =
                    json!({"sensitive": o.sensitive, "type": type_of(&o.value), "value": o.value});
                (name.clone(), entry)
            })
            .collect();
        emit(
            "info",
            &format!("Outputs: {}", all.len()),
            "outputs",
            [("outputs", J::Object(all))],
        );
    }
}

/// A `planned_change` message for each change of `plan`.
fn planned_changes(plan: &Plan) {
    for change in plan.changes.iter().filter(|c| c.action.is_change()) {
        emit(
            "info",
            &format!(
                "{}: Plan to {}",
                change.address,
                change_action(change.action)
            ),
            "planned_change",
            [("change", change_json(change))],
        );
    }
}

/// Terraform's words when `apply -json` has neither a plan file nor `-auto-approve`.
pub const APPROVAL_REQUIRED: &str = "Plan file or auto-approve required";
pub const APPROVAL_REQUIRED_DETAIL: &str = "plinth cannot ask for interactive approval when -json is set. You can either apply a saved plan file, or enable the -auto-approve option.";

/// Apply progress as `apply_start`, `apply_complete` and `apply_errored` messages.
#[derive(Default)]
struct JsonProgress {
    /// The changes in flight: the action each started with, and when.
    in_flight: Mutex<HashMap<String, (Option<&'static str>, Instant)>>,
}

impl Progress for JsonProgress {
    fn started(&self, address: &str, verb: &str) {
        let action = hook_action(verb);
        lock(&self.in_flight).insert(address.to_string(), (action, Instant::now()));
        let mut hook = hook_json(address, action);
        if let Some(id) = bracketed_id(verb) {
            hook["id_key"] = json!("id");
            hook["id_value"] = json!(id);
        }
        emit(
            "info",
            &format!("{address}: {verb}"),
            "apply_start",
            [("hook", hook)],
        );
    }

    fn finished(&self, address: &str, message: Option<&str>) {
        let started = lock(&self.in_flight).remove(address);
        let Some(message) = message else {
            let (action, since) = started.unwrap_or((None, Instant::now()));
            let seconds = since.elapsed().as_secs();
            let mut hook = hook_json(address, action);
            hook["elapsed_seconds"] = json!(seconds);
            let noun = match action {
                Some("create") => "Creation",
                Some("update") => "Modifications",
                Some("delete") => "Destruction",
                Some("replace") => "Replacement",
                _ => "Change",
            };
            emit(
                "info",
                &format!("{address}: {noun} errored after {seconds}s"),
                "apply_errored",
                [("hook", hook)],
            );
            return;
        };
        let mut hook = hook_json(address, completed_action(message));
        if let Some(id) = bracketed_id(message) {
            hook["id_key"] = json!("id");
            hook["id_value"] = json!(id);
        }
        if let Some(seconds) = elapsed_seconds(message) {
            hook["elapsed_seconds"] = json!(seconds);
        }
        emit(
            "info",
            &format!("{address}: {message}"),
            "apply_complete",
            [("hook", hook)],
        );
    }

    fn note(&self, line: &str) {
        log(line);
    }
}

/// The action of an apply hook, from the verb the applier reports with.
fn hook_action(verb: &str) -> Option<&'static str> {
    [
        ("Creating", "create"),
        ("Modifying", "update"),
        ("Destroying", "delete"),
        ("Replacing", "replace"),
        ("Reading", "read"),
    ]
    .into_iter()
    .find(|(word, _)| verb.starts_with(word))
    .map(|(_, action)| action)
}

fn completed_action(message: &str) -> Option<&'static str> {
    [
        ("Creation", "create"),
        ("Modifications", "update"),
        ("Destruction", "delete"),
        ("Replacement", "replace"),
        ("Read", "read"),
    ]
    .into_iter()
    .find(|(word, _)| message.starts_with(word))
    .map(|(_, action)| action)
}

/// `X` of a progress line's `[id=X]`.
fn bracketed_id(text: &str) -> Option<&str> {
    let start = text.rfind("[id=")? + 4;
    let end = start + text[start..].find(']')?;
    Some(&text[start..end])
}

/// `N` of a progress line's `after Ns`.
fn elapsed_seconds(text: &str) -> Option<u64> {
    let rest = &text[text.find(" after ")? + 7..];
    rest[..rest.find('s')?].parse().ok()
}

fn log(text: &str) {
    emit("info", text, "log", []);
}

/// A hook's `resource` and `action`, for the instance at `address`.
fn hook_json(address: &str, action: Option<&str>) -> J {
    let mut hook = json!({"resource": resource_json_text(address)});
    if let Some(action) = action {
        hook["action"] = json!(action);
    }
    hook
}

fn resource_json_text(address: &str) -> J {
    match ResourceInstance::parse(address) {
        Ok(instance) => resource_json(&instance),
        Err(_) => json!({"addr": address}),
    }
}

/// Terraform's `resource` object: the instance's address and its parts.
fn resource_json(instance: &ResourceInstance) -> J {
    let module = instance.module.prefix();
    let addr = instance.to_string();
    let type_name = &instance.resource.type_name;
    let key = match &instance.key {
        InstanceKey::None | InstanceKey::Unknown => J::Null,
        InstanceKey::Int(i) => json!(i),
        InstanceKey::Str(s) => json!(s),
    };
    json!({
        "addr": addr,
        "module": module.strip_suffix('.').unwrap_or(""),
        "resource": addr.strip_prefix(module.as_str()).unwrap_or(&addr),
        "implied_provider": type_name.split('_').next().unwrap_or(type_name),
        "resource_type": type_name,
        "resource_name": instance.resource.name,
        "resource_key": key,
    })
}

fn change_action(action: Action) -> &'static str {
    match action {
        Action::NoOp => "noop",
        Action::Create => "create",
        Action::Update => "update",
        Action::DeleteThenCreate | Action::CreateThenDelete => "replace",
        Action::Delete => "delete",
        Action::Read => "read",
        Action::Forget => "forget",
    }
}

/// A `change` object: the instance, the action, and Terraform's short reason.
fn change_json(change: &PlannedChange) -> J {
    let mut out = json!({
        "resource": resource_json(&change.address),
        "action": change_action(change.action),
    });
    if let Some(previous) = &change.previous_address {
        out["previous_resource"] = resource_json(previous);
    }
    if let Some(reason) = change.reason.and_then(short_reason) {
        out["reason"] = json!(reason);
    }
    out
}

/// The machine-readable UI's reason words for the JSON plan's `action_reason`.
fn short_reason(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "replace_because_tainted" => "tainted",
        "replace_by_request" => "requested",
        "replace_because_cannot_update" => "cannot_update",
        "delete_because_no_resource_config" => "delete_because_no_resource_config",
        "delete_because_wrong_repetition" => "delete_because_wrong_repetition",
        "delete_because_count_index" => "delete_because_count_index",
        "delete_because_each_key" => "delete_because_each_key",
        "delete_because_no_module" => "delete_because_no_module",
        "read_because_config_unknown" => "read_because_config_unknown",
        "read_because_dependency_pending" => "read_because_dependency_pending",
        _ => return None,
    })
}

/// The type Terraform would write for an output value, read from its JSON.
fn type_of(value: &J) -> J {
    match value {
        J::Null => json!("dynamic"),
        J::Bool(_) => json!("bool"),
        J::Number(_) => json!("number"),
        J::String(_) => json!("string"),
        J::Array(items) => json!(["tuple", items.iter().map(type_of).collect::<Vec<_>>()]),
        J::Object(fields) => json!([
            "object",
            fields
                .iter()
                .map(|(k, v)| (k.clone(), type_of(v)))
                .collect::<Map<String, J>>()
        ]),
    }
}

/// Writes one message: the common keys, `type`, and the type's own keys.
fn emit<const N: usize>(level: &str, message: &str, kind: &str, extra: [(&str, J); N]) {
    let mut line = Map::new();
    line.insert("@level".into(), json!(level));
    line.insert("@message".into(), json!(message));
    line.insert("@module".into(), json!("terraform.ui"));
    line.insert("@timestamp".into(), json!(timestamp()));
    for (key, value) in extra {
        line.insert(key.into(), value);
    }
    line.insert("type".into(), json!(kind));
    let text = J::Object(line).to_string();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Now, as Terraform stamps its messages (RFC 3339, microseconds, UTC).
fn timestamp() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_objects_split_the_address() {
        let i = ResourceInstance::parse("module.a[\"x\"].local_file.f[2]").expect("address");
        assert_eq!(
            resource_json(&i),
            json!({
                "addr": "module.a[\"x\"].local_file.f[2]",
                "module": "module.a[\"x\"]",
                "resource": "local_file.f[2]",
                "implied_provider": "local",
                "resource_type": "local_file",
                "resource_name": "f",
                "resource_key": 2,
            })
        );
        let root = ResourceInstance::parse("data.local_file.r").expect("address");
        let j = resource_json(&root);
        assert_eq!(j["module"], "");
        assert_eq!(j["resource"], "data.local_file.r");
        assert_eq!(j["resource_key"], J::Null);
    }

    #[test]
    fn progress_lines_give_hook_fields() {
        assert_eq!(hook_action("Destroying... [id=x]"), Some("delete"));
        assert_eq!(
            completed_action("Creation complete after 3s [id=a]"),
            Some("create")
        );
        assert_eq!(
            bracketed_id("Creation complete after 3s [id=./out]"),
            Some("./out")
        );
        assert_eq!(
            elapsed_seconds("Creation complete after 13s [id=a]"),
            Some(13)
        );
        assert_eq!(elapsed_seconds("Destruction complete after 0s"), Some(0));
        assert_eq!(bracketed_id("Destruction complete after 0s"), None);
    }

    #[test]
    fn output_types_follow_the_value() {
        assert_eq!(type_of(&json!("a")), json!("string"));
        assert_eq!(
            type_of(&json!({"n": 1, "l": [true]})),
            json!(["object", {"l": ["tuple", ["bool"]], "n": "number"}])
        );
    }
}
