//! Ignore rules: which attribute paths of which instances drift does not report.
//! They come from `lifecycle { ignore_changes }`, the stack's `drift { ignore }`
//! block and `--ignore ADDR[.path]`.

use crate::addrs::{InstanceKey, ResourceInstance};
use crate::config::{Config, Expr};
use crate::lang::refs::ResourceMode;

use super::diff::{Path, Step};

/// One rule: every instance its address matches, at or below its path.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Module calls from the root, each with the instance key it names (`None`: all).
    module: Vec<(String, Option<InstanceKey>)>,
    mode: ResourceMode,
    type_name: String,
    name: String,
    /// The instance key it names (`None`: every instance).
    key: Option<InstanceKey>,
    /// Empty: the whole instance.
    path: Path,
}

impl Rule {
    /// Reads `ADDR[.path]`: `aws_eks_node_group.gpu.scaling_config[0].desired_size`,
    /// `module.pool["a"].aws_instance.x[0].tags`, `kubernetes_manifest.app`.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let steps = steps(text)?;
        let mut rest = steps.as_slice();
        let mut module = Vec::new();
        while let [Step::Attr(m), Step::Attr(name), tail @ ..] = rest {
            if m != "module" {
                break;
            }
            let (key, tail) = key_of(tail);
            module.push((name.clone(), key));
            rest = tail;
        }
        let mut mode = ResourceMode::Managed;
        if let [Step::Attr(d), tail @ ..] = rest {
            if d == "data" {
                mode = ResourceMode::Data;
                rest = tail;
            }
        }
        let [Step::Attr(type_name), Step::Attr(name), tail @ ..] = rest else {
            return Err(format!(
                "{text:?} does not name a resource: write TYPE.NAME, optionally after module.NAME and followed by an attribute path"
            ));
        };
        let (key, path) = key_of(tail);
        if let Some(Step::Index(_) | Step::Key(_)) = path.first() {
            return Err(format!("{text:?}: an attribute path starts with a name"));
        }
        Ok(Rule {
            module,
            mode,
            type_name: type_name.clone(),
            name: name.clone(),
            key,
            path: Path(path.to_vec()),
        })
    }

    /// Whether the rule covers `path` of `instance`.
    pub fn covers(&self, instance: &ResourceInstance, path: &Path) -> bool {
        self.matches(instance) && self.path.covers(path)
    }

    /// Whether the rule covers the whole of `instance`.
    pub fn covers_whole(&self, instance: &ResourceInstance) -> bool {
        self.matches(instance) && self.path.0.is_empty()
    }

    fn matches(&self, instance: &ResourceInstance) -> bool {
        let r = &instance.resource;
        r.mode == self.mode
            && r.type_name == self.type_name
            && r.name == self.name
            && self.key.as_ref().is_none_or(|k| *k == instance.key)
            && instance.module.0.len() == self.module.len()
            && instance
                .module
                .0
                .iter()
                .zip(&self.module)
                .all(|((name, key), (want, want_key))| {
                    name == want && want_key.as_ref().is_none_or(|k| k == key)
                })
    }
}

fn key_of(steps: &[Step]) -> (Option<InstanceKey>, &[Step]) {
    match steps {
        [Step::Index(n), tail @ ..] => (Some(InstanceKey::Int(*n)), tail),
        [Step::Key(k), tail @ ..] => (Some(InstanceKey::Str(k.clone())), tail),
        _ => (None, steps),
    }
}

/// Reads a traversal: names joined by `.`, `[N]` and `["key"]` steps.
pub fn steps(text: &str) -> Result<Vec<Step>, String> {
    let bad = |why: &str| format!("{text:?} is not an address or attribute path: {why}");
    let chars: Vec<char> = text.trim().chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let name_char = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    while i < chars.len() {
        match chars[i] {
            '.' if !out.is_empty() => i += 1,
            '[' if chars.get(i + 1) == Some(&'"') => {
                // A quoted key: up to the closing quote (escapes skipped), then `]`.
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '"' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                if chars.get(j + 1) != Some(&']') {
                    return Err(bad("an unclosed ["));
                }
                let quoted: String = chars[i + 1..=j].iter().collect();
                let value: String = serde_json::from_str(&quoted)
                    .map_err(|_| bad("a key that is not a quoted string"))?;
                out.push(Step::Key(value));
                i = j + 2;
            }
            '[' => {
                let end = (i + 1..chars.len())
                    .find(|&j| chars[j] == ']')
                    .ok_or_else(|| bad("an unclosed ["))?;
                let inner: String = chars[i + 1..end].iter().collect();
                let n = inner
                    .trim()
                    .parse()
                    .map_err(|_| bad("an index that is not a whole number"))?;
                out.push(Step::Index(n));
                i = end + 1;
            }
            c if name_char(c) && !c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && name_char(chars[i]) {
                    i += 1;
                }
                if start > 0 && chars[start - 1] != '.' {
                    return Err(bad("names are joined by ."));
                }
                out.push(Step::Attr(chars[start..i].iter().collect()));
            }
            _ => return Err(bad(&format!("unexpected {:?}", chars[i]))),
        }
    }
    if out.is_empty() || text.trim().ends_with('.') {
        return Err(bad("it is empty or ends with ."));
    }
    Ok(out)
}

