//! Fitting the comment into its limit. When the whole text is longer, detail is
//! lowered one step at a time in a fixed order, least important first:
//!
//! 1. drift diffs become one line each, then resource diffs (data reads first, then
//!    moves and imports, forgets, creates, updates, destroys, replacements; the last
//!    of each kind first);
//! 2. the output changes;
//! 3. warnings' details;
//! 4. the one-line drift entries, then the one-line resource entries (same order);
//! 5. cost rows (those whose figure does not change first), then policy warnings,
//!    then warnings, then deferred resources.
//!
//! Never left out: the headline and summary table, the destroy and replace list,
//! the cost total, policy failures and errors. The fewest steps that fit are found
//! by bisection (each step only shortens the text), and a note after the headline
//! says what was left out. Only when the parts never left out are themselves longer
//! than the limit is the text cut at a line, and the comment says so.

use std::fmt::Write as _;

use super::layout::{plural, thousands, Comment, Detail, Shown};

#[derive(Clone, Copy, Debug)]
enum Step {
    Drift(usize, Detail),
    Change(usize, Detail),
    Outputs,
    Note(usize, Detail),
    CostRow(usize),
    PolicyWarning(usize),
    Deferred(usize),
}

pub(super) fn fit(comment: &Comment, limit: usize) -> String {
    let full = comment.everything();
    let text = comment.render(&full, None);
    if chars(&text) <= limit {
        return text;
    }
    let steps = steps(comment);
    let attempt = |k: usize| {
        let shown = apply(&full, &steps[..k]);
        let note = left_out(comment, &shown, limit);
        comment.render(&shown, Some(&note))
    };
    let fits = |text: &str| chars(text) <= limit;
    let all = attempt(steps.len());
    if !fits(&all) {
        return cut_at_line(&all, limit);
    }
    // attempt(hi) fits; attempt(lo) does not (the whole text did not fit even
    // without the note).
    let (mut lo, mut hi) = (0, steps.len());
    let mut best = all;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let text = attempt(mid);
        if fits(&text) {
            hi = mid;
            best = text;
        } else {
            lo = mid;
        }
    }
    best
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// Every step, in the order they are taken.
fn steps(comment: &Comment) -> Vec<(usize, Step)> {
    let stacks: Vec<_> = comment.stacks.iter().enumerate().rev().collect();
    let mut steps = Vec::new();
    let mut ranks: Vec<u8> = stacks
        .iter()
        .flat_map(|(_, st)| st.changes.iter().map(|c| c.rank))
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    let changes_by_rank = |detail: Detail, steps: &mut Vec<(usize, Step)>| {
        for rank in &ranks {
            for (s, stack) in &stacks {
                for (i, item) in stack.changes.iter().enumerate().rev() {
                    if item.rank == *rank {
                        steps.push((*s, Step::Change(i, detail)));
                    }
                }
            }
        }
    };
    for (s, stack) in &stacks {
        for i in (0..stack.drift.len()).rev() {
            steps.push((*s, Step::Drift(i, Detail::Line)));
        }
    }
    changes_by_rank(Detail::Line, &mut steps);
    for (s, stack) in &stacks {
        if !stack.outputs.is_empty() {
            steps.push((*s, Step::Outputs));
        }
    }
    let warnings = |detail: Detail, steps: &mut Vec<(usize, Step)>| {
        for (s, stack) in &stacks {
            for (i, n) in stack.notes.iter().enumerate().rev() {
                if !n.error {
                    steps.push((*s, Step::Note(i, detail)));
                }
            }
        }
    };
    warnings(Detail::Line, &mut steps);
    for (s, stack) in &stacks {
        for i in (0..stack.drift.len()).rev() {
            steps.push((*s, Step::Drift(i, Detail::Gone)));
        }
    }
    changes_by_rank(Detail::Gone, &mut steps);
    for changing in [false, true] {
        for (s, stack) in &stacks {
            if let Some(table) = &stack.cost {
                for (i, row) in table.rows.iter().enumerate().rev() {
                    if row.changes == changing {
                        steps.push((*s, Step::CostRow(i)));
                    }
                }
            }
        }
    }
    for (s, stack) in &stacks {
        if let Some(policy) = &stack.policy {
            for i in (0..policy.warnings.len()).rev() {
                steps.push((*s, Step::PolicyWarning(i)));
            }
        }
    }
    warnings(Detail::Gone, &mut steps);
    for (s, stack) in &stacks {
        for i in (0..stack.deferred.len()).rev() {
            steps.push((*s, Step::Deferred(i)));
        }
    }
    steps
}

