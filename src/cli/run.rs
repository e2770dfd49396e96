//! `plinth plan`, `plinth apply` and `plinth destroy`: load and check the stack
//! before touching `.plinth/`, then lock the state, plan, confirm and apply.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use plinth_state::lock::StackLock;
use plinth_state::{GroupCommit, SledStore, Snapshot, StateStore};

use super::{Output, VarOptions};
use crate::apply::{self, ChangeOptions};
use crate::config::vars::{InputValue, RawValue};
use crate::diag::{render_text, Diagnostics, Sources};
use crate::plan::file::{config_hash, PlanFile};
use crate::plan::{render, Plan};
use crate::stack::StackOptions;
use crate::stack::{prepare, Prepared};

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
    #[arg(long, value_name = "ADDR")]
    target: Vec<String>,
    /// Plan to replace this instance even if nothing changed (repeatable).
    #[arg(long, value_name = "ADDR")]
    replace: Vec<String>,
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
    #[command(flatten)]
    vars: VarOptions,
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

pub(super) fn fail(sources: &Sources, diags: &Diagnostics, out: &Output) -> u8 {
    eprint!("{}", render_text(sources, diags, out.color));
    let n = diags.errors().count();
    eprintln!("{n} error{} found.", if n == 1 { "" } else { "s" });
    1
}

