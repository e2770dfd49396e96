//! `plinth validate` on broken stacks: each error is reported with its file, line and
//! column, a specific message and, where it helps, a hint; the exit code is 1; and
//! nothing is written to `.plinth/`.

use crate::common;

use common::{main_tf, plinth, stack, Run};

/// Runs validate, checks it failed without writing state, and returns its output.
fn fails(dir: &tempfile::TempDir) -> Run {
    let run = plinth(dir.path(), &["validate"]);
    assert_eq!(
        run.code, 1,
        "validate should fail:\n{}{}",
        run.stdout, run.stderr
    );
    assert!(
        !dir.path().join(".plinth").exists(),
        "a failing validate wrote .plinth/"
    );
    run
}

fn assert_has(run: &Run, needles: &[&str]) {
    for n in needles {
        assert!(run.stderr.contains(n), "missing {n:?} in:\n{}", run.stderr);
    }
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let dir = main_tf("locals {\n  a = 1\n  b = [1, 2\n}\n");
    let run = fails(&dir);
    assert_has(&run, &["Syntax error", "main.tf:4:1"]);
}

#[test]
fn syntax_errors_in_two_files_are_both_reported() {
    let dir = stack(&[
        ("a.tf", "locals { a = }\n"),
        ("b.tf", "variable \"x\" {\n  type = \n"),
    ]);
    let run = fails(&dir);
    assert_has(&run, &["a.tf:1:", "b.tf:"]);
    assert_eq!(
        run.stderr.matches("Syntax error").count(),
        2,
        "{}",
        run.stderr
    );
}

#[test]
fn undeclared_local_suggests_the_close_name() {
    let dir = main_tf("locals {\n  region = \"us-east-1\"\n  zone   = \"${local.regoin}a\"\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Reference to undeclared local value",
            "main.tf:3:15",
            "Did you mean \"region\"?",
        ],
    );
}

#[test]
fn undeclared_variable_suggests_the_close_name() {
    let dir =
        main_tf("variable \"cluster_name\" {}\noutput \"n\" {\n  value = var.clustername\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Reference to undeclared input variable",
            "main.tf:3:11",
            "Did you mean \"cluster_name\"?",
        ],
    );
}

#[test]
fn undeclared_resource_suggests_the_close_name() {
    let dir = main_tf(
        "resource \"terraform_data\" \"gpu_pool\" {}\noutput \"id\" {\n  value = terraform_data.gpu_pol.id\n}\n",
    );
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Reference to undeclared resource",
            "main.tf:3:11",
            "Did you mean \"terraform_data.gpu_pool\"?",
        ],
    );
}

#[test]
fn attribute_that_does_not_exist_on_an_object() {
    let dir = main_tf(
        "variable \"pool\" {\n  type    = object({ gpus = number })\n  default = { gpus = 8 }\n}\noutput \"n\" {\n  value = var.pool.gpu\n}\n",
    );
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Unsupported attribute",
            "main.tf:6:19",
            "Did you mean \"gpus\"?",
        ],
    );
}

#[test]
fn attribute_that_does_not_exist_on_a_resource_schema() {
    let dir = main_tf("resource \"terraform_data\" \"x\" {}\noutput \"n\" {\n  value = terraform_data.x.ouput\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Unsupported attribute",
            "main.tf:3:27",
            "Did you mean \"output\"?",
        ],
    );
}

#[test]
fn argument_that_does_not_exist_lists_valid_names() {
    let dir = main_tf("resource \"terraform_data\" \"x\" {\n  inptu = 1\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Unsupported argument",
            "main.tf:2:3",
            "Did you mean \"input\"?",
        ],
    );
}

#[test]
fn module_output_that_does_not_exist() {
    let dir = stack(&[
        ("main.tf", "module \"pool\" {\n  source = \"./pool\"\n}\noutput \"x\" {\n  value = module.pool.nmae\n}\n"),
        ("pool/main.tf", "output \"name\" {\n  value = \"a100\"\n}\n"),
    ]);
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Unsupported attribute",
            "main.tf:5:11",
            "Did you mean \"name\"?",
        ],
    );
}

#[test]
fn default_that_does_not_match_the_type() {
    let dir = main_tf("variable \"gpus\" {\n  type    = number\n  default = \"eight\"\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Invalid default value for variable",
            "main.tf:3:13",
            "a number is required",
            "The type constraint is number",
        ],
    );
}

#[test]
fn nested_default_names_the_attribute() {
    let dir = main_tf(
        "variable \"pool\" {\n  type    = object({ gpus = number, name = string })\n  default = { gpus = \"x\", name = \"a\" }\n}\n",
    );
    let run = fails(&dir);
    assert_has(
        &run,
        &["main.tf:3:13", "attribute \"gpus\": a number is required"],
    );
}

