//! The connection to the cluster: the provider's settings (HashiCorp's argument names
//! and `KUBE_*` variables) turned into a kube-rs client, and the few object calls
//! every resource is built from: get, create, JSON merge patch (field manager
//! `plinth`), delete and list of any kind, found by its `apiVersion` and `kind`.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::params::{DeleteParams, GetParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{GroupVersionKind, Request};
use kube::Client;
use plinth_provider_sdk::{Diagnostic, Result};
use serde_json::{json, Value as J};

/// The field manager plinth's writes are recorded under.
pub const FIELD_MANAGER: &str = "plinth";

/// The `exec { … }` credential plugin (`aws eks get-token`, `gke-gcloud-auth-plugin`).
#[derive(Clone, Debug, Default)]
pub struct Exec {
    pub api_version: String,
    pub command: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// The provider block's arguments, each falling back to its `KUBE_*` variable.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub host: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub insecure: Option<bool>,
    pub tls_server_name: Option<String>,
    pub client_certificate: Option<String>,
    pub client_key: Option<String>,
    pub cluster_ca_certificate: Option<String>,
    pub config_paths: Vec<String>,
    pub config_context: Option<String>,
    pub config_context_auth_info: Option<String>,
    pub config_context_cluster: Option<String>,
    pub token: Option<String>,
    pub proxy_url: Option<String>,
    pub exec: Option<Exec>,
}

/// An object kind as the API serves it.
#[derive(Clone, Debug, PartialEq)]
pub struct Kind {
    pub api_version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

impl Kind {
    /// The collection path of the kind (in `namespace` when it is namespaced).
    pub fn collection(&self, namespace: Option<&str>) -> String {
        let base = if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        };
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }
}

