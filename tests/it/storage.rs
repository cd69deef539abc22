//! Objects: round trips, ranges, tampering, the encryption context, the seed's bucket policy,
//! plaintext never on disk, and uploads killed midway.

use lakectl::service::storage::{PutOptions, Sse};
use lakectl::service::{Code, Principal};

use crate::common::*;

#[tokio::test]
async fn objects_round_trip_whole_and_by_range() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    put(
        &t.services,
        &a,
        "data",
        "raw/x.bin",
        &data,
        kms("alias/test"),
    )
    .await
    .unwrap();
    assert_eq!(
        get(&t.services, &a, "data", "raw/x.bin").await.unwrap(),
        data
    );
    for (s, e) in [
        (0, 1),
        (65_535, 65_537),
        (100_000, 200_000),
        (199_999, 300_000),
    ] {
        let part = get_range(&t.services, &a, "data", "raw/x.bin", Some((s, e)))
            .await
            .unwrap();
        assert_eq!(
            part,
            &data[s as usize..(e as usize).min(data.len())],
            "range {s}-{e}"
        );
    }
    let info = t
        .services
        .storage
        .head_object(&a, "data", "raw/x.bin")
        .await
        .unwrap();
    assert_eq!(info.size, data.len() as u64);
    assert_eq!(info.server_side_encryption, Sse::Kms);
    assert!(info.sse_kms_key_id.unwrap().contains(":key/"));
}

/// A whole-object read's error and whatever reached the output before it.
async fn partial(s: &lakectl::service::Services) -> (lakectl::service::ServiceError, Vec<u8>) {
    let buf = SharedBuf::default();
    let err = s
        .storage
        .get_object(
            &admin(),
            "data",
            "k",
            None,
            Box::new(buf.clone()),
            lakectl::service::Progress::default(),
        )
        .await
        .unwrap_err();
    let out = buf.0.lock().unwrap().clone();
    (err, out)
}

#[tokio::test]
async fn a_tampered_byte_is_an_invalid_ciphertext_never_garbage() {
    // Larger than the download pipe's buffers (a few MiB), so what the envelope lets out before
    // the error does reach the output, and the test sees the envelope's own behaviour.
    const SIZE: usize = 8 << 20;
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    put(
        &t.services,
        &a,
        "data",
        "k",
        &vec![1u8; SIZE],
        kms("alias/test"),
    )
    .await
    .unwrap();
    let blob = blobs(&t.path()).pop().unwrap();
    let mut bytes = std::fs::read(&blob).unwrap();
    let late = bytes.len() * 7 / 8;
    bytes[late] ^= 0x20;
    std::fs::write(&blob, &bytes).unwrap();
    // What reached the output before the error is the object's own bytes (some of them did),
    // nothing of the tampered chunk or after it.
    let (err, out) = partial(&t.services).await;
    assert_eq!(err.code, Code::InvalidCiphertextException);
    assert!(!out.is_empty() && out.len() < SIZE * 7 / 8, "{}", out.len());
    assert!(out.iter().all(|&b| b == 1), "garbage in the output");
    // Truncation, too: the last chunk never reaches the output.
    bytes[late] ^= 0x20;
    std::fs::write(&blob, &bytes[..bytes.len() - 100]).unwrap();
    let (err, out) = partial(&t.services).await;
    assert_eq!(err.code, Code::InvalidCiphertextException);
    assert!(out.len() < SIZE, "{}", out.len());
    assert!(out.iter().all(|&b| b == 1), "garbage in the output");
}

#[tokio::test]
async fn a_body_moved_under_another_name_does_not_open() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    put(
        &t.services,
        &a,
        "data",
        "public.txt",
        b"nothing to see",
        kms("alias/test"),
    )
    .await
    .unwrap();
    let before: Vec<_> = blobs(&t.path());
    put(
        &t.services,
        &a,
        "data",
        "secret.txt",
        b"the secret",
        kms("alias/test"),
    )
    .await
    .unwrap();
    let secret_blob = blobs(&t.path())
        .into_iter()
        .find(|b| !before.contains(b))
        .unwrap();
    // Someone with the directory swaps the secret's body in for the public object's.
    std::fs::copy(&secret_blob, &before[0]).unwrap();
    let err = get(&t.services, &a, "data", "public.txt")
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidCiphertextException, "{err}");
}

#[tokio::test]
async fn the_seed_bucket_policy_refuses_puts_not_encrypted_with_kms() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    for opts in [
        PutOptions::default(),
        PutOptions {
            sse: Some(Sse::Aes256),
            sse_kms_key_id: None,
        },
    ] {
        let err = put(&t.services, &a, "data", "raw/plain", b"x", opts)
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::AccessDenied);
        assert!(err.message.contains("explicit deny"), "{}", err.message);
    }
    let listing = t
        .services
        .storage
        .list_objects(&a, "data", "", None)
        .await
        .unwrap();
    assert!(listing.objects.is_empty());
    assert!(
        blobs(&t.path()).is_empty(),
        "a refused put left a body behind"
    );
    put(&t.services, &a, "data", "raw/ok", b"x", kms("alias/test"))
        .await
        .unwrap();
}

