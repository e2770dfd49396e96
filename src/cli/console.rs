//! `plinth console`: an expression prompt over the current stack, like `terraform
//! console`, evaluated by `operation::Console`. `exit` or end of input leaves.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use super::Output;
use crate::diag::{render_text, Diagnostics};
use crate::operation::Console;
use crate::stack::{load_and_evaluate, ProviderStart};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    vars: super::VarOptions,
}

pub fn run(args: Args, matches: &clap::ArgMatches, out: &Output) -> u8 {
    let mut options = args.vars.stack_options(matches);
    options.providers = ProviderStart::Never;
    let dir = Path::new(".");
    let stack = load_and_evaluate(dir, &options);
    if stack.diagnostics.has_errors() {
        eprint!(
            "{}",
            render_text(&stack.sources, &stack.diagnostics, out.color)
        );
        return 1;
    }
    let name = match plinth_state::workspace::current(dir) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let state = match crate::operation::Store::workspace(dir, &name).read() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let console = Console::new(stack, state, name);
    let interactive = std::io::stdin().is_terminal();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            print!("> ");
            let _ = std::io::stdout().flush();
        }
        let Some(Ok(line)) = lines.next() else {
            break;
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "exit" {
            break;
        }
        let evaluated = console.eval(line);
        match evaluated.result {
            Ok(v) => println!("{}", v.render()),
            Err(d) => {
                let mut diags = Diagnostics::default();
                diags.push(d);
                eprint!("{}", render_text(&evaluated.sources, &diags, out.color));
                if !interactive {
                    return 1;
                }
            }
        }
    }
    0
}
