//! Every integration test of the engine crate, as one test binary: one link instead of
//! one per file. Each module is one area; `common` holds the helpers they share.

mod common;

mod addresses;
mod aws_platform;
mod cli;
mod concurrency;
mod conformance;
mod fmt;
mod fuzz_regressions;
mod kill;
mod language_forms;
mod loader_faults;
mod operation;
mod plugins;
mod provider_calls;
mod resource_bombs;
mod review_bugs;
mod sensitive;
mod state_trust;
mod validate_errors;
mod values;
mod workflow;
