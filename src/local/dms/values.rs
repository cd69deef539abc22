//! DMS's type mapping: a source column's type (PostgreSQL's or SQLite's) to the Arrow type the
//! target files carry, and source values (PostgreSQL's text forms, as COPY and pgoutput give
//! them, or SQLite's typed values) into Arrow arrays. Errors name the column and the type,
//! never the value, which is data.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{NaiveDate, NaiveDateTime};

/// A source column and the Arrow type it lands as.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceColumn {
    /// The name in the source.
    pub name: String,
    /// The name in the target (after the mapping's transformations).
    pub target: String,
    pub data_type: DataType,
    /// Part of the primary key.
    pub key: bool,
}

/// PostgreSQL's type (`udt_name`, with numeric's precision and scale) as DMS maps it: integers,
/// floats, numeric(p,s) as decimal, date, timestamps (with zone: in UTC) as timestamps, boolean,
/// bytea as binary; text, uuid, json, jsonb and every other type as strings. A numeric without
/// a precision stays a string (no decimal type holds every value it may have).
pub fn postgres_type(udt: &str, precision: Option<i32>, scale: Option<i32>) -> DataType {
    match udt {
        "bool" => DataType::Boolean,
        "int2" => DataType::Int16,
        "int4" => DataType::Int32,
        "int8" => DataType::Int64,
        "float4" => DataType::Float32,
        "float8" => DataType::Float64,
        "numeric" => match (precision, scale) {
            (Some(p), Some(s)) if (1..=38).contains(&p) && (0..=p).contains(&s) => {
                DataType::Decimal128(p as u8, s as i8)
            }
            _ => DataType::Utf8,
        },
        "date" => DataType::Date32,
        "timestamp" | "timestamptz" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "bytea" => DataType::Binary,
        _ => DataType::Utf8,
    }
}

/// SQLite's declared type by its affinity rules (INT..., REAL/FLOA/DOUB, BLOB or none,
/// BOOL..., DATE..., DECIMAL(p,s)); text otherwise.
pub fn sqlite_type(declared: &str) -> DataType {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        DataType::Int64
    } else if t.starts_with("BOOL") {
        DataType::Boolean
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        DataType::Float64
    } else if t.contains("BLOB") {
        DataType::Binary
    } else if t.starts_with("TIMESTAMP") || t.starts_with("DATETIME") {
        DataType::Timestamp(TimeUnit::Microsecond, None)
    } else if t.starts_with("DATE") {
        DataType::Date32
    } else if let Some((p, s)) = decimal_args(&t) {
        DataType::Decimal128(p, s)
    } else {
        DataType::Utf8
    }
}

fn decimal_args(t: &str) -> Option<(u8, i8)> {
    let rest = t
        .strip_prefix("DECIMAL(")
        .or_else(|| t.strip_prefix("NUMERIC("))?;
    let (p, s) = rest.strip_suffix(')')?.split_once(',')?;
    let (p, s): (u8, i8) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
    ((1..=38).contains(&p) && s >= 0 && s as u8 <= p).then_some((p, s))
}

/// One source value.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Null,
    /// PostgreSQL's text form of the value.
    Text(&'a str),
    Int(i64),
    Float(f64),
    Bytes(&'a [u8]),
}

enum Builder {
    Bool(BooleanBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Dec(Decimal128Builder, u8, i8),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Bin(BinaryBuilder),
    Str(StringBuilder),
}

/// Rows being gathered into one Arrow batch of a fixed schema.
pub struct Rows {
    schema: SchemaRef,
    builders: Vec<Builder>,
    len: usize,
}

/// Why a value did not convert: the column and its type, never the value.
#[derive(Debug, Clone, PartialEq)]
pub struct BadValue {
    pub column: String,
    pub data_type: String,
}

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a value of column {} is not a valid {}",
            self.column, self.data_type
        )
    }
}

