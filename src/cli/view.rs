//! The terminal's view of an operation: the plan as text (or JSON), progress lines,
//! the confirmation prompt, the summary and the outputs; errors as plinth has always
//! printed them.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::OnceLock;

use super::progress::ApplyProgress;
use super::Output;
use crate::apply::Progress;
use crate::diag::{render_text, Diagnostics, Sources};
use crate::lang::Value;
use crate::operation::{Notice, OperationError, Question, Summary, View};
use crate::plan::{render, Plan};

pub struct TerminalView {
    color: bool,
    /// The plan as JSON instead of text.
    json: bool,
    /// Confirm without asking.
    auto_approve: bool,
    /// Whether the terminal may be asked anything (`-input=false` and `TF_INPUT=0`
    /// say never).
    input: bool,
    progress: OnceLock<ApplyProgress>,
}

impl TerminalView {
    pub fn new(out: &Output) -> TerminalView {
        TerminalView {
            color: out.color,
            json: false,
            auto_approve: false,
            input: true,
            progress: OnceLock::new(),
        }
    }

    pub fn json(mut self, json: bool) -> TerminalView {
        self.json = json;
        self
    }

    pub fn auto_approve(mut self, yes: bool) -> TerminalView {
        self.auto_approve = yes;
        self
    }

    pub fn input(mut self, allowed: bool) -> TerminalView {
        self.input = allowed;
        self
    }
}

impl View for TerminalView {
    fn diagnostics(&self, sources: &Sources, diagnostics: &Diagnostics) {
        eprint!("{}", render_text(sources, diagnostics, self.color));
    }

    fn notice(&self, notice: Notice<'_>) {
        match notice {
            Notice::TookOverStaleLock(old) => {
                eprintln!("Took over a stale lock: {old}. That process no longer holds it.")
            }
            Notice::PlanningAgain => {
                eprintln!("The state has changes its published copy did not show; planning again.")
            }
            Notice::Importing { address, id } => {
                println!("{address}: Importing from ID {id:?}...")
            }
            Notice::NextStage { stage, waiting } => println!(
                "\n{waiting} deferred resource(s) can be planned now that their provider configuration is known: planning stage {stage}.\n"
            ),
            Notice::NewRunNeeded { waiting } => println!(
                "\n{waiting} resource(s) wait for a provider whose configuration this apply changed; a provider is configured once per run, so run plinth apply again to plan and apply them with the new configuration."
            ),
            Notice::StageLeft { waiting } => println!(
                "\nThis saved plan was partial: {waiting} resource(s) still wait for provider configuration that this apply made known. Run plinth plan (or plinth apply) again to plan and apply them."
            ),
        }
    }

    fn plan(&self, plan: &Plan) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&render::json(plan)).unwrap_or_default()
            );
        } else {
            print!("{}", render::text(plan, self.color));
        }
    }

    fn confirm(&self, question: Question) -> bool {
        if self.auto_approve {
            return true;
        }
        if !self.input {
            eprintln!("\nError: plinth cannot ask for approval: input is turned off (-input=false or TF_INPUT). Add -auto-approve to apply without asking, or save the plan with -out and apply that file.");
            return false;
        }
        let question = match question {
            Question::Destroy => "Do you really want to destroy all resources?",
            Question::Apply => "Do you want to perform these actions?",
        };
        print!("{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        println!();
        line.trim() == "yes"
    }

    fn progress(&self) -> &dyn Progress {
        self.progress.get_or_init(ApplyProgress::new)
    }

    fn summary(&self, summary: Summary<'_>) {
        match summary {
            Summary::Applied {
                imported,
                added,
                changed,
                destroyed,
            } => applied(imported, added, changed, destroyed, 0),
            Summary::AppliedAndForgot {
                imported,
                added,
                changed,
                destroyed,
                forgotten,
            } => applied(imported, added, changed, destroyed, forgotten),
            Summary::Destroyed { destroyed } => {
                println!("\nDestroy complete! Resources: {destroyed} destroyed.")
            }
            Summary::Refreshed { drifted } => println!(
                "\nApply complete! Resources: 0 added, 0 changed, 0 destroyed; the state now records {drifted} change(s) made outside plinth."
            ),
            Summary::NoChanges => {
                println!("No changes. Your infrastructure matches the configuration.")
            }
            Summary::PlanSaved { path } if super::tfcompat::in_automation() => {
                println!("\nSaved the plan to: {}", path.display())
            }
            Summary::PlanSaved { path } => println!(
                "\nSaved the plan to: {}\nTo perform exactly these actions, run: plinth apply {}",
                path.display(),
                path.display()
            ),
            Summary::Imported { address } => println!(
                "{address}: Import prepared!\n\nImport successful!\n\nThe resources that were imported are shown above. These resources are now in\nyour plinth state and will henceforth be managed by plinth."
            ),
            Summary::Removed { addresses } => {
                for a in addresses {
                    println!("Removed {a}");
                }
            }
            Summary::Moved { from, to } => println!("Moved {from} to {to}"),
            Summary::Tainted { address } => {
                println!("Resource instance {address} has been marked as tainted.")
            }
            Summary::Untainted { address } => {
                println!("Resource instance {address} has been successfully untainted.")
            }
            Summary::Recovered { what } => println!("{what}"),
            Summary::Unlocked => println!("plinth state has been successfully unlocked."),
        }
    }

    fn outputs(&self, outputs: &BTreeMap<String, plinth_state::OutputState>) {
        if outputs.is_empty() {
            return;
        }
        println!("\nOutputs:\n");
        for (name, o) in outputs {
            let value = if o.sensitive {
                "<sensitive>".to_string()
            } else {
                Value::from_json(&o.value).render()
            };
            println!("{name} = {value}");
        }
    }
}

/// Prints why an operation stopped, as plinth always has; the exit code is 1.
pub fn report(error: &OperationError) -> u8 {
    match error {
        OperationError::Invalid { .. }
        | OperationError::Declined
        | OperationError::DeclinedStage { .. } => eprintln!("{error}"),
        OperationError::Cancelled { .. } => eprintln!("\n{error}"),
        OperationError::Lock(_) => eprintln!("Error acquiring the state lock: {error}"),
        OperationError::ReadState(_) => eprintln!("Error reading the state: {error}"),
        OperationError::SaveState(_) => eprintln!("Error saving the state: {error}"),
        OperationError::Request(_)
        | OperationError::State(_)
        | OperationError::SavePlan(_)
        | OperationError::PlanRefused { .. }
        | OperationError::AlreadyManaged { .. }
        | OperationError::NoProvider { .. }
        | OperationError::NothingToImport { .. }
        | OperationError::NotInState { .. }
        | OperationError::AlreadyInState { .. }
        | OperationError::NotTainted { .. }
        | OperationError::DataNotTaintable { .. }
        | OperationError::Unlock(_) => eprintln!("Error: {error}"),
    }
    1
}

/// Terraform's apply summary line; imports and forgotten objects are named only when
/// there are any.
fn applied(imported: usize, added: usize, changed: usize, destroyed: usize, forgotten: usize) {
    let imported = if imported == 0 {
        String::new()
    } else {
        format!("{imported} imported, ")
    };
    let forgotten = if forgotten == 0 {
        String::new()
    } else {
        format!(", {forgotten} forgotten")
    };
    println!(
        "\nApply complete! Resources: {imported}{added} added, {changed} changed, {destroyed} destroyed{forgotten}."
    );
}
