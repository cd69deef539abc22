//! Parquet over sealed objects: the reader asks for byte ranges (the footer, then column chunks)
//! and gets them decrypted chunk by chunk, never the whole object at once.

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

use crate::local::envelope::{OpeningReader, SealedObject};

pub struct SealedChunks(pub SealedObject);

impl Length for SealedChunks {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl ChunkReader for SealedChunks {
    type T = OpeningReader;

    fn get_read(&self, start: u64) -> parquet::errors::Result<OpeningReader> {
        Ok(self.0.reader_at(start))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.0
            .read_range(start, length as u64)
            .map(Bytes::from)
            .map_err(|e| ParquetError::External(Box::new(e)))
    }
}
