//! The providers a stack needs, found and started: one plugin process per provider,
//! its schema read once per binary (cached on disk by the binary's SHA-256) and its
//! types registered in [`Providers`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plinth_protocol::schema::ProviderSchema;
use sha2::{Digest, Sha256};

use super::client::{CallError, PluginClient};
use super::discovery::{find, Found, SourceAddress};
use super::host::PluginProvider;
use super::process::StartError;
use super::{runtime, Providers};
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics, Span};

/// A provider the configuration needs: its local name (the resource type prefix), its
/// source address and version constraint, and where it is asked for.
#[derive(Clone, Debug)]
pub struct Requirement {
    pub local: String,
    pub source: SourceAddress,
    pub version: Option<String>,
    pub span: Option<Span>,
}

/// Local names that are the built-in provider, never a plugin.
fn builtin(local: &str) -> bool {
    matches!(local, "terraform" | "plinth")
}

/// Every provider any module uses, by source address.
pub fn requirements(config: &Config) -> (Vec<Requirement>, Diagnostics) {
    let mut out: BTreeMap<SourceAddress, Requirement> = BTreeMap::new();
    let mut diags = Diagnostics::default();
    let root_required = &config.root().settings.required_providers;
    for module in &config.modules {
        let mut used: Vec<(String, Option<Span>)> = module
            .settings
            .required_providers
            .iter()
            .map(|(k, r)| (k.clone(), Some(r.span)))
            .collect();
        used.extend(
            module
                .providers
                .iter()
                .map(|p| (p.name.clone(), Some(p.span))),
        );
        for r in &module.resources {
            let local = match &r.provider {
                Some(p) => p.name.clone(),
                None => r.type_name.split('_').next().unwrap_or("").to_string(),
            };
            used.push((local, Some(r.span)));
        }
        for (local, span) in used {
            if builtin(&local) || local.is_empty() {
                continue;
            }
            let requirement = module
                .settings
                .required_providers
                .get(&local)
                .or_else(|| root_required.get(&local));
            let source_text = requirement
                .map(|r| r.source.clone())
                .unwrap_or_else(|| format!("hashicorp/{local}"));
            let source = match SourceAddress::parse(&source_text) {
                Ok(s) => s,
                Err(e) => {
                    diags.push(
                        Diagnostic::error("Invalid provider source address")
                            .detail(e.to_string())
                            .at_opt(requirement.map(|r| r.span).or(span)),
                    );
                    continue;
                }
            };
            out.entry(source.clone()).or_insert(Requirement {
                local,
                source,
                version: requirement.and_then(|r| r.version.clone()),
                span: requirement.map(|r| r.span).or(span),
            });
        }
    }
    (out.into_values().collect(), diags)
}

/// A started provider, for `plinth providers`.
#[derive(Clone, Debug)]
pub struct Started {
    pub requirement: Requirement,
    pub found: Found,
    pub protocol: u32,
    pub schema: ProviderSchema,
}

/// The user's cache for provider schemas (`PLINTH_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/plinth`, else `~/.cache/plinth`).
fn cache_dir() -> Option<PathBuf> {
    // A confined (untrusted) run neither reads nor writes anything outside the stack.
    if crate::lang::confine::root().is_some() {
        return None;
    }
    if let Some(d) = std::env::var_os("PLINTH_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(Path::new(&d).join("plinth"));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache").join("plinth"))
}

/// The SHA-256 of a file, in hex.
pub fn file_hash(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

/// The SHA-256 of a provider binary, as [`file_hash`] gives it, without reading the
/// whole binary again on every start: the hash is kept in the user's cache under a key
/// made of the file's path, device, inode, size, modification and change times. Any
/// write to the file, a rename over it or a `touch` changes the key (the change time
/// cannot be set back by a user), so a replaced binary is hashed afresh and checked
/// against the lock file. A file changed in the last two seconds is not cached, since
/// a write within the file system's timestamp granularity could keep every field the
/// same. Without a cache directory the hash is read every time, as before.
pub fn binary_hash(path: &Path) -> std::io::Result<String> {
    hash_with_cache(cache_dir().as_deref(), path)
}

fn hash_with_cache(cache: Option<&Path>, path: &Path) -> std::io::Result<String> {
    use std::os::unix::fs::MetadataExt;
    let started = std::time::SystemTime::now();
    let meta = std::fs::metadata(path)?;
    let canonical = std::fs::canonicalize(path)?;
    let key = format!(
        "{}\0{}\0{}\0{}\0{}.{}\0{}.{}",
        canonical.display(),
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    );
    let entry = cache.map(|d| d.join("hashes").join(hex(&Sha256::digest(key))));
    if let Some(entry) = &entry {
        if let Ok(text) = std::fs::read_to_string(entry) {
            let text = text.trim();
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok(text.to_string());
            }
        }
    }
    let hash = file_hash(path)?;
    let settled = |secs: i64| {
        let changed = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
        started
            .duration_since(changed)
            .is_ok_and(|age| age.as_secs() >= 2)
    };
    if let Some(entry) = entry.filter(|_| settled(meta.mtime()) && settled(meta.ctime())) {
        if let Some(dir) = entry.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let tmp = entry.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &hash).is_ok() {
            let _ = std::fs::rename(&tmp, &entry);
        }
    }
    Ok(hash)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a provider's plugin could not be used.
