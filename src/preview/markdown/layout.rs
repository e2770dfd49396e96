//! What the comment shows, in order: each stack's parts rendered once, then laid out
//! at the detail a [`Shown`] asks for (the cut in `cut.rs` lowers it part by part).

use std::fmt::Write as _;

use super::cost::{self, Table};
use super::{Note, Section};
use crate::diag::Severity;
use crate::lang::Value;
use crate::plan::{render, Action, Plan, PlannedChange};
use crate::preview::policy::{Kind, PolicyReport};

/// How much of one item the comment shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Detail {
    /// The whole attribute diff (or a warning with its detail).
    Full,
    /// One line: the address and the action (a warning's summary).
    Line,
    /// Not listed; counted in the note of what was left out.
    Gone,
}

/// What the comment shows of one stack; everything else is always shown.
#[derive(Clone, Debug)]
pub(super) struct Shown {
    pub drift: Vec<Detail>,
    pub changes: Vec<Detail>,
    pub outputs: bool,
    /// Per note; errors stay `Full`.
    pub notes: Vec<Detail>,
    pub cost_rows: Vec<bool>,
    /// Per policy warning; failures are always shown.
    pub policy_warnings: Vec<bool>,
    pub deferred: Vec<bool>,
}

/// One resource change (or one drifted object), rendered both ways ahead of time.
pub(super) struct Item {
    /// The module instance it belongs to; empty for the root module.
    pub module: String,
    pub full: String,
    pub line: String,
    /// When the cut reaches it: lower first.
    pub rank: u8,
}

/// The numbers the headline and the summary table show.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Counts {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
    pub import: usize,
    pub moved: usize,
    pub read: usize,
    pub forget: usize,
    pub outputs: usize,
    pub deferred: usize,
    pub drift: usize,
}

impl Counts {
    fn of(plan: &Plan) -> Counts {
        let mut c = Counts {
            import: plan.imports.len(),
            outputs: plan.output_changes.len(),
            deferred: plan.deferred.len(),
            drift: plan.drift.len(),
            ..Counts::default()
        };
        if plan.refresh_only {
            return c;
        }
        for ch in &plan.changes {
            match ch.action {
                Action::Create => c.add += 1,
                Action::Update => c.change += 1,
                Action::DeleteThenCreate | Action::CreateThenDelete => c.replace += 1,
                Action::Delete => c.destroy += 1,
                Action::Read => c.read += 1,
                Action::Forget => c.forget += 1,
                Action::NoOp => {}
            }
            if ch.previous_address.is_some() {
                c.moved += 1;
            }
        }
        c
    }

    fn resources(&self) -> usize {
        self.add
            + self.change
            + self.replace
            + self.destroy
            + self.import
            + self.moved
            + self.read
            + self.forget
    }
}

/// One note, both ways.
pub(super) struct NoteItem {
    pub error: bool,
    pub full: String,
    pub line: String,
}

/// A stack's policy results: failures are never left out.
pub(super) struct PolicyPart {
    pub head: String,
    pub failures: Vec<String>,
    pub warnings: Vec<String>,
}

/// One stack's part of the comment, rendered ahead of the layout.
pub(super) struct Stack {
    pub name: String,
    pub failed: bool,
    pub refresh_only: bool,
    pub counts: Counts,
    pub errors: usize,
    /// Every destroyed or replaced instance: `` `ADDR` (destroy)``.
    pub destroys: Vec<String>,
    pub drift: Vec<Item>,
    pub changes: Vec<Item>,
    pub outputs: String,
    pub notes: Vec<NoteItem>,
    pub cost: Option<Table>,
    pub policy: Option<PolicyPart>,
    pub deferred: Vec<String>,
}

pub(super) struct Comment {
    pub stacks: Vec<Stack>,
}

impl Comment {
    pub fn new(sections: &[Section]) -> Comment {
        Comment {
            stacks: sections.iter().map(Stack::new).collect(),
        }
    }

    fn multi(&self) -> bool {
        self.stacks.len() > 1
    }

