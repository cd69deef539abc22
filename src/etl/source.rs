//! Reading a job's sources: each object's format is told by its bytes (gzip, Parquet, a JSON
//! array, JSON lines, else CSV with a header), its schema inferred from a sample, and its
//! records decoded into Arrow batches. A record that is not an object, does not parse, or whose
//! field cannot take the column's type is handed back as quarantined, with its line and reason:
//! nothing is dropped silently.
//!
//! Coercion rules (JSON, from arrow-json's inference over the sample): integers are bigint,
//! numbers with a fraction double (an integer column that also holds fractions is double), true
//! and false boolean, everything else string; numbers and booleans are accepted into a string
//! column as their text; nested objects and arrays keep their structure. CSV cells: boolean,
//! bigint or double, else string; empty is null. Which of these a column takes is what its
//! sampled values agree on (consensus.rs); a value that does not fit its column's type
//! quarantines its record, with the column and the type named.
//! A field not in the sampled schema quarantines its record (it would otherwise be lost).

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use std::sync::atomic::AtomicU64;

use super::budget::{Bounded, Budget, Counted, LineBounded};
use super::consensus::{Consensus, Votes};
use super::data_error::{DataError, Problem};
use super::json_array::{ArrayElements, Element};

pub const SAMPLE_RECORDS: usize = 10_000;
pub const BATCH_ROWS: usize = 8_192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    JsonArray,
    Csv,
    Parquet,
}

impl Format {
    pub fn catalog(self) -> crate::service::catalog::DataFormat {
        use crate::service::catalog::DataFormat;
        match self {
            Format::JsonLines | Format::JsonArray => DataFormat::Json,
            Format::Csv => DataFormat::Csv,
            Format::Parquet => DataFormat::Parquet,
        }
    }
}

/// A record set aside: where it was, why, and its text. It is written, sealed, to the run's
/// `_errors/` object as `{"object", "line", "reason", "record"}`.
#[derive(Debug, Clone)]
pub struct Quarantined {
    pub error: DataError,
    pub record: String,
}

impl serde::Serialize for Quarantined {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("Quarantined", 4)?;
        out.serialize_field("object", &self.error.object)?;
        out.serialize_field("line", &self.error.line)?;
        out.serialize_field("reason", &self.error.reason())?;
        out.serialize_field("record", &self.record)?;
        out.end()
    }
}

/// Reads up to 512 bytes to look at, and gives back a reader that starts over.
fn peek(mut input: Box<dyn Read + Send>) -> std::io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = vec![0u8; 512];
    let n = read_up_to(&mut input, &mut head)?;
    head.truncate(n);
    Ok((
        head.clone(),
        Box::new(std::io::Cursor::new(head).chain(input)),
    ))
}

/// Undoes gzip when the bytes say so, and tells the format from the first bytes. The plaintext
/// is held to `budget` (bytes per object, expansion ratio, and for line formats the record
/// length) before any reader above buffers it.
pub fn sniff(
    input: Box<dyn Read + Send>,
    object: &str,
    budget: &Budget,
) -> std::io::Result<(Format, Box<dyn BufRead + Send>, bool)> {
    let (head, input) = peek(input)?;
    let gz = head.starts_with(&[0x1f, 0x8b]);
    let input: Box<dyn Read + Send> = if gz {
        let compressed = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner: input,
            count: compressed.clone(),
        };
        Box::new(Bounded::new(
            flate2::read::MultiGzDecoder::new(counted),
            object,
            budget,
            Some(compressed),
        ))
    } else {
        Box::new(Bounded::new(input, object, budget, None))
    };
    let (head, input) = peek(input)?;
    let format = if head.starts_with(b"PAR1") {
        Format::Parquet
    } else {
        match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => Format::JsonArray,
            Some(b'{') => Format::JsonLines,
            _ => Format::Csv,
        }
    };
    // A JSON array is often one line: its elements are bounded one by one instead.
    let input: Box<dyn Read + Send> = match format {
        Format::Csv | Format::JsonLines => Box::new(LineBounded::new(input, object, budget)),
        Format::JsonArray | Format::Parquet => input,
    };
    Ok((
        format,
        Box::new(BufReader::with_capacity(1 << 20, input)),
        gz,
    ))
}

fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Text records of an object: JSON values one a line, or the elements of a JSON array, which
/// is streamed element by element (never read whole).
pub struct JsonRecords {
    reader: Box<dyn BufRead + Send>,
    array: Option<ArrayElements>,
    line: u64,
    buf: Vec<u8>,
}

/// A record the reader could not even cut out: the JSON array around it is broken. It is
/// served as this marker followed by nothing; `json_record_problem` names it.
pub(super) const BROKEN_ARRAY: &[u8] = b"\0";

impl JsonRecords {
    pub fn new(
        reader: Box<dyn BufRead + Send>,
        format: Format,
        object: &str,
        budget: &Budget,
    ) -> Self {
        JsonRecords {
            reader,
            array: (format == Format::JsonArray).then(|| ArrayElements::new(object, budget)),
            line: 0,
            buf: Vec::new(),
        }
    }

    /// The next non-blank record and its line (element index for arrays).
    pub fn next_record(&mut self) -> std::io::Result<Option<(u64, &[u8])>> {
        if let Some(array) = &mut self.array {
            self.buf.clear();
            return Ok(match array.next(&mut *self.reader, &mut self.buf)? {
                Element::Value => {
                    self.line += 1;
                    Some((self.line, self.buf.as_slice()))
                }
                Element::Broken => {
                    self.line += 1;
                    Some((self.line, BROKEN_ARRAY))
                }
                Element::End => None,
            });
        }
        loop {
            self.buf.clear();
            if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            let text = self.buf.trim_ascii();
            if !text.is_empty() {
                let start = self.buf.len() - self.buf.trim_ascii_start().len();
                let end = start + text.len();
                return Ok(Some((self.line, &self.buf[start..end])));
            }
        }
    }
}

/// A cheap look at a record's shape: an object's first and last bytes. Records that pass go to
/// the batch decoder, and a batch that fails is decoded record by record, with
/// `json_record_problem` saying why each refused record is refused.
pub fn looks_like_object(record: &[u8]) -> bool {
    record.first() == Some(&b'{') && record.last() == Some(&b'}')
}

