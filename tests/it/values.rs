//! What validate computes: unknown values stay unknown and typed through every
//! expression form, sensitive values stay marked and are never printed, and `count`,
//! `for_each` and modules expand to Terraform's instance addresses.

use crate::common;

use common::{evaluate, main_tf, output, plinth, stack};
use plinth::lang::{Type, Value};

fn outputs_of(text: &str) -> plinth::stack::LoadedStack {
    let dir = main_tf(text);
    let s = evaluate(dir.path());
    assert!(!s.diagnostics.has_errors(), "{:?}", s.diagnostics);
    s
}

#[test]
fn interpolating_an_unknown_attribute_is_an_unknown_string() {
    let s = outputs_of(
        r#"
resource "aws_instance" "x" {
  ami = "ami-123"
}
output "name" {
  value = "${aws_instance.x.id}-suffix"
}
"#,
    );
    assert_eq!(output(&s, "name"), Value::Unknown(Type::String));
}

#[test]
fn length_of_a_list_with_unknown_elements_is_known() {
    let s = outputs_of(
        r#"
resource "aws_instance" "x" {}
output "n" {
  value = length([aws_instance.x.id, "b", aws_instance.x.arn])
}
"#,
    );
    assert_eq!(output(&s, "n"), Value::number(3));
}

#[test]
fn conditional_on_an_unknown_is_unknown_of_the_unified_type() {
    let s = outputs_of(
        r#"
resource "aws_instance" "x" {}
output "c" {
  value = aws_instance.x.public ? 1 : "two"
}
output "known" {
  value = true ? 1 : "two"
}
"#,
    );
    assert_eq!(output(&s, "c"), Value::Unknown(Type::String));
    assert_eq!(output(&s, "known"), Value::string("1"));
}

#[test]
fn unknown_flows_through_operators_for_and_splat() {
    let s = outputs_of(
        r#"
resource "aws_instance" "x" {}
locals {
  u = aws_instance.x.size
}
output "sum"    { value = local.u + 1 }
output "cmp"    { value = local.u > 1 }
output "not"    { value = !local.u }
output "for"    { value = [for v in local.u : v] }
output "forin"  { value = [for v in [1, local.u] : v * 2] }
output "splat"  { value = local.u[*].id }
output "index"  { value = [1, 2][local.u] }
output "eq"     { value = local.u == "a" }
"#,
    );
    assert_eq!(output(&s, "sum"), Value::Unknown(Type::Number));
    assert_eq!(output(&s, "cmp"), Value::Unknown(Type::Bool));
    assert_eq!(output(&s, "not"), Value::Unknown(Type::Bool));
    assert_eq!(output(&s, "for"), Value::unknown());
    assert_eq!(
        output(&s, "forin"),
        Value::Tuple(vec![Value::number(2), Value::Unknown(Type::Number)])
    );
    assert!(!output(&s, "splat").is_known());
    assert!(!output(&s, "index").is_known());
    assert_eq!(output(&s, "eq"), Value::Unknown(Type::Bool));
}

#[test]
fn sensitive_stays_marked_through_templates_and_for_expressions() {
    let s = outputs_of(
        r#"
variable "token" {
  default   = "s3cr3t"
  sensitive = true
}
locals {
  header  = "Bearer ${var.token}"
  headers = [for h in ["a", "b"] : "${h}: ${var.token}"]
  upper   = upper(var.token)
  len     = length(var.token)
}
output "header" {
  value     = local.header
  sensitive = true
}
"#,
    );
    let root = s.evaluation.root().expect("root values");
    assert!(root.locals["header"].is_sensitive());
    assert!(root.locals["upper"].is_sensitive());
    assert!(root.locals["len"].is_sensitive());
    let headers = &root.locals["headers"];
    assert!(headers.contains_sensitive());
    assert!(headers
        .elements()
        .expect("tuple")
        .iter()
        .all(|v| v.is_sensitive()));
    assert_eq!(root.locals["header"].render(), "(sensitive value)");
    assert_eq!(
        headers.render(),
        "[\n  (sensitive value),\n  (sensitive value),\n]"
    );
    assert!(!format!("{:?}", output(&s, "header").render()).contains("s3cr3t"));
}

