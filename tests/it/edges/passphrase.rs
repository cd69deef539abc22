//! The README's promises about the passphrase: it comes from `--passphrase-file`, then
//! `$LAKECTL_PASSPHRASE`, then a prompt, and never from the command line; a wrong or unreadable
//! one is a clear error that does not repeat it; the file is read within a budget.

use std::process::Command;

use super::ok;
use crate::common::PASSPHRASE;

fn bare(lake: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lakectl"));
    c.env("LAKECTL_LAKE", lake)
        .env("LAKECTL_CONFIG", lake.with_extension("no-config.toml"))
        .env_remove("LAKECTL_PASSPHRASE")
        .env_remove("LAKECTL_PRINCIPAL")
        .stdin(std::process::Stdio::null());
    c
}

fn said(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_passphrase_comes_from_a_file_or_the_environment_never_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ok(&lake, &["init"]);
    let file = dir.path().join("pass");
    let list = ["kms", "list-keys"];

    // The file's passphrase, its newline trimmed, opens the lake.
    std::fs::write(&file, format!("{PASSPHRASE}\n")).unwrap();
    let out = bare(&lake)
        .arg("--passphrase-file")
        .arg(&file)
        .args(list)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));

    // Given both, the flag on this command line wins over the environment.
    let out = bare(&lake)
        .env("LAKECTL_PASSPHRASE", "not it")
        .arg("--passphrase-file")
        .arg(&file)
        .args(list)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));

    // A wrong one is refused, without being repeated.
    std::fs::write(&file, "hunter2-wrong-phrase").unwrap();
    let out = bare(&lake)
        .arg("--passphrase-file")
        .arg(&file)
        .args(list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(253), "{}", said(&out));
    assert!(said(&out).contains("wrong passphrase"), "{}", said(&out));
    assert!(!said(&out).contains("hunter2"), "{}", said(&out));

    // A missing file is named; one that never ends is refused within its budget.
    let out = bare(&lake)
        .arg("--passphrase-file")
        .arg(dir.path().join("nowhere"))
        .args(list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(253), "{}", said(&out));
    assert!(said(&out).contains("nowhere"), "{}", said(&out));
    let out = bare(&lake)
        .args(["--passphrase-file", "/dev/zero"])
        .args(list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(253), "{}", said(&out));
    assert!(
        said(&out).contains("longer than 4096 bytes"),
        "{}",
        said(&out)
    );

    // No source and no terminal: the error says how to give it.
    let out = bare(&lake).args(list).output().unwrap();
    assert_eq!(out.status.code(), Some(253), "{}", said(&out));
    assert!(
        said(&out).contains("LAKECTL_PASSPHRASE") && said(&out).contains("--passphrase-file"),
        "{}",
        said(&out)
    );

    // There is no flag that takes the passphrase itself.
    for flag in ["--passphrase", "--password"] {
        let out = bare(&lake)
            .args([flag, PASSPHRASE])
            .args(list)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(252), "{flag}: {}", said(&out));
    }
}
