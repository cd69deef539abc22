//! S3 on the local lake: buckets, their policies and default encryption, and the rules a put or
//! a get must pass (names, the encryption header, bucket policy, key policy). Object bodies are
//! sealed files named by a random id, so nothing of an object's name or content is on disk in the
//! clear; objects.rs writes, commits and reads them.

use std::fs;
use std::path::PathBuf;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::authorizer::{Allowed, Call, ResourcePolicyRef};
use super::pipe;
use super::{Caller, Lake, blocking, now, parse_ts, ts};
use crate::service::policy::PolicyDocument;
use crate::service::storage::{
    Body, Bucket, BucketEncryption, BucketOverview, CreateBucket, Listing, ObjectInfo, PutOptions,
    Sink, Sse, Storage,
};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

const MANAGED_KEY: &str = "alias/aws/s3";

pub(super) struct BucketRow {
    name: String,
    created: String,
    policy: Option<String>,
    sse_algorithm: Option<String>,
    kms_key_id: Option<String>,
}

pub(super) struct ObjectRow {
    pub(super) key: String,
    pub(super) blob: String,
    pub(super) size: u64,
    pub(super) etag: String,
    last_modified: String,
    sse: String,
    kms_key_id: String,
    /// A completed multipart upload's ETag; other objects show `etag`.
    s3_etag: Option<String>,
}

const OBJECT_COLUMNS: &str = "key, blob, size, etag, last_modified, sse, kms_key_id, s3_etag";

fn read_object(r: &rusqlite::Row) -> rusqlite::Result<ObjectRow> {
    Ok(ObjectRow {
        key: r.get(0)?,
        blob: r.get(1)?,
        size: r.get(2)?,
        etag: r.get(3)?,
        last_modified: r.get(4)?,
        sse: r.get(5)?,
        kms_key_id: r.get(6)?,
        s3_etag: r.get(7)?,
    })
}

/// S3's bucket naming rules.
/// A call on a bucket itself: its ARN, and its bucket policy takes part.
fn bucket_call(operation: &'static str, action: &str, bucket: &str) -> Call {
    Call::new("s3", operation, bucket)
        .action(action)
        .on(format!("arn:aws:s3:::{bucket}"))
        .bucket(bucket)
}

fn check_bucket_name(name: &str) -> Result<()> {
    let bytes = name.as_bytes();
    let valid = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
        && !name.starts_with("xn--")
        && name.parse::<std::net::Ipv4Addr>().is_err();
    if valid {
        Ok(())
    } else {
        Err(ServiceError::new(
            Code::InvalidBucketName,
            format!(
                "the bucket name {name:?} is not valid: use 3 to 63 lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit"
            ),
        ))
    }
}

pub(super) fn check_object_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 1024 || key.contains('\0') {
        return Err(ServiceError::new(
            Code::InvalidArgument,
            format!("the object key {key:?} is not valid (1 to 1024 bytes, no NUL)"),
        ));
    }
    Ok(())
}

pub(super) fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

/// The encryption context a body's data key is bound to, as S3 binds SSE-KMS data keys.
pub(super) fn encryption_context(bucket: &str, key: &str) -> String {
    format!("aws:s3:arn={}", object_arn(bucket, key))
}

impl Lake {
    pub(super) fn bucket_row(&self, tx: &Transaction, name: &str) -> Result<BucketRow> {
        tx.query_row(
            "SELECT name, created, policy, sse_algorithm, kms_key_id FROM buckets WHERE name = ?1",
            params![name],
            |r| {
                Ok(BucketRow {
                    name: r.get(0)?,
                    created: r.get(1)?,
                    policy: r.get(2)?,
                    sse_algorithm: r.get(3)?,
                    kms_key_id: r.get(4)?,
                })
            },
        )
        .optional()?
        .ok_or_else(|| {
            ServiceError::new(
                Code::NoSuchBucket,
                format!("The specified bucket does not exist: {name}"),
            )
        })
    }

