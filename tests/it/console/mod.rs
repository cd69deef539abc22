//! The console on ratatui's TestBackend: whole-screen snapshots, and key sequences that do real
//! work through the same services.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use lakectl::service::keys::KeyState;
use lakectl::tui::{App, Options, view};

use crate::common::*;

mod grant_paths;
mod lifecycle;
mod query_keys;
mod replication_keys;
mod rules_keys;
mod runs_keys;
mod secrets_keys;
mod workflow_keys;

pub(crate) fn screen(app: &mut App) -> String {
    screen_of(app, 120, 24)
}

/// The screen on a terminal of `width` × `height` (a tall one shows a whole run graph).
pub(crate) fn screen_of(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view::render(app, f)).unwrap();
    let buf = terminal.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lets the console's clock tick (its live refreshes) until `shown` holds for the screen of
/// `width` × `height`, failing the test with `what` and the last screen after `within`.
pub(crate) async fn until_shown(
    app: &mut App,
    (width, height): (u16, u16),
    what: &str,
    within: std::time::Duration,
    shown: impl Fn(&str) -> bool,
) -> String {
    let deadline = std::time::Instant::now() + within;
    loop {
        app.on_tick();
        settle(app).await;
        let s = screen_of(app, width, height);
        if shown(&s) {
            return s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gave up after {within:?} waiting for {what}:\n{s}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub(crate) fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

pub(crate) fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// Where the test lakes are (`TMPDIR`, not always /tmp), as a pattern for a path under it.
fn temp_dir_pattern() -> String {
    let dir = std::env::temp_dir().display().to_string();
    let escaped: String = dir
        .trim_end_matches('/')
        .chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect();
    format!(r"{escaped}/\S+")
}

/// Random ids, dates, paths and the account differ from run to run; the layout does not.
macro_rules! snapshot {
    ($name:expr, $text:expr) => {
        let lake_dir = temp_dir_pattern();
        insta::with_settings!({filters => vec![
            (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f-]+", "[key-id]"),
            (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[date          ]"),
            (lake_dir.as_str(), "[lake]"),
            // Under a deep TMPDIR the status bar shows the path's end only.
            (r"(?m)^( \w+  )…\S+", "$1[lake]"),
            (r"jr_[0-9a-f]{32}", "[run-id]"),
            (r" \d+ s ", " [s] "),
            (r"in \d+ ms", "in [ms]"),
            (r"results in s3://\S+", "results in [location]"),
            (r"\d+(\.\d+)? (B|KiB|MiB) scanned", "[bytes] scanned"),
        ]}, {
            insta::assert_snapshot!($name, $text);
        });
    };
}

pub(super) async fn demo_like() -> (TestLake, App) {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    t.services
        .storage
        .create_bucket(&a, "open-bucket", Default::default())
        .await
        .unwrap();
    put(
        &t.services,
        &a,
        "data",
        "raw/data.json",
        &vec![b'x'; 2048],
        kms("alias/test"),
    )
    .await
    .unwrap();
    let mut app = App::new(t.services.clone(), a, Options { readonly: false });
    settle(&mut app).await;
    (t, app)
}

#[tokio::test]
async fn buckets_and_keys_panes() {
    let (_t, mut app) = demo_like().await;
    snapshot!("buckets", screen(&mut app));
    // `/` filters the list as you type; esc clears it.
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "open");
    let filtered = screen(&mut app);
    assert!(
        filtered.contains("open-bucket") && !filtered.contains("SSE-KMS alias/test"),
        "{filtered}"
    );
    press(&mut app, KeyCode::Esc);
    assert!(screen(&mut app).contains("SSE-KMS alias/test"));
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    snapshot!("objects", screen(&mut app));
    press(&mut app, KeyCode::Char('2'));
    snapshot!("keys", screen(&mut app));
    press(&mut app, KeyCode::Char('3'));
    assert!(screen(&mut app).contains("No findings. Press n to scan"));
    press(&mut app, KeyCode::Char('5'));
    assert!(screen(&mut app).contains("No Lake Formation grants yet."));
}

#[tokio::test]
async fn upload_a_file_then_disable_its_key_from_the_keyboard() {
    let (t, mut app) = demo_like().await;
    let file = t.dir.path().join("upload.csv");
    std::fs::write(&file, "name,card\nAda,4111111111111111\n").unwrap();
    // Buckets: `data` is the first bucket; open it and upload.
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('u'));
    type_text(&mut app, file.to_str().unwrap());
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "raw/upload.csv");
    press(&mut app, KeyCode::Enter);
    let confirm = screen(&mut app);
    assert!(confirm.contains("lakectl s3 cp"), "{confirm}");
    assert!(confirm.contains("--sse-kms-key-id alias/test"), "{confirm}");
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    // The bucket shows folders: raw/ holds the new object.
    let top = screen(&mut app);
    assert!(top.contains("▸ raw/") && top.contains("1 folders"), "{top}");
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    let raw = screen(&mut app);
    assert!(
        raw.contains("s3://data/raw/") && raw.contains("upload.csv"),
        "{raw}"
    );
    // f: every key at once, without folders; esc from the top leaves the bucket.
    press(&mut app, KeyCode::Char('f'));
    settle(&mut app).await;
    let flat = screen(&mut app);
    assert!(
        flat.contains("raw/upload.csv") && flat.contains("(all keys)"),
        "{flat}"
    );
    press(&mut app, KeyCode::Char('f'));
    settle(&mut app).await;
    assert_eq!(
        get(&t.services, &admin(), "data", "raw/upload.csv")
            .await
            .unwrap(),
        std::fs::read(&file).unwrap()
    );

    // Keys: alias/aws/s3 first, then alias/test; disable it, confirming.
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('e'));
    assert!(screen(&mut app).contains("kms disable-key"));
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    let key = t
        .services
        .keys
        .describe_key(&admin(), "alias/test")
        .await
        .unwrap();
    assert_eq!(key.key_state, KeyState::Disabled);
    assert!(screen(&mut app).contains("Disabled"));

    // Back to the bucket: the object no longer opens, and the console says why.
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    let s = screen(&mut app);
    assert!(s.contains("DisabledException"), "{s}");
}

