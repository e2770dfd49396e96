//! Terraform's command-line spellings, read beside plinth's own: the arguments are
//! rewritten before clap parses them. `TF_CLI_ARGS` and `TF_CLI_ARGS_<command>` are
//! inserted after the command's name, as Terraform inserts them; single-dash long
//! flags (`-auto-approve`, `-out=F`, `-var k=v`, `-chdir=DIR`) become plinth's
//! double-dash ones; a boolean flag written `-flag=false` is dropped and
//! `-flag=true` kept as `--flag` (Go's flag package accepts both).

use std::collections::BTreeMap;
use std::ffi::OsString;

use clap::{ArgAction, Command};

/// Why the arguments cannot be read; printed with exit code 1, as Terraform does.
#[derive(Debug, PartialEq, Eq)]
pub struct ArgsError(pub String);

/// The environment variables this step reads.
#[derive(Default)]
pub struct Env {
    /// `TF_CLI_ARGS`.
    pub all: Option<String>,
    /// `TF_CLI_ARGS_<command>` by command name (words joined by `_`, dashes as `_`:
    /// `plan`, `state_list`, `force_unlock`).
    pub per_command: BTreeMap<String, String>,
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            all: std::env::var("TF_CLI_ARGS").ok(),
            per_command: std::env::vars()
                .filter_map(|(k, v)| Some((k.strip_prefix("TF_CLI_ARGS_")?.to_string(), v)))
                .collect(),
        }
    }
}

/// The arguments clap should parse for `args` (the program name first).
pub fn prepare(args: Vec<OsString>, cli: &Command, env: &Env) -> Result<Vec<OsString>, ArgsError> {
    let mut args = args.into_iter();
    let mut out: Vec<OsString> = args.next().into_iter().collect();
    let rest: Vec<OsString> = args.collect();
    let mut i = 0;
    // Global options, up to the command's name.
    let mut expects_value = false;
    while i < rest.len() {
        let token = &rest[i];
        if expects_value {
            out.push(token.clone());
            expects_value = false;
            i += 1;
            continue;
        }
        let Some(text) = token.to_str() else {
            break;
        };
        if !text.starts_with('-') || text == "--" {
            break;
        }
        match text {
            "-version" | "-v" => out.push("version".into()),
            "-help" | "-h" => out.push("--help".into()),
            "-C" => {
                out.push(token.clone());
                expects_value = true;
            }
            _ if text.starts_with("--") => {
                expects_value = !text.contains('=')
                    && find_long(&text[2..], cli, cli).is_some_and(takes_separate_value);
                out.push(token.clone());
            }
            _ => {
                let (spelled, takes_value) = flag(text, cli, cli)?;
                out.extend(spelled);
                expects_value = takes_value;
            }
        }
        i += 1;
    }
    let Some(name) = rest.get(i).and_then(|t| t.to_str()) else {
        out.extend(rest[i..].iter().cloned());
        return Ok(out);
    };
    let Some(sub) = cli.find_subcommand(name) else {
        out.extend(rest[i..].iter().cloned());
        return Ok(out);
    };
    out.push(rest[i].clone());
    i += 1;
    let mut words = vec![name.to_string()];
    let mut command = sub;
    // A nested command (`state list`, `workspace select`): its name is the next word.
    if command.has_subcommands() {
        if let Some(nested) = rest
            .get(i)
            .and_then(|t| t.to_str())
            .and_then(|n| command.find_subcommand(n))
        {
            words.push(nested.get_name().to_string());
            out.push(rest[i].clone());
            i += 1;
            command = nested;
        }
    }
    let suffix = words.join("_").replace('-', "_");
    let mut user: Vec<OsString> = Vec::new();
    for (var, value) in [
        (
            format!("TF_CLI_ARGS_{suffix}"),
            env.per_command.get(&suffix).cloned(),
        ),
        ("TF_CLI_ARGS".to_string(), env.all.clone()),
    ] {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            let words = split_words(&value).map_err(|why| {
                ArgsError(format!(
                    "cannot read extra command-line arguments from {var}: {why}"
                ))
            })?;
            user.extend(words.into_iter().map(OsString::from));
        }
    }
    user.extend(rest[i..].iter().cloned());
    let mut expects_value = false;
    let mut verbatim = false;
    for token in user {
        let text = token.to_str().map(str::to_string);
        match text {
            Some(text) if !verbatim && !expects_value && is_single_dash_long(&text) => {
                let (spelled, takes_value) = flag(&text, command, cli)?;
                out.extend(spelled);
                expects_value = takes_value;
            }
            Some(text) if !verbatim && !expects_value && text.starts_with("--") => {
                verbatim = text == "--";
                expects_value = !verbatim
                    && !text.contains('=')
                    && find_long(&text[2..], command, cli).is_some_and(takes_separate_value);
                out.push(token);
            }
            _ => {
                expects_value = false;
                out.push(token);
            }
        }
    }
    Ok(out)
}

