//! The plan as a Terraform user reads it in a terminal: `+ create`, `~ update in
//! place`, `-/+ replace` with `# forces replacement`, `- destroy`, `(known after
//! apply)`, `(sensitive value)`, and the `Plan: …` summary. It decides nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Action, Plan, PlannedChange};
use crate::lang::Value;

struct Paint {
    color: bool,
    /// Show a changed object, map or list of them key by key (the Markdown comment);
    /// the terminal shows both whole values.
    nested: bool,
}

impl Paint {
    fn code(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn green(&self, t: &str) -> String {
        self.code("32", t)
    }
    fn cyan(&self, t: &str) -> String {
        self.code("36", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.code("33", t)
    }
    fn red(&self, t: &str) -> String {
        self.code("31", t)
    }
    fn bold(&self, t: &str) -> String {
        self.code("1", t)
    }
}

fn value_text(v: &Value, indent: usize) -> String {
    let text = v.render();
    let pad = " ".repeat(indent);
    text.replace('\n', &format!("\n{pad}"))
}

/// Whether an attribute's prior and planned values are one value: state read back
/// gives a nested block as a tuple where the plan has a list of the same objects, so
/// values compare as planning does (by content), with the same sensitive paths.
fn same_shown(before: &Value, after: &Value) -> bool {
    before == after
        || (before.sensitive_paths() == after.sensitive_paths()
            && before.clone().deep_unmark().to_json() == after.clone().deep_unmark().to_json())
}

fn attrs(v: Option<&Value>) -> BTreeMap<String, Value> {
    match v.map(|v| v.peel()) {
        Some((Value::Object(m), true)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().sensitive()))
            .collect(),
        Some((Value::Object(m), false)) => m.clone(),
        _ => BTreeMap::new(),
    }
}

fn header(c: &PlannedChange, p: &Paint) -> (String, String) {
    let what = match (c.action, &c.previous_address) {
        (Action::Create, _) => "will be created".to_string(),
        (Action::Update, _) => "will be updated in-place".to_string(),
        (Action::DeleteThenCreate | Action::CreateThenDelete, _) => match c.reason {
            Some("replace_because_tainted") => "is tainted, so must be replaced".to_string(),
            Some("replace_by_request") => "will be replaced, as requested".to_string(),
            Some("replace_by_triggers") => {
                "will be replaced due to changes in replace_triggered_by".to_string()
            }
            _ => "must be replaced".to_string(),
        },
        (Action::Delete, _) => "will be destroyed".to_string(),
        (Action::Read, _) if c.reason == Some("read_because_check_nested") => {
            "will be read during apply\n  # (config will be reloaded to verify a check block)"
                .to_string()
        }
        (Action::Read, _) => "will be read during apply".to_string(),
        (Action::Forget, _) => "will no longer be managed by plinth, but will not be destroyed\n  # (destroy = false is set in the configuration)".to_string(),
        (Action::NoOp, Some(prev)) => {
            return (
                format!("  # {prev} has moved to {}", c.address),
                "   ".into(),
            )
        }
        (Action::NoOp, None) => String::new(),
    };
    let symbol = match c.action {
        Action::Create => format!("  {}", p.green("+")),
        Action::Update => format!("  {}", p.yellow("~")),
        Action::DeleteThenCreate => format!("{}/{}", p.red("-"), p.green("+")),
        Action::CreateThenDelete => format!("{}/{}", p.green("+"), p.red("-")),
        Action::Delete => format!("  {}", p.red("-")),
        Action::NoOp => "   ".to_string(),
        Action::Read => format!(" {}", p.cyan("<=")),
        Action::Forget => "  .".to_string(),
    };
    let mut line = format!("  # {} {what}", p.bold(&c.address.to_string()));
    if let Some(prev) = &c.previous_address {
        let _ = write!(line, " (moved from {prev})");
    }
    (line, symbol)
}

/// How a change made outside plinth reads: "has been changed" or "has been deleted".
fn drift_header(c: &PlannedChange, p: &Paint) -> (String, String) {
    match c.action {
        Action::Delete => (
            format!("  # {} has been deleted", p.bold(&c.address.to_string())),
            format!("  {}", p.red("-")),
        ),
        _ => (
            format!("  # {} has been changed", p.bold(&c.address.to_string())),
            format!("  {}", p.yellow("~")),
        ),
    }
}

fn change_text(c: &PlannedChange, p: &Paint, out: &mut String, import: Option<&String>) {
    let (mut head, symbol) = header(c, p);
    if let Some(id) = import {
        if c.action == Action::NoOp {
            head = format!("  # {} will be imported", p.bold(&c.address.to_string()));
        } else {
            head.push_str(&format!(" (imported from {id:?})"));
        }
    }
    change_text_with(c, p, out, (head, symbol));
}

fn change_text_with(c: &PlannedChange, p: &Paint, out: &mut String, head: (String, String)) {
    let (head, symbol) = head;
    out.push_str(&head);
    out.push('\n');
    let keyword = match c.address.resource.mode {
        crate::lang::refs::ResourceMode::Data => "data",
        crate::lang::refs::ResourceMode::Managed => "resource",
    };
    let _ = writeln!(
        out,
        "{symbol} {keyword} \"{}\" \"{}\" {{",
        c.address.resource.type_name, c.address.resource.name
    );
    let before = attrs(c.before.as_ref());
    let after = attrs(c.after.as_ref());
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut hidden = 0;
    for name in names {
        let b = before.get(name.as_str());
        let a = after.get(name.as_str());
        let forces = c.replace_paths.iter().any(|r| r == name);
        let suffix = if forces {
            format!(" {}", p.red("# forces replacement"))
        } else {
            String::new()
        };
        let col = 8 + width + 3;
        let line = match (b, a) {
            (None | Some(Value::Null(_)), Some(a)) => {
                if a.is_null() {
                    continue;
                }
                format!(
                    "      {} {name:<width$} = {}{suffix}",
                    p.green("+"),
                    value_text(a, col)
                )
            }
            (Some(b), None) if c.action == Action::Forget => {
                if b.is_null() {
                    continue;
                }
                format!("        {name:<width$} = {}", value_text(b, col))
            }
            (Some(b), None) | (Some(b), Some(_)) if c.action == Action::Delete => {
                if b.is_null() {
                    continue;
                }
                format!(
                    "      {} {name:<width$} = {} -> null",
                    p.red("-"),
                    value_text(b, col)
                )
            }
            (Some(b), Some(a)) if a.is_wholly_known() && same_shown(b, a) => {
                if c.action == Action::Update && name != "id" {
                    hidden += 1;
                    continue;
                }
                format!("        {name:<width$} = {}", value_text(a, col))
            }
            (Some(b), Some(a))
                if (b.is_sensitive() || a.is_sensitive()) && !b.is_null() && !a.is_null() =>
            {
                // Neither side is shown, so neither can be guessed from the other.
                format!(
                    "      {} {name:<width$} = (sensitive value){suffix}",
                    p.yellow("~")
                )
            }
            (Some(b), Some(a)) => {
                if b.is_null() && a.is_null() {
                    continue;
                }
                match p.nested.then(|| nested_diff(b, a, 8, p)).flatten() {
                    Some(nested) => {
                        format!("      {} {name:<width$} = {nested}{suffix}", p.yellow("~"))
                    }
                    None => format!(
                        "      {} {name:<width$} = {} -> {}{suffix}",
                        p.yellow("~"),
                        value_text(b, col),
                        value_text(a, col)
                    ),
                }
            }
            (Some(b), None) => format!(
                "      {} {name:<width$} = {} -> null",
                p.red("-"),
                value_text(b, col)
            ),
            (None, None) => continue,
        };
        out.push_str(&line);
        out.push('\n');
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "        # ({hidden} unchanged attribute{} hidden)",
            if hidden == 1 { "" } else { "s" }
        );
    }
    out.push_str("    }\n\n");
}

