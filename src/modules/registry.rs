//! The module registry protocol (Terraform's `modules.v1`): the host's service
//! discovery document `https://HOST/.well-known/terraform.json` names the modules API;
//! `GET …/NS/NAME/SYSTEM/versions` lists versions and `GET …/VERSION/download` answers
//! with the package's source address in `X-Terraform-Get`. A CLI configuration `host`
//! block (`PLINTH_CLI_CONFIG_FILE`, else `~/.plinthrc`) may name the service itself,
//! as Terraform's does:
//!
//! ```hcl
//! host "registry.example.com" {
//!   services = {
//!     "modules.v1" = "http://127.0.0.1:8080/v1/modules/"
//!   }
//! }
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::BodyExt;
use semver::Version;

/// How long one registry request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// An answer: status, the `X-Terraform-Get` header, the body.
struct Reply {
    status: u16,
    get: Option<String>,
    /// `Location`, for a redirect.
    location: Option<String>,
    body: Vec<u8>,
}

/// How many redirects one request follows, as Go's HTTP client does.
const MAX_REDIRECTS: usize = 10;

/// `GET url`, following redirects (GitHub's archive URLs answer with one).
fn get(url: &str) -> Result<Reply, String> {
    let mut url = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let reply = get_once(&url)?;
        match (reply.status, &reply.location) {
            (301 | 302 | 303 | 307 | 308, Some(location)) => url = join(&url, location),
            _ => return Ok(reply),
        }
    }
    Err(format!("GET {url}: more than {MAX_REDIRECTS} redirects"))
}

