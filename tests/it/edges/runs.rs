//! Runs and waits: a crawl whose process was killed is reported FAILED and can start again;
//! `stop-crawler` stops a crawl; `--wait` exits 255 when what it waited for failed, and a
//! headless script stops there.

use std::time::{Duration, Instant};

use lakectl::local::{Lake, LakeDir};
use lakectl::service::Progress;
use lakectl::service::jobs::{CrawlerDefinition, RunState};
use serde_json::Value;

use super::{dir_file, lakectl, ok, run, seeded};
use crate::common::{PASSPHRASE, admin, eventually, settle};

/// A crawler over `n` folders, one small CSV each: a crawl that takes a while.
fn crawlable(lake: &std::path::Path, n: usize) {
    let src = dir_file(lake, "folders");
    for i in 0..n {
        let d = src.join(format!("t{i:04}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("part.csv"), format!("id,name\n{i},n{i}\n")).unwrap();
    }
    ok(
        lake,
        &[
            "s3",
            "cp",
            "--recursive",
            src.to_str().unwrap(),
            "s3://bkt/raw/",
        ],
    );
    ok(lake, &["glue", "create-database", "--name", "db"]);
    ok(
        lake,
        &[
            "glue",
            "create-crawler",
            "--name",
            "c",
            "--database",
            "db",
            "--target",
            "s3://bkt/raw/",
        ],
    );
}

fn last_crawl(lake: &std::path::Path) -> Value {
    ok(lake, &["glue", "get-crawler", "--name", "c"])["Crawler"].clone()
}

#[test]
fn a_crawl_whose_process_was_killed_is_failed_and_starts_again() {
    let (_dir, lake) = seeded();
    crawlable(&lake, 300);
    let mut crawling = lakectl(&lake)
        .args(["glue", "start-crawler", "--name", "c", "--wait"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Watch the store itself: asking through lakectl costs a process and a key derivation a
    // time, long enough for the crawl to end between two looks.
    let store = rusqlite::Connection::open_with_flags(
        lake.join("meta.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runner: Option<u32> = store
            .query_row("SELECT pid FROM crawlers WHERE name = 'c'", [], |r| {
                r.get(0)
            })
            .unwrap_or(None);
        if runner == Some(crawling.id()) {
            break;
        }
        assert!(Instant::now() < deadline, "the crawl never started");
        std::thread::sleep(Duration::from_millis(2));
    }
    crawling.kill().unwrap();
    crawling.wait().unwrap();
    let crawler = last_crawl(&lake);
    assert_eq!(crawler["State"], "READY", "{crawler}");
    assert_eq!(crawler["LastCrawl"]["Status"], "FAILED", "{crawler}");
    assert!(
        crawler["LastCrawl"]["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("ended before the crawl did"),
        "{crawler}"
    );
    // And it runs again, to the end.
    let done = ok(&lake, &["glue", "start-crawler", "--name", "c", "--wait"]);
    assert_eq!(
        done["Crawler"]["LastCrawl"]["Status"], "SUCCEEDED",
        "{done}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_crawler_stops_a_crawl_and_refuses_one_that_is_not_running() {
    let (_dir, lake_path) = seeded();
    crawlable(&lake_path, 60);
    let lake = Lake::open(LakeDir::new(&lake_path), PASSPHRASE).unwrap();
    let s = lake.services();
    let a = admin();
    let not_running = s.jobs.stop_crawler(&a, "c").await.unwrap_err();
    assert_eq!(not_running.code_name(), "CrawlerNotRunningException");
    s.jobs
        .start_crawler(&a, "c", Progress::default())
        .await
        .unwrap();
    s.jobs.stop_crawler(&a, "c").await.unwrap();
    let run = eventually("the stopped crawl to end", || async {
        let (_, last) = s.jobs.get_crawler(&a, "c").await.unwrap();
        last.filter(|l| l.state.is_finished())
    })
    .await;
    assert_eq!(run.state, RunState::Stopped, "{run:?}");
    assert!(run.tables_created.len() < 60, "it stopped before the end");
    // Glue's word for a stopped crawl, and a stopped crawler starts again.
    assert_eq!(last_crawl(&lake_path)["LastCrawl"]["Status"], "CANCELLED");
    let _: CrawlerDefinition = s.jobs.get_crawler(&a, "c").await.unwrap().0;
    s.jobs
        .start_crawler(&a, "c", Progress::default())
        .await
        .unwrap();
}

#[test]
fn a_failed_run_waited_for_exits_255_with_its_json() {
    let (_dir, lake) = seeded();
    // A job over a prefix with nothing in it fails.
    ok(
        &lake,
        &[
            "glue",
            "create-job",
            "--name",
            "j",
            "--source",
            "s3://bkt/empty/",
            "--target",
            "s3://bkt/out/",
        ],
    );
    let out = run(
        &lake,
        &["glue", "start-job-run", "--job-name", "j", "--wait"],
    );
    assert_eq!(out.status.code(), Some(255));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["JobRun"]["JobRunState"], "FAILED");

    ok(
        &lake,
        &[
            "athena",
            "create-work-group",
            "--name",
            "wg",
            "--output-location",
            "s3://bkt/results/",
        ],
    );
    let out = run(
        &lake,
        &[
            "athena",
            "start-query-execution",
            "--work-group",
            "wg",
            "--query-string",
            "select * from nosuch.t",
            "--wait",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(255),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["QueryExecution"]["Status"]["State"], "FAILED");

    // A headless script stops at the failed wait, with the run's answer on its line.
    let script = dir_file(&lake, "script.lake");
    std::fs::write(
        &script,
        "glue start-job-run --job-name j --wait\nglue get-jobs\n",
    )
    .unwrap();
    let out = run(&lake, &["--headless", "--script", script.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(255));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["ok"], false);
    assert_eq!(lines[0]["result"]["JobRun"]["JobRunState"], "FAILED");
}

#[test]
fn command_line_errors_are_json_when_json_is_asked_for() {
    let (_dir, lake) = seeded();
    let out = run(&lake, &["--output", "json", "kms", "no-such-operation"]);
    assert_eq!(out.status.code(), Some(252));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["Error"]["Code"], "ParamValidation");
    assert!(
        err["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("no-such-operation")
    );
    let out = run(&lake, &["s3", "ls", "--output=json", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(252));
    assert!(serde_json::from_slice::<Value>(&out.stderr).is_ok());
    // Without it, the usage text as before.
    let out = run(&lake, &["--output", "table", "kms", "no-such-operation"]);
    assert_eq!(out.status.code(), Some(252));
    assert!(serde_json::from_slice::<Value>(&out.stderr).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runs_pane_s_stop_key_stops_a_crawl() {
    use crossterm::event::KeyCode;
    use lakectl::tui::{App, Options};

    use crate::common::{kms, new_lake, put, seed};
    use crate::console::{press, screen};

    let t = new_lake();
    seed(&t).await;
    let (s, a) = (&t.services, admin());
    for i in 0..300 {
        let key = format!("raw/t{i:04}/part.csv");
        put(
            s,
            &a,
            "data",
            &key,
            format!("id\n{i}\n").as_bytes(),
            kms("alias/test"),
        )
        .await
        .unwrap();
    }
    s.catalog.create_database(&a, "db", None).await.unwrap();
    let crawler = CrawlerDefinition {
        name: "c".into(),
        database_name: "db".into(),
        targets: vec!["s3://data/raw/".into()],
        security_configuration: None,
        update_behavior: "UPDATE_IN_DATABASE".into(),
        table_prefix: None,
        role: "admin".into(),
    };
    s.jobs.create_crawler(&a, crawler).await.unwrap();
    s.jobs
        .start_crawler(&a, "c", Progress::default())
        .await
        .unwrap();
    let mut app = App::new(s.clone(), a.clone(), Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('S'));
    let confirm = screen(&mut app);
    assert!(confirm.contains("glue stop-crawler --name c"), "{confirm}");
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    let state = eventually("the crawl stopped from the console to end", || async {
        let (_, last) = s.jobs.get_crawler(&a, "c").await.unwrap();
        last.filter(|l| l.state.is_finished()).map(|l| l.state)
    })
    .await;
    assert_eq!(state, RunState::Stopped);
}
