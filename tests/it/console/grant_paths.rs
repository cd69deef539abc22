//! The grant editor's other roads: every column but some, with the grant option; a data cells
//! filter; a tag expression; and the Grants pane's `/` filter. Each grant made from the keyboard
//! is then checked by what its principal's query returns, not by what the screen says.

use crossterm::event::KeyCode;

use lakectl::service::access::{DataCellsFilter, RowFilter};

use super::{press, press_n, screen, type_text};
use crate::common::*;
use crate::query::{demo_lake, new_principal, query};
use lakectl::tui::{App, Options};

const DB: &str = "lakeformation-glue-catalog-db";

/// Step 1 of the editor: `who`, the processed table, and the `what`-th way to grant.
fn start_grant(app: &mut App, who: &str, what: usize) {
    press(app, KeyCode::Char('g'));
    let at = app
        .principals
        .iter()
        .position(|p| p.user_name == who)
        .unwrap();
    press_n(app, KeyCode::Right, at);
    press(app, KeyCode::Tab);
    let table = app
        .grants
        .tables
        .iter()
        .position(|t| t.name == "processed")
        .unwrap();
    press_n(app, KeyCode::Right, table);
    press(app, KeyCode::Tab);
    press_n(app, KeyCode::Right, what);
    press(app, KeyCode::Enter);
}

fn confirm_with(app: &mut App, said: &[&str]) {
    let Some(asked) = app.confirmation().map(str::to_string) else {
        panic!("no confirmation: {}", screen(app));
    };
    for part in said {
        assert!(
            asked.contains(part),
            "the confirmation says `{part}`: {asked}"
        );
    }
    press(app, KeyCode::Char('y'));
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grant_editor_grants_all_but_some_a_filter_and_a_tag_expression() {
    let t = demo_lake().await;
    let a = admin();
    for who in ["clerk", "desk", "tagged"] {
        new_principal(&t, who).await;
    }
    t.services
        .access
        .create_data_cells_filter(
            &a,
            DataCellsFilter {
                table_catalog_id: String::new(),
                database_name: DB.into(),
                table_name: "processed".into(),
                name: "jpm-only".into(),
                row_filter: RowFilter {
                    filter_expression: Some("symbol = 'JPM'".into()),
                    all_rows_wildcard: None,
                },
                column_names: Some(vec!["symbol".into(), "price".into()]),
                column_wildcard: None,
            },
        )
        .await
        .unwrap();
    t.services
        .access
        .create_lf_tag(&a, "tier", &["public".into(), "secret".into()])
        .await
        .unwrap();
    t.services
        .access
        .add_lf_tags_to_resource(
            &a,
            DB,
            Some("processed"),
            &[],
            &[("tier".into(), "public".into())],
        )
        .await
        .unwrap();
    t.services
        .access
        .add_lf_tags_to_resource(
            &a,
            DB,
            Some("processed"),
            &["trader".into()],
            &[("tier".into(), "secret".into())],
        )
        .await
        .unwrap();
    let all = query(&t, "admin", &format!("SELECT * FROM \"{DB}\".processed"))
        .await
        .unwrap();

    let mut app = App::new(t.services.clone(), a.clone(), Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('5'));

    // Every column but trader, and the clerk may pass it on.
    start_grant(&mut app, "clerk", 2);
    assert!(screen(&mut app).contains("Columns to exclude"));
    let trader = app
        .grants
        .tables
        .iter()
        .find(|t| t.name == "processed")
        .unwrap()
        .columns
        .iter()
        .position(|c| c == "trader")
        .unwrap();
    press_n(&mut app, KeyCode::Right, trader);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Enter);
    confirm_with(
        &mut app,
        &[
            "clerk gains SELECT on every column of processed but trader, and may grant it",
            "--grant-option",
            "--excluded-columns trader",
        ],
    );
    settle(&mut app).await;
    let clerk = query(&t, "clerk", &format!("SELECT * FROM \"{DB}\".processed"))
        .await
        .unwrap();
    let mut expected: Vec<String> = all
        .columns
        .iter()
        .filter(|c| *c != "trader")
        .cloned()
        .collect();
    expected.sort();
    assert_eq!(sorted(clerk.columns), expected);
    assert_eq!(clerk.rows.len(), all.rows.len());
    let held = t
        .services
        .access
        .list_permissions(&a, Some("clerk"), None)
        .await
        .unwrap();
    assert!(
        held.iter()
            .any(|g| !g.permissions_with_grant_option.is_empty()),
        "{held:?}"
    );

    // The data cells filter: JPM's rows, symbol and price only.
    start_grant(&mut app, "desk", 3);
    assert!(screen(&mut app).contains("jpm-only"));
    press(&mut app, KeyCode::Enter);
    confirm_with(&mut app, &["--data-cells-filter jpm-only"]);
    settle(&mut app).await;
    let desk = query(&t, "desk", &format!("SELECT * FROM \"{DB}\".processed"))
        .await
        .unwrap();
    assert_eq!(sorted(desk.columns.clone()), ["price", "symbol"]);
    let symbol = desk.columns.iter().position(|c| c == "symbol").unwrap();
    assert!(!desk.rows.is_empty());
    assert!(
        desk.rows
            .iter()
            .all(|r| r[symbol].as_deref() == Some("JPM"))
    );

    // The tag expression tier=public: every column but trader (tagged secret).
    start_grant(&mut app, "tagged", 4);
    type_text(&mut app, "tier=public");
    press(&mut app, KeyCode::Enter);
    confirm_with(
        &mut app,
        &["tagged gains", "--lf-tag-expression 'tier=public'"],
    );
    settle(&mut app).await;
    let tagged = query(&t, "tagged", &format!("SELECT * FROM \"{DB}\".processed"))
        .await
        .unwrap();
    assert_eq!(sorted(tagged.columns), expected);

    // `/` keeps the grants whose text holds what is typed; esc shows them all again.
    app.refresh();
    settle(&mut app).await;
    let everyone = app.grants.list.visible().len();
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "desk");
    let only = app.grants.list.visible();
    assert!(!only.is_empty() && only.len() < everyone);
    assert!(only.iter().all(|g| g.principal() == "desk"));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.grants.list.visible().len(), everyone);
}
