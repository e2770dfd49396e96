//! `plinth init`'s module installer: each remote module call resolved to files under
//! `.plinth/modules/KEY`, reusing what the manifest already records when the source
//! and version constraint still match (unless `--upgrade`).

use std::path::{Path, PathBuf};

use super::archive::{unpack, ArchiveUrl};
use super::fetch::{copy_tree, git_clone, mirror_versions};
use super::registry::{fetch_bytes, package_location};
use super::{Entry, Manifest, ModuleSource, Request, Resolver, MODULES_DIR};
use crate::diag::Diagnostic;
use crate::plugin::constraint::{parse_version, VersionConstraint};

/// Whether `version` meets the version constraint `constraint` (Terraform's rules:
/// a prerelease only when named exactly). An unreadable constraint allows nothing.
pub fn version_allowed(constraint: &str, version: &str) -> bool {
    match (VersionConstraint::parse(constraint), parse_version(version)) {
        (Ok(c), Ok(v)) => c.matches(&v),
        _ => false,
    }
}

/// Installs remote modules as the loader meets them.
pub struct Installer {
    stack_dir: PathBuf,
    mirrors: Vec<PathBuf>,
    upgrade: bool,
    previous: Manifest,
    /// What this run installed or kept, written by [`Installer::finish`].
    pub manifest: Manifest,
    /// One line per module, for the user.
    pub log: Vec<String>,
}

impl Installer {
    /// `mirrors`: module mirror directories, searched in order.
    pub fn new(stack_dir: &Path, mirrors: Vec<PathBuf>, upgrade: bool) -> Installer {
        Installer {
            stack_dir: stack_dir.to_path_buf(),
            mirrors,
            upgrade,
            // A damaged manifest is replaced: everything is installed again.
            previous: Manifest::read(stack_dir).unwrap_or_default(),
            manifest: Manifest::default(),
            log: Vec::new(),
        }
    }

    /// Writes the manifest of what was installed, when it differs from the one there
    /// (a stack without remote modules gets none).
    pub fn finish(&self) -> Result<(), super::ManifestError> {
        if self.manifest.entries == self.previous.entries
            && (!self.manifest.entries.is_empty() || !Manifest::path(&self.stack_dir).exists())
        {
            return Ok(());
        }
        self.manifest.write(&self.stack_dir)
    }

    fn reuse(&self, request: &Request) -> Option<Entry> {
        let entry = self.previous.entries.get(&request.key)?;
        let fits = entry.source == request.source
            && match (request.version, &entry.version) {
                (Some(c), Some(v)) => version_allowed(c, v),
                (Some(_), None) => false,
                (None, _) => true,
            };
        (fits && !self.upgrade && self.stack_dir.join(&entry.dir).is_dir()).then(|| entry.clone())
    }

    /// A clone of `url` at `reference` copied to `target`, without `.git`.
    fn clone_into(&self, url: &str, reference: Option<&str>, target: &Path) -> Result<(), String> {
        let staging = target.with_extension("clone");
        let _ = std::fs::remove_dir_all(&staging);
        git_clone(url, reference, &staging)?;
        let copied = copy_tree(&staging, target);
        let _ = std::fs::remove_dir_all(&staging);
        copied.map_err(|e| format!("copying the clone of {url} failed: {e}"))
    }

    /// Fetches the package a source address names (what a registry's download or an
    /// HTTP page's `X-Terraform-Get` gives) into `target`; a `//subdir` in the address
    /// makes that subdirectory the package.
    fn fetch_package(&self, location: &str, target: &Path, hops: usize) -> Result<(), String> {
        let subdir = match ModuleSource::parse(location) {
            Ok(ModuleSource::Git {
                url,
                reference,
                subdir,
            }) => {
                self.clone_into(&url, reference.as_deref(), target)?;
                subdir
            }
            Ok(ModuleSource::Archive { url, subdir }) => {
                self.fetch_archive(&url, target, hops)?;
                subdir
            }
            Ok(_) => {
                return Err(format!(
                    "{location} is not a package address (a git repository or an archive URL)"
                ))
            }
            Err(e) => return Err(e.to_string()),
        };
        let Some(sub) = subdir else {
            return Ok(());
        };
        let sub = find_subdir(target, &sub)?;
        let staged = target.with_extension("package");
        let _ = std::fs::remove_dir_all(&staged);
        std::fs::rename(target, &staged)
            .and_then(|()| copy_tree(&staged.join(&sub), target))
            .map_err(|e| format!("taking the directory {sub:?} of {location} failed: {e}"))?;
        let _ = std::fs::remove_dir_all(&staged);
        Ok(())
    }

