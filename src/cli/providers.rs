//! `plinth providers`: which providers the stack needs and where each was found;
//! `plinth providers schema --json`: their schemas, as `terraform providers schema
//! -json` prints them.

use std::path::Path;

use crate::diag::render_text;
use crate::stack::{prepare, ProviderStart, StackOptions};

use super::Output;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Option<ProvidersCommand>,
}

#[derive(clap::Subcommand, Debug)]
enum ProvidersCommand {
    /// Print the schemas of the stack's providers.
    Schema {
        /// As JSON, the shape of `terraform providers schema -json` (required).
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args, out: &Output) -> u8 {
    let options = StackOptions {
        providers: ProviderStart::Required,
        ..StackOptions::default()
    };
    let prepared = prepare(Path::new("."), &options);
    if prepared.diagnostics.has_errors() {
        eprint!(
            "{}",
            render_text(&prepared.sources, &prepared.diagnostics, out.color)
        );
        return 1;
    }
    match args.command {
        Some(ProvidersCommand::Schema { json: false }) => {
            eprintln!("Error: plinth providers schema needs --json (the only format it prints).");
            1
        }
        Some(ProvidersCommand::Schema { json: true }) => {
            let schemas: serde_json::Map<String, serde_json::Value> = prepared
                .started
                .iter()
                .map(|s| (s.requirement.source.to_string(), s.schema.to_json()))
                .collect();
            println!(
                "{}",
                serde_json::json!({ "format_version": "0.2", "provider_schemas": schemas })
            );
            0
        }
        None => {
            println!("Providers required by configuration:");
            for s in &prepared.started {
                let r = &s.requirement;
                println!(
                    "- provider[{}]{} (local name {:?})\n    found in {}: {} (version {}, protocol {})",
                    r.source,
                    r.version
                        .as_deref()
                        .map(|v| format!(" {v}"))
                        .unwrap_or_default(),
                    r.local,
                    s.found.origin,
                    s.found.path.display(),
                    s.found.version.as_deref().unwrap_or("unknown"),
                    s.protocol
                );
            }
            0
        }
    }
}
