//! Read-only views of the state: `plinth output`, `plinth state list|show|pull|history`,
//! and `plinth force-unlock`. They work while an apply holds the state, from the
//! snapshot it publishes.

use std::path::Path;

use plinth_state::lock::StackLock;
use plinth_state::{workspace, SledStore, Snapshot, StateStore};

use crate::lang::Value;

fn store_dir(dir: &Path) -> std::path::PathBuf {
    workspace::workspace_dir(dir, &workspace::current(dir)).join("store")
}

fn read(dir: &Path) -> Result<Snapshot, u8> {
    SledStore::read(&store_dir(dir)).map_err(|e| {
        eprintln!("Error reading the state: {e}");
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
}

pub fn state(cmd: StateCommand) -> u8 {
    let dir = Path::new(".");
    match cmd {
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
                Some(n) => SledStore::open(&store_dir(dir))
                    .and_then(|s| s.snapshot_at(n))
                    .map_err(|e| {
                        eprintln!("Error reading serial {n}: {e}");
                        1
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
            println!("# {address}:");
            let value = Value::from_json(&rs.attributes);
            if let Value::Object(m) = value {
                let width = m.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in m {
                    let sensitive = rs.sensitive_paths.iter().any(|p| {
                        p.is_empty() || p.first().and_then(|x| x.as_str()) == Some(k.as_str())
                    });
                    let text = if sensitive {
                        "(sensitive value)".to_string()
                    } else {
                        v.render()
                    };
                    println!("{k:<width$} = {text}");
                }
            }
            0
        }
        StateCommand::Pull => match read(dir) {
            Ok(s) => {
                println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
                0
            }
            Err(c) => c,
        },
        StateCommand::History => match SledStore::open(&store_dir(dir)).and_then(|s| s.history()) {
            Ok(h) => {
                for e in h {
                    let c = &e.commit;
                    println!(
                        "{:>6}  {}  +{} -{} ~{} intents +{} -{}",
                        e.serial,
                        plinth_state::lock::format_time(e.time),
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
        },
    }
}

pub fn force_unlock(id: &str) -> u8 {
    let dir = workspace::workspace_dir(Path::new("."), &workspace::current(Path::new(".")));
    match StackLock::force_unlock(&dir, id) {
        Ok(()) => {
            println!("plinth state has been successfully unlocked.");
            0
        }
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}
