//! S3 multipart uploads on the local lake. An upload is a row (its encryption, decided at
//! creation, and who created it); each part is a body sealed exactly as an object's is (its own
//! data key under the upload's KMS key, bound to bucket, key, upload and part number), written
//! under `tmp/` while it streams and moved into `objects/` in the transaction that records it,
//! so a part that fails or is killed midway leaves nothing (the next open sweeps `tmp/`).
//! Completing reads the parts' plaintext back in a second pass into one new sealed body, which
//! `commit_bodies_and` makes visible in the same transaction that removes the upload: a reader
//! sees no object, or the whole one. Nothing of an upload is visible to list, get or head.
//!
//! Authorization is S3's: creating, uploading a part and completing are `s3:PutObject` on the
//! object, evaluated against the encryption headers sent at creation (the only request that
//! carries them), so the bucket policy's SSE-KMS rule decides once, at creation, and holds for
//! every part; aborting and listing have actions of their own.

use std::fs;

use async_trait::async_trait;
use md5::{Digest, Md5};
use rusqlite::{OptionalExtension, params};
use serde_json::json;

use super::audit::Event;
use super::authorizer::Call;
use super::crypto::Secret;
use super::envelope::{self, CHUNK_SIZE, Header};
use super::objects::{Completing, PendingBody};
use super::parts::{Md5Reader, PartsReader, UPLOAD_COLUMNS, UploadRow, part_context, read_upload};
use super::s3::{check_object_key, object_arn};
use super::{Lake, blocking, now, parse_ts, ts};
use crate::service::multipart::{
    CompletedPart, Multipart, MultipartUpload, Part, check_part_number,
};
use crate::service::storage::{Body, ObjectInfo, PutOptions, Sse};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// A part authorized and with its data key; its body is sealed next.
struct PartPlan {
    data_key: Secret,
    header: Header,
}

#[async_trait]
impl Multipart for Lake {
    async fn create_multipart_upload(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        opts: PutOptions,
    ) -> Result<String> {
        let arn = object_arn(bucket, key);
        let call = Call::new("s3", "CreateMultipartUpload", &arn)
            .action("s3:PutObject")
            .on(&arn)
            .bucket(bucket)
            .context(Self::put_context(&opts));
        self.audited(by, call, |tx, caller| {
            check_object_key(key)?;
            let b = self.bucket_row(tx, bucket)?;
            let (sse, kms_key) = self.put_encryption(&b, &opts)?;
            // As S3 does: a key the caller may not use refuses the upload now, not at a part.
            let k = self.resolve_key(tx, &kms_key)?;
            self.authorize_key(caller, &k, "kms:GenerateDataKey")?;
            self.check_usable(&k)?;
            let id = uuid::Uuid::new_v4().simple().to_string();
            tx.execute(
                "INSERT INTO multipart_uploads(id, bucket, key, initiator, initiated, sse_sent, kms_key_sent, sse, kms_key_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![id, bucket, key, caller.arn, ts(now()), opts.sse.map(Sse::header), opts.sse_kms_key_id, sse.header(), k.id],
            )?;
            let detail = json!({"UploadId": id, "ServerSideEncryption": sse.header(), "KeyId": k.id});
            Ok((id, detail))
        })
    }

