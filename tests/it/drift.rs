//! `plinth drift` and `plinth reconcile --once --mode revert-drift` against moto and
//! kmock together: one stack of AWS and Kubernetes objects is applied, then changed
//! through the emulators' APIs (never through plinth); drift names each attribute
//! path with its value in state and now, ignore rules leave out what something else
//! owns, and revert-drift puts back only the drift, checked through the APIs.

use crate::aws_platform::{self, moto, ok, one, Moto};
use crate::common::kube::Kmock;
use crate::common::{kubernetes_provider_dir, Run};

use std::path::Path;

use serde_json::{json, Value};

fn stack(kubeconfig: &Path) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    aws        = {{ source = "plinth/aws" }}
    kubernetes = {{ source = "plinth/kubernetes" }}
  }}
}}

provider "aws" {{
  region = "us-east-1"
}}

provider "kubernetes" {{
  config_path = "{kubeconfig}"
}}

resource "aws_vpc" "main" {{
  cidr_block = "10.50.0.0/16"
}}

resource "aws_subnet" "a" {{
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.50.1.0/24"
  availability_zone = "us-east-1a"
}}

resource "aws_subnet" "b" {{
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.50.2.0/24"
  availability_zone = "us-east-1b"
}}

resource "aws_security_group" "api" {{
  name   = "drift-api"
  vpc_id = aws_vpc.main.id

  ingress {{
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
    description = "Kubernetes API"
  }}
}}

resource "aws_iam_role" "cluster" {{
  name = "drift-cluster"
  assume_role_policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Principal = {{ Service = "eks.amazonaws.com" }}, Action = "sts:AssumeRole" }}]
  }})
}}

resource "aws_iam_role" "node" {{
  name = "drift-node"
  assume_role_policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Principal = {{ Service = "ec2.amazonaws.com" }}, Action = "sts:AssumeRole" }}]
  }})
}}

resource "aws_eks_cluster" "main" {{
  name     = "drift"
  role_arn = aws_iam_role.cluster.arn

  vpc_config {{
    subnet_ids         = [aws_subnet.a.id, aws_subnet.b.id]
    security_group_ids = [aws_security_group.api.id]
  }}
}}

resource "aws_eks_node_group" "gpu" {{
  cluster_name    = aws_eks_cluster.main.name
  node_group_name = "gpu"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = [aws_subnet.a.id, aws_subnet.b.id]
  instance_types  = ["g5.xlarge"]

  scaling_config {{
    min_size     = 1
    desired_size = 1
    max_size     = 4
  }}
}}

resource "aws_ecr_repository" "models" {{
  name                 = "drift/models"
  image_tag_mutability = "IMMUTABLE"
}}

resource "aws_s3_bucket" "weights" {{
  bucket = "drift-weights"
}}

resource "aws_s3_bucket_versioning" "weights" {{
  bucket = aws_s3_bucket.weights.id

  versioning_configuration {{
    status = "Enabled"
  }}
}}

resource "kubernetes_namespace_v1" "ml" {{
  metadata {{
    name = "ml"
  }}
}}

resource "kubernetes_config_map_v1" "settings" {{
  metadata {{
    name      = "settings"
    namespace = kubernetes_namespace_v1.ml.metadata[0].name
  }}
  data = {{
    mode = "fast"
  }}
}}

resource "kubernetes_manifest" "api" {{
  manifest = {{
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = {{ name = "api", namespace = kubernetes_namespace_v1.ml.metadata[0].name }}
    spec = {{
      replicas = 2
      selector = {{ matchLabels = {{ app = "api" }} }}
      template = {{
        metadata = {{ labels = {{ app = "api" }} }}
        spec     = {{ containers = [{{ name = "api", image = "api:1" }}] }}
      }}
    }}
  }}
}}

