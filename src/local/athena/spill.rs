//! A query that outgrows its memory limit spills to sealed files instead of failing: DataFusion
//! creates every spill file through the `TempFileFactory` a session's disk manager is given, and
//! this one seals what is written (spilled batches are table data) under a key of the file's
//! own that exists only in this process's memory.
//!
//! DataFusion reads some spill files while they are still being written (a repartition's spill
//! pool flushes each batch for its reader), so these files are sealed in frames rather than the
//! envelope's fixed chunks: each `flush` seals what was written since the last frame. A frame is
//! `u32 (final flag << 31 | length) || AES-256-GCM(bytes) || tag`, nonce = 0u32 || frame
//! index, AAD = the file's
//! random id || frame index || final flag, so frames cannot be moved between files, reordered or
//! cut off unnoticed. The files live in the query's scratch directory under the lake's `tmp/`
//! (`local::scratch`), made at the first spill and removed with the session; the bytes a query
//! may spill are bounded (`SPILL_LIMIT_FACTOR` times its memory limit).

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use aws_lc_rs::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
use bytes::Bytes;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::{SpillFile, SpillWriter, TempFileFactory};
use futures::Stream;

use crate::local::crypto::{Secret, TAG_LEN, fill_random};
use crate::local::lake::create_private;
use crate::local::scratch::ScratchDir;

/// A query may spill this many times its memory limit.
pub const SPILL_LIMIT_FACTOR: u64 = 16;
/// The most plaintext one frame holds.
const FRAME_BYTES: usize = 256 << 10;

fn io_error(message: impl Into<String>) -> std::io::Error {
    std::io::Error::other(message.into())
}

fn df_error(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("a sealed spill file: {e}"))
}

/// The spill files of one query.
pub struct SealedSpills {
    /// Where the query's scratch directory goes.
    area: PathBuf,
    dir: OnceLock<Arc<ScratchDir>>,
    next: AtomicU64,
    used: Arc<AtomicU64>,
    limit: u64,
}

impl std::fmt::Debug for SealedSpills {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSpills")
            .field("used", &self.used.load(Ordering::Relaxed))
            .field("limit", &self.limit)
            .finish()
    }
}

impl SealedSpills {
    /// Spill files under `area` (the lake's `tmp/`), at most `limit` bytes of them at once.
    pub fn new(area: PathBuf, limit: u64) -> Self {
        SealedSpills {
            area,
            dir: OnceLock::new(),
            next: AtomicU64::new(0),
            used: Arc::new(AtomicU64::new(0)),
            limit,
        }
    }

    fn dir(&self) -> DfResult<Arc<ScratchDir>> {
        if let Some(d) = self.dir.get() {
            return Ok(d.clone());
        }
        let made = Arc::new(ScratchDir::create(&self.area, "query").map_err(df_error)?);
        // Two first spills at once: one directory wins, the other is removed as it drops.
        Ok(self.dir.get_or_init(|| made).clone())
    }