    /// An archive URL (`https://…`, `file://…`) unpacked into `target`: a `file://`
    /// directory is copied, and an HTTP URL that is no archive is a page naming the
    /// package.
    fn fetch_archive(&self, url: &str, target: &Path, hops: usize) -> Result<(), String> {
        let archive = ArchiveUrl::parse(url)?;
        match archive.kind {
            Some(kind) => {
                let bytes = fetch_bytes(&archive.url)?;
                if let Some(checksum) = &archive.checksum {
                    checksum.verify(&bytes, &archive.url)?;
                }
                unpack(kind, &bytes, target).map_err(|e| format!("{}: {e}", archive.url))
            }
            None => match archive.url.strip_prefix("file://") {
                Some(path) if !Path::new(path).is_dir() => Err(format!(
                    "{path}: the source path must be a directory, or an archive named by its extension (.zip, .tar.gz, .tgz) or an archive= parameter"
                )),
                Some(path) => copy_tree(Path::new(path), target)
                    .map_err(|e| format!("copying {path} failed: {e}")),
                None if hops >= 4 => Err(format!(
                    "{url} leads to more than 4 pages naming other packages; stopped there"
                )),
                None => {
                    let location = package_location(&archive.url)?;
                    self.fetch_package(&location, target, hops + 1)
                }
            },
        }
    }

    fn install(&mut self, request: &Request) -> Result<Entry, String> {
        let source = ModuleSource::parse(request.source).map_err(|e| e.to_string())?;
        let relative = format!("{MODULES_DIR}/{}", request.key);
        let target = self.stack_dir.join(&relative);
        if target.exists() {
            std::fs::remove_dir_all(&target)
                .map_err(|e| format!("{relative} could not be replaced: {e}"))?;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("{} could not be created: {e}", parent.display()))?;
        }
        let (version, subdir) = match source {
            ModuleSource::Local(_) => return Err("a local path is not installed".into()),
            ModuleSource::Registry {
                host,
                namespace,
                name,
                system,
                subdir,
            } => {
                let module = [host.as_str(), &namespace, &name, &system];
                let constraint = request.version.unwrap_or("");
                let allowed = |v: &semver::Version| version_allowed(constraint, &v.to_string());
                let from_mirror = self.mirrors.iter().find_map(|m| {
                    mirror_versions(m, &module)
                        .into_iter()
                        .find(|(v, _)| allowed(v))
                });
                let wanted = request
                    .version
                    .map(|c| format!(" matching {c:?}"))
                    .unwrap_or_default();
                let version = match from_mirror {
                    Some((version, from)) => {
                        copy_tree(&from, &target)
                            .map_err(|e| format!("copying {} failed: {e}", from.display()))?;
                        version
                    }
                    None => {
                        let in_mirrors = if self.mirrors.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "no version of {host}/{namespace}/{name}/{system}{wanted} is in the module mirror{} {}, and ",
                                if self.mirrors.len() > 1 { "s" } else { "" },
                                self.mirrors
                                    .iter()
                                    .map(|m| m.display().to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        };
                        let path = [namespace.as_str(), &name, &system];
                        let fail = |e: String| format!("{in_mirrors}{e}");
                        let versions = super::registry::versions(&host, &path).map_err(fail)?;
                        let Some(version) = versions.into_iter().find(|v| allowed(v)) else {
                            return Err(fail(format!(
                                "the registry {host} has no version of {namespace}/{name}/{system}{wanted}"
                            )));
                        };
                        let location =
                            super::registry::download(&host, &path, &version).map_err(fail)?;
                        self.fetch_package(&location, &target, 0)?;
                        version
                    }
                };
                (Some(version.to_string()), subdir)
            }
            ModuleSource::Git {
                url,
                reference,
                subdir,
            } => {
                if request.version.is_some() {
                    return Err(format!("a version constraint applies only to module registry sources, and {} is a git repository; name a tag or commit with ?ref= instead.", request.source));
                }
                self.clone_into(&url, reference.as_deref(), &target)?;
                (None, subdir)
            }
            ModuleSource::Archive { url, subdir } => {
                if request.version.is_some() {
                    return Err(format!("a version constraint applies only to module registry sources, and {} is an archive URL.", request.source));
                }
                self.fetch_archive(&url, &target, 0)?;
                (None, subdir)
            }
        };
        let mut dir = relative;
        if let Some(sub) = subdir {
            dir = format!("{dir}/{}", find_subdir(&target, &sub)?);
        }
        Ok(Entry {
            key: request.key.clone(),
            source: request.source.to_string(),
            version,
            dir,
        })
    }
}

