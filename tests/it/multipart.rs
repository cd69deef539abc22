//! Multipart uploads on the local lake: parts read back whole under the key asked for, nothing
//! visible or left behind before completion or after an abort, S3's refusals with S3's codes,
//! and the permission checks at creation and again at each part.

use std::io::Read;

use lakectl::local::{Lake, LakeDir};
use lakectl::service::multipart::CompletedPart;
use lakectl::service::policy::PolicyDocument;
use lakectl::service::storage::{CreateBucket, PutOptions, Sse};
use lakectl::service::{Code, Principal, Services};
use md5::{Digest, Md5};

use crate::common::{PASSPHRASE, TestLake, admin, blobs, files_under, get, kms, new_lake, seed};

const MIB: usize = 1024 * 1024;
const MARKER: &[u8] = b"MULTIPART-PLAINTEXT-MARKER-7f3a";

/// `len` bytes that do not repeat within a chunk, with the marker every 64 KiB or so.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    for at in (0..len.saturating_sub(MARKER.len())).step_by(65_000) {
        out[at..at + MARKER.len()].copy_from_slice(MARKER);
    }
    out
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

fn body(bytes: &[u8]) -> lakectl::service::storage::Body {
    Box::new(std::io::Cursor::new(bytes.to_vec()))
}

async fn part(
    s: &Services,
    by: &Principal,
    bucket: &str,
    key: &str,
    id: &str,
    n: i32,
    bytes: &[u8],
) -> lakectl::service::Result<String> {
    s.storage
        .upload_part(by, bucket, key, id, n, body(bytes))
        .await
}

fn completed(parts: &[(i32, &str)]) -> Vec<CompletedPart> {
    parts
        .iter()
        .map(|(n, etag)| CompletedPart {
            part_number: *n,
            etag: etag.to_string(),
        })
        .collect()
}

/// Files under `tmp/` (a part being written, or one that was not cleaned up).
fn tmp_files(t: &TestLake) -> Vec<std::path::PathBuf> {
    files_under(&t.path().join("tmp"))
}

