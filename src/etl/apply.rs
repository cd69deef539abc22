//! The current state of a table from DMS's files: the full load (`LOAD*.csv|parquet`) and then
//! the change files, in the order DMS wrote them, applied by the table's primary key (an `Op`
//! of `I` or `U` makes the row's version the current one, `D` removes it; the full load's rows
//! have no `Op` and count as inserts). What comes out is the table as the source holds it at
//! the last change file, ordered by key, without the `Op` column.
//!
//! The state is the decoded batches and, for each key, where its current version is; when the
//! batches outgrow the run's memory they are compacted to the live rows, and a state that still
//! does not fit ends the run with LimitExceededException. Errors name the object and the
//! column, never a value.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use super::budget::{Exceeded, Limit};
use super::failed;
use crate::service::{Result, ServiceError};

/// DMS's operation column, first in every change file.
pub const OP: &str = "Op";

/// Whether `key`'s file name is a full-load file (`LOAD00000001.csv`, `.parquet`, ...).
pub fn is_full_load(key: &str) -> bool {
    key.rsplit('/')
        .next()
        .is_some_and(|f| f.starts_with("LOAD"))
}

/// DMS's files in the order they apply: full-load files first, then change files, each in
/// name order (DMS names change files by time, then a sequence number).
pub fn apply_order(keys: &mut [String]) {
    keys.sort_by(|a, b| (!is_full_load(a), a.as_str()).cmp(&(!is_full_load(b), b.as_str())));
}

/// The schema read (the table's columns and `Op`) and the schema written (without `Op`).
pub fn schemas(sampled: &SchemaRef) -> (SchemaRef, SchemaRef) {
    let table: Vec<Field> = sampled
        .fields()
        .iter()
        .filter(|f| f.name() != OP)
        .map(|f| f.as_ref().clone())
        .collect();
    let mut read = vec![Field::new(OP, arrow::datatypes::DataType::Utf8, true)];
    read.extend(table.iter().cloned());
    (Arc::new(Schema::new(read)), Arc::new(Schema::new(table)))
}

/// Where a key's current version is: a batch and a row of it.
#[derive(Clone, Copy)]
struct At {
    batch: u32,
    row: u32,
}

pub struct State {
    /// Where the table's columns are in a read batch (every column but `Op`).
    out: SchemaRef,
    key_columns: Vec<usize>,
    converter: RowConverter,
    batches: Vec<RecordBatch>,
    current: HashMap<Vec<u8>, At>,
    memory: usize,
    limit: usize,
    object: String,
    /// Records read that are not in the output: older versions, deleted rows, delete records.
    pub superseded: u64,
}

impl State {
    /// `read` is `schemas().0`; `key` the primary key's columns, in order.
    pub fn new(read: &SchemaRef, key: &[String], limit: u64, object: &str) -> Result<State> {
        if key.is_empty() {
            return Err(failed("applying changes needs the table's primary key"));
        }
        let mut key_columns = Vec::new();
        let mut fields = Vec::new();
        for k in key {
            let i = read.index_of(k).map_err(|_| {
                failed(format!(
                    "{object}: the primary key column {k:?} is not in the data"
                ))
            })?;
            key_columns.push(i);
            fields.push(SortField::new(read.field(i).data_type().clone()));
        }
        let converter = RowConverter::new(fields).map_err(|e| failed(e.to_string()))?;
        let out = Arc::new(Schema::new(
            read.fields()
                .iter()
                .filter(|f| f.name() != OP)
                .map(|f| f.as_ref().clone())
                .collect::<Vec<_>>(),
        ));
        Ok(State {
            out,
            key_columns,
            converter,
            batches: Vec::new(),
            current: HashMap::new(),
            memory: 0,
            limit: limit as usize,
            object: object.to_string(),
            superseded: 0,
        })
    }

