//! Functions Terraform added after v1.0 (so v1.0.3 cannot be the oracle): startswith,
//! endswith (1.3), strcontains (1.5), timecmp (1.3), plantimestamp (1.5), issensitive
//! (1.8) and templatestring (1.9), and OpenTofu's urldecode, base64gunzip and
//! cidrcontains (1.7), with values from Terraform's function reference, the rules
//! every function shares (unknown in, unknown out; sensitive marks carried) and
//! errors at the argument's line.

use crate::common;

use common::{evaluate, main_tf, output};
use plinth::lang::{Type, Value};

fn outputs(text: &str) -> plinth::stack::LoadedStack {
    let dir = main_tf(text);
    let s = evaluate(dir.path());
    assert!(!s.diagnostics.has_errors(), "{:?}", s.diagnostics);
    s
}

/// The one error a stack gives, as "summary: detail @ file:line:column".
fn error(text: &str) -> String {
    let dir = main_tf(text);
    let s = evaluate(dir.path());
    let errors: Vec<String> = s
        .diagnostics
        .items
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            format!(
                "{}: {} @ {}",
                d.summary,
                d.detail,
                d.span.map_or(String::new(), |sp| s.sources.location(sp))
            )
        })
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors[0].clone()
}

#[test]
fn prefix_suffix_and_substring_tests() {
    let s = outputs(
        r#"
output "starts" { value = startswith("hello world", "hello") }
output "not_starts" { value = startswith("hello world", "world") }
output "ends" { value = endswith("hello world", "world") }
output "not_ends" { value = endswith("hello world", "hello") }
output "contains" { value = strcontains("hello world", "lo w") }
output "not_contains" { value = strcontains("hello world", "wow") }
output "empty" { value = [startswith("x", ""), endswith("x", ""), strcontains("x", "")] }
"#,
    );
    for (name, want) in [
        ("starts", true),
        ("not_starts", false),
        ("ends", true),
        ("not_ends", false),
        ("contains", true),
        ("not_contains", false),
    ] {
        assert_eq!(output(&s, name), Value::Bool(want), "{name}");
    }
    assert_eq!(
        output(&s, "empty"),
        Value::Tuple(vec![Value::Bool(true); 3])
    );
}

#[test]
fn string_tests_carry_unknowns_and_marks() {
    let s = outputs(
        r#"
resource "aws_instance" "x" {
  ami = "ami-123"
}
output "unknown" { value = startswith(aws_instance.x.id, "i-") }
output "marked" {
  value     = strcontains(sensitive("secret-token"), "token")
  sensitive = true
}
"#,
    );
    assert_eq!(output(&s, "unknown"), Value::Unknown(Type::Bool));
    let marked = output(&s, "marked");
    assert!(marked.is_sensitive());
    assert_eq!(marked.unmark().0, Value::Bool(true));
}

#[test]
fn timecmp_compares_instants_not_text() {
    let s = outputs(
        r#"
output "same" { value = timecmp("2017-11-22T00:00:00Z", "2017-11-22T01:00:00+01:00") }
output "before" { value = timecmp("2017-11-22T00:00:00Z", "2017-11-22T00:00:00.5Z") }
output "after" { value = timecmp("2018-01-01T00:00:00Z", "2017-12-31T23:59:59-08:00") }
"#,
    );
    let n = |v: i64| Value::number(plinth::lang::Number::from_i64(v));
    assert_eq!(output(&s, "same"), n(0));
    assert_eq!(output(&s, "before"), n(-1));
    assert_eq!(output(&s, "after"), n(-1));
    let e = error(
        r#"
output "bad" {
  value = timecmp("2017-11-22T00:00:00Z", "yesterday")
}
"#,
    );
    assert!(
        e.contains("timestamp_b") && e.contains("RFC3339") && e.contains("@ main.tf:3:"),
        "{e}"
    );
}

#[test]
fn issensitive_reports_the_mark() {
    let s = outputs(
        r#"
variable "token" {
  type      = string
  default   = "t"
  sensitive = true
}
resource "aws_instance" "x" {
  ami = "ami-123"
}
output "marked" { value = issensitive(sensitive("x")) }
output "variable" { value = issensitive(var.token) }
output "plain" { value = issensitive("x") }
output "unknown" { value = issensitive(aws_instance.x.id) }
"#,
    );
    assert_eq!(output(&s, "marked"), Value::Bool(true));
    assert_eq!(output(&s, "plain"), Value::Bool(false));
    assert_eq!(output(&s, "unknown"), Value::Unknown(Type::Bool));
    // The answer itself is not secret.
    assert!(!output(&s, "marked").is_sensitive());
    let variable = output(&s, "variable");
    assert!(
        variable == Value::Bool(true) || variable == Value::Unknown(Type::Bool),
        "{variable:?}"
    );
}

