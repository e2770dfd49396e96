use std::path::Path;

use super::{Output, VarOptions};
use crate::diag::{render_json, render_text};
use crate::stack::{load_and_evaluate, StackOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print diagnostics as JSON (Terraform's `validate -json` shape).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    vars: VarOptions,
}

pub fn run(args: Args, matches: &clap::ArgMatches, out: &Output) -> u8 {
    let options = StackOptions {
        validate: true,
        ..args.vars.stack_options(matches)
    };
    let stack = load_and_evaluate(Path::new("."), &options);
    let diags = &stack.diagnostics;
    if args.json {
        let json = render_json(&stack.sources, diags);
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    } else {
        if !diags.is_empty() {
            eprint!("{}", render_text(&stack.sources, diags, out.color));
        }
        if !diags.has_errors() {
            println!("Success! The configuration is valid.");
        } else {
            let n = diags.errors().count();
            eprintln!("{n} error{} found.", if n == 1 { "" } else { "s" });
        }
    }
    u8::from(diags.has_errors())
}
