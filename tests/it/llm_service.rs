//! `kubernetes_llm_service` against kmock, checked through the Kubernetes API (not
//! plinth's state): the objects a service owns carry vLLM's arguments, GPUs, shm,
//! cache, probes and scheduling; `replicas` and `vllm` update in place and a
//! `namespace` change replaces; drift is put back; import plans no change; destroy
//! leaves nothing; bad input is refused at its line with state unchanged; a rollout
//! nobody finishes times out, and the next apply adopts what it left. A test thread
//! stands in for the Deployment controller. Last, a staged apply: the Kubernetes
//! provider's `host` comes from a resource created in the same apply.

use crate::common::kube::Kmock;
use crate::common::stack;
use crate::kubernetes::{ok, plan_code, plinth, provider};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Stands in for the Deployment controller: a moment after a Deployment appears or
/// its spec changes, reports all of its replicas available.
pub(crate) struct DeploymentController {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DeploymentController {
    pub(crate) fn start(url: &str) -> DeploymentController {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let url = url.to_string();
        let thread = std::thread::spawn(move || {
            let kmock = Kmock::attach(&url);
            let mut seen: BTreeMap<String, Value> = BTreeMap::new();
            while !flag.load(Ordering::SeqCst) {
                let items = kmock
                    .get("/apis/apps/v1/deployments")
                    .and_then(|l| l["items"].as_array().cloned())
                    .unwrap_or_default();
                for d in items {
                    let (Some(ns), Some(name)) = (
                        d["metadata"]["namespace"].as_str(),
                        d["metadata"]["name"].as_str(),
                    ) else {
                        continue;
                    };
                    let key = format!("{ns}/{name}");
                    let r = d["spec"]["replicas"].as_i64().unwrap_or(1);
                    let available = d["status"]["availableReplicas"].as_i64() == Some(r);
                    if available && seen.get(&key) == Some(&d["spec"]) {
                        continue;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                    let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}/status");
                    // Deleted in the meantime: nothing to report.
                    if kmock.get(&path).is_none() {
                        continue;
                    }
                    kmock.patch(
                        &path,
                        &json!({"status": {"replicas": r, "readyReplicas": r,
                                           "availableReplicas": r, "updatedReplicas": r}}),
                    );
                    seen.insert(key, d["spec"].clone());
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        DeploymentController {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for DeploymentController {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const SMALL: &str = r#"
resource "kubernetes_llm_service" "small" {
  name      = "llama-8b"
  namespace = "serving"
  model     = "meta-llama/Llama-3.1-8B-Instruct"
  replicas  = 2
  gpu {
    type = "A10G"
  }
  vllm {
    max_model_len = 4096
    dtype         = "bfloat16"
  }
  hf_token_secret {
    name = "hf-token"
    key  = "token"
  }
  timeouts {
    create = "60s"
    update = "60s"
    delete = "60s"
  }
}
"#;

const LARGE: &str = r#"
resource "kubernetes_llm_service" "large" {
  name      = "llama-70b"
  namespace = "serving"
  model     = "meta-llama/Llama-3.1-70B-Instruct"
  gpu {
    type  = "H100"
    count = 4
  }
  autoscaling {
    min_replicas           = 1
    max_replicas           = 3
    target_cpu_utilization = 70
  }
  vllm {
    max_model_len          = 8192
    gpu_memory_utilization = 0.85
    dtype                  = "bfloat16"
    extra_args             = ["--enable-prefix-caching"]
  }
  hf_token_secret {
    name = "hf-token"
    key  = "token"
  }
  model_cache {
    size          = "200Gi"
    storage_class = "gp3"
    access_mode   = "ReadWriteMany"
  }
  shm_size = "40Gi"
  timeouts {
    create = "60s"
    update = "60s"
    delete = "60s"
  }
}
"#;

const OUTPUTS: &str = r#"
output "large" {
  value = {
    endpoint             = kubernetes_llm_service.large.endpoint
    tensor_parallel_size = kubernetes_llm_service.large.tensor_parallel_size
    gpu_memory_gib       = kubernetes_llm_service.large.gpu_memory_gib
    weights_gib          = kubernetes_llm_service.large.weights_gib
  }
}

output "small_endpoint" {
  value = kubernetes_llm_service.small.endpoint
}
"#;

const TIMEOUTS: &str = r#"
  timeouts {
    create = "60s"
    update = "60s"
    delete = "60s"
  }
"#;

const APPS: &str = "/apis/apps/v1/namespaces";

fn deployment(ns: &str, name: &str) -> String {
    format!("{APPS}/{ns}/deployments/{name}")
}

fn service(ns: &str, name: &str) -> String {
    format!("/api/v1/namespaces/{ns}/services/{name}")
}

fn autoscaler(ns: &str, name: &str) -> String {
    format!("/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{name}")
}

fn budget(ns: &str, name: &str) -> String {
    format!("/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/{name}")
}

fn claim(ns: &str, name: &str) -> String {
    format!("/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}-model-cache")
}

/// Every object a service named `name` in `ns` can own.
fn owned(ns: &str, name: &str) -> [String; 5] {
    [
        deployment(ns, name),
        service(ns, name),
        autoscaler(ns, name),
        budget(ns, name),
        claim(ns, name),
    ]
}

fn args(d: &Value) -> Vec<String> {
    d["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect()
}

/// The value after `flag` in the container's arguments.
fn flag(d: &Value, name: &str) -> Option<String> {
    let args = args(d);
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

fn get(kmock: &Kmock, path: &str) -> Value {
    kmock
        .get(path)
        .unwrap_or_else(|| panic!("{path} does not exist"))
}

/// The 1-based line of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line holds {needle:?}"))
        + 1
}

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("main.tf"), text).expect("write main.tf");
}

#[test]
fn services_are_created_with_vllms_pod_and_a_second_plan_has_no_changes() {
    let kmock = Kmock::start();
    let _controller = DeploymentController::start(&kmock.url);
    let dir = stack(&[(
        "main.tf",
        &format!("{}{SMALL}{LARGE}{OUTPUTS}", provider(&kmock)),
    )]);
    let d = dir.path();
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply");

    // The 8B model on one A10G, two replicas.
    let small = get(&kmock, &deployment("serving", "llama-8b"));
    assert_eq!(small["spec"]["replicas"], 2);
    assert_eq!(
        args(&small),
        [
            "--model",
            "meta-llama/Llama-3.1-8B-Instruct",
            "--tensor-parallel-size",
            "1",
            "--max-model-len",
            "4096",
            "--gpu-memory-utilization",
            "0.90",
            "--dtype",
            "bfloat16",
            "--port",
            "8000"
        ]
    );
    let pod = &small["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "vllm/vllm-openai:v0.6.3");
    assert_eq!(c["resources"]["limits"]["nvidia.com/gpu"], "1");
    assert_eq!(
        pod["nodeSelector"],
        json!({"nvidia.com/gpu.product": "A10G"})
    );
    assert_eq!(
        pod["tolerations"],
        json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    );
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}},
            {"name": "model-cache", "emptyDir": {}},
        ])
    );
    assert!(kmock.get(&autoscaler("serving", "llama-8b")).is_none());
    assert!(kmock.get(&claim("serving", "llama-8b")).is_none());
    assert!(kmock.get(&budget("serving", "llama-8b")).is_some());

    // The 70B model on four H100, autoscaled, with a model cache.
    let large = get(&kmock, &deployment("serving", "llama-70b"));
    assert_eq!(
        flag(&large, "--model").as_deref(),
        Some("meta-llama/Llama-3.1-70B-Instruct")
    );
    assert_eq!(flag(&large, "--tensor-parallel-size").as_deref(), Some("4"));
    assert_eq!(flag(&large, "--max-model-len").as_deref(), Some("8192"));
    assert_eq!(
        flag(&large, "--gpu-memory-utilization").as_deref(),
        Some("0.85")
    );
    assert_eq!(flag(&large, "--dtype").as_deref(), Some("bfloat16"));
    assert_eq!(flag(&large, "--port").as_deref(), Some("8000"));
    assert_eq!(
        args(&large).last().map(String::as_str),
        Some("--enable-prefix-caching")
    );
    // Set once, to min_replicas: the autoscaler owns it from here.
    assert_eq!(large["spec"]["replicas"], 1);
    let pod = &large["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["resources"]["limits"]["nvidia.com/gpu"], "4");
    assert_eq!(
        c["env"],
        json!([{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "token"}}}])
    );
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "40Gi"}},
            {"name": "model-cache", "persistentVolumeClaim": {"claimName": "llama-70b-model-cache"}},
        ])
    );
    assert_eq!(
        c["volumeMounts"],
        json!([
            {"name": "shm", "mountPath": "/dev/shm"},
            {"name": "model-cache", "mountPath": "/root/.cache/huggingface"},
        ])
    );
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        assert_eq!(
            c[probe]["httpGet"],
            json!({"path": "/health", "port": 8000}),
            "{probe}"
        );
    }
    // 130.4 GiB of weights at 100 MB/s, plus 5 minutes to load: 171 checks 10 s apart.
    assert_eq!(c["startupProbe"]["failureThreshold"], 171);
    assert_eq!(c["startupProbe"]["periodSeconds"], 10);
    assert_eq!(
        pod["nodeSelector"],
        json!({"nvidia.com/gpu.product": "H100"})
    );
    assert_eq!(
        pod["tolerations"],
        json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    );
    let pvc = get(&kmock, &claim("serving", "llama-70b"));
    assert_eq!(
        pvc["spec"],
        json!({"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "200Gi"}},
               "storageClassName": "gp3"})
    );
    let hpa = get(&kmock, &autoscaler("serving", "llama-70b"));
    assert_eq!(hpa["spec"]["minReplicas"], 1);
    assert_eq!(hpa["spec"]["maxReplicas"], 3);
    assert_eq!(
        hpa["spec"]["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama-70b"})
    );
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"],
        json!({"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}})
    );
    assert!(kmock.get(&budget("serving", "llama-70b")).is_some());

    for name in ["llama-8b", "llama-70b"] {
        let svc = get(&kmock, &service("serving", name));
        assert_eq!(
            svc["spec"]["ports"],
            json!([{"name": "http", "port": 80, "targetPort": 8000, "protocol": "TCP"}]),
            "{name}"
        );
        assert_eq!(
            svc["spec"]["selector"]["app.kubernetes.io/name"], name,
            "{name}"
        );
    }

    let out = plinth(d, &["output", "--json"]);
    ok(&out, "output");
    let v: Value = serde_json::from_str(&out.stdout).expect("output json");
    assert_eq!(
        v["large"]["value"],
        json!({
            "endpoint": "http://llama-70b.serving.svc.cluster.local",
            "tensor_parallel_size": 4,
            "gpu_memory_gib": 320,
            "weights_gib": 130.4,
        })
    );
    assert_eq!(
        v["small_endpoint"]["value"],
        "http://llama-8b.serving.svc.cluster.local"
    );

    let (code, plan) = plan_code(d);
    assert_eq!(code, 0, "a second plan has changes:\n{plan}");

    // The autoscaler owns the 70B's replicas: scaled, it is no drift; its autoscaler
    // deleted is, and is re-created without resetting the replicas.
    let large_path = deployment("serving", "llama-70b");
    kmock.patch(
        &format!("{large_path}/scale"),
        &json!({"spec": {"replicas": 3}}),
    );
    let (code, plan) = plan_code(d);
    assert_eq!(
        code, 0,
        "the autoscaler's replicas showed as drift:\n{plan}"
    );
    kmock.delete(&autoscaler("serving", "llama-70b"));
    let (code, plan) = plan_code(d);
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("in_sync"), "{plan}");
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply after the delete",
    );
    assert_eq!(
        get(&kmock, &autoscaler("serving", "llama-70b"))["spec"]["maxReplicas"],
        3
    );
    assert_eq!(get(&kmock, &large_path)["spec"]["replicas"], 3);
    assert_eq!(plan_code(d).0, 0);
}

