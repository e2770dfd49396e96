//! A stack file that cannot be read stops every command that loads the stack, naming
//! the file and the operating system's reason, and leaves `.plinth/` as it was. None of
//! these faults may be taken for a file that is simply not there: that would plan to
//! destroy what the file declares.

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{plinth, stack, Run};

const FIVE: &str = r#"
resource "plinth_data" "x" {
  count = 5
  input = count.index
}
"#;

/// Every file under `.plinth/`, with its bytes.
fn plinth_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&dir.join(".plinth"), dir, &mut out);
    out
}

/// A stack whose `res.tf` holds five instances, applied.
fn applied() -> tempfile::TempDir {
    let dir = stack(&[("res.tf", FIVE)]);
    let run = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    dir
}

/// `plinth` with a deadline, so that a command blocked opening a FIFO fails the test
/// instead of hanging it.
fn plinth_within(dir: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().unwrap(), "--no-color"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("plinth {args:?} did not finish: blocked reading a file?");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The diagnostics' words without the renderer's line wrapping and frame.
fn unwrapped(stderr: &str) -> String {
    let words: Vec<&str> = stderr
        .split_whitespace()
        .filter(|w| !matches!(*w, "│" | "×"))
        .collect();
    words.join(" ")
}

/// Runs each command on `dir` and asserts it fails with exit 1, its error naming
/// every one of `expected`, and that nothing under `.plinth/` changed.
fn refused(dir: &Path, commands: &[&[&str]], expected: &[&str]) {
    let before = plinth_files(dir);
    for args in commands {
        let run = plinth_within(dir, args);
        assert_eq!(run.code, 1, "plinth {args:?}: {}{}", run.stdout, run.stderr);
        for text in expected {
            assert!(
                unwrapped(&format!("{}{}", run.stdout, run.stderr)).contains(text),
                "plinth {args:?}: {text:?} not in:\n{}",
                run.stderr
            );
        }
        assert!(
            !run.stdout.contains("Success!") && !run.stdout.contains("to destroy"),
            "plinth {args:?}: {}",
            run.stdout
        );
        assert_eq!(
            plinth_files(dir),
            before,
            "plinth {args:?} changed .plinth/"
        );
    }
}

const LOADING: [&[&str]; 3] = [&["validate"], &["plan"], &["apply", "--auto-approve"]];

fn five_in_state(dir: &Path) {
    let run = plinth(dir, &["state", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 5, "{}", run.stdout);
}

#[test]
fn dangling_symlink_stops_every_command_that_loads_the_stack() {
    let dir = applied();
    let res = dir.path().join("res.tf");
    std::fs::remove_file(&res).unwrap();
    symlink("gone.tf", &res).unwrap();
    refused(
        dir.path(),
        &[
            &["validate"],
            &["validate", "--json"],
            &["plan"],
            &["plan", "--destroy"],
            &["apply", "--auto-approve"],
            &["destroy", "--auto-approve"],
            &["console"],
            &["graph"],
            &["init"],
            &["providers"],
            &["import", "plinth_data.x[0]", "id"],
        ],
        &[
            "Failed to read file",
            "The file res.tf could not be read: No such file or directory",
        ],
    );
    five_in_state(dir.path());
}

#[test]
fn symlink_loop() {
    let dir = applied();
    let res = dir.path().join("res.tf");
    std::fs::remove_file(&res).unwrap();
    symlink("res.tf", &res).unwrap();
    refused(
        dir.path(),
        &LOADING,
        &[
            "Failed to read file",
            "res.tf",
            "Too many levels of symbolic links",
        ],
    );
    five_in_state(dir.path());
}

#[test]
fn a_directory_named_like_a_stack_file() {
    let dir = applied();
    std::fs::create_dir(dir.path().join("extra.tf")).unwrap();
    refused(
        dir.path(),
        &LOADING,
        &[
            "Failed to read file",
            "extra.tf could not be read: not a regular file (a directory)",
        ],
    );
    five_in_state(dir.path());
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[test]
fn a_fifo_is_refused_without_being_opened() {
    let dir = applied();
    let res = dir.path().join("res.tf");
    std::fs::remove_file(&res).unwrap();
    mkfifo(&res);
    refused(
        dir.path(),
        &LOADING,
        &["res.tf could not be read: not a regular file (a named pipe)"],
    );
    five_in_state(dir.path());
}

#[test]
fn an_io_error() {
    // Reading /proc/self/mem from its start fails with EIO: nothing is mapped there.
    let dir = applied();
    symlink("/proc/self/mem", dir.path().join("mem.tf")).unwrap();
    refused(
        dir.path(),
        &LOADING,
        &["mem.tf could not be read: Input/output error"],
    );
    five_in_state(dir.path());
}

#[test]
fn permission_denied() {
    use std::os::unix::fs::PermissionsExt;
    // Root reads a file whatever its mode, so when the tests run as root this fault
    // cannot be made and the case only checks that such a file is still read.
    let dir = applied();
    let res = dir.path().join("res.tf");
    std::fs::set_permissions(&res, std::fs::Permissions::from_mode(0o000)).unwrap();
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(plinth(dir.path(), &["validate"]).code, 0);
        return;
    }
    refused(
        dir.path(),
        &LOADING,
        &["res.tf could not be read: Permission denied"],
    );
    std::fs::set_permissions(&res, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "module \"m\" {\n  source = \"./mod\"\n}\n",
    )
    .unwrap();
    let module = dir.path().join("mod");
    std::fs::create_dir(&module).unwrap();
    std::fs::set_permissions(&module, std::fs::Permissions::from_mode(0o000)).unwrap();
    refused(
        dir.path(),
        &LOADING,
        &["The directory mod could not be read: Permission denied"],
    );
    std::fs::set_permissions(&module, std::fs::Permissions::from_mode(0o755)).unwrap();
    five_in_state(dir.path());
}

#[test]
fn a_symlink_to_a_readable_file_is_read_under_its_own_name() {
    let dir = stack(&[("shared/res.txt", FIVE)]);
    symlink("shared/res.txt", dir.path().join("res.tf")).unwrap();
    let run = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    five_in_state(dir.path());
    std::fs::write(dir.path().join("shared/res.txt"), "resource {").unwrap();
    let run = plinth(dir.path(), &["validate"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("res.tf:1"), "{}", run.stderr);
}

#[test]
fn hidden_and_backup_files_are_not_stack_files() {
    let dir = applied();
    symlink("gone", dir.path().join(".res.tf")).unwrap();
    symlink("gone", dir.path().join("res.tf~")).unwrap();
    symlink("gone", dir.path().join("notes.txt")).unwrap();
    assert_eq!(plinth(dir.path(), &["validate"]).code, 0);
}

#[test]
fn json_configuration_is_read_not_ignored() {
    let dir = applied();
    let more = dir.path().join("more.tf.json");
    std::fs::write(&more, r#"{"resource": {"plinth_data": {"y": {"input": 1}"#).unwrap();
    refused(dir.path(), &LOADING, &["Syntax error", "more.tf.json:1:"]);
    five_in_state(dir.path());
    std::fs::write(
        &more,
        r#"{"resource": {"plinth_data": {"y": {"input": 1}}}}"#,
    )
    .unwrap();
    let plan = plinth(dir.path(), &["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("plinth_data.y will be created"),
        "{}",
        plan.stdout
    );
}

#[test]
fn an_unreadable_file_in_a_child_module() {
    let dir = stack(&[
        ("main.tf", "module \"m\" {\n  source = \"./mod\"\n}\n"),
        ("mod/res.tf", FIVE),
    ]);
    assert_eq!(plinth(dir.path(), &["apply", "--auto-approve"]).code, 0);
    let res = dir.path().join("mod/res.tf");
    std::fs::remove_file(&res).unwrap();
    symlink("gone.tf", &res).unwrap();
    refused(
        dir.path(),
        &LOADING,
        &["The file mod/res.tf could not be read: No such file or directory"],
    );
    five_in_state(dir.path());
}

#[test]
fn a_module_source_that_is_not_a_directory() {
    let dir = applied();
    std::fs::write(
        dir.path().join("main.tf"),
        "module \"m\" {\n  source = \"./mod\"\n}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("mod"), "").unwrap();
    refused(
        dir.path(),
        &LOADING,
        &[
            "Module source is not a directory",
            "The module source mod is a regular file, not a directory",
            "main.tf:2",
        ],
    );
    std::fs::remove_file(dir.path().join("mod")).unwrap();
    symlink("mod", dir.path().join("mod")).unwrap();
    refused(
        dir.path(),
        &LOADING,
        &[
            "Failed to read module directory",
            "The directory mod could not be read: Too many levels of symbolic links",
        ],
    );
    std::fs::remove_file(dir.path().join("mod")).unwrap();
    refused(
        dir.path(),
        &LOADING,
        &[
            "Module not found",
            "The module directory mod does not exist",
        ],
    );
    five_in_state(dir.path());
}

const WITH_VAR: &str = r#"
variable "n" {
  type    = number
  default = 5
}

resource "plinth_data" "x" {
  count = var.n
  input = count.index
}
"#;

#[test]
fn unreadable_variables_files() {
    let dir = stack(&[("res.tf", WITH_VAR)]);
    assert_eq!(plinth(dir.path(), &["apply", "--auto-approve"]).code, 0);
    let path = dir.path();

    symlink("gone.tfvars", path.join("terraform.tfvars")).unwrap();
    refused(
        path,
        &LOADING,
        &["The file terraform.tfvars could not be read: No such file or directory"],
    );
    std::fs::remove_file(path.join("terraform.tfvars")).unwrap();

    std::fs::create_dir(path.join("terraform.tfvars.json")).unwrap();
    refused(
        path,
        &LOADING,
        &["terraform.tfvars.json could not be read: not a regular file (a directory)"],
    );
    std::fs::remove_dir(path.join("terraform.tfvars.json")).unwrap();

    mkfifo(&path.join("more.auto.tfvars"));
    refused(
        path,
        &LOADING,
        &["more.auto.tfvars could not be read: not a regular file (a named pipe)"],
    );
    std::fs::remove_file(path.join("more.auto.tfvars")).unwrap();

    symlink("loop.tfvars", path.join("loop.tfvars")).unwrap();
    let loop_file = path.join("loop.tfvars");
    let loop_file = loop_file.to_str().unwrap();
    refused(
        path,
        &[
            &["validate", "--var-file", loop_file],
            &["plan", "--var-file", loop_file],
            &["apply", "--auto-approve", "--var-file", loop_file],
        ],
        &[
            "Failed to read file",
            "loop.tfvars could not be read: Too many levels of symbolic links",
        ],
    );
    let missing = path.join("missing.tfvars");
    let missing = missing.to_str().unwrap();
    refused(
        path,
        &[&["plan", "--var-file", missing]],
        &[
            "Failed to read variables file",
            "missing.tfvars does not exist",
        ],
    );
    five_in_state(path);
}

#[test]
fn a_dangling_lock_file_is_not_an_empty_lock() {
    let dir = applied();
    symlink("gone.hcl", dir.path().join(".plinth.lock.hcl")).unwrap();
    refused(
        dir.path(),
        &[&["init"]],
        &["The file .plinth.lock.hcl could not be read: No such file or directory"],
    );
    five_in_state(dir.path());
}