/// Whether any file of the lake holds `needle` in the clear.
fn on_disk_in_clear(t: &TestLake, needle: &[u8]) -> Vec<std::path::PathBuf> {
    files_under(&t.path())
        .into_iter()
        .filter(|f| {
            std::fs::read(f).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

/// A bucket with no policy and no default encryption.
async fn plain_bucket(t: &TestLake) {
    t.services
        .storage
        .create_bucket(&admin(), "plain", CreateBucket::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_parts_read_back_whole_under_the_key_asked_for_and_nothing_shows_before() {
    let t = new_lake();
    seed(&t).await;
    let (s, a) = (&t.services, admin());
    let before = blobs(&t.path()).len();
    let id = s
        .storage
        .create_multipart_upload(&a, "data", "big/file.bin", kms("alias/test"))
        .await
        .unwrap();
    let bytes = [data(5 * MIB, 1), data(5 * MIB, 2), data(1024, 3)];
    let mut etags = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        let etag = part(s, &a, "data", "big/file.bin", &id, i as i32 + 1, b)
            .await
            .unwrap();
        assert_eq!(
            etag,
            format!("\"{}\"", md5_hex(b)),
            "a part's ETag is its MD5"
        );
        etags.push(etag);
    }
    // Nothing of the upload is an object yet.
    let listing = s.storage.list_objects(&a, "data", "", None).await.unwrap();
    assert!(listing.objects.is_empty(), "{:?}", listing.objects);
    let err = s
        .storage
        .head_object(&a, "data", "big/file.bin")
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::NoSuchKey);
    assert_eq!(
        get(s, &a, "data", "big/file.bin").await.unwrap_err().code,
        Code::NoSuchKey
    );
    let uploads = s
        .storage
        .list_multipart_uploads(&a, "data", "big/")
        .await
        .unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(
        (uploads[0].key.as_str(), uploads[0].upload_id.as_str()),
        ("big/file.bin", id.as_str())
    );
    assert!(
        uploads[0].initiator.ends_with(":user/admin"),
        "{}",
        uploads[0].initiator
    );
    assert!(
        s.storage
            .list_multipart_uploads(&a, "data", "other/")
            .await
            .unwrap()
            .is_empty()
    );
    let parts = s
        .storage
        .list_parts(&a, "data", "big/file.bin", &id)
        .await
        .unwrap();
    let listed: Vec<(i32, u64, &str)> = parts
        .iter()
        .map(|p| (p.part_number, p.size, p.etag.as_str()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (1, 5 * MIB as u64, etags[0].as_str()),
            (2, 5 * MIB as u64, etags[1].as_str()),
            (3, 1024, etags[2].as_str())
        ]
    );
    // The parts are sealed: their plaintext is nowhere on disk.
    assert_eq!(
        on_disk_in_clear(&t, MARKER),
        Vec::<std::path::PathBuf>::new()
    );

    let list = completed(&[(1, &etags[0]), (2, &etags[1]), (3, &etags[2])]);
    let info = s
        .storage
        .complete_multipart_upload(&a, "data", "big/file.bin", &id, &list)
        .await
        .unwrap();
    let md5s: Vec<u8> = bytes.iter().flat_map(|b| Md5::digest(b).to_vec()).collect();
    assert_eq!(
        info.etag,
        format!("\"{}-3\"", md5_hex(&md5s)),
        "S3's multipart ETag"
    );
    assert_eq!(info.size, (10 * MIB + 1024) as u64);
    assert_eq!(info.server_side_encryption, Sse::Kms);
    let key = s.keys.describe_key(&a, "alias/test").await.unwrap();
    assert_eq!(info.sse_kms_key_id.as_deref(), Some(key.arn.as_str()));
    let head = s
        .storage
        .head_object(&a, "data", "big/file.bin")
        .await
        .unwrap();
    assert_eq!(head.etag, info.etag);
    let whole: Vec<u8> = bytes.concat();
    assert!(
        get(s, &a, "data", "big/file.bin").await.unwrap() == whole,
        "read back byte for byte"
    );

    // The upload is gone, its parts with it: one body more than before, nothing in tmp/.
    assert!(
        s.storage
            .list_multipart_uploads(&a, "data", "")
            .await
            .unwrap()
            .is_empty()
    );
    let err = s
        .storage
        .list_parts(&a, "data", "big/file.bin", &id)
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::NoSuchUpload);
    assert_eq!(blobs(&t.path()).len(), before + 1);
    assert!(tmp_files(&t).is_empty());
    assert_eq!(
        on_disk_in_clear(&t, MARKER),
        Vec::<std::path::PathBuf>::new()
    );
    // A plain put over it shows its own ETag again, not the multipart one.
    crate::common::put(s, &a, "data", "big/file.bin", b"small", kms("alias/test"))
        .await
        .unwrap();
    let head = s
        .storage
        .head_object(&a, "data", "big/file.bin")
        .await
        .unwrap();
    assert!(!head.etag.ends_with("-3\""), "{}", head.etag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_leaves_nothing_and_the_upload_is_gone() {
    let t = new_lake();
    seed(&t).await;
    let (s, a) = (&t.services, admin());
    let before = blobs(&t.path());
    let id = s
        .storage
        .create_multipart_upload(&a, "data", "k", kms("alias/test"))
        .await
        .unwrap();
    part(s, &a, "data", "k", &id, 1, &data(5 * MIB, 4))
        .await
        .unwrap();
    part(s, &a, "data", "k", &id, 2, &data(100, 5))
        .await
        .unwrap();
    assert_eq!(
        blobs(&t.path()).len(),
        before.len() + 2,
        "each part is a sealed body"
    );
    s.storage
        .abort_multipart_upload(&a, "data", "k", &id)
        .await
        .unwrap();
    assert_eq!(blobs(&t.path()), before, "no part file is left");
    assert!(tmp_files(&t).is_empty());
    assert_eq!(
        s.storage
            .head_object(&a, "data", "k")
            .await
            .unwrap_err()
            .code,
        Code::NoSuchKey
    );
    assert!(
        s.storage
            .list_multipart_uploads(&a, "data", "")
            .await
            .unwrap()
            .is_empty()
    );
    for err in [
        s.storage
            .abort_multipart_upload(&a, "data", "k", &id)
            .await
            .unwrap_err(),
        s.storage
            .list_parts(&a, "data", "k", &id)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.code, Code::NoSuchUpload, "{err}");
    }
    // A part for an upload that is gone carries no encryption header of its own, and there is
    // no upload whose header it inherits: the seed's bucket policy refuses it before the lake
    // looks for the upload (so the refusal tells nothing about which uploads exist).
    let err = part(s, &a, "data", "k", &id, 3, b"late").await.unwrap_err();
    assert_eq!(err.code, Code::AccessDenied, "{err}");
    assert_eq!(
        blobs(&t.path()),
        before,
        "a part sent after the abort is not kept"
    );
    // The audit log has the abort.
    let events = s.audit.list(&a, None).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event_name == "AbortMultipartUpload")
    );
}

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
    let a = &a;
    let complete = |list: Vec<CompletedPart>| {
        let id = id.clone();
        async move {
            s.storage
                .complete_multipart_upload(a, "plain", "k", &id, &list)
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
async fn a_part_sent_again_replaces_the_earlier_one() {
    let t = new_lake();
    seed(&t).await;
    let (s, a) = (&t.services, admin());
    let before = blobs(&t.path()).len();
    let id = s
        .storage
        .create_multipart_upload(&a, "data", "k", kms("alias/test"))
        .await
        .unwrap();
    let first = part(s, &a, "data", "k", &id, 1, b"first version")
        .await
        .unwrap();
    let second = part(s, &a, "data", "k", &id, 1, b"second version")
        .await
        .unwrap();
    assert_ne!(first, second);
    let parts = s.storage.list_parts(&a, "data", "k", &id).await.unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].etag, second);
    assert_eq!(
        blobs(&t.path()).len(),
        before + 1,
        "the earlier part's file is removed"
    );
    let err = s
        .storage
        .complete_multipart_upload(&a, "data", "k", &id, &completed(&[(1, &first)]))
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidPart);
    s.storage
        .complete_multipart_upload(&a, "data", "k", &id, &completed(&[(1, &second)]))
        .await
        .unwrap();
    assert_eq!(get(s, &a, "data", "k").await.unwrap(), b"second version");
}

