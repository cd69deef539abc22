//! A source's schema, inferred from samples of every object (within the budget: at most
//! `SAMPLE_RECORDS` records and `Budget::sample_bytes` of them per object). Each column's type is
//! what its sampled values agree on across all objects (consensus.rs); a column without such
//! agreement widens as the objects' own inferred types do (int and double to double, else
//! string). Parquet objects declare their types, which widen with the rest.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::budget::{Budget, exceeded_csv, exceeded_io};
use super::consensus::{Consensus, Votes};
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

/// What the samples say of one column, across objects.
struct Column {
    name: String,
    /// The type the text objects' samples give it when they must all agree (widened).
    inferred: Option<DataType>,
    /// How its sampled values voted (JSON and CSV objects).
    votes: Votes,
    /// The type Parquet objects declare for it (widened).
    declared: Option<DataType>,
}

impl Column {
    fn decide(&self, consensus: Consensus) -> DataType {
        let voted = self
            .inferred
            .as_ref()
            .map(|inferred| self.votes.agreed(consensus).unwrap_or(inferred.clone()));
        match (voted, &self.declared) {
            (Some(v), Some(d)) => widen(&v, d),
            (Some(v), None) => v,
            (None, Some(d)) => d.clone(),
            (None, None) => DataType::Utf8,
        }
    }
}

#[derive(Default)]
struct Columns(Vec<Column>);

impl Columns {
    fn get(&mut self, name: &str) -> &mut Column {
        let i = match self.0.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                self.0.push(Column {
                    name: name.to_string(),
                    inferred: None,
                    votes: Votes::default(),
                    declared: None,
                });
                self.0.len() - 1
            }
        };
        &mut self.0[i]
    }

    fn infer(&mut self, schema: &Schema) {
        for f in schema.fields() {
            let c = self.get(f.name());
            c.inferred = Some(match &c.inferred {
                Some(t) => widen(t, f.data_type()),
                None => f.data_type().clone(),
            });
        }
    }

    fn declare(&mut self, schema: &Schema) {
        for f in schema.fields() {
            let c = self.get(f.name());
            c.declared = Some(match &c.declared {
                Some(t) => widen(t, f.data_type()),
                None => f.data_type().clone(),
            });
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

/// The schema of some objects: every object's sample, columns typed by `consensus`; and the
/// first object's format.
pub fn sample_schema<S: JobStore + ?Sized>(
    store: &S,
    by: &Principal,
    bucket: &str,
    keys: &[String],
    budget: &Budget,
    consensus: Consensus,
) -> Result<(SchemaRef, Format)> {
    let mut columns = Columns::default();
    let mut first_format = None;
    for key in keys {
        let object = format!("s3://{bucket}/{key}");
        let (format, opened) = open_source(store, by, bucket, key, &Progress::default(), budget)?;
        first_format.get_or_insert(format);
        match opened {
            Opened::Parquet(r) => {
                columns.declare(&arrow::record_batch::RecordBatchReader::schema(&r));
            }
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
                let schema = source::infer_json_voting(
                    &sample,
                    &mut |name: &str, value: &serde_json::Value| {
                        columns.get(name).votes.json(value)
                    },
                )
                .map_err(|e| failed(format!("s3://{bucket}/{key}: {e}")))?;
                columns.infer(&schema);
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
                // Without agreement a CSV column is text.
                for (i, name) in header.iter().enumerate() {
                    let votes = source::csv_votes(sample.iter().map(|r| r.get(i).unwrap_or("")));
                    let c = columns.get(name.trim());
                    c.votes.add(&votes);
                    c.inferred = Some(match &c.inferred {
                        Some(t) => widen(t, &DataType::Utf8),
                        None => DataType::Utf8,
                    });
                }
            }
        }
    }
    if columns.0.is_empty() {
        return Err(failed(format!(
            "no columns found in s3://{bucket}/{}: the objects hold no records",
            keys.first().map(String::as_str).unwrap_or("")
        )));
    }
    let fields: Vec<Field> = columns
        .0
        .iter()
        .map(|c| Field::new(&c.name, c.decide(consensus), true))
        .collect();
    Ok((
        Arc::new(Schema::new(settle(fields))),
        first_format.unwrap_or(Format::JsonLines),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(schemas: &[&[(&str, DataType)]]) -> Vec<(String, DataType)> {
        let mut columns = Columns::default();
        for schema in schemas {
            let schema = Schema::new(
                schema
                    .iter()
                    .map(|(n, t)| Field::new(*n, t.clone(), true))
                    .collect::<Vec<_>>(),
            );
            columns.infer(&schema);
        }
        let fields = columns
            .0
            .iter()
            .map(|c| Field::new(&c.name, c.decide(Consensus::DEFAULT), true))
            .collect();
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
