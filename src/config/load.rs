//! Loading a stack from disk: every `*.hcl` and `*.tf` file of a directory, parsed
//! with hcl-edit (keeping byte spans), decoded into [`Module`]s, with local module
//! calls followed. A file taken by its name that cannot be read is an error, never
//! skipped; `*.tf.json` files are refused until their syntax is read. Nothing here
//! evaluates an expression that may reference anything, and nothing calls a provider.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, Body as HclBody, Structure};
use hcl_edit::Span as _;

use super::model::*;
use super::typeexpr::parse_constraint;
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, FileId, Sources, Span};
use crate::lang::refs::{parse_reference, Reference, ResourceMode, Subject};
use crate::lang::{Constraint, Evaluator, Scope, Value};

const TOP_LEVEL_BLOCKS: [&str; 11] = [
    "terraform",
    "plinth",
    "provider",
    "variable",
    "locals",
    "output",
    "resource",
    "data",
    "module",
    "moved",
    "import",
];

/// Loads the stack in `dir`. The configuration is returned even when it has errors, so
/// that later stages can report theirs too; callers check the diagnostics.
pub fn load_stack(dir: &Path, sources: &mut Sources) -> (Config, Diagnostics) {
    let mut loader = Loader {
        sources,
        diags: Diagnostics::default(),
        modules: Vec::new(),
        stack_dir: dir.to_path_buf(),
    };
    if !dir.is_dir() {
        loader.diags.push(
            Diagnostic::error("No configuration directory")
                .detail(format!("{} is not a directory.", dir.display())),
        );
        return (
            Config {
                modules: vec![Module::default()],
            },
            loader.diags,
        );
    }
    loader.load_module(dir.to_path_buf(), Vec::new(), None, &mut Vec::new(), None);
    let diags = loader.diags;
    (
        Config {
            modules: loader.modules,
        },
        diags,
    )
}

/// Loads a root module held in memory as one file (for tests and fuzzing); its module
/// calls are still resolved on disk, relative to `dir`.
pub fn load_source(
    dir: &Path,
    name: &str,
    text: String,
    sources: &mut Sources,
) -> (Config, Diagnostics) {
    let mut loader = Loader {
        sources,
        diags: Diagnostics::default(),
        modules: Vec::new(),
        stack_dir: dir.to_path_buf(),
    };
    let inline = (name.to_string(), text);
    loader.load_module(
        dir.to_path_buf(),
        Vec::new(),
        None,
        &mut Vec::new(),
        Some(inline),
    );
    let diags = loader.diags;
    (
        Config {
            modules: loader.modules,
        },
        diags,
    )
}

/// Reads and parses one file into a hcl-edit body, registering it in `sources`.
pub fn parse_file(
    path: &Path,
    display: String,
    sources: &mut Sources,
) -> Result<(FileId, HclBody), Diagnostic> {
    let text = read_file(path, &display)?;
    parse_text(text, display, sources)
}