resource "kubernetes_manifest" "worker" {{
  manifest = {{
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = {{ name = "worker", namespace = kubernetes_namespace_v1.ml.metadata[0].name }}
    spec = {{
      replicas = 1
      selector = {{ matchLabels = {{ app = "worker" }} }}
      template = {{
        metadata = {{ labels = {{ app = "worker" }} }}
        spec     = {{ containers = [{{ name = "worker", image = "worker:1" }}] }}
      }}
    }}
  }}
}}
"#,
        kubeconfig = kubeconfig.display()
    )
}

/// An autoscaler owns the worker's replica count (a manifest's live fields show in
/// `manifest`, as far as it is written, and in `object`).
const DRIFT_RULES: &str = r#"drift {
  ignore = [
    kubernetes_manifest.worker.manifest.spec.replicas,
    "kubernetes_manifest.worker.object.spec.replicas",
  ]
}
"#;

fn plinth(dir: &Path, moto: &Moto, args: &[&str]) -> Run {
    aws_platform::plinth(dir, moto, args)
}

/// The drift report as JSON, with its exit code.
fn drift(dir: &Path, moto: &Moto, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["drift", "--json"];
    args.extend_from_slice(extra);
    let run = plinth(dir, moto, &args);
    assert!(
        run.code == 0 || run.code == 2,
        "drift failed\n{}\n{}",
        run.stdout,
        run.stderr
    );
    let report = serde_json::from_str(&run.stdout).expect("drift --json");
    (run.code, report)
}

