//! Staged apply: a provider configuration that comes from a resource of the same
//! stack. plinth/local's `root` (the directory its relative filenames are written
//! under) comes from `plinth_data.cluster`, which only an apply makes known; the
//! file the second stage writes proves that stage was configured with that value.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{local_provider_dir, Run};

const STACK: &str = r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
}
resource "plinth_data" "cluster" {
  input = "${path.module}/cluster"
}
provider "local" {
  root = plinth_data.cluster.output
}
resource "local_file" "app" {
  filename = "app.txt"
  content  = "hello"
}
resource "plinth_data" "after" {
  input = local_file.app.id
}
"#;

/// Runs plinth in `dir` with plinth/local found beside it, `stdin` as its input.
fn run(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().expect("path"), "--no-color"])
        .args(args)
        .env("PLINTH_PLUGIN_DIR", local_provider_dir())
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run plinth");
    if let Some(mut input) = child.stdin.take() {
        // A plinth that stops asking early closes its end; that is no failure here.
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("wait for plinth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn plinth(dir: &Path, args: &[&str]) -> Run {
    run(dir, args, "")
}

fn ok(r: Run) -> Run {
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    r
}

fn listed(dir: &Path) -> Vec<String> {
    ok(plinth(dir, &["state", "list"]))
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

const EVERYTHING: [&str; 3] = ["local_file.app", "plinth_data.after", "plinth_data.cluster"];

#[test]
fn apply_plans_and_applies_both_stages_in_one_run() {
    let dir = common::main_tf(STACK);
    let out = ok(plinth(dir.path(), &["apply", "--auto-approve"])).stdout;
    // Stage 1's plan: the cluster, and the deferred instances with their reasons.
    let stage2 = out.find("planning stage 2").expect(&out);
    let (first, second) = out.split_at(stage2);
    assert!(
        first.contains("# plinth_data.cluster will be created"),
        "{out}"
    );
    assert!(!first.contains("# local_file.app will be created"), "{out}");
    assert!(
        first.contains("Note: this plan is partial: 2 resources wait for provider configuration"),
        "{out}"
    );
    assert!(
        first.contains(
            "local_file.app (waits for provider \"local\" argument root (from plinth_data.cluster))"
        ),
        "{out}"
    );
    assert!(
        first.contains("plinth_data.after (depends on deferred local_file.app)"),
        "{out}"
    );
    // Stage 2's plan and apply, through the provider configured with the cluster's
    // output: the file lies under that directory.
    assert!(second.contains("# local_file.app will be created"), "{out}");
    assert!(
        second.contains("# plinth_data.after will be created"),
        "{out}"
    );
    assert!(!second.contains("partial"), "{out}");
    assert_eq!(out.matches("Apply complete!").count(), 2, "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cluster/app.txt")).expect("written under root"),
        "hello"
    );
    assert!(!dir.path().join("app.txt").exists());
    assert_eq!(listed(dir.path()), EVERYTHING);
    let again = plinth(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    assert!(!again.stdout.contains("partial"), "{}", again.stdout);
}

#[test]
fn interactive_apply_asks_for_each_stage() {
    let dir = common::main_tf(STACK);
    let both = ok(run(dir.path(), &["apply"], "yes\nyes\n"));
    assert_eq!(
        both.stdout.matches("Enter a value").count(),
        2,
        "{}",
        both.stdout
    );
    assert_eq!(listed(dir.path()), EVERYTHING);
}

#[test]
fn declining_the_second_stage_keeps_the_first() {
    let dir = common::main_tf(STACK);
    let r = run(dir.path(), &["apply"], "yes\nno\n");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stdout.matches("Enter a value").count(), 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("Apply cancelled at stage 2: the stages before it were applied and saved; 2 change(s) of stage 2 were not made."),
        "{}",
        r.stderr
    );
    assert_eq!(listed(dir.path()), ["plinth_data.cluster"]);
    assert!(!dir.path().join("cluster/app.txt").exists());
    // The next apply starts from there: one stage is left.
    let rest = ok(plinth(dir.path(), &["apply", "--auto-approve"])).stdout;
    assert!(!rest.contains("partial"), "{rest}");
    assert_eq!(listed(dir.path()), EVERYTHING);
}