    /// Everything shown at full detail.
    pub fn everything(&self) -> Vec<Shown> {
        self.stacks
            .iter()
            .map(|s| Shown {
                drift: vec![Detail::Full; s.drift.len()],
                changes: vec![Detail::Full; s.changes.len()],
                outputs: true,
                notes: vec![Detail::Full; s.notes.len()],
                cost_rows: vec![true; s.cost.as_ref().map_or(0, |c| c.rows.len())],
                policy_warnings: vec![true; s.policy.as_ref().map_or(0, |p| p.warnings.len())],
                deferred: vec![true; s.deferred.len()],
            })
            .collect()
    }

    /// The comment at the detail `shown` asks for, with `left_out` (what the cut
    /// dropped) after the headline.
    pub fn render(&self, shown: &[Shown], left_out: Option<&str>) -> String {
        let mut out = String::new();
        let multi = self.multi();
        if multi {
            let _ = writeln!(out, "## plinth plan: {} stacks\n", self.stacks.len());
            self.table(&mut out);
            let destroys: Vec<String> = self
                .stacks
                .iter()
                .flat_map(|s| {
                    s.destroys
                        .iter()
                        .map(move |d| format!("{}: {d}", code(&s.name)))
                })
                .collect();
            warning(&destroys, &mut out);
        } else if let Some(stack) = self.stacks.first() {
            out.push_str("## plinth plan\n\n");
            out.push_str(&stack.headline());
            out.push_str("\n\n");
            warning(&stack.destroys, &mut out);
        } else {
            out.push_str("## plinth plan\n\nNo plans were given.\n");
        }
        if let Some(note) = left_out {
            out.push_str(note);
            out.push('\n');
        }
        for (stack, shown) in self.stacks.iter().zip(shown) {
            if multi {
                let _ = writeln!(out, "### {}\n", code(&stack.name));
                out.push_str(&stack.headline());
                out.push_str("\n\n");
                stack.body(shown, 4, &mut out);
            } else {
                stack.body(shown, 3, &mut out);
            }
        }
        while out.ends_with("\n\n") {
            out.pop();
        }
        out
    }

    /// The monorepo's summary table: one row per stack.
    fn table(&self, out: &mut String) {
        let cost = self.stacks.iter().any(|s| s.cost.is_some());
        let policy = self.stacks.iter().any(|s| s.policy.is_some());
        out.push_str(
            "| Stack | Result | Add | Change | Replace | Destroy | Import | Move | Read |",
        );
        let mut rule = String::from("|---|---|--:|--:|--:|--:|--:|--:|--:|");
        if cost {
            out.push_str(" Monthly cost |");
            rule.push_str("--:|");
        }
        if policy {
            out.push_str(" Policy |");
            rule.push_str("---|");
        }
        out.push('\n');
        out.push_str(&rule);
        out.push('\n');
        for s in &self.stacks {
            let c = &s.counts;
            let _ = write!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                code(&s.name),
                s.result(),
                c.add,
                c.change,
                c.replace,
                c.destroy,
                c.import,
                c.moved,
                c.read
            );
            if cost {
                let text = s.cost.as_ref().map_or("–".to_string(), |t| t.delta.clone());
                let _ = write!(out, " {text} |");
            }
            if policy {
                let text = s.policy.as_ref().map_or("–".to_string(), |p| {
                    match (p.failures.len(), p.warnings.len()) {
                        (0, 0) => "passed".to_string(),
                        (f, w) => format!("{}, {}", plural(f, "failure"), plural(w, "warning")),
                    }
                });
                let _ = write!(out, " {text} |");
            }
            out.push('\n');
        }
        out.push('\n');
    }
}

