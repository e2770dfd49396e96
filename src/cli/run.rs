//! `plinth plan`, `plinth apply` and `plinth destroy`: flags mapped to the plan,
//! apply and saved-plan operations, rendered by the terminal's view.

use crate::addrs::{ResourceInstance, Target};
use std::path::Path;
use std::time::Duration;

use super::json_view::{self, JsonView};
use super::view::{report, TerminalView};
use super::{Output, VarOptions};
use crate::apply::ChangeOptions;
use crate::operation::{self, CancelToken, RunRequest, SavedPlanRequest};
use crate::plan::file::PlanFile;
use crate::plan::render;
use std::cell::RefCell;

use super::cost::Prices;
use super::markdown::Assessment;
use crate::stack::{ProviderStart, StackOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Plan (or apply) destroying everything in state.
    #[arg(long)]
    destroy: bool,
    /// Run at most N provider calls at once (default: as many as the dependencies allow).
    #[arg(long, value_name = "N")]
    parallelism: Option<usize>,
    /// Limit the plan to this resource, instance or module and what it depends on
    /// (repeatable).
    #[arg(long, value_name = "ADDR", value_parser = Target::parse)]
    target: Vec<Target>,
    /// Plan to replace this instance even if nothing changed (repeatable).
    #[arg(long, value_name = "ADDR", value_parser = ResourceInstance::parse)]
    replace: Vec<ResourceInstance>,
    /// Apply without asking for confirmation.
    #[arg(long)]
    auto_approve: bool,
    /// Print the plan as JSON (the shape of Terraform's JSON plan) instead of text.
    #[arg(long)]
    json: bool,
    /// Save the plan to FILE, for `plinth apply FILE` and `plinth show FILE`.
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
    /// A plan saved with `plinth plan --out` (apply only).
    #[arg(value_name = "PLAN_FILE")]
    plan_file: Option<std::path::PathBuf>,
    /// Read every resource through its provider before planning (`--refresh=false`
    /// plans against state as stored).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    refresh: bool,
    /// Only record what changed outside plinth: plan (or apply) no changes to
    /// resources.
    #[arg(long)]
    refresh_only: bool,
    /// How long to wait for another plinth process to release the state, e.g. 30s.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    lock_timeout: Duration,
    /// Plan code nobody has reviewed yet (a pull request's branch): files are read
    /// only inside the repository root, TF_VAR_*/PLINTH_VAR_* are ignored, only
    /// providers whose hashes the lock file records run, and nothing is written
    /// outside .plinth/ (plan only; see docs/untrusted.md).
    #[arg(long)]
    untrusted: bool,
    #[command(flatten)]
    markdown: super::markdown::PlanArgs,
    /// Check the plan against the Rego policies in DIR (conftest's conventions;
    /// repeatable): exit 3 when a deny or violation rule fires (plan only).
    #[arg(long, value_name = "DIR")]
    policy: Vec<std::path::PathBuf>,
    #[command(flatten)]
    prices: super::cost::PriceArgs,
    #[command(flatten)]
    vars: VarOptions,
    #[command(flatten)]
    terraform: super::tfcompat::RunFlags,
}