#[test]
fn replicas_and_vllm_update_in_place_and_a_namespace_change_replaces() {
    let kmock = Kmock::start();
    let _controller = DeploymentController::start(&kmock.url);
    let config = format!("{}{SMALL}", provider(&kmock));
    let dir = stack(&[("main.tf", &config)]);
    let d = dir.path();
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply");

    let changed = config
        .replace("replicas  = 2", "replicas  = 1")
        .replace("max_model_len = 4096", "max_model_len = 2048");
    write(d, &changed);
    let plan = plinth(d, &["plan"]);
    ok(&plan, "plan");
    assert!(
        plan.stdout
            .contains("kubernetes_llm_service.small will be updated in-place"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("replicas             = 2 -> 1"),
        "{}",
        plan.stdout
    );
    // Blocks that do not change are not shown as changes (the state's tuple and the
    // plan's list of the same objects are one value).
    for unchanged in [
        "~ gpu",
        "~ hf_token_secret",
        "~ autoscaling",
        "~ model_cache",
    ] {
        assert!(
            !plan.stdout.contains(unchanged),
            "{unchanged}:\n{}",
            plan.stdout
        );
    }
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply the update");
    let small = get(&kmock, &deployment("serving", "llama-8b"));
    assert_eq!(small["spec"]["replicas"], 1);
    assert_eq!(flag(&small, "--max-model-len").as_deref(), Some("2048"));
    // One replica: no disruption budget any more.
    assert!(kmock.get(&budget("serving", "llama-8b")).is_none());
    assert_eq!(plan_code(d).0, 0);

    let moved = changed.replace("namespace = \"serving\"", "namespace = \"inference\"");
    write(d, &moved);
    let plan = plinth(d, &["plan"]);
    ok(&plan, "plan");
    assert!(
        plan.stdout
            .contains("kubernetes_llm_service.small must be replaced"),
        "{}",
        plan.stdout
    );
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply the move");
    for path in owned("serving", "llama-8b") {
        assert!(kmock.get(&path).is_none(), "{path} is left after the move");
    }
    let moved_d = get(&kmock, &deployment("inference", "llama-8b"));
    assert_eq!(moved_d["metadata"]["namespace"], "inference");
    assert_eq!(flag(&moved_d, "--max-model-len").as_deref(), Some("2048"));
    assert!(kmock.get(&service("inference", "llama-8b")).is_some());
    assert_eq!(plan_code(d).0, 0);
}

#[test]
fn drift_is_shown_and_put_back_and_a_deleted_deployment_comes_back() {
    let kmock = Kmock::start();
    let _controller = DeploymentController::start(&kmock.url);
    let dir = stack(&[("main.tf", &format!("{}{SMALL}", provider(&kmock)))]);
    let d = dir.path();
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply");
    let path = deployment("serving", "llama-8b");

    // Scaled outside plinth: a replicas change, put back.
    kmock.patch(&format!("{path}/scale"), &json!({"spec": {"replicas": 5}}));
    let (code, plan) = plan_code(d);
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("replicas") && plan.contains("5 -> 2"),
        "{plan}"
    );
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply after scaling",
    );
    assert_eq!(get(&kmock, &path)["spec"]["replicas"], 2);
    assert_eq!(plan_code(d).0, 0);

    // The container's arguments edited: out of sync, and written again.
    let live = get(&kmock, &path);
    let mut container = live["spec"]["template"]["spec"]["containers"][0].clone();
    container["args"] = json!(["--model", "someone/else-8B"]);
    kmock.patch(
        &path,
        &json!({"spec": {"template": {"spec": {"containers": [container]}}}}),
    );
    let (code, plan) = plan_code(d);
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("kubernetes_llm_service.small will be updated in-place"),
        "{plan}"
    );
    assert!(plan.contains("in_sync"), "{plan}");
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply after the edit",
    );
    assert_eq!(
        flag(&get(&kmock, &path), "--model").as_deref(),
        Some("meta-llama/Llama-3.1-8B-Instruct")
    );
    assert_eq!(plan_code(d).0, 0);

    // The Service deleted: out of sync, and re-created.
    kmock.delete(&service("serving", "llama-8b"));
    let (code, plan) = plan_code(d);
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("in_sync"), "{plan}");
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply after the delete",
    );
    assert!(kmock.get(&service("serving", "llama-8b")).is_some());
    assert_eq!(plan_code(d).0, 0);

    // The Deployment deleted: planned as a create, and re-created.
    kmock.delete(&path);
    let (code, plan) = plan_code(d);
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("kubernetes_llm_service.small will be created"),
        "{plan}"
    );
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply after deletion",
    );
    assert_eq!(get(&kmock, &path)["spec"]["replicas"], 2);
    assert_eq!(plan_code(d).0, 0);

    ok(&plinth(d, &["destroy", "--auto-approve"]), "destroy");
    for path in owned("serving", "llama-8b") {
        assert!(kmock.get(&path).is_none(), "{path} is left after destroy");
    }
}

