//! Prices a plan: each resource instance's monthly figure before and after, from its
//! planned values and the catalog. Unchanged instances count on both sides, so the
//! total before is the whole stack's cost.
//!
//! Region, for an instance's price: the resource's own availability zone (an
//! `aws_instance` that has one), then the `region` of the aws provider configuration
//! that serves it (a constant, or the root variable it names, from the plan's JSON
//! configuration), then `--region`, then the catalog's default region.

use std::collections::BTreeMap;

use crate::lang::refs::ResourceMode;
use crate::lang::Value;
use crate::plan::{Action, Plan, PlannedChange};

use super::catalog::{Catalog, Figure, Market};
use super::{CostComponent, CostReport, Monthly, ResourceCost};

/// The hours a month is priced at, as AWS's and Infracost's monthly figures use.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The node label an LLM service or job names its instance type with.
const INSTANCE_TYPE_LABELS: [&str; 2] = [
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
];

/// Node labels that say a node is spot capacity (EKS managed node groups, Karpenter).
const CAPACITY_LABELS: [(&str, &str); 2] = [
    ("eks.amazonaws.com/capacityType", "SPOT"),
    ("karpenter.sh/capacity-type", "spot"),
];

/// What an estimate may be told beside the plan and the catalog.
#[derive(Clone, Debug, Default)]
pub struct EstimateOptions {
    /// `--region`: used when neither the resource nor its provider configuration says.
    pub region: Option<String>,
}

/// The resource types the estimate knows how to price.
pub const PRICED_TYPES: [&str; 8] = [
    "aws_instance",
    "aws_eks_cluster",
    "aws_eks_node_group",
    "aws_s3_bucket",
    "aws_ecr_repository",
    "kubernetes_llm_service",
    "kubernetes_job_v1",
    "kubernetes_cron_job_v1",
];

/// Prices every managed instance of `plan` that has a price model.
pub fn estimate(plan: &Plan, catalog: &Catalog, options: &EstimateOptions) -> CostReport {
    let regions = ProviderRegions::of(plan);
    let mut resources = Vec::new();
    for change in &plan.changes {
        if change.address.resource.mode != ResourceMode::Managed {
            continue;
        }
        let resource_type = change.address.resource.type_name.as_str();
        if !PRICED_TYPES.contains(&resource_type) {
            continue;
        }
        let pricer = Pricer {
            catalog,
            resource_type,
            provider_region: regions.for_provider(&change.provider),
            flag_region: options.region.as_deref(),
        };
        let (before, after) = sides(change);
        let before = before.and_then(|v| pricer.price(v)).map(|(m, _)| m);
        let (after, components) = match after.and_then(|v| pricer.price(v)) {
            Some((m, c)) => (Some(m), c),
            None => (None, Vec::new()),
        };
        if before.is_none() && after.is_none() {
            continue;
        }
        resources.push(ResourceCost {
            address: change.address.to_string(),
            resource_type: resource_type.to_string(),
            before,
            after,
            components,
        });
    }
    for deferred in &plan.deferred {
        let resource_type = deferred.address.resource.type_name.as_str();
        if deferred.address.resource.mode != ResourceMode::Managed
            || !PRICED_TYPES.contains(&resource_type)
        {
            continue;
        }
        let later = || Monthly::Unknown {
            reason: "planned in a later stage, once its provider's configuration is known".into(),
        };
        resources.push(ResourceCost {
            address: deferred.address.to_string(),
            resource_type: resource_type.to_string(),
            before: Some(later()),
            after: Some(later()),
            components: Vec::new(),
        });
    }
    resources.sort_by(|a, b| a.address.cmp(&b.address));
    CostReport {
        currency: catalog.currency.clone(),
        catalog: catalog.describe(),
        resources,
    }
}

/// The object before and after the change, as far as each exists.
fn sides(change: &PlannedChange) -> (Option<&Value>, Option<&Value>) {
    fn present(v: &Option<Value>) -> Option<&Value> {
        v.as_ref().filter(|v| !v.is_null())
    }
    let before = match change.action {
        Action::Create | Action::Read => None,
        _ => present(&change.before),
    };
    let after = match change.action {
        Action::Delete | Action::Forget | Action::Read => None,
        _ => present(&change.after),
    };
    (before, after)
}

