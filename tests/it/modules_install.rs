//! `plinth init` installs remote modules as `terraform init` does: registry modules
//! from a module mirror (with version constraints; kept until `--upgrade`), git
//! repositories (tags, subdirectories; here local bare repositories) and modules those
//! call, recorded in `.plinth/modules/modules.json`; every other command loads what
//! init installed and says so when a module is missing or its source changed.

use std::path::Path;
use std::process::Command;

use crate::common;

use common::{plinth, stack};

/// A module that reports which version it is.
fn module_files(version: &str) -> String {
    format!("variable \"name\" {{\n  type = string\n}}\noutput \"v\" {{\n  value = \"${{var.name}}@{version}\"\n}}\n")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn mirror_with(versions: &[&str]) -> tempfile::TempDir {
    let mirror = tempfile::tempdir().expect("mirror");
    for v in versions {
        write(
            &mirror
                .path()
                .join(format!("registry.terraform.io/acme/net/aws/{v}/main.tf")),
            &module_files(v),
        );
    }
    mirror
}

const ROOT: &str = r#"
module "net" {
  source  = "acme/net/aws"
  version = "~> 1.2"
  name    = "n"
}
output "v" {
  value = module.net.v
}
"#;

#[test]
fn registry_modules_install_from_a_mirror_and_stay_until_upgrade() {
    let dir = stack(&[("main.tf", ROOT)]);
    let mirror = mirror_with(&["1.1.0", "1.2.0", "1.3.0", "2.0.0", "1.4.0-beta"]);
    let mirror_arg = mirror.path().to_str().expect("utf-8");

    let before = plinth(dir.path(), &["validate"]);
    assert_eq!(before.code, 1, "{}", before.stderr);
    assert!(
        before.stderr.contains("Module not installed")
            && before.stderr.contains("Run plinth init")
            && before.stderr.contains("main.tf:3"),
        "{}",
        before.stderr
    );

    let init = plinth(dir.path(), &["init", "--module-mirror", mirror_arg]);
    assert_eq!(init.code, 0, "{}{}", init.stdout, init.stderr);
    assert!(
        init.stdout
            .contains("- net in .plinth/modules/net (acme/net/aws 1.3.0)"),
        "{}",
        init.stdout
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(".plinth/modules/modules.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(
        manifest["Modules"][1],
        serde_json::json!({"Key": "net", "Source": "acme/net/aws", "Version": "1.3.0", "Dir": ".plinth/modules/net"})
    );
    let apply = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(apply.stdout.contains("v = \"n@1.3.0\""), "{}", apply.stdout);

    // A newer allowed version in the mirror is taken only with --upgrade.
    write(
        &mirror
            .path()
            .join("registry.terraform.io/acme/net/aws/1.5.0/main.tf"),
        &module_files("1.5.0"),
    );
    let again = plinth(dir.path(), &["init", "--module-mirror", mirror_arg]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!again.stdout.contains("1.5.0"), "{}", again.stdout);
    let upgraded = plinth(
        dir.path(),
        &["init", "--upgrade", "--module-mirror", mirror_arg],
    );
    assert_eq!(upgraded.code, 0, "{}", upgraded.stderr);
    assert!(
        upgraded.stdout.contains("(acme/net/aws 1.5.0)"),
        "{}",
        upgraded.stdout
    );
    let plan = plinth(dir.path(), &["plan"]);
    assert!(plan.stdout.contains("n@1.5.0"), "{}", plan.stdout);

    // The constraint changed past what is installed: init again, says plan.
    std::fs::write(dir.path().join("main.tf"), ROOT.replace("~> 1.2", ">= 2.0")).expect("edit");
    let stale = plinth(dir.path(), &["plan"]);
    assert_eq!(stale.code, 1);
    assert!(
        stale.stderr.contains("does not meet the constraint"),
        "{}",
        stale.stderr
    );
    std::fs::write(dir.path().join("main.tf"), ROOT.replace("~> 1.2", ">= 3.0")).expect("edit");
    let none = plinth(dir.path(), &["init", "--module-mirror", mirror_arg]);
    assert_eq!(none.code, 1);
    assert!(
        none.stderr
            .contains("no version of registry.terraform.io/acme/net/aws matching \">= 3.0\"")
            && none.stderr.contains("main.tf:3"),
        "{}",
        none.stderr
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bare repository with tags v1 and v2 of a package holding `modules/app`, which
/// calls `../shared` inside the package and a registry module.
fn git_repository() -> tempfile::TempDir {
    let base = tempfile::tempdir().expect("repo");
    let work = base.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    for tag in ["v1", "v2"] {
        write(
            &work.join("modules/app/main.tf"),
            &format!(
                "module \"shared\" {{\n  source = \"../shared\"\n}}\nmodule \"net\" {{\n  source  = \"acme/net/aws\"\n  version = \"1.2.0\"\n  name    = \"app\"\n}}\noutput \"v\" {{\n  value = \"{tag}+${{module.shared.s}}+${{module.net.v}}\"\n}}\n"
            ),
        );
        write(
            &work.join("modules/shared/main.tf"),
            "output \"s\" {\n  value = \"shared\"\n}\n",
        );
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "--quiet", "-m", tag]);
        git(&work, &["tag", tag]);
    }
    git(
        base.path(),
        &["clone", "--quiet", "--bare", "work", "repo.git"],
    );
    base
}

#[test]
fn git_modules_install_at_a_ref_with_what_they_call() {
    let repo = git_repository();
    let url = format!(
        "git::file://{}/repo.git//modules/app?ref=v1",
        repo.path().display()
    );
    let dir = stack(&[(
        "main.tf",
        &format!("module \"app\" {{\n  source = \"{url}\"\n}}\noutput \"v\" {{\n  value = module.app.v\n}}\n"),
    )]);
    let mirror = mirror_with(&["1.2.0"]);
    let init = plinth(
        dir.path(),
        &[
            "init",
            "--module-mirror",
            mirror.path().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(init.code, 0, "{}{}", init.stdout, init.stderr);
    assert!(
        init.stdout
            .contains("- app in .plinth/modules/app/modules/app"),
        "{}",
        init.stdout
    );
    assert!(
        init.stdout.contains("- app.net in .plinth/modules/app.net"),
        "{}",
        init.stdout
    );
    assert!(
        !dir.path().join(".plinth/modules/app/.git").exists(),
        "the clone's .git is left out"
    );
    let apply = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(
        apply.stdout.contains("v = \"v1+shared+app@1.2.0\""),
        "{}",
        apply.stdout
    );

    // Another ref is another source: plan asks for init, init fetches it.
    let main = std::fs::read_to_string(dir.path().join("main.tf")).expect("read");
    std::fs::write(dir.path().join("main.tf"), main.replace("ref=v1", "ref=v2")).expect("edit");
    let stale = plinth(dir.path(), &["plan"]);
    assert_eq!(stale.code, 1);
    assert!(
        stale.stderr.contains("but its source is now"),
        "{}",
        stale.stderr
    );
    let init = plinth(
        dir.path(),
        &[
            "init",
            "--module-mirror",
            mirror.path().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(init.code, 0, "{}", init.stderr);
    let plan = plinth(dir.path(), &["plan"]);
    assert!(
        plan.stdout.contains("v2+shared+app@1.2.0"),
        "{}",
        plan.stdout
    );
}

#[test]
fn bad_module_sources_are_refused_at_their_line() {
    let repo = git_repository();
    let cases = [
        (
            format!(
                "git::file://{}/repo.git//modules/app",
                repo.path().display()
            ),
            "version = \"1.0.0\"",
            "a version constraint applies only to module registry sources",
        ),
        (
            format!("git::file://{}/repo.git?ref=v9", repo.path().display()),
            "",
            "v9",
        ),
        (
            format!(
                "git::file://{}/repo.git//modules/none?ref=v1",
                repo.path().display()
            ),
            "",
            "the module package has no directory \"modules/none\"",
        ),
        (
            "s3::https://bucket/x.zip".to_string(),
            "",
            "names a S3 source",
        ),
        ("modules/x".to_string(), "", "not a valid module source"),
        (
            "127.0.0.1:1/acme/net/aws".to_string(),
            "",
            "https://127.0.0.1:1/.well-known/terraform.json failed",
        ),
    ];
    for (source, extra, want) in cases {
        let dir = stack(&[(
            "main.tf",
            &format!("\nmodule \"m\" {{\n  source = \"{source}\"\n  {extra}\n}}\n"),
        )]);
        let init = plinth(dir.path(), &["init"]);
        assert_eq!(init.code, 1, "{source}: {}", init.stdout);
        assert!(
            init.stderr.contains(want) && init.stderr.contains("main.tf:3"),
            "{source}: {}",
            init.stderr
        );
    }
    // A damaged manifest is refused by plan, and replaced by init.
    let dir = stack(&[("main.tf", ROOT)]);
    write(
        &dir.path().join(".plinth/modules/modules.json"),
        "{ not json",
    );
    let plan = plinth(dir.path(), &["plan"]);
    assert_eq!(plan.code, 1);
    assert!(
        plan.stderr.contains("modules.json is damaged"),
        "{}",
        plan.stderr
    );
    let mirror = mirror_with(&["1.2.0"]);
    let init = plinth(
        dir.path(),
        &[
            "init",
            "--module-mirror",
            mirror.path().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(init.code, 0, "{}", init.stderr);
}

/// A module registry on a local port: the modules API of Terraform's registry
/// protocol, answering from `routes` (path → status, X-Terraform-Get, body), and
/// recording each path asked for. A 3xx route's header is its `Location`.
struct Registry {
    port: u16,
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn serve(routes: Vec<(String, u16, Option<String>, Vec<u8>)>) -> Registry {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
                    break;
                }
            }
            log.lock().expect("log").push(path.clone());
            let (status, get, body) = routes
                .iter()
                .find(|(p, ..)| *p == path)
                .map(|(_, s, g, b)| (*s, g.clone(), b.clone()))
                .unwrap_or((404, None, Vec::new()));
            let mut reply = format!(
                "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {}\r\n",
                body.len()
            );
            if let Some(get) = get {
                // A redirect's target goes in Location.
                let header = if (300..400).contains(&status) {
                    "Location"
                } else {
                    "X-Terraform-Get"
                };
                reply.push_str(&format!("{header}: {get}\r\n"));
            }
            reply.push_str("\r\n");
            let mut reply = reply.into_bytes();
            reply.extend_from_slice(&body);
            let _ = stream.write_all(&reply);
        }
    });
    Registry { port, asked }
}

#[test]
fn registry_modules_install_through_the_registry_protocol() {
    let repo = git_repository();
    let package = format!(
        "git::file://{}/repo.git//modules/shared?ref=v2",
        repo.path().display()
    );
    let registry = serve(vec![
        (
            "/v1/modules/acme/shared/aws/versions".into(),
            200,
            None,
            r#"{"modules":[{"versions":[{"version":"1.0.0"},{"version":"1.4.0"},{"version":"2.0.0"}]}]}"#.into(),
        ),
        ("/v1/modules/acme/shared/aws/1.4.0/download".into(), 204, Some(package), Vec::new()),
    ]);
    let host = "registry.example.com";
    let config = tempfile::NamedTempFile::new().expect("config");
    std::fs::write(
        config.path(),
        format!(
            "host \"{host}\" {{\n  services = {{\n    \"modules.v1\" = \"http://127.0.0.1:{}/v1/modules/\"\n  }}\n}}\n",
            registry.port
        ),
    )
    .expect("write config");
    let dir = stack(&[(
        "main.tf",
        &format!("module \"s\" {{\n  source  = \"{host}/acme/shared/aws\"\n  version = \"~> 1.0\"\n}}\noutput \"s\" {{\n  value = module.s.s\n}}\n"),
    )]);
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
            .args(["-C", dir.path().to_str().expect("utf-8"), "--no-color"])
            .args(args)
            .env("PLINTH_CLI_CONFIG_FILE", config.path())
            .output()
            .expect("run plinth");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["init"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "- s in .plinth/modules/s ({host}/acme/shared/aws 1.4.0)"
        )),
        "{stdout}"
    );
    assert_eq!(
        *registry.asked.lock().expect("log"),
        [
            "/v1/modules/acme/shared/aws/versions",
            "/v1/modules/acme/shared/aws/1.4.0/download"
        ]
    );
    let (code, stdout, stderr) = run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("s = \"shared\""), "{stdout}");
    // Loading never asks the registry again.
    assert_eq!(registry.asked.lock().expect("log").len(), 2);

    // No version the constraint allows: said, at the source's line.
    std::fs::write(
        dir.path().join("main.tf"),
        format!(
            "module \"s\" {{\n  source  = \"{host}/acme/shared/aws\"\n  version = \">= 3.0\"\n}}\n"
        ),
    )
    .expect("edit");
    let (code, _, stderr) = run(&["init"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("has no version of acme/shared/aws matching \">= 3.0\"")
            && stderr.contains("main.tf:2"),
        "{stderr}"
    );
}

/// A module package as (path, text) files: the package's own module, and one under
/// `modules/inner`.
fn package_files(version: &str) -> Vec<(String, String)> {
    vec![
        ("main.tf".to_string(), module_files(version)),
        (
            "modules/inner/main.tf".to_string(),
            module_files(&format!("{version}-inner")),
        ),
    ]
}

fn tar_gz(files: &[(String, String)]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, path, text.as_bytes())
            .expect("tar entry");
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}

fn zip(files: &[(String, String)]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (path, text) in files {
        writer
            .start_file(path.as_str(), options)
            .expect("zip entry");
        writer.write_all(text.as_bytes()).expect("zip write");
    }
    writer.finish().expect("zip").into_inner()
}

/// A `.tar.gz` of entries written as they are, so that names `tar::Builder` refuses (`..`,
/// absolute paths) and links can be made: `(name, link target)`.
fn raw_tar(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, link) in entries {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_mode(0o644);
        let data: &[u8] = b"output \"x\" {\n  value = 1\n}\n";
        match link {
            Some(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
                header.set_size(0);
                header.set_cksum();
                builder.append(&header, &[][..]).expect("tar link");
            }
            None => {
                header.set_size(data.len() as u64);
                header.set_cksum();
                builder.append(&header, data).expect("tar entry");
            }
        }
    }
    let tar = builder.into_inner().expect("tar");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gzip, &tar).expect("gzip");
    gzip.finish().expect("gzip")
}