#[test]
fn templatestring_renders_a_string_from_elsewhere() {
    let s = outputs(
        r#"
locals {
  greeting = "Hello, $${name}! %%{ for n in items }[$${n}]%%{ endfor }"
}
resource "aws_instance" "x" {
  ami = "ami-123"
}
output "rendered" {
  value = templatestring(local.greeting, { name = "Ada", items = [1, 2] })
}
output "unknown" {
  value = templatestring(aws_instance.x.id, {})
}
"#,
    );
    assert_eq!(
        output(&s, "rendered"),
        Value::String("Hello, Ada! [1][2]".into())
    );
    assert_eq!(output(&s, "unknown"), Value::Unknown(Type::String));
}

#[test]
fn templatestring_refuses_a_template_written_in_place_and_undeclared_variables() {
    let e = error(
        r#"
output "inline" {
  value = templatestring("Hello, $${name}", { name = "x" })
}
"#,
    );
    assert!(
        e.starts_with("Invalid template argument") && e.contains("@ main.tf:3:"),
        "{e}"
    );
    let e = error(
        r#"
locals {
  t = "Hello, $${who}"
}
output "missing" {
  value = templatestring(local.t, { name = "x" })
}
"#,
    );
    assert!(
        e.contains("templatestring()") && e.contains("@ main.tf:6:"),
        "{e}"
    );
}

#[test]
fn plantimestamp_is_unknown_in_validate_and_the_plans_time_when_applied() {
    let s = outputs(r#"output "t" { value = plantimestamp() }"#);
    assert_eq!(output(&s, "t"), Value::Unknown(Type::String));

    let dir = main_tf(
        r#"
resource "plinth_data" "t" {
  input = plantimestamp()
}
output "t" {
  value = plinth_data.t.output
}
"#,
    );
    let plan = common::plinth(dir.path(), &["plan", "--out", "p.plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let planned = plan
        .stdout
        .split('"')
        .find(|s| s.len() == 20 && s.ends_with('Z') && s.contains('T'))
        .unwrap_or_else(|| panic!("a known time in the plan: {}", plan.stdout))
        .to_string();
    // Applied later, the saved plan still plans the same time, so it applies.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let apply = common::plinth(dir.path(), &["apply", "p.plan"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(
        apply.stdout.contains(&format!("t = \"{planned}\"")),
        "{}",
        apply.stdout
    );
}

/// OpenTofu 1.7's urldecode, base64gunzip and cidrcontains, each the inverse or the
/// companion of a function Terraform has, with values from OpenTofu's function
/// reference; a round trip through urlencode and base64gzip gives the text back.
#[test]
fn opentofu_urldecode_base64gunzip_and_cidrcontains() {
    let s = outputs(
        r#"
locals {
  text = "Hello, wörld & friends/?=+%"
}
output "decoded" { value = urldecode("https%3A%2F%2Fexample.com%2Fsearch%3Fq%3Dmy+query") }
output "url_round_trip" { value = urldecode(urlencode(local.text)) == local.text }
output "gunzip" { value = base64gunzip("H4sIAAAAAAAAAytJLS4BAAx+f9gEAAAA") }
output "gzip_round_trip" { value = base64gunzip(base64gzip(local.text)) == local.text }
output "contains" {
  value = [
    cidrcontains("192.168.2.0/20", "192.168.2.1"),
    cidrcontains("192.168.2.0/20", "126.68.2.1"),
    cidrcontains("192.168.2.0/20", "192.168.2.0/22"),
    cidrcontains("192.168.2.0/20", "192.168.2.0/16"),
    cidrcontains("fd00:fd12:3456:7890::/56", "fd00:fd12:3456:7890:00a2::"),
    cidrcontains("fd00:fd12:3456:7890::/56", "fd00:fd12:3456:7800::/40"),
  ]
}
"#,
    );
    assert_eq!(
        output(&s, "decoded").as_str(),
        Some("https://example.com/search?q=my query")
    );
    assert_eq!(output(&s, "url_round_trip"), Value::Bool(true));
    assert_eq!(output(&s, "gunzip").as_str(), Some("test"));
    assert_eq!(output(&s, "gzip_round_trip"), Value::Bool(true));
    let contains = output(&s, "contains");
    let got: Vec<Option<bool>> = contains
        .elements()
        .map(|v| v.into_iter().map(Value::as_bool).collect())
        .unwrap_or_default();
    assert_eq!(
        got,
        [true, false, true, false, true, false].map(Some).to_vec()
    );

    assert!(
        error("output \"x\" {\n  value = urldecode(\"100%zz\")\n}\n")
            .contains("invalid URL escape \"%zz\""),
    );
    assert!(
        error("output \"x\" {\n  value = base64gunzip(\"aGVsbG8=\")\n}\n")
            .contains("failed to decompress gzip data")
    );
    assert!(
        error("output \"x\" {\n  value = cidrcontains(\"10.0.0.0/8\", \"fd00::1\")\n}\n")
            .contains("address family mismatch"),
    );
}