/// Kinds every cluster serves, so that the usual objects need no discovery call.
const BUILT_IN: &[(&str, &str, &str, bool)] = &[
    ("v1", "Namespace", "namespaces", false),
    ("v1", "Node", "nodes", false),
    ("v1", "PersistentVolume", "persistentvolumes", false),
    ("v1", "ConfigMap", "configmaps", true),
    ("v1", "Secret", "secrets", true),
    ("v1", "ServiceAccount", "serviceaccounts", true),
    ("v1", "Service", "services", true),
    ("v1", "Pod", "pods", true),
    (
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    ("apps/v1", "Deployment", "deployments", true),
    ("apps/v1", "StatefulSet", "statefulsets", true),
    ("apps/v1", "DaemonSet", "daemonsets", true),
    ("batch/v1", "Job", "jobs", true),
    ("batch/v1", "CronJob", "cronjobs", true),
    (
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    (
        "policy/v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    ("rbac.authorization.k8s.io/v1", "Role", "roles", true),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    ("networking.k8s.io/v1", "Ingress", "ingresses", true),
    ("storage.k8s.io/v1", "StorageClass", "storageclasses", false),
];

/// Shared by the provider and every resource type: settings arrive with `configure`;
/// the client is built on first use.
#[derive(Default)]
pub struct Shared {
    pub settings: OnceLock<Settings>,
    client: OnceLock<Client>,
    kinds: Mutex<BTreeMap<(String, String), Kind>>,
}

pub type Kube = Arc<Shared>;

/// Runs a call to completion from a resource method (which the SDK runs on a blocking
/// thread of the provider's runtime).
pub fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(f)
}

fn error(summary: impl Into<String>, detail: impl Into<String>) -> Vec<Diagnostic> {
    vec![Diagnostic::error(summary, detail)]
}

/// A failed API call as a diagnostic naming the object and saying what to do.
fn api_error(action: &str, what: &str, e: kube::Error) -> Vec<Diagnostic> {
    match e {
        kube::Error::Api(status) => {
            let advice = match status.code {
                401 => " The credentials were refused: check token, client_certificate or exec.",
                403 => " The credentials lack permission for this: grant it with RBAC.",
                409 => " Something else owns an object of that name: import it, or pick another name.",
                422 => " The API server rejected the object's fields.",
                _ => "",
            };
            error(
                format!("Kubernetes refused to {action}"),
                format!(
                    "{what}: {} {}: {}{advice}",
                    status.code, status.reason, status.message
                ),
            )
        }
        other => error(
            "Cannot reach the Kubernetes API",
            format!(
                "{what}: {action} failed: {other}. Check the provider's host (or config_path and config_context) and that the cluster is up."
            ),
        ),
    }
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl Shared {
    pub fn settings(&self) -> Settings {
        self.settings.get().cloned().unwrap_or_default()
    }

    pub fn client(&self) -> Result<Client> {
        if let Some(c) = self.client.get() {
            return Ok(c.clone());
        }
        let config = run(config(&self.settings()))?;
        let client = Client::try_from(config).map_err(|e| {
            error(
                "Invalid Kubernetes client configuration",
                format!("The provider configuration cannot make a client: {e}"),
            )
        })?;
        Ok(self.client.get_or_init(|| client).clone())
    }

    /// The kind `api_version`/`kind` names: one of [`BUILT_IN`], else asked of the API
    /// server's discovery endpoints (custom resources), once per kind.
    pub fn kind(&self, api_version: &str, kind: &str) -> Result<Kind> {
        if let Some((v, k, p, n)) = BUILT_IN
            .iter()
            .find(|(v, k, _, _)| *v == api_version && *k == kind)
        {
            return Ok(Kind {
                api_version: v.to_string(),
                kind: k.to_string(),
                plural: p.to_string(),
                namespaced: *n,
            });
        }
        let key = (api_version.to_string(), kind.to_string());
        if let Some(k) = self.kinds.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(k);
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let client = self.client()?;
        let (resource, caps) = run(kube::discovery::pinned_kind(&client, &gvk)).map_err(|e| {
            if not_found(&e) {
                error(
                    "Unknown kind",
                    format!(
                        "The cluster serves no kind {kind:?} in apiVersion {api_version:?}. Check the spelling, or install the CustomResourceDefinition that defines it first."
                    ),
                )
            } else {
                api_error("discover the kind", &format!("{api_version} {kind}"), e)
            }
        })?;
        let found = Kind {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            plural: resource.plural,
            namespaced: caps.scope == kube::discovery::Scope::Namespaced,
        };
        if let Ok(mut m) = self.kinds.lock() {
            m.insert(key, found.clone());
        }
        Ok(found)
    }

    async fn send(&self, request: http::Request<Vec<u8>>) -> std::result::Result<J, kube::Error> {
        let client = self.client().map_err(|d| {
            kube::Error::Service(
                d.first()
                    .map_or("no client".into(), |d| d.detail.clone())
                    .into(),
            )
        })?;
        let text = client.request_text(request).await?;
        if text.trim().is_empty() {
            return Ok(J::Null);
        }
        serde_json::from_str(&text).map_err(kube::Error::SerdeError)
    }

    fn call(
        &self,
        action: &str,
        what: &str,
        request: std::result::Result<http::Request<Vec<u8>>, kube::core::request::Error>,
    ) -> Result<std::result::Result<J, kube::Error>> {
        let request =
            request.map_err(|e| error("Invalid request", format!("{what}: {action}: {e}")))?;
        // The client is made here, outside `run`: making it runs a future too, and a
        // runtime cannot block inside its own `block_on`.
        self.client()?;
        Ok(run(self.send(request)))
    }

    /// The object, or `None` when it does not exist.
    pub fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<Option<J>> {
        let what = describe(kind, namespace, name);
        let request = Request::new(kind.collection(namespace)).get(name, &GetParams::default());
        match self.call("read", &what, request)? {
            Ok(o) => Ok(Some(o)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(api_error("read", &what, e)),
        }
    }

    /// Creates `object` (its `metadata.namespace` says where) and returns what the
    /// server stored.
    pub fn create(&self, kind: &Kind, object: &J) -> Result<J> {
        let (namespace, name) = identity(object);
        let what = describe(kind, namespace.as_deref(), &name);
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PostParams::default()
        };
        let body = serde_json::to_vec(object).unwrap_or_default();
        let request = Request::new(kind.collection(namespace.as_deref())).create(&params, body);
        self.call("create", &what, request)?
            .map_err(|e| api_error("create", &what, e))
    }

    /// Applies a JSON merge patch (RFC 7386: `null` removes a field, lists are
    /// replaced whole) to the named object.
    pub fn merge_patch(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        name: &str,
        patch: &J,
    ) -> Result<J> {
        let what = describe(kind, namespace, name);
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        let request =
            Request::new(kind.collection(namespace)).patch(name, &params, &Patch::Merge(patch));
        self.call("update", &what, request)?
            .map_err(|e| api_error("update", &what, e))
    }

    /// Deletes the named object; `false` when it was already gone.
    pub fn delete(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<bool> {
        let what = describe(kind, namespace, name);
        let params = DeleteParams::background();
        let request = Request::new(kind.collection(namespace)).delete(name, &params);
        match self.call("delete", &what, request)? {
            Ok(_) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(api_error("delete", &what, e)),
        }
    }

    /// Every object of the kind (in `namespace`, or in all of them).
    pub fn list(&self, kind: &Kind, namespace: Option<&str>) -> Result<Vec<J>> {
        let what = format!("{} {}", kind.api_version, kind.plural);
        let request = Request::new(kind.collection(namespace)).list(&ListParams::default());
        let list = self
            .call("list", &what, request)?
            .map_err(|e| api_error("list", &what, e))?;
        Ok(list
            .get("items")
            .and_then(J::as_array)
            .cloned()
            .unwrap_or_default())
    }
}

/// `Deployment serving/chat` as messages name an object.
pub fn describe(kind: &Kind, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if kind.namespaced => format!("{} {ns}/{name}", kind.kind),
        _ => format!("{} {name}", kind.kind),
    }
}

/// An object's `metadata.namespace` and `metadata.name`.
pub fn identity(object: &J) -> (Option<String>, String) {
    let meta = object.get("metadata");
    let field = |f: &str| {
        meta.and_then(|m| m.get(f))
            .and_then(J::as_str)
            .map(str::to_string)
    };
    (field("namespace"), field("name").unwrap_or_default())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Settings {
    /// Arguments the configuration leaves unset, from HashiCorp's `KUBE_*` variables.
    pub fn with_environment(mut self) -> Settings {
        let fill = |slot: &mut Option<String>, var: &str| {
            if slot.is_none() {
                *slot = env(var);
            }
        };
        fill(&mut self.host, "KUBE_HOST");
        fill(&mut self.username, "KUBE_USER");
        fill(&mut self.password, "KUBE_PASSWORD");
        fill(&mut self.tls_server_name, "KUBE_TLS_SERVER_NAME");
        fill(&mut self.client_certificate, "KUBE_CLIENT_CERT_DATA");
        fill(&mut self.client_key, "KUBE_CLIENT_KEY_DATA");
        fill(
            &mut self.cluster_ca_certificate,
            "KUBE_CLUSTER_CA_CERT_DATA",
        );
        fill(&mut self.config_context, "KUBE_CTX");
        fill(&mut self.config_context_auth_info, "KUBE_CTX_AUTH_INFO");
        fill(&mut self.config_context_cluster, "KUBE_CTX_CLUSTER");
        fill(&mut self.token, "KUBE_TOKEN");
        fill(&mut self.proxy_url, "KUBE_PROXY_URL");
        if self.insecure.is_none() {
            self.insecure = env("KUBE_INSECURE").map(|v| matches!(v.as_str(), "1" | "true"));
        }
        if self.config_paths.is_empty() {
            if let Some(paths) = env("KUBE_CONFIG_PATHS") {
                self.config_paths = std::env::split_paths(&paths)
                    .map(|p| p.display().to_string())
                    .collect();
            } else if let Some(path) = env("KUBE_CONFIG_PATH") {
                self.config_paths = vec![path];
            }
        }
        self
    }
}

fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), env("HOME")) {
        (Some(rest), Some(home)) => format!("{home}/{rest}"),
        _ => path.to_string(),
    }
}

fn named<'a>(list: &'a J, key: &str, name: &str) -> Option<&'a J> {
    list.get(key)?
        .as_array()?
        .iter()
        .find(|e| e.get("name").and_then(J::as_str) == Some(name))
        .and_then(|e| e.get(&key[..key.len() - 1]).or(e.get("user")))
}

