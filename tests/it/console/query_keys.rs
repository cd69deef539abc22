//! The Query pane's history (`[` older, `]` newer, back to an empty editor past the newest) and
//! `x` stopping a query that is at work: the query ends CANCELLED in the lake, not only on screen.

use crossterm::event::KeyCode;

use lakectl::service::query::QueryState;
use lakectl::tui::{App, Options};

use super::{ctrl, press, screen, type_text};
use crate::common::*;
use crate::query::{T, demo_lake};

/// Replaces the editor's text with `sql` and runs it.
async fn run_sql(app: &mut App, sql: &str) {
    press(app, KeyCode::Char('e'));
    app.query.set_sql("");
    type_text(app, sql);
    ctrl(app, 'r');
    settle(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_steps_through_earlier_queries_and_x_stops_a_running_one() {
    let t = demo_lake().await;
    let a = admin();
    let mut app = App::new(t.services.clone(), a.clone(), Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('6'));
    let first = format!("SELECT count(*) FROM {T}");
    let second = format!("SELECT max(price) FROM {T}");
    run_sql(&mut app, &first).await;
    run_sql(&mut app, &second).await;
    // The same query again moves to the newest place rather than appearing twice.
    run_sql(&mut app, &first).await;
    assert_eq!(app.query.history, [second.clone(), first.clone()]);

    press(&mut app, KeyCode::Char('['));
    assert_eq!(app.query.sql(), first);
    press(&mut app, KeyCode::Char('['));
    assert_eq!(app.query.sql(), second);
    press(&mut app, KeyCode::Char('['));
    assert_eq!(app.query.sql(), second, "the oldest stays put");
    press(&mut app, KeyCode::Char(']'));
    assert_eq!(app.query.sql(), first);
    press(&mut app, KeyCode::Char(']'));
    assert_eq!(app.query.sql(), "", "past the newest: an empty editor");

    // A join that runs for minutes: started from the pane, stopped with x once it is at work.
    let heavy = format!("SELECT sum(a.price * b.quantity - c.price) FROM {T} a, {T} b, {T} c");
    press(&mut app, KeyCode::Char('e'));
    type_text(&mut app, &heavy);
    ctrl(&mut app, 'r');
    let q = &t.services.query;
    let id = eventually("the console's query to run", || async {
        let ids = q.list_query_executions(&a, None).await.ok()?;
        for id in ids {
            let e = q.get_query_execution(&a, &id).await.ok()?;
            if e.query == heavy && e.status.state == QueryState::Running {
                return Some(id);
            }
        }
        None
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    press(&mut app, KeyCode::Char('x'));
    // A console that ignored x would wait on the join for minutes: give it seconds.
    tokio::time::timeout(std::time::Duration::from_secs(30), app.settle())
        .await
        .expect("x stopped the query within 30 s");
    assert_eq!(
        q.get_query_execution(&a, &id).await.unwrap().status.state,
        QueryState::Cancelled
    );
    let s = screen(&mut app);
    assert!(s.contains("Cancelled") || s.contains("CANCELLED"), "{s}");
    assert!(app.query.running.is_none());
}
