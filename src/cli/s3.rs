//! `s3`: the high-level commands around the storage service. Transfers stream both ways;
//! a download lands in a temporary file beside its destination and is renamed into place only
//! once it decrypted whole, so a failed download never leaves a truncated file behind. Which
//! key may land where on this machine is local_files.rs's to say.

use std::fs::{self, File};
use std::path::Path;

use serde_json::{Value, json};

use super::commands::{S3Command, SseArgs};
use super::local_files::{self, PartialDownload};
use super::{Context, EXIT_SKIPPED};
use crate::service::storage::{CreateBucket, PutOptions, Sse};
use crate::service::{Code, Progress, Result, ServiceError};

/// `s3://bucket/key` → (bucket, key).
pub fn parse_s3_uri(uri: &str) -> Result<(String, String)> {
    let rest = uri.strip_prefix("s3://").ok_or_else(|| {
        ServiceError::new(
            Code::InvalidArgument,
            format!("{uri:?} is not an S3 location (s3://BUCKET/KEY)"),
        )
    })?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(ServiceError::new(
            Code::InvalidArgument,
            format!("{uri:?} names no bucket"),
        ));
    }
    Ok((bucket.to_string(), key.to_string()))
}

/// A policy argument: `file://PATH` or the JSON itself.
pub fn read_document(arg: &str) -> Result<String> {
    match arg.strip_prefix("file://") {
        Some(path) => fs::read_to_string(path)
            .map_err(|e| ServiceError::local_io(&format!("cannot read {path}"), &e)),
        None => Ok(arg.to_string()),
    }
}

pub(super) fn put_options(sse: &SseArgs) -> Result<PutOptions> {
    let header = match sse.sse.as_deref() {
        None => None,
        Some(text) => Some(Sse::parse(text).ok_or_else(|| {
            ServiceError::new(
                Code::InvalidArgument,
                format!("--sse {text:?}: use aws:kms or AES256"),
            )
        })?),
    };
    Ok(PutOptions {
        sse: header,
        sse_kms_key_id: sse.sse_kms_key_id.clone(),
    })
}

