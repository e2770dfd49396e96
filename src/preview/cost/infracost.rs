//! A [`CostReport`] as JSON in the field names of Infracost's `breakdown --format
//! json` (version 0.2): one project with `pastBreakdown` (before), `breakdown`
//! (after) and `diff`, and the totals at the top. Costs are decimal strings; a cost
//! nobody knows, or one billed by use, is `null`, and each resource's `metadata`
//! says which and why.

use serde_json::{json, Value as J};

use super::estimate::money;
use super::report::Side;
use super::{CostComponent, CostReport, Monthly, ResourceCost};

/// The Infracost JSON format version these field names follow.
pub const INFRACOST_VERSION: &str = "0.2";

impl CostReport {
    /// The report as Infracost's JSON, its project named ".".
    pub fn to_json(&self) -> J {
        self.to_json_named(".")
    }

    /// The report as Infracost's JSON, its one project named `project` (the stack).
    pub fn to_json_named(&self, project: &str) -> J {
        let past = self.breakdown(Side::Before);
        let now = self.breakdown(Side::After);
        let diff_resources: Vec<J> = self
            .resources
            .iter()
            .filter(|r| r.monthly_delta() != Some(0.0))
            .map(diff_resource)
            .collect();
        let diff = json!({
            "resources": diff_resources,
            "totalHourlyCost": money(self.delta_hourly()),
            "totalMonthlyCost": money(self.delta_monthly()),
        });
        let summary = json!({
            "totalDetectedResources": self.resources.len(),
            "totalSupportedResources": self.resources.len(),
            "totalUsageBasedResources": self.usage_based_count(),
            "totalUnknownResources": self.unknown_count(),
        });
        json!({
            "version": INFRACOST_VERSION,
            "currency": self.currency,
            "metadata": {"catalog": self.catalog},
            "projects": [{
                "name": project,
                "metadata": {"catalog": self.catalog},
                "pastBreakdown": past,
                "breakdown": now,
                "diff": diff,
                "summary": summary,
            }],
            "totalHourlyCost": money(self.after_hourly()),
            "totalMonthlyCost": money(self.after_monthly()),
            "pastTotalHourlyCost": money(self.before_hourly()),
            "pastTotalMonthlyCost": money(self.before_monthly()),
            "diffTotalHourlyCost": money(self.delta_hourly()),
            "diffTotalMonthlyCost": money(self.delta_monthly()),
            "summary": summary,
        })
    }

    fn breakdown(&self, side: Side) -> J {
        let resources: Vec<J> = self
            .resources
            .iter()
            .filter_map(|r| Some(resource(r, r.side(side)?, side == Side::After)))
            .collect();
        let (hourly, monthly) = match side {
            Side::Before => (self.before_hourly(), self.before_monthly()),
            Side::After => (self.after_hourly(), self.after_monthly()),
        };
        json!({
            "resources": resources,
            "totalHourlyCost": money(hourly),
            "totalMonthlyCost": money(monthly),
        })
    }
}

/// One resource on one side: its figure, its components (after only) and why a
/// figure is missing.
fn resource(r: &ResourceCost, figure: &Monthly, with_components: bool) -> J {
    let (hourly, monthly) = match figure.priced() {
        Some((h, m)) => (json!(money(h)), json!(money(m))),
        None => (J::Null, J::Null),
    };
    let components: Vec<J> = if with_components {
        r.components.iter().map(component).collect()
    } else {
        Vec::new()
    };
    json!({
        "name": r.address,
        "resourceType": r.resource_type,
        "metadata": status(figure),
        "hourlyCost": hourly,
        "monthlyCost": monthly,
        "costComponents": components,
    })
}

fn diff_resource(r: &ResourceCost) -> J {
    let delta = r.monthly_delta();
    let hourly = r.hourly_delta();
    let unpriced = [r.before.as_ref(), r.after.as_ref()]
        .into_iter()
        .flatten()
        .find(|m| m.priced().is_none());
    json!({
        "name": r.address,
        "resourceType": r.resource_type,
        "metadata": unpriced.map_or_else(|| json!({"status": "priced"}), status),
        "hourlyCost": hourly.map_or(J::Null, |h| json!(money(h))),
        "monthlyCost": delta.map_or(J::Null, |d| json!(money(d))),
        "costComponents": [],
    })
}

fn status(figure: &Monthly) -> J {
    match figure {
        Monthly::Priced { .. } => json!({"status": "priced"}),
        Monthly::UsageBased { note } => json!({"status": "usageBased", "note": note}),
        Monthly::Unknown { reason } => json!({"status": "unknown", "reason": reason}),
    }
}

fn component(c: &CostComponent) -> J {
    json!({
        "name": c.name,
        "unit": c.unit,
        "hourlyQuantity": money(c.hourly_quantity),
        "monthlyQuantity": money(c.monthly_quantity),
        "price": money(c.price),
        "hourlyCost": money(c.hourly_cost),
        "monthlyCost": money(c.monthly_cost),
    })
}
