use super::{load, Kind, PolicyReport};
use serde_json::json;

fn policies(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write policy");
    }
    dir
}

fn report(files: &[(&str, &str)], input: serde_json::Value) -> PolicyReport {
    let dir = policies(files);
    let mut set = match load(dir.path()) {
        Ok(set) => set,
        Err(e) => panic!("{}", e.render(false)),
    };
    match set.evaluate(&input) {
        Ok(report) => report,
        Err(d) => panic!("{}", crate::diag::render_text(set.sources(), &d, false)),
    }
}

fn summary(report: &PolicyReport) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| format!("{:?} {} {} {}", f.kind, f.file, f.rule, f.message))
        .collect()
}

#[test]
fn rule_names_follow_conftests_patterns() {
    assert_eq!(Kind::of_rule("deny"), Some(Kind::Deny));
    assert_eq!(Kind::of_rule("violation"), Some(Kind::Violation));
    assert_eq!(Kind::of_rule("warn"), Some(Kind::Warn));
    assert_eq!(Kind::of_rule("deny_public_bucket"), Some(Kind::Deny));
    assert_eq!(Kind::of_rule("warn_gpu_2"), Some(Kind::Warn));
    assert_eq!(Kind::of_rule("violation_x_y"), Some(Kind::Violation));
    for not_a_rule in ["denyx", "deny_", "deny__x", "warning", "allow", "is_denied"] {
        assert_eq!(Kind::of_rule(not_a_rule), None, "{not_a_rule}");
    }
}

#[test]
fn string_and_object_messages_are_read() {
    let r = report(
        &[(
            "a.rego",
            r#"package main
deny contains msg if { msg := sprintf("too many: %d", [input.n]) }
warn contains {"msg": "as an object", "details": {"n": 1}} if { input.n > 1 }
violation contains {"no": "msg field"} if { true }
"#,
        )],
        json!({"n": 3}),
    );
    assert_eq!(
        summary(&r),
        [
            "Deny a.rego main.deny too many: 3",
            r#"Violation a.rego main.violation {"no":"msg field"}"#,
            "Warn a.rego main.warn as an object",
        ]
    );
    assert!(r.fails());
    assert_eq!(r.files, 1);
}

#[test]
fn prefixed_rules_count_and_other_rules_do_not() {
    let r = report(
        &[(
            "a.rego",
            r#"package main
deny_big contains "big" if { input.n > 2 }
warn_odd contains "odd" if { input.n % 2 == 1 }
allow if { input.n > 0 }
denied contains "not a conftest rule" if { true }
"#,
        )],
        json!({"n": 3}),
    );
    assert_eq!(
        summary(&r),
        [
            "Deny a.rego main.deny_big big",
            "Warn a.rego main.warn_odd odd"
        ]
    );
}

#[test]
fn rules_outside_package_main_are_ignored_but_can_be_imported() {
    let r = report(
        &[
            (
                "lib/limits.rego",
                r#"package lib.limits
max_n := 2
deny contains "from another package" if { true }
"#,
            ),
            (
                "main.rego",
                r#"package main
import data.lib.limits
deny contains msg if { input.n > limits.max_n; msg := "over the limit" }
"#,
            ),
        ],
        json!({"n": 3}),
    );
    assert_eq!(summary(&r), ["Deny main.rego main.deny over the limit"]);
    assert_eq!(r.files, 2);
}

#[test]
fn each_message_names_the_file_whose_rule_gave_it() {
    let r = report(
        &[
            ("a.rego", "package main\ndeny contains \"from a\" if { true }\n"),
            (
                "b.rego",
                "package main\ndeny contains \"from b\" if { true }\nwarn contains \"b warns\" if { count(deny) == 2 }\n",
            ),
        ],
        json!({}),
    );
    assert_eq!(
        summary(&r),
        [
            "Deny a.rego main.deny from a",
            "Deny b.rego main.deny from b",
            "Warn b.rego main.warn b warns",
        ]
    );
}

#[test]
fn a_passing_plan_has_no_findings() {
    let r = report(
        &[(
            "a.rego",
            "package main\ndeny contains \"x\" if { input.n > 5 }\n",
        )],
        json!({"n": 1}),
    );
    assert!(r.findings.is_empty());
    assert!(!r.fails());
}

