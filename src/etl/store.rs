//! What the engine needs of a backend: source objects read from the start or by range (Parquet
//! asks for its footer, then column chunks), and output written, then made visible all at once.

use std::io::Read;

use bytes::Bytes;
use parquet::file::reader::{ChunkReader, Length};

use crate::service::storage::PutOptions;
use crate::service::{Principal, Result};

/// Where a job's objects are, as the engine needs them: sources read from the start or by
/// range (Parquet), and output written, then committed all together.
pub trait JobStore: Sync {
    /// One output object being written.
    type Body: std::io::Write + Send;
    /// One output object written whole, not yet visible.
    type Written: Send;
    /// Opens a source object for `by`: the read is authorized (and, where the backend keeps one,
    /// recorded) here.
    fn open(&self, by: &Principal, bucket: &str, key: &str) -> Result<Box<dyn SourceObject>>;
    fn create(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        put: &PutOptions,
    ) -> Result<Self::Body>;
    /// Ends a body; gives it back with the plaintext bytes written.
    fn finish(&self, body: Self::Body) -> Result<(Self::Written, u64)>;
    /// Where a run may keep its sealed scratch files (`local::scratch`: the dedup set's spill),
    /// each run in a directory of its own, removed when the run ends.
    fn scratch_area(&self) -> std::path::PathBuf;
    /// Makes the written objects visible together, removing every other object under
    /// `replace` (bucket, prefix): readers see the previous output or this one.
    fn commit(
        &self,
        by: &Principal,
        written: Vec<Self::Written>,
        replace: (&str, &str),
    ) -> Result<()>;
}

/// A source object's plaintext.
pub trait SourceObject: Send + Sync {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn reader_at(&self, start: u64) -> Box<dyn Read + Send>;
    fn read_range(&self, start: u64, len: u64) -> std::io::Result<Vec<u8>>;
}

/// Parquet's view of a source object: byte ranges, the footer first.
pub(super) struct Chunks(pub(super) Box<dyn SourceObject>);

impl Length for Chunks {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl ChunkReader for Chunks {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.0.reader_at(start))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.0
            .read_range(start, length as u64)
            .map(Bytes::from)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
    }
}
