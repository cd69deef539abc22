//! Multipart uploads on S3: the service layer's `Multipart` through aws-sdk-s3, and the puts
//! past one part that `put_object` sends this way. S3 decides everything (authorization, the
//! bucket policy's encryption rules, part sizes and order); errors keep S3's codes.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart as SdkCompletedPart};

use super::s3::{cancelled, header_of, read_part};
use super::{Aws, aws_error, time};
use crate::service::multipart::{
    CompletedPart, Multipart, MultipartUpload, Part, check_part_number,
};
use crate::service::storage::{Body, ObjectInfo, PutOptions, Storage};
use crate::service::{Principal, Progress, Result, ServiceError};

impl Aws {
    /// A put past one part: sent as a multipart upload, aborted if any part fails.
    pub(super) async fn multipart(
        &self,
        bucket: &str,
        key: &str,
        opts: &PutOptions,
        mut body: Body,
        first: Vec<u8>,
        progress: &Progress,
    ) -> Result<()> {
        let created = self
            .s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .set_server_side_encryption(opts.sse.map(header_of))
            .set_ssekms_key_id(opts.sse_kms_key_id.clone())
            .send()
            .await
            .map_err(|e| aws_error("s3:CreateMultipartUpload", e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let mut parts = Vec::new();
        let mut next = first;
        let outcome: Result<()> = async {
            loop {
                if progress.is_cancelled() {
                    return Err(cancelled());
                }
                let len = next.len() as u64;
                let number = parts.len() as i32 + 1;
                let sent = self
                    .s3
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(ByteStream::from(std::mem::take(&mut next)))
                    .send()
                    .await
                    .map_err(|e| aws_error("s3:UploadPart", e))?;
                parts.push(
                    SdkCompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(sent.e_tag().map(str::to_string))
                        .build(),
                );
                progress.advance(len);
                let (rest, part) = read_part(body).await?;
                body = rest;
                if part.is_empty() {
                    return Ok(());
                }
                next = part;
            }
        }
        .await;
        let finished = match outcome {
            Ok(()) => self
                .s3
                .complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error("s3:CompleteMultipartUpload", e)),
            Err(e) => Err(e),
        };
        if finished.is_err() {
            // Parts left behind are billed and invisible; the upload goes whole or not at all.
            let _ = self
                .s3
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        finished
    }
}

/// A whole part in memory: the SDK signs a part with its length. A part is what the client chose
/// to send at once (S3 allows up to 5 GiB; clients send 8 to 100 MiB).
async fn read_all(mut body: Body) -> Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || {
        let mut part = Vec::new();
        std::io::Read::read_to_end(&mut body, &mut part)
            .map_err(|e| ServiceError::local_io("cannot read the part", &e))?;
        Ok(part)
    })
    .await
    .map_err(|e| ServiceError::internal(format!("the part reader stopped: {e}")))?
}

#[async_trait]
impl Multipart for Aws {
    async fn create_multipart_upload(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        opts: PutOptions,
    ) -> Result<String> {
        self.acting(by)?;
        let key_arn = match &opts.sse_kms_key_id {
            Some(k) => Some(self.key_arn(by, k).await?),
            None => None,
        };
        let created = self
            .s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .set_server_side_encryption(opts.sse.map(header_of))
            .set_ssekms_key_id(key_arn)
            .send()
            .await
            .map_err(|e| aws_error("s3:CreateMultipartUpload", e))?;
        Ok(created.upload_id().unwrap_or_default().to_string())
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
        self.acting(by)?;
        check_part_number(part_number)?;
        let data = read_all(body).await?;
        let sent = self
            .s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number)
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|e| aws_error("s3:UploadPart", e))?;
        Ok(sent.e_tag().unwrap_or_default().to_string())
    }

    async fn list_parts(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<Part>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self
            .s3
            .list_parts()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("s3:ListParts", e))?;
            out.extend(page.parts().iter().map(|p| Part {
                part_number: p.part_number().unwrap_or_default(),
                etag: p.e_tag().unwrap_or_default().to_string(),
                size: p.size().unwrap_or_default() as u64,
                last_modified: time(p.last_modified()),
            }));
        }
        Ok(out)
    }

    async fn list_multipart_uploads(
        &self,
        by: &Principal,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<MultipartUpload>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .s3
                .list_multipart_uploads()
                .bucket(bucket)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await
                .map_err(|e| aws_error("s3:ListMultipartUploads", e))?;
            out.extend(page.uploads().iter().map(|u| {
                MultipartUpload {
                    key: u.key().unwrap_or_default().to_string(),
                    upload_id: u.upload_id().unwrap_or_default().to_string(),
                    initiated: time(u.initiated()),
                    initiator: u
                        .initiator()
                        .and_then(|i| i.id().or(i.display_name()))
                        .unwrap_or_default()
                        .to_string(),
                }
            }));
            if !page.is_truncated().unwrap_or(false) {
                return Ok(out);
            }
            key_marker = page.next_key_marker().map(str::to_string);
            id_marker = page.next_upload_id_marker().map(str::to_string);
            if key_marker.is_none() && id_marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn complete_multipart_upload(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<ObjectInfo> {
        self.acting(by)?;
        let parts = parts
            .iter()
            .map(|p| {
                SdkCompletedPart::builder()
                    .part_number(p.part_number)
                    .e_tag(&p.etag)
                    .build()
            })
            .collect();
        self.s3
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error("s3:CompleteMultipartUpload", e))?;
        self.head_object(by, bucket, key).await
    }

    async fn abort_multipart_upload(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<()> {
        self.acting(by)?;
        self.s3
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|e| aws_error("s3:AbortMultipartUpload", e))?;
        Ok(())
    }
}