/// Why a JSON record cannot be a row, if it cannot.
pub fn json_record_problem(object: &str, line: u64, record: &[u8]) -> Option<DataError> {
    if record == BROKEN_ARRAY {
        return Some(DataError::new(object, line, Problem::BrokenArray));
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(record) {
        Err(e) => Some(DataError::from_json(object, line, &e)),
        Ok(_) if record.first() != Some(&b'{') => {
            Some(DataError::new(object, line, Problem::NotAnObject))
        }
        Ok(_) => None,
    }
}

/// The schema of a sample of JSON records (arrow-json's inference, every value agreeing).
pub fn infer_json(sample: &[Vec<u8>]) -> Result<Schema, String> {
    infer_json_voting(sample, &mut |_: &str, _: &serde_json::Value| {})
}

/// `infer_json`, also showing `vote` each top-level field's value (consensus.rs).
pub fn infer_json_voting(
    sample: &[Vec<u8>],
    vote: &mut dyn FnMut(&str, &serde_json::Value),
) -> Result<Schema, String> {
    let values = sample.iter().map(|r| {
        let value = serde_json::from_slice::<serde_json::Value>(r)
            .map_err(|e| arrow::error::ArrowError::JsonError(e.to_string()))?;
        if let serde_json::Value::Object(fields) = &value {
            for (name, v) in fields {
                vote(name, v);
            }
        }
        Ok(value)
    });
    arrow::json::reader::infer_json_schema_from_iterator(values).map_err(|e| e.to_string())
}

/// Whether a JSON value fits a column of type `t` as the decoder reads it: numbers (and their
/// text) into numbers, anything scalar into text, arrays into lists, objects into structs.
fn json_fits(value: &serde_json::Value, t: &DataType) -> bool {
    use serde_json::Value;
    match (value, t) {
        (Value::Null, _) => true,
        (Value::Bool(_), DataType::Boolean) => true,
        (Value::Number(n), DataType::Int64) => n.is_i64(),
        (Value::String(s), DataType::Int64) => s.parse::<i64>().is_ok(),
        (Value::Number(_), DataType::Float64) => true,
        (Value::String(s), DataType::Float64) => s.parse::<f64>().is_ok(),
        (Value::Bool(_) | Value::Number(_) | Value::String(_), DataType::Utf8) => true,
        (Value::Array(_), DataType::List(_) | DataType::LargeList(_)) => true,
        (Value::Object(_), DataType::Struct(_)) => true,
        _ => false,
    }
}

/// Why a JSON object the decoder refused does not fit `schema`: the first field whose value is
/// not of its column's type, named with that type (never the value).
fn json_misfit(object: &str, line: u64, record: &[u8], schema: &Schema) -> DataError {
    let fields = match serde_json::from_slice::<serde_json::Value>(record) {
        Ok(serde_json::Value::Object(fields)) => fields,
        _ => return DataError::new(object, line, Problem::DoesNotFit),
    };
    for (name, value) in &fields {
        if let Ok(i) = schema.index_of(name) {
            let t = schema.field(i).data_type();
            if !json_fits(value, t) {
                let problem = Problem::NotA {
                    type_name: hive_type(t),
                };
                return DataError::new(object, line, problem).at_column(i + 1, name);
            }
        }
    }
    DataError::new(object, line, Problem::DoesNotFit)
}

/// JSON records gathered for one batch: their bytes one after another, each record's line and
/// span, so no record needs an allocation of its own.
#[derive(Default)]
pub struct JsonBatch {
    bytes: Vec<u8>,
    spans: Vec<(u64, usize, usize)>,
}

impl JsonBatch {
    pub fn push(&mut self, line: u64, record: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(record);
        self.spans.push((line, start, self.bytes.len()));
        self.bytes.push(b'\n');
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// The bytes of the records gathered.
    pub fn bytes(&self) -> usize {
        self.bytes.len()
    }
}

/// Decodes JSON records into a batch; records the decoder refuses are quarantined one by one.
pub fn decode_json(
    schema: &SchemaRef,
    object: &str,
    records: &JsonBatch,
    quarantine: &mut Vec<Quarantined>,
) -> Result<Option<RecordBatch>, String> {
    let build = |rows: usize| {
        arrow::json::ReaderBuilder::new(schema.clone())
            .with_batch_size(rows.max(1))
            .with_coerce_primitive(true)
            .with_strict_mode(true)
            .build_decoder()
            .map_err(|e| e.to_string())
    };
    let mut decoder = build(records.len())?;
    if decoder.decode(&records.bytes).is_ok()
        && let Ok(batch) = decoder.flush()
    {
        return Ok(batch);
    }
    // Some record does not fit: find which, one at a time.
    let mut good = Vec::new();
    for &(line, start, end) in &records.spans {
        let r = &records.bytes[start..end];
        if let Some(error) = json_record_problem(object, line, r) {
            quarantine.push(Quarantined {
                error,
                record: String::from_utf8_lossy(r).into_owned(),
            });
            continue;
        }
        let mut one = build(1)?;
        match one.decode(r).and_then(|_| one.flush()) {
            Ok(Some(batch)) => good.push(batch),
            Ok(None) => {}
            // arrow's message quotes the value: only the kind of problem is kept.
            Err(_) => quarantine.push(Quarantined {
                error: json_misfit(object, line, r, schema),
                record: String::from_utf8_lossy(r).into_owned(),
            }),
        }
    }
    if good.is_empty() {
        return Ok(None);
    }
    arrow::compute::concat_batches(schema, &good)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// How a CSV column's sampled cells vote for its type (consensus.rs).
pub fn csv_votes<'a>(cells: impl Iterator<Item = &'a str>) -> Votes {
    let mut votes = Votes::default();
    for c in cells {
        votes.csv(c);
    }
    votes
}

/// The type a CSV column takes when every sampled cell must agree: boolean, bigint or double,
/// else string.
fn csv_type<'a>(cells: impl Iterator<Item = &'a str>) -> DataType {
    csv_votes(cells)
        .agreed(Consensus::UNANIMOUS)
        .unwrap_or(DataType::Utf8)
}

/// The schema of a CSV header and its sampled rows.
pub fn infer_csv(header: &csv::StringRecord, sample: &[csv::StringRecord]) -> Schema {
    Schema::new(
        header
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let t = csv_type(sample.iter().map(|r| r.get(i).unwrap_or("")));
                Field::new(name.trim(), t, true)
            })
            .collect::<Vec<_>>(),
    )
}

