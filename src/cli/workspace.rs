//! `plinth workspace new|select|list|show|delete`: each workspace has its own state.

use std::path::Path;

use plinth_state::workspace::{self, valid_name, workspace_dir, DEFAULT};

#[derive(clap::Subcommand, Debug)]
pub enum WorkspaceCommand {
    /// List workspaces; the selected one is marked with *.
    List,
    /// Print the selected workspace.
    Show,
    /// Create a workspace and select it.
    New { name: String },
    /// Select a workspace.
    Select { name: String },
    /// Delete a workspace (it must hold no resources unless --force).
    Delete {
        name: String,
        #[arg(long)]
        force: bool,
    },
}

fn exists(dir: &Path, name: &str) -> bool {
    name == DEFAULT || workspace_dir(dir, name).is_dir()
}

pub fn run(cmd: WorkspaceCommand) -> u8 {
    let dir = Path::new(".");
    let current = match workspace::current(dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let fail = |message: String| {
        eprintln!("Error: {message}");
        1
    };
    let named = match &cmd {
        WorkspaceCommand::New { name }
        | WorkspaceCommand::Select { name }
        | WorkspaceCommand::Delete { name, .. } => Some(name),
        WorkspaceCommand::List | WorkspaceCommand::Show => None,
    };
    if let Some(name) = named.filter(|n| !valid_name(n)) {
        return fail(workspace::invalid_name_message(name));
    }
    match cmd {
        WorkspaceCommand::List => {
            for name in workspace::list(dir) {
                let mark = if name == current { "*" } else { " " };
                println!("{mark} {name}");
            }
            0
        }
        WorkspaceCommand::Show => {
            println!("{current}");
            0
        }
        WorkspaceCommand::New { name } => {
            if exists(dir, &name) {
                return fail(format!("workspace {name:?} already exists."));
            }
            if let Err(e) = plinth_state::safe_fs::create_dirs(&workspace_dir(dir, &name))
                .and_then(|_| workspace::select(dir, &name))
            {
                return fail(format!("cannot create workspace {name:?}: {e}"));
            }
            println!("Created and switched to workspace {name:?}.");
            0
        }
        WorkspaceCommand::Select { name } => {
            if !exists(dir, &name) {
                return fail(format!("workspace {name:?} does not exist. Create it with: plinth workspace new {name}"));
            }
            if let Err(e) = workspace::select(dir, &name) {
                return fail(format!("cannot select workspace {name:?}: {e}"));
            }
            println!("Switched to workspace {name:?}.");
            0
        }
        WorkspaceCommand::Delete { name, force } => {
            if name == DEFAULT {
                return fail("the default workspace cannot be deleted.".into());
            }
            if name == current {
                return fail(format!(
                    "workspace {name:?} is selected; select another one before deleting it."
                ));
            }
            if !exists(dir, &name) {
                return fail(format!("workspace {name:?} does not exist."));
            }
            let held = match crate::operation::Store::workspace(dir, &name).read() {
                Ok(s) => s.resources.len(),
                Err(e) if !force => return fail(format!("{e}")),
                Err(_) => 0,
            };
            if held > 0 && !force {
                return fail(format!("workspace {name:?} still tracks {held} resource instance(s); destroy them first, or pass --force to forget them."));
            }
            if let Err(e) = std::fs::remove_dir_all(workspace_dir(dir, &name)) {
                return fail(format!("cannot delete workspace {name:?}: {e}"));
            }
            println!("Deleted workspace {name:?}.");
            0
        }
    }
}
