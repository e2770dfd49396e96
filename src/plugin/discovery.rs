//! Finding provider executables. A provider is named by its source address
//! (`plinth/local`, `terraform-lxd/lxd`, `registry.terraform.io/hashicorp/aws`) and
//! looked for, in order:
//!
//! 1. a `dev_overrides` entry in the CLI configuration (`PLINTH_CLI_CONFIG_FILE`, or
//!    `~/.plinthrc`): a directory holding the executable;
//! 2. `.plinth/providers/` of the stack, where `plinth init` installs;
//! 3. each directory of `PLINTH_PLUGIN_DIR` (separated by `:`).
//!
//! A directory is read either in the registry layout,
//! `<host>/<namespace>/<type>/<version>/<os>_<arch>/terraform-provider-<type>[_v<version>]`,
//! or flat, holding `terraform-provider-<type>[_v<version>]` as cargo builds it (so
//! `PLINTH_PLUGIN_DIR=target/release` works during development).

use super::constraint::{parse_version, ConstraintError, VersionConstraint};
use std::path::{Path, PathBuf};

pub const DEFAULT_HOST: &str = "registry.terraform.io";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceAddressError {
    #[error("{0:?} is not a valid provider source address: use [HOSTNAME/]NAMESPACE/TYPE, e.g. \"plinth/local\".")]
    Invalid(String),
    #[error("{0:?} is not a valid provider source address: use [HOSTNAME/]NAMESPACE/TYPE.")]
    TooManyParts(String),
}

#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error(transparent)]
    Constraint(#[from] ConstraintError),
    #[error(transparent)]
    NotFound(Box<NotFound>),
}

/// No executable in any of the places looked in fits.
#[derive(Debug)]
pub struct NotFound {
    pub address: SourceAddress,
    pub constraint: Option<String>,
    /// The directories looked in.
    pub searched: Vec<PathBuf>,
    /// Every version seen there, fitting or not.
    pub versions: Vec<String>,
}

impl std::error::Error for NotFound {}

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let searched: Vec<String> = self
            .searched
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        let type_name = &self.address.type_name;
        write!(
            f,
            "no executable for provider {} {}was found. Looked in {} (registry layout <host>/<namespace>/<type>/<version>/{}/terraform-provider-{type_name}, or a flat directory of terraform-provider-{type_name}[_v<version>])",
            self.address.short(),
            self.constraint
                .as_ref()
                .map(|c| format!("matching {c:?} "))
                .unwrap_or_default(),
            searched.join(", "),
            platform(),
        )?;
        if !self.versions.is_empty() {
            write!(f, "; versions found: {}", self.versions.join(", "))?;
        }
        write!(
            f,
            ". Run plinth init --plugin-dir DIR, or set PLINTH_PLUGIN_DIR."
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceAddress {
    pub host: String,
    pub namespace: String,
    pub type_name: String,
}

impl SourceAddress {
    pub fn parse(source: &str) -> Result<SourceAddress, SourceAddressError> {
        let parts: Vec<String> = source.split('/').map(str::to_lowercase).collect();
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        };
        if !parts.iter().all(|p| valid(p)) {
            return Err(SourceAddressError::Invalid(source.to_string()));
        }
        match parts.as_slice() {
            [t] => Ok(SourceAddress {
                host: DEFAULT_HOST.into(),
                namespace: "hashicorp".into(),
                type_name: t.clone(),
            }),
            [n, t] => Ok(SourceAddress {
                host: DEFAULT_HOST.into(),
                namespace: n.clone(),
                type_name: t.clone(),
            }),
            [h, n, t] => Ok(SourceAddress {
                host: h.clone(),
                namespace: n.clone(),
                type_name: t.clone(),
            }),
            _ => Err(SourceAddressError::TooManyParts(source.to_string())),
        }
    }

    /// How state records the provider: `provider["registry.terraform.io/plinth/local"]`.
    pub fn state_address(&self) -> String {
        format!("provider[\"{self}\"]")
    }

    /// The short form users write, without the default host.
    pub fn short(&self) -> String {
        if self.host == DEFAULT_HOST {
            format!("{}/{}", self.namespace, self.type_name)
        } else {
            self.to_string()
        }
    }
}