/// `-name` or `-name=value` with a name of two or more characters that starts with a
/// letter: never a negative number, `-`, or a short flag such as `-C`.
fn is_single_dash_long(text: &str) -> bool {
    let Some(body) = text.strip_prefix('-') else {
        return false;
    };
    let name = body.split('=').next().unwrap_or("");
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn find_long<'a>(name: &str, command: &'a Command, cli: &'a Command) -> Option<&'a clap::Arg> {
    let find = |c: &'a Command| c.get_arguments().find(|a| a.get_long() == Some(name));
    find(command).or_else(|| find(cli).filter(|a| a.is_global_set()))
}

/// Whether the argument's value may come as the next word (`--out FILE`); not for
/// flags, nor for optional values that must be written with `=` (`--refresh=false`).
fn takes_separate_value(arg: &clap::Arg) -> bool {
    let optional = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
    arg.get_action().takes_values() && !optional
}

/// The double-dash spelling of one single-dash flag, and whether the next word is its
/// value.
fn flag(text: &str, command: &Command, cli: &Command) -> Result<(Vec<OsString>, bool), ArgsError> {
    let Some(body) = text.strip_prefix('-').filter(|_| is_single_dash_long(text)) else {
        return Ok((vec![text.into()], false));
    };
    let (name, value) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    };
    // Where Terraform's spelling means something else than plinth's own, the command
    // declares the Terraform meaning as a hidden `--terraform-NAME` (`plan -json`: the
    // machine-readable UI; `plan --json`: the JSON plan document).
    let terraform_name = format!("terraform-{name}");
    let (name, found) = match find_long(&terraform_name, command, cli) {
        Some(arg) => (terraform_name.as_str(), Some(arg)),
        None => (name, find_long(name, command, cli)),
    };
    let Some(arg) = found else {
        // Unknown: clap names it, in plinth's spelling, and suggests the nearest one.
        return Ok((vec![format!("--{body}").into()], false));
    };
    let is_switch = matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
    match value {
        Some(v) if is_switch => match go_bool(v) {
            Ok(true) => Ok((vec![format!("--{name}").into()], false)),
            Ok(false) => Ok((Vec::new(), false)),
            Err(e) => Err(ArgsError(format!("{e} for -{name}"))),
        },
        Some(v) => Ok((vec![format!("--{name}={v}").into()], false)),
        None => Ok((vec![format!("--{name}").into()], takes_separate_value(arg))),
    }
}

/// A boolean as Go's `strconv.ParseBool` reads it, which is how Terraform reads
/// `-flag=VALUE` and `TF_INPUT`.
pub fn go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid boolean value {text:?}: use true or false")),
    }
}

