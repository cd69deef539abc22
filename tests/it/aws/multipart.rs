//! Multipart uploads through the AWS backend, on moto: the parts go up, the object reads back
//! whole under the key asked for with S3's multipart ETag, and an abort leaves no upload.

use lakectl::service::Code;
use lakectl::service::multipart::CompletedPart;

use super::{aws, key_and_bucket};
use crate::common::{admin, get, kms};

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_upload_round_trips_through_s3() {
    let s = aws().await;
    let a = admin();
    let (alias, bucket) = key_and_bucket(&s, "multipart").await;
    let id = s
        .storage
        .create_multipart_upload(&a, &bucket, "big.bin", kms(&alias))
        .await
        .unwrap();
    let bytes = [vec![1u8; 5 * MIB], vec![2u8; 5 * MIB], vec![3u8; 1024]];
    let mut parts = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        let n = i as i32 + 1;
        let etag = s
            .storage
            .upload_part(
                &a,
                &bucket,
                "big.bin",
                &id,
                n,
                Box::new(std::io::Cursor::new(b.clone())),
            )
            .await
            .unwrap();
        assert_eq!(
            etag.trim_matches('"'),
            hex::encode(<md5::Md5 as md5::Digest>::digest(b))
        );
        parts.push(CompletedPart {
            part_number: n,
            etag,
        });
    }
    let uploads = s
        .storage
        .list_multipart_uploads(&a, &bucket, "")
        .await
        .unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(
        (uploads[0].key.as_str(), uploads[0].upload_id.as_str()),
        ("big.bin", id.as_str())
    );
    let listed = s
        .storage
        .list_parts(&a, &bucket, "big.bin", &id)
        .await
        .unwrap();
    let sizes: Vec<(i32, u64)> = listed.iter().map(|p| (p.part_number, p.size)).collect();
    assert_eq!(
        sizes,
        vec![(1, 5 * MIB as u64), (2, 5 * MIB as u64), (3, 1024)]
    );
    assert_eq!(
        s.storage
            .head_object(&a, &bucket, "big.bin")
            .await
            .unwrap_err()
            .code,
        Code::NoSuchKey
    );

    let info = s
        .storage
        .complete_multipart_upload(&a, &bucket, "big.bin", &id, &parts)
        .await
        .unwrap();
    assert!(info.etag.trim_matches('"').ends_with("-3"), "{}", info.etag);
    assert_eq!(info.size, (10 * MIB + 1024) as u64);
    let key_arn = s.keys.describe_key(&a, &alias).await.unwrap().arn;
    assert_eq!(info.sse_kms_key_id.as_deref(), Some(key_arn.as_str()));
    assert!(get(&s, &a, &bucket, "big.bin").await.unwrap() == bytes.concat());
    assert!(
        s.storage
            .list_multipart_uploads(&a, &bucket, "")
            .await
            .unwrap()
            .is_empty()
    );

    // Abort: the upload is gone; S3's NoSuchUpload comes back as lakectl's.
    let id = s
        .storage
        .create_multipart_upload(&a, &bucket, "dropped.bin", kms(&alias))
        .await
        .unwrap();
    s.storage
        .upload_part(
            &a,
            &bucket,
            "dropped.bin",
            &id,
            1,
            Box::new(std::io::Cursor::new(vec![9u8; 10])),
        )
        .await
        .unwrap();
    s.storage
        .abort_multipart_upload(&a, &bucket, "dropped.bin", &id)
        .await
        .unwrap();
    assert!(
        s.storage
            .list_multipart_uploads(&a, &bucket, "")
            .await
            .unwrap()
            .is_empty()
    );
    let err = s
        .storage
        .list_parts(&a, &bucket, "dropped.bin", &id)
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::NoSuchUpload, "{err}");
    let err = s
        .storage
        .upload_part(
            &a,
            &bucket,
            "dropped.bin",
            &id,
            0,
            Box::new(std::io::Cursor::new(vec![])),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument);
}
