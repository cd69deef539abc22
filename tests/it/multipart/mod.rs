//! Multipart uploads on the local lake: parts read back whole under the key asked for, nothing
//! visible or left behind before completion or after an abort, S3's refusals with S3's codes,
//! and the permission checks at creation and again at each part.

use std::io::Read;

use lakectl::local::{Lake, LakeDir};
use lakectl::service::multipart::CompletedPart;
use lakectl::service::storage::{CreateBucket, Sse};
use lakectl::service::{Code, Principal, Services};
use md5::{Digest, Md5};

mod cli;
mod refusals;

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
