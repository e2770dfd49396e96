//! kmock, the Kubernetes API server of the tests (scripts/kmock-server, installed into
//! .venv/ on first use), started on a free port and stopped when dropped; and a small
//! client through which tests check and edit objects the way a user or a controller
//! would: through the Kubernetes API, not plinth's state. docs/kmock.md says what kmock
//! does and does not do.

use std::io::{BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Method;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use serde_json::Value;

/// How long one request to kmock may take before the test fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A running kmock server.
pub struct Kmock {
    /// `http://127.0.0.1:PORT`, the cluster's server URL.
    pub url: String,
    /// The server process, when this handle started it.
    child: Option<Child>,
    client: Client<HttpConnector, Full<Bytes>>,
    runtime: tokio::runtime::Runtime,
}

/// One reply: its HTTP status and its JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Drop for Kmock {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Kmock {
    /// kmock with its bundled list of the standard resources.
    pub fn start() -> Kmock {
        Kmock::with_resources(&[])
    }

    /// kmock that also serves the resources listed in each file (kmock's resource-list
    /// format: a JSON array of APIResourceList documents), e.g. a custom resource.
    pub fn with_resources(files: &[&Path]) -> Kmock {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut log = tempfile::tempfile().expect("kmock log file");
        let mut cmd = Command::new(repo.join("scripts/kmock-server"));
        cmd.args(["--port", "0"]);
        for file in files {
            cmd.arg("--resources").arg(file);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(log.try_clone().expect("kmock log file"))
            .spawn()
            .expect("start scripts/kmock-server");
        let mut first_line = String::new();
        let stdout = child.stdout.take().expect("kmock stdout");
        let _ = BufReader::new(stdout).read_line(&mut first_line);
        let Some(url) = first_line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            let mut stderr = String::new();
            let _ = log.rewind().and_then(|_| log.read_to_string(&mut stderr));
            panic!("scripts/kmock-server did not start: {first_line:?}\n{stderr}");
        };
        let mut kmock = Kmock::attach(url);
        kmock.child = Some(child);
        kmock
    }

    /// A client of a server another handle started (for a thread that stands in for
    /// a controller); dropping it leaves the server running.
    pub fn attach(url: &str) -> Kmock {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        Kmock {
            url: url.to_string(),
            child: None,
            client,
            runtime,
        }
    }

    /// Sends one request; `path` is the API path (`/api/v1/namespaces`), with its query.
    pub fn request(&self, method: Method, path: &str, content_type: &str, body: &[u8]) -> Reply {
        let request = hyper::Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("request");
        let (status, bytes) = self.runtime.block_on(async {
            let reply = tokio::time::timeout(REQUEST_TIMEOUT, async {
                let response = self.client.request(request).await?;
                let status = response.status().as_u16();
                let bytes = response.into_body().collect().await?.to_bytes();
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, bytes))
            })
            .await;
            match reply {
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => panic!("{method} {path}: {e}"),
                Err(_) => panic!("{method} {path}: no reply in {REQUEST_TIMEOUT:?}"),
            }
        });
        Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// The object at `path`, or `None` when kmock answers 404.
    pub fn get(&self, path: &str) -> Option<Value> {
        let reply = self.request(Method::GET, path, "application/json", b"");
        match reply.status {
            404 => None,
            _ => Some(success(Method::GET, path, reply)),
        }
    }

    /// Creates the object `body` in the collection at `path`; the stored object.
    pub fn post(&self, path: &str, body: &Value) -> Value {
        let reply = self.request(Method::POST, path, "application/json", &to_bytes(body));
        success(Method::POST, path, reply)
    }

    /// A JSON merge patch (RFC 7386) of the object at `path`; the patched object.
    pub fn patch(&self, path: &str, body: &Value) -> Value {
        let reply = self.request(
            Method::PATCH,
            path,
            "application/merge-patch+json",
            &to_bytes(body),
        );
        success(Method::PATCH, path, reply)
    }

    /// Deletes the object at `path`; the object as it was.
    pub fn delete(&self, path: &str) -> Value {
        let reply = self.request(Method::DELETE, path, "application/json", b"");
        success(Method::DELETE, path, reply)
    }

    /// Writes `dir/kubeconfig`, pointing at this server (one cluster, one context and a
    /// user with a dummy token, which kmock does not check); its path.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1
kind: Config
clusters:
- name: kmock
  cluster:
    server: {url}
contexts:
- name: kmock
  context:
    cluster: kmock
    user: kmock
    namespace: default
current-context: kmock
users:
- name: kmock
  user:
    token: kmock-token
",
            url = self.url
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}

fn to_bytes(body: &Value) -> Vec<u8> {
    serde_json::to_vec(body).expect("json body")
}

fn success(method: Method, path: &str, reply: Reply) -> Value {
    assert!(
        (200..300).contains(&reply.status),
        "{method} {path}: {} {}",
        reply.status,
        reply.body
    );
    reply.body
}
