//! Tainted instances: a create that fails after the object was made (a Job the
//! stand-in controller marks Failed) keeps the object in state marked tainted, the
//! next plan replaces it, and `taint`/`untaint` set and clear the mark; Terraform
//! v1.0.3 marks the same failed Job tainted through the same provider binary.

use crate::common::kube::Kmock;
use crate::common::{kubernetes_provider_dir, stack, Run};

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// plinth against the stack, with plinth/kubernetes (the Kubernetes tests' runner).
fn plinth(dir: &Path, args: &[&str]) -> Run {
    crate::kubernetes::plinth(dir, args)
}

fn ok(run: &Run, what: &str) -> String {
    assert_eq!(
        run.code, 0,
        "{what} failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    run.stdout.clone()
}

/// A stack of one Job, `name`, in the namespace `pipeline`, waited on.
fn job_stack(kmock: &Kmock, name: &str) -> String {
    format!(
        r#"{header}
resource "kubernetes_job_v1" "train" {{
  metadata {{
    name      = "{name}"
    namespace = "pipeline"
  }}
  spec {{
    backoff_limit = 0
    template {{
      metadata {{}}
      spec {{
        restart_policy = "Never"
        container {{
          name    = "train"
          image   = "trainer:1"
          command = ["python", "-m", "train"]
        }}
      }}
    }}
  }}
  wait_for_completion = true
}}
"#,
        header = crate::kubernetes::provider(kmock)
    )
}

/// Stands in for the Job controller: gives each Job without a status one, Failed
/// while `failing` is set and Complete otherwise, and records each it marked.
struct JobController {
    stop: Arc<AtomicBool>,
    failing: Arc<AtomicBool>,
    marked: Arc<Mutex<Vec<(String, bool)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl JobController {
    fn start(url: &str) -> JobController {
        let stop = Arc::new(AtomicBool::new(false));
        let failing = Arc::new(AtomicBool::new(true));
        let marked = Arc::new(Mutex::new(Vec::new()));
        let (s, f, log) = (stop.clone(), failing.clone(), marked.clone());
        let url = url.to_string();
        let thread = std::thread::spawn(move || {
            let kmock = Kmock::attach(&url);
            let jobs = "/apis/batch/v1/namespaces/pipeline/jobs";
            while !s.load(Ordering::SeqCst) {
                let items = kmock
                    .get(jobs)
                    .and_then(|l| l["items"].as_array().cloned())
                    .unwrap_or_default();
                for job in items.iter().filter(|j| j["status"]["conditions"].is_null()) {
                    let name = job["metadata"]["name"].as_str().unwrap_or("").to_string();
                    let failed = f.load(Ordering::SeqCst);
                    let status = if failed {
                        json!({"status": {"failed": 1, "conditions": [
                            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                             "message": "Job has reached the specified backoff limit"}]}})
                    } else {
                        json!({"status": {"succeeded": 1, "conditions": [
                            {"type": "Complete", "status": "True"}]}})
                    };
                    kmock.patch(&format!("{jobs}/{name}/status"), &status);
                    log.lock().expect("log").push((name, failed));
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        JobController {
            stop,
            failing,
            marked,
            thread: Some(thread),
        }
    }

    fn marked(&self) -> Vec<(String, bool)> {
        self.marked.lock().expect("log").clone()
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

fn pipeline_namespace(kmock: &Kmock) {
    kmock.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pipeline"}}),
    );
}

/// The one resource of a `show -json` state.
fn only_resource(show: &str) -> Value {
    let doc: Value = serde_json::from_str(show).expect("show -json");
    let resources = doc["values"]["root_module"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(resources.len(), 1, "{doc}");
    resources[0].clone()
}

const JOB: &str = "/apis/batch/v1/namespaces/pipeline/jobs/train";
const ADDRESS: &str = "kubernetes_job_v1.train";

#[test]
fn a_failed_job_is_kept_tainted_and_the_next_apply_replaces_it() {
    let kmock = Kmock::start();
    pipeline_namespace(&kmock);
    let controller = JobController::start(&kmock.url);
    let dir = stack(&[("main.tf", &job_stack(&kmock, "train"))]);
    let d = dir.path();

    let run = plinth(d, &["apply", "--auto-approve"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains("Job failed"), "{}", run.stderr);
    let job = kmock
        .get(JOB)
        .expect("the failed Job is left in the cluster");
    assert_eq!(job["status"]["conditions"][0]["type"], "Failed");
    let shown = only_resource(&ok(&plinth(d, &["show", "--json"]), "show"));
    assert_eq!(shown["address"], ADDRESS);
    assert_eq!(shown["tainted"], json!(true), "{shown}");
    assert_eq!(shown["values"]["metadata"][0]["name"], "train");
    assert_eq!(
        ok(&plinth(d, &["state", "list"]), "state list").trim(),
        ADDRESS
    );
    let state_show = ok(&plinth(d, &["state", "show", ADDRESS]), "state show");
    assert!(
        state_show.starts_with(&format!("# {ADDRESS}: (tainted)\n")),
        "{state_show}"
    );

    // The controller is fixed: the plan replaces the tainted Job.
    controller.failing.store(false, Ordering::SeqCst);
    let plan = plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains(&format!("# {ADDRESS} is tainted, so must be replaced")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("1 to add, 0 to change, 1 to destroy"),
        "{}",
        plan.stdout
    );
    ok(&plinth(d, &["plan", "--out", "tainted.plan"]), "plan --out");
    let json_plan: Value = serde_json::from_str(&ok(
        &plinth(d, &["show", "--json", "tainted.plan"]),
        "show plan",
    ))
    .expect("JSON plan");
    let change = &json_plan["resource_changes"][0];
    assert_eq!(change["action_reason"], "replace_because_tainted");
    assert_eq!(change["change"]["actions"], json!(["delete", "create"]));
    assert_eq!(
        json_plan["prior_state"]["values"]["root_module"]["resources"][0]["tainted"],
        json!(true)
    );

    let applied = ok(&plinth(d, &["apply", "--auto-approve"]), "apply");
    assert!(
        applied.contains("1 added, 0 changed, 1 destroyed"),
        "{applied}"
    );
    // Deleted and created again: the new Job is the one the controller completed.
    assert_eq!(
        controller.marked(),
        [("train".to_string(), true), ("train".to_string(), false)]
    );
    let job = kmock.get(JOB).expect("the new Job");
    assert_eq!(job["status"]["conditions"][0]["type"], "Complete");
    let shown = only_resource(&ok(&plinth(d, &["show", "--json"]), "show"));
    assert!(shown.get("tainted").is_none(), "{shown}");
    let again = plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

#[test]
fn taint_and_untaint_set_and_clear_the_mark() {
    let kmock = Kmock::start();
    pipeline_namespace(&kmock);
    let controller = JobController::start(&kmock.url);
    controller.failing.store(false, Ordering::SeqCst);
    let dir = stack(&[("main.tf", &job_stack(&kmock, "train"))]);
    let d = dir.path();
    ok(&plinth(d, &["apply", "--auto-approve"]), "apply");

    let tainted = ok(&plinth(d, &["taint", ADDRESS]), "taint");
    assert_eq!(
        tainted.trim(),
        format!("Resource instance {ADDRESS} has been marked as tainted.")
    );
    let shown = only_resource(&ok(&plinth(d, &["show", "--json"]), "show"));
    assert_eq!(shown["tainted"], json!(true));
    let plan = plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("is tainted, so must be replaced"),
        "{}",
        plan.stdout
    );
    // With create_before_destroy the replacement creates first.
    let main = d.join("main.tf");
    let config = std::fs::read_to_string(&main).expect("main.tf");
    let cbd = config.replace(
        "  wait_for_completion = true\n",
        "  wait_for_completion = true\n  lifecycle {\n    create_before_destroy = true\n  }\n",
    );
    assert_ne!(cbd, config);
    std::fs::write(&main, &cbd).expect("main.tf");
    ok(&plinth(d, &["plan", "--out", "cbd.plan"]), "plan --out");
    let json_plan: Value = serde_json::from_str(&ok(
        &plinth(d, &["show", "--json", "cbd.plan"]),
        "show plan",
    ))
    .expect("JSON plan");
    let change = &json_plan["resource_changes"][0];
    assert_eq!(change["action_reason"], "replace_because_tainted");
    assert_eq!(change["change"]["actions"], json!(["create", "delete"]));
    std::fs::write(&main, &config).expect("main.tf");

    let untainted = ok(&plinth(d, &["untaint", ADDRESS]), "untaint");
    assert_eq!(
        untainted.trim(),
        format!("Resource instance {ADDRESS} has been successfully untainted.")
    );
    let plan = plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);

    let again = plinth(d, &["untaint", ADDRESS]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("Resource instance is not tainted"),
        "{}",
        again.stderr
    );
    let missing = plinth(d, &["taint", "kubernetes_job_v1.other"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("no instance kubernetes_job_v1.other in state"),
        "{}",
        missing.stderr
    );
    assert_eq!(
        controller.marked().len(),
        1,
        "taint or untaint changed the Job"
    );
}

#[test]
fn terraform_keeps_the_same_failed_job_tainted() {
    let kmock = Kmock::start();
    pipeline_namespace(&kmock);
    let controller = JobController::start(&kmock.url);
    let dir = tempfile::tempdir().expect("dir");
    let stack_dir = dir.path().join("stack");
    std::fs::create_dir(&stack_dir).expect("stack");
    std::fs::write(stack_dir.join("main.tf"), job_stack(&kmock, "train")).expect("main.tf");
    let cli = dir.path().join("cli.tfrc");
    std::fs::write(
        &cli,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"plinth/kubernetes\" = {:?}\n  }}\n  direct {{}}\n}}\n",
            kubernetes_provider_dir().display().to_string()
        ),
    )
    .expect("cli config");
    let terraform = |args: &[&str]| {
        let out = Command::new(crate::common::installed("terraform-path"))
            .args(args)
            .current_dir(&stack_dir)
            .env("TF_CLI_CONFIG_FILE", &cli)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .output()
            .expect("run terraform");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    let apply = terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(apply.code, 0, "{}", apply.stdout);
    assert!(apply.stderr.contains("Job failed"), "{}", apply.stderr);
    let theirs = only_resource(&ok(&terraform(&["show", "-json"]), "terraform show"));
    assert_eq!(theirs["tainted"], json!(true), "{theirs}");
    let plan = terraform(&["plan", "-no-color", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains(&format!("# {ADDRESS} is tainted, so must be replaced")),
        "{}",
        plan.stdout
    );

    // plinth on the same failing stack (the Job gone first) records what Terraform
    // records: the same instance, the same values, tainted.
    kmock.delete(JOB);
    let ours_dir = stack(&[("main.tf", &job_stack(&kmock, "train"))]);
    let run = plinth(ours_dir.path(), &["apply", "--auto-approve"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let ours = only_resource(&ok(&plinth(ours_dir.path(), &["show", "--json"]), "show"));
    for field in ["address", "mode", "type", "name", "tainted", "values"] {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
    let first_line = |out: String| out.lines().next().unwrap_or_default().to_string();
    assert_eq!(
        first_line(ok(
            &plinth(ours_dir.path(), &["state", "show", ADDRESS]),
            "state show"
        )),
        first_line(ok(
            &terraform(&["state", "show", "-no-color", ADDRESS]),
            "terraform state show"
        ))
    );
    // taint and untaint say what Terraform says.
    for command in ["untaint", "taint"] {
        let theirs = ok(
            &terraform(&[command, "-no-color", ADDRESS]),
            &format!("terraform {command}"),
        );
        let ours = ok(&plinth(ours_dir.path(), &[command, ADDRESS]), command);
        assert_eq!(ours.trim(), theirs.trim(), "{command}");
    }
    drop(controller);
}

/// Stands in for the Deployment controller of namespace `serving`: once `ready` is
/// set, reports every replica of each Deployment available.
struct DeploymentController {
    stop: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DeploymentController {
    fn start(url: &str) -> DeploymentController {
        let stop = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(AtomicBool::new(false));
        let (s, r) = (stop.clone(), ready.clone());
        let url = url.to_string();
        let thread = std::thread::spawn(move || {
            let kmock = Kmock::attach(&url);
            let list = "/apis/apps/v1/namespaces/serving/deployments";
            while !s.load(Ordering::SeqCst) {
                let items = kmock
                    .get(list)
                    .and_then(|l| l["items"].as_array().cloned())
                    .unwrap_or_default();
                for d in items
                    .iter()
                    .filter(|d| d["status"]["availableReplicas"].is_null())
                {
                    if !r.load(Ordering::SeqCst) {
                        break;
                    }
                    let name = d["metadata"]["name"].as_str().unwrap_or("");
                    let n = d["spec"]["replicas"].as_i64().unwrap_or(1);
                    kmock.patch(
                        &format!("{list}/{name}/status"),
                        &json!({"status": {"replicas": n, "availableReplicas": n, "updatedReplicas": n}}),
                    );
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        DeploymentController {
            stop,
            ready,
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

fn serving(kmock: &Kmock, resource: &str) -> String {
    format!(
        r#"{header}{resource}"#,
        header = crate::kubernetes::provider(kmock)
    )
}

/// Applies `config` while no Deployment becomes available: the apply fails at the
/// wait, `address` is kept tainted and `deployment` exists; then with the controller
/// ready the next apply replaces it and the mark is gone.
fn a_rollout_that_times_out_is_replaced_next_time(
    kmock: &Kmock,
    config: &str,
    address: &str,
    deployment: &str,
) {
    kmock.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "serving"}}),
    );
    let controller = DeploymentController::start(&kmock.url);
    let dir = stack(&[("main.tf", config)]);
    let d = dir.path();
    let run = plinth(d, &["apply", "--auto-approve"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("did not finish within 2s"),
        "{}",
        run.stderr
    );
    assert!(kmock.get(deployment).is_some(), "the Deployment is left");
    let shown = only_resource(&ok(&plinth(d, &["show", "--json"]), "show"));
    assert_eq!(shown["address"], address);
    assert_eq!(shown["tainted"], json!(true), "{shown}");

    controller.ready.store(true, Ordering::SeqCst);
    let plan = ok(&plinth(d, &["plan"]), "plan");
    assert!(
        plan.contains(&format!("# {address} is tainted, so must be replaced")),
        "{plan}"
    );
    let applied = ok(&plinth(d, &["apply", "--auto-approve"]), "apply");
    assert!(
        applied.contains("1 added, 0 changed, 1 destroyed"),
        "{applied}"
    );
    let live = kmock.get(deployment).expect("the new Deployment");
    assert_eq!(live["status"]["availableReplicas"], json!(1));
    let shown = only_resource(&ok(&plinth(d, &["show", "--json"]), "show"));
    assert!(shown.get("tainted").is_none(), "{shown}");
}

#[test]
fn a_manifest_whose_wait_timed_out_is_kept_tainted_and_replaced() {
    let kmock = Kmock::start();
    let config = serving(
        &kmock,
        r#"
resource "kubernetes_manifest" "web" {
  manifest = {
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = { name = "web", namespace = "serving" }
    spec = {
      replicas = 1
      selector = { matchLabels = { app = "web" } }
      template = {
        metadata = { labels = { app = "web" } }
        spec     = { containers = [{ name = "web", image = "nginx:1.27" }] }
      }
    }
  }
  wait {
    rollout = true
  }
  timeouts {
    create = "2s"
  }
}
"#,
    );
    a_rollout_that_times_out_is_replaced_next_time(
        &kmock,
        &config,
        "kubernetes_manifest.web",
        "/apis/apps/v1/namespaces/serving/deployments/web",
    );
}

#[test]
fn an_llm_service_whose_rollout_timed_out_is_kept_tainted_and_replaced() {
    let kmock = Kmock::start();
    let config = serving(
        &kmock,
        r#"
resource "kubernetes_llm_service" "small" {
  name      = "llama-8b"
  namespace = "serving"
  model     = "meta-llama/Llama-3.1-8B-Instruct"
  replicas  = 1

  gpu {
    type  = "A10G"
    count = 1
  }

  timeouts {
    create = "2s"
  }
}
"#,
    );
    a_rollout_that_times_out_is_replaced_next_time(
        &kmock,
        &config,
        "kubernetes_llm_service.small",
        "/apis/apps/v1/namespaces/serving/deployments/llama-8b",
    );
}
