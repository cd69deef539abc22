//! `s3api`'s multipart upload commands, as the AWS CLI has them: create, upload a part from a
//! file, list, complete from the AWS CLI's `{"Parts":[...]}` document, abort.

use std::fs::File;

use serde::Deserialize;
use serde_json::{Value, json};

use super::Context;
use super::commands::{S3apiCommand, SseArgs};
use super::s3::{put_options, read_document};
use crate::service::multipart::CompletedPart;
use crate::service::{Code, Result, ServiceError};

/// `--multipart-upload`'s document.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompletedUpload {
    #[serde(rename = "Parts")]
    parts: Vec<CompletedPart>,
}

/// The parts list of `complete-multipart-upload`: file://PATH or the JSON itself.
fn parse_parts(arg: &str) -> Result<Vec<CompletedPart>> {
    let text = read_document(arg)?;
    serde_json::from_str::<CompletedUpload>(&text)
        .map(|d| d.parts)
        .map_err(|e| {
            ServiceError::new(
                Code::ParamValidation,
                format!(
                    "--multipart-upload: {e}; give {{\"Parts\":[{{\"ETag\":\"...\",\"PartNumber\":1}}, ...]}}"
                ),
            )
        })
}

impl Context<'_> {
    pub(super) async fn multipart(&self, cmd: S3apiCommand) -> Result<Value> {
        let storage = &self.services.storage;
        let by = self.principal;
        match cmd {
            S3apiCommand::CreateMultipartUpload {
                bucket,
                key,
                server_side_encryption,
                ssekms_key_id,
            } => {
                let opts = put_options(&SseArgs {
                    sse: server_side_encryption,
                    sse_kms_key_id: ssekms_key_id,
                })?;
                let id = storage
                    .create_multipart_upload(by, &bucket, &key, opts)
                    .await?;
                Ok(json!({"Bucket": bucket, "Key": key, "UploadId": id}))
            }
            S3apiCommand::UploadPart {
                bucket,
                key,
                upload_id,
                part_number,
                body,
            } => {
                let file = File::open(&body).map_err(|e| {
                    ServiceError::local_io(&format!("cannot read {}", body.display()), &e)
                })?;
                let etag = storage
                    .upload_part(by, &bucket, &key, &upload_id, part_number, Box::new(file))
                    .await?;
                Ok(json!({"ETag": etag}))
            }
            S3apiCommand::ListParts {
                bucket,
                key,
                upload_id,
            } => {
                let parts = storage.list_parts(by, &bucket, &key, &upload_id).await?;
                Ok(
                    json!({"Bucket": bucket, "Key": key, "UploadId": upload_id, "StorageClass": "STANDARD", "Parts": parts}),
                )
            }
            S3apiCommand::ListMultipartUploads { bucket, prefix } => {
                let uploads = storage.list_multipart_uploads(by, &bucket, &prefix).await?;
                let uploads: Vec<Value> = uploads
                    .iter()
                    .map(|u| {
                        json!({"UploadId": u.upload_id, "Key": u.key, "Initiated": u.initiated,
                               "StorageClass": "STANDARD", "Initiator": {"ID": u.initiator},
                               "Owner": {"ID": u.initiator}})
                    })
                    .collect();
                Ok(json!({"Bucket": bucket, "Prefix": prefix, "Uploads": uploads}))
            }
            S3apiCommand::CompleteMultipartUpload {
                bucket,
                key,
                upload_id,
                multipart_upload,
            } => {
                let parts = parse_parts(&multipart_upload)?;
                let info = storage
                    .complete_multipart_upload(by, &bucket, &key, &upload_id, &parts)
                    .await?;
                Ok(json!({"Bucket": bucket, "Key": key, "ETag": info.etag,
                          "ServerSideEncryption": info.server_side_encryption,
                          "SSEKMSKeyId": info.sse_kms_key_id}))
            }
            S3apiCommand::AbortMultipartUpload {
                bucket,
                key,
                upload_id,
            } => {
                storage
                    .abort_multipart_upload(by, &bucket, &key, &upload_id)
                    .await?;
                Ok(json!({}))
            }
            other => Err(ServiceError::internal(format!(
                "{other:?} is not a multipart upload command"
            ))),
        }
    }
}
