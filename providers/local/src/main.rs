//! `plinth/local`: files and directories on the machine running the provider, with
//! the attribute names of HashiCorp's local provider so configurations port over.
//!
//! - `local_file`: writes `filename` from `content`, `sensitive_content`,
//!   `content_base64` or `source`; `id` is the SHA-1 of the content. Every argument
//!   replaces the file when it changes. A file edited or removed outside plinth reads
//!   as gone, so the next plan writes it again.
//! - `local_sensitive_file`: `local_file` with `content` and `content_base64`
//!   sensitive in the schema (never shown in plans), permissions `0700` by default.
//! - `local_directory`: a directory at `path` with `permission`.
//! - data source `local_file`: reads `filename`.
//! - `provider "local" { root = "DIR" }` (optional, plinth's own): relative
//!   `filename`s and `path`s are resolved under `DIR` instead of the provider's
//!   working directory (what plinth's staged-apply tests configure from a value
//!   another resource produces).
//! - `provider_meta "local" { module_name = "..." }` is accepted in any module; when
//!   `PLINTH_LOCAL_META_LOG` names a file, each call that carries it appends a line
//!   `<call> <type> <module_name>` there (for tests of what the engine sends).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine as _;
use plinth_provider_sdk::{
    fail, serve, Attribute, Block, DataSource, Diagnostic, MetaCall, Object, Provider, Resource,
    Result, Schema, Type, Value,
};
use sha1::{Digest, Sha1};

fn main() -> std::process::ExitCode {
    serve(Local)
}

struct Local;

/// The provider block's `root`, set once by ConfigureProvider.
static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Where a configured relative path lies: under `root` when the provider has one.
fn resolve(name: &str) -> PathBuf {
    match ROOT.get() {
        Some(root) if Path::new(name).is_relative() => root.join(name),
        _ => PathBuf::from(name),
    }
}

impl Provider for Local {
    fn schema(&self) -> Schema {
        schema(
            vec![(
                "root",
                optional("Directory that relative filename and path arguments are resolved under."),
            )],
            "Files and directories on the machine running the provider.",
        )
    }

    fn configure(&self, config: &Object) -> Vec<Diagnostic> {
        if !config.is_known("root") {
            return vec![Diagnostic::error(
                "Unknown root",
                "The provider's root must be known when it is configured.",
            )
            .at("root")];
        }
        if let Some(root) = config.string("root") {
            // A process is configured once; a second call keeps the first root.
            let _ = ROOT.set(PathBuf::from(root));
        }
        Vec::new()
    }

    /// Unlimited, unless `PLINTH_LOCAL_MAX_CONCURRENCY` says otherwise (for slow or
    /// network file systems).
    fn max_concurrency(&self) -> Option<usize> {
        std::env::var("PLINTH_LOCAL_MAX_CONCURRENCY")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
    }

    fn resources(&self) -> Vec<Box<dyn Resource>> {
        vec![
            Box::new(LocalFile),
            Box::new(LocalSensitiveFile),
            Box::new(LocalDirectory),
        ]
    }

    fn data_sources(&self) -> Vec<Box<dyn DataSource>> {
        vec![Box::new(LocalFileData)]
    }

    fn meta_schema(&self) -> Option<Schema> {
        Some(schema(
            vec![("module_name", optional("The calling module's name."))],
            "Module metadata.",
        ))
    }

    fn provider_meta(&self, call: MetaCall) {
        let Some(path) = std::env::var_os("PLINTH_LOCAL_META_LOG") else {
            return;
        };
        let name = call.meta.string("module_name").unwrap_or_default();
        let line = format!("{} {} {name}\n", call.rpc, call.type_name);
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
        if let Err(e) = appended {
            eprintln!("plinth/local: cannot write PLINTH_LOCAL_META_LOG: {e}");
        }
    }
}

fn attr(ty: Type, description: &str) -> Attribute {
    Attribute {
        description: description.to_string(),
        ..Attribute::new(ty)
    }
}

fn required(description: &str) -> Attribute {
    Attribute {
        required: true,
        ..attr(Type::String, description)
    }
}

fn optional(description: &str) -> Attribute {
    Attribute {
        optional: true,
        ..attr(Type::String, description)
    }
}

fn computed(description: &str) -> Attribute {
    Attribute {
        computed: true,
        ..attr(Type::String, description)
    }
}

