//! The keys that make and unmake things: a key's whole life (create, who may use it, rotation,
//! deletion scheduled and cancelled, enable) and a bucket's (create with its encryption and
//! policy, a refused delete that loses nothing, delete), each through its form and confirmation,
//! checked in the lake itself rather than on screen.

use crossterm::event::KeyCode;

use lakectl::service::keys::KeyState;

use super::{demo_like, press, press_n, screen, type_text};
use crate::common::*;

/// Moves the selection of the current pane's list to row `i` of the visible rows.
fn select_row(app: &mut lakectl::tui::App, i: usize) {
    press_n(app, KeyCode::Up, 50);
    press_n(app, KeyCode::Down, i);
}

fn confirm(app: &mut lakectl::tui::App, command: &str) {
    let Some(asked) = app.confirmation().map(str::to_string) else {
        panic!("no confirmation: {}", screen(app));
    };
    assert!(
        asked.contains(command),
        "the confirmation shows `{command}`: {asked}"
    );
    press(app, KeyCode::Char('y'));
}

#[tokio::test]
async fn a_key_is_made_shared_rotated_scheduled_for_deletion_and_saved_from_the_keyboard() {
    let (t, mut app) = demo_like().await;
    let a = admin();
    t.services
        .iam
        .create_principal(&a, "analyst", false)
        .await
        .unwrap();
    app.refresh();
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('2'));

    // n: the alias field starts at `alias/`.
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "made");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "from the console");
    press(&mut app, KeyCode::Enter);
    confirm(
        &mut app,
        "kms create-key --alias alias/made --description 'from the console'",
    );
    settle(&mut app).await;
    let made = t
        .services
        .keys
        .describe_key(&a, "alias/made")
        .await
        .unwrap();
    assert_eq!(made.description, "from the console");
    let row = app
        .keys
        .visible()
        .iter()
        .position(|k| k.key_id == made.key_id)
        .expect("the new key is listed");
    select_row(&mut app, row);

    // a: the analyst may use it (every operation ticked but ReEncrypt*).
    press(&mut app, KeyCode::Char('a'));
    let analyst = app
        .principals
        .iter()
        .position(|p| p.user_name == "analyst")
        .unwrap();
    let admin_at = app
        .principals
        .iter()
        .position(|p| p.user_name == "admin")
        .unwrap();
    if analyst > admin_at {
        press_n(&mut app, KeyCode::Right, analyst - admin_at);
    } else {
        press_n(&mut app, KeyCode::Left, admin_at - analyst);
    }
    press(&mut app, KeyCode::Enter);
    confirm(&mut app, "analyst");
    settle(&mut app).await;
    // The policy now names the analyst, with the usage operations ticked.
    let policy = t
        .services
        .keys
        .get_key_policy(&a, "alias/made")
        .await
        .unwrap();
    let text = serde_json::to_string(&policy).unwrap();
    assert!(
        text.contains("user/analyst") && text.contains("kms:Decrypt"),
        "{text}"
    );
    assert!(!text.contains("kms:ReEncrypt"), "{text}");

    // o: automatic rotation on; R: a new version now.
    press(&mut app, KeyCode::Char('o'));
    confirm(&mut app, "kms enable-key-rotation");
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('R'));
    confirm(&mut app, "kms rotate-key-on-demand");
    settle(&mut app).await;
    let rotation = t
        .services
        .keys
        .get_key_rotation_status(&a, "alias/made")
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled);
    assert_eq!(rotation.key_versions, 2);

    // D: deletion in 7 days (the field says 30 until changed).
    press(&mut app, KeyCode::Char('D'));
    press_n(&mut app, KeyCode::Backspace, 2);
    type_text(&mut app, "7");
    press(&mut app, KeyCode::Enter);
    confirm(&mut app, "--pending-window-in-days 7");
    settle(&mut app).await;
    let pending = t
        .services
        .keys
        .describe_key(&a, "alias/made")
        .await
        .unwrap();
    assert_eq!(pending.key_state, KeyState::PendingDeletion);
    let days = (pending.deletion_date.unwrap() - chrono::Utc::now()).num_hours();
    assert!((6 * 24..=7 * 24).contains(&days), "{days} hours");
    // The Keys pane says when: `Deletion YYYY-MM-DD`.
    let s = screen(&mut app);
    let when = pending
        .deletion_date
        .unwrap()
        .format("Deletion %Y-%m-%d")
        .to_string();
    assert!(s.contains(&when), "{when}: {s}");

    // c: cancelled, the key comes back disabled; e: enabled again, and it works.
    press(&mut app, KeyCode::Char('c'));
    confirm(&mut app, "kms cancel-key-deletion");
    settle(&mut app).await;
    assert_eq!(
        t.services
            .keys
            .describe_key(&a, "alias/made")
            .await
            .unwrap()
            .key_state,
        KeyState::Disabled
    );
    press(&mut app, KeyCode::Char('e'));
    confirm(&mut app, "kms enable-key");
    settle(&mut app).await;
    put(&t.services, &a, "data", "k", b"sealed", kms("alias/made"))
        .await
        .unwrap();
    assert_eq!(get(&t.services, &a, "data", "k").await.unwrap(), b"sealed");
}