/// Splits `TF_CLI_ARGS` into words as a POSIX shell would, without expansions:
/// whitespace separates, single quotes keep everything, double quotes keep all but
/// `\"` and `\\`, a backslash outside quotes escapes the next character.
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("a backslash ends the text".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Whether plinth may ask the user anything: `-input` if given, else `TF_INPUT`
/// (`0` or `false` mean never), else yes.
pub fn input_allowed(flag: Option<bool>) -> bool {
    flag.unwrap_or_else(|| {
        std::env::var("TF_INPUT")
            .ok()
            .and_then(|v| go_bool(&v).ok())
            .unwrap_or(true)
    })
}

/// Whether `TF_IN_AUTOMATION` asks for output without hints about the next command.
pub fn in_automation() -> bool {
    std::env::var_os("TF_IN_AUTOMATION").is_some_and(|v| !v.is_empty())
}

/// `TF_LOG` turns on plinth's logging (`PLINTH_LOG`) unless it is `off`.
pub fn map_log_env() {
    if std::env::var_os("PLINTH_LOG").is_some() {
        return;
    }
    if let Ok(level) = std::env::var("TF_LOG") {
        if !level.is_empty() && !level.eq_ignore_ascii_case("off") {
            std::env::set_var("PLINTH_LOG", level);
        }
    }
}

/// `-lock=false`: plinth refuses it rather than run unlocked.
pub fn refuse_unlocked(lock: Option<bool>) -> Result<(), u8> {
    if lock == Some(false) {
        eprintln!(
            "Error: plinth does not run without the state lock (-lock=false): every plan and apply holds it, so that no two writers meet. Remove -lock=false; plinth output, show and state list read the state without taking the lock."
        );
        return Err(1);
    }
    Ok(())
}

/// Terraform's flags that plinth's plan, apply and destroy accept with Terraform's
/// meaning.
#[derive(clap::Args, Debug, Default)]
pub struct RunFlags {
    /// Whether plinth may ask for input (-input=false, or TF_INPUT=0: never; apply then
    /// needs --auto-approve).
    #[arg(long, value_name = "BOOL", value_parser = go_bool, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub input: Option<bool>,
    /// Hold the state lock (the default). plinth refuses --lock=false.
    #[arg(long, value_name = "BOOL", value_parser = go_bool, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub lock: Option<bool>,
    /// Accepted for Terraform's sake: it changes only how warnings are laid out.
    #[arg(long, hide = true)]
    #[allow(dead_code)]
    pub compact_warnings: bool,
    /// `-json`: Terraform's machine-readable UI, one JSON message a line (plinth's own
    /// `--json` prints the JSON plan document instead).
    #[arg(long, hide = true)]
    pub terraform_json: bool,
}

/// Terraform's `init` flags that plinth accepts: it has no backend to configure and
/// its init takes no state lock, so `-backend`, `-reconfigure`, `-lock` and
/// `-lock-timeout` change nothing, and init never asks for input.
#[derive(clap::Args, Debug, Default)]
#[allow(dead_code)]
pub struct InitFlags {
    /// Whether plinth may ask for input; init never asks.
    #[arg(long, value_name = "BOOL", value_parser = go_bool, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub input: Option<bool>,
    /// Install modules (the default); -get=false skips them.
    #[arg(long, value_name = "BOOL", value_parser = go_bool, num_args = 0..=1, default_missing_value = "true", require_equals = true, hide = true)]
    pub get: Option<bool>,
    #[arg(long, value_name = "BOOL", value_parser = go_bool, num_args = 0..=1, default_missing_value = "true", require_equals = true, hide = true)]
    pub backend: Option<bool>,
    #[arg(long, hide = true)]
    pub reconfigure: bool,
    #[arg(long, value_name = "BOOL", value_parser = go_bool, num_args = 0..=1, default_missing_value = "true", require_equals = true, hide = true)]
    pub lock: Option<bool>,
    #[arg(long, value_name = "DURATION", hide = true)]
    pub lock_timeout: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn env(all: Option<&str>, plan: Option<&str>) -> Env {
        Env {
            all: all.map(str::to_string),
            per_command: plan
                .map(|p| ("plan".to_string(), p.to_string()))
                .into_iter()
                .collect(),
        }
    }

    fn prepared(args: &str, env: &Env) -> Result<Vec<String>, ArgsError> {
        let argv = std::iter::once("plinth".to_string())
            .chain(split_words(args).expect("words"))
            .map(OsString::from)
            .collect();
        prepare(argv, &super::super::Cli::command(), env).map(|v| {
            v.into_iter()
                .skip(1)
                .map(|s| s.to_string_lossy().into_owned())
                .collect()
        })
    }

    fn same(args: &str) -> Vec<String> {
        prepared(args, &env(None, None)).expect("prepared")
    }

    #[test]
    fn single_dash_flags_become_double_dash() {
        assert_eq!(
            same("-chdir=dir plan -input=false -refresh -out=tfplan -no-color"),
            [
                "--chdir=dir",
                "plan",
                "--input=false",
                "--refresh",
                "--out=tfplan",
                "--no-color"
            ]
        );
        assert_eq!(
            same("apply -auto-approve -var 'x=-1' -var-file f.tfvars -parallelism=3"),
            [
                "apply",
                "--auto-approve",
                "--var",
                "x=-1",
                "--var-file",
                "f.tfvars",
                "--parallelism=3"
            ]
        );
    }

    #[test]
    fn a_value_that_looks_like_a_flag_is_kept() {
        assert_eq!(
            same("plan -target -json -out -1"),
            ["plan", "--target", "-json", "--out", "-1"]
        );
        assert_eq!(same("plan --out -json"), ["plan", "--out", "-json"]);
        assert_eq!(same("plan -- -json"), ["plan", "--", "-json"]);
    }

    #[test]
    fn boolean_flags_take_gos_true_and_false() {
        assert_eq!(
            same("apply -auto-approve=true"),
            ["apply", "--auto-approve"]
        );
        assert_eq!(same("apply -auto-approve=false"), ["apply"]);
        assert_eq!(same("plan -detailed-exitcode=0"), ["plan"]);
        assert_eq!(
            prepared("apply -auto-approve=maybe", &env(None, None)),
            Err(ArgsError(
                "invalid boolean value \"maybe\": use true or false for -auto-approve".into()
            ))
        );
    }

    #[test]
    fn short_flags_numbers_and_unknown_names() {
        assert_eq!(same("-C dir plan"), ["-C", "dir", "plan"]);
        assert_eq!(same("fmt -"), ["fmt", "-"]);
        assert_eq!(same("plan -bogus"), ["plan", "--bogus"]);
        assert_eq!(same("-version"), ["version"]);
        assert_eq!(same("state list -json"), ["state", "list", "--json"]);
    }

    #[test]
    fn single_dash_json_on_a_run_is_terraforms_machine_ui() {
        for command in ["plan", "apply", "destroy"] {
            assert_eq!(
                same(&format!("{command} -json")),
                [command, "--terraform-json"]
            );
            assert_eq!(same(&format!("{command} --json")), [command, "--json"]);
        }
        assert_eq!(same("plan -json=false"), ["plan"]);
        assert_eq!(same("validate -json"), ["validate", "--json"]);
    }

    #[test]
    fn env_args_go_after_the_command_name() {
        let e = env(Some("-no-color"), Some("-var 'a=b c' -lock-timeout=5s"));
        assert_eq!(
            prepared("-chdir=d plan -out=p", &e).expect("prepared"),
            [
                "--chdir=d",
                "plan",
                "--var",
                "a=b c",
                "--lock-timeout=5s",
                "--no-color",
                "--out=p"
            ]
        );
        assert_eq!(
            prepared("apply", &e).expect("prepared"),
            ["apply", "--no-color"]
        );
        let bad = env(None, Some("-var 'x"));
        assert_eq!(
            prepared("plan", &bad),
            Err(ArgsError(
                "cannot read extra command-line arguments from TF_CLI_ARGS_plan: a single quote is not closed".into()
            ))
        );
    }

    #[test]
    fn words_split_as_a_shell_splits_them() {
        assert_eq!(
            split_words(r#" -var "a=x \"y\"" b\ c 'd e'  "#).expect("words"),
            ["-var", "a=x \"y\"", "b c", "d e"]
        );
        assert_eq!(split_words("''").expect("words"), [""]);
        assert!(split_words("").expect("words").is_empty());
    }
}
