//! The typed configuration of a stack: every block of the Terraform language, decoded
//! but not evaluated, each expression kept with its file so diagnostics can point at it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use hcl_edit::expr::Expression;
use hcl_edit::Span as _;

use crate::diag::{FileId, Span};
use crate::lang::refs::{Reference, ResourceMode};
use crate::lang::Constraint;

/// An expression and the file it was written in.
#[derive(Clone, Debug)]
pub struct Expr {
    pub file: FileId,
    pub expr: Expression,
}

impl Expr {
    pub fn span(&self) -> Option<Span> {
        self.expr.span().map(|r| Span::new(self.file, r))
    }
}

/// An argument inside a block body: `name = expr`.
#[derive(Clone, Debug)]
pub struct Attr {
    pub name: String,
    pub name_span: Span,
    pub expr: Expr,
}

/// A block body that is evaluated later (a resource's arguments, a provider's
/// configuration): arguments and nested blocks, `dynamic` blocks included.
#[derive(Clone, Debug, Default)]
pub struct Body {
    pub attrs: Vec<Attr>,
    pub blocks: Vec<NestedBlock>,
    /// Written in JSON where only a schema tells nested blocks from arguments: an
    /// object-valued argument the schema calls a block is read as that block
    /// (`config::json_blocks`).
    pub json: bool,
}

impl Body {
    /// Where the attribute or nested block at `path` is written (`["vpc_config",
    /// "subnet_ids"]`), as deep as the body spells it; `None` when it is not written.
    pub fn span_of(&self, path: &[String]) -> Option<Span> {
        let (first, rest) = path.split_first()?;
        if let Some(a) = self.attrs.iter().find(|a| &a.name == first) {
            return Some(a.name_span);
        }
        let block = self.blocks.iter().find(|b| {
            &b.kind == first || (b.kind == "dynamic" && b.labels.first() == Some(first))
        })?;
        block.body.span_of(rest).or(Some(block.span))
    }
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub kind: String,
    pub labels: Vec<String>,
    pub span: Span,
    pub body: Body,
}

/// Index of a module in [`Config::modules`]; the root module is 0.
pub type ModuleId = usize;

/// A whole stack: the root module and every module it calls, loaded from disk.
pub struct Config {
    pub modules: Vec<Module>,
}

impl Config {
    pub fn root(&self) -> &Module {
        &self.modules[0]
    }

    /// The root configuration a reference to provider `name` (with `alias`) in
    /// module `m` stands for, following each module call's `providers` map up (a
    /// default configuration is inherited where no map names it); `None` where a
    /// module on the way declares the configuration itself, or nothing passes an
    /// aliased one in.
    pub fn root_provider(
        &self,
        mut m: ModuleId,
        name: &str,
        alias: Option<&str>,
    ) -> Option<(String, Option<String>)> {
        let (mut name, mut alias) = (name.to_string(), alias.map(str::to_string));
        loop {
            let module = &self.modules[m];
            if m == 0 {
                return Some((name, alias));
            }
            if module
                .providers
                .iter()
                .any(|p| p.name == name && p.alias == alias)
            {
                return None;
            }
            let parent = module.parent?;
            let call = self.modules[parent].module_call(module.path.last()?)?;
            let key = match &alias {
                Some(a) => format!("{name}.{a}"),
                None => name.clone(),
            };
            match call.providers.iter().find(|(k, _)| *k == key) {
                Some((_, p)) => (name, alias) = (p.name.clone(), p.alias.clone()),
                None if alias.is_none() => {}
                None => return None,
            }
            m = parent;
        }
    }

    /// Sets each child module resource's [`ProviderRef::root`], so that a plugin
    /// configuration passed in through `providers = { aws = aws.west }` serves it.
    pub fn resolve_provider_refs(&mut self) {
        for m in 1..self.modules.len() {
            for i in 0..self.modules[m].resources.len() {
                let r = &self.modules[m].resources[i];
                let (name, alias) = match &r.provider {
                    Some(p) => (p.name.clone(), p.alias.clone()),
                    None => (r.provider_name().to_string(), None),
                };
                let Some(root) = self.root_provider(m, &name, alias.as_deref()) else {
                    continue;
                };
                if root == (name.clone(), alias.clone()) {
                    continue;
                }
                let span = r.span;
                let r = &mut self.modules[m].resources[i];
                match &mut r.provider {
                    Some(p) => p.root = Some(root),
                    None => {
                        r.provider = Some(ProviderRef {
                            name,
                            alias: None,
                            span,
                            root: Some(root),
                        })
                    }
                }
            }
        }
    }
}

/// One `drift { ignore }` entry: `ADDR[.path]` as written, checked when decoded.
#[derive(Clone, Debug)]
pub struct DriftIgnore {
    pub text: String,
    pub span: Span,
}

