//! Connection, S3, KMS and IAM on moto: what was sent reads back, errors carry AWS's codes.

use aws_config::{BehaviorVersion, Region};
use lakectl::aws::{Aws, Connection};
use lakectl::service::keys::{CreateKey, KeyState};
use lakectl::service::storage::{CreateBucket, PutOptions, Sse};
use lakectl::service::{Code, Principal, Progress};

use super::{ACCOUNT, REGION, aws, key_and_bucket, moto, unique};
use crate::common::{admin, get, get_range, kms, put};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_says_who_and_where() {
    let s = aws().await;
    assert_eq!(s.backend.kind, "aws");
    assert_eq!(s.backend.account, ACCOUNT);
    assert!(
        s.backend.location.contains(REGION),
        "{}",
        s.backend.location
    );
    assert!(
        s.backend
            .location
            .contains(&format!("arn:aws:sts::{ACCOUNT}:"))
    );
    assert!(s.backend.location.contains(&moto().url));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_fails_fast_and_clearly() {
    let no_region = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .build();
    let err = Aws::from_config(Connection::default(), &no_region)
        .await
        .err()
        .unwrap();
    assert_eq!(err.code, Code::LakeConfiguration);
    assert!(err.message.contains("--region"), "{}", err.message);

    let no_credentials = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .build();
    let err = Aws::from_config(Connection::default(), &no_credentials)
        .await
        .err()
        .unwrap();
    assert_eq!(err.code, Code::LakeConfiguration);
    assert!(err.message.contains("credentials"), "{}", err.message);

    // Nothing listens on port 9: refused at once, not after the retries' patience.
    let started = std::time::Instant::now();
    let err = lakectl::aws::connect(Connection {
        profile: None,
        region: Some(REGION.into()),
        endpoint_url: Some("http://127.0.0.1:9".into()),
    })
    .await
    .err()
    .unwrap();
    assert!(
        matches!(err.code, Code::EndpointConnection | Code::LakeConfiguration),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_round_trip_through_kms() {
    let s = aws().await;
    let a = admin();
    let alias = format!("alias/{}", unique("key"));
    let created = s
        .keys
        .create_key(
            &a,
            CreateKey {
                alias: Some(alias.clone()),
                description: Some("the lake".into()),
            },
        )
        .await
        .unwrap();
    let by_alias = s.keys.describe_key(&a, &alias).await.unwrap();
    assert_eq!(by_alias.key_id, created.key_id);
    assert_eq!(by_alias.description, "the lake");
    assert_eq!(by_alias.key_state, KeyState::Enabled);
    assert!(
        s.keys
            .list_aliases(&a)
            .await
            .unwrap()
            .iter()
            .any(|e| e.alias_name == alias && e.target_key_id == created.key_id)
    );
    assert!(
        s.keys
            .list_keys(&a)
            .await
            .unwrap()
            .iter()
            .any(|k| k.key_id == created.key_id)
    );

    s.keys.set_key_enabled(&a, &alias, false).await.unwrap();
    assert_eq!(
        s.keys.describe_key(&a, &alias).await.unwrap().key_state,
        KeyState::Disabled
    );
    s.keys.set_key_enabled(&a, &alias, true).await.unwrap();

    s.keys
        .set_key_rotation(&a, &alias, true, Some(180))
        .await
        .unwrap();
    let rotation = s.keys.get_key_rotation_status(&a, &alias).await.unwrap();
    assert!(rotation.key_rotation_enabled);
    // moto drops RotationPeriodInDays; mocked.rs checks that it is sent.
    let rotated = s.keys.rotate_key_on_demand(&a, &alias).await.unwrap();
    assert_eq!(rotated.key_versions, rotation.key_versions + 1);

    // `kms allow` names the IAM user's ARN in the key policy, and reads back.
    let user = unique("glue-role");
    s.iam.create_principal(&a, &user, false).await.unwrap();
    let ops = vec!["Decrypt".to_string(), "DescribeKey".to_string()];
    s.keys.allow(&a, &alias, &user, &ops).await.unwrap();
    let policy = s.keys.get_key_policy(&a, &alias).await.unwrap();
    let arn = format!("arn:aws:iam::{ACCOUNT}:user/{user}");
    assert!(
        policy.named_principals().any(|p| p == arn),
        "{}",
        policy.to_json()
    );
    assert!(policy.to_json().contains("kms:Decrypt"));

    let pending = s.keys.schedule_key_deletion(&a, &alias, 7).await.unwrap();
    assert_eq!(pending.key_state, KeyState::PendingDeletion);
    let back = s.keys.cancel_key_deletion(&a, &alias).await.unwrap();
    assert_eq!(back.key_state, KeyState::Disabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_stream_through_s3_under_the_key_asked_for() {
    let s = aws().await;
    let a = admin();
    let (alias, bucket) = key_and_bucket(&s, "objects").await;
    let key = s.keys.describe_key(&a, &alias).await.unwrap();
    let enc = s.storage.get_bucket_encryption(&a, &bucket).await.unwrap();
    assert_eq!(enc.sse_algorithm, Sse::Kms);
    assert_eq!(enc.kms_master_key_id.as_deref(), Some(key.arn.as_str()));

    put(
        &s,
        &a,
        &bucket,
        "raw/small.json",
        b"{\"a\":1}\n",
        kms(&alias),
    )
    .await
    .unwrap();
    // Past one part: a multipart upload of three parts, with progress for every byte.
    let big: Vec<u8> = (0..(17 * 1024 * 1024 + 5))
        .map(|i| (i % 251) as u8)
        .collect();
    let progress = Progress::default();
    s.storage
        .put_object(
            &a,
            &bucket,
            "raw/big.bin",
            Box::new(std::io::Cursor::new(big.clone())),
            kms(&alias),
            progress.clone(),
        )
        .await
        .unwrap();
    assert_eq!(progress.done(), big.len() as u64);

    let head = s
        .storage
        .head_object(&a, &bucket, "raw/big.bin")
        .await
        .unwrap();
    assert_eq!(head.size, big.len() as u64);
    assert_eq!(head.server_side_encryption, Sse::Kms);
    assert_eq!(head.sse_kms_key_id.as_deref(), Some(key.arn.as_str()));
    assert!(head.etag.ends_with("-3\""), "{}", head.etag);

    assert_eq!(get(&s, &a, &bucket, "raw/big.bin").await.unwrap(), big);
    let range = get_range(
        &s,
        &a,
        &bucket,
        "raw/big.bin",
        Some((8 * 1024 * 1024 - 3, 8 * 1024 * 1024 + 3)),
    )
    .await
    .unwrap();
    assert_eq!(range, &big[8 * 1024 * 1024 - 3..8 * 1024 * 1024 + 3]);

    let listing = s
        .storage
        .list_objects(&a, &bucket, "", Some('/'))
        .await
        .unwrap();
    assert_eq!(listing.common_prefixes, vec!["raw/".to_string()]);
    let listing = s
        .storage
        .list_objects(&a, &bucket, "raw/", None)
        .await
        .unwrap();
    let keys: Vec<&str> = listing.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["raw/big.bin", "raw/small.json"]);
    assert!(
        listing
            .objects
            .iter()
            .all(|o| o.sse_kms_key_id.as_deref() == Some(key.arn.as_str()))
    );

    s.storage
        .delete_object(&a, &bucket, "raw/small.json")
        .await
        .unwrap();
    let err = s
        .storage
        .head_object(&a, &bucket, "raw/small.json")
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::NoSuchKey);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_upload_leaves_no_object_and_no_parts() {
    let s = aws().await;
    let a = admin();
    let bucket = unique("cancel");
    s.storage
        .create_bucket(&a, &bucket, CreateBucket::default())
        .await
        .unwrap();
    let progress = Progress::default();
    progress.cancel();
    let body = vec![7u8; 9 * 1024 * 1024];
    let err = s
        .storage
        .put_object(
            &a,
            &bucket,
            "big.bin",
            Box::new(std::io::Cursor::new(body)),
            PutOptions::default(),
            progress,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::Cancelled);
    let listing = s.storage.list_objects(&a, &bucket, "", None).await.unwrap();
    assert!(listing.objects.is_empty());
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&moto().url)
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "testing", "testing", None, None, "t",
        ))
        .load()
        .await;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let uploads = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty(), "{uploads:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_sse_kms_sends_the_seeds_bucket_policy() {
    let s = aws().await;
    let a = admin();
    let alias = format!("alias/{}", unique("required"));
    s.keys
        .create_key(
            &a,
            CreateKey {
                alias: Some(alias.clone()),
                description: None,
            },
        )
        .await
        .unwrap();
    let bucket = unique("required");
    s.storage
        .create_bucket(
            &a,
            &bucket,
            CreateBucket {
                sse_kms_key_id: Some(alias),
                require_sse_kms: true,
            },
        )
        .await
        .unwrap();
    let policy = s.storage.get_bucket_policy(&a, &bucket).await.unwrap();
    assert!(policy.denies_unencrypted_puts(), "{}", policy.to_json());
    let overview = s.storage.bucket_overview(&a).await.unwrap();
    let mine = overview.iter().find(|o| o.bucket.name == bucket).unwrap();
    assert!(
        mine.policy
            .as_ref()
            .is_some_and(|p| p.denies_unencrypted_puts())
    );
    assert!(mine.encryption.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_creates_no_bucket() {
    let s = aws().await;
    let a = admin();
    let bucket = unique("wrongkey");
    let err = s
        .storage
        .create_bucket(
            &a,
            &bucket,
            CreateBucket {
                sse_kms_key_id: Some("alias/no-such-key".into()),
                require_sse_kms: true,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::NotFoundException, "{err}");
    assert_eq!(err.code_name(), "NotFoundException");
    let buckets = s.storage.list_buckets(&a).await.unwrap();
    assert!(buckets.iter().all(|b| b.name != bucket));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_errors_keep_their_codes() {
    let s = aws().await;
    let a = admin();
    let err = get(&s, &a, &unique("missing"), "x").await.unwrap_err();
    assert_eq!(err.code, Code::NoSuchBucket);
    let user = unique("twice");
    s.iam.create_principal(&a, &user, false).await.unwrap();
    let err = s.iam.create_principal(&a, &user, false).await.unwrap_err();
    assert_eq!(err.code_name(), "EntityAlreadyExists");
    assert_eq!(err.code, Code::EntityAlreadyExists);
    assert_eq!(err.code.exit_code(), 254);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acting_as_someone_else_is_refused() {
    let s = aws().await;
    let err = s
        .storage
        .list_buckets(&Principal::new("analyst"))
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::AccessDenied);
    assert!(err.message.contains("--profile"), "{}", err.message);
}
