//! What a [`CostReport`] adds up to. Totals count priced figures only: an unknown or
//! usage-based figure is left out and counted instead, and the delta counts only
//! resources known on both sides, so neither a total nor the delta is ever moved by a
//! price nobody knows.

use super::{CostReport, Monthly, ResourceCost};

/// A side of a resource's figure, for the totals.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Before,
    After,
}

impl ResourceCost {
    pub fn side(&self, side: Side) -> Option<&Monthly> {
        match side {
            Side::Before => self.before.as_ref(),
            Side::After => self.after.as_ref(),
        }
    }

    /// Whether either side is unknown.
    pub fn is_unknown(&self) -> bool {
        [&self.before, &self.after]
            .into_iter()
            .any(|m| matches!(m, Some(Monthly::Unknown { .. })))
    }

    /// Whether a side is usage-based and neither is unknown.
    pub fn is_usage_based(&self) -> bool {
        !self.is_unknown()
            && [&self.before, &self.after]
                .into_iter()
                .any(|m| matches!(m, Some(Monthly::UsageBased { .. })))
    }

    /// After minus before, monthly, when both sides are priced or absent.
    pub fn monthly_delta(&self) -> Option<f64> {
        self.delta(|(_, monthly)| monthly)
    }

    /// After minus before, hourly, when both sides are priced or absent.
    pub fn hourly_delta(&self) -> Option<f64> {
        self.delta(|(hourly, _)| hourly)
    }

    fn delta(&self, pick: fn((f64, f64)) -> f64) -> Option<f64> {
        let figure = |m: &Option<Monthly>| match m {
            None => Some(0.0),
            Some(m) => m.priced().map(pick),
        };
        Some(figure(&self.after)? - figure(&self.before)?)
    }
}

impl Monthly {
    /// (hourly, monthly) of a priced figure.
    pub fn priced(&self) -> Option<(f64, f64)> {
        match self {
            Monthly::Priced { hourly, monthly } => Some((*hourly, *monthly)),
            _ => None,
        }
    }
}

/// Figures are added up in millionths of the currency: exact for the catalog's prices,
/// so 10,000 resources' total does not end in float noise (72619050.229995 for
/// 72619050.23).
fn exact_sum(figures: impl Iterator<Item = f64>) -> f64 {
    let millionths: i128 = figures.map(|x| (x * 1e6).round() as i128).sum();
    millionths as f64 / 1e6
}

impl CostReport {
    fn total(&self, side: Side) -> (f64, f64) {
        let priced: Vec<(f64, f64)> = self
            .resources
            .iter()
            .filter_map(|r| r.side(side)?.priced())
            .collect();
        (
            exact_sum(priced.iter().map(|p| p.0)),
            exact_sum(priced.iter().map(|p| p.1)),
        )
    }

    /// The monthly cost of what is priced before the plan.
    pub fn before_monthly(&self) -> f64 {
        self.total(Side::Before).1
    }

    /// The monthly cost of what is priced after the plan.
    pub fn after_monthly(&self) -> f64 {
        self.total(Side::After).1
    }

    pub fn before_hourly(&self) -> f64 {
        self.total(Side::Before).0
    }

    pub fn after_hourly(&self) -> f64 {
        self.total(Side::After).0
    }

    /// The change of the resources whose figure is known on both sides (or absent on
    /// one): a resource priced before and unknown after is not a saving, so it is
    /// left out of the delta, which then need not be after minus before.
    pub fn delta_monthly(&self) -> f64 {
        exact_sum(
            self.resources
                .iter()
                .filter_map(ResourceCost::monthly_delta),
        )
    }

    pub fn delta_hourly(&self) -> f64 {
        exact_sum(self.resources.iter().filter_map(ResourceCost::hourly_delta))
    }

    /// Resources with a figure nobody knows on either side.
    pub fn unknown_count(&self) -> usize {
        self.resources.iter().filter(|r| r.is_unknown()).count()
    }

    /// Resources billed by use (and not unknown).
    pub fn usage_based_count(&self) -> usize {
        self.resources.iter().filter(|r| r.is_usage_based()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::exact_sum;

    #[test]
    fn totals_have_no_float_noise() {
        // 10,000 × 7.3 is 73000 exactly; summed as floats it is not.
        let float: f64 = std::iter::repeat_n(73.0, 10_000).map(|x| x * 0.1).sum();
        assert_ne!(float, 73000.0);
        assert_eq!(exact_sum(std::iter::repeat_n(73.0 * 0.1, 10_000)), 73000.0);
        assert_eq!(exact_sum([0.1, 0.2].into_iter()), 0.3);
    }
}
