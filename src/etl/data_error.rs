//! The one place where a message about bad data is built. A record that cannot be a row is
//! described by where it is (object, line, column) and what kind of problem it has, never by a
//! value from it: the message may reach someone who may not see the record (a query's error, a
//! run's reason). Whoever shows the message says which columns its reader may see
//! (`DataError::message_for`); a column outside them is not named.

use std::fmt;

/// A column of a record, by position (1-based) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnAt {
    pub index: usize,
    pub name: String,
}

/// What is wrong with a record. No variant holds a value from the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A cell its column's type cannot take.
    NotA { type_name: String },
    /// A CSV row with a different number of fields than the header.
    FieldCount { found: usize, expected: usize },
    /// Not JSON at all; the position is within the record.
    NotJson { line: usize, column: usize },
    /// Valid JSON, but not an object.
    NotAnObject,
    /// A JSON object whose fields do not fit the table's schema.
    DoesNotFit,
    /// The JSON array around the records is broken at this element.
    BrokenArray,
    /// The CSV reader refused the record (bad quoting, invalid UTF-8).
    NotCsv,
}

/// Where bad data is, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    pub object: String,
    /// The line (CSV, JSON lines) or element number (JSON arrays).
    pub line: u64,
    pub column: Option<ColumnAt>,
    pub problem: Problem,
}

/// Which columns and rows the reader of a message may see.
pub struct Visibility<'a> {
    pub column: &'a dyn Fn(&str) -> bool,
    /// Whether the reader sees every row, so a line number tells nothing about hidden ones.
    pub all_rows: bool,
}

impl DataError {
    pub fn new(object: &str, line: u64, problem: Problem) -> Self {
        DataError {
            object: object.into(),
            line,
            column: None,
            problem,
        }
    }

    pub fn at_column(mut self, index: usize, name: &str) -> Self {
        self.column = Some(ColumnAt {
            index,
            name: name.into(),
        });
        self
    }

    /// The problem alone, as a reader who sees everything reads it (the quarantine's reason).
    pub fn reason(&self) -> String {
        self.reason_for(&|_| true)
    }

    fn reason_for(&self, column_visible: &dyn Fn(&str) -> bool) -> String {
        let column = match &self.column {
            Some(c) if column_visible(&c.name) => format!("column {} ({}): ", c.index, c.name),
            Some(_) => "a column not visible to you: ".into(),
            None => String::new(),
        };
        let problem = match &self.problem {
            Problem::NotA { type_name } => format!("the value is not a {type_name}"),
            Problem::FieldCount { found, expected } => {
                format!("has {found} fields, the header has {expected}")
            }
            Problem::NotJson { line, column } => {
                format!("not valid JSON (at line {line}, column {column} of the record)")
            }
            Problem::NotAnObject => "the record is not a JSON object".into(),
            Problem::DoesNotFit => "the record does not fit the table's schema".into(),
            Problem::BrokenArray => "the JSON array is broken at this element".into(),
            Problem::NotCsv => "not valid CSV".into(),
        };
        format!("{column}{problem}")
    }

    /// The message for a reader who sees what `visible` says: the object, the line if the
    /// reader sees every row, the column if the reader sees it; never a value.
    pub fn message_for(&self, visible: &Visibility) -> String {
        let line = if visible.all_rows {
            format!(" line {}", self.line)
        } else {
            String::new()
        };
        format!("{}{line}: {}", self.object, self.reason_for(visible.column))
    }

    /// Why a JSON record cannot be a row, from serde_json's error kind and position only.
    pub fn from_json(object: &str, line: u64, e: &serde_json::Error) -> Self {
        DataError::new(
            object,
            line,
            Problem::NotJson {
                line: e.line(),
                column: e.column(),
            },
        )
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_for(&Visibility {
            column: &|_| true,
            all_rows: true,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_names_only_what_its_reader_sees() {
        let e = DataError::new(
            "s3://b/k.csv",
            7,
            Problem::NotA {
                type_name: "bigint".into(),
            },
        )
        .at_column(1, "id");
        assert_eq!(
            e.to_string(),
            "s3://b/k.csv line 7: column 1 (id): the value is not a bigint"
        );
        let hidden = e.message_for(&Visibility {
            column: &|c| c == "country",
            all_rows: false,
        });
        assert_eq!(
            hidden,
            "s3://b/k.csv: a column not visible to you: the value is not a bigint"
        );
        assert!(!hidden.contains("id"));
    }
}
