//! Loading a stack from disk: every `*.hcl` and `*.tf` file of a directory, parsed
//! with hcl-edit (keeping byte spans), decoded into [`Module`]s by `decode`, with local
//! module calls followed; `*.tf.json` files are read in Terraform's JSON syntax
//! (`decode::json`). A file taken by its name that cannot be read is an error, never
//! skipped. Nothing here
//! evaluates an expression that may reference anything, and nothing calls a provider.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;
use hcl_edit::structure::Body as HclBody;
use hcl_edit::Span as _;

use super::decode::{check_duplicates, is_override_file, Decoder};
use super::model::*;
use crate::diag::{Diagnostic, Diagnostics, FileId, Sources, Span};

/// Loads the stack in `dir`. The configuration is returned even when it has errors, so
/// that later stages can report theirs too; callers check the diagnostics.
pub fn load_stack(dir: &Path, sources: &mut Sources) -> (Config, Diagnostics) {
    load_stack_with(dir, sources, &mut crate::modules::Installed::new(dir))
}

/// Loads the stack in `dir`, asking `resolver` for the directory of each remote
/// module call (`plinth init` passes its installer; every other command loads what
/// init installed).
pub fn load_stack_with(
    dir: &Path,
    sources: &mut Sources,
    resolver: &mut dyn crate::modules::Resolver,
) -> (Config, Diagnostics) {
    let mut loader = Loader {
        sources,
        diags: Diagnostics::default(),
        modules: Vec::new(),
        stack_dir: dir.to_path_buf(),
        resolver,
        parsed: HashMap::new(),
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
    let diags = once_each(loader.diags);
    let mut config = Config {
        modules: loader.modules,
    };
    config.resolve_provider_refs();
    (config, diags)
}

/// For decoders' unit tests: the root module of `text` (as `main.tf` in an empty
/// directory) and the summaries of its errors, each with its line.
#[cfg(test)]
pub(crate) fn root_and_errors(text: &str) -> (super::Module, Vec<(String, usize)>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sources = Sources::default();
    let (mut config, diags) = load_source(dir.path(), "main.tf", text.into(), &mut sources);
    let errors = diags
        .items
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let line = d.span.map(|s| sources.get(s.file).position(s.start).line);
            (d.summary.clone(), line.unwrap_or(0))
        })
        .collect();
    (config.modules.swap_remove(0), errors)
}