/// Prices one object of one resource type.
struct Pricer<'a> {
    catalog: &'a Catalog,
    resource_type: &'a str,
    provider_region: Option<String>,
    flag_region: Option<&'a str>,
}

type Priced = (Monthly, Vec<CostComponent>);

fn unknown(reason: impl Into<String>) -> Priced {
    (
        Monthly::Unknown {
            reason: reason.into(),
        },
        Vec::new(),
    )
}

fn usage_based(note: impl Into<String>) -> Priced {
    (Monthly::UsageBased { note: note.into() }, Vec::new())
}

impl Pricer<'_> {
    fn price(&self, v: &Value) -> Option<Priced> {
        Some(match self.resource_type {
            "aws_instance" => self.instance(v),
            "aws_eks_cluster" => self.eks_cluster(),
            "aws_eks_node_group" => self.node_group(v),
            "kubernetes_llm_service" => self.llm_service(v),
            "kubernetes_job_v1" => self.gpu_job(block(Some(v), "spec"))?,
            "kubernetes_cron_job_v1" => {
                let template = block(block(Some(v), "spec"), "job_template");
                self.gpu_job(block(template, "spec"))?
            }
            "aws_s3_bucket" => {
                usage_based("S3 bills storage (GB-months), requests and data transfer")
            }
            "aws_ecr_repository" => {
                usage_based("ECR bills image storage (GB-months) and data transfer")
            }
            _ => return None,
        })
    }

    /// The region to price in: `zone`'s region when the object has one, else the
    /// provider's, `--region`'s or the catalog's.
    fn region(&self, zone: Option<&str>) -> String {
        if let Some(region) = zone.and_then(zone_region) {
            return region;
        }
        self.provider_region
            .clone()
            .or_else(|| self.flag_region.map(str::to_string))
            .unwrap_or_else(|| self.catalog.default_region.clone())
    }

    /// `count` instances of `instance_type` bought on `market`, all month.
    fn instances(&self, instance_type: &str, market: Market, count: f64, region: &str) -> Priced {
        let Some(Figure { price, .. }) = self.catalog.instance(region, instance_type, market)
        else {
            return unknown(format!(
                "the catalog has no {} price for {instance_type} in {region}",
                market.label()
            ));
        };
        let hourly = price * count;
        let component = CostComponent {
            name: format!(
                "Instance usage (Linux/UNIX, {}, {instance_type}, {region})",
                market.label()
            ),
            unit: "hours".into(),
            hourly_quantity: count,
            monthly_quantity: count * HOURS_PER_MONTH,
            price,
            hourly_cost: hourly,
            monthly_cost: hourly * HOURS_PER_MONTH,
        };
        priced(vec![component])
    }

    fn instance(&self, v: &Value) -> Priced {
        let instance_type = match string(Some(v), "instance_type") {
            Known(t) => t,
            Unknowable => return unknown("instance_type is known only after apply"),
            Absent => return unknown("the instance has no instance_type"),
        };
        let market = match string(block(Some(v), "instance_market_options"), "market_type") {
            Known(m) if m.eq_ignore_ascii_case("spot") => Market::Spot,
            Unknowable => {
                return unknown("instance_market_options.market_type is known only after apply")
            }
            _ => Market::OnDemand,
        };
        let zone = match string(Some(v), "availability_zone") {
            Known(z) => Some(z),
            _ => None,
        };
        self.instances(instance_type, market, 1.0, &self.region(zone))
    }

    fn eks_cluster(&self) -> Priced {
        let region = self.region(None);
        let Some(Figure { price, .. }) = self.catalog.eks_cluster(&region) else {
            return unknown(format!("the catalog has no EKS cluster fee for {region}"));
        };
        priced(vec![CostComponent {
            name: format!("EKS cluster ({region})"),
            unit: "hours".into(),
            hourly_quantity: 1.0,
            monthly_quantity: HOURS_PER_MONTH,
            price,
            hourly_cost: price,
            monthly_cost: price * HOURS_PER_MONTH,
        }])
    }

    fn node_group(&self, v: &Value) -> Priced {
        let desired = match number(block(Some(v), "scaling_config"), "desired_size") {
            Known(n) => n,
            Unknowable => return unknown("scaling_config.desired_size is known only after apply"),
            Absent => return unknown("the node group has no scaling_config.desired_size"),
        };
        let instance_type = match first_string(v, "instance_types") {
            Known(t) => t,
            Unknowable => return unknown("instance_types is known only after apply"),
            Absent => return unknown("the node group names no instance_types"),
        };
        let market = match string(Some(v), "capacity_type") {
            Known("SPOT") => Market::Spot,
            Known("ON_DEMAND") | Absent => Market::OnDemand,
            Known(other) => return unknown(format!("capacity_type {other:?} has no price model")),
            Unknowable => return unknown("capacity_type is known only after apply"),
        };
        self.instances(instance_type, market, desired, &self.region(None))
    }

    fn llm_service(&self, v: &Value) -> Priced {
        let gpu = block(Some(v), "gpu");
        let per_replica = match number(gpu, "count") {
            Known(n) => n,
            Absent => 1.0,
            Unknowable => return unknown("gpu.count is known only after apply"),
        };
        let autoscaling = block(Some(v), "autoscaling");
        let (replicas, baseline) = if autoscaling.is_some() {
            match number(autoscaling, "min_replicas") {
                Known(n) => (n, true),
                Absent => (1.0, true),
                Unknowable => return unknown("autoscaling.min_replicas is known only after apply"),
            }
        } else {
            match number(Some(v), "replicas") {
                Known(n) => (n, false),
                Absent => (1.0, false),
                Unknowable => return unknown("replicas is known only after apply"),
            }
        };
        let selector = map(Some(v), "node_selector");
        if let Some(mismatch) = self.gpu_mismatch(gpu, &selector) {
            return unknown(mismatch);
        }
        self.gpu_hours(&selector, per_replica * replicas)
            .map(|(mut component, market)| {
                let baseline = if baseline {
                    ", the autoscaling minimum"
                } else {
                    ""
                };
                component.name = format!(
                    "GPU usage ({}, {}; {per_replica} GPU(s) × {replicas} replica(s){baseline})",
                    market.label(),
                    component.name,
                );
                priced(vec![component])
            })
            .unwrap_or_else(unknown)
    }

    /// A Job's (or a CronJob's job template's) `spec` block: usage-based when its pods
    /// request GPUs, with the hourly rate when the stack says which instance type they
    /// run on; `None` when they request none.
    fn gpu_job(&self, job_spec: Option<&Value>) -> Option<Priced> {
        let pod = block(block(job_spec, "template"), "spec");
        let mut gpus = 0.0;
        for container in blocks(pod, "container") {
            let resources = block(Some(container), "resources");
            let limits = map(resources, "limits");
            let requests = map(resources, "requests");
            let asked = limits
                .get("nvidia.com/gpu")
                .or_else(|| requests.get("nvidia.com/gpu"));
            if let Some(n) = asked {
                gpus += n.parse::<f64>().unwrap_or(0.0);
            }
        }
        if gpus == 0.0 {
            return None;
        }
        let selector = map(pod, "node_selector");
        Some(match self.gpu_hours(&selector, gpus) {
            Ok((component, _)) => usage_based(format!(
                "billed while it runs: {gpus} GPU(s) at {} per GPU-hour on {} ({} {} an hour)",
                money(component.price),
                component.name,
                money(component.hourly_cost),
                self.catalog.currency
            )),
            Err(why) => usage_based(format!(
                "billed while it runs: {gpus} GPU(s), at a rate unknown because {why}"
            )),
        })
    }

    /// Why the instance type `selector` names cannot serve the service's `gpu.type`
    /// (`A100-80GB` is served by a catalog's `A100`; `H100` is not by `A10G`).
    fn gpu_mismatch(
        &self,
        gpu: Option<&Value>,
        selector: &BTreeMap<String, String>,
    ) -> Option<String> {
        let Known(wanted) = string(gpu, "type") else {
            return None;
        };
        let instance_type = INSTANCE_TYPE_LABELS.iter().find_map(|l| selector.get(*l))?;
        let carried = &self.catalog.gpus(instance_type)?.model;
        let serves = wanted
            .to_ascii_lowercase()
            .starts_with(&carried.to_ascii_lowercase());
        (!serves)
            .then(|| format!("gpu.type is {wanted:?} but {instance_type} carries {carried} GPUs"))
    }

    /// `gpus` GPUs for an hour on the instance type `selector` names: the component
    /// (named after the instance type) and the market, or why it has no price.
    fn gpu_hours(
        &self,
        selector: &BTreeMap<String, String>,
        gpus: f64,
    ) -> Result<(CostComponent, Market), String> {
        let Some(instance_type) = INSTANCE_TYPE_LABELS.iter().find_map(|l| selector.get(*l)) else {
            return Err(
                "the stack does not say which instance type it runs on (node_selector \"node.kubernetes.io/instance-type\")"
                    .into(),
            );
        };
        let market = if CAPACITY_LABELS
            .iter()
            .any(|(label, spot)| selector.get(*label).is_some_and(|v| v == spot))
        {
            Market::Spot
        } else {
            Market::OnDemand
        };
        let region = self.region(None);
        let Some(Figure { price, .. }) = self.catalog.instance(&region, instance_type, market)
        else {
            return Err(format!(
                "the catalog has no {} price for {instance_type} in {region}",
                market.label()
            ));
        };
        let Some(on_one) = self.catalog.gpus(instance_type) else {
            return Err(format!(
                "the catalog does not say how many GPUs {instance_type} has"
            ));
        };
        let per_gpu = price / f64::from(on_one.count);
        let hourly = per_gpu * gpus;
        Ok((
            CostComponent {
                name: format!("{instance_type}, {region}"),
                unit: "GPU-hours".into(),
                hourly_quantity: gpus,
                monthly_quantity: gpus * HOURS_PER_MONTH,
                price: per_gpu,
                hourly_cost: hourly,
                monthly_cost: hourly * HOURS_PER_MONTH,
            },
            market,
        ))
    }
}