fn optional_computed(description: &str) -> Attribute {
    Attribute {
        optional: true,
        computed: true,
        ..attr(Type::String, description)
    }
}

fn schema(attributes: Vec<(&str, Attribute)>, description: &str) -> Schema {
    Schema {
        version: 0,
        block: Block {
            attributes: attributes
                .into_iter()
                .map(|(k, a)| (k.to_string(), a))
                .collect(),
            description: description.to_string(),
            ..Block::default()
        },
    }
}

fn sha1_hex(bytes: &[u8]) -> String {
    Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `"0644"` → 0o644, or a diagnostic about `name`.
fn mode(o: &Object, name: &str) -> std::result::Result<u32, Diagnostic> {
    let text = o.string(name).unwrap_or_else(|| "0777".to_string());
    let ok = (3..=4).contains(&text.len()) && text.chars().all(|c| ('0'..='7').contains(&c));
    match u32::from_str_radix(&text, 8) {
        Ok(m) if ok => Ok(m),
        _ => Err(Diagnostic::error(
            "Invalid file mode",
            format!("{name} must be a file mode in octal, such as \"0644\"; {text:?} is not."),
        )
        .at(name)),
    }
}

const CONTENT_SOURCES: [&str; 4] = ["content", "sensitive_content", "content_base64", "source"];

/// `sources`, as a sentence: "content, content_base64 or source".
fn one_of(sources: &[&str]) -> String {
    match sources.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => sources.join(""),
    }
}

/// A file's configuration: exactly one of `sources` set, valid permissions.
fn check_file(config: &Object, sources: &[&str]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let set: Vec<&str> = sources
        .iter()
        .copied()
        .filter(|a| !config.is_null(a))
        .collect();
    if set.len() > 1 {
        out.push(
            Diagnostic::error(
                "Conflicting content arguments",
                format!(
                    "Only one of {} may be set; this block sets {}.",
                    one_of(sources),
                    set.join(" and ")
                ),
            )
            .at(set[1]),
        );
    }
    if set.is_empty() && sources.iter().all(|a| config.is_known(a)) {
        out.push(Diagnostic::error(
            "No content",
            format!("One of {} must be set.", one_of(sources)),
        ));
    }
    for name in ["file_permission", "directory_permission"] {
        if config.is_known(name) && !config.is_null(name) {
            if let Err(d) = mode(config, name) {
                out.push(d);
            }
        }
    }
    out
}

struct LocalFile;

impl LocalFile {
    /// The bytes to write, from whichever content argument is set.
    fn content(planned: &Object) -> Result<Vec<u8>> {
        if let Some(c) = planned.string("content") {
            return Ok(c.into_bytes());
        }
        if let Some(c) = planned.string("sensitive_content") {
            return Ok(c.into_bytes());
        }
        if let Some(c) = planned.string("content_base64") {
            return base64::engine::general_purpose::STANDARD
                .decode(c.trim())
                .or_else(|e| fail("Invalid content_base64", e.to_string()));
        }
        if let Some(source) = planned.string("source") {
            return std::fs::read(&source)
                .or_else(|e| fail("Cannot read source", format!("{source}: {e}")));
        }
        fail(
            "No content",
            "One of content, sensitive_content, content_base64 or source must be set.",
        )
    }
}

impl Resource for LocalFile {
    fn type_name(&self) -> &str {
        "local_file"
    }