impl Rows {
    /// A batch for `columns`, with `leading` string columns first (the change files' `Op`).
    pub fn new(leading: &[&str], columns: &[SourceColumn]) -> Rows {
        let mut fields: Vec<Field> = leading
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, false))
            .collect();
        fields.extend(
            columns
                .iter()
                .map(|c| Field::new(&c.target, c.data_type.clone(), true)),
        );
        let builders = fields
            .iter()
            .map(|f| match f.data_type() {
                DataType::Boolean => Builder::Bool(BooleanBuilder::new()),
                DataType::Int16 => Builder::I16(Int16Builder::new()),
                DataType::Int32 => Builder::I32(Int32Builder::new()),
                DataType::Int64 => Builder::I64(Int64Builder::new()),
                DataType::Float32 => Builder::F32(Float32Builder::new()),
                DataType::Float64 => Builder::F64(Float64Builder::new()),
                DataType::Decimal128(p, s) => Builder::Dec(
                    Decimal128Builder::new()
                        .with_precision_and_scale(*p, *s)
                        .expect("precision checked when typed"),
                    *p,
                    *s,
                ),
                DataType::Date32 => Builder::Date(Date32Builder::new()),
                DataType::Timestamp(..) => Builder::Ts(TimestampMicrosecondBuilder::new()),
                DataType::Binary => Builder::Bin(BinaryBuilder::new()),
                _ => Builder::Str(StringBuilder::new()),
            })
            .collect();
        Rows {
            schema: Arc::new(Schema::new(fields)),
            builders,
            len: 0,
        }
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends one row (as many cells as the schema has fields). On a bad value nothing of the
    /// row is kept.
    pub fn push(&mut self, cells: &[Cell]) -> Result<(), BadValue> {
        debug_assert_eq!(cells.len(), self.builders.len());
        // Convert first, append after: a row is all in or all out.
        let mut parsed = Vec::with_capacity(cells.len());
        for (i, cell) in cells.iter().enumerate() {
            let field = self.schema.field(i);
            parsed.push(convert(&self.builders[i], *cell).ok_or_else(|| BadValue {
                column: field.name().clone(),
                data_type: field.data_type().to_string(),
            })?);
        }
        for (b, v) in self.builders.iter_mut().zip(parsed) {
            append(b, v);
        }
        self.len += 1;
        Ok(())
    }

    /// The rows so far as a batch; the builders start again empty.
    pub fn take(&mut self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Bool(b) => Arc::new(b.finish()),
                    Builder::I16(b) => Arc::new(b.finish()),
                    Builder::I32(b) => Arc::new(b.finish()),
                    Builder::I64(b) => Arc::new(b.finish()),
                    Builder::F32(b) => Arc::new(b.finish()),
                    Builder::F64(b) => Arc::new(b.finish()),
                    Builder::Dec(b, p, s) => Arc::new(
                        b.finish()
                            .with_precision_and_scale(*p, *s)
                            .expect("precision checked when typed"),
                    ),
                    Builder::Date(b) => Arc::new(b.finish()),
                    Builder::Ts(b) => Arc::new(b.finish()),
                    Builder::Bin(b) => Arc::new(b.finish()),
                    Builder::Str(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.len = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).expect("builders follow the schema")
    }
}

/// A converted value, ready to append.
enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Dec(i128),
    Date(i32),
    Ts(i64),
    Bytes(Vec<u8>),
    Str(String),
}