fn priced(components: Vec<CostComponent>) -> Priced {
    let hourly: f64 = components.iter().map(|c| c.hourly_cost).sum();
    let monthly: f64 = components.iter().map(|c| c.monthly_cost).sum();
    (Monthly::Priced { hourly, monthly }, components)
}

/// A money figure as text: at most six decimals, no trailing zeros.
pub fn money(x: f64) -> String {
    let text = format!("{x:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" | "" => "0".to_string(),
        t => t.to_string(),
    }
}

/// `us-east-1a` → `us-east-1`; `None` for anything that is not a zone name.
fn zone_region(zone: &str) -> Option<String> {
    let region = zone.trim_end_matches(|c: char| c.is_ascii_lowercase());
    (region.len() < zone.len() && region.ends_with(|c: char| c.is_ascii_digit()))
        .then(|| region.to_string())
}

/// What an attribute holds, for pricing.
enum Lookup<T> {
    Known(T),
    /// Known only after apply.
    Unknowable,
    /// Null or not there.
    Absent,
}

use Lookup::{Absent, Known, Unknowable};

fn attribute<'a>(v: Option<&'a Value>, name: &str) -> Lookup<&'a Value> {
    let Some(v) = v else { return Absent };
    match v.peel().0 {
        Value::Unknown(_) => Unknowable,
        Value::Object(m) | Value::Map(_, m) => match m.get(name) {
            None => Absent,
            Some(x) if x.is_null() => Absent,
            Some(x) if !x.is_known() => Unknowable,
            Some(x) => Known(x),
        },
        _ => Absent,
    }
}

