//! S3 multipart uploads: real clients (`aws s3 cp` past 8 MiB, boto3's upload_file, pyarrow)
//! send big objects in parts, so the service layer speaks S3's multipart API. An upload is
//! invisible until it completes; then the object appears whole, under the encryption asked for
//! when the upload was created. `Storage` requires this trait, so every storage backend has it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::storage::{Body, ObjectInfo, PutOptions};
use super::{Code, Principal, Result, ServiceError};

/// The fewest and most parts an upload may have, and the smallest part but the last (S3's).
pub const MAX_PARTS: i32 = 10_000;
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// An upload in progress, as ListMultipartUploads shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultipartUpload {
    pub key: String,
    pub upload_id: String,
    pub initiated: DateTime<Utc>,
    /// Who created it (an IAM ARN); the owner is the same principal.
    pub initiator: String,
}

/// A part uploaded, as ListParts shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Part {
    pub part_number: i32,
    /// The MD5 of the part's bytes, quoted, as S3 gives it.
    #[serde(rename = "ETag")]
    pub etag: String,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

/// One entry of CompleteMultipartUpload's part list, as the client sends it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CompletedPart {
    pub part_number: i32,
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// `PartNumber` must be 1..=10000, as in S3.
pub fn check_part_number(part_number: i32) -> Result<()> {
    if (1..=MAX_PARTS).contains(&part_number) {
        Ok(())
    } else {
        Err(ServiceError::new(
            Code::InvalidArgument,
            format!(
                "Part number must be an integer between 1 and {MAX_PARTS}, inclusive (got {part_number})"
            ),
        ))
    }
}

/// An ETag as clients send it back (quoted or not) compared as S3 does: without the quotes.
pub fn bare_etag(etag: &str) -> &str {
    etag.trim().trim_matches('"')
}

#[async_trait]
pub trait Multipart: Send + Sync {
    /// Starts an upload; the encryption (and the bucket policy's conditions on it) is decided
    /// here, where the request carries the encryption headers, as on S3.
    async fn create_multipart_upload(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        opts: PutOptions,
    ) -> Result<String>;
    /// Streams one part in; a part with the same number replaces the earlier one. Answers the
    /// part's ETag (quoted MD5).
    async fn upload_part(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: Body,
    ) -> Result<String>;
    async fn list_parts(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<Part>>;
    async fn list_multipart_uploads(
        &self,
        by: &Principal,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<MultipartUpload>>;
    /// Makes the object out of the parts named, at once; the upload and its parts are gone after.
    async fn complete_multipart_upload(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<ObjectInfo>;
    async fn abort_multipart_upload(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<()>;
}