#[test]
fn sensitive_collection_marks_a_for_expression_result() {
    let s = outputs_of(
        r#"
variable "keys" {
  type      = list(string)
  default   = ["a", "b"]
  sensitive = true
}
locals {
  upper = [for k in var.keys : upper(k)]
}
"#,
    );
    assert!(s.evaluation.root().expect("root").locals["upper"].is_sensitive());
}

#[test]
fn numbers_keep_terraforms_precision() {
    let s = outputs_of(
        r#"
output "big"  { value = 9223372036854775807 + 1 }
output "dec"  { value = 0.1 + 0.2 }
output "str"  { value = "v${10 / 4}" }
output "bare" { value = "${10 / 4}" }
"#,
    );
    assert_eq!(output(&s, "big").render(), "9223372036854775808");
    assert_eq!(output(&s, "dec").render(), "0.3");
    assert_eq!(output(&s, "str"), Value::string("v2.5"));
    // A template that is a single interpolation yields the value itself.
    assert_eq!(output(&s, "bare").render(), "2.5");
}

#[test]
fn expressions_match_terraform() {
    // Each expected value was produced by `terraform console` (v1.0.3).
    let s = outputs_of(
        r#"
locals {
  names = ["a", "b"]
}
output "t1"     { value = "x %{ if true }yes%{ else }no%{ endif } y" }
output "t2"     { value = "[%{ for i, n in local.names ~}  ${i}=${n}  %{~ endfor ~}  ]" }
output "t3" {
  value = <<EOT
  keep ${"indent"}
EOT
}
output "t4"     { value = "%{ if false ~}   a   %{~ else ~}   b   %{~ endif ~}   c" }
output "t5"     { value = "$${literal} %%{literal}" }
output "splat"  { value = [{ id = 1 }, { id = 2 }][*].id }
output "splat2" { value = { id = 3 }[*].id }
output "splat3" { value = [[1, 2], [3, 4]][*][0] }
output "group"  { value = { for s in ["aa", "ab", "b"] : substr_key(s) => s... } }
"#
        .replace("substr_key(s)", "length(s)")
        .as_str(),
    );
    assert_eq!(output(&s, "t1"), Value::string("x yes y"));
    assert_eq!(output(&s, "t2"), Value::string("[0=a1=b]"));
    assert_eq!(output(&s, "t3"), Value::string("  keep indent\n"));
    assert_eq!(output(&s, "t4"), Value::string("bc"));
    assert_eq!(output(&s, "t5"), Value::string("${literal} %{literal}"));
    assert_eq!(output(&s, "splat").render(), "[\n  1,\n  2,\n]");
    assert_eq!(output(&s, "splat2").render(), "[\n  3,\n]");
    assert_eq!(output(&s, "splat3").render(), "[\n  1,\n  3,\n]");
    assert_eq!(
        output(&s, "group").render(),
        "{\n  \"1\" = [\n    \"b\",\n  ]\n  \"2\" = [\n    \"aa\",\n    \"ab\",\n  ]\n}"
    );
}

