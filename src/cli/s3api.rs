//! `s3api`: the API-level commands, one S3 operation each, answered in the AWS CLI's shapes.

use std::fs::File;

use serde_json::{Value, json};

use super::Context;
use super::commands::{S3apiCommand, SseArgs};
use super::local_files::PartialDownload;
use super::s3::{put_options, read_document};
use crate::service::storage::{BucketEncryption, Sse};
use crate::service::{Code, Progress, Result, ServiceError};

impl Context<'_> {
    pub(super) async fn s3api(&self, cmd: S3apiCommand) -> Result<Value> {
        let storage = &self.services.storage;
        let by = self.principal;
        match cmd {
            S3apiCommand::ListBuckets => {
                let buckets: Vec<Value> = storage
                    .list_buckets(by)
                    .await?
                    .into_iter()
                    .map(|b| json!({"Name": b.name, "CreationDate": b.creation_date}))
                    .collect();
                Ok(json!({"Buckets": buckets}))
            }
            S3apiCommand::HeadObject { bucket, key } => {
                let info = storage.head_object(by, &bucket, &key).await?;
                let mut v = serde_json::to_value(&info).expect("ObjectInfo serializes");
                v.as_object_mut().expect("an object").remove("Key");
                Ok(v)
            }
            S3apiCommand::ListObjectsV2 {
                bucket,
                prefix,
                delimiter,
            } => {
                let listing = storage
                    .list_objects(by, &bucket, &prefix, delimiter)
                    .await?;
                let contents: Vec<Value> = listing
                    .objects
                    .iter()
                    .map(|o| json!({"Key": o.key, "LastModified": o.last_modified, "ETag": o.etag, "Size": o.size, "StorageClass": "STANDARD"}))
                    .collect();
                let mut out = json!({"Name": bucket, "Prefix": prefix, "KeyCount": contents.len(), "Contents": contents});
                if !listing.common_prefixes.is_empty() {
                    out["CommonPrefixes"] = listing
                        .common_prefixes
                        .iter()
                        .map(|p| json!({"Prefix": p}))
                        .collect();
                }
                Ok(out)
            }
            S3apiCommand::GetObject {
                bucket,
                key,
                range,
                outfile,
            } => {
                let range = range.as_deref().map(parse_range).transpose()?;
                let partial = PartialDownload::begin(&outfile)?;
                let info = storage
                    .get_object(
                        by,
                        &bucket,
                        &key,
                        range,
                        partial.writer()?,
                        Progress::default(),
                    )
                    .await?;
                partial.finish()?;
                let mut v = serde_json::to_value(&info).expect("ObjectInfo serializes");
                if let Some((s, e)) = range {
                    let end = e.min(info.size);
                    v["ContentLength"] = json!(end.saturating_sub(s));
                    v["ContentRange"] =
                        json!(format!("bytes {s}-{}/{}", end.saturating_sub(1), info.size));
                }
                v.as_object_mut().expect("an object").remove("Key");
                Ok(v)
            }
            S3apiCommand::PutObject {
                bucket,
                key,
                body,
                server_side_encryption,
                ssekms_key_id,
            } => {
                let opts = put_options(&SseArgs {
                    sse: server_side_encryption,
                    sse_kms_key_id: ssekms_key_id,
                })?;
                let file = File::open(&body).map_err(|e| {
                    ServiceError::local_io(&format!("cannot read {}", body.display()), &e)
                })?;
                let info = storage
                    .put_object(by, &bucket, &key, Box::new(file), opts, Progress::default())
                    .await?;
                Ok(
                    json!({"ETag": info.etag, "ServerSideEncryption": info.server_side_encryption, "SSEKMSKeyId": info.sse_kms_key_id}),
                )
            }
            S3apiCommand::PutBucketPolicy { bucket, policy } => {
                let doc = crate::service::policy::PolicyDocument::parse(&read_document(&policy)?)?;
                storage.put_bucket_policy(by, &bucket, doc).await?;
                Ok(json!({}))
            }
            S3apiCommand::GetBucketPolicy { bucket } => {
                Ok(json!({"Policy": storage.get_bucket_policy(by, &bucket).await?.to_json()}))
            }
            S3apiCommand::DeleteBucketPolicy { bucket } => {
                storage.delete_bucket_policy(by, &bucket).await?;
                Ok(json!({}))
            }
            S3apiCommand::PutBucketEncryption {
                bucket,
                sse_kms_key_id,
                sse,
            } => {
                let enc = match (sse_kms_key_id, sse.as_deref()) {
                    (Some(k), _) => BucketEncryption {
                        sse_algorithm: Sse::Kms,
                        kms_master_key_id: Some(k),
                    },
                    (None, Some("aws:kms")) => BucketEncryption {
                        sse_algorithm: Sse::Kms,
                        kms_master_key_id: None,
                    },
                    (None, Some("AES256")) => BucketEncryption {
                        sse_algorithm: Sse::Aes256,
                        kms_master_key_id: None,
                    },
                    _ => {
                        return Err(ServiceError::new(
                            Code::InvalidArgument,
                            "give --sse-kms-key-id KEY (SSE-KMS) or --sse AES256 (SSE-S3)",
                        ));
                    }
                };
                storage.put_bucket_encryption(by, &bucket, enc).await?;
                Ok(json!({}))
            }
            S3apiCommand::CreateMultipartUpload { .. }
            | S3apiCommand::UploadPart { .. }
            | S3apiCommand::ListParts { .. }
            | S3apiCommand::ListMultipartUploads { .. }
            | S3apiCommand::CompleteMultipartUpload { .. }
            | S3apiCommand::AbortMultipartUpload { .. } => self.multipart(cmd).await,
            S3apiCommand::GetBucketEncryption { bucket } => {
                let enc = storage.get_bucket_encryption(by, &bucket).await?;
                Ok(
                    json!({"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": enc, "BucketKeyEnabled": false}]}}),
                )
            }
        }
    }
}

/// `bytes=A-B` (inclusive, as HTTP) → `[A, B+1)`; `bytes=A-` → to the end.
fn parse_range(text: &str) -> Result<(u64, u64)> {
    let bad = || {
        ServiceError::new(
            Code::InvalidArgument,
            format!("--range {text:?}: use bytes=START-END"),
        )
    };
    let spec = text.strip_prefix("bytes=").ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let start: u64 = a.parse().map_err(|_| bad())?;
    let end = if b.is_empty() {
        u64::MAX
    } else {
        b.parse::<u64>().map_err(|_| bad())?.saturating_add(1)
    };
    if end <= start {
        return Err(bad());
    }
    Ok((start, end))
}