impl Stack {
    fn new(section: &Section) -> Stack {
        let errors = section
            .notes
            .iter()
            .filter(|n| n.severity == Severity::Error)
            .count();
        let mut notes: Vec<&Note> = section.notes.iter().collect();
        notes.sort_by_key(|n| n.severity != Severity::Error);
        let notes = notes.into_iter().map(note_item).collect();
        let mut stack = Stack {
            name: section.name.clone(),
            failed: section.plan.is_none(),
            refresh_only: false,
            counts: Counts::default(),
            errors,
            destroys: Vec::new(),
            drift: Vec::new(),
            changes: Vec::new(),
            outputs: String::new(),
            notes,
            cost: section.cost.map(cost::table),
            policy: section.policy.map(policy_part),
            deferred: Vec::new(),
        };
        if let Some(plan) = section.plan {
            stack.add_plan(plan);
        }
        stack
    }

    fn add_plan(&mut self, plan: &Plan) {
        self.refresh_only = plan.refresh_only;
        self.counts = Counts::of(plan);
        let mut drift: Vec<&PlannedChange> = plan.drift.iter().collect();
        drift.sort_by(|a, b| a.address.cmp(&b.address));
        self.drift = drift.into_iter().map(drift_item).collect();
        if !plan.refresh_only {
            let mut shown: Vec<(&PlannedChange, Option<&String>)> = plan
                .changes
                .iter()
                .map(|c| (c, plan.imports.get(&c.address.to_string())))
                .filter(|(c, import)| {
                    c.action.is_change() || c.previous_address.is_some() || import.is_some()
                })
                .collect();
            shown.sort_by(|(a, _), (b, _)| a.address.cmp(&b.address));
            for (c, _) in &shown {
                let what = match c.action {
                    Action::Delete => "destroy",
                    Action::DeleteThenCreate | Action::CreateThenDelete => "replace",
                    _ => continue,
                };
                self.destroys
                    .push(format!("{} ({what})", code(&c.address.to_string())));
            }
            self.changes = shown.into_iter().map(|(c, i)| change_item(c, i)).collect();
            self.outputs = outputs_diff(plan);
        }
        self.deferred = plan
            .deferred
            .iter()
            .map(|d| {
                format!(
                    "- {} ({})\n",
                    code(&d.address.to_string()),
                    d.reason.describe()
                )
            })
            .collect();
    }

    fn headline(&self) -> String {
        let c = &self.counts;
        if self.failed {
            return format!(
                "**Planning failed:** {}; nothing can be applied until {} fixed.",
                plural(self.errors, "error"),
                if self.errors == 1 {
                    "it is"
                } else {
                    "they are"
                }
            );
        }
        if self.refresh_only {
            return match c.drift {
                0 => "**No changes.** Your infrastructure still matches the configuration (refresh-only plan).".to_string(),
                n => format!("**Refresh-only plan:** {} changed outside plinth; applying records {} in state and changes nothing else.", plural(n, "object"), if n == 1 { "it" } else { "them" }),
            };
        }
        if c.resources() == 0 && c.outputs == 0 && c.deferred == 0 {
            return "**No changes.** Your infrastructure matches the configuration.".to_string();
        }
        let mut text = format!(
            "**Plan:** {} to add, {} to change, {} to replace, {} to destroy, {} to import, {} to move, {} to read",
            c.add, c.change, c.replace, c.destroy, c.import, c.moved, c.read
        );
        if c.forget > 0 {
            let _ = write!(text, ", {} to forget", c.forget);
        }
        if c.outputs > 0 {
            let _ = write!(text, "; {}", plural(c.outputs, "output change"));
        }
        if c.deferred > 0 {
            let _ = write!(
                text,
                "; {} deferred to a later stage",
                plural(c.deferred, "resource")
            );
        }
        text.push('.');
        text
    }

    fn result(&self) -> String {
        if self.failed {
            return format!("failed ({})", plural(self.errors, "error"));
        }
        let c = &self.counts;
        if self.refresh_only {
            return format!("refresh-only ({} drifted)", c.drift);
        }
        if c.resources() == 0 && c.outputs == 0 && c.deferred == 0 {
            return "no changes".to_string();
        }
        if c.deferred > 0 {
            return "changes (partial)".to_string();
        }
        "changes".to_string()
    }

