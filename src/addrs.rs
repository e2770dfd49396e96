//! Addresses, typed: what `module.pool["a100"].aws_eks_node_group.this[0]` names, read
//! once (from the command line or from state) and written back in Terraform's syntax.
//! The walk makes them from configuration, plan and apply carry them, and state keys
//! are their text.
//!
//! The vocabulary is Terraform's: a [`ModuleInstance`] is a path of module calls with
//! their keys; a [`Resource`] is `type.name` (or `data.type.name`) inside one module;
//! an [`AbsResource`] is a resource in one module instance (all its instances); a
//! [`ResourceInstance`] adds the instance key; a [`ConfigResource`] is the block in
//! every instance of its module; a [`Target`] is what `--target` may name.

use std::fmt;

use hcl_edit::expr::{Expression, TraversalOperator};

pub use crate::lang::refs::ResourceMode;
use crate::lang::value::quote_string;

/// Which instance of a resource or module call: none (no `count`/`for_each`), a
/// `count` index, a `for_each` key, or not known until apply.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceKey {
    None,
    Int(usize),
    Str(String),
    Unknown,
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::None => Ok(()),
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{}]", quote_string(s)),
            InstanceKey::Unknown => f.write_str("[*]"),
        }
    }
}

/// A module instance: the path of module calls, each with its instance key, from the
/// root. The root module instance is empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ModuleInstance(pub Vec<(String, InstanceKey)>);

impl ModuleInstance {
    pub fn root() -> ModuleInstance {
        ModuleInstance(Vec::new())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn child(&self, call: &str, key: InstanceKey) -> ModuleInstance {
        let mut steps = self.0.clone();
        steps.push((call.to_string(), key));
        ModuleInstance(steps)
    }

    pub fn parent(&self) -> Option<(ModuleInstance, &(String, InstanceKey))> {
        let (last, rest) = self.0.split_last()?;
        Some((ModuleInstance(rest.to_vec()), last))
    }

    /// The module calls' names, keys dropped: the configuration module this is an
    /// instance of.
    pub fn path(&self) -> Vec<String> {
        self.0.iter().map(|(name, _)| name.clone()).collect()
    }

    /// The prefix this instance gives addresses inside it: `module.pool["a100"].`.
    pub fn prefix(&self) -> String {
        self.0
            .iter()
            .map(|(name, key)| format!("module.{name}{key}."))
            .collect()
    }

    /// Whether `other` is this module instance or inside it, as `--target` reads a
    /// module: a last step without a key stands for every instance of that call.
    pub fn contains(&self, other: &ModuleInstance) -> bool {
        if other.0.len() < self.0.len() {
            return false;
        }
        let last = self.0.len().saturating_sub(1);
        self.0
            .iter()
            .zip(&other.0)
            .enumerate()
            .all(|(i, (ours, theirs))| {
                ours.0 == theirs.0
                    && (ours.1 == theirs.1 || (i == last && ours.1 == InstanceKey::None))
            })
    }
}

impl fmt::Display for ModuleInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.prefix();
        f.write_str(p.strip_suffix('.').unwrap_or("root"))
    }
}

/// A resource block's name inside one module: `aws_instance.gpu`, `data.aws_ami.ubuntu`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    pub mode: ResourceMode,
    pub type_name: String,
    pub name: String,
}

impl Resource {
    pub fn new(mode: ResourceMode, type_name: &str, name: &str) -> Resource {
        Resource {
            mode,
            type_name: type_name.to_string(),
            name: name.to_string(),
        }
    }

    pub fn managed(type_name: &str, name: &str) -> Resource {
        Resource::new(ResourceMode::Managed, type_name, name)
    }

    pub fn in_module(&self, module: &ModuleInstance) -> AbsResource {
        AbsResource {
            module: module.clone(),
            resource: self.clone(),
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mode == ResourceMode::Data {
            f.write_str("data.")?;
        }
        write!(f, "{}.{}", self.type_name, self.name)
    }
}

/// A resource in one module instance: every instance of it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbsResource {
    pub module: ModuleInstance,
    pub resource: Resource,
}

