//! Masking operators, pure: a column in, the masked column out. Jobs apply them on either
//! backend. `redact` replaces each value by a run of `#` as long as the value (the seed's
//! masking); `null` removes the value. The sensitive-data issue adds partial, hash, tokenize and
//! generalize-date.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringBuilder, new_null_array};
use arrow::datatypes::DataType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Redact,
    Null,
}

pub const OPERATORS: &[&str] = &["redact", "null"];

impl Operator {
    pub fn parse(name: &str) -> Result<Operator, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "redact" => Ok(Operator::Redact),
            "null" => Ok(Operator::Null),
            other => Err(format!(
                "unknown masking operator {other:?}; the operators are {}",
                OPERATORS.join(", ")
            )),
        }
    }

    /// The type of the masked column.
    pub fn output_type(self, input: &DataType) -> DataType {
        match self {
            Operator::Redact => DataType::Utf8,
            Operator::Null => input.clone(),
        }
    }

    pub fn apply(self, column: &ArrayRef) -> Result<ArrayRef, String> {
        match self {
            Operator::Null => Ok(new_null_array(column.data_type(), column.len())),
            Operator::Redact => {
                let text =
                    arrow::compute::cast(column, &DataType::Utf8).map_err(|e| e.to_string())?;
                let text = text
                    .as_any()
                    .downcast_ref::<arrow::array::StringArray>()
                    .expect("cast to Utf8 gives strings");
                let mut out = StringBuilder::with_capacity(text.len(), text.value_data().len());
                for v in text.iter() {
                    out.append_option(v.map(|s| "#".repeat(s.chars().count())));
                }
                Ok(Arc::new(out.finish()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};

    #[test]
    fn redact_keeps_length_and_nulls_but_no_character() {
        let col: ArrayRef = Arc::new(StringArray::from(vec![Some("4111 1111"), None, Some("é")]));
        let out = Operator::Redact.apply(&col).unwrap();
        let out = out.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            vec![Some("#########"), None, Some("#")]
        );
        let nums: ArrayRef = Arc::new(Int64Array::from(vec![12345]));
        assert_eq!(
            Operator::Redact.apply(&nums).unwrap().data_type(),
            &DataType::Utf8
        );
        assert!(
            Operator::parse("tokenize")
                .unwrap_err()
                .contains("redact, null")
        );
    }
}