/// A changed object or map (or a list or tuple of the same length holding them)
/// shown key by key: what changed with its marker, the rest counted as hidden.
/// `column` is where the attribute's own name starts; keys go two columns right of
/// their marker, which is two right of `column`. `None` when the values are not
/// both such collections (or either is sensitive or unknown).
fn nested_diff(before: &Value, after: &Value, column: usize, p: &Paint) -> Option<String> {
    let pad = " ".repeat(column + 2);
    let mut out = String::new();
    let mut hidden = 0;
    match (before, after) {
        (Value::Object(b) | Value::Map(_, b), Value::Object(a) | Value::Map(_, a)) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            let shown = |k: &String| Value::String(k.clone()).render();
            let width = keys.iter().map(|k| shown(k).len()).max().unwrap_or(0);
            out.push_str("{\n");
            for k in keys {
                let key = shown(k);
                let inner = column + 4;
                let col = inner + width + 3;
                let line = match (b.get(k), a.get(k)) {
                    (Some(bv), Some(av)) if av.is_wholly_known() && same_shown(bv, av) => {
                        hidden += 1;
                        continue;
                    }
                    (Some(bv), Some(av)) if bv.is_null() && av.is_null() => continue,
                    (None | Some(Value::Null(_)), Some(av)) => {
                        format!("{} {key:<width$} = {}", p.green("+"), value_text(av, col))
                    }
                    (Some(bv), None | Some(Value::Null(_))) => format!(
                        "{} {key:<width$} = {} -> null",
                        p.red("-"),
                        value_text(bv, col)
                    ),
                    (Some(bv), Some(av)) => match nested_diff(bv, av, inner, p) {
                        Some(n) => format!("{} {key:<width$} = {n}", p.yellow("~")),
                        None if bv.is_sensitive() || av.is_sensitive() => {
                            format!("{} {key:<width$} = (sensitive value)", p.yellow("~"))
                        }
                        None => format!(
                            "{} {key:<width$} = {} -> {}",
                            p.yellow("~"),
                            value_text(bv, col),
                            value_text(av, col)
                        ),
                    },
                    (None, None) => continue,
                };
                let _ = writeln!(out, "{pad}{line}");
            }
            if hidden > 0 {
                let _ = writeln!(
                    out,
                    "{pad}  # ({hidden} unchanged attribute{} hidden)",
                    if hidden == 1 { "" } else { "s" }
                );
            }
            let _ = write!(out, "{}}}", " ".repeat(column));
        }
        (Value::List(_, b) | Value::Tuple(b), Value::List(_, a) | Value::Tuple(a))
            if b.len() == a.len() && !b.is_empty() =>
        {
            out.push_str("[\n");
            let unchanged = |n: usize, out: &mut String| {
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "{pad}  # ({n} unchanged element{} hidden)",
                        if n == 1 { "" } else { "s" }
                    );
                }
            };
            for (bv, av) in b.iter().zip(a) {
                if av.is_wholly_known() && same_shown(bv, av) {
                    hidden += 1;
                    continue;
                }
                unchanged(std::mem::take(&mut hidden), &mut out);
                let line = match nested_diff(bv, av, column + 4, p) {
                    Some(n) => format!("{pad}{} {n},", p.yellow("~")),
                    None => format!(
                        "{pad}{} {},\n{pad}{} {},",
                        p.red("-"),
                        value_text(bv, column + 4),
                        p.green("+"),
                        value_text(av, column + 4)
                    ),
                };
                let _ = writeln!(out, "{line}");
            }
            unchanged(hidden, &mut out);
            let _ = write!(out, "{}]", " ".repeat(column));
        }
        _ => return None,
    }
    Some(out)
}