#[test]
fn a_syntax_error_is_a_diagnostic_at_its_file_and_line() {
    let dir = policies(&[
        ("good.rego", "package main\n"),
        (
            "bad.rego",
            "package main\n\ndeny contains msg if {\n  msg := \n",
        ),
    ]);
    let Err(e) = load(dir.path()) else {
        panic!("a policy that does not parse loaded")
    };
    let text = e.render(false);
    let bad = dir.path().join("bad.rego").display().to_string();
    assert!(text.contains(&format!("{bad}:")), "{text}");
    assert_eq!(e.diagnostics.errors().count(), 1, "{text}");
    let d = e.diagnostics.errors().next().expect("one error");
    let span = d.span.expect("a span");
    let location = e.sources.location(span);
    assert!(location.starts_with(&format!("{bad}:")), "{location}");
    assert!(text.contains("Invalid policy"), "{text}");
}

#[test]
fn an_evaluation_error_is_a_diagnostic_at_its_line() {
    let dir = policies(&[(
        "a.rego",
        "package main\n\ndeny contains msg if {\n  msg := sprintf(\"%s\", input.n)\n}\n",
    )]);
    let mut set = match load(dir.path()) {
        Ok(set) => set,
        Err(e) => panic!("{}", e.render(false)),
    };
    let Err(d) = set.evaluate(&json!({"n": 1})) else {
        panic!("a failing builtin call evaluated")
    };
    let span = d.errors().next().and_then(|d| d.span).expect("a span");
    let location = set.sources().location(span);
    let file = dir.path().join("a.rego").display().to_string();
    // regorus points at the reference's dot: `input.n` is no string.
    assert_eq!(location, format!("{file}:4:29"));
    assert_eq!(set.sources().text(span), ".");
}

#[test]
fn an_empty_or_missing_directory_is_an_error() {
    let empty = policies(&[("README.md", "no policies")]);
    let Err(e) = load(empty.path()) else {
        panic!("an empty directory loaded")
    };
    assert!(e.render(false).contains("No policies found"));
    let Err(e) = load(&empty.path().join("absent")) else {
        panic!("a missing directory loaded")
    };
    assert!(e.render(false).contains("Cannot read the policy directory"));
}

#[test]
fn the_cost_is_part_of_the_input() {
    let plan = json!({"format_version": "1.2", "resource_changes": []});
    let cost = json!({"totalMonthlyCost": "1234.5", "pastTotalMonthlyCost": null});
    let r = report(
        &[(
            "cost.rego",
            "package main\ndeny contains msg if { to_number(input.cost.totalMonthlyCost) > 1000; msg := \"over\" }\n",
        )],
        super::input(plan.clone(), Some(cost)),
    );
    assert_eq!(summary(&r), ["Deny cost.rego main.deny over"]);
    assert_eq!(super::input(plan.clone(), None), plan);
}

