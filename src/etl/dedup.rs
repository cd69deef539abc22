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