enum ColumnBuilder {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Text(StringBuilder),
}

/// Decodes CSV rows into a batch; a row with the wrong number of cells, or a cell its column's
/// type cannot take, is quarantined.
pub fn decode_csv(
    schema: &SchemaRef,
    object: &str,
    rows: &[(u64, csv::StringRecord)],
    quarantine: &mut Vec<Quarantined>,
) -> Result<Option<RecordBatch>, String> {
    let mut builders: Vec<ColumnBuilder> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Boolean => ColumnBuilder::Bool(BooleanBuilder::new()),
            DataType::Int64 => ColumnBuilder::Int(Int64Builder::new()),
            DataType::Float64 => ColumnBuilder::Float(Float64Builder::new()),
            _ => ColumnBuilder::Text(StringBuilder::new()),
        })
        .collect();
    let mut kept = 0usize;
    'rows: for (line, row) in rows {
        let reject = |error: DataError, q: &mut Vec<Quarantined>| {
            q.push(Quarantined {
                error,
                record: row.iter().collect::<Vec<_>>().join(","),
            })
        };
        if row.len() != schema.fields().len() {
            let problem = Problem::FieldCount {
                found: row.len(),
                expected: schema.fields().len(),
            };
            reject(DataError::new(object, *line, problem), quarantine);
            continue;
        }
        // Check every cell before appending any, so a bad row leaves the columns aligned.
        for (i, (cell, f)) in row.iter().zip(schema.fields()).enumerate() {
            let ok = cell.is_empty()
                || match f.data_type() {
                    DataType::Boolean => {
                        cell.eq_ignore_ascii_case("true") || cell.eq_ignore_ascii_case("false")
                    }
                    DataType::Int64 => cell.parse::<i64>().is_ok(),
                    DataType::Float64 => cell.parse::<f64>().is_ok(),
                    _ => true,
                };
            if !ok {
                let problem = Problem::NotA {
                    type_name: hive_type(f.data_type()),
                };
                reject(
                    DataError::new(object, *line, problem).at_column(i + 1, f.name()),
                    quarantine,
                );
                continue 'rows;
            }
        }
        for (cell, b) in row.iter().zip(builders.iter_mut()) {
            let null = cell.is_empty();
            match b {
                ColumnBuilder::Bool(b) => {
                    b.append_option((!null).then(|| cell.eq_ignore_ascii_case("true")))
                }
                ColumnBuilder::Int(b) => b.append_option(cell.parse().ok()),
                ColumnBuilder::Float(b) => b.append_option(cell.parse().ok()),
                ColumnBuilder::Text(b) => b.append_option((!null).then_some(cell)),
            }
        }
        kept += 1;
    }
    if kept == 0 {
        return Ok(None);
    }
    let columns: Vec<ArrayRef> = builders
        .into_iter()
        .map(|b| -> ArrayRef {
            match b {
                ColumnBuilder::Bool(mut b) => Arc::new(b.finish()),
                ColumnBuilder::Int(mut b) => Arc::new(b.finish()),
                ColumnBuilder::Float(mut b) => Arc::new(b.finish()),
                ColumnBuilder::Text(mut b) => Arc::new(b.finish()),
            }
        })
        .collect();
    RecordBatch::try_new(schema.clone(), columns)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The Arrow type of a Hive (Glue) type name, for the types the lake writes.
pub fn arrow_type(hive: &str) -> Option<DataType> {
    Some(match hive {
        "boolean" => DataType::Boolean,
        "tinyint" | "smallint" | "int" | "bigint" => DataType::Int64,
        "float" | "double" => DataType::Float64,
        "string" => DataType::Utf8,
        _ => return None,
    })
}

