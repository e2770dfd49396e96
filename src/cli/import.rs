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
    #[command(flatten)]
    terraform: super::tfcompat::RunFlags,
}

pub fn run(args: Args, matches: &clap::ArgMatches, out: &Output) -> u8 {
    if let Err(code) = super::tfcompat::refuse_unlocked(args.terraform.lock) {
        return code;
    }
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
    let view = TerminalView::new(out).input(super::tfcompat::input_allowed(args.terraform.input));
    match operation::import(&request, &store, &view) {
        Ok(()) => 0,
        Err(e) => report(&e),
    }
}