#[test]
fn an_existing_service_imports_by_id_and_plans_no_changes() {
    let kmock = Kmock::start();
    let _controller = DeploymentController::start(&kmock.url);
    let timed = format!("{}{SMALL}{LARGE}", provider(&kmock));
    let made = stack(&[("main.tf", &timed)]);
    ok(&plinth(made.path(), &["apply", "--auto-approve"]), "apply");

    // Another stack, same configuration, empty state: import both.
    // Without `timeouts`, which no object records.
    let config = timed.replace(TIMEOUTS, "\n");
    let dir = stack(&[("main.tf", &config)]);
    let d = dir.path();
    ok(
        &plinth(
            d,
            &["import", "kubernetes_llm_service.small", "serving/llama-8b"],
        ),
        "import small",
    );
    ok(
        &plinth(
            d,
            &[
                "import",
                "kubernetes_llm_service.large",
                "serving/llama-70b",
            ],
        ),
        "import large",
    );
    let (code, plan) = plan_code(d);
    assert_eq!(code, 0, "an imported service plans changes:\n{plan}");
    // `timeouts` lives in state only: with it in the configuration the plan is an
    // update that adds it and changes no object.
    write(d, &timed);
    let (code, plan) = plan_code(d);
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("+ timeouts"), "{plan}");
    assert!(
        plan.contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{plan}"
    );
    let before = get(&kmock, &deployment("serving", "llama-70b"));
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply the timeouts",
    );
    assert_eq!(
        get(&kmock, &deployment("serving", "llama-70b"))["spec"],
        before["spec"]
    );
    assert_eq!(plan_code(d).0, 0);
    // FIXME: an argument set to its default reads back from the cluster as unset
    // (`shm_size` is optional, not computed), so an imported service whose
    // configuration states the default plans an update that changes no object.
    write(
        d,
        &timed.replace(
            "  replicas  = 2\n",
            "  replicas  = 2\n  shm_size  = \"8Gi\"\n",
        ),
    );
    let (code, plan) = plan_code(d);
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("+ shm_size             = \"8Gi\""), "{plan}");

    // Not an LLM service's Deployment: refused, naming why.
    kmock.post(
        &format!("{APPS}/serving/deployments"),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "serving"},
                "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}),
    );
    let bad = plinth(d, &["import", "kubernetes_llm_service.web", "serving/web"]);
    assert_ne!(bad.code, 0);
    let missing = plinth(
        d,
        &["import", "kubernetes_llm_service.small", "serving/nope"],
    );
    assert_ne!(missing.code, 0);
}

