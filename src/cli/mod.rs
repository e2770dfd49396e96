//! The `plinth` command line: one file per command, each parsing its arguments and
//! printing; the work happens in the library.

mod console;
mod cost;
mod drift;
mod fmt;
mod graph;
mod import;
mod init;
mod json_view;
mod markdown;
mod policy;
mod progress;
mod providers;
mod reconcile;
mod run;
mod state_cmds;
mod tfcompat;
mod unmanaged;
mod validate;
mod version;
mod view;
mod workspace;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::vars::VarArg;
use crate::operation::CancelToken;
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
    /// Install the stack's providers from local directories and lock their versions.
    Init(init::Args),
    /// Bring an existing object under management: plinth import ADDR ID.
    Import(import::Args),
    /// Check that the stack is valid: syntax, references, types, cycles, validations.
    Validate(validate::Args),
    /// Evaluate expressions against the stack, one per line (like terraform console).
    Console(console::Args),
    /// Rewrite stack files in the canonical style.
    Fmt(fmt::Args),
    /// Print the dependency graph (DOT or Mermaid).
    Graph(graph::Args),
    /// Show what apply would change.
    Plan(run::Args),
    /// Change the world to match the stack, saving state as it goes.
    Apply(run::Args),
    /// Destroy everything the stack's state holds.
    Destroy(run::Args),
    /// Render a plan saved with `plinth plan --out`, or with no file the current state.
    Show {
        /// The plan file (default: the state); with --markdown, several (one section
        /// per stack).
        files: Vec<PathBuf>,
        /// As JSON (the shape of Terraform's JSON plan, or of its JSON state).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        markdown: markdown::ShowArgs,
        /// Check the plan against the Rego policies in DIR (repeatable); exit 3 when
        /// a deny or violation rule fires.
        #[arg(long, value_name = "DIR")]
        policy: Vec<PathBuf>,
        #[command(flatten)]
        prices: cost::PriceArgs,
    },
    /// Show the providers the stack needs and where each was found; `providers schema
    /// --json` prints their schemas.
    Providers(providers::Args),
    /// Print output values from the state.
    Output(state_cmds::OutputArgs),
    /// Inspect the state.
    #[command(subcommand)]
    State(state_cmds::StateCommand),
    /// Manage workspaces, each with its own state.
    #[command(subcommand)]
    Workspace(workspace::WorkspaceCommand),
    /// Mark an instance tainted, so the next plan replaces it: plinth taint ADDR.
    Taint { address: String },
    /// Clear an instance's taint, so the next plan keeps it: plinth untaint ADDR.
    Untaint { address: String },
    /// Remove a lock left behind by a plinth process that is gone.
    ForceUnlock {
        /// The lock id, as the locked-state error prints it.
        id: String,
    },
    /// Print plinth's version.
    Version(version::Args),
    /// Estimate the monthly cost of a plan (saved with `plan --out`, or made now):
    /// before, after and the difference, per resource and in total.
    Cost(cost::Args),
    /// Refresh everything, change nothing, and report what changed outside plinth,
    /// attribute by attribute; exit 0 no drift, 2 drift, 1 error. `--unmanaged` lists
    /// the objects no state holds.
    Drift(drift::DriftArgs),
    /// Find drift on a schedule (or once) and report it or put it back.
    Reconcile(reconcile::Args),
    /// One reconcile run of the stack in the working directory, for `plinth
    /// reconcile`: the job as JSON in, the outcome as JSON out.
    #[command(name = "__reconcile-run", hide = true)]
    ReconcileRun { job: String },
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
    /// The variable arguments in command-line order (later ones win), read from the
    /// positions clap recorded for each value.
    pub(crate) fn stack_options(&self, matches: &ArgMatches) -> StackOptions {
        let positions = |id: &str| -> Vec<usize> {
            matches
                .indices_of(id)
                .map(|i| i.collect())
                .unwrap_or_default()
        };
        let mut ordered: Vec<(usize, VarArg)> = Vec::new();
        ordered.extend(
            positions("var")
                .into_iter()
                .zip(&self.var)
                .map(|(i, v)| (i, VarArg::Var(v.clone()))),
        );
        ordered.extend(
            positions("var_file")
                .into_iter()
                .zip(&self.var_file)
                .map(|(i, f)| (i, VarArg::File(f.clone()))),
        );
        ordered.sort_by_key(|(i, _)| *i);
        StackOptions {
            vars: ordered.into_iter().map(|(_, v)| v).collect(),
            env: std::env::vars().collect(),
            workspace: plinth_state::workspace::current(std::path::Path::new(".")).ok(),
            require_root_vars: false,
            validate: false,
            providers: crate::stack::ProviderStart::Installed,
            in_process: crate::plugin::Providers::default(),
            untrusted: false,
        }
    }
}

