//! Module sources and their installation, as `terraform init` does it. A module call's
//! `source` is read as a [`ModuleSource`]: a local path (loaded where it is), a module
//! registry address (`terraform-aws-modules/vpc/aws`, with `version` constraints), a
//! git repository (`git::https://…//subdir?ref=v1`, `github.com/org/repo`), or an
//! archive URL. `plinth init` installs every remote module under `.plinth/modules/`
//! and records it in `.plinth/modules/modules.json` (Terraform's manifest shape);
//! every other command loads installed modules from there and never fetches.
//!
//! The loader asks a [`Resolver`] for the directory of each remote module call:
//! [`Installed`] answers from the manifest, [`install::Installer`] fetches.

mod archive;
pub mod fetch;
pub mod install;
mod registry;
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use source::{ModuleSource, SourceError};

use crate::diag::{Diagnostic, Span};

/// Where installed modules live, under the stack directory.
pub const MODULES_DIR: &str = ".plinth/modules";
const MANIFEST: &str = "modules.json";

/// A remote module call the loader needs a directory for.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The call's module path joined by dots (`vpc`, `vpc.endpoints`), as
    /// Terraform's manifest keys them.
    pub key: String,
    pub source: &'a str,
    pub version: Option<&'a str>,
    pub span: Span,
}

/// Gives the directory a remote module call loads from.
pub trait Resolver {
    fn resolve(&mut self, request: &Request) -> Result<PathBuf, Diagnostic>;
}

/// One installed module, as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Source")]
    pub source: String,
    #[serde(rename = "Version", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Relative to the stack directory.
    #[serde(rename = "Dir")]
    pub dir: String,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ManifestFile {
    #[serde(rename = "Modules", default)]
    modules: Vec<Entry>,
}

/// Why the manifest cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the module manifest {path} could not be read: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("the module manifest {path} is damaged: {source}. Run plinth init to install the modules again.")]
    Damaged {
        path: String,
        source: serde_json::Error,
    },
    #[error("the module manifest {path} could not be written: {source}")]
    Unwritable {
        path: String,
        source: std::io::Error,
    },
}

/// The installed modules of a stack, by key.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub entries: BTreeMap<String, Entry>,
}

impl Manifest {
    pub(crate) fn path(stack_dir: &Path) -> PathBuf {
        stack_dir.join(MODULES_DIR).join(MANIFEST)
    }

    /// The stack's manifest; none yet is an empty one.
    pub fn read(stack_dir: &Path) -> Result<Manifest, ManifestError> {
        let path = Manifest::path(stack_dir);
        let shown = || format!("{MODULES_DIR}/{MANIFEST}");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::default()),
            Err(source) => {
                return Err(ManifestError::Unreadable {
                    path: shown(),
                    source,
                })
            }
        };
        let file: ManifestFile =
            serde_json::from_slice(&bytes).map_err(|source| ManifestError::Damaged {
                path: shown(),
                source,
            })?;
        Ok(Manifest {
            entries: file
                .modules
                .into_iter()
                .filter(|e| !e.key.is_empty())
                .map(|e| (e.key.clone(), e))
                .collect(),
        })
    }

    /// Writes the manifest atomically (a temporary file renamed into place).
    pub fn write(&self, stack_dir: &Path) -> Result<(), ManifestError> {
        let path = Manifest::path(stack_dir);
        let unwritable = |source| ManifestError::Unwritable {
            path: format!("{MODULES_DIR}/{MANIFEST}"),
            source,
        };
        let mut modules = vec![Entry {
            key: String::new(),
            source: String::new(),
            version: None,
            dir: ".".into(),
        }];
        modules.extend(self.entries.values().cloned());
        let text = serde_json::to_string_pretty(&ManifestFile { modules })
            .map_err(|e| unwritable(std::io::Error::other(e)))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unwritable)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(unwritable)?;
        std::fs::rename(&tmp, &path).map_err(unwritable)
    }
}

/// Answers from what `plinth init` installed; never fetches.
pub struct Installed {
    stack_dir: PathBuf,
    manifest: Option<Result<Manifest, String>>,
}

impl Installed {
    pub fn new(stack_dir: &Path) -> Installed {
        Installed {
            stack_dir: stack_dir.to_path_buf(),
            manifest: None,
        }
    }
}

impl Resolver for Installed {
    fn resolve(&mut self, request: &Request) -> Result<PathBuf, Diagnostic> {
        let stack_dir = self.stack_dir.clone();
        let manifest = self
            .manifest
            .get_or_insert_with(|| Manifest::read(&stack_dir).map_err(|e| e.to_string()));
        let not_installed = |why: String| {
            Diagnostic::error("Module not installed")
                .detail(format!(
                    "{why} Run plinth init to install the stack's modules."
                ))
                .at(request.span)
        };
        let manifest = match manifest {
            Ok(m) => m,
            Err(e) => return Err(not_installed(format!("{e}."))),
        };
        let Some(entry) = manifest.entries.get(&request.key) else {
            return Err(not_installed(format!(
                "Module {:?} ({}) is not installed.",
                request.key, request.source
            )));
        };
        if entry.source != request.source {
            return Err(not_installed(format!(
                "Module {:?} was installed from {}, but its source is now {}.",
                request.key, entry.source, request.source
            )));
        }
        if let (Some(constraint), Some(version)) = (request.version, &entry.version) {
            if !install::version_allowed(constraint, version) {
                return Err(not_installed(format!(
                    "Module {:?} was installed at version {version}, which does not meet the constraint {constraint:?}.",
                    request.key
                )));
            }
        }
        let dir = self.stack_dir.join(&entry.dir);
        if !dir.is_dir() {
            return Err(not_installed(format!(
                "The directory {} of module {:?} is missing.",
                entry.dir, request.key
            )));
        }
        Ok(dir)
    }
}
