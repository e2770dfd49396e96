//! Read-only views of the state: `plinth output`, `plinth state list|show|pull|history`,
//! and `plinth force-unlock`. They work while an apply holds the state, from the
//! snapshot it publishes.

use std::path::Path;

use plinth_state::Snapshot;

use super::view::{report, TerminalView};
use super::Output;
use crate::lang::Value;
use crate::operation::{self, RecoverFrom};

/// The state as readers see it: never from the store a writer holds (that would
/// make it fail), never an empty state in place of one that cannot be read whole.
fn read(dir: &Path) -> Result<Snapshot, u8> {
    super::store(dir)?.read().map_err(|e| {
        eprintln!("Error: {e}");
        1
    })
}

#[derive(clap::Args, Debug)]
pub struct OutputArgs {
    /// One output to print.
    name: Option<String>,
    /// Print as JSON (the shape of terraform output -json).
    #[arg(long)]
    json: bool,
    /// Print a string output's bare value, for scripts.
    #[arg(long)]
    raw: bool,
}

pub fn output(args: OutputArgs) -> u8 {
    let snapshot = match read(Path::new(".")) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let json_of = |o: &plinth_state::OutputState| serde_json::json!({ "sensitive": o.sensitive, "value": o.value });
    match &args.name {
        Some(name) => {
            let Some(o) = snapshot.outputs.get(name) else {
                eprintln!("Error: output {name:?} not found. The state has no output of that name; run plinth apply first, or check the name.");
                return 1;
            };
            if args.json {
                println!("{}", o.value);
            } else if args.raw {
                match &o.value {
                    serde_json::Value::String(s) => print!("{s}"),
                    serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                        print!("{}", o.value)
                    }
                    _ => {
                        eprintln!("Error: --raw prints only strings, numbers and bools; use --json for {name}.");
                        return 1;
                    }
                }
            } else {
                println!("{}", Value::from_json(&o.value).render());
            }
        }
        None if args.json => {
            let map: serde_json::Map<String, serde_json::Value> = snapshot
                .outputs
                .iter()
                .map(|(k, o)| (k.clone(), json_of(o)))
                .collect();
            println!("{}", serde_json::to_string_pretty(&map).unwrap_or_default());
        }
        None => {
            for (name, o) in &snapshot.outputs {
                let v = if o.sensitive {
                    "<sensitive>".to_string()
                } else {
                    Value::from_json(&o.value).render()
                };
                println!("{name} = {v}");
            }
        }
    }
    0
}

