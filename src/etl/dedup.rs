//! Exact-duplicate removal that keeps no record: each row is reduced to a 128-bit hash of its
//! encoded form, and only the hashes are remembered.

use std::collections::HashSet;

use arrow::array::BooleanArray;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use super::failed;
use crate::service::Result;

/// The set's keys are already xxh3-128 hashes: hashing them again would only cost time.
#[derive(Default)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ *b as u64;
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }
}

/// Keeps the first of each exact duplicate row.
pub(super) struct Dedup {
    converter: RowConverter,
    seen: HashSet<u128, std::hash::BuildHasherDefault<PassThrough>>,
}

impl Dedup {
    /// `expected_rows` sizes the set up front, so it seldom grows while rows stream by.
    pub(super) fn new(schema: &SchemaRef, expected_rows: usize) -> Result<Self> {
        let fields = schema
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields)
            .map_err(|e| failed(format!("cannot compare rows of this schema: {e}")))?;
        Ok(Dedup {
            converter,
            seen: HashSet::with_capacity_and_hasher(expected_rows, Default::default()),
        })
    }

    /// The set's memory: each slot is a 16-byte hash and a control byte.
    pub(super) fn memory(&self) -> u64 {
        self.seen.capacity() as u64 * 17
    }

    pub(super) fn apply(&mut self, batch: &RecordBatch) -> Result<(RecordBatch, u64)> {
        let rows = self
            .converter
            .convert_columns(batch.columns())
            .map_err(|e| failed(e.to_string()))?;
        let keep: BooleanArray = rows
            .iter()
            .map(|r| Some(self.seen.insert(xxhash_rust::xxh3::xxh3_128(r.as_ref()))))
            .collect();
        let kept =
            arrow::compute::filter_record_batch(batch, &keep).map_err(|e| failed(e.to_string()))?;
        let dropped = (batch.num_rows() - kept.num_rows()) as u64;
        Ok((kept, dropped))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(ids: &[Option<i64>], names: &[Option<&str>]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(names.to_vec())),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    fn ids(b: &RecordBatch) -> Vec<Option<i64>> {
        b.column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .iter()
            .collect()
    }

    #[test]
    fn the_first_of_each_exact_duplicate_is_kept_across_batches() {
        let first = batch(
            &[Some(1), Some(2), Some(1), Some(3)],
            &[Some("a"), Some("b"), Some("a"), Some("a")],
        );
        let mut dedup = Dedup::new(&first.schema(), 4).unwrap();
        let (kept, dropped) = dedup.apply(&first).unwrap();
        assert_eq!(ids(&kept), [Some(1), Some(2), Some(3)]);
        assert_eq!(dropped, 1);
        // A later batch's rows are compared with every earlier one.
        let second = batch(
            &[Some(2), Some(4), Some(4)],
            &[Some("b"), Some("d"), Some("d")],
        );
        let (kept, dropped) = dedup.apply(&second).unwrap();
        assert_eq!(ids(&kept), [Some(4)]);
        assert_eq!(dropped, 2);
    }

    #[test]
    fn rows_differing_only_in_nulls_empties_or_which_column_holds_what_are_kept() {
        // Null and "" differ; so do ("ab", "") and ("a", "b") split across columns, which a
        // naive concatenation of the cells would confuse.
        let schema = Arc::new(Schema::new(vec![
            Field::new("x", DataType::Utf8, true),
            Field::new("y", DataType::Utf8, true),
        ]));
        let rows = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    None,
                    Some(""),
                    Some("ab"),
                    Some("a"),
                ])),
                Arc::new(StringArray::from(vec![
                    Some(""),
                    Some(""),
                    Some(""),
                    Some("b"),
                ])),
            ],
        )
        .unwrap();
        let mut dedup = Dedup::new(&schema, 0).unwrap();
        let (kept, dropped) = dedup.apply(&rows).unwrap();
        assert_eq!((kept.num_rows(), dropped), (4, 0));
        // The set grows past the size it was given, and says so in its memory.
        assert!(dedup.memory() >= 4 * 17);
    }

    #[test]
    fn an_empty_batch_passes_through() {
        let empty = batch(&[], &[]);
        let mut dedup = Dedup::new(&empty.schema(), 0).unwrap();
        let (kept, dropped) = dedup.apply(&empty).unwrap();
        assert_eq!((kept.num_rows(), dropped), (0, 0));
    }
}