fn string<'a>(v: Option<&'a Value>, name: &str) -> Lookup<&'a str> {
    match attribute(v, name) {
        Known(x) => x.as_str().map_or(Absent, Known),
        Unknowable => Unknowable,
        Absent => Absent,
    }
}

fn number(v: Option<&Value>, name: &str) -> Lookup<f64> {
    match attribute(v, name) {
        Known(x) => x.as_number().map_or(Absent, |n| Known(n.to_f64())),
        Unknowable => Unknowable,
        Absent => Absent,
    }
}

fn first_string<'a>(v: &'a Value, name: &str) -> Lookup<&'a str> {
    match attribute(Some(v), name) {
        Known(list) => match list.elements().and_then(|e| e.first().copied()) {
            Some(x) if !x.is_known() => Unknowable,
            Some(x) => x.as_str().map_or(Absent, Known),
            None => Absent,
        },
        Unknowable => Unknowable,
        Absent => Absent,
    }
}

/// A nested block's object: the first element of a list, set or tuple of blocks, or
/// the object itself for a single block.
fn block<'a>(v: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    match attribute(v, name) {
        Known(x) => match x.peel().0 {
            Value::Object(_) => Some(x),
            _ => x.elements().and_then(|e| e.first().copied()),
        },
        _ => None,
    }
}

