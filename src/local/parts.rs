//! The store's side of multipart uploads (multipart.rs has the S3 operations): upload and part
//! rows, the binding of a part's data key to its place, S3's multipart ETag, and the completion's
//! checks and second pass. Completing reads every part in turn; each is checked (its data key
//! opened, its file the version recorded) in the completion's transaction and opened again
//! only when its turn comes, so an upload of 10,000 parts never holds 10,000 files open.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use md5::{Digest, Md5};
use rusqlite::{OptionalExtension, Transaction, params};

use super::authorizer::Call;
use super::crypto::Secret;
use super::envelope::{Header, OpeningReader, SealedFile, SealedObject};
use super::s3::{encryption_context, object_arn};
use super::{Caller, Lake};
use crate::service::multipart::{CompletedPart, MIN_PART_SIZE, bare_etag};
use crate::service::storage::{Body, PutOptions, Sse};
use crate::service::{Code, Result, ServiceError};

/// An upload as the store records it.
pub(super) struct UploadRow {
    pub(super) key: String,
    pub(super) id: String,
    pub(super) initiator: String,
    pub(super) initiated: String,
    /// The encryption headers as sent at creation: the condition keys of every later call.
    pub(super) sent: PutOptions,
    pub(super) sse: Sse,
    pub(super) kms_key_id: String,
}

pub(super) const UPLOAD_COLUMNS: &str =
    "key, id, initiator, initiated, sse_sent, kms_key_sent, sse, kms_key_id";

pub(super) fn read_upload(r: &rusqlite::Row) -> rusqlite::Result<UploadRow> {
    let sse_sent: Option<String> = r.get(4)?;
    let sse: String = r.get(6)?;
    Ok(UploadRow {
        key: r.get(0)?,
        id: r.get(1)?,
        initiator: r.get(2)?,
        initiated: r.get(3)?,
        sent: PutOptions {
            sse: sse_sent.as_deref().and_then(Sse::parse),
            sse_kms_key_id: r.get(5)?,
        },
        sse: Sse::parse(&sse).unwrap_or(Sse::Aes256),
        kms_key_id: r.get(7)?,
    })
}

/// A part as the store records it.
pub(super) struct PartRow {
    pub(super) part_number: i32,
    pub(super) blob: String,
    pub(super) size: u64,
    pub(super) md5: String,
    /// The sealed body's final tag: which version of the file the row names.
    tag: String,
    pub(super) last_modified: String,
}

fn no_such_upload(upload_id: &str) -> ServiceError {
    ServiceError::new(
        Code::NoSuchUpload,
        format!(
            "The specified upload does not exist: {upload_id:?} (it may have been aborted or completed)"
        ),
    )
}

/// A part's data key is bound to its place in its upload: a part file moved to another upload,
/// key or part number does not open.
pub(super) fn part_context(bucket: &str, key: &str, upload_id: &str, part_number: i32) -> String {
    format!(
        "{};upload={upload_id};part={part_number}",
        encryption_context(bucket, key)
    )
}

/// S3's ETag of a multipart object: the MD5 of the parts' MD5s, then the number of parts.
fn multipart_etag(md5s: &[&str]) -> Result<String> {
    let mut all = Md5::new();
    for m in md5s {
        let bytes = hex::decode(m)
            .map_err(|_| ServiceError::internal("a part's recorded MD5 is not hex"))?;
        all.update(bytes);
    }
    Ok(format!("{}-{}", hex::encode(all.finalize()), md5s.len()))
}

/// Hashes what passes through, for a part's ETag, in the same pass that seals it.
pub(super) struct Md5Reader {
    pub(super) inner: Body,
    pub(super) md5: Md5,
}

impl Read for Md5Reader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }
}

/// A part checked in the completion's transaction, opened again when its turn comes.
pub(super) struct CheckedPart {
    path: PathBuf,
    header: Header,
    data_key: Secret,
    size: u64,
    tag: String,
}

impl CheckedPart {
    /// The part's plaintext, if its file is still the one checked.
    fn open(self) -> Result<OpeningReader> {
        let file =
            File::open(&self.path).map_err(|e| ServiceError::local_io("cannot open a part", &e))?;
        let file = SealedFile::open(file)?;
        if file.header != self.header
            || file.plaintext_len != self.size
            || file.final_tag()? != self.tag
        {
            return Err(ServiceError::new(
                Code::InvalidCiphertextException,
                "a part's file changed while its upload completed",
            ));
        }
        Ok(SealedObject::new(file, self.data_key).reader_at(0))
    }
}

/// The parts' plaintext, one after the other: the completed object's body.
pub(super) struct PartsReader {
    parts: VecDeque<CheckedPart>,
    current: Option<OpeningReader>,
}

impl PartsReader {
    pub(super) fn new(parts: Vec<CheckedPart>) -> Self {
        PartsReader {
            parts: parts.into(),
            current: None,
        }
    }
}

impl Read for PartsReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(reader) = &mut self.current {
                let n = reader.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.current = None;
            }
            let Some(next) = self.parts.pop_front() else {
                return Ok(0);
            };
            self.current = Some(next.open().map_err(|e| std::io::Error::other(e.message))?);
        }
    }
}