impl AbsResource {
    pub fn instance(&self, key: InstanceKey) -> ResourceInstance {
        ResourceInstance {
            module: self.module.clone(),
            resource: self.resource.clone(),
            key,
        }
    }

    /// Whether `instance` is one of this resource's instances.
    pub fn contains(&self, instance: &ResourceInstance) -> bool {
        self.module == instance.module && self.resource == instance.resource
    }
}

impl fmt::Display for AbsResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.module.prefix(), self.resource)
    }
}

/// One instance of a resource: `module.pool["a100"].aws_eks_node_group.this[0]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceInstance {
    pub module: ModuleInstance,
    pub resource: Resource,
    pub key: InstanceKey,
}

impl ResourceInstance {
    /// Reads an instance address in Terraform's syntax.
    pub fn parse(text: &str) -> Result<ResourceInstance, AddressError> {
        match Target::parse(text)? {
            Target::Instance(i) => Ok(i),
            Target::Resource(r) => Ok(r.instance(InstanceKey::None)),
            Target::Module(_) => Err(AddressError::new(
                text,
                "a module address where a resource instance address is needed",
            )),
        }
    }

    pub fn abs_resource(&self) -> AbsResource {
        AbsResource {
            module: self.module.clone(),
            resource: self.resource.clone(),
        }
    }

    /// The configuration block this is an instance of.
    pub fn config_resource(&self) -> ConfigResource {
        ConfigResource {
            module: self.module.path(),
            resource: self.resource.clone(),
        }
    }
}

impl fmt::Display for ResourceInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.module.prefix(), self.resource, self.key)
    }
}

/// A resource block in every instance of its module: `module.pool.aws_instance.gpu`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigResource {
    /// Module call names from the root.
    pub module: Vec<String>,
    pub resource: Resource,
}

impl fmt::Display for ConfigResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.module {
            write!(f, "module.{m}.")?;
        }
        write!(f, "{}", self.resource)
    }
}

/// An output value of one module instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Output {
    pub module: ModuleInstance,
    pub name: String,
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}output.{}", self.module.prefix(), self.name)
    }
}

/// What `--target` (and `state rm`, `import` and `moved`) may name: a module
/// instance, a resource, or one instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Module(ModuleInstance),
    Resource(AbsResource),
    Instance(ResourceInstance),
}

