//! `plinth drift --unmanaged` against moto and kmock: objects made through the APIs
//! (not plinth) are listed, and only they — not the managed ones, not those of a
//! `--state-of` stack, not what AWS or the cluster makes by itself; `--type` and
//! `--tag` filter; a damaged `--state-of` state is an error, never an empty list; and
//! the printed blocks, pasted into the stack, import with a plan that changes nothing.

use crate::aws_platform::{self, Moto};
use crate::common::kube::Kmock;
use crate::common::{stack, Run};
use crate::kubernetes;

use std::path::Path;

use serde_json::json;

fn imports(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("to = ").map(str::to_string))
        .collect()
}

fn listed(run: &Run) -> Vec<String> {
    assert!(
        run.code == 0 || run.code == 2,
        "drift --unmanaged failed\nstdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    imports(run)
}

const AWS_STACK: &str = r#"
terraform {
  required_providers {
    aws = { source = "plinth/aws" }
  }
}
provider "aws" {
  region = "us-east-1"
}
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
  tags       = { team = "data" }
}
resource "aws_s3_bucket" "logs" {
  bucket = "managed-logs"
}
"#;

const OTHER_AWS_STACK: &str = r#"
terraform {
  required_providers {
    aws = { source = "plinth/aws" }
  }
}
provider "aws" {
  region = "us-east-1"
}
resource "aws_s3_bucket" "other" {
  bucket = "other-stack-bucket"
}
"#;

fn aws_drift(dir: &Path, moto: &Moto, extra: &[&str]) -> Run {
    let mut args = vec!["drift", "--unmanaged"];
    args.extend_from_slice(extra);
    aws_platform::plinth(dir, moto, &args)
}

