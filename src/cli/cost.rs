//! `plinth cost [FILE]`: the monthly cost of a saved plan, or of a plan made now,
//! priced from the built-in catalog or `--catalog FILE`; as a table or, with
//! `--json`, in Infracost's field names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::view::{report, TerminalView};
use super::{Output, VarOptions};
use crate::apply::{ChangeOptions, Progress};
use crate::diag::{Diagnostics, Sources};
use crate::operation::{self, CancelToken, Notice, Question, RunRequest, Summary, View};
use crate::plan::file::PlanFile;
use crate::plan::Plan;
use crate::preview::cost::{self, Catalog, EstimateOptions};
use crate::stack::ProviderStart;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A plan saved with `plinth plan --out` (default: plan the stack now). Its
    /// variables are the ones it was planned with, so it takes no --var.
    #[arg(value_name = "PLAN_FILE", conflicts_with_all = ["var", "var_file"])]
    file: Option<PathBuf>,
    /// Print the estimate as JSON, in Infracost's `breakdown --format json` field names.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    prices: PriceArgs,
    #[command(flatten)]
    vars: VarOptions,
}

/// Where prices come from: `plinth cost`, and the cost figures of `plan` and `show`
/// (the Markdown comment, the policy input).
#[derive(clap::Args, Debug, Default)]
pub struct PriceArgs {
    /// Price from this catalog instead of the built-in one (same format).
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// The AWS region for resources whose own configuration and provider block do
    /// not say one.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
}

/// A catalog read and the options to price with.
pub struct Prices {
    catalog: Catalog,
    options: EstimateOptions,
}

impl PriceArgs {
    /// The catalog `--catalog` names (else the built-in one), or 1 after printing why
    /// it cannot be used.
    pub fn prices(&self) -> Result<Prices, u8> {
        let catalog = match &self.catalog {
            Some(path) => Catalog::read(path).map_err(|e| {
                eprintln!("Error: the catalog cannot be used: {e}");
                1
            })?,
            None => Catalog::built_in(),
        };
        Ok(Prices {
            catalog,
            options: EstimateOptions {
                region: self.region.clone(),
            },
        })
    }
}

impl Prices {
    pub fn estimate(&self, plan: &Plan) -> cost::CostReport {
        cost::estimate(plan, &self.catalog, &self.options)
    }
}

pub fn run(args: Args, matches: &clap::ArgMatches, out: &Output) -> u8 {
    let prices = match args.prices.prices() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let (plan, project) = match &args.file {
        Some(path) => match PlanFile::read(path) {
            Ok(file) => (file.plan(), path.display().to_string()),
            Err(e) => {
                eprintln!("Error: {e}");
                return 1;
            }
        },
        None => match plan_quietly(&args.vars, matches, out) {
            Ok(done) => (done.plan, ".".to_string()),
            Err(code) => return code,
        },
    };
    let estimate = prices.estimate(&plan);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&estimate.to_json_named(&project)).unwrap_or_default()
        );
    } else {
        print!("{}", cost::text::text(&estimate));
    }
    0
}

/// Plans the stack in the working directory as `plinth plan` does, without
/// printing the plan (`cost` and `drift` print what they make of it).
pub(super) fn plan_quietly(
    vars: &VarOptions,
    matches: &clap::ArgMatches,
    out: &Output,
) -> Result<operation::PlanOutcome, u8> {
    let dir = Path::new(".");
    let mut stack = vars.stack_options(matches);
    stack.require_root_vars = true;
    stack.providers = ProviderStart::Required;
    let request = RunRequest {
        dir: dir.to_path_buf(),
        stack,
        change: ChangeOptions {
            cancel: CancelToken::new(),
            ..ChangeOptions::default()
        },
        destroy: false,
        lock_timeout: std::time::Duration::ZERO,
    };
    let store = super::store(dir)?;
    let view = PlanQuietly(TerminalView::new(out));
    operation::plan(&request, &store, &view, None).map_err(|e| report(&e))
}

/// The terminal's view, except that the plan itself is not printed: `cost` prints
/// the estimate instead.
struct PlanQuietly(TerminalView);

impl View for PlanQuietly {
    fn diagnostics(&self, sources: &Sources, diagnostics: &Diagnostics) {
        self.0.diagnostics(sources, diagnostics);
    }
    fn notice(&self, notice: Notice<'_>) {
        self.0.notice(notice);
    }
    fn plan(&self, _plan: &Plan) {}
    fn confirm(&self, _question: Question) -> bool {
        false
    }
    fn progress(&self) -> &dyn Progress {
        self.0.progress()
    }
    fn summary(&self, _summary: Summary<'_>) {}
    fn outputs(&self, _outputs: &BTreeMap<String, plinth_state::OutputState>) {}
}
