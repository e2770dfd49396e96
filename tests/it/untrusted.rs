//! `plinth plan --untrusted`: a pull request's code planned before anybody reviewed
//! it. Files are read only inside the repository root, the environment's variables
//! are not read, only locked providers run, and nothing lands outside `.plinth/`.

use crate::common::{local_provider_dir, Run};

use std::path::{Path, PathBuf};
use std::process::Command;

/// A repository (a directory with `.git`) holding the stack at `stack/`.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new(main_tf: &str) -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join(".git")).expect(".git");
        std::fs::create_dir_all(dir.path().join("stack")).expect("stack");
        std::fs::write(dir.path().join("stack/main.tf"), main_tf).expect("main.tf");
        Repo { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn stack(&self) -> PathBuf {
        self.dir.path().join("stack")
    }

    /// plinth in the stack directory, with plinth/local on the plugin path, its own
    /// cache directory and no variables from the test's environment but `env`.
    fn plinth(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plinth"));
        cmd.args(["-C", self.stack().to_str().expect("path"), "--no-color"])
            .args(args)
            .env("PLINTH_PLUGIN_DIR", local_provider_dir())
            .env("PLINTH_CACHE_DIR", self.root().join("cache"))
            .env_remove("PLINTH_CLI_CONFIG_FILE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run plinth");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn plan(repo: &Repo, extra: &[&str]) -> Run {
    let mut args = vec!["plan"];
    args.extend_from_slice(extra);
    repo.plinth(&args, &[])
}

#[test]
fn file_functions_read_only_inside_the_repository() {
    let repo = Repo::new(
        r#"
output "passwd" {
  value = length(file("/etc/passwd")) > 0
}
"#,
    );
    let trusted = plan(&repo, &[]);
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    let refused = plan(&repo, &["--untrusted"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("/etc/passwd is outside")
            && refused.stderr.contains("the repository root")
            && refused.stderr.contains("main.tf:3"),
        "{}",
        refused.stderr
    );

    // Inside the repository (above the stack too) a file reads; a link leading out of
    // it, a template out of it and `..` climbing out are refused, each at its line.
    std::fs::write(repo.root().join("shared.txt"), "inside").expect("write");
    std::os::unix::fs::symlink("/etc/passwd", repo.stack().join("innocent.txt")).expect("link");
    std::os::unix::fs::symlink("/etc", repo.stack().join("etc")).expect("link");
    std::fs::write(
        repo.stack().join("main.tf"),
        r#"
output "shared" {
  value = file("${path.module}/../shared.txt")
}
output "listed" {
  value = fileset(path.module, "**/passwd")
}
"#,
    )
    .expect("write");
    let inside = plan(&repo, &["--untrusted"]);
    assert_eq!(inside.code, 0, "{}", inside.stderr);
    assert!(
        inside.stdout.contains("+ shared = \"inside\""),
        "{}",
        inside.stdout
    );
    assert!(
        inside.stdout.contains("+ listed = toset([])"),
        "a link out of the repository is not listed: {}",
        inside.stdout
    );
    for (line, expr) in [
        ("innocent.txt", "file(\"innocent.txt\")"),
        ("templatefile", "templatefile(\"/etc/hostname\", {})"),
        ("climb", "filebase64(\"../../../../../../etc/passwd\")"),
        ("exists", "fileexists(\"/etc/passwd\")"),
    ] {
        std::fs::write(
            repo.stack().join("main.tf"),
            format!("\n\noutput \"x\" {{\n  value = {expr}\n}}\n"),
        )
        .expect("write");
        let refused = plan(&repo, &["--untrusted"]);
        assert_eq!(refused.code, 1, "{line}: {}", refused.stdout);
        assert!(
            refused.stderr.contains("is outside") && refused.stderr.contains("main.tf:4"),
            "{line}: {}",
            refused.stderr
        );
    }
}

#[test]
fn modules_and_var_files_outside_the_repository_are_refused() {
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        outside.path().join("main.tf"),
        "output \"secret\" {\n  value = \"from outside\"\n}\n",
    )
    .expect("write");
    std::fs::write(outside.path().join("x.tfvars"), "a = 1\n").expect("write");
    let repo = Repo::new("");
    // A local source climbing out of the repository: `../../<the other temp dir>`.
    let name = outside.path().file_name().expect("name").to_string_lossy();
    assert_eq!(outside.path().parent(), repo.root().parent());
    std::fs::write(
        repo.stack().join("main.tf"),
        format!("module \"m\" {{\n  source = \"../../{name}\"\n}}\n"),
    )
    .expect("write");
    assert_eq!(plan(&repo, &[]).code, 0);
    let refused = plan(&repo, &["--untrusted"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("Failed to read module directory")
            && refused.stderr.contains("is outside")
            && refused.stderr.contains("main.tf:2"),
        "{}",
        refused.stderr
    );
    std::fs::write(
        repo.stack().join("main.tf"),
        "variable \"a\" {\n  default = 0\n}\n",
    )
    .expect("write");
    let var_file = outside.path().join("x.tfvars");
    let refused = plan(
        &repo,
        &[
            "--untrusted",
            "--var-file",
            var_file.to_str().expect("path"),
        ],
    );
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(refused.stderr.contains("is outside"), "{}", refused.stderr);
}

#[test]
fn variables_from_the_environment_are_not_read() {
    let repo = Repo::new("variable \"region\" {}\noutput \"region\" {\n  value = var.region\n}\n");
    let env = [("TF_VAR_region", "eu-west-1")];
    let trusted = repo.plinth(&["plan"], &env);
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    assert!(trusted.stdout.contains("eu-west-1"), "{}", trusted.stdout);
    let untrusted = repo.plinth(&["plan", "--untrusted"], &env);
    assert_eq!(untrusted.code, 1, "{}", untrusted.stdout);
    assert!(
        untrusted.stderr.contains("No value for required variable"),
        "{}",
        untrusted.stderr
    );
    let plinth_var = repo.plinth(&["plan", "--untrusted"], &[("PLINTH_VAR_region", "x")]);
    assert_eq!(plinth_var.code, 1, "{}", plinth_var.stdout);
    // The command line is the operator's: it still sets variables.
    let given = repo.plinth(&["plan", "--untrusted", "--var", "region=us-east-2"], &env);
    assert_eq!(given.code, 0, "{}", given.stderr);
    assert!(given.stdout.contains("us-east-2"), "{}", given.stdout);
}

const LOCAL: &str = r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}

resource "local_file" "f" {
  filename = "${path.module}/out.txt"
  content  = "x"
}
"#;

#[test]
fn only_providers_the_lock_file_records_run() {
    let repo = Repo::new(LOCAL);
    let trusted = plan(&repo, &[]);
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    assert!(
        repo.root().join("cache").exists(),
        "a trusted plan caches the provider's schema"
    );
    std::fs::remove_dir_all(repo.root().join("cache")).expect("rm cache");

    let refused = plan(&repo, &["--untrusted"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .contains("Provider not allowed in an untrusted run")
            && refused.stderr.contains("is not in .plinth.lock.hcl")
            && refused.stderr.contains("main.tf:4"),
        "{}",
        refused.stderr
    );

    // A dev override is never covered by the lock file.
    let cli_config = repo.root().join("dev.tfrc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"plinth/local\" = {:?}\n  }}\n  direct {{}}\n}}\n",
            local_provider_dir()
        ),
    )
    .expect("write");
    let config = cli_config.to_str().expect("path");
    let overridden = repo.plinth(
        &["plan", "--untrusted"],
        &[("PLINTH_CLI_CONFIG_FILE", config)],
    );
    assert_eq!(overridden.code, 1, "{}", overridden.stdout);
    assert!(
        overridden.stderr.contains("dev_overrides"),
        "{}",
        overridden.stderr
    );

    // Locked by init (reviewed code), the same provider runs, and nothing lands in
    // the user's cache.
    let dir = local_provider_dir();
    let init = repo.plinth(&["init", "--plugin-dir", dir.to_str().expect("path")], &[]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    std::fs::remove_dir_all(repo.root().join("cache")).ok();
    let locked = plan(&repo, &["--untrusted"]);
    assert_eq!(locked.code, 0, "{}", locked.stderr);
    assert!(locked.stdout.contains("1 to add"), "{}", locked.stdout);
    assert!(
        !repo.root().join("cache").exists(),
        "an untrusted plan wrote to the user's cache"
    );
}

#[test]
fn an_untrusted_plan_writes_only_under_dot_plinth() {
    let repo = Repo::new("output \"x\" {\n  value = 1\n}\n");
    let outside = plan(&repo, &["--untrusted", "--out", "pr.plan"]);
    assert_eq!(outside.code, 1, "{}", outside.stdout);
    assert!(
        outside.stderr.contains("writes nothing outside .plinth/"),
        "{}",
        outside.stderr
    );
    assert!(!repo.stack().join("pr.plan").exists());
    let comment = plan(&repo, &["--untrusted", "--markdown", "comment.md"]);
    assert_eq!(comment.code, 1, "{}", comment.stdout);
    assert!(!repo.stack().join("comment.md").exists());
    let climbing = plan(&repo, &["--untrusted", "--out", ".plinth/../pr.plan"]);
    assert_eq!(climbing.code, 1, "{}", climbing.stdout);
    let inside = plan(&repo, &["--untrusted", "--out", ".plinth/pr.plan"]);
    assert_eq!(inside.code, 0, "{}", inside.stderr);
    assert!(repo.stack().join(".plinth/pr.plan").exists());
    let comment = plan(&repo, &["--untrusted", "--markdown", ".plinth/comment.md"]);
    assert_eq!(comment.code, 0, "{}", comment.stderr);
    let text = std::fs::read_to_string(repo.stack().join(".plinth/comment.md")).expect("comment");
    assert!(text.contains("x"), "{text}");
    let shown = repo.plinth(&["show", ".plinth/pr.plan"], &[]);
    assert!(shown.stdout.contains("+ x = 1"), "{}", shown.stdout);

    let apply = repo.plinth(&["apply", "--untrusted", "--auto-approve"], &[]);
    assert_eq!(apply.code, 1);
    assert!(
        apply.stderr.contains("plinth plan only"),
        "{}",
        apply.stderr
    );
}