/// A body that gives 1 MiB, then fails, as a client that disconnects.
struct Broken(usize);

impl Read for Broken {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 >= MIB {
            return Err(std::io::Error::other("the client went away"));
        }
        let n = buf.len().min(MIB - self.0);
        buf[..n].fill(b'z');
        self.0 += n;
        Ok(n)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_fails_midway_leaves_nothing_and_a_killed_one_is_swept() {
    let t = new_lake();
    seed(&t).await;
    let (s, a) = (&t.services, admin());
    let before = blobs(&t.path());
    let id = s
        .storage
        .create_multipart_upload(&a, "data", "k", kms("alias/test"))
        .await
        .unwrap();
    let err = s
        .storage
        .upload_part(&a, "data", "k", &id, 1, Box::new(Broken(0)))
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::LocalIo, "{err}");
    assert!(
        s.storage
            .list_parts(&a, "data", "k", &id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(blobs(&t.path()), before);
    assert!(tmp_files(&t).is_empty(), "{:?}", tmp_files(&t));

    // Uploads outlive the process (a server restarts); a part whose process was killed left
    // only an unlocked file in tmp/, which the next open removes.
    part(s, &a, "data", "k", &id, 1, &data(5 * MIB, 7))
        .await
        .unwrap();
    std::fs::write(
        t.path().join("tmp").join("killed-part"),
        b"sealed bytes of a killed part",
    )
    .unwrap();
    let reopened = Lake::open(LakeDir::new(t.path()), PASSPHRASE)
        .unwrap()
        .services();
    assert!(tmp_files(&t).is_empty(), "the killed part's file is swept");
    let uploads = reopened
        .storage
        .list_multipart_uploads(&a, "data", "")
        .await
        .unwrap();
    assert_eq!(uploads.len(), 1);
    let e2 = part(&reopened, &a, "data", "k", &id, 2, b"after the restart")
        .await
        .unwrap();
    let parts = reopened
        .storage
        .list_parts(&a, "data", "k", &id)
        .await
        .unwrap();
    let list = completed(&[(1, &parts[0].etag), (2, &e2)]);
    reopened
        .storage
        .complete_multipart_upload(&a, "data", "k", &id, &list)
        .await
        .unwrap();
    assert_eq!(
        get(&reopened, &a, "data", "k").await.unwrap(),
        [data(5 * MIB, 7).as_slice(), b"after the restart"].concat()
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_speaks_s3apis_multipart_commands() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    let scratch = tempfile::tempdir().unwrap();
    let run = |line: String| {
        let services = t.services.clone();
        async move {
            let cmd = lakectl::cli::parse_line(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            lakectl::cli::Context::new(&services, &admin())
                .execute(cmd)
                .await
        }
    };
    let created = run("s3api create-multipart-upload --bucket data --key cli/obj --server-side-encryption aws:kms --ssekms-key-id alias/test".into()).await.unwrap();
    assert_eq!(
        (created["Bucket"].as_str(), created["Key"].as_str()),
        (Some("data"), Some("cli/obj"))
    );
    let id = created["UploadId"].as_str().unwrap().to_string();
    let mut etags = Vec::new();
    for (n, bytes) in [(1, data(5 * MIB, 9)), (2, b"the end".to_vec())] {
        let path = scratch.path().join(format!("part{n}"));
        std::fs::write(&path, &bytes).unwrap();
        let out = run(format!("s3api upload-part --bucket data --key cli/obj --upload-id {id} --part-number {n} --body {}", path.display())).await.unwrap();
        assert_eq!(out["ETag"], format!("\"{}\"", md5_hex(&bytes)));
        etags.push(out["ETag"].as_str().unwrap().to_string());
    }
    let listed = run(format!(
        "s3api list-parts --bucket data --key cli/obj --upload-id {id}"
    ))
    .await
    .unwrap();
    assert_eq!(listed["Parts"][1]["PartNumber"], 2);
    assert_eq!(listed["Parts"][1]["Size"], 7);
    let uploads = run("s3api list-multipart-uploads --bucket data".into())
        .await
        .unwrap();
    assert_eq!(uploads["Uploads"][0]["UploadId"], id.as_str());
    let doc = scratch.path().join("parts.json");
    std::fs::write(&doc, serde_json::json!({"Parts": [{"ETag": etags[0], "PartNumber": 1}, {"ETag": etags[1], "PartNumber": 2}]}).to_string()).unwrap();
    let bad = run(format!("s3api complete-multipart-upload --bucket data --key cli/obj --upload-id {id} --multipart-upload '{{\"Parts\":1}}'")).await.unwrap_err();
    assert_eq!(bad.code, Code::ParamValidation);
    let done = run(format!("s3api complete-multipart-upload --bucket data --key cli/obj --upload-id {id} --multipart-upload file://{}", doc.display())).await.unwrap();
    assert!(done["ETag"].as_str().unwrap().ends_with("-2\""), "{done}");
    assert_eq!(done["ServerSideEncryption"], "aws:kms");
    let got = get(&t.services, &a, "data", "cli/obj").await.unwrap();
    assert_eq!(got.len(), 5 * MIB + 7);
    let id2 = run("s3api create-multipart-upload --bucket data --key cli/other --server-side-encryption aws:kms".into()).await.unwrap()["UploadId"].as_str().unwrap().to_string();
    assert_eq!(
        run(format!(
            "s3api abort-multipart-upload --bucket data --key cli/other --upload-id {id2}"
        ))
        .await
        .unwrap(),
        serde_json::json!({})
    );

    // The console's read-only mode keeps the listings and leaves out the rest.
    for (line, changes) in [
        ("s3api create-multipart-upload --bucket b --key k", true),
        (
            "s3api upload-part --bucket b --key k --upload-id u --part-number 1 --body f",
            true,
        ),
        (
            "s3api complete-multipart-upload --bucket b --key k --upload-id u --multipart-upload x",
            true,
        ),
        (
            "s3api abort-multipart-upload --bucket b --key k --upload-id u",
            true,
        ),
        ("s3api list-parts --bucket b --key k --upload-id u", false),
        ("s3api list-multipart-uploads --bucket b", false),
    ] {
        assert_eq!(
            lakectl::cli::parse_line(line).unwrap().changes_anything(),
            changes,
            "{line}"
        );
    }
}
