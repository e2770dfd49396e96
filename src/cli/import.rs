//! `plinth import ADDR ID`: the import operation, rendered by the terminal's view.

use std::path::Path;

use super::view::{report, TerminalView};
use super::Output;
use crate::operation::{self, ImportRequest};
use crate::stack::ProviderStart;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The instance address to import to, e.g. local_file.config or aws_instance.web[0].
    #[arg(value_parser = crate::addrs::ResourceInstance::parse)]
    address: crate::addrs::ResourceInstance,
    /// The provider's id of the existing object.
    id: String,
    #[command(flatten)]
    vars: super::VarOptions,
}

pub fn run(args: Args, matches: &clap::ArgMatches, out: &Output) -> u8 {
    let mut stack = args.vars.stack_options(matches);
    stack.providers = ProviderStart::Required;
    let dir = Path::new(".");
    let store = match super::store(dir) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let request = ImportRequest {
        dir: dir.to_path_buf(),
        stack,
        address: args.address,
        id: args.id,
    };
    match operation::import(&request, &store, &TerminalView::new(out)) {
        Ok(()) => 0,
        Err(e) => report(&e),
    }
}
