//! Object bodies on the local lake: a body is written under `tmp/` (locked while its upload
//! lives), sealed and flushed, then made visible by `commit_bodies`, which checks every put again,
//! moves the bodies into `objects/` and records them in one transaction (replacing a whole prefix
//! when a job's output is). A killed upload leaves only an unlocked temporary file, which the next
//! open of the lake sweeps away. Reading hands out a decrypting view of a body. S3's rules for
//! names, policies and encryption headers are in s3.rs; this module only moves sealed bytes.

use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::audit::Event;
use super::authorizer::Call;
use super::crypto::Secret;
use super::envelope::{self, CHUNK_SIZE, Header, SealedFile};
use super::pipe;
use super::s3::{check_object_key, encryption_context, object_arn};
use super::{Caller, Lake, blocking, now, ts};
use crate::service::storage::{Body, ObjectInfo, PutOptions, Sse};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// Removes bodies of uploads, and scratch directories (scratch.rs) of runs, whose process is
/// gone (their lock is released).
pub(super) fn sweep_abandoned_uploads(lake: &Lake) {
    let Ok(entries) = fs::read_dir(lake.dir.tmp()) else {
        return;
    };
    for entry in entries.flatten() {
        if let Ok(file) = File::open(entry.path())
            && file.try_lock().is_ok()
        {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = fs::remove_dir_all(entry.path());
            } else {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// A temporary body: locked while its upload lives, removed if the upload does not commit.
/// Multipart parts (multipart.rs) are written through it too.
pub(super) struct PendingBody {
    pub(super) file: File,
    pub(super) tmp: PathBuf,
    pub(super) committed: bool,
}

impl PendingBody {
    /// A new temporary body, locked for as long as this lives.
    pub(super) fn create(tmp: PathBuf) -> Result<Self> {
        let file = super::lake::create_private(&tmp)
            .map_err(|e| ServiceError::local_io("cannot create an upload file", &e))?;
        let pending = PendingBody {
            file,
            tmp,
            committed: false,
        };
        pending
            .file
            .try_lock()
            .map_err(|e| ServiceError::internal(format!("cannot lock an upload file: {e}")))?;
        Ok(pending)
    }

    /// On disk before the transaction that makes it visible: a committed object survives a
    /// power cut, not just a killed process.
    pub(super) fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| ServiceError::local_io("cannot flush an upload", &e))
    }
}

/// A put that is authorized and has its data key; its body is written next.
pub(super) struct PutPlan {
    bucket: String,
    key: String,
    sse: Sse,
    put_ctx: Vec<(&'static str, String)>,
    data_key: Secret,
    header: Header,
    /// Set when the body completes a multipart upload.
    completing: Option<Completing>,
}

/// The multipart upload a body completes: its id, and the object's S3 ETag (`"<md5>-N"`),
/// which is not the sealed body's own tag.
pub(super) struct Completing {
    pub(super) upload_id: String,
    pub(super) etag: String,
}

/// A body sealed into its temporary file, waiting for `commit_bodies`.
pub struct SealedBody {
    plan: PutPlan,
    pending: PendingBody,
    sealed: envelope::Sealed,
}

/// Writes one object's body (jobs write their output through this).
pub struct BodyWriter {
    plan: PutPlan,
    writer: envelope::SealingWriter<std::io::BufWriter<PendingBody>>,
}

impl Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.writer.write(data)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

impl Write for PendingBody {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        (&self.file).write(data)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        (&self.file).flush()
    }
}

impl PutPlan {
    /// The audit log's name for what this body's commit does.
    fn operation(&self) -> &'static str {
        match self.completing {
            Some(_) => "CompleteMultipartUpload",
            None => "PutObject",
        }
    }
}

impl SealedBody {
    /// Plaintext bytes written.
    pub fn len(&self) -> u64 {
        self.sealed.plaintext_len
    }
}

impl BodyWriter {
    pub fn finish(self) -> Result<SealedBody> {
        let io_error =
            |e: std::io::Error| ServiceError::local_io("cannot write the object store", &e);
        let (out, sealed) = self.writer.finish().map_err(io_error)?;
        let pending = out.into_inner().map_err(|e| io_error(e.into_error()))?;
        pending.sync()?;
        Ok(SealedBody {
            plan: self.plan,
            pending,
            sealed,
        })
    }
}

