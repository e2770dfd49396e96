//! plinth with plinth/kubernetes against kmock (the Kubernetes API emulator, started
//! here on a free port): objects are created with the declared fields, checked through
//! the Kubernetes API (not plinth's state), drift is found and put back, objects
//! deleted outside plinth come back, imports match, destroy leaves nothing; Jobs run
//! as pipeline steps in dependency order, with a test thread standing in for the Job
//! controller; bad input is refused at its line with state unchanged.

use crate::common::kube::Kmock;
use crate::common::{kubernetes_provider_dir, stack, Run};

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub(crate) fn plinth(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().expect("path"), "--no-color"])
        .args(args)
        .env("PLINTH_PLUGIN_DIR", kubernetes_provider_dir())
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .env_remove("KUBE_HOST")
        .env_remove("KUBE_CONFIG_PATH")
        .env_remove("KUBE_CONFIG_PATHS")
        .output()
        .expect("run plinth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub(crate) fn ok(run: &Run, what: &str) {
    assert_eq!(
        run.code, 0,
        "{what} failed:\n{}\n{}",
        run.stdout, run.stderr
    );
}

/// `plan --detailed-exitcode`: 0 no changes, 2 changes.
pub(crate) fn plan_code(dir: &Path) -> (i32, String) {
    let run = plinth(dir, &["plan", "--detailed-exitcode"]);
    assert!(
        run.code == 0 || run.code == 2,
        "plan failed:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    (run.code, run.stdout)
}

pub(crate) fn provider(kmock: &Kmock) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    kubernetes = {{ source = "plinth/kubernetes" }}
  }}
}}

provider "kubernetes" {{
  host  = "{}"
  token = "kmock-token"
}}
"#,
        kmock.url
    )
}

const CORE: &str = r#"
resource "kubernetes_namespace_v1" "serving" {
  metadata {
    name   = "serving"
    labels = { team = "ml" }
  }
}

resource "kubernetes_config_map_v1" "settings" {
  metadata {
    name      = "settings"
    namespace = kubernetes_namespace_v1.serving.metadata[0].name
  }
  data = {
    model = "llama-3.1-8b"
    port  = "8000"
  }
}

resource "kubernetes_secret_v1" "token" {
  metadata {
    name      = "hf-token"
    namespace = kubernetes_namespace_v1.serving.metadata[0].name
  }
  data = {
    token = "hf_very_secret_value"
  }
}

resource "kubernetes_service_account" "runner" {
  metadata {
    name      = "runner"
    namespace = kubernetes_namespace_v1.serving.metadata[0].name
  }
  image_pull_secret {
    name = "registry"
  }
}

resource "kubernetes_cron_job_v1" "nightly" {
  metadata {
    name      = "nightly-eval"
    namespace = kubernetes_namespace_v1.serving.metadata[0].name
  }
  spec {
    schedule           = "0 3 * * *"
    timezone           = "Etc/UTC"
    concurrency_policy = "Forbid"
    job_template {
      metadata {}
      spec {
        backoff_limit              = 2
        ttl_seconds_after_finished = "3600"
        template {
          metadata {}
          spec {
            restart_policy = "OnFailure"
            container {
              name    = "eval"
              image   = "eval:1"
              command = ["python", "-m", "eval"]
            }
          }
        }
      }
    }
  }
}

resource "kubernetes_manifest" "quota" {
  manifest = {
    apiVersion = "v1"
    kind       = "ResourceQuota"
    metadata = {
      name      = "gpus"
      namespace = kubernetes_namespace_v1.serving.metadata[0].name
    }
    spec = {
      hard = { "requests.nvidia.com/gpu" = "8" }
    }
  }
}
"#;

const NS: &str = "/api/v1/namespaces/serving";
const CM: &str = "/api/v1/namespaces/serving/configmaps/settings";
const SECRET: &str = "/api/v1/namespaces/serving/secrets/hf-token";
const SA: &str = "/api/v1/namespaces/serving/serviceaccounts/runner";
const QUOTA: &str = "/api/v1/namespaces/serving/resourcequotas/gpus";
const CRON: &str = "/apis/batch/v1/namespaces/serving/cronjobs/nightly-eval";

