//! The provider binary as a program: run by hand it says it is a plugin; offered only
//! protocol 5 it says it needs 6. (The resources are tested against moto, driven by
//! plinth, in the workspace's tests/aws_platform.rs; building this test also builds the
//! binary those tests run.)

use std::process::Command;

#[test]
fn run_by_hand_it_says_it_is_a_plugin() {
    let out = Command::new(env!("CARGO_BIN_EXE_terraform-provider-aws"))
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .expect("run the provider");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("This binary is a plugin"));
}

#[test]
fn it_speaks_protocol_6_only() {
    let out = Command::new(env!("CARGO_BIN_EXE_terraform-provider-aws"))
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .output()
        .expect("run the provider");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol 6"));
}
