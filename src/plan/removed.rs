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

    /// Whether `instance` leaves state without being destroyed: the `removed` block
    /// naming its resource or a module call holding it says `destroy = false`. Where
    /// several name it, the one in the module nearest the root decides (a calling
    /// module overrides its child, as in Terraform), then the one naming the
    /// resource over one naming a module call.
    pub fn forgets(&self, instance: &ResourceInstance) -> bool {
        let names: Vec<&str> = instance.module.0.iter().map(|(n, _)| n.as_str()).collect();
        self.rules
            .iter()
            .filter_map(|(path, from, destroy)| {
                if names.len() < path.len() || names[..path.len()] != path[..] {
                    return None;
                }
                let rest = &names[path.len()..];
                let names_it = match from {
                    Target::Module(m) => {
                        let called: Vec<&str> = m.0.iter().map(|(n, _)| n.as_str()).collect();
                        rest.starts_with(&called)
                    }
                    Target::Resource(r) => {
                        let module: Vec<&str> =
                            r.module.0.iter().map(|(n, _)| n.as_str()).collect();
                        rest == module.as_slice() && r.resource == instance.resource
                    }
                    // Refused when the block is read.
                    Target::Instance(_) => false,
                };
                let names_module = matches!(from, Target::Module(_));
                names_it.then_some(((path.len(), names_module), *destroy))
            })
            .min_by_key(|(rank, _)| *rank)
            .is_some_and(|(_, destroy)| !destroy)
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

    #[test]
    fn the_calling_modules_removed_block_overrides_its_childs() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("child")).expect("mkdir");
        std::fs::write(
            dir.path().join("child/main.tf"),
            "removed {\n  from = local_file.a\n  lifecycle {\n    destroy = false\n  }\n}\nremoved {\n  from = local_file.b\n  lifecycle {\n    destroy = false\n  }\n}\n",
        )
        .expect("write");
        let text = r#"
module "child" {
  source = "./child"
}
removed {
  from = module.child.local_file.a
  lifecycle {
    destroy = true
  }
}
"#;
        let mut sources = Sources::default();
        let (config, diags) = load_source(dir.path(), "main.tf", text.into(), &mut sources);
        assert!(!diags.has_errors(), "{diags:?}");
        let rules = RemovedRules::new(&config);
        let forgets = |a: &str| rules.forgets(&ResourceInstance::parse(a).expect("address"));
        assert!(!forgets("module.child.local_file.a"));
        assert!(forgets("module.child.local_file.b"));
    }
}
