//! Module source addresses, read by Terraform's rules: a local path starts with `./`
//! or `../`; `git::URL`, `github.com/ORG/REPO` and `git@HOST:PATH` are git
//! repositories; an `http(s)://` or `file://` URL is an archive (or, over HTTP, a page
//! naming the package; a `file://` directory is copied); `[HOST/]NAMESPACE/NAME/SYSTEM` is
//! a module registry address. Any remote source may name a subdirectory after `//`,
//! and git sources a `?ref=`.

/// A module call's `source`, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleSource {
    Local(String),
    Registry {
        host: String,
        namespace: String,
        name: String,
        system: String,
        subdir: Option<String>,
    },
    Git {
        url: String,
        reference: Option<String>,
        subdir: Option<String>,
    },
    Archive {
        url: String,
        subdir: Option<String>,
    },
}

/// Why a module source cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("{text:?} names a {kind} source, which plinth does not install; use a module registry, a git repository, an archive URL or a local path.")]
    Unsupported { text: String, kind: String },
    #[error("{text:?} is not a valid module source: {reason}")]
    Invalid { text: String, reason: String },
}

/// The default module registry, as in Terraform.
pub const DEFAULT_REGISTRY: &str = "registry.terraform.io";

impl ModuleSource {
    pub fn parse(text: &str) -> Result<ModuleSource, SourceError> {
        if text.starts_with("./") || text.starts_with("../") {
            return Ok(ModuleSource::Local(text.to_string()));
        }
        let invalid = |reason: &str| SourceError::Invalid {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        if let Some((kind, _)) = text.split_once("::") {
            return match kind {
                "git" => {
                    let (url, reference, subdir) = split_remote(&text[5..]);
                    if url.is_empty() {
                        return Err(invalid("the git URL is empty"));
                    }
                    Ok(ModuleSource::Git {
                        url,
                        reference,
                        subdir,
                    })
                }
                "http" | "https" => {
                    let (url, _, subdir) = split_remote(&text[kind.len() + 2..]);
                    Ok(ModuleSource::Archive { url, subdir })
                }
                "file" => {
                    let rest = &text[6..];
                    let (url, _, subdir) = split_remote(rest);
                    let url = if url.starts_with("file://") {
                        url
                    } else if url.starts_with('/') {
                        format!("file://{url}")
                    } else {
                        return Err(invalid("a file:: source names an absolute path"));
                    };
                    Ok(ModuleSource::Archive { url, subdir })
                }
                other => Err(SourceError::Unsupported {
                    text: text.to_string(),
                    kind: match other {
                        "s3" => "S3",
                        "gcs" => "GCS",
                        "hg" => "Mercurial",
                        other => other,
                    }
                    .to_string(),
                }),
            };
        }
        if let Some(rest) = text.strip_prefix("github.com/") {
            let (path, reference, subdir) = split_remote(rest);
            let path = path.trim_end_matches(".git");
            if path.split('/').count() != 2 {
                return Err(invalid(
                    "a GitHub source is github.com/ORGANIZATION/REPOSITORY",
                ));
            }
            return Ok(ModuleSource::Git {
                url: format!("https://github.com/{path}.git"),
                reference,
                subdir,
            });
        }
        if text.starts_with("git@") {
            let (url, reference, subdir) = split_remote(text);
            return Ok(ModuleSource::Git {
                url: format!("ssh://{}", url.replacen(':', "/", 1)),
                reference,
                subdir,
            });
        }
        if text.starts_with("http://")
            || text.starts_with("https://")
            || text.starts_with("file://")
        {
            let (url, _, subdir) = split_remote(text);
            return Ok(ModuleSource::Archive { url, subdir });
        }
        if text.starts_with("bitbucket.org/") {
            return Err(SourceError::Unsupported {
                text: text.to_string(),
                kind: "Bitbucket".into(),
            });
        }
        if text.starts_with('/') {
            return Err(invalid(
                "a local path must start with \"./\" or \"../\"; an absolute path is not a module source",
            ));
        }
        registry(text).ok_or_else(|| {
            invalid("a local path starts with \"./\" or \"../\", and a registry address is [HOSTNAME/]NAMESPACE/NAME/SYSTEM")
        })
    }

    /// Whether the source is a local path, loaded where it is.
    pub fn is_local(&self) -> bool {
        matches!(self, ModuleSource::Local(_))
    }
}

/// `url//subdir?ref=x` → (url with other query parameters, ref, subdir).
fn split_remote(text: &str) -> (String, Option<String>, Option<String>) {
    let (body, query) = match text.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (text, None),
    };
    let scheme_end = body.find("://").map_or(0, |i| i + 3);
    let (url, subdir) = match body[scheme_end..].find("//") {
        Some(i) => (
            &body[..scheme_end + i],
            Some(body[scheme_end + i + 2..].trim_matches('/').to_string()),
        ),
        None => (body, None),
    };
    let mut reference = None;
    let mut rest = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("ref", v)) => reference = Some(v.to_string()),
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        url.to_string()
    } else {
        format!("{url}?{}", rest.join("&"))
    };
    (url, reference, subdir.filter(|s| !s.is_empty()))
}