impl Target {
    /// Reads an address in Terraform's syntax: `module.NAME[KEY]` steps, then
    /// `[data.]TYPE.NAME[KEY]`; keys are numbers or quoted strings.
    pub fn parse(text: &str) -> Result<Target, AddressError> {
        let bad = |why: &str| AddressError::new(text, why);
        let expr: Expression = text
            .trim()
            .parse()
            .map_err(|_| bad("not an address in Terraform's syntax"))?;
        let Expression::Traversal(t) = &expr else {
            return match &expr {
                Expression::Variable(_) => Err(bad("a resource address needs a type and a name")),
                _ => Err(bad("not an address in Terraform's syntax")),
            };
        };
        let Expression::Variable(root) = &t.expr else {
            return Err(bad("not an address in Terraform's syntax"));
        };
        let mut words = vec![Step::Name(root.as_str().to_string())];
        for op in &t.operators {
            words.push(match op.value() {
                TraversalOperator::GetAttr(a) => Step::Name(a.as_str().to_string()),
                TraversalOperator::Index(Expression::Number(n)) => {
                    let i = n
                        .value()
                        .as_u64()
                        .and_then(|i| usize::try_from(i).ok())
                        .ok_or_else(|| bad("an index must be a whole number"))?;
                    Step::Key(InstanceKey::Int(i))
                }
                TraversalOperator::Index(Expression::String(s)) => Step::Key(InstanceKey::Str(
                    crate::lang::value::nfc(s.value().to_string()),
                )),
                TraversalOperator::LegacyIndex(i) => {
                    let i = usize::try_from(*i.value()).map_err(|_| bad("index too large"))?;
                    Step::Key(InstanceKey::Int(i))
                }
                _ => return Err(bad("a key must be a number or a quoted string")),
            });
        }
        let mut steps = words.into_iter().peekable();
        let mut module = ModuleInstance::root();
        loop {
            match steps.peek() {
                Some(Step::Name(n)) if n == "module" => {}
                _ => break,
            }
            steps.next();
            let Some(Step::Name(call)) = steps.next() else {
                return Err(bad("`module.` must be followed by a module call name"));
            };
            let key = match steps.peek() {
                Some(Step::Key(_)) => match steps.next() {
                    Some(Step::Key(k)) => k,
                    _ => InstanceKey::None,
                },
                _ => InstanceKey::None,
            };
            module = module.child(&call, key);
        }
        let Some(first) = steps.next() else {
            return if module.is_root() {
                Err(bad("empty address"))
            } else {
                Ok(Target::Module(module))
            };
        };
        let Step::Name(first) = first else {
            return Err(bad("a key must follow a name"));
        };
        let (mode, type_name) = if first == "data" {
            match steps.next() {
                Some(Step::Name(t)) => (ResourceMode::Data, t),
                _ => return Err(bad("`data.` must be followed by a data source type")),
            }
        } else {
            (ResourceMode::Managed, first)
        };
        let Some(Step::Name(name)) = steps.next() else {
            return Err(bad("a resource address needs a type and a name"));
        };
        let resource = AbsResource {
            module,
            resource: Resource {
                mode,
                type_name,
                name,
            },
        };
        match (steps.next(), steps.next()) {
            (None, _) => Ok(Target::Resource(resource)),
            (Some(Step::Key(k)), None) => Ok(Target::Instance(resource.instance(k))),
            _ => Err(bad(
                "nothing may follow a resource instance (attributes are not addresses)",
            )),
        }
    }

    pub fn module(&self) -> &ModuleInstance {
        match self {
            Target::Module(m) => m,
            Target::Resource(r) => &r.module,
            Target::Instance(i) => &i.module,
        }
    }

    /// Whether `instance` is what this target names or lies inside it.
    pub fn contains(&self, instance: &ResourceInstance) -> bool {
        match self {
            Target::Module(m) => m.contains(&instance.module),
            Target::Resource(r) => r.contains(instance),
            Target::Instance(i) => i == instance,
        }
    }

    /// Whether the block `local` (a resource or a `module.NAME` call) of the
    /// configuration module `module` may hold something this target names, or
    /// something inside this target: keys are not compared, since a block stands for
    /// every instance.
    pub fn touches_block(&self, module: &[String], local: &BlockName) -> bool {
        let mut ours: Vec<&str> = Vec::new();
        for (name, _) in &self.module().0 {
            ours.push("module");
            ours.push(name);
        }
        let resource = match self {
            Target::Module(_) => None,
            Target::Resource(r) => Some(&r.resource),
            Target::Instance(i) => Some(&i.resource),
        };
        let text;
        if let Some(r) = resource {
            text = r.to_string();
            ours.extend(text.split('.'));
        }
        let mut theirs: Vec<&str> = Vec::new();
        for m in module {
            theirs.push("module");
            theirs.push(m);
        }
        let local_text = match local {
            BlockName::ModuleCall(name) => format!("module.{name}"),
            BlockName::Resource(r) => r.to_string(),
        };
        theirs.extend(local_text.split('.'));
        let n = ours.len().min(theirs.len());
        ours[..n] == theirs[..n]
    }
}

/// A block of one configuration module, by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockName {
    ModuleCall(String),
    Resource(Resource),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Module(m) => write!(f, "{m}"),
            Target::Resource(r) => write!(f, "{r}"),
            Target::Instance(i) => write!(f, "{i}"),
        }
    }
}

enum Step {
    Name(String),
    Key(InstanceKey),
}

/// An address that does not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {text:?}: {why}")]
pub struct AddressError {
    pub text: String,
    pub why: String,
}

