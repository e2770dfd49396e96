use serde_json::json;

use super::*;
use crate::addrs::ResourceInstance;
use crate::preview::cost::text::text;

/// The tests' own prices (not AWS's): round figures that make the arithmetic plain.
const PRICES: &str = r#"{
  "format": 1,
  "name": "test prices",
  "currency": "USD",
  "default_region": "us-east-1",
  "price_lists": [
    {"source": {"url": "https://example.test/east", "date": "2026-01-01"},
     "region": "us-east-1",
     "on_demand": {"m6i.xlarge": 0.2, "g5.12xlarge": 6.0, "p5.48xlarge": 40.0},
     "spot": {"m6i.xlarge": 0.1, "g5.12xlarge": 2.0},
     "eks_cluster_hourly": 0.1},
    {"source": {"url": "https://example.test/west", "date": "2026-01-02"},
     "region": "us-west-2",
     "on_demand": {"m6i.xlarge": 0.3},
     "spot": {"m6i.xlarge": 0.15}}
  ],
  "gpu_lists": [
    {"source": {"url": "https://example.test/gpus", "date": "2026-01-03"},
     "instance_types": {
       "g5.12xlarge": {"model": "A10G", "count": 4, "memory_mib": 22888},
       "p5.48xlarge": {"model": "H100", "count": 8, "memory_mib": 81920}}}
  ]
}"#;

fn catalog() -> Catalog {
    match Catalog::parse(PRICES, "test.json") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// A value from JSON; the string "(unknown)" is a value known only after apply.
fn value(j: serde_json::Value) -> Value {
    match j {
        serde_json::Value::String(s) if s == "(unknown)" => Value::unknown(),
        serde_json::Value::Array(a) => Value::Tuple(a.into_iter().map(value).collect()),
        serde_json::Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, value(v))).collect())
        }
        other => Value::from_json(&other),
    }
}

const AWS: &str = "provider[\"registry.terraform.io/plinth/aws\"]";
const KUBE: &str = "provider[\"registry.terraform.io/plinth/kubernetes\"]";

fn change(
    address: &str,
    action: Action,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> PlannedChange {
    let provider = if address.contains("kubernetes_") {
        KUBE
    } else {
        AWS
    };
    PlannedChange {
        address: match ResourceInstance::parse(address) {
            Ok(a) => a,
            Err(e) => panic!("{address}: {e:?}"),
        },
        previous_address: None,
        provider: provider.to_string(),
        action,
        reason: None,
        before: before.map(value),
        after: after.map(value),
        replace_paths: Vec::new(),
    }
}

fn pool(desired: i64, capacity: &str, instance_type: &str) -> serde_json::Value {
    json!({
        "instance_types": [instance_type],
        "capacity_type": capacity,
        "scaling_config": [{"min_size": 0, "desired_size": desired, "max_size": 8}],
    })
}

fn plan(changes: Vec<PlannedChange>) -> Plan {
    Plan {
        changes,
        ..Plan::default()
    }
}

fn report(changes: Vec<PlannedChange>) -> CostReport {
    estimate(&plan(changes), &catalog(), &EstimateOptions::default())
}

fn monthly(m: &Option<Monthly>) -> f64 {
    match m {
        Some(Monthly::Priced { monthly, .. }) => *monthly,
        other => panic!("not priced: {other:?}"),
    }
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-6, "{a} != {b}");
}

#[test]
fn a_node_group_is_desired_size_times_the_hourly_price_times_730() {
    let r = report(vec![change(
        "aws_eks_node_group.system",
        Action::Create,
        None,
        Some(pool(2, "ON_DEMAND", "m6i.xlarge")),
    )]);
    // 2 nodes × 0.2 an hour × 730 hours = 292.
    assert_eq!(r.resources.len(), 1);
    assert_eq!(r.resources[0].before, None);
    close(monthly(&r.resources[0].after), 292.0);
    close(r.after_monthly(), 292.0);
    close(r.delta_monthly(), 292.0);
    let c = &r.resources[0].components[0];
    assert_eq!(
        c.name,
        "Instance usage (Linux/UNIX, on-demand, m6i.xlarge, us-east-1)"
    );
    assert_eq!((c.hourly_quantity, c.monthly_quantity), (2.0, 1460.0));
}

