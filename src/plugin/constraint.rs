//! Provider version constraints with Terraform's semantics: `1.5.0`, `= 1.5.0`,
//! `!= 1.5.1`, `>= 1.2, < 2.0`, `~> 1.5`. Versions are parsed and ordered by the
//! `semver` crate; a version may leave out its minor and patch numbers (`1.5` is
//! `1.5.0`).
//!
//! A prerelease (`1.5.0-beta`) satisfies a constraint only when one of its conditions
//! names exactly that prerelease with `=` (or no operator): `>= 1.0` does not select
//! `2.0.0-rc1`, and `= 1.5.0` does not accept `1.5.0-beta`.

use semver::Version;
use std::cmp::Ordering;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConstraintError {
    #[error("{text:?} is not a valid version: {reason}")]
    Version { text: String, reason: String },
    #[error("{text:?} is not a valid version constraint: {reason}")]
    Condition { text: String, reason: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Exact,
    Not,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
    /// `~>`: only the rightmost written component may increase.
    Pessimistic,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Condition {
    operator: Operator,
    version: Version,
    /// How many of major, minor and patch the condition wrote (for `~>`).
    written: usize,
}

/// A comma-separated list of conditions, all of which a version must meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionConstraint {
    conditions: Vec<Condition>,
}

impl VersionConstraint {
    pub fn parse(text: &str) -> Result<VersionConstraint, ConstraintError> {
        let mut conditions = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                if text.trim().is_empty() {
                    continue;
                }
                return Err(ConstraintError::Condition {
                    text: text.to_string(),
                    reason: "a condition between commas is empty".into(),
                });
            }
            conditions.push(Condition::parse(part)?);
        }
        Ok(VersionConstraint { conditions })
    }

    pub fn matches(&self, version: &Version) -> bool {
        let named_exactly = || {
            self.conditions
                .iter()
                .any(|c| c.operator == Operator::Exact && c.version.cmp_precedence(version).is_eq())
        };
        (version.pre.is_empty() || named_exactly())
            && self.conditions.iter().all(|c| c.matches(version))
    }
}