    /// The bytes the query's spill files hold now.
    #[cfg(test)]
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

impl TempFileFactory for SealedSpills {
    fn create_temp_file(&self, _description: &str) -> DfResult<Arc<dyn SpillFile>> {
        let dir = self.dir()?;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut id = [0u8; 16];
        fill_random(&mut id);
        Ok(Arc::new(SealedSpill {
            path: dir.path().join(format!("{n:08}.spill")),
            _dir: dir,
            key: Arc::new(Secret::random()),
            id,
            shared: Arc::new(Shared::default()),
            used: self.used.clone(),
            limit: self.limit,
        }))
    }
}

#[derive(Default)]
struct Shared {
    opened: AtomicBool,
    finished: AtomicBool,
    /// Sealed bytes on disk.
    size: AtomicU64,
}

/// One spill file: written once, read any number of times, removed when dropped.
struct SealedSpill {
    path: PathBuf,
    /// Keeps the directory while the file lives.
    _dir: Arc<ScratchDir>,
    key: Arc<Secret>,
    id: [u8; 16],
    shared: Arc<Shared>,
    used: Arc<AtomicU64>,
    limit: u64,
}

fn nonce(index: u64) -> Nonce {
    let mut n = [0u8; NONCE_LEN];
    n[4..].copy_from_slice(&index.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn frame_aad(id: &[u8; 16], index: u64, last: bool) -> [u8; 25] {
    let mut aad = [0u8; 25];
    aad[..16].copy_from_slice(id);
    aad[16..24].copy_from_slice(&index.to_be_bytes());
    aad[24] = last as u8;
    aad
}

impl SpillFile for SealedSpill {
    fn size(&self) -> Option<u64> {
        Some(self.shared.size.load(Ordering::Relaxed))
    }

    fn read_stream(&self) -> DfResult<Pin<Box<dyn Stream<Item = DfResult<Bytes>> + Send>>> {
        let file = File::open(&self.path).map_err(df_error)?;
        let reader = FrameReader {
            file,
            key: self.key.aead(),
            id: self.id,
            index: 0,
            done: false,
            shared: self.shared.clone(),
        };
        Ok(Box::pin(futures::stream::unfold(
            reader,
            |mut reader| async move {
                match reader.next_frame() {
                    Ok(Some(frame)) => Some((Ok(frame), reader)),
                    Ok(None) => None,
                    Err(e) => {
                        reader.done = true;
                        Some((Err(df_error(e)), reader))
                    }
                }
            },
        )))
    }

    fn open_writer(&self) -> DfResult<Box<dyn SpillWriter>> {
        if self.shared.opened.swap(true, Ordering::SeqCst) {
            return Err(df_error("a spill file is written once"));
        }
        let file = create_private(&self.path).map_err(df_error)?;
        Ok(Box::new(FrameWriter {
            file,
            key: self.key.aead(),
            id: self.id,
            index: 0,
            buf: Vec::with_capacity(FRAME_BYTES + TAG_LEN),
            shared: self.shared.clone(),
            used: self.used.clone(),
            limit: self.limit,
        }))
    }
}

impl Drop for SealedSpill {
    fn drop(&mut self) {
        self.used
            .fetch_sub(self.shared.size.load(Ordering::Relaxed), Ordering::Relaxed);
        let _ = std::fs::remove_file(&self.path);
    }
}

struct FrameWriter {
    file: File,
    key: LessSafeKey,
    id: [u8; 16],
    index: u64,
    buf: Vec<u8>,
    shared: Arc<Shared>,
    used: Arc<AtomicU64>,
    limit: u64,
}

impl FrameWriter {
    /// Seals what is buffered as the next frame and writes it.
    fn seal(&mut self, last: bool) -> std::io::Result<()> {
        let sealed_len = self.buf.len() + TAG_LEN;
        let total = (4 + sealed_len) as u64;
        if self.used.fetch_add(total, Ordering::Relaxed) + total > self.limit {
            self.used.fetch_sub(total, Ordering::Relaxed);
            return Err(io_error(format!(
                "the query's spill files would hold more than {} MiB ({SPILL_LIMIT_FACTOR} times its memory limit)",
                self.limit >> 20
            )));
        }
        let tag = self
            .key
            .seal_in_place_separate_tag(
                nonce(self.index),
                Aad::from(frame_aad(&self.id, self.index, last)),
                &mut self.buf,
            )
            .map_err(|_| io_error("AES-GCM seal failed"))?;
        self.buf.extend_from_slice(tag.as_ref());
        let mut frame = Vec::with_capacity(4 + sealed_len);
        let head = sealed_len as u32 | (u32::from(last) << 31);
        frame.extend_from_slice(&head.to_be_bytes());
        frame.extend_from_slice(&self.buf);
        self.file.write_all(&frame)?;
        self.shared.size.fetch_add(total, Ordering::Relaxed);
        self.index += 1;
        self.buf.clear();
        Ok(())
    }
}

impl Write for FrameWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            let take = (FRAME_BYTES - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == FRAME_BYTES {
                self.seal(false)?;
            }
        }
        Ok(data.len())
    }

    /// What was written so far becomes readable: a reader may follow the writer.
    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.seal(false)?;
        }
        self.file.flush()
    }
}

impl SpillWriter for FrameWriter {
    fn finish(&mut self) -> DfResult<()> {
        self.seal(true).map_err(df_error)?;
        self.file.flush().map_err(df_error)?;
        self.shared.finished.store(true, Ordering::SeqCst);
        Ok(())
    }
}

struct FrameReader {
    file: File,
    key: LessSafeKey,
    id: [u8; 16],
    index: u64,
    done: bool,
    shared: Arc<Shared>,
}