#[test]
fn changing_desired_size_or_capacity_type_changes_the_delta_by_exactly_its_price() {
    let before = pool(2, "ON_DEMAND", "m6i.xlarge");
    let grown = report(vec![change(
        "aws_eks_node_group.system",
        Action::Update,
        Some(before.clone()),
        Some(pool(3, "ON_DEMAND", "m6i.xlarge")),
    )]);
    // One more node: 1 × 0.2 × 730 = 146.
    close(grown.before_monthly(), 292.0);
    close(grown.after_monthly(), 438.0);
    close(grown.delta_monthly(), 146.0);

    let spot = report(vec![change(
        "aws_eks_node_group.system",
        Action::DeleteThenCreate,
        Some(before),
        Some(pool(2, "SPOT", "m6i.xlarge")),
    )]);
    // On demand to spot: 2 × (0.1 − 0.2) × 730 = −146.
    close(spot.delta_monthly(), -146.0);
    assert!(spot.resources[0].components[0].name.contains("spot"));
}

#[test]
fn unchanged_instances_count_before_and_after_and_deletions_only_before() {
    let r = report(vec![
        change(
            "aws_eks_cluster.this",
            Action::NoOp,
            Some(json!({"name": "c"})),
            Some(json!({"name": "c"})),
        ),
        change(
            "aws_eks_node_group.old",
            Action::Delete,
            Some(pool(1, "ON_DEMAND", "m6i.xlarge")),
            None,
        ),
    ]);
    // Cluster 0.1 × 730 = 73 on both sides; the deleted node 0.2 × 730 = 146 before.
    close(r.before_monthly(), 73.0 + 146.0);
    close(r.after_monthly(), 73.0);
    close(r.delta_monthly(), -146.0);
    assert_eq!(r.resources[1].after, None);
}

#[test]
fn an_unknown_instance_type_or_size_is_unknown_never_zero() {
    let r = report(vec![
        change(
            "aws_eks_node_group.new",
            Action::Create,
            None,
            Some(pool(2, "ON_DEMAND", "p9.96xlarge")),
        ),
        change(
            "aws_eks_node_group.later",
            Action::Create,
            None,
            Some(
                json!({"instance_types": ["m6i.xlarge"], "capacity_type": "ON_DEMAND",
                        "scaling_config": [{"desired_size": "(unknown)"}]}),
            ),
        ),
        change(
            "aws_instance.box",
            Action::Create,
            None,
            Some(json!({"instance_type": "(unknown)"})),
        ),
    ]);
    let reasons: Vec<String> = r
        .resources
        .iter()
        .map(|x| match &x.after {
            Some(Monthly::Unknown { reason }) => reason.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "scaling_config.desired_size is known only after apply",
            "the catalog has no on-demand price for p9.96xlarge in us-east-1",
            "instance_type is known only after apply",
        ]
    );
    assert_eq!(r.unknown_count(), 3);
    assert_eq!(r.after_monthly(), 0.0);
    let j = r.to_json();
    assert_eq!(
        j["projects"][0]["breakdown"]["resources"][1]["monthlyCost"],
        json!(null)
    );
    assert_eq!(
        j["projects"][0]["breakdown"]["resources"][1]["metadata"]["status"],
        "unknown"
    );
    let shown = text(&r);
    assert!(
        shown.contains("unknown: the catalog has no on-demand price for p9.96xlarge in us-east-1"),
        "{shown}"
    );
}

#[test]
fn the_region_is_the_zones_then_the_providers_then_the_flags_then_the_catalogs() {
    let boxed = |zone: serde_json::Value| {
        plan(vec![change(
            "aws_instance.box",
            Action::Create,
            None,
            Some(json!({"instance_type": "m6i.xlarge", "availability_zone": zone})),
        )])
    };
    let price = |p: &Plan, region: Option<&str>| {
        let options = EstimateOptions {
            region: region.map(str::to_string),
        };
        monthly(&estimate(p, &catalog(), &options).resources[0].after)
    };
    // The zone's region: us-west-2 at 0.3 an hour, whatever --region says.
    close(
        price(&boxed(json!("us-west-2b")), Some("us-east-1")),
        0.3 * 730.0,
    );
    // No zone yet: --region, else the catalog's us-east-1 at 0.2.
    close(
        price(&boxed(json!("(unknown)")), Some("us-west-2")),
        0.3 * 730.0,
    );
    close(price(&boxed(json!(null)), None), 0.2 * 730.0);

    // The provider block's region (a root variable) comes before --region.
    let mut p = boxed(json!(null));
    p.saved_json = Some(std::sync::Arc::new(
        json!({"configuration": {"provider_config": {
            "aws": {"name": "aws", "expressions": {"region": {"references": ["var.region"]}}}
        }}}),
    ));
    p.variables
        .insert("region".into(), Value::string("us-west-2"));
    close(price(&p, Some("us-east-1")), 0.3 * 730.0);
}

#[test]
fn a_spot_instance_is_priced_from_its_market_options() {
    let r = report(vec![change(
        "aws_instance.box",
        Action::Create,
        None,
        Some(json!({"instance_type": "m6i.xlarge",
                    "instance_market_options": [{"market_type": "spot"}]})),
    )]);
    close(monthly(&r.resources[0].after), 0.1 * 730.0);
}