#[test]
fn numbers_in_the_input_keep_their_value() {
    let input: serde_json::Value =
        serde_json::from_str(r#"{"n": 3, "big": 12345678901234567890, "f": 1.5}"#).expect("json");
    let r = report(
        &[(
            "a.rego",
            "package main\nwarn contains sprintf(\"%v %v %v\", [input.n + 1, input.big, input.f * 2]) if { true }\n",
        )],
        input,
    );
    assert_eq!(
        summary(&r),
        ["Warn a.rego main.warn 4 12345678901234567890 3"]
    );
}

#[test]
fn the_report_prints_failures_first_with_file_and_rule() {
    let r = report(
        &[
            (
                "a.rego",
                "package main\nwarn contains \"careful\" if { true }\n",
            ),
            (
                "b.rego",
                "package main\ndeny_x contains \"no\" if { true }\n",
            ),
        ],
        json!({}),
    );
    let text = r.render_text(false);
    let fail = text.find("FAIL b.rego: main.deny_x: no").expect(&text);
    let warn = text.find("WARN a.rego: main.warn: careful").expect(&text);
    assert!(fail < warn, "{text}");
    assert!(text.contains("1 failure, 1 warning."), "{text}");
}

#[test]
fn an_error_on_a_renamed_rule_head_points_into_the_original_text() {
    let dir = policies(&[(
        "b.rego",
        "package main\n\ndeny_x contains msg if { msg := sprintf(\"%s\", input.n) }\n",
    )]);
    let mut set = match load(dir.path()) {
        Ok(set) => set,
        Err(e) => panic!("{}", e.render(false)),
    };
    let Err(d) = set.evaluate(&json!({"n": 1})) else {
        panic!("a failing builtin call evaluated")
    };
    let span = d.errors().next().and_then(|d| d.span).expect("a span");
    let file = dir.path().join("b.rego").display().to_string();
    // The engine read `deny_x__plinth0` there; the column is the original one.
    assert_eq!(set.sources().location(span), format!("{file}:3:52"));
    assert_eq!(set.sources().text(span), ".");
}

/// The example policies on plan documents plinth/aws cannot make (it has no
/// `aws_s3_bucket_acl`), written as Terraform's AWS provider plans them.
#[test]
fn the_example_policies_read_acls_grants_and_gpu_amis() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policies");
    let mut set = match load(&dir) {
        Ok(set) => set,
        Err(e) => panic!("{}", e.render(false)),
    };
    let change = |address: &str, kind: &str, after: serde_json::Value| json!({"address": address, "type": kind, "change": {"actions": ["create"], "after": after}});
    let all_users = "http://acs.amazonaws.com/groups/global/AllUsers";
    let plan = json!({"resource_changes": [
        change("aws_s3_bucket_acl.public", "aws_s3_bucket_acl", json!({"acl": "public-read"})),
        change("aws_s3_bucket_acl.private", "aws_s3_bucket_acl", json!({"acl": "private"})),
        change("aws_s3_bucket_acl.granted", "aws_s3_bucket_acl", json!({
            "access_control_policy": [{"grant": [{"grantee": [{"type": "Group", "uri": all_users}], "permission": "READ"}]}]
        })),
        {"address": "aws_s3_bucket.gone", "type": "aws_s3_bucket",
         "change": {"actions": ["delete"], "after": null}},
        change("aws_eks_node_group.nvidia_ami", "aws_eks_node_group", json!({
            "instance_types": ["m5.xlarge"], "ami_type": "AL2023_x86_64_NVIDIA", "capacity_type": "ON_DEMAND"
        })),
        change("aws_eks_node_group.amd", "aws_eks_node_group", json!({
            "instance_types": ["g4ad.xlarge"], "ami_type": "AL2_x86_64", "capacity_type": "SPOT"
        })),
        change("aws_eks_node_group.no_execute", "aws_eks_node_group", json!({
            "instance_types": ["g6e.12xlarge"], "capacity_type": "SPOT",
            "labels": {"plinth.dev/interruptible": "true"},
            "taint": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_EXECUTE"}]
        })),
    ]});
    let cost = json!({"totalMonthlyCost": "100", "pastTotalMonthlyCost": null, "diffTotalMonthlyCost": "100"});
    let report = set
        .evaluate(&super::input(plan, Some(cost)))
        .expect("evaluates");
    assert_eq!(
        summary(&report),
        [
            "Deny gpu_taints.rego main.deny aws_eks_node_group.nvidia_ami: a GPU node group must carry the taint nvidia.com/gpu with effect NO_SCHEDULE or NO_EXECUTE",
            "Deny no_public_s3.rego main.deny aws_s3_bucket_acl.granted: a grant to http://acs.amazonaws.com/groups/global/AllUsers makes the bucket public",
            "Deny no_public_s3.rego main.deny aws_s3_bucket_acl.public: ACL \"public-read\" makes the bucket public",
        ]
    );
}

#[test]
fn a_link_back_up_the_policy_directory_is_not_followed() {
    let dir = policies(&[(
        "sub/a.rego",
        "package main\nwarn contains \"a\" if { true }\n",
    )]);
    std::os::unix::fs::symlink(dir.path(), dir.path().join("sub/loop")).expect("symlink");
    std::os::unix::fs::symlink(dir.path().join("sub/a.rego"), dir.path().join("b.rego"))
        .expect("symlink");
    let mut set = match load(dir.path()) {
        Ok(set) => set,
        Err(e) => panic!("{}", e.render(false)),
    };
    let report = set.evaluate(&json!({})).expect("evaluates");
    assert_eq!(report.files, 2);
    assert_eq!(
        summary(&report),
        ["Warn b.rego main.warn a", "Warn sub/a.rego main.warn a"]
    );
}