#[test]
fn destroy_leaves_nothing() {
    let kmock = Kmock::start();
    let _controller = DeploymentController::start(&kmock.url);
    let dir = stack(&[("main.tf", &format!("{}{SMALL}{LARGE}", provider(&kmock)))]);
    let d = dir.path();
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply");
    assert!(kmock.get(&claim("serving", "llama-70b")).is_some());
    ok(&plinth(d, &["destroy", "--auto-approve"]), "destroy");
    for name in ["llama-8b", "llama-70b"] {
        for path in owned("serving", name) {
            assert!(kmock.get(&path).is_none(), "{path} is left after destroy");
        }
    }
    let list = plinth(d, &["state", "list"]);
    ok(&list, "state list");
    assert_eq!(list.stdout.trim(), "");
}

#[test]
fn bad_input_is_refused_at_its_line_and_state_is_left_alone() {
    let kmock = Kmock::start();
    let _controller = DeploymentController::start(&kmock.url);
    let good = format!("{}{SMALL}", provider(&kmock));
    let dir = stack(&[("main.tf", &good)]);
    let d = dir.path();
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply");
    let before = plinth(d, &["state", "pull"]).stdout;

    let service = |body: &str| {
        format!(
            "\nresource \"kubernetes_llm_service\" \"bad\" {{\n  name  = \"bad\"\n  model = \"meta-llama/Llama-3.1-70B-Instruct\"\n{body}}}\n"
        )
    };
    let cases = [
        (
            "a 70B model on one A10G",
            service("  gpu {\n    type  = \"A10G\"\n    count = 1\n  }\n"),
            "count = 1",
            vec![
                "The model does not fit the GPUs",
                "the smallest count that fits is 8",
                "set gpu.count = 8",
            ],
        ),
        (
            "three GPUs",
            service("  gpu {\n    type  = \"H100\"\n    count = 3\n  }\n"),
            "count = 3",
            vec!["Invalid GPU count", "gpu.count is 3; it must be 1, 2, 4 or 8"],
        ),
        (
            "an unknown GPU type",
            service("  gpu {\n    type  = \"H1000\"\n    count = 4\n  }\n"),
            "\"H1000\"",
            vec!["Unknown GPU type", "Known types:", "A10G", "H100", "L40S"],
        ),
        (
            "replicas with autoscaling",
            service("  replicas = 2\n  gpu {\n    type  = \"H100\"\n    count = 4\n  }\n  autoscaling {\n    max_replicas = 3\n  }\n"),
            "autoscaling {",
            vec!["Conflicting replica settings"],
        ),
    ];
    for (what, extra, at, messages) in cases {
        let text = format!("{good}{extra}");
        write(d, &text);
        let line = line_of(&text, at);
        for command in [&["plan"][..], &["apply", "--auto-approve"]] {
            let run = plinth(d, command);
            assert_ne!(run.code, 0, "{what} was accepted by {command:?}");
            for m in &messages {
                assert!(
                    run.stderr.contains(m),
                    "{what}: no {m:?} in\n{}",
                    run.stderr
                );
            }
            assert!(
                run.stderr.contains(&format!("main.tf:{line}:")),
                "{what}: not at line {line}:\n{}",
                run.stderr
            );
            assert_eq!(
                plinth(d, &["state", "pull"]).stdout,
                before,
                "{what} changed state"
            );
        }
    }
    assert!(kmock.get(&deployment("default", "bad")).is_none());
}

