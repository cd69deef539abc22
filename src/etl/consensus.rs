//! A column's type is what its sampled values agree on, not what its oddest value says: one
//! `"x"` among a million prices must not make `price` a string for the whole table. Each sampled
//! value votes for the kind it is (boolean, number, text, nested); the kind with the most votes
//! becomes the column's type if it holds the job's share of the column's non-null values
//! (`Consensus`, 99.9% by default). Records whose value then does not fit are quarantined by the
//! decoders, with the column and the type they expected.
//!
//! Rules: integers and fractions agree as numbers (bigint, or double if any fraction was seen);
//! a text column takes numbers and booleans as their text, so they never disagree with it; a
//! column whose values are mostly objects or arrays keeps the structure inferred from them. When
//! no kind reaches the share, the column widens as it always did (to string), and nothing is
//! quarantined for its sake. A share of 1 is the old rule: any disagreement widens.

use arrow::datatypes::DataType;

/// The share of a column's sampled non-null values that must agree on its type, in parts per
/// million (exact comparisons, no floating-point rounding at the boundary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consensus {
    ppm: u32,
}

const MILLION: u32 = 1_000_000;

impl Consensus {
    /// 99.9%: with the 10,000 values sampled per object, up to 10 may disagree.
    pub const DEFAULT: Consensus = Consensus { ppm: 999_000 };
    /// Every value must agree (the rule before consensus; the crawler's).
    pub const UNANIMOUS: Consensus = Consensus { ppm: MILLION };

    /// A share above one half (a type must be what most values are) and at most 1.
    pub fn new(share: f64) -> Result<Self, String> {
        if !(share > 0.5 && share <= 1.0) {
            return Err(format!(
                "the type consensus is a share of a column's values above 0.5 and at most 1 (e.g. 0.999), not {share}"
            ));
        }
        Ok(Consensus {
            ppm: (share * MILLION as f64).round() as u32,
        })
    }

    pub fn share(self) -> f64 {
        self.ppm as f64 / MILLION as f64
    }

    /// Whether `agreeing` of `total` values reach the share.
    fn reached(self, agreeing: u64, total: u64) -> bool {
        agreeing as u128 * MILLION as u128 >= self.ppm as u128 * total as u128
    }
}

/// A job's setting (`--type-consensus`, `TypeConsensus` in its definition); the default when
/// it has none.
pub fn of_job(share: Option<f64>) -> crate::service::Result<Consensus> {
    match share {
        None => Ok(Consensus::DEFAULT),
        Some(s) => Consensus::new(s).map_err(crate::service::ServiceError::invalid),
    }
}

impl Default for Consensus {
    fn default() -> Self {
        Consensus::DEFAULT
    }
}

/// How a column's sampled non-null values voted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Votes {
    pub boolean: u64,
    pub integer: u64,
    pub fraction: u64,
    pub text: u64,
    pub nested: u64,
}

impl Votes {
    fn total(&self) -> u64 {
        self.boolean + self.integer + self.fraction + self.text + self.nested
    }

    pub fn add(&mut self, other: &Votes) {
        self.boolean += other.boolean;
        self.integer += other.integer;
        self.fraction += other.fraction;
        self.text += other.text;
        self.nested += other.nested;
    }

    /// A JSON value's vote (null does not vote).
    pub fn json(&mut self, value: &serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::Null => {}
            Value::Bool(_) => self.boolean += 1,
            Value::Number(n) if n.is_i64() => self.integer += 1,
            Value::Number(_) => self.fraction += 1,
            Value::String(_) => self.text += 1,
            Value::Array(_) | Value::Object(_) => self.nested += 1,
        }
    }

    /// A CSV cell's vote (empty is null and does not vote). Leading zeros make an identifier,
    /// not a number ("007"), as they always did.
    pub fn csv(&mut self, cell: &str) {
        if cell.is_empty() {
            return;
        }
        let leading_zero = cell.len() > 1 && cell.starts_with('0');
        if cell.eq_ignore_ascii_case("true") || cell.eq_ignore_ascii_case("false") {
            self.boolean += 1;
        } else if cell.parse::<i64>().is_ok() && !leading_zero {
            self.integer += 1;
        } else if (!leading_zero || cell.starts_with("0.")) && cell.parse::<f64>().is_ok() {
            self.fraction += 1;
        } else {
            self.text += 1;
        }
    }

    /// The type the votes agree on at `consensus`, if they agree on a scalar type; `None` when
    /// no kind reaches the share (the caller widens) or the column is mostly nested values (the
    /// caller keeps their inferred structure).
    pub fn agreed(&self, consensus: Consensus) -> Option<DataType> {
        let total = self.total();
        let numbers = self.integer + self.fraction;
        let number_type = if self.fraction > 0 {
            DataType::Float64
        } else {
            DataType::Int64
        };
        let (count, winner) = [
            (self.boolean, Some(DataType::Boolean)),
            (numbers, Some(number_type)),
            (self.text, Some(DataType::Utf8)),
            (self.nested, None),
        ]
        .into_iter()
        .max_by_key(|(count, _)| *count)?;
        if total == 0 || !consensus.reached(count, total) {
            return None;
        }
        winner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn votes(cells: &[&str]) -> Votes {
        let mut v = Votes::default();
        for c in cells {
            v.csv(c);
        }
        v
    }

    #[test]
    fn a_share_is_a_majority_and_at_most_one() {
        for bad in [0.5, 0.0, -1.0, 1.01, f64::NAN] {
            assert!(Consensus::new(bad).is_err(), "{bad}");
        }
        assert_eq!(Consensus::new(0.999).unwrap(), Consensus::DEFAULT);
        assert_eq!(Consensus::new(1.0).unwrap(), Consensus::UNANIMOUS);
    }

    #[test]
    fn the_share_is_respected_both_ways_at_its_boundary() {
        // 999 numbers and one word: exactly 99.9%.
        let mut cells = vec!["12.5"; 999];
        cells.push("x");
        let v = votes(&cells);
        assert_eq!(v.agreed(Consensus::DEFAULT), Some(DataType::Float64));
        assert_eq!(v.agreed(Consensus::new(0.9991).unwrap()), None);
        assert_eq!(v.agreed(Consensus::UNANIMOUS), None);
        // 998 of 1000 is below 99.9%.
        let mut cells = vec!["3"; 998];
        cells.extend(["x", "y"]);
        assert_eq!(votes(&cells).agreed(Consensus::DEFAULT), None);
        assert_eq!(
            votes(&cells).agreed(Consensus::new(0.99).unwrap()),
            Some(DataType::Int64)
        );
    }

    #[test]
    fn integers_and_fractions_agree_as_numbers_and_nulls_do_not_vote() {
        assert_eq!(
            votes(&["1", "2.5", "", ""]).agreed(Consensus::UNANIMOUS),
            Some(DataType::Float64)
        );
        assert_eq!(
            votes(&["true", "FALSE", ""]).agreed(Consensus::UNANIMOUS),
            Some(DataType::Boolean)
        );
        assert_eq!(votes(&["", ""]).agreed(Consensus::DEFAULT), None);
        assert_eq!(
            votes(&["007", "8"]).agreed(Consensus::UNANIMOUS),
            None,
            "leading zeros are identifiers"
        );
        let mut v = Votes::default();
        for j in [r#"{"a":1}"#, "[1]", "[2]"] {
            v.json(&serde_json::from_str(j).unwrap());
        }
        assert_eq!(
            v.agreed(Consensus::DEFAULT),
            None,
            "nested keeps its structure"
        );
    }
}
