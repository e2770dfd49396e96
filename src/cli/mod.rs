//! The `plinth` command line: one file per command, each parsing its arguments and
//! printing; the work happens in the library.

mod fmt;
mod graph;
mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::vars::VarArg;
use crate::stack::StackOptions;

#[derive(Parser, Debug)]
#[command(
    name = "plinth",
    version,
    about = "Declarative infrastructure for AI platforms, in the Terraform language"
)]
pub struct Cli {
    /// Run as if started in DIR (the stack directory).
    #[arg(short = 'C', long = "chdir", global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// Never colour the output.
    #[arg(long, global = true)]
    pub no_color: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check that the stack is valid: syntax, references, types, cycles, validations.
    Validate(validate::Args),
    /// Rewrite stack files in the canonical style.
    Fmt(fmt::Args),
    /// Print the dependency graph (DOT or Mermaid).
    Graph(graph::Args),
    /// Print plinth's version.
    Version,
}

/// `--var` and `--var-file`, kept in the order given (later ones win).
#[derive(clap::Args, Debug, Default)]
pub struct VarOptions {
    /// Set a root variable: --var name=value (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    var: Vec<String>,
    /// Read root variables from a file (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    var_file: Vec<PathBuf>,
}

impl VarOptions {
    fn stack_options(&self) -> StackOptions {
        // clap keeps each flag's values in order but not the interleaving of the two
        // flags; recover it from the raw arguments.
        let mut vars = Vec::new();
        let mut files = self.var_file.iter();
        let mut values = self.var.iter();
        let args: Vec<String> = std::env::args().collect();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a == "--var-file" || a.starts_with("--var-file=") {
                if let Some(f) = files.next() {
                    vars.push(VarArg::File(f.clone()));
                }
            } else if a == "--var" || a.starts_with("--var=") {
                if let Some(v) = values.next() {
                    vars.push(VarArg::Var(v.clone()));
                }
            }
            i += 1;
        }
        vars.extend(files.map(|f| VarArg::File(f.clone())));
        vars.extend(values.map(|v| VarArg::Var(v.clone())));
        StackOptions {
            vars,
            env: std::env::vars().collect(),
            workspace: std::env::var("PLINTH_WORKSPACE").ok(),
            require_root_vars: false,
        }
    }
}

pub struct Output {
    pub color: bool,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Some(dir) = &cli.chdir {
        if let Err(e) = std::env::set_current_dir(dir) {
            eprintln!("Error: cannot change to directory {}: {e}", dir.display());
            return ExitCode::from(1);
        }
    }
    let out = Output {
        color: !cli.no_color
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none(),
    };
    let code = match cli.command {
        Command::Validate(args) => validate::run(args, &out),
        Command::Fmt(args) => fmt::run(args, &out),
        Command::Graph(args) => graph::run(args, &out),
        Command::Version => {
            println!("plinth v{}", env!("CARGO_PKG_VERSION"));
            0
        }
    };
    ExitCode::from(code)
}
