//! `plinth drift`: refresh everything, change nothing, and report what differs.

use super::{unmanaged, Output, VarOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    unmanaged: unmanaged::Args,
    #[command(flatten)]
    vars: VarOptions,
}

pub fn run(args: Args, matches: &clap::ArgMatches, out: &Output) -> u8 {
    if args.unmanaged.wanted() {
        return unmanaged::run(&args.unmanaged, matches, out);
    }
    let _ = args.vars;
    1
}