#[tokio::test]
async fn readonly_leaves_out_every_change() {
    let t = new_lake();
    seed(&t).await;
    let mut app = App::new(t.services.clone(), admin(), Options { readonly: true });
    settle(&mut app).await;
    let s = screen(&mut app);
    assert!(s.contains("READ-ONLY"));
    assert!(!s.contains("new bucket") && !s.contains("upload"), "{s}");
    press(&mut app, KeyCode::Char('n'));
    assert!(app.popup.is_none());
    press(&mut app, KeyCode::Char(':'));
    type_text(&mut app, "s3 mb s3://sneaky");
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    assert!(screen(&mut app).contains("read-only"));
    assert_eq!(
        t.services
            .storage
            .list_buckets(&admin())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn help_is_built_from_the_key_map_and_the_principal_can_be_switched() {
    let (t, mut app) = demo_like().await;
    t.services
        .iam
        .create_principal(&admin(), "analyst", false)
        .await
        .unwrap();
    press(&mut app, KeyCode::Char('?'));
    let s = screen(&mut app);
    for binding in lakectl::tui::keymap::BINDINGS
        .iter()
        .filter(|b| b.scope == lakectl::tui::keymap::Scope::Global)
    {
        assert!(s.contains(binding.hint), "help lacks {}", binding.hint);
    }
    press(&mut app, KeyCode::Esc);
    app.refresh();
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('p'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    assert_eq!(app.principal.name(), "analyst");
    // The analyst is outside every key policy: the Keys pane says so, key by key.
    press(&mut app, KeyCode::Char('2'));
    assert!(screen(&mut app).contains("no access"));
}

#[tokio::test]
async fn the_runs_pane_lists_starts_and_explains_runs() {
    use lakectl::service::jobs::{CrawlerDefinition, JobDefinition};
    let (t, _) = demo_like().await;
    let a = admin();
    let s = &t.services;
    put(
        s,
        &a,
        "data",
        "jobin/trades.json",
        b"{\"id\": 1, \"card\": \"4111\"}\n{\"id\": 1, \"card\": \"4111\"}\n",
        kms("alias/test"),
    )
    .await
    .unwrap();
    s.catalog.create_database(&a, "db", None).await.unwrap();
    let job = JobDefinition {
        dedup: true,
        ..job_definition(
            "raw-to-processed",
            "s3://data/jobin/",
            "s3://data/processed/",
        )
    };
    s.jobs.create_job(&a, job).await.unwrap();
    let crawler = CrawlerDefinition {
        name: "processed-crawler".into(),
        database_name: "db".into(),
        targets: vec!["s3://data/processed/".into()],
        security_configuration: None,
        update_behavior: "UPDATE_IN_DATABASE".into(),
        table_prefix: None,
        role: "admin".into(),
    };
    s.jobs.create_crawler(&a, crawler).await.unwrap();
    let mut app = App::new(s.clone(), a, Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('4'));
    // Start the job from the keyboard; the task lasts as long as the run.
    press(&mut app, KeyCode::Char('s'));
    let confirm = screen(&mut app);
    assert!(
        confirm.contains("glue start-job-run") && confirm.contains("--wait"),
        "{confirm}"
    );
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    app.refresh();
    settle(&mut app).await;
    snapshot!("runs", screen(&mut app));
    // Then the crawler (the row below), and the catalog it filled.
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    assert!(
        s.catalog
            .get_table(&admin(), "db", "processed")
            .await
            .is_ok()
    );
    press(&mut app, KeyCode::Char('c'));
    settle(&mut app).await;
    let catalog = screen(&mut app);
    assert!(
        catalog.contains("processed") && catalog.contains("card"),
        "{catalog}"
    );
    press(&mut app, KeyCode::Esc);
    // The log of the job's run, decrypted.
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Char('l'));
    settle(&mut app).await;
    assert!(screen(&mut app).contains("1 duplicate(s)"));
}

#[tokio::test]
async fn the_findings_pane_shows_severities_and_reveals_on_request() {
    let (t, _) = demo_like().await;
    let a = admin();
    let s = &t.services;
    put(
        s,
        &a,
        "data",
        "people/p.csv",
        b"name,mail,card\nAda Lovelace,ada@example.com,4111111111111111\n",
        kms("alias/test"),
    )
    .await
    .unwrap();
    let mut app = App::new(s.clone(), a, Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('3'));
    assert!(screen(&mut app).contains("No findings"));
    // A classification job from the pane.
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "people/");
    press(&mut app, KeyCode::Enter);
    assert!(screen(&mut app).contains("create-classification-job"));
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    app.refresh();
    settle(&mut app).await;
    let pane = screen(&mut app);
    assert!(
        pane.contains("High")
            && pane.contains("Multiple")
            && pane.contains("s3://data/people/p.csv"),
        "{pane}"
    );
    assert!(
        !pane.contains("ada@example.com"),
        "values stay hidden until revealed"
    );
    // Reveal asks first, then shows the values.
    press(&mut app, KeyCode::Char('v'));
    assert!(screen(&mut app).contains("audit log"));
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    assert!(screen(&mut app).contains("ada@example.com"));
}

#[tokio::test]
async fn one_key_on_a_finding_creates_and_runs_the_masking_job() {
    let (t, _) = demo_like().await;
    let a = admin();
    let s = &t.services;
    put(
        s,
        &a,
        "data",
        "people/p.csv",
        b"name,mail\nAda Lovelace,ada@example.com\n",
        kms("alias/test"),
    )
    .await
    .unwrap();
    s.catalog
        .create_security_configuration(&a, "sc", "alias/test")
        .await
        .unwrap();
    let spec = lakectl::service::classification::ClassificationJobSpec {
        name: "scan".into(),
        bucket: "data".into(),
        prefix: Some("people/".into()),
        custom_data_identifiers: vec![],
        allow_lists: vec![],
        sampling_percentage: 100,
    };
    let job_id = s
        .classification
        .create_classification_job(&a, spec, lakectl::service::Progress::default())
        .await
        .unwrap();
    // The findings the key works from exist once the job is complete: wait for that, not a time.
    eventually("the classification job to complete", || async {
        let job = s
            .classification
            .describe_classification_job(&admin(), &job_id)
            .await
            .unwrap();
        (job.job_status == "COMPLETE").then_some(())
    })
    .await;
    let mut app = App::new(s.clone(), a, Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('m'));
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "sc");
    press(&mut app, KeyCode::Enter);
    assert!(screen(&mut app).contains("--from-findings"));
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    assert!(
        screen(&mut app).contains("SUCCEEDED"),
        "{}",
        screen(&mut app)
    );
    let masked = s
        .storage
        .list_objects(&admin(), "data", "masked/people/", None)
        .await
        .unwrap();
    let encrypted = s
        .storage
        .list_objects(&admin(), "data", "encrypted/people/", None)
        .await
        .unwrap();
    assert_eq!((masked.objects.len(), encrypted.objects.len()), (1, 1));
}

