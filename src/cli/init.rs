//! `plinth init`: installs the stack's remote modules into `.plinth/modules/` (see
//! `crate::modules`), and its providers from local directories (no network)
//! into `.plinth/providers/`, in the registry layout, and records each exact version
//! and binary SHA-256 in `.plinth.lock.hcl`. A binary that no longer matches the lock
//! is refused unless `--upgrade`.

use std::path::{Path, PathBuf};

use crate::config::load_stack_with;
use crate::diag::{render_text, Sources};
use crate::modules::install::Installer;
use crate::plugin::discovery::{find_in, platform, plugin_dirs};
use crate::plugin::lockfile::{self, Locked};
use crate::plugin::start::{file_hash, requirements};

use super::Output;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A directory to install providers from: a filesystem mirror in the registry
    /// layout, or a flat directory of terraform-provider-<type>[_v<version>]
    /// executables (repeatable; PLINTH_PLUGIN_DIR is searched after these).
    #[arg(long = "plugin-dir", value_name = "DIR")]
    plugin_dir: Vec<PathBuf>,
    /// Accept binaries and versions different from those the lock file records, and
    /// install every remote module again (the newest versions the constraints allow).
    #[arg(long)]
    upgrade: bool,
    /// A module mirror to install registry modules from: a directory in the layout
    /// HOST/NAMESPACE/NAME/SYSTEM/VERSION/ (repeatable; PLINTH_MODULE_MIRROR, a list
    /// of directories, is searched after these).
    #[arg(long = "module-mirror", value_name = "DIR")]
    module_mirror: Vec<PathBuf>,
    #[command(flatten)]
    terraform: super::tfcompat::InitFlags,
}

pub fn run(args: Args, out: &Output) -> u8 {
    let dir = Path::new(".");
    let mut sources = Sources::default();
    let mut mirrors = args.module_mirror.clone();
    if let Some(list) = std::env::var_os("PLINTH_MODULE_MIRROR") {
        mirrors.extend(std::env::split_paths(&list));
    }
    let (config, diags) = if args.terraform.get == Some(false) {
        // -get=false: modules stay as installed.
        load_stack_with(dir, &mut sources, &mut crate::modules::Installed::new(dir))
    } else {
        let mut installer = Installer::new(dir, mirrors, args.upgrade);
        let loaded = load_stack_with(dir, &mut sources, &mut installer);
        if !installer.log.is_empty() {
            println!("Initializing modules...");
            for line in &installer.log {
                println!("{line}");
            }
        }
        if let Err(e) = installer.finish() {
            eprintln!("Error: {e}");
            return 1;
        }
        loaded
    };
    let (needed, more) = requirements(&config);
    let mut diags = diags;
    diags.extend(more);
    if diags.has_errors() {
        eprint!("{}", render_text(&sources, &diags, out.color));
        return 1;
    }
    let mut lock = match lockfile::read(dir) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let mut places: Vec<(PathBuf, String)> = args
        .plugin_dir
        .iter()
        .map(|d| (d.clone(), format!("--plugin-dir {}", d.display())))
        .collect();
    places.extend(plugin_dirs());
    if needed.is_empty() {
        println!("plinth has been initialized: this stack uses only built-in resources.");
        return 0;
    }
    let mut failed = false;
    for r in &needed {
        let found = match find_in(&places, &r.source, r.version.as_deref()) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
                continue;
            }
        };
        let hash = match file_hash(&found.path) {
            Ok(h) => format!("sha256:{h}"),
            Err(e) => {
                eprintln!("Error: cannot read {}: {e}", found.path.display());
                failed = true;
                continue;
            }
        };
        let version = found.version.clone().unwrap_or_else(|| "0.0.0".to_string());
        let key = r.source.to_string();
        if let Some(locked) = lock.get(&key) {
            let same = locked.version == version && locked.hashes.contains(&hash);
            if !same && !args.upgrade {
                eprintln!(
                    "Error: {} {version} at {} ({hash}) does not match {}: it records version {} with {}. Nothing was installed for it; run plinth init --upgrade to accept the new binary.",
                    r.source.short(),
                    found.path.display(),
                    lockfile::FILE,
                    locked.version,
                    locked.hashes.join(", ")
                );
                failed = true;
                continue;
            }
        }
        let target_dir = dir
            .join(".plinth/providers")
            .join(&r.source.host)
            .join(&r.source.namespace)
            .join(&r.source.type_name)
            .join(&version)
            .join(platform());
        let target = target_dir.join(format!(
            "terraform-provider-{}_v{version}",
            r.source.type_name
        ));
        // Never through a link planted under .plinth/: checked directories, a new
        // temporary file, a rename.
        let installed = plinth_state::safe_fs::create_dirs(&target_dir)
            .and_then(|()| plinth_state::safe_fs::copy_atomic(&found.path, &target, 0o755));
        if let Err(e) = installed {
            eprintln!("Error: cannot install {}: {e}", target.display());
            failed = true;
            continue;
        }
        println!(
            "- Installed {} v{version} from {} ({hash})",
            r.source.short(),
            found.origin
        );
        lock.insert(
            key,
            Locked {
                version,
                constraints: r.version.clone(),
                hashes: vec![hash],
            },
        );
    }
    if let Err(e) = lockfile::write(dir, &lock) {
        eprintln!("Error: {e}");
        return 1;
    }
    if failed {
        return 1;
    }
    println!(
        "\nplinth has been initialized: provider versions and hashes are recorded in {}.",
        lockfile::FILE
    );
    0
}