impl std::fmt::Display for SourceAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.host, self.namespace, self.type_name)
    }
}

/// `linux_amd64`, as provider packages name platforms.
pub fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub path: PathBuf,
    /// The version, when the layout or the file name says it.
    pub version: Option<String>,
    /// Where it was found, for `plinth providers`.
    pub origin: String,
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `terraform-provider-<type>` or `terraform-provider-<type>_v<version>` in `dir`.
fn in_flat_dir(dir: &Path, type_name: &str) -> Vec<(PathBuf, Option<String>)> {
    let plain = format!("terraform-provider-{type_name}");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let version = if name == plain {
            None
        } else if let Some(v) = name.strip_prefix(&format!("{plain}_v")) {
            Some(v.to_string())
        } else {
            continue;
        };
        if executable(&entry.path()) {
            out.push((entry.path(), version));
        }
    }
    out
}

/// The registry layout under `root`: every version's executable for this platform.
fn in_registry_layout(root: &Path, addr: &SourceAddress) -> Vec<(PathBuf, Option<String>)> {
    let base = root
        .join(&addr.host)
        .join(&addr.namespace)
        .join(&addr.type_name);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&base).into_iter().flatten().flatten() {
        let version = entry.file_name().to_string_lossy().into_owned();
        let dir = entry.path().join(platform());
        for (path, _) in in_flat_dir(&dir, &addr.type_name) {
            out.push((path, Some(version.clone())));
        }
    }
    out
}

/// The directories a CLI configuration's `dev_overrides` names, by source address.
pub fn dev_overrides() -> Vec<(SourceAddress, PathBuf)> {
    let path = std::env::var_os("PLINTH_CLI_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".plinthrc")));
    let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
        return Vec::new();
    };
    parse_dev_overrides(&text)
}

/// Reads `"SOURCE" = "DIR"` lines inside `dev_overrides { … }`, the syntax of
/// Terraform's CLI configuration (which is HCL 1, where quoted keys are allowed).
fn parse_dev_overrides(text: &str) -> Vec<(SourceAddress, PathBuf)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if !inside {
            inside = line.starts_with("dev_overrides") && line.ends_with('{');
            continue;
        }
        if line.starts_with('}') {
            inside = false;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let unquote = |s: &str| {
            let s = s.trim();
            s.strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .map(str::to_string)
        };
        if let (Some(k), Some(v)) = (unquote(key), unquote(value)) {
            if let Ok(addr) = SourceAddress::parse(&k) {
                out.push((addr, PathBuf::from(v)));
            }
        }
    }
    out
}

/// Finds the executable for `addr` satisfying `constraint`, the newest if several.
pub fn find(
    addr: &SourceAddress,
    constraint: Option<&str>,
    stack_dir: &Path,
) -> Result<Found, FindError> {
    for (over, dir) in dev_overrides() {
        if &over == addr {
            if let Some((path, version)) = in_flat_dir(&dir, &addr.type_name).into_iter().next() {
                return Ok(Found {
                    path,
                    version,
                    origin: format!("dev_overrides ({})", dir.display()),
                });
            }
        }
    }
    let mut places: Vec<(PathBuf, String)> = vec![(
        stack_dir.join(".plinth").join("providers"),
        ".plinth/providers".into(),
    )];
    places.extend(plugin_dirs());
    find_in(&places, addr, constraint)
}

