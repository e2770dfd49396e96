//! Instance addresses as Terraform writes them: `aws_instance.gpu[0]`,
//! `module.pool["a100"].aws_eks_node_group.this`.

use std::fmt;

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

    pub fn child(&self, call: &str, key: InstanceKey) -> ModuleInstance {
        let mut steps = self.0.clone();
        steps.push((call.to_string(), key));
        ModuleInstance(steps)
    }

    pub fn parent(&self) -> Option<(ModuleInstance, &(String, InstanceKey))> {
        let (last, rest) = self.0.split_last()?;
        Some((ModuleInstance(rest.to_vec()), last))
    }

    /// The prefix this instance gives addresses inside it: `module.pool["a100"].`.
    pub fn prefix(&self) -> String {
        self.0
            .iter()
            .map(|(name, key)| format!("module.{name}{key}."))
            .collect()
    }
}

impl fmt::Display for ModuleInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.prefix();
        f.write_str(p.strip_suffix('.').unwrap_or("root"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_terraform_writes_them() {
        let m = ModuleInstance::root().child("pool", InstanceKey::Str("a100".into()));
        assert_eq!(
            format!("{}aws_eks_node_group.this", m.prefix()),
            "module.pool[\"a100\"].aws_eks_node_group.this"
        );
        assert_eq!(
            format!("aws_instance.gpu{}", InstanceKey::Int(0)),
            "aws_instance.gpu[0]"
        );
        assert_eq!(ModuleInstance::root().to_string(), "root");
    }
}
