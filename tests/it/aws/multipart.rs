//! Multipart uploads through the AWS backend, on moto: the parts go up, the object reads back
//! whole under the key asked for with S3's multipart ETag, and an abort leaves no upload.

use lakectl::service::multipart::CompletedPart;
use lakectl::service::{Code, Principal};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::operation::list_parts::ListPartsOutput;
use aws_sdk_s3::types::Part as SdkPart;
use aws_sdk_sts::config::Credentials;
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};

use super::{REGION, aws, key_and_bucket};
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
    // list_parts is tested on a mocked S3 below: moto 5.2.5 answers ListParts under a root
    // element AWS does not send (ListPartsResponse), which the SDK rightly refuses.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_parts_reads_every_page() {
    let page = |numbers: &[i32], next: Option<&str>| {
        let mut out = ListPartsOutput::builder().is_truncated(next.is_some());
        for n in numbers {
            out = out.parts(
                SdkPart::builder()
                    .part_number(*n)
                    .e_tag(format!("\"etag{n}\""))
                    .size(5 << 20)
                    .build(),
            );
        }
        if let Some(next) = next {
            out = out.next_part_number_marker(next);
        }
        out.build()
    };
    let first = mock!(aws_sdk_s3::Client::list_parts)
        .match_requests(|r| r.upload_id() == Some("u-1") && r.part_number_marker().is_none())
        .then_output(move || page(&[1, 2], Some("2")));
    let second = mock!(aws_sdk_s3::Client::list_parts)
        .match_requests(|r| r.upload_id() == Some("u-1") && r.part_number_marker() == Some("2"))
        .then_output(move || page(&[3], None));
    let interceptor = MockResponseInterceptor::new()
        .rule_mode(RuleMode::MatchAny)
        .with_rule(&first)
        .with_rule(&second);
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "mock"))
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .build(),
    );
    let s = super::mocked::backend(|c| c.s3 = client).await;
    let parts = s
        .storage
        .list_parts(&Principal::new("tester"), "b", "k", "u-1")
        .await
        .unwrap();
    let got: Vec<(i32, &str, u64)> = parts
        .iter()
        .map(|p| (p.part_number, p.etag.as_str(), p.size))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "\"etag1\"", 5 << 20),
            (2, "\"etag2\"", 5 << 20),
            (3, "\"etag3\"", 5 << 20)
        ]
    );
}
