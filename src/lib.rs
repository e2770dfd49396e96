//! plinth: a declarative infrastructure engine for AI platforms, speaking the Terraform
//! language. See `docs/architecture.md` for the map of this crate.

pub mod addrs;
pub mod apply;
pub mod cancel;
pub mod cli;
pub mod config;
pub mod diag;
pub mod drift;
pub mod graph;
pub mod lang;
pub mod modules;
pub mod operation;
pub mod plan;
pub mod plugin;
pub mod preview;
pub mod reconcile;
pub mod schema;
pub mod stack;
pub mod timing;

/// The Terraform language version plinth follows (Terraform v1.0.3 is the value oracle
/// where it has a feature; later releases' relaxations and additions up to 1.9 are
/// followed): `terraform_version` in JSON plans and states, and what
/// `required_version` constraints are checked against.
pub const TERRAFORM_VERSION: &str = "1.9.0";