/// The directories of `PLINTH_PLUGIN_DIR`, each with a label for messages.
pub fn plugin_dirs() -> Vec<(PathBuf, String)> {
    std::env::var_os("PLINTH_PLUGIN_DIR")
        .map(|dirs| {
            std::env::split_paths(&dirs)
                .map(|d| {
                    let label = format!("PLINTH_PLUGIN_DIR ({})", d.display());
                    (d, label)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Finds the newest executable for `addr` satisfying `constraint` in `places`, in
/// order (the first place that has one wins).
pub fn find_in(
    places: &[(PathBuf, String)],
    addr: &SourceAddress,
    constraint: Option<&str>,
) -> Result<Found, FindError> {
    let parsed = constraint.map(VersionConstraint::parse).transpose()?;
    let mut seen_versions = Vec::new();
    for (dir, origin) in places {
        let mut candidates = in_registry_layout(dir, addr);
        candidates.extend(in_flat_dir(dir, &addr.type_name));
        let mut fitting: Vec<(PathBuf, Option<String>)> = candidates
            .into_iter()
            .filter(|(_, v)| {
                if let Some(v) = v {
                    seen_versions.push(v.clone());
                }
                match (v, &parsed) {
                    (Some(v), Some(c)) => parse_version(v).is_ok_and(|v| c.matches(&v)),
                    _ => true,
                }
            })
            .collect();
        fitting.sort_by(|a, b| {
            let key = |x: &Option<String>| x.as_deref().and_then(|v| parse_version(v).ok());
            key(&b.1).cmp(&key(&a.1))
        });
        if let Some((path, version)) = fitting.into_iter().next() {
            return Ok(Found {
                path,
                version,
                origin: origin.clone(),
            });
        }
    }
    Err(FindError::NotFound(Box::new(NotFound {
        address: addr.clone(),
        constraint: constraint.map(str::to_string),
        searched: places.iter().map(|(d, _)| d.clone()).collect(),
        versions: seen_versions,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses() {
        let a = SourceAddress::parse("plinth/local").unwrap();
        assert_eq!(a.to_string(), "registry.terraform.io/plinth/local");
        assert_eq!(
            a.state_address(),
            "provider[\"registry.terraform.io/plinth/local\"]"
        );
        assert_eq!(
            SourceAddress::parse("aws").unwrap().short(),
            "hashicorp/aws"
        );
        assert_eq!(
            SourceAddress::parse("example.com/Acme/Thing")
                .unwrap()
                .to_string(),
            "example.com/acme/thing"
        );
        assert!(SourceAddress::parse("a/b/c/d").is_err());
        assert!(SourceAddress::parse("a b/c").is_err());
    }

    #[test]
    fn dev_overrides_read_terraforms_syntax() {
        let text = "provider_installation {\n  dev_overrides {\n    \"plinth/local\" = \"/opt/p\"\n  }\n  direct {}\n}\n";
        assert_eq!(
            parse_dev_overrides(text),
            [(
                SourceAddress::parse("plinth/local").unwrap(),
                PathBuf::from("/opt/p")
            )]
        );
    }

    fn flat_dir_with(names: &[&str]) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let path = dir.path().join(name);
            std::fs::write(&path, "").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        dir
    }

    #[test]
    fn an_exact_constraint_never_picks_a_prerelease() {
        let dir = flat_dir_with(&[
            "terraform-provider-x_v1.5.0-beta",
            "terraform-provider-x_v1.4.0",
        ]);
        let places = [(dir.path().to_path_buf(), "here".to_string())];
        let addr = SourceAddress::parse("acme/x").unwrap();
        let err = find_in(&places, &addr, Some("= 1.5.0"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("matching \"= 1.5.0\""), "{err}");
        assert!(
            err.starts_with(
                "no executable for provider acme/x matching \"= 1.5.0\" was found. Looked in "
            ),
            "{err}"
        );
        assert!(err.contains("; versions found: "), "{err}");
        assert!(
            err.ends_with(". Run plinth init --plugin-dir DIR, or set PLINTH_PLUGIN_DIR."),
            "{err}"
        );
        let found = find_in(&places, &addr, Some(">= 1.0")).unwrap();
        assert_eq!(found.version.as_deref(), Some("1.4.0"));
        let found = find_in(&places, &addr, Some("1.5.0-beta")).unwrap();
        assert_eq!(found.version.as_deref(), Some("1.5.0-beta"));
        let newest = find_in(&places, &addr, None).unwrap();
        assert_eq!(newest.version.as_deref(), Some("1.5.0-beta"));
    }

    #[test]
    fn an_invalid_constraint_is_an_error() {
        let dir = flat_dir_with(&["terraform-provider-x_v1.0.0"]);
        let places = [(dir.path().to_path_buf(), "here".to_string())];
        let addr = SourceAddress::parse("acme/x").unwrap();
        let err = find_in(&places, &addr, Some(">= banana")).unwrap_err();
        assert!(matches!(err, FindError::Constraint(_)), "{err}");
        assert!(
            err.to_string()
                .contains("is not a valid version constraint"),
            "{err}"
        );
    }
}
