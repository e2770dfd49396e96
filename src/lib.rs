//! plinth: a declarative infrastructure engine for AI platforms, speaking the Terraform
//! language. See `docs/architecture.md` for the map of this crate.

pub mod addrs;
pub mod apply;
pub mod cancel;
pub mod cli;
pub mod config;
pub mod diag;
pub mod graph;
pub mod lang;
pub mod modules;
pub mod operation;
pub mod plan;
pub mod plugin;
pub mod schema;
pub mod stack;
pub mod timing;