impl Drop for PendingBody {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl Lake {
    /// Seals an upload's body into a locked temporary file, off the async runtime: encryption on
    /// one thread, the page-cache writes on another, then a flush to disk.
    pub(super) async fn seal_upload(
        &self,
        plan: PutPlan,
        body: Body,
        progress: Progress,
    ) -> Result<SealedBody> {
        let tmp = self
            .dir
            .tmp()
            .join(uuid::Uuid::new_v4().simple().to_string());
        blocking(move || {
            let pending = PendingBody::create(tmp)?;
            let mut body = body;
            let io_error =
                |e: std::io::Error| ServiceError::local_io("cannot write the object store", &e);
            let sealed = pipe::write_behind(&pending.file, io_error, |out| {
                envelope::seal_stream(&plan.data_key, &plan.header, &mut body, out, &progress)
            })?;
            pending.sync()?;
            Ok(SealedBody {
                plan,
                pending,
                sealed,
            })
        })
        .await
    }

    /// Authorizes a put and takes its data key.
    pub(super) fn plan_put(
        &self,
        tx: &Transaction,
        caller: &Caller,
        bucket: &str,
        key: &str,
        opts: &PutOptions,
    ) -> Result<PutPlan> {
        check_object_key(key)?;
        let b = self.bucket_row(tx, bucket)?;
        let put_ctx = Self::put_context(opts);
        self.authorize_s3(
            caller,
            &b,
            "s3:PutObject",
            &object_arn(bucket, key),
            &put_ctx,
        )?;
        let (sse, kms_key) = self.put_encryption(&b, opts)?;
        self.plan_body(tx, caller, (bucket, key), (sse, &kms_key), put_ctx, None)
    }

