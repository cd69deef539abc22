//! The lake's own files: owner-only modes, a lost WAL caught instead of silently dropping
//! committed objects, and a read-only lake that says so.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use lakectl::local::{Lake, LakeDir};

use super::{ok, put_key, run, seeded};
use crate::common::{PASSPHRASE, admin, files_under, kms, put};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lake_file_is_owner_only() {
    let (_dir, lake_path) = seeded();
    put_key(&lake_path, "k", b"body");
    // Opened, so that the WAL and its index exist.
    let lake = Lake::open(LakeDir::new(&lake_path), PASSPHRASE).unwrap();
    put(
        &lake.services(),
        &admin(),
        "bkt",
        "k2",
        b"x",
        kms("alias/k"),
    )
    .await
    .unwrap();
    let mut files = files_under(&lake_path);
    for name in [
        "lake.json",
        "meta.db",
        "meta.db-wal",
        "meta.db-shm",
        "audit.head",
    ] {
        assert!(files.contains(&lake_path.join(name)), "{name} is missing");
    }
    files.retain(|f| !f.starts_with(lake_path.join("tmp")));
    assert!(
        files
            .iter()
            .filter(|f| f.starts_with(lake_path.join("objects")))
            .count()
            >= 2
    );
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
        let mut dir = f.parent().unwrap();
        while dir.starts_with(&lake_path) {
            assert_eq!(mode(dir), 0o700, "{}", dir.display());
            dir = dir.parent().unwrap();
        }
    }
    drop(lake);

    // A lake made before this (every file 0644, every directory 0755) is made owner-only
    // when it is next opened, object files included.
    let open_up =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    for f in files_under(&lake_path) {
        open_up(&f, 0o644);
        let mut dir = f.parent().unwrap();
        while dir.starts_with(&lake_path) {
            open_up(dir, 0o755);
            dir = dir.parent().unwrap();
        }
    }
    let object = files
        .iter()
        .find(|f| f.starts_with(lake_path.join("objects")))
        .unwrap()
        .clone();
    assert_eq!(mode(&object), 0o644);
    drop(Lake::open(LakeDir::new(&lake_path), PASSPHRASE).unwrap());
    for f in files_under(&lake_path) {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
        assert_eq!(mode(f.parent().unwrap()), 0o700, "{}", f.display());
    }
    assert_eq!(mode(&lake_path), 0o700);
}

/// Copies a lake's directory as it is on disk now (a crash leaves it so).
fn copy_dir(from: &Path, to: &Path) {
    for f in files_under(from) {
        let target = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&f, &target).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_wal_is_caught_instead_of_losing_objects_silently() {
    let (dir, lake_path) = seeded();
    let lake = Lake::open(LakeDir::new(&lake_path), PASSPHRASE).unwrap();
    put(
        &lake.services(),
        &admin(),
        "bkt",
        "committed",
        b"x",
        kms("alias/k"),
    )
    .await
    .unwrap();
    // The process "crashes" here: its commits are in meta.db-wal, not yet in meta.db.
    let crashed = dir.path().join("crashed");
    copy_dir(&lake_path, &crashed);
    drop(lake);
    assert!(crashed.join("meta.db-wal").exists());

    // With its WAL, the crashed lake has the object.
    let whole = dir.path().join("whole");
    copy_dir(&crashed, &whole);
    let listed = ok(&whole, &["s3", "ls", "s3://bkt"]);
    assert_eq!(listed["Contents"][0]["Key"], "committed");

    // Without it, the lake does not open as if nothing happened.
    std::fs::remove_file(crashed.join("meta.db-wal")).unwrap();
    let _ = std::fs::remove_file(crashed.join("meta.db-shm"));
    for args in [&["s3", "ls", "s3://bkt"][..], &["audit", "verify"][..]] {
        let out = run(&crashed, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(254), "{args:?}: {err}");
        assert!(
            err.contains("AuditIntegrityException") && err.contains("lost committed changes"),
            "{err}"
        );
    }
    // The way on is the one the message names, and it is on the record.
    std::fs::remove_file(crashed.join("audit.head")).unwrap();
    assert_eq!(ok(&crashed, &["audit", "verify"])["Valid"], true);
    let events = ok(&crashed, &["audit", "list"]);
    assert!(
        events["Events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["EventName"] == "CreateAuditHeadFile"),
        "{events}"
    );
}

#[test]
fn an_altered_head_file_is_caught() {
    let (_dir, lake) = seeded();
    let head = lake.join("audit.head");
    let mut bytes = std::fs::read(&head).unwrap();
    assert_eq!(bytes.len(), 144, "two slots");
    // Each slot names an entry a step further on: without the key, neither verifies.
    for slot in [0, 72] {
        bytes[slot] = bytes[slot].wrapping_add(2);
    }
    std::fs::write(&head, bytes).unwrap();
    let out = run(&lake, &["s3", "ls"]);
    assert_eq!(out.status.code(), Some(254));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("audit.head was altered"), "{err}");
}

#[test]
fn a_read_only_lake_says_it_is_read_only() {
    let (_dir, lake) = seeded();
    let set =
        |m: u32, p: &Path| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    set(0o400, &lake.join("meta.db"));
    set(0o500, &lake);
    let out = run(&lake, &["s3", "ls"]);
    set(0o700, &lake);
    set(0o600, &lake.join("meta.db"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(253), "{err}");
    assert!(err.contains("the lake is read-only"), "{err}");
    assert!(err.contains("audit log"), "{err}");
    ok(&lake, &["s3", "ls"]);
}