fn apply(full: &[Shown], steps: &[(usize, Step)]) -> Vec<Shown> {
    let mut shown = full.to_vec();
    for (s, step) in steps {
        let Some(sh) = shown.get_mut(*s) else {
            continue;
        };
        match *step {
            Step::Drift(i, d) => sh.drift[i] = d,
            Step::Change(i, d) => sh.changes[i] = d,
            Step::Outputs => sh.outputs = false,
            Step::Note(i, d) => sh.notes[i] = d,
            Step::CostRow(i) => sh.cost_rows[i] = false,
            Step::PolicyWarning(i) => sh.policy_warnings[i] = false,
            Step::Deferred(i) => sh.deferred[i] = false,
        }
    }
    shown
}

/// The note saying what the cut left out and how to see everything.
fn left_out(comment: &Comment, shown: &[Shown], limit: usize) -> String {
    let count = |f: &dyn Fn(&Shown) -> usize| shown.iter().map(f).sum::<usize>();
    let detail = |v: &[Detail], d: Detail| v.iter().filter(|x| **x == d).count();
    let hidden = |v: &[bool]| v.iter().filter(|x| !**x).count();
    let outputs: usize = comment
        .stacks
        .iter()
        .zip(shown)
        .filter(|(_, sh)| !sh.outputs)
        .map(|(st, _)| st.counts.outputs)
        .sum();
    let mut parts = Vec::new();
    let mut part = |n: usize, noun: &str, how: &str| {
        if n > 0 {
            parts.push(format!("{}{how}", plural(n, noun)));
        }
    };
    part(
        count(&|s| detail(&s.changes, Detail::Line)),
        "resource diff",
        " (each as one line)",
    );
    part(
        count(&|s| detail(&s.changes, Detail::Gone)),
        "resource change",
        " (not listed)",
    );
    part(
        count(&|s| detail(&s.drift, Detail::Line)),
        "drift diff",
        " (each as one line)",
    );
    part(
        count(&|s| detail(&s.drift, Detail::Gone)),
        "object changed outside plinth",
        " (not listed)",
    );
    part(outputs, "output change", "");
    part(
        count(&|s| detail(&s.notes, Detail::Line)),
        "warning's detail",
        "",
    );
    part(count(&|s| detail(&s.notes, Detail::Gone)), "warning", "");
    part(
        count(&|s| hidden(&s.cost_rows)),
        "cost row",
        " (the totals are complete)",
    );
    part(count(&|s| hidden(&s.policy_warnings)), "policy warning", "");
    part(count(&|s| hidden(&s.deferred)), "deferred resource", "");
    let mut note = String::from("> [!NOTE]\n");
    let _ = writeln!(
        note,
        "> Shortened to fit {} characters; left out: {}. The whole plan: `plinth show PLAN_FILE` (or `--markdown` with a larger `--markdown-limit`).",
        thousands(limit as u64),
        if parts.is_empty() { "nothing".to_string() } else { parts.join(", ") }
    );
    note
}

