//! `plinth cost`: the AWS platform stack planned against moto and the serving stack
//! against kmock, priced from the built-in catalog and from catalogs of the test's
//! own, with every expected figure worked out by hand below; a malformed catalog is
//! refused at its line.

use crate::aws_platform::{self, Moto};
use crate::common::kube::Kmock;
use crate::common::{self, Run};

use std::path::Path;

use serde_json::Value;

fn ok(run: &Run, what: &str) {
    assert_eq!(
        run.code, 0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

fn json_of(run: &Run, what: &str) -> Value {
    ok(run, what);
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}):\n{}", run.stdout))
}

/// The resource `address` of a breakdown (`breakdown`, `pastBreakdown`, `diff`).
fn resource<'a>(cost: &'a Value, breakdown: &str, address: &str) -> &'a Value {
    cost["projects"][0][breakdown]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == address))
        .unwrap_or_else(|| panic!("no {address} in {breakdown}: {cost:#}"))
}

const CLUSTER: &str = "module.cluster.aws_eks_cluster.this";
const SYSTEM: &str = "module.system_pool.aws_eks_node_group.this";
const H100: &str = "module.gpu_pools[\"h100-ondemand\"].aws_eks_node_group.this";
const A10G: &str = "module.gpu_pools[\"a10g-spot\"].aws_eks_node_group.this";

/// The GPU pools as the stack's default, with the A10G pool's size, capacity type
/// and instance type given.
fn gpu_pools(a10g_desired: u32, a10g_capacity: &str, a10g_type: &str) -> String {
    format!(
        r#"gpu_pools={{"h100-ondemand" = {{instance_types = ["p5.48xlarge"], capacity_type = "ON_DEMAND", sizes = {{min = 0, desired = 1, max = 4}}}}, "a10g-spot" = {{instance_types = ["{a10g_type}"], capacity_type = "{a10g_capacity}", sizes = {{min = 0, desired = {a10g_desired}, max = 8}}}}}}"#
    )
}

/// The test's own prices (not AWS's): the built-in catalog's on-demand figures and a
/// spot price for g5.2xlarge, which the built-in catalog does not have.
const TEST_CATALOG: &str = r#"{
  "format": 1,
  "name": "the test's prices",
  "currency": "USD",
  "default_region": "us-east-1",
  "price_lists": [
    {"source": {"url": "https://example.test/prices", "date": "2026-12-01"},
     "region": "us-east-1",
     "on_demand": {"m6i.xlarge": 0.192, "p5.48xlarge": 55.04, "g5.2xlarge": 1.212},
     "spot": {"g5.2xlarge": 0.5},
     "eks_cluster_hourly": 0.10}
  ]
}
"#;

/// The built-in catalog's on-demand figures the first estimates use, and EKS's fee in
/// both regions, without the spot prices the built-in catalog has: a spot pool and a
/// us-west-2 instance price as unknown.
const ON_DEMAND_CATALOG: &str = r#"{
  "format": 1,
  "name": "on-demand prices only",
  "currency": "USD",
  "default_region": "us-east-1",
  "price_lists": [
    {"source": {"url": "https://example.test/prices", "date": "2026-07-20"},
     "region": "us-east-1",
     "on_demand": {"m6i.xlarge": 0.192, "p5.48xlarge": 55.04, "g5.2xlarge": 1.212},
     "eks_cluster_hourly": 0.10},
    {"source": {"url": "https://example.test/prices", "date": "2024-04-01"},
     "region": "us-west-2",
     "eks_cluster_hourly": 0.10}
  ]
}
"#;

fn cost(stack: &Path, moto: &Moto, extra: &[&str]) -> Value {
    let mut args = vec!["cost", "--json"];
    args.extend_from_slice(extra);
    json_of(&aws_platform::plinth(stack, moto, &args), "plinth cost")
}

