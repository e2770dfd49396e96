//! The CI examples in `examples/ci/` use only commands and flags plinth has: every
//! `plinth …` line of their scripts is checked against that command's `--help`.

use std::path::Path;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

/// Every string in a YAML document (keys and values), depth first.
fn strings(doc: &Yaml, out: &mut Vec<String>) {
    match doc {
        Yaml::String(s) => out.push(s.clone()),
        Yaml::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Yaml::Hash(map) => map.iter().for_each(|(k, v)| {
            strings(k, out);
            strings(v, out);
        }),
        _ => {}
    }
}

/// The plinth command lines of a script: `plinth SUBCOMMAND --flag …`, with `\`
/// continuations joined.
fn plinth_commands(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|line| {
            let at = line.find("plinth ")?;
            let before = &line[..at];
            // A command, not a word in a message or a path: at the start of the line
            // or after `run:`/`- `.
            let before = before.trim();
            if !(before.is_empty() || before == "-" || before.ends_with(':')) {
                return None;
            }
            Some(
                line[at..]
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

#[test]
fn every_plinth_command_in_the_ci_examples_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci");
    let mut checked = 0;
    for file in ["github-actions.yml", "gitlab-ci.yml", "drift-schedule.yml"] {
        let text = std::fs::read_to_string(root.join(file)).expect("read example");
        let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
        let mut all = Vec::new();
        docs.iter().for_each(|d| strings(d, &mut all));
        for command in all.iter().flat_map(|s| plinth_commands(s)) {
            // `plinth -C DIR sub …`: the subcommand follows the global option.
            let (sub, nested) = match command[1].as_str() {
                "-C" => (&command[3], command.get(4)),
                _ => (&command[1], command.get(2)),
            };
            // A nested subcommand (`reconcile history`) has its own flags.
            let mut path = vec![sub.as_str()];
            if let Some(n) = nested.filter(|n| n.as_str() == "history") {
                path.push(n.as_str());
            }
            path.push("--help");
            let help = Command::new(env!("CARGO_BIN_EXE_plinth"))
                .args(&path)
                .output()
                .expect("run plinth");
            assert!(help.status.success(), "{file}: plinth {sub} is no command");
            let help = String::from_utf8_lossy(&help.stdout);
            for flag in command.iter().filter(|t| t.starts_with("--")) {
                let name = flag.split('=').next().unwrap_or(flag);
                assert!(
                    help.contains(&format!("{name} ")) || help.contains(&format!("{name}\n")),
                    "{file}: plinth {sub} has no {name}:\n{help}"
                );
            }
            checked += 1;
        }
    }
    // plan, init and apply in each pull-request file; drift, reconcile and its
    // history in the schedule.
    assert_eq!(checked, 9, "plinth commands found");
}

#[test]
fn commands_are_found_in_scripts_but_not_in_messages() {
    let script = "echo \"run plinth init first\"\nplinth plan --untrusted \\\n  --out .plinth/x\n- plinth apply x\n";
    let found = plinth_commands(script);
    assert_eq!(
        found,
        vec![
            vec!["plinth", "plan", "--untrusted", "--out", ".plinth/x"],
            vec!["plinth", "apply", "x"]
        ]
    );
}