fn decode(b64: &Value) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_str().expect("base64 string"))
        .expect("base64");
    String::from_utf8(bytes).expect("utf-8")
}

#[test]
fn core_objects_are_created_drift_is_put_back_and_destroy_leaves_nothing() {
    let kmock = Kmock::start();
    let dir = stack(&[("main.tf", &format!("{}{CORE}", provider(&kmock)))]);
    let d = dir.path();

    let apply = plinth(d, &["apply", "--auto-approve"]);
    ok(&apply, "apply");
    assert!(
        !apply.stdout.contains("hf_very_secret_value")
            && !apply.stderr.contains("hf_very_secret_value"),
        "the secret's value was printed:\n{}",
        apply.stdout
    );

    let ns = kmock.get(NS).expect("namespace");
    assert_eq!(ns["metadata"]["labels"], json!({"team": "ml"}));
    assert_eq!(ns["apiVersion"], "v1");
    let cm = kmock.get(CM).expect("config map");
    assert_eq!(cm["data"], json!({"model": "llama-3.1-8b", "port": "8000"}));
    assert_eq!(cm["metadata"]["namespace"], "serving");
    let secret = kmock.get(SECRET).expect("secret");
    assert_eq!(decode(&secret["data"]["token"]), "hf_very_secret_value");
    let sa = kmock.get(SA).expect("service account");
    assert_eq!(sa["imagePullSecrets"], json!([{"name": "registry"}]));
    let quota = kmock.get(QUOTA).expect("quota");
    assert_eq!(quota["spec"]["hard"]["requests.nvidia.com/gpu"], "8");
    let cron = kmock.get(CRON).expect("cron job");
    assert_eq!(cron["spec"]["schedule"], "0 3 * * *");
    assert_eq!(cron["spec"]["timeZone"], "Etc/UTC");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let job = &cron["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["ttlSecondsAfterFinished"], 3600);
    assert_eq!(job["template"]["spec"]["restartPolicy"], "OnFailure");
    assert_eq!(job["template"]["spec"]["containers"][0]["image"], "eval:1");

    // The state never holds the secret's value in plain sight of `show`.
    let show = plinth(d, &["state", "show", "kubernetes_secret_v1.token"]);
    ok(&show, "state show");
    assert!(
        !show.stdout.contains("hf_very_secret_value"),
        "{}",
        show.stdout
    );

    assert_eq!(plan_code(d).0, 0, "a second plan has changes");

    // Server-filled fields and labels a controller adds never show as changes.
    kmock.patch(
        CM,
        &json!({"metadata": {"uid": "abc", "labels": {"added-by": "controller"}}}),
    );
    assert_eq!(plan_code(d).0, 0, "server-filled fields showed as drift");

    // An edit outside plinth is drift, and apply puts it back.
    kmock.patch(CM, &json!({"data": {"model": "edited", "extra": "x"}}));
    kmock.patch(
        QUOTA,
        &json!({"spec": {"hard": {"requests.nvidia.com/gpu": "64"}}}),
    );
    let (code, plan) = plan_code(d);
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("kubernetes_config_map_v1.settings"), "{plan}");
    assert!(plan.contains("kubernetes_manifest.quota"), "{plan}");
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply after drift",
    );
    assert_eq!(
        kmock.get(CM).expect("config map")["data"],
        json!({"model": "llama-3.1-8b", "port": "8000"})
    );
    assert_eq!(
        kmock.get(QUOTA).expect("quota")["spec"]["hard"]["requests.nvidia.com/gpu"],
        "8"
    );

    // Deleted outside plinth: planned as a create, and re-created.
    kmock.delete(SECRET);
    let (code, plan) = plan_code(d);
    assert_eq!(code, 2);
    assert!(
        plan.contains("kubernetes_secret_v1.token will be created"),
        "{plan}"
    );
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply after delete",
    );
    assert!(kmock.get(SECRET).is_some());
    assert_eq!(plan_code(d).0, 0);

    // A namespace change replaces; a data change updates in place.
    kmock.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}),
    );
    let moved = CORE
        .replace(
            "namespace = kubernetes_namespace_v1.serving.metadata[0].name\n  }\n  data = {\n    model",
            "namespace = \"other\"\n  }\n  data = {\n    model",
        )
        .replace("hf_very_secret_value", "hf_rotated_value");
    std::fs::write(d.join("main.tf"), format!("{}{moved}", provider(&kmock))).expect("write");
    let plan = plinth(d, &["plan"]);
    ok(&plan, "plan");
    assert!(
        plan.stdout
            .contains("kubernetes_config_map_v1.settings must be replaced"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("kubernetes_secret_v1.token will be updated in-place"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("hf_rotated_value"), "{}", plan.stdout);
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply the move");
    assert!(kmock.get(CM).is_none(), "the old config map is left");
    assert!(kmock
        .get("/api/v1/namespaces/other/configmaps/settings")
        .is_some());
    assert_eq!(
        decode(&kmock.get(SECRET).expect("secret")["data"]["token"]),
        "hf_rotated_value"
    );

    ok(&plinth(d, &["destroy", "--auto-approve"]), "destroy");
    for path in [
        NS,
        SECRET,
        SA,
        QUOTA,
        "/api/v1/namespaces/other/configmaps/settings",
    ] {
        assert!(kmock.get(path).is_none(), "{path} is left after destroy");
    }
}

#[test]
fn existing_objects_import_by_id_and_plan_no_changes() {
    let kmock = Kmock::start();
    kmock.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "serving"}}),
    );
    kmock.post(
        "/api/v1/namespaces/serving/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "serving"},
                "data": {"model": "llama"}}),
    );
    let config = format!(
        "{}{}",
        provider(&kmock),
        r#"
resource "kubernetes_namespace_v1" "serving" {
  metadata {
    name = "serving"
  }
}

resource "kubernetes_config_map_v1" "settings" {
  metadata {
    name      = "settings"
    namespace = "serving"
  }
  data = {
    model = "llama"
  }
}

resource "kubernetes_manifest" "settings" {
  manifest = {
    apiVersion = "v1"
    kind       = "ConfigMap"
    metadata   = { name = "settings", namespace = "serving" }
    data       = { model = "llama" }
  }
}
"#
    );
    let dir = stack(&[("main.tf", &config)]);
    let d = dir.path();
    ok(
        &plinth(d, &["import", "kubernetes_namespace_v1.serving", "serving"]),
        "import namespace",
    );
    ok(
        &plinth(
            d,
            &[
                "import",
                "kubernetes_config_map_v1.settings",
                "serving/settings",
            ],
        ),
        "import config map",
    );
    ok(
        &plinth(
            d,
            &[
                "import",
                "kubernetes_manifest.settings",
                "apiVersion=v1,kind=ConfigMap,namespace=serving,name=settings",
            ],
        ),
        "import manifest",
    );
    let plan = plinth(d, &["plan"]);
    ok(&plan, "plan");
    assert!(
        !plan.stdout.contains("kubernetes_namespace_v1.serving will"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan
            .stdout
            .contains("kubernetes_config_map_v1.settings will"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    // The imported manifest owns no field yet: the first apply writes the
    // configuration's and erases nothing.
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply");
    assert_eq!(plan_code(d).0, 0);
    assert!(
        plinth(
            d,
            &[
                "import",
                "kubernetes_config_map_v1.settings",
                "serving/missing"
            ]
        )
        .code
            != 0
    );
    let bad = plinth(
        d,
        &["import", "kubernetes_manifest.other", "kind=ConfigMap"],
    );
    assert_ne!(bad.code, 0);
}

/// Stands in for the Job controller: marks each Job complete (or failed, when its
/// name says so) a moment after it appears, recording when it first saw each Job and
/// when it completed it.
struct JobController {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<SeenJob>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone)]
struct SeenJob {
    name: String,
    /// When the list that first held it was read.
    listed: Instant,
    completed: Instant,
}

impl JobController {
    fn start(url: &str, namespace: &str) -> JobController {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, log) = (stop.clone(), seen.clone());
        let url = url.to_string();
        let ns = namespace.to_string();
        let thread = std::thread::spawn(move || {
            let kmock = Kmock::attach(&url);
            let jobs = format!("/apis/batch/v1/namespaces/{ns}/jobs");
            while !s.load(Ordering::SeqCst) {
                let listed = Instant::now();
                let items = kmock
                    .get(&jobs)
                    .and_then(|l| l["items"].as_array().cloned())
                    .unwrap_or_default();
                for job in items {
                    let name = job["metadata"]["name"].as_str().unwrap_or("").to_string();
                    if log
                        .lock()
                        .expect("log")
                        .iter()
                        .any(|j: &SeenJob| j.name == name)
                    {
                        continue;
                    }
                    std::thread::sleep(Duration::from_millis(300));
                    let status = if name.contains("broken") {
                        json!({"status": {"failed": 1, "conditions": [
                            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                             "message": "Job has reached the specified backoff limit"}]}})
                    } else {
                        json!({"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}})
                    };
                    kmock.patch(&format!("{jobs}/{name}/status"), &status);
                    log.lock().expect("log").push(SeenJob {
                        name,
                        listed,
                        completed: Instant::now(),
                    });
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        JobController {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    fn order(&self) -> Vec<String> {
        self.seen
            .lock()
            .expect("log")
            .iter()
            .map(|j| j.name.clone())
            .collect()
    }
}

impl Drop for JobController {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn job(name: &str, after: Option<&str>, extra: &str) -> String {
    let depends = after
        .map(|a| format!("depends_on = [kubernetes_job_v1.{a}]"))
        .unwrap_or_default();
    format!(
        r#"
resource "kubernetes_job_v1" "{name}" {{
  {depends}
  metadata {{
    name      = "{name}"
    namespace = "pipeline"
  }}
  spec {{
    backoff_limit = 1
    template {{
      metadata {{
        labels = {{ step = "{name}" }}
      }}
      spec {{
        restart_policy = "Never"
        container {{
          name    = "{name}"
          image   = "trainer:1"
          command = ["python", "-m", "{name}"]
          resources {{
            limits = {{ "nvidia.com/gpu" = "1" }}
          }}
        }}
      }}
    }}
  }}
  wait_for_completion = true
  {extra}
}}
"#
    )
}

#[test]
fn jobs_run_as_pipeline_steps_in_dependency_order_and_a_failed_step_stops_the_rest() {
    let kmock = Kmock::start();
    kmock.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pipeline"}}),
    );
    let controller = JobController::start(&kmock.url, "pipeline");
    let config = format!(
        "{}{}{}{}",
        provider(&kmock),
        job("prepare", None, ""),
        job("finetune", Some("prepare"), ""),
        job("evaluate", Some("finetune"), ""),
    );
    let dir = stack(&[("main.tf", &config)]);
    let d = dir.path();
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply");
    assert_eq!(controller.order(), ["prepare", "finetune", "evaluate"]);
    let seen = controller.seen.lock().expect("log").clone();
    // Each step was created only after the one before it had completed: no list
    // that was read before a step completed held the next one.
    for pair in seen.windows(2) {
        assert!(
            pair[1].listed >= pair[0].completed,
            "{} was created before {} completed",
            pair[1].name,
            pair[0].name
        );
    }
    let finetune = kmock
        .get("/apis/batch/v1/namespaces/pipeline/jobs/finetune")
        .expect("job");
    assert_eq!(
        finetune["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
            ["nvidia.com/gpu"],
        "1"
    );
    assert_eq!(
        finetune["spec"]["template"]["spec"]["restartPolicy"],
        "Never"
    );
    assert_eq!(plan_code(d).0, 0, "a second plan has changes");

    // A step that fails stops the steps after it; what ran stays in state.
    let broken = format!(
        "{}{}{}",
        provider(&kmock),
        job("broken", None, ""),
        job("after-broken", Some("broken"), ""),
    );
    let dir2 = stack(&[("main.tf", &broken)]);
    let run = plinth(dir2.path(), &["apply", "--auto-approve"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("Job failed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("BackoffLimitExceeded"),
        "{}",
        run.stderr
    );
    assert!(kmock
        .get("/apis/batch/v1/namespaces/pipeline/jobs/after-broken")
        .is_none());
    drop(controller);

    // Nobody completes the Job: apply gives up at the timeout with a clear error.
    let lonely = format!(
        "{}{}",
        provider(&kmock),
        job("lonely", None, "timeouts {\n    create = \"2s\"\n  }"),
    );
    let dir3 = stack(&[("main.tf", &lonely)]);
    let started = Instant::now();
    let run = plinth(dir3.path(), &["apply", "--auto-approve"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("did not finish within 2s"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(30));

    ok(&plinth(d, &["destroy", "--auto-approve"]), "destroy");
    assert!(kmock
        .get("/apis/batch/v1/namespaces/pipeline/jobs/prepare")
        .is_none());
}

#[test]
fn a_custom_resource_is_applied_waited_on_and_read_back() {
    let dir = tempfile::tempdir().expect("dir");
    let argo = dir.path().join("argo.json");
    std::fs::write(
        &argo,
        json!([{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "argoproj.io/v1alpha1",
                "resources": [{"name": "workflows", "singularName": "workflow", "namespaced": true,
                               "kind": "Workflow", "verbs": ["create", "delete", "get", "list", "patch", "watch"]}]}])
        .to_string(),
    )
    .expect("write");
    let kmock = Kmock::with_resources(&[&argo]);
    let config = format!(
        "{}{}",
        provider(&kmock),
        r#"
resource "kubernetes_manifest" "eval" {
  manifest = {
    apiVersion = "argoproj.io/v1alpha1"
    kind       = "Workflow"
    metadata   = { name = "nightly-eval", namespace = "default" }
    spec = {
      entrypoint = "eval"
      templates  = [{ name = "eval", container = { image = "eval:1", command = ["python", "-m", "eval"] } }]
    }
  }
  computed_fields = ["status"]
  wait {
    fields = { "status.phase" = "Succeeded|Completed" }
  }
  timeouts {
    create = "30s"
  }
}

output "phase" {
  value = kubernetes_manifest.eval.object.status.phase
}
"#
    );
    std::fs::write(dir.path().join("main.tf"), config).expect("write");
    let path = "/apis/argoproj.io/v1alpha1/namespaces/default/workflows/nightly-eval";
    let done = Arc::new(AtomicBool::new(false));
    let url = kmock.url.clone();
    let flag = done.clone();
    let controller = std::thread::spawn(move || {
        let kmock = Kmock::attach(&url);
        while !flag.load(Ordering::SeqCst) {
            if kmock.get(path).is_some() {
                kmock.patch(path, &json!({"status": {"phase": "Succeeded"}}));
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    let d = dir.path();
    let apply = plinth(d, &["apply", "--auto-approve"]);
    done.store(true, Ordering::SeqCst);
    let _ = controller.join();
    ok(&apply, "apply");
    let wf = kmock.get(path).expect("workflow");
    assert_eq!(wf["spec"]["entrypoint"], "eval");
    assert_eq!(wf["spec"]["templates"][0]["container"]["image"], "eval:1");
    let out = plinth(d, &["output", "--raw", "phase"]);
    ok(&out, "output");
    assert_eq!(out.stdout.trim(), "Succeeded");
    // A status that moves on is no change to make (a computed field): only the
    // output that reads it changes.
    kmock.patch(path, &json!({"status": {"phase": "Running"}}));
    let (_, plan) = plan_code(d);
    assert!(
        !plan.contains("will be") && !plan.contains("must be"),
        "{plan}"
    );
    assert!(
        plan.contains("phase = \"Succeeded\" -> \"Running\""),
        "{plan}"
    );
    ok(&plinth(d, &["destroy", "--auto-approve"]), "destroy");
    assert!(kmock.get(path).is_none());
}

#[test]
fn bad_input_is_refused_at_its_line_and_state_is_left_alone() {
    let kmock = Kmock::start();
    let good = format!(
        "{}{}",
        provider(&kmock),
        r#"
resource "kubernetes_config_map_v1" "a" {
  metadata {
    name = "a"
  }
  data = { k = "v" }
}
"#
    );
    let dir = stack(&[("main.tf", &good)]);
    let d = dir.path();
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply");
    let before = plinth(d, &["state", "pull"]).stdout;

    let cases = [
        (
            "no kind",
            "resource \"kubernetes_manifest\" \"x\" {\n  manifest = {\n    apiVersion = \"v1\"\n    metadata   = { name = \"x\" }\n  }\n}\n",
            "The manifest has no kind",
            "main.tf:",
        ),
        (
            "a Job that restarts",
            "resource \"kubernetes_job_v1\" \"j\" {\n  metadata {\n    name = \"j\"\n  }\n  spec {\n    template {\n      metadata {}\n      spec {\n        restart_policy = \"Always\"\n        container {\n          name  = \"c\"\n          image = \"i\"\n        }\n      }\n    }\n  }\n}\n",
            "restart_policy",
            "main.tf:",
        ),
        (
            "an unknown type",
            "resource \"kubernetes_deployment_v9\" \"x\" {}\n",
            "does not support resource type",
            "main.tf:",
        ),
    ];
    for (what, extra, message, place) in cases {
        std::fs::write(d.join("main.tf"), format!("{good}{extra}")).expect("write");
        let plan = plinth(d, &["apply", "--auto-approve"]);
        assert_ne!(plan.code, 0, "{what} was accepted");
        assert!(plan.stderr.contains(message), "{what}: {}", plan.stderr);
        assert!(plan.stderr.contains(place), "{what}: {}", plan.stderr);
        assert_eq!(
            plinth(d, &["state", "pull"]).stdout,
            before,
            "{what} changed state"
        );
    }

    // A cluster that cannot be reached is an error naming it, not an empty plan.
    let unreachable = good.replace(&kmock.url, "http://127.0.0.1:9");
    std::fs::write(d.join("main.tf"), unreachable).expect("write");
    let plan = plinth(d, &["plan"]);
    assert_ne!(plan.code, 0);
    assert!(
        plan.stderr.contains("Cannot reach the Kubernetes API"),
        "{}",
        plan.stderr
    );
    assert_eq!(plinth(d, &["state", "pull"]).stdout, before);
}

#[test]
fn the_provider_reaches_the_cluster_by_kubeconfig_context_and_environment() {
    let kmock = Kmock::start();
    let dir = tempfile::tempdir().expect("dir");
    let kubeconfig = kmock.kubeconfig(dir.path());
    let body = r#"
resource "kubernetes_config_map_v1" "a" {
  metadata {
    name = "by-kubeconfig"
  }
  data = { k = "v" }
}
"#;
    let header = r#"terraform {
  required_providers {
    kubernetes = { source = "plinth/kubernetes" }
  }
}
"#;
    let file = format!(
        "{header}provider \"kubernetes\" {{\n  config_path    = \"{}\"\n  config_context = \"kmock\"\n}}\n{body}",
        kubeconfig.display()
    );
    std::fs::write(dir.path().join("main.tf"), file).expect("write");
    ok(
        &plinth(dir.path(), &["apply", "--auto-approve"]),
        "apply by kubeconfig",
    );
    assert!(kmock
        .get("/api/v1/namespaces/default/configmaps/by-kubeconfig")
        .is_some());

    // A context the file does not have is an error at config_context.
    let wrong = format!(
        "{header}provider \"kubernetes\" {{\n  config_path    = \"{}\"\n  config_context = \"nope\"\n}}\n{body}",
        kubeconfig.display()
    );
    std::fs::write(dir.path().join("main.tf"), wrong).expect("write");
    let plan = plinth(dir.path(), &["plan"]);
    assert_ne!(plan.code, 0);
    assert!(
        plan.stderr.contains("No such kubeconfig context"),
        "{}",
        plan.stderr
    );

    // KUBE_HOST and KUBE_TOKEN with an empty provider block.
    let env_dir = stack(&[(
        "main.tf",
        &format!(
            "{header}provider \"kubernetes\" {{}}\n{}",
            body.replace("by-kubeconfig", "by-env")
        ),
    )]);
    let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args([
            "-C",
            env_dir.path().to_str().expect("path"),
            "--no-color",
            "apply",
            "--auto-approve",
        ])
        .env("PLINTH_PLUGIN_DIR", kubernetes_provider_dir())
        .env("KUBE_HOST", &kmock.url)
        .env("KUBE_TOKEN", "t")
        .output()
        .expect("run plinth");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(kmock
        .get("/api/v1/namespaces/default/configmaps/by-env")
        .is_some());
}

#[test]
fn the_nodes_data_source_is_the_clusters_gpu_inventory() {
    let kmock = Kmock::start();
    let node = |name: &str, product: Option<&str>, gpus: Option<&str>| {
        let mut labels = json!({"kubernetes.io/hostname": name});
        if let Some(p) = product {
            labels["nvidia.com/gpu.product"] = json!(p);
        }
        let mut allocatable = json!({"cpu": "8", "memory": "32Gi"});
        if let Some(g) = gpus {
            allocatable["nvidia.com/gpu"] = json!(g);
        }
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
               "spec": {"taints": if gpus.is_some() {
                   json!([{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}])
               } else { json!([]) }},
               "status": {"allocatable": allocatable, "capacity": allocatable}})
    };
    kmock.post("/api/v1/nodes", &node("cpu-1", None, None));
    kmock.post("/api/v1/nodes", &node("h100-1", Some("H100"), Some("8")));
    kmock.post("/api/v1/nodes", &node("a10g-1", Some("A10G"), Some("1")));
    kmock.post("/api/v1/nodes", &node("a10g-2", Some("A10G"), Some("1")));
    let config = format!(
        "{}{}",
        provider(&kmock),
        r#"
data "kubernetes_nodes" "all" {}

data "kubernetes_nodes" "h100" {
  metadata {
    labels = { "nvidia.com/gpu.product" = "H100" }
  }
}

output "total" {
  value = data.kubernetes_nodes.all.allocatable_gpus
}
output "by_product" {
  value = data.kubernetes_nodes.all.gpus_by_product
}
output "h100_nodes" {
  value = [for n in data.kubernetes_nodes.h100.nodes : n.metadata.name]
}
output "taints" {
  value = data.kubernetes_nodes.h100.nodes[0].spec.taints[0].effect
}
"#
    );
    let dir = stack(&[("main.tf", &config)]);
    ok(&plinth(dir.path(), &["apply", "--auto-approve"]), "apply");
    let out = plinth(dir.path(), &["output", "--json"]);
    ok(&out, "output");
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["total"]["value"], 10);
    assert_eq!(v["by_product"]["value"], json!({"A10G": 2, "H100": 8}));
    assert_eq!(v["h100_nodes"]["value"], json!(["h100-1"]));
    assert_eq!(v["taints"]["value"], "NoSchedule");
}

#[test]
fn terraform_applies_and_destroys_the_same_objects_through_the_same_binary() {
    let kmock = Kmock::start();
    let dir = tempfile::tempdir().expect("dir");
    let stack_dir = dir.path().join("stack");
    std::fs::create_dir(&stack_dir).expect("stack");
    let pipeline = format!(
        "{}{}{}",
        job("prepare", None, ""),
        job("evaluate", Some("prepare"), ""),
        r#"
resource "kubernetes_llm_service" "chat" {
  name      = "llama-8b"
  namespace = kubernetes_namespace_v1.serving.metadata[0].name
  model     = "meta-llama/Llama-3.1-8B-Instruct"
  replicas  = 2
  gpu {
    type  = "A10G"
    count = 1
  }
  vllm {
    max_model_len          = 8192
    gpu_memory_utilization = 0.85
  }
  hf_token_secret {
    name = kubernetes_secret_v1.token.metadata[0].name
    key  = "token"
  }
}
"#
    );
    std::fs::write(
        stack_dir.join("main.tf"),
        format!("{}{CORE}{pipeline}", provider(&kmock))
            .replace("namespace = \"pipeline\"", "namespace = \"serving\""),
    )
    .expect("main.tf");
    let cli = dir.path().join("cli.tfrc");
    std::fs::write(
        &cli,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"plinth/kubernetes\" = {:?}\n  }}\n  direct {{}}\n}}\n",
            kubernetes_provider_dir().display().to_string()
        ),
    )
    .expect("cli config");
    let terraform = |args: &[&str]| crate::common::terraform(&stack_dir, &cli, args);
    let controller = JobController::start(&kmock.url, "serving");
    let _deployments = crate::llm_service::DeploymentController::start(&kmock.url);
    let apply = terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(apply.stdout.contains("9 added"), "{}", apply.stdout);
    let chat = kmock
        .get("/apis/apps/v1/namespaces/serving/deployments/llama-8b")
        .expect("the LLM service's deployment");
    assert_eq!(chat["spec"]["replicas"], 2);
    assert!(kmock
        .get("/api/v1/namespaces/serving/services/llama-8b")
        .is_some());
    assert_eq!(controller.order(), ["prepare", "evaluate"]);
    assert_eq!(
        kmock.get(CM).expect("config map")["data"],
        json!({"model": "llama-3.1-8b", "port": "8000"})
    );
    assert_eq!(
        decode(&kmock.get(SECRET).expect("secret")["data"]["token"]),
        "hf_very_secret_value"
    );
    assert!(kmock.get(QUOTA).is_some());
    let again = terraform(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let destroy = terraform(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(destroy.code, 0, "{}\n{}", destroy.stdout, destroy.stderr);
    for path in [
        NS,
        CM,
        SECRET,
        SA,
        QUOTA,
        CRON,
        "/apis/batch/v1/namespaces/serving/jobs/prepare",
        "/apis/apps/v1/namespaces/serving/deployments/llama-8b",
        "/api/v1/namespaces/serving/services/llama-8b",
    ] {
        assert!(kmock.get(path).is_none(), "{path} is left after destroy");
    }
}

#[test]
fn a_manifest_waits_for_its_rollout_and_a_new_name_replaces_it() {
    let kmock = Kmock::start();
    let deployment = |name: &str| {
        format!(
            r#"
resource "kubernetes_manifest" "web" {{
  manifest = {{
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = {{ name = "{name}", namespace = "default" }}
    spec = {{
      replicas = 2
      selector = {{ matchLabels = {{ app = "web" }} }}
      template = {{
        metadata = {{ labels = {{ app = "web" }} }}
        spec     = {{ containers = [{{ name = "web", image = "nginx:1.27" }}] }}
      }}
    }}
  }}
  wait {{
    rollout = true
  }}
  timeouts {{
    create = "20s"
  }}
}}
"#
        )
    };
    let controller = crate::llm_service::DeploymentController::start(&kmock.url);
    let dir = stack(&[(
        "main.tf",
        &format!("{}{}", provider(&kmock), deployment("web")),
    )]);
    let d = dir.path();
    let started = Instant::now();
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply");
    // apply returned only once the stand-in controller reported the rollout.
    assert!(started.elapsed() >= Duration::from_millis(200));
    let web = kmock
        .get("/apis/apps/v1/namespaces/default/deployments/web")
        .expect("deployment");
    assert_eq!(web["status"]["availableReplicas"], 2);
    assert_eq!(plan_code(d).0, 0, "the controller's status showed as drift");

    std::fs::write(
        d.join("main.tf"),
        format!("{}{}", provider(&kmock), deployment("web-v2")),
    )
    .expect("write");
    let plan = plinth(d, &["plan"]);
    ok(&plan, "plan");
    assert!(
        plan.stdout
            .contains("kubernetes_manifest.web must be replaced"),
        "{}",
        plan.stdout
    );
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply the new name",
    );
    assert!(kmock
        .get("/apis/apps/v1/namespaces/default/deployments/web")
        .is_none());
    assert!(kmock
        .get("/apis/apps/v1/namespaces/default/deployments/web-v2")
        .is_some());
    drop(controller);
    ok(&plinth(d, &["destroy", "--auto-approve"]), "destroy");
    assert!(kmock
        .get("/apis/apps/v1/namespaces/default/deployments/web-v2")
        .is_none());
}

#[test]
fn a_providers_warnings_reach_the_plan_at_their_line() {
    // No cluster is called to plan a creation.
    let dir = stack(&[(
        "main.tf",
        r#"terraform {
  required_providers {
    kubernetes = { source = "plinth/kubernetes" }
  }
}

provider "kubernetes" {
  host = "http://127.0.0.1:9"
}

resource "kubernetes_llm_service" "custom" {
  name      = "custom"
  namespace = "serving"
  model     = "acme/house-model"
  gpu {
    type  = "A10G"
    count = 1
  }
}
"#,
    )]);
    let plan = plinth(dir.path(), &["plan"]);
    ok(&plan, "plan");
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert!(all.contains("GPU fit not checked"), "{all}");
    assert!(all.contains("main.tf:14"), "{all}");
    assert!(all.contains("1 to add"), "{all}");
}