impl FrameReader {
    /// Reads exactly `buf.len()` bytes, or reports how many there were.
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.file.read(&mut buf[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    }

    /// The next frame's plaintext; `None` after the final frame, or where a reader has caught up
    /// with a writer still at work (as a plain file would read at its end).
    fn next_frame(&mut self) -> std::io::Result<Option<Bytes>> {
        loop {
            if self.done {
                return Ok(None);
            }
            let mut len = [0u8; 4];
            let got = self.fill(&mut len)?;
            if got == 0 && !self.shared.finished.load(Ordering::SeqCst) {
                return Ok(None);
            }
            if got < 4 {
                return Err(io_error("the file is truncated"));
            }
            let head = u32::from_be_bytes(len);
            // The flag is bound into the frame's AAD: a frame marked final that was not fails.
            let last = head >> 31 == 1;
            let len = (head & !(1 << 31)) as usize;
            if !(TAG_LEN..=FRAME_BYTES + TAG_LEN).contains(&len) {
                return Err(io_error("a frame has an impossible length"));
            }
            let mut sealed = vec![0u8; len];
            if self.fill(&mut sealed)? < len {
                return Err(io_error("the file is truncated"));
            }
            let index = self.index;
            let plain_len = self
                .key
                .open_in_place(
                    nonce(index),
                    Aad::from(frame_aad(&self.id, index, last)),
                    &mut sealed,
                )
                .map_err(|_| io_error(format!("frame {index} was altered or moved")))?
                .len();
            sealed.truncate(plain_len);
            self.index += 1;
            self.done = last;
            if plain_len > 0 {
                return Ok(Some(Bytes::from(sealed)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn read_all(file: &Arc<dyn SpillFile>) -> DfResult<Vec<u8>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut out = Vec::new();
            let mut s = file.read_stream()?;
            while let Some(chunk) = s.next().await {
                out.extend_from_slice(&chunk?);
            }
            Ok(out)
        })
    }

    #[test]
    fn a_spill_file_is_sealed_follows_its_writer_and_goes_when_dropped() {
        let area = tempfile::tempdir().unwrap();
        let spills = SealedSpills::new(area.path().to_path_buf(), 64 << 20);
        let file = spills.create_temp_file("test").unwrap();
        let secret = b"alice 4111111111111111 ".repeat(20_000);
        let mut w = file.open_writer().unwrap();
        w.write_all(&secret[..1000]).unwrap();
        w.flush().unwrap();
        // A reader following the writer sees what was flushed.
        assert_eq!(read_all(&file).unwrap(), &secret[..1000]);
        w.write_all(&secret[1000..]).unwrap();
        w.finish().unwrap();
        assert_eq!(read_all(&file).unwrap(), secret);
        let dir = std::fs::read_dir(area.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let path = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let raw = std::fs::read(&path).unwrap();
        assert!(!raw.windows(16).any(|w| w == b"4111111111111111"));
        assert!(spills.used() > secret.len() as u64);
        drop(w);
        drop(file);
        assert!(!path.exists());
        assert_eq!(spills.used(), 0);
        // A changed byte or a cut-off end is an error, never other bytes.
        let file = spills.create_temp_file("test").unwrap();
        let mut w = file.open_writer().unwrap();
        w.write_all(&secret).unwrap();
        w.finish().unwrap();
        let path = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "spill"))
            .unwrap();
        let mut raw = std::fs::read(&path).unwrap();
        raw[100] ^= 1;
        std::fs::write(&path, &raw).unwrap();
        assert!(read_all(&file).is_err());
        raw[100] ^= 1;
        raw.truncate(raw.len() - 10);
        std::fs::write(&path, &raw).unwrap();
        assert!(read_all(&file).is_err());
    }

    /// A sort larger than the session's memory spills through the factory: the files exist while
    /// the merge reads them, hold no row in the clear, and are gone with the session.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sort_larger_than_memory_spills_to_sealed_files() {
        use datafusion::execution::context::{SessionConfig, SessionContext};
        use datafusion::execution::disk_manager::DiskManagerBuilder;
        use datafusion::execution::runtime_env::RuntimeEnvBuilder;

        let area = tempfile::tempdir().unwrap();
        let spills = Arc::new(SealedSpills::new(area.path().to_path_buf(), 1 << 30));
        let runtime = RuntimeEnvBuilder::new()
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_temp_file_factory(spills.clone()),
            )
            .with_memory_limit(8 << 20, 1.0)
            .build_arc()
            .unwrap();
        let config = SessionConfig::new().with_target_partitions(1).set_usize(
            "datafusion.execution.sort_spill_reservation_bytes",
            512 << 10,
        );
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        let frame = ctx
            .sql(
                "SELECT concat('SECRETMARK-', CAST(value AS VARCHAR)) AS s \
                 FROM generate_series(1, 600000) ORDER BY s DESC",
            )
            .await
            .unwrap();
        let mut stream = frame.execute_stream().await.unwrap();
        let first = stream.next().await.unwrap().unwrap();
        let on_disk: Vec<Vec<u8>> = walk(area.path())
            .iter()
            .map(|f| std::fs::read(f).unwrap())
            .collect();
        assert!(!on_disk.is_empty(), "the sort spilled");
        for f in &on_disk {
            assert!(
                !f.windows(10).any(|w| w == b"SECRETMARK"),
                "a row in the clear"
            );
        }
        let mut rows = first.num_rows();
        while let Some(b) = stream.next().await {
            rows += b.unwrap().num_rows();
        }
        assert_eq!(rows, 600_000);
        let column =
            datafusion::arrow::util::display::array_value_to_string(first.column(0), 0).unwrap();
        assert_eq!(column, "SECRETMARK-99999");
        drop(stream);
        drop(ctx);
        drop(spills);
        assert!(walk(area.path()).is_empty());
        assert_eq!(std::fs::read_dir(area.path()).unwrap().count(), 0);
    }

    fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }

    #[test]
    fn a_query_may_spill_only_so_much() {
        let area = tempfile::tempdir().unwrap();
        let spills = SealedSpills::new(area.path().to_path_buf(), 1 << 20);
        let file = spills.create_temp_file("test").unwrap();
        let mut w = file.open_writer().unwrap();
        let e = w.write_all(&vec![7u8; 2 << 20]).unwrap_err();
        assert!(
            e.to_string()
                .contains("spill files would hold more than 1 MiB"),
            "{e}"
        );
    }
}