/// One planned change as the terminal shows it, without colour: the `# … will be …`
/// header lines, then the block with its attributes (for renderers that lay the
/// change out themselves, such as the Markdown comment).
pub fn change_block(c: &PlannedChange, import: Option<&String>) -> String {
    let mut out = String::new();
    change_text(
        c,
        &Paint {
            color: false,
            nested: true,
        },
        &mut out,
        import,
    );
    out
}

/// One change made outside plinth as the terminal shows it, without colour.
pub fn drift_block(c: &PlannedChange) -> String {
    let p = Paint {
        color: false,
        nested: true,
    };
    let mut out = String::new();
    change_text_with(c, &p, &mut out, drift_header(c, &p));
    out
}

const RULE: &str = "─────────────────────────────────────────────────────────────────────────────";

/// What refresh found changed outside plinth, before the plan proper.
fn drift_text(plan: &Plan, p: &Paint, out: &mut String) {
    if plan.drift.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}\n",
        p.bold("Note: Objects have changed outside of plinth")
    );
    out.push_str("plinth detected the following changes made outside of plinth since the\nlast \"plinth apply\":\n\n");
    for c in &plan.drift {
        change_text_with(c, p, out, drift_header(c, p));
    }
    if plan.refresh_only {
        out.push_str("This is a refresh-only plan, so plinth will not take any actions to undo\nthese. If you were expecting these changes then you can apply this plan to\nrecord the updated values in the plinth state without changing any remote\nobjects.\n");
    } else {
        let _ = writeln!(out, "Unless you have made equivalent changes to your configuration, or ignored the\nrelevant attributes using ignore_changes, the following plan may include\nactions to undo or respond to these changes.\n\n{RULE}\n");
    }
}