impl Condition {
    fn parse(text: &str) -> Result<Condition, ConstraintError> {
        const OPERATORS: [(&str, Operator); 7] = [
            ("~>", Operator::Pessimistic),
            (">=", Operator::GreaterOrEqual),
            ("<=", Operator::LessOrEqual),
            ("!=", Operator::Not),
            (">", Operator::Greater),
            ("<", Operator::Less),
            ("=", Operator::Exact),
        ];
        let (operator, rest) = OPERATORS
            .iter()
            .find_map(|(symbol, op)| text.strip_prefix(symbol).map(|rest| (*op, rest.trim())))
            .unwrap_or((Operator::Exact, text));
        let (version, written) = parse_partial(rest).map_err(|e| ConstraintError::Condition {
            text: text.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Condition {
            operator,
            version,
            written,
        })
    }

    fn matches(&self, version: &Version) -> bool {
        let order = version.cmp_precedence(&self.version);
        match self.operator {
            Operator::Exact => order == Ordering::Equal,
            Operator::Not => order != Ordering::Equal,
            Operator::Greater => order == Ordering::Greater,
            Operator::GreaterOrEqual => order != Ordering::Less,
            Operator::Less => order == Ordering::Less,
            Operator::LessOrEqual => order != Ordering::Greater,
            Operator::Pessimistic => {
                order != Ordering::Less
                    && self
                        .pessimistic_limit()
                        .is_none_or(|limit| version.cmp_precedence(&limit).is_lt())
            }
        }
    }

    /// The first version `~>` excludes: `~> 1` and `~> 1.5` stop at `2.0.0`,
    /// `~> 1.5.2` at `1.6.0`. None when the next number would overflow.
    fn pessimistic_limit(&self) -> Option<Version> {
        let v = &self.version;
        if self.written <= 2 {
            Some(Version::new(v.major.checked_add(1)?, 0, 0))
        } else {
            Some(Version::new(v.major, v.minor.checked_add(1)?, 0))
        }
    }
}

/// A version as provider packages and file names write it: `1.5.0`, `v1.5.0`,
/// `1.5.0-beta.1+build`; minor and patch may be left out.
pub fn parse_version(text: &str) -> Result<Version, ConstraintError> {
    parse_partial(text).map(|(v, _)| v)
}

fn parse_partial(text: &str) -> Result<(Version, usize), ConstraintError> {
    let invalid = |reason: String| ConstraintError::Version {
        text: text.to_string(),
        reason,
    };
    let trimmed = text.trim();
    let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
    let split = bare.find(['-', '+']).unwrap_or(bare.len());
    let (core, suffix) = bare.split_at(split);
    let numbers: Vec<&str> = core.split('.').collect();
    if numbers.len() > 3 {
        return Err(invalid("use at most MAJOR.MINOR.PATCH".into()));
    }
    if numbers
        .iter()
        .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid("expected numbers separated by periods".into()));
    }
    let mut full = numbers.clone();
    full.resize(3, "0");
    let version = Version::parse(&format!("{}{suffix}", full.join(".")))
        .map_err(|e| invalid(e.to_string()))?;
    Ok((version, numbers.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn satisfies(version: &str, constraint: &str) -> bool {
        VersionConstraint::parse(constraint)
            .unwrap()
            .matches(&parse_version(version).unwrap())
    }

    #[test]
    fn exact() {
        assert!(satisfies("1.5.0", "1.5.0"));
        assert!(satisfies("1.5.0", "= 1.5.0"));
        assert!(satisfies("1.5.0", "=1.5"));
        assert!(!satisfies("1.5.1", "= 1.5.0"));
        assert!(!satisfies("1.5.0-beta", "= 1.5.0"));
        assert!(!satisfies("1.5.0-beta", "1.5.0"));
        assert!(satisfies("1.5.0-beta", "= 1.5.0-beta"));
        assert!(satisfies("1.5.0-beta", "1.5.0-beta"));
        assert!(!satisfies("1.5.0-beta.2", "= 1.5.0-beta"));
        assert!(!satisfies("1.5.0", "= 1.5.0-beta"));
        assert!(satisfies("1.5.0+linux", "= 1.5.0"));
    }

    #[test]
    fn not_equal() {
        assert!(satisfies("1.5.1", "!= 1.5.0"));
        assert!(!satisfies("1.5.0", "!= 1.5.0"));
        assert!(!satisfies("1.5.1-beta", "!= 1.5.0"));
        assert!(satisfies("1.5.1-beta", "!= 1.5.0, = 1.5.1-beta"));
    }

    #[test]
    fn comparisons() {
        assert!(satisfies("1.6.0", "> 1.5"));
        assert!(!satisfies("1.5.0", "> 1.5"));
        assert!(satisfies("1.5.0", ">= 1.5"));
        assert!(!satisfies("1.4.9", ">= 1.5"));
        assert!(satisfies("1.4.9", "< 1.5"));
        assert!(!satisfies("1.5.0", "< 1.5"));
        assert!(satisfies("1.5.0", "<= 1.5"));
        assert!(!satisfies("1.5.1", "<= 1.5"));
        assert!(!satisfies("2.0.0-rc1", ">= 1.0"));
        assert!(!satisfies("1.0.0-beta", "< 1.0.0"));
        assert!(!satisfies("1.1.0-beta", "> 1.0.0-beta"));
        assert!(satisfies("1.0.0", "> 1.0.0-beta"));
    }

    #[test]
    fn lists() {
        assert!(satisfies("1.7.2", ">= 1.5, < 2.0"));
        assert!(!satisfies("2.0.0", ">= 1.5, < 2.0"));
        assert!(!satisfies("1.4.0", ">= 1.5, < 2.0"));
        assert!(!satisfies("1.9.0-beta", ">= 1.5, < 2.0"));
        assert!(satisfies("1.9.0-beta", ">= 1.5, < 2.0, = 1.9.0-beta"));
        assert!(!satisfies("1.7.0", ">= 1.5, < 2.0, != 1.7.0"));
    }

    #[test]
    fn pessimistic() {
        assert!(satisfies("1.9.0", "~> 1.5"));
        assert!(satisfies("1.5.0", "~> 1.5"));
        assert!(!satisfies("1.4.0", "~> 1.5"));
        assert!(!satisfies("2.0.0", "~> 1.5"));
        assert!(satisfies("1.5.9", "~> 1.5.0"));
        assert!(!satisfies("1.6.0", "~> 1.5.0"));
        assert!(satisfies("1.9.0", "~> 1"));
        assert!(!satisfies("2.0.0", "~> 1"));
        assert!(!satisfies("1.5.1-beta", "~> 1.5.0"));
        assert!(!satisfies("1.5.0-beta", "~> 1.5.0-beta"));
        assert!(satisfies("1.5.3", "~> 1.5.0-beta"));
        assert!(satisfies(
            &format!("{}.0.0", u64::MAX),
            &format!("~> {}.0", u64::MAX)
        ));
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("v1.2").unwrap(), Version::new(1, 2, 0));
        assert_eq!(parse_version("3").unwrap(), Version::new(3, 0, 0));
        assert!(parse_version("1.2.3.4").is_err());
        assert!(parse_version("latest").is_err());
        assert!(parse_version("1..2").is_err());
        assert!(parse_version("1.2.3-").is_err());
        assert!(parse_version("99999999999999999999.0.0").is_err());
    }

    #[test]
    fn invalid_constraints() {
        assert_eq!(
            VersionConstraint::parse(">= one").unwrap_err().to_string(),
            "\">= one\" is not a valid version constraint: \"one\" is not a valid version: expected numbers separated by periods"
        );
        assert!(VersionConstraint::parse(">= 1.0,").is_err());
        assert!(VersionConstraint::parse("=> 1.0").is_err());
        assert_eq!(VersionConstraint::parse("").unwrap().conditions, []);
    }
}
