//! Retention durations: a whole number of days, months or years, written `30d`, `18m`, `10y`.

use std::fmt;

use serde::Serialize;

use crate::text::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub amount: u32,
    pub unit: DurationUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    Days,
    Months,
    Years,
}

impl Duration {
    /// Parses `<number><d|m|y>`; returns `None` for anything else.
    pub fn parse(s: &str) -> Option<Duration> {
        let unit = match s.chars().last()? {
            'd' => DurationUnit::Days,
            'm' => DurationUnit::Months,
            'y' => DurationUnit::Years,
            _ => return None,
        };
        let digits = s.get(..s.len() - 1)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let amount = digits.parse().ok()?;
        Some(Duration { amount, unit })
    }

    /// The duration in words, e.g. `18 tháng` / `18 months`.
    pub fn describe(self, lang: Lang) -> String {
        let n = self.amount;
        let word = match (lang, self.unit) {
            (Lang::Vi, DurationUnit::Days) => "ngày",
            (Lang::Vi, DurationUnit::Months) => "tháng",
            (Lang::Vi, DurationUnit::Years) => "năm",
            (Lang::En, DurationUnit::Days) if n == 1 => "day",
            (Lang::En, DurationUnit::Days) => "days",
            (Lang::En, DurationUnit::Months) if n == 1 => "month",
            (Lang::En, DurationUnit::Months) => "months",
            (Lang::En, DurationUnit::Years) if n == 1 => "year",
            (Lang::En, DurationUnit::Years) => "years",
        };
        format!("{n} {word}")
    }

    /// The span as a calendar span, for computing expiry dates from an injected clock.
    pub fn to_span(self) -> jiff::Span {
        let n = i64::from(self.amount);
        match self.unit {
            DurationUnit::Days => jiff::Span::new().days(n),
            DurationUnit::Months => jiff::Span::new().months(n),
            DurationUnit::Years => jiff::Span::new().years(n),
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            DurationUnit::Days => 'd',
            DurationUnit::Months => 'm',
            DurationUnit::Years => 'y',
        };
        write!(f, "{}{unit}", self.amount)
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for s in ["0d", "30d", "18m", "10y"] {
            assert_eq!(Duration::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn refuses_malformed() {
        for s in [
            "",
            "d",
            "10",
            "1.5y",
            "-3d",
            "3 d",
            "3w",
            "99999999999d",
            "٣d",
        ] {
            assert_eq!(Duration::parse(s), None, "{s}");
        }
    }

    #[test]
    fn describes_in_both_languages() {
        let d = Duration::parse("1y").unwrap();
        assert_eq!(d.describe(Lang::En), "1 year");
        assert_eq!(d.describe(Lang::Vi), "1 năm");
        assert_eq!(
            Duration::parse("18m").unwrap().describe(Lang::En),
            "18 months"
        );
    }
}