fn registry(text: &str) -> Option<ModuleSource> {
    let (address, subdir) = match text.split_once("//") {
        Some((a, s)) => (a, Some(s.trim_matches('/').to_string())),
        None => (text, None),
    };
    let parts: Vec<&str> = address.split('/').collect();
    let (host, rest) = match parts.len() {
        3 => (DEFAULT_REGISTRY.to_string(), &parts[..]),
        4 if parts[0].contains('.') || parts[0].contains(':') => {
            (parts[0].to_ascii_lowercase(), &parts[1..])
        }
        _ => return None,
    };
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    let system_ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    if !(name_ok(rest[0]) && name_ok(rest[1]) && system_ok(rest[2])) {
        return None;
    }
    Some(ModuleSource::Registry {
        host,
        namespace: rest[0].to_string(),
        name: rest[1].to_string(),
        system: rest[2].to_ascii_lowercase(),
        subdir: subdir.filter(|s| !s.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_kind_of_source() {
        let registry = |host: &str, subdir: Option<&str>| ModuleSource::Registry {
            host: host.into(),
            namespace: "terraform-aws-modules".into(),
            name: "vpc".into(),
            system: "aws".into(),
            subdir: subdir.map(String::from),
        };
        assert_eq!(
            ModuleSource::parse("terraform-aws-modules/vpc/aws"),
            Ok(registry(DEFAULT_REGISTRY, None))
        );
        assert_eq!(
            ModuleSource::parse("app.terraform.io/terraform-aws-modules/vpc/aws//modules/x"),
            Ok(registry("app.terraform.io", Some("modules/x")))
        );
        assert_eq!(
            ModuleSource::parse("git::https://example.com/net.git//modules/vpc?ref=v1.2.0"),
            Ok(ModuleSource::Git {
                url: "https://example.com/net.git".into(),
                reference: Some("v1.2.0".into()),
                subdir: Some("modules/vpc".into()),
            })
        );
        assert_eq!(
            ModuleSource::parse("github.com/hashicorp/example?ref=main"),
            Ok(ModuleSource::Git {
                url: "https://github.com/hashicorp/example.git".into(),
                reference: Some("main".into()),
                subdir: None,
            })
        );
        assert_eq!(
            ModuleSource::parse("git@github.com:org/repo.git"),
            Ok(ModuleSource::Git {
                url: "ssh://git@github.com/org/repo.git".into(),
                reference: None,
                subdir: None,
            })
        );
        assert_eq!(
            ModuleSource::parse("https://example.com/vpc.tar.gz//sub"),
            Ok(ModuleSource::Archive {
                url: "https://example.com/vpc.tar.gz".into(),
                subdir: Some("sub".into()),
            })
        );
        assert_eq!(
            ModuleSource::parse("file:///srv/m.zip//sub?archive=zip"),
            Ok(ModuleSource::Archive {
                url: "file:///srv/m.zip?archive=zip".into(),
                subdir: Some("sub".into()),
            })
        );
        assert_eq!(
            ModuleSource::parse("file::/srv/m.tgz"),
            Ok(ModuleSource::Archive {
                url: "file:///srv/m.tgz".into(),
                subdir: None,
            })
        );
        assert_eq!(
            ModuleSource::parse("../modules/x"),
            Ok(ModuleSource::Local("../modules/x".into()))
        );
        assert!(matches!(
            ModuleSource::parse("s3::https://bucket/x.zip"),
            Err(SourceError::Unsupported { .. })
        ));
        for bad in ["modules/x", "/abs/path", "a/b/c/d/e", "ns/na me/aws"] {
            assert!(
                matches!(ModuleSource::parse(bad), Err(SourceError::Invalid { .. })),
                "{bad}"
            );
        }
    }
}
