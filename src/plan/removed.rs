//! What `removed` blocks say about instances state holds and the configuration no
//! longer declares: forgotten (`lifecycle { destroy = false }`: dropped from state,
//! left in the world, Terraform's `forget` action) or destroyed as any orphan is.

use crate::addrs::{ResourceInstance, Target};
use crate::config::Config;

/// Every `removed` block of a configuration, with the module it is written in.
#[derive(Clone, Debug, Default)]
pub struct RemovedRules {
    /// (the declaring module's call names, the removed address, destroy).
    rules: Vec<(Vec<String>, Target, bool)>,
}

impl RemovedRules {
    pub fn new(config: &Config) -> RemovedRules {
        let rules = config
            .modules
            .iter()
            .flat_map(|m| {
                m.removed
                    .iter()
                    .map(|r| (m.path.clone(), r.from.clone(), r.destroy))
            })
            .collect();
        RemovedRules { rules }
    }

    /// Whether a `removed` block with `destroy = false` names `instance`'s resource
    /// or a module call holding it, so it leaves state without being destroyed.
    pub fn forgets(&self, instance: &ResourceInstance) -> bool {
        let names: Vec<&str> = instance.module.0.iter().map(|(n, _)| n.as_str()).collect();
        self.rules.iter().any(|(path, from, destroy)| {
            if *destroy || names.len() < path.len() || names[..path.len()] != path[..] {
                return false;
            }
            let rest = &names[path.len()..];
            match from {
                Target::Module(m) => {
                    let called: Vec<&str> = m.0.iter().map(|(n, _)| n.as_str()).collect();
                    rest.starts_with(&called)
                }
                Target::Resource(r) => {
                    let module: Vec<&str> = r.module.0.iter().map(|(n, _)| n.as_str()).collect();
                    rest == module.as_slice() && r.resource == instance.resource
                }
                // Refused when the block is read.
                Target::Instance(_) => false,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::load_source;
    use crate::diag::Sources;

    #[test]
    fn forgets_what_a_removed_block_names_and_nothing_else() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sources = Sources::default();
        let text = r#"
removed {
  from = local_file.a
  lifecycle {
    destroy = false
  }
}
removed {
  from = module.old
  lifecycle {
    destroy = false
  }
}
removed {
  from = local_file.gone
}
"#;
        let (config, diags) = load_source(dir.path(), "main.tf", text.into(), &mut sources);
        assert!(!diags.has_errors(), "{diags:?}");
        let rules = RemovedRules::new(&config);
        let forgets = |a: &str| rules.forgets(&ResourceInstance::parse(a).expect("address"));
        assert!(forgets("local_file.a"));
        assert!(forgets("local_file.a[3]"));
        assert!(forgets("local_file.a[\"k\"]"));
        assert!(forgets("module.old.local_file.x"));
        assert!(forgets("module.old[\"k\"].module.inner.local_file.x[0]"));
        assert!(!forgets("local_file.b"));
        assert!(!forgets("local_file.gone"));
        assert!(!forgets("module.other.local_file.a"));
        assert!(!forgets("module.older.local_file.x"));
    }
}