#[test]
fn an_unmanaged_vpc_and_bucket_are_listed_and_import_with_no_change() {
    let moto = aws_platform::moto();
    let main = stack(&[("main.tf", AWS_STACK)]);
    let other = stack(&[("main.tf", OTHER_AWS_STACK)]);
    let (d, o) = (main.path(), other.path());
    aws_platform::ok(
        &aws_platform::plinth(d, &moto, &["apply", "--auto-approve"]),
        "apply",
    );
    aws_platform::ok(
        &aws_platform::plinth(o, &moto, &["apply", "--auto-approve"]),
        "apply other",
    );
    let made = aws_platform::aws(
        &moto,
        json!([
            ["ec2", "create_vpc", {"CidrBlock": "10.9.0.0/16", "TagSpecifications": [{
                "ResourceType": "vpc",
                "Tags": [{"Key": "Name", "Value": "stray"}, {"Key": "team", "Value": "data"}]}]}],
            ["s3", "create_bucket", {"Bucket": "stray-bucket"}],
        ]),
    );
    let stray_vpc = made[0]["Vpc"]["VpcId"]
        .as_str()
        .expect("vpc id")
        .to_string();
    let other_state = o.to_str().expect("path");

    // The default VPC, its subnets, each VPC's default group and main route table,
    // and both stacks' objects are left out.
    let run = aws_drift(d, &moto, &["--state-of", other_state]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        listed(&run),
        ["aws_s3_bucket.stray-bucket", "aws_vpc.stray"],
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("id = \"{stray_vpc}\"")),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("2 unmanaged objects."),
        "{}",
        run.stderr
    );
    let blocks = run.stdout.clone();

    // Without --state-of the other stack's bucket is unmanaged here.
    assert_eq!(
        listed(&aws_drift(d, &moto, &[])),
        [
            "aws_s3_bucket.other-stack-bucket",
            "aws_s3_bucket.stray-bucket",
            "aws_vpc.stray"
        ]
    );
    let by_type = aws_drift(d, &moto, &["--state-of", other_state, "--type", "aws_vpc"]);
    assert_eq!(listed(&by_type), ["aws_vpc.stray"]);
    let unknown = aws_drift(d, &moto, &["--type", "aws_vpcs"]);
    assert_eq!(unknown.code, 1, "{}", unknown.stdout);
    assert!(unknown.stderr.contains("aws_vpcs"), "{}", unknown.stderr);
    let by_tag = aws_drift(d, &moto, &["--state-of", other_state, "--tag", "team=data"]);
    assert_eq!(listed(&by_tag), ["aws_vpc.stray"]);
    let none = aws_drift(d, &moto, &["--state-of", other_state, "--tag", "team=none"]);
    assert_eq!((none.code, listed(&none).len()), (0, 0), "{}", none.stderr);

    // A state that cannot be read is an error naming its stack, not an empty one.
    let broken = stack(&[("main.tf", OTHER_AWS_STACK)]);
    let snapshot = broken
        .path()
        .join(".plinth/workspaces/default/store/snapshot");
    std::fs::create_dir_all(snapshot.parent().expect("store")).expect("mkdir");
    std::fs::write(&snapshot, "not a snapshot").expect("write");
    let refused = aws_drift(
        d,
        &moto,
        &["--state-of", broken.path().to_str().expect("path")],
    );
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .contains(broken.path().to_str().expect("path")),
        "{}",
        refused.stderr
    );

    let json = aws_drift(d, &moto, &["--state-of", other_state, "--json"]);
    let objects: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(objects["unmanaged"][1]["import_id"], json!(stray_vpc));
    assert_eq!(
        objects["unmanaged"][1]["config"]["cidr_block"],
        json!("10.9.0.0/16")
    );

    // Pasted into the stack, the blocks import and change nothing.
    std::fs::write(d.join("imported.tf"), &blocks).expect("write blocks");
    // Objects the stack's import blocks are about to import are not listed again.
    let pending = aws_drift(d, &moto, &["--state-of", other_state]);
    assert_eq!(
        (pending.code, listed(&pending).len()),
        (0, 0),
        "{}",
        pending.stdout
    );
    let plan = aws_platform::plinth(d, &moto, &["plan"]);
    aws_platform::ok(&plan, "plan");
    assert!(
        plan.stdout
            .contains("Plan: 2 to import, 0 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    aws_platform::ok(
        &aws_platform::plinth(d, &moto, &["apply", "--auto-approve"]),
        "import",
    );
    let again = aws_platform::plinth(d, &moto, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    let after = aws_drift(d, &moto, &["--state-of", other_state]);
    assert_eq!(
        (after.code, listed(&after).len()),
        (0, 0),
        "{}",
        after.stdout
    );
}

fn kube_stack(kubeconfig: &Path) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    kubernetes = {{ source = "plinth/kubernetes" }}
  }}
}}
provider "kubernetes" {{
  config_path    = "{}"
  config_context = "kmock"
}}
resource "kubernetes_namespace_v1" "apps" {{
  metadata {{
    name = "apps"
  }}
}}
resource "kubernetes_config_map_v1" "settings" {{
  metadata {{
    name      = "settings"
    namespace = kubernetes_namespace_v1.apps.metadata[0].name
  }}
  data = {{ mode = "prod" }}
}}
"#,
        kubeconfig.display()
    )
}

