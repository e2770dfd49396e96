//! `plinth reconcile STACK...`: drift schedules as a long-running service (or once),
//! and `plinth reconcile history`.

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The stack directories.
    pub stacks: Vec<std::path::PathBuf>,
}

pub fn run(_args: Args, _out: &super::Output) -> u8 {
    eprintln!("Error: plinth reconcile is being built.");
    1
}