/// The plan as text; `color` only on a terminal.
pub fn text(plan: &Plan, color: bool) -> String {
    let p = Paint {
        color,
        nested: false,
    };
    let mut out = String::new();
    drift_text(plan, &p, &mut out);
    if plan.refresh_only {
        if plan.drift.is_empty() {
            out.push_str(&p.bold("No changes."));
            out.push_str(" Your infrastructure still matches the configuration.\n\nplinth has checked that the real remote objects still match the result of\nyour most recent changes, and found no differences.\n");
        }
        return out;
    }
    let shown: Vec<&PlannedChange> = plan
        .changes
        .iter()
        .filter(|c| {
            c.action.is_change()
                || c.previous_address.is_some()
                || plan.imports.contains_key(&c.address.to_string())
        })
        .collect();
    if shown.is_empty() && plan.output_changes.is_empty() && plan.deferred.is_empty() {
        out.push_str(&p.bold("No changes."));
        out.push_str(" Your infrastructure matches the configuration.\n");
        return out;
    }
    if !shown.is_empty() {
        out.push_str("plinth will perform the following actions:\n\n");
        for c in &shown {
            change_text(c, &p, &mut out, plan.imports.get(&c.address.to_string()));
        }
        let (add, change, destroy) = plan.counts();
        let imports = if plan.imports.is_empty() {
            String::new()
        } else {
            format!("{} to import, ", plan.imports.len())
        };
        let forget = match plan.forget_count() {
            0 => String::new(),
            n => format!(", {n} to forget"),
        };
        let _ = writeln!(
            out,
            "{} {imports}{add} to add, {change} to change, {destroy} to destroy{forget}.",
            p.bold("Plan:")
        );
    }
    if !plan.output_changes.is_empty() {
        out.push_str("\nChanges to Outputs:\n");
        let width = plan
            .output_changes
            .iter()
            .map(|o| o.name.len())
            .max()
            .unwrap_or(0);
        for o in &plan.output_changes {
            let col = 4 + width + 3;
            let line = match (o.action, &o.before, &o.after) {
                (Action::Create, _, Some(a)) => format!(
                    "  {} {:<width$} = {}",
                    p.green("+"),
                    o.name,
                    value_text(a, col)
                ),
                (Action::Delete, Some(b), _) => format!(
                    "  {} {:<width$} = {} -> null",
                    p.red("-"),
                    o.name,
                    value_text(b, col)
                ),
                (_, Some(b), Some(a)) => {
                    format!(
                        "  {} {:<width$} = {} -> {}",
                        p.yellow("~"),
                        o.name,
                        value_text(b, col),
                        value_text(a, col)
                    )
                }
                _ => continue,
            };
            out.push_str(&line);
            out.push('\n');
        }
        if shown.is_empty() && plan.deferred.is_empty() {
            out.push_str("\nYou can apply this plan to save these new output values to the plinth state, without changing any real infrastructure.\n");
        }
    }
    deferred_text(plan, &p, &mut out);
    out
}