#[test]
fn an_llm_service_pays_for_its_gpus_share_of_the_instance_type_it_runs_on() {
    let r = report(vec![
        change(
            "kubernetes_llm_service.small",
            Action::Create,
            None,
            Some(json!({"replicas": 2, "gpu": [{"type": "A10G", "count": 1}],
                        "node_selector": {"node.kubernetes.io/instance-type": "g5.12xlarge"}})),
        ),
        change(
            "kubernetes_llm_service.large",
            Action::Create,
            None,
            Some(
                json!({"replicas": null, "gpu": [{"type": "H100", "count": 4}],
                        "autoscaling": [{"min_replicas": 1, "max_replicas": 4}],
                        "node_selector": {"node.kubernetes.io/instance-type": "p5.48xlarge"}}),
            ),
        ),
        change(
            "kubernetes_llm_service.anywhere",
            Action::Create,
            None,
            Some(json!({"replicas": 1, "gpu": [{"type": "A10G"}]})),
        ),
    ]);
    let by = |name: &str| {
        r.resources
            .iter()
            .find(|x| x.address.ends_with(name))
            .unwrap_or_else(|| panic!("{name}"))
    };
    // 4 GPUs × 1 replica at 40 / 8 = 5 a GPU-hour: 20 an hour, × 730 = 14600.
    close(monthly(&by(".large").after), 14_600.0);
    assert!(by(".large").components[0]
        .name
        .contains("autoscaling minimum"));
    // 1 GPU × 2 replicas at 6 / 4 = 1.5 a GPU-hour: 3 an hour, × 730 = 2190.
    close(monthly(&by(".small").after), 2_190.0);
    assert_eq!(by(".small").components[0].unit, "GPU-hours");
    match &by(".anywhere").after {
        Some(Monthly::Unknown { reason }) => {
            assert!(
                reason.contains("node.kubernetes.io/instance-type"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn gpu_jobs_buckets_and_registries_are_usage_based() {
    let job = |limits: serde_json::Value| {
        json!({"spec": [{"template": [{"spec": [{
            "node_selector": {"node.kubernetes.io/instance-type": "p5.48xlarge"},
            "container": [{"name": "train", "resources": [{"limits": limits}]}]
        }]}]}]})
    };
    let r = report(vec![
        change(
            "kubernetes_job_v1.finetune",
            Action::Create,
            None,
            Some(job(json!({"nvidia.com/gpu": "8"}))),
        ),
        change(
            "kubernetes_job_v1.prepare",
            Action::Create,
            None,
            Some(job(json!({"cpu": "4"}))),
        ),
        change(
            "kubernetes_cron_job_v1.nightly",
            Action::Create,
            None,
            Some(
                json!({"spec": [{"job_template": [{"spec": [{"template": [{"spec": [{
                    "container": [{"name": "eval", "resources": [{"requests": {"nvidia.com/gpu": "1"}}]}]
                }]}]}]}]}]}),
            ),
        ),
        change(
            "aws_s3_bucket.weights",
            Action::Create,
            None,
            Some(json!({})),
        ),
        change(
            "aws_ecr_repository.images",
            Action::Create,
            None,
            Some(json!({})),
        ),
    ]);
    let addresses: Vec<&str> = r.resources.iter().map(|x| x.address.as_str()).collect();
    assert_eq!(
        addresses,
        [
            "aws_ecr_repository.images",
            "aws_s3_bucket.weights",
            "kubernetes_cron_job_v1.nightly",
            "kubernetes_job_v1.finetune"
        ]
    );
    assert_eq!(r.usage_based_count(), 4);
    match &r.resources[2].after {
        Some(Monthly::UsageBased { note }) => assert!(
            note.contains("1 GPU(s), at a rate unknown because the stack does not say"),
            "{note}"
        ),
        other => panic!("{other:?}"),
    }
    match &r.resources[3].after {
        // 8 GPUs at 40 / 8 = 5 a GPU-hour: 40 an hour.
        Some(Monthly::UsageBased { note }) => assert!(
            note.contains("8 GPU(s) at 5 per GPU-hour on p5.48xlarge, us-east-1 (40 USD an hour)"),
            "{note}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.after_monthly(), 0.0);
    let shown = text(&r);
    assert!(
        shown.contains("The totals leave out 4 resource(s) billed by use."),
        "{shown}"
    );
    let row = shown
        .lines()
        .find(|l| l.starts_with("aws_s3_bucket.weights"))
        .unwrap_or_default();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["aws_s3_bucket.weights", "-", "usage-based", "usage-based"],
        "{shown}"
    );
}

#[test]
fn the_json_has_infracosts_totals() {
    let r = report(vec![
        change(
            "aws_eks_cluster.this",
            Action::NoOp,
            Some(json!({})),
            Some(json!({})),
        ),
        change(
            "aws_eks_node_group.system",
            Action::Update,
            Some(pool(2, "ON_DEMAND", "m6i.xlarge")),
            Some(pool(3, "ON_DEMAND", "m6i.xlarge")),
        ),
    ]);
    let j = r.to_json();
    // Before 73 + 292 = 365; after 73 + 438 = 511; delta 146.
    assert_eq!(j["version"], "0.2");
    assert_eq!(j["currency"], "USD");
    assert_eq!(j["pastTotalMonthlyCost"], "365");
    assert_eq!(j["totalMonthlyCost"], "511");
    assert_eq!(j["diffTotalMonthlyCost"], "146");
    assert_eq!(j["totalHourlyCost"], "0.7");
    let project = &j["projects"][0];
    assert_eq!(
        project["diff"]["resources"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(project["diff"]["resources"][0]["monthlyCost"], "146");
    let component = &project["breakdown"]["resources"][1]["costComponents"][0];
    assert_eq!(component["monthlyQuantity"], "2190");
    assert_eq!(component["price"], "0.2");
}

#[test]
fn money_is_a_short_decimal() {
    assert_eq!(money(1.212 * 730.0), "884.76");
    assert_eq!(money(0.0), "0");
    assert_eq!(money(-146.0), "-146");
    assert_eq!(money(-0.0000001), "0");
    assert_eq!(money(21.957642), "21.957642");
}

#[test]
fn a_deferred_instance_is_unknown_on_both_sides() {
    let mut p = plan(Vec::new());
    p.deferred.push(crate::plan::deferred::DeferredChange {
        address: match ResourceInstance::parse("kubernetes_llm_service.small") {
            Ok(a) => a,
            Err(e) => panic!("{e:?}"),
        },
        provider: KUBE.to_string(),
        reason: crate::plan::deferred::DeferReason::Prerequisite {
            on: "aws_eks_cluster.this".into(),
        },
    });
    let r = estimate(&p, &catalog(), &EstimateOptions::default());
    assert_eq!(r.unknown_count(), 1);
    assert!(
        matches!(&r.resources[0].after, Some(Monthly::Unknown { reason }) if reason.contains("later stage"))
    );
}

#[test]
fn ten_thousand_changes_price_in_one_pass() {
    let changes: Vec<PlannedChange> = (0..10_000)
        .map(|i| {
            change(
                &format!("aws_eks_node_group.pool[{i}]"),
                Action::Update,
                Some(pool(1, "ON_DEMAND", "m6i.xlarge")),
                Some(pool(2, "ON_DEMAND", "m6i.xlarge")),
            )
        })
        .collect();
    let r = report(changes);
    // Each pool grows by one node: 10,000 × 0.2 × 730 = 1,460,000.
    close(r.delta_monthly(), 1_460_000.0);
    assert_eq!(r.resources.len(), 10_000);
}

#[test]
fn an_llm_service_on_nodes_without_its_gpu_is_unknown() {
    let r = report(vec![change(
        "kubernetes_llm_service.large",
        Action::Create,
        None,
        Some(json!({"replicas": 1, "gpu": [{"type": "H100", "count": 4}],
                    "node_selector": {"node.kubernetes.io/instance-type": "g5.12xlarge"}})),
    )]);
    match &r.resources[0].after {
        Some(Monthly::Unknown { reason }) => {
            assert_eq!(
                reason,
                "gpu.type is \"H100\" but g5.12xlarge carries A10G GPUs"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_figure_unknown_on_one_side_is_no_saving() {
    let r = report(vec![
        change(
            "aws_eks_node_group.gpu",
            Action::DeleteThenCreate,
            Some(pool(2, "ON_DEMAND", "m6i.xlarge")),
            Some(pool(2, "ON_DEMAND", "p9.96xlarge")),
        ),
        change(
            "aws_eks_node_group.system",
            Action::Update,
            Some(pool(1, "ON_DEMAND", "m6i.xlarge")),
            Some(pool(2, "ON_DEMAND", "m6i.xlarge")),
        ),
    ]);
    // Before 292 + 146; after only the system pool's 292 is known. The delta is the
    // system pool's +146 alone: the GPU pool's 292 before is not saved, only unknown.
    close(r.before_monthly(), 438.0);
    close(r.after_monthly(), 292.0);
    close(r.delta_monthly(), 146.0);
    assert_eq!(r.resources[0].monthly_delta(), None);
    assert_eq!(r.to_json()["diffTotalMonthlyCost"], "146");
}