fn sha256(bytes: &[u8]) -> String {
    common::sha256_hex(bytes)
}

/// Archive URLs install as `terraform init` takes them: a `.zip` and a `.tar.gz` over
/// HTTP and from a `file://` path, `archive=zip` naming the type of a URL without an
/// extension, `//subdir` inside the archive (with wildcards, for GitHub's one top-level
/// directory), `checksum=sha256:…`, an HTTP page whose `X-Terraform-Get` names the
/// archive, a redirect (as GitHub's archive URLs answer), and a registry module whose
/// download is one.
#[test]
fn archive_modules_install_over_http_and_from_files() {
    let zipped = zip(&package_files("zip"));
    let tarred = tar_gz(&package_files("tgz"));
    // As GitHub makes them: everything under one top-level directory.
    let nested: Vec<(String, String)> = package_files("gh")
        .into_iter()
        .map(|(path, text)| (format!("net-1.0.0/{path}"), text))
        .collect();
    let github = zip(&nested);
    let files = tempfile::tempdir().expect("files");
    let tgz_path = files.path().join("net.tgz");
    std::fs::write(&tgz_path, &tarred).expect("write tgz");
    let registry = serve(vec![
        ("/pkg/net.zip".into(), 200, None, zipped.clone()),
        ("/gh/v1.0.0.zip".into(), 200, None, github),
        (
            "/archive/v1.zip".into(),
            302,
            Some("/pkg/net.zip".into()),
            Vec::new(),
        ),
        ("/get?id=7".into(), 200, None, zipped.clone()),
        (
            "/page?terraform-get=1".into(),
            200,
            Some("./pkg/net.zip//modules/inner".into()),
            Vec::new(),
        ),
        ("/files/net-1.2.0.tar.gz".into(), 200, None, tarred.clone()),
        (
            "/v1/modules/acme/net/aws/versions".into(),
            200,
            None,
            r#"{"modules":[{"versions":[{"version":"1.2.0"}]}]}"#.into(),
        ),
        (
            "/v1/modules/acme/net/aws/1.2.0/download".into(),
            204,
            Some("/files/net-1.2.0.tar.gz".into()),
            Vec::new(),
        ),
    ]);
    let base = format!("http://127.0.0.1:{}", registry.port);
    let host = "registry.example.com";
    let config = tempfile::NamedTempFile::new().expect("config");
    std::fs::write(
        config.path(),
        format!("host \"{host}\" {{\n  services = {{\n    \"modules.v1\" = \"{base}/v1/modules/\"\n  }}\n}}\n"),
    )
    .expect("write config");
    let calls = [
        ("zip", format!("{base}/pkg/net.zip"), "zip"),
        ("moved", format!("{base}/archive/v1.zip"), "zip"),
        (
            "glob",
            format!("{base}/gh/v1.0.0.zip//net-*/modules/inner"),
            "gh-inner",
        ),
        (
            "sub",
            format!("{base}/pkg/net.zip//modules/inner"),
            "zip-inner",
        ),
        ("forced", format!("{base}/get?id=7&archive=zip"), "zip"),
        ("page", format!("{base}/page"), "zip-inner"),
        (
            "file",
            format!(
                "file://{}?checksum=sha256:{}",
                tgz_path.display(),
                sha256(&tarred)
            ),
            "tgz",
        ),
        (
            "forced_file",
            format!("file::{}//modules/inner", tgz_path.display()),
            "tgz-inner",
        ),
        ("reg", format!("{host}/acme/net/aws"), "tgz"),
    ];
    let mut main = String::new();
    for (name, source, _) in &calls {
        main.push_str(&format!(
            "module \"{name}\" {{\n  source = \"{source}\"\n  name   = \"{name}\"\n}}\noutput \"{name}\" {{\n  value = module.{name}.v\n}}\n"
        ));
    }
    let dir = stack(&[("main.tf", &main)]);
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
            .args(["-C", dir.path().to_str().expect("utf-8"), "--no-color"])
            .args(args)
            .env("PLINTH_CLI_CONFIG_FILE", config.path())
            .output()
            .expect("run plinth");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["init"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "- reg in .plinth/modules/reg ({host}/acme/net/aws 1.2.0)"
        )) && stdout.contains("- sub in .plinth/modules/sub/modules/inner"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{stderr}");
    for (name, _, version) in &calls {
        assert!(
            stdout.contains(&format!("{name} = \"{name}@{version}\"")),
            "{name}: {stdout}"
        );
    }

    // A checksum that does not match is refused, at the module's line.
    let bad = format!(
        "module \"m\" {{\n  source = \"file://{}?checksum=sha256:{}\"\n}}\n",
        tgz_path.display(),
        "0".repeat(64)
    );
    std::fs::write(dir.path().join("main.tf"), bad).expect("edit");
    let (code, _, stderr) = run(&["init"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("has the sha256 checksum") && stderr.contains("main.tf:2"),
        "{stderr}"
    );
}

/// An archive entry that would land outside the module package (`..`, an absolute
/// path, a symbolic link leading out, directly or through another link, an entry
/// written through a link) is refused, and names the entry; an archive type plinth
/// does not unpack is refused by name, and a plain `.tar` is no archive, as in
/// Terraform.
#[test]
fn archives_that_leave_their_package_are_refused() {
    let files = tempfile::tempdir().expect("files");
    let cases: [(&str, Vec<u8>, &str); 8] = [
        (
            "dots.tgz",
            raw_tar(&[("main.tf", None), ("a/../../evil.tf", None)]),
            "\"a/../../evil.tf\" leaves the module package",
        ),
        (
            "absolute.tgz",
            raw_tar(&[("/tmp/evil.tf", None)]),
            "\"/tmp/evil.tf\" is an absolute path",
        ),
        (
            "link.tgz",
            raw_tar(&[("main.tf", None), ("etc", Some("/etc"))]),
            "\"etc\" is a symbolic link to \"/etc\", outside the module package",
        ),
        (
            "uplink.tgz",
            raw_tar(&[("sub/up", Some("../../x"))]),
            "\"sub/up\" is a symbolic link to \"../../x\"",
        ),
        (
            "relink.tgz",
            raw_tar(&[("a", Some(".")), ("b", Some("a/.."))]),
            "\"b\" is a symbolic link to \"a/..\", which climbs",
        ),
        (
            "through.tgz",
            raw_tar(&[("l", Some("sub")), ("l/x.tf", None)]),
            "\"l/x.tf\" lies inside the symbolic link \"l\"",
        ),
        (
            "net.tar.bz2",
            Vec::new(),
            "is a .tar.bz2 archive; plinth unpacks",
        ),
        ("net.tar", Vec::new(), "the source path must be a directory"),
    ];
    for (name, bytes, want) in cases {
        let path = files.path().join(name);
        std::fs::write(&path, bytes).expect("write archive");
        let dir = stack(&[(
            "main.tf",
            &format!(
                "\nmodule \"m\" {{\n  source = \"file://{}\"\n}}\n",
                path.display()
            ),
        )]);
        let init = plinth(dir.path(), &["init"]);
        assert_eq!(init.code, 1, "{name}: {}", init.stdout);
        assert!(
            init.stderr.contains(want) && init.stderr.contains("main.tf:3"),
            "{name}: {}",
            init.stderr
        );
        assert!(!files.path().join("evil.tf").exists() && !Path::new("/tmp/evil.tf").exists());
    }
    // A link that stays inside the package is kept.
    let path = files.path().join("inside.tgz");
    std::fs::write(
        &path,
        raw_tar(&[("real.tf", None), ("sub/main.tf", Some("../real.tf"))]),
    )
    .expect("write archive");
    let dir = stack(&[(
        "main.tf",
        &format!("module \"m\" {{\n  source = \"file://{}//sub\"\n}}\noutput \"x\" {{\n  value = module.m.x\n}}\n", path.display()),
    )]);
    let init = plinth(dir.path(), &["init"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let validate = plinth(dir.path(), &["validate"]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
}
