//! Archive module packages, as `terraform init` (go-getter) takes them: the kind from
//! an `archive=` query parameter (`archive=false` for none) or else the URL path's
//! extension (`.zip`, `.tar.gz`, `.tgz`), an optional `checksum=TYPE:HEX`, and
//! unpacking that refuses any entry that would land outside the package directory.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use sha2::Digest;

/// The archive formats plinth unpacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveKind {
    Zip,
    TarGz,
}

/// The archive types `terraform init` knows, the longest matching extension winning;
/// `None` marks the ones plinth does not unpack (bzip2 and xz would need crates of
/// their own). A plain `.tar` is no archive to Terraform either.
const KINDS: &[(&str, Option<ArchiveKind>)] = &[
    ("tar.gz", Some(ArchiveKind::TarGz)),
    ("tgz", Some(ArchiveKind::TarGz)),
    ("zip", Some(ArchiveKind::Zip)),
    ("tar.bz2", None),
    ("tar.tbz2", None),
    ("tar.xz", None),
    ("txz", None),
    ("bz2", None),
    ("gz", None),
    ("xz", None),
];

/// An archive URL read: what to download, how to unpack it, what it must hash to.
#[derive(Debug, PartialEq, Eq)]
pub struct ArchiveUrl {
    /// The URL without the `archive` and `checksum` parameters.
    pub url: String,
    /// `None`: not an archive (a directory, or an HTTP page naming the package).
    pub kind: Option<ArchiveKind>,
    pub checksum: Option<Checksum>,
}

/// `checksum=TYPE:HEX` (md5, sha1, sha256 or sha512).
#[derive(Debug, PartialEq, Eq)]
pub struct Checksum {
    pub kind: String,
    pub hex: String,
}

impl ArchiveUrl {
    pub fn parse(url: &str) -> Result<ArchiveUrl, String> {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let mut forced = None;
        let mut checksum = None;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("archive", v)) => forced = Some(v.to_ascii_lowercase()),
                Some(("checksum", v)) => {
                    let (kind, hex) = v
                        .split_once(':')
                        .ok_or_else(|| format!("the checksum {v:?} of {url} is not TYPE:HEX"))?;
                    if !["md5", "sha1", "sha256", "sha512"].contains(&kind) {
                        return Err(format!(
                            "the checksum type {kind:?} of {url} is not md5, sha1, sha256 or sha512"
                        ));
                    }
                    checksum = Some(Checksum {
                        kind: kind.to_string(),
                        hex: hex.to_ascii_lowercase(),
                    });
                }
                _ => rest.push(pair),
            }
        }
        let kind = match forced.as_deref() {
            Some("false" | "0" | "f") => None,
            Some(name) => match KINDS.iter().find(|(ext, _)| *ext == name) {
                Some((_, Some(kind))) => Some(*kind),
                Some((_, None)) => return Err(unsupported(name, url)),
                None => return Err(format!("{url} asks for the archive type {name:?}, which is not one of zip, tar.gz, tgz, tar.bz2, tar.tbz2, tar.xz, txz, bz2, gz, xz")),
            },
            None => {
                let path = base.split_once("://").map_or(base, |(_, p)| p);
                match KINDS
                    .iter()
                    .filter(|(ext, _)| path.ends_with(&format!(".{ext}")))
                    .max_by_key(|(ext, _)| ext.len())
                {
                    Some((_, Some(kind))) => Some(*kind),
                    Some((ext, None)) => return Err(unsupported(ext, url)),
                    None => None,
                }
            }
        };
        let url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        Ok(ArchiveUrl {
            url,
            kind,
            checksum,
        })
    }
}

fn unsupported(ext: &str, url: &str) -> String {
    format!("{url} is a .{ext} archive; plinth unpacks .zip, .tar.gz and .tgz archives")
}

impl Checksum {
    /// Checks `bytes` against the checksum; the error says both hashes.
    pub fn verify(&self, bytes: &[u8], url: &str) -> Result<(), String> {
        fn hex(digest: &[u8]) -> String {
            digest.iter().map(|b| format!("{b:02x}")).collect()
        }
        let actual = match self.kind.as_str() {
            "md5" => hex(&md5::Md5::digest(bytes)),
            "sha1" => hex(&sha1::Sha1::digest(bytes)),
            "sha256" => hex(&sha2::Sha256::digest(bytes)),
            _ => hex(&sha2::Sha512::digest(bytes)),
        };
        if actual == self.hex {
            Ok(())
        } else {
            Err(format!(
                "{url} has the {} checksum {actual}, not {} as its checksum parameter says",
                self.kind, self.hex
            ))
        }
    }
}

