use super::Output;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only check; exit 3 if any file is not formatted.
    #[arg(long)]
    check: bool,
    /// Show the changes as a diff.
    #[arg(long)]
    diff: bool,
}

pub fn run(_args: Args, _out: &Output) -> u8 {
    eprintln!("plinth fmt is not available yet.");
    1
}