#[test]
fn failing_validation_shows_the_users_message() {
    let dir = stack(&[
        (
            "main.tf",
            "variable \"replicas\" {\n  type = number\n  validation {\n    condition     = var.replicas > 0\n    error_message = \"Replicas must be positive.\"\n  }\n}\n",
        ),
        ("terraform.tfvars", "replicas = -2\n"),
    ]);
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Invalid value for variable",
            "Replicas must be positive.",
            "terraform.tfvars:1:12",
            "main.tf:4:21",
        ],
    );
}

#[test]
fn failing_validation_of_a_default() {
    let dir = main_tf(
        "variable \"tp\" {\n  default = 3\n  validation {\n    condition     = contains([1, 2, 4, 8], var.tp)\n    error_message = \"Tensor parallelism must be 1, 2, 4 or 8.\"\n  }\n}\n",
    );
    let run = fails(&dir);
    assert_has(
        &run,
        &["Tensor parallelism must be 1, 2, 4 or 8.", "main.tf:2:13"],
    );
}

#[test]
fn cycle_shows_every_edge() {
    let dir = main_tf("locals {\n  a = local.b\n  b = local.c + 1\n  c = local.a\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Cycle in the dependency graph",
            "local.a → local.b → local.c → local.a",
            "main.tf:2:7",
            "local.b refers to local.c",
            "local.c refers to local.a",
        ],
    );
    // Each edge's location is shown in the snippet.
    for line in ["  a = local.b", "  b = local.c + 1", "  c = local.a"] {
        assert!(
            run.stderr.contains(line),
            "edge {line:?} not shown:\n{}",
            run.stderr
        );
    }
}

#[test]
fn cycle_across_files_shows_every_edge() {
    let dir = stack(&[
        (
            "a.tf",
            "resource \"terraform_data\" \"a\" {\n  input = terraform_data.b.output\n}\n",
        ),
        (
            "b.tf",
            "resource \"terraform_data\" \"b\" {\n  input = terraform_data.a.output\n}\n",
        ),
    ]);
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Cycle in the dependency graph",
            "a.tf:2:11",
            "b.tf:2:",
            "terraform_data.b refers to terraform_data.a",
        ],
    );
}

#[test]
fn self_reference_is_a_cycle() {
    let dir = main_tf("locals {\n  a = local.a\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Cycle in the dependency graph",
            "local.a → local.a",
            "main.tf:2:7",
        ],
    );
}

#[test]
fn duplicated_resource_address() {
    let dir = stack(&[
        ("a.tf", "resource \"terraform_data\" \"x\" {}\n"),
        ("b.tf", "\n\nresource \"terraform_data\" \"x\" {}\n"),
    ]);
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Duplicate resource \"terraform_data\" configuration",
            "b.tf:3:1",
            "already declared at a.tf:1:1",
        ],
    );
}

#[test]
fn count_and_for_each_together() {
    let dir = main_tf(
        "resource \"terraform_data\" \"x\" {\n  count    = 2\n  for_each = toset([\"a\"])\n}\n",
    );
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Invalid combination of \"count\" and \"for_each\"",
            "main.tf:2:3",
            "for_each is also set here",
        ],
    );
}

#[test]
fn every_error_of_a_run_is_reported() {
    let dir = stack(&[
        ("main.tf", "locals {\n  a = local.nope\n  b = var.nope\n}\nresource \"terraform_data\" \"x\" {\n  count    = 1\n  for_each = {}\n}\n"),
        ("broken.tf", "locals {\n"),
    ]);
    let run = fails(&dir);
    assert_has(
        &run,
        &["main.tf:2:7", "main.tf:3:7", "main.tf:6:3", "broken.tf:"],
    );
    assert!(run.stderr.contains("4 errors found."), "{}", run.stderr);
}

#[test]
fn json_diagnostics_carry_ranges() {
    let dir = main_tf("locals {\n  a = local.b\n}\n");
    let run = plinth(dir.path(), &["validate", "--json"]);
    assert_eq!(run.code, 1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json output");
    assert_eq!(json["valid"], false);
    assert_eq!(json["error_count"], 1);
    let d = &json["diagnostics"][0];
    assert_eq!(d["summary"], "Reference to undeclared local value");
    assert_eq!(d["range"]["filename"], "main.tf");
    assert_eq!(d["range"]["start"]["line"], 2);
    assert_eq!(d["range"]["start"]["column"], 7);
}

#[test]
fn wrong_type_in_an_operator_names_the_operand() {
    let dir = main_tf("locals {\n  a = \"x\" + 1\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &["Invalid operand", "main.tf:2:7", "a number is required"],
    );
}

#[test]
fn unknown_block_type_suggests_the_close_one() {
    let dir = main_tf("resouce \"terraform_data\" \"x\" {}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Unsupported block type",
            "main.tf:1:1",
            "Did you mean \"resource\"?",
        ],
    );
}

#[test]
fn unknown_type_keyword_suggests_the_close_one() {
    let dir = main_tf("variable \"x\" {\n  type = strng\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Invalid type specification",
            "main.tf:2:10",
            "Did you mean \"string\"?",
        ],
    );
}