    fn body(&self, shown: &Shown, level: usize, out: &mut String) {
        let h = "#".repeat(level);
        if !self.drift.is_empty() {
            let _ = writeln!(out, "{h} Changed outside plinth\n");
            out.push_str("Refresh found these objects changed since the last apply; the plan may undo or respond to these changes.\n\n");
            items(&self.drift, &shown.drift, None, out);
            more(&shown.drift, "changed object", out);
        }
        if !self.changes.is_empty() {
            let _ = writeln!(out, "{h} Resource changes\n");
            items(&self.changes, &shown.changes, Some(level + 1), out);
            more(&shown.changes, "resource change", out);
        }
        if !self.outputs.is_empty() {
            let _ = writeln!(out, "{h} Output changes\n");
            if shown.outputs {
                out.push_str(&self.outputs);
            } else {
                let n = self.counts.outputs;
                let _ = writeln!(out, "_{} left out._\n", plural(n, "output change"));
            }
        }
        self.notes_part(shown, &h, out);
        if let Some(table) = &self.cost {
            let _ = writeln!(out, "{h} Monthly cost\n");
            table.render(&shown.cost_rows, out);
        }
        if let Some(policy) = &self.policy {
            let _ = writeln!(out, "{h} Policy\n");
            out.push_str(&policy.head);
            out.push_str("\n\n");
            for f in &policy.failures {
                out.push_str(f);
            }
            let mut hidden = 0;
            for (w, show) in policy.warnings.iter().zip(&shown.policy_warnings) {
                if *show {
                    out.push_str(w);
                } else {
                    hidden += 1;
                }
            }
            if hidden > 0 {
                let _ = writeln!(out, "- _{} left out._", plural(hidden, "more warning"));
            }
            if !policy.failures.is_empty() || !policy.warnings.is_empty() {
                out.push('\n');
            }
        }
        if !self.deferred.is_empty() {
            let _ = writeln!(out, "{h} Deferred to a later stage\n");
            let n = self.deferred.len();
            let _ = writeln!(
                out,
                "This plan is partial: {} until the provider configuration {} on is known (applying this plan makes it known).\n",
                if n == 1 { "1 resource waits".to_string() } else { format!("{} resources wait", thousands(n as u64)) },
                if n == 1 { "it depends" } else { "they depend" }
            );
            let mut hidden = 0;
            for (d, show) in self.deferred.iter().zip(&shown.deferred) {
                if *show {
                    out.push_str(d);
                } else {
                    hidden += 1;
                }
            }
            if hidden > 0 {
                let _ = writeln!(out, "- _{} left out._", plural(hidden, "more resource"));
            }
            out.push('\n');
        }
    }

    fn notes_part(&self, shown: &Shown, h: &str, out: &mut String) {
        for (error, title) in [(true, "Errors"), (false, "Warnings")] {
            let mut wrote = false;
            let mut hidden = 0;
            for (n, detail) in self.notes.iter().zip(&shown.notes) {
                if n.error != error {
                    continue;
                }
                if !wrote {
                    let _ = writeln!(out, "{h} {title}\n");
                    wrote = true;
                }
                match detail {
                    Detail::Full => out.push_str(&n.full),
                    Detail::Line => out.push_str(&n.line),
                    Detail::Gone => hidden += 1,
                }
            }
            if hidden > 0 {
                let _ = writeln!(out, "- _{} left out._", plural(hidden, "more warning"));
            }
            if wrote && !out.ends_with("\n\n") {
                out.push('\n');
            }
        }
    }
}

