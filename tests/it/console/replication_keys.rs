//! Replication tasks in the Runs pane, against a real PostgreSQL server: the task is listed
//! READY, `s` starts it behind a confirmation naming the exact `dms` command, the row follows
//! it live (state, rows loaded, then the inserts CDC brings), `enter` shows each table's
//! statistics, and `S` stops it behind its own confirmation. The database's password never
//! reaches the screen.

use std::time::Duration;

use crossterm::event::KeyCode;
use lakectl::tui::{App, Options};

use super::{press, press_n, screen, until_shown};
use crate::common::*;
use crate::dms::{StopOnDrop, endpoints, lake_for, ok, stat, stats};
use crate::postgres::database;

const ALL_TABLES: &str = r#"{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"all","object-locator":{"schema-name":"public","table-name":"%"},"rule-action":"include"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replication_task_starts_shows_its_tables_live_and_stops_behind_confirmations() {
    let db = database("console");
    db.sql(
        "CREATE TABLE bank(id int4 PRIMARY KEY, name text, iban text);
         CREATE TABLE branch(id int4 PRIMARY KEY, city text);
         INSERT INTO bank VALUES (1, 'First Bank', 'GB82WEST12345698765432');
         INSERT INTO branch VALUES (1, 'Leeds'), (2, 'York');",
    );
    let t = lake_for(&db).await;
    endpoints(&t, &db, "csv").await;
    ok(
        &t,
        &[
            "dms",
            "create-replication-task",
            "--replication-task-identifier",
            "ongoing",
            "--source-endpoint-arn",
            "source",
            "--target-endpoint-arn",
            "lake",
            "--migration-type",
            "full-load-and-cdc",
            "--table-mappings",
            ALL_TABLES,
        ],
    )
    .await;
    let _stop = StopOnDrop(t.lake.clone(), "ongoing");
    let mut app = App::new(t.services.clone(), admin(), Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('4'));
    let at = app
        .runs
        .visible()
        .iter()
        .position(|r| r.name == "ongoing")
        .unwrap_or_else(|| panic!("the task is listed: {}", screen(&mut app)));
    press_n(&mut app, KeyCode::Down, at);
    let row = app.runs.selected().unwrap().clone();
    assert_eq!(row.kind, lakectl::tui::app::RunKind::ReplicationTask);
    assert_eq!(row.state_label.as_deref(), Some("READY"));
    assert_eq!(row.route, "source (postgres) → s3://data/raw/ (csv)");
    let arn = row.run_id.clone().unwrap();
    let listed = screen(&mut app);
    assert!(
        listed.contains("dms task") && listed.contains("READY"),
        "{listed}"
    );

    // s: asks first, showing the command; a task that never ran starts from the beginning.
    press(&mut app, KeyCode::Char('s'));
    let asked = app.confirmation().unwrap_or_default().to_string();
    assert!(
        asked.contains(&format!(
            "lakectl dms start-replication-task --replication-task-arn {arn} --start-replication-task-type start-replication"
        )),
        "{asked}"
    );
    // Declined: the task stays ready.
    press(&mut app, KeyCode::Char('n'));
    settle(&mut app).await;
    let tasks = ok(&t, &["dms", "describe-replication-tasks"]).await;
    assert_eq!(tasks["ReplicationTasks"][0]["Status"], "ready");
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;

    // The row follows the task on the console's own clock: running, both tables loaded.
    let size = (200, 24);
    until_shown(
        &mut app,
        size,
        "the full load in the row",
        Duration::from_secs(60),
        |s| s.contains("RUNNING") && s.contains("2 tables · 3 loaded · 0 ins"),
    )
    .await;
    // Changes arrive as CDC counts, without a key pressed.
    db.sql(
        "INSERT INTO bank VALUES (2, 'Second Bank', 'DE89370400440532013000');
         INSERT INTO branch VALUES (3, 'Hull');
         UPDATE branch SET city = 'Bradford' WHERE id = 1;
         DELETE FROM branch WHERE id = 2;",
    );
    let live = until_shown(
        &mut app,
        size,
        "the changes in the row",
        Duration::from_secs(60),
        |s| s.contains("2 ins · 1 upd · 1 del"),
    )
    .await;
    assert!(live.contains("latency"), "{live}");

    // enter: each table's statistics, as describe-table-statistics gives them.
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    let tables = super::screen_of(&mut app, 160, 40);
    let s = stats(&t, "ongoing").await;
    assert_eq!(stat(&s, "branch")["Inserts"], 1);
    for needle in [
        "table statistics",
        "public.bank",
        "public.branch",
        "Rows loaded",
        "Table completed",
        "Latency (source commit → change file in the lake)",
    ] {
        assert!(tables.contains(needle), "{needle}: {tables}");
    }
    let branch = tables
        .lines()
        .find(|l| l.contains("public.branch"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // Rows loaded 2, then 1 insert, 1 update, 1 delete.
    assert!(branch.contains("Table completed 2 1 1 1"), "{branch}");
    press(&mut app, KeyCode::Esc);

    // S: stops it behind a confirmation that shows the command.
    press(&mut app, KeyCode::Char('S'));
    let asked = app.confirmation().unwrap_or_default().to_string();
    assert!(
        asked.contains(&format!(
            "lakectl dms stop-replication-task --replication-task-arn {arn}"
        )),
        "{asked}"
    );
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    let stopped = until_shown(
        &mut app,
        size,
        "the stopped task",
        Duration::from_secs(60),
        |s| s.contains("STOPPED"),
    )
    .await;
    assert!(!stopped.contains(&db.password), "{stopped}");
    // Started again, it resumes from its last committed change.
    press(&mut app, KeyCode::Char('s'));
    let asked = app.confirmation().unwrap_or_default().to_string();
    assert!(
        asked.contains("--start-replication-task-type resume-processing"),
        "{asked}"
    );
    press(&mut app, KeyCode::Char('n'));
}
