//! A rule's deliveries in the Runs pane: `enter` on the rule lists its recent deliveries beside
//! the failed ones with why they failed; `R` replays the one selected, behind a confirmation
//! naming the event, and only that one; the read-only console offers no replay.

use crossterm::event::KeyCode;
use lakectl::service::events::{RetryPolicy, RuleState, Target};
use lakectl::service::jobs::CrawlerDefinition;
use lakectl::tui::{App, Options};

use super::{press, press_n, screen};
use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failed_delivery_is_replayed_when_confirmed_and_the_others_stay_failed() {
    let t = new_lake();
    seed(&t).await;
    let (a, s) = (admin(), &t.services);
    s.events
        .put_rule(
            &a,
            "uploads",
            r#"{"source":["aws.s3"],"detail":{"object":{"key":[{"prefix":"raw/"}]}}}"#,
            RuleState::Enabled,
            None,
        )
        .await
        .unwrap();
    let target = Target {
        id: "crawl".into(),
        arn: format!("arn:aws:glue:local:{}:crawler/raw", t.lake.account_id()),
        input: None,
        retry_policy: Some(RetryPolicy {
            maximum_retry_attempts: 0,
        }),
        role_arn: None,
        dead_letter_config: None,
    };
    s.events
        .put_targets(&a, "uploads", vec![target])
        .await
        .unwrap();
    // The crawler does not exist yet: both deliveries fail and are kept.
    for key in ["raw/t/a.csv", "raw/t/b.csv"] {
        put(s, &a, "data", key, b"id\n1\n", kms("alias/test"))
            .await
            .unwrap();
    }
    s.events.deliver_emitted().await;
    let failed = s.events.list_failed_deliveries(&a, None).await.unwrap();
    assert_eq!(failed.len(), 2, "{failed:?}");

    // Read-only: the deliveries are shown, the replay is not offered.
    let mut app = App::new(s.clone(), a.clone(), Options { readonly: true });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    let view = screen(&mut app);
    assert!(
        view.contains("Rule uploads: recent deliveries (2, 2 failed)") && !view.contains("replay"),
        "{view}"
    );
    press(&mut app, KeyCode::Char('R'));
    assert!(app.popup.is_none());

    s.catalog.create_database(&a, "db", None).await.unwrap();
    s.jobs
        .create_crawler(
            &a,
            CrawlerDefinition {
                name: "raw".into(),
                database_name: "db".into(),
                targets: vec!["s3://data/raw/".into()],
                security_configuration: None,
                update_behavior: "UPDATE_IN_DATABASE".into(),
                table_prefix: None,
                role: "admin".into(),
            },
        )
        .await
        .unwrap();
    let mut app = App::new(s.clone(), a.clone(), Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('4'));
    // The crawler is listed now too: go to the rule's row.
    let rule = app
        .runs
        .visible()
        .iter()
        .position(|r| r.name == "uploads")
        .unwrap();
    press_n(&mut app, KeyCode::Down, rule);
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    let view = super::screen_of(&mut app, 220, 24);
    assert!(
        view.contains("FAILED")
            && view.contains("EntityNotFoundException")
            && view.contains("Object Created"),
        "{view}"
    );
    // The second row: replay that one only.
    press_n(&mut app, KeyCode::Down, 1);
    let chosen = app
        .deliveries
        .as_ref()
        .and_then(|d| d.list.selected())
        .map(|d| d.delivery.event_id.clone())
        .unwrap();
    press(&mut app, KeyCode::Char('R'));
    let asked = app.confirmation().unwrap_or_default().to_string();
    assert!(
        asked.contains(&format!(
            "lakectl events replay-failed-deliveries --rule uploads --event-id {chosen}"
        )) && asked.contains("EntityNotFoundException"),
        "{asked}"
    );
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    let deliveries = eventually("the replayed delivery", || async {
        let d = s
            .events
            .list_deliveries(&a, Some("uploads"), 10)
            .await
            .unwrap();
        d.iter()
            .any(|d| d.event_id == chosen && d.state == "DELIVERED")
            .then_some(d)
    })
    .await;
    let still_failed: Vec<String> = s
        .events
        .list_failed_deliveries(&a, None)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.event_id)
        .collect();
    assert_eq!(still_failed.len(), 1, "{deliveries:?}");
    assert_ne!(still_failed[0], chosen);
    // The view says so after the job's refresh; esc goes back to the runs.
    let view = screen(&mut app);
    assert!(
        view.contains("(2, 1 failed)") && view.contains("DELIVERED"),
        "{view}"
    );
    press(&mut app, KeyCode::Esc);
    assert!(screen(&mut app).contains("Jobs, crawlers and rules"));
    // A delivered one is not replayed: the status line says why.
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    let at = app
        .deliveries
        .as_ref()
        .unwrap()
        .list
        .visible()
        .iter()
        .position(|d| d.delivery.state == "DELIVERED")
        .unwrap();
    press_n(&mut app, KeyCode::Up, 5);
    press_n(&mut app, KeyCode::Down, at);
    press(&mut app, KeyCode::Char('R'));
    assert!(app.popup.is_none());
    assert!(
        app.message
            .clone()
            .unwrap_or_default()
            .contains("only a failed one is replayed")
    );
}
