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
//! still has and so still checks. That is why the file is replaced by a rename and not flushed:
//! an fsync would cost milliseconds a commit and buy nothing the check needs. The file carries
//! an HMAC under a root sub-key, so it cannot be forged to name an entry that is not there.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use aws_lc_rs::hmac;
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::service::{Code, Result, ServiceError};

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Record {
    seq: u64,
    hash: String,
    mac: String,
}

pub struct HeadFile {
    path: PathBuf,
    key: hmac::Key,
    /// The head the transaction in progress appended; published once it commits.
    pending: Mutex<Option<(u64, String)>>,
}

fn mac(key: &hmac::Key, seq: u64, hash: &str) -> String {
    hex::encode(hmac::sign(key, format!("head file|{seq}|{hash}").as_bytes()).as_ref())
}

impl HeadFile {
    pub fn new(path: PathBuf, key: hmac::Key) -> Self {
        HeadFile {
            path,
            key,
            pending: Mutex::new(None),
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
        let record = Record {
            seq,
            hash: hash.to_string(),
            mac: mac(&self.key, seq, hash),
        };
        let tmp = self
            .path
            .with_extension(format!("head.{}", uuid::Uuid::new_v4().simple()));
        let written = super::lake::create_private(&tmp).and_then(|mut f| {
            f.write_all(&serde_json::to_vec(&record).expect("the head serializes"))
        });
        let renamed = written.and_then(|()| fs::rename(&tmp, &self.path));
        if renamed.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        renamed
    }

    /// The head the file names, if there is a file; an altered or damaged file is an error.
    fn read(&self) -> Result<Option<(u64, String)>> {
        let text = match fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ServiceError::local_io("cannot read audit.head", &e)),
        };
        let record: Record = serde_json::from_slice(&text).map_err(|_| {
            ServiceError::new(
                Code::AuditIntegrityException,
                format!("{} is damaged", self.path.display()),
            )
        })?;
        if record.mac != mac(&self.key, record.seq, &record.hash) {
            return Err(ServiceError::new(
                Code::AuditIntegrityException,
                format!("{} was altered", self.path.display()),
            ));
        }
        Ok(Some((record.seq, record.hash)))
    }

    /// Whether the store still holds the entry the file names. `Ok(false)`: there is no file.
    pub fn check(&self, tx: &Transaction) -> Result<bool> {
        let Some((seq, hash)) = self.read()? else {
            return Ok(false);
        };
        let stored: Option<String> = tx
            .query_row(
                "SELECT hash FROM audit WHERE seq = ?1",
                params![seq],
                |r| r.get(0),
            )
            .optional()?;
        if stored.as_deref() == Some(hash.as_str()) {
            return Ok(true);
        }
        let last: u64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM audit", [], |r| {
            r.get(0)
        })?;
        Err(ServiceError::new(
            Code::AuditIntegrityException,
            format!(
                "the metadata store lost committed changes: audit entry {seq} was committed, but the store {} (its log ends at entry {last}); meta.db-wal was removed or the store was put back from an older copy. Restore meta.db-wal or a backup; to go on with what is left, remove {} (the next open records that)",
                if stored.is_some() { "holds another entry in its place" } else { "does not hold it" },
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
            head.stage(seq, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
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
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }
}
