//! Review bugs of issue 12, through the real binary: a huge `--lock-timeout` and a
//! prerelease offered for an exact version constraint.

use std::os::unix::fs::PermissionsExt;

use crate::common;

#[test]
fn a_huge_lock_timeout_is_an_error_not_a_panic() {
    let dir = common::main_tf("resource \"terraform_data\" \"a\" {}\n");
    for value in ["99999999999999999999h", "18446744073709551615m"] {
        let run = common::plinth(dir.path(), &["plan", "--lock-timeout", value]);
        // A usage error, which exits 1 as in Terraform.
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("invalid duration"), "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    let run = common::plinth(dir.path(), &["plan", "--lock-timeout", "1m30s"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn an_exact_constraint_does_not_install_a_prerelease() {
    let dir = common::main_tf(
        "terraform {\n  required_providers {\n    x = {\n      source  = \"acme/x\"\n      version = \"= 1.5.0\"\n    }\n  }\n}\nresource \"x_thing\" \"a\" {}\n",
    );
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).expect("plugin dir");
    let binary = plugins.join("terraform-provider-x_v1.5.0-beta");
    std::fs::write(&binary, "#!/bin/sh\nexit 1\n").expect("write binary");
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let run = common::plinth(
        dir.path(),
        &["init", "--plugin-dir", plugins.to_str().expect("path")],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("no executable for provider acme/x matching \"= 1.5.0\" was found"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("versions found: 1.5.0-beta"),
        "{}",
        run.stderr
    );
}
