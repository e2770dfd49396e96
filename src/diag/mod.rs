//! Diagnostics: what plinth tells a user about their configuration. Every diagnostic
//! carries the source span of the offending expression; the renderers turn them into
//! miette's annotated snippets for a terminal, or Terraform's `-json` diagnostic shape.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde_json::json;

/// Index of a loaded source file in [`Sources`].
pub type FileId = u32;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, range: std::ops::Range<usize>) -> Span {
        Span {
            file,
            start: range.start as u32,
            end: range.end as u32,
        }
    }

    /// The span from the start of `self` to the end of `other` (same file).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

pub struct SourceFile {
    /// The path as the user should read it (relative to where they ran plinth).
    pub name: String,
    pub text: String,
    line_starts: Vec<u32>,
}

/// A position a user reads: 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub byte: usize,
}

impl SourceFile {
    pub fn position(&self, byte: u32) -> Position {
        let byte = (byte as usize).min(self.text.len());
        let line = match self.line_starts.binary_search(&(byte as u32)) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let column = self
            .text
            .get(start..byte)
            .map_or(byte - start, |s| s.chars().count())
            + 1;
        Position {
            line: line + 1,
            column,
            byte,
        }
    }
}

/// Every source file loaded in a run, so diagnostics can show snippets.
#[derive(Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, name: String, text: String) -> FileId {
        let mut line_starts = vec![0u32];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        self.files.push(SourceFile {
            name,
            text,
            line_starts,
        });
        (self.files.len() - 1) as FileId
    }

    pub fn files(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id as usize]
    }

    pub fn text(&self, span: Span) -> &str {
        let text = &self.get(span.file).text;
        text.get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// `file:line:column` of the start of a span.
    pub fn location(&self, span: Span) -> String {
        let file = self.get(span.file);
        let pos = file.position(span.start);
        format!("{}:{}:{}", file.name, pos.line, pos.column)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// Its rarely-set fields are thin boxes, so that a `Result<_, Diagnostic>` stays small.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// One line saying what is wrong: "Reference to undeclared local value".
    pub summary: String,
    /// The specifics, shown under the snippet.
    pub detail: String,
    pub span: Option<Span>,
    /// Further places that explain the problem (each edge of a cycle, say).
    pub labels: Vec<(Span, String)>,
    /// What to do about it: a did-you-mean, the valid names, the expected type.
    pub help: Option<Box<String>>,
    /// The attribute a provider's diagnostic is about (`["scaling_config", "max_size"]`),
    /// so the engine can point at its line in the resource block.
    pub attribute: Option<Box<Vec<String>>>,
    /// The resource instance it is about, when there is one (`with ADDRESS` in the
    /// detail says the same to a reader).
    pub instance: Option<Box<String>>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: String::new(),
            span: None,
            labels: Vec::new(),
            help: None,
            attribute: None,
            instance: None,
        }
    }

    pub fn warning(summary: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(summary)
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Diagnostic {
        self.detail = detail.into();
        self
    }

    pub fn at(mut self, span: Span) -> Diagnostic {
        self.span = Some(span);
        self
    }

    pub fn at_opt(mut self, span: Option<Span>) -> Diagnostic {
        self.span = span.or(self.span);
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(Box::new(help.into()));
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Diagnostic {
        self.help = help.map(Box::new).or(self.help);
        self
    }

    pub fn label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push((span, message.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.summary)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// The diagnostics of one run: every error is collected, none stops the others.
#[derive(Default, Debug, Clone)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostic {
    /// Replaces every occurrence of each of `secrets` in the text with
    /// `(sensitive value)`: a provider's message may quote the value it was given.
    pub fn redact(mut self, secrets: &[String]) -> Diagnostic {
        for s in secrets {
            let quoted = format!("{s:?}");
            for (from, to) in [
                (quoted.as_str(), "(sensitive value)"),
                (s, "(sensitive value)"),
            ] {
                self.summary = self.summary.replace(from, to);
                self.detail = self.detail.replace(from, to);
                if let Some(h) = &self.help {
                    self.help = Some(Box::new(h.replace(from, to)));
                }
            }
        }
        self
    }
}

impl Diagnostics {
    /// [`Diagnostic::redact`] on each.
    pub fn redact(self, secrets: &[String]) -> Diagnostics {
        if secrets.is_empty() {
            return self;
        }
        Diagnostics {
            items: self.items.into_iter().map(|d| d.redact(secrets)).collect(),
        }
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.is_error())
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Keeps the first of each identical diagnostic (a module instantiated many times
    /// reports its error once) and orders them by file and position.
    pub fn sorted_unique(mut self) -> Diagnostics {
        let mut seen = std::collections::HashSet::new();
        self.items.retain(|d| {
            seen.insert((
                d.summary.clone(),
                d.detail.clone(),
                d.span,
                d.labels.clone(),
            ))
        });
        self.items
            .sort_by_key(|d| d.span.map(|s| (s.file, s.start)));
        self
    }
}

/// miette's view of one diagnostic: a snippet of one file, with further files' labels
/// shown as related reports.
#[derive(Debug)]
struct MietteView {
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<MietteView>,
}

impl fmt::Display for MietteView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MietteView {}

impl miette::Diagnostic for MietteView {
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

fn miette_view(sources: &Sources, d: &Diagnostic) -> MietteView {
    let severity = match d.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let mut view = MietteView {
        message: d.summary.clone(),
        severity,
        help: d.help.as_deref().cloned(),
        source: None,
        labels: Vec::new(),
        related: Vec::new(),
    };
    let detail = (!d.detail.is_empty()).then(|| d.detail.clone());
    let Some(span) = d.span else {
        if let Some(detail) = detail {
            view.message = format!("{}: {detail}", d.summary);
        }
        return view;
    };
    let file = sources.get(span.file);
    if snippet_too_wide(&file.text, span.start as usize) {
        view.message = match detail {
            Some(detail) => format!("{}\n{}: {detail}", d.summary, sources.location(span)),
            None => format!("{}\n{}", d.summary, sources.location(span)),
        };
        return view;
    }
    view.source = Some(NamedSource::new(&file.name, file.text.clone()));
    view.labels.push(LabeledSpan::new_primary_with_span(
        detail,
        (span.start as usize, (span.end - span.start) as usize),
    ));
    for (label_span, text) in &d.labels {
        let range = (
            label_span.start as usize,
            (label_span.end - label_span.start) as usize,
        );
        if label_span.file == span.file {
            view.labels
                .push(LabeledSpan::new_with_span(Some(text.clone()), range));
        } else {
            let other = sources.get(label_span.file);
            view.related.push(MietteView {
                message: text.clone(),
                severity: miette::Severity::Advice,
                help: None,
                source: Some(NamedSource::new(&other.name, other.text.clone())),
                labels: vec![LabeledSpan::new_primary_with_span(None, range)],
                related: Vec::new(),
            });
        }
    }
    view
}

/// Lines longer than this are not echoed in a snippet (a 10,000-deep `[[[…]]]`);
/// the diagnostic names the file, line and column instead.
const MAX_SNIPPET_LINE: usize = 400;

/// Whether the snippet around byte `at` — its line and one either side, as miette
/// shows it — holds a line too long to echo.
fn snippet_too_wide(text: &str, at: usize) -> bool {
    let at = at.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = text[..line_start.saturating_sub(1)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let after = text[at..]
        .match_indices('\n')
        .nth(1)
        .map_or(text.len(), |(i, _)| at + i);
    text[before..after]
        .split('\n')
        .any(|l| l.len() > MAX_SNIPPET_LINE)
}

/// Renders diagnostics for a terminal: a `file:line:column` header, the snippet with
/// the span underlined, the detail and the help.
pub fn render_text(sources: &Sources, diags: &Diagnostics, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for d in &diags.items {
        let view = miette_view(sources, d);
        let _ = handler.render_report(&mut out, &view);
        out.push('\n');
    }
    out
}

fn range_json(sources: &Sources, span: Span) -> serde_json::Value {
    let file = sources.get(span.file);
    let start = file.position(span.start);
    let end = file.position(span.end);
    json!({
        "filename": file.name,
        "start": {"line": start.line, "column": start.column, "byte": start.byte},
        "end": {"line": end.line, "column": end.column, "byte": end.byte},
    })
}

/// Terraform's `validate -json` shape, so editor and CI tooling reads it unchanged.
pub fn render_json(sources: &Sources, diags: &Diagnostics) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diags
        .items
        .iter()
        .map(|d| diagnostic_json(sources, d))
        .collect();
    let errors = diags.errors().count();
    json!({
        "format_version": "0.1",
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": diags.items.len() - errors,
        "diagnostics": items,
    })
}

/// One diagnostic as Terraform's JSON forms write it (`validate -json`, the
/// machine-readable UI): severity, summary, detail, and where it has a place its
/// `range` and `snippet`.
pub fn diagnostic_json(sources: &Sources, d: &Diagnostic) -> serde_json::Value {
    let mut obj = json!({
        "severity": if d.is_error() { "error" } else { "warning" },
        "summary": d.summary,
        "detail": d.detail,
    });
    if let Some(address) = &d.instance {
        obj["address"] = json!(&**address);
    }
    if let Some(span) = d.span {
        obj["range"] = range_json(sources, span);
        let file = sources.get(span.file);
        let pos = file.position(span.start);
        let end = file.position(span.end);
        let line = file.text.lines().nth(pos.line - 1).unwrap_or("");
        // Terraform highlights within the first line only.
        let highlight_end = if end.line == pos.line {
            end.column - 1
        } else {
            line.chars().count()
        };
        obj["snippet"] = json!({
            "code": line,
            "start_line": pos.line,
            "highlight_start_offset": pos.column - 1,
            "highlight_end_offset": highlight_end,
            "values": [],
        });
    }
    if let Some(help) = &d.help {
        obj["help"] = json!(&**help);
    }
    if !d.labels.is_empty() {
        obj["related"] = d
            .labels
            .iter()
            .map(|(s, m)| json!({"message": m, "range": range_json(sources, *s)}))
            .collect();
    }
    obj
}

/// "Did you mean "x"?" for the candidate closest to a misspelt name, if one is close.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(name, c);
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| format!("Did you mean {c:?}?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let mut sources = Sources::default();
        let id = sources.add("main.tf".into(), "a = 1\nbé = local.x\n".into());
        let start = "a = 1\nbé = ".len() as u32;
        let span = Span {
            file: id,
            start,
            end: start + 7,
        };
        assert_eq!(sources.location(span), "main.tf:2:6");
    }

    #[test]
    fn suggests_the_closest_name() {
        assert_eq!(
            did_you_mean("regoin", ["region", "zone"]).as_deref(),
            Some("Did you mean \"region\"?")
        );
        assert_eq!(did_you_mean("zzz", ["region"]), None);
    }
}
