//! The edges issue 11 found untested: where keys meet the local file system, what reaches a
//! terminal, runs whose process died or that fail while waited for, and the lake's own files
//! (their modes, a lost WAL, a read-only lake). Each test reproduces one report and would fail
//! on the code it was reported against.

mod runs;
mod store;
mod terminals;
mod transfers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::PASSPHRASE;

pub fn lakectl(lake: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lakectl"));
    c.env("LAKECTL_LAKE", lake)
        .env("LAKECTL_PASSPHRASE", PASSPHRASE)
        .env("LAKECTL_CONFIG", lake.with_extension("no-config.toml"))
        .env_remove("LAKECTL_PRINCIPAL");
    c
}

pub fn run(lake: &Path, args: &[&str]) -> Output {
    lakectl(lake).args(args).output().unwrap()
}

pub fn ok(lake: &Path, args: &[&str]) -> Value {
    let out = run(lake, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// A lake with key alias/k, bucket `bkt` under it, and principal `analyst`.
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