#[derive(clap::Subcommand, Debug)]
pub enum StateCommand {
    /// List the resource instances in state.
    List,
    /// Show one instance's attributes (optionally as of an earlier serial).
    Show {
        address: String,
        #[arg(long)]
        serial: Option<u64>,
    },
    /// Print the whole state as JSON.
    Pull,
    /// List every committed serial.
    History,
    /// Forget instances (plinth stops managing them; nothing is destroyed).
    Rm {
        #[arg(required = true)]
        addresses: Vec<String>,
    },
    /// Rename an instance in state (as a moved block would).
    Mv { from: String, to: String },
    /// Repair a state whose database or published copy is missing or damaged, from
    /// the part that is whole (or the one --from names). Damaged parts are moved aside.
    Recover {
        #[arg(long, value_enum)]
        from: Option<RecoverSource>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum RecoverSource {
    /// Write the published copy again from the database.
    Database,
    /// Build the database again from the published copy (snapshot and journal).
    Copy,
}

/// Runs a state edit against the selected workspace's store.
fn edit(
    dir: &Path,
    out: &Output,
    run: impl FnOnce(&operation::Store, &TerminalView) -> operation::Result<()>,
) -> u8 {
    let store = match super::store(dir) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match run(&store, &TerminalView::new(out)) {
        Ok(()) => 0,
        Err(e) => report(&e),
    }
}

pub fn state(cmd: StateCommand, out: &Output) -> u8 {
    let dir = Path::new(".");
    match cmd {
        StateCommand::Rm { addresses } => edit(dir, out, |store, view| {
            operation::state_rm(store, view, &addresses)
        }),
        StateCommand::Mv { from, to } => edit(dir, out, |store, view| {
            operation::state_mv(store, view, &from, &to)
        }),
        StateCommand::List => match read(dir) {
            Ok(s) => {
                for a in s.resources.keys() {
                    println!("{a}");
                }
                0
            }
            Err(c) => c,
        },
        StateCommand::Show { address, serial } => {
            let snapshot = match serial {
                None => read(dir),
                Some(n) => super::store(dir).and_then(|s| {
                    s.snapshot_at(n).map_err(|e| {
                        eprintln!("Error reading serial {n}: {e}");
                        1
                    })
                }),
            };
            let snapshot = match snapshot {
                Ok(s) => s,
                Err(c) => return c,
            };
            let Some(rs) = snapshot.resources.get(&address) else {
                eprintln!("Error: no instance {address} in state.");
                return 1;
            };
            print_instance(&address, rs);
            0
        }
        StateCommand::Pull => match read(dir) {
            Ok(s) => {
                println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
                0
            }
            Err(c) => c,
        },
        StateCommand::Recover { from } => {
            let from = from.map(|f| match f {
                RecoverSource::Database => RecoverFrom::Database,
                RecoverSource::Copy => RecoverFrom::Copy,
            });
            edit(dir, out, |store, view| {
                operation::recover(store, view, from)
            })
        }
        StateCommand::History => match super::store(dir) {
            Err(code) => code,
            Ok(s) => history(&s),
        },
    }
}

/// One instance's attributes, every path state records as sensitive (at any depth)
/// masked.
fn print_instance(address: &str, rs: &plinth_state::ResourceState) {
    // Terraform's words for an instance the next plan replaces.
    let mark = if rs.tainted { " (tainted)" } else { "" };
    println!("# {address}:{mark}");
    let (value, all) = crate::plan::state_value(rs).unmark();
    if let Value::Object(m) = value {
        let width = m.keys().map(String::len).max().unwrap_or(0);
        for (k, v) in m {
            println!("{k:<width$} = {}", v.mark(all).render());
        }
    }
}

/// `plinth show` with no plan file: the current state, as text or in the shape of
/// Terraform's JSON state.
pub fn show(json: bool) -> u8 {
    let snapshot = match read(Path::new(".")) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if json {
        let doc = crate::plan::json_state::document(&snapshot);
        println!("{}", serde_json::to_string(&doc).unwrap_or_default());
        return 0;
    }
    if snapshot.resources.is_empty() && snapshot.outputs.is_empty() {
        println!("No state.");
        return 0;
    }
    for (address, rs) in &snapshot.resources {
        print_instance(address, rs);
        println!();
    }
    if !snapshot.outputs.is_empty() {
        println!("Outputs:\n");
        for (name, o) in &snapshot.outputs {
            let v = if o.sensitive {
                "(sensitive value)".to_string()
            } else {
                Value::from_json(&o.value).render()
            };
            println!("{name} = {v}");
        }
    }
    0
}

fn history(store: &operation::Store) -> u8 {
    match store.history() {
        Ok(h) => {
            for e in h {
                let c = &e.commit;
                println!(
                    "{:>6}  {}  +{} -{} ~{} intents +{} -{}",
                    e.serial,
                    plinth_state::format_time(e.time),
                    c.put.len(),
                    c.remove.len(),
                    c.rename.len(),
                    c.begin_intents.len(),
                    c.end_intents.len()
                );
            }
            0
        }
        Err(e) => {
            eprintln!("Error reading the history: {e}");
            1
        }
    }
}

/// `plinth taint ADDR` (`tainted`) and `plinth untaint ADDR`.
pub fn taint(address: &str, tainted: bool, out: &Output) -> u8 {
    edit(Path::new("."), out, |store, view| {
        if tainted {
            operation::taint(store, view, address)
        } else {
            operation::untaint(store, view, address)
        }
    })
}

pub fn force_unlock(id: &str, out: &Output) -> u8 {
    edit(Path::new("."), out, |store, view| {
        operation::force_unlock(store, view, id)
    })
}