#[derive(Debug, thiserror::Error)]
enum StartFailure {
    #[error(transparent)]
    Process(#[from] StartError),
    #[error("the plugin for provider {provider} did not give its schema: {source}")]
    Schema { provider: String, source: CallError },
}

async fn schema_of(client: &PluginClient, binary: &Path) -> Result<ProviderSchema, CallError> {
    let cached = binary_hash(binary)
        .ok()
        .and_then(|h| cache_dir().map(|d| d.join("schemas").join(format!("{h}.json"))));
    if let Some(path) = &cached {
        if let Some(schema) = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|j| ProviderSchema::from_json(&j).ok())
        {
            return Ok(schema);
        }
    }
    let (schema, _) = client.rpc().schema().await?;
    if let Some(path) = &cached {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let tmp = path.with_extension("tmp");
        if std::fs::write(&tmp, schema.to_cache_json().to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
    }
    Ok(schema)
}

/// Why a found binary may not be used under `.plinth.lock.hcl`, if it may not: its
/// SHA-256 must be one the lock records (dev overrides are exempt, as in Terraform).
pub fn check_lock(lock: &super::lockfile::LockFile, r: &Requirement, f: &Found) -> Option<String> {
    let locked = lock.get(&r.source.to_string())?;
    if f.origin.starts_with("dev_overrides") {
        return None;
    }
    let hash = match binary_hash(&f.path) {
        Ok(h) => format!("sha256:{h}"),
        Err(e) => return Some(format!("cannot read {}: {e}", f.path.display())),
    };
    if locked.hashes.contains(&hash) {
        return None;
    }
    Some(format!(
        "{} (found in {}) has {hash}, but {} records {} for provider {} {}. If this binary is the one you want, run plinth init --upgrade.",
        f.path.display(),
        f.origin,
        super::lockfile::FILE,
        locked.hashes.join(", "),
        r.source.short(),
        locked.version
    ))
}

/// Why a found binary may not run in an untrusted plan (`plan --untrusted`), if it may
/// not: the lock file must record the provider (its hashes are then checked by
/// [`check_lock`]), and a dev override, which the lock file never covers, is refused.
fn check_untrusted(lock: &super::lockfile::LockFile, r: &Requirement, f: &Found) -> Option<String> {
    if f.origin.starts_with("dev_overrides") {
        return Some(format!(
            "{} comes from a dev_overrides entry ({}), which the lock file does not cover; an untrusted plan runs only providers whose hashes {} records.",
            r.source.short(),
            f.path.display(),
            super::lockfile::FILE
        ));
    }
    if lock.get(&r.source.to_string()).is_none() {
        return Some(format!(
            "{} ({}) is not in {}; an untrusted plan runs only providers whose hashes the lock file records. Run plinth init on reviewed code to lock it.",
            r.source.short(),
            f.path.display(),
            super::lockfile::FILE
        ));
    }
    None
}

/// Finds and starts every provider the configuration needs, registering each in
/// `providers`. A provider that cannot be found is an error when `required`
/// (plan, apply), and a warning otherwise (validate goes on without its schemas).
pub fn start_all(
    dir: &Path,
    config: &Config,
    providers: &mut Providers,
    required: bool,
    untrusted: bool,
) -> (Vec<Started>, Diagnostics) {
    let (needed, mut diags) = requirements(config);
    let lock = match super::lockfile::read(dir) {
        Ok(l) => l,
        Err(e) => {
            diags.push(Diagnostic::error("Invalid lock file").detail(e.to_string()));
            return (Vec::new(), diags);
        }
    };
    let mut found = Vec::new();
    for r in needed {
        match find(&r.source, r.version.as_deref(), dir) {
            Ok(f) => {
                if untrusted {
                    if let Some(problem) = check_untrusted(&lock, &r, &f) {
                        diags.push(
                            Diagnostic::error("Provider not allowed in an untrusted run")
                                .detail(problem)
                                .at_opt(r.span),
                        );
                        continue;
                    }
                }
                if let Some(problem) = check_lock(&lock, &r, &f) {
                    diags.push(
                        Diagnostic::error("Provider does not match the lock file")
                            .detail(problem)
                            .at_opt(r.span),
                    );
                    continue;
                }
                found.push((r, f))
            }
            Err(e) => {
                let d = if required {
                    Diagnostic::error("Provider not installed")
                } else {
                    Diagnostic::warning("Provider not installed")
                };
                let detail = if required {
                    e.to_string()
                } else {
                    format!("{e} Its resources are not checked against its schema.")
                };
                diags.push(d.detail(detail).at_opt(r.span));
            }
        }
    }
    // One process per provider configuration: the default one, and one per aliased
    // provider block in the root module.
    let mut instances: Vec<(Requirement, Found, Option<String>)> = Vec::new();
    for (r, f) in found {
        for p in &config.root().providers {
            if p.name == r.local {
                if let Some(alias) = &p.alias {
                    instances.push((r.clone(), f.clone(), Some(alias.clone())));
                }
            }
        }
        instances.push((r, f, None));
    }
    let outcomes = runtime().block_on(futures_util::future::join_all(instances.into_iter().map(
        |(r, f, alias)| async move {
            let name = f.path.display().to_string();
            let client = PluginClient::start(&name, &f.path).await?;
            let limit = client.max_concurrency().await;
            let schema =
                schema_of(&client, &f.path)
                    .await
                    .map_err(|source| StartFailure::Schema {
                        provider: r.source.short(),
                        source,
                    })?;
            Ok::<_, StartFailure>((r, f, alias, client, schema, limit))
        },
    )));
    let mut started = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok((r, f, alias, client, schema, limit)) => {
                let protocol = client.protocol;
                let provider = Arc::new(PluginProvider::new(
                    r.source.clone(),
                    client,
                    schema.clone(),
                    limit,
                ));
                let meta_schema = schema.provider_meta.as_ref().map(|s| s.block.clone());
                if let Some(alias) = alias {
                    let key = format!("{}.{alias}", r.local);
                    let address = format!("{}.{alias}", r.source.state_address());
                    providers.register_meta_schema(&address, meta_schema);
                    providers.register(&key, &address, provider);
                    continue;
                }
                providers.register_schemas(&r.local, &schema);
                providers.register_meta_schema(&r.source.state_address(), meta_schema);
                providers.register(&r.local, &r.source.state_address(), provider);
                started.push(Started {
                    requirement: r,
                    found: f,
                    protocol,
                    schema,
                });
            }
            Err(e) => {
                diags.push(Diagnostic::error("Provider failed to start").detail(e.to_string()))
            }
        }
    }
    (started, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A settled binary's hash comes from the cache; rewriting it (same size, so only
    /// the times and content differ) is noticed and hashed afresh.
    #[test]
    fn cached_hash_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let binary = dir.path().join("terraform-provider-x");
        std::fs::write(&binary, b"first binary").unwrap();
        let fresh = hash_with_cache(Some(&cache), &binary).unwrap();
        assert_eq!(fresh, file_hash(&binary).unwrap());
        assert!(
            !cache.join("hashes").exists(),
            "a file changed just now is not cached"
        );
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert_eq!(hash_with_cache(Some(&cache), &binary).unwrap(), fresh);
        let entries: Vec<_> = std::fs::read_dir(cache.join("hashes")).unwrap().collect();
        assert_eq!(entries.len(), 1, "a settled file's hash is kept");
        // The cache answers without reading the file: prove it by planting a value.
        let entry = entries[0].as_ref().unwrap().path();
        std::fs::write(&entry, "a".repeat(64)).unwrap();
        assert_eq!(
            hash_with_cache(Some(&cache), &binary).unwrap(),
            "a".repeat(64)
        );
        std::fs::write(&binary, b"other binary").unwrap();
        let changed = hash_with_cache(Some(&cache), &binary).unwrap();
        assert_eq!(changed, file_hash(&binary).unwrap());
        assert_ne!(changed, fresh);
    }
}