/// The client configuration: the kubeconfig files' chosen context (when any are
/// given), with the provider's own arguments over it, as HashiCorp's provider layers
/// them; with neither, the pod's in-cluster service account.
pub async fn config(s: &Settings) -> Result<kube::Config> {
    let mut files = Kubeconfig::default();
    for path in &s.config_paths {
        let path = expand_home(path);
        let read = Kubeconfig::read_from(&path).map_err(|e| {
            vec![
                Diagnostic::error("Cannot read the kubeconfig file", format!("{path}: {e}")).at(
                    if s.config_paths.len() > 1 {
                        "config_paths"
                    } else {
                        "config_path"
                    },
                ),
            ]
        })?;
        files = files
            .merge(read)
            .map_err(|e| error("Cannot merge the kubeconfig files", e.to_string()))?;
    }
    let files_json = serde_json::to_value(&files).unwrap_or(J::Null);
    let context_name = s.config_context.clone().or(files.current_context.clone());
    let mut context = json!({});
    if !s.config_paths.is_empty() {
        if let Some(name) = &context_name {
            match named(&files_json, "contexts", name) {
                Some(c) => context = c.clone(),
                None => {
                    return Err(vec![Diagnostic::error(
                        "No such kubeconfig context",
                        format!("The kubeconfig files name no context {name:?}."),
                    )
                    .at("config_context")])
                }
            }
        }
    }
    let pick = |key: &str, over: &Option<String>, from: &str| -> J {
        let name = over
            .clone()
            .or_else(|| context.get(from).and_then(J::as_str).map(str::to_string));
        name.and_then(|n| named(&files_json, key, &n).cloned())
            .unwrap_or_else(|| json!({}))
    };
    let mut cluster = pick("clusters", &s.config_context_cluster, "cluster");
    let mut user = pick("users", &s.config_context_auth_info, "user");
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let set = |o: &mut J, k: &str, v: J| {
        if let Some(m) = o.as_object_mut() {
            m.insert(k.to_string(), v);
        }
    };
    if let Some(h) = &s.host {
        set(&mut cluster, "server", json!(h));
    }
    if let Some(ca) = &s.cluster_ca_certificate {
        set(&mut cluster, "certificate-authority-data", json!(b64(ca)));
    }
    if let Some(i) = s.insecure {
        set(&mut cluster, "insecure-skip-tls-verify", json!(i));
    }
    if let Some(n) = &s.tls_server_name {
        set(&mut cluster, "tls-server-name", json!(n));
    }
    if let Some(p) = &s.proxy_url {
        set(&mut cluster, "proxy-url", json!(p));
    }
    if let Some(t) = &s.token {
        set(&mut user, "token", json!(t));
    }
    if let Some(c) = &s.client_certificate {
        set(&mut user, "client-certificate-data", json!(b64(c)));
    }
    if let Some(k) = &s.client_key {
        set(&mut user, "client-key-data", json!(b64(k)));
    }
    if let Some(u) = &s.username {
        set(&mut user, "username", json!(u));
    }
    if let Some(p) = &s.password {
        set(&mut user, "password", json!(p));
    }
    if let Some(x) = &s.exec {
        let env: Vec<J> = x
            .env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        set(
            &mut user,
            "exec",
            json!({"apiVersion": x.api_version, "command": x.command, "args": x.args, "env": env}),
        );
    }
    if cluster.get("server").is_none() {
        if env("KUBERNETES_SERVICE_HOST").is_some() {
            return kube::Config::incluster()
                .map_err(|e| error("Cannot use the in-cluster configuration", e.to_string()));
        }
        return Err(vec![Diagnostic::error(
            "No Kubernetes cluster configured",
            "Set host (with token, client_certificate or exec), or config_path and config_context, in the provider block, or KUBE_HOST / KUBE_CONFIG_PATH in the environment.",
        )
        .at("host")]);
    }
    let mut ctx = json!({"cluster": "plinth", "user": "plinth"});
    if let Some(ns) = context.get("namespace") {
        set(&mut ctx, "namespace", ns.clone());
    }
    let merged = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "plinth", "cluster": cluster}],
        "users": [{"name": "plinth", "user": user}],
        "contexts": [{"name": "plinth", "context": ctx}],
        "current-context": "plinth",
    });
    let kubeconfig: Kubeconfig = serde_json::from_value(merged)
        .map_err(|e| error("Invalid Kubernetes client configuration", e.to_string()))?;
    let options = KubeConfigOptions {
        context: Some("plinth".into()),
        ..KubeConfigOptions::default()
    };
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| {
            vec![
                Diagnostic::error("Invalid Kubernetes client configuration", e.to_string())
                    .at("host"),
            ]
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resource calls run on the runtime's blocking threads, as the SDK runs them; the
    /// first one makes the client, which must not block inside the call's own wait.
    #[test]
    fn the_first_call_reports_an_unreachable_cluster_instead_of_panicking() {
        let shared = Arc::new(Shared::default());
        let _ = shared.settings.set(Settings {
            host: Some("http://127.0.0.1:1".into()),
            token: Some("t".into()),
            ..Settings::default()
        });
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let kube = shared.clone();
        let outcome = runtime
            .block_on(runtime.spawn_blocking(move || {
                let kind = kube.kind("v1", "ConfigMap")?;
                kube.get(&kind, Some("default"), "x")
            }))
            .unwrap();
        let errors = outcome.unwrap_err();
        assert_eq!(errors[0].summary, "Cannot reach the Kubernetes API");
    }

    fn configured(s: &Settings) -> Result<kube::Config> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| error("runtime", e.to_string()))?;
        runtime.block_on(config(s))
    }

    #[test]
    fn host_token_and_exec_make_the_client_configuration() {
        let settings = Settings {
            host: Some("https://cluster.example:6443".into()),
            insecure: Some(true),
            exec: Some(Exec {
                api_version: "client.authentication.k8s.io/v1beta1".into(),
                command: "aws".into(),
                args: vec![
                    "eks".into(),
                    "get-token".into(),
                    "--cluster-name".into(),
                    "ai".into(),
                ],
                env: [("AWS_PROFILE".to_string(), "ml".to_string())].into(),
            }),
            ..Settings::default()
        };
        let c = configured(&settings).expect("config");
        assert_eq!(c.cluster_url.to_string(), "https://cluster.example:6443/");
        assert!(c.accept_invalid_certs);
        let exec = c.auth_info.exec.expect("exec");
        assert_eq!(exec.command.as_deref(), Some("aws"));
        assert_eq!(exec.args.as_deref().map(|a| a.len()), Some(4));
        assert_eq!(
            exec.env
                .and_then(|e| e.first().and_then(|v| v.get("name").cloned())),
            Some("AWS_PROFILE".to_string())
        );
    }

    #[test]
    fn the_arguments_override_the_kubeconfig_context() {
        let dir = std::env::temp_dir().join(format!("plinth-kubeconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: https://a.example\n- name: b\n  cluster:\n    server: https://b.example\ncontexts:\n- name: ctx-a\n  context:\n    cluster: a\n    user: u\n    namespace: ml\n- name: ctx-b\n  context:\n    cluster: b\n    user: u\ncurrent-context: ctx-a\nusers:\n- name: u\n  user:\n    token: file-token\n",
        )
        .expect("write");
        let from_file = Settings {
            config_paths: vec![path.display().to_string()],
            ..Settings::default()
        };
        let c = configured(&from_file).expect("config");
        assert_eq!(c.cluster_url.to_string(), "https://a.example/");
        assert_eq!(c.default_namespace, "ml");
        let chosen = Settings {
            config_context: Some("ctx-b".into()),
            ..from_file.clone()
        };
        assert_eq!(
            configured(&chosen).expect("config").cluster_url.to_string(),
            "https://b.example/"
        );
        let overridden = Settings {
            host: Some("https://override.example".into()),
            ..from_file.clone()
        };
        assert_eq!(
            configured(&overridden)
                .expect("config")
                .cluster_url
                .to_string(),
            "https://override.example/"
        );
        let missing = Settings {
            config_context: Some("nope".into()),
            ..from_file
        };
        let err = configured(&missing).expect_err("a missing context");
        assert_eq!(err[0].attribute, vec!["config_context".to_string()]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn nothing_configured_is_an_error_at_host() {
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            return;
        }
        let err = configured(&Settings::default()).expect_err("no cluster");
        assert_eq!(err[0].summary, "No Kubernetes cluster configured");
    }
}
