//! Addresses as the command line and the JSON plan give them: read in Terraform's
//! syntax (keys with dots and brackets inside quotes), refused with a reason when
//! malformed, and taken apart by their parts, never by their text.

use crate::common;

use common::{plinth, stack};
use serde_json::Value;

fn pools() -> tempfile::TempDir {
    stack(&[
        (
            "main.tf",
            r#"
module "pool" {
  source   = "./pool"
  for_each = toset(["a", "b]"])
  name     = each.key
}
resource "terraform_data" "tagged" {
  for_each = { "x.y" = 1, "z" = 2 }
  input    = each.value
}
"#,
        ),
        (
            "pool/main.tf",
            "variable \"name\" {}\nresource \"terraform_data\" \"node\" {\n  input = var.name\n}\n",
        ),
    ])
}

#[test]
fn the_json_plan_gives_module_address_and_index_from_the_address_parts() {
    let dir = pools();
    let run = plinth(dir.path(), &["plan", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: Value = serde_json::from_str(&run.stdout).expect("JSON plan");
    let changes = plan["resource_changes"]
        .as_array()
        .expect("resource_changes");
    let find = |address: &str| {
        changes
            .iter()
            .find(|c| c["address"] == address)
            .unwrap_or_else(|| panic!("no change for {address} in {changes:?}"))
    };
    let node = find("module.pool[\"b]\"].terraform_data.node");
    assert_eq!(node["module_address"], "module.pool[\"b]\"]");
    // The key belongs to the module call, not to the resource.
    assert!(node.get("index").is_none(), "{node}");
    assert_eq!(node["type"], "terraform_data");
    assert_eq!(node["name"], "node");
    let tagged = find("terraform_data.tagged[\"x.y\"]");
    assert_eq!(tagged["index"], "x.y");
    assert!(tagged.get("module_address").is_none(), "{tagged}");
}

#[test]
fn a_target_names_one_module_instance_by_its_key() {
    let dir = pools();
    let run = plinth(dir.path(), &["plan", "--target", "module.pool[\"b]\"]"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("# module.pool[\"b]\"].terraform_data.node will be created"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("module.pool[\"a\"]"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("terraform_data.tagged"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{}",
        run.stdout
    );
    let run = plinth(
        dir.path(),
        &["plan", "--target", "terraform_data.tagged[\"z\"]"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("Plan: 1 to add"), "{}", run.stdout);
}

#[test]
fn a_malformed_address_is_refused_with_the_reason() {
    let dir = pools();
    for (args, why) in [
        (
            vec!["plan", "--target", "module.pool[\"a\"].terraform_data"],
            "a resource address needs a type and a name",
        ),
        (
            vec!["plan", "--replace", "terraform_data.tagged.input"],
            "nothing may follow a resource instance",
        ),
        (
            vec!["plan", "--replace", "module.pool"],
            "a module address where a resource instance address is needed",
        ),
        (
            vec!["import", "terraform_data.x[var.k]", "id"],
            "a key must be a number or a quoted string",
        ),
    ] {
        let run = plinth(dir.path(), &args);
        assert_ne!(run.code, 0, "{args:?} was accepted");
        assert!(
            run.stderr.contains("invalid address"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(why), "{args:?}: {}", run.stderr);
    }
    assert!(
        !dir.path().join(".plinth").exists(),
        "a refused command wrote state"
    );
}

#[test]
fn a_saved_plan_with_an_address_that_does_not_read_is_refused() {
    let dir = pools();
    let d = dir.path();
    let run = plinth(d, &["plan", "--out", "p.plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(d.join("p.plan")).expect("plan file");
    let (_, body) = text.split_once('\n').expect("header");
    let body = body.replace(
        "\"terraform_data.tagged[\\\"z\\\"]\"",
        "\"terraform_data.tagged[z]\"",
    );
    assert!(body.contains("tagged[z]"), "the edit did not apply");
    std::fs::write(d.join("edited.plan"), common::signed_plan(&body)).expect("write");
    let run = plinth(d, &["apply", "edited.plan"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("is not a resource instance address"),
        "{}",
        run.stderr
    );
    assert!(
        !d.join(".plinth/workspaces").exists(),
        "a refused plan wrote state"
    );
}

/// Applies `before`, writes `after` (with its `moved` blocks), and returns the plan.
fn plan_after_move(before: &[(&str, &str)], after: &[(&str, &str)]) -> common::Run {
    let dir = stack(before);
    let d = dir.path();
    let run = plinth(d, &["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for (name, text) in after {
        let path = d.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let plan = plinth(d, &["plan", "--detailed-exitcode"]);
    // Keep the directory until the plan has run.
    drop(dir);
    plan
}

#[test]
fn moved_from_count_to_for_each_keeps_the_object() {
    let plan = plan_after_move(
        &[(
            "main.tf",
            "resource \"terraform_data\" \"x\" {\n  count = 1\n  input = \"a\"\n}\n",
        )],
        &[(
            "main.tf",
            "resource \"terraform_data\" \"x\" {\n  for_each = toset([\"a\"])\n  input    = each.key\n}\nmoved {\n  from = terraform_data.x[0]\n  to   = terraform_data.x[\"a\"]\n}\n",
        )],
    );
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("# terraform_data.x[0] has moved to terraform_data.x[\"a\"]"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("0 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
}

#[test]
fn moved_module_call_takes_everything_inside_it() {
    let child = "resource \"terraform_data\" \"n\" {\n  input = \"n\"\n}\n";
    let plan = plan_after_move(
        &[
            ("main.tf", "module \"old\" {\n  source = \"./m\"\n}\n"),
            ("m/main.tf", child),
        ],
        &[(
            "main.tf",
            "module \"new\" {\n  source = \"./m\"\n}\nmoved {\n  from = module.old\n  to   = module.new\n}\n",
        )],
    );
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("# module.old.terraform_data.n has moved to module.new.terraform_data.n"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("0 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
}
