use std::path::Path;

use super::{Output, VarOptions};
use crate::diag::render_text;
use crate::graph::render;
use crate::stack::load_and_evaluate;

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum Format {
    #[default]
    Dot,
    Mermaid,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    format: Format,
    #[command(flatten)]
    vars: VarOptions,
}

pub fn run(args: Args, matches: &clap::ArgMatches, out: &Output) -> u8 {
    let mut options = args.vars.stack_options(matches);
    options.providers = crate::stack::ProviderStart::Never;
    let stack = load_and_evaluate(Path::new("."), &options);
    if stack.diagnostics.has_errors() {
        eprint!(
            "{}",
            render_text(&stack.sources, &stack.diagnostics, out.color)
        );
        return 1;
    }
    let text = match args.format {
        Format::Dot => render::dot(&stack.config, &stack.graph),
        Format::Mermaid => render::mermaid(&stack.config, &stack.graph),
    };
    print!("{text}");
    0
}