/// The last resort: the text cut where the limit falls (at a line when one ends
/// close enough), with a note saying so.
fn cut_at_line(text: &str, limit: usize) -> String {
    let tail = format!(
        "\n\n> [!CAUTION]\n> Cut at {} characters: even what is never left out is longer. `plinth show PLAN_FILE` shows everything.\n",
        thousands(limit as u64)
    );
    let room = limit.saturating_sub(chars(&tail));
    let mut kept = String::new();
    let mut used = 0;
    for line in text.split_inclusive('\n') {
        let n = chars(line);
        if used + n > room {
            kept.extend(line.chars().take(room - used));
            break;
        }
        kept.push_str(line);
        used += n;
    }
    while kept.ends_with('\n') {
        kept.pop();
    }
    kept.push_str(&tail);
    kept.chars().take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addrs::ResourceInstance;
    use crate::diag::Severity;
    use crate::lang::Value;
    use crate::plan::{Action, Plan, PlannedChange};
    use crate::preview::cost::{CostReport, Monthly, ResourceCost};
    use crate::preview::markdown::{render, Note, Options, Section};
    use crate::preview::policy::{Finding, Kind, PolicyReport};

    fn change(address: &str, action: Action) -> PlannedChange {
        let object = |v: &str| {
            Some(Value::Object(
                [("input".to_string(), Value::string(v))]
                    .into_iter()
                    .collect(),
            ))
        };
        let (before, after) = match action {
            Action::Create | Action::Read => (None, object("new")),
            Action::Delete => (object("old"), None),
            _ => (object("old"), object("new")),
        };
        PlannedChange {
            address: ResourceInstance::parse(address).expect("address"),
            previous_address: None,
            provider: "provider[\"example.com/t/x\"]".into(),
            action,
            reason: None,
            before,
            after,
            replace_paths: Vec::new(),
        }
    }

    fn plan(changes: &[(&str, Action)]) -> Plan {
        Plan {
            changes: changes.iter().map(|(a, act)| change(a, *act)).collect(),
            ..Plan::default()
        }
    }

    fn section<'a>(plan: &'a Plan) -> Section<'a> {
        Section {
            name: "stack".into(),
            plan: Some(plan),
            notes: Vec::new(),
            cost: None,
            policy: None,
        }
    }

    fn mixed() -> Plan {
        plan(&[
            ("x_thing.create_a", Action::Create),
            ("x_thing.create_b", Action::Create),
            ("x_thing.destroy", Action::Delete),
            ("x_thing.replace", Action::DeleteThenCreate),
            ("x_thing.update", Action::Update),
            ("data.x_thing.read", Action::Read),
        ])
    }

    /// The addresses in the order the cut shortens (or drops) them.
    fn change_order(comment: &Comment, detail: Detail) -> Vec<String> {
        steps(comment)
            .into_iter()
            .filter_map(|(_, step)| match step {
                Step::Change(i, d) if d == detail => {
                    Some(comment.stacks[0].changes[i].line.clone())
                }
                _ => None,
            })
            .map(|line| line.split('`').nth(1).unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn reads_go_first_then_creates_last_first_then_updates_destroys_and_replacements() {
        let plan = mixed();
        let comment = Comment::new(&[section(&plan)]);
        let want = [
            "data.x_thing.read",
            "x_thing.create_b",
            "x_thing.create_a",
            "x_thing.update",
            "x_thing.destroy",
            "x_thing.replace",
        ];
        assert_eq!(change_order(&comment, Detail::Line), want);
        assert_eq!(change_order(&comment, Detail::Gone), want);
        let kinds: Vec<&str> = steps(&comment)
            .iter()
            .map(|(_, s)| match s {
                Step::Change(_, Detail::Line) => "diff",
                Step::Change(_, _) => "line",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            ["diff"; 6]
                .iter()
                .chain(&["line"; 6])
                .copied()
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn drift_diffs_go_before_resource_diffs_and_drift_lines_after_warnings_details() {
        let mut plan = plan(&[("x_thing.a", Action::Update)]);
        plan.drift = vec![change("x_thing.a", Action::Update)];
        plan.output_changes = vec![crate::plan::OutputChange {
            name: "o".into(),
            action: Action::Create,
            before: None,
            after: Some(Value::string("v")),
        }];
        let mut s = section(&plan);
        s.notes = vec![Note {
            severity: Severity::Warning,
            summary: "w".into(),
            detail: "d".into(),
            location: None,
        }];
        let comment = Comment::new(&[s]);
        let order: Vec<String> = steps(&comment)
            .iter()
            .map(|(_, step)| format!("{step:?}"))
            .collect();
        assert_eq!(
            order,
            [
                "Drift(0, Line)",
                "Change(0, Line)",
                "Outputs",
                "Note(0, Line)",
                "Drift(0, Gone)",
                "Change(0, Gone)",
                "Note(0, Gone)",
            ]
        );
    }

    #[test]
    fn a_little_too_long_turns_the_least_important_diffs_into_lines() {
        let plan = mixed();
        let whole = render(&[section(&plan)], &Options { limit: usize::MAX });
        let text = render(
            &[section(&plan)],
            &Options {
                limit: whole.chars().count() - 1,
            },
        );
        assert!(text.chars().count() < whole.chars().count());
        // The note of what was left out takes room too: two diffs make way for it.
        for want in [
            "- `data.x_thing.read` (read during apply)\n",
            "- `x_thing.create_b` (create)\n",
            "<summary>x_thing.create_a (create)</summary>",
            "left out: 2 resource diffs (each as one line).",
        ] {
            assert!(text.contains(want), "{want:?}:\n{text}");
        }
    }

    #[test]
    fn what_is_never_left_out_stays_when_everything_else_goes() {
        let plan = mixed();
        let cost = CostReport {
            currency: "USD".into(),
            catalog: "catalog".into(),
            resources: vec![ResourceCost {
                address: "x_thing.replace".into(),
                resource_type: "x_thing".into(),
                before: Some(Monthly::Priced {
                    hourly: 1.0,
                    monthly: 730.0,
                }),
                after: Some(Monthly::Priced {
                    hourly: 2.0,
                    monthly: 1460.0,
                }),
                components: Vec::new(),
            }],
        };
        let policy = PolicyReport {
            dir: "policies".into(),
            files: 1,
            findings: vec![
                Finding {
                    kind: Kind::Warn,
                    file: "w.rego".into(),
                    rule: "main.warn".into(),
                    message: "a warning".into(),
                },
                Finding {
                    kind: Kind::Deny,
                    file: "d.rego".into(),
                    rule: "main.deny".into(),
                    message: "a failure".into(),
                },
            ],
        };
        let mut s = section(&plan);
        s.cost = Some(&cost);
        s.policy = Some(&policy);
        s.notes = vec![
            Note {
                severity: Severity::Warning,
                summary: "a warning note".into(),
                detail: "its detail ".repeat(20),
                location: Some("main.tf:1".into()),
            },
            Note {
                severity: Severity::Error,
                summary: "an error note".into(),
                detail: "why".into(),
                location: Some("main.tf:2".into()),
            },
        ];
        // The limit: the length with every step taken.
        let comment = Comment::new(std::slice::from_ref(&s));
        let all = apply(&comment.everything(), &steps(&comment));
        let limit = chars(&comment.render(&all, Some(&left_out(&comment, &all, 9_999))));
        let text = render(&[s], &Options { limit });
        assert!(
            text.chars().count() <= limit,
            "{} chars:\n{text}",
            text.chars().count()
        );
        for kept in [
            "**Plan:** 2 to add, 1 to change, 1 to replace, 1 to destroy",
            "> - `x_thing.destroy` (destroy)\n> - `x_thing.replace` (replace)\n",
            "| **Total** | $730.00 | $1,460.00 | **+$730.00** |",
            "- **deny** `d.rego` `main.deny`: a failure",
            "- **Error:** an error note (`main.tf:2`)\n\n  why\n",
        ] {
            assert!(text.contains(kept), "{kept:?} left out:\n{text}");
        }
        for gone in [
            "<details>",
            "a warning note",
            "its detail",
            "`w.rego`",
            "| `x_thing.replace` |",
        ] {
            assert!(!text.contains(gone), "{gone:?} kept:\n{text}");
        }
        assert!(text.contains("left out: 6 resource changes (not listed), 1 warning, 1 cost row (the totals are complete), 1 policy warning."), "{text}");
    }

    #[test]
    fn a_limit_below_what_is_never_left_out_cuts_at_a_line_and_says_so() {
        let names: Vec<String> = (0..40).map(|i| format!("x_thing.gone[{i}]")).collect();
        let changes: Vec<(&str, Action)> =
            names.iter().map(|n| (n.as_str(), Action::Delete)).collect();
        let plan = plan(&changes);
        let text = render(&[section(&plan)], &Options { limit: 700 });
        assert!(text.chars().count() <= 700, "{}", text.chars().count());
        assert!(
            text.contains("> [!CAUTION]\n> Cut at 700 characters"),
            "{text}"
        );
        assert!(
            text.starts_with("## plinth plan\n\n**Plan:** 0 to add"),
            "{text}"
        );
        let tiny = render(&[section(&plan)], &Options { limit: 10 });
        assert_eq!(tiny.chars().count(), 10);
    }

    #[test]
    fn the_cut_is_deterministic_and_fits_for_every_limit() {
        let names: Vec<String> = (0..30).map(|i| format!("x_thing.n[{i}]")).collect();
        let changes: Vec<(&str, Action)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.as_str(),
                    if i % 3 == 0 {
                        Action::Delete
                    } else {
                        Action::Create
                    },
                )
            })
            .collect();
        let plan = plan(&changes);
        let whole = render(&[section(&plan)], &Options { limit: usize::MAX })
            .chars()
            .count();
        for limit in (1_000..whole).step_by(97) {
            let a = render(&[section(&plan)], &Options { limit });
            let b = render(&[section(&plan)], &Options { limit });
            assert_eq!(a, b);
            assert!(a.chars().count() <= limit, "{limit}: {}", a.chars().count());
            for i in (0..30).step_by(3) {
                assert!(
                    a.contains(&format!("> - `x_thing.n[{i}]` (destroy)")),
                    "{limit}"
                );
            }
        }
    }
}