pub(super) fn ctrl(app: &mut App, c: char) {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

pub(super) fn press_n(app: &mut App, code: KeyCode, n: usize) {
    for _ in 0..n {
        press(app, code);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_a_column_from_the_keyboard_then_preview_and_explain_it() {
    let t = crate::query::demo_lake().await;
    let mut app = App::new(t.services.clone(), admin(), Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('5'));
    snapshot!("grants", screen(&mut app));

    // g: principal → table → "some columns" → tick price → SELECT → preview → confirm.
    press(&mut app, KeyCode::Char('g'));
    let who = app
        .principals
        .iter()
        .position(|p| p.user_name == "analyst")
        .unwrap();
    press_n(&mut app, KeyCode::Right, who);
    press(&mut app, KeyCode::Tab);
    let table = app
        .grants
        .tables
        .iter()
        .position(|t| t.name == "processed")
        .unwrap();
    press_n(&mut app, KeyCode::Right, table);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Enter);
    let step2 = screen(&mut app);
    assert!(step2.contains("Columns to include"), "{step2}");
    let price = app.grants.tables[table]
        .columns
        .iter()
        .position(|c| c == "price")
        .unwrap();
    press_n(&mut app, KeyCode::Right, price);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    let confirm = screen(&mut app);
    assert!(
        confirm.contains("analyst gains SELECT on processed.price"),
        "{confirm}"
    );
    assert!(
        confirm.contains("lakectl lakeformation grant-permissions --principal analyst")
            && confirm.contains("--table lakeformation-glue-catalog-db.processed --columns price"),
        "{confirm}"
    );
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;

    // Query, previewed as the analyst: symbol and now price.
    press(&mut app, KeyCode::Char('6'));
    press(&mut app, KeyCode::Char('p'));
    let at = app
        .principals
        .iter()
        .position(|p| p.user_name == "analyst")
        .unwrap();
    let admin_at = app
        .principals
        .iter()
        .position(|p| p.user_name == "admin")
        .unwrap();
    if at > admin_at {
        press_n(&mut app, KeyCode::Down, at - admin_at);
    } else {
        press_n(&mut app, KeyCode::Up, admin_at - at);
    }
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('e'));
    type_text(
        &mut app,
        "SELECT * FROM \"lakeformation-glue-catalog-db\".processed ORDER BY price DESC LIMIT 5",
    );
    ctrl(&mut app, 'r');
    settle(&mut app).await;
    let results = screen(&mut app);
    assert!(results.contains("SUCCEEDED"), "{results}");
    assert!(
        results.contains("symbol") && results.contains("price"),
        "{results}"
    );
    assert!(!results.contains("trader"), "{results}");
    snapshot!("query", results);
    // A column it may not see fails as an unknown one would.
    press(&mut app, KeyCode::Char('e'));
    ctrl(&mut app, 'a');
    for _ in 0..200 {
        press(&mut app, KeyCode::Delete);
    }
    type_text(
        &mut app,
        "SELECT trader FROM \"lakeformation-glue-catalog-db\".processed",
    );
    ctrl(&mut app, 'r');
    settle(&mut app).await;
    let failed = screen(&mut app);
    assert!(
        failed.contains("FAILED") && failed.contains("No field named trader"),
        "{failed}"
    );

    // Explain, back as admin on the Grants pane: the analyst's grant selected, e.
    press(&mut app, KeyCode::Char('p'));
    if at > admin_at {
        press_n(&mut app, KeyCode::Up, at - admin_at);
    } else {
        press_n(&mut app, KeyCode::Down, admin_at - at);
    }
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('5'));
    let row = app
        .grants
        .list
        .visible()
        .iter()
        .position(|g| g.principal() == "analyst" && g.resource.describe().contains("price"))
        .unwrap_or_else(|| panic!("{}", screen(&mut app)));
    press_n(&mut app, KeyCode::Down, row);
    press(&mut app, KeyCode::Char('e'));
    settle(&mut app).await;
    let why = screen(&mut app);
    assert!(why.contains("✔ price") && why.contains("✘ side"), "{why}");
    press(&mut app, KeyCode::Esc);

    // Revoke it, confirming; the analyst no longer sees price.
    press(&mut app, KeyCode::Char('D'));
    let revoke = screen(&mut app);
    assert!(
        revoke.contains("lakectl lakeformation revoke-permissions --principal analyst"),
        "{revoke}"
    );
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    // Refused as a column that never existed is: the revoke took it away.
    let select = |column: &'static str| {
        let t = &t;
        async move {
            crate::query::query(
                t,
                "analyst",
                &format!("SELECT {column} FROM \"lakeformation-glue-catalog-db\".processed"),
            )
            .await
            .unwrap_err()
            .message
            .replace(column, "X")
        }
    };
    assert_eq!(select("price").await, select("made_up_column").await);
}