/// Unpacks `bytes` into `into` (created if missing).
pub fn unpack(kind: ArchiveKind, bytes: &[u8], into: &Path) -> Result<(), String> {
    std::fs::create_dir_all(into)
        .map_err(|e| format!("{} could not be created: {e}", into.display()))?;
    match kind {
        ArchiveKind::Zip => unzip(bytes, into),
        ArchiveKind::TarGz => untar(flate2::read::GzDecoder::new(bytes), into),
    }
}

/// The entry name `name` as a path inside the package: relative, no `..`. `None` for
/// the package root itself (`./`).
fn entry_path(name: &str) -> Result<Option<PathBuf>, String> {
    let mut path = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "the archive entry {name:?} leaves the module package (it names \"..\")"
                ))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "the archive entry {name:?} is an absolute path, outside the module package"
                ))
            }
        }
    }
    Ok((!path.as_os_str().is_empty()).then_some(path))
}

/// Refuses a symbolic link at `at` (inside the package) whose target leads outside it.
/// Entries are never written through a link (see [`place`]), so `at`'s directories are
/// real ones and a target's leading `..`s climb exactly that many; a `..` after a name
/// is refused, since that name may be a link to anywhere inside (`a -> .`, `b -> a/..`).
fn check_link(at: &Path, target: &Path) -> Result<(), String> {
    let outside = || {
        format!(
            "the archive entry {:?} is a symbolic link to {:?}, outside the module package",
            at.display().to_string(),
            target.display().to_string()
        )
    };
    if target.is_absolute() {
        return Err(outside());
    }
    let mut depth = at.components().count() - 1;
    let mut named = false;
    for component in target.components() {
        match component {
            Component::Normal(_) => named = true,
            Component::CurDir => {}
            Component::ParentDir if !named => {
                depth = depth.checked_sub(1).ok_or_else(outside)?;
            }
            Component::ParentDir => {
                return Err(format!(
                    "the archive entry {:?} is a symbolic link to {:?}, which climbs (\"..\") after a name; plinth refuses it, as it may lead outside the module package",
                    at.display().to_string(),
                    target.display().to_string()
                ))
            }
            Component::RootDir | Component::Prefix(_) => return Err(outside()),
        }
    }
    Ok(())
}

/// Makes `at`'s directories inside `root` and gives its path there, refusing any
/// directory on the way that is a symbolic link (an entry is never written through
/// one) and removing a link already at `at`.
fn place(root: &Path, at: &Path) -> Result<PathBuf, String> {
    let failed = |e: std::io::Error| format!("unpacking {} failed: {e}", at.display());
    let mut dir = root.to_path_buf();
    let parts: Vec<Component> = at.components().collect();
    for (i, part) in parts.iter().enumerate() {
        dir.push(part);
        let last = i + 1 == parts.len();
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() && last => {
                std::fs::remove_file(&dir).map_err(failed)?
            }
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "the archive entry {:?} lies inside the symbolic link {:?}; plinth does not unpack through links",
                    at.display().to_string(),
                    Path::new(&dir).strip_prefix(root).unwrap_or(&dir).display().to_string()
                ))
            }
            Ok(_) => {}
            Err(_) if !last => std::fs::create_dir(&dir).map_err(failed)?,
            Err(_) => {}
        }
    }
    Ok(dir)
}

fn write_file(root: &Path, at: &Path, mut from: impl Read, executable: bool) -> Result<(), String> {
    let path = place(root, at)?;
    let failed = |e: std::io::Error| format!("unpacking {} failed: {e}", at.display());
    let mut file = std::fs::File::create(&path).map_err(failed)?;
    std::io::copy(&mut from, &mut file).map_err(failed)?;
    if executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(failed)?;
    }
    Ok(())
}

fn make_dir(root: &Path, at: &Path) -> Result<(), String> {
    let path = place(root, at)?;
    if path.is_dir() {
        return Ok(());
    }
    std::fs::create_dir(&path).map_err(|e| format!("unpacking {} failed: {e}", at.display()))
}