#[test]
fn variable_precedence_follows_terraform() {
    let dir = stack(&[
        (
            "main.tf",
            r#"
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
variable "pools" {
  type    = list(number)
  default = []
}
output "all" { value = [var.a, var.b, var.c, var.d, var.e] }
output "pools" { value = var.pools }
"#,
        ),
        (
            "terraform.tfvars",
            "b = \"tfvars\"\nc = \"tfvars\"\nd = \"tfvars\"\ne = \"tfvars\"\n",
        ),
        (
            "x.auto.tfvars",
            "c = \"auto\"\nd = \"auto\"\ne = \"auto\"\n",
        ),
        ("extra.tfvars", "d = \"var-file\"\ne = \"var-file\"\n"),
    ]);
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.path().to_str().expect("path"), "validate"])
        .args([
            "--var-file",
            "extra.tfvars",
            "--var",
            "e=cli",
            "--var",
            "pools=[1, 2]",
        ])
        .env("TF_VAR_a", "env")
        .env("TF_VAR_b", "env")
        .output()
        .expect("run");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let options = plinth::stack::StackOptions {
        vars: vec![
            plinth::config::vars::VarArg::File(dir.path().join("extra.tfvars")),
            plinth::config::vars::VarArg::Var("e=cli".into()),
            plinth::config::vars::VarArg::Var("pools=[1, 2]".into()),
        ],
        env: vec![
            ("TF_VAR_a".into(), "env".into()),
            ("TF_VAR_b".into(), "env".into()),
        ],
        ..Default::default()
    };
    let s = plinth::stack::load_and_evaluate(dir.path(), &options);
    assert!(!s.diagnostics.has_errors(), "{:?}", s.diagnostics);
    let all: Vec<String> = output(&s, "all")
        .elements()
        .expect("tuple")
        .iter()
        .map(|v| v.as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(all, ["env", "tfvars", "auto", "var-file", "cli"]);
    assert_eq!(output(&s, "pools").render(), "tolist([\n  1,\n  2,\n])");
}

#[test]
fn plinth_var_wins_over_tf_var() {
    let dir = main_tf("variable \"a\" {}\noutput \"a\" { value = var.a }\n");
    let options = plinth::stack::StackOptions {
        env: vec![
            ("PLINTH_VAR_a".into(), "plinth".into()),
            ("TF_VAR_a".into(), "tf".into()),
        ],
        ..Default::default()
    };
    let s = plinth::stack::load_and_evaluate(dir.path(), &options);
    assert_eq!(output(&s, "a"), Value::string("plinth"));
}

#[test]
fn count_and_for_each_expand_to_terraform_addresses() {
    let dir = stack(&[
        (
            "main.tf",
            r#"
module "pool" {
  source   = "./pool"
  for_each = { a100 = 8, h100 = 4 }
  gpus     = each.value
  name     = each.key
}
output "gpus" {
  value = { for k, m in module.pool : k => m.total }
}
"#,
        ),
        (
            "pool/main.tf",
            r#"
variable "gpus" { type = number }
variable "name" { type = string }
resource "terraform_data" "node" {
  count = 2
  input = "${var.name}-${count.index}"
}
output "total" { value = var.gpus * 2 }
"#,
        ),
    ]);
    let s = evaluate(dir.path());
    assert!(!s.diagnostics.has_errors(), "{:?}", s.diagnostics);
    let addresses: Vec<String> = s
        .evaluation
        .resource_configs
        .keys()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(
        addresses,
        [
            "module.pool[\"a100\"].terraform_data.node[0]",
            "module.pool[\"a100\"].terraform_data.node[1]",
            "module.pool[\"h100\"].terraform_data.node[0]",
            "module.pool[\"h100\"].terraform_data.node[1]",
        ]
    );
    let node =
        plinth::addrs::ResourceInstance::parse("module.pool[\"h100\"].terraform_data.node[1]");
    let cfg = &s.evaluation.resource_configs[&node.expect("address")];
    assert_eq!(cfg.render(), "{\n  \"input\" = \"h100-1\"\n}");
    assert_eq!(
        output(&s, "gpus").render(),
        "{\n  \"a100\" = 16\n  \"h100\" = 8\n}"
    );
}

#[test]
fn dynamic_blocks_expand_with_their_iterator() {
    let dir = main_tf(
        r#"
variable "ports" { default = [80, 443] }
resource "aws_security_group" "web" {
  name = "web"
  dynamic "ingress" {
    for_each = var.ports
    iterator = port
    content {
      from_port = port.value
      to_port   = port.value
      index     = port.key
    }
  }
  dynamic "egress" {
    for_each = { all = "0.0.0.0/0" }
    content {
      cidr = egress.value
      name = egress.key
    }
  }
}
"#,
    );
    let s = evaluate(dir.path());
    assert!(!s.diagnostics.has_errors(), "{:?}", s.diagnostics);
    let cfg = &s.evaluation.resource_configs
        [&plinth::addrs::ResourceInstance::parse("aws_security_group.web").expect("address")];
    let json = cfg.to_json();
    assert_eq!(json["ingress"][1]["from_port"], 443);
    assert_eq!(json["ingress"][1]["index"], 1);
    assert_eq!(json["egress"][0]["name"], "all");
    assert_eq!(json["name"], "web");
}

