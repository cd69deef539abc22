//! The edges issue 11 found untested: where keys meet the local file system, what reaches a
//! terminal, runs whose process died or that fail while waited for, and the lake's own files
//! (their modes, a lost WAL, a read-only lake). Each test reproduces one report and would fail
//! on the code it was reported against.

mod passphrase;
mod runs;
mod store;
mod terminals;
mod transfers;

use std::path::{Path, PathBuf};

pub(crate) use crate::cli::{lakectl, ok, run};

/// A lake with key alias/k and bucket `bkt` under it.
pub fn seeded() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ok(&lake, &["init"]);
    ok(&lake, &["kms", "create-key", "--alias", "alias/k"]);
    ok(
        &lake,
        &["s3", "mb", "s3://bkt", "--sse-kms-key-id", "alias/k"],
    );
    (dir, lake)
}

/// Puts `body` at `key` (any key the storage service accepts) through the library.
pub fn put_key(lake: &Path, key: &str, body: &[u8]) {
    let path = dir_file(lake, "body");
    std::fs::write(&path, body).unwrap();
    ok(
        lake,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "bkt",
            "--key",
            key,
            "--body",
            path.to_str().unwrap(),
        ],
    );
}

/// A scratch file beside the lake.
pub fn dir_file(lake: &Path, name: &str) -> PathBuf {
    lake.parent().unwrap().join(name)
}