/// `(before, after)` of `path` of `address` in a report; panics when it is missing.
fn attribute(report: &Value, address: &str, path: &str) -> (Value, Value) {
    let resource = report["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("{address} not reported: {report:#}"));
    let a = resource["attributes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["path"] == path)
        .unwrap_or_else(|| panic!("{address} {path} not reported: {resource:#}"));
    (a["before"].clone(), a["after"].clone())
}

fn reported(report: &Value, address: &str) -> bool {
    report["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["address"] == address)
}

fn ingress_ports(moto: &Moto) -> Vec<i64> {
    let groups = one(
        moto,
        "ec2",
        "describe_security_groups",
        json!({"Filters": [{"Name": "group-name", "Values": ["drift-api"]}]}),
    );
    let mut ports: Vec<i64> = groups["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["FromPort"].as_i64())
        .collect();
    ports.sort();
    ports
}

#[test]
fn drift_names_each_changed_path_and_revert_drift_puts_only_drift_back() {
    kubernetes_provider_dir();
    let moto = moto();
    let kmock = Kmock::start();
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    let kubeconfig = kmock.kubeconfig(dir);
    std::fs::write(dir.join("main.tf"), stack(&kubeconfig)).expect("write stack");
    std::fs::write(dir.join("drift.hcl"), DRIFT_RULES).expect("write rules");
    ok(&plinth(dir, &moto, &["apply", "--auto-approve"]), "apply");
    let (code, report) = drift(dir, &moto, &[]);
    assert_eq!(code, 0, "drift right after apply: {report:#}");
    assert_eq!(report["drift"], false);

    // Changes made through the APIs, not plinth.
    let vpc_id = one(
        &moto,
        "ec2",
        "describe_vpcs",
        json!({"Filters": [{"Name": "cidr", "Values": ["10.50.0.0/16"]}]}),
    )["Vpcs"][0]["VpcId"]
        .as_str()
        .expect("vpc id")
        .to_string();
    let group_id = one(
        &moto,
        "ec2",
        "describe_security_groups",
        json!({"Filters": [{"Name": "group-name", "Values": ["drift-api"]}]}),
    )["SecurityGroups"][0]["GroupId"]
        .as_str()
        .expect("group id")
        .to_string();
    aws_platform::aws(
        &moto,
        json!([
            ["eks", "update_nodegroup_config", {"clusterName": "drift", "nodegroupName": "gpu",
                "scalingConfig": {"minSize": 1, "desiredSize": 3, "maxSize": 4}}],
            ["ecr", "put_image_tag_mutability", {"repositoryName": "drift/models", "imageTagMutability": "MUTABLE"}],
            ["s3", "put_bucket_versioning", {"Bucket": "drift-weights", "VersioningConfiguration": {"Status": "Suspended"}}],
            ["ec2", "authorize_security_group_ingress", {"GroupId": group_id, "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}],
            ["ec2", "create_tags", {"Resources": [vpc_id], "Tags": [{"Key": "team", "Value": "controller"}]}],
        ]),
    );
    kmock.patch(
        "/apis/apps/v1/namespaces/ml/deployments/api",
        &json!({"spec": {"replicas": 5}}),
    );
    kmock.patch(
        "/apis/apps/v1/namespaces/ml/deployments/worker",
        &json!({"spec": {"replicas": 4}}),
    );
    kmock.patch(
        "/api/v1/namespaces/ml/configmaps/settings",
        &json!({"data": {"mode": "slow"}}),
    );

    let (code, report) = drift(dir, &moto, &[]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(
        attribute(
            &report,
            "aws_eks_node_group.gpu",
            "scaling_config[0].desired_size"
        ),
        (json!(1), json!(3))
    );
    assert_eq!(
        attribute(&report, "aws_ecr_repository.models", "image_tag_mutability"),
        (json!("IMMUTABLE"), json!("MUTABLE"))
    );
    assert_eq!(
        attribute(
            &report,
            "aws_s3_bucket_versioning.weights",
            "versioning_configuration[0].status"
        ),
        (json!("Enabled"), json!("Suspended"))
    );
    let (before, after) = attribute(&report, "aws_security_group.api", "ingress");
    assert_eq!(before.as_array().map(Vec::len), Some(1), "{before}");
    assert_eq!(after.as_array().map(Vec::len), Some(2), "{after}");
    assert!(after.to_string().contains("0.0.0.0/0"), "{after}");
    assert_eq!(
        attribute(&report, "kubernetes_manifest.api", "object.spec.replicas"),
        (json!(2), json!(5))
    );
    assert_eq!(
        attribute(&report, "kubernetes_config_map_v1.settings", "data.mode"),
        (json!("fast"), json!("slow"))
    );
    assert_eq!(
        attribute(&report, "aws_vpc.main", "tags.team"),
        (Value::Null, json!("controller"))
    );
    // The drift block's rule: the worker's replicas are the autoscaler's.
    assert!(
        !reported(&report, "kubernetes_manifest.worker"),
        "{report:#}"
    );
    assert!(report["ignored"].as_u64() >= Some(1), "{report:#}");

    // --ignore: tags a controller adds.
    let tags = [
        "--ignore",
        "aws_vpc.main.tags",
        "--ignore",
        "aws_vpc.main.tags_all",
    ];
    let (_, ignoring) = drift(dir, &moto, &tags);
    assert!(!reported(&ignoring, "aws_vpc.main"), "{ignoring:#}");
    assert!(
        reported(&ignoring, "aws_eks_node_group.gpu"),
        "{ignoring:#}"
    );

    // The text form names the same paths with both values.
    let text = plinth(dir, &moto, &["drift"]);
    assert_eq!(text.code, 2, "{}", text.stderr);
    assert!(
        text.stdout
            .contains("scaling_config[0].desired_size: 1 -> 3"),
        "{}",
        text.stdout
    );

    // revert-drift puts back what drifted, and leaves what the rules ignore.
    let run = plinth(
        dir,
        &moto,
        &[
            "reconcile",
            ".",
            "--once",
            "--mode",
            "revert-drift",
            "--ignore",
            "aws_vpc.main.tags",
            "--ignore",
            "aws_vpc.main.tags_all",
        ],
    );
    assert_eq!(run.code, 0, "reconcile\n{}\n{}", run.stdout, run.stderr);
    let ng = one(
        &moto,
        "eks",
        "describe_nodegroup",
        json!({"clusterName": "drift", "nodegroupName": "gpu"}),
    );
    assert_eq!(ng["nodegroup"]["scalingConfig"]["desiredSize"], 3 - 2);
    let repo = one(
        &moto,
        "ecr",
        "describe_repositories",
        json!({"repositoryNames": ["drift/models"]}),
    );
    assert_eq!(repo["repositories"][0]["imageTagMutability"], "IMMUTABLE");
    let versioning = one(
        &moto,
        "s3",
        "get_bucket_versioning",
        json!({"Bucket": "drift-weights"}),
    );
    assert_eq!(versioning["Status"], "Enabled");
    assert_eq!(ingress_ports(&moto), [443]);
    let api = kmock
        .get("/apis/apps/v1/namespaces/ml/deployments/api")
        .expect("api deployment");
    assert_eq!(api["spec"]["replicas"], 2);
    let settings = kmock
        .get("/api/v1/namespaces/ml/configmaps/settings")
        .expect("config map");
    assert_eq!(settings["data"]["mode"], "fast");
    // Ignored: left as the autoscaler and the controller made them.
    let worker = kmock
        .get("/apis/apps/v1/namespaces/ml/deployments/worker")
        .expect("worker deployment");
    assert_eq!(worker["spec"]["replicas"], 4);
    let vpc = one(&moto, "ec2", "describe_vpcs", json!({"VpcIds": [vpc_id]}));
    assert!(vpc["Vpcs"][0]["Tags"].to_string().contains("controller"));

    let (code, report) = drift(dir, &moto, &tags);
    assert_eq!(code, 0, "drift after revert-drift: {report:#}");
}

const LOCAL: &str = r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
}

resource "local_file" "a" {
  filename = "${path.module}/a.txt"
  content  = "a"
}
"#;

fn local(dir: &Path, args: &[&str]) -> Run {
    crate::common::plinth_with(dir, &crate::common::local_provider_dir(), args)
}

#[test]
fn bad_rules_and_a_damaged_state_are_errors_never_no_drift() {
    let d = crate::common::stack(&[("main.tf", LOCAL)]);
    let dir = d.path();
    let applied = local(dir, &["apply", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    std::fs::remove_file(dir.join("a.txt")).expect("delete the file");

    // A rule that names no resource, in the drift block: at its file and line.
    std::fs::write(
        dir.join("drift.hcl"),
        "drift {\n  ignore = [\n    local_file,\n  ]\n}\n",
    )
    .expect("write rules");
    let run = local(dir, &["drift"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("Invalid drift ignore rule"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("drift.hcl:3"), "{}", run.stderr);
    std::fs::write(dir.join("drift.hcl"), "drift {\n  ignores = []\n}\n").expect("write");
    let run = local(dir, &["drift"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("drift.hcl:2"), "{}", run.stderr);
    std::fs::remove_file(dir.join("drift.hcl")).expect("remove rules");
    let run = local(dir, &["drift", "--ignore", "local_file.a["]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--ignore"), "{}", run.stderr);

    // A drift block belongs in the root module.
    std::fs::create_dir(dir.join("child")).expect("mkdir");
    std::fs::write(dir.join("child/main.tf"), "drift {\n  ignore = []\n}\n").expect("write");
    std::fs::write(
        dir.join("module.tf"),
        "module \"child\" {\n  source = \"./child\"\n}\n",
    )
    .expect("write");
    let run = local(dir, &["drift"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Drift block in a child module"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("child/main.tf:1"), "{}", run.stderr);
    std::fs::remove_file(dir.join("module.tf")).expect("remove");

    // The deletion is drift: exit 2, named.
    let run = local(dir, &["drift"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("- local_file.a was deleted outside plinth"),
        "{}",
        run.stdout
    );

    // A state that does not read whole is refused, and left as it was.
    let store = dir.join(".plinth/workspaces/default/store");
    let snapshot = store.join("snapshot");
    let text = std::fs::read_to_string(&snapshot).expect("snapshot");
    assert!(text.contains("a.txt"), "{text}");
    std::fs::write(&snapshot, text.replacen("a.txt", "b.txt", 1)).expect("damage the copy");
    let before = std::fs::read(&snapshot).expect("snapshot");
    let run = local(dir, &["drift", "--json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.to_lowercase().contains("damaged"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&snapshot).expect("snapshot"), before);
}
