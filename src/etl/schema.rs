//! A source's schema, inferred from samples of every object (within the budget: at most
//! `SAMPLE_RECORDS` records and `Budget::sample_bytes` of them per object) and merged, widening
//! a column whose objects disagree.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::budget::{Budget, exceeded_csv, exceeded_io};
use super::source::{self, Format, SAMPLE_RECORDS};
use super::{JobStore, Opened, failed, open_source};
use crate::service::{Principal, Progress, Result};

/// Widens two column types to one both fit: int and double give double; anything else that
/// differs gives string.
fn widen(a: &DataType, b: &DataType) -> DataType {
    match (a, b) {
        _ if a == b => a.clone(),
        (DataType::Null, t) | (t, DataType::Null) => t.clone(),
        (DataType::Int64, DataType::Float64) | (DataType::Float64, DataType::Int64) => {
            DataType::Float64
        }
        _ => DataType::Utf8,
    }
}

fn merge(into: &mut Vec<Field>, schema: &Schema) {
    for f in schema.fields() {
        match into.iter_mut().find(|g| g.name() == f.name()) {
            Some(g) => *g = Field::new(g.name(), widen(g.data_type(), f.data_type()), true),
            None => into.push(Field::new(f.name(), f.data_type().clone(), true)),
        }
    }
}

/// The merged columns as written: a column no object gave a type (null wherever it appears, a
/// JSON field always `null`) is text. Null has no type a reader of the output agrees on (Parquet
/// writes it as an INT32 of unknown meaning, which Spark and Athena refuse and the catalog calls
/// string), and text takes any value a later record brings. Until the merge ends it stays Null,
/// so another object's type wins.
fn settle(fields: Vec<Field>) -> Vec<Field> {
    fields
        .into_iter()
        .map(|f| match f.data_type() {
            DataType::Null => Field::new(f.name(), DataType::Utf8, true),
            _ => f,
        })
        .collect()
}

/// The schema of some objects: every object's sample, merged; and the first object's format.
pub fn sample_schema<S: JobStore + ?Sized>(
    store: &S,
    by: &Principal,
    bucket: &str,
    keys: &[String],
    budget: &Budget,
) -> Result<(SchemaRef, Format)> {
    let mut fields: Vec<Field> = Vec::new();
    let mut first_format = None;
    for key in keys {
        let object = format!("s3://{bucket}/{key}");
        let (format, opened) = open_source(store, by, bucket, key, &Progress::default(), budget)?;
        first_format.get_or_insert(format);
        let schema = match opened {
            Opened::Parquet(r) => arrow::record_batch::RecordBatchReader::schema(&r)
                .as_ref()
                .clone(),
            Opened::Json(mut records) => {
                let mut sample = Vec::new();
                let mut sampled_bytes = 0usize;
                while sample.len() < SAMPLE_RECORDS && sampled_bytes < budget.sample_bytes() {
                    match records.next_record() {
                        Ok(Some((line, r)))
                            if source::json_record_problem(&object, line, r).is_none() =>
                        {
                            sampled_bytes += r.len();
                            sample.push(r.to_vec())
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(e) => {
                            if let Some(limit) = exceeded_io(&e) {
                                return Err(limit.clone().into());
                            }
                            break;
                        }
                    }
                }
                source::infer_json(&sample)
                    .map_err(|e| failed(format!("s3://{bucket}/{key}: {e}")))?
            }
            Opened::Csv(mut reader) => {
                let header = reader
                    .headers()
                    .map_err(|e| match exceeded_csv(&e) {
                        Some(limit) => limit.clone().into(),
                        None => failed(format!("s3://{bucket}/{key}: no CSV header: {e}")),
                    })?
                    .clone();
                let mut sample: Vec<csv::StringRecord> = Vec::new();
                let mut sampled_bytes = 0usize;
                for record in reader.records().take(SAMPLE_RECORDS) {
                    match record {
                        Ok(r) if r.len() == header.len() => {
                            sampled_bytes += r.as_byte_record().as_slice().len();
                            sample.push(r);
                        }
                        Ok(_) => {}
                        Err(e) => {
                            if let Some(limit) = exceeded_csv(&e) {
                                return Err(limit.clone().into());
                            }
                        }
                    }
                    if sampled_bytes >= budget.sample_bytes() {
                        break;
                    }
                }
                source::infer_csv(&header, &sample)
            }
        };
        merge(&mut fields, &schema);
    }
    if fields.is_empty() {
        return Err(failed(format!(
            "no columns found in s3://{bucket}/{}: the objects hold no records",
            keys.first().map(String::as_str).unwrap_or("")
        )));
    }
    Ok((
        Arc::new(Schema::new(settle(fields))),
        first_format.unwrap_or(Format::JsonLines),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(schemas: &[&[(&str, DataType)]]) -> Vec<(String, DataType)> {
        let mut fields = Vec::new();
        for schema in schemas {
            let schema = Schema::new(
                schema
                    .iter()
                    .map(|(n, t)| Field::new(*n, t.clone(), true))
                    .collect::<Vec<_>>(),
            );
            merge(&mut fields, &schema);
        }
        settle(fields)
            .into_iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect()
    }

    #[test]
    fn an_all_null_field_takes_another_objects_type_else_is_text() {
        use DataType::*;
        assert_eq!(
            merged(&[
                &[("id", Int64), ("nick", Null), ("gone", Null)],
                &[("nick", Int64), ("id", Float64), ("new", Boolean)],
            ]),
            vec![
                ("id".into(), Float64),
                ("nick".into(), Int64),
                ("gone".into(), Utf8),
                ("new".into(), Boolean),
            ]
        );
        assert_eq!(
            merged(&[&[("a", Boolean)], &[("a", Int64)]]),
            vec![("a".into(), Utf8)]
        );
    }
}