fn convert(b: &Builder, cell: Cell) -> Option<Value> {
    if let Cell::Null = cell {
        return Some(Value::Null);
    }
    Some(match b {
        Builder::Bool(_) => Value::Bool(match cell {
            Cell::Text(t) => match t {
                "t" | "true" | "TRUE" | "1" => true,
                "f" | "false" | "FALSE" | "0" => false,
                _ => return None,
            },
            Cell::Int(i) => i != 0,
            _ => return None,
        }),
        Builder::I16(_) | Builder::I32(_) | Builder::I64(_) => {
            let v = match cell {
                Cell::Text(t) => t.parse::<i64>().ok()?,
                Cell::Int(i) => i,
                _ => return None,
            };
            let fits = match b {
                Builder::I16(_) => i16::try_from(v).is_ok(),
                Builder::I32(_) => i32::try_from(v).is_ok(),
                _ => true,
            };
            fits.then_some(Value::Int(v))?
        }
        Builder::F32(_) | Builder::F64(_) => Value::Float(match cell {
            Cell::Text(t) => t.parse::<f64>().ok()?,
            Cell::Int(i) => i as f64,
            Cell::Float(f) => f,
            _ => return None,
        }),
        Builder::Dec(_, p, s) => Value::Dec(match cell {
            Cell::Text(t) => parse_decimal(t, *p, *s)?,
            Cell::Int(i) => parse_decimal(&i.to_string(), *p, *s)?,
            Cell::Float(f) => parse_decimal(&format!("{f}"), *p, *s)?,
            _ => return None,
        }),
        Builder::Date(_) => match cell {
            Cell::Text(t) => {
                let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
                Value::Date((d - NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days() as i32)
            }
            _ => return None,
        },
        Builder::Ts(_) => match cell {
            Cell::Text(t) => Value::Ts(parse_timestamp(t)?),
            _ => return None,
        },
        Builder::Bin(_) => Value::Bytes(match cell {
            Cell::Text(t) => hex::decode(t.strip_prefix("\\x")?).ok()?,
            Cell::Bytes(b) => b.to_vec(),
            _ => return None,
        }),
        Builder::Str(_) => Value::Str(match cell {
            Cell::Text(t) => t.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => f.to_string(),
            Cell::Bytes(b) => String::from_utf8(b.to_vec()).ok()?,
            Cell::Null => unreachable!("handled above"),
        }),
    })
}

fn append(b: &mut Builder, v: Value) {
    match (b, v) {
        (Builder::Bool(b), Value::Bool(x)) => b.append_value(x),
        (Builder::I16(b), Value::Int(x)) => b.append_value(x as i16),
        (Builder::I32(b), Value::Int(x)) => b.append_value(x as i32),
        (Builder::I64(b), Value::Int(x)) => b.append_value(x),
        (Builder::F32(b), Value::Float(x)) => b.append_value(x as f32),
        (Builder::F64(b), Value::Float(x)) => b.append_value(x),
        (Builder::Dec(b, ..), Value::Dec(x)) => b.append_value(x),
        (Builder::Date(b), Value::Date(x)) => b.append_value(x),
        (Builder::Ts(b), Value::Ts(x)) => b.append_value(x),
        (Builder::Bin(b), Value::Bytes(x)) => b.append_value(x),
        (Builder::Str(b), Value::Str(x)) => b.append_value(x),
        (b, _) => match b {
            Builder::Bool(b) => b.append_null(),
            Builder::I16(b) => b.append_null(),
            Builder::I32(b) => b.append_null(),
            Builder::I64(b) => b.append_null(),
            Builder::F32(b) => b.append_null(),
            Builder::F64(b) => b.append_null(),
            Builder::Dec(b, ..) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Ts(b) => b.append_null(),
            Builder::Bin(b) => b.append_null(),
            Builder::Str(b) => b.append_null(),
        },
    }
}

/// `-123.45` at scale `s` as the unscaled integer, if it fits precision `p`; more fractional
/// digits than the scale are refused (PostgreSQL's numeric(p,s) never has them).
fn parse_decimal(t: &str, p: u8, s: i8) -> Option<i128> {
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
        || frac.len() > s as usize
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    if int.len() + s as usize > p as usize {
        return None;
    }
    let mut v: i128 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        v = v * 10 + (c - b'0') as i128;
    }
    for _ in frac.len()..s as usize {
        v *= 10;
    }
    Some(if neg { -v } else { v })
}

