//! `import ADDR ID`: brings an existing object under management. The address must be
//! declared in the configuration; the provider configuration that resource uses
//! finds the object by id (ImportResourceState, then ReadResource), and it is saved
//! to state at once, under the provider's current schema version.

use crate::addrs::ResourceInstance;
use std::path::PathBuf;
use std::time::Duration;

use plinth_state::{Commit, ResourceState};

use super::run::prepare_checked;
use super::{check, fail, lock, Notice, OperationError, Result, Store, Summary, View};
use crate::apply::configure_providers;
use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::declared_resource;
use crate::plugin::runtime;
use crate::stack::StackOptions;

#[derive(Clone, Debug)]
pub struct ImportRequest {
    /// The stack directory.
    pub dir: PathBuf,
    pub stack: StackOptions,
    /// The instance address to import to, e.g. `aws_instance.web[0]`.
    pub address: ResourceInstance,
    /// The provider's id of the existing object.
    pub id: String,
}

pub fn import(request: &ImportRequest, store: &Store, view: &dyn View) -> Result<()> {
    let prepared = prepare_checked(&request.dir, &request.stack, view)?;
    let instance = &request.address;
    // State keys are the address's text.
    let address = &instance.to_string();
    let Some(resource) = declared_resource(&prepared.config, instance) else {
        let mut diags = Diagnostics::default();
        diags.push(
            Diagnostic::error("Configuration for import target does not exist").detail(format!(
                "The configuration for the given import address {address} does not exist. All import targets must be declared in the configuration."
            )),
        );
        return Err(fail(view, &prepared.sources, &diags));
    };
    let locked = lock(store, view, "import", Duration::ZERO)?;
    let store = locked.open().map_err(OperationError::State)?;
    let prior = match store.snapshot() {
        Ok(s) if s.resources.contains_key(address) => {
            return Err(OperationError::AlreadyManaged {
                address: address.clone(),
            })
        }
        Ok(s) => s,
        Err(e) => return Err(OperationError::ReadState(e)),
    };
    let (deferral, configured) = configure_providers(&prepared, &prior);
    check(view, &prepared.sources, &configured)?;
    let unknown =
        crate::plugin::Providers::config_key(resource).and_then(|k| deferral.provider(&k));
    if let Some(p) = unknown {
        return Err(OperationError::Request(format!(
            "cannot import {address}: the {} is unknown until what it comes from is applied. Run plinth apply first.",
            p.describe()
        )));
    }
    let Some((provider_address, provider)) = prepared.providers.for_resource(resource) else {
        return Err(OperationError::NoProvider {
            type_name: resource.type_name.clone(),
        });
    };
    view.notice(Notice::Importing {
        address,
        id: &request.id,
    });
    let object = runtime().block_on(provider.import(&resource.type_name, &request.id));
    let object = match object {
        Ok(o) => o,
        Err(d) => return Err(fail(view, &prepared.sources, &d)),
    };
    let Some(value) = object.value else {
        return Err(OperationError::NothingToImport {
            id: request.id.clone(),
        });
    };
    let state = ResourceState {
        address: address.clone(),
        provider: provider_address.to_string(),
        schema_version: provider.schema_version(&resource.type_name),
        sensitive_paths: value.sensitive_paths(),
        attributes: value.deep_unmark().to_json(),
        private: object.private,
        dependencies: Vec::new(),
        create_before_destroy: false,
        tainted: false,
    };
    store
        .commit(Commit {
            put: vec![state],
            ..Commit::default()
        })
        .map_err(OperationError::SaveState)?;
    view.summary(Summary::Imported { address });
    Ok(())
}
