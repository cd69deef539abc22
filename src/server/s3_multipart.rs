//! S3's multipart upload operations over the storage service's `Multipart`: what `aws s3 cp`,
//! boto3's `upload_file` and pyarrow send for anything but small objects. Kept beside `s3.rs`
//! (whose `impl S3` delegates here) because the six operations are a family of their own.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::body::{StreamReader, put_error};
use super::s3::{LakeS3, etag, s3_err, sse, sse_header, timestamp};
use crate::service::multipart::CompletedPart as Completed;
use crate::service::storage::PutOptions;

/// The page size of ListParts when the client names none, and its ceiling, as S3's.
const MAX_PARTS_PAGE: usize = 1000;

pub async fn create(
    s3: &LakeS3,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let by = s3.principal(&req)?;
    let input = req.input;
    let sse_header = sse_header(input.server_side_encryption.as_ref())?;
    let upload_id = s3
        .services
        .storage
        .create_multipart_upload(
            &by,
            &input.bucket,
            &input.key,
            PutOptions {
                sse: sse_header,
                sse_kms_key_id: input.ssekms_key_id.clone(),
            },
        )
        .await
        .map_err(s3_err)?;
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(upload_id),
        server_side_encryption: sse_header.map(sse),
        ssekms_key_id: input.ssekms_key_id,
        ..Default::default()
    }))
}

pub async fn upload_part(
    s3: &LakeS3,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let by = s3.principal(&req)?;
    let input = req.input;
    let Some(body) = input.body else {
        return Err(s3_error!(MissingContentLength, "a part needs a body"));
    };
    let (reader, failure) = StreamReader::new(body);
    let tag = s3
        .services
        .storage
        .upload_part(
            &by,
            &input.bucket,
            &input.key,
            &input.upload_id,
            input.part_number,
            Box::new(reader),
        )
        .await
        .map_err(|e| put_error(&failure, e))?;
    Ok(S3Response::new(UploadPartOutput {
        e_tag: Some(etag(&tag)),
        ..Default::default()
    }))
}

pub async fn complete(
    s3: &LakeS3,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let by = s3.principal(&req)?;
    let input = req.input;
    let parts = input
        .multipart_upload
        .and_then(|m| m.parts)
        .unwrap_or_default()
        .into_iter()
        .map(|p| match (p.part_number, p.e_tag) {
            (Some(part_number), Some(tag)) => Ok(Completed {
                part_number,
                etag: tag.value().to_string(),
            }),
            _ => Err(s3_error!(
                MalformedXML,
                "each part needs a PartNumber and an ETag"
            )),
        })
        .collect::<S3Result<Vec<_>>>()?;
    if parts.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: no parts"
        ));
    }
    let info = s3
        .services
        .storage
        .complete_multipart_upload(&by, &input.bucket, &input.key, &input.upload_id, &parts)
        .await
        .map_err(s3_err)?;
    Ok(S3Response::new(CompleteMultipartUploadOutput {
        location: Some(format!("/{}/{}", input.bucket, input.key)),
        bucket: Some(input.bucket),
        key: Some(input.key),
        e_tag: Some(etag(&info.etag)),
        server_side_encryption: Some(sse(info.server_side_encryption)),
        ssekms_key_id: info.sse_kms_key_id,
        ..Default::default()
    }))
}

pub async fn abort(
    s3: &LakeS3,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let by = s3.principal(&req)?;
    let input = &req.input;
    s3.services
        .storage
        .abort_multipart_upload(&by, &input.bucket, &input.key, &input.upload_id)
        .await
        .map_err(s3_err)?;
    let mut response = S3Response::new(AbortMultipartUploadOutput::default());
    response.status = Some(http::StatusCode::NO_CONTENT);
    Ok(response)
}

pub async fn list_parts(
    s3: &LakeS3,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let by = s3.principal(&req)?;
    let input = req.input;
    let parts = s3
        .services
        .storage
        .list_parts(&by, &input.bucket, &input.key, &input.upload_id)
        .await
        .map_err(s3_err)?;
    let max = match input.max_parts {
        Some(n) if n < 0 => {
            return Err(s3_error!(InvalidArgument, "max-parts must not be negative"));
        }
        Some(n) => (n as usize).min(MAX_PARTS_PAGE),
        None => MAX_PARTS_PAGE,
    };
    let marker = input.part_number_marker.unwrap_or(0);
    let after: Vec<_> = parts
        .into_iter()
        .filter(|p| p.part_number > marker)
        .collect();
    let truncated = after.len() > max;
    let page: Vec<_> = after.into_iter().take(max).collect();
    let next = page.last().map(|p| p.part_number);
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        max_parts: Some(max as i32),
        part_number_marker: input.part_number_marker,
        next_part_number_marker: if truncated { next } else { None },
        is_truncated: Some(truncated),
        parts: Some(
            page.into_iter()
                .map(|p| Part {
                    part_number: Some(p.part_number),
                    e_tag: Some(etag(&p.etag)),
                    size: Some(p.size as i64),
                    last_modified: Some(timestamp(p.last_modified)),
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    }))
}

pub async fn list_uploads(
    s3: &LakeS3,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let by = s3.principal(&req)?;
    let input = req.input;
    let prefix = input.prefix.clone().unwrap_or_default();
    let uploads = s3
        .services
        .storage
        .list_multipart_uploads(&by, &input.bucket, &prefix)
        .await
        .map_err(s3_err)?;
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix,
        is_truncated: Some(false),
        uploads: Some(
            uploads
                .into_iter()
                .map(|u| MultipartUpload {
                    key: Some(u.key),
                    upload_id: Some(u.upload_id),
                    initiated: Some(timestamp(u.initiated)),
                    initiator: Some(Initiator {
                        id: Some(u.initiator.clone()),
                        display_name: Some(u.initiator),
                    }),
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    }))
}