/// PostgreSQL's text timestamp (`2024-01-02 03:04:05.123456`, with `+00`, `+05:30` or `-08`
/// for timestamptz) as microseconds since the epoch, in UTC.
fn parse_timestamp(t: &str) -> Option<i64> {
    let (local, offset_secs) = match t.get(19..).and_then(|tail| tail.find(['+', '-'])) {
        Some(i) => {
            let (l, o) = t.split_at(19 + i);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let mut parts = o[1..].split(':');
            let h: i64 = parts.next()?.parse().ok()?;
            let m: i64 = parts.next().map(str::parse).transpose().ok()?.unwrap_or(0);
            let s: i64 = parts.next().map(str::parse).transpose().ok()?.unwrap_or(0);
            (l, sign * (h * 3600 + m * 60 + s))
        }
        None => (t, 0),
    };
    let dt = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()?;
    Some(dt.and_utc().timestamp_micros() - offset_secs * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Decimal128Type, TimestampMicrosecondType};

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("-123.45", 10, 2), Some(-12345));
        assert_eq!(parse_decimal("7", 10, 2), Some(700));
        assert_eq!(parse_decimal("0.5", 3, 2), Some(50));
        assert_eq!(parse_decimal("1.234", 10, 2), None);
        assert_eq!(parse_decimal("123456", 5, 0), None);
        assert_eq!(parse_decimal("NaN", 5, 0), None);
        assert_eq!(parse_decimal("", 5, 0), None);
        assert_eq!(parse_decimal("1e5", 5, 0), None);
    }

    #[test]
    fn timestamps_in_utc() {
        let base = parse_timestamp("2024-01-02 03:04:05").unwrap();
        assert_eq!(parse_timestamp("2024-01-02 03:04:05+00"), Some(base));
        assert_eq!(parse_timestamp("2024-01-02 05:34:05+02:30"), Some(base));
        assert_eq!(parse_timestamp("2024-01-01 19:04:05-08"), Some(base));
        assert_eq!(
            parse_timestamp("2024-01-02 03:04:05.25+00"),
            Some(base + 250_000)
        );
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn rows_of_every_type() {
        let cols: Vec<SourceColumn> = [
            ("b", postgres_type("bool", None, None)),
            ("n", postgres_type("numeric", Some(12), Some(2))),
            ("t", postgres_type("timestamptz", None, None)),
            ("d", postgres_type("date", None, None)),
            ("x", postgres_type("bytea", None, None)),
            ("u", postgres_type("uuid", None, None)),
        ]
        .into_iter()
        .map(|(n, t)| SourceColumn {
            name: n.into(),
            target: n.into(),
            data_type: t,
            key: false,
        })
        .collect();
        let mut rows = Rows::new(&["Op"], &cols);
        rows.push(&[
            Cell::Text("I"),
            Cell::Text("t"),
            Cell::Text("10.50"),
            Cell::Text("2024-01-02 03:04:05+00"),
            Cell::Text("2024-01-02"),
            Cell::Text("\\x00ff"),
            Cell::Text("3f0c5c1e-0000-4000-8000-000000000000"),
        ])
        .unwrap();
        let bad = rows
            .push(&[
                Cell::Text("I"),
                Cell::Text("maybe"),
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
            ])
            .unwrap_err();
        assert_eq!(bad.column, "b");
        assert!(!bad.to_string().contains("maybe"));
        rows.push(&[
            Cell::Text("D"),
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
        ])
        .unwrap();
        let batch = rows.take();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(
            batch.column(2).as_primitive::<Decimal128Type>().value(0),
            1050
        );
        assert_eq!(
            batch
                .column(3)
                .as_primitive::<TimestampMicrosecondType>()
                .value(0),
            parse_timestamp("2024-01-02 03:04:05").unwrap()
        );
        assert_eq!(batch.column(5).as_binary::<i32>().value(0), &[0, 255]);
        assert!(batch.column(1).is_null(1));
    }

    #[test]
    fn sqlite_affinity() {
        assert_eq!(sqlite_type("INTEGER"), DataType::Int64);
        assert_eq!(sqlite_type("decimal(10,2)"), DataType::Decimal128(10, 2));
        assert_eq!(sqlite_type("varchar(20)"), DataType::Utf8);
        assert_eq!(sqlite_type("BLOB"), DataType::Binary);
        assert_eq!(sqlite_type("DATE"), DataType::Date32);
    }
}
