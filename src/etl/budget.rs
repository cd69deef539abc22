//! The limits every decoder of data works within, so a hostile object (a gzip bomb, a 2 GB line,
//! a JSON array of millions of elements) ends its run with a clear reason instead of taking the
//! machine's memory or panicking. The job, the classification job, the crawler and query scans
//! all open objects through `etl::open_source`, which applies the limits here:
//!
//! - a record (a CSV or JSON line, a JSON array element) is at most `max_record_bytes`;
//! - past `expansion_floor` plaintext bytes, a compressed object may not expand more than
//!   `max_expansion` times its compressed size;
//! - an object yields at most `max_object_bytes` of plaintext;
//! - a run holds at most `memory_bytes` of data at once: its buffers are sized from it (see
//!   `batch_bytes`, `sample_bytes`, `row_group_bytes`, `dedup_bytes`).
//!
//! Exceeding one is an `Exceeded` error carried inside `std::io::Error` through the readers, and
//! surfaces as `LimitExceededException` naming the limit and the object, never a value.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::service::{Code, ServiceError};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_record_bytes: usize,
    pub max_expansion: u64,
    pub expansion_floor: u64,
    pub max_object_bytes: u64,
    pub memory_bytes: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_record_bytes: 8 * MIB as usize,
            max_expansion: 200,
            expansion_floor: 64 * MIB,
            max_object_bytes: 64 * GIB,
            memory_bytes: GIB,
        }
    }
}

impl Budget {
    /// The bytes of records gathered into one batch before it is decoded.
    pub fn batch_bytes(&self) -> usize {
        (self.memory_bytes / 16).max(self.max_record_bytes as u64) as usize
    }

    /// The bytes of records sampled to infer a schema.
    pub fn sample_bytes(&self) -> usize {
        (self.memory_bytes / 16).max(self.max_record_bytes as u64) as usize
    }

    /// The encoded bytes a Parquet writer buffers before it writes a row group.
    pub fn row_group_bytes(&self) -> usize {
        (self.memory_bytes / 8) as usize
    }

    /// The memory the deduplication set may take.
    pub fn dedup_bytes(&self) -> u64 {
        self.memory_bytes / 2
    }

    /// Holds a Parquet object to the budget before any page is read: Parquet decompresses its
    /// pages itself, below the byte stream `Bounded` watches, so the sizes its footer declares
    /// are checked instead (a page larger than its column chunk's declared size fails in the
    /// reader). One column chunk is decoded at a time, so it must fit the run's memory.
    pub fn check_parquet(
        &self,
        object: &str,
        stored_bytes: u64,
        metadata: &parquet::file::metadata::ParquetMetaData,
    ) -> Result<(), Exceeded> {
        let mut total: u64 = 0;
        for group in metadata.row_groups() {
            for chunk in group.columns() {
                let size = u64::try_from(chunk.uncompressed_size()).unwrap_or(u64::MAX);
                if size > self.memory_bytes {
                    let what = "one Parquet column chunk";
                    let limit = self.memory_bytes;
                    return Err(Exceeded::new(object, Limit::Memory { what, limit }));
                }
                total = total.saturating_add(size);
            }
        }
        if total > self.max_object_bytes {
            let limit = self.max_object_bytes;
            return Err(Exceeded::new(object, Limit::ObjectBytes { limit }));
        }
        if total > self.expansion_floor && total / stored_bytes.max(1) > self.max_expansion {
            let (ratio, floor) = (self.max_expansion, self.expansion_floor);
            return Err(Exceeded::new(object, Limit::Expansion { ratio, floor }));
        }
        Ok(())
    }
}

/// Which limit a decoder ran into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    Record { limit: usize },
    Expansion { ratio: u64, floor: u64 },
    ObjectBytes { limit: u64 },
    Memory { what: &'static str, limit: u64 },
}

/// A limit exceeded while reading `object`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object}: {}", describe(limit))]
pub struct Exceeded {
    pub object: String,
    pub limit: Limit,
}

