//! An object key carrying terminal escapes reaches no terminal raw: not through a table, an
//! error on stderr, JSON, or the console.

use crossterm::event::KeyCode;
use lakectl::tui::{App, Options};

use super::{put_key, run, seeded};
use crate::common::*;
use crate::console::{press, screen};

/// Recolours, retitles the window and rings; then a bidi override, DEL and a C1 CSI.
const HOSTILE: &str = "\x1b[31mred\x1b]0;pwned\x07\u{202e}gpj.exe\x7f\u{9b}2J";

fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

#[test]
fn a_table_shows_escapes_instead_of_obeying_them() {
    let (_dir, lake) = seeded();
    put_key(&lake, HOSTILE, b"x");
    let out = run(
        &lake,
        &["--output", "table", "s3", "ls", "--recursive", "s3://bkt"],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text:?}");
    assert!(text.contains("␛[31mred␛]0;pwned␇"), "{text}");
}

#[test]
fn json_escapes_del_c1_and_bidi_too() {
    let (_dir, lake) = seeded();
    put_key(&lake, HOSTILE, b"x");
    let out = run(
        &lake,
        &["--output", "json", "s3", "ls", "--recursive", "s3://bkt"],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text:?}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["Contents"][0]["Key"], HOSTILE,
        "the same string once parsed"
    );
}

#[test]
fn an_error_on_stderr_carries_no_raw_escape() {
    let (_dir, lake) = seeded();
    for format in ["table", "json"] {
        let out = run(
            &lake,
            &[
                "--output",
                format,
                "s3api",
                "head-object",
                "--bucket",
                HOSTILE,
                "--key",
                HOSTILE,
            ],
        );
        assert!(!out.status.success());
        let text = String::from_utf8(out.stderr).unwrap();
        assert!(!text.is_empty());
        assert_eq!(
            raw_controls(text.trim_end()),
            Vec::<char>::new(),
            "{format}: {text:?}"
        );
    }
    // A command line that does not parse quotes the argument: inert too.
    let out = run(&lake, &["--output", "table", "kms", HOSTILE]);
    assert_eq!(out.status.code(), Some(252));
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(text.contains("\\u{202e}"), "{text:?}");
    assert_eq!(
        raw_controls(text.trim_end()),
        Vec::<char>::new(),
        "{text:?}"
    );
    // A warning (a key skipped on download) too.
    put_key(&lake, &format!("../{HOSTILE}"), b"x");
    let dl = lake.parent().unwrap().join("dl");
    let out = run(
        &lake,
        &["s3", "cp", "--recursive", "s3://bkt/", dl.to_str().unwrap()],
    );
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(text.contains("warning: skipping"), "{text}");
    assert_eq!(
        raw_controls(text.trim_end()),
        Vec::<char>::new(),
        "{text:?}"
    );
}

#[tokio::test]
async fn the_console_draws_no_raw_escape() {
    let t = new_lake();
    seed(&t).await;
    put(
        &t.services,
        &admin(),
        "data",
        HOSTILE,
        b"x",
        kms("alias/test"),
    )
    .await
    .unwrap();
    let mut app = App::new(t.services.clone(), admin(), Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    let drawn = screen(&mut app);
    assert!(drawn.contains("red"), "the key is listed: {drawn}");
    assert_eq!(raw_controls(&drawn), Vec::<char>::new(), "{drawn:?}");
}
