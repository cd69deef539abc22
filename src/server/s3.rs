//! S3's REST protocol over the storage service, through s3s: s3s parses and renders the wire
//! (paths, XML, headers, SigV4 with presigned URLs and aws-chunked payloads, S3's error shapes);
//! this module turns each operation into the storage service's call as the authenticated
//! principal, so the lake's permission checks, bucket policies and encryption apply unchanged.

use std::sync::Arc;

use s3s::dto::*;
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use super::body::{ChannelSink, StreamReader, channel_sink, put_error};
use super::dispatch::Peer;
use super::identity::{self, S3Keys};
use super::s3_multipart as multipart;
use crate::local::Lake;
use crate::service::policy::PolicyDocument;
use crate::service::storage::{self as st, CreateBucket, PutOptions, Sse};
use crate::service::{Principal, Progress, ServiceError, Services};

/// The s3s service for `lake`, with its access keys as the signature authority.
pub fn service(lake: Arc<Lake>, services: Services) -> s3s::service::S3Service {
    let keys = Arc::new(S3Keys::new(lake.clone()));
    let mut builder = s3s::service::S3ServiceBuilder::new(LakeS3 {
        lake,
        services,
        keys: keys.clone(),
    });
    builder.set_auth(SharedKeys(keys));
    builder.build()
}

pub(super) struct LakeS3 {
    lake: Arc<Lake>,
    pub(super) services: Services,
    keys: Arc<S3Keys>,
}

/// The key store as s3s holds it, shared with the operations that need a key's owner.
struct SharedKeys(Arc<S3Keys>);

#[async_trait::async_trait]
impl s3s::auth::S3Auth for SharedKeys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<s3s::auth::SecretKey> {
        s3s::auth::S3Auth::get_secret_key(self.0.as_ref(), access_key).await
    }
}

/// The page size of ListObjectsV2 when the client names none, and its ceiling, as S3's.
const MAX_KEYS: usize = 1000;

impl LakeS3 {
    /// The principal of a verified request. s3s has checked the signature; an anonymous
    /// request (no credentials) is refused: the lake has no public buckets.
    pub(super) fn principal<T>(&self, req: &S3Request<T>) -> S3Result<Principal> {
        let Some(credentials) = &req.credentials else {
            return Err(s3_error!(
                AccessDenied,
                "Anonymous access is not allowed: sign the request"
            ));
        };
        let user = self
            .keys
            .owner_of(&credentials.access_key)
            .ok_or_else(|| s3_error!(InvalidAccessKeyId))?;
        let peer = req
            .extensions
            .get::<Peer>()
            .map(|p| p.0.ip())
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        Ok(identity::principal(&user, &credentials.access_key, peer))
    }
}

/// A service error as S3 says it: the same code (NoSuchKey, AccessDenied, …) and message; a
/// failure inside the server says only that.
pub(super) fn s3_err(err: ServiceError) -> S3Error {
    use crate::service::Code;
    let code = match err.code {
        Code::Internal | Code::LocalIo => {
            tracing::error!(error = %err, "S3 request failed inside the server");
            return S3Error::with_message(
                S3ErrorCode::InternalError,
                "We encountered an internal error. Please try again.",
            );
        }
        Code::NotFoundException => S3ErrorCode::Custom("KMS.NotFoundException".into()),
        Code::DisabledException => S3ErrorCode::Custom("KMS.DisabledException".into()),
        Code::KMSInvalidStateException => {
            S3ErrorCode::Custom("KMS.KMSInvalidStateException".into())
        }
        Code::ParamValidation | Code::ValidationException => S3ErrorCode::InvalidArgument,
        _ => S3ErrorCode::from_bytes(err.code_name().as_bytes())
            .unwrap_or(S3ErrorCode::InvalidRequest),
    };
    let status = match code {
        S3ErrorCode::Custom(_) => Some(http::StatusCode::BAD_REQUEST),
        _ => None,
    };
    let mut e = S3Error::with_message(code, err.message);
    if let Some(status) = status {
        e.set_status_code(status);
    }
    e
}