/// The Arrow type a query reads a Hive (Glue) type as: what jobs read, and the types only
/// Parquet files carry (decimals, dates, timestamps, binary: DMS writes them).
pub fn query_type(hive: &str) -> Option<DataType> {
    Some(match hive {
        // The narrow types as they are: only Parquet files carry them (CSV and JSON are
        // cataloged as bigint and double).
        "tinyint" => DataType::Int8,
        "smallint" => DataType::Int16,
        "int" => DataType::Int32,
        "float" => DataType::Float32,
        "date" => DataType::Date32,
        "timestamp" => DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
        "binary" => DataType::Binary,
        _ if arrow_type(hive).is_some() => return arrow_type(hive),
        _ => {
            let (p, s) = hive
                .strip_prefix("decimal(")?
                .strip_suffix(')')?
                .split_once(',')?;
            let (p, s): (u8, i8) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
            if !(1..=38).contains(&p) || s < 0 || s as u8 > p {
                return None;
            }
            DataType::Decimal128(p, s)
        }
    })
}

/// The Hive (Glue) name of an Arrow type.
pub fn hive_type(t: &DataType) -> String {
    match t {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "bigint".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(..) => "timestamp".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Binary | DataType::LargeBinary => "binary".into(),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("array<{}>", hive_type(f.data_type()))
        }
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), hive_type(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        _ => "string".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    #[test]
    fn csv_types_follow_the_rules() {
        let t = |cells: &[&str]| csv_type(cells.iter().copied());
        assert_eq!(t(&["1", "2", ""]), DataType::Int64);
        assert_eq!(t(&["1", "2.5"]), DataType::Float64);
        assert_eq!(t(&["true", "False"]), DataType::Boolean);
        assert_eq!(
            t(&["007", "8"]),
            DataType::Utf8,
            "leading zeros are identifiers, not numbers"
        );
        assert_eq!(t(&["4111111111111111", "x"]), DataType::Utf8);
        assert_eq!(t(&["", ""]), DataType::Utf8);
    }

    #[test]
    fn csv_cells_their_column_cannot_take_quarantine_the_row() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("ok", DataType::Boolean, true),
        ]));
        let rows: Vec<(u64, csv::StringRecord)> = [
            vec!["1", "true"],
            vec!["two", "false"],
            vec!["3", "maybe"],
            vec!["4"],
            vec!["", ""],
        ]
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i as u64 + 2, csv::StringRecord::from(r)))
        .collect();
        let mut q = Vec::new();
        let batch = decode_csv(&schema, "o", &rows, &mut q).unwrap().unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.column(0).null_count(), 1);
        assert_eq!(
            q.iter().map(|q| q.error.line).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert!(q[0].error.reason().contains("is not a bigint"));
        assert!(
            !q[0].error.reason().contains("two"),
            "no value in the reason"
        );
        assert!(q[2].error.reason().contains("has 1 fields"));
    }

    #[test]
    fn json_records_are_checked_before_decoding() {
        let problem = |r: &[u8]| json_record_problem("o", 1, r).map(|e| e.reason());
        assert!(problem(br#"{"a":1}"#).is_none());
        assert!(problem(br#"{"a":"#).unwrap().contains("not valid JSON"));
        assert!(problem(b"[1,2]").unwrap().contains("not a JSON object"));
    }

    #[test]
    fn a_record_that_does_not_fit_is_quarantined_and_the_rest_decode() {
        let schema = Arc::new(infer_json(&[br#"{"id":1,"s":"x"}"#.to_vec()]).unwrap());
        let mut records = JsonBatch::default();
        records.push(1, br#"{"id":2,"s":"y"}"#);
        records.push(2, br#"{"id":"not a number","s":"z"}"#);
        records.push(3, br#"{"id":3,"s":"w","extra":true}"#);
        records.push(4, br#"{"id":4,"s":5}"#);
        let mut q = Vec::new();
        let batch = decode_json(&schema, "o", &records, &mut q)
            .unwrap()
            .unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(
            q.iter().map(|q| q.error.line).collect::<Vec<_>>(),
            vec![2, 3]
        );
    }
}