impl AddressError {
    fn new(text: &str, why: &str) -> AddressError {
        AddressError {
            text: text.to_string(),
            why: why.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(text: &str) -> ResourceInstance {
        ResourceInstance::parse(text).unwrap()
    }

    #[test]
    fn addresses_read_and_print_as_terraform_writes_them() {
        for text in [
            "aws_instance.gpu",
            "aws_instance.gpu[0]",
            "data.aws_ami.ubuntu",
            "module.pool[\"a100\"].aws_eks_node_group.this",
            "module.a.module.b[2].data.t.n[\"k\"]",
            "module.m[\"a.b[c]\\\"d\"].t.n[\"x]y\"]",
        ] {
            assert_eq!(instance(text).to_string(), text);
        }
        let i = instance("module.pool[\"a100\"].aws_eks_node_group.this[3]");
        assert_eq!(i.resource.type_name, "aws_eks_node_group");
        assert_eq!(i.resource.name, "this");
        assert_eq!(i.key, InstanceKey::Int(3));
        assert_eq!(i.module.path(), vec!["pool".to_string()]);
        assert_eq!(
            i.config_resource().to_string(),
            "module.pool.aws_eks_node_group.this"
        );
        assert_eq!(ModuleInstance::root().to_string(), "root");
        assert_eq!(
            Target::parse("module.pool[\"a\"]").unwrap(),
            Target::Module(ModuleInstance::root().child("pool", InstanceKey::Str("a".into())))
        );
    }

    #[test]
    fn malformed_addresses_are_refused_with_a_reason() {
        for text in [
            "",
            "aws_instance",
            "aws_instance.x.id",
            "aws_instance.x[0][1]",
            "module",
            "module.m.data",
            "aws_instance.x[var.k]",
            "aws_instance.x[-1]",
            "\"aws_instance.x\"",
        ] {
            assert!(Target::parse(text).is_err(), "{text:?} was accepted");
        }
        let e = ResourceInstance::parse("module.m").unwrap_err();
        assert!(e.to_string().contains("module.m"), "{e}");
    }

    #[test]
    fn targets_contain_what_lies_under_them() {
        let t = |s: &str| Target::parse(s).unwrap();
        let x0 = instance("module.m[\"a\"].aws_instance.x[0]");
        assert!(t("module.m").contains(&x0));
        assert!(t("module.m[\"a\"]").contains(&x0));
        assert!(!t("module.m[\"b\"]").contains(&x0));
        assert!(t("module.m[\"a\"].aws_instance.x").contains(&x0));
        assert!(t("module.m[\"a\"].aws_instance.x[0]").contains(&x0));
        assert!(!t("module.m[\"a\"].aws_instance.x[1]").contains(&x0));
        // A keyless step before the last one names the instance without a key only.
        assert!(!t("module.m.aws_instance.x").contains(&x0));
        assert!(!t("module.mm").contains(&x0));
        assert!(!t("aws_instance.x").contains(&x0));
        let nested = instance("module.m[0].module.n[\"k\"].t.r");
        assert!(t("module.m[0].module.n").contains(&nested));
        assert!(!t("module.m.module.n").contains(&nested));
    }

    #[test]
    fn targets_touch_the_blocks_on_their_path() {
        let t = |s: &str| Target::parse(s).unwrap();
        let call = |n: &str| BlockName::ModuleCall(n.to_string());
        let res = |ty: &str, n: &str| BlockName::Resource(Resource::managed(ty, n));
        let target = t("module.m[\"a\"].aws_instance.x[0]");
        assert!(target.touches_block(&[], &call("m")));
        assert!(!target.touches_block(&[], &call("mm")));
        assert!(target.touches_block(&["m".into()], &res("aws_instance", "x")));
        assert!(!target.touches_block(&["m".into()], &res("aws_instance", "y")));
        assert!(!target.touches_block(&[], &res("aws_instance", "x")));
        // A module target touches everything inside it.
        assert!(t("module.m").touches_block(&["m".into(), "n".into()], &res("t", "r")));
    }
}
