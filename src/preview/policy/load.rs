//! Reading a policy directory: every `*.rego` file under it, parsed, with the conftest
//! rules of `package main` found and prepared for evaluation one file at a time.
//!
//! Several files commonly define the same rule (`deny` in each), and Rego merges them
//! into one set, which would lose which file said what. So each file's conftest rules
//! are renamed in the text the engine evaluates (`deny` becomes `deny__plinth3`, the
//! name only, at the rule heads the parser found), and a generated module defines the
//! original names again as the union of the renamed ones, for rules that read them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use regorus::unstable::{Rule, RuleHead};

use super::Kind;
use crate::diag::{Diagnostic, Diagnostics, FileId, Sources, Span};

/// The package whose rules are checked, as in conftest (`--namespace main`).
pub(super) const PACKAGE: &str = "main";

const V1_HELP: &str = "plinth reads Rego v1, as OPA 1.0 and conftest 0.56 do: write \
                       `deny contains msg if { ... }` for the older `deny[msg] { ... }`.";

/// The generated module's name in the engine (never a file a user has).
const UNION_MODULE: &str = "<plinth: conftest rules>";

/// A directory of policies, parsed and ready to evaluate against plans.
pub struct PolicySet {
    pub(super) dir: String,
    pub(super) engine: regorus::Engine,
    pub(super) files: Vec<PolicyFile>,
    pub(super) rules: Vec<ConftestRule>,
    pub(super) sources: Sources,
    /// The longest one rule may take to evaluate.
    pub(super) time_limit: Duration,
}

/// How long one rule may take by default: generous (the example policies take about
/// 2 s a rule on a 10,000-change plan in a debug build), but a policy that multiplies
/// the plan by itself stops a CI job with an error rather than hanging it.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(60);

pub(super) struct PolicyFile {
    /// Relative to the policy directory: `gpu/taints.rego`.
    pub(super) name: String,
    /// The path as the user reads it, which the engine also knows it by.
    pub(super) path: String,
    pub(super) source: FileId,
    /// Where the renamed text has extra bytes: (byte in the original, how many).
    pub(super) insertions: Vec<(usize, usize)>,
}

/// A `deny`/`violation`/`warn` rule as one file defines it.
pub(super) struct ConftestRule {
    pub(super) kind: Kind,
    pub(super) file: usize,
    /// As written: `deny_public_bucket`.
    pub(super) name: String,
    /// As the engine knows it: `deny_public_bucket__plinth0`.
    pub(super) renamed: String,
}

impl ConftestRule {
    /// The renamed rule's path: `data.main.deny_public_bucket__plinth0`.
    pub(super) fn query(&self) -> String {
        format!("data.{PACKAGE}.{}", self.renamed)
    }
}

/// Why a policy directory could not be loaded or evaluated, with the sources its
/// diagnostics point into.
pub struct PolicyError {
    pub sources: Sources,
    pub diagnostics: Diagnostics,
}

impl PolicyError {
    fn new(diagnostics: Diagnostics) -> PolicyError {
        PolicyError {
            sources: Sources::default(),
            diagnostics,
        }
    }

    pub fn render(&self, color: bool) -> String {
        crate::diag::render_text(&self.sources, &self.diagnostics, color)
    }
}

impl PolicySet {
    /// The policy files' texts, which evaluation diagnostics point into.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// The directory as given.
    pub fn dir(&self) -> &str {
        &self.dir
    }

    /// Sets the longest one rule may take to evaluate (an error past it).
    pub fn time_limit(mut self, limit: Duration) -> PolicySet {
        self.time_limit = limit;
        self
    }
}

/// Loads every `*.rego` file under `dir` (subdirectories included, in name order).
pub fn load(dir: &Path) -> Result<PolicySet, PolicyError> {
    let shown = dir.display().to_string();
    let mut found = Vec::new();
    if let Err(e) = rego_files(dir, &mut found) {
        return Err(PolicyError::new(one(Diagnostic::error(
            "Cannot read the policy directory",
        )
        .detail(format!("{shown}: {e}")))));
    }
    found.sort();
    if found.is_empty() {
        return Err(PolicyError::new(one(Diagnostic::error(
            "No policies found",
        )
        .detail(format!("{shown} holds no *.rego file.")))));
    }
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::default();
    let mut files = Vec::new();
    let mut texts = Vec::new();
    for path in found {
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        let shown_path = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let source = sources.add(shown_path.clone(), text.clone());
                files.push(PolicyFile {
                    name,
                    path: shown_path,
                    source,
                    insertions: Vec::new(),
                });
                texts.push(text);
            }
            Err(e) => diagnostics.push(
                Diagnostic::error("Failed to read file").detail(format!("{shown_path}: {e}")),
            ),
        }
    }
    let mut parsed = regorus::Engine::new();
    for (file, text) in files.iter().zip(&texts) {
        if let Err(e) = parsed.add_policy(file.path.clone(), text.clone()) {
            let d = engine_error("Invalid policy", &e.to_string(), &files, &sources);
            let v0 = d.detail.contains("keyword is required");
            diagnostics.push(d.help_opt(v0.then(|| V1_HELP.to_string())));
        }
    }
    if diagnostics.has_errors() {
        return Err(PolicyError {
            sources,
            diagnostics,
        });
    }
    let heads = rule_heads(&mut parsed, &files);
    let mut rules = Vec::new();
    let mut renamed = texts;
    for (index, file) in files.iter_mut().enumerate() {
        let mut at: Vec<(usize, String)> = heads
            .iter()
            .filter(|h| h.file == index)
            .map(|h| (h.end, h.name.clone()))
            .collect();
        at.sort();
        at.dedup();
        let suffix = format!("__plinth{index}");
        for (end, _) in at.iter().rev() {
            renamed[index].insert_str(*end, &suffix);
        }
        file.insertions = at.iter().map(|(end, _)| (*end, suffix.len())).collect();
        let mut names: Vec<&String> = at.iter().map(|(_, name)| name).collect();
        names.sort();
        names.dedup();
        for name in names {
            if let Some(kind) = Kind::of_rule(name) {
                rules.push(ConftestRule {
                    kind,
                    file: index,
                    name: name.clone(),
                    renamed: format!("{name}{suffix}"),
                });
            }
        }
    }
    let mut engine = regorus::Engine::new();
    let mut added = files
        .iter()
        .zip(renamed)
        .try_for_each(|(file, text)| engine.add_policy(file.path.clone(), text).map(drop));
    if added.is_ok() && !rules.is_empty() {
        added = engine
            .add_policy(UNION_MODULE.to_string(), union_module(&rules))
            .map(drop);
    }
    if let Err(e) = added {
        return Err(PolicyError {
            diagnostics: one(engine_error(
                "Cannot prepare the policies",
                &e.to_string(),
                &files,
                &sources,
            )),
            sources,
        });
    }
    Ok(PolicySet {
        dir: shown,
        engine,
        files,
        rules,
        sources,
        time_limit: DEFAULT_TIME_LIMIT,
    })
}