#[test]
fn the_aws_platform_costs_what_the_catalog_says_before_and_after_a_change() {
    let moto = aws_platform::moto();
    let (work, stack) = aws_platform::platform_copy();
    let on_demand_only = work.path().join("on-demand.json");
    std::fs::write(&on_demand_only, ON_DEMAND_CATALOG).expect("write catalog");
    let on_demand_only = on_demand_only.to_str().unwrap_or_default();

    // Nothing exists yet; priced from on-demand prices only (us-east-1):
    //   EKS cluster      0.10 × 730                 =    73
    //   system pool      2 × m6i.xlarge 0.192 × 730 =   280.32
    //   H100 pool        1 × p5.48xlarge 55.04 × 730 = 40179.2
    //   A10G spot pool   no spot price in the catalog: unknown
    //   ECR, S3          usage-based
    // after = 73 + 280.32 + 40179.2 = 40532.52; before = 0.
    let first = cost(&stack, &moto, &["--catalog", on_demand_only]);
    assert_eq!(first["pastTotalMonthlyCost"], "0");
    assert_eq!(first["totalMonthlyCost"], "40532.52", "{first:#}");
    assert_eq!(first["diffTotalMonthlyCost"], "40532.52");
    assert_eq!(resource(&first, "breakdown", CLUSTER)["monthlyCost"], "73");
    assert_eq!(
        resource(&first, "breakdown", SYSTEM)["monthlyCost"],
        "280.32"
    );
    assert_eq!(
        resource(&first, "breakdown", H100)["monthlyCost"],
        "40179.2"
    );
    let a10g = resource(&first, "breakdown", A10G);
    assert_eq!(a10g["monthlyCost"], Value::Null);
    assert_eq!(
        a10g["metadata"]["reason"],
        "the catalog has no spot price for g5.2xlarge in us-east-1"
    );
    assert_eq!(
        resource(&first, "breakdown", "module.weights.aws_s3_bucket.this")["metadata"]["status"],
        "usageBased"
    );
    let summary = &first["summary"];
    assert_eq!(
        (
            &summary["totalUnknownResources"],
            &summary["totalUsageBasedResources"]
        ),
        (&Value::from(1), &Value::from(2))
    );

    // A saved plan for us-west-2 (the provider block's region is var.region): the
    // EKS fee is priced there (0.10 × 730 = 73), the instances are not (the catalog
    // has no us-west-2 instance prices).
    let saved = work.path().join("west.plan");
    let saved = saved.to_str().unwrap_or_default();
    ok(
        &aws_platform::plinth(
            &stack,
            &moto,
            &["plan", "--out", saved, "--var", "region=us-west-2"],
        ),
        "plan --out",
    );
    let west = cost(&stack, &moto, &[saved, "--catalog", on_demand_only]);
    assert_eq!(resource(&west, "breakdown", CLUSTER)["monthlyCost"], "73");
    assert_eq!(
        resource(&west, "breakdown", SYSTEM)["metadata"]["reason"],
        "the catalog has no on-demand price for m6i.xlarge in us-west-2"
    );
    assert_eq!(west["totalMonthlyCost"], "73");

    // The built-in catalog has the A10G pool's spot price in both regions (AWS's
    // Spot feed of 2026-08-06): in us-east-1 2 × 1.0236 × 730 = 1494.456, so
    // after = 40532.52 + 1494.456 = 42026.976, nothing unknown; in us-west-2
    // 2 × 0.5995 × 730 = 875.27, and with the EKS fee 73 + 875.27 = 948.27 (the
    // on-demand pools stay unknown: no us-west-2 on-demand prices).
    let built_in = cost(&stack, &moto, &[]);
    assert_eq!(
        resource(&built_in, "breakdown", A10G)["monthlyCost"],
        "1494.456"
    );
    assert_eq!(built_in["totalMonthlyCost"], "42026.976", "{built_in:#}");
    assert_eq!(built_in["summary"]["totalUnknownResources"], 0);
    let west = cost(&stack, &moto, &[saved]);
    assert_eq!(resource(&west, "breakdown", A10G)["monthlyCost"], "875.27");
    assert_eq!(
        resource(&west, "breakdown", H100)["metadata"]["reason"],
        "the catalog has no on-demand price for p5.48xlarge in us-west-2"
    );
    assert_eq!(west["totalMonthlyCost"], "948.27", "{west:#}");

    ok(
        &aws_platform::plinth(&stack, &moto, &["apply", "--auto-approve"]),
        "apply",
    );
    let catalog = work.path().join("prices.json");
    std::fs::write(&catalog, TEST_CATALOG).expect("write catalog");
    let catalog = catalog.to_str().unwrap_or_default();

    // Applied and unchanged, with the test's prices: every instance counts on both
    // sides. A10G pool 2 × 0.5 × 730 = 730, so
    //   73 + 280.32 + 40179.2 + 730 = 41262.52 before and after; delta 0.
    let same = cost(&stack, &moto, &["--catalog", catalog]);
    assert_eq!(same["pastTotalMonthlyCost"], "41262.52", "{same:#}");
    assert_eq!(same["totalMonthlyCost"], "41262.52");
    assert_eq!(same["diffTotalMonthlyCost"], "0");

    // One more A10G spot node: + 1 × 0.5 × 730 = 365.
    let grown = gpu_pools(3, "SPOT", "g5.2xlarge");
    let grown = cost(&stack, &moto, &["--catalog", catalog, "--var", &grown]);
    assert_eq!(grown["diffTotalMonthlyCost"], "365", "{grown:#}");
    assert_eq!(grown["totalMonthlyCost"], "41627.52");
    assert_eq!(resource(&grown, "diff", A10G)["monthlyCost"], "365");

    // The A10G pool on demand instead of spot: 2 × (1.212 − 0.5) × 730 = 1039.52.
    let on_demand = gpu_pools(2, "ON_DEMAND", "g5.2xlarge");
    let on_demand = cost(&stack, &moto, &["--catalog", catalog, "--var", &on_demand]);
    assert_eq!(
        on_demand["diffTotalMonthlyCost"], "1039.52",
        "{on_demand:#}"
    );

    // An instance type the catalog lacks is unknown, never zero: the pool's figure
    // after is null, its before (730) stays in the before total, and its delta is
    // unknown too: it is no saving, so the total delta (of the resources known on
    // both sides) is 0, not −730.
    let other = gpu_pools(2, "SPOT", "g4dn.xlarge");
    let other_args = ["--catalog", catalog, "--var", other.as_str()];
    let unknown = cost(&stack, &moto, &other_args);
    assert_eq!(
        resource(&unknown, "breakdown", A10G)["monthlyCost"],
        Value::Null
    );
    assert_eq!(resource(&unknown, "diff", A10G)["monthlyCost"], Value::Null);
    assert_eq!(
        resource(&unknown, "pastBreakdown", A10G)["monthlyCost"],
        "730"
    );
    assert_eq!(unknown["pastTotalMonthlyCost"], "41262.52");
    assert_eq!(unknown["totalMonthlyCost"], "40532.52");
    assert_eq!(unknown["diffTotalMonthlyCost"], "0");
    let mut text_args = vec!["cost"];
    text_args.extend_from_slice(&other_args);
    let text = aws_platform::plinth(&stack, &moto, &text_args);
    ok(&text, "plinth cost");
    let row = text
        .stdout
        .lines()
        .find(|l| l.starts_with(A10G))
        .unwrap_or_default();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>()[1..],
        ["730.00", "unknown", "unknown"],
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("  unknown: the catalog has no spot price for g4dn.xlarge in us-east-1"),
        "{}",
        text.stdout
    );
    let total = text
        .stdout
        .lines()
        .find(|l| l.starts_with("Total"))
        .unwrap_or_default();
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        ["Total", "41262.52", "40532.52", "0.00"],
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("The totals leave out 1 resource(s) whose price is unknown and 2 resource(s) billed by use."),
        "{}",
        text.stdout
    );
}

