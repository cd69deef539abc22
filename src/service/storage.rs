//! Buckets and objects with S3 semantics. Every object is encrypted at rest under a KMS key;
//! bodies stream through (`Body` in, `Sink` out) so size never turns into memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::multipart::Multipart;
use super::policy::PolicyDocument;
use super::{Code, Principal, Progress, Result, ServiceError};

pub type Body = Box<dyn std::io::Read + Send>;
pub type Sink = Box<dyn std::io::Write + Send>;

/// The `x-amz-server-side-encryption` header of a put, as sent (bucket policies test it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Sse {
    #[serde(rename = "AES256")]
    Aes256,
    #[serde(rename = "aws:kms")]
    Kms,
}

impl Sse {
    pub fn header(self) -> &'static str {
        match self {
            Sse::Aes256 => "AES256",
            Sse::Kms => "aws:kms",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "AES256" => Some(Sse::Aes256),
            "aws:kms" => Some(Sse::Kms),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    pub name: String,
    pub creation_date: DateTime<Utc>,
}

/// A bucket as the Buckets pane shows it: its default encryption and what its policy does.
#[derive(Debug, Clone)]
pub struct BucketOverview {
    pub bucket: Bucket,
    pub encryption: Option<BucketEncryption>,
    pub policy: Option<PolicyDocument>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketEncryption {
    #[serde(rename = "SSEAlgorithm")]
    pub sse_algorithm: Sse,
    #[serde(rename = "KMSMasterKeyID", skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectInfo {
    pub key: String,
    #[serde(rename = "ContentLength")]
    pub size: u64,
    pub last_modified: DateTime<Utc>,
    #[serde(rename = "ETag")]
    pub etag: String,
    pub server_side_encryption: Sse,
    #[serde(rename = "SSEKMSKeyId", skip_serializing_if = "Option::is_none")]
    pub sse_kms_key_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub objects: Vec<ObjectInfo>,
    /// With a delimiter: the "folders" one level down (`raw/`, `processed/`).
    pub common_prefixes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// The encryption header sent with the put; `None` lets the bucket's default apply.
    pub sse: Option<Sse>,
    pub sse_kms_key_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CreateBucket {
    /// Default encryption (SSE-KMS under this key) for puts that name none.
    pub sse_kms_key_id: Option<String>,
    /// Install the seed's bucket policy: puts not encrypted with KMS are refused.
    pub require_sse_kms: bool,
}

/// `s3://bucket/prefix/` → (bucket, prefix ending in `/` or empty).
pub fn s3_location(uri: &str) -> Result<(String, String)> {
    let rest = uri.strip_prefix("s3://").ok_or_else(|| {
        ServiceError::new(
            Code::InvalidArgument,
            format!("{uri:?} is not an S3 location (s3://BUCKET/PREFIX/)"),
        )
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    };
    Ok((bucket.to_string(), prefix))
}

/// Multipart uploads are in `super::multipart` (`Multipart`), which every `Storage` has.
#[async_trait]
pub trait Storage: Multipart {
    async fn create_bucket(&self, by: &Principal, name: &str, opts: CreateBucket)
    -> Result<Bucket>;
    async fn delete_bucket(&self, by: &Principal, name: &str) -> Result<()>;
    async fn list_buckets(&self, by: &Principal) -> Result<Vec<Bucket>>;
    async fn bucket_overview(&self, by: &Principal) -> Result<Vec<BucketOverview>>;
    async fn list_objects(
        &self,
        by: &Principal,
        bucket: &str,
        prefix: &str,
        delimiter: Option<char>,
    ) -> Result<Listing>;
    async fn head_object(&self, by: &Principal, bucket: &str, key: &str) -> Result<ObjectInfo>;
    /// Streams `body` in; the object appears whole when this returns Ok, and not at all otherwise.
    async fn put_object(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        body: Body,
        opts: PutOptions,
        progress: Progress,
    ) -> Result<ObjectInfo>;
    /// Streams the object (or the byte range `[start, end)`) out into `sink`.
    async fn get_object(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        range: Option<(u64, u64)>,
        sink: Sink,
        progress: Progress,
    ) -> Result<ObjectInfo>;
    async fn delete_object(&self, by: &Principal, bucket: &str, key: &str) -> Result<()>;
    async fn put_bucket_policy(
        &self,
        by: &Principal,
        bucket: &str,
        policy: PolicyDocument,
    ) -> Result<()>;
    async fn get_bucket_policy(&self, by: &Principal, bucket: &str) -> Result<PolicyDocument>;
    async fn delete_bucket_policy(&self, by: &Principal, bucket: &str) -> Result<()>;
    async fn put_bucket_encryption(
        &self,
        by: &Principal,
        bucket: &str,
        enc: BucketEncryption,
    ) -> Result<()>;
    async fn get_bucket_encryption(&self, by: &Principal, bucket: &str)
    -> Result<BucketEncryption>;
}
