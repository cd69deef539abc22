//! Workflows in the Runs pane: a workflow's row names its nodes in the order they run, `s`
//! starts a run behind a confirmation, and `enter` shows the run's graph, read again on the
//! console's clock while the run is under way: every node with its state and times, every edge
//! with its condition, and for a node that never ran, why.

use std::time::Duration;

use crossterm::event::KeyCode;
use lakectl::tui::{App, Options};

use super::{press, press_n, screen, until_shown};
use crate::common::*;
use crate::workflows::{crawler, job, ok, workflow_lake};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_run_s_graph_shows_states_times_and_conditions_live() {
    let t = workflow_lake().await;
    crawler(&t, "raw", "s3://data/raw/").await;
    job(&t, "to-processed", "s3://data/raw/", "s3://data/processed/").await;
    crawler(&t, "processed", "s3://data/processed/").await;
    crawler(&t, "cleanup", "s3://data/processed/").await;
    ok(&t, "glue create-workflow --name pipeline").await;
    ok(&t, "glue create-trigger --name start --workflow-name pipeline --type ON_DEMAND --actions CrawlerName=raw").await;
    ok(&t, "glue create-trigger --name after-raw --workflow-name pipeline --type CONDITIONAL --start-on-creation --actions JobName=to-processed --predicate 'Logical=AND,Conditions=[{LogicalOperator=EQUALS,CrawlerName=raw,CrawlState=SUCCEEDED}]'").await;
    ok(&t, "glue create-trigger --name after-job --workflow-name pipeline --type CONDITIONAL --start-on-creation --actions CrawlerName=processed --predicate 'Logical=AND,Conditions=[{LogicalOperator=EQUALS,JobName=to-processed,State=SUCCEEDED}]'").await;
    ok(&t, "glue create-trigger --name on-failure --workflow-name pipeline --type CONDITIONAL --start-on-creation --actions CrawlerName=cleanup --predicate 'Logical=AND,Conditions=[{LogicalOperator=EQUALS,JobName=to-processed,State=FAILED}]'").await;

    let mut app = App::new(t.services.clone(), admin(), Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('4'));
    let at = app
        .runs
        .visible()
        .iter()
        .position(|r| r.name == "pipeline")
        .unwrap_or_else(|| panic!("the workflow is listed: {}", screen(&mut app)));
    press_n(&mut app, KeyCode::Down, at);
    let row = app.runs.selected().unwrap().clone();
    assert_eq!(row.route, "raw → to-processed → processed → cleanup");
    assert!(row.state.is_none(), "never run: {row:?}");

    // Before any run, enter shows the definition's graph.
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    let definition = super::screen_of(&mut app, 160, 50);
    assert!(
        definition.contains("never run")
            && definition.contains("→ starts crawler raw")
            && definition.contains("→ trigger after-raw when CrawlState = SUCCEEDED"),
        "{definition}"
    );
    press(&mut app, KeyCode::Esc);

    press(&mut app, KeyCode::Char('s'));
    let asked = app.confirmation().unwrap_or_default().to_string();
    assert!(
        asked.contains("lakectl glue start-workflow-run --name pipeline"),
        "{asked}"
    );
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    app.refresh();
    settle(&mut app).await;
    press(&mut app, KeyCode::Enter);
    // No key pressed from here: the popup reads the run again until it has ended.
    let graph = until_shown(
        &mut app,
        (160, 50),
        "the run's graph to show it ended",
        Duration::from_secs(90),
        |s| s.contains("· COMPLETED ") && s.contains("crawler processed  SUCCEEDED"),
    )
    .await;
    for needle in [
        "◆ trigger start ON_DEMAND  fired",
        "→ starts crawler raw",
        "crawler raw  SUCCEEDED",
        "→ trigger after-raw when CrawlState = SUCCEEDED",
        "job to-processed  SUCCEEDED",
        "→ trigger after-job when State = SUCCEEDED",
        "→ trigger on-failure when State = FAILED",
        "trigger on-failure CONDITIONAL  not fired",
        "crawler cleanup  not started",
        "why: ",
        "3 actions: 3 succeeded, 0 failed",
    ] {
        assert!(graph.contains(needle), "{needle}:\n{graph}");
    }
    // Each node that ran has its start and end times.
    let raw = graph
        .lines()
        .find(|l| l.contains("crawler raw  SUCCEEDED"))
        .unwrap();
    assert!(raw.contains(" → ") && raw.contains(" s)"), "{raw}");
    assert!(
        !graph.contains("live, read every second"),
        "an ended run is not read again: {graph}"
    );
    press(&mut app, KeyCode::Esc);
    assert!(app.popup.is_none());
    let runs = until_shown(
        &mut app,
        (160, 24),
        "the run's row",
        Duration::from_secs(10),
        |s| s.contains("COMPLETED"),
    )
    .await;
    assert!(
        runs.contains("3 actions · 3 succeeded · 0 failed"),
        "{runs}"
    );
}
