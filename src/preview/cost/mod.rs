//! The monthly cost of a plan, before and after, priced from a catalog.

/// One resource's monthly figure in the catalog's currency, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub enum Monthly {
    /// A fixed price: `hourly` × 730 hours is `monthly`.
    Priced { hourly: f64, monthly: f64 },
    /// Billed by use (S3 storage, ECR, a Job's run time): no fixed monthly figure;
    /// `note` says what it is billed by.
    UsageBased { note: String },
    /// Not priced, never shown as zero: an instance type the catalog lacks, a size
    /// known only after apply.
    Unknown { reason: String },
}

/// One line of a resource's price (Infracost's `costComponents`).
#[derive(Clone, Debug, PartialEq)]
pub struct CostComponent {
    /// "Instance usage (Linux/UNIX, on-demand, g5.xlarge)".
    pub name: String,
    /// "hours", "GPU-hours".
    pub unit: String,
    pub hourly_quantity: f64,
    pub monthly_quantity: f64,
    /// The price of one unit.
    pub price: f64,
    pub hourly_cost: f64,
    pub monthly_cost: f64,
}

/// One priceable resource instance of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceCost {
    /// The instance's address: `module.gpu["a10g"].aws_eks_node_group.this`.
    pub address: String,
    pub resource_type: String,
    /// Its figure before the plan; `None` when it does not exist before.
    pub before: Option<Monthly>,
    /// Its figure after the plan; `None` when it does not exist after.
    pub after: Option<Monthly>,
    /// What the figure after is made of.
    pub components: Vec<CostComponent>,
}

/// The cost of one plan.
#[derive(Clone, Debug, PartialEq)]
pub struct CostReport {
    /// "USD".
    pub currency: String,
    /// Where the prices come from: the catalog's path or name and its date.
    pub catalog: String,
    /// Every priceable resource the plan touches or keeps, in address order.
    pub resources: Vec<ResourceCost>,
}

pub mod catalog;
pub mod estimate;
pub mod infracost;
pub mod report;
pub mod text;

pub use catalog::{Catalog, CatalogError};
pub use estimate::{estimate, EstimateOptions};