fn confirm(question: &str) -> bool {
    print!("{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    println!();
    line.trim() == "yes"
}

pub fn run(args: Args, matches: &clap::ArgMatches, out: &Output, mode: Mode) -> u8 {
    let mode = if args.destroy && mode == Mode::Apply {
        Mode::Destroy
    } else {
        mode
    };
    if let Some(path) = &args.plan_file {
        if mode != Mode::Apply {
            eprintln!("Error: only plinth apply takes a plan file.");
            return 1;
        }
        return apply_saved(path, &args, out);
    }
    let mut options = args.vars.stack_options(matches);
    options.require_root_vars = mode != Mode::Destroy;
    options.providers = crate::stack::ProviderStart::Required;
    let dir = Path::new(".");
    let prepared = prepare(dir, &options);
    if prepared.diagnostics.has_errors() {
        return fail(
            &prepared.sources,
            &prepared.diagnostics.clone().sorted_unique(),
            out,
        );
    }
    if args.refresh_only && (!args.refresh || mode == Mode::Destroy) {
        eprintln!("Error: --refresh-only cannot be used with --refresh=false or --destroy.");
        return 1;
    }
    let change = ChangeOptions {
        replace: args.replace.iter().cloned().collect::<HashSet<_>>(),
        targets: args.target.clone(),
        parallelism: args.parallelism,
        skip_refresh: !args.refresh,
        refresh_only: args.refresh_only,
    };
    let wdir = match super::workspace_dir(dir) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let store_path = wdir.join("store");
    if mode == Mode::Plan {
        // A plan changes nothing: it reads the published state, as every reader does,
        // and takes no lock, so it never makes an apply fail.
        let prior = match SledStore::read(&store_path) {
            Ok(s) => s,
            Err(e) => return state_error(&e),
        };
        let (code, plan) = show_plan(&prepared, &prior, &change, mode, &args, out);
        return save_plan(plan.as_ref(), &prepared, &args).unwrap_or(code);
    }
    let operation = match mode {
        Mode::Plan => "plan",
        Mode::Apply => "apply",
        Mode::Destroy => "destroy",
    };
    let lock = match take_lock(&wdir, operation, args.lock_timeout) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    // Plan against the published state, checked whole: opening sled rewrites its
    // files, and a plan that fails must leave the store as it was.
    let published = match SledStore::read_locked(&store_path) {
        Ok(s) => s,
        Err(e) => return state_error(&e),
    };
    let (code, plan) = show_plan(&prepared, &published, &change, mode, &args, out);
    let Some(mut plan) = plan else { return code };
    if !plan.has_changes() && !plinth_state::store_exists(&store_path) {
        // No state yet and nothing to make: no store to create.
        return code;
    }
    // The database is the state's one source of truth: it is opened whatever the
    // plan, checked against the copy the plan was made from, and the calls a killed
    // plinth left in flight are settled before anything else.
    let store = match SledStore::open(&store_path) {
        Ok(s) => Arc::new(GroupCommit::new(s)),
        Err(e) => return state_error(&e),
    };
    let current = match store.snapshot() {
        Ok(s) => s,
        Err(e) => return state_error(&e),
    };
    if current.serial != published.serial {
        // The published copy lagged (a writer was killed): plan again from sled.
        eprintln!("The state has changes its published copy did not show; planning again.");
        let (code, again) = show_plan(&prepared, &current, &change, mode, &args, out);
        match again {
            Some(p) => plan = p,
            None => return code,
        }
    }
    if !plan.has_changes() {
        if !current.intents.is_empty() {
            let progress = super::progress::ApplyProgress::new();
            let shared: Arc<dyn StateStore> = store.clone();
            let diags = apply::settle_intents(&prepared, shared, &progress);
            if diags.has_errors() {
                return fail(&prepared.sources, &diags, out);
            }
        }
        drop(store);
        drop(lock);
        return code;
    }
    if !args.auto_approve {
        let question = if mode == Mode::Destroy {
            "Do you really want to destroy all resources?"
        } else {
            "Do you want to perform these actions?"
        };
        if !confirm(question) {
            eprintln!("Apply cancelled.");
            return 1;
        }
    }
    let code = execute(&prepared, store, &plan, mode, &change, out);
    drop(lock);
    code
}

/// A state that cannot be read whole stops the command: never planned as empty.
pub(super) fn state_error(e: &plinth_state::StateError) -> u8 {
    eprintln!("Error: {e}");
    1
}

pub(super) fn take_lock(wdir: &Path, operation: &str, timeout: Duration) -> Result<StackLock, u8> {
    match StackLock::acquire(wdir, operation, timeout) {
        Ok(lock) => {
            if let Some(old) = &lock.took_over {
                eprintln!("Took over a stale lock: {old}. That process no longer holds it.");
            }
            Ok(lock)
        }
        Err(e) => {
            eprintln!("Error acquiring the state lock: {e}");
            Err(1)
        }
    }
}

/// Applies (or destroys) with the store open, then reports. The store is closed
/// before this returns, so the caller can release the lock.
fn execute(
    prepared: &Prepared,
    store: Arc<GroupCommit<SledStore>>,
    plan: &Plan,
    mode: Mode,
    change: &ChangeOptions,
    out: &Output,
) -> u8 {
    let code = execute_open(prepared, &store, plan, mode, change, out);
    drop(store);
    code
}

fn execute_open(
    prepared: &Prepared,
    store: &Arc<GroupCommit<SledStore>>,
    plan: &Plan,
    mode: Mode,
    change: &ChangeOptions,
    out: &Output,
) -> u8 {
    let progress = super::progress::ApplyProgress::new();
    let shared: Arc<dyn StateStore> = store.clone();
    let (_, diags) = if mode == Mode::Destroy {
        apply::destroy(prepared, shared, change, &progress)
    } else {
        apply::apply(prepared, shared, change, &progress)
    };
    if apply::stop_requested() {
        let n = diags.errors().count();
        eprintln!("\nInterrupted: the changes in flight finished and were saved; {n} change(s) were not started. Run plinth apply again to finish.");
        return 1;
    }
    if diags.has_errors() {
        return fail(&prepared.sources, &diags, out);
    }
    let (add, change_n, destroy) = plan.counts();
    if plan.refresh_only {
        println!(
            "\nApply complete! Resources: 0 added, 0 changed, 0 destroyed; the state now records {} change(s) made outside plinth.",
            plan.drift.len()
        );
        print_outputs(store.as_ref());
    } else if mode == Mode::Destroy {
        println!("\nDestroy complete! Resources: {destroy} destroyed.");
    } else {
        let imported = if plan.imports.is_empty() {
            String::new()
        } else {
            format!("{} imported, ", plan.imports.len())
        };
        println!(
            "\nApply complete! Resources: {imported}{add} added, {change_n} changed, {destroy} destroyed."
        );
        print_outputs(store.as_ref());
    }
    0
}

/// What binds a plan to one stack: the stack directory's canonical path and the
/// workspace.
fn stack_identity(dir: &Path) -> Result<(String, String), String> {
    let path = std::fs::canonicalize(dir)
        .map_err(|e| format!("cannot resolve the stack directory {}: {e}", dir.display()))?;
    let workspace = plinth_state::workspace::current(dir).map_err(|e| e.to_string())?;
    Ok((path.display().to_string(), workspace))
}

fn plan_file(plan: &Plan, prepared: &Prepared, args: &Args) -> Result<PlanFile, String> {
    let mut file = PlanFile::new(
        plan,
        config_hash(&prepared.sources),
        args.destroy,
        args.replace.clone(),
        args.target.clone(),
    );
    file.skip_refresh = !args.refresh;
    (file.stack, file.workspace) = stack_identity(Path::new("."))?;
    Ok(file)
}

/// `plan --out FILE`: `None` when there is nothing to save or it was saved.
fn save_plan(plan: Option<&Plan>, prepared: &Prepared, args: &Args) -> Option<u8> {
    let (plan, path) = (plan?, args.out.as_ref()?);
    match plan_file(plan, prepared, args).and_then(|f| f.write(path).map_err(|e| e.to_string())) {
        Ok(()) => {
            println!(
                "\nSaved the plan to: {}\nTo perform exactly these actions, run: plinth apply {}",
                path.display(),
                path.display()
            );
            None
        }
        Err(e) => {
            eprintln!("Error: {e}");
            Some(1)
        }
    }
}

/// `apply FILE`: exactly the saved plan, or nothing.
fn apply_saved(path: &Path, args: &Args, out: &Output) -> u8 {
    let refuse = |why: String| {
        eprintln!(
            "Error: cannot apply {}: {why}\nNothing was applied.",
            path.display()
        );
        1
    };
    let file = match PlanFile::read(path) {
        Ok(f) => f,
        Err(e) => return refuse(e.to_string()),
    };
    let dir = Path::new(".");
    match stack_identity(dir) {
        Ok((stack, workspace)) if stack == file.stack && workspace == file.workspace => {}
        Ok((stack, workspace)) => {
            return refuse(format!(
                "the plan was made for the stack at {} (workspace {:?}), and this is {stack} (workspace {workspace:?}). A plan applies only where it was made.",
                file.stack, file.workspace
            ))
        }
        Err(e) => return refuse(e),
    }
    let saved = file.plan();
    let options = StackOptions {
        providers: crate::stack::ProviderStart::Required,
        ..StackOptions::default()
    };
    let mut prepared = prepare(dir, &options);
    if prepared.diagnostics.has_errors() {
        return fail(
            &prepared.sources,
            &prepared.diagnostics.clone().sorted_unique(),
            out,
        );
    }
    if config_hash(&prepared.sources) != file.config_hash {
        return refuse(
            "the configuration has changed since the plan was made. Run plinth plan again.".into(),
        );
    }
    prepared.inputs = saved
        .variables
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                InputValue {
                    raw: RawValue::Value(v.clone()),
                    origin: "the plan file".into(),
                },
            )
        })
        .collect();
    let wdir = match super::workspace_dir(dir) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let mode = if file.destroy {
        Mode::Destroy
    } else {
        Mode::Apply
    };
    let lock = match take_lock(&wdir, "apply", args.lock_timeout) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    let store_path = wdir.join("store");
    let published = match SledStore::read_locked(&store_path) {
        Ok(s) => s,
        Err(e) => return refuse(format!("{e}")),
    };
    let moved_on = |lineage: &str, serial: u64| {
        refuse(format!(
            "the state has changed since the plan was made (planned against serial {} of lineage {}; the state is now at serial {serial} of lineage {lineage}). Run plinth plan again.",
            file.serial,
            if file.lineage.is_empty() { "(none)" } else { &file.lineage },
        ))
    };
    if published.lineage != file.lineage || published.serial != file.serial {
        return moved_on(&published.lineage, published.serial);
    }
    let change = ChangeOptions {
        replace: file.replace.iter().cloned().collect(),
        targets: file.targets.clone(),
        parallelism: args.parallelism,
        skip_refresh: file.skip_refresh,
        refresh_only: file.refresh_only,
    };
    let (now, diags) = if file.destroy {
        apply::plan_destroy(&prepared, &published, &change)
    } else {
        apply::plan(&prepared, &published, &change)
    };
    if diags.has_errors() {
        return fail(&prepared.sources, &diags, out);
    }
    // Apply makes the changes planning again gives: they must be the saved ones,
    // value for value, or nothing is done.
    let mut again = PlanFile::new(
        &now,
        file.config_hash.clone(),
        file.destroy,
        file.replace.clone(),
        file.targets.clone(),
    );
    again.skip_refresh = file.skip_refresh;
    if let Some(difference) = file.first_difference(&again) {
        return refuse(format!(
            "planning again now gives different changes than the saved plan: {difference}. Run plinth plan again."
        ));
    }
    let store = match SledStore::open(&store_path) {
        Ok(s) => Arc::new(GroupCommit::new(s)),
        Err(e) => return refuse(format!("{e}")),
    };
    match store.position() {
        Ok((lineage, serial))
            if (file.lineage.is_empty() || lineage == file.lineage) && serial == file.serial => {}
        Ok((lineage, serial)) => return moved_on(&lineage, serial),
        Err(e) => return refuse(format!("the state cannot be read: {e}")),
    }
    if !saved.has_changes() {
        let intents = store.snapshot().map(|s| s.intents.len()).unwrap_or(0);
        if intents > 0 {
            let progress = super::progress::ApplyProgress::new();
            let shared: Arc<dyn StateStore> = store.clone();
            let diags = apply::settle_intents(&prepared, shared, &progress);
            if diags.has_errors() {
                return fail(&prepared.sources, &diags, out);
            }
        }
        println!("No changes. Your infrastructure matches the configuration.");
        return 0;
    }
    let code = execute(&prepared, store, &saved, mode, &change, out);
    drop(lock);
    code
}