fn blocks<'a>(v: Option<&'a Value>, name: &str) -> Vec<&'a Value> {
    match attribute(v, name) {
        Known(x) => match x.peel().0 {
            Value::Object(_) => vec![x],
            _ => x.elements().unwrap_or_default(),
        },
        _ => Vec::new(),
    }
}

/// A map of strings' known entries.
fn map(v: Option<&Value>, name: &str) -> BTreeMap<String, String> {
    let Known(x) = attribute(v, name) else {
        return BTreeMap::new();
    };
    match x.peel().0 {
        Value::Map(_, m) | Value::Object(m) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The `region` of each aws provider configuration of the root module, by alias
/// (`None` for the default one), as the plan's JSON configuration writes it.
struct ProviderRegions(BTreeMap<Option<String>, String>);

impl ProviderRegions {
    fn of(plan: &Plan) -> ProviderRegions {
        let configuration = match (&plan.json, &plan.saved_json) {
            (Some(context), _) => Some(&context.configuration),
            (None, Some(saved)) => saved.get("configuration"),
            (None, None) => None,
        };
        let mut regions = BTreeMap::new();
        let configs = configuration
            .and_then(|c| c.pointer("/provider_config"))
            .and_then(|p| p.as_object());
        for config in configs.into_iter().flat_map(|m| m.values()) {
            if config.get("name").and_then(|n| n.as_str()) != Some("aws")
                || config.get("module_address").is_some()
            {
                continue;
            }
            let alias = config
                .get("alias")
                .and_then(|a| a.as_str())
                .map(str::to_string);
            let Some(region) = config.pointer("/expressions/region") else {
                continue;
            };
            let value = match region.get("constant_value").and_then(|v| v.as_str()) {
                Some(constant) => Some(constant.to_string()),
                None => region
                    .get("references")
                    .and_then(|r| r.as_array())
                    .and_then(|refs| refs.iter().find_map(|r| r.as_str()?.strip_prefix("var.")))
                    .and_then(|name| plan.variables.get(name))
                    .and_then(|v| v.as_str().map(str::to_string)),
            };
            if let Some(value) = value {
                regions.insert(alias, value);
            }
        }
        ProviderRegions(regions)
    }

    /// The region of the configuration at `address` (`provider["…/aws"].west`); for
    /// a resource of another provider, the default aws configuration's.
    fn for_provider(&self, address: &str) -> Option<String> {
        let is_aws = address.contains("/aws\"]") || address.contains("\"aws\"]");
        let alias = if is_aws {
            address
                .rsplit_once("\"]")
                .and_then(|(_, rest)| rest.strip_prefix('.'))
                .map(str::to_string)
        } else {
            None
        };
        self.0.get(&alias).cloned()
    }
}

#[cfg(test)]
mod tests;
