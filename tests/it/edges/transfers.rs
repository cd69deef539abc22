//! Keys are written by whoever may put, so a recursive download never lets one land outside its
//! destination; uploads do not follow symlink loops; `-` carries the object only; a download's
//! temporary file is owner-only and never left behind.

use std::os::unix::fs::PermissionsExt;

use super::{lakectl, ok, put_key, run, seeded};
use crate::common::files_under;

#[test]
fn a_recursive_download_skips_keys_that_would_land_outside_it() {
    let (dir, lake) = seeded();
    let outside = dir.path().join("tmp").join("x").join("ESCAPED.sh");
    // From dl/analyst/, two levels up is the test's own directory.
    let hostile = "analyst/../../tmp/x/ESCAPED.sh".to_string();
    put_key(&lake, &hostile, b"#!/bin/sh\necho pwned\n");
    put_key(&lake, "/abs/ABSOLUTE.sh", b"abs");
    put_key(&lake, "a//EMPTY.sh", b"empty");
    put_key(&lake, "a/./DOT.sh", b"dot");
    put_key(&lake, "good/data.csv", b"id\n1\n");
    put_key(&lake, "zzz.csv", b"last");
    let dl = dir.path().join("dl");
    let out = run(
        &lake,
        &["s3", "cp", "--recursive", "s3://bkt/", dl.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The AWS CLI's code for "some files were skipped"; the rest was downloaded.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        !outside.exists(),
        "the key escaped to {}",
        outside.display()
    );
    let landed: Vec<_> = files_under(dir.path())
        .into_iter()
        .filter(|p| !p.starts_with(&lake) && p.extension().is_some_and(|e| e == "sh"))
        .collect();
    assert!(landed.is_empty(), "{landed:?}");
    assert_eq!(std::fs::read(dl.join("good/data.csv")).unwrap(), b"id\n1\n");
    assert_eq!(std::fs::read(dl.join("zzz.csv")).unwrap(), b"last");
    for key in [
        hostile.as_str(),
        "/abs/ABSOLUTE.sh",
        "a//EMPTY.sh",
        "a/./DOT.sh",
    ] {
        assert!(
            stderr.contains(&format!("warning: skipping s3://bkt/{key}")),
            "no warning for {key}: {stderr}"
        );
    }
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["Skipped"].as_array().unwrap().len(), 4);
    assert_eq!(answer["Transfers"].as_array().unwrap().len(), 2);
}

#[test]
fn a_symlink_in_the_destination_does_not_carry_a_download_out() {
    let (dir, lake) = seeded();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let dl = dir.path().join("dl");
    std::fs::create_dir(&dl).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dl.join("link")).unwrap();
    put_key(&lake, "link/planted", b"x");
    let out = run(
        &lake,
        &["s3", "cp", "--recursive", "s3://bkt/", dl.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!elsewhere.join("planted").exists());
}

#[test]
fn a_recursive_upload_does_not_follow_a_symlink_loop() {
    let (dir, lake) = seeded();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("sub/a.txt"), b"a").unwrap();
    std::os::unix::fs::symlink(&src, src.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(src.join("nowhere"), src.join("broken")).unwrap();
    let out = run(
        &lake,
        &[
            "s3",
            "cp",
            "--recursive",
            src.to_str().unwrap(),
            "s3://bkt/up/",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("loop"), "{stderr}");
    let listed = ok(&lake, &["s3", "ls", "--recursive", "s3://bkt/up/"]);
    let keys: Vec<&str> = listed["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["up/sub/a.txt"]);
}

#[test]
fn cp_to_stdout_writes_the_object_and_nothing_else() {
    let (_dir, lake) = seeded();
    put_key(&lake, "three", b"abc");
    let out = run(&lake, &["s3", "cp", "s3://bkt/three", "-"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, b"abc");
    let out = run(
        &lake,
        &["--output", "table", "s3", "cp", "s3://bkt/three", "-"],
    );
    assert_eq!(out.stdout, b"abc");
}

#[test]
fn a_download_that_cannot_be_renamed_leaves_no_temporary_file() {
    let (dir, lake) = seeded();
    put_key(&lake, "k", b"secret bytes");
    // The final name is a directory that is not empty: the rename fails. (`s3 cp` into the
    // directory `out/k` lands at `out/k/k`.)
    let dest = dir.path().join("out");
    std::fs::create_dir_all(dest.join("k/k")).unwrap();
    std::fs::write(dest.join("k/k/keep"), b"").unwrap();
    for (args, folder) in [
        (
            vec!["s3", "cp", "s3://bkt/k", dest.join("k").to_str().unwrap()],
            dest.join("k"),
        ),
        (
            vec![
                "s3api",
                "get-object",
                "--bucket",
                "bkt",
                "--key",
                "k",
                dest.join("k").to_str().unwrap(),
            ],
            dest.clone(),
        ),
    ] {
        let out = lakectl(&lake).args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let left: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["k"], "{args:?} left {left:?}");
    }
}

#[test]
fn a_download_s_temporary_file_is_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    let partial = lakectl::cli::local_files::PartialDownload::begin(&dest).unwrap();
    let temp: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(temp.len(), 1);
    let mode = temp[0].metadata().unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    drop(partial);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