/// The instances a partial plan leaves for the next stage, with why.
fn deferred_text(plan: &Plan, p: &Paint, out: &mut String) {
    if plan.deferred.is_empty() {
        return;
    }
    let n = plan.deferred.len();
    let _ = writeln!(
        out,
        "\n{} this plan is partial: {n} resource{} wait{} for provider configuration that is known only after this stage is applied:\n",
        p.bold("Note:"),
        if n == 1 { "" } else { "s" },
        if n == 1 { "s" } else { "" },
    );
    for d in &plan.deferred {
        let _ = writeln!(
            out,
            "  {} {} ({})",
            p.cyan("…"),
            d.address,
            d.reason.describe()
        );
    }
    if super::deferred::needs_new_run(&plan.deferred) {
        out.push_str("\nA provider they use is configured already and its configuration changes in this plan: apply this plan, then run plinth apply again for them (a provider is configured once per run).\n");
    } else {
        out.push_str("\nplinth apply applies the changes above, then plans the deferred resources as its next stage (and asks again, unless --auto-approve). A saved plan applies this stage only.\n");
    }
}

/// The plan in Terraform's JSON plan format (`terraform show -json`): the one a plan
/// file saved, or the plan in hand's ([`super::json::document`]).
pub fn json(plan: &Plan) -> serde_json::Value {
    match &plan.saved_json {
        Some(saved) => saved.as_ref().clone(),
        None => super::json::document(plan),
    }
}

#[cfg(test)]
mod tests {
    use super::{nested_diff, same_shown, Paint};
    use crate::lang::{Type, Value};

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    #[test]
    fn a_block_read_back_as_a_tuple_is_the_list_the_plan_has() {
        let from_state = Value::Tuple(vec![s("a")]);
        let planned = Value::List(Type::String, vec![s("a")]);
        assert!(same_shown(&from_state, &planned));
        assert!(!same_shown(
            &from_state,
            &Value::List(Type::String, vec![s("b")])
        ));
        assert!(!same_shown(&s("a"), &s("a").sensitive()));
    }

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn a_changed_list_of_objects_shows_what_changed_key_by_key() {
        let p = Paint {
            color: false,
            nested: true,
        };
        let rule = |port: i64, extra: Option<Value>| {
            let mut pairs = vec![("port", Value::number(port))];
            if let Some(v) = extra {
                pairs.push(("token", v));
            }
            object(&pairs)
        };
        let before = Value::Tuple(vec![rule(80, None), rule(443, None)]);
        let after = Value::Tuple(vec![
            rule(80, None),
            rule(8443, Some(s("secret").sensitive())),
        ]);
        assert_eq!(
            nested_diff(&before, &after, 8, &p).as_deref(),
            Some(concat!(
                "[\n",
                "            # (1 unchanged element hidden)\n",
                "          ~ {\n",
                "              ~ \"port\"  = 443 -> 8443\n",
                "              + \"token\" = (sensitive value)\n",
                "            },\n",
                "        ]",
            ))
        );
        let longer = Value::Tuple(vec![rule(80, None), rule(443, None), rule(1, None)]);
        assert_eq!(nested_diff(&before, &longer, 8, &p), None);
        assert_eq!(nested_diff(&s("a"), &s("b"), 8, &p), None);
        assert_eq!(
            nested_diff(&before, &after.clone().sensitive(), 8, &p),
            None
        );
    }
}