#[test]
fn the_serving_stack_pays_for_its_gpus_share_of_their_instance_types() {
    let kmock = Kmock::start();
    let work = tempfile::tempdir().expect("tempdir");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for module in ["llm-serving", "training-pipeline"] {
        copy(
            &repo.join("stacks/modules").join(module),
            &work.path().join("stacks/modules").join(module),
        );
    }
    let stack = work.path().join("stacks/llm-serving");
    copy(&repo.join("stacks/llm-serving"), &stack);
    let kubeconfig = kmock.kubeconfig(work.path());
    let kubeconfig = format!("kubeconfig={}", kubeconfig.display());
    let args = [
        "cost",
        "--json",
        "--var",
        kubeconfig.as_str(),
        "--var",
        "hf_token=hf-test",
        "--var",
        "weights_bucket=weights",
    ];
    let serving = |what: &str| json_of(&crate::kubernetes::plinth(&stack, &args), what);

    // From the built-in catalog (us-east-1, no aws provider in this stack):
    //   llama-8b   2 replicas × 1 GPU on g5.2xlarge (1 A10G, 1.212 an hour):
    //              2 × 1.212 / 1 × 730 = 1769.52
    //   llama-70b  autoscaling minimum 1 replica × 4 GPUs on p5.48xlarge
    //              (8 H100, 55.04 an hour): 1 × 4 × 55.04 / 8 × 730 = 20089.6
    //   fine-tune  usage-based (8 GPUs; its node selector names a GPU, not an
    //              instance type, so the rate is unknown)
    // after = 1769.52 + 20089.6 = 21859.12.
    let first = serving("plinth cost");
    let small = "module.serving.kubernetes_llm_service.small";
    let large = "module.serving.kubernetes_llm_service.large";
    let finetune = "module.serving.module.fine_tune.kubernetes_job_v1.finetune";
    assert_eq!(
        resource(&first, "breakdown", small)["monthlyCost"],
        "1769.52",
        "{first:#}"
    );
    assert_eq!(
        resource(&first, "breakdown", large)["monthlyCost"],
        "20089.6"
    );
    assert_eq!(first["totalMonthlyCost"], "21859.12");
    let job = resource(&first, "breakdown", finetune);
    assert_eq!(job["metadata"]["status"], "usageBased");
    assert!(
        job["metadata"]["note"]
            .as_str()
            .unwrap_or_default()
            .contains("8 GPU(s)"),
        "{job:#}"
    );
    let component = &resource(&first, "breakdown", large)["costComponents"][0];
    assert_eq!(component["unit"], "GPU-hours");
    assert_eq!(component["price"], "6.88");
    assert!(
        component["name"]
            .as_str()
            .unwrap_or_default()
            .contains("autoscaling minimum"),
        "{component:#}"
    );

    // One more 8B replica: + 1 × 1.212 × 730 = 884.76; the 70B model with no
    // instance type named is unknown, and leaves the total.
    let main = stack.join("main.tf");
    let text = std::fs::read_to_string(&main).expect("read main.tf");
    let edited = text.replace(
        "  hf_token        = var.hf_token\n",
        "  hf_token        = var.hf_token\n  small_replicas  = 3\n  large_instance_type = null\n",
    );
    assert_ne!(edited, text);
    std::fs::write(&main, edited).expect("write main.tf");
    let changed = serving("plinth cost after the edit");
    assert_eq!(
        resource(&changed, "breakdown", small)["monthlyCost"],
        "2654.28"
    );
    assert_eq!(
        changed["totalMonthlyCost"], "2654.28",
        "1769.52 + 884.76, the 70B model left out: {changed:#}"
    );
    assert_eq!(
        resource(&changed, "breakdown", large)["metadata"]["reason"],
        "the stack does not say which instance type it runs on (node_selector \"node.kubernetes.io/instance-type\")"
    );
}

#[test]
fn a_malformed_catalog_is_refused_at_its_line() {
    let dir = common::main_tf("resource \"plinth_data\" \"x\" {\n  input = 1\n}\n");
    std::fs::write(
        dir.path().join("prices.json"),
        "{\n  \"format\": 1,\n  \"name\": \"mine\",\n  \"currency\": \"USD\",\n  \"default_region\": \"us-east-1\",\n  \"price_lists\": [{\"source\": {\"url\": \"u\", \"date\": \"d\"}, \"region\": \"us-east-1\",\n    \"on_demand\": {\"m5.large\": -1}}]\n}\n",
    )
    .expect("write catalog");
    let run = common::plinth(dir.path(), &["cost", "--catalog", "prices.json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .starts_with("Error: the catalog cannot be used: prices.json:7:"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("zero or more"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}