/// Loads a root module held in memory as one file (for tests and fuzzing); its module
/// calls are still resolved on disk, relative to `dir`.
pub fn load_source(
    dir: &Path,
    name: &str,
    text: String,
    sources: &mut Sources,
) -> (Config, Diagnostics) {
    let mut installed = crate::modules::Installed::new(dir);
    let mut loader = Loader {
        sources,
        diags: Diagnostics::default(),
        modules: Vec::new(),
        stack_dir: dir.to_path_buf(),
        resolver: &mut installed,
        parsed: HashMap::new(),
    };
    let inline = (name.to_string(), text);
    loader.load_module(
        dir.to_path_buf(),
        Vec::new(),
        None,
        &mut Vec::new(),
        Some(inline),
    );
    let diags = once_each(loader.diags);
    let mut config = Config {
        modules: loader.modules,
    };
    config.resolve_provider_refs();
    (config, diags)
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
    crate::lang::confine::check(path).map_err(failed)?;
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
/// Hidden files (lock files such as .terraform.lock.hcl), editor leftovers and
/// Terraform's test, mock and query files (`*.tftest.hcl`, `*.tfmock.hcl`,
/// `*.tfquery.hcl` and their `.json` forms, read by `terraform test`, not as
/// configuration) are not stack files, as in Terraform.
fn is_config_name(name: &str) -> bool {
    let not_configuration = [".tftest.", ".tfmock.", ".tfquery."];
    !name.starts_with(['.', '#'])
        && !name.ends_with('~')
        && !not_configuration.iter().any(|kind| name.contains(kind))
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
    crate::lang::confine::check(dir).map_err(|why| {
        Diagnostic::error("Failed to read module directory")
            .detail(format!("The directory {display} could not be read: {why}."))
    })?;
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
    let parsed = super::duplicate_keys::parse_body(&text);
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

/// Parses a file in Terraform's JSON syntax: checked to be JSON (so HCL written in
/// a `.tf.json` file is refused, as Terraform refuses it), then parsed by hcl-edit as
/// the object expression a JSON document also is, keeping spans in its text.
pub fn parse_json(
    text: String,
    display: String,
    sources: &mut Sources,
) -> Result<(FileId, Expression), Diagnostic> {
    let checked = serde_json::from_str::<serde::de::IgnoredAny>(&text);
    let parsed = parse_wide_numbers(&text, |t| hcl_edit::parser::parse_expr(t.trim_end()));
    let id = sources.add(display, text);
    let file = sources.get(id);
    let at_line = |line: usize, column: usize| {
        let mut offset = 0;
        for (i, l) in file.text.split_inclusive('\n').enumerate() {
            if i + 1 == line {
                return offset + column.saturating_sub(1).min(l.len());
            }
            offset += l.len();
        }
        file.text.len()
    };
    if let Err(e) = checked {
        let start = at_line(e.line(), e.column());
        let end = (start + 1).min(file.text.len()).max(start);
        return Err(Diagnostic::error("Syntax error")
            .detail(format!("Invalid JSON: {e}."))
            .at(Span::new(id, start..end)));
    }
    parsed.map(|root| (id, root)).map_err(|e| {
        let start = e.location().offset().min(file.text.len());
        Diagnostic::error("Syntax error")
            .detail(format!(
                "This JSON cannot be read as Terraform configuration: {}.",
                e.message()
            ))
            .at(Span::new(
                id,
                start..(start + 1).min(file.text.len()).max(start),
            ))
    })
}

struct Loader<'a> {
    sources: &'a mut Sources,
    diags: Diagnostics,
    modules: Vec<Module>,
    stack_dir: PathBuf,
    resolver: &'a mut dyn crate::modules::Resolver,
    /// Each file parsed once, by canonical path: a module directory called from
    /// several places is decoded again for each call, from the same source file.
    parsed: HashMap<PathBuf, Option<(FileId, Parsed)>>,
}

/// A parsed configuration file: a native body, or a JSON document as the object
/// expression it also is in HCL.
#[derive(Clone)]
enum Parsed {
    Native(HclBody),
    Json(Expression),
}

/// The diagnostics with repeats left out: a module directory loaded once per call
/// reports what is wrong with its files once, not once per call.
fn once_each(diags: Diagnostics) -> Diagnostics {
    let mut out = Diagnostics::default();
    for d in diags.items {
        if !out.items.contains(&d) {
            out.items.push(d);
        }
    }
    out
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
        let mut primary = Vec::new();
        let mut overrides = Vec::new();
        if let Some((name, text)) = inline {
            match parse_text(text, name, self.sources) {
                Ok((file_id, body)) => primary.extend(self.decoder().top_blocks(file_id, body)),
                Err(d) => self.diags.push(d),
            }
        }
        for file in files {
            let display = display_name(&self.stack_dir, &file);
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let into = if is_override_file(name) {
                &mut overrides
            } else {
                &mut primary
            };
            if let Some((file_id, parsed)) = self.parse_once(&file, display) {
                let mut blocks = match parsed {
                    Parsed::Native(body) => self.decoder().top_blocks(file_id, body),
                    Parsed::Json(root) => self.decoder().json_top_blocks(file_id, root),
                };
                for b in &mut blocks {
                    b.overriding = is_override_file(name);
                }
                into.extend(blocks);
            }
        }
        let mut decoder = self.decoder();
        decoder.merge_overrides(&mut primary, overrides);
        for block in primary {
            decoder.decode_top_block(&mut module, block);
        }
        module.reindex();
        check_duplicates(&module, self.sources, &mut self.diags);
        ancestors.push(std::fs::canonicalize(&dir).unwrap_or(dir.clone()));
        for i in 0..module.module_calls.len() {
            let call = module.module_calls[i].clone();
            let mut child_path = path.clone();
            child_path.push(call.name.clone());
            let child_dir = match crate::modules::ModuleSource::parse(&call.source) {
                Ok(source) if source.is_local() => dir.join(&call.source),
                Ok(_) => {
                    let request = crate::modules::Request {
                        key: child_path.join("."),
                        source: &call.source,
                        version: call.version.as_deref(),
                        span: call.source_span,
                    };
                    match self.resolver.resolve(&request) {
                        Ok(d) => d,
                        Err(d) => {
                            self.diags.push(d);
                            continue;
                        }
                    }
                }
                Err(e) => {
                    self.diags.push(
                        Diagnostic::error("Invalid module source")
                            .detail(e.to_string())
                            .at(call.source_span),
                    );
                    continue;
                }
            };
            let canonical = std::fs::canonicalize(&child_dir).unwrap_or(child_dir.clone());
            let shown = display_name(&self.stack_dir, &child_dir);
            let confined = crate::lang::confine::check(&child_dir);
            let unusable = match std::fs::metadata(&child_dir) {
                _ if confined.is_err() => Some(
                    Diagnostic::error("Failed to read module directory").detail(format!(
                        "The directory {shown} could not be read: {}.",
                        confined.err().unwrap_or_default()
                    )),
                ),
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
            self.modules[id] = std::mem::take(&mut module);
            let child = self.load_module(child_dir, child_path, Some(id), ancestors, None);
            module = std::mem::take(&mut self.modules[id]);
            module.module_calls[i].child = Some(child);
        }
        ancestors.pop();
        self.modules[id] = module;
        id
    }

    /// The parsed body of a file, parsing it the first time it is asked for; a file
    /// that does not parse is reported the first time and is `None` after.
    fn parse_once(&mut self, file: &Path, display: String) -> Option<(FileId, Parsed)> {
        let key = std::fs::canonicalize(file).unwrap_or(file.to_path_buf());
        if let Some(parsed) = self.parsed.get(&key) {
            return parsed.clone();
        }
        let result = if display.ends_with(".tf.json") {
            read_file(file, &display)
                .and_then(|text| parse_json(text, display, self.sources))
                .map(|(id, root)| (id, Parsed::Json(root)))
        } else {
            parse_file(file, display, self.sources).map(|(id, body)| (id, Parsed::Native(body)))
        };
        let parsed = match result {
            Ok(parsed) => Some(parsed),
            Err(d) => {
                self.diags.push(d);
                None
            }
        };
        self.parsed.insert(key, parsed.clone());
        parsed
    }

    fn decoder(&mut self) -> Decoder<'_> {
        Decoder {
            sources: self.sources,
            diags: &mut self.diags,
        }
    }
}