/// The last path segment of a key or path, for copies into a "directory".
fn file_name(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

fn transfer(op: &str, source: &str, destination: &str, size: u64) -> Value {
    json!({"Operation": op, "Source": source, "Destination": destination, "Size": size})
}

impl Context<'_> {
    fn local_stream_allowed(&self) -> Result<()> {
        if self.console {
            return Err(ServiceError::new(
                Code::InvalidArgument,
                "'-' (stdin/stdout) is not available in the console",
            ));
        }
        Ok(())
    }

    async fn upload(
        &self,
        path: &Path,
        bucket: &str,
        key: &str,
        opts: &PutOptions,
    ) -> Result<Value> {
        let file = File::open(path)
            .map_err(|e| ServiceError::local_io(&format!("cannot read {}", path.display()), &e))?;
        let progress = self.progress.clone();
        progress.set_total(progress.total() + file.metadata().map(|m| m.len()).unwrap_or(0));
        let info = self
            .services
            .storage
            .put_object(
                self.principal,
                bucket,
                key,
                Box::new(file),
                opts.clone(),
                progress,
            )
            .await?;
        Ok(transfer(
            "upload",
            &path.display().to_string(),
            &format!("s3://{bucket}/{key}"),
            info.size,
        ))
    }

    async fn download(&self, bucket: &str, key: &str, path: &Path) -> Result<Value> {
        let partial = PartialDownload::begin(path)?;
        let info = self
            .services
            .storage
            .get_object(
                self.principal,
                bucket,
                key,
                None,
                partial.writer()?,
                Progress::default(),
            )
            .await?;
        partial.finish()?;
        Ok(transfer(
            "download",
            &format!("s3://{bucket}/{key}"),
            &path.display().to_string(),
            info.size,
        ))
    }

    /// A key or file left out of a recursive transfer: said on stderr, listed in the answer,
    /// and the command ends with the AWS CLI's exit code 2.
    fn skip(&self, skipped: &mut Vec<Value>, what: &str, reason: &str) {
        self.warn(&format!("skipping {what}: {reason}"));
        self.exit_with(EXIT_SKIPPED);
        skipped.push(json!({"Source": what, "Reason": reason}));
    }

    /// Streams one object into another through a pipe. The put side insists on the source's
    /// full length, so a get that fails midway can never leave a shorter copy behind.
    async fn copy_between_buckets(
        &self,
        from: (&str, &str),
        to: (&str, &str),
        opts: &PutOptions,
    ) -> Result<Value> {
        let storage = &self.services.storage;
        let expected = storage
            .head_object(self.principal, from.0, from.1)
            .await?
            .size;
        let (reader, writer) =
            std::io::pipe().map_err(|e| ServiceError::local_io("cannot create a pipe", &e))?;
        let body = ExactLength {
            inner: reader,
            expected,
            seen: 0,
        };
        let get = storage.get_object(
            self.principal,
            from.0,
            from.1,
            None,
            Box::new(writer),
            Progress::default(),
        );
        let put = storage.put_object(
            self.principal,
            to.0,
            to.1,
            Box::new(body),
            opts.clone(),
            Progress::default(),
        );
        let info = match tokio::join!(get, put) {
            (_, Err(e)) if e.code != Code::LocalIo => return Err(e),
            (Err(e), _) | (_, Err(e)) => return Err(e),
            (Ok(_), Ok(info)) => info,
        };
        Ok(transfer(
            "copy",
            &format!("s3://{}/{}", from.0, from.1),
            &format!("s3://{}/{}", to.0, to.1),
            info.size,
        ))
    }

    async fn cp(
        &self,
        source: &str,
        destination: &str,
        sse: &SseArgs,
        recursive: bool,
    ) -> Result<Value> {
        let opts = put_options(sse)?;
        let mut transfers = Vec::new();
        let mut skipped = Vec::new();
        match (
            source.starts_with("s3://"),
            destination.starts_with("s3://"),
        ) {
            (false, true) => {
                let (bucket, prefix) = parse_s3_uri(destination)?;
                if source == "-" {
                    self.local_stream_allowed()?;
                    if prefix.is_empty() || prefix.ends_with('/') {
                        return Err(ServiceError::new(
                            Code::InvalidArgument,
                            "an upload from stdin needs a full key: s3://BUCKET/KEY",
                        ));
                    }
                    let info = self
                        .services
                        .storage
                        .put_object(
                            self.principal,
                            &bucket,
                            &prefix,
                            Box::new(std::io::stdin()),
                            opts,
                            Progress::default(),
                        )
                        .await?;
                    transfers.push(transfer("upload", "-", destination, info.size));
                } else if recursive {
                    let walked = local_files::walk(Path::new(source))?;
                    for (path, reason) in walked.skipped {
                        self.skip(&mut skipped, &path.display().to_string(), &reason);
                    }
                    for file in walked.files {
                        let key = join_key(&prefix, &file.key_suffix);
                        transfers.push(self.upload(&file.path, &bucket, &key, &opts).await?);
                    }
                } else {
                    let key = if prefix.is_empty() || prefix.ends_with('/') {
                        format!("{prefix}{}", file_name(source))
                    } else {
                        prefix
                    };
                    transfers.push(self.upload(Path::new(source), &bucket, &key, &opts).await?);
                }
            }
            (true, false) => {
                let (bucket, key) = parse_s3_uri(source)?;
                if destination == "-" {
                    self.local_stream_allowed()?;
                    if self.headless {
                        return Err(ServiceError::new(
                            Code::InvalidArgument,
                            "'-' (stdout) is not available in a --headless script: its standard output carries one JSON record a line",
                        ));
                    }
                    self.services
                        .storage
                        .get_object(
                            self.principal,
                            &bucket,
                            &key,
                            None,
                            Box::new(std::io::stdout()),
                            Progress::default(),
                        )
                        .await?;
                    // Standard output carries the object and nothing else (an empty answer
                    // prints nothing).
                    return Ok(json!({}));
                } else if recursive {
                    let listing = self
                        .services
                        .storage
                        .list_objects(self.principal, &bucket, &key, None)
                        .await?;
                    let root = Path::new(destination);
                    for obj in listing.objects {
                        let uri = format!("s3://{bucket}/{}", obj.key);
                        let path = match local_files::landing(root, &key, &obj.key) {
                            Ok(path) => path,
                            Err(reason) => {
                                self.skip(&mut skipped, &uri, &reason);
                                continue;
                            }
                        };
                        // A folder that exists may be a symlink out of the destination.
                        let dir = path.parent().expect("a landing has a folder");
                        fs::create_dir_all(dir).map_err(|e| {
                            ServiceError::local_io(&format!("cannot create {}", dir.display()), &e)
                        })?;
                        if let Err(reason) = local_files::ensure_inside(root, dir) {
                            self.skip(&mut skipped, &uri, &reason);
                            continue;
                        }
                        transfers.push(self.download(&bucket, &obj.key, &path).await?);
                    }
                } else {
                    let dest = Path::new(destination);
                    let path = if destination.ends_with('/') || dest.is_dir() {
                        dest.join(file_name(&key))
                    } else {
                        dest.to_path_buf()
                    };
                    transfers.push(self.download(&bucket, &key, &path).await?);
                }
            }
            (true, true) => {
                let (sb, sk) = parse_s3_uri(source)?;
                let (db, dk) = parse_s3_uri(destination)?;
                if recursive {
                    let listing = self
                        .services
                        .storage
                        .list_objects(self.principal, &sb, &sk, None)
                        .await?;
                    for obj in listing.objects {
                        let key = join_key(&dk, obj.key[sk.len()..].trim_start_matches('/'));
                        transfers.push(
                            self.copy_between_buckets((&sb, &obj.key), (&db, &key), &opts)
                                .await?,
                        );
                    }
                } else {
                    let dk = if dk.is_empty() || dk.ends_with('/') {
                        format!("{dk}{}", file_name(&sk))
                    } else {
                        dk
                    };
                    transfers.push(
                        self.copy_between_buckets((&sb, &sk), (&db, &dk), &opts)
                            .await?,
                    );
                }
            }
            (false, false) => {
                return Err(ServiceError::new(
                    Code::InvalidArgument,
                    "one side of cp must be s3://BUCKET/KEY",
                ));
            }
        }
        if skipped.is_empty() {
            Ok(json!({ "Transfers": transfers }))
        } else {
            Ok(json!({ "Transfers": transfers, "Skipped": skipped }))
        }
    }

    pub(super) async fn s3(&self, cmd: S3Command) -> Result<Value> {
        let storage = &self.services.storage;
        let by = self.principal;
        match cmd {
            S3Command::Mb {
                uri,
                sse_kms_key_id,
                require_sse_kms,
            } => {
                let (bucket, _) = parse_s3_uri(&uri)?;
                let b = storage
                    .create_bucket(
                        by,
                        &bucket,
                        CreateBucket {
                            sse_kms_key_id,
                            require_sse_kms,
                        },
                    )
                    .await?;
                Ok(json!({"Bucket": b.name, "Location": format!("/{}", b.name)}))
            }
            S3Command::Rb { uri } => {
                let (bucket, _) = parse_s3_uri(&uri)?;
                storage.delete_bucket(by, &bucket).await?;
                Ok(json!({"Bucket": bucket}))
            }
            S3Command::Ls { uri: None, .. } => {
                Ok(json!({"Buckets": storage.list_buckets(by).await?}))
            }
            S3Command::Ls {
                uri: Some(uri),
                recursive,
            } => {
                let (bucket, prefix) = parse_s3_uri(&uri)?;
                let listing = storage
                    .list_objects(by, &bucket, &prefix, (!recursive).then_some('/'))
                    .await?;
                let contents: Vec<Value> = listing
                    .objects
                    .iter()
                    .map(|o| json!({"Key": o.key, "Size": o.size, "LastModified": o.last_modified, "ETag": o.etag}))
                    .collect();
                let prefixes: Vec<Value> = listing
                    .common_prefixes
                    .iter()
                    .map(|p| json!({"Prefix": p}))
                    .collect();
                Ok(json!({"CommonPrefixes": prefixes, "Contents": contents}))
            }
            S3Command::Cp {
                source,
                destination,
                sse,
                recursive,
            } => self.cp(&source, &destination, &sse, recursive).await,
            S3Command::Rm { uri, recursive } => {
                let (bucket, key) = parse_s3_uri(&uri)?;
                let keys = if recursive {
                    storage
                        .list_objects(by, &bucket, &key, None)
                        .await?
                        .objects
                        .into_iter()
                        .map(|o| o.key)
                        .collect()
                } else {
                    vec![key]
                };
                let mut deleted = Vec::new();
                for key in keys {
                    storage.delete_object(by, &bucket, &key).await?;
                    deleted.push(json!({"Key": key}));
                }
                Ok(json!({"Deleted": deleted}))
            }
        }
    }
}

fn join_key(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        format!("{prefix}{rest}")
    } else {
        format!("{prefix}/{rest}")
    }
}

/// A body that fails instead of ending early.
struct ExactLength<R> {
    inner: R,
    expected: u64,
    seen: u64,
}

impl<R: std::io::Read> std::io::Read for ExactLength<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen += n as u64;
        if n == 0 && !buf.is_empty() && self.seen != self.expected {
            return Err(std::io::Error::other(format!(
                "the source ended after {} of {} bytes",
                self.seen, self.expected
            )));
        }
        Ok(n)
    }
}
