//! The console on the AWS backend: the same panes, the caller's identity in the status bar, and
//! `:region` / `:profile` reconnecting without touching the process environment.

use crossterm::event::KeyCode;
use lakectl::tui::{App, Options};

use super::{ACCOUNT, REGION, aws, unique};
use crate::common::admin;
use crate::common::settle;
use crate::console::{press, screen, type_text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_says_who_it_is_and_switches_region() {
    let s = aws().await;
    let bucket = unique("console");
    s.storage
        .create_bucket(&admin(), &bucket, Default::default())
        .await
        .unwrap();
    let mut app = App::new(s, admin(), Options { readonly: false });
    settle(&mut app).await;
    let text = screen(&mut app);
    let status = status_line(&text);
    assert!(status.contains(" aws "), "{status}");
    assert!(status.contains(REGION), "{status}");
    assert!(
        status.contains(&format!("arn:aws:sts::{ACCOUNT}:")),
        "{status}"
    );
    assert!(text.contains(&bucket), "{text}");

    press(&mut app, KeyCode::Char(':'));
    type_text(&mut app, "region us-east-1");
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    let status = status_line(&screen(&mut app));
    assert!(status.contains("us-east-1"), "{status}");
    assert!(!status.contains(REGION), "{status}");

    // A profile that does not exist: said plainly, and the console stays where it was.
    press(&mut app, KeyCode::Char(':'));
    // (Its name holds neither "profile" nor "credentials", so only the refusal can put them on
    // the screen.)
    type_text(&mut app, "profile nosuch-7f3a");
    press(&mut app, KeyCode::Enter);
    settle(&mut app).await;
    let text = screen(&mut app);
    assert!(!text.contains("connected:"), "{text}");
    // The refusal names the profile asked for: a switch that ignored it could not.
    assert!(
        text.contains("credentials") && text.contains("nosuch-7f3a"),
        "{text}"
    );
    assert!(status_line(&text).contains("us-east-1"), "{text}");
}

/// The status bar: the line that says the backend.
fn status_line(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.starts_with(" aws "))
        .unwrap_or_else(|| panic!("no status bar in\n{screen}"))
        .to_string()
}