fn human(bytes: u64) -> String {
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn describe(limit: &Limit) -> String {
    match limit {
        Limit::Record { limit } => format!(
            "a record (line or JSON element) is longer than the limit of {} (max record length)",
            human(*limit as u64)
        ),
        Limit::Expansion { ratio, floor } => format!(
            "the compressed object expands more than {ratio} times past {} (max expansion ratio): a decompression bomb?",
            human(*floor)
        ),
        Limit::ObjectBytes { limit } => format!(
            "the object holds more than {} of data (max bytes per object)",
            human(*limit)
        ),
        Limit::Memory { what, limit } => format!(
            "{what} would take more than {} of memory (memory budget per run)",
            human(*limit)
        ),
    }
}

impl Exceeded {
    pub fn new(object: &str, limit: Limit) -> Self {
        Exceeded {
            object: object.to_string(),
            limit,
        }
    }

    pub fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }
}

impl From<Exceeded> for ServiceError {
    fn from(e: Exceeded) -> Self {
        ServiceError::new(Code::LimitExceeded, e.to_string())
    }
}

/// The limit an I/O error stands for, if it stands for one.
pub fn exceeded_io(e: &std::io::Error) -> Option<&Exceeded> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Exceeded>())
}

/// The limit a CSV reader's error stands for, if it stands for one.
pub fn exceeded_csv(e: &csv::Error) -> Option<&Exceeded> {
    match e.kind() {
        csv::ErrorKind::Io(io) => exceeded_io(io),
        _ => None,
    }
}

/// Counts the bytes read through it (the compressed side of a decoder).
pub struct Counted<R> {
    pub inner: R,
    pub count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The plaintext of one object, held to its bytes-per-object limit and, when it was
/// compressed, to the expansion ratio over `compressed`.
pub struct Bounded<R> {
    inner: R,
    object: String,
    budget: Budget,
    compressed: Option<Arc<AtomicU64>>,
    read: u64,
    failed: Option<Limit>,
}

impl<R> Bounded<R> {
    pub fn new(
        inner: R,
        object: &str,
        budget: &Budget,
        compressed: Option<Arc<AtomicU64>>,
    ) -> Self {
        Bounded {
            inner,
            object: object.into(),
            budget: *budget,
            compressed,
            read: 0,
            failed: None,
        }
    }

    fn check(&self) -> Option<Limit> {
        if self.read > self.budget.max_object_bytes {
            return Some(Limit::ObjectBytes {
                limit: self.budget.max_object_bytes,
            });
        }
        let compressed = self.compressed.as_ref()?.load(Ordering::Relaxed).max(1);
        (self.read > self.budget.expansion_floor
            && self.read > compressed.saturating_mul(self.budget.max_expansion))
        .then_some(Limit::Expansion {
            ratio: self.budget.max_expansion,
            floor: self.budget.expansion_floor,
        })
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(limit) = &self.failed {
            return Err(Exceeded::new(&self.object, limit.clone()).into_io());
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if let Some(limit) = self.check() {
            self.failed = Some(limit.clone());
            return Err(Exceeded::new(&self.object, limit).into_io());
        }
        Ok(n)
    }
}

/// Refuses a line longer than the record limit as soon as that many bytes pass without a
/// newline, before any reader above buffers them (CSV and JSON lines).
pub struct LineBounded<R> {
    inner: R,
    object: String,
    max: usize,
    since_newline: usize,
    failed: bool,
}

impl<R> LineBounded<R> {
    pub fn new(inner: R, object: &str, budget: &Budget) -> Self {
        LineBounded {
            inner,
            object: object.into(),
            max: budget.max_record_bytes,
            since_newline: 0,
            failed: false,
        }
    }

    fn exceeded(&self) -> std::io::Error {
        Exceeded::new(&self.object, Limit::Record { limit: self.max }).into_io()
    }

