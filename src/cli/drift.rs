//! `plinth drift`: refresh everything, change nothing, and report what differs
//! between state and reality, attribute by attribute, and what the configuration
//! would change. Exit 0 no drift, 2 drift, 1 error.

use super::{unmanaged, Output, VarOptions};
use crate::drift::{self, render};

#[derive(clap::Args, Debug)]
pub struct DriftArgs {
    /// Print the report as Markdown (for a comment or a chat message). `--json`
    /// (below, shared with --unmanaged) prints it as JSON.
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
    /// Accepted for symmetry with `plan`: drift always exits 2 when it finds drift.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Leave this address or attribute path out (repeatable):
    /// `aws_eks_node_group.gpu.scaling_config[0].desired_size`.
    #[arg(long, value_name = "ADDR[.PATH]")]
    ignore: Vec<String>,
    #[command(flatten)]
    unmanaged: unmanaged::Args,
    #[command(flatten)]
    vars: VarOptions,
}

/// Exit code when drift is found.
pub const DRIFTED: u8 = 2;

pub fn run(args: DriftArgs, matches: &clap::ArgMatches, out: &Output) -> u8 {
    if args.unmanaged.wanted() {
        return unmanaged::run(&args.unmanaged, matches, out);
    }
    let _ = args.detailed_exitcode;
    let done = match super::cost::plan_quietly(&args.vars, matches, out) {
        Ok(done) => done,
        Err(code) => return code,
    };
    let rules = match done.drift_rules.with(&args.ignore) {
        Ok(rules) => rules,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let report = drift::report(&done.plan, &rules);
    if args.unmanaged.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::json(&report)).unwrap_or_default()
        );
    } else if args.markdown {
        print!("{}", render::markdown(&report));
    } else {
        print!("{}", render::text(&report));
    }
    if report.has_drift() {
        DRIFTED
    } else {
        0
    }
}

/// `plinth __reconcile-run JOB`: the child side of `reconcile::run::run_stack`, run
/// in the stack's directory; prints the outcome as one JSON line.
pub fn reconcile_run(job: &str, cancel: crate::operation::CancelToken) -> u8 {
    let mut job: crate::reconcile::StackJob = match serde_json::from_str(job) {
        Ok(job) => job,
        Err(e) => {
            eprintln!("Error: the reconcile job does not read: {e}");
            return 1;
        }
    };
    job.dir = std::path::PathBuf::from(".");
    let outcome = crate::reconcile::run::run_here(&job, &cancel);
    match serde_json::to_string(&outcome) {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}
