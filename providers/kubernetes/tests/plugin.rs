//! The provider binary as a program: run by hand it says it is a plugin. (Its resources
//! are tested against kmock, driven by plinth and by Terraform, in the workspace's
//! tests/it/kubernetes.rs and llm_service.rs; building this test also builds the binary
//! those tests run, with the workspace's features.)

use std::process::Command;

#[test]
fn run_by_hand_it_says_it_is_a_plugin() {
    let out = Command::new(env!("CARGO_BIN_EXE_terraform-provider-kubernetes"))
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .expect("run the provider");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("This binary is a plugin"));
}
