//! plinth with plinth/aws against moto (the AWS API emulator, installed into .venv/ and
//! started here on a free port): the AI-platform stack in stacks/aws-llm-platform is
//! applied, checked through the AWS API (not plinth's state), changed, drifted,
//! imported and destroyed; and bad input is refused at its line with state untouched.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::Run;
use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The directory holding plinth and terraform-provider-aws (`cargo test --workspace`
/// builds both; a narrower run builds the provider here).
fn plugin_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_plinth"))
        .parent()
        .expect("target dir")
        .to_path_buf();
    if !dir.join("terraform-provider-aws").exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "terraform-provider-aws"])
            .current_dir(repo())
            .status()
            .expect("cargo build");
        assert!(status.success());
    }
    dir
}

/// A moto server on a free port, stopped when dropped.
pub(crate) struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    /// Where the emulator answers: `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn moto() -> Moto {
    let out = Command::new(repo().join("scripts/moto-server-path"))
        .output()
        .expect("install moto");
    assert!(
        out.status.success(),
        "moto-server-path: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let binary = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(binary)
        .args(["-p", &port.to_string()])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return moto;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("moto did not start on port {port}");
}

fn aws_env(cmd: &mut Command, moto: &Moto) {
    cmd.env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION");
}

/// AWS API calls through boto3: `[[service, operation, params], …]` → their results.
pub(crate) fn aws(moto: &Moto, calls: Value) -> Vec<Value> {
    let mut cmd = Command::new(repo().join("scripts/aws-calls"));
    aws_env(&mut cmd, moto);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("aws-calls");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(calls.to_string().as_bytes())
        .expect("write calls");
    let out = child.wait_with_output().expect("aws-calls output");
    assert!(
        out.status.success(),
        "aws-calls: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("aws-calls json")
}

fn one(moto: &Moto, service: &str, operation: &str, params: Value) -> Value {
    aws(moto, json!([[service, operation, params]])).remove(0)
}

pub(crate) fn plinth(dir: &Path, moto: &Moto, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plinth"));
    aws_env(&mut cmd, moto);
    let out = cmd
        .args(["-C", dir.to_str().expect("path"), "--no-color"])
        .args(args)
        .env("PLINTH_PLUGIN_DIR", plugin_dir())
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .output()
        .expect("run plinth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
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

/// A copy of stacks/ (the platform stack and its modules) to work in.
pub(crate) fn platform_copy() -> (tempfile::TempDir, PathBuf) {
    let work = tempfile::tempdir().expect("tempdir");
    copy_dir(&repo().join("stacks"), &work.path().join("stacks"));
    let stack = work.path().join("stacks/aws-llm-platform");
    (work, stack)
}

pub(crate) fn ok(run: &Run, what: &str) {
    assert_eq!(
        run.code, 0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

fn tags(list: &Value) -> std::collections::BTreeMap<String, String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["Key"].as_str().unwrap_or_default().to_string(),
                t["Value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn nodegroup(moto: &Moto, name: &str) -> Value {
    one(
        moto,
        "eks",
        "describe_nodegroup",
        json!({"clusterName": "llm-platform", "nodegroupName": name}),
    )
}

/// Everything the stack declares, checked through the API.
fn check_platform(moto: &Moto) {
    let r = aws(
        moto,
        json!([
            ["ec2", "describe_vpcs", {"Filters": [{"Name": "cidr", "Values": ["10.40.0.0/16"]}]}],
            ["eks", "describe_cluster", {"name": "llm-platform"}],
            ["ecr", "describe_repositories", {"repositoryNames": ["llm-platform/serving"]}],
            ["ecr", "get_lifecycle_policy", {"repositoryName": "llm-platform/serving"}],
            ["s3", "get_bucket_versioning", {"Bucket": "llm-platform-model-weights-example"}],
            ["s3", "get_public_access_block", {"Bucket": "llm-platform-model-weights-example"}],
            ["s3", "get_bucket_lifecycle_configuration", {"Bucket": "llm-platform-model-weights-example"}],
            ["iam", "list_attached_role_policies", {"RoleName": "llm-platform-node"}],
            ["iam", "list_attached_role_policies", {"RoleName": "llm-platform-cluster"}],
            ["iam", "get_role", {"RoleName": "llm-platform-cluster"}],
            ["ec2", "describe_security_groups", {"Filters": [{"Name": "group-name", "Values": ["llm-platform-cluster"]}]}],
        ]),
    );
    // VPC: CIDR, DNS, tags (own and the provider's default tags).
    let vpcs = r[0]["Vpcs"].as_array().expect("vpcs");
    assert_eq!(vpcs.len(), 1, "one platform VPC: {vpcs:?}");
    let vpc = &vpcs[0];
    let vpc_id = vpc["VpcId"].as_str().expect("vpc id").to_string();
    let vt = tags(&vpc["Tags"]);
    assert_eq!(vt.get("Name").map(String::as_str), Some("llm-platform"));
    assert_eq!(vt.get("managed-by").map(String::as_str), Some("plinth"));
    let attr = aws(
        moto,
        json!([["ec2", "describe_vpc_attribute", {"VpcId": vpc_id, "Attribute": "enableDnsHostnames"}]]),
    );
    assert_eq!(attr[0]["EnableDnsHostnames"]["Value"], json!(true));
    // Subnets: one per zone, carved with cidrsubnet, public.
    let net = aws(
        moto,
        json!([
            ["ec2", "describe_subnets", {"Filters": [{"Name": "vpc-id", "Values": [vpc_id]}]}],
            ["ec2", "describe_internet_gateways", {"Filters": [{"Name": "attachment.vpc-id", "Values": [vpc_id]}]}],
            ["ec2", "describe_route_tables", {"Filters": [{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["false"]}]}],
        ]),
    );
    let subnets = net[0]["Subnets"].as_array().expect("subnets");
    let mut cidrs: Vec<&str> = subnets
        .iter()
        .filter_map(|s| s["CidrBlock"].as_str())
        .collect();
    cidrs.sort();
    assert_eq!(cidrs, ["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20"]);
    let zones: std::collections::BTreeSet<&str> = subnets
        .iter()
        .filter_map(|s| s["AvailabilityZone"].as_str())
        .collect();
    assert_eq!(zones.len(), 3, "subnets across three zones");
    assert!(subnets
        .iter()
        .all(|s| s["MapPublicIpOnLaunch"] == json!(true)));
    let igws = net[1]["InternetGateways"].as_array().expect("igws");
    assert_eq!(igws.len(), 1, "an internet gateway attached to the VPC");
    let igw = igws[0]["InternetGatewayId"].as_str().expect("igw id");
    let tables = net[2]["RouteTables"].as_array().expect("route tables");
    let public = tables
        .iter()
        .find(|t| {
            t["Routes"].as_array().into_iter().flatten().any(|r| {
                r["DestinationCidrBlock"] == json!("0.0.0.0/0") && r["GatewayId"] == json!(igw)
            })
        })
        .expect("a route table sending 0.0.0.0/0 to the gateway");
    assert_eq!(public["Associations"].as_array().map(Vec::len), Some(3));
    // Security group and its rule.
    let groups = r[10]["SecurityGroups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1);
    let rule = &groups[0]["IpPermissions"][0];
    assert_eq!(rule["FromPort"], json!(443));
    assert_eq!(rule["IpRanges"][0]["CidrIp"], json!("10.0.0.0/8"));
    // IAM roles and policies.
    let node_policies: Vec<&str> = r[7]["AttachedPolicies"]
        .as_array()
        .expect("node policies")
        .iter()
        .filter_map(|p| p["PolicyName"].as_str())
        .collect();
    assert_eq!(node_policies.len(), 3, "{node_policies:?}");
    assert!(node_policies.contains(&"AmazonEKSWorkerNodePolicy"));
    assert_eq!(
        r[8]["AttachedPolicies"][0]["PolicyName"],
        json!("AmazonEKSClusterPolicy")
    );
    let role_arn = r[9]["Role"]["Arn"].as_str().expect("role arn");
    // EKS cluster.
    let cluster = &r[1]["cluster"];
    assert_eq!(cluster["version"], json!("1.31"));
    assert_eq!(cluster["roleArn"], json!(role_arn));
    assert_eq!(cluster["status"], json!("ACTIVE"));
    assert_eq!(
        cluster["resourcesVpcConfig"]["subnetIds"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(
        cluster["resourcesVpcConfig"]["endpointPrivateAccess"],
        json!(true)
    );
    assert_eq!(
        cluster["resourcesVpcConfig"]["securityGroupIds"][0],
        groups[0]["GroupId"]
    );
    // Node groups: a CPU pool and two GPU pools with taints and GPU labels.
    let system = &nodegroup(moto, "system")["nodegroup"];
    assert_eq!(system["instanceTypes"], json!(["m6i.xlarge"]));
    assert_eq!(system["amiType"], json!("AL2_x86_64"));
    assert_eq!(
        system["scalingConfig"],
        json!({"minSize": 2, "desiredSize": 2, "maxSize": 4})
    );
    assert!(system["taints"].as_array().is_none_or(Vec::is_empty));
    let h100 = &nodegroup(moto, "h100-ondemand")["nodegroup"];
    assert_eq!(h100["instanceTypes"], json!(["p5.48xlarge"]));
    assert_eq!(h100["amiType"], json!("AL2_x86_64_GPU"));
    assert_eq!(h100["capacityType"], json!("ON_DEMAND"));
    assert_eq!(
        h100["scalingConfig"],
        json!({"minSize": 0, "desiredSize": 1, "maxSize": 4})
    );
    assert_eq!(
        h100["taints"],
        json!([{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}])
    );
    assert_eq!(h100["labels"]["nvidia.com/gpu.product"], json!("H100"));
    assert_eq!(h100["labels"]["nvidia.com/gpu.count"], json!("8"));
    assert_eq!(h100["tags"]["managed-by"], json!("plinth"));
    let spot = &nodegroup(moto, "a10g-spot")["nodegroup"];
    assert_eq!(spot["instanceTypes"], json!(["g5.2xlarge"]));
    assert_eq!(spot["capacityType"], json!("SPOT"));
    assert_eq!(spot["labels"]["nvidia.com/gpu.product"], json!("A10G"));
    // ECR.
    let repo = &r[2]["repositories"][0];
    assert_eq!(repo["imageTagMutability"], json!("IMMUTABLE"));
    assert_eq!(
        repo["imageScanningConfiguration"]["scanOnPush"],
        json!(true)
    );
    let policy: Value = serde_json::from_str(
        r[3]["lifecyclePolicyText"]
            .as_str()
            .expect("lifecycle policy"),
    )
    .expect("policy json");
    assert_eq!(policy["rules"][0]["selection"]["countNumber"], json!(30));
    // S3.
    assert_eq!(r[4]["Status"], json!("Enabled"));
    let pab = &r[5]["PublicAccessBlockConfiguration"];
    for flag in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(pab[flag], json!(true), "{flag}");
    }
    assert_eq!(
        r[6]["Rules"][0]["NoncurrentVersionExpiration"]["NoncurrentDays"],
        json!(90)
    );
}

fn plan_exit(dir: &Path, moto: &Moto, extra: &[&str]) -> Run {
    let mut args = vec!["plan", "--detailed-exitcode"];
    args.extend_from_slice(extra);
    plinth(dir, moto, &args)
}

#[test]
fn platform_applies_changes_drifts_imports_and_destroys() {
    let moto = moto();
    let (_work, stack) = platform_copy();

    let started = std::time::Instant::now();
    let apply = plinth(&stack, &moto, &["apply", "--auto-approve"]);
    ok(&apply, "apply");
    eprintln!("apply of the platform took {:.1?}", started.elapsed());
    assert!(
        apply.stdout.contains("27 added, 0 changed, 0 destroyed"),
        "{}",
        apply.stdout
    );
    check_platform(&moto);
    let outputs = plinth(&stack, &moto, &["output", "--json"]);
    ok(&outputs, "output");
    let outputs: Value = serde_json::from_str(&outputs.stdout).expect("outputs json");
    assert!(outputs["cluster_endpoint"]["value"]
        .as_str()
        .is_some_and(|e| e.starts_with("https://")));
    assert_eq!(
        outputs["repository_url"]["value"],
        json!("123456789012.dkr.ecr.us-east-1.amazonaws.com/llm-platform/serving")
    );
    assert_eq!(
        outputs["gpu_pools"]["value"]["h100-ondemand"]["gpus"],
        json!(8)
    );

    // Nothing to do right after.
    let plan = plan_exit(&stack, &moto, &[]);
    assert_eq!(
        plan.code, 0,
        "a no-op plan\n{}\n{}",
        plan.stdout, plan.stderr
    );

    let before = nodegroup(&moto, "h100-ondemand")["nodegroup"].clone();
    // A GPU pool's size changes in place.
    std::fs::write(
        stack.join("terraform.tfvars"),
        r#"gpu_pools = {
  h100-ondemand = { instance_types = ["p5.48xlarge"], capacity_type = "ON_DEMAND", sizes = { min = 0, desired = 3, max = 6 } }
  a10g-spot     = { instance_types = ["g5.2xlarge"], capacity_type = "SPOT", sizes = { min = 0, desired = 2, max = 8 } }
}
"#,
    )
    .expect("tfvars");
    let plan = plan_exit(&stack, &moto, &[]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains(
            "module.gpu_pools[\"h100-ondemand\"].aws_eks_node_group.this will be updated in-place"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("0 to add, 1 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    ok(
        &plinth(&stack, &moto, &["apply", "--auto-approve"]),
        "scaling apply",
    );
    let after = nodegroup(&moto, "h100-ondemand")["nodegroup"].clone();
    assert_eq!(
        after["scalingConfig"],
        json!({"minSize": 0, "desiredSize": 3, "maxSize": 6})
    );
    assert_eq!(after["nodegroupArn"], before["nodegroupArn"]);
    assert_eq!(
        after["createdAt"], before["createdAt"],
        "updated, not replaced"
    );

    // Another instance type replaces the pool.
    std::fs::write(
        stack.join("terraform.tfvars"),
        r#"gpu_pools = {
  h100-ondemand = { instance_types = ["p5.48xlarge"], capacity_type = "ON_DEMAND", sizes = { min = 0, desired = 3, max = 6 } }
  a10g-spot     = { instance_types = ["g5.4xlarge"], capacity_type = "SPOT", sizes = { min = 0, desired = 2, max = 8 } }
}
"#,
    )
    .expect("tfvars");
    let plan = plan_exit(&stack, &moto, &[]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains("module.gpu_pools[\"a10g-spot\"].aws_eks_node_group.this must be replaced"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("# forces replacement"),
        "{}",
        plan.stdout
    );
    ok(
        &plinth(&stack, &moto, &["apply", "--auto-approve"]),
        "replacing apply",
    );
    assert_eq!(
        nodegroup(&moto, "a10g-spot")["nodegroup"]["instanceTypes"],
        json!(["g5.4xlarge"])
    );

    // A tag change updates in place. (moto tags EKS clusters but not node groups, so
    // the tag goes on the network: the VPC and its subnets.)
    let network = stack.join("../modules/network/main.tf");
    let text = std::fs::read_to_string(&network).expect("network module");
    std::fs::write(
        &network,
        text.replace(
            "    Name = var.name\n  }\n}\n\nresource \"aws_subnet\"",
            "    Name = var.name\n    team = \"inference\"\n  }\n}\n\nresource \"aws_subnet\"",
        ),
    )
    .expect("network module");
    let plan = plan_exit(&stack, &moto, &[]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains("module.network.aws_vpc.this will be updated in-place"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("0 to add, 1 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    ok(
        &plinth(&stack, &moto, &["apply", "--auto-approve"]),
        "tagging apply",
    );
    let vpcs = one(
        &moto,
        "ec2",
        "describe_vpcs",
        json!({"Filters": [{"Name": "tag:team", "Values": ["inference"]}]}),
    );
    assert_eq!(
        vpcs["Vpcs"].as_array().map(Vec::len),
        Some(1),
        "the VPC carries the new tag"
    );
    assert_eq!(
        plan_exit(&stack, &moto, &[]).code,
        0,
        "converged after tagging"
    );

    // Out-of-band: a node group is deleted, the repository's tags made mutable.
    one(
        &moto,
        "eks",
        "delete_nodegroup",
        json!({"clusterName": "llm-platform", "nodegroupName": "system"}),
    );
    one(
        &moto,
        "ecr",
        "put_image_tag_mutability",
        json!({"repositoryName": "llm-platform/serving", "imageTagMutability": "MUTABLE"}),
    );
    let plan = plan_exit(&stack, &moto, &[]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains("module.system_pool.aws_eks_node_group.this has been deleted"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("module.system_pool.aws_eks_node_group.this will be created"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("module.registry.aws_ecr_repository.this has been changed"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("\"MUTABLE\" -> \"IMMUTABLE\""),
        "the drift is undone in place\n{}",
        plan.stdout
    );
    ok(
        &plinth(&stack, &moto, &["apply", "--auto-approve"]),
        "repairing apply",
    );
    assert_eq!(
        nodegroup(&moto, "system")["nodegroup"]["status"],
        json!("ACTIVE")
    );
    assert_eq!(
        plan_exit(&stack, &moto, &[]).code,
        0,
        "converged after repair"
    );

    // An existing bucket is imported.
    one(
        &moto,
        "s3",
        "create_bucket",
        json!({"Bucket": "llm-platform-datasets"}),
    );
    std::fs::write(
        stack.join("datasets.tf"),
        "resource \"aws_s3_bucket\" \"datasets\" {\n  bucket = \"llm-platform-datasets\"\n}\n",
    )
    .expect("datasets.tf");
    let import = plinth(
        &stack,
        &moto,
        &["import", "aws_s3_bucket.datasets", "llm-platform-datasets"],
    );
    ok(&import, "import");
    let show = plinth(&stack, &moto, &["state", "show", "aws_s3_bucket.datasets"]);
    ok(&show, "state show");
    assert!(
        show.stdout.contains("arn:aws:s3:::llm-platform-datasets"),
        "{}",
        show.stdout
    );
    let plan = plan_exit(&stack, &moto, &[]);
    assert!(
        !plan
            .stdout
            .contains("aws_s3_bucket.datasets will be created"),
        "an imported bucket is not created again\n{}",
        plan.stdout
    );

    // Destroy leaves nothing behind.
    ok(
        &plinth(&stack, &moto, &["destroy", "--auto-approve"]),
        "destroy",
    );
    let r = aws(
        &moto,
        json!([
            ["ec2", "describe_vpcs", {"Filters": [{"Name": "is-default", "Values": ["false"]}]}],
            ["eks", "list_clusters", {}],
            ["ecr", "describe_repositories", {}],
            ["s3", "list_buckets", {}],
            ["iam", "list_roles", {}],
            ["ec2", "describe_security_groups", {"Filters": [{"Name": "group-name", "Values": ["llm-platform-cluster"]}]}],
            ["ec2", "describe_internet_gateways", {"Filters": [{"Name": "tag:managed-by", "Values": ["plinth"]}]}],
        ]),
    );
    assert_eq!(r[0]["Vpcs"], json!([]), "no VPC left");
    assert_eq!(r[1]["clusters"], json!([]), "no cluster left");
    assert_eq!(r[2]["repositories"], json!([]), "no repository left");
    assert_eq!(r[3]["Buckets"], json!([]), "no bucket left");
    let roles: Vec<&str> = r[4]["Roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|x| x["RoleName"].as_str())
        .filter(|n| n.starts_with("llm-platform"))
        .collect();
    assert!(roles.is_empty(), "roles left: {roles:?}");
    assert_eq!(r[5]["SecurityGroups"], json!([]));
    assert_eq!(r[6]["InternetGateways"], json!([]));
}

fn state_of(dir: &Path, moto: &Moto) -> String {
    let pulled = plinth(dir, moto, &["state", "pull"]);
    ok(&pulled, "state pull");
    pulled.stdout
}

const PROVIDER: &str = r#"terraform {
  required_providers {
    aws = { source = "plinth/aws" }
  }
}

provider "aws" {
  region = "us-east-1"
}
"#;

/// Asserts that `run` failed with a diagnostic at `file:line`, saying `words`.
fn refused_at(run: &Run, location: &str, words: &str) {
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!("[{location}:")),
        "expected a diagnostic at {location}\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(words),
        "expected {words:?}\n{}",
        run.stderr
    );
}

#[test]
fn bad_input_is_refused_at_its_line_and_leaves_state_alone() {
    let moto = moto();
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    let base = format!(
        "{PROVIDER}\nresource \"aws_vpc\" \"main\" {{\n  cidr_block = \"10.8.0.0/16\"\n}}\n"
    );
    std::fs::write(dir.join("main.tf"), &base).expect("main.tf");
    ok(
        &plinth(dir, &moto, &["apply", "--auto-approve"]),
        "base apply",
    );
    let state = state_of(dir, &moto);

    // A subnet outside its VPC: refused at plan, at the cidr_block line (line 17).
    std::fs::write(
        dir.join("main.tf"),
        format!("{base}\nresource \"aws_subnet\" \"bad\" {{\n  vpc_id     = aws_vpc.main.id\n  cidr_block = \"192.168.1.0/24\"\n}}\n"),
    )
    .expect("main.tf");
    let run = plinth(dir, &moto, &["apply", "--auto-approve"]);
    refused_at(&run, "main.tf:17", "does not lie inside VPC");
    assert_eq!(state_of(dir, &moto), state, "state unchanged");

    // An instance type that does not exist: refused at plan, at its line.
    std::fs::write(
        dir.join("main.tf"),
        format!(
            "{base}\nresource \"aws_eks_node_group\" \"gpu\" {{\n  cluster_name   = \"llm\"\n  node_group_name = \"gpu\"\n  node_role_arn  = \"arn:aws:iam::123456789012:role/node\"\n  subnet_ids     = [\"subnet-1\"]\n  instance_types = [\"p9.96xlarge\"]\n  scaling_config {{\n    min_size     = 0\n    desired_size = 1\n    max_size     = 2\n  }}\n}}\n"
        ),
    )
    .expect("main.tf");
    let run = plinth(dir, &moto, &["apply", "--auto-approve"]);
    refused_at(
        &run,
        "main.tf:20",
        "\"p9.96xlarge\" is not an EC2 instance type",
    );
    assert_eq!(state_of(dir, &moto), state, "state unchanged");

    // A node group naming a cluster that does not exist: refused by EKS, shown at the
    // cluster_name line, and nothing recorded.
    std::fs::write(
        dir.join("main.tf"),
        format!(
            "{base}\nresource \"aws_eks_node_group\" \"gpu\" {{\n  cluster_name   = \"no-such-cluster\"\n  node_group_name = \"gpu\"\n  node_role_arn  = \"arn:aws:iam::123456789012:role/node\"\n  subnet_ids     = [\"subnet-1\"]\n  instance_types = [\"g5.xlarge\"]\n  scaling_config {{\n    min_size     = 0\n    desired_size = 1\n    max_size     = 2\n  }}\n}}\n"
        ),
    )
    .expect("main.tf");
    let run = plinth(dir, &moto, &["apply", "--auto-approve"]);
    refused_at(&run, "main.tf:16", "does not exist");
    let after: Value = serde_json::from_str(&state_of(dir, &moto)).expect("state json");
    let before: Value = serde_json::from_str(&state).expect("state json");
    assert_eq!(
        after["resources"], before["resources"],
        "no resource recorded"
    );

    // A GPU AMI type on a CPU instance type: refused at plan, at ami_type.
    std::fs::write(
        dir.join("main.tf"),
        format!(
            "{base}\nresource \"aws_eks_node_group\" \"gpu\" {{\n  cluster_name   = \"llm\"\n  node_group_name = \"gpu\"\n  node_role_arn  = \"arn:aws:iam::123456789012:role/node\"\n  subnet_ids     = [\"subnet-1\"]\n  instance_types = [\"m6i.xlarge\"]\n  ami_type       = \"AL2_x86_64_GPU\"\n  scaling_config {{\n    min_size     = 0\n    desired_size = 1\n    max_size     = 2\n  }}\n}}\n"
        ),
    )
    .expect("main.tf");
    let run = plinth(dir, &moto, &["plan"]);
    refused_at(&run, "main.tf:21", "has no GPU");
}

const GPU_BOX: &str = r##"
data "aws_availability_zones" "zones" {
  state = "available"
}

data "aws_ec2_instance_type" "gpu" {
  instance_type = var.instance_type
}

variable "instance_type" {
  type    = string
  default = "g5.xlarge"
}

locals {
  # gpus is a set of blocks, as in HashiCorp's provider: one() takes its only element.
  gpu = one(data.aws_ec2_instance_type.gpu.gpus)
}

resource "aws_vpc" "box" {
  cidr_block = "10.9.0.0/16"
  tags = {
    Name = "gpu-box"
  }
}

resource "aws_subnet" "box" {
  vpc_id            = aws_vpc.box.id
  cidr_block        = "10.9.1.0/24"
  availability_zone = data.aws_availability_zones.zones.names[0]
}

resource "aws_security_group" "box" {
  name   = "gpu-box"
  vpc_id = aws_vpc.box.id
}

resource "aws_iam_role" "box" {
  name = "gpu-box"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_ecr_repository" "box" {
  name = "gpu-box"
}

resource "aws_instance" "box" {
  ami                    = "ami-999844e0"
  instance_type          = var.instance_type
  subnet_id              = aws_subnet.box.id
  vpc_security_group_ids = [aws_security_group.box.id]
  user_data              = "#!/bin/bash\necho ${local.gpu.name} > /etc/gpu"
  tags = {
    Name = "gpu-box"
  }
}

output "gpu" {
  value = "${local.gpu.count}x ${local.gpu.name} ${local.gpu.memory_size} MiB, ${data.aws_ec2_instance_type.gpu.default_vcpus} vCPUs"
}
"##;

fn instance(moto: &Moto, id: &str) -> Value {
    one(
        moto,
        "ec2",
        "describe_instances",
        json!({"InstanceIds": [id]}),
    )["Reservations"][0]["Instances"][0]
        .clone()
}

#[test]
fn gpu_instance_resizes_in_place_and_every_resource_imports_by_id() {
    let moto = moto();
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("first");
    std::fs::create_dir(&dir).expect("dir");
    std::fs::write(dir.join("main.tf"), format!("{PROVIDER}{GPU_BOX}")).expect("main.tf");
    ok(&plinth(&dir, &moto, &["apply", "--auto-approve"]), "apply");
    let out = plinth(&dir, &moto, &["output", "--raw", "gpu"]);
    ok(&out, "output");
    assert_eq!(out.stdout.trim(), "1x A10G 22888 MiB, 4 vCPUs");

    let id_of = |address: &str| -> String {
        let show = plinth(&dir, &moto, &["state", "show", address]);
        ok(&show, "state show");
        let line = show
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with("id "))
            .unwrap_or_else(|| panic!("no id in\n{}", show.stdout))
            .to_string();
        line.split('"').nth(1).expect("quoted id").to_string()
    };
    let instance_id = id_of("aws_instance.box");
    let created = instance(&moto, &instance_id);
    assert_eq!(created["InstanceType"], json!("g5.xlarge"));
    assert_eq!(created["State"]["Name"], json!("running"));
    assert_eq!(created["SubnetId"], json!(id_of("aws_subnet.box")));
    assert_eq!(
        created["SecurityGroups"][0]["GroupId"],
        json!(id_of("aws_security_group.box"))
    );

    // A bigger GPU instance: stopped, resized and started again, the same instance.
    let plan = plan_exit(&dir, &moto, &["--var", "instance_type=g5.2xlarge"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("aws_instance.box will be updated in-place"),
        "{}",
        plan.stdout
    );
    ok(
        &plinth(
            &dir,
            &moto,
            &[
                "apply",
                "--auto-approve",
                "--var",
                "instance_type=g5.2xlarge",
            ],
        ),
        "resize",
    );
    let resized = instance(&moto, &instance_id);
    assert_eq!(resized["InstanceType"], json!("g5.2xlarge"));
    assert_eq!(resized["State"]["Name"], json!("running"));

    // The same configuration in a fresh directory, every object imported by its id:
    // the plan afterwards has nothing to do.
    let second = work.path().join("second");
    std::fs::create_dir(&second).expect("dir");
    std::fs::write(second.join("main.tf"), format!("{PROVIDER}{GPU_BOX}")).expect("main.tf");
    let imports = [
        ("aws_vpc.box", id_of("aws_vpc.box")),
        ("aws_subnet.box", id_of("aws_subnet.box")),
        ("aws_security_group.box", id_of("aws_security_group.box")),
        ("aws_iam_role.box", "gpu-box".to_string()),
        ("aws_ecr_repository.box", "gpu-box".to_string()),
        ("aws_instance.box", instance_id.clone()),
    ];
    for (address, id) in &imports {
        let run = plinth(
            &second,
            &moto,
            &["import", "--var", "instance_type=g5.2xlarge", address, id],
        );
        ok(&run, &format!("import {address}"));
    }
    // (Only the output is new: imports do not record outputs, as in Terraform.)
    let plan = plan_exit(&second, &moto, &["--var", "instance_type=g5.2xlarge"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("without changing any real infrastructure")
            && !plan.stdout.contains(" will be ")
            && !plan.stdout.contains(" must be "),
        "imported objects match their configuration\n{}",
        plan.stdout
    );

    // Destroy terminates the instance.
    ok(
        &plinth(
            &dir,
            &moto,
            &[
                "destroy",
                "--auto-approve",
                "--var",
                "instance_type=g5.2xlarge",
            ],
        ),
        "destroy",
    );
    assert_eq!(
        instance(&moto, &instance_id)["State"]["Name"],
        json!("terminated")
    );
}

/// Terraform v1.0.3 and plinth plan the platform from empty through the same
/// plinth/aws binary against the same moto; their JSON plans agree key by key (only
/// timestamps and version strings differ; plinth may add keys later Terraform
/// releases write).
#[test]
fn the_platforms_json_plan_matches_terraforms() {
    let moto = moto();
    let (work, stack) = platform_copy();
    // The repository without its optional encryption block: plinth/aws once planned
    // AWS's default block for it, which Terraform refuses ("block count in plan (1)
    // disagrees with count in config (0)").
    let registry = stack.join("../modules/model-registry/main.tf");
    let text = std::fs::read_to_string(&registry).expect("read module");
    let without = text.replace(
        "  encryption_configuration {\n    encryption_type = \"AES256\"\n  }\n",
        "",
    );
    assert_ne!(without, text, "the module writes the block");
    std::fs::write(&registry, without).expect("write module");
    let mirror = work
        .path()
        .join("mirror/registry.terraform.io/plinth/aws/0.1.0/linux_amd64");
    std::fs::create_dir_all(&mirror).expect("mirror");
    std::fs::copy(
        plugin_dir().join("terraform-provider-aws"),
        mirror.join("terraform-provider-aws_v0.1.0"),
    )
    .expect("copy provider");
    let cli = work.path().join("cli.tfrc");
    std::fs::write(
        &cli,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
            work.path().join("mirror").display()
        ),
    )
    .expect("cli config");
    let terraform = |args: &[&str]| {
        let mut cmd = Command::new(crate::json_plan::terraform_binary());
        aws_env(&mut cmd, &moto);
        let out = cmd
            .args(args)
            .current_dir(&stack)
            .env("TF_CLI_CONFIG_FILE", &cli)
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .expect("run terraform");
        assert!(
            out.status.success(),
            "terraform {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    terraform(&["init", "-input=false", "-no-color"]);
    terraform(&["plan", "-input=false", "-no-color", "-out=tf.plan"]);
    let theirs: Value =
        serde_json::from_str(&terraform(&["show", "-json", "tf.plan"])).expect("json");
    ok(
        &plinth(&stack, &moto, &["plan", "--out", "p.plan"]),
        "plinth plan",
    );
    let shown = plinth(&stack, &moto, &["show", "--json", "p.plan"]);
    ok(&shown, "plinth show");
    let ours: Value = serde_json::from_str(&shown.stdout).expect("json");
    if let Some(dump) = std::env::var_os("PLINTH_TEST_DUMP") {
        let dump = Path::new(&dump);
        std::fs::write(dump.join("theirs.json"), theirs.to_string()).expect("dump");
        std::fs::write(dump.join("ours.json"), ours.to_string()).expect("dump");
    }
    let compared = crate::json_plan::comparison(&theirs, &ours);
    assert_eq!(compared.differences, Vec::<String>::new(), "{compared:#?}");
    assert_eq!(
        crate::json_plan::unexpected(&compared.only_ours, &[]),
        Vec::<String>::new()
    );
    assert_eq!(
        ours["resource_changes"].as_array().map(Vec::len),
        Some(27),
        "every resource of the platform is planned"
    );
}