#[tokio::test]
async fn columns_fit_their_content_so_long_aliases_show_whole() {
    let t = new_lake();
    seed(&t).await;
    let mut app = App::new(t.services.clone(), admin(), Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char(':'));
    type_text(
        &mut app,
        "kms create-key --alias alias/lakeformation-kms-data-key --description \"the seed's own key\"",
    );
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    // The command's answer is shown in a popup; close it.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('2'));
    let keys = screen(&mut app);
    assert!(keys.contains("alias/lakeformation-kms-data-key "), "{keys}");
    assert!(keys.contains("the seed's own key"), "{keys}");
}

#[tokio::test]
async fn secrets_sit_beside_the_keys_and_their_value_shows_only_when_confirmed() {
    let (t, _) = demo_like().await;
    let a = admin();
    let value = "console-secret-5e1d";
    t.services
        .secrets
        .create_secret(
            &a,
            lakectl::service::secrets::CreateSecret {
                name: "prod/warehouse".into(),
                secret_string: lakectl::service::secrets::SecretString::new(value.into()),
                kms_key_id: Some("alias/test".into()),
                description: Some("loader credentials".into()),
            },
        )
        .await
        .unwrap();
    let mut app = App::new(t.services.clone(), a, Options { readonly: true });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('2'));
    assert!(!screen(&mut app).contains("prod/warehouse"));
    press(&mut app, KeyCode::Char('s'));
    let pane = screen(&mut app);
    snapshot!("secrets", pane.clone());
    assert!(
        pane.contains("prod/warehouse")
            && pane.contains("alias/test")
            && pane.contains("loader credentials"),
        "{pane}"
    );
    assert!(!pane.contains(value), "the list shows no value: {pane}");
    // Reading is not a change: the read-only console may reveal, but asks first.
    press(&mut app, KeyCode::Char('v'));
    let asking = screen(&mut app);
    assert!(
        asking.contains("recorded in the audit") && !asking.contains(value),
        "{asking}"
    );
    // Declined: nothing is read, nothing recorded.
    press(&mut app, KeyCode::Char('n'));
    settle(&mut app).await;
    assert!(!screen(&mut app).contains(value));
    let reads = |t: &TestLake| {
        let t = t.services.clone();
        async move {
            t.audit
                .list(&admin(), None)
                .await
                .unwrap()
                .iter()
                .filter(|e| format!("{e:?}").contains("GetSecretValue"))
                .count()
        }
    };
    assert_eq!(reads(&t).await, 0);
    press(&mut app, KeyCode::Char('v'));
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    assert!(screen(&mut app).contains(value));
    assert_eq!(reads(&t).await, 1);
    // `s` goes back to the keys.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('s'));
    assert!(screen(&mut app).contains("Rotation"));
}