#[test]
fn path_and_workspace_are_known() {
    let dir = stack(&[
        ("main.tf", "module \"m\" {\n  source = \"./mods/m\"\n}\noutput \"p\" { value = module.m.p }\noutput \"w\" { value = terraform.workspace }\noutput \"r\" { value = path.module }\n"),
        ("mods/m/main.tf", "output \"p\" { value = path.module }\n"),
    ]);
    let s = evaluate(dir.path());
    assert_eq!(output(&s, "p"), Value::string("mods/m"));
    assert_eq!(output(&s, "r"), Value::string("."));
    assert_eq!(output(&s, "w"), Value::string("default"));
}

#[test]
fn validate_succeeds_and_prints_so() {
    let dir = main_tf("locals { a = 1 }\n");
    let run = plinth(dir.path(), &["validate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("Success!"));
}

#[test]
fn flush_heredoc_with_strip_markers_differs_from_terraform() {
    // FIXME: Terraform v1.0.3 gives "    Hello     a\n    b\n\n" here: its flush
    // heredoc dedent and the `~` markers interact differently. This asserts today's
    // (dedented) result so a change is noticed.
    let s = outputs_of(
        "locals {\n  names = [\"a\", \"b\"]\n}\noutput \"g\" {\n  value = <<-EOT\n    Hello %{ for n in local.names ~}\n    ${n}\n    %{~ endfor }\n  EOT\n}\n",
    );
    assert_eq!(output(&s, "g"), Value::string("Hello ab\n"));
    // FIXME: Terraform dedents lines inside directive bodies too: "\n- a\n\n- b\n\n".
    let s = outputs_of(
        "locals {\n  names = [\"a\", \"b\"]\n}\noutput \"g\" {\n  value = <<-EOT\n    %{ for n in local.names }\n    - ${n}\n    %{ endfor }\n  EOT\n}\n",
    );
    assert_eq!(
        output(&s, "g"),
        Value::string("\n    - a\n    \n    - b\n    \n")
    );
}

/// One call per group of functions, given an unknown argument and then a sensitive
/// one: the result is unknown in the first case and marked sensitive in the second.
#[test]
fn every_function_group_propagates_unknown_and_sensitive() {
    let calls = [
        ("numeric", "ceil(X)", "1.5"),
        ("numeric", "parseint(X, 16)", "\"ff\""),
        ("string", "upper(X)", "\"a\""),
        ("string", "substr(X, 0, 1)", "\"ab\""),
        ("string", "regexall(\"[a-z]\", X)", "\"ab\""),
        ("string", "format(\"%s!\", X)", "\"a\""),
        ("collection", "sort(X)", "[\"b\", \"a\"]"),
        ("collection", "setunion(X, [\"z\"])", "[\"a\"]"),
        ("collection", "length(X)", "\"abc\""),
        ("encoding", "base64encode(X)", "\"a\""),
        ("encoding", "jsondecode(X)", "\"[1]\""),
        ("encoding", "jsonencode(X)", "\"a\""),
        ("hash", "sha256(X)", "\"a\""),
        ("filesystem", "basename(X)", "\"a/b\""),
        ("network", "cidrhost(X, 1)", "\"10.0.0.0/24\""),
        ("conversion", "tostring(X)", "1"),
    ];
    let mut text = String::from("variable \"u\" {}\n");
    for (i, (_, call, value)) in calls.iter().enumerate() {
        text.push_str(&format!(
            "variable \"s{i}\" {{\n  default   = {value}\n  sensitive = true\n}}\noutput \"u{i}\" {{\n  value = {}\n}}\noutput \"s{i}\" {{\n  value     = {}\n  sensitive = true\n}}\n",
            call.replace('X', "var.u"),
            call.replace('X', &format!("var.s{i}")),
        ));
    }
    let stack = outputs_of(&text);
    assert!(!stack.diagnostics.has_errors(), "{:?}", stack.diagnostics);
    for (i, (group, call, _)) in calls.iter().enumerate() {
        let unknown = common::output(&stack, &format!("u{i}"));
        assert!(
            !unknown.is_known(),
            "{group}: {call} of an unknown is {unknown:?}"
        );
        let marked = common::output(&stack, &format!("s{i}"));
        assert!(
            marked.is_sensitive() && marked.is_known(),
            "{group}: {call} of a sensitive value is {marked:?}"
        );
    }
}

/// Expected values recorded from Terraform v1.0.3 on the same files.
#[test]
fn templatefile_renders_as_terraform_does() {
    let dir = stack(&[
        (
            "t.tpl",
            "Hello, ${name}!\n%{ for ip in addrs ~}\nbackend ${ip}:${port}\n%{ endfor ~}\n%{ if length(addrs) > 1 }many%{ else }one%{ endif }\n",
        ),
        (
            "main.tf",
            "output \"a\" {\n  value = templatefile(\"${path.module}/t.tpl\", { name = \"world\", addrs = [\"10.0.0.1\", \"10.0.0.2\"], port = 8080 })\n}\noutput \"b\" {\n  value = templatefile(\"${path.module}/t.tpl\", { name = \"x\", addrs = [], port = 1 })\n}\n",
        ),
    ]);
    let run = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: serde_json::Value =
        serde_json::from_str(&plinth(dir.path(), &["output", "--json"]).stdout).expect("json");
    assert_eq!(
        out["a"]["value"],
        "Hello, world!\nbackend 10.0.0.1:8080\nbackend 10.0.0.2:8080\nmany\n"
    );
    assert_eq!(out["b"]["value"], "Hello, x!\none\n");

    let missing = main_tf("output \"a\" {\n  value = templatefile(\"nope.tpl\", {})\n}\n");
    let run = plinth(missing.path(), &["validate"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("templatefile()"), "{}", run.stderr);
    assert!(run.stderr.contains("main.tf:2"), "{}", run.stderr);
}

/// Expected values recorded from Terraform v1.0.3 on the same tree.
#[test]
fn fileset_matches_as_terraform_does() {
    let dir = stack(&[
        ("files/a.txt", ""),
        ("files/b.md", ""),
        ("files/.hidden", ""),
        ("files/sub/c.txt", ""),
        ("files/sub/deep/d.txt", ""),
        ("files/other/e.txt", ""),
        (
            "main.tf",
            "output \"a\" {\n  value = fileset(path.module, \"files/*.txt\")\n}\noutput \"b\" {\n  value = fileset(\"files\", \"**/*.txt\")\n}\noutput \"c\" {\n  value = fileset(\"files\", \"{sub,other}/*\")\n}\noutput \"d\" {\n  value = fileset(\"files\", \"*\")\n}\noutput \"e\" {\n  value = fileset(\"files\", \"?.md\")\n}\noutput \"f\" {\n  value = fileset(\"files\", \"**\")\n}\noutput \"g\" {\n  value = fileset(\"files\", \"[ab].*\")\n}\noutput \"h\" {\n  value = fileset(\"files\", \"nothing*\")\n}\n",
        ),
    ]);
    assert_eq!(plinth(dir.path(), &["apply", "--auto-approve"]).code, 0);
    let out: serde_json::Value =
        serde_json::from_str(&plinth(dir.path(), &["output", "--json"]).stdout).expect("json");
    let expect = serde_json::json!({
        "a": ["files/a.txt"],
        "b": ["a.txt", "other/e.txt", "sub/c.txt", "sub/deep/d.txt"],
        "c": ["other/e.txt", "sub/c.txt"],
        "d": [".hidden", "a.txt", "b.md"],
        "e": ["b.md"],
        "f": [".hidden", "a.txt", "b.md", "other/e.txt", "sub/c.txt", "sub/deep/d.txt"],
        "g": ["a.txt", "b.md"],
        "h": [],
    });
    for (k, v) in expect.as_object().expect("object") {
        assert_eq!(&out[k]["value"], v, "fileset output {k}");
    }
}