/// `plinth show FILE`: renders a saved plan.
pub fn show(path: &Path, json: bool, out: &Output) -> u8 {
    match PlanFile::read(path) {
        Ok(file) if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&render::json(&file.plan())).unwrap_or_default()
            );
            0
        }
        Ok(file) => {
            print!("{}", render::text(&file.plan(), out.color));
            0
        }
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

fn show_plan(
    prepared: &Prepared,
    prior: &Snapshot,
    change: &ChangeOptions,
    mode: Mode,
    args: &Args,
    out: &Output,
) -> (u8, Option<crate::plan::Plan>) {
    let (plan, diags) = if args.destroy || mode == Mode::Destroy {
        apply::plan_destroy(prepared, prior, change)
    } else {
        apply::plan(prepared, prior, change)
    };
    if diags.has_errors() {
        return (fail(&prepared.sources, &diags, out), None);
    }
    if !diags.is_empty() {
        eprint!("{}", render_text(&prepared.sources, &diags, out.color));
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::json(&plan)).unwrap_or_default()
        );
    } else {
        print!("{}", render::text(&plan, out.color));
    }
    let code = if args.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    };
    (code, Some(plan))
}

fn print_outputs(store: &dyn StateStore) {
    let Ok(snapshot) = store.snapshot() else {
        return;
    };
    if snapshot.outputs.is_empty() {
        return;
    }
    println!("\nOutputs:\n");
    for (name, o) in &snapshot.outputs {
        let value = if o.sensitive {
            "<sensitive>".to_string()
        } else {
            crate::lang::Value::from_json(&o.value).render()
        };
        println!("{name} = {value}");
    }
}