    async fn upload_part(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: Body,
    ) -> Result<String> {
        check_part_number(part_number)?;
        let arn = object_arn(bucket, key);
        let ctx = self.upload_context(bucket, key, upload_id)?;
        let call = Self::put_call("UploadPart", bucket, key, &ctx);
        let context = part_context(bucket, key, upload_id, part_number);
        // 1. Check and take a data key under the upload's KMS key; nothing changes yet.
        let plan = self.reading(by, call, |tx, caller| {
            let up = self.upload_row(tx, bucket, key, upload_id)?;
            let (data_key, key_id, key_version, sealed_data_key) =
                self.generate_data_key(tx, caller, &up.kms_key_id, &context)?;
            Ok(PartPlan {
                data_key,
                header: Header {
                    key_id,
                    key_version,
                    sealed_data_key,
                    chunk_size: CHUNK_SIZE as u32,
                },
            })
        })?;
        // 2. Seal the part into a locked temporary file, hashing it on the way.
        let tmp = self
            .dir
            .tmp()
            .join(uuid::Uuid::new_v4().simple().to_string());
        let key_id = plan.header.key_id.clone();
        let (mut pending, sealed, md5) = blocking(move || {
            let pending = PendingBody::create(tmp)?;
            let mut body = Md5Reader {
                inner: body,
                md5: Md5::new(),
            };
            let io_error =
                |e: std::io::Error| ServiceError::local_io("cannot write the object store", &e);
            let sealed = super::pipe::write_behind(&pending.file, io_error, |out| {
                envelope::seal_stream(
                    &plan.data_key,
                    &plan.header,
                    &mut body,
                    out,
                    &Progress::default(),
                )
            })?;
            pending.sync()?;
            Ok((pending, sealed, hex::encode(body.md5.finalize())))
        })
        .await?;
        // 3. Record it: check again (a policy, grant or key may have changed meanwhile, or the
        // upload been aborted), move it into place, and drop the part it replaces.
        let blob = uuid::Uuid::new_v4().simple().to_string();
        let final_path = self.blob_path(&blob);
        let mut moved = false;
        let outcome = self.meta.write(|tx| {
            let caller = self.caller(tx, by)?;
            let b = self.bucket_row(tx, bucket)?;
            self.authorize_s3(&caller, &b, "s3:PutObject", &arn, &ctx)?;
            self.upload_row(tx, bucket, key, upload_id)?;
            let k = self.resolve_key(tx, &key_id)?;
            self.authorize_key(&caller, &k, "kms:GenerateDataKey")?;
            self.check_usable(&k)?;
            let old: Option<String> = tx
                .query_row(
                    "SELECT blob FROM multipart_parts WHERE upload_id = ?1 AND part_number = ?2",
                    params![upload_id, part_number],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute(
                "INSERT INTO multipart_parts(upload_id, part_number, blob, size, md5, tag, last_modified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(upload_id, part_number) DO UPDATE SET blob = excluded.blob,
                   size = excluded.size, md5 = excluded.md5, tag = excluded.tag,
                   last_modified = excluded.last_modified",
                params![upload_id, part_number, blob, sealed.plaintext_len, md5, sealed.etag, ts(now())],
            )?;
            let dir = final_path.parent().expect("blob paths have a parent");
            super::lake::create_private_dir_all(dir)
                .map_err(|e| ServiceError::local_io("cannot create an object directory", &e))?;
            fs::rename(&pending.tmp, &final_path)
                .map_err(|e| ServiceError::local_io("cannot move a part into place", &e))?;
            pending.committed = true;
            moved = true;
            self.audit.append(
                tx,
                Event {
                    principal: by.name(),
                    source: "s3",
                    name: "UploadPart",
                    resource: &arn,
                    error_code: None,
                    detail: json!({"UploadId": upload_id, "PartNumber": part_number, "Size": sealed.plaintext_len}),
                    origin: by.origin(),
                },
            )?;
            Ok(old)
        });
        match outcome {
            Ok(old) => {
                if let Some(old) = old {
                    let _ = fs::remove_file(self.blob_path(&old));
                }
                Ok(format!("\"{md5}\""))
            }
            Err(e) => {
                if moved {
                    let _ = fs::remove_file(&final_path);
                }
                self.record_refusal(by, "s3", "UploadPart", &arn, &e);
                Err(e)
            }
        }
    }

    async fn list_parts(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<Part>> {
        let arn = object_arn(bucket, key);
        let call = Call::new("s3", "ListParts", &arn)
            .action("s3:ListMultipartUploadParts")
            .on(&arn)
            .bucket(bucket);
        self.reading(by, call, |tx, _| {
            let up = self.upload_row(tx, bucket, key, upload_id)?;
            Ok(self
                .part_rows(tx, &up.id)?
                .into_iter()
                .map(|p| Part {
                    part_number: p.part_number,
                    etag: format!("\"{}\"", p.md5),
                    size: p.size,
                    last_modified: parse_ts(&p.last_modified),
                })
                .collect())
        })
    }

    async fn list_multipart_uploads(
        &self,
        by: &Principal,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<MultipartUpload>> {
        let call = Call::new("s3", "ListMultipartUploads", bucket)
            .action("s3:ListBucketMultipartUploads")
            .on(format!("arn:aws:s3:::{bucket}"))
            .bucket(bucket);
        self.reading(by, call, |tx, _| {
            self.bucket_row(tx, bucket)?;
            let rows: Vec<UploadRow> = tx
                .prepare(&format!(
                    "SELECT {UPLOAD_COLUMNS} FROM multipart_uploads
                     WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key, initiated"
                ))?
                .query_map(params![bucket, prefix], read_upload)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows
                .into_iter()
                .map(|u| MultipartUpload {
                    key: u.key,
                    upload_id: u.id,
                    initiated: parse_ts(&u.initiated),
                    initiator: u.initiator,
                })
                .collect())
        })
    }

    async fn complete_multipart_upload(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<ObjectInfo> {
        let ctx = self.upload_context(bucket, key, upload_id)?;
        let call = Self::put_call("CompleteMultipartUpload", bucket, key, &ctx);
        // 1. Check the part list and open the parts; take the object's data key.
        let (plan, opened, used) = self.reading(by, call, |tx, caller| {
            let up = self.upload_row(tx, bucket, key, upload_id)?;
            let (opened, rows, etag) = self.open_parts(tx, caller, bucket, &up, parts)?;
            let completing = Completing {
                upload_id: up.id.clone(),
                etag,
            };
            let plan = self.plan_body(
                tx,
                caller,
                (bucket, key),
                (up.sse, &up.kms_key_id),
                ctx.clone(),
                Some(completing),
            )?;
            let used: Vec<(i32, String)> =
                rows.into_iter().map(|r| (r.part_number, r.blob)).collect();
            Ok((plan, opened, used))
        })?;
        // 2. A second pass: the parts' plaintext, in order, sealed into one new body.
        let body = PartsReader::new(opened);
        let sealed = self
            .seal_upload(plan, Box::new(body), Progress::default())
            .await?;
        // 3. One transaction: the object appears, the upload and every part row go.
        self.commit_bodies_and(by, vec![sealed], None, |tx| {
            let now_parts: Vec<(i32, String)> = self
                .part_rows(tx, upload_id)?
                .into_iter()
                .map(|p| (p.part_number, p.blob))
                .collect();
            if let Some((n, _)) = used.iter().find(|u| !now_parts.contains(u)) {
                return Err(ServiceError::new(
                    Code::InvalidPart,
                    format!("part {n} was replaced or removed while the upload completed; complete it again"),
                ));
            }
            let blobs: Vec<String> = now_parts.into_iter().map(|(_, b)| b).collect();
            tx.execute(
                "DELETE FROM multipart_parts WHERE upload_id = ?1",
                params![upload_id],
            )?;
            tx.execute(
                "DELETE FROM multipart_uploads WHERE id = ?1",
                params![upload_id],
            )?;
            let info = self.object_info(&self.object_row(tx, bucket, key)?);
            Ok((blobs, info))
        })
    }

    async fn abort_multipart_upload(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<()> {
        let arn = object_arn(bucket, key);
        let call = Call::new("s3", "AbortMultipartUpload", &arn)
            .on(&arn)
            .bucket(bucket);
        let blobs = self.audited(by, call, |tx, _| {
            let up = self.upload_row(tx, bucket, key, upload_id)?;
            let blobs: Vec<String> = self
                .part_rows(tx, &up.id)?
                .into_iter()
                .map(|p| p.blob)
                .collect();
            tx.execute(
                "DELETE FROM multipart_parts WHERE upload_id = ?1",
                params![up.id],
            )?;
            tx.execute(
                "DELETE FROM multipart_uploads WHERE id = ?1",
                params![up.id],
            )?;
            let detail = json!({"UploadId": up.id, "Parts": blobs.len()});
            Ok((blobs, detail))
        })?;
        for blob in blobs {
            let _ = fs::remove_file(self.blob_path(&blob));
        }
        Ok(())
    }
}