fn make_link(root: &Path, at: &Path, target: &Path) -> Result<(), String> {
    check_link(at, target)?;
    let path = place(root, at)?;
    std::os::unix::fs::symlink(target, &path)
        .map_err(|e| format!("unpacking {} failed: {e}", at.display()))
}

fn untar(reader: impl Read, root: &Path) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    let damaged = |e: std::io::Error| format!("the archive is not a readable tar file: {e}");
    for entry in archive.entries().map_err(damaged)? {
        let entry = entry.map_err(damaged)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(at) = entry_path(&name)? else {
            continue;
        };
        let kind = entry.header().entry_type();
        let link = || -> Result<PathBuf, String> {
            let target = entry.link_name().map_err(damaged)?;
            target
                .map(|t| t.into_owned())
                .ok_or_else(|| format!("the archive entry {name:?} is a link without a target"))
        };
        if kind.is_dir() {
            make_dir(root, &at)?;
        } else if kind.is_symlink() {
            make_link(root, &at, &link()?)?;
        } else if kind.is_hard_link() {
            // A hard link names another entry of the archive, by its path.
            let target = link()?;
            let Some(inside) = entry_path(&target.to_string_lossy())? else {
                return Err(format!(
                    "the archive entry {name:?} links to the package directory"
                ));
            };
            let path = place(root, &at)?;
            std::fs::copy(root.join(&inside), &path).map_err(|e| {
                format!(
                    "unpacking {name} (a link to {}) failed: {e}",
                    inside.display()
                )
            })?;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
            write_file(root, &at, entry, executable)?;
        }
        // Devices, FIFOs and the like carry no module files; go-getter skips them too.
    }
    Ok(())
}

fn unzip(bytes: &[u8], root: &Path) -> Result<(), String> {
    let damaged = |e: zip::result::ZipError| format!("the archive is not a readable zip file: {e}");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(damaged)?;
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(damaged)?;
        let name = file.name().map_err(damaged)?.into_owned();
        let Some(at) = entry_path(&name)? else {
            continue;
        };
        if file.is_dir() {
            make_dir(root, &at)?;
        } else if file.is_symlink() {
            let mut target = String::new();
            file.read_to_string(&mut target)
                .map_err(|e| format!("unpacking {name} failed: {e}"))?;
            make_link(root, &at, Path::new(&target))?;
        } else {
            let executable = file.unix_mode().is_some_and(|m| m & 0o111 != 0);
            write_file(root, &at, file, executable)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_comes_from_the_query_or_the_extension() {
        let kind = |url: &str| ArchiveUrl::parse(url).map(|a| (a.url, a.kind));
        assert_eq!(
            kind("https://e.com/m.tar.gz"),
            Ok(("https://e.com/m.tar.gz".into(), Some(ArchiveKind::TarGz)))
        );
        assert_eq!(
            kind("https://e.com/get?id=1&archive=zip"),
            Ok(("https://e.com/get?id=1".into(), Some(ArchiveKind::Zip)))
        );
        assert_eq!(
            kind("https://e.com/m.zip?archive=false"),
            Ok(("https://e.com/m.zip".into(), None))
        );
        assert_eq!(
            kind("file:///m/x.tgz").map(|k| k.1),
            Ok(Some(ArchiveKind::TarGz))
        );
        assert_eq!(kind("https://e.com/module").map(|k| k.1), Ok(None));
        assert!(kind("https://e.com/m.tar.bz2").is_err_and(|e| e.contains(".tar.bz2 archive")));
        assert!(kind("https://e.com/m?archive=rar").is_err());
    }

    #[test]
    fn entries_outside_the_package_are_refused() {
        assert_eq!(entry_path("./a/b.tf"), Ok(Some(PathBuf::from("a/b.tf"))));
        assert_eq!(entry_path("./"), Ok(None));
        assert!(entry_path("a/../../x").is_err());
        assert!(entry_path("/etc/passwd").is_err());
        assert!(check_link(Path::new("a/l"), Path::new("../b")).is_ok());
        assert!(check_link(Path::new("a/l"), Path::new("../../b")).is_err());
        assert!(check_link(Path::new("l"), Path::new("/etc")).is_err());
        // `a -> .` then `b -> a/..` would lead out through the first link.
        assert!(check_link(Path::new("b"), Path::new("a/..")).is_err());
        assert!(check_link(Path::new("a/b/l"), Path::new("../../x/y")).is_ok());
    }
}
