//! The audit chain's head, kept a second time outside the metadata store (`audit.head`), so that
//! losing committed transactions is caught. SQLite in WAL mode keeps the latest commits in
//! `meta.db-wal` until a checkpoint: delete that file after a crash and the store opens as it
//! was at the last checkpoint, consistent with itself (the chain and its head record rolled back
//! together), so `audit verify` alone would call it valid. The head file is written after every
//! commit that appended to the chain; a store whose chain does not hold the entry the file names
//! has lost commits, and the lake says so instead of opening.
//!
//! Durability: the file is written only after SQLite's commit returned, and SQLite (synchronous
//! FULL) has then made the commit durable, so the file can never name an entry the store may
//! lose in a crash. It may lag: a crash between the commit and the file's write, or a power cut
//! before the page cache reaches the disk, leaves an older head, which names an entry the store
//! still has and so still checks. So the file is not flushed (an fsync would cost milliseconds a
//! commit and buy nothing the check needs), and it is written in place, in one of two slots in
//! turn (by the entry's sequence number): a write torn by a power cut spoils at most the slot
//! being written, and the other still holds the head before it. Each slot carries an HMAC under
//! a root sub-key, so it cannot be forged to name an entry that is not there; a slot that does
//! not verify is not read. What it cannot tell is a head file put back to an older copy together
//! with the store (see audit.rs).

use std::fs::{self, File};
use std::path::PathBuf;
use std::sync::Mutex;

use aws_lc_rs::hmac;
use rusqlite::{OptionalExtension, Transaction, params};

use crate::service::{Code, Result, ServiceError};

/// A slot: the sequence number (8 bytes, little-endian), the entry's hash (32) and the MAC (32).
const SLOT: usize = 72;

pub struct HeadFile {
    path: PathBuf,
    key: hmac::Key,
    /// The head the transaction in progress appended; published once it commits.
    pending: Mutex<Option<(u64, String)>>,
    /// Opened on the first write and kept: a commit then costs one positioned write.
    file: Mutex<Option<File>>,
}

fn mac(key: &hmac::Key, seq: u64, hash: &[u8]) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(b"audit head file");
    ctx.update(&seq.to_le_bytes());
    ctx.update(hash);
    ctx.sign()
}

impl HeadFile {
    pub fn new(path: PathBuf, key: hmac::Key) -> Self {
        HeadFile {
            path,
            key,
            pending: Mutex::new(None),
            file: Mutex::new(None),
        }
    }

    /// The transaction in progress appended entry `seq` with `hash`.
    pub fn stage(&self, seq: u64, hash: &str) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some((seq, hash.to_string()));
    }

    /// The transaction ended; if it committed an entry, the file names it now. A failed write
    /// leaves an older head, which still checks (see the module's comment), so it is not an
    /// error of the commit.
    pub fn transaction_ended(&self, committed: bool) {
        let staged = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let (true, Some((seq, hash))) = (committed, staged)
            && let Err(e) = self.write(seq, &hash)
        {
            tracing::warn!("cannot update {}: {e}", self.path.display());
        }
    }

    pub fn write(&self, seq: u64, hash: &str) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let hash_bytes = hex::decode(hash)
            .ok()
            .filter(|h| h.len() == 32)
            .ok_or_else(|| std::io::Error::other("an audit hash is 32 bytes of hex"))?;
        let mut slot = [0u8; SLOT];
        slot[..8].copy_from_slice(&seq.to_le_bytes());
        slot[8..40].copy_from_slice(&hash_bytes);
        slot[40..].copy_from_slice(mac(&self.key, seq, &hash_bytes).as_ref());
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if file.is_none() {
            let opened = match super::lake::create_private(&self.path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    fs::OpenOptions::new().write(true).open(&self.path)
                }
                other => other,
            }?;
            *file = Some(opened);
        }
        let offset = (seq % 2) * SLOT as u64;
        file.as_ref()
            .expect("opened above")
            .write_all_at(&slot, offset)
    }

    /// The head the file names, if there is a file: the newer of its slots that verify. A file
    /// with no slot that verifies was altered or damaged.
    fn read(&self) -> Result<Option<(u64, String)>> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ServiceError::local_io("cannot read audit.head", &e)),
        };
        let newest = bytes
            .chunks_exact(SLOT)
            .take(2)
            .filter_map(|slot| {
                let seq = u64::from_le_bytes(slot[..8].try_into().expect("8 bytes"));
                let hash = &slot[8..40];
                hmac::verify(
                    &self.key,
                    &[b"audit head file".as_slice(), &seq.to_le_bytes(), hash].concat(),
                    &slot[40..],
                )
                .ok()
                .map(|()| (seq, hex::encode(hash)))
            })
            .max_by_key(|(seq, _)| *seq);
        match newest {
            Some(head) => Ok(Some(head)),
            None => Err(ServiceError::new(
                Code::AuditIntegrityException,
                format!("{} was altered or is damaged", self.path.display()),
            )),
        }
    }

    /// Whether the store still holds the entry the file names. `Ok(false)`: there is no file.
    pub fn check(&self, tx: &Transaction) -> Result<bool> {
        let Some((seq, hash)) = self.read()? else {
            return Ok(false);
        };
        let stored: Option<String> = tx
            .query_row("SELECT hash FROM audit WHERE seq = ?1", params![seq], |r| {
                r.get(0)
            })
            .optional()?;
        if stored.as_deref() == Some(hash.as_str()) {
            return Ok(true);
        }
        let last: u64 =
            tx.query_row("SELECT coalesce(max(seq), 0) FROM audit", [], |r| r.get(0))?;
        Err(ServiceError::new(
            Code::AuditIntegrityException,
            format!(
                "the metadata store lost committed changes: audit entry {seq} was committed, but the store {} (its log ends at entry {last}); meta.db-wal was removed or the store was put back from an older copy. Restore meta.db-wal or a backup; to go on with what is left, remove {} (the next open records that)",
                if stored.is_some() {
                    "holds another entry in its place"
                } else {
                    "does not hold it"
                },
                self.path.display()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the head file adds to each commit that appends to the chain: one small file written
    /// and renamed over the last. Printed for the record (`--nocapture`); the bound is loose so
    /// a loaded machine does not fail it.
    #[test]
    fn writing_the_head_costs_well_under_a_millisecond() {
        let dir = tempfile::tempdir().unwrap();
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"test key");
        let head = HeadFile::new(dir.path().join("audit.head"), key);
        let n = 2000;
        let started = std::time::Instant::now();
        for seq in 0..n {
            head.stage(
                seq,
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            );
            head.transaction_ended(true);
        }
        let each = started.elapsed() / n as u32;
        println!("audit.head: {each:?} per commit ({n} commits)");
        assert!(each < std::time::Duration::from_millis(1), "{each:?}");
        assert_eq!(head.read().unwrap().unwrap().0, n - 1);
        // A transaction that rolled back publishes nothing.
        head.stage(n, "ffff");
        head.transaction_ended(false);
        assert_eq!(head.read().unwrap().unwrap().0, n - 1);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
