//! The front half of every command: load a stack, gather its variables, build the
//! graph and evaluate it, collecting every diagnostic on the way. Reads files only.

use std::path::{Path, PathBuf};

use crate::config::load::load_source;
use crate::config::vars::{collect_root_inputs, VarArg};
use crate::config::{load_stack, Config};
use crate::diag::{Diagnostics, Sources};
use crate::graph::walk::{evaluate, Evaluation, WalkOptions};
use crate::graph::{build_graph, Graph};

/// What a command asks of the front half.
#[derive(Clone, Debug, Default)]
pub struct StackOptions {
    pub vars: Vec<VarArg>,
    /// The environment, for `TF_VAR_*` and `PLINTH_VAR_*`.
    pub env: Vec<(String, String)>,
    pub workspace: Option<String>,
    pub require_root_vars: bool,
}

pub struct LoadedStack {
    pub dir: PathBuf,
    pub sources: Sources,
    pub config: Config,
    pub graph: Graph,
    pub evaluation: Evaluation,
    pub diagnostics: Diagnostics,
}

pub fn load_and_evaluate(dir: &Path, options: &StackOptions) -> LoadedStack {
    let mut sources = Sources::default();
    let (config, diags) = load_stack(dir, &mut sources);
    evaluate_loaded(dir, sources, config, diags, options)
}

/// The same for a one-file root module held in memory (tests, fuzzing, benchmarks).
pub fn evaluate_source(
    dir: &Path,
    name: &str,
    text: String,
    options: &StackOptions,
) -> LoadedStack {
    let mut sources = Sources::default();
    let (config, diags) = load_source(dir, name, text, &mut sources);
    evaluate_loaded(dir, sources, config, diags, options)
}

fn evaluate_loaded(
    dir: &Path,
    mut sources: Sources,
    config: Config,
    mut diags: Diagnostics,
    options: &StackOptions,
) -> LoadedStack {
    let (inputs, input_diags) = collect_root_inputs(
        config.root(),
        dir,
        &options.vars,
        &options.env,
        &mut sources,
    );
    diags.extend(input_diags);
    let (graph, graph_diags) = build_graph(&config);
    diags.extend(graph_diags);
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let walk_options = WalkOptions {
        workspace: options
            .workspace
            .clone()
            .unwrap_or_else(|| "default".to_string()),
        cwd,
        require_root_vars: options.require_root_vars,
    };
    let (evaluation, eval_diags) = evaluate(&config, &graph, &sources, &inputs, &walk_options);
    diags.extend(eval_diags);
    LoadedStack {
        dir: dir.to_path_buf(),
        sources,
        config,
        graph,
        evaluation,
        diagnostics: diags.sorted_unique(),
    }
}