    pub(super) fn object_row(
        &self,
        tx: &Transaction,
        bucket: &str,
        key: &str,
    ) -> Result<ObjectRow> {
        tx.query_row(
            &format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?1 AND key = ?2"),
            params![bucket, key],
            read_object,
        )
        .optional()?
        .ok_or_else(|| {
            ServiceError::new(
                Code::NoSuchKey,
                format!("The specified key does not exist: s3://{bucket}/{key}"),
            )
        })
    }

    /// The bucket policy and the caller's identity policies decide, by AWS's logic (see
    /// `authorizer`): an explicit Deny wins, then an Allow in either.
    pub(super) fn authorize_s3(
        &self,
        caller: &Caller,
        bucket: &BucketRow,
        action: &str,
        resource: &str,
        context: &[(&str, String)],
    ) -> Result<Allowed> {
        let policy = bucket
            .policy
            .as_deref()
            .map(PolicyDocument::parse)
            .transpose()?;
        self.decide(
            caller,
            action,
            resource,
            context,
            policy.as_ref().map(|document| ResourcePolicyRef {
                kind: "bucket policy",
                document,
                delegation_required: false,
            }),
        )
    }

    pub(super) fn blob_path(&self, blob: &str) -> PathBuf {
        self.dir.objects().join(&blob[..2]).join(blob)
    }

    pub(super) fn object_info(&self, row: &ObjectRow) -> ObjectInfo {
        let sse = Sse::parse(&row.sse).unwrap_or(Sse::Aes256);
        ObjectInfo {
            key: row.key.clone(),
            size: row.size,
            last_modified: parse_ts(&row.last_modified),
            etag: format!("\"{}\"", row.s3_etag.as_deref().unwrap_or(&row.etag)),
            server_side_encryption: sse,
            sse_kms_key_id: (sse == Sse::Kms).then(|| self.key_arn(&row.kms_key_id)),
        }
    }

    /// Which key a put encrypts under, and the header it claims: S3's rules for the request's
    /// header, its key id and the bucket's default encryption.
    pub(super) fn put_encryption(
        &self,
        bucket: &BucketRow,
        opts: &PutOptions,
    ) -> Result<(Sse, String)> {
        match (opts.sse, &opts.sse_kms_key_id) {
            (Some(Sse::Kms), Some(k)) => Ok((Sse::Kms, k.clone())),
            (Some(Sse::Kms), None) => Ok((
                Sse::Kms,
                match bucket.sse_algorithm.as_deref() {
                    Some("aws:kms") => bucket
                        .kms_key_id
                        .clone()
                        .unwrap_or_else(|| MANAGED_KEY.into()),
                    _ => MANAGED_KEY.into(),
                },
            )),
            (_, Some(_)) => Err(ServiceError::new(
                Code::InvalidArgument,
                "a KMS key id needs server-side encryption aws:kms (add --sse aws:kms)",
            )),
            (Some(Sse::Aes256), None) => Ok((Sse::Aes256, MANAGED_KEY.into())),
            (None, None) => match (bucket.sse_algorithm.as_deref(), &bucket.kms_key_id) {
                (Some("aws:kms"), Some(k)) => Ok((Sse::Kms, k.clone())),
                (Some("aws:kms"), None) => Ok((Sse::Kms, MANAGED_KEY.into())),
                _ => Ok((Sse::Aes256, MANAGED_KEY.into())),
            },
        }
    }

    pub(super) fn put_context(opts: &PutOptions) -> Vec<(&'static str, String)> {
        let mut ctx = Vec::new();
        if let Some(sse) = opts.sse {
            ctx.push(("s3:x-amz-server-side-encryption", sse.header().to_string()));
        }
        if let Some(k) = &opts.sse_kms_key_id {
            ctx.push(("s3:x-amz-server-side-encryption-aws-kms-key-id", k.clone()));
        }
        ctx
    }
}

