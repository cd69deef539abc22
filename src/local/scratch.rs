//! Sealed scratch files: what a run must set aside on disk because it does not fit its memory
//! (the dedup set's spill, a query's spilled batches) is data or derived from data, so it is
//! sealed like an object body (envelope.rs: AES-256-GCM chunks, truncation and reordering
//! detected) under a data key of its own that exists only in this process's memory: no key is
//! stored, so a scratch file left behind opens for no one.
//!
//! A run's scratch files live in one private directory (0700) under the lake's `tmp/`, locked
//! while the run lives and removed with everything in it when the run ends, failed or not; one a
//! killed process leaves is removed by the next open's sweep (objects.rs).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::crypto::{Secret, fill_random};
use super::envelope::{CHUNK_SIZE, Header, SealedFile, SealedObject, SealingWriter};
use super::lake::{create_private, create_private_dir_all};
use crate::service::{Result, ServiceError};

/// What a scratch file's header names instead of a KMS key: its key is nowhere but in memory.
const SCRATCH_KEY_ID: &str = "lakectl:scratch";

fn io(what: &str, e: &std::io::Error) -> ServiceError {
    ServiceError::local_io(what, e)
}

/// One run's private directory of scratch files, removed when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    /// Held locked while the directory is in use, so the sweep leaves it alone.
    _lock: File,
    next: AtomicU64,
}

impl ScratchDir {
    /// A new directory under `parent` (created if need be), named for `purpose` and a random id.
    pub fn create(parent: &Path, purpose: &str) -> Result<Self> {
        create_private_dir_all(parent).map_err(|e| io("cannot create the scratch area", &e))?;
        let mut id = [0u8; 8];
        fill_random(&mut id);
        let path = parent.join(format!("scratch-{purpose}-{}", hex::encode(id)));
        create_private_dir_all(&path).map_err(|e| io("cannot create a scratch directory", &e))?;
        let lock = File::open(&path).map_err(|e| io("cannot open a scratch directory", &e))?;
        lock.try_lock()
            .map_err(|_| ServiceError::internal("a new scratch directory is locked already"))?;
        Ok(ScratchDir {
            path,
            _lock: lock,
            next: AtomicU64::new(0),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new file in the directory, sealed as it is written.
    pub fn create_file(&self) -> Result<ScratchWriter> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        ScratchWriter::create(self.path.join(format!("{n:08}.sealed")))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A scratch file being written: everything written is sealed under the file's own key.
pub struct ScratchWriter {
    sealing: SealingWriter<BufWriter<File>>,
    key: Secret,
    path: PathBuf,
}

impl ScratchWriter {
    pub fn create(path: PathBuf) -> Result<Self> {
        let file = create_private(&path).map_err(|e| io("cannot create a scratch file", &e))?;
        let key = Secret::random();
        let header = Header {
            key_id: SCRATCH_KEY_ID.into(),
            key_version: 0,
            sealed_data_key: Vec::new(),
            chunk_size: CHUNK_SIZE as u32,
        };
        let sealing = SealingWriter::new(&key, &header, BufWriter::new(file))
            .map_err(|e| io("cannot write a scratch file", &e))?;
        Ok(ScratchWriter { sealing, key, path })
    }

    /// Seals the last chunk; the file can then be read back.
    pub fn finish(self) -> Result<ScratchFile> {
        let write_error = |e: std::io::Error| io("cannot write a scratch file", &e);
        let (out, _) = self.sealing.finish().map_err(write_error)?;
        out.into_inner()
            .map_err(|e| write_error(e.into_error()))?
            .flush()
            .map_err(write_error)?;
        let file = File::open(&self.path).map_err(|e| io("cannot read a scratch file", &e))?;
        Ok(ScratchFile {
            object: SealedObject::new(SealedFile::open(file)?, self.key),
            path: self.path,
        })
    }
}

impl Write for ScratchWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sealing.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sealing.flush()
    }
}

/// A scratch file written whole: read back from the start or by range; removed when dropped.
pub struct ScratchFile {
    object: SealedObject,
    path: PathBuf,
}

impl ScratchFile {
    /// The plaintext bytes it holds.
    pub fn len(&self) -> u64 {
        self.object.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reader(&self) -> impl Read + Send + 'static {
        self.object.reader_at(0)
    }

    pub fn read_range(&self, start: u64, len: u64) -> Result<Vec<u8>> {
        self.object.read_range(start, len)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_file_is_sealed_reads_back_and_is_gone_with_its_directory() {
        let parent = tempfile::tempdir().unwrap();
        let dir = ScratchDir::create(parent.path(), "test").unwrap();
        let secret = b"4111111111111111 belongs to alice".repeat(5000);
        let mut w = dir.create_file().unwrap();
        w.write_all(&secret).unwrap();
        let f = w.finish().unwrap();
        let on_disk = std::fs::read(f.path()).unwrap();
        assert!(
            !on_disk.windows(16).any(|w| w == &secret[..16]),
            "no plaintext on disk"
        );
        let mut back = Vec::new();
        f.reader().read_to_end(&mut back).unwrap();
        assert_eq!(back, secret);
        assert_eq!(f.read_range(70_000, 16).unwrap(), &secret[70_000..70_016]);
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists(), "the directory goes with its files");
        drop(f);
    }
}