/// The store of the selected workspace's state; a selection plinth refuses is
/// printed and exits 1.
pub(crate) fn store(dir: &std::path::Path) -> Result<crate::operation::Store, u8> {
    crate::operation::Store::local(dir).map_err(|e| {
        eprintln!("Error: {e}");
        1
    })
}

pub struct Output {
    pub color: bool,
}

/// What Ctrl-C cancels: the operation this process runs.
static INTERRUPT: OnceLock<CancelToken> = OnceLock::new();

extern "C" fn on_interrupt(_signal: libc::c_int) {
    // A first Ctrl-C stops starting new changes; a second one exits at once.
    if INTERRUPT.get().is_some_and(CancelToken::cancel) {
        unsafe { libc::_exit(130) };
    }
}

/// Routes Ctrl-C (SIGINT) and SIGTERM to a graceful stop of a running apply: the
/// token they cancel.
fn handle_interrupts() -> CancelToken {
    let token = INTERRUPT.get_or_init(CancelToken::new).clone();
    let handler = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only reads a set OnceLock and an atomic and may call
    // _exit, all async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    token
}

pub fn run() -> ExitCode {
    // Output piped into `head` and closed early ends plinth quietly, as other Unix tools.
    // SAFETY: restoring the default disposition of SIGPIPE at start-up.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    tfcompat::map_log_env();
    let command = Cli::command();
    let args = match tfcompat::prepare(
        std::env::args_os().collect(),
        &command,
        &tfcompat::Env::from_process(),
    ) {
        Ok(a) => a,
        Err(tfcompat::ArgsError(why)) => {
            eprintln!("Error: {why}");
            return ExitCode::from(1);
        }
    };
    // A usage error exits 1, as in Terraform: under `-detailed-exitcode` a 2 would
    // read as "changes present". Help and the version print and exit 0.
    let matches = match command.try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(1);
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let sub = matches.subcommand().map(|(_, m)| m).unwrap_or(&matches);
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
        Command::Init(args) => init::run(args, &out),
        Command::Import(args) => import::run(args, sub, &out),
        Command::Validate(args) => validate::run(args, sub, &out),
        Command::Console(args) => console::run(args, sub, &out),
        Command::Fmt(args) => fmt::run(args, &out),
        Command::Graph(args) => graph::run(args, sub, &out),
        Command::Plan(args) => run::run(args, sub, &out, run::Mode::Plan, &CancelToken::new()),
        Command::Apply(args) => {
            let cancel = handle_interrupts();
            run::run(args, sub, &out, run::Mode::Apply, &cancel)
        }
        Command::Destroy(args) => {
            let cancel = handle_interrupts();
            run::run(args, sub, &out, run::Mode::Destroy, &cancel)
        }
        Command::Show {
            files,
            json,
            markdown,
            policy,
            prices,
        } => match show(&files, json, &markdown, &policy, &prices, &out) {
            Some(code) => code,
            None if files.is_empty() && !policy.is_empty() => {
                eprintln!("Error: plinth show --policy checks a plan: name the plan file.");
                1
            }
            None if files.is_empty() => state_cmds::show(json),
            None => match prices.prices() {
                Ok(prices) => run::show(&files[0], json, &policy, &prices, &out),
                Err(code) => code,
            },
        },
        Command::Providers(args) => providers::run(args, &out),
        Command::Output(args) => state_cmds::output(args),
        Command::State(cmd) => state_cmds::state(cmd, &out),
        Command::Workspace(cmd) => workspace::run(cmd),
        Command::Taint { address } => state_cmds::taint(&address, true, &out),
        Command::Untaint { address } => state_cmds::taint(&address, false, &out),
        Command::ForceUnlock { id } => state_cmds::force_unlock(&id, &out),
        Command::Version(args) => version::run(args),
        Command::Cost(args) => cost::run(args, sub, &out),
        Command::Drift(args) => drift::run(args, sub, &out),
        Command::ReconcileRun { job } => drift::reconcile_run(&job, handle_interrupts()),
        Command::Reconcile(args) => reconcile::run(args, &out),
    };
    ExitCode::from(code)
}

/// `show --markdown`: its exit code; `None` for the other forms of `show`.
fn show(
    files: &[PathBuf],
    json: bool,
    markdown: &markdown::ShowArgs,
    policy: &[PathBuf],
    prices: &cost::PriceArgs,
    out: &Output,
) -> Option<u8> {
    if !markdown.wanted() {
        return markdown::show_files(files, json, markdown, None);
    }
    let mut policies = match policy::load(policy, out.color) {
        Ok(p) => p,
        Err(code) => return Some(code),
    };
    match prices.prices() {
        Ok(prices) => markdown::show_files(files, json, markdown, Some((&mut policies, &prices))),
        Err(code) => Some(code),
    }
}