/// Items in order, a heading before each module's group when `module_level` is set.
fn items(items: &[Item], shown: &[Detail], module_level: Option<usize>, out: &mut String) {
    let mut module: Option<&str> = None;
    let mut in_list = false;
    for (item, detail) in items.iter().zip(shown) {
        if *detail == Detail::Gone {
            continue;
        }
        if let Some(level) = module_level {
            if module != Some(item.module.as_str()) {
                if in_list {
                    out.push('\n');
                    in_list = false;
                }
                let name = if item.module.is_empty() {
                    "Root module".to_string()
                } else {
                    code(&item.module)
                };
                let _ = writeln!(out, "{} {name}\n", "#".repeat(level));
                module = Some(item.module.as_str());
            }
        }
        match detail {
            Detail::Full => {
                if in_list {
                    out.push('\n');
                    in_list = false;
                }
                out.push_str(&item.full);
            }
            _ => {
                out.push_str(&item.line);
                in_list = true;
            }
        }
    }
    if in_list {
        out.push('\n');
    }
}

/// Says how many items of a part the cut left out, where they would have been.
fn more(shown: &[Detail], noun: &str, out: &mut String) {
    let gone = shown.iter().filter(|d| **d == Detail::Gone).count();
    if gone > 0 {
        let _ = writeln!(
            out,
            "_{} not listed (see the note at the top)._\n",
            plural(gone, &format!("more {noun}"))
        );
    }
}

fn warning(destroys: &[String], out: &mut String) {
    if destroys.is_empty() {
        return;
    }
    out.push_str("> [!WARNING]\n");
    let _ = writeln!(
        out,
        "> **{} will be destroyed or replaced:**",
        plural(destroys.len(), "resource")
    );
    for d in destroys {
        let _ = writeln!(out, "> - {d}");
    }
    out.push('\n');
}

/// What a change does, as its summary line says it: `update in-place`, `replace,
/// tainted`, `moved from OLD`, `import`.
fn action_label(c: &PlannedChange, import: Option<&String>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let base = match c.action {
        Action::Create => "create",
        Action::Update => "update in-place",
        Action::DeleteThenCreate | Action::CreateThenDelete => match c.reason {
            Some("replace_because_tainted") => "replace, tainted",
            Some("replace_by_request") => "replace, as requested",
            Some("replace_by_triggers") => "replace, by replace_triggered_by",
            _ => "replace",
        },
        Action::Delete => "destroy",
        Action::Read => "read during apply",
        Action::Forget => "forget, not destroyed",
        Action::NoOp => "",
    };
    if !base.is_empty() {
        parts.push(base.to_string());
    }
    if let Some(prev) = &c.previous_address {
        parts.push(format!("moved from {prev}"));
    }
    if import.is_some() {
        parts.push("import".to_string());
    }
    parts.join(", ")
}

fn rank(c: &PlannedChange) -> u8 {
    match c.action {
        Action::Read => 0,
        Action::NoOp => 1,
        Action::Forget => 2,
        Action::Create => 3,
        Action::Update => 4,
        Action::Delete => 5,
        Action::DeleteThenCreate | Action::CreateThenDelete => 6,
    }
}

fn module_of(c: &PlannedChange) -> String {
    if c.address.module.is_root() {
        String::new()
    } else {
        c.address.module.to_string()
    }
}

fn change_item(c: &PlannedChange, import: Option<&String>) -> Item {
    let address = c.address.to_string();
    let label = action_label(c, import);
    Item {
        module: module_of(c),
        full: details(
            &format!("{} ({})", html(&address), html(&label)),
            &diff_lines(&render::change_block(c, import)),
        ),
        line: format!("- {} ({label})\n", code(&address)),
        rank: rank(c),
    }
}

fn drift_item(c: &PlannedChange) -> Item {
    let address = c.address.to_string();
    let label = match c.action {
        Action::Delete => "deleted outside plinth",
        _ => "changed outside plinth",
    };
    Item {
        module: module_of(c),
        full: details(
            &format!("{} ({label})", html(&address)),
            &diff_lines(&render::drift_block(c)),
        ),
        line: format!("- {} ({label})\n", code(&address)),
        rank: 0,
    }
}

/// A collapsed block: the summary line, then the diff in a fence GitHub colours.
fn details(summary: &str, diff: &str) -> String {
    let fence = fence(diff);
    format!("<details><summary>{summary}</summary>\n\n{fence}diff\n{diff}{fence}\n\n</details>\n\n")
}