    fn schema(&self) -> Schema {
        let mut sensitive = optional("Sensitive content to store in the file; not shown in plans.");
        sensitive.sensitive = true;
        sensitive.deprecated = true;
        schema(
            vec![
                ("content", optional("Content to store in the file, expected to be a UTF-8 encoded string.")),
                ("sensitive_content", sensitive),
                ("content_base64", optional("Content to store in the file, expected to be binary encoded as base64 string.")),
                ("source", optional("Path to file to use as source for the one we are creating.")),
                ("filename", required("The path to the file that will be created. Missing parent directories will be created.")),
                ("file_permission", optional_computed("Permissions to set for the output file (in numeric notation); default \"0777\".")),
                ("directory_permission", optional_computed("Permissions to set for directories created (in numeric notation); default \"0777\".")),
                ("id", computed("The hexadecimal SHA-1 checksum of the file content.")),
            ],
            "Generates a local file with the given content.",
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec![
            "content",
            "sensitive_content",
            "content_base64",
            "source",
            "filename",
            "file_permission",
            "directory_permission",
        ]
    }

    fn defaults(&self) -> Vec<(&str, Value)> {
        vec![
            ("file_permission", Value::string("0777")),
            ("directory_permission", Value::string("0777")),
        ]
    }

    fn validate(&self, config: &Object) -> Vec<Diagnostic> {
        check_file(config, &CONTENT_SOURCES)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let filename = planned.require_string("filename")?;
        let content = Self::content(planned)?;
        let file_mode = mode(planned, "file_permission").map_err(|d| vec![d])?;
        let dir_mode = mode(planned, "directory_permission").map_err(|d| vec![d])?;
        let resolved = resolve(&filename);
        let path = resolved.as_path();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() {
                std::fs::create_dir_all(parent).or_else(|e| {
                    fail(
                        "Cannot create directory",
                        format!("{}: {e}", parent.display()),
                    )
                })?;
                let _ = std::fs::set_permissions(parent, std::fs::Permissions::from_mode(dir_mode));
            }
        }
        std::fs::write(path, &content)
            .or_else(|e| fail("Cannot write file", format!("{filename}: {e}")))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(file_mode))
            .or_else(|e| fail("Cannot set file permissions", format!("{filename}: {e}")))?;
        let mut state = planned.clone();
        state.set("id", Value::string(sha1_hex(&content)));
        Ok(state)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let Some(filename) = current.string("filename") else {
            return Ok(None);
        };
        let bytes = match std::fs::read(resolve(&filename)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return fail("Cannot read file", format!("{filename}: {e}")),
        };
        // A file whose content changed outside is as good as gone: plan writes it again.
        if current.string("id").as_deref() != Some(sha1_hex(&bytes).as_str()) {
            return Ok(None);
        }
        Ok(Some(current.clone()))
    }

    fn update(&self, _prior: &Object, planned: &Object) -> Result<Object> {
        // Every argument replaces the file, so an update only records the plan.
        Ok(planned.clone())
    }

    /// Imports the file at path `id`: its content and permissions as they are.
    fn import(&self, id: &str) -> Result<Object> {
        let bytes = std::fs::read(resolve(id))
            .or_else(|e| fail("Cannot import file", format!("{id}: {e}")))?;
        let meta = std::fs::metadata(resolve(id))
            .or_else(|e| fail("Cannot import file", format!("{id}: {e}")))?;
        let mut o = Object(Default::default());
        o.set("filename", Value::string(id));
        o.set(
            "content",
            Value::string(String::from_utf8_lossy(&bytes).into_owned()),
        );
        o.set(
            "file_permission",
            Value::string(format!("{:04o}", meta.permissions().mode() & 0o7777)),
        );
        o.set("directory_permission", Value::string("0777"));
        o.set("id", Value::string(sha1_hex(&bytes)));
        for name in ["sensitive_content", "content_base64", "source"] {
            o.set(name, Value::Null(Type::String));
        }
        Ok(o)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let filename = prior.require_string("filename")?;
        match std::fs::remove_file(resolve(&filename)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                fail("Cannot delete file", format!("{filename}: {e}"))
            }
            _ => Ok(()),
        }
    }
}

/// HashiCorp's `local_sensitive_file`: a `local_file` whose content is sensitive in
/// the schema, so it is never shown, and whose permissions default to `0700`.
struct LocalSensitiveFile;

const SENSITIVE_SOURCES: [&str; 3] = ["content", "content_base64", "source"];

impl Resource for LocalSensitiveFile {
    fn type_name(&self) -> &str {
        "local_sensitive_file"
    }

