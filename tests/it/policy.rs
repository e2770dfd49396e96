//! `plan --policy DIR` and `show FILE --policy DIR` through the binary: conftest's
//! rules in Rego against plinth's JSON plan, their results after the plan text and
//! exit codes 0/2/3/1; and the example policies of examples/policies, each passing
//! and failing on plans of plinth/aws against moto (one moto for all of them), and
//! on the platform stack of stacks/aws-llm-platform.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::aws_platform::{moto, Moto};

use common::{stack, Run};
use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn examples() -> String {
    repo().join("examples/policies").display().to_string()
}

fn run(dir: &Path, envs: &[(&str, String)], args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().expect("utf-8 path"), "--no-color"])
        .args(args)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .env_remove("NO_COLOR")
        .output()
        .expect("run plinth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn exits(run: &Run, code: i32, what: &str) {
    assert_eq!(
        run.code, code,
        "{what}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

/// The `FAIL …`/`WARN …` lines of a policy report, in order.
fn findings(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("FAIL ") || l.starts_with("WARN "))
        .map(str::to_string)
        .collect()
}

const LOCAL_STACK: &str = r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
}

variable "name" {
  type    = string
  default = "notes.txt"
}

resource "local_file" "notes" {
  filename = "${path.module}/${var.name}"
  content  = "hello"
}
"#;

const FILE_POLICY: &str = r#"package main

deny_secret_files contains msg if {
	some rc in input.resource_changes
	rc.type == "local_file"
	endswith(rc.change.after.filename, ".key")
	msg := sprintf("%s: no key files", [rc.address])
}

warn contains {"msg": "files are written in plain text"} if { true }
"#;

#[test]
fn exit_codes_say_passed_changes_failed_or_broken() {
    let dir = stack(&[
        ("stack/main.tf", LOCAL_STACK),
        ("policies/files.rego", FILE_POLICY),
        (
            "broken/bad.rego",
            "package main\n\ndeny contains msg if {\n  msg := \n",
        ),
    ]);
    let stack_dir = dir.path().join("stack");
    let env = [(
        "PLINTH_PLUGIN_DIR",
        common::local_provider_dir().display().to_string(),
    )];
    let plinth = |args: &[&str]| run(&stack_dir, &env, args);

    let passed = plinth(&["plan", "--policy", "../policies"]);
    exits(&passed, 0, "a plan the policies pass");
    assert_eq!(
        findings(&passed.stdout),
        ["WARN files.rego: main.warn: files are written in plain text"]
    );
    let plan_at = passed.stdout.find("Plan: 1 to add").expect("plan text");
    let policy_at = passed
        .stdout
        .find("Policy checks (../policies, 1 policy file):")
        .expect(&passed.stdout);
    assert!(plan_at < policy_at, "{}", passed.stdout);
    assert!(passed.stdout.contains("0 failures, 1 warning."));

    let changes = plinth(&["plan", "--detailed-exitcode", "--policy", "../policies"]);
    exits(
        &changes,
        2,
        "changes and no failure: --detailed-exitcode's 2",
    );

    let failed = plinth(&[
        "plan",
        "--detailed-exitcode",
        "--var",
        "name=id.key",
        "--policy",
        "../policies",
        "--out",
        "bad.plan",
    ]);
    exits(&failed, 3, "a deny rule fired: 3 beats 2");
    assert_eq!(
        findings(&failed.stdout),
        [
            "FAIL files.rego: main.deny_secret_files: local_file.notes: no key files",
            "WARN files.rego: main.warn: files are written in plain text",
        ]
    );

    let shown = plinth(&["show", "bad.plan", "--policy", "../policies"]);
    exits(&shown, 3, "show FILE --policy of the failing plan");
    assert!(shown.stdout.contains("# local_file.notes will be created"));
    assert_eq!(findings(&shown.stdout).len(), 2, "{}", shown.stdout);

    let as_json = plinth(&["show", "--json", "bad.plan", "--policy", "../policies"]);
    exits(&as_json, 3, "show --json FILE --policy");
    let document: Value = serde_json::from_str(&as_json.stdout).expect("stdout stays JSON");
    assert_eq!(
        document["resource_changes"][0]["address"],
        "local_file.notes"
    );
    assert_eq!(findings(&as_json.stderr).len(), 2, "{}", as_json.stderr);

    let both = plinth(&[
        "show",
        "bad.plan",
        "--policy",
        "../policies",
        "--policy",
        "../policies",
    ]);
    exits(&both, 3, "two --policy directories");
    assert_eq!(findings(&both.stdout).len(), 4, "{}", both.stdout);

    for args in [
        &["plan", "--policy", "../broken"][..],
        &["show", "bad.plan", "--policy", "../broken"][..],
    ] {
        let broken = plinth(args);
        exits(&broken, 1, "a policy that does not parse");
        assert!(
            broken.stderr.contains("Invalid policy")
                && broken.stderr.contains("[../broken/bad.rego:4:"),
            "{}",
            broken.stderr
        );
        assert!(!broken.stdout.contains("Plan:"), "{}", broken.stdout);
    }

    let missing = plinth(&["plan", "--policy", "../nowhere"]);
    exits(&missing, 1, "a policy directory that is not there");
    assert!(missing.stderr.contains("Cannot read the policy directory"));

    let apply = plinth(&["apply", "--auto-approve", "--policy", "../policies"]);
    exits(&apply, 1, "apply takes no --policy");
    assert!(
        apply.stderr.contains("only plinth plan"),
        "{}",
        apply.stderr
    );
    assert!(!stack_dir.join("notes.txt").exists());

    let state = plinth(&["show", "--policy", "../policies"]);
    exits(&state, 1, "show --policy without a plan file");
}

