//! A drift report as text for the terminal, as JSON for tools, as Markdown for a
//! comment or a chat message.

use std::fmt::Write;

use super::{DriftKind, Report};

/// A value as the report shows it: JSON, or `(sensitive value)`.
fn shown(v: &serde_json::Value, sensitive: bool) -> String {
    if sensitive {
        return "(sensitive value)".into();
    }
    match v {
        serde_json::Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// The terminal form: each drifted instance with its paths, `before → after`, then
/// what the configuration would change.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    if !report.has_drift() {
        out.push_str("No drift: reality matches the state.\n");
    } else {
        let n = report.resources.len();
        let _ = writeln!(
            out,
            "Drift: {n} object{} changed outside plinth.\n",
            if n == 1 { "" } else { "s" }
        );
        for r in &report.resources {
            match r.kind {
                DriftKind::Deleted => {
                    let _ = writeln!(out, "  - {} was deleted outside plinth", r.address);
                }
                DriftKind::Changed => {
                    let _ = writeln!(out, "  ~ {} changed outside plinth", r.address);
                    for a in &r.attributes {
                        let _ = writeln!(
                            out,
                            "      {}: {} -> {}",
                            a.path,
                            shown(&a.before, a.sensitive),
                            shown(&a.after, a.sensitive)
                        );
                    }
                }
            }
        }
    }
    if report.ignored > 0 {
        let _ = writeln!(
            out,
            "\n{} difference{} left out by ignore rules.",
            report.ignored,
            if report.ignored == 1 { "" } else { "s" }
        );
    }
    if !report.reverts.is_empty() || !report.config_changes.is_empty() {
        out.push_str("\nReality differs from the configuration: plinth apply would change\n");
        for a in &report.reverts {
            let _ = writeln!(out, "  {a} (puts the drift back)");
        }
        for a in &report.config_changes {
            let _ = writeln!(out, "  {a} (a configuration change)");
        }
    }
    out
}

/// The JSON form: the report's fields and `drift: true|false`.
pub fn json(report: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(report).unwrap_or_default();
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("drift".into(), serde_json::Value::Bool(report.has_drift()));
    }
    v
}

/// The Markdown form: a headline and a table of paths.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    if !report.has_drift() {
        out.push_str("### No drift\n\nReality matches the state.\n");
    } else {
        let n = report.resources.len();
        let _ = writeln!(
            out,
            "### Drift: {n} object{} changed outside plinth\n",
            if n == 1 { "" } else { "s" }
        );
        out.push_str("| Resource | Attribute | In state | Now |\n|---|---|---|---|\n");
        for r in &report.resources {
            if r.kind == DriftKind::Deleted {
                let _ = writeln!(out, "| `{}` | | | *deleted* |", r.address);
            }
            for a in &r.attributes {
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | {} | {} |",
                    r.address,
                    a.path,
                    cell(&shown(&a.before, a.sensitive)),
                    cell(&shown(&a.after, a.sensitive))
                );
            }
        }
    }
    if report.ignored > 0 {
        let _ = writeln!(
            out,
            "\n{} difference(s) left out by ignore rules.",
            report.ignored
        );
    }
    if !report.config_changes.is_empty() {
        let _ = writeln!(
            out,
            "\nConfiguration changes not yet applied: {}",
            report
                .config_changes
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

/// A table cell: pipes escaped, long values cut.
fn cell(text: &str) -> String {
    let mut t: String = text.chars().take(120).collect();
    if t.len() < text.len() {
        t.push('…');
    }
    format!("`{}`", t.replace('|', "\\|").replace('`', "'"))
}

#[cfg(test)]
mod tests {
    use super::super::{AttributeDrift, DriftedResource};
    use super::*;

    fn sample() -> Report {
        Report {
            resources: vec![
                DriftedResource {
                    address: "aws_eks_node_group.gpu".into(),
                    kind: DriftKind::Changed,
                    attributes: vec![AttributeDrift {
                        path: "scaling_config[0].desired_size".into(),
                        before: 2.into(),
                        after: 5.into(),
                        sensitive: false,
                    }],
                },
                DriftedResource {
                    address: "kubernetes_secret_v1.token".into(),
                    kind: DriftKind::Changed,
                    attributes: vec![AttributeDrift {
                        path: "data[\"token\"]".into(),
                        before: serde_json::Value::Null,
                        after: serde_json::Value::Null,
                        sensitive: true,
                    }],
                },
                DriftedResource {
                    address: "aws_s3_bucket.weights".into(),
                    kind: DriftKind::Deleted,
                    attributes: vec![],
                },
            ],
            config_changes: vec!["aws_ecr_repository.models".into()],
            reverts: vec!["aws_eks_node_group.gpu".into()],
            ignored: 1,
        }
    }

    #[test]
    fn the_text_names_each_path_with_both_values() {
        let t = text(&sample());
        assert!(
            t.contains("Drift: 3 objects changed outside plinth."),
            "{t}"
        );
        assert!(t.contains("scaling_config[0].desired_size: 2 -> 5"), "{t}");
        assert!(
            t.contains("data[\"token\"]: (sensitive value) -> (sensitive value)"),
            "{t}"
        );
        assert!(
            t.contains("- aws_s3_bucket.weights was deleted outside plinth"),
            "{t}"
        );
        assert!(t.contains("1 difference left out by ignore rules."), "{t}");
        assert!(
            t.contains("aws_ecr_repository.models (a configuration change)"),
            "{t}"
        );
        assert_eq!(
            text(&Report::default()),
            "No drift: reality matches the state.\n"
        );
    }

    #[test]
    fn json_and_markdown_carry_the_same_facts() {
        let j = json(&sample());
        assert_eq!(j["drift"], true);
        assert_eq!(j["resources"][0]["attributes"][0]["after"], 5);
        assert_eq!(j["resources"][1]["attributes"][0]["sensitive"], true);
        let m = markdown(&sample());
        assert!(
            m.contains(
                "| `aws_eks_node_group.gpu` | `scaling_config[0].desired_size` | `2` | `5` |"
            ),
            "{m}"
        );
        assert!(
            m.contains("| `aws_s3_bucket.weights` | | | *deleted* |"),
            "{m}"
        );
        assert!(!m.contains("token\"]` | `null"), "{m}");
    }
}
