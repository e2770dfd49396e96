//! Numbers with Terraform's semantics: arbitrary precision, so integers past 2^63 stay
//! exact and `0.1 + 0.2` is `0.3`; printed without exponent or trailing zeros.

use std::fmt;
use std::str::FromStr;

use bigdecimal::num_bigint::BigInt;
use bigdecimal::{BigDecimal, One, RoundingMode, Signed, ToPrimitive, Zero};

/// Significant digits kept by division, close to the 512-bit mantissa Terraform uses.
const DIVISION_DIGITS: u64 = 155;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Number(BigDecimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("division by zero")]
    DivideByZero,
    #[error("a number is required")]
    Invalid,
}

impl Number {
    pub fn from_i64(n: i64) -> Number {
        Number(BigDecimal::from(n))
    }

    pub fn from_u64(n: u64) -> Number {
        Number(BigDecimal::from(n))
    }

    /// Parses Terraform's number syntax (decimal, optional fraction and exponent, and a
    /// leading sign), as used both in literals and in string-to-number conversion.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let t = text.trim_start_matches('+');
        if t.is_empty() || t.contains(['_', ' ']) || t.starts_with('.') || t.ends_with('.') {
            return Err(NumberError::Invalid);
        }
        let first = t.trim_start_matches('-');
        if !first.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(NumberError::Invalid);
        }
        BigDecimal::from_str(t)
            .map(|d| Number(d.normalized()))
            .map_err(|_| NumberError::Invalid)
    }

    pub fn is_integer(&self) -> bool {
        self.0.is_integer()
    }

    pub fn to_i64(&self) -> Option<i64> {
        if self.is_integer() {
            self.0.to_i64()
        } else {
            None
        }
    }

    pub fn to_f64(&self) -> f64 {
        self.0.to_f64().unwrap_or(f64::NAN)
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.0.is_negative()
    }

    pub fn add(&self, other: &Number) -> Number {
        Number((&self.0 + &other.0).normalized())
    }

    pub fn sub(&self, other: &Number) -> Number {
        Number((&self.0 - &other.0).normalized())
    }

    pub fn mul(&self, other: &Number) -> Number {
        Number((&self.0 * &other.0).normalized())
    }

    pub fn neg(&self) -> Number {
        Number(-&self.0)
    }

    pub fn div(&self, other: &Number) -> Result<Number, NumberError> {
        if other.0.is_zero() {
            return Err(NumberError::DivideByZero);
        }
        let q = (&self.0 / &other.0).with_precision_round(
            std::num::NonZeroU64::new(DIVISION_DIGITS).unwrap_or(std::num::NonZeroU64::MIN),
            RoundingMode::HalfEven,
        );
        Ok(Number(q.normalized()))
    }

    /// Remainder with the sign of the dividend, as Terraform's `%` (`-5 % 3` is `-2`).
    pub fn rem(&self, other: &Number) -> Result<Number, NumberError> {
        if other.0.is_zero() {
            return Err(NumberError::DivideByZero);
        }
        let q = (&self.0 / &other.0).with_scale_round(0, RoundingMode::Down);
        Ok(Number((&self.0 - q * &other.0).normalized()))
    }

    pub fn one() -> Number {
        Number(BigDecimal::one())
    }

    /// The number with exactly `places` digits after the point, rounded half to even
    /// (Go's `%f`).
    pub fn to_fixed(&self, places: usize) -> String {
        let rounded = self
            .0
            .with_scale_round(places as i64, RoundingMode::HalfEven);
        let text = rounded.to_plain_string();
        if rounded.is_zero() && self.0.is_negative() {
            format!("-{}", text.trim_start_matches('-'))
        } else {
            text
        }
    }

    /// Scientific notation with `digits` digits after the point, rounded half to
    /// even, exponent signed and at least two digits (Go's `%e`): `1.234560e+03`.
    pub fn to_exponential(&self, digits: usize) -> String {
        let negative = self.0.is_negative();
        let abs = self.0.abs();
        if abs.is_zero() {
            let zeros = if digits > 0 {
                format!(".{}", "0".repeat(digits))
            } else {
                String::new()
            };
            return format!("{}0{zeros}e+00", if negative { "-" } else { "" });
        }
        let (_, exp) = Number(abs.clone()).decimal_digits();
        let (int, scale) = abs.as_bigint_and_exponent();
        // The value divided by 10^e, rounded to `digits` places; one more step when
        // rounding carries into a new digit (9.5 → 1e+01).
        let scaled = |e: i64| {
            BigDecimal::new(int.clone(), scale + e)
                .with_scale_round(digits as i64, RoundingMode::HalfEven)
        };
        let mut e = exp - 1;
        let mut rounded = scaled(e);
        if rounded >= 10 {
            e += 1;
            rounded = scaled(e);
        }
        let sign = if e < 0 { '-' } else { '+' };
        format!(
            "{}{}e{sign}{:02}",
            if negative { "-" } else { "" },
            rounded.to_plain_string(),
            e.unsigned_abs()
        )
    }

    /// The significant digits (no leading or trailing zeros) and the position of the
    /// decimal point relative to them: value = 0.DIGITS × 10^exp.
    pub fn decimal_digits(&self) -> (String, i64) {
        let n = self.0.abs().normalized();
        let (int, scale) = n.as_bigint_and_exponent();
        let digits = int.to_string();
        let exp = digits.len() as i64 - scale;
        (digits, exp)
    }

    /// Go's `%g` with no precision: the shortest form, in scientific notation when the
    /// exponent is below -4 or at least 6.
    pub fn to_general(&self) -> String {
        if self.0.is_zero() {
            return "0".into();
        }
        let (digits, exp) = self.decimal_digits();
        let e = exp - 1;
        if !(-4..6).contains(&e) {
            self.to_exponential(digits.len() - 1)
        } else {
            self.to_fixed((digits.len() as i64 - exp).max(0) as usize)
        }
    }

    pub fn floor(&self) -> Number {
        Number(self.0.with_scale_round(0, RoundingMode::Floor).normalized())
    }

    pub fn as_bigint(&self) -> Option<BigInt> {
        if self.is_integer() {
            Some(self.0.with_scale(0).into_bigint_and_exponent().0)
        } else {
            None
        }
    }
}

impl From<i64> for Number {
    fn from(n: i64) -> Number {
        Number::from_i64(n)
    }
}

impl From<i32> for Number {
    fn from(n: i32) -> Number {
        Number::from_i64(n.into())
    }
}

impl From<usize> for Number {
    fn from(n: usize) -> Number {
        Number::from_u64(n as u64)
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0");
        }
        f.write_str(&self.0.normalized().to_plain_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn prints_as_terraform_does() {
        assert_eq!(n("1e30").to_string(), "1000000000000000000000000000000");
        assert_eq!(n("2.50").to_string(), "2.5");
        assert_eq!(n("1e-7").to_string(), "0.0000001");
        assert_eq!(n("0.1").add(&n("0.2")).to_string(), "0.3");
        assert_eq!(n("10").div(&n("4")).unwrap().to_string(), "2.5");
        assert_eq!(
            n("9223372036854775807").add(&n("1")).to_string(),
            "9223372036854775808"
        );
    }

    #[test]
    fn remainder_keeps_the_dividend_sign() {
        assert_eq!(n("-5").rem(&n("3")).unwrap().to_string(), "-2");
        assert_eq!(n("5.5").rem(&n("2")).unwrap().to_string(), "1.5");
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for bad in ["", "abc", "1_000", ".5", "5.", "--1", "0x10"] {
            assert!(Number::parse(bad).is_err(), "{bad}");
        }
    }
}