/// Every rule of one stack.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

impl Rules {
    /// The configuration's rules: each resource's `ignore_changes` (every module
    /// instance alike) and the root module's `drift { ignore }`.
    pub fn of(config: &Config) -> Rules {
        let mut rules = Vec::new();
        for module in &config.modules {
            for resource in &module.resources {
                let whole = resource.lifecycle.ignore_all_changes;
                let paths: Vec<Path> = if whole {
                    vec![Path::default()]
                } else {
                    resource
                        .lifecycle
                        .ignore_changes
                        .iter()
                        .filter_map(ignore_path)
                        .collect()
                };
                for path in paths {
                    rules.push(Rule {
                        module: module.path.iter().map(|m| (m.clone(), None)).collect(),
                        mode: resource.mode,
                        type_name: resource.type_name.clone(),
                        name: resource.name.clone(),
                        key: None,
                        path,
                    });
                }
            }
        }
        for ignore in &config.root().drift_ignore {
            // Checked when the block was decoded.
            if let Ok(rule) = Rule::parse(&ignore.text) {
                rules.push(rule);
            }
        }
        Rules { rules }
    }

    /// These rules and `extra` (`--ignore`); a rule that does not read is an error.
    pub fn with(mut self, extra: &[String]) -> Result<Rules, String> {
        for text in extra {
            self.rules
                .push(Rule::parse(text).map_err(|e| format!("--ignore {e}"))?);
        }
        Ok(self)
    }

    pub fn covers(&self, instance: &ResourceInstance, path: &Path) -> bool {
        self.rules.iter().any(|r| r.covers(instance, path))
    }

    pub fn covers_whole(&self, instance: &ResourceInstance) -> bool {
        self.rules.iter().any(|r| r.covers_whole(instance))
    }
}

/// The path an `ignore_changes` entry names: `tags`, `scaling_config[0].desired_size`,
/// or the quoted form of 0.11.
fn ignore_path(e: &Expr) -> Option<Path> {
    let text = match &e.expr {
        hcl_edit::expr::Expression::String(s) => s.value().to_string(),
        other => other.to_string(),
    };
    steps(&text).ok().map(Path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Path {
        Path(steps(text).unwrap())
    }

    fn instance(text: &str) -> ResourceInstance {
        ResourceInstance::parse(text).unwrap()
    }

    #[test]
    fn a_rule_names_an_address_and_a_path() {
        let rule = Rule::parse("aws_eks_node_group.gpu.scaling_config[0].desired_size").unwrap();
        let ng = instance("aws_eks_node_group.gpu");
        assert!(rule.covers(&ng, &path("scaling_config[0].desired_size")));
        assert!(!rule.covers(&ng, &path("scaling_config[0].max_size")));
        assert!(!rule.covers_whole(&ng));
        assert!(!rule.covers(
            &instance("aws_eks_node_group.cpu"),
            &path("scaling_config[0].desired_size")
        ));
    }

    #[test]
    fn module_keys_and_instance_keys_narrow_a_rule() {
        let rule = Rule::parse(r#"module.pool["a"].aws_instance.x[0].tags["team"]"#).unwrap();
        let tags_team = path(r#"tags["team"]"#);
        assert!(rule.covers(
            &instance(r#"module.pool["a"].aws_instance.x[0]"#),
            &tags_team
        ));
        assert!(!rule.covers(
            &instance(r#"module.pool["b"].aws_instance.x[0]"#),
            &tags_team
        ));
        assert!(!rule.covers(
            &instance(r#"module.pool["a"].aws_instance.x[1]"#),
            &tags_team
        ));
        assert!(!rule.covers(
            &instance(r#"module.pool["a"].aws_instance.x[0]"#),
            &path("tags")
        ));
        let any = Rule::parse("module.pool.aws_instance.x").unwrap();
        assert!(any.covers_whole(&instance(r#"module.pool["b"].aws_instance.x[3]"#)));
        assert!(!any.covers_whole(&instance("aws_instance.x")));
    }

    #[test]
    fn data_sources_and_quoted_keys_read() {
        let rule = Rule::parse(r#"data.aws_ami.ubuntu.tags["a.b]"]"#).unwrap();
        assert_eq!(rule.mode, ResourceMode::Data);
        assert_eq!(rule.path.to_string(), r#"tags["a.b]"]"#);
    }

    #[test]
    fn what_is_no_rule_says_why() {
        for (text, why) in [
            ("aws_instance", "does not name a resource"),
            ("aws_instance.x.", "ends with ."),
            ("aws_instance.x[", "unclosed"),
            ("aws_instance.x[a]", "whole number"),
            ("aws_instance.x.tags[0", "unclosed"),
            ("aws instance.x", "unexpected ' '"),
            ("aws_instance.x[0]tags", "joined by"),
            ("", "empty"),
        ] {
            let err = Rule::parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