fn one(d: Diagnostic) -> Diagnostics {
    let mut diagnostics = Diagnostics::default();
    diagnostics.push(d);
    diagnostics
}

/// The `*.rego` files under `dir`; a link to a directory is not followed (a link
/// back up would never end), a link to a file is read.
fn rego_files(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            rego_files(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "rego") && !path.is_dir() {
            found.push(path);
        }
    }
    Ok(())
}

/// A rule of `package main` whose name conftest reads, or that the renaming must
/// follow (a `default` for it).
struct Head {
    file: usize,
    name: String,
    /// The byte just after the name in the file's text.
    end: usize,
}

fn rule_heads(engine: &mut regorus::Engine, files: &[PolicyFile]) -> Vec<Head> {
    let mut heads = Vec::new();
    for module in engine.get_modules() {
        let package = module.package.refr.span();
        let Some(file) = files.iter().position(|f| *package.source.file() == f.path) else {
            continue;
        };
        if package.text() != PACKAGE {
            continue;
        }
        for rule in &module.policy {
            let refr = match rule.as_ref() {
                Rule::Spec {
                    head: RuleHead::Compr { refr, .. } | RuleHead::Set { refr, .. },
                    ..
                } => refr,
                Rule::Default { refr, args, .. } if args.is_empty() => refr,
                _ => continue,
            };
            let span = refr.span();
            let name: String = span
                .text()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if Kind::of_rule(&name).is_some() {
                heads.push(Head {
                    file,
                    end: span.start as usize + name.len(),
                    name,
                });
            }
        }
    }
    heads
}

/// `deny contains m if { some m in deny__plinth0 }` for each file defining `deny`.
fn union_module(rules: &[ConftestRule]) -> String {
    let mut text = format!("package {PACKAGE}\n");
    for rule in rules {
        text += &format!(
            "{} contains m if {{ some m in {} }}\n",
            rule.name, rule.renamed
        );
    }
    text
}

/// A regorus error as a diagnostic: its `--> file:line:col` made a span in the
/// policy file's text (past any renaming), its last `error:` line the detail.
pub(super) fn engine_error(
    summary: &str,
    message: &str,
    files: &[PolicyFile],
    sources: &Sources,
) -> Diagnostic {
    let detail = message
        .rsplit_once("\nerror: ")
        .map_or(message.trim(), |(_, m)| m.trim());
    let span = message.split("--> ").nth(1).and_then(|rest| {
        let location = rest.lines().next()?;
        let mut parts = location.rsplitn(3, ':');
        let column: usize = parts.next()?.trim().parse().ok()?;
        let line: usize = parts.next()?.trim().parse().ok()?;
        let path = parts.next()?;
        let file = files.iter().find(|f| f.path == path)?;
        Some(span_at(file, sources, line, column))
    });
    Diagnostic::error(summary).detail(detail).at_opt(span)
}

/// The span of the word at a 1-based line and column of the engine's text of
/// `file` (columns count characters, the renamed heads' suffixes included), in the
/// original text.
fn span_at(file: &PolicyFile, sources: &Sources, line: usize, column: usize) -> Span {
    let text = &sources.get(file.source).text;
    let mut pos: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut col = 1;
    let mut skipped = None;
    while col < column {
        let inserted: usize = file
            .insertions
            .iter()
            .filter(|(at, _)| *at == pos)
            .map(|(_, len)| len)
            .sum();
        if inserted > 0 && skipped != Some(pos) {
            skipped = Some(pos);
            col += inserted;
            continue;
        }
        match text[pos..].chars().next() {
            Some(c) if c != '\n' => {
                pos += c.len_utf8();
                col += 1;
            }
            _ => break,
        }
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let rest = &text[pos..];
    let end = match rest.find(|c: char| !word(c)) {
        Some(0) => rest.chars().next().map_or(0, char::len_utf8),
        Some(i) => i,
        None => rest.len(),
    };
    Span::new(file.source, pos..pos + end)
}