/// One module: the `*.hcl` / `*.tf` files of one directory.
#[derive(Default)]
pub struct Module {
    pub dir: PathBuf,
    /// Module call names from the root to this module (empty for the root).
    pub path: Vec<String>,
    pub parent: Option<ModuleId>,
    pub settings: Settings,
    pub providers: Vec<ProviderConfig>,
    pub variables: Vec<Variable>,
    pub locals: Vec<Local>,
    pub outputs: Vec<Output>,
    pub resources: Vec<Resource>,
    pub module_calls: Vec<ModuleCall>,
    pub moved: Vec<Moved>,
    pub imports: Vec<Import>,
    pub checks: Vec<CheckBlock>,
    pub removed: Vec<Removed>,
    /// `drift { ignore = [...] }` (plinth's own block; root module only): attribute
    /// paths something else owns, which drift does not report.
    pub drift_ignore: Vec<DriftIgnore>,
    index: NameIndex,
}

/// Lookup by name for each kind of declaration (the first one, where names repeat).
#[derive(Default)]
struct NameIndex {
    variables: HashMap<String, usize>,
    locals: HashMap<String, usize>,
    outputs: HashMap<String, usize>,
    resources: HashMap<(ResourceMode, String, String), usize>,
    module_calls: HashMap<String, usize>,
}

impl Module {
    /// Rebuilds the name lookup; the loader calls it once a module's files are decoded.
    pub fn reindex(&mut self) {
        fn first<T>(items: &[T], key: impl Fn(&T) -> String) -> HashMap<String, usize> {
            let mut map = HashMap::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                map.entry(key(item)).or_insert(i);
            }
            map
        }
        let mut resources = HashMap::with_capacity(self.resources.len());
        for (i, r) in self.resources.iter().enumerate() {
            resources
                .entry((r.mode, r.type_name.clone(), r.name.clone()))
                .or_insert(i);
        }
        self.index = NameIndex {
            variables: first(&self.variables, |v| v.name.clone()),
            locals: first(&self.locals, |v| v.name.clone()),
            outputs: first(&self.outputs, |v| v.name.clone()),
            resources,
            module_calls: first(&self.module_calls, |v| v.name.clone()),
        };
    }

    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.index.variables.get(name).map(|i| &self.variables[*i])
    }
    pub fn local(&self, name: &str) -> Option<&Local> {
        self.index.locals.get(name).map(|i| &self.locals[*i])
    }
    pub fn output(&self, name: &str) -> Option<&Output> {
        self.index.outputs.get(name).map(|i| &self.outputs[*i])
    }
    pub fn resource(&self, mode: ResourceMode, type_name: &str, name: &str) -> Option<&Resource> {
        self.index
            .resources
            .get(&(mode, type_name.to_string(), name.to_string()))
            .map(|i| &self.resources[*i])
    }
    pub fn module_call(&self, name: &str) -> Option<&ModuleCall> {
        self.index
            .module_calls
            .get(name)
            .map(|i| &self.module_calls[*i])
    }
    /// `module.a.module.b` style prefix for addresses in this module ("" for the root).
    pub fn display_path(&self) -> String {
        self.path.iter().map(|p| format!("module.{p}.")).collect()
    }
}

/// The `terraform` (or `plinth`) block.
#[derive(Default, Debug, Clone)]
pub struct Settings {
    pub required_version: Option<String>,
    pub required_providers: BTreeMap<String, ProviderRequirement>,
    /// Where the primary files' one `required_providers` block is.
    pub required_providers_span: Option<Span>,
    pub backend: Option<Backend>,
    /// `provider_meta "aws" { ... }`: module metadata for a provider, by local name.
    /// Its arguments are kept unevaluated: `plugin::meta` evaluates them against the
    /// provider's `provider_meta` schema when planning, as Terraform does.
    pub provider_metas: Vec<ProviderMeta>,
}

#[derive(Debug, Clone)]
pub struct ProviderMeta {
    pub provider: String,
    pub span: Span,
    pub attrs: Vec<Attr>,
}

#[derive(Debug, Clone)]
pub struct ProviderRequirement {
    pub source: String,
    pub version: Option<String>,
    pub span: Span,
    /// `configuration_aliases = [aws.west]`: configurations the calling module must
    /// pass in through the module call's `providers`.
    pub configuration_aliases: Vec<ProviderRef>,
}

#[derive(Debug, Clone)]
pub struct Backend {
    pub kind: String,
    pub span: Span,
    pub body: Body,
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub name: String,
    pub alias: Option<String>,
    pub span: Span,
    pub body: Body,
}

