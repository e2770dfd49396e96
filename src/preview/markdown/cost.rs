//! The cost section: one row per priced resource (before, after, delta) and the
//! total, which the cut never leaves out. A figure that is not known reads
//! "unknown", never $0; a usage-based one reads "usage-based" and is left out of the
//! sums (the total says so).

use std::fmt::Write as _;

use super::layout::{code, plural, thousands};
use crate::preview::cost::{CostReport, Monthly, ResourceCost};

pub(super) struct Row {
    pub text: String,
    /// Whether its monthly figure changes (rows that do not go first in the cut).
    pub changes: bool,
}

pub(super) struct Table {
    pub head: String,
    pub rows: Vec<Row>,
    pub total: String,
    /// The total delta, as the monorepo summary table shows it.
    pub delta: String,
    pub footer: String,
}

/// A sum of figures some of which may not be known.
#[derive(Clone, Copy, Default)]
struct Sum {
    known: f64,
    unknown: usize,
}

impl Sum {
    fn text(&self, currency: &str, signed: bool) -> String {
        let known = money(self.known, currency, signed);
        match self.unknown {
            0 => known,
            _ => format!("{known} + unknown"),
        }
    }
}

/// A resource's figure on one side: what it adds to the sum, and how it reads.
enum Side {
    Absent,
    Priced(f64),
    UsageBased,
    Unknown,
}

fn side(m: Option<&Monthly>) -> Side {
    match m {
        None => Side::Absent,
        Some(Monthly::Priced { monthly, .. }) => Side::Priced(*monthly),
        Some(Monthly::UsageBased { .. }) => Side::UsageBased,
        Some(Monthly::Unknown { .. }) => Side::Unknown,
    }
}

impl Side {
    fn text(&self, currency: &str) -> String {
        match self {
            Side::Absent => "–".to_string(),
            Side::Priced(m) => money(*m, currency, false),
            Side::UsageBased => "usage-based".to_string(),
            Side::Unknown => "unknown".to_string(),
        }
    }

    fn add_to(&self, sum: &mut Sum) {
        match self {
            Side::Priced(m) => sum.known += m,
            Side::Unknown => sum.unknown += 1,
            Side::Absent | Side::UsageBased => {}
        }
    }

    fn amount(&self) -> Option<f64> {
        match self {
            Side::Absent => Some(0.0),
            Side::Priced(m) => Some(*m),
            Side::UsageBased | Side::Unknown => None,
        }
    }
}

enum Delta {
    Amount(f64),
    UsageBased,
    Unknown,
}

fn delta(before: &Side, after: &Side) -> Delta {
    match (before, after) {
        (Side::Unknown, _) | (_, Side::Unknown) => Delta::Unknown,
        (Side::UsageBased, Side::UsageBased | Side::Absent) | (Side::Absent, Side::UsageBased) => {
            Delta::UsageBased
        }
        _ => match (before.amount(), after.amount()) {
            (Some(b), Some(a)) => Delta::Amount(a - b),
            _ => Delta::Unknown,
        },
    }
}

pub(super) fn table(report: &CostReport) -> Table {
    let currency = report.currency.as_str();
    let mut before_sum = Sum::default();
    let mut after_sum = Sum::default();
    let mut delta_sum = Sum::default();
    let mut usage = Vec::new();
    let mut rows = Vec::new();
    let mut resources: Vec<&ResourceCost> = report.resources.iter().collect();
    resources.sort_by(|a, b| a.address.cmp(&b.address));
    for r in resources {
        let before = side(r.before.as_ref());
        let after = side(r.after.as_ref());
        before.add_to(&mut before_sum);
        after.add_to(&mut after_sum);
        let d = delta(&before, &after);
        let (d_text, changes) = match d {
            Delta::Amount(x) => {
                delta_sum.known += x;
                (money(x, currency, true), x.abs() >= 0.005)
            }
            Delta::UsageBased => (
                "usage-based".to_string(),
                r.before.is_none() || r.after.is_none(),
            ),
            Delta::Unknown => {
                delta_sum.unknown += 1;
                ("unknown".to_string(), true)
            }
        };
        for m in [&r.after, &r.before].into_iter().flatten() {
            if let Monthly::UsageBased { note } = m {
                usage.push(format!("{}: {note}", code(&r.address)));
                break;
            }
        }
        rows.push(Row {
            text: format!(
                "| {} | {} | {} | {} |\n",
                code(&r.address),
                before.text(currency),
                after.text(currency),
                d_text
            ),
            changes,
        });
    }
    let mut footer = String::new();
    let unknown = report
        .resources
        .iter()
        .filter(|r| {
            matches!(r.before, Some(Monthly::Unknown { .. }))
                || matches!(r.after, Some(Monthly::Unknown { .. }))
        })
        .count();
    if unknown > 0 {
        let _ = writeln!(
            footer,
            "{} not priced (unknown): the totals are of what is known.",
            if unknown == 1 {
                "1 resource is".to_string()
            } else {
                format!("{unknown} resources are")
            }
        );
    }
    if !usage.is_empty() {
        let _ = writeln!(footer, "Usage-based, not in the totals:");
        for u in &usage {
            let _ = writeln!(footer, "- {u}");
        }
    }
    Table {
        head: format!(
            "Monthly cost in {currency}, prices from {}.\n\n| Resource | Before | After | Delta |\n|---|--:|--:|--:|\n",
            code(&report.catalog)
        ),
        rows,
        total: format!(
            "| **Total** | {} | {} | **{}** |\n",
            before_sum.text(currency, false),
            after_sum.text(currency, false),
            delta_sum.text(currency, true)
        ),
        delta: delta_sum.text(currency, true),
        footer,
    }
}

impl Table {
    pub fn render(&self, shown: &[bool], out: &mut String) {
        out.push_str(&self.head);
        let mut hidden = 0;
        for (row, show) in self.rows.iter().zip(shown) {
            if *show {
                out.push_str(&row.text);
            } else {
                hidden += 1;
            }
        }
        if hidden > 0 {
            let _ = writeln!(
                out,
                "| _{} left out_ | | | |",
                plural(hidden, "more resource")
            );
        }
        out.push_str(&self.total);
        out.push('\n');
        if !self.footer.is_empty() {
            out.push_str(&self.footer);
            out.push('\n');
        }
    }
}

/// `$1,234.50`, `+$73.00`, `-$10.00` (USD), else `1,234.50 EUR`.
fn money(amount: f64, currency: &str, signed: bool) -> String {
    let cents = (amount.abs() * 100.0).round() as u64;
    let number = format!("{}.{:02}", thousands(cents / 100), cents % 100);
    let sign = match (signed, cents == 0, amount < 0.0) {
        (_, true, _) => "",
        (_, false, true) => "-",
        (true, false, false) => "+",
        (false, false, false) => "",
    };
    if currency == "USD" {
        format!("{sign}${number}")
    } else {
        format!("{sign}{number} {currency}")
    }
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_reads_as_an_amount_with_its_sign() {
        assert_eq!(money(1234.5, "USD", false), "$1,234.50");
        assert_eq!(money(73.0, "USD", true), "+$73.00");
        assert_eq!(money(-10.0, "USD", true), "-$10.00");
        assert_eq!(money(0.001, "USD", true), "$0.00");
        assert_eq!(money(1_000_000.0, "EUR", false), "1,000,000.00 EUR");
        assert_eq!(money(999.999, "USD", false), "$1,000.00");
    }
}
