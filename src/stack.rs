//! The front half of every command: load a stack, gather its variables, build the
//! graph and evaluate it, collecting every diagnostic on the way. Reads files only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::config::load::load_source;
use crate::config::vars::{collect_root_inputs, InputValue, VarArg};
use crate::config::{load_stack, Config};
use crate::diag::{Diagnostic, Diagnostics, Sources};
use crate::graph::walk::{evaluate_with, Evaluation, ResourceHandler, WalkOptions};
use crate::graph::{build_graph, Graph};
use crate::plugin::Providers;

/// What a command asks of the front half.
#[derive(Clone, Debug, Default)]
pub struct StackOptions {
    pub vars: Vec<VarArg>,
    /// The environment, for `TF_VAR_*` and `PLINTH_VAR_*`.
    pub env: Vec<(String, String)>,
    pub workspace: Option<String>,
    pub require_root_vars: bool,
    /// `validate`'s semantics, as Terraform's: every input variable of a child module
    /// is an unknown of its declared type (the values given are still type-checked),
    /// so what a module does is checked for every input, not for one example's.
    pub validate: bool,
    /// Whether to find and start the provider plugins the stack uses.
    pub providers: ProviderStart,
    /// Providers served in this process (tests, embedders), registered before any
    /// plugin is started. A registry with any shares its list of running plugins
    /// with every copy of these options.
    pub in_process: Providers,
    /// Code nobody has reviewed yet (`plan --untrusted`): files are read only inside
    /// the repository root, `TF_VAR_*`/`PLINTH_VAR_*` are not read, only providers the
    /// lock file records run, and no cache outside the stack is read or written.
    pub untrusted: bool,
}

/// Whether a command starts the stack's provider plugins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProviderStart {
    /// Not at all: only built-in resources have schemas (library users, tests).
    #[default]
    Never,
    /// Those that are installed; a missing one is a warning (validate).
    Installed,
    /// All of them; a missing one is an error (plan, apply).
    Required,
}

/// A stack loaded and its graph built, ready to be walked (once or more).
pub struct Prepared {
    pub dir: PathBuf,
    pub sources: Sources,
    pub config: Config,
    pub graph: Graph,
    pub inputs: HashMap<String, InputValue>,
    pub walk_options: WalkOptions,
    pub diagnostics: Diagnostics,
    /// The providers plan and apply call.
    pub providers: Providers,
    /// The plugins started for this stack.
    pub started: Vec<crate::plugin::start::Started>,
}

impl Prepared {
    /// Walks the graph starting each node as soon as its dependencies are done, with at
    /// most `limit` handler calls at once.
    pub fn evaluate_concurrently<'a>(
        &'a self,
        handler: &'a dyn ResourceHandler,
        limit: usize,
    ) -> (Evaluation, Diagnostics) {
        let mut options = self.walk_options.clone();
        options.concurrency = Some(limit);
        options.providers = self.providers.clone();
        evaluate_with(
            &self.config,
            &self.graph,
            &self.sources,
            &self.inputs,
            &options,
            Some(handler),
        )
    }

    /// Walks the graph; `handler` decides resource values (none: unknown), with no
    /// cap on its calls at once.
    pub fn evaluate<'a>(
        &'a self,
        handler: Option<&'a dyn ResourceHandler>,
    ) -> (Evaluation, Diagnostics) {
        let mut options = self.walk_options.clone();
        options.providers = self.providers.clone();
        evaluate_with(
            &self.config,
            &self.graph,
            &self.sources,
            &self.inputs,
            &options,
            handler,
        )
    }
}

pub struct LoadedStack {
    pub dir: PathBuf,
    pub sources: Sources,
    pub config: Config,
    pub graph: Graph,
    pub evaluation: Evaluation,
    pub diagnostics: Diagnostics,
}

pub fn prepare(dir: &Path, options: &StackOptions) -> Prepared {
    let mut sources = Sources::default();
    // Confined before anything is read; a run that cannot be confined stops at once
    // (its error stops providers from starting and planning from beginning).
    let confined = match options.untrusted {
        true => crate::lang::confine::confine_to(&repository_root(dir)),
        false => Ok(()),
    };
    let loading = crate::timing::phase("load");
    let (config, mut diags) = load_stack(dir, &mut sources);
    drop(loading);
    if let Err(why) = confined {
        diags.push(
            Diagnostic::error("Cannot confine an untrusted run").detail(format!(
                "--untrusted reads files only inside the repository root, but {why}."
            )),
        );
    }
    prepare_loaded(dir, sources, config, diags, options)
}

fn prepare_loaded(
    dir: &Path,
    mut sources: Sources,
    config: Config,
    mut diags: Diagnostics,
    options: &StackOptions,
) -> Prepared {
    let (inputs, input_diags) = collect_root_inputs(
        config.root(),
        dir,
        &options.vars,
        if options.untrusted { &[] } else { &options.env },
        &mut sources,
    );
    diags.extend(input_diags);
    let (graph, graph_diags) = build_graph(&config);
    diags.extend(graph_diags);
    diags.extend(child_provider_blocks(&config));
    let mut providers = if options.in_process.plugins().next().is_some() {
        options.in_process.clone()
    } else {
        Providers::default()
    };
    let mut started = Vec::new();
    if options.providers != ProviderStart::Never && !diags.has_errors() {
        let required = options.providers == ProviderStart::Required;
        let _starting = crate::timing::phase("start plugins and read schemas");
        let (s, d) = crate::plugin::start::start_all(
            dir,
            &config,
            &mut providers,
            required,
            options.untrusted,
        );
        started = s;
        diags.extend(d);
    }
    // Terraform checks the blocks when it plans, not in `validate`.
    if !diags.has_errors() && !options.validate {
        diags.extend(crate::plugin::meta::evaluate(
            &config,
            &sources,
            &mut providers,
        ));
    }
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
        validate: options.validate,
        concurrency: None,
        providers: Providers::default(),
        plan_time: crate::lang::functions::now_rfc3339(),
    };
    Prepared {
        dir: dir.to_path_buf(),
        sources,
        config,
        graph,
        inputs,
        walk_options,
        diagnostics: diags,
        providers,
        started,
    }
}

