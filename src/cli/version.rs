//! `plinth version`: plinth's version, and with `--json` Terraform's `version -json`
//! shape (the language version plinth follows, the platform, the locked providers).

use std::path::Path;

use crate::plugin::{discovery::platform, lockfile};
use crate::TERRAFORM_VERSION;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// As JSON: terraform_version, plinth_version, platform, provider_selections.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> u8 {
    if !args.json {
        println!("plinth v{}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    // As Terraform, the providers the lock file selects; an unreadable lock file
    // selects none.
    let selections: serde_json::Map<String, serde_json::Value> = lockfile::read(Path::new("."))
        .map(|lock| {
            lock.into_iter()
                .map(|(source, locked)| (source, serde_json::json!(locked.version)))
                .collect()
        })
        .unwrap_or_default();
    let doc = serde_json::json!({
        "terraform_version": TERRAFORM_VERSION,
        "plinth_version": env!("CARGO_PKG_VERSION"),
        "platform": platform(),
        "provider_selections": selections,
        "terraform_outdated": false,
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    0
}
