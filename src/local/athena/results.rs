//! Query results as Athena stores them: CSV with a header, every value quoted, NULL written as
//! an empty unquoted field so it reads back as NULL and not as ''. The format is simple enough,
//! and the NULL rule unusual enough, that the reader here is the writer's exact inverse.

use std::io::Write;

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// Athena's name for a result column's type.
pub fn athena_type(t: &DataType) -> String {
    match t {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 | DataType::UInt8 | DataType::UInt16 => "integer".into(),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "bigint".into(),
        DataType::Float16 | DataType::Float32 => "real".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(..) => "timestamp".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "varbinary".into(),
        DataType::List(_) | DataType::LargeList(_) => "array".into(),
        DataType::Struct(_) => "row".into(),
        DataType::Map(..) => "map".into(),
        DataType::Dictionary(_, v) => athena_type(v),
        _ => "varchar".into(),
    }
}

fn quoted(out: &mut impl Write, value: &str) -> std::io::Result<()> {
    out.write_all(b"\"")?;
    out.write_all(value.replace('"', "\"\"").as_bytes())?;
    out.write_all(b"\"")
}

pub fn write_header(out: &mut impl Write, names: &[String]) -> std::io::Result<()> {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        quoted(out, n)?;
    }
    out.write_all(b"\n")
}

pub fn write_batch(out: &mut impl Write, batch: &RecordBatch) -> std::io::Result<()> {
    let options = FormatOptions::default();
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(std::io::Error::other)?;
    let mut cell = String::new();
    for row in 0..batch.num_rows() {
        for (i, (f, column)) in formatters.iter().zip(batch.columns()).enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            if column.is_null(row) {
                continue;
            }
            cell.clear();
            use std::fmt::Write as _;
            write!(cell, "{}", f.value(row)).map_err(std::io::Error::other)?;
            quoted(out, &cell)?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Every row of what `write_header` and `write_batch` wrote.
#[cfg(test)]
fn read(text: &str, width: usize) -> Result<Vec<Vec<Option<String>>>, String> {
    read_page(text.as_bytes(), width, usize::MAX).map(|p| p.rows)
}

/// Rows read back, and where reading stopped.
pub struct Page {
    pub rows: Vec<Vec<Option<String>>>,
    /// Bytes consumed: the next page starts this far from where this one did.
    pub consumed: u64,
    /// The input ended: there is no next page.
    pub ended: bool,
}

/// A page of at most `max` rows from `input`, which starts at a row's first byte; also the
/// bytes consumed (where the next page starts) and whether the input ended. Reads only as far as
/// the page needs, so paging through a large result never holds more than a page.
pub fn read_page(input: impl std::io::BufRead, width: usize, max: usize) -> Result<Page, String> {
    let mut bytes = input.bytes().peekable();
    let mut rows = Vec::new();
    let mut row: Vec<Option<String>> = Vec::new();
    let mut consumed = 0u64;
    let mut at_field_start = true;
    let mut next =
        |bytes: &mut std::iter::Peekable<std::io::Bytes<_>>| -> Result<Option<u8>, String> {
            match bytes.next() {
                None => Ok(None),
                Some(Ok(b)) => {
                    consumed += 1;
                    Ok(Some(b))
                }
                Some(Err(e)) => Err(format!("cannot read the results: {e}")),
            }
        };
    while rows.len() < max {
        let Some(b) = next(&mut bytes)? else {
            if !row.is_empty() {
                return Err("the last row is not terminated".into());
            }
            return Ok(Page {
                rows,
                consumed,
                ended: true,
            });
        };
        match b {
            b'"' => {
                let mut value = Vec::new();
                loop {
                    match next(&mut bytes)? {
                        Some(b'"') if matches!(bytes.peek(), Some(Ok(b'"'))) => {
                            next(&mut bytes)?;
                            value.push(b'"');
                        }
                        Some(b'"') => break,
                        Some(other) => value.push(other),
                        None => return Err("a quoted value is not closed".into()),
                    }
                }
                row.push(Some(
                    String::from_utf8(value).map_err(|_| "a value is not UTF-8".to_string())?,
                ));
                at_field_start = false;
            }
            b',' => {
                if at_field_start {
                    row.push(None);
                }
                at_field_start = true;
            }
            b'\n' => {
                if at_field_start {
                    row.push(None);
                }
                if row.len() != width {
                    return Err(format!("a row has {} values, not {width}", row.len()));
                }
                rows.push(std::mem::take(&mut row));
                at_field_start = true;
            }
            other => {
                return Err(format!(
                    "unexpected {:?} outside a quoted value",
                    other as char
                ));
            }
        }
    }
    let ended = bytes.peek().is_none();
    Ok(Page {
        rows,
        consumed,
        ended,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn nulls_empty_strings_quotes_and_newlines_round_trip() {
        let batch = RecordBatch::try_from_iter([
            (
                "s",
                Arc::new(StringArray::from(vec![
                    Some(""),
                    None,
                    Some("a \"b\", c\nd"),
                ])) as _,
            ),
            (
                "n",
                Arc::new(Int64Array::from(vec![None, Some(2), Some(-3)])) as _,
            ),
        ])
        .unwrap();
        let mut out = Vec::new();
        write_header(&mut out, &["s".into(), "n".into()]).unwrap();
        write_batch(&mut out, &batch).unwrap();
        let rows = read(std::str::from_utf8(&out).unwrap(), 2).unwrap();
        let s = |v: &str| Some(v.to_string());
        assert_eq!(read("\n\n", 1).unwrap(), vec![vec![None], vec![None]]);
        // Pages: two rows, then where the next starts.
        let text = std::str::from_utf8(&out).unwrap();
        let first = read_page(text.as_bytes(), 2, 2).unwrap();
        assert_eq!((first.rows.len(), first.ended), (2, false));
        let rest = read_page(&text.as_bytes()[first.consumed as usize..], 2, 10).unwrap();
        assert_eq!((rest.rows.len(), rest.ended), (2, true));
        assert_eq!(rest.rows[1][1].as_deref(), Some("-3"));
        assert_eq!(
            rows,
            vec![
                vec![s("s"), s("n")],
                vec![s(""), None],
                vec![None, s("2")],
                vec![s("a \"b\", c\nd"), s("-3")],
            ]
        );
    }
}