/// The directory `sub` names in the package at `package`, as go-getter finds it: a
/// path whose parts may hold `*` and `?` wildcards (`//repo-*` for the one top-level
/// directory of a GitHub archive), which must match exactly one directory.
fn find_subdir(package: &Path, sub: &str) -> Result<String, String> {
    if sub.split('/').any(|p| p == "..") {
        return Err(format!(
            "the subdirectory {sub:?} leaves the module package"
        ));
    }
    let mut found = vec![String::new()];
    for part in sub.split('/').filter(|p| !p.is_empty() && *p != ".") {
        let mut next = Vec::new();
        for dir in &found {
            let join = |name: &str| {
                if dir.is_empty() {
                    name.to_string()
                } else {
                    format!("{dir}/{name}")
                }
            };
            if !part.contains(['*', '?']) {
                next.push(join(part));
                continue;
            }
            let Ok(entries) = std::fs::read_dir(package.join(dir)) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| wildcard_match(part, n))
                .collect();
            names.sort();
            next.extend(names.iter().map(|n| join(n)));
        }
        found = next;
    }
    found.retain(|d| package.join(d).is_dir());
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!("the module package has no directory {sub:?}")),
        many => Err(format!(
            "the subdirectory {sub:?} matches {} directories of the module package ({}); it must match one",
            many.len(),
            many.join(", ")
        )),
    }
}

/// Whether `name` matches `pattern`, where `*` is any run of characters and `?` one.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // matches[i][j]: the first i pattern characters match the first j name characters.
    let mut matches = vec![vec![false; n.len() + 1]; p.len() + 1];
    matches[0][0] = true;
    for i in 1..=p.len() {
        for j in 0..=n.len() {
            matches[i][j] = match p[i - 1] {
                '*' => matches[i - 1][j] || (j > 0 && matches[i][j - 1]),
                '?' => j > 0 && matches[i - 1][j - 1],
                c => j > 0 && n[j - 1] == c && matches[i - 1][j - 1],
            };
        }
    }
    matches[p.len()][n.len()]
}

impl Resolver for Installer {
    fn resolve(&mut self, request: &Request) -> Result<PathBuf, Diagnostic> {
        let entry = match self.reuse(request) {
            Some(entry) => entry,
            None => {
                let entry = self.install(request).map_err(|why| {
                    Diagnostic::error("Failed to install module")
                        .detail(format!("Module {:?}: {why}", request.key))
                        .at(request.span)
                })?;
                self.log.push(format!(
                    "- {} in {}{}",
                    request.key,
                    entry.dir,
                    entry
                        .version
                        .as_ref()
                        .map(|v| format!(" ({} {v})", request.source))
                        .unwrap_or_else(|| format!(" ({})", request.source))
                ));
                entry
            }
        };
        let dir = self.stack_dir.join(&entry.dir);
        self.manifest.entries.insert(entry.key.clone(), entry);
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::{find_subdir, wildcard_match};

    #[test]
    fn subdirectories_may_hold_wildcards() {
        assert!(wildcard_match("repo-*", "repo-1.2.0"));
        assert!(wildcard_match("v?", "v1") && !wildcard_match("v?", "v10"));
        let package = tempfile::tempdir().expect("dir");
        for d in ["repo-1.2.0/modules/a", "repo-1.2.0/modules/b", "other"] {
            std::fs::create_dir_all(package.path().join(d)).expect("mkdir");
        }
        std::fs::write(package.path().join("repo-notes"), "").expect("file");
        let find = |sub: &str| find_subdir(package.path(), sub);
        assert_eq!(find("repo-*/modules/a"), Ok("repo-1.2.0/modules/a".into()));
        assert_eq!(find("./other/"), Ok("other".into()));
        assert!(find("repo-*/modules/*").is_err_and(|e| e.contains("matches 2")));
        assert!(find("none").is_err_and(|e| e.contains("has no directory")));
        assert!(find("../x").is_err_and(|e| e.contains("leaves")));
    }
}
