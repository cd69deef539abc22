//! Multipart uploads refused: S3's codes for a bad part number, part list or upload, the seed
//! bucket policy's encryption rule at creation, and permissions checked at creation, at each
//! part and again when a part is recorded.

use lakectl::service::multipart::CompletedPart;
use lakectl::service::policy::PolicyDocument;
use lakectl::service::storage::{PutOptions, Sse};
use lakectl::service::{Code, Principal};

use super::{MIB, completed, data, part, plain_bucket, tmp_files};
use crate::common::{admin, blobs, get, kms, new_lake, seed};

use std::io::Read;
use std::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_s3s_codes_and_leave_the_upload_usable() {
    let t = new_lake();
    plain_bucket(&t).await;
    let (s, a) = (&t.services, admin());
    let id = s
        .storage
        .create_multipart_upload(&a, "plain", "k", PutOptions::default())
        .await
        .unwrap();
    for n in [0, -1, 10_001] {
        let err = part(s, &a, "plain", "k", &id, n, b"x").await.unwrap_err();
        assert_eq!(err.code, Code::InvalidArgument, "part {n}: {err}");
    }
    let small = part(s, &a, "plain", "k", &id, 1, b"small first part")
        .await
        .unwrap();
    let big = data(5 * MIB, 6);
    let e2 = part(s, &a, "plain", "k", &id, 2, &big).await.unwrap();
    let e3 = part(s, &a, "plain", "k", &id, 3, b"tail").await.unwrap();
    let by = &a;
    let complete = |list: Vec<CompletedPart>| {
        let id = id.clone();
        async move {
            s.storage
                .complete_multipart_upload(by, "plain", "k", &id, &list)
                .await
        }
    };
    let cases = [
        (completed(&[(2, &e2), (1, &small)]), Code::InvalidPartOrder),
        (completed(&[(2, &e2), (2, &e2)]), Code::InvalidPartOrder),
        (completed(&[(2, &e2), (4, &e3)]), Code::InvalidPart),
        (
            completed(&[(2, &e2), (3, "\"00000000000000000000000000000000\"")]),
            Code::InvalidPart,
        ),
        (completed(&[(2, &e3), (3, &e3)]), Code::InvalidPart),
        (completed(&[(1, &small), (2, &e2)]), Code::EntityTooSmall),
        (completed(&[]), Code::InvalidArgument),
    ];
    for (list, code) in cases {
        let err = complete(list.clone()).await.unwrap_err();
        assert_eq!(err.code, code, "{list:?}: {err}");
    }
    let wrong = s
        .storage
        .create_multipart_upload(&a, "plain", "other", PutOptions::default())
        .await
        .unwrap();
    for (key, upload) in [
        ("k", "no-such-upload"),
        ("other", id.as_str()),
        ("k", wrong.as_str()),
    ] {
        let err = part(s, &a, "plain", key, upload, 1, b"x")
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::NoSuchUpload, "{key} {upload}");
        let err = s
            .storage
            .complete_multipart_upload(&a, "plain", key, upload, &completed(&[(1, &small)]))
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::NoSuchUpload, "{key} {upload}");
    }
    assert!(
        s.storage.head_object(&a, "plain", "k").await.is_err(),
        "a refused completion made no object"
    );
    // A small last part is fine; the ETags may come back unquoted; parts may be left out.
    let info = complete(completed(&[(2, e2.trim_matches('"')), (3, &e3)]))
        .await
        .unwrap();
    assert!(info.etag.ends_with("-2\""), "{}", info.etag);
    assert_eq!(
        get(s, &a, "plain", "k").await.unwrap(),
        [big.as_slice(), b"tail"].concat()
    );
    assert!(tmp_files(&t).is_empty());
    // The bucket is not empty while an upload is in progress.
    s.storage.delete_object(&a, "plain", "k").await.unwrap();
    let err = s.storage.delete_bucket(&a, "plain").await.unwrap_err();
    assert_eq!(err.code, Code::BucketNotEmpty);
    s.storage
        .abort_multipart_upload(&a, "plain", "other", &wrong)
        .await
        .unwrap();
    s.storage.delete_bucket(&a, "plain").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_bucket_policy_refuses_an_upload_without_sse_kms() {
    let t = new_lake();
    seed(&t).await;
    let (s, a) = (&t.services, admin());
    let aes = PutOptions {
        sse: Some(Sse::Aes256),
        sse_kms_key_id: None,
    };
    for opts in [PutOptions::default(), aes] {
        let err = s
            .storage
            .create_multipart_upload(&a, "data", "k", opts.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::AccessDenied, "{opts:?}");
        assert!(err.message.contains("bucket policy"), "{}", err.message);
    }
    assert!(
        s.storage
            .list_multipart_uploads(&a, "data", "")
            .await
            .unwrap()
            .is_empty()
    );
    // With the header at creation, its parts and completion pass the same policy.
    let id = s
        .storage
        .create_multipart_upload(
            &a,
            "data",
            "k",
            PutOptions {
                sse: Some(Sse::Kms),
                sse_kms_key_id: None,
            },
        )
        .await
        .unwrap();
    let e = part(s, &a, "data", "k", &id, 1, b"x").await.unwrap();
    let info = s
        .storage
        .complete_multipart_upload(&a, "data", "k", &id, &completed(&[(1, &e)]))
        .await
        .unwrap();
    // The bucket's default key, as a put with the header and no key id gets.
    let key = s.keys.describe_key(&a, "alias/test").await.unwrap();
    assert_eq!(info.sse_kms_key_id.as_deref(), Some(key.arn.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_not_put_under_the_key_is_refused_at_creation_and_at_a_part_once_revoked() {
    let t = new_lake();
    seed(&t).await;
    let (s, a) = (&t.services, admin());
    for name in ["writer", "nokey"] {
        s.iam.create_principal(&a, name, false).await.unwrap();
        let writes = PolicyDocument::parse_identity(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject","s3:ListMultipartUploadParts"],"Resource":"arn:aws:s3:::data/*"}]}"#,
        )
        .unwrap();
        s.iam
            .put_user_policy(&a, name, "writes", &writes)
            .await
            .unwrap();
    }
    let ops: Vec<String> = ["Decrypt", "GenerateDataKey"].map(String::from).to_vec();
    s.keys
        .allow(&a, "alias/test", "writer", &ops)
        .await
        .unwrap();

    // S3 lets nokey put; the key policy does not let it use the key: refused at creation.
    let nokey = Principal::new("nokey");
    let err = s
        .storage
        .create_multipart_upload(&nokey, "data", "k", kms("alias/test"))
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::AccessDenied);
    assert!(
        err.message.contains("kms:GenerateDataKey"),
        "{}",
        err.message
    );

    let writer = Principal::new("writer");
    let id = s
        .storage
        .create_multipart_upload(&writer, "data", "k", kms("alias/test"))
        .await
        .unwrap();
    let e1 = part(s, &writer, "data", "k", &id, 1, &data(5 * MIB, 8))
        .await
        .unwrap();
    // Nor may anyone else touch the writer's upload without a policy saying so.
    s.iam.create_principal(&a, "stranger", false).await.unwrap();
    let stranger = Principal::new("stranger");
    for err in [
        part(s, &stranger, "data", "k", &id, 2, b"x")
            .await
            .unwrap_err(),
        s.storage
            .list_parts(&stranger, "data", "k", &id)
            .await
            .unwrap_err(),
        s.storage
            .list_multipart_uploads(&stranger, "data", "")
            .await
            .unwrap_err(),
        s.storage
            .abort_multipart_upload(&stranger, "data", "k", &id)
            .await
            .unwrap_err(),
        s.storage
            .complete_multipart_upload(&stranger, "data", "k", &id, &completed(&[(1, &e1)]))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.code, Code::AccessDenied, "{err}");
    }
    // The writer may not abort (s3:AbortMultipartUpload is not in its policy).
    let err = s
        .storage
        .abort_multipart_upload(&writer, "data", "k", &id)
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::AccessDenied);

    // Its S3 permission is revoked between two parts: the next part and the completion fail.
    s.iam
        .delete_user_policy(&a, "writer", "writes")
        .await
        .unwrap();
    let err = part(s, &writer, "data", "k", &id, 2, b"after the revoke")
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::AccessDenied);
    let err = s
        .storage
        .complete_multipart_upload(&writer, "data", "k", &id, &completed(&[(1, &e1)]))
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::AccessDenied);
    assert_eq!(
        s.storage
            .list_parts(&a, "data", "k", &id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.storage
            .head_object(&a, "data", "k")
            .await
            .unwrap_err()
            .code,
        Code::NoSuchKey
    );
    // Refusals are on the record.
    let events = s.audit.list(&a, None).await.unwrap();
    assert!(
        events.iter().any(
            |e| e.event_name == "UploadPart" && e.error_code.as_deref() == Some("AccessDenied")
        )
    );
}

/// A part's body that waits, before its first byte, until the test has changed something.
struct Gated {
    started: Option<mpsc::Sender<()>>,
    go: mpsc::Receiver<()>,
    left: usize,
}

impl Read for Gated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(started) = self.started.take() {
            started.send(()).unwrap();
            self.go.recv().unwrap();
        }
        let n = buf.len().min(self.left);
        buf[..n].fill(b'g');
        self.left -= n;
        Ok(n)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_changes_while_a_part_streams_is_checked_when_it_is_recorded() {
    let t = new_lake();
    seed(&t).await;
    let (s, a) = (&t.services, admin());
    s.iam.create_principal(&a, "writer", false).await.unwrap();
    let writes = PolicyDocument::parse_identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::data/*"}]}"#,
    )
    .unwrap();
    s.iam
        .put_user_policy(&a, "writer", "writes", &writes)
        .await
        .unwrap();
    let ops: Vec<String> = ["Decrypt", "GenerateDataKey"].map(String::from).to_vec();
    s.keys
        .allow(&a, "alias/test", "writer", &ops)
        .await
        .unwrap();
    let writer = Principal::new("writer");
    let id = s
        .storage
        .create_multipart_upload(&writer, "data", "k", kms("alias/test"))
        .await
        .unwrap();
    let before = blobs(&t.path());

    // Each change lands after the part was authorized and while its bytes stream.
    for change in ["revoke the writer's S3 permission", "abort the upload"] {
        let (started_tx, started_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel();
        let body = Gated {
            started: Some(started_tx),
            go: go_rx,
            left: 2 * MIB,
        };
        let (services, id2, w) = (s.clone(), id.clone(), writer.clone());
        let upload = tokio::spawn(async move {
            services
                .storage
                .upload_part(&w, "data", "k", &id2, 1, Box::new(body))
                .await
        });
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        let expected = match change {
            "abort the upload" => {
                s.storage
                    .abort_multipart_upload(&a, "data", "k", &id)
                    .await
                    .unwrap();
                Code::NoSuchUpload
            }
            _ => {
                s.iam
                    .delete_user_policy(&a, "writer", "writes")
                    .await
                    .unwrap();
                Code::AccessDenied
            }
        };
        go_tx.send(()).unwrap();
        let err = upload.await.unwrap().unwrap_err();
        assert_eq!(err.code, expected, "{change}: {err}");
        assert_eq!(blobs(&t.path()), before, "{change}: the part was not kept");
        assert!(tmp_files(&t).is_empty(), "{change}: {:?}", tmp_files(&t));
        if expected == Code::AccessDenied {
            assert!(
                s.storage
                    .list_parts(&a, "data", "k", &id)
                    .await
                    .unwrap()
                    .is_empty()
            );
            s.iam
                .put_user_policy(&a, "writer", "writes", &writes)
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_file_swapped_or_rolled_back_on_disk_does_not_complete() {
    let t = new_lake();
    seed(&t).await;
    let (s, a) = (&t.services, admin());
    let id = s
        .storage
        .create_multipart_upload(&a, "data", "k", kms("alias/test"))
        .await
        .unwrap();
    let mut files = Vec::new();
    let mut etags = Vec::new();
    for n in 1..=2 {
        let before = blobs(&t.path());
        etags.push(
            part(s, &a, "data", "k", &id, n, &data(5 * MIB, n as u64))
                .await
                .unwrap(),
        );
        let new: Vec<_> = blobs(&t.path())
            .into_iter()
            .filter(|b| !before.contains(b))
            .collect();
        assert_eq!(new.len(), 1);
        files.push(new[0].clone());
    }
    let swap = |files: &[std::path::PathBuf]| {
        let aside = files[0].with_extension("aside");
        std::fs::rename(&files[0], &aside).unwrap();
        std::fs::rename(&files[1], &files[0]).unwrap();
        std::fs::rename(&aside, &files[1]).unwrap();
    };
    swap(&files);
    let list = completed(&[(1, &etags[0]), (2, &etags[1])]);
    let err = s
        .storage
        .complete_multipart_upload(&a, "data", "k", &id, &list)
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidCiphertextException, "{err}");
    assert_eq!(
        s.storage
            .head_object(&a, "data", "k")
            .await
            .unwrap_err()
            .code,
        Code::NoSuchKey
    );
    swap(&files);
    // Swapped again, with the store's records of the two swapped too (someone who can write
    // meta.db): each part's data key is bound to its part number, so the swap still fails.
    let swap_tags = || {
        let db = rusqlite::Connection::open(t.path().join("meta.db")).unwrap();
        let tag = |n: i32| -> String {
            db.query_row(
                "SELECT tag FROM multipart_parts WHERE upload_id = ?1 AND part_number = ?2",
                rusqlite::params![id, n],
                |r| r.get(0),
            )
            .unwrap()
        };
        let (one, two) = (tag(1), tag(2));
        for (n, tag) in [(1, two), (2, one)] {
            db.execute(
                "UPDATE multipart_parts SET tag = ?3 WHERE upload_id = ?1 AND part_number = ?2",
                rusqlite::params![id, n, tag],
            )
            .unwrap();
        }
    };
    swap(&files);
    swap_tags();
    let err = s
        .storage
        .complete_multipart_upload(&a, "data", "k", &id, &list)
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidCiphertextException, "{err}");
    swap(&files);
    swap_tags();
    // An older version of the same part put back in place of the newer one: same upload, same
    // part number, so its data key opens; the version recorded tells it apart.
    let older = std::fs::read(&files[1]).unwrap();
    let before = blobs(&t.path());
    let newer = part(s, &a, "data", "k", &id, 2, &data(5 * MIB, 22))
        .await
        .unwrap();
    let replaced: Vec<_> = blobs(&t.path())
        .into_iter()
        .filter(|b| !before.contains(b))
        .collect();
    std::fs::write(&replaced[0], &older).unwrap();
    let err = s
        .storage
        .complete_multipart_upload(
            &a,
            "data",
            "k",
            &id,
            &completed(&[(1, &etags[0]), (2, &newer)]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidCiphertextException, "{err}");
    part(s, &a, "data", "k", &id, 2, &data(5 * MIB, 2))
        .await
        .unwrap();
    s.storage
        .complete_multipart_upload(&a, "data", "k", &id, &list)
        .await
        .unwrap();
    let whole = [data(5 * MIB, 1), data(5 * MIB, 2)].concat();
    assert!(get(s, &a, "data", "k").await.unwrap() == whole);
}
