//! Every integration test of the engine crate, as one test binary: one link instead of
//! one per file. Each module is one area; `common` holds the helpers they share.

mod common;

mod addresses;
mod aws_platform;
mod builtin_provider_functions;
mod checks_and_removed;
mod ci_examples;
mod cli;
mod concurrency;
mod conformance;
mod cost;
mod data_in_state;
mod fmt;
mod functions_since_1_0;
mod fuzz_regressions;
mod json_plan;
mod kill;
mod kmock_harness;
mod kubernetes;
mod language_forms;
mod llm_service;
mod load_checks;
mod loader_faults;
mod machine_ui;
mod markdown;
mod modules_install;
mod operation;
mod plugins;
mod policy;
mod provider_calls;
mod provider_meta;
mod public_modules;
mod resource_bombs;
mod review_bugs;
mod sensitive;
mod staged_apply;
mod state_trust;
mod tainted;
mod terraform_cli;
mod unmanaged;
mod untrusted;
mod validate_errors;
mod validate_semantics;
mod values;
mod workflow;