/// The terminal's change text as a diff: the `# …` header lines left out (the
/// summary says it) and each line's `+`/`-`/`~` marker moved to column 0, `~` as
/// `!` (which GitHub colours as a change), the text after it where it was.
fn diff_lines(block: &str) -> String {
    let mut out = String::new();
    for line in block.lines().skip_while(|l| l.starts_with("  # ")) {
        out.push_str(&column_zero(line));
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn column_zero(line: &str) -> String {
    let rest = line.trim_start_matches(' ');
    let indent = line.len() - rest.len();
    if indent == 0 {
        return line.to_string();
    }
    for marker in ["-/+", "+/-", "<=", "+", "-", "~"] {
        if let Some(after) = rest.strip_prefix(marker) {
            if after.starts_with(' ') {
                let shown = if marker == "~" { "!" } else { marker };
                return format!("{shown}{}{after}", " ".repeat(indent));
            }
        }
    }
    line.to_string()
}

/// Root output changes as a diff (empty when there are none).
fn outputs_diff(plan: &Plan) -> String {
    if plan.output_changes.is_empty() {
        return String::new();
    }
    let width = plan
        .output_changes
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(0);
    let col = 2 + width + 3;
    let mut body = String::new();
    for o in &plan.output_changes {
        let line = match (o.action, &o.before, &o.after) {
            (Action::Create, _, Some(a)) => {
                format!("+ {:<width$} = {}", o.name, value_text(a, col))
            }
            (Action::Delete, Some(b), _) => {
                format!("- {:<width$} = {} -> null", o.name, value_text(b, col))
            }
            (_, Some(b), Some(a)) => format!(
                "! {:<width$} = {} -> {}",
                o.name,
                value_text(b, col),
                value_text(a, col)
            ),
            _ => continue,
        };
        body.push_str(&line);
        body.push('\n');
    }
    let fence = fence(&body);
    format!("{fence}diff\n{body}{fence}\n\n")
}

fn value_text(v: &Value, indent: usize) -> String {
    v.render()
        .replace('\n', &format!("\n{}", " ".repeat(indent)))
}

fn note_item(n: &Note) -> NoteItem {
    let error = n.severity == Severity::Error;
    let kind = if error { "Error" } else { "Warning" };
    let at = n
        .location
        .as_ref()
        .map(|l| format!(" ({})", code(l)))
        .unwrap_or_default();
    let line = format!("- **{kind}:** {}{at}\n", one_line(&n.summary));
    let mut full = line.clone();
    let detail = n.detail.trim();
    if !detail.is_empty() {
        full.push('\n');
        for l in detail.lines() {
            if l.trim().is_empty() {
                full.push('\n');
            } else {
                let _ = writeln!(full, "  {l}");
            }
        }
        full.push('\n');
    }
    NoteItem { error, full, line }
}

fn policy_part(report: &PolicyReport) -> PolicyPart {
    let mut findings: Vec<_> = report.findings.iter().collect();
    findings.sort_by(|a, b| {
        (a.kind, &a.file, &a.rule, &a.message).cmp(&(b.kind, &b.file, &b.rule, &b.message))
    });
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    for f in findings {
        let kind = match f.kind {
            Kind::Deny => "deny",
            Kind::Violation => "violation",
            Kind::Warn => "warn",
        };
        let mut text = format!("- **{kind}** {} {}: ", code(&f.file), code(&f.rule));
        let mut lines = f.message.trim().lines();
        text.push_str(lines.next().unwrap_or(""));
        text.push('\n');
        for l in lines {
            let _ = writeln!(text, "  {l}");
        }
        if f.kind == Kind::Warn {
            warnings.push(text);
        } else {
            failures.push(text);
        }
    }
    let head = match (failures.len(), warnings.len()) {
        (0, 0) => format!(
            "{} ({}): passed, no failures or warnings.",
            code(&report.dir),
            plural(report.files, "policy file")
        ),
        (f, w) => format!(
            "{} ({}): **{}**, {}.",
            code(&report.dir),
            plural(report.files, "policy file"),
            plural(f, "failure"),
            plural(w, "warning")
        ),
    };
    PolicyPart {
        head,
        failures,
        warnings,
    }
}

/// `1 error`, `2 errors`.
pub(super) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", thousands(n as u64))
    }
}