    /// Takes the data key of a body already authorized: a put's, or a completed upload's
    /// (under the encryption its upload was created with).
    pub(super) fn plan_body(
        &self,
        tx: &Transaction,
        caller: &Caller,
        (bucket, key): (&str, &str),
        (sse, kms_key): (Sse, &str),
        put_ctx: Vec<(&'static str, String)>,
        completing: Option<Completing>,
    ) -> Result<PutPlan> {
        let (data_key, key_id, key_version, sealed_data_key) =
            self.generate_data_key(tx, caller, kms_key, &encryption_context(bucket, key))?;
        let header = Header {
            key_id,
            key_version,
            sealed_data_key,
            chunk_size: CHUNK_SIZE as u32,
        };
        Ok(PutPlan {
            bucket: bucket.into(),
            key: key.into(),
            sse,
            put_ctx,
            data_key,
            header,
            completing,
        })
    }

    /// A writer for the body of a planned put.
    pub(super) fn body_writer(&self, plan: PutPlan) -> Result<BodyWriter> {
        let pending = PendingBody::create(
            self.dir
                .tmp()
                .join(uuid::Uuid::new_v4().simple().to_string()),
        )?;
        let out = std::io::BufWriter::with_capacity(1 << 20, pending);
        let writer = envelope::SealingWriter::new(&plan.data_key, &plan.header, out)
            .map_err(|e| ServiceError::local_io("cannot write the object store", &e))?;
        Ok(BodyWriter { plan, writer })
    }

    /// Makes sealed bodies visible, all at once: one transaction checks each put again, moves
    /// the bodies into place and records them. With `replace`, every other object under that
    /// bucket and prefix goes in the same transaction, so readers see the old set or the new one.
    pub(super) fn commit_bodies(
        &self,
        by: &Principal,
        bodies: Vec<SealedBody>,
        replace: Option<(&str, &str)>,
    ) -> Result<()> {
        self.commit_bodies_and(by, bodies, replace, |_| Ok((Vec::new(), ())))
    }

    /// `commit_bodies`, with `also` run in the same transaction once the bodies are recorded
    /// (completing a multipart upload removes it there); `also` answers blobs to remove once
    /// the transaction has committed, and a value.
    pub(super) fn commit_bodies_and<T>(
        &self,
        by: &Principal,
        bodies: Vec<SealedBody>,
        replace: Option<(&str, &str)>,
        also: impl FnOnce(&Transaction) -> Result<(Vec<String>, T)>,
    ) -> Result<T> {
        let mut bodies = bodies;
        let mut moved: Vec<PathBuf> = Vec::new();
        let outcome = self.meta.write(|tx| {
            let caller = self.caller(tx, by)?;
            let mut old_blobs = Vec::new();
            for body in bodies.iter_mut() {
                let p = &body.plan;
                let arn = object_arn(&p.bucket, &p.key);
                let b = self.bucket_row(tx, &p.bucket)?;
                self.authorize_s3(&caller, &b, "s3:PutObject", &arn, &p.put_ctx)?;
                let k = self.resolve_key(tx, &p.header.key_id)?;
                self.authorize_key(&caller, &k, "kms:GenerateDataKey")?;
                // A key disabled while the body was written fails the put now, not a later read.
                self.check_usable(&k)?;
                let old: Option<String> = tx
                    .query_row(
                        "SELECT blob FROM objects WHERE bucket = ?1 AND key = ?2",
                        params![p.bucket, p.key],
                        |r| r.get(0),
                    )
                    .optional()?;
                old_blobs.extend(old);
                let blob = body.pending.tmp.file_name().and_then(|n| n.to_str()).expect("blob names are ASCII").to_string();
                let s3_etag = p.completing.as_ref().map(|c| c.etag.as_str());
                tx.execute(
                    "INSERT INTO objects(bucket, key, blob, size, etag, last_modified, sse, kms_key_id, s3_etag)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT(bucket, key) DO UPDATE SET blob = excluded.blob, size = excluded.size,
                       etag = excluded.etag, last_modified = excluded.last_modified, sse = excluded.sse,
                       kms_key_id = excluded.kms_key_id, s3_etag = excluded.s3_etag",
                    params![p.bucket, p.key, blob, body.sealed.plaintext_len, body.sealed.etag, ts(now()), p.sse.header(), p.header.key_id, s3_etag],
                )?;
                let final_path = self.blob_path(&blob);
                let dir = final_path.parent().expect("blob paths have a parent");
                super::lake::create_private_dir_all(dir).map_err(|e| ServiceError::local_io("cannot create an object directory", &e))?;
                fs::rename(&body.pending.tmp, &final_path)
                    .map_err(|e| ServiceError::local_io("cannot move an upload into place", &e))?;
                body.pending.committed = true;
                moved.push(final_path);
                self.audit.append(tx, Event {
                    principal: by.name(),
                    source: "s3",
                    name: p.operation(),
                    resource: &arn,
                    error_code: None,
                    detail: json!({"Size": body.sealed.plaintext_len, "ServerSideEncryption": p.sse.header(), "KeyId": p.header.key_id, "UploadId": p.completing.as_ref().map(|c| &c.upload_id)}),
                    origin: by.origin(),
                })?;
                let etag = s3_etag.unwrap_or(&body.sealed.etag);
                self.emit_object_created(tx, by.name(), &p.bucket, &p.key, body.sealed.plaintext_len, etag, p.operation())?;
            }
            if let Some((bucket, prefix)) = replace {
                let b = self.bucket_row(tx, bucket)?;
                let kept: Vec<&str> = bodies.iter().filter(|x| x.plan.bucket == bucket).map(|x| x.plan.key.as_str()).collect();
                let stale: Vec<(String, String)> = tx
                    .prepare("SELECT key, blob FROM objects WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2")?
                    .query_map(params![bucket, prefix], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (key, blob) in stale.into_iter().filter(|(k, _)| !kept.contains(&k.as_str())) {
                    let arn = object_arn(bucket, &key);
                    self.authorize_s3(&caller, &b, "s3:DeleteObject", &arn, &[])?;
                    tx.execute("DELETE FROM objects WHERE bucket = ?1 AND key = ?2", params![bucket, key])?;
                    self.audit.append(tx, Event {
                        principal: by.name(),
                        source: "s3",
                        name: "DeleteObject",
                        resource: &arn,
                        error_code: None,
                        detail: json!({"Reason": "replaced by a newer run"}),
                        origin: by.origin(),
                    })?;
                    self.emit_object_deleted(tx, by.name(), bucket, &key)?;
                    old_blobs.push(blob);
                }
            }
            let (more, out) = also(tx)?;
            old_blobs.extend(more);
            Ok((old_blobs, out))
        });
        match outcome {
            Ok((old_blobs, out)) => {
                for blob in old_blobs {
                    let _ = fs::remove_file(self.blob_path(&blob));
                }
                Ok(out)
            }
            Err(e) => {
                for path in moved {
                    let _ = fs::remove_file(path);
                }
                if let Some(b) = bodies.first() {
                    self.record_refusal(
                        by,
                        "s3",
                        b.plan.operation(),
                        &object_arn(&b.plan.bucket, &b.plan.key),
                        &e,
                    );
                }
                Err(e)
            }
        }
    }

    /// Authorizes and records a read, and returns the object's plaintext as a stream.
    pub(super) fn open_object(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
    ) -> Result<(ObjectInfo, envelope::SealedObject)> {
        let (info, file, data_key) = self.authorize_read(by, bucket, key, None)?;
        Ok((info, envelope::SealedObject::new(file, data_key)))
    }

    /// The read is authorized, its key opened and the access recorded before any byte flows.
    pub(super) fn authorize_read(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(ObjectInfo, SealedFile, Secret)> {
        let arn = object_arn(bucket, key);
        let call = Call::new("s3", "GetObject", &arn).on(&arn).bucket(bucket);
        self.audited(by, call, |tx, caller| {
            let opened = self.open_in(tx, caller, bucket, key)?;
            let detail =
                json!({"Range": range.map(|(s, e)| format!("bytes={s}-{}", e.saturating_sub(1)))});
            Ok((opened, detail))
        })
    }

    /// Opens many objects of one bucket in one transaction (a query's scan): each read is
    /// authorized and recorded as its own GetObject, with `detail` (whose query it serves), all
    /// or none.
    pub(super) fn open_objects(
        &self,
        by: &Principal,
        bucket: &str,
        keys: &[String],
        detail: &serde_json::Value,
    ) -> Result<Vec<envelope::SealedObject>> {
        let outcome = self.meta.write(|tx| {
            let caller = self.caller(tx, by)?;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let (_, file, dk) = self.open_in(tx, &caller, bucket, key)?;
                self.audit.append(
                    tx,
                    Event {
                        principal: by.name(),
                        source: "s3",
                        name: "GetObject",
                        resource: &object_arn(bucket, key),
                        error_code: None,
                        detail: detail.clone(),
                        origin: by.origin(),
                    },
                )?;
                out.push(envelope::SealedObject::new(file, dk));
            }
            Ok(out)
        });
        if let Err(e) = &outcome {
            self.record_refusal(by, "s3", "GetObject", &format!("arn:aws:s3:::{bucket}"), e);
        }
        outcome
    }

    /// One object's authorization, row, body and data key, inside a transaction.
    fn open_in(
        &self,
        tx: &Transaction,
        caller: &Caller,
        bucket: &str,
        key: &str,
    ) -> Result<(ObjectInfo, SealedFile, Secret)> {
        let arn = object_arn(bucket, key);
        let b = self.bucket_row(tx, bucket)?;
        self.authorize_s3(caller, &b, "s3:GetObject", &arn, &[])?;
        let row = self.object_row(tx, bucket, key)?;
        let file = File::open(self.blob_path(&row.blob)).map_err(|e| {
            ServiceError::new(
                Code::InvalidCiphertextException,
                format!("the body of {arn} is missing: {e}"),
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
            &encryption_context(bucket, key),
        )?;
        // The body must be the very version the store names, not an older copy put back.
        if file.plaintext_len != row.size || file.final_tag()? != row.etag {
            return Err(ServiceError::new(
                Code::InvalidCiphertextException,
                format!("the body of {arn} is not the version the lake recorded"),
            ));
        }
        Ok((self.object_info(&row), file, dk))
    }

    /// The keys and sizes under a prefix, as `by` may list them (for jobs and crawlers).
    pub(super) fn list_keys(
        &self,
        by: &Principal,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<(String, u64)>> {
        let call = Call::new("s3", "ListObjects", bucket)
            .action("s3:ListBucket")
            .on(format!("arn:aws:s3:::{bucket}"))
            .bucket(bucket)
            .context(vec![("s3:prefix", prefix.to_string())]);
        self.reading(by, call, |tx, _| {
            self.bucket_row(tx, bucket)?;
            let rows: Vec<(String, u64)> = tx
                .prepare("SELECT key, size FROM objects WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key")?
                .query_map(params![bucket, prefix], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }
}
