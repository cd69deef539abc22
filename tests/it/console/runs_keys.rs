//! The Runs pane's `S`: a job run under way is stopped from the keyboard, behind a confirmation
//! that shows the command, and ends STOPPED having read only part of its input.

use crossterm::event::KeyCode;

use lakectl::service::Progress;
use lakectl::service::jobs::RunState;

use super::{demo_like, press, press_n, screen};
use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_stops_a_job_run_under_way() {
    let (t, mut app) = demo_like().await;
    let a = admin();
    let lines: String = (0..600_000)
        .map(|i| format!("{{\"id\": {i}, \"note\": \"line {i}\"}}\n"))
        .collect();
    put(
        &t.services,
        &a,
        "data",
        "big/lines.json",
        lines.as_bytes(),
        kms("alias/test"),
    )
    .await
    .unwrap();
    t.services
        .catalog
        .create_security_configuration(&a, "sc", "alias/test")
        .await
        .unwrap();
    let def = lakectl::service::jobs::JobDefinition {
        security_configuration: Some("sc".into()),
        ..job_definition("big", "s3://data/big/", "s3://data/bigout/")
    };
    t.services.jobs.create_job(&a, def).await.unwrap();
    let progress = Progress::default();
    let id = t
        .services
        .jobs
        .start_job_run(&a, "big", progress.clone())
        .await
        .unwrap();
    until_reading(&t.services, "big", &id, &progress).await;

    press(&mut app, KeyCode::Char('4'));
    app.refresh();
    settle(&mut app).await;
    let row = app
        .runs
        .visible()
        .iter()
        .position(|r| r.name == "big")
        .unwrap_or_else(|| panic!("the run is listed: {}", screen(&mut app)));
    press_n(&mut app, KeyCode::Down, row);
    press(&mut app, KeyCode::Char('S'));
    let Some(asked) = app.confirmation().map(str::to_string) else {
        panic!("no confirmation: {}", screen(&mut app));
    };
    assert!(
        asked.contains(&format!(
            "glue batch-stop-job-run --job-name big --job-run-ids {id}"
        )),
        "{asked}"
    );
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    let run = wait_for_run(&t.services, "big", &id).await;
    assert_eq!(
        run.job_run_state,
        RunState::Stopped,
        "{:?}",
        run.error_message
    );
    assert!(
        progress.done() < progress.total(),
        "the run read everything"
    );
}