/// `65,536`.
pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Text as inline code, whatever backticks it holds.
pub(super) fn code(text: &str) -> String {
    let longest = longest_run(text, '`');
    let ticks = "`".repeat(longest + 1);
    if text.starts_with('`') || text.ends_with('`') {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

/// A code fence longer than any run of backticks in `body`.
fn fence(body: &str) -> String {
    "`".repeat((longest_run(body, '`') + 1).max(3))
}

fn longest_run(text: &str, ch: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == ch {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_move_to_column_zero_and_the_text_stays_where_it_was() {
        assert_eq!(column_zero("      + name = 1"), "+       name = 1");
        assert_eq!(
            column_zero("      ~ name = 1 -> 2"),
            "!       name = 1 -> 2"
        );
        assert_eq!(
            column_zero("  - resource \"a\" \"b\" {"),
            "-   resource \"a\" \"b\" {"
        );
        assert_eq!(
            column_zero("-/+ resource \"a\" \"b\" {"),
            "-/+ resource \"a\" \"b\" {"
        );
        assert_eq!(
            column_zero(" <= data \"a\" \"b\" {"),
            "<=  data \"a\" \"b\" {"
        );
        assert_eq!(column_zero("        id   = \"x\""), "        id   = \"x\"");
        assert_eq!(column_zero("            -1,"), "            -1,");
    }

    #[test]
    fn code_spans_and_fences_outrun_the_backticks_they_hold() {
        assert_eq!(code("a.b"), "`a.b`");
        assert_eq!(code("a[\"`x`\"]"), "``a[\"`x`\"]``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(fence("no ticks"), "```");
        assert_eq!(fence("````"), "`````");
    }

    #[test]
    fn the_headline_counts_replacements_moves_imports_and_reads_apart() {
        let change = |address: &str, action: Action, moved: bool| PlannedChange {
            address: crate::addrs::ResourceInstance::parse(address).expect("address"),
            previous_address: moved
                .then(|| crate::addrs::ResourceInstance::parse("x_a.old").expect("address")),
            provider: String::new(),
            action,
            reason: None,
            before: None,
            after: None,
            replace_paths: Vec::new(),
        };
        let plan = Plan {
            changes: vec![
                change("x_a.new", Action::NoOp, true),
                change("x_a.imported", Action::NoOp, false),
                change("x_a.r", Action::CreateThenDelete, false),
                change("x_a.f", Action::Forget, false),
                change("data.x_a.d", Action::Read, false),
            ],
            imports: [("x_a.imported".to_string(), "i-1".to_string())].into(),
            ..Plan::default()
        };
        let stack = Stack::new(&Section {
            name: "s".into(),
            plan: Some(&plan),
            notes: Vec::new(),
            cost: None,
            policy: None,
        });
        assert_eq!(
            stack.headline(),
            "**Plan:** 0 to add, 0 to change, 1 to replace, 0 to destroy, 1 to import, 1 to move, 1 to read, 1 to forget."
        );
        let labels: Vec<&str> = stack.changes.iter().map(|c| c.line.as_str()).collect();
        assert_eq!(
            labels,
            [
                "- `x_a.f` (forget, not destroyed)\n",
                "- `x_a.imported` (import)\n",
                "- `x_a.new` (moved from x_a.old)\n",
                "- `x_a.r` (replace)\n",
                "- `data.x_a.d` (read during apply)\n",
            ]
        );
        assert_eq!(stack.destroys, ["`x_a.r` (replace)"]);
    }

    #[test]
    fn summaries_escape_html() {
        assert_eq!(html("a[\"<b>&\"]"), "a[\"&lt;b&gt;&amp;\"]");
    }
}
