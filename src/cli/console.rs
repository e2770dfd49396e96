//! `plinth console`: an expression prompt over the current stack, like `terraform
//! console`. Each line is evaluated in the root module: variables, locals and outputs
//! as validate computes them, resources as the state holds them (unknown when state
//! has none), and every function. `exit` or end of input leaves.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use plinth_state::{workspace, SledStore, Snapshot};

use super::Output;
use crate::diag::{render_text, Diagnostic, Diagnostics, Sources};
use crate::graph::walk::InstanceValues;
use crate::lang::refs::{Reference, ResourceMode, Subject};
use crate::lang::{Evaluator, Scope, Value};
use crate::stack::{load_and_evaluate, ProviderStart};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    vars: super::VarOptions,
}

struct ConsoleScope<'a> {
    root: Option<&'a InstanceValues>,
    state: &'a Snapshot,
    workspace: String,
}

impl ConsoleScope<'_> {
    /// A resource's value from state: one instance, or all of a counted or
    /// `for_each` resource.
    fn stored(&self, key: &str) -> Option<Value> {
        if let Some(rs) = self.state.resources.get(key) {
            return Some(crate::plan::state_value(rs));
        }
        let prefix = format!("{key}[");
        let instances: Vec<(&String, Value)> = self
            .state
            .resources
            .iter()
            .filter(|(a, _)| a.starts_with(&prefix))
            .map(|(a, rs)| (a, crate::plan::state_value(rs)))
            .collect();
        if instances.is_empty() {
            return None;
        }
        let keyed = instances.iter().any(|(a, _)| a.ends_with("\"]"));
        if keyed {
            let m = instances
                .into_iter()
                .map(|(a, v)| {
                    let k = a[prefix.len()..a.len() - 1].trim_matches('"').to_string();
                    (k, v)
                })
                .collect();
            return Some(Value::Object(m));
        }
        let mut indexed: Vec<(usize, Value)> = instances
            .into_iter()
            .filter_map(|(a, v)| a[prefix.len()..a.len() - 1].parse().ok().map(|i| (i, v)))
            .collect();
        indexed.sort_by_key(|(i, _)| *i);
        Some(Value::Tuple(indexed.into_iter().map(|(_, v)| v).collect()))
    }
}

impl Scope for ConsoleScope<'_> {
    fn resolve(&self, r: &Reference) -> Result<Value, Diagnostic> {
        let get = |m: Option<&std::collections::HashMap<String, Value>>, k: &str, what: &str| {
            m.and_then(|m| m.get(k)).cloned().ok_or_else(|| {
                Diagnostic::error(format!("Reference to undeclared {what}"))
                    .detail(format!(
                        "There is no {what} named {k:?} in the root module."
                    ))
                    .at(r.span)
            })
        };
        match &r.subject {
            Subject::Var(n) => get(self.root.map(|v| &v.variables), n, "input variable"),
            Subject::Local(n) => get(self.root.map(|v| &v.locals), n, "local value"),
            Subject::Resource {
                mode,
                type_name,
                name,
            } => {
                let key = match mode {
                    ResourceMode::Managed => format!("{type_name}.{name}"),
                    ResourceMode::Data => format!("data.{type_name}.{name}"),
                };
                if let Some(v) = self.stored(&key) {
                    return Ok(v);
                }
                get(self.root.map(|v| &v.resources), &key, "resource")
            }
            Subject::Path(_) => Ok(Value::string(".")),
            Subject::TerraformWorkspace => Ok(Value::String(self.workspace.clone())),
            _ => Ok(Value::unknown()),
        }
    }
}

pub fn run(args: Args, matches: &clap::ArgMatches, out: &Output) -> u8 {
    let mut options = args.vars.stack_options(matches);
    options.providers = ProviderStart::Never;
    let dir = Path::new(".");
    let stack = load_and_evaluate(dir, &options);
    if stack.diagnostics.has_errors() {
        eprint!(
            "{}",
            render_text(&stack.sources, &stack.diagnostics, out.color)
        );
        return 1;
    }
    let name = match workspace::current(dir) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let store = workspace::workspace_dir(dir, &name).join("store");
    let state = match SledStore::read(&store) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let scope = ConsoleScope {
        root: stack.evaluation.root(),
        state: &state,
        workspace: name,
    };
    let interactive = std::io::stdin().is_terminal();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            print!("> ");
            let _ = std::io::stdout().flush();
        }
        let Some(Ok(line)) = lines.next() else {
            break;
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "exit" {
            break;
        }
        let mut sources = Sources::default();
        let file = sources.add("<console>".into(), line.to_string());
        let result =
            match crate::config::load::parse_wide_numbers(line, hcl_edit::parser::parse_expr) {
                Ok(expr) => Evaluator::new(file, line, &scope).eval(&expr),
                Err(e) => Err(Diagnostic::error("Invalid expression").detail(e.to_string())),
            };
        match result {
            Ok(v) => println!("{}", v.render()),
            Err(d) => {
                let mut diags = Diagnostics::default();
                diags.push(d);
                eprint!("{}", render_text(&sources, &diags, out.color));
                if !interactive {
                    return 1;
                }
            }
        }
    }
    0
}