/// The text of a file the stack consists of or names (`display` is how the user
/// knows it). Anything that cannot be read is an error with the operating system's
/// reason: a dangling symlink, a symlink loop, permission denied, an I/O error, or
/// something that is not a regular file, which is refused from its metadata and never
/// opened (opening a FIFO for reading would block).
pub fn read_file(path: &Path, display: &str) -> Result<String, Diagnostic> {
    let failed = |reason: String| {
        Diagnostic::error("Failed to read file")
            .detail(format!("The file {display} could not be read: {reason}."))
    };
    let meta = std::fs::metadata(path).map_err(|e| failed(e.to_string()))?;
    if !meta.is_file() {
        return Err(failed(format!("not a regular file ({})", file_kind(&meta))));
    }
    std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if meta.is_file() {
        "a regular file"
    } else if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Whether the loader takes a directory entry of this name for configuration.
/// Hidden files (lock files such as .terraform.lock.hcl) and editor leftovers are not
/// stack files, as in Terraform.
fn is_config_name(name: &str) -> bool {
    !name.starts_with(['.', '#'])
        && !name.ends_with('~')
        && [".hcl", ".tf", ".tf.json"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// Every entry of `dir` whose name makes it configuration, sorted, whatever kind of
/// file it is: reading each one is what tells whether it can be read.
fn config_files(dir: &Path, display: &str) -> Result<Vec<PathBuf>, Diagnostic> {
    let failed = |e: std::io::Error| {
        Diagnostic::error("Failed to read module directory")
            .detail(format!("The directory {display} could not be read: {e}."))
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(failed)? {
        let path = entry.map_err(failed)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if is_config_name(name) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A `*.tf.json` file, refused until Terraform's JSON syntax is read.
fn json_unsupported(display: &str) -> Diagnostic {
    Diagnostic::error("JSON configuration files are not supported yet").detail(format!(
        "{display} is written in Terraform's JSON configuration syntax, which plinth does not read yet (support is planned). Write it in HCL as a .tf file, or move it out of the directory."
    ))
}

/// How many literals beyond `f64` one text may hold.
const MAX_WIDE_NUMBERS: usize = 1024;

/// A parsed text whose number literals can be listed: a body or an expression.
pub trait NumberSpans {
    fn number_spans(&self) -> Vec<std::ops::Range<usize>>;
}

#[derive(Default)]
struct CollectNumbers(Vec<std::ops::Range<usize>>);

impl hcl_edit::visit::Visit for CollectNumbers {
    fn visit_number(&mut self, n: &hcl_edit::Formatted<hcl_edit::Number>) {
        self.0.extend(n.span());
    }
}

impl NumberSpans for HclBody {
    fn number_spans(&self) -> Vec<std::ops::Range<usize>> {
        let mut c = CollectNumbers::default();
        hcl_edit::visit::Visit::visit_body(&mut c, self);
        c.0
    }
}

impl NumberSpans for Expression {
    fn number_spans(&self) -> Vec<std::ops::Range<usize>> {
        let mut c = CollectNumbers::default();
        hcl_edit::visit::Visit::visit_expr(&mut c, self);
        c.0
    }
}

/// Parses with `parse`, accepting number literals beyond `f64` (`1e309`) as Terraform
/// does. hcl-edit keeps numbers as `f64` and rejects those, so where the text does not
/// parse, every such literal in expression position is parsed as zeros of the same
/// length instead. The evaluator reads each number from the source text by its span,
/// so it sees the literal as written, at arbitrary precision.
pub fn parse_wide_numbers<T: NumberSpans>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, hcl_edit::parser::Error>,
) -> Result<T, hcl_edit::parser::Error> {
    let first = parse(text);
    if first.is_ok() {
        return first;
    }
    let candidates = wide_numbers(text);
    if candidates.is_empty() {
        return first;
    }
    let zeroed = |ranges: &[std::ops::Range<usize>]| {
        let mut t = text.to_string();
        for r in ranges {
            t.replace_range(r.clone(), &"0".repeat(r.len()));
        }
        t
    };
    // Zeroing digits inside a string or a comment cannot break the syntax, but it
    // would change the string: keep only the literals the parser sees as numbers.
    let parsed = parse(&zeroed(&candidates))?;
    let numbers = parsed.number_spans();
    let kept: Vec<_> = candidates
        .iter()
        .filter(|r| {
            // A negative literal's span starts at its `-`.
            numbers
                .iter()
                .any(|n| n.end == r.end && (n.start == r.start || n.start + 1 == r.start))
        })
        .cloned()
        .collect();
    if kept.len() == candidates.len() {
        return Ok(parsed);
    }
    parse(&zeroed(&kept))
}

/// The byte ranges of what look like number literals too large for `f64`: digits not
/// part of a name, with an optional fraction and exponent.
fn wide_numbers(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let digits = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() && out.len() < MAX_WIDE_NUMBERS {
        let name_char = |j: usize| bytes[j].is_ascii_alphanumeric() || b"_-".contains(&bytes[j]);
        let in_name = match i.checked_sub(1) {
            None => false,
            Some(j) if bytes[j] == b'-' => j > 0 && name_char(j - 1),
            Some(j) => name_char(j) || bytes[j] == b'.',
        };
        let starts = bytes[i].is_ascii_digit() && !in_name;
        if !starts {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = digits(start);
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end = digits(end + 1);
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let mut j = end + 1;
            if matches!(bytes.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            let after = digits(j);
            if after > j {
                end = after;
            }
        }
        let wide = text
            .get(start..end)
            .and_then(|l| l.parse::<f64>().ok())
            .is_some_and(f64::is_infinite);
        if wide {
            out.push(start..end);
        }
        i = end;
    }
    out
}

pub fn parse_text(
    text: String,
    display: String,
    sources: &mut Sources,
) -> Result<(FileId, HclBody), Diagnostic> {
    let parsed = parse_wide_numbers(&text, hcl_edit::parser::parse_body);
    let id = sources.add(display, text);
    match parsed {
        Ok(body) => Ok((id, body)),
        Err(e) => {
            let offset = e.location().offset();
            let len = sources.get(id).text.len();
            let start = offset.min(len);
            let end = (start + 1).min(len).max(start);
            let mut message = e.message().to_string();
            if message.contains("nesting depth") {
                message = "expression nesting exceeds 64 levels".into();
            }
            Err(Diagnostic::error("Syntax error")
                .detail(if message.is_empty() {
                    "invalid HCL syntax".to_string()
                } else {
                    message
                })
                .at(Span::new(id, start..end)))
        }
    }
}

struct Loader<'a> {
    sources: &'a mut Sources,
    diags: Diagnostics,
    modules: Vec<Module>,
    stack_dir: PathBuf,
}

/// Evaluates only constants: every reference is an error.
pub struct NoReferences;

impl Scope for NoReferences {
    fn resolve(&self, reference: &Reference) -> Result<Value, Diagnostic> {
        Err(Diagnostic::error("Variables not allowed")
            .detail("Variables may not be used here.")
            .at(reference.span))
    }
}

/// A file's name as the user knows it: its directory relative to the stack, then its
/// own name, not what a symlink points to (which may not even exist).
fn display_name(stack_dir: &Path, path: &Path) -> String {
    let rel = match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => pathdiff(dir, stack_dir).join(name),
        _ => pathdiff(path, stack_dir),
    };
    match rel.to_string_lossy() {
        name if name.is_empty() => ".".to_string(),
        name => name.into_owned(),
    }
}

/// `path` relative to `base` where it lies under it (or a `../` path), else `path`.
fn pathdiff(path: &Path, base: &Path) -> PathBuf {
    let path_c = std::fs::canonicalize(path).unwrap_or(path.to_path_buf());
    let base_c = std::fs::canonicalize(base).unwrap_or(base.to_path_buf());
    if let Ok(rel) = path_c.strip_prefix(&base_c) {
        return rel.to_path_buf();
    }
    let pc: Vec<_> = path_c.components().collect();
    let bc: Vec<_> = base_c.components().collect();
    let common = pc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return path.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in common..bc.len() {
        out.push("..");
    }
    for c in &pc[common..] {
        out.push(c);
    }
    out
}

impl Loader<'_> {
    fn load_module(
        &mut self,
        dir: PathBuf,
        path: Vec<String>,
        parent: Option<ModuleId>,
        ancestors: &mut Vec<PathBuf>,
        inline: Option<(String, String)>,
    ) -> ModuleId {
        let id = self.modules.len();
        let mut fresh = Module::default();
        fresh.dir = dir.clone();
        fresh.path = path.clone();
        fresh.parent = parent;
        self.modules.push(fresh);
        let files = match &inline {
            Some(_) => Vec::new(),
            None => config_files(&dir, &display_name(&self.stack_dir, &dir)).unwrap_or_else(|d| {
                self.diags.push(d);
                Vec::new()
            }),
        };
        let mut module = std::mem::take(&mut self.modules[id]);
        if let Some((name, text)) = inline {
            match parse_text(text, name, self.sources) {
                Ok((file_id, body)) => self.decode_file(&mut module, file_id, body),
                Err(d) => self.diags.push(d),
            }
        }
        for file in files {
            let display = display_name(&self.stack_dir, &file);
            if display.ends_with(".tf.json") {
                self.diags.push(json_unsupported(&display));
                continue;
            }
            match parse_file(&file, display, self.sources) {
                Ok((file_id, body)) => self.decode_file(&mut module, file_id, body),
                Err(d) => self.diags.push(d),
            }
        }
        module.reindex();
        check_duplicates(&module, self.sources, &mut self.diags);
        ancestors.push(std::fs::canonicalize(&dir).unwrap_or(dir.clone()));
        for i in 0..module.module_calls.len() {
            let call = module.module_calls[i].clone();
            if !(call.source.starts_with("./") || call.source.starts_with("../")) {
                self.diags.push(
                    Diagnostic::error("Unsupported module source")
                        .detail(format!(
                            "Module source {:?} is not a local path. plinth loads modules from local directories, written as a path starting with \"./\" or \"../\".",
                            call.source
                        ))
                        .at(call.source_span),
                );
                continue;
            }
            let child_dir = dir.join(&call.source);
            let canonical = std::fs::canonicalize(&child_dir).unwrap_or(child_dir.clone());
            let shown = display_name(&self.stack_dir, &child_dir);
            let unusable = match std::fs::metadata(&child_dir) {
                Ok(meta) if meta.is_dir() => None,
                Ok(meta) => Some(
                    Diagnostic::error("Module source is not a directory").detail(format!(
                        "The module source {shown} is {}, not a directory.",
                        file_kind(&meta)
                    )),
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(
                    Diagnostic::error("Module not found")
                        .detail(format!("The module directory {shown} does not exist.")),
                ),
                Err(e) => Some(
                    Diagnostic::error("Failed to read module directory")
                        .detail(format!("The directory {shown} could not be read: {e}.")),
                ),
            };
            if let Some(d) = unusable {
                self.diags.push(d.at(call.source_span));
                continue;
            }
            if ancestors.contains(&canonical) {
                self.diags.push(
                    Diagnostic::error("Module calls itself")
                        .detail(format!(
                            "Module {:?} includes {} again, which would never end.",
                            call.name, call.source
                        ))
                        .at(call.source_span),
                );
                continue;
            }
            let mut child_path = path.clone();
            child_path.push(call.name.clone());
            self.modules[id] = std::mem::take(&mut module);
            let child = self.load_module(child_dir, child_path, Some(id), ancestors, None);
            module = std::mem::take(&mut self.modules[id]);
            module.module_calls[i].child = Some(child);
        }
        ancestors.pop();
        self.modules[id] = module;
        id
    }

    fn decode_file(&mut self, module: &mut Module, file: FileId, body: HclBody) {
        for structure in body.into_iter() {
            match structure {
                Structure::Attribute(attr) => {
                    let span = attr.key.span().map(|r| Span::new(file, r));
                    self.diags.push(
                        Diagnostic::error("Unsupported argument")
                            .detail(format!(
                                "An argument named {:?} is not expected here.",
                                attr.key.as_str()
                            ))
                            .at_opt(span),
                    );
                }
                Structure::Block(block) => self.decode_top_block(module, file, block),
            }
        }
    }

    fn decode_top_block(&mut self, module: &mut Module, file: FileId, block: Block) {
        let kind = block.ident.as_str().to_string();
        let header = header_span(&block, file);
        let labels: Vec<String> = block
            .labels
            .iter()
            .map(|l| l.as_str().to_string())
            .collect();
        let expected = match kind.as_str() {
            "terraform" | "plinth" | "locals" | "moved" | "import" => 0,
            "provider" | "variable" | "output" | "module" => 1,
            "resource" | "data" => 2,
            other => {
                self.diags.push(
                    Diagnostic::error("Unsupported block type")
                        .detail(format!("Blocks of type {other:?} are not expected here."))
                        .at(header)
                        .help_opt(did_you_mean(other, TOP_LEVEL_BLOCKS)),
                );
                return;
            }
        };
        if labels.len() != expected {
            let names = match kind.as_str() {
                "resource" | "data" => "a type and a name",
                "provider" => "a provider name",
                "module" => "a module call name",
                "variable" | "output" => "a name",
                _ => "no labels",
            };
            self.diags.push(
                Diagnostic::error(if labels.len() < expected {
                    "Missing name for block"
                } else {
                    "Extraneous label for block"
                })
                .detail(format!(
                    "A {kind} block expects {names} ({expected} label{}), but has {}.",
                    if expected == 1 { "" } else { "s" },
                    labels.len()
                ))
                .at(header),
            );
            return;
        }
        for (label, raw) in labels.iter().zip(block.labels.iter()) {
            if expected > 0 && kind != "provider" && !valid_identifier(label) {
                let span = raw.span().map(|r| Span::new(file, r)).unwrap_or(header);
                self.diags.push(
                    Diagnostic::error("Invalid name")
                        .detail(format!("{label:?} is not a valid name: a name must start with a letter or underscore and may contain only letters, digits, underscores, and dashes."))
                        .at(span),
                );
                return;
            }
        }
        let body = self.raw_body(file, block.body);
        match kind.as_str() {
            "terraform" | "plinth" => self.decode_settings(module, body),
            "provider" => self.decode_provider(module, labels[0].clone(), header, body),
            "variable" => self.decode_variable(module, labels[0].clone(), header, body),
            "locals" => {
                for attr in body.attrs {
                    module.locals.push(Local {
                        name: attr.name,
                        span: attr.name_span,
                        expr: attr.expr,
                    });
                }
                for b in body.blocks {
                    self.unexpected_block(&b);
                }
            }
            "output" => self.decode_output(module, labels[0].clone(), header, body),
            "resource" | "data" => {
                let mode = if kind == "data" {
                    ResourceMode::Data
                } else {
                    ResourceMode::Managed
                };
                self.decode_resource(
                    module,
                    mode,
                    labels[0].clone(),
                    labels[1].clone(),
                    header,
                    body,
                )
            }
            "module" => self.decode_module_call(module, labels[0].clone(), header, body),
            "moved" => self.decode_moved(module, header, body),
            "import" => self.decode_import(module, header, body),
            _ => {}
        }
    }

    /// Converts a hcl-edit body into ours, reporting arguments set twice.
    fn raw_body(&mut self, file: FileId, body: HclBody) -> Body {
        let mut out = Body::default();
        let mut seen: HashMap<String, Span> = HashMap::new();
        for structure in body.into_iter() {
            match structure {
                Structure::Attribute(attr) => {
                    let name = attr.key.as_str().to_string();
                    let name_span = attr
                        .key
                        .span()
                        .map(|r| Span::new(file, r))
                        .unwrap_or(Span::new(file, 0..0));
                    if let Some(previous) = seen.get(&name) {
                        self.diags.push(
                            Diagnostic::error("Attribute redefined")
                                .detail(format!(
                                    "The argument {name:?} was already set at {}. Each argument may be set only once.",
                                    self.sources.location(*previous)
                                ))
                                .at(name_span),
                        );
                        continue;
                    }
                    seen.insert(name.clone(), name_span);
                    out.attrs.push(Attr {
                        name,
                        name_span,
                        expr: Expr {
                            file,
                            expr: attr.value,
                        },
                    });
                }
                Structure::Block(block) => {
                    let span = header_span(&block, file);
                    out.blocks.push(NestedBlock {
                        kind: block.ident.as_str().to_string(),
                        labels: block
                            .labels
                            .iter()
                            .map(|l| l.as_str().to_string())
                            .collect(),
                        span,
                        body: self.raw_body(file, block.body),
                    });
                }
            }
        }
        out
    }

    fn unexpected_block(&mut self, b: &NestedBlock) {
        self.diags.push(
            Diagnostic::error("Unsupported block type")
                .detail(format!(
                    "Blocks of type {:?} are not expected here.",
                    b.kind
                ))
                .at(b.span),
        );
    }

    fn unexpected_attr(&mut self, a: &Attr, valid: &[&str]) {
        self.diags.push(
            Diagnostic::error("Unsupported argument")
                .detail(format!(
                    "An argument named {:?} is not expected here.",
                    a.name
                ))
                .at(a.name_span)
                .help_opt(did_you_mean(&a.name, valid.iter().copied()).or_else(|| {
                    (!valid.is_empty())
                        .then(|| format!("Valid arguments here are: {}.", valid.join(", ")))
                })),
        );
    }

    fn constant(&mut self, expr: &Expr) -> Option<Value> {
        let text = &self.sources.get(expr.file).text;
        let mut ev = Evaluator::new(expr.file, text, &NoReferences);
        match ev.eval(&expr.expr) {
            Ok(v) if v.is_known() => Some(v),
            Ok(_) => None,
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }

    fn const_of(&mut self, expr: &Expr, want: &Constraint, what: &str) -> Option<Value> {
        let v = self.constant(expr)?;
        match crate::lang::convert::convert(v, want) {
            Ok(v) => Some(v),
            Err(e) => {
                self.diags.push(
                    Diagnostic::error("Incorrect attribute value type")
                        .detail(format!("Inappropriate value for attribute {what:?}: {e}."))
                        .at_opt(expr.span()),
                );
                None
            }
        }
    }

    fn const_bool(&mut self, expr: &Expr, what: &str) -> bool {
        self.const_of(expr, &Constraint::Bool, what)
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    fn const_string(&mut self, expr: &Expr, what: &str) -> Option<String> {
        self.const_of(expr, &Constraint::String, what)
            .and_then(|v| v.as_str().map(str::to_string))
    }

    fn decode_settings(&mut self, module: &mut Module, body: Body) {
        for attr in &body.attrs {
            match attr.name.as_str() {
                "required_version" => {
                    module.settings.required_version =
                        self.const_string(&attr.expr, "required_version")
                }
                "experiments" => {}
                _ => self.unexpected_attr(attr, &["required_version", "experiments"]),
            }
        }
        for block in body.blocks {
            match block.kind.as_str() {
                "required_providers" => {
                    for attr in &block.body.attrs {
                        let Some(v) = self.constant(&attr.expr) else {
                            continue;
                        };
                        let (source, version) = match v.peel().0 {
                            Value::String(version) => {
                                (format!("hashicorp/{}", attr.name), Some(version.clone()))
                            }
                            Value::Object(o) | Value::Map(_, o) => (
                                o.get("source")
                                    .and_then(Value::as_str)
                                    .map(str::to_string)
                                    .unwrap_or_else(|| format!("hashicorp/{}", attr.name)),
                                o.get("version").and_then(Value::as_str).map(str::to_string),
                            ),
                            _ => {
                                self.diags.push(
                                    Diagnostic::error("Invalid required_providers object")
                                        .detail("A provider requirement must be an object with \"source\" and \"version\" attributes.")
                                        .at_opt(attr.expr.span()),
                                );
                                continue;
                            }
                        };
                        module.settings.required_providers.insert(
                            attr.name.clone(),
                            ProviderRequirement {
                                source,
                                version,
                                span: attr.name_span,
                            },
                        );
                    }
                }
                "backend" | "cloud" => {
                    if block.labels.len() != 1 && block.kind == "backend" {
                        self.diags.push(
                            Diagnostic::error("Missing backend type")
                                .detail("A backend block needs one label: the backend type.")
                                .at(block.span),
                        );
                        continue;
                    }
                    module.settings.backend = Some(Backend {
                        kind: block
                            .labels
                            .first()
                            .cloned()
                            .unwrap_or_else(|| "cloud".into()),
                        span: block.span,
                        body: block.body,
                    });
                }
                _ => self.unexpected_block(&block),
            }
        }
    }

    fn decode_provider(&mut self, module: &mut Module, name: String, span: Span, mut body: Body) {
        let mut alias = None;
        body.attrs.retain(|a| {
            if a.name == "alias" {
                alias = Some(a.expr.clone());
                false
            } else {
                a.name != "version"
            }
        });
        let alias = alias.and_then(|e| self.const_string(&e, "alias"));
        module.providers.push(ProviderConfig {
            name,
            alias,
            span,
            body,
        });
    }

    fn decode_checks(&mut self, block: &NestedBlock) -> Option<Check> {
        let mut condition = None;
        let mut message = None;
        for a in &block.body.attrs {
            match a.name.as_str() {
                "condition" => condition = Some(a.expr.clone()),
                "error_message" => message = Some(a.expr.clone()),
                _ => self.unexpected_attr(a, &["condition", "error_message"]),
            }
        }
        match (condition, message) {
            (Some(condition), Some(error_message)) => Some(Check {
                condition,
                error_message,
            }),
            (c, _) => {
                let missing = if c.is_none() {
                    "condition"
                } else {
                    "error_message"
                };
                self.diags.push(
                    Diagnostic::error("Missing required argument")
                        .detail(format!(
                            "The argument {missing:?} is required in a {} block.",
                            block.kind
                        ))
                        .at(block.span),
                );
                None
            }
        }
    }

    fn decode_variable(&mut self, module: &mut Module, name: String, span: Span, body: Body) {
        let mut var = Variable {
            name,
            span,
            constraint: Constraint::Any,
            has_type: false,
            default: None,
            description: None,
            sensitive: false,
            nullable: true,
            validations: Vec::new(),
        };
        let valid = ["type", "default", "description", "sensitive", "nullable"];
        for attr in &body.attrs {
            match attr.name.as_str() {
                "type" => {
                    let sources: &Sources = self.sources;
                    let default_of = |e: &Expr| {
                        let text = &sources.get(e.file).text;
                        Evaluator::new(e.file, text, &NoReferences).eval(&e.expr)
                    };
                    match parse_constraint(&attr.expr, &default_of) {
                        Ok(c) => {
                            var.constraint = c;
                            var.has_type = true;
                        }
                        Err(d) => self.diags.push(d),
                    }
                }
                "default" => var.default = Some(attr.expr.clone()),
                "description" => var.description = self.const_string(&attr.expr, "description"),
                "sensitive" => var.sensitive = self.const_bool(&attr.expr, "sensitive"),
                "nullable" => var.nullable = self.const_bool(&attr.expr, "nullable"),
                _ => self.unexpected_attr(attr, &valid),
            }
        }
        for block in &body.blocks {
            match block.kind.as_str() {
                "validation" => {
                    if let Some(c) = self.decode_checks(block) {
                        var.validations.push(c);
                    }
                }
                _ => self.unexpected_block(block),
            }
        }
        if let Some(default) = var.default.clone() {
            if let Some(value) = self.constant(&default) {
                if let Err(e) = crate::lang::convert::convert(value.clone(), &var.constraint) {
                    self.diags.push(
                        Diagnostic::error("Invalid default value for variable")
                            .detail(format!("This default value is not compatible with the variable's type constraint: {e}."))
                            .at_opt(default.span())
                            .help(format!(
                                "The type constraint is {}; the default is {}.",
                                var.constraint,
                                value.ty().describe()
                            )),
                    );
                } else if value.is_null() && !var.nullable {
                    self.diags.push(
                        Diagnostic::error("Invalid default value for variable")
                            .detail("A null default value is not valid when nullable=false.")
                            .at_opt(default.span()),
                    );
                }
            }
        }
        module.variables.push(var);
    }

    fn references(&mut self, expr: &Expr, what: &str) -> Vec<Reference> {
        let items: Vec<&Expression> = match &expr.expr {
            Expression::Array(a) => a.iter().collect(),
            _ => {
                self.diags.push(
                    Diagnostic::error(format!("Invalid {what} argument"))
                        .detail(format!("The {what} argument must be a list of references."))
                        .at_opt(expr.span()),
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items {
            match traversal_reference(item, expr.file) {
                Some(Ok(r)) if matches!(r.subject, Subject::Resource { .. } | Subject::ModuleCall(_) | Subject::Var(_) | Subject::Local(_)) => out.push(r),
                Some(Err(d)) => self.diags.push(d),
                _ => self.diags.push(
                    Diagnostic::error(format!("Invalid {what} reference"))
                        .detail(format!("References in {what} must be to a whole object (a resource, data source or module call), without further operations."))
                        .at_opt(item.span().map(|r| Span::new(expr.file, r))),
                ),
            }
        }
        out
    }

    fn decode_output(&mut self, module: &mut Module, name: String, span: Span, body: Body) {
        let mut out = Output {
            name,
            span,
            value: None,
            description: None,
            sensitive: false,
            depends_on: Vec::new(),
            preconditions: Vec::new(),
        };
        for attr in &body.attrs {
            match attr.name.as_str() {
                "value" => out.value = Some(attr.expr.clone()),
                "description" => out.description = self.const_string(&attr.expr, "description"),
                "sensitive" => out.sensitive = self.const_bool(&attr.expr, "sensitive"),
                "depends_on" => out.depends_on = self.references(&attr.expr, "depends_on"),
                _ => {
                    self.unexpected_attr(attr, &["value", "description", "sensitive", "depends_on"])
                }
            }
        }
        for block in &body.blocks {
            match block.kind.as_str() {
                "precondition" => {
                    if let Some(c) = self.decode_checks(block) {
                        out.preconditions.push(c);
                    }
                }
                _ => self.unexpected_block(block),
            }
        }
        if out.value.is_none() {
            self.diags.push(
                Diagnostic::error("Missing required argument")
                    .detail("The argument \"value\" is required, but no definition was found.")
                    .at(span),
            );
        }
        module.outputs.push(out);
    }

    fn provider_ref(&mut self, expr: &Expr) -> Option<ProviderRef> {
        let span = expr.span().unwrap_or(Span::new(expr.file, 0..0));
        let parsed = match &expr.expr {
            Expression::Variable(v) => Some((v.as_str().to_string(), None)),
            Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
                (Expression::Variable(v), [op]) => match op.value() {
                    TraversalOperator::GetAttr(a) => {
                        Some((v.as_str().to_string(), Some(a.as_str().to_string())))
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        match parsed {
            Some((name, alias)) => Some(ProviderRef { name, alias, span }),
            None => {
                self.diags.push(
                    Diagnostic::error("Invalid provider reference")
                        .detail("A provider reference is a provider name, optionally followed by a dot and an alias: aws or aws.west.")
                        .at(span),
                );
                None
            }
        }
    }

    fn decode_lifecycle(&mut self, block: &NestedBlock, lc: &mut Lifecycle) {
        for a in &block.body.attrs {
            match a.name.as_str() {
                "create_before_destroy" => lc.create_before_destroy = self.const_bool(&a.expr, "create_before_destroy"),
                "prevent_destroy" => lc.prevent_destroy = self.const_bool(&a.expr, "prevent_destroy"),
                "ignore_changes" => match &a.expr.expr {
                    Expression::Variable(v) if v.as_str() == "all" => lc.ignore_all_changes = true,
                    Expression::Array(items) => {
                        for item in items.iter() {
                            lc.ignore_changes.push(Expr { file: a.expr.file, expr: item.clone() });
                        }
                    }
                    _ => self.diags.push(
                        Diagnostic::error("Invalid ignore_changes value")
                            .detail("ignore_changes must be a list of attribute references, or the keyword all.")
                            .at_opt(a.expr.span()),
                    ),
                },
                "replace_triggered_by" => match &a.expr.expr {
                    Expression::Array(items) => {
                        for item in items.iter() {
                            lc.replace_triggered_by.push(Expr { file: a.expr.file, expr: item.clone() });
                        }
                    }
                    _ => self.diags.push(
                        Diagnostic::error("Invalid replace_triggered_by value")
                            .detail("replace_triggered_by must be a list of references to resources or their attributes.")
                            .at_opt(a.expr.span()),
                    ),
                },
                _ => self.unexpected_attr(a, &["create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"]),
            }
        }
        for b in &block.body.blocks {
            match b.kind.as_str() {
                "precondition" => {
                    if let Some(c) = self.decode_checks(b) {
                        lc.preconditions.push(c);
                    }
                }
                "postcondition" => {
                    if let Some(c) = self.decode_checks(b) {
                        lc.postconditions.push(c);
                    }
                }
                _ => self.unexpected_block(b),
            }
        }
    }

    fn decode_resource(
        &mut self,
        module: &mut Module,
        mode: ResourceMode,
        type_name: String,
        name: String,
        span: Span,
        mut body: Body,
    ) {
        let mut r = Resource {
            mode,
            type_name,
            name,
            span,
            count: None,
            for_each: None,
            provider: None,
            depends_on: Vec::new(),
            lifecycle: Lifecycle::default(),
            body: Body::default(),
        };
        let mut count_span = None;
        for attr in std::mem::take(&mut body.attrs) {
            match attr.name.as_str() {
                "count" => {
                    count_span = Some(attr.name_span);
                    r.count = Some(attr.expr)
                }
                "for_each" => r.for_each = Some(attr.expr),
                "provider" => r.provider = self.provider_ref(&attr.expr),
                "depends_on" => r.depends_on = self.references(&attr.expr, "depends_on"),
                _ => r.body.attrs.push(attr),
            }
        }
        if let (Some(count_span), Some(fe)) = (count_span, &r.for_each) {
            self.diags.push(
                Diagnostic::error("Invalid combination of \"count\" and \"for_each\"")
                    .detail("The \"count\" and \"for_each\" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of resources to be created.")
                    .at(count_span)
                    .label(fe.span().unwrap_or(count_span), "for_each is also set here"),
            );
        }
        for block in std::mem::take(&mut body.blocks) {
            match block.kind.as_str() {
                "lifecycle" => {
                    let mut lc = std::mem::take(&mut r.lifecycle);
                    self.decode_lifecycle(&block, &mut lc);
                    r.lifecycle = lc;
                }
                "provisioner" | "connection" if mode == ResourceMode::Managed => {}
                _ => r.body.blocks.push(block),
            }
        }
        module.resources.push(r);
    }

    fn decode_module_call(&mut self, module: &mut Module, name: String, span: Span, body: Body) {
        let mut call = ModuleCall {
            name,
            span,
            source: String::new(),
            source_span: span,
            version: None,
            count: None,
            for_each: None,
            depends_on: Vec::new(),
            providers: Vec::new(),
            inputs: Vec::new(),
            child: None,
        };
        let mut has_source = false;
        let mut count_span = None;
        for attr in body.attrs {
            match attr.name.as_str() {
                "source" => {
                    has_source = true;
                    call.source_span = attr.expr.span().unwrap_or(span);
                    call.source = self.const_string(&attr.expr, "source").unwrap_or_default();
                }
                "version" => call.version = self.const_string(&attr.expr, "version"),
                "count" => {
                    count_span = Some(attr.name_span);
                    call.count = Some(attr.expr)
                }
                "for_each" => call.for_each = Some(attr.expr),
                "depends_on" => call.depends_on = self.references(&attr.expr, "depends_on"),
                "providers" => match &attr.expr.expr {
                    Expression::Object(obj) => {
                        for (k, v) in obj.iter() {
                            let key = match k {
                                ObjectKey::Ident(id) => id.as_str().to_string(),
                                ObjectKey::Expression(e) => {
                                    let text = e.span().map(|r| self.sources.text(Span::new(attr.expr.file, r)).to_string());
                                    text.unwrap_or_default()
                                }
                            };
                            let value = Expr { file: attr.expr.file, expr: v.expr().clone() };
                            if let Some(p) = self.provider_ref(&value) {
                                call.providers.push((key, p));
                            }
                        }
                    }
                    _ => self.diags.push(
                        Diagnostic::error("Invalid providers argument")
                            .detail("The providers argument must be a map from the child module's provider names to this module's provider configurations.")
                            .at_opt(attr.expr.span()),
                    ),
                },
                _ => call.inputs.push(attr),
            }
        }
        if let (Some(count_span), Some(fe)) = (count_span, &call.for_each) {
            self.diags.push(
                Diagnostic::error("Invalid combination of \"count\" and \"for_each\"")
                    .detail("The \"count\" and \"for_each\" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of module instances to be created.")
                    .at(count_span)
                    .label(fe.span().unwrap_or(count_span), "for_each is also set here"),
            );
        }
        for b in &body.blocks {
            self.unexpected_block(b);
        }
        if !has_source {
            self.diags.push(
                Diagnostic::error("Missing required argument")
                    .detail("The argument \"source\" is required, but no definition was found.")
                    .at(span),
            );
        }
        module.module_calls.push(call);
    }

    fn address_text(&mut self, expr: &Expr, what: &str) -> Option<(String, Span)> {
        let span = expr.span()?;
        match traversal_reference(&expr.expr, expr.file) {
            Some(Ok(r))
                if matches!(r.subject, Subject::Resource { .. } | Subject::ModuleCall(_)) =>
            {
                Some((self.sources.text(span).split_whitespace().collect(), span))
            }
            _ => {
                self.diags.push(
                    Diagnostic::error(format!("Invalid \"{what}\" address"))
                        .detail("Must be the address of a resource or a module call, such as aws_instance.gpu or module.pool.")
                        .at(span),
                );
                None
            }
        }
    }

    fn decode_moved(&mut self, module: &mut Module, span: Span, body: Body) {
        let mut from = None;
        let mut to = None;
        for a in &body.attrs {
            match a.name.as_str() {
                "from" => from = self.address_text(&a.expr, "from"),
                "to" => to = self.address_text(&a.expr, "to"),
                _ => self.unexpected_attr(a, &["from", "to"]),
            }
        }
        match (from, to) {
            (Some((from, from_span)), Some((to, to_span))) => module.moved.push(Moved {
                from,
                from_span,
                to,
                to_span,
            }),
            (None, _) | (_, None) if !self.diags.has_errors() => self.diags.push(
                Diagnostic::error("Missing required argument")
                    .detail("A moved block needs both \"from\" and \"to\".")
                    .at(span),
            ),
            _ => {}
        }
    }

    fn decode_import(&mut self, module: &mut Module, span: Span, body: Body) {
        let mut to = None;
        let mut id = None;
        let mut provider = None;
        for a in &body.attrs {
            match a.name.as_str() {
                "to" => to = self.address_text(&a.expr, "to"),
                "id" => id = Some(a.expr.clone()),
                "provider" => provider = self.provider_ref(&a.expr),
                _ => self.unexpected_attr(a, &["to", "id", "provider"]),
            }
        }
        match (to, id) {
            (Some((to, to_span)), Some(id)) => module.imports.push(Import {
                to,
                to_span,
                id,
                provider,
            }),
            _ => self.diags.push(
                Diagnostic::error("Missing required argument")
                    .detail("An import block needs both \"to\" and \"id\".")
                    .at(span),
            ),
        }
    }
}

/// The reference a bare traversal expression (`aws_instance.x`, `module.m`) names.
fn traversal_reference(e: &Expression, file: FileId) -> Option<Result<Reference, Diagnostic>> {
    let (root, ops) = match e {
        Expression::Variable(v) => (v, &[][..]),
        Expression::Traversal(t) => match &t.expr {
            Expression::Variable(v) => (v, t.operators.as_slice()),
            _ => return None,
        },
        _ => return None,
    };
    let root_span = Span::new(file, root.span()?);
    Some(parse_reference(root.as_str(), root_span, ops, file))
}

fn header_span(block: &Block, file: FileId) -> Span {
    let start = block.ident.span().map(|r| r.start).unwrap_or(0);
    let end = block
        .labels
        .last()
        .and_then(|l| l.span())
        .or_else(|| block.ident.span())
        .map(|r| r.end)
        .unwrap_or(start);
    Span::new(file, start..end)
}

pub fn valid_identifier(s: &str) -> bool {
    hcl_primitives::ident::is_ident(s)
}

fn check_duplicates(module: &Module, sources: &Sources, diags: &mut Diagnostics) {
    let mut report = |kind: &str, what: String, first: Span, again: Span, rule: &str| {
        diags.push(
            Diagnostic::error(format!("Duplicate {kind}"))
                .detail(format!(
                    "{what} was already declared at {}. {rule}",
                    sources.location(first)
                ))
                .at(again)
                .label(first, "first declared here"),
        );
    };
    let mut seen: HashMap<String, Span> = HashMap::new();
    for v in &module.variables {
        if let Some(first) = seen.insert(v.name.clone(), v.span) {
            report(
                "variable declaration",
                format!("A variable named {:?}", v.name),
                first,
                v.span,
                "Variable names must be unique within a module.",
            );
        }
    }
    seen.clear();
    for l in &module.locals {
        if let Some(first) = seen.insert(l.name.clone(), l.span) {
            report(
                "local value definition",
                format!("A local value named {:?}", l.name),
                first,
                l.span,
                "Local value names must be unique within a module.",
            );
        }
    }
    seen.clear();
    for o in &module.outputs {
        if let Some(first) = seen.insert(o.name.clone(), o.span) {
            report(
                "output definition",
                format!("An output named {:?}", o.name),
                first,
                o.span,
                "Output names must be unique within a module.",
            );
        }
    }
    seen.clear();
    for r in &module.resources {
        if let Some(first) = seen.insert(r.address(), r.span) {
            let kind = match r.mode {
                ResourceMode::Managed => "resource",
                ResourceMode::Data => "data",
            };
            report(
                &format!("{kind} {:?} configuration", r.type_name),
                format!("A {} {kind} named {:?}", r.type_name, r.name),
                first,
                r.span,
                &format!("Resource names must be unique per type in each module; the address {}{} is taken.", module.display_path(), r.address()),
            );
        }
    }
    seen.clear();
    for m in &module.module_calls {
        if let Some(first) = seen.insert(m.name.clone(), m.span) {
            report(
                "module call",
                format!("A module call named {:?}", m.name),
                first,
                m.span,
                "Module calls must have unique names within a module.",
            );
        }
    }
    seen.clear();
    for p in &module.providers {
        if let Some(first) = seen.insert(p.local_address(), p.span) {
            report(
                "provider configuration",
                format!("A provider configuration for {:?}", p.local_address()),
                first,
                p.span,
                "Give each additional configuration of a provider a unique alias.",
            );
        }
    }
}
