//! Storage on S3. Bodies stream: puts go up in 8 MiB parts (multipart past the first part), gets
//! come down chunk by chunk, so memory stays at a part whatever the size. The blocking `Read` and
//! `Write` ends of the service layer run on the blocking pool, never on the async workers.

use std::io::{Read, Write};

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use chrono::Utc;
use futures::StreamExt;

use super::{Aws, aws_error, build_error, opt_time, time};
use crate::service::keys::Keys;
use crate::service::policy::PolicyDocument;
use crate::service::storage::{
    Body, Bucket, BucketEncryption, BucketOverview, CreateBucket, Listing, ObjectInfo, PutOptions,
    Sink, Sse, Storage,
};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// The part size of multipart uploads, and the most a put holds in memory.
const PART: usize = 8 * 1024 * 1024;
/// Downloads are written out in batches of about this much.
const WRITE_BATCH: usize = 1024 * 1024;
/// Object heads in flight at once when a listing asks each object's encryption.
const HEADS_IN_FLIGHT: usize = 16;

fn sse_of(header: Option<&ServerSideEncryption>) -> Sse {
    header
        .and_then(|h| Sse::parse(h.as_str()))
        .unwrap_or(Sse::Aes256)
}

pub(super) fn header_of(sse: Sse) -> ServerSideEncryption {
    ServerSideEncryption::from(sse.header())
}

/// Reads up to one part from the body on the blocking pool; hands the body back for the next.
pub(super) async fn read_part(mut body: Body) -> Result<(Body, Vec<u8>)> {
    tokio::task::spawn_blocking(move || {
        let mut part = Vec::with_capacity(PART);
        (&mut body)
            .take(PART as u64)
            .read_to_end(&mut part)
            .map_err(|e| ServiceError::local_io("cannot read the upload", &e))?;
        Ok((body, part))
    })
    .await
    .map_err(|e| ServiceError::internal(format!("the upload reader stopped: {e}")))?
}

async fn write_out(mut sink: Sink, data: Vec<u8>) -> Result<Sink> {
    tokio::task::spawn_blocking(move || {
        sink.write_all(&data)
            .and_then(|_| sink.flush())
            .map_err(|e| ServiceError::local_io("cannot write the download", &e))?;
        Ok(sink)
    })
    .await
    .map_err(|e| ServiceError::internal(format!("the download writer stopped: {e}")))?
}

pub(super) fn cancelled() -> ServiceError {
    ServiceError::new(
        Code::Cancelled,
        "the transfer was cancelled; nothing was written",
    )
}

impl Aws {
    /// Every key under a prefix, page by page, and with a delimiter the "folders" one level down.
    pub(super) async fn object_keys(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<char>,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let mut keys = Vec::new();
        let mut common_prefixes = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_delimiter(delimiter.map(String::from))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("s3:ListObjectsV2", e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            common_prefixes.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
        }
        Ok((keys, common_prefixes))
    }

    /// A small object whole (records and metrics lakectl keeps beside a job's output).
    pub(super) async fn read_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>> {
        let got = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| aws_error("s3:GetObject", e))?;
        let bytes = got.body.collect().await.map_err(|e| {
            ServiceError::new(
                Code::EndpointConnection,
                format!("s3://{bucket}/{key}: {e}"),
            )
        })?;
        Ok(bytes.into_bytes().to_vec())
    }

    /// The key's ARN, so bucket defaults and listings name keys one way whatever was typed.
    pub(super) async fn key_arn(&self, by: &Principal, key: &str) -> Result<String> {
        Ok(self.describe_key(by, key).await?.arn)
    }
}

