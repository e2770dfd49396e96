//! No expression can exhaust the machine: each bomb fails at its line at once, with a
//! message saying why, exit code 1, and nothing written under `.plinth/`. The binary
//! runs under a 1 GiB address-space limit, so a bomb that allocated would crash
//! instead of passing, and under a time bound that is a sanity check, not a benchmark.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{main_tf, Run};

const MEMORY_KIB: u64 = 1 << 20;
const TIME: Duration = Duration::from_secs(5);

/// `plinth apply --auto-approve` on `dir` under the memory limit, with `env` set.
fn apply_bounded(dir: &tempfile::TempDir, env: &[(&str, &str)]) -> Run {
    let script =
        format!("ulimit -v {MEMORY_KIB} && exec \"$0\" -C \"$1\" --no-color apply --auto-approve");
    let started = Instant::now();
    let out = Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_plinth")])
        .arg(dir.path())
        .envs(env.iter().copied())
        .env_remove("NO_COLOR")
        .output()
        .expect("run plinth");
    let elapsed = started.elapsed();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        elapsed < TIME,
        "took {elapsed:?}:\n{}{}",
        run.stdout,
        run.stderr
    );
    run
}

/// Every file under `.plinth/` with its contents.
fn state_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    fn walk(p: &std::path::Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(p) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir.join(".plinth"), &mut out);
    out.sort();
    out
}

/// Applies a stack of one output, then `text` as main.tf in its place, and checks the
/// second apply failed with `needles` in its errors, at exit code 1, leaving every
/// file under `.plinth/` as the first apply left it.
/// The bombs run under a bound of 32 MiB (`PLINTH_MAX_VALUE_BYTES`), far below the
/// 1 GiB limit, so that what is built before the bound trips (copies, a string's
/// last reallocation) cannot reach the limit on any machine.
fn bomb(text: &str, needles: &[&str]) -> Run {
    bomb_with(text, &[("PLINTH_MAX_VALUE_BYTES", "33554432")], needles)
}

