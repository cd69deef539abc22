//! A secret's value in the Keys pane: revealed only after a confirmation, read as the acting
//! principal through the service (one audit record each, never the value in it), shown with its
//! control characters inert, and gone from the console once the popup closes; an analyst who
//! may list secrets but not read them gets the refusal, and no value.

use crossterm::event::KeyCode;
use lakectl::service::Principal;
use lakectl::service::secrets::{CreateSecret, SecretString};
use lakectl::tui::{App, Options};

use super::{demo_like, press, screen};
use crate::common::*;

/// A value with an escape sequence in it: shown, it must not act on the terminal.
const VALUE: &str = "pw-7f3a\u{1b}[31m-red";

async fn reads(t: &TestLake) -> Vec<(String, Option<String>, String)> {
    t.services
        .audit
        .list(&admin(), None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_name == "GetSecretValue")
        .map(|e| (e.principal, e.error_code, e.detail.to_string()))
        .collect()
}

#[tokio::test]
async fn a_secret_is_revealed_as_its_reader_and_forgotten_when_the_popup_closes() {
    let (t, _) = demo_like().await;
    let a = admin();
    t.services
        .secrets
        .create_secret(
            &a,
            CreateSecret {
                name: "prod/source-db".into(),
                secret_string: SecretString::new(VALUE.into()),
                kms_key_id: Some("alias/test".into()),
                description: None,
            },
        )
        .await
        .unwrap();
    t.services
        .iam
        .create_principal(&a, "analyst", false)
        .await
        .unwrap();
    t.services
        .iam
        .attach_user_policy(&a, "analyst", "arn:aws:iam::aws:policy/ReadOnlyAccess")
        .await
        .unwrap();

    let mut app = App::new(t.services.clone(), a, Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('v'));
    let asked = app.confirmation().unwrap_or_default().to_string();
    assert!(
        asked.contains("as admin")
            && asked.contains(
                "lakectl secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:"
            ),
        "{asked}"
    );
    assert!(reads(&t).await.is_empty(), "nothing is read before yes");
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    let shown = screen(&mut app);
    // The escape is drawn as a picture of itself, not obeyed.
    assert!(shown.contains("pw-7f3a␛[31m-red"), "{shown}");
    assert!(shown.contains("AWSCURRENT"), "{shown}");
    let audited = reads(&t).await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(
        (audited[0].0.as_str(), audited[0].1.as_deref()),
        ("admin", None)
    );
    assert!(!audited[0].2.contains("pw-7f3a"), "{audited:?}");
    // Closed, it is gone: not on the screen, not in the popup, not in the status line.
    press(&mut app, KeyCode::Esc);
    assert!(app.popup.is_none());
    let after = screen(&mut app);
    assert!(!after.contains("pw-7f3a"), "{after}");
    assert!(!app.message.clone().unwrap_or_default().contains("pw-7f3a"));

    // The analyst lists the secret (ReadOnlyAccess) but may not read it: a clear refusal.
    let mut app = App::new(
        t.services.clone(),
        Principal::new("analyst"),
        Options { readonly: false },
    );
    settle(&mut app).await;
    assert!(app.popup.is_none(), "{}", screen(&mut app));
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('s'));
    assert!(screen(&mut app).contains("prod/source-db"));
    press(&mut app, KeyCode::Char('v'));
    assert!(
        app.confirmation()
            .unwrap_or_default()
            .contains("as analyst")
    );
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    let refused = screen(&mut app);
    assert!(
        refused.contains("AccessDenied") && refused.contains("secretsmanager:GetSecretValue"),
        "{refused}"
    );
    assert!(!refused.contains("pw-7f3a"), "{refused}");
    let audited = reads(&t).await;
    assert_eq!(audited.len(), 2, "{audited:?}");
    assert_eq!(audited[1].0, "analyst");
    assert!(
        audited[1].1.is_some(),
        "the refusal is recorded: {audited:?}"
    );
}