#[test]
fn a_rollout_nobody_finishes_times_out_and_the_next_apply_adopts_what_it_left() {
    let kmock = Kmock::start();
    let config =
        format!("{}{SMALL}", provider(&kmock)).replace("create = \"60s\"", "create = \"3s\"");
    let dir = stack(&[("main.tf", &config)]);
    let d = dir.path();
    let started = Instant::now();
    let run = plinth(d, &["apply", "--auto-approve"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains("Timed out"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Deployment serving/llama-8b to roll out did not finish within 3s"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    // What the timed-out apply created is left in the cluster.
    assert!(kmock.get(&deployment("serving", "llama-8b")).is_some());
    assert!(kmock.get(&service("serving", "llama-8b")).is_some());

    let _controller = DeploymentController::start(&kmock.url);
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply with a controller",
    );
    let live = get(&kmock, &deployment("serving", "llama-8b"));
    assert_eq!(live["status"]["availableReplicas"], 2);
    assert_eq!(plan_code(d).0, 0);
}

#[test]
fn a_provider_whose_host_comes_from_the_same_apply_is_applied_in_stages() {
    let kmock = Kmock::start();
    let _controller = DeploymentController::start(&kmock.url);
    let config = format!(
        r#"terraform {{
  required_providers {{
    kubernetes = {{ source = "plinth/kubernetes" }}
  }}
}}

resource "terraform_data" "cluster" {{
  input = "{}"
}}

provider "kubernetes" {{
  host  = terraform_data.cluster.output
  token = "kmock-token"
}}

resource "kubernetes_namespace_v1" "serving" {{
  metadata {{
    name = "serving"
  }}
}}

resource "kubernetes_config_map_v1" "settings" {{
  metadata {{
    name      = "settings"
    namespace = kubernetes_namespace_v1.serving.metadata[0].name
  }}
  data = {{ model = "llama-3.1-8b" }}
}}
{SMALL}"#,
        kmock.url
    );
    let dir = stack(&[("main.tf", &config)]);
    let d = dir.path();

    let plan = plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("# terraform_data.cluster will be created"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Note: this plan is partial: 3 resources wait for provider configuration"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "kubernetes_namespace_v1.serving (waits for provider \"kubernetes\" argument host (from terraform_data.cluster))"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        !plan
            .stdout
            .contains("kubernetes_llm_service.small will be created"),
        "{}",
        plan.stdout
    );

    let apply = plinth(d, &["apply", "--auto-approve"]);
    ok(&apply, "apply");
    let out = apply.stdout;
    let stage2 = out.find("planning stage 2").expect(&out);
    let (first, second) = out.split_at(stage2);
    assert!(
        first.contains("# terraform_data.cluster will be created"),
        "{out}"
    );
    assert!(first.contains("partial"), "{out}");
    for address in [
        "kubernetes_namespace_v1.serving",
        "kubernetes_config_map_v1.settings",
        "kubernetes_llm_service.small",
    ] {
        assert!(
            second.contains(&format!("# {address} will be created")),
            "{address}: {out}"
        );
    }
    assert_eq!(out.matches("Apply complete!").count(), 2, "{out}");
    assert!(kmock.get("/api/v1/namespaces/serving").is_some());
    assert_eq!(
        get(&kmock, "/api/v1/namespaces/serving/configmaps/settings")["data"],
        json!({"model": "llama-3.1-8b"})
    );
    assert!(kmock.get(&deployment("serving", "llama-8b")).is_some());

    let (code, plan) = plan_code(d);
    assert_eq!(code, 0, "{plan}");
    assert!(!plan.contains("partial"), "{plan}");

    ok(&plinth(d, &["destroy", "--auto-approve"]), "destroy");
    assert!(kmock.get("/api/v1/namespaces/serving").is_none());
    assert!(kmock
        .get("/api/v1/namespaces/serving/configmaps/settings")
        .is_none());
    for path in owned("serving", "llama-8b") {
        assert!(kmock.get(&path).is_none(), "{path} is left after destroy");
    }
    let list = plinth(d, &["state", "list"]);
    ok(&list, "state list");
    assert_eq!(list.stdout.trim(), "");
}

#[test]
fn autoscaling_comes_and_goes_in_place_and_a_new_cache_class_replaces() {
    let kmock = Kmock::start();
    let _controller = DeploymentController::start(&kmock.url);
    let config = format!("{}{SMALL}", provider(&kmock));
    let dir = stack(&[("main.tf", &config)]);
    let d = dir.path();
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply");

    let scaled = config.replace(
        "  replicas  = 2\n",
        "  autoscaling {\n    max_replicas = 4\n  }\n",
    );
    write(d, &scaled);
    let (code, plan) = plan_code(d);
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("kubernetes_llm_service.small will be updated in-place"),
        "{plan}"
    );
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply autoscaling",
    );
    let hpa = get(&kmock, &autoscaler("serving", "llama-8b"));
    assert_eq!(hpa["spec"]["minReplicas"], 1);
    assert_eq!(hpa["spec"]["maxReplicas"], 4);
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );
    // The replicas running stay until the autoscaler decides.
    assert_eq!(
        get(&kmock, &deployment("serving", "llama-8b"))["spec"]["replicas"],
        2
    );
    assert!(kmock.get(&budget("serving", "llama-8b")).is_some());
    assert_eq!(plan_code(d).0, 0);

    let single = config.replace("replicas  = 2", "replicas  = 1");
    write(d, &single);
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply one replica",
    );
    assert!(kmock.get(&autoscaler("serving", "llama-8b")).is_none());
    assert!(kmock.get(&budget("serving", "llama-8b")).is_none());
    assert_eq!(
        get(&kmock, &deployment("serving", "llama-8b"))["spec"]["replicas"],
        1
    );
    assert_eq!(plan_code(d).0, 0);

    let cached = |class: &str| {
        single.replace(
            "  timeouts {",
            &format!("  model_cache {{\n    size          = \"100Gi\"\n    storage_class = \"{class}\"\n  }}\n  timeouts {{"),
        )
    };
    write(d, &cached("gp3"));
    let (_, plan) = plan_code(d);
    assert!(
        plan.contains("kubernetes_llm_service.small will be updated in-place"),
        "{plan}"
    );
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply the cache");
    let pvc = get(&kmock, &claim("serving", "llama-8b"));
    assert_eq!(pvc["spec"]["storageClassName"], "gp3");
    assert_eq!(
        get(&kmock, &deployment("serving", "llama-8b"))["spec"]["template"]["spec"]["volumes"][1],
        json!({"name": "model-cache", "persistentVolumeClaim": {"claimName": "llama-8b-model-cache"}})
    );

    write(d, &cached("io2"));
    let (_, plan) = plan_code(d);
    assert!(
        plan.contains("kubernetes_llm_service.small must be replaced"),
        "{plan}"
    );
    ok(
        &plinth(d, &["apply", "--auto-approve"]),
        "apply the new class",
    );
    assert_eq!(
        get(&kmock, &claim("serving", "llama-8b"))["spec"]["storageClassName"],
        "io2"
    );
    assert!(kmock.get(&deployment("serving", "llama-8b")).is_some());
    assert_eq!(plan_code(d).0, 0);
}
