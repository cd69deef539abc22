//! The console on lakectl's AWS backend pointed at the lake server, as the analyst's access key:
//! the whole app over the wire (STS for who it is, S3 for the buckets, Athena for the query), and
//! the server's enforcement is what the analyst sees: the query answers only the granted column.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lakectl::service::Principal;
use lakectl::tui::{App, Options};

use super::Server;
use crate::common::settle;
use crate::console::{press, screen, type_text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analysts_console_through_the_server_shows_only_what_it_was_granted() {
    let server = Server::start_demo();
    let keys = server.keys_for("analyst");
    let services = server.aws_backend(&keys).await;
    let mut app = App::new(
        services,
        Principal::new("analyst"),
        Options { readonly: false },
    );
    settle(&mut app).await;

    let first = screen(&mut app);
    let status = first
        .lines()
        .find(|l| l.starts_with(" aws "))
        .unwrap_or_else(|| panic!("no status bar in\n{first}"));
    assert!(status.contains(":user/analyst"), "{status}");

    press(&mut app, KeyCode::Char('6'));
    press(&mut app, KeyCode::Char('e'));
    type_text(
        &mut app,
        "SELECT * FROM \"lakeformation-glue-catalog-db\".processed ORDER BY symbol LIMIT 5",
    );
    app.handle_key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL));
    settle(&mut app).await;
    let results = screen(&mut app);
    assert!(results.contains("SUCCEEDED"), "{results}");
    assert!(results.contains("symbol"), "{results}");
    for hidden in ["price", "trader", "quantity"] {
        assert!(!results.contains(hidden), "{hidden} shown:\n{results}");
    }
    insta::with_settings!({filters => vec![
        (r"\d{12}", "[account]"),
        (r"127\.0\.0\.1:\d+", "[server]"),
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f-]+", "[id]"),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[date          ]"),
        (r"in \d+ ms", "in [ms]"),
        (r"results in s3://\S+", "results in [location]"),
        (r"\d+(\.\d+)? (B|KiB|MiB) scanned", "[bytes] scanned"),
    ]}, {
        insta::assert_snapshot!("server_console_query", results);
    });
}