    fn account(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        // CSV also ends records at a lone carriage return.
        match bytes.iter().rposition(|&b| b == b'\n' || b == b'\r') {
            Some(i) => self.since_newline = bytes.len() - i - 1,
            None => self.since_newline += bytes.len(),
        }
        if self.since_newline > self.max {
            self.failed = true;
            return Err(self.exceeded());
        }
        Ok(())
    }
}

impl<R: Read> Read for LineBounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.failed {
            return Err(self.exceeded());
        }
        let n = self.inner.read(buf)?;
        self.account(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Budget {
        Budget {
            max_record_bytes: 16,
            max_expansion: 10,
            expansion_floor: 1000,
            max_object_bytes: 100_000,
            memory_bytes: 1 << 20,
        }
    }

    #[test]
    fn a_long_line_is_refused_before_it_is_buffered() {
        let text = format!("a,b\n{}\nshort\n", "x".repeat(40));
        let mut r = LineBounded::new(text.as_bytes(), "o", &small());
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(
            exceeded_io(&e).unwrap().limit,
            Limit::Record { limit: 16 },
            "{e}"
        );
        let ok = "a,b\nshort\n".repeat(100);
        let mut r = LineBounded::new(ok.as_bytes(), "o", &small());
        r.read_to_end(&mut Vec::new()).unwrap();
    }

    #[test]
    fn expansion_past_the_floor_is_refused() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&vec![b'a'; 50_000]).unwrap();
        let gz = gz.finish().unwrap();
        let count = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner: gz.as_slice(),
            count: count.clone(),
        };
        let mut r = Bounded::new(
            flate2::read::GzDecoder::new(counted),
            "bomb.gz",
            &small(),
            Some(count),
        );
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(matches!(
            exceeded_io(&e).unwrap().limit,
            Limit::Expansion { ratio: 10, .. }
        ));
        let message = ServiceError::from(exceeded_io(&e).unwrap().clone()).message;
        assert!(message.starts_with("bomb.gz: "), "{message}");
    }

    #[test]
    fn an_object_is_held_to_its_size_limit() {
        let data = vec![b'\n'; 200_000];
        let mut r = Bounded::new(data.as_slice(), "big", &small(), None);
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(matches!(
            exceeded_io(&e).unwrap().limit,
            Limit::ObjectBytes { .. }
        ));
    }

    /// A Parquet file of one zstd column: `rows` copies of the same 100-byte value.
    fn compressible_parquet(rows: usize) -> bytes::Bytes {
        use arrow::array::{ArrayRef, StringArray};
        use arrow::record_batch::RecordBatch;
        use parquet::arrow::ArrowWriter;
        use parquet::basic::{Compression, ZstdLevel};
        use parquet::file::properties::WriterProperties;
        let column: ArrayRef = Arc::new(StringArray::from(vec!["x".repeat(100); rows]));
        let batch = RecordBatch::try_from_iter([("v", column)]).unwrap();
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_dictionary_enabled(false)
            .build();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        bytes::Bytes::from(out)
    }

    #[test]
    fn a_parquet_object_is_held_to_the_budget_by_what_its_footer_declares() {
        let file = compressible_parquet(20_000);
        let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
            .parse_and_finish(&file)
            .unwrap();
        let stored = file.len() as u64;
        // Within the default budget.
        Budget::default()
            .check_parquet("s3://b/ok.parquet", stored, &metadata)
            .unwrap();
        // 2 MB of values in a few KB: past a floor of 1000 bytes and 10x, a bomb.
        let e = small()
            .check_parquet("s3://b/bomb.parquet", stored, &metadata)
            .unwrap_err();
        assert!(matches!(e.limit, Limit::Memory { .. }), "{e}");
        let roomy = Budget {
            memory_bytes: GIB,
            max_object_bytes: GIB,
            ..small()
        };
        let e = roomy
            .check_parquet("s3://b/bomb.parquet", stored, &metadata)
            .unwrap_err();
        assert!(matches!(e.limit, Limit::Expansion { .. }), "{e}");
        assert!(e.to_string().starts_with("s3://b/bomb.parquet: "), "{e}");
    }
}