fn get_once(url: &str) -> Result<Reply, String> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("{url} is not a valid URL: {e}"))?;
    crate::plugin::runtime().block_on(async {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| format!("no TLS root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, http_body_util::Empty<hyper::body::Bytes>>(https);
        let request = hyper::Request::get(uri)
            .header("User-Agent", concat!("plinth/", env!("CARGO_PKG_VERSION")))
            .body(http_body_util::Empty::new())
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(TIMEOUT, client.request(request))
            .await
            .map_err(|_| format!("GET {url} took more than {} s", TIMEOUT.as_secs()))?
            .map_err(|e| format!("GET {url} failed: {e}"))?;
        let status = response.status().as_u16();
        let get = response
            .headers()
            .get("X-Terraform-Get")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let location = response
            .headers()
            .get(hyper::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = tokio::time::timeout(TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| format!("reading {url} took more than {} s", TIMEOUT.as_secs()))?
            .map_err(|e| format!("reading {url} failed: {e}"))?
            .to_bytes()
            .to_vec();
        Ok(Reply {
            status,
            get,
            location,
            body,
        })
    })
}

/// `reference` resolved against `base` (absolute URLs kept, `/path` from the host,
/// other paths from base's directory).
fn join(base: &str, reference: &str) -> String {
    if reference.contains("://") || reference.contains("::") {
        return reference.to_string();
    }
    let origin_end = base
        .find("://")
        .and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(base.len());
    if reference.starts_with('/') {
        return format!("{}{reference}", &base[..origin_end]);
    }
    let path_end = base.find('?').unwrap_or(base.len());
    let mut dir_end = base[..path_end]
        .rfind('/')
        .filter(|i| *i >= origin_end)
        .unwrap_or(path_end);
    // Dot segments resolve as in a URL: `./x` in the same directory, `../x` one up.
    let mut reference = reference;
    loop {
        if let Some(rest) = reference.strip_prefix("./") {
            reference = rest;
        } else if let Some(rest) = reference.strip_prefix("../") {
            reference = rest;
            dir_end = base[..dir_end]
                .rfind('/')
                .filter(|i| *i >= origin_end)
                .unwrap_or(origin_end);
        } else {
            break;
        }
    }
    format!("{}/{reference}", &base[..dir_end])
}

fn cli_config() -> Option<PathBuf> {
    std::env::var_os("PLINTH_CLI_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".plinthrc")))
}

/// The `modules.v1` URL a CLI configuration `host` block gives for `host`.
fn configured_service(host: &str) -> Option<String> {
    use hcl_edit::expr::{Expression, ObjectKey};
    let text = std::fs::read_to_string(cli_config()?).ok()?;
    let body = hcl_edit::parser::parse_body(&text).ok()?;
    for block in body.get_blocks("host") {
        let label = block.labels.first().map(|l| l.as_str().to_string());
        if label.as_deref() != Some(host) {
            continue;
        }
        let Some(Expression::Object(services)) =
            block.body.get_attribute("services").map(|a| &a.value)
        else {
            continue;
        };
        for (key, value) in services.iter() {
            let name = match key {
                ObjectKey::Ident(i) => i.as_str().to_string(),
                ObjectKey::Expression(Expression::String(s)) => s.as_str().to_string(),
                _ => continue,
            };
            if name == "modules.v1" {
                if let Expression::String(url) = value.expr() {
                    return Some(url.as_str().to_string());
                }
            }
        }
    }
    None
}

/// The modules API of `host`, ending in `/`.
fn modules_api(host: &str) -> Result<String, String> {
    let base = match configured_service(host) {
        Some(url) => url,
        None => {
            let discovery = format!("https://{host}/.well-known/terraform.json");
            let reply = get(&discovery)?;
            if reply.status != 200 {
                return Err(format!(
                    "{discovery} answered {}; {host} is not a module registry",
                    reply.status
                ));
            }
            let doc: serde_json::Value = serde_json::from_slice(&reply.body)
                .map_err(|e| format!("{discovery} is not JSON: {e}"))?;
            let Some(api) = doc.get("modules.v1").and_then(|v| v.as_str()) else {
                return Err(format!(
                    "{host} does not offer a module registry (no modules.v1 in {discovery})"
                ));
            };
            join(&discovery, api)
        }
    };
    Ok(if base.ends_with('/') {
        base
    } else {
        format!("{base}/")
    })
}

/// A registry module's versions, highest first.
pub fn versions(host: &str, module: &[&str; 3]) -> Result<Vec<Version>, String> {
    let api = modules_api(host)?;
    let url = format!("{api}{}/versions", module.join("/"));
    let reply = get(&url)?;
    match reply.status {
        200 => {}
        404 => {
            return Err(format!(
                "the registry {host} has no module {}",
                module.join("/")
            ))
        }
        s => return Err(format!("{url} answered {s}")),
    }
    let doc: serde_json::Value =
        serde_json::from_slice(&reply.body).map_err(|e| format!("{url} is not JSON: {e}"))?;
    let mut found: Vec<Version> = doc["modules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["versions"].as_array().into_iter().flatten())
        .filter_map(|v| v["version"].as_str())
        .filter_map(|v| crate::plugin::constraint::parse_version(v).ok())
        .collect();
    found.sort_by(|a, b| b.cmp_precedence(a));
    Ok(found)
}

/// Where the package of `module` at `version` is: a source address (`git::…`, an
/// archive URL), as the registry's `X-Terraform-Get` gives it.
pub fn download(host: &str, module: &[&str; 3], version: &Version) -> Result<String, String> {
    let api = modules_api(host)?;
    let url = format!("{api}{}/{version}/download", module.join("/"));
    let reply = get(&url)?;
    if !(200..300).contains(&reply.status) {
        return Err(format!("{url} answered {}", reply.status));
    }
    let location = reply.get.ok_or_else(|| {
        format!("{url} did not say where the package is (no X-Terraform-Get header)")
    })?;
    Ok(join(&url, &location))
}

/// The body of `url` (`http(s)://`, or `file://` for a local file).
pub(super) fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    if let Some(path) = url.strip_prefix("file://") {
        return std::fs::read(path).map_err(|e| format!("{path} could not be read: {e}"));
    }
    let reply = get(url)?;
    if reply.status != 200 {
        return Err(format!("GET {url} answered {}", reply.status));
    }
    Ok(reply.body)
}

/// Where the package of an HTTP module source that is not an archive is: go-getter
/// asks `URL?terraform-get=1` and takes the `X-Terraform-Get` header, or else a
/// `<meta name="terraform-get" content="…">` tag of the page.
pub(super) fn package_location(url: &str) -> Result<String, String> {
    let ask = format!(
        "{url}{}terraform-get=1",
        if url.contains('?') { "&" } else { "?" }
    );
    let reply = get(&ask)?;
    if !(200..300).contains(&reply.status) {
        return Err(format!("GET {ask} answered {}", reply.status));
    }
    let location = reply.get.or_else(|| {
        let page = String::from_utf8_lossy(&reply.body);
        let meta = regex::Regex::new(
            r#"(?i)<meta\s+name\s*=\s*"terraform-get"\s+content\s*=\s*"([^"]*)""#,
        )
        .ok()?;
        meta.captures(&page).map(|c| c[1].to_string())
    });
    let location = location.ok_or_else(|| {
        format!("{url} is neither an archive (.zip, .tar.gz, …, or ?archive=TYPE) nor a page naming a module package (no X-Terraform-Get header or terraform-get meta tag)")
    })?;
    Ok(join(url, &location))
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn locations_resolve_against_the_request() {
        let base = "https://r.example.com/v1/modules/a/b/c/1.0.0/download";
        assert_eq!(
            join(base, "git::https://github.com/a/b?ref=v1"),
            "git::https://github.com/a/b?ref=v1"
        );
        assert_eq!(
            join(base, "/files/x.tar.gz"),
            "https://r.example.com/files/x.tar.gz"
        );
        assert_eq!(
            join(base, "x.tar.gz"),
            "https://r.example.com/v1/modules/a/b/c/1.0.0/x.tar.gz"
        );
        assert_eq!(
            join(base, "./../x.zip"),
            "https://r.example.com/v1/modules/a/b/c/x.zip"
        );
        assert_eq!(
            join("http://h:1/page?terraform-get=1", "./pkg/m.zip"),
            "http://h:1/pkg/m.zip"
        );
    }
}