fn bomb_with(text: &str, env: &[(&str, &str)], needles: &[&str]) -> Run {
    let dir = main_tf("output \"before\" {\n  value = 1\n}\n");
    let first = apply_bounded(&dir, &[]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let before = state_files(dir.path());
    assert!(!before.is_empty(), "the first apply wrote no state");
    std::fs::write(dir.path().join("main.tf"), text).expect("write main.tf");
    let run = apply_bounded(&dir, env);
    assert_eq!(run.code, 1, "should fail:\n{}{}", run.stdout, run.stderr);
    for n in needles {
        assert!(run.stderr.contains(n), "missing {n:?} in:\n{}", run.stderr);
    }
    assert!(
        state_files(dir.path()) == before,
        "a failed apply changed .plinth/"
    );
    run
}

const TOO_LARGE: &str = "more than 32 MiB, the bound on one value";

#[test]
fn format_width_beyond_the_bound() {
    bomb(
        "output \"x\" {\n  value = format(\"%0999999999d\", 1)\n}\n",
        &["main.tf:2:18", "Call to format()", TOO_LARGE],
    );
    // The default bound, checked before anything is built.
    bomb_with(
        "output \"x\" {\n  value = format(\"%0999999999d\", 1)\n}\n",
        &[],
        &["main.tf:2:18", "more than 256 MiB, the bound on one value"],
    );
}

#[test]
fn format_precision_beyond_the_bound() {
    bomb(
        "output \"x\" {\n  value = format(\"%.999999999f\", 1)\n}\n",
        &["main.tf:2:18", TOO_LARGE],
    );
}

#[test]
fn file_of_dev_zero_is_not_a_regular_file() {
    bomb(
        "locals {\n  x = file(\"/dev/zero\")\n}\noutput \"x\" {\n  value = local.x\n}\n",
        &[
            "main.tf:2:12",
            "\"/dev/zero\" is not a regular file, but a character device",
        ],
    );
}

#[test]
fn file_hashes_and_templatefile_refuse_what_is_not_a_file() {
    for call in [
        "filesha256(\"/dev/zero\")",
        "filebase64(\"/dev/zero\")",
        "templatefile(\"/dev/zero\", {})",
    ] {
        bomb(
            &format!("output \"x\" {{\n  value = {call}\n}}\n"),
            &[
                "main.tf:2:",
                "is not a regular file, but a character device",
            ],
        );
    }
    bomb(
        "output \"x\" {\n  value = file(\"/\")\n}\n",
        &["\"/\" is not a regular file, but a directory"],
    );
}

#[test]
fn a_file_beyond_a_configured_bound_is_not_read() {
    let big = std::env::temp_dir().join(format!("plinth-bomb-{}.txt", std::process::id()));
    std::fs::write(&big, "x".repeat(2000)).expect("write");
    bomb_with(
        &format!(
            "output \"x\" {{\n  value = file({:?})\n}}\n",
            big.display().to_string()
        ),
        &[("PLINTH_MAX_VALUE_BYTES", "1000")],
        &[
            "main.tf:2:16",
            "more than 1000 bytes, the bound on one value",
        ],
    );
    let _ = std::fs::remove_file(&big);
}

#[test]
fn setproduct_of_ten_million_rows() {
    bomb(
        "output \"l\" {\n  value = length(setproduct(range(1000), range(1000), range(10)))\n}\n",
        &["main.tf:2:18", "Call to setproduct()", TOO_LARGE],
    );
}

#[test]
fn for_expression_growing_past_the_bound() {
    bomb(
        "locals {\n  mb = format(\"%01048576d\", 1)\n}\noutput \"l\" {\n  value = length([for i in range(1024) : local.mb])\n}\n",
        &["main.tf:5:", "Value too large", TOO_LARGE],
    );
}

#[test]
fn template_and_join_growing_past_the_bound() {
    bomb(
        "locals {\n  mb = format(\"%01048576d\", 1)\n}\noutput \"t\" {\n  value = \"%{for i in range(1024)}${local.mb}%{endfor}\"\n}\n",
        &["main.tf:5:", TOO_LARGE],
    );
    bomb(
        "locals {\n  mb = format(\"%01048576d\", 1)\n}\noutput \"j\" {\n  value = join(\",\", [for i in range(20) : local.mb], [for i in range(20) : local.mb])\n}\n",
        &["main.tf:5:", "Call to join()", TOO_LARGE],
    );
}

#[test]
fn replace_and_indent_growing_past_the_bound() {
    bomb(
        "locals {\n  mb = format(\"%01048576d\", 1)\n  k = format(\"%0300d\", 0)\n}\noutput \"r\" {\n  value = replace(local.mb, \"0\", \"${local.k}\")\n}\n",
        &["main.tf:6:", "Call to replace()", TOO_LARGE],
    );
    bomb(
        "locals {\n  lines = join(\"\\n\", [for i in range(1024) : \"\"])\n}\noutput \"i\" {\n  value = indent(999999999, local.lines)\n}\n",
        &["main.tf:5:", "Call to indent()", TOO_LARGE],
    );
}

#[test]
fn yaml_aliases_cannot_multiply_past_the_bound() {
    let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\\n");
    for i in 1..12 {
        let p = i - 1;
        yaml.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\\n"
        ));
    }
    bomb(
        &format!("output \"y\" {{\n  value = length(yamldecode(\"{yaml}\"))\n}}\n"),
        &["main.tf:2:", "Call to yamldecode()", TOO_LARGE],
    );
}

#[test]
fn nesting_beyond_64_levels_is_a_short_error() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let run = bomb(
        &format!("output \"x\" {{\n  value = {deep}\n}}\n"),
        &["main.tf:2:", "expression nesting exceeds 64 levels"],
    );
    assert!(run.stderr.len() < 1000, "echoed the line:\n{}", run.stderr);
    let parens = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    bomb(
        &format!("output \"x\" {{\n  value = {parens}\n}}\n"),
        &["main.tf:2:", "expression nesting exceeds 64 levels"],
    );
}

#[test]
fn fmt_on_deep_nesting_fails_without_crashing() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let dir = main_tf(&format!("x = {deep}\n"));
    let run = common::plinth(dir.path(), &["fmt"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("expression nesting exceeds 64 levels"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.len() < 1000, "echoed the line:\n{}", run.stderr);
}