pub(super) fn timestamp(t: chrono::DateTime<chrono::Utc>) -> Timestamp {
    Timestamp::from(std::time::SystemTime::from(t))
}

pub(super) fn etag(text: &str) -> ETag {
    ETag::Strong(text.trim_matches('"').to_string())
}

/// The `x-amz-server-side-encryption` header a put or an upload was sent with.
pub(super) fn sse_header(value: Option<&ServerSideEncryption>) -> S3Result<Option<Sse>> {
    value
        .map(|v| {
            Sse::parse(v.as_str()).ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "x-amz-server-side-encryption must be aws:kms or AES256"
                )
            })
        })
        .transpose()
}

pub(super) fn sse(value: Sse) -> ServerSideEncryption {
    ServerSideEncryption::from(value.header().to_string())
}

#[async_trait::async_trait]
impl S3 for LakeS3 {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let by = self.principal(&req)?;
        let buckets = self
            .services
            .storage
            .list_buckets(&by)
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(
                buckets
                    .into_iter()
                    .map(|b| s3s::dto::Bucket {
                        name: Some(b.name),
                        creation_date: Some(timestamp(b.creation_date)),
                        bucket_region: Some(self.lake.region().to_string()),
                    })
                    .collect(),
            ),
            owner: Some(Owner {
                display_name: Some(by.name().to_string()),
                id: Some(self.lake.account_id().to_string()),
            }),
            ..Default::default()
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let by = self.principal(&req)?;
        let bucket = &req.input.bucket;
        self.services
            .storage
            .create_bucket(&by, bucket, CreateBucket::default())
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{bucket}")),
        }))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let by = self.principal(&req)?;
        self.services
            .storage
            .delete_bucket(&by, &req.input.bucket)
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        let by = self.principal(&req)?;
        // Listing one level is the cheapest call the bucket's ListBucket permission governs.
        self.services
            .storage
            .list_objects(&by, &req.input.bucket, "\u{10FFFF}", Some('/'))
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(self.lake.region().to_string()),
            ..Default::default()
        }))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let by = self.principal(&req)?;
        self.services
            .storage
            .list_objects(&by, &req.input.bucket, "\u{10FFFF}", Some('/'))
            .await
            .map_err(s3_err)?;
        let region = self.lake.region();
        Ok(S3Response::new(GetBucketLocationOutput {
            // S3 answers no constraint for us-east-1.
            location_constraint: (region != "us-east-1")
                .then(|| BucketLocationConstraint::from(region.to_string())),
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let by = self.principal(&req)?;
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = match input.delimiter.as_deref() {
            None | Some("") => None,
            Some(d) => {
                let mut chars = d.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(c),
                    _ => {
                        return Err(s3_error!(
                            InvalidArgument,
                            "the lake supports one-character delimiters"
                        ));
                    }
                }
            }
        };
        let max_keys = match input.max_keys {
            Some(n) if n < 0 => {
                return Err(s3_error!(InvalidArgument, "max-keys must not be negative"));
            }
            Some(n) => (n as usize).min(MAX_KEYS),
            None => MAX_KEYS,
        };
        let listing = self
            .services
            .storage
            .list_objects(&by, &input.bucket, &prefix, delimiter)
            .await
            .map_err(s3_err)?;
        // One key order for objects and common prefixes; a page starts after the token's key.
        enum Entry {
            Object(st::ObjectInfo),
            Prefix(String),
        }
        let mut entries: Vec<(String, Entry)> = listing
            .objects
            .into_iter()
            .map(|o| (o.key.clone(), Entry::Object(o)))
            .chain(
                listing
                    .common_prefixes
                    .into_iter()
                    .map(|p| (p.clone(), Entry::Prefix(p))),
            )
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let after = match &input.continuation_token {
            Some(token) => Some(decode_token(token)?),
            None => input.start_after.clone(),
        };
        let start = match &after {
            Some(after) => entries.partition_point(|(k, _)| k.as_str() <= after.as_str()),
            None => 0,
        };
        let rest = entries.len() - start;
        let page: Vec<_> = entries.into_iter().skip(start).take(max_keys).collect();
        let truncated = rest > page.len();
        let next = truncated
            .then(|| page.last().map(|(k, _)| encode_token(k)))
            .flatten();
        let mut contents = Vec::new();
        let mut prefixes = Vec::new();
        for (_, entry) in page {
            match entry {
                Entry::Object(o) => contents.push(Object {
                    key: Some(o.key),
                    size: Some(o.size as i64),
                    last_modified: Some(timestamp(o.last_modified)),
                    e_tag: Some(etag(&o.etag)),
                    storage_class: Some(ObjectStorageClass::from_static(
                        ObjectStorageClass::STANDARD,
                    )),
                    ..Default::default()
                }),
                Entry::Prefix(p) => prefixes.push(CommonPrefix { prefix: Some(p) }),
            }
        }
        let key_count = (contents.len() + prefixes.len()) as i32;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: Some(prefix),
            delimiter: input.delimiter,
            max_keys: Some(max_keys as i32),
            key_count: Some(key_count),
            is_truncated: Some(truncated),
            continuation_token: input.continuation_token,
            next_continuation_token: next,
            start_after: input.start_after,
            contents: Some(contents),
            common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let by = self.principal(&req)?;
        let info = self
            .services
            .storage
            .head_object(&by, &req.input.bucket, &req.input.key)
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(info.size as i64),
            last_modified: Some(timestamp(info.last_modified)),
            e_tag: Some(etag(&info.etag)),
            server_side_encryption: Some(sse(info.server_side_encryption)),
            ssekms_key_id: info.sse_kms_key_id,
            accept_ranges: Some("bytes".into()),
            content_type: Some("binary/octet-stream".parse().expect("a valid content type")),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let by = self.principal(&req)?;
        let input = req.input;
        let storage = self.services.storage.clone();
        // Authorize and size first, so a refusal is an S3 error and not a cut connection.
        let info = storage
            .head_object(&by, &input.bucket, &input.key)
            .await
            .map_err(s3_err)?;
        let range = match &input.range {
            Some(range) => Some(range.check(info.size)?),
            None => None,
        };
        let (sink, body) = channel_sink();
        let failure = sink.sender();
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let span = range.clone().map(|r| (r.start, r.end));
        tokio::spawn(async move {
            let outcome = storage
                .get_object(
                    &by,
                    &bucket,
                    &key,
                    span,
                    Box::new(sink),
                    Progress::default(),
                )
                .await;
            if let Err(e) = outcome {
                ChannelSink::fail(&failure, e.to_string());
            }
        });
        let stream = futures::stream::unfold(body, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let (length, content_range) = match &range {
            Some(r) => (
                r.end - r.start,
                Some(format!(
                    "bytes {}-{}/{}",
                    r.start,
                    r.end.saturating_sub(1),
                    info.size
                )),
            ),
            None => (info.size, None),
        };
        let mut response = S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::wrap(stream)),
            content_length: Some(length as i64),
            content_range,
            last_modified: Some(timestamp(info.last_modified)),
            e_tag: Some(etag(&info.etag)),
            server_side_encryption: Some(sse(info.server_side_encryption)),
            ssekms_key_id: info.sse_kms_key_id,
            accept_ranges: Some("bytes".into()),
            content_type: Some("binary/octet-stream".parse().expect("a valid content type")),
            ..Default::default()
        });
        if range.is_some() {
            response.status = Some(http::StatusCode::PARTIAL_CONTENT);
        }
        Ok(response)
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let by = self.principal(&req)?;
        let input = req.input;
        let sse_header = sse_header(input.server_side_encryption.as_ref())?;
        let Some(body) = input.body else {
            return Err(s3_error!(MissingContentLength, "a put needs a body"));
        };
        let (reader, failure) = StreamReader::new(body);
        let info = self
            .services
            .storage
            .put_object(
                &by,
                &input.bucket,
                &input.key,
                Box::new(reader),
                PutOptions {
                    sse: sse_header,
                    sse_kms_key_id: input.ssekms_key_id,
                },
                Progress::default(),
            )
            .await
            .map_err(|e| put_error(&failure, e))?;
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(etag(&info.etag)),
            server_side_encryption: Some(sse(info.server_side_encryption)),
            ssekms_key_id: info.sse_kms_key_id,
            size: Some(info.size as i64),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        multipart::create(self, req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        multipart::upload_part(self, req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        multipart::complete(self, req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        multipart::abort(self, req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        multipart::list_parts(self, req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        multipart::list_uploads(self, req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let by = self.principal(&req)?;
        self.services
            .storage
            .delete_object(&by, &req.input.bucket, &req.input.key)
            .await
            .map_err(s3_err)?;
        let mut response = S3Response::new(DeleteObjectOutput::default());
        response.status = Some(http::StatusCode::NO_CONTENT);
        Ok(response)
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        let by = self.principal(&req)?;
        let policy = self
            .services
            .storage
            .get_bucket_policy(&by, &req.input.bucket)
            .await
            .map_err(s3_err)?;
        let text = serde_json::to_string(&policy)
            .map_err(|e| s3_err(ServiceError::internal(e.to_string())))?;
        Ok(S3Response::new(GetBucketPolicyOutput {
            policy: Some(text),
        }))
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        let by = self.principal(&req)?;
        let policy = PolicyDocument::parse(&req.input.policy).map_err(s3_err)?;
        self.services
            .storage
            .put_bucket_policy(&by, &req.input.bucket, policy)
            .await
            .map_err(s3_err)?;
        let mut response = S3Response::new(PutBucketPolicyOutput::default());
        response.status = Some(http::StatusCode::NO_CONTENT);
        Ok(response)
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        let by = self.principal(&req)?;
        self.services
            .storage
            .delete_bucket_policy(&by, &req.input.bucket)
            .await
            .map_err(s3_err)?;
        let mut response = S3Response::new(DeleteBucketPolicyOutput::default());
        response.status = Some(http::StatusCode::NO_CONTENT);
        Ok(response)
    }

    async fn get_bucket_encryption(
        &self,
        req: S3Request<GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
        let by = self.principal(&req)?;
        let enc = self
            .services
            .storage
            .get_bucket_encryption(&by, &req.input.bucket)
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(GetBucketEncryptionOutput {
            server_side_encryption_configuration: Some(ServerSideEncryptionConfiguration {
                rules: vec![ServerSideEncryptionRule {
                    apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                        sse_algorithm: sse(enc.sse_algorithm),
                        kms_master_key_id: enc.kms_master_key_id,
                    }),
                    bucket_key_enabled: Some(false),
                }],
            }),
        }))
    }

    async fn put_bucket_encryption(
        &self,
        req: S3Request<PutBucketEncryptionInput>,
    ) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
        let by = self.principal(&req)?;
        let rule = req
            .input
            .server_side_encryption_configuration
            .rules
            .first()
            .and_then(|r| r.apply_server_side_encryption_by_default.clone())
            .ok_or_else(|| {
                s3_error!(
                    MalformedXML,
                    "the configuration needs a rule with ApplyServerSideEncryptionByDefault"
                )
            })?;
        let algorithm = Sse::parse(rule.sse_algorithm.as_str())
            .ok_or_else(|| s3_error!(InvalidArgument, "SSEAlgorithm must be aws:kms or AES256"))?;
        self.services
            .storage
            .put_bucket_encryption(
                &by,
                &req.input.bucket,
                st::BucketEncryption {
                    sse_algorithm: algorithm,
                    kms_master_key_id: rule.kms_master_key_id,
                },
            )
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(PutBucketEncryptionOutput::default()))
    }
}

/// A continuation token is the last key of the page before, so a page is found again however
/// the bucket changed in between; encoded so it is opaque and header-safe.
fn encode_token(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
}

fn decode_token(token: &str) -> S3Result<String> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}
