//! `plinth drift --unmanaged`: objects that exist but are in no state of the given
//! stacks, each as an `import` block ready to paste.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::FromArgMatches;

use super::view::{report, TerminalView};
use super::{Output, VarOptions};
use crate::drift::unmanaged::{list_unmanaged, render, UnmanagedRequest};
use crate::stack::ProviderStart;

#[derive(clap::Args, Debug, Default)]
// drift's own arguments are the group `Args`; this one needs a name of its own.
#[group(id = "unmanaged_options")]
pub struct Args {
    /// List the objects the stack's providers can see that no given state holds.
    #[arg(long)]
    pub unmanaged: bool,
    /// With --unmanaged: the objects in this stack's state count as managed too
    /// (repeatable).
    #[arg(long = "state-of", value_name = "DIR", requires = "unmanaged")]
    pub state_of: Vec<PathBuf>,
    /// With --unmanaged: only objects of this resource type (repeatable).
    #[arg(long = "type", value_name = "TYPE", requires = "unmanaged")]
    pub type_names: Vec<String>,
    /// With --unmanaged: only objects with this tag (labels, for Kubernetes)
    /// (repeatable; all must match).
    #[arg(long = "tag", value_name = "KEY=VALUE", requires = "unmanaged")]
    pub tags: Vec<String>,
    /// Print the drift report, or with --unmanaged the objects, as JSON.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    pub fn wanted(&self) -> bool {
        self.unmanaged
    }
}

/// Exit 0 when nothing is unmanaged, 2 when something is, 1 on error.
pub fn run(args: &Args, matches: &clap::ArgMatches, out: &Output) -> u8 {
    let tags = match parse_tags(&args.tags) {
        Ok(t) => t,
        Err(message) => {
            eprintln!("Error: {message}");
            return 1;
        }
    };
    let vars = match VarOptions::from_arg_matches(matches) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let mut stack = vars.stack_options(matches);
    stack.providers = ProviderStart::Required;
    let request = UnmanagedRequest {
        dir: PathBuf::from("."),
        stack,
        state_of: args.state_of.clone(),
        type_names: args.type_names.clone(),
        tags,
    };
    let view = TerminalView::new(out);
    let unmanaged = match list_unmanaged(&request, &view) {
        Ok(u) => u,
        Err(e) => return report(&e),
    };
    if args.json {
        let objects = serde_json::json!({ "unmanaged": unmanaged.objects });
        println!(
            "{}",
            serde_json::to_string_pretty(&objects).unwrap_or_default()
        );
    } else {
        print!("{}", render(&unmanaged));
    }
    let n = unmanaged.objects.len();
    if n == 0 {
        eprintln!("No unmanaged objects.");
        0
    } else {
        eprintln!("{n} unmanaged object{}.", if n == 1 { "" } else { "s" });
        2
    }
}

fn parse_tags(tags: &[String]) -> Result<BTreeMap<String, String>, String> {
    tags.iter()
        .map(|t| match t.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("--tag {t:?}: expected KEY=VALUE.")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_key_value_pairs() {
        assert_eq!(
            parse_tags(&["team=a".into(), "env=".into()]),
            Ok(BTreeMap::from([
                ("team".to_string(), "a".to_string()),
                ("env".to_string(), String::new())
            ]))
        );
        assert!(parse_tags(&["team".into()]).is_err());
        assert!(parse_tags(&["=a".into()]).is_err());
    }
}