/// A `--lock-timeout` as Terraform takes it (Go's duration syntax: `30s`, `500ms`,
/// `1m30s`, `1.5h`), or a bare number of seconds. Like Go, at most `i64::MAX`
/// nanoseconds (about 292 years).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let parsed = match s.parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => humantime::parse_duration(s),
    };
    let d =
        parsed.map_err(|e| format!("invalid duration {s:?}: {e}; use e.g. 30s, 2m or 1m30s"))?;
    if d.as_nanos() > i64::MAX as u128 {
        return Err(format!(
            "invalid duration {s:?}: too large, at most 2562047h47m16.854775807s"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod duration_tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn terraforms_durations_parse() {
        let cases = [
            ("30s", Duration::from_secs(30)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("500ms", Duration::from_millis(500)),
            ("0s", Duration::ZERO),
            ("0", Duration::ZERO),
            ("45", Duration::from_secs(45)),
            ("1m30s", Duration::from_secs(90)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5h", Duration::from_secs(5400)),
            ("2562047h", Duration::from_secs(2_562_047 * 3600)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn huge_or_malformed_durations_are_errors() {
        for text in [
            "99999999999999999999h",
            "18446744073709551615m",
            "18446744073709551615",
            "2562048h",
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(
                err.starts_with(&format!("invalid duration {text:?}")),
                "{err}"
            );
        }
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plan,
    Apply,
    Destroy,
}

pub fn run(
    args: Args,
    matches: &clap::ArgMatches,
    out: &Output,
    mode: Mode,
    cancel: &CancelToken,
) -> u8 {
    let mode = if args.destroy && mode == Mode::Apply {
        Mode::Destroy
    } else {
        mode
    };
    let dir = Path::new(".");
    if let Err(code) = super::tfcompat::refuse_unlocked(args.terraform.lock) {
        return code;
    }
    if mode != Mode::Plan && args.markdown.wanted() {
        eprintln!("Error: only plinth plan takes --markdown.");
        return 1;
    }
    if mode != Mode::Plan && !args.policy.is_empty() {
        eprintln!("Error: only plinth plan (and plinth show FILE) take --policy.");
        return 1;
    }
    let mut policies = match super::policy::load(&args.policy, out.color) {
        Ok(sets) => sets,
        Err(code) => return code,
    };
    let prices = match args.prices.prices() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let assessed = RefCell::new(Assessment::default());
    if let Some(path) = &args.plan_file {
        if mode != Mode::Apply {
            eprintln!("Error: only plinth apply takes a plan file.");
            return 1;
        }
        return apply_saved(path, &args, out, cancel);
    }
    if args.untrusted {
        if let Err(why) = untrusted_allowed(&args, mode) {
            eprintln!("Error: {why}");
            return 1;
        }
    }
    let mut stack = args.vars.stack_options(matches);
    stack.untrusted = args.untrusted;
    stack.require_root_vars = mode != Mode::Destroy;
    stack.providers = ProviderStart::Required;
    let request = RunRequest {
        dir: dir.to_path_buf(),
        stack,
        change: ChangeOptions {
            replace: args.replace.iter().cloned().collect(),
            targets: args.target.clone(),
            parallelism: args.parallelism,
            skip_refresh: !args.refresh,
            refresh_only: args.refresh_only,
            cancel: CancelToken::new(),
            ..ChangeOptions::default()
        },
        destroy: args.destroy || mode == Mode::Destroy,
        lock_timeout: args.lock_timeout,
    };
    let store = match super::store(dir) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if args.terraform.terraform_json {
        let view = JsonView::start(args.auto_approve);
        if mode != Mode::Plan && !args.auto_approve {
            // Terraform refuses before it plans: a JSON stream cannot be answered.
            json_view::error_diagnostic(
                json_view::APPROVAL_REQUIRED,
                json_view::APPROVAL_REQUIRED_DETAIL,
            );
            return 1;
        }
        let mut preview = Preview {
            policies: &mut policies,
            prices: &prices,
            assessed: &assessed,
        };
        return args
            .markdown
            .comment(
                &view,
                |view| run_with(&request, &store, view, &args, mode, cancel, &mut preview),
                &assessed,
            )
            .unwrap_or_else(|e| view.report(&e));
    }
    let view = TerminalView::new(out)
        .json(args.json)
        .auto_approve(args.auto_approve)
        .input(super::tfcompat::input_allowed(args.terraform.input));
    let mut preview = Preview {
        policies: &mut policies,
        prices: &prices,
        assessed: &assessed,
    };
    args.markdown
        .comment(
            &view,
            |view| run_with(&request, &store, view, &args, mode, cancel, &mut preview),
            &assessed,
        )
        .unwrap_or_else(|e| report(&e))
}

/// Whether `--untrusted` may run as asked: a plan only (applying is for reviewed
/// code), and every file it writes inside `.plinth/`.
fn untrusted_allowed(args: &Args, mode: Mode) -> Result<(), String> {
    if mode != Mode::Plan {
        return Err(
            "--untrusted is for plinth plan only: apply and destroy run reviewed code.".into(),
        );
    }
    for path in args
        .out
        .iter()
        .map(|p| p.as_path())
        .chain(args.markdown.path())
    {
        inside_dot_plinth(path)?;
    }
    Ok(())
}

/// Refuses a file an untrusted plan would write outside the stack's `.plinth/`.
pub(crate) fn inside_dot_plinth(path: &Path) -> Result<(), String> {
    let dot_plinth = Path::new(".plinth");
    let _ = std::fs::create_dir_all(dot_plinth);
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let inside = match (parent.canonicalize(), dot_plinth.canonicalize()) {
        (Ok(p), Ok(root)) => p.starts_with(root) && path.file_name().is_some(),
        _ => false,
    };
    if inside {
        Ok(())
    } else {
        Err(format!(
            "--untrusted writes nothing outside .plinth/, but {} is not inside it (its directory must exist); write it under .plinth/, e.g. .plinth/{}.",
            path.display(),
            path.file_name().map(|n| n.to_string_lossy()).unwrap_or_else(|| "plan".into())
        ))
    }
}

/// What a plan is judged by once made: the `--policy` directories, with the cost
/// figures priced from `prices` in their input, and where the results go for the
/// Markdown comment.
struct Preview<'a> {
    policies: &'a mut super::policy::Checks,
    prices: &'a Prices,
    assessed: &'a RefCell<Assessment>,
}

/// Runs the operation `mode` names with `view`: the exit code, or why it stopped.
fn run_with(
    request: &RunRequest,
    store: &operation::Store,
    view: &dyn operation::View,
    args: &Args,
    mode: Mode,
    cancel: &CancelToken,
    preview: &mut Preview,
) -> Result<u8, operation::OperationError> {
    if mode == Mode::Plan {
        let done = operation::plan(request, store, view, args.out.as_deref())?;
        // Priced and checked only when something shows the results.
        if args.markdown.wanted() || !args.policy.is_empty() {
            let on_stderr = args.json || args.terraform.terraform_json;
            let (failed, judged) = preview
                .policies
                .judge(&done.plan, preview.prices, on_stderr);
            *preview.assessed.borrow_mut() = judged;
            if let Some(code) = failed {
                return Ok(code);
            }
        }
        return Ok(if args.detailed_exitcode && done.plan.has_changes() {
            2
        } else {
            0
        });
    }
    operation::apply(request, store, view, cancel)?;
    Ok(0)
}

/// `apply FILE`: exactly the saved plan, or nothing.
fn apply_saved(path: &Path, args: &Args, out: &Output, cancel: &CancelToken) -> u8 {
    let dir = Path::new(".");
    let store = match operation::Store::local(dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "Error: cannot apply {}: {e}\nNothing was applied.",
                path.display()
            );
            return 1;
        }
    };
    let request = SavedPlanRequest {
        dir: dir.to_path_buf(),
        path: path.to_path_buf(),
        stack: StackOptions {
            providers: ProviderStart::Required,
            ..StackOptions::default()
        },
        parallelism: args.parallelism,
        lock_timeout: args.lock_timeout,
    };
    if args.terraform.terraform_json {
        let view = JsonView::start(true);
        return match operation::apply_saved(&request, &store, &view, cancel) {
            Ok(()) => 0,
            Err(e) => view.report(&e),
        };
    }
    let view = TerminalView::new(out).auto_approve(true);
    match operation::apply_saved(&request, &store, &view, cancel) {
        Ok(()) => 0,
        Err(e) => report(&e),
    }
}

/// `plinth show FILE`: renders a saved plan, then checks it against `--policy`
/// directories.
pub fn show(
    path: &Path,
    json: bool,
    policy: &[std::path::PathBuf],
    prices: &Prices,
    out: &Output,
) -> u8 {
    let mut policies = match super::policy::load(policy, out.color) {
        Ok(checks) => checks,
        Err(code) => return code,
    };
    match PlanFile::read(path) {
        Ok(file) if json => {
            let plan = file.plan();
            println!(
                "{}",
                serde_json::to_string_pretty(&render::json(&plan)).unwrap_or_default()
            );
            match policy.is_empty() {
                true => 0,
                false => policies.judge(&plan, prices, true).0.unwrap_or(0),
            }
        }
        Ok(file) => {
            let plan = file.plan();
            print!("{}", render::text(&plan, out.color));
            match policy.is_empty() {
                true => 0,
                false => policies.judge(&plan, prices, false).0.unwrap_or(0),
            }
        }
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}
