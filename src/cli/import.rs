//! `plinth import ADDR ID`: brings an existing object under management. The address
//! must be declared in the configuration; the provider finds the object by id
//! (ImportResourceState, then ReadResource) and it is saved to state at once.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use plinth_state::{Commit, GroupCommit, ResourceState, SledStore, StateStore};

use super::run::{fail, take_lock};
use super::Output;
use crate::addrs::ResourceInstance;
use crate::apply::configure_providers;
use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::declared_resource;
use crate::plugin::runtime;
use crate::stack::{prepare, ProviderStart};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The instance address to import to, e.g. local_file.config or aws_instance.web[0].
    #[arg(value_parser = ResourceInstance::parse)]
    address: ResourceInstance,
    /// The provider's id of the existing object.
    id: String,
    #[command(flatten)]
    vars: super::VarOptions,
}

pub fn run(args: Args, matches: &clap::ArgMatches, out: &Output) -> u8 {
    let mut options = args.vars.stack_options(matches);
    options.providers = ProviderStart::Required;
    let dir = Path::new(".");
    let prepared = prepare(dir, &options);
    if prepared.diagnostics.has_errors() {
        return fail(
            &prepared.sources,
            &prepared.diagnostics.clone().sorted_unique(),
            out,
        );
    }
    let single = |d: Diagnostic| {
        let mut diags = Diagnostics::default();
        diags.push(d);
        diags
    };
    if declared_resource(&prepared.config, &args.address).is_none() {
        return fail(
            &prepared.sources,
            &single(
                Diagnostic::error("Configuration for import target does not exist").detail(
                    format!(
                        "The configuration for the given import address {} does not exist. All import targets must be declared in the configuration.",
                        args.address
                    ),
                ),
            ),
            out,
        );
    }
    let wdir = match super::workspace_dir(dir) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let lock = match take_lock(&wdir, "import", Duration::ZERO) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let store = match SledStore::open(&wdir.join("store")) {
        Ok(s) => Arc::new(GroupCommit::new(s)),
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let code = import(&prepared, store.as_ref(), &args, out);
    drop(store);
    drop(lock);
    code
}

fn import(
    prepared: &crate::stack::Prepared,
    store: &dyn StateStore,
    args: &Args,
    out: &Output,
) -> u8 {
    match store.snapshot() {
        Ok(s) if s.resources.contains_key(&args.address.to_string()) => {
            eprintln!(
                "Error: Resource already managed by plinth\n\n{} is already in the state; to import it again, first remove it with plinth state rm {}.",
                args.address, args.address
            );
            return 1;
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("Error reading the state: {e}");
            return 1;
        }
    }
    let configured = configure_providers(prepared);
    if configured.has_errors() {
        return fail(&prepared.sources, &configured, out);
    }
    let type_name = &args.address.resource.type_name;
    let Some((provider_address, provider)) = prepared.providers.for_type(type_name) else {
        eprintln!("Error: no provider serves {type_name}.");
        return 1;
    };
    println!("{}: Importing from ID {:?}...", args.address, args.id);
    let outcome = runtime().block_on(provider.import(type_name, &args.id));
    let object = match outcome {
        Ok(o) => o,
        Err(d) => return fail(&prepared.sources, &d, out),
    };
    let Some(value) = object.value else {
        eprintln!(
            "Error: Cannot import non-existent remote object {:?}.",
            args.id
        );
        return 1;
    };
    let state = ResourceState {
        address: args.address.to_string(),
        provider: provider_address.to_string(),
        schema_version: 0,
        sensitive_paths: value.sensitive_paths(),
        attributes: value.deep_unmark().to_json(),
        private: object.private,
        dependencies: Vec::new(),
        create_before_destroy: false,
    };
    if let Err(e) = store.commit(Commit {
        put: vec![state],
        ..Commit::default()
    }) {
        eprintln!("Error saving the state: {e}");
        return 1;
    }
    println!(
        "{}: Import prepared!\n\nImport successful!\n\nThe resources that were imported are shown above. These resources are now in\nyour plinth state and will henceforth be managed by plinth.",
        args.address
    );
    0
}