#[tokio::test]
async fn no_file_under_the_lake_holds_the_plaintext() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    let marker = b"MARKER-d41d8cd98f00b204e9800998ecf8427e";
    let mut data = vec![b'.'; 300_000];
    for at in [0, 65_530, 150_000, 299_000] {
        data[at..at + marker.len()].copy_from_slice(marker);
    }
    put(
        &t.services,
        &a,
        "data",
        "raw/customers.csv",
        &data,
        kms("alias/test"),
    )
    .await
    .unwrap();
    // Small objects too, and one under SSE-S3 in a bucket without the policy.
    t.services
        .storage
        .create_bucket(&a, "open", Default::default())
        .await
        .unwrap();
    put(
        &t.services,
        &a,
        "open",
        "m.txt",
        marker,
        PutOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(get(&t.services, &a, "open", "m.txt").await.unwrap(), marker);
    let files = files_under(&t.path());
    assert!(files.len() >= 4, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "{} holds the plaintext",
            f.display()
        );
    }
}

#[tokio::test]
async fn bucket_policies_govern_other_principals() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    t.services
        .iam
        .create_principal(&a, "analyst", false)
        .await
        .unwrap();
    let analyst = Principal::new("analyst");
    put(
        &t.services,
        &a,
        "data",
        "raw/x",
        b"hello",
        kms("alias/test"),
    )
    .await
    .unwrap();
    // No bucket statement allows the analyst: refused.
    assert_eq!(
        get(&t.services, &analyst, "data", "raw/x")
            .await
            .unwrap_err()
            .code,
        Code::AccessDenied
    );
    // A bucket statement allows GetObject, but the key policy does not admit the analyst.
    let policy = lakectl::service::policy::PolicyDocument::parse(&format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:user/analyst"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}}]}}"#,
        t.lake.account_id()
    ))
    .unwrap();
    let mut with_seed = lakectl::service::policy::PolicyDocument::require_sse_kms("data");
    with_seed.statement.extend(policy.statement);
    t.services
        .storage
        .put_bucket_policy(&a, "data", with_seed)
        .await
        .unwrap();
    let err = get(&t.services, &analyst, "data", "raw/x")
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::AccessDenied);
    assert!(err.message.contains("kms:Decrypt"), "{}", err.message);
    // Once the key admits the analyst, the read goes through.
    t.services
        .keys
        .allow(&a, "alias/test", "analyst", &["Decrypt".to_string()])
        .await
        .unwrap();
    assert_eq!(
        get(&t.services, &analyst, "data", "raw/x").await.unwrap(),
        b"hello"
    );
}

#[tokio::test]
async fn bad_input_changes_nothing() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    let s = &t.services.storage;
    assert_eq!(
        s.create_bucket(&a, "Bad_Name", Default::default())
            .await
            .unwrap_err()
            .code,
        Code::InvalidBucketName
    );
    assert_eq!(
        s.create_bucket(&a, "data", Default::default())
            .await
            .unwrap_err()
            .code,
        Code::BucketAlreadyExists
    );
    let unknown_key = lakectl::service::storage::CreateBucket {
        sse_kms_key_id: Some("alias/nope".into()),
        require_sse_kms: false,
    };
    assert_eq!(
        s.create_bucket(&a, "other", unknown_key)
            .await
            .unwrap_err()
            .code,
        Code::NotFoundException
    );
    assert_eq!(
        put(&t.services, &a, "nope", "k", b"x", kms("alias/test"))
            .await
            .unwrap_err()
            .code,
        Code::NoSuchBucket
    );
    assert_eq!(
        put(&t.services, &a, "data", "k", b"x", kms("alias/nope"))
            .await
            .unwrap_err()
            .code,
        Code::NotFoundException
    );
    assert_eq!(
        get(&t.services, &a, "data", "missing")
            .await
            .unwrap_err()
            .code,
        Code::NoSuchKey
    );
    let names: Vec<String> = s
        .list_buckets(&a)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, vec!["data"]);
    assert!(blobs(&t.path()).is_empty());
    assert!(files_under(&t.path().join("tmp")).is_empty());
}

#[tokio::test]
async fn overwrite_and_delete_leave_no_stale_bodies() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    put(&t.services, &a, "data", "k", b"one", kms("alias/test"))
        .await
        .unwrap();
    put(&t.services, &a, "data", "k", b"two", kms("alias/test"))
        .await
        .unwrap();
    assert_eq!(get(&t.services, &a, "data", "k").await.unwrap(), b"two");
    assert_eq!(blobs(&t.path()).len(), 1);
    let err = t
        .services
        .storage
        .delete_bucket(&a, "data")
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::BucketNotEmpty);
    t.services
        .storage
        .delete_object(&a, "data", "k")
        .await
        .unwrap();
    assert!(blobs(&t.path()).is_empty());
    t.services.storage.delete_bucket(&a, "data").await.unwrap();
}

#[tokio::test]
async fn an_older_body_put_back_in_place_is_refused() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    put(
        &t.services,
        &a,
        "data",
        "balance",
        b"owes 1000",
        kms("alias/test"),
    )
    .await
    .unwrap();
    let blob = blobs(&t.path()).pop().unwrap();
    let old = std::fs::read(&blob).unwrap();
    put(
        &t.services,
        &a,
        "data",
        "balance",
        b"owes 0000",
        kms("alias/test"),
    )
    .await
    .unwrap();
    // Same name, same length, sealed for this very object: only the version differs.
    let current = blobs(&t.path()).pop().unwrap();
    std::fs::write(&current, &old).unwrap();
    let err = get(&t.services, &a, "data", "balance").await.unwrap_err();
    assert_eq!(err.code, Code::InvalidCiphertextException, "{err}");
}