#[tokio::test]
async fn a_bucket_is_made_with_its_encryption_refused_while_full_then_deleted() {
    let (t, mut app) = demo_like().await;
    let a = admin();
    // n: name, the key (after SSE-S3 in the list), and the policy refusing other puts.
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "made-bucket");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Enter);
    confirm(
        &mut app,
        "s3 mb s3://made-bucket --sse-kms-key-id alias/test --require-sse-kms",
    );
    settle(&mut app).await;
    let encryption = t
        .services
        .storage
        .get_bucket_encryption(&a, "made-bucket")
        .await
        .unwrap();
    assert!(
        format!("{encryption:?}").contains(
            &t.services
                .keys
                .describe_key(&a, "alias/test")
                .await
                .unwrap()
                .key_id
        ) || format!("{encryption:?}").contains("alias/test"),
        "{encryption:?}"
    );
    // The policy refuses a put without KMS.
    assert_eq!(
        put(
            &t.services,
            &a,
            "made-bucket",
            "plain",
            b"x",
            Default::default()
        )
        .await
        .unwrap_err()
        .code,
        lakectl::service::Code::AccessDenied
    );
    put(
        &t.services,
        &a,
        "made-bucket",
        "kept",
        b"kept",
        kms("alias/test"),
    )
    .await
    .unwrap();

    let row = app
        .buckets
        .visible()
        .iter()
        .position(|b| b.bucket.name == "made-bucket")
        .expect("the new bucket is listed");
    select_row(&mut app, row);
    // D on a bucket that holds an object: refused, and the object is still there.
    press(&mut app, KeyCode::Char('D'));
    confirm(&mut app, "s3 rb s3://made-bucket");
    settle(&mut app).await;
    let s = screen(&mut app);
    assert!(s.contains("BucketNotEmpty"), "{s}");
    press(&mut app, KeyCode::Esc);
    assert_eq!(
        get(&t.services, &a, "made-bucket", "kept").await.unwrap(),
        b"kept"
    );

    t.services
        .storage
        .delete_object(&a, "made-bucket", "kept")
        .await
        .unwrap();
    app.refresh();
    settle(&mut app).await;
    select_row(&mut app, row);
    press(&mut app, KeyCode::Char('D'));
    confirm(&mut app, "s3 rb s3://made-bucket");
    settle(&mut app).await;
    let names: Vec<String> = t
        .services
        .storage
        .list_buckets(&a)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert!(!names.contains(&"made-bucket".to_string()), "{names:?}");
    assert!(
        app.buckets
            .items
            .iter()
            .all(|b| b.bucket.name != "made-bucket"),
        "the pane still lists it: {}",
        screen(&mut app)
    );
}
