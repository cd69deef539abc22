//! S3 as the ETL engine's store, for jobs that run in lakectl itself. The engine is synchronous
//! and runs on the blocking pool, so each S3 call here is driven to completion on the runtime's
//! handle. Sources are read by range (S3 decrypts SSE-KMS for a caller allowed kms:Decrypt);
//! output goes up as multipart uploads that are completed only at commit, so a run that fails
//! leaves no object behind (the uploads are aborted) and a run that succeeds replaces the
//! previous output as nearly at once as S3 allows.

use std::collections::BTreeSet;
use std::io::{Read, Write};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use tokio::runtime::Handle;

use super::aws_error;
use crate::etl::{JobStore, SourceObject};
use crate::service::storage::PutOptions;
use crate::service::{Code, Principal, Result, ServiceError};

/// Parts go up at this size; the engine's output is held in memory a part at a time.
const PART: usize = 8 * 1024 * 1024;
/// A sequential reader fetches the object in windows of this size.
const WINDOW: u64 = 8 * 1024 * 1024;

pub(super) struct S3Store {
    pub s3: Client,
    pub handle: Handle,
}

fn io(err: ServiceError) -> std::io::Error {
    std::io::Error::other(err)
}

/// `[start, end)` of an object.
fn fetch(
    s3: &Client,
    handle: &Handle,
    bucket: &str,
    key: &str,
    start: u64,
    end: u64,
) -> Result<Vec<u8>> {
    if end <= start {
        return Ok(Vec::new());
    }
    handle.block_on(async {
        let got = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .range(format!("bytes={start}-{}", end - 1))
            .send()
            .await
            .map_err(|e| aws_error("s3:GetObject", e))?;
        let body = got.body.collect().await.map_err(|e| {
            ServiceError::new(
                Code::EndpointConnection,
                format!("s3://{bucket}/{key}: {e}"),
            )
        })?;
        Ok(body.into_bytes().to_vec())
    })
}

#[derive(Clone)]
struct S3Source {
    s3: Client,
    handle: Handle,
    bucket: String,
    key: String,
    len: u64,
}

impl SourceObject for S3Source {
    fn len(&self) -> u64 {
        self.len
    }

    fn reader_at(&self, start: u64) -> Box<dyn Read + Send> {
        Box::new(Windows {
            source: self.clone(),
            next: start,
            window: Vec::new(),
            at: 0,
        })
    }

    fn read_range(&self, start: u64, len: u64) -> std::io::Result<Vec<u8>> {
        let end = (start + len).min(self.len);
        fetch(&self.s3, &self.handle, &self.bucket, &self.key, start, end).map_err(io)
    }
}

/// Reads an object front to back, one ranged GET per window.
struct Windows {
    source: S3Source,
    next: u64,
    window: Vec<u8>,
    at: usize,
}

impl Read for Windows {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.window.len() {
            if self.next >= self.source.len {
                return Ok(0);
            }
            let end = (self.next + WINDOW).min(self.source.len);
            self.window = self.source.read_range(self.next, end - self.next)?;
            self.next = end;
            self.at = 0;
        }
        let n = buf.len().min(self.window.len() - self.at);
        buf[..n].copy_from_slice(&self.window[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A multipart upload under way; aborted when dropped before it is completed.
pub(super) struct Upload {
    s3: Client,
    handle: Handle,
    bucket: String,
    key: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
    completed: bool,
}

impl Upload {
    fn send_part(&mut self, data: Vec<u8>) -> Result<()> {
        let number = self.parts.len() as i32 + 1;
        let sent = self.handle.block_on(
            self.s3
                .upload_part()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&self.upload_id)
                .part_number(number)
                .body(ByteStream::from(data))
                .send(),
        );
        let sent = sent.map_err(|e| aws_error("s3:UploadPart", e))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }

    fn complete(&mut self) -> Result<()> {
        let parts = CompletedMultipartUpload::builder()
            .set_parts(Some(self.parts.clone()))
            .build();
        self.handle
            .block_on(
                self.s3
                    .complete_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .upload_id(&self.upload_id)
                    .multipart_upload(parts)
                    .send(),
            )
            .map_err(|e| aws_error("s3:CompleteMultipartUpload", e))?;
        self.completed = true;
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.completed {
            return;
        }
        let abort = self
            .s3
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id);
        self.handle.spawn(async move {
            let _ = abort.send().await;
        });
    }
}

/// One output object being written: a part's worth in memory, the rest already uploaded.
pub(super) struct Body {
    upload: Upload,
    pending: Vec<u8>,
    written: u64,
}

impl Write for Body {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(data);
        self.written += data.len() as u64;
        if self.pending.len() >= PART {
            let part = std::mem::replace(&mut self.pending, Vec::with_capacity(PART));
            self.upload.send_part(part).map_err(io)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl JobStore for S3Store {
    type Body = Body;
    type Written = Upload;

    /// The machine's temporary directory: there is no lake directory here, and what is written
    /// there is sealed under keys that exist only in this process.
    fn scratch_area(&self) -> std::path::PathBuf {
        std::env::temp_dir().join("lakectl")
    }

    fn open(&self, _by: &Principal, bucket: &str, key: &str) -> Result<Box<dyn SourceObject>> {
        let head = self
            .handle
            .block_on(self.s3.head_object().bucket(bucket).key(key).send())
            .map_err(|e| aws_error("s3:HeadObject", e))?;
        Ok(Box::new(S3Source {
            s3: self.s3.clone(),
            handle: self.handle.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            len: head.content_length().unwrap_or(0).max(0) as u64,
        }))
    }

    fn create(&self, _by: &Principal, bucket: &str, key: &str, put: &PutOptions) -> Result<Body> {
        let created = self
            .handle
            .block_on(
                self.s3
                    .create_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .set_server_side_encryption(
                        put.sse.map(|s| ServerSideEncryption::from(s.header())),
                    )
                    .set_ssekms_key_id(put.sse_kms_key_id.clone())
                    .send(),
            )
            .map_err(|e| aws_error("s3:CreateMultipartUpload", e))?;
        Ok(Body {
            upload: Upload {
                s3: self.s3.clone(),
                handle: self.handle.clone(),
                bucket: bucket.to_string(),
                key: key.to_string(),
                upload_id: created.upload_id().unwrap_or_default().to_string(),
                parts: Vec::new(),
                completed: false,
            },
            pending: Vec::with_capacity(PART),
            written: 0,
        })
    }

    fn finish(&self, mut body: Body) -> Result<(Upload, u64)> {
        let last = std::mem::take(&mut body.pending);
        body.upload.send_part(last)?;
        Ok((body.upload, body.written))
    }

    /// Completes every upload, then removes what else was under the prefix (the previous
    /// output), leaving lakectl's own `_lakectl/` records and scripts.
    fn commit(
        &self,
        _by: &Principal,
        mut written: Vec<Upload>,
        replace: (&str, &str),
    ) -> Result<()> {
        for upload in &mut written {
            upload.complete()?;
        }
        let (bucket, prefix) = replace;
        let keep: BTreeSet<&str> = written.iter().map(|u| u.key.as_str()).collect();
        let mut stale = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = self.handle.block_on(pages.next()) {
            let page = page.map_err(|e| aws_error("s3:ListObjectsV2", e))?;
            stale.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter(|k| !keep.contains(k) && !k[prefix.len()..].starts_with("_lakectl/"))
                    .map(str::to_string),
            );
        }
        for key in stale {
            self.handle
                .block_on(self.s3.delete_object().bucket(bucket).key(&key).send())
                .map_err(|e| aws_error("s3:DeleteObject", e))?;
        }
        Ok(())
    }
}