fn aws_env(moto: &Moto) -> Vec<(&'static str, String)> {
    let plugins = Path::new(env!("CARGO_BIN_EXE_plinth"))
        .parent()
        .expect("target dir")
        .display()
        .to_string();
    [
        ("AWS_ENDPOINT_URL", moto.url()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("PLINTH_PLUGIN_DIR", plugins.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

/// A GPU platform in miniature: with `bad = false` everything the example policies
/// ask for; with `bad = true` one breach of each.
const AWS_STACK: &str = r#"terraform {
  required_providers {
    aws = { source = "plinth/aws" }
  }
}

provider "aws" {
  region = "us-east-1"
}

variable "bad" {
  type    = bool
  default = false
}

resource "aws_s3_bucket" "weights" {
  bucket = "policy-test-weights"
}

resource "aws_s3_bucket_public_access_block" "weights" {
  bucket                  = aws_s3_bucket.weights.id
  block_public_acls       = true
  block_public_policy     = !var.bad
  ignore_public_acls      = true
  restrict_public_buckets = true
}

module "logs" {
  source = "./logs"
  bad    = var.bad
}

resource "aws_eks_node_group" "h100" {
  cluster_name    = "llm"
  node_group_name = "h100"
  node_role_arn   = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids      = ["subnet-0123456789abcdef0"]
  instance_types  = ["p5.48xlarge"]
  capacity_type   = "ON_DEMAND"

  scaling_config {
    min_size     = 0
    desired_size = 1
    max_size     = 2
  }

  dynamic "taint" {
    for_each = var.bad ? [] : ["nvidia.com/gpu"]
    content {
      key    = taint.value
      value  = "true"
      effect = "NO_SCHEDULE"
    }
  }
}

resource "aws_eks_node_group" "a10g_spot" {
  cluster_name    = "llm"
  node_group_name = "a10g-spot"
  node_role_arn   = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids      = ["subnet-0123456789abcdef0"]
  instance_types  = ["g5.2xlarge"]
  capacity_type   = "SPOT"
  labels          = var.bad ? {} : { "plinth.dev/interruptible" = "true" }

  scaling_config {
    min_size     = 0
    desired_size = 2
    max_size     = 8
  }

  taint {
    key    = "nvidia.com/gpu"
    value  = "true"
    effect = "NO_SCHEDULE"
  }
}

resource "aws_eks_node_group" "cpu_spot" {
  cluster_name    = "llm"
  node_group_name = "cpu-spot"
  node_role_arn   = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids      = ["subnet-0123456789abcdef0"]
  instance_types  = ["m6i.xlarge"]
  capacity_type   = "SPOT"

  scaling_config {
    min_size     = 1
    desired_size = 1
    max_size     = 3
  }
}
"#;

/// A module whose bucket has its public access block only when `bad` is false.
const LOGS_MODULE: &str = r#"variable "bad" {
  type = bool
}

resource "aws_s3_bucket" "logs" {
  bucket = "policy-test-logs"
}

resource "aws_s3_bucket_public_access_block" "logs" {
  count                   = var.bad ? 0 : 1
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
"#;

/// The test's own prices (not AWS's), so the cost figures in the policy input are
/// known: the good plan costs (55.04 (h100) + 2 × 0.5 (a10g spot) + 0.1 (cpu spot))
/// × 730 = 40982.20 a month, under the example ceiling of 50000.
const CATALOG: &str = r#"{
  "format": 1,
  "name": "the policy test's prices",
  "currency": "USD",
  "default_region": "us-east-1",
  "price_lists": [
    {"source": {"url": "https://example.test/prices", "date": "2026-12-01"},
     "region": "us-east-1",
     "on_demand": {"p5.48xlarge": 55.04},
     "spot": {"g5.2xlarge": 0.5, "m6i.xlarge": 0.1}}
  ]
}
"#;

#[test]
fn example_policies_pass_and_fail_on_aws_plans() {
    let moto = moto();
    let env = aws_env(&moto);
    let dir = stack(&[("main.tf", AWS_STACK), ("logs/main.tf", LOGS_MODULE)]);
    let policies = examples();
    std::fs::write(dir.path().join("prices.json"), CATALOG).expect("write catalog");
    let plinth = |args: &[&str]| run(dir.path(), &env, args);

    let good = plinth(&[
        "plan",
        "--out",
        "good.plan",
        "--policy",
        &policies,
        "--catalog",
        "prices.json",
    ]);
    exits(&good, 0, "the stack the example policies pass");
    assert_eq!(findings(&good.stdout), Vec::<String>::new());
    assert!(
        good.stdout
            .contains(&format!("Policy checks ({policies}, 5 policy files):")),
        "{}",
        good.stdout
    );

    // The comment of the same plan carries its cost and the policies' verdict.
    let comment = plinth(&[
        "show",
        "good.plan",
        "--markdown",
        "--policy",
        &policies,
        "--catalog",
        "prices.json",
    ]);
    exits(&comment, 0, "show --markdown --policy");
    for part in [
        "Monthly cost in USD, prices from `the policy test's prices",
        "| **Total** | $0.00 | $40,982.20 | **+$40,982.20** |",
        "5 policy files): passed, no failures or warnings.",
    ] {
        assert!(comment.stdout.contains(part), "{part}:\n{}", comment.stdout);
    }

    exits(
        &plinth(&["plan", "--var", "bad=true", "--out", "bad.plan"]),
        0,
        "plan without --policy",
    );
    let bad = plinth(&[
        "show",
        "bad.plan",
        "--policy",
        &policies,
        "--catalog",
        "prices.json",
    ]);
    exits(&bad, 3, "one breach of each example policy");
    assert_eq!(
        findings(&bad.stdout),
        [
            "FAIL gpu_taints.rego: main.deny: aws_eks_node_group.h100: a GPU node group must carry \
             the taint nvidia.com/gpu with effect NO_SCHEDULE or NO_EXECUTE",
            "FAIL no_public_s3.rego: main.deny: aws_s3_bucket_public_access_block.weights: \
             block_public_policy must be true (no public S3 bucket)",
            "FAIL no_public_s3.rego: main.deny: module.logs.aws_s3_bucket.logs: no \
             aws_s3_bucket_public_access_block in its module (no public S3 bucket)",
            "FAIL spot_interruptible.rego: main.deny: aws_eks_node_group.a10g_spot: a SPOT GPU \
             node group must be labelled plinth.dev/interruptible = \"true\"",
        ]
    );
    assert!(
        bad.stdout.contains("4 failures, 0 warnings."),
        "{}",
        bad.stdout
    );
    let written = plinth(&[
        "plan",
        "--var",
        "bad=true",
        "--markdown",
        "bad.md",
        "--policy",
        &policies,
        "--catalog",
        "prices.json",
    ]);
    exits(&written, 3, "plan --markdown --policy with breaches");
    let bad_comment = std::fs::read_to_string(dir.path().join("bad.md")).expect("bad.md");
    assert!(
        bad_comment.contains("**4 failures**")
            && bad_comment.contains("a SPOT GPU node group must be labelled"),
        "{bad_comment}"
    );

    // The cost ceiling reads input.cost: the plan's JSON with cost figures of the
    // cost report's shape, around the ceiling of 50000 the example sets.
    let shown = plinth(&["show", "--json", "good.plan"]);
    exits(&shown, 0, "show --json");
    let plan: Value = serde_json::from_str(&shown.stdout).expect("plan json");
    let mut set = match plinth::preview::policy::load(Path::new(&policies)) {
        Ok(set) => set,
        Err(e) => panic!("{}", e.render(false)),
    };
    let mut cost_findings = |cost: Value| -> Vec<String> {
        let input = plinth::preview::policy::input(plan.clone(), Some(cost));
        let report = set.evaluate(&input).expect("evaluates");
        report
            .findings
            .iter()
            .map(|f| format!("{:?} {} {}", f.kind, f.file, f.message))
            .collect()
    };
    let figures = |total: Value| {
        json!({
            "currency": "USD",
            "totalMonthlyCost": total,
            "pastTotalMonthlyCost": "0",
            "diffTotalMonthlyCost": total,
        })
    };
    assert_eq!(
        cost_findings(figures(json!("49999.99"))),
        Vec::<String>::new()
    );
    assert_eq!(
        cost_findings(figures(json!("72270.00"))),
        [
            "Deny cost_ceiling.rego the monthly cost after this plan, 72270.00, is over the \
          ceiling of 50000"
        ]
    );
    assert_eq!(
        cost_findings(figures(Value::Null)),
        [
            "Warn cost_ceiling.rego the monthly cost after this plan is not known (a price is \
          missing): the ceiling was not checked"
        ]
    );

    // The platform stack as shipped passes every example policy: its buckets are
    // closed, its GPU pools tainted, its spot pool marked interruptible, and priced
    // from the built-in catalog it costs 42026.98 a month (see tests/it/cost.rs).
    let work = tempfile::tempdir().expect("tempdir");
    copy_dir(&repo().join("stacks"), &work.path().join("stacks"));
    let platform = work.path().join("stacks/aws-llm-platform");
    let planned = run(&platform, &env, &["plan", "--policy", &policies]);
    exits(
        &planned,
        0,
        "the platform's plan against the example policies",
    );
    assert_eq!(findings(&planned.stdout), Vec::<String>::new());
    assert!(
        planned.stdout.contains("All policies passed."),
        "{}",
        planned.stdout
    );

    // Without its interruptible mark, the spot pool breaks the spot policy.
    let unmarked = std::fs::read_to_string(platform.join("variables.tf"))
        .expect("read")
        .replace("default     = [\"a10g-spot\"]", "default     = []");
    std::fs::write(platform.join("variables.tf"), unmarked).expect("write");
    let planned = run(&platform, &env, &["plan", "--policy", &policies]);
    exits(&planned, 3, "the spot pool unmarked");
    assert_eq!(
        findings(&planned.stdout),
        ["FAIL spot_interruptible.rego: main.deny: \
             module.gpu_pools[\"a10g-spot\"].aws_eks_node_group.this: a SPOT GPU node group \
             must be labelled plinth.dev/interruptible = \"true\""]
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            if entry.file_name() != ".plinth" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}
