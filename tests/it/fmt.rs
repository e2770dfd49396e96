//! `plinth fmt`: rewrites files in Terraform's canonical style, keeps comments, checks
//! without writing, shows diffs, and refuses files that do not parse.

use crate::common;

use common::{plinth, stack};

const UGLY: &str =
    "# GPU pools\nvariable \"pools\"{\ndefault={a100=8} # count\n  type=map(number)\n}\n";
const PRETTY: &str = "# GPU pools\nvariable \"pools\" {\n  default = { a100 = 8 } # count\n  type    = map(number)\n}\n";

#[test]
fn rewrites_files_in_canonical_style_keeping_comments() {
    let dir = stack(&[("main.tf", UGLY), ("ok.tf", PRETTY)]);
    let run = plinth(dir.path(), &["fmt"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout.trim(),
        "main.tf",
        "only the changed file is listed"
    );
    let text = std::fs::read_to_string(dir.path().join("main.tf")).expect("read");
    assert_eq!(text, PRETTY);
}

#[test]
fn check_reports_without_writing() {
    let dir = stack(&[("main.tf", UGLY)]);
    let run = plinth(dir.path(), &["fmt", "--check"]);
    assert_eq!(run.code, 3);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("main.tf")).expect("read"),
        UGLY
    );
    let dir = stack(&[("main.tf", PRETTY)]);
    assert_eq!(plinth(dir.path(), &["fmt", "--check"]).code, 0);
}

#[test]
fn diff_shows_the_change() {
    let dir = stack(&[("main.tf", UGLY)]);
    let run = plinth(dir.path(), &["fmt", "--check", "--diff"]);
    assert!(
        run.stdout.contains("-default={a100=8} # count"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+  default = { a100 = 8 } # count"),
        "{}",
        run.stdout
    );
}

#[test]
fn refuses_a_file_that_does_not_parse() {
    let dir = stack(&[("main.tf", "locals {\n  a = [1,\n}\n")]);
    let run = plinth(dir.path(), &["fmt"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("main.tf:3:1"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("main.tf")).expect("read"),
        "locals {\n  a = [1,\n}\n"
    );
}

#[test]
fn recursive_reaches_module_directories() {
    let dir = stack(&[("main.tf", PRETTY), ("modules/x/main.tf", UGLY)]);
    assert_eq!(plinth(dir.path(), &["fmt", "--check"]).code, 0);
    assert_eq!(
        plinth(dir.path(), &["fmt", "--check", "--recursive"]).code,
        3
    );
}

#[test]
fn examples_are_in_canonical_style() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let run = plinth(&examples, &["fmt", "--check", "--recursive"]);
    assert_eq!(run.code, 0, "unformatted: {}", run.stdout);
}