/// plinth configures providers from the root module's provider blocks only. A child
/// module's block that sets anything (a legacy module configuring its own provider)
/// is therefore not used, and its resources take the root's configuration: say so at
/// the block rather than apply with settings the module did not ask for. An empty
/// block (a proxy for a configuration passed in) says nothing and is fine.
fn child_provider_blocks(config: &Config) -> Diagnostics {
    let mut diags = Diagnostics::default();
    for module in config.modules.iter().skip(1) {
        for p in &module.providers {
            if p.body.attrs.is_empty() && p.body.blocks.is_empty() {
                continue;
            }
            let path = module.display_path();
            let path = path.trim_end_matches('.');
            diags.push(
                Diagnostic::warning("Provider configuration in a child module is not used")
                    .detail(format!(
                        "{path} configures provider \"{}\" itself. plinth configures providers from the root module only, so {path}'s resources use the root module's \"{}\" configuration, not this one. Move these settings to the root module's provider block (an aliased one passed in with the module call's `providers` argument, if they differ).",
                        p.local_address(),
                        p.local_address()
                    ))
                    .at(p.span),
            );
        }
    }
    diags
}

pub fn load_and_evaluate(dir: &Path, options: &StackOptions) -> LoadedStack {
    finish(prepare(dir, options))
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
    finish(prepare_loaded(dir, sources, config, diags, options))
}

fn finish(prepared: Prepared) -> LoadedStack {
    let (evaluation, eval_diags) = prepared.evaluate(None);
    let mut diags = prepared.diagnostics;
    let validated = !eval_diags.has_errors();
    diags.extend(eval_diags);
    if validated {
        diags.extend(provider_checks(
            &prepared.config,
            &prepared.providers,
            &evaluation,
        ));
    }
    LoadedStack {
        dir: prepared.dir,
        sources: prepared.sources,
        config: prepared.config,
        graph: prepared.graph,
        evaluation,
        diagnostics: diags.sorted_unique(),
    }
}

/// Asks each resource's provider to check its evaluated configuration (once per
/// resource block, with the first instance's values), placing each diagnostic at the
/// attribute it names or else at the block.
fn provider_checks(
    config: &Config,
    providers: &Providers,
    evaluation: &crate::graph::walk::Evaluation,
) -> Diagnostics {
    use crate::lang::refs::ResourceMode;
    let mut seen = std::collections::HashSet::new();
    let mut calls = Vec::new();
    for (address, value) in &evaluation.resource_configs {
        let Some(r) = crate::plan::declared_resource(config, address) else {
            continue;
        };
        if !seen.insert(r.span) {
            continue;
        }
        let Some((_, provider)) = providers.for_resource(r) else {
            continue;
        };
        calls.push((r, provider, value));
    }
    let results = crate::plugin::runtime().block_on(futures_util::future::join_all(
        calls.iter().map(|(r, provider, value)| {
            provider.validate(&r.type_name, r.mode == ResourceMode::Data, value)
        }),
    ));
    let mut diags = Diagnostics::default();
    // Each root provider block, checked by its provider.
    let blocks: Vec<_> = config
        .root()
        .providers
        .iter()
        .filter(|p| p.alias.is_none())
        .filter_map(|p| {
            let provider = providers.plugin(&p.name)?;
            let value = evaluation.provider_configs.get(&(0, p.name.clone()))?;
            Some((p, provider, value))
        })
        .collect();
    let checked = crate::plugin::runtime().block_on(futures_util::future::join_all(
        blocks
            .iter()
            .map(|(_, provider, value)| provider.validate_config(value)),
    ));
    for ((p, _, _), found) in blocks.iter().zip(checked) {
        for d in found {
            let span = d
                .attribute
                .as_deref()
                .and_then(|path| p.body.span_of(path))
                .unwrap_or(p.span);
            diags.push(d.diagnostic.at(span));
        }
    }
    for ((r, _, _), found) in calls.iter().zip(results) {
        for d in found {
            let span = d
                .attribute
                .as_deref()
                .and_then(|path| r.body.span_of(path))
                .unwrap_or(r.span);
            let mut diagnostic = d.diagnostic.at(span);
            diagnostic.detail = if diagnostic.detail.is_empty() {
                format!("with {}", r.address())
            } else {
                format!("{}\n\nwith {}", diagnostic.detail, r.address())
            };
            diags.push(diagnostic);
        }
    }
    diags
}

/// The repository a stack directory belongs to: the nearest directory at or above it
/// holding `.git` (a directory, or a worktree's file), else the stack directory itself.
pub fn repository_root(dir: &Path) -> PathBuf {
    let start = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(&start)
        .to_path_buf()
}