    /// Applies one batch (in the read schema) of records, in order.
    pub fn apply(&mut self, batch: RecordBatch) -> Result<()> {
        let ops = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| failed(format!("{}: the Op column is not text", self.object)))?
            .clone();
        let keys: Vec<ArrayRef> = self
            .key_columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        for (n, k) in keys.iter().enumerate() {
            if k.null_count() > 0 {
                return Err(failed(format!(
                    "{}: a record without its primary key (column {})",
                    self.object,
                    batch.schema().field(self.key_columns[n]).name()
                )));
            }
        }
        let rows = self
            .converter
            .convert_columns(&keys)
            .map_err(|e| failed(e.to_string()))?;
        let index = self.batches.len() as u32;
        let mut kept = false;
        for row in 0..batch.num_rows() {
            let key = rows.row(row).as_ref().to_vec();
            let op = if ops.is_null(row) {
                "I"
            } else {
                ops.value(row)
            };
            match op {
                "I" | "U" => {
                    kept = true;
                    let at = At {
                        batch: index,
                        row: row as u32,
                    };
                    if self.current.insert(key, at).is_some() {
                        self.superseded += 1;
                    }
                }
                "D" => {
                    // The delete record itself, and the version it removes.
                    self.superseded += 1;
                    if self.current.remove(&key).is_some() {
                        self.superseded += 1;
                    }
                }
                _ => {
                    return Err(failed(format!(
                        "{}: a record whose Op is not I, U or D",
                        self.object
                    )));
                }
            }
        }
        if kept {
            self.memory += batch.get_array_memory_size();
            self.batches.push(batch);
        } else {
            // Only deletes: keep the batch's place so indexes stay right, holding nothing.
            self.batches.push(RecordBatch::new_empty(batch.schema()));
        }
        if self.memory > self.limit {
            self.compact()?;
        }
        Ok(())
    }

    /// The live rows, in key order, in batches of at most `rows` rows of the written schema.
    fn live(&self, rows: usize) -> Result<Vec<RecordBatch>> {
        let mut order: Vec<(&Vec<u8>, At)> = self.current.iter().map(|(k, a)| (k, *a)).collect();
        order.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let width = self.out.fields().len();
        let mut out = Vec::new();
        for chunk in order.chunks(rows.max(1)) {
            let picks: Vec<(usize, usize)> = chunk
                .iter()
                .map(|(_, a)| (a.batch as usize, a.row as usize))
                .collect();
            let mut columns = Vec::with_capacity(width);
            for c in 0..width {
                // Column c of the table is column c + 1 of a read batch (Op is first).
                let sources: Vec<&dyn Array> = self
                    .batches
                    .iter()
                    .map(|b| b.column(c + 1).as_ref())
                    .collect();
                columns.push(
                    arrow::compute::interleave(&sources, &picks)
                        .map_err(|e| failed(e.to_string()))?,
                );
            }
            out.push(
                RecordBatch::try_new(self.out.clone(), columns)
                    .map_err(|e| failed(e.to_string()))?,
            );
        }
        Ok(out)
    }

    /// Replaces the batches by the live rows alone.
    fn compact(&mut self) -> Result<()> {
        let live = self.live(usize::MAX)?;
        let read_schema = self
            .batches
            .first()
            .map(|b| b.schema())
            .ok_or_else(|| ServiceError::internal("compacting no batches"))?;
        let mut batches = Vec::new();
        let mut current = HashMap::with_capacity(self.current.len());
        let mut memory = 0;
        if let Some(b) = live.into_iter().next() {
            let mut columns: Vec<ArrayRef> = vec![arrow::array::new_null_array(
                &arrow::datatypes::DataType::Utf8,
                b.num_rows(),
            )];
            columns.extend(b.columns().iter().cloned());
            let batch =
                RecordBatch::try_new(read_schema, columns).map_err(|e| failed(e.to_string()))?;
            let keys: Vec<ArrayRef> = self
                .key_columns
                .iter()
                .map(|&i| batch.column(i).clone())
                .collect();
            let rows = self
                .converter
                .convert_columns(&keys)
                .map_err(|e| failed(e.to_string()))?;
            for row in 0..batch.num_rows() {
                current.insert(
                    rows.row(row).as_ref().to_vec(),
                    At {
                        batch: 0,
                        row: row as u32,
                    },
                );
            }
            memory = batch.get_array_memory_size();
            batches.push(batch);
        }
        let keys_memory: usize = current.keys().map(|k| k.len() + 32).sum();
        if memory + keys_memory > self.limit {
            let limit = Limit::Memory {
                what: "the current state of the table (applying changes)",
                limit: self.limit as u64,
            };
            return Err(Exceeded::new(&self.object, limit).into());
        }
        self.batches = batches;
        self.current = current;
        self.memory = memory;
        Ok(())
    }

    /// The table's rows now, in key order, in batches of at most `rows` rows.
    pub fn finish(self, rows: usize) -> Result<(Vec<RecordBatch>, u64)> {
        let batches = self.live(rows)?;
        Ok((batches, self.superseded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::DataType;

    fn read_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(OP, DataType::Utf8, true),
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ]))
    }

    fn batch(rows: &[(Option<&str>, i64, Option<&str>)]) -> RecordBatch {
        RecordBatch::try_new(
            read_schema(),
            vec![
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap()
    }

    fn rows(state: State) -> (Vec<(i64, Option<String>)>, u64) {
        let (batches, superseded) = state.finish(2).unwrap();
        let mut out = Vec::new();
        for b in batches {
            assert_eq!(b.num_columns(), 2, "Op is not written");
            let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            let names = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
            for i in 0..b.num_rows() {
                let name = (!names.is_null(i)).then(|| names.value(i).to_string());
                out.push((ids.value(i), name));
            }
        }
        (out, superseded)
    }

    fn changes(limit: u64) -> State {
        let key = vec!["id".to_string()];
        let mut s = State::new(&read_schema(), &key, limit, "s3://b/t/").unwrap();
        s.apply(batch(&[
            (None, 3, Some("c")),
            (None, 1, Some("a")),
            (None, 2, Some("b")),
        ]))
        .unwrap();
        s.apply(batch(&[
            (Some("U"), 1, Some("a2")),
            (Some("D"), 2, None),
            (Some("I"), 4, Some("d")),
        ]))
        .unwrap();
        s.apply(batch(&[(Some("D"), 4, None), (Some("I"), 2, Some("b2"))]))
            .unwrap();
        s
    }

    #[test]
    fn inserts_updates_and_deletes_apply_in_order_by_key() {
        let (out, superseded) = rows(changes(1 << 30));
        assert_eq!(
            out,
            vec![
                (1, Some("a2".into())),
                (2, Some("b2".into())),
                (3, Some("c".into()))
            ]
        );
        // 8 records read, 3 written: a1 and b replaced or removed, 2 delete records, d removed.
        assert_eq!(superseded, 5);
    }

    #[test]
    fn a_compacted_state_holds_the_same_rows_and_one_that_cannot_fit_is_refused() {
        let key = vec!["id".to_string()];
        let mut s = State::new(&read_schema(), &key, 1 << 30, "s3://b/t/").unwrap();
        s.apply(batch(&[
            (None, 3, Some("c")),
            (None, 1, Some("a")),
            (None, 2, Some("b")),
        ]))
        .unwrap();
        s.apply(batch(&[(Some("U"), 1, Some("a2")), (Some("D"), 2, None)]))
            .unwrap();
        s.compact().unwrap();
        assert_eq!(
            s.batches.len(),
            1,
            "compaction keeps one batch of live rows"
        );
        s.apply(batch(&[(Some("I"), 2, Some("b2")), (Some("D"), 3, None)]))
            .unwrap();
        let (out, _) = rows(s);
        assert_eq!(out, vec![(1, Some("a2".into())), (2, Some("b2".into()))]);

        let mut small = State::new(&read_schema(), &key, 1, "s3://b/t/").unwrap();
        let refused = small
            .apply(batch(&[(None, 1, Some("a"))]))
            .expect_err("a state that cannot fit is refused");
        assert_eq!(refused.code, crate::service::Code::LimitExceeded);
        assert!(refused.message.contains("current state"), "{refused}");
    }

    #[test]
    fn full_load_files_come_first_then_changes_by_name() {
        let mut keys = vec![
            "raw/public/t/20260101-000000002-00000002.csv".to_string(),
            "raw/public/t/LOAD00000001.csv".to_string(),
            "raw/public/t/20260101-000000001-00000001.csv".to_string(),
        ];
        apply_order(&mut keys);
        assert_eq!(
            keys,
            vec![
                "raw/public/t/LOAD00000001.csv",
                "raw/public/t/20260101-000000001-00000001.csv",
                "raw/public/t/20260101-000000002-00000002.csv",
            ]
        );
    }
}