#[test]
fn plan_shows_stage_one_and_exits_2_with_detailed_exitcode() {
    let dir = common::main_tf(STACK);
    let r = plinth(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("this plan is partial: 2 resources"),
        "{}",
        r.stdout
    );
    assert!(!dir.path().join(".plinth/workspaces").exists() || listed(dir.path()).is_empty());
}

#[test]
fn the_machine_readable_ui_logs_each_deferred_instance() {
    let dir = common::main_tf(STACK);
    let out = ok(plinth(dir.path(), &["apply", "-json", "-auto-approve"])).stdout;
    let messages: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON message a line"))
        .collect();
    let logged: Vec<&str> = messages
        .iter()
        .filter(|m| m["type"] == "log")
        .filter_map(|m| m["@message"].as_str())
        .collect();
    assert_eq!(
        logged,
        [
            "local_file.app: Deferred to the next stage (waits for provider \"local\" argument root (from plinth_data.cluster))",
            "plinth_data.after: Deferred to the next stage (depends on deferred local_file.app)",
            "2 deferred resource(s) can be planned now that their provider configuration is known: planning stage 2.",
        ]
    );
    let summaries = messages
        .iter()
        .filter(|m| m["type"] == "change_summary")
        .count();
    assert_eq!(summaries, 4, "a plan and an apply summary per stage");
    assert_eq!(listed(dir.path()), EVERYTHING);
}