impl ProviderConfig {
    /// `aws` or `aws.west`, as a resource's `provider` argument names it.
    pub fn local_address(&self) -> String {
        match &self.alias {
            Some(a) => format!("{}.{a}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub span: Span,
    pub constraint: Constraint,
    /// Whether a `type` was written (without one, values from the command line and
    /// the environment are taken as literal strings).
    pub has_type: bool,
    pub default: Option<Expr>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<Check>,
}

/// A `validation`, `precondition` or `postcondition` block.
#[derive(Debug, Clone)]
pub struct Check {
    pub condition: Expr,
    pub error_message: Expr,
}

#[derive(Debug, Clone)]
pub struct Local {
    pub name: String,
    pub span: Span,
    pub expr: Expr,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub span: Span,
    pub value: Option<Expr>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub depends_on: Vec<Reference>,
    pub preconditions: Vec<Check>,
}

#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    pub create_before_destroy: bool,
    pub prevent_destroy: bool,
    /// `ignore_changes`: attribute paths, or every attribute with `all`.
    pub ignore_changes: Vec<Expr>,
    pub ignore_all_changes: bool,
    pub replace_triggered_by: Vec<Expr>,
    pub preconditions: Vec<Check>,
    pub postconditions: Vec<Check>,
}

#[derive(Debug, Clone)]
pub struct ProviderRef {
    pub name: String,
    pub alias: Option<String>,
    pub span: Span,
    /// The root module's configuration (name, alias) this reference reaches through
    /// module calls' `providers` maps and default inheritance; `None` where it is
    /// the root's own or stays in a module that declares the configuration itself.
    pub root: Option<(String, Option<String>)>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub mode: ResourceMode,
    pub type_name: String,
    pub name: String,
    pub span: Span,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub provider: Option<ProviderRef>,
    pub depends_on: Vec<Reference>,
    pub lifecycle: Lifecycle,
    pub body: Body,
    /// The `check` block a scoped data source is declared in: only that block's
    /// assertions may refer to it, and its errors are warnings.
    pub check: Option<String>,
}

impl Resource {
    /// `aws_instance.gpu` or `data.aws_ami.ubuntu`.
    pub fn address(&self) -> String {
        match self.mode {
            ResourceMode::Managed => format!("{}.{}", self.type_name, self.name),
            ResourceMode::Data => format!("data.{}.{}", self.type_name, self.name),
        }
    }

    /// The block's address inside its module.
    pub fn addr(&self) -> crate::addrs::Resource {
        crate::addrs::Resource::new(self.mode, &self.type_name, &self.name)
    }

    /// The provider's local name: the `provider` argument, or the type's prefix.
    pub fn provider_name(&self) -> &str {
        match &self.provider {
            Some(p) => &p.name,
            None => self.type_name.split('_').next().unwrap_or(&self.type_name),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ModuleCall {
    pub name: String,
    pub span: Span,
    pub source: String,
    pub source_span: Span,
    pub version: Option<String>,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<Reference>,
    /// `providers = { aws = aws.west }`: child local name to this module's config.
    pub providers: Vec<(String, ProviderRef)>,
    pub inputs: Vec<Attr>,
    pub child: Option<ModuleId>,
}

#[derive(Debug, Clone)]
pub struct Moved {
    pub from: crate::addrs::Target,
    pub from_span: Span,
    pub to: crate::addrs::Target,
    pub to_span: Span,
}

#[derive(Debug, Clone)]
pub struct Import {
    /// The instance imported into; with `for_each`, the resource (key `None`) whose
    /// instance `to_key` names for each element.
    pub to: crate::addrs::ResourceInstance,
    pub to_span: Span,
    /// `for_each` (Terraform 1.7): one import for each element of a map, set or list.
    pub for_each: Option<Expr>,
    /// With `for_each`, the instance key written in `to` (`[each.key]`).
    pub to_key: Option<Expr>,
    pub id: Expr,
    pub provider: Option<ProviderRef>,
}

/// A `check` block (Terraform 1.5): assertions evaluated after planning and after
/// applying, whose failures are warnings. Its scoped data source, if any, is in
/// [`Module::resources`] with [`Resource::check`] naming this block.
#[derive(Debug, Clone)]
pub struct CheckBlock {
    pub name: String,
    pub span: Span,
    pub asserts: Vec<Check>,
}

/// A `removed` block (Terraform 1.7): a resource or module call taken out of the
/// configuration, either forgotten (left in the world, dropped from state) or
/// destroyed.
#[derive(Debug, Clone)]
pub struct Removed {
    pub from: crate::addrs::Target,
    pub from_span: Span,
    pub span: Span,
    /// `lifecycle { destroy = false }` makes this false: the objects are forgotten.
    pub destroy: bool,
}