impl Lake {
    pub(super) fn upload_row(
        &self,
        tx: &Transaction,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<UploadRow> {
        tx.query_row(
            &format!(
                "SELECT {UPLOAD_COLUMNS} FROM multipart_uploads WHERE id = ?1 AND bucket = ?2 AND key = ?3"
            ),
            params![upload_id, bucket, key],
            read_upload,
        )
        .optional()?
        .ok_or_else(|| no_such_upload(upload_id))
    }

    pub(super) fn part_rows(&self, tx: &Transaction, upload_id: &str) -> Result<Vec<PartRow>> {
        let rows = tx
            .prepare(
                "SELECT part_number, blob, size, md5, tag, last_modified FROM multipart_parts
                 WHERE upload_id = ?1 ORDER BY part_number",
            )?
            .query_map(params![upload_id], |r| {
                Ok(PartRow {
                    part_number: r.get(0)?,
                    blob: r.get(1)?,
                    size: r.get(2)?,
                    md5: r.get(3)?,
                    tag: r.get(4)?,
                    last_modified: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The condition keys a call on an upload is authorized with: the encryption headers its
    /// creation carried. Read before the call's own transaction because `Call` carries them;
    /// they never change after creation, and the call reads the upload again. An unknown
    /// upload has none (the call is then refused, or answers NoSuchUpload).
    pub(super) fn upload_context(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<(&'static str, String)>> {
        let sent = self
            .meta
            .read(|tx| match self.upload_row(tx, bucket, key, upload_id) {
                Ok(up) => Ok(Some(up.sent)),
                Err(e) if e.code == Code::NoSuchUpload => Ok(None),
                Err(e) => Err(e),
            })?;
        Ok(sent.as_ref().map(Self::put_context).unwrap_or_default())
    }

    /// A call that S3 authorizes as `s3:PutObject` on the object, with the upload's headers.
    pub(super) fn put_call(
        operation: &'static str,
        bucket: &str,
        key: &str,
        ctx: &[(&'static str, String)],
    ) -> Call {
        let arn = object_arn(bucket, key);
        Call::new("s3", operation, &arn)
            .action("s3:PutObject")
            .on(&arn)
            .bucket(bucket)
            .context(ctx.to_vec())
    }

    /// Opens the parts a completion names, checking S3's rules on the list, and answers their
    /// readers, their rows and the object's ETag.
    pub(super) fn open_parts(
        &self,
        tx: &Transaction,
        caller: &Caller,
        bucket: &str,
        up: &UploadRow,
        wanted: &[CompletedPart],
    ) -> Result<(Vec<CheckedPart>, Vec<PartRow>, String)> {
        if wanted.is_empty() {
            return Err(ServiceError::new(
                Code::InvalidArgument,
                "name at least one part to complete a multipart upload",
            ));
        }
        if wanted
            .windows(2)
            .any(|w| w[1].part_number <= w[0].part_number)
        {
            return Err(ServiceError::new(
                Code::InvalidPartOrder,
                "The list of parts was not in ascending order: list each part once, by ascending PartNumber",
            ));
        }
        let mut stored: std::collections::HashMap<i32, PartRow> = self
            .part_rows(tx, &up.id)?
            .into_iter()
            .map(|p| (p.part_number, p))
            .collect();
        let mut rows = Vec::with_capacity(wanted.len());
        for (i, w) in wanted.iter().enumerate() {
            let row = stored
                .remove(&w.part_number)
                .filter(|p| p.md5.eq_ignore_ascii_case(bare_etag(&w.etag)))
                .ok_or_else(|| {
                    ServiceError::new(
                        Code::InvalidPart,
                        format!(
                            "One or more of the specified parts could not be found or its ETag does not match: part {}",
                            w.part_number
                        ),
                    )
                })?;
            if i + 1 < wanted.len() && row.size < MIN_PART_SIZE {
                return Err(ServiceError::new(
                    Code::EntityTooSmall,
                    format!(
                        "Your proposed upload is smaller than the minimum allowed size: part {} is {} bytes; every part but the last must be at least {MIN_PART_SIZE} bytes",
                        row.part_number, row.size
                    ),
                ));
            }
            rows.push(row);
        }
        let mut opened = Vec::with_capacity(rows.len());
        for row in &rows {
            let file = File::open(self.blob_path(&row.blob)).map_err(|e| {
                ServiceError::new(
                    Code::InvalidCiphertextException,
                    format!(
                        "part {} of upload {} is missing: {e}",
                        row.part_number, up.id
                    ),
                )
            })?;
            let file = SealedFile::open(file)?;
            let h = &file.header;
            let dk = self.decrypt_data_key(
                tx,
                caller,
                &h.key_id,
                h.key_version,
                &h.sealed_data_key,
                &part_context(bucket, &up.key, &up.id, row.part_number),
            )?;
            if file.plaintext_len != row.size || file.final_tag()? != row.tag {
                return Err(ServiceError::new(
                    Code::InvalidCiphertextException,
                    format!(
                        "part {} of upload {} is not the version the lake recorded",
                        row.part_number, up.id
                    ),
                ));
            }
            opened.push(CheckedPart {
                path: self.blob_path(&row.blob),
                header: file.header.clone(),
                data_key: dk,
                size: row.size,
                tag: row.tag.clone(),
            });
        }
        let md5s: Vec<&str> = rows.iter().map(|r| r.md5.as_str()).collect();
        let etag = multipart_etag(&md5s)?;
        Ok((opened, rows, etag))
    }
}