#[test]
fn a_saved_partial_plan_says_so_and_applies_its_stage() {
    let dir = common::main_tf(STACK);
    ok(plinth(dir.path(), &["plan", "--out", "stage.plan"]));
    let shown = ok(plinth(dir.path(), &["show", "stage.plan"])).stdout;
    assert!(
        shown.contains("Note: this plan is partial: 2 resources wait for provider configuration"),
        "{shown}"
    );
    assert!(
        shown.contains("local_file.app (waits for provider"),
        "{shown}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(plinth(dir.path(), &["show", "-json", "stage.plan"])).stdout)
            .expect("JSON plan");
    assert_eq!(json["complete"], false);
    assert_eq!(json["applyable"], true);
    let deferred = json["deferred_changes"]
        .as_array()
        .expect("deferred_changes");
    let entries: Vec<(&str, &str)> = deferred
        .iter()
        .map(|d| {
            (
                d["resource_change"]["address"].as_str().unwrap_or(""),
                d["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("local_file.app", "provider_config_unknown"),
            ("plinth_data.after", "deferred_prereq")
        ]
    );
    assert_eq!(
        deferred[0]["resource_change"]["provider_name"],
        "registry.terraform.io/plinth/local"
    );
    let changes: Vec<&str> = json["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .filter_map(|c| c["address"].as_str())
        .collect();
    assert_eq!(changes, ["plinth_data.cluster"]);
    // Applying the file applies what it showed, and says what is left.
    let applied = ok(plinth(dir.path(), &["apply", "stage.plan"])).stdout;
    assert!(
        applied.contains("This saved plan was partial: 2 resource(s) still wait"),
        "{applied}"
    );
    assert!(!applied.contains("planning stage 2"), "{applied}");
    assert_eq!(listed(dir.path()), ["plinth_data.cluster"]);
    // The next plan is the second stage, complete.
    ok(plinth(dir.path(), &["plan", "--out", "rest.plan"]));
    let rest: serde_json::Value =
        serde_json::from_str(&ok(plinth(dir.path(), &["show", "-json", "rest.plan"])).stdout)
            .expect("JSON plan");
    assert_eq!(rest["complete"], true);
    assert!(rest.get("deferred_changes").is_none(), "{rest}");
    ok(plinth(dir.path(), &["apply", "rest.plan"]));
    assert_eq!(listed(dir.path()), EVERYTHING);
}

#[test]
fn a_provider_argument_that_stays_unknown_is_an_error_at_its_line() {
    let stack = STACK.replace(
        "root = plinth_data.cluster.output",
        "root = \"${path.module}/${timestamp()}\"",
    );
    let dir = common::main_tf(&stack);
    let r = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("Provider configuration stays unknown"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("main.tf:10:3"), "{}", r.stderr);
    assert!(r.stderr.contains("argument root"), "{}", r.stderr);
    assert!(!dir.path().join(".plinth/workspaces").exists() || listed(dir.path()).is_empty());
}

#[test]
fn an_unknown_that_survives_a_stage_is_an_error_in_the_next() {
    let stack = STACK.replace(
        "root = plinth_data.cluster.output",
        "root = \"${plinth_data.cluster.output}/${timestamp()}\"",
    );
    let dir = common::main_tf(&stack);
    let r = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("planning stage 2"), "{}", r.stdout);
    assert!(
        r.stderr.contains("Provider configuration stays unknown"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("main.tf:10:3"), "{}", r.stderr);
    assert_eq!(listed(dir.path()), ["plinth_data.cluster"]);
}

#[test]
fn target_and_refresh_only_still_behave() {
    let dir = common::main_tf(STACK);
    // Only the cluster is targeted: nothing of the provider is in scope, so
    // nothing is deferred.
    let r = ok(plinth(
        dir.path(),
        &["apply", "--auto-approve", "--target", "plinth_data.cluster"],
    ));
    assert!(!r.stdout.contains("partial"), "{}", r.stdout);
    assert_eq!(listed(dir.path()), ["plinth_data.cluster"]);
    // Targeting the file brings in what its provider configuration comes from,
    // which is known now.
    ok(plinth(
        dir.path(),
        &["apply", "--auto-approve", "--target", "local_file.app"],
    ));
    assert_eq!(
        listed(dir.path()),
        ["local_file.app", "plinth_data.cluster"]
    );
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    // The file changed outside plinth: refresh through the configured provider
    // sees it (plinth/local reads an edited file as gone).
    std::fs::write(dir.path().join("cluster/app.txt"), "edited").expect("edit");
    let refresh = ok(plinth(dir.path(), &["plan", "--refresh-only"])).stdout;
    assert!(refresh.contains("local_file.app"), "{refresh}");
    assert!(refresh.contains("has been deleted"), "{refresh}");
}

#[test]
fn destroy_goes_through_the_provider_before_what_configures_it() {
    let dir = common::main_tf(STACK);
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    let out = ok(plinth(dir.path(), &["destroy", "--auto-approve"])).stdout;
    let file = out
        .find("local_file.app: Destruction complete")
        .expect(&out);
    let cluster = out.find("plinth_data.cluster: Destroying...").expect(&out);
    assert!(file < cluster, "{out}");
    assert!(!dir.path().join("cluster/app.txt").exists());
    assert!(listed(dir.path()).is_empty());
}

/// Objects of a provider whose configuration is unknown (what it comes from is not
/// in state) cannot be destroyed or imported through it: both say so and change
/// nothing.
#[test]
fn destroy_and_import_refuse_an_unknown_provider_configuration() {
    let dir = common::main_tf(STACK);
    let r = plinth(dir.path(), &["import", "local_file.app", "app.txt"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("cannot import local_file.app: the provider \"local\" argument root (from plinth_data.cluster) is unknown"),
        "{}",
        r.stderr
    );
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    ok(plinth(dir.path(), &["state", "rm", "plinth_data.cluster"]));
    let r = plinth(dir.path(), &["destroy", "--auto-approve"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("Provider configuration unknown"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("main.tf:10:3"), "{}", r.stderr);
    assert_eq!(listed(dir.path()), ["local_file.app", "plinth_data.after"]);
    assert!(dir.path().join("cluster/app.txt").exists());
}

/// The cluster is replaced: its `id`, part of the provider's `root`, is unknown in
/// the plan although the provider was configured from state. Its resources wait,
/// and since a plugin process is configured once, the run ends after the stage and
/// the next run configures the provider anew.
#[test]
fn a_stage_that_changes_a_configured_provider_ends_the_run() {
    let stack = r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
}
variable "generation" {
  default = "1"
}
resource "plinth_data" "cluster" {
  input            = "${path.module}/cluster-${var.generation}"
  triggers_replace = var.generation
}
provider "local" {
  root = "${plinth_data.cluster.output}${substr(plinth_data.cluster.id, 0, 0)}"
}
resource "local_file" "app" {
  filename = "app.txt"
  content  = "hello"
}
"#;
    let dir = common::main_tf(stack);
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    assert!(dir.path().join("cluster-1/app.txt").exists());
    let next = ["apply", "--auto-approve", "--var", "generation=2"];
    let out = ok(plinth(dir.path(), &next)).stdout;
    assert!(
        out.contains("# plinth_data.cluster must be replaced"),
        "{out}"
    );
    assert!(
        out.contains("local_file.app (waits for provider \"local\" argument root"),
        "{out}"
    );
    assert!(
        out.contains("1 resource(s) wait for a provider whose configuration this apply changed"),
        "{out}"
    );
    assert!(!out.contains("planning stage 2"), "{out}");
    assert!(!dir.path().join("cluster-2/app.txt").exists());
    let rest = ok(plinth(dir.path(), &next)).stdout;
    assert!(rest.contains("# local_file.app will be created"), "{rest}");
    assert!(dir.path().join("cluster-2/app.txt").exists());
    let again = plinth(
        dir.path(),
        &["plan", "--detailed-exitcode", "--var", "generation=2"],
    );
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

/// An aliased provider configured from a resource of its own provider type:
/// Terraform v1.0.3 configures `local.inner` with the unknown `root` and the
/// provider refuses it; plinth applies `local_file.cluster` first, then the rest.
#[test]
fn terraform_v1_0_3_configures_with_unknowns_where_plinth_stages() {
    let stack = r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
}
resource "local_file" "cluster" {
  filename = "${path.module}/cluster.txt"
  content  = "c"
}
provider "local" {
  alias = "inner"
  root  = "${path.module}/inner-${local_file.cluster.id}"
}
resource "local_file" "app" {
  provider = local.inner
  filename = "app.txt"
  content  = "hello"
}
"#;
    let dir = common::main_tf(stack);
    let config = dir.path().join(".terraformrc");
    std::fs::write(
        &config,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"plinth/local\" = {:?}\n  }}\n  direct {{}}\n}}\n",
            local_provider_dir().display().to_string()
        ),
    )
    .expect("cli config");
    let tf = Command::new(crate::json_plan::terraform_binary())
        .args(["plan", "-no-color", "-input=false"])
        .current_dir(dir.path())
        .env("TF_CLI_CONFIG_FILE", &config)
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("run terraform");
    let tf_err = String::from_utf8_lossy(&tf.stderr);
    assert_eq!(tf.status.code(), Some(1), "{tf_err}");
    assert!(tf_err.contains("Error: Unknown root"), "{tf_err}");
    assert!(tf_err.contains("on main.tf line 12"), "{tf_err}");

    let out = ok(plinth(dir.path(), &["apply", "--auto-approve"])).stdout;
    assert!(
        out.contains("local_file.app (waits for provider \"local.inner\" argument root (from local_file.cluster))"),
        "{out}"
    );
    // The SHA-1 of "c", local_file.cluster's id.
    let app = dir
        .path()
        .join("inner-84a516841ba77a5b4648de2cd0dfcb30ea46dbb4/app.txt");
    assert_eq!(std::fs::read_to_string(app).expect("app.txt"), "hello");
    let again = plinth(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

/// What a provider block comes from may lie in a module (through a local) or be a
/// data source of another provider configuration; a data source of a deferred
/// provider waits too.
#[test]
fn sources_through_modules_and_data_sources_and_deferred_data_sources() {
    let module = r#"resource "plinth_data" "cluster" {
  input = "cluster-dir"
}
output "endpoint" {
  value = plinth_data.cluster.output
}
"#;
    let root = r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
}
module "c" {
  source = "./modules/c"
}
locals {
  root = "${path.module}/${module.c.endpoint}"
}
provider "local" {
  root = local.root
}
provider "local" {
  alias = "plain"
}
provider "local" {
  alias = "second"
  root  = "${path.module}/d-${data.local_file.seed.id}"
}
resource "local_file" "seed" {
  provider = local.plain
  filename = "${path.module}/seed.txt"
  content  = "s"
}
data "local_file" "seed" {
  provider = local.plain
  filename = local_file.seed.filename
}
resource "local_file" "app" {
  filename = "app.txt"
  content  = "hello"
}
data "local_file" "app" {
  filename = local_file.app.filename
}
resource "local_file" "app2" {
  provider = local.second
  filename = "app2.txt"
  content  = data.local_file.app.content
}
"#;
    let dir = common::stack(&[("main.tf", root), ("modules/c/main.tf", module)]);
    ok(plinth(dir.path(), &["init"]));
    let out = ok(plinth(dir.path(), &["apply", "--auto-approve"])).stdout;
    for line in [
        "local_file.app (waits for provider \"local\" argument root (from module.c.plinth_data.cluster))",
        "data.local_file.app (waits for provider \"local\" argument root (from module.c.plinth_data.cluster))",
        "local_file.app2 (waits for provider \"local.second\" argument root (from data.local_file.seed))",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    assert!(out.contains("this plan is partial: 3 resources"), "{out}");
    let seed_id = "a0f1490a20d0211c997b44bc357e1972deab8ae3"; // SHA-1 of "s"
    let app2 = dir.path().join(format!("d-{seed_id}/app2.txt"));
    assert_eq!(std::fs::read_to_string(app2).expect("app2.txt"), "hello");
    assert!(dir.path().join("cluster-dir/app.txt").exists());
    let again = plinth(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

/// The operations layer as another caller drives it, with a provider in this
/// process that records its calls: it is never configured with unknowns and never
/// asked to plan before it is configured.
mod through_the_operation_api {
    use crate::common;

    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use plinth::apply::{ChangeOptions, Progress};
    use plinth::diag::{Diagnostics, Sources};
    use plinth::lang::{Type, Value};
    use plinth::operation::{
        self, Backend, CancelToken, MemoryBackend, Notice, OperationError, Question, RunRequest,
        Store, Summary, View,
    };
    use plinth::plan::deferred::DeferReason;
    use plinth::plan::Plan;
    use plinth::plugin::{
        ApplyRequest, BoxFuture, ObjectState, PlanRequest, PlannedState, Provider,
    };
    use plinth::stack::StackOptions;
    use plinth_state::OutputState;

    /// `cloud_app`: `name` is copied to `url`, prefixed with the provider's `endpoint`.
    #[derive(Default)]
    struct Cloud {
        calls: Mutex<Vec<String>>,
        endpoint: Mutex<Option<String>>,
    }

    fn attr(v: &Value, name: &str) -> Value {
        match v {
            Value::Object(m) => m.get(name).cloned().unwrap_or_else(Value::null),
            _ => Value::null(),
        }
    }

    fn text(v: &Value) -> String {
        v.render().trim_matches('"').to_string()
    }

    impl Cloud {
        fn calls(&self) -> Vec<String> {
            self.calls.lock().expect("calls").clone()
        }

        fn app(&self, id: Value, config: &Value) -> Value {
            let endpoint = self.endpoint.lock().expect("endpoint").clone();
            let url = match endpoint {
                Some(e) => Value::string(format!("{e}/{}", text(&attr(config, "name")))),
                None => Value::Unknown(Type::String),
            };
            Value::Object(BTreeMap::from([
                ("id".to_string(), id),
                ("name".to_string(), attr(config, "name")),
                ("url".to_string(), url),
            ]))
        }
    }

    impl Provider for Cloud {
        fn configure<'a>(&'a self, config: &'a Value) -> BoxFuture<'a, Result<(), Diagnostics>> {
            Box::pin(async move {
                let known = if config.is_wholly_known() {
                    "known"
                } else {
                    "UNKNOWN"
                };
                self.calls
                    .lock()
                    .expect("calls")
                    .push(format!("configure {known}"));
                *self.endpoint.lock().expect("endpoint") = Some(text(&attr(config, "endpoint")));
                Ok(())
            })
        }

        fn read<'a>(
            &'a self,
            _type_name: &'a str,
            current: &'a Value,
            _private: &'a [u8],
            _provider_meta: Option<&'a Value>,
        ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>> {
            Box::pin(async move {
                self.calls.lock().expect("calls").push("read".into());
                Ok(ObjectState {
                    value: Some(current.clone()),
                    private: Vec::new(),
                })
            })
        }

        fn plan<'a>(
            &'a self,
            request: PlanRequest<'a>,
        ) -> BoxFuture<'a, Result<PlannedState, Diagnostics>> {
            Box::pin(async move {
                self.calls.lock().expect("calls").push("plan".into());
                let id = request
                    .prior
                    .map(|p| attr(p, "id"))
                    .unwrap_or(Value::Unknown(Type::String));
                Ok(PlannedState {
                    planned: self.app(id, request.config),
                    requires_replace: Vec::new(),
                    private: Vec::new(),
                    warnings: Default::default(),
                })
            })
        }

        fn apply<'a>(
            &'a self,
            request: ApplyRequest<'a>,
        ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>> {
            Box::pin(async move {
                self.calls.lock().expect("calls").push("apply".into());
                let value = request
                    .planned
                    .map(|p| self.app(Value::string(text(&attr(p, "name"))), p));
                Ok(ObjectState {
                    value,
                    private: Vec::new(),
                })
            })
        }
    }

    #[derive(Default)]
    struct Seen {
        plans: Vec<Plan>,
        notices: Vec<String>,
        questions: usize,
        errors: Vec<String>,
    }

    struct Recording {
        answers: Mutex<Vec<bool>>,
        seen: Mutex<Seen>,
    }

    impl Recording {
        fn answering(answers: &[bool]) -> Recording {
            Recording {
                answers: Mutex::new(answers.iter().rev().copied().collect()),
                seen: Mutex::default(),
            }
        }

        fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
            self.seen.lock().expect("view")
        }
    }

    impl Progress for Recording {
        fn started(&self, _: &str, _: &str) {}
        fn finished(&self, _: &str, _: Option<&str>) {}
        fn note(&self, _: &str) {}
    }

    impl View for Recording {
        fn diagnostics(&self, _: &Sources, diagnostics: &Diagnostics) {
            let errors = diagnostics.errors().map(|d| d.summary.clone());
            self.seen().errors.extend(errors);
        }
        fn notice(&self, notice: Notice<'_>) {
            self.seen().notices.push(format!("{notice:?}"));
        }
        fn plan(&self, plan: &Plan) {
            self.seen().plans.push(plan.clone());
        }
        fn confirm(&self, _: Question) -> bool {
            self.seen().questions += 1;
            self.answers.lock().expect("answers").pop().unwrap_or(false)
        }
        fn progress(&self) -> &dyn Progress {
            self
        }
        fn summary(&self, _: Summary<'_>) {}
        fn outputs(&self, _: &BTreeMap<String, OutputState>) {}
    }

    const STACK: &str = r#"
resource "plinth_data" "cluster" {
  input = "https://cluster"
}
provider "cloud" {
  endpoint = plinth_data.cluster.output
}
resource "cloud_app" "web" {
  name = "web"
}
output "url" {
  value = cloud_app.web.url
}
"#;

    fn setup() -> (tempfile::TempDir, Arc<Cloud>, MemoryBackend, RunRequest) {
        let cloud = Arc::new(Cloud::default());
        let mut stack = StackOptions::default();
        stack.in_process.register(
            "cloud",
            "provider[\"example.com/test/cloud\"]",
            cloud.clone(),
        );
        let dir = common::main_tf(STACK);
        let request = RunRequest {
            dir: dir.path().to_path_buf(),
            stack,
            change: ChangeOptions::default(),
            destroy: false,
            lock_timeout: Duration::ZERO,
        };
        (dir, cloud, MemoryBackend::new(), request)
    }

    fn addresses(backend: &MemoryBackend) -> Vec<String> {
        let state = backend.read().expect("state");
        state.resources.keys().cloned().collect()
    }

    #[test]
    fn each_stage_is_planned_asked_and_applied_with_the_provider_configured_only_when_known() {
        let (_dir, cloud, backend, request) = setup();
        let store = Store::new(backend.clone());
        let view = Recording::answering(&[true, true]);
        operation::apply(&request, &store, &view, &CancelToken::new()).expect("apply");
        // Stage 2's plan and its apply each configure an in-process provider (a
        // plugin process is configured once); stage 1 calls nothing.
        assert_eq!(
            cloud.calls(),
            [
                "configure known",
                "plan",
                "configure known",
                "plan",
                "apply"
            ],
            "no call before the configuration is known"
        );
        assert_eq!(
            addresses(&backend),
            ["cloud_app.web", "plinth_data.cluster"]
        );
        let state = backend.read().expect("state");
        assert_eq!(state.outputs["url"].value, "https://cluster/web");
        let seen = view.seen();
        assert_eq!(seen.questions, 2);
        assert_eq!(seen.plans.len(), 2);
        let first = &seen.plans[0];
        assert_eq!(first.deferred.len(), 1);
        assert_eq!(first.deferred[0].address.to_string(), "cloud_app.web");
        let DeferReason::ProviderConfig(p) = &first.deferred[0].reason else {
            panic!("{:?}", first.deferred[0].reason);
        };
        assert_eq!(p.provider, "cloud");
        assert_eq!(p.arguments, ["endpoint"]);
        assert_eq!(p.sources, ["plinth_data.cluster"]);
        assert!(!seen.plans[1].is_partial());
        assert_eq!(seen.notices, ["NextStage { stage: 2, waiting: 1 }"]);
    }

    #[test]
    fn saying_no_to_the_second_stage_keeps_the_first() {
        let (_dir, cloud, backend, request) = setup();
        let store = Store::new(backend.clone());
        let view = Recording::answering(&[true, false]);
        let outcome = operation::apply(&request, &store, &view, &CancelToken::new());
        assert!(
            matches!(
                outcome,
                Err(OperationError::DeclinedStage {
                    stage: 2,
                    waiting: 1
                })
            ),
            "{outcome:?}"
        );
        assert_eq!(addresses(&backend), ["plinth_data.cluster"]);
        assert_eq!(cloud.calls(), ["configure known", "plan"]);
        // The output waits for stage 2: stage 1 saves no value for it.
        let state = backend.read().expect("state");
        assert!(!state.outputs.contains_key("url"), "{:?}", state.outputs);
        assert!(backend.holder().is_none(), "the lock is released");
        assert!(view.seen().errors.is_empty());
    }
}
