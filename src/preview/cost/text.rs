//! A [`CostReport`] as the terminal shows it: one row per resource (before, after,
//! delta, or why a figure is missing) and the totals. It decides nothing.

use std::fmt::Write;

use super::{CostReport, Monthly};

/// The table `plinth cost` prints.
pub fn text(report: &CostReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Monthly cost estimate in {}, from the {}.\n",
        report.currency, report.catalog
    );
    if report.resources.is_empty() {
        out.push_str("Nothing in this plan has a price model.\n");
        return out;
    }
    let width = report
        .resources
        .iter()
        .map(|r| r.address.chars().count())
        .chain(["Resource".len(), "Total".len()])
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "{:<width$}  {:>12}  {:>12}  {:>12}",
        "Resource", "Before", "After", "Delta"
    );
    for r in &report.resources {
        let delta = match r.monthly_delta() {
            Some(d) => signed(d),
            None if r.is_usage_based() => "usage-based".to_string(),
            None => "unknown".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:>12}  {:>12}  {:>12}",
            r.address,
            cell(r.before.as_ref()),
            cell(r.after.as_ref()),
            delta
        );
        for figure in [r.before.as_ref(), r.after.as_ref()].into_iter().flatten() {
            match figure {
                Monthly::Unknown { reason } => {
                    let _ = writeln!(out, "  unknown: {reason}");
                }
                Monthly::UsageBased { note } => {
                    let _ = writeln!(out, "  usage-based: {note}");
                }
                Monthly::Priced { .. } => {}
            }
            if r.before == r.after {
                break;
            }
        }
    }
    let _ = writeln!(
        out,
        "{:<width$}  {:>12}  {:>12}  {:>12}",
        "Total",
        format!("{:.2}", report.before_monthly()),
        format!("{:.2}", report.after_monthly()),
        signed(report.delta_monthly())
    );
    let left_out: Vec<String> = [
        (report.unknown_count(), "whose price is unknown"),
        (report.usage_based_count(), "billed by use"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} resource(s) {what}"))
    .collect();
    if !left_out.is_empty() {
        let _ = writeln!(out, "\nThe totals leave out {}.", left_out.join(" and "));
    }
    out
}

fn cell(figure: Option<&Monthly>) -> String {
    match figure {
        None => "-".to_string(),
        Some(Monthly::Priced { monthly, .. }) => format!("{monthly:.2}"),
        Some(Monthly::UsageBased { .. }) => "usage-based".to_string(),
        Some(Monthly::Unknown { .. }) => "unknown".to_string(),
    }
}

fn signed(x: f64) -> String {
    let rounded = (x * 100.0).round() / 100.0;
    if rounded > 0.0 {
        format!("+{rounded:.2}")
    } else if rounded < 0.0 {
        format!("{rounded:.2}")
    } else {
        "0.00".to_string()
    }
}
