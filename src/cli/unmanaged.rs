//! `plinth drift --unmanaged`: objects that exist but are in no state of the given
//! stacks, each as an `import` block ready to paste.

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// List the objects the stack's providers can see that no given state holds.
    #[arg(long)]
    pub unmanaged: bool,
}

impl Args {
    pub fn wanted(&self) -> bool {
        self.unmanaged
    }
}

pub fn run(_args: &Args, _matches: &clap::ArgMatches, _out: &super::Output) -> u8 {
    eprintln!("Error: plinth drift --unmanaged is being built.");
    1
}
