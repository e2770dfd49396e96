//! plinth's JSON plan and JSON state against Terraform v1.0.3's, key by key, for the
//! same stack and the same provider binary (plinth/local): a first plan (root
//! resources, a child module with `for_each` and `count`, variables, a sensitive value,
//! outputs, a data source read at plan time), the state after applying it, and a
//! second plan that replaces (a changed argument, `--replace`) and deletes.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as J;

use common::{local_provider_dir, Run};

const MAIN: &str = r#"terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}

variable "greeting" {
  type    = string
  default = "hello"
}

variable "secret" {
  type      = string
  sensitive = true
  default   = "s3cret"
}

data "local_file" "seed" {
  filename = "${path.module}/seed.txt"
}

resource "local_file" "root" {
  filename = "${path.module}/out/root.txt"
  content  = "${var.greeting} ${data.local_file.seed.content}"
}

resource "local_sensitive_file" "secret" {
  filename = "${path.module}/out/secret.txt"
  content  = var.secret
}

module "files" {
  source = "./mod"
  names  = ["a", "b"]
  prefix = local_file.root.id
}

output "root_id" {
  value = local_file.root.id
}

output "secret" {
  value     = var.secret
  sensitive = true
}

output "files" {
  value = module.files.ids
}
"#;

const MODULE: &str = r#"terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}

variable "names" {
  type = list(string)
}

variable "prefix" {
  type = string
}

resource "local_file" "f" {
  for_each = toset(var.names)
  filename = "${path.module}/../out/${each.key}.txt"
  content  = "${var.prefix}-${each.value}"
}

resource "local_file" "n" {
  count    = 2
  filename = "${path.module}/../out/n${count.index}.txt"
  content  = "n${count.index}"
}

output "ids" {
  value = { for k, f in local_file.f : k => f.id }
}
"#;

/// Keys whose values are expected to differ: when, and which program and format.
const IGNORED: [&str; 4] = [
    "timestamp",
    "terraform_version",
    "format_version",
    "plinth_version",
];

/// Keys later Terraform releases added, which v1.0.3 does not write.
const NEWER: [&str; 6] = [
    "applyable",
    "complete",
    "errored",
    "full_name",
    "relevant_attributes",
    "checks",
];

/// Where two JSON documents differ: Terraform's (`theirs`) and plinth's (`ours`).
#[derive(Default, Debug)]
pub(crate) struct Comparison {
    /// `path: what differs`, for keys both have or only Terraform has.
    pub(crate) differences: Vec<String>,
    /// Paths of keys only plinth writes.
    pub(crate) only_ours: Vec<String>,
}