#[async_trait]
impl Storage for Lake {
    async fn create_bucket(
        &self,
        by: &Principal,
        name: &str,
        opts: CreateBucket,
    ) -> Result<Bucket> {
        self.audited(
            by,
            Call::new("s3", "CreateBucket", name).on(format!("arn:aws:s3:::{name}")),
            |tx, caller| {
                check_bucket_name(name)?;
                let kms_key = match &opts.sse_kms_key_id {
                    Some(k) => Some(self.resolve_key(tx, k)?.id),
                    None => None,
                };
                let policy = opts
                    .require_sse_kms
                    .then(|| PolicyDocument::require_sse_kms(name).to_json());
                let created = ts(now());
                let n = tx.execute(
                    "INSERT INTO buckets(name, owner, created, policy, sse_algorithm, kms_key_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                    params![
                        name,
                        caller.name,
                        created,
                        policy,
                        kms_key.as_ref().map(|_| "aws:kms"),
                        kms_key
                    ],
                )?;
                if n == 0 {
                    return Err(ServiceError::new(
                        Code::BucketAlreadyExists,
                        format!("the bucket {name} already exists"),
                    ));
                }
                let detail =
                    json!({"DefaultKmsKey": kms_key, "RequireSseKms": opts.require_sse_kms});
                Ok((
                    Bucket {
                        name: name.into(),
                        creation_date: parse_ts(&created),
                    },
                    detail,
                ))
            },
        )
    }

    async fn delete_bucket(&self, by: &Principal, name: &str) -> Result<()> {
        self.audited(by, bucket_call("DeleteBucket", "s3:DeleteBucket", name), |tx, _| {
            self.bucket_row(tx, name)?;
            let objects: i64 = tx.query_row("SELECT (SELECT count(*) FROM objects WHERE bucket = ?1) + (SELECT count(*) FROM multipart_uploads WHERE bucket = ?1)", params![name], |r| r.get(0))?;
            if objects > 0 {
                return Err(ServiceError::new(
                    Code::BucketNotEmpty,
                    format!("the bucket {name} holds {objects} objects and uploads in progress; remove them first (lakectl s3 rm s3://{name}/KEY, lakectl s3api abort-multipart-upload)"),
                ));
            }
            tx.execute("DELETE FROM buckets WHERE name = ?1", params![name])?;
            Ok(((), json!({})))
        })
    }

    async fn list_buckets(&self, by: &Principal) -> Result<Vec<Bucket>> {
        Ok(self
            .bucket_overview(by)
            .await?
            .into_iter()
            .map(|o| o.bucket)
            .collect())
    }

    async fn bucket_overview(&self, by: &Principal) -> Result<Vec<BucketOverview>> {
        // ListBuckets is all or nothing, as in S3: s3:ListAllMyBuckets on `*`.
        let call = Call::new("s3", "ListBuckets", "*").action("s3:ListAllMyBuckets");
        self.reading(by, call, |tx, caller| {
            let names: Vec<String> = tx
                .prepare("SELECT name FROM buckets ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::new();
            for name in names {
                let b = self.bucket_row(tx, &name)?;
                let arn = format!("arn:aws:s3:::{name}");
                // The policy is shown only to those who may read it.
                let policy = match &b.policy {
                    Some(text)
                        if self
                            .authorize_s3(caller, &b, "s3:GetBucketPolicy", &arn, &[])
                            .is_ok() =>
                    {
                        Some(PolicyDocument::parse(text)?)
                    }
                    _ => None,
                };
                out.push(BucketOverview {
                    encryption: Some(bucket_encryption(self, &b)),
                    policy,
                    bucket: Bucket {
                        name: b.name.clone(),
                        creation_date: parse_ts(&b.created),
                    },
                });
            }
            Ok(out)
        })
    }

    async fn list_objects(
        &self,
        by: &Principal,
        bucket: &str,
        prefix: &str,
        delimiter: Option<char>,
    ) -> Result<Listing> {
        let call = bucket_call("ListObjects", "s3:ListBucket", bucket)
            .context(vec![("s3:prefix", prefix.to_string())]);
        self.reading(by, call, |tx, _| {
            self.bucket_row(tx, bucket)?;
            let mut stmt = tx.prepare(&format!(
                "SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?1 AND key >= ?2 ORDER BY key"
            ))?;
            let mut rows = stmt.query(params![bucket, prefix])?;
            let mut listing = Listing::default();
            while let Some(r) = rows.next()? {
                let row = read_object(r)?;
                if !row.key.starts_with(prefix) {
                    break;
                }
                let rest = &row.key[prefix.len()..];
                match delimiter.and_then(|d| rest.find(d).map(|i| i + d.len_utf8())) {
                    Some(end) => {
                        let common = format!("{prefix}{}", &rest[..end]);
                        if listing.common_prefixes.last() != Some(&common) {
                            listing.common_prefixes.push(common);
                        }
                    }
                    None => listing.objects.push(self.object_info(&row)),
                }
            }
            Ok(listing)
        })
    }

    async fn head_object(&self, by: &Principal, bucket: &str, key: &str) -> Result<ObjectInfo> {
        let arn = object_arn(bucket, key);
        let call = Call::new("s3", "HeadObject", &arn)
            .action("s3:GetObject")
            .on(&arn)
            .bucket(bucket);
        self.reading(by, call, |tx, _| {
            self.bucket_row(tx, bucket)?;
            Ok(self.object_info(&self.object_row(tx, bucket, key)?))
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
        // 1. Check everything and take a data key; nothing changes yet.
        let arn = object_arn(bucket, key);
        let call = Call::new("s3", "PutObject", &arn)
            .on(&arn)
            .bucket(bucket)
            .context(Self::put_context(&opts));
        let plan = self.reading(by, call, |tx, caller| {
            self.plan_put(tx, caller, bucket, key, &opts)
        })?;
        // 2. Stream the body into a locked temporary file, off the async runtime.
        let body = self.seal_upload(plan, body, progress).await?;
        // 3. Commit: check again (the policy or key may have changed meanwhile), move, record.
        self.commit_bodies(by, vec![body], None)?;
        self.head_object(by, bucket, key).await
    }

    async fn get_object(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        range: Option<(u64, u64)>,
        sink: Sink,
        progress: Progress,
    ) -> Result<ObjectInfo> {
        let (info, file, data_key) = self.authorize_read(by, bucket, key, range)?;
        let (start, end) = range.unwrap_or((0, info.size));
        progress.set_total(end.min(info.size).saturating_sub(start));
        let mut sink = sink;
        blocking(move || {
            let io_error =
                |e: std::io::Error| ServiceError::local_io("cannot write the download", &e);
            pipe::write_behind(&mut sink, io_error, |out| {
                file.copy_range(&data_key, start, end, out, &progress)
            })
        })
        .await?;
        Ok(info)
    }

    async fn delete_object(&self, by: &Principal, bucket: &str, key: &str) -> Result<()> {
        let arn = object_arn(bucket, key);
        let call = Call::new("s3", "DeleteObject", &arn)
            .on(&arn)
            .bucket(bucket);
        let blob = self.audited(by, call, |tx, _| {
            self.bucket_row(tx, bucket)?;
            let blob: Option<String> = tx
                .query_row(
                    "DELETE FROM objects WHERE bucket = ?1 AND key = ?2 RETURNING blob",
                    params![bucket, key],
                    |r| r.get(0),
                )
                .optional()?;
            if blob.is_some() {
                self.emit_object_deleted(tx, by.name(), bucket, key)?;
            }
            Ok((blob, json!({})))
        })?;
        if let Some(blob) = blob {
            let _ = fs::remove_file(self.blob_path(&blob));
        }
        Ok(())
    }

    async fn put_bucket_policy(
        &self,
        by: &Principal,
        bucket: &str,
        policy: PolicyDocument,
    ) -> Result<()> {
        self.audited(by, bucket_call("PutBucketPolicy", "s3:PutBucketPolicy", bucket), |tx, _| {
            self.bucket_row(tx, bucket)?;
            self.check_policy(tx, &policy)?;
            let this = format!("arn:aws:s3:::{bucket}");
            for r in policy.statement.iter().flat_map(|s| &s.resource) {
                if r != &this && !r.starts_with(&format!("{this}/")) {
                    return Err(ServiceError::new(
                        Code::MalformedPolicyDocumentException,
                        format!("Policy has invalid resource {r:?}: a bucket policy names {this} or {this}/..."),
                    ));
                }
            }
            tx.execute("UPDATE buckets SET policy = ?2 WHERE name = ?1", params![bucket, policy.to_json()])?;
            Ok(((), json!({"Statements": policy.statement.len()})))
        })
    }

    async fn get_bucket_policy(&self, by: &Principal, bucket: &str) -> Result<PolicyDocument> {
        self.reading(
            by,
            bucket_call("GetBucketPolicy", "s3:GetBucketPolicy", bucket),
            |tx, _| {
                let b = self.bucket_row(tx, bucket)?;
                match &b.policy {
                    Some(text) => PolicyDocument::parse(text),
                    None => Err(ServiceError::new(
                        Code::NoSuchBucketPolicy,
                        format!("The bucket policy does not exist: {bucket}"),
                    )),
                }
            },
        )
    }

    async fn delete_bucket_policy(&self, by: &Principal, bucket: &str) -> Result<()> {
        self.audited(
            by,
            bucket_call("DeleteBucketPolicy", "s3:DeleteBucketPolicy", bucket),
            |tx, _| {
                let _ = self.bucket_row(tx, bucket)?;
                tx.execute(
                    "UPDATE buckets SET policy = NULL WHERE name = ?1",
                    params![bucket],
                )?;
                Ok(((), json!({})))
            },
        )
    }

    async fn put_bucket_encryption(
        &self,
        by: &Principal,
        bucket: &str,
        enc: BucketEncryption,
    ) -> Result<()> {
        self.audited(
            by,
            bucket_call(
                "PutBucketEncryption",
                "s3:PutEncryptionConfiguration",
                bucket,
            ),
            |tx, _| {
                let _ = self.bucket_row(tx, bucket)?;
                let key = match (enc.sse_algorithm, &enc.kms_master_key_id) {
                    (Sse::Kms, Some(k)) => Some(self.resolve_key(tx, k)?.id),
                    (Sse::Kms, None) => None,
                    (Sse::Aes256, Some(_)) => {
                        return Err(ServiceError::new(
                            Code::InvalidArgument,
                            "a KMS key id needs SSEAlgorithm aws:kms",
                        ));
                    }
                    (Sse::Aes256, None) => None,
                };
                tx.execute(
                    "UPDATE buckets SET sse_algorithm = ?2, kms_key_id = ?3 WHERE name = ?1",
                    params![bucket, enc.sse_algorithm.header(), key],
                )?;
                Ok((
                    (),
                    json!({"SSEAlgorithm": enc.sse_algorithm.header(), "KeyId": key}),
                ))
            },
        )
    }

    async fn get_bucket_encryption(
        &self,
        by: &Principal,
        bucket: &str,
    ) -> Result<BucketEncryption> {
        self.reading(
            by,
            bucket_call(
                "GetBucketEncryption",
                "s3:GetEncryptionConfiguration",
                bucket,
            ),
            |tx, _| {
                let b = self.bucket_row(tx, bucket)?;
                Ok(bucket_encryption(self, &b))
            },
        )
    }
}

/// A bucket with no configuration still encrypts (SSE-S3), as S3 has since 2023.
fn bucket_encryption(lake: &Lake, b: &BucketRow) -> BucketEncryption {
    match b.sse_algorithm.as_deref() {
        Some("aws:kms") => BucketEncryption {
            sse_algorithm: Sse::Kms,
            kms_master_key_id: b.kms_key_id.as_deref().map(|k| lake.key_arn(k)),
        },
        _ => BucketEncryption {
            sse_algorithm: Sse::Aes256,
            kms_master_key_id: None,
        },
    }
}