#[async_trait]
impl Storage for Aws {
    async fn create_bucket(
        &self,
        by: &Principal,
        name: &str,
        opts: CreateBucket,
    ) -> Result<Bucket> {
        self.acting(by)?;
        // The key is checked before the bucket exists, so a wrong key leaves nothing behind.
        let key_arn = match &opts.sse_kms_key_id {
            Some(key) => Some(self.key_arn(by, key).await?),
            None => None,
        };
        let mut req = self.s3.create_bucket().bucket(name);
        if self.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        req.send()
            .await
            .map_err(|e| aws_error("s3:CreateBucket", e))?;
        let configured: Result<()> = async {
            if let Some(arn) = key_arn {
                let enc = BucketEncryption {
                    sse_algorithm: Sse::Kms,
                    kms_master_key_id: Some(arn),
                };
                self.put_bucket_encryption(by, name, enc).await?;
            }
            if opts.require_sse_kms {
                self.put_bucket_policy(by, name, PolicyDocument::require_sse_kms(name))
                    .await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = configured {
            // A bucket without the encryption it was asked for must not stay.
            let _ = self.s3.delete_bucket().bucket(name).send().await;
            return Err(e);
        }
        Ok(Bucket {
            name: name.to_string(),
            creation_date: Utc::now(),
        })
    }

    async fn delete_bucket(&self, by: &Principal, name: &str) -> Result<()> {
        self.acting(by)?;
        self.s3
            .delete_bucket()
            .bucket(name)
            .send()
            .await
            .map_err(|e| aws_error("s3:DeleteBucket", e))?;
        Ok(())
    }

    async fn list_buckets(&self, by: &Principal) -> Result<Vec<Bucket>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self.s3.list_buckets().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("s3:ListBuckets", e))?;
            out.extend(page.buckets().iter().map(|b| Bucket {
                name: b.name().unwrap_or_default().to_string(),
                creation_date: time(b.creation_date()),
            }));
        }
        Ok(out)
    }

    async fn bucket_overview(&self, by: &Principal) -> Result<Vec<BucketOverview>> {
        let buckets = self.list_buckets(by).await?;
        let overviews = futures::stream::iter(buckets)
            .map(|bucket| async move {
                let encryption = match self.get_bucket_encryption(by, &bucket.name).await {
                    Ok(e) => Some(e),
                    Err(e) if e.code == Code::ServerSideEncryptionConfigurationNotFoundError => {
                        None
                    }
                    Err(e) => return Err(e),
                };
                let policy = match self.get_bucket_policy(by, &bucket.name).await {
                    Ok(p) => Some(p),
                    Err(e) if e.code == Code::NoSuchBucketPolicy => None,
                    Err(e) => return Err(e),
                };
                Ok(BucketOverview {
                    bucket,
                    encryption,
                    policy,
                })
            })
            .buffered(HEADS_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        overviews.into_iter().collect()
    }

    /// S3 lists objects without their encryption; each is asked (16 at a time), because the
    /// key an object is under is what the Buckets pane is for.
    async fn list_objects(
        &self,
        by: &Principal,
        bucket: &str,
        prefix: &str,
        delimiter: Option<char>,
    ) -> Result<Listing> {
        self.acting(by)?;
        let (keys, common_prefixes) = self.object_keys(bucket, prefix, delimiter).await?;
        let objects = futures::stream::iter(keys)
            .map(|key| async move { self.head_object(by, bucket, &key).await })
            .buffered(HEADS_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        Ok(Listing {
            objects,
            common_prefixes,
        })
    }

    async fn head_object(&self, by: &Principal, bucket: &str, key: &str) -> Result<ObjectInfo> {
        self.acting(by)?;
        let head = self
            .s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                let mut err = aws_error("s3:HeadObject", e);
                if err.aws_code.as_deref() == Some("NotFound") {
                    err.code = Code::NoSuchKey;
                    err.aws_code = None;
                    err.message = format!("s3://{bucket}/{key} does not exist");
                }
                err
            })?;
        Ok(ObjectInfo {
            key: key.to_string(),
            size: head.content_length().unwrap_or(0) as u64,
            last_modified: time(head.last_modified()),
            etag: head.e_tag().unwrap_or_default().to_string(),
            server_side_encryption: sse_of(head.server_side_encryption()),
            sse_kms_key_id: head.ssekms_key_id().map(str::to_string),
        })
    }

    async fn put_object(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        body: Body,
        opts: PutOptions,
        progress: Progress,
    ) -> Result<ObjectInfo> {
        self.acting(by)?;
        // The key's ARN, as S3 reports it back; a wrong key fails before any byte is sent.
        let opts = PutOptions {
            sse_kms_key_id: match &opts.sse_kms_key_id {
                Some(key) => Some(self.key_arn(by, key).await?),
                None => None,
            },
            ..opts
        };
        let (body, first) = read_part(body).await?;
        if first.len() < PART {
            if progress.is_cancelled() {
                return Err(cancelled());
            }
            let len = first.len() as u64;
            self.s3
                .put_object()
                .bucket(bucket)
                .key(key)
                .set_server_side_encryption(opts.sse.map(header_of))
                .set_ssekms_key_id(opts.sse_kms_key_id.clone())
                .body(ByteStream::from(first))
                .send()
                .await
                .map_err(|e| aws_error("s3:PutObject", e))?;
            progress.advance(len);
        } else {
            self.multipart(bucket, key, &opts, body, first, &progress)
                .await?;
        }
        self.head_object(by, bucket, key).await
    }

    async fn get_object(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        range: Option<(u64, u64)>,
        mut sink: Sink,
        progress: Progress,
    ) -> Result<ObjectInfo> {
        self.acting(by)?;
        if let Some((start, end)) = range
            && end <= start
        {
            return Ok(ObjectInfo {
                size: 0,
                ..self.head_object(by, bucket, key).await?
            });
        }
        let got = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_range(range.map(|(start, end)| format!("bytes={start}-{}", end - 1)))
            .send()
            .await
            .map_err(|e| aws_error("s3:GetObject", e))?;
        let size = got
            .content_range()
            .and_then(|r| r.rsplit('/').next())
            .and_then(|total| total.parse().ok())
            .unwrap_or(got.content_length().unwrap_or(0) as u64);
        progress.set_total(got.content_length().unwrap_or(0) as u64);
        let info = ObjectInfo {
            key: key.to_string(),
            size,
            last_modified: opt_time(got.last_modified()).unwrap_or_default(),
            etag: got.e_tag().unwrap_or_default().to_string(),
            server_side_encryption: sse_of(got.server_side_encryption()),
            sse_kms_key_id: got.ssekms_key_id().map(str::to_string),
        };
        let mut stream = got.body;
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        while let Some(chunk) = stream.next().await {
            if progress.is_cancelled() {
                return Err(ServiceError::new(
                    Code::Cancelled,
                    "the download was cancelled",
                ));
            }
            let chunk = chunk.map_err(|e| {
                ServiceError::new(
                    Code::EndpointConnection,
                    format!("s3:GetObject s3://{bucket}/{key} broke off: {e}"),
                )
            })?;
            progress.advance(chunk.len() as u64);
            batch.extend_from_slice(&chunk);
            if batch.len() >= WRITE_BATCH {
                sink = write_out(sink, std::mem::take(&mut batch)).await?;
            }
        }
        write_out(sink, batch).await?;
        Ok(info)
    }

    async fn delete_object(&self, by: &Principal, bucket: &str, key: &str) -> Result<()> {
        self.acting(by)?;
        self.s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| aws_error("s3:DeleteObject", e))?;
        Ok(())
    }

    async fn put_bucket_policy(
        &self,
        by: &Principal,
        bucket: &str,
        policy: PolicyDocument,
    ) -> Result<()> {
        self.acting(by)?;
        self.s3
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy.to_json())
            .send()
            .await
            .map_err(|e| aws_error("s3:PutBucketPolicy", e))?;
        Ok(())
    }

    async fn get_bucket_policy(&self, by: &Principal, bucket: &str) -> Result<PolicyDocument> {
        self.acting(by)?;
        let got = self
            .s3
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| aws_error("s3:GetBucketPolicy", e))?;
        PolicyDocument::parse(got.policy().unwrap_or_default())
    }

    async fn delete_bucket_policy(&self, by: &Principal, bucket: &str) -> Result<()> {
        self.acting(by)?;
        self.s3
            .delete_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| aws_error("s3:DeleteBucketPolicy", e))?;
        Ok(())
    }

    async fn put_bucket_encryption(
        &self,
        by: &Principal,
        bucket: &str,
        enc: BucketEncryption,
    ) -> Result<()> {
        self.acting(by)?;
        let default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(header_of(enc.sse_algorithm))
            .set_kms_master_key_id(enc.kms_master_key_id)
            .build()
            .map_err(|e| build_error("PutBucketEncryption", e))?;
        let config = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(default)
                    .bucket_key_enabled(enc.sse_algorithm == Sse::Kms)
                    .build(),
            )
            .build()
            .map_err(|e| build_error("PutBucketEncryption", e))?;
        self.s3
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(config)
            .send()
            .await
            .map_err(|e| aws_error("s3:PutBucketEncryption", e))?;
        Ok(())
    }

    async fn get_bucket_encryption(
        &self,
        by: &Principal,
        bucket: &str,
    ) -> Result<BucketEncryption> {
        self.acting(by)?;
        let got = self
            .s3
            .get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| aws_error("s3:GetBucketEncryption", e))?;
        let default = got
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default());
        match default {
            Some(d) => Ok(BucketEncryption {
                sse_algorithm: sse_of(Some(d.sse_algorithm())),
                kms_master_key_id: d.kms_master_key_id().map(str::to_string),
            }),
            None => Err(ServiceError::new(
                Code::ServerSideEncryptionConfigurationNotFoundError,
                format!("bucket {bucket} has no default encryption"),
            )),
        }
    }
}