fn compare(theirs: &J, ours: &J, path: &str, out: &mut Comparison) {
    match (theirs, ours) {
        (J::Object(a), J::Object(b)) => {
            for (k, x) in a.iter().filter(|(k, _)| !IGNORED.contains(&k.as_str())) {
                match b.get(k) {
                    // Terraform writes a state's dependencies in no fixed order.
                    Some(y) if k == "depends_on" => {
                        compare(&sorted(x), &sorted(y), &format!("{path}.{k}"), out)
                    }
                    Some(y) => compare(x, y, &format!("{path}.{k}"), out),
                    None => out
                        .differences
                        .push(format!("{path}.{k}: only Terraform writes it ({x})")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                if !IGNORED.contains(&k.as_str()) {
                    out.only_ours.push(format!("{path}.{k}"));
                }
            }
        }
        (J::Array(a), J::Array(b)) if by_address(a) && by_address(b) => {
            let named = |items: &[J]| -> Vec<(String, J)> {
                items
                    .iter()
                    .map(|x| (x["address"].as_str().unwrap_or("").to_string(), x.clone()))
                    .collect()
            };
            let (a, b) = (named(a), named(b));
            for (address, x) in &a {
                match b.iter().find(|(n, _)| n == address) {
                    Some((_, y)) => compare(x, y, &format!("{path}[{address}]"), out),
                    None => out
                        .differences
                        .push(format!("{path}[{address}]: only Terraform has it")),
                }
            }
            for (address, _) in b.iter().filter(|(n, _)| !a.iter().any(|(m, _)| m == n)) {
                out.differences
                    .push(format!("{path}[{address}]: only plinth has it"));
            }
            let order = |v: &[(String, J)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
            let common = |v: &[(String, J)], other: &[(String, J)]| {
                order(v)
                    .into_iter()
                    .filter(|n| other.iter().any(|(m, _)| m == n))
                    .collect::<Vec<_>>()
            };
            if common(&a, &b) != common(&b, &a) {
                out.differences.push(format!(
                    "{path}: Terraform's order is {:?}, plinth's {:?}",
                    order(&a),
                    order(&b)
                ));
            }
        }
        (J::Array(a), J::Array(b)) => {
            if a.len() != b.len() {
                out.differences.push(format!(
                    "{path}: Terraform has {} elements, plinth {}",
                    a.len(),
                    b.len()
                ));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ if theirs == ours => {}
        _ => out
            .differences
            .push(format!("{path}: Terraform {theirs}, plinth {ours}")),
    }
}

fn sorted(v: &J) -> J {
    let mut items = v.as_array().cloned().unwrap_or_default();
    items.sort_by_key(|x| x.to_string());
    J::Array(items)
}

/// Whether an array lists things by address (resources, modules): those are
/// compared by address, so one missing does not shift all the others.
fn by_address(items: &[J]) -> bool {
    !items.is_empty() && items.iter().all(|x| x["address"].is_string())
}

pub(crate) fn comparison(theirs: &J, ours: &J) -> Comparison {
    let mut out = Comparison::default();
    compare(theirs, ours, "", &mut out);
    out
}

/// The keys only plinth writes that are not keys a later Terraform added.
pub(crate) fn unexpected(only_ours: &[String], allowed: &[&str]) -> Vec<String> {
    only_ours
        .iter()
        .filter(|p| {
            let key = p.rsplit('.').next().unwrap_or(p);
            !NEWER.contains(&key) && !allowed.iter().any(|a| p.ends_with(a))
        })
        .cloned()
        .collect()
}

pub(crate) fn terraform_binary() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/terraform-path");
    let out = Command::new(script).output().expect("run terraform-path");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn run(mut command: Command) -> Run {
    let out = command.output().expect("run");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run
}

struct Stacks {
    _dir: tempfile::TempDir,
    theirs: PathBuf,
    ours: PathBuf,
    cli_config: PathBuf,
    terraform: PathBuf,
    provider_dir: PathBuf,
}

impl Stacks {
    fn new() -> Stacks {
        let dir = tempfile::tempdir().expect("tempdir");
        let provider_dir = local_provider_dir();
        let mut made = Vec::new();
        for name in ["terraform", "plinth"] {
            let stack = dir.path().join(name);
            std::fs::create_dir_all(stack.join("mod")).expect("mkdir");
            std::fs::write(stack.join("main.tf"), MAIN).expect("main.tf");
            std::fs::write(stack.join("mod/main.tf"), MODULE).expect("mod/main.tf");
            std::fs::write(stack.join("seed.txt"), "seeded\n").expect("seed");
            made.push(stack);
        }
        let cli_config = dir.path().join("cli.tfrc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"plinth/local\" = {:?}\n  }}\n  direct {{}}\n}}\n",
                provider_dir.display().to_string()
            ),
        )
        .expect("cli config");
        let ours = made.pop().expect("plinth stack");
        let theirs = made.pop().expect("terraform stack");
        Stacks {
            _dir: dir,
            theirs,
            ours,
            cli_config,
            terraform: terraform_binary(),
            provider_dir,
        }
    }

    fn terraform(&self, args: &[&str]) -> Run {
        let mut c = Command::new(&self.terraform);
        c.args(args)
            .current_dir(&self.theirs)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1");
        run(c)
    }

    fn plinth(&self, args: &[&str]) -> Run {
        let mut c = Command::new(env!("CARGO_BIN_EXE_plinth"));
        c.args(["-C", self.ours.to_str().expect("path"), "--no-color"])
            .args(args)
            .env("PLINTH_PLUGIN_DIR", &self.provider_dir)
            .env("PLINTH_CACHE_DIR", self.ours.join(".cache"));
        run(c)
    }

    /// Both plans saved and shown as JSON: (Terraform's, plinth's).
    fn plans(&self, extra: &[&str], file: &str) -> (J, J) {
        let mut theirs: Vec<String> = vec!["plan".into(), "-no-color".into()];
        theirs.extend(extra.iter().map(|a| format!("-{a}")));
        theirs.push(format!("-out={file}"));
        ok(self.terraform(&theirs.iter().map(String::as_str).collect::<Vec<_>>()));
        let theirs = ok(self.terraform(&["show", "-json", file])).stdout;
        let mut ours: Vec<String> = vec!["plan".into()];
        ours.extend(extra.iter().map(|a| format!("--{a}")));
        ours.extend(["--out".into(), file.into()]);
        ok(self.plinth(&ours.iter().map(String::as_str).collect::<Vec<_>>()));
        let ours = ok(self.plinth(&["show", "--json", file])).stdout;
        (parse(&theirs), parse(&ours))
    }

    /// Changes both stacks' files the same way.
    fn edit(&self, file: &str, from: &str, to: &str) {
        for stack in [&self.theirs, &self.ours] {
            let path = stack.join(file);
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(text.contains(from), "{from:?} not in {file}");
            std::fs::write(&path, text.replace(from, to)).expect("write");
        }
    }
}

fn parse(text: &str) -> J {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

fn plinth_state(dir: &Path) -> J {
    let store = plinth::operation::Store::local(dir).expect("workspace");
    let state = store.read().expect("state");
    plinth::plan::json_state::document(&state)
}

#[test]
fn json_plans_and_state_match_terraforms_key_by_key() {
    let s = Stacks::new();
    ok(s.terraform(&["get", "-no-color"]));

    // A first plan: everything is created, the data source is read now.
    let (theirs, ours) = s.plans(&[], "first.tfplan");
    let first = comparison(&theirs, &ours);
    assert_eq!(first.differences, Vec::<String>::new(), "{first:#?}");
    assert_eq!(unexpected(&first.only_ours, &[]), Vec::<String>::new());
    assert_eq!(ours["format_version"], "1.2");
    assert_eq!(ours["applyable"], true);
    assert_eq!(ours["complete"], true);
    assert_eq!(ours["errored"], false);
    assert!(ours["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(
        ours["prior_state"]["values"]["root_module"]["resources"][0]["address"],
        "data.local_file.seed"
    );

    ok(s.terraform(&["apply", "-no-color", "first.tfplan"]));
    ok(s.plinth(&["apply", "first.tfplan"]));

    // The state after applying, in Terraform's JSON state shape.
    let theirs = parse(&ok(s.terraform(&["show", "-json"])).stdout);
    let ours = plinth_state(&s.ours);
    let state = comparison(&theirs, &ours);
    // The data source's last read is kept, as Terraform keeps it.
    assert_eq!(state.differences, Vec::<String>::new(), "{state:#?}");
    assert_eq!(unexpected(&state.only_ours, &[]), Vec::<String>::new());

    // A second plan: `content` changes (replace, with replace_paths), one instance
    // is replaced on request, one is deleted, outputs update or stay.
    s.edit("main.tf", "default = \"hello\"", "default = \"bye\"");
    s.edit("mod/main.tf", "count    = 2", "count    = 1");
    let (theirs, ours) = s.plans(&["replace=local_sensitive_file.secret"], "second.tfplan");
    let second = comparison(&theirs, &ours);
    assert_eq!(second.differences, Vec::<String>::new(), "{second:#?}");
    // Terraform 1.2 and later say why an instance goes when its key is gone.
    assert_eq!(
        unexpected(
            &second.only_ours,
            &[".resource_changes[module.files.local_file.n[1]].action_reason"]
        ),
        Vec::<String>::new()
    );
    let changes = ours["resource_changes"].as_array().expect("changes");
    let reason = |address: &str| {
        changes
            .iter()
            .find(|c| c["address"] == address)
            .map(|c| c["action_reason"].clone())
    };
    assert_eq!(
        reason("local_file.root"),
        Some(J::from("replace_because_cannot_update"))
    );
    assert_eq!(
        reason("local_sensitive_file.secret"),
        Some(J::from("replace_by_request"))
    );
    assert_eq!(
        reason("module.files.local_file.n[1]"),
        Some(J::from("delete_because_count_index"))
    );

    // A destroy plan: everything goes, the variables are still shown.
    let (theirs, ours) = s.plans(&["destroy"], "destroy.tfplan");
    let destroy = comparison(&theirs, &ours);
    assert_eq!(destroy.differences, Vec::<String>::new(), "{destroy:#?}");
    assert_eq!(unexpected(&destroy.only_ours, &[]), Vec::<String>::new());
    assert_eq!(ours["variables"]["greeting"]["value"], "bye");
}

/// What Terraform v1.0.3 does not write yet: `relevant_attributes` (the attributes
/// the configuration reads of what changed outside plinth) and `complete`.
#[test]
fn drift_names_the_attributes_it_affects_and_a_targeted_plan_is_incomplete() {
    let s = Stacks::new();
    ok(s.plinth(&["apply", "--auto-approve"]));
    std::fs::remove_file(s.ours.join("out/root.txt")).expect("remove");
    let plan = parse(&ok(s.plinth(&["plan", "--json"])).stdout);
    assert_eq!(plan["resource_drift"][0]["address"], "local_file.root");
    assert_eq!(
        plan["relevant_attributes"],
        serde_json::json!([{"resource": "local_file.root", "attribute": ["id"]}])
    );
    assert_eq!(plan["applyable"], true);
    assert_eq!(plan["complete"], true);
    let targeted = parse(&ok(s.plinth(&["plan", "--json", "--target", "local_file.root"])).stdout);
    assert_eq!(targeted["complete"], false);
}

/// Parts of `configuration` the plinth/local comparison does not reach.
#[test]
fn configuration_shows_descriptions_depends_on_and_module_call_expansions() {
    let dir = common::stack(&[
        (
            "main.tf",
            r#"variable "n" {
  type        = number
  default     = "2"
  description = "How many."
}

resource "terraform_data" "a" {
  input = upper("x")
}

resource "terraform_data" "b" {
  input      = terraform_data.a.output
  depends_on = [terraform_data.a]
}

module "m" {
  source = "./m"
  count  = var.n
  tag    = "t-${count.index}"
}

output "tags" {
  value       = module.m[*].tag
  description = "The tags."
}
"#,
        ),
        (
            "m/main.tf",
            "variable \"tag\" {}\noutput \"tag\" {\n  value = var.tag\n}\n",
        ),
    ]);
    let plan = parse(&ok(common::plinth(dir.path(), &["plan", "--json"])).stdout);
    let root = &plan["configuration"]["root_module"];
    assert_eq!(
        root["variables"]["n"],
        serde_json::json!({"default": 2, "description": "How many."})
    );
    let a = &root["resources"][0];
    assert_eq!(a["address"], "terraform_data.a");
    // A function call needs evaluating: no constant value, no references.
    assert_eq!(a["expressions"]["input"], serde_json::json!({}));
    let b = &root["resources"][1];
    assert_eq!(b["depends_on"], serde_json::json!(["terraform_data.a"]));
    assert_eq!(
        b["expressions"]["input"]["references"],
        serde_json::json!(["terraform_data.a.output", "terraform_data.a"])
    );
    let m = &root["module_calls"]["m"];
    assert_eq!(m["source"], "./m");
    assert_eq!(
        m["count_expression"],
        serde_json::json!({"references": ["var.n"]})
    );
    assert_eq!(
        m["expressions"]["tag"],
        serde_json::json!({"references": ["count.index"]})
    );
    assert_eq!(
        m["module"]["outputs"]["tag"]["expression"],
        serde_json::json!({"references": ["var.tag"]})
    );
    assert_eq!(root["outputs"]["tags"]["description"], "The tags.");
    assert_eq!(plan["variables"]["n"]["value"], 2);
}

#[test]
fn the_comparer_names_each_difference_by_its_path() {
    let theirs = serde_json::json!({"a": {"b": [1, 2]}, "t": 1, "timestamp": "x"});
    let ours = serde_json::json!({"a": {"b": [1, 3], "new": true}, "timestamp": "y"});
    let c = comparison(&theirs, &ours);
    assert_eq!(
        c.differences,
        vec![
            ".a.b[1]: Terraform 2, plinth 3",
            ".t: only Terraform writes it (1)"
        ]
    );
    assert_eq!(c.only_ours, vec![".a.new"]);
}