#[test]
fn bad_var_on_the_command_line_is_rejected() {
    let dir = main_tf("variable \"gpus\" {\n  type = number\n}\n");
    let run = plinth(dir.path(), &["validate", "--var", "gpus=many"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Invalid value for input variable"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("a number is required"),
        "{}",
        run.stderr
    );
}

#[test]
fn module_missing_input_and_unknown_input() {
    let dir = stack(&[
        (
            "main.tf",
            "module \"pool\" {\n  source = \"./pool\"\n  gpu_count = 8\n}\n",
        ),
        ("pool/main.tf", "variable \"gpus\" {}\n"),
    ]);
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Unsupported argument",
            "main.tf:3:3",
            "Missing required argument",
            "\"gpus\"",
        ],
    );
}

#[test]
fn for_each_over_a_list_is_rejected_with_a_hint() {
    let dir = main_tf("resource \"terraform_data\" \"x\" {\n  for_each = [\"a\", \"b\"]\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &["Invalid for_each argument", "main.tf:2:14", "toset()"],
    );
}

#[test]
fn sensitive_output_must_be_marked() {
    let dir = main_tf(
        "variable \"token\" {\n  default   = \"s3cr3t\"\n  sensitive = true\n}\noutput \"t\" {\n  value = \"Bearer ${var.token}\"\n}\n",
    );
    let run = fails(&dir);
    assert_has(&run, &["Output refers to sensitive values", "main.tf:6:11"]);
    assert!(
        !run.stderr.contains("s3cr3t"),
        "the secret was printed:\n{}",
        run.stderr
    );
}

#[test]
fn absurd_count_fails_fast() {
    let dir = main_tf("resource \"terraform_data\" \"x\" {\n  count = 1e9\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &["Invalid count argument", "main.tf:2:11", "limit of 100000"],
    );
}

#[test]
fn negative_and_fractional_count() {
    let dir = main_tf("resource \"terraform_data\" \"x\" {\n  count = -1\n}\nresource \"terraform_data\" \"y\" {\n  count = 1.5\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "main.tf:2:11",
            "greater than or equal to zero",
            "main.tf:5:11",
            "whole number",
        ],
    );
}

#[test]
fn moved_from_an_object_that_still_exists() {
    let dir = main_tf("resource \"terraform_data\" \"old\" {}\nresource \"terraform_data\" \"new\" {}\nmoved {\n  from = terraform_data.old\n  to   = terraform_data.new\n}\n");
    let run = fails(&dir);
    assert_has(&run, &["Moved object still exists", "main.tf:4:10"]);
}

#[test]
fn import_into_an_undeclared_resource() {
    let dir = main_tf("resource \"aws_s3_bucket\" \"weights\" {}\nimport {\n  to = aws_s3_bucket.weigths\n  id = \"llm-weights\"\n}\n");
    let run = fails(&dir);
    assert_has(
        &run,
        &[
            "Configuration for import target does not exist",
            "main.tf:3:8",
            "Did you mean \"aws_s3_bucket.weights\"?",
        ],
    );
}

/// As in Terraform, validate checks a child module for any input of its variables'
/// types, not for the values one caller passes: `coalescelist([])` or an index into
/// an empty list given by the caller is not an error there, while a value of the
/// wrong type still is (both checked against Terraform v1.0.3's validate).
#[test]
fn validate_treats_module_inputs_as_unknowns_of_their_types() {
    let module = "variable \"items\" {\n  type = list(string)\n}\noutput \"first\" {\n  value = coalescelist(var.items)\n}\noutput \"one\" {\n  value = element(var.items, 0)\n}\n";
    let terraform = crate::json_plan::terraform_binary();
    for (items, valid) in [("[]", true), ("{ a = {} }", false)] {
        let main = format!("module \"m\" {{\n  source = \"./mod\"\n  items  = {items}\n}}\n");
        let dir = common::stack(&[("main.tf", &main), ("mod/main.tf", module)]);
        let ours = common::plinth(dir.path(), &["validate"]);
        let init = std::process::Command::new(&terraform)
            .args(["init", "-backend=false", "-no-color"])
            .current_dir(dir.path())
            .output()
            .expect("terraform init");
        assert!(init.status.success());
        let theirs = std::process::Command::new(&terraform)
            .args(["validate", "-no-color"])
            .current_dir(dir.path())
            .output()
            .expect("terraform validate");
        assert_eq!(theirs.status.success(), valid, "terraform on {items}");
        assert_eq!(ours.code == 0, valid, "plinth on {items}: {}", ours.stderr);
        if !valid {
            assert!(
                ours.stderr.contains("Invalid value for input variable")
                    && ours.stderr.contains("main.tf:3"),
                "{}",
                ours.stderr
            );
        }
    }
    // plan still evaluates what the caller passes.
    let dir = common::stack(&[
        (
            "main.tf",
            "module \"m\" {\n  source = \"./mod\"\n  items  = []\n}\n",
        ),
        ("mod/main.tf", module),
    ]);
    let plan = common::plinth(dir.path(), &["plan"]);
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("coalescelist"), "{}", plan.stderr);
}