#[test]
fn an_unmanaged_deployment_is_listed_and_imports_with_no_change() {
    let kmock = Kmock::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let kubeconfig = kmock.kubeconfig(d);
    std::fs::write(d.join("main.tf"), kube_stack(&kubeconfig)).expect("write");
    kubernetes::ok(
        &kubernetes::plinth(d, &["apply", "--auto-approve"]),
        "apply",
    );
    kmock.post(
        "/apis/apps/v1/namespaces/apps/deployments",
        &json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "apps", "labels": {"team": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}
        }),
    );
    // What a cluster makes by itself, and an object a controller owns.
    for (path, name) in [
        ("/api/v1/namespaces/apps/configmaps", "kube-root-ca.crt"),
        ("/api/v1/namespaces/apps/serviceaccounts", "default"),
    ] {
        let kind = if path.ends_with("configmaps") {
            "ConfigMap"
        } else {
            "ServiceAccount"
        };
        let _ = kmock.request(
            hyper::Method::POST,
            path,
            "application/json",
            json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name}})
                .to_string()
                .as_bytes(),
        );
    }
    kmock.post(
        "/api/v1/namespaces/apps/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                "uid": "u-1"}]}}),
    );
    // Elsewhere: a namespace no stack manages is not looked at.
    kmock.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}}),
    );
    kmock.post(
        "/api/v1/namespaces/elsewhere/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    );

    let run = kubernetes::plinth(d, &["drift", "--unmanaged"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        listed(&run),
        ["kubernetes_manifest.deployment_web"],
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "id = \"apiVersion=apps/v1,kind=Deployment,namespace=apps,name=web,manifest=live\""
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("resourceVersion"), "{}", run.stdout);
    let blocks = run.stdout.clone();
    let by_label = kubernetes::plinth(d, &["drift", "--unmanaged", "--tag", "team=web"]);
    assert_eq!(listed(&by_label).len(), 1);
    let other_label = kubernetes::plinth(d, &["drift", "--unmanaged", "--tag", "team=db"]);
    assert_eq!((other_label.code, listed(&other_label).len()), (0, 0));
    let typed_only = kubernetes::plinth(
        d,
        &["drift", "--unmanaged", "--type", "kubernetes_config_map_v1"],
    );
    assert_eq!((typed_only.code, listed(&typed_only).len()), (0, 0));

    // A secret's values are never printed: a placeholder, and a comment saying so.
    kmock.post(
        "/api/v1/namespaces/apps/secrets",
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
            "data": {"password": "aHVudGVyMg=="}}),
    );
    let secret = kubernetes::plinth(
        d,
        &["drift", "--unmanaged", "--type", "kubernetes_secret_v1"],
    );
    assert_eq!(
        listed(&secret),
        ["kubernetes_secret_v1.creds"],
        "{}",
        secret.stdout
    );
    assert!(
        secret
            .stdout
            .contains("password = \"FILL IN: not listed (sensitive)\""),
        "{}",
        secret.stdout
    );
    assert!(secret
        .stdout
        .contains("# The secret's values are not listed"));
    let json = kubernetes::plinth(d, &["drift", "--unmanaged", "--json"]);
    for out in [&secret.stdout, &json.stdout] {
        assert!(
            !out.contains("aHVudGVyMg") && !out.contains("hunter2"),
            "{out}"
        );
    }
    kmock.delete("/api/v1/namespaces/apps/secrets/creds");

    std::fs::write(d.join("imported.tf"), &blocks).expect("write blocks");
    let plan = kubernetes::plinth(d, &["plan"]);
    kubernetes::ok(&plan, "plan");
    assert!(
        plan.stdout
            .contains("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    kubernetes::ok(
        &kubernetes::plinth(d, &["apply", "--auto-approve"]),
        "import",
    );
    let again = kubernetes::plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    let after = kubernetes::plinth(d, &["drift", "--unmanaged"]);
    assert_eq!(
        (after.code, listed(&after).len()),
        (0, 0),
        "{}",
        after.stdout
    );
}

#[test]
fn a_provider_without_the_inventory_service_lists_nothing_and_says_so() {
    let dir = crate::common::main_tf(
        r#"
terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
}
resource "local_file" "note" {
  filename = "${path.module}/note.txt"
  content  = "x"
}
"#,
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.path().to_str().expect("path"), "--no-color"])
        .args(["drift", "--unmanaged"])
        .env("PLINTH_PLUGIN_DIR", crate::common::local_provider_dir())
        .env("PLINTH_CACHE_DIR", dir.path().join(".cache"))
        .output()
        .expect("run plinth");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr
            .matches("does not offer plinth's inventory service")
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_provider_configured_from_what_is_not_applied_yet_lists_nothing_and_says_so() {
    let dir = crate::common::main_tf(
        r#"
terraform {
  required_providers {
    kubernetes = { source = "plinth/kubernetes" }
  }
}
resource "plinth_data" "cluster" {
  input = "http://127.0.0.1:1"
}
provider "kubernetes" {
  host = plinth_data.cluster.output
}
resource "kubernetes_namespace_v1" "apps" {
  metadata {
    name = "apps"
  }
}
"#,
    );
    let run = kubernetes::plinth(dir.path(), &["drift", "--unmanaged"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("unknown until"), "{}", run.stderr);
}