    fn schema(&self) -> Schema {
        let sensitive = |description| Attribute {
            sensitive: true,
            ..optional(description)
        };
        schema(
            vec![
                ("content", sensitive("Sensitive content to store in the file, expected to be a UTF-8 encoded string.")),
                ("content_base64", sensitive("Sensitive content to store in the file, expected to be binary encoded as base64 string.")),
                ("source", optional("Path to file to use as source for the one we are creating.")),
                ("filename", required("The path to the file that will be created. Missing parent directories will be created.")),
                ("file_permission", optional_computed("Permissions to set for the output file (in numeric notation); default \"0700\".")),
                ("directory_permission", optional_computed("Permissions to set for directories created (in numeric notation); default \"0700\".")),
                ("id", computed("The hexadecimal SHA-1 checksum of the file content.")),
            ],
            "Generates a local file with the given sensitive content.",
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec![
            "content",
            "content_base64",
            "source",
            "filename",
            "file_permission",
            "directory_permission",
        ]
    }

    fn defaults(&self) -> Vec<(&str, Value)> {
        vec![
            ("file_permission", Value::string("0700")),
            ("directory_permission", Value::string("0700")),
        ]
    }

    fn validate(&self, config: &Object) -> Vec<Diagnostic> {
        check_file(config, &SENSITIVE_SOURCES)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        LocalFile.create(planned)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        LocalFile.read(current)
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        LocalFile.update(prior, planned)
    }

    fn import(&self, id: &str) -> Result<Object> {
        let mut o = LocalFile.import(id)?;
        o.0.remove("sensitive_content");
        o.set("directory_permission", Value::string("0700"));
        Ok(o)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        LocalFile.delete(prior)
    }
}

struct LocalDirectory;

impl Resource for LocalDirectory {
    fn type_name(&self) -> &str {
        "local_directory"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                (
                    "path",
                    required("The path of the directory; missing parents are created."),
                ),
                (
                    "permission",
                    optional_computed(
                        "Permissions of the directory (in numeric notation); default \"0777\".",
                    ),
                ),
                ("id", computed("The path of the directory.")),
            ],
            "A local directory.",
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["path", "permission"]
    }

    fn defaults(&self) -> Vec<(&str, Value)> {
        vec![("permission", Value::string("0777"))]
    }

    fn validate(&self, config: &Object) -> Vec<Diagnostic> {
        if config.is_known("permission") && !config.is_null("permission") {
            if let Err(d) = mode(config, "permission") {
                return vec![d];
            }
        }
        Vec::new()
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let path = planned.require_string("path")?;
        let m = mode(planned, "permission").map_err(|d| vec![d])?;
        std::fs::create_dir_all(resolve(&path))
            .or_else(|e| fail("Cannot create directory", format!("{path}: {e}")))?;
        std::fs::set_permissions(resolve(&path), std::fs::Permissions::from_mode(m))
            .or_else(|e| fail("Cannot set permissions", format!("{path}: {e}")))?;
        let mut state = planned.clone();
        state.set("id", Value::string(path));
        Ok(state)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let Some(path) = current.string("path") else {
            return Ok(None);
        };
        Ok(resolve(&path).is_dir().then(|| current.clone()))
    }

    fn update(&self, _prior: &Object, planned: &Object) -> Result<Object> {
        Ok(planned.clone())
    }

    /// Imports the directory at path `id`.
    fn import(&self, id: &str) -> Result<Object> {
        let meta = std::fs::metadata(resolve(id))
            .or_else(|e| fail("Cannot import directory", format!("{id}: {e}")))?;
        if !meta.is_dir() {
            return fail(
                "Cannot import directory",
                format!("{id} is not a directory."),
            );
        }
        let mut o = Object(Default::default());
        o.set("path", Value::string(id));
        o.set(
            "permission",
            Value::string(format!("{:04o}", meta.permissions().mode() & 0o7777)),
        );
        o.set("id", Value::string(id));
        Ok(o)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let path = prior.require_string("path")?;
        match std::fs::remove_dir(resolve(&path)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => fail(
                "Cannot delete directory",
                format!("{path}: {e} (plinth removes only empty directories it created)"),
            ),
            Ok(()) => Ok(()),
        }
    }
}

struct LocalFileData;

impl DataSource for LocalFileData {
    fn type_name(&self) -> &str {
        "local_file"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("filename", required("Path to the file that will be read.")),
                (
                    "content",
                    computed("Raw content of the file that was read, as UTF-8 encoded string."),
                ),
                (
                    "content_base64",
                    computed("Base64 encoded version of the file content."),
                ),
                (
                    "id",
                    computed("The hexadecimal SHA-1 checksum of the file content."),
                ),
            ],
            "Reads a file from the local filesystem.",
        )
    }

    fn read(&self, config: &Object) -> Result<Object> {
        let filename = config.require_string("filename")?;
        let bytes = std::fs::read(resolve(&filename))
            .or_else(|e| fail("Cannot read file", format!("{filename}: {e}")))?;
        let mut state = config.clone();
        state.set(
            "content",
            Value::string(String::from_utf8_lossy(&bytes).into_owned()),
        );
        state.set(
            "content_base64",
            Value::string(base64::engine::general_purpose::STANDARD.encode(&bytes)),
        );
        state.set("id", Value::string(sha1_hex(&bytes)));
        Ok(state)
    }
}