#[test]
fn rego_v0_rules_are_refused_with_the_v1_form_as_help() {
    let dir = policies(&[(
        "old.rego",
        "package main\n\ndeny[msg] {\n  msg := \"x\"\n}\n",
    )]);
    let Err(e) = load(dir.path()) else {
        panic!("a v0 rule loaded")
    };
    let d = e.diagnostics.errors().next().expect("an error");
    assert_eq!(d.detail, "`if` keyword is required before rule body");
    assert!(d
        .help
        .as_deref()
        .is_some_and(|h| h.contains("deny contains msg if")));
    let span = d.span.expect("a span");
    assert!(e.sources.location(span).ends_with("old.rego:3:11"));
}

/// Each bucket looked for its block among every resource change, once per bucket:
/// 1,000 buckets took about a minute. Now each rule reads the plan once.
#[test]
fn the_example_policies_read_a_large_plan_in_linear_time() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policies");
    let mut set = match load(&dir) {
        Ok(set) => set,
        Err(e) => panic!("{}", e.render(false)),
    };
    let mut changes = Vec::new();
    for i in 0..1000 {
        let module = format!("module.b[{i}]");
        let change = |kind: &str, after: serde_json::Value| {
            json!({"address": format!("{module}.{kind}.this"), "module_address": module,
                   "type": kind, "change": {"actions": ["create"], "after": after}})
        };
        changes.push(change("aws_s3_bucket", json!({"bucket": format!("b{i}")})));
        changes.push(change(
            "aws_s3_bucket_public_access_block",
            json!({"block_public_acls": true, "block_public_policy": true,
                   "ignore_public_acls": true, "restrict_public_buckets": true}),
        ));
        changes.push(change(
            "aws_eks_node_group",
            json!({"instance_types": ["g5.2xlarge"], "capacity_type": "ON_DEMAND",
                   "taint": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]}),
        ));
    }
    let cost =
        json!({"totalMonthlyCost": "1", "pastTotalMonthlyCost": "1", "diffTotalMonthlyCost": "0"});
    let input = super::input(json!({"resource_changes": changes}), Some(cost));
    let started = std::time::Instant::now();
    let report = set.evaluate(&input).expect("evaluates");
    let took = started.elapsed();
    assert_eq!(summary(&report), Vec::<String>::new());
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_directory_evaluates_in_one_call() {
    let dir = policies(&[(
        "a.rego",
        "package main\nviolation contains sprintf(\"%s\", input.args) if { true }\n",
    )]);
    let report = match super::evaluate(dir.path(), &json!({"args": ["v"]})) {
        Ok(report) => report,
        Err(e) => panic!("{}", e.render(false)),
    };
    assert_eq!(summary(&report), ["Violation a.rego main.violation v"]);
    assert!(report.fails());
    let Err(e) = super::evaluate(dir.path(), &json!({"args": "v"})) else {
        panic!("sprintf without an array of arguments evaluated")
    };
    let text = e.render(false);
    assert!(text.contains("Policy evaluation failed"), "{text}");
    assert!(text.contains("a.rego:2:"), "{text}");
}

#[test]
fn a_rule_past_the_time_limit_is_an_error_naming_its_file_and_rule() {
    let dir = policies(&[(
        "slow.rego",
        "package main\n\nwarn_slow contains msg if {\n  r := numbers.range(1, 5000)\n  n := count([1 | some i in r; some j in r; i > j])\n  msg := sprintf(\"%d\", [n])\n}\n",
    )]);
    let mut set = match load(dir.path()) {
        Ok(set) => set.time_limit(std::time::Duration::from_millis(200)),
        Err(e) => panic!("{}", e.render(false)),
    };
    let started = std::time::Instant::now();
    let Err(d) = set.evaluate(&json!({})) else {
        panic!("a rule of 25 million steps finished within 200 ms")
    };
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let text = crate::diag::render_text(set.sources(), &d, false);
    assert!(text.contains("time limit"), "{text}");
    assert!(text.contains("slow.rego"), "{text}");
}
