//! Secrets beside the keys (the Keys pane's `s`): each secret's name, the key that seals it and
//! when it last changed, never its value. `v` reveals the current value only after a
//! confirmation that shows the equivalent command; the read is the service layer's
//! get-secret-value as the acting principal (its policy, kms:Decrypt, its audit record), and
//! the value lives only in the popup that shows it, wiped when it closes.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::actions::words;
use super::app::App;
use super::jobs::{Job, JobOutcome, command_text};
use super::keymap;
use super::popup::{Outcome, Popup};
use super::theme;
use super::view::{empty, pane_block, table, when};
use crate::service::secrets::{SecretString, VersionSelector};

/// The secrets beside the keys: what each is, which key seals it and when it last changed; never
/// a value (that is `v`, which asks first).
pub(super) fn render(app: &mut App, f: &mut Frame, area: Rect) {
    let block = pane_block(
        format!(" Secrets ({}) · s: keys ", app.secrets.items.len()),
        app.current_filter(),
    );
    if let Some(why) = app.secrets_denied.clone() {
        return empty(f, area, block, &why);
    }
    if app.secrets.items.is_empty() {
        return empty(
            f,
            area,
            block,
            "No secrets. `:secretsmanager create-secret --name N --secret-string file://F` makes one.",
        );
    }
    let rows: Vec<Vec<Line>> = app
        .secrets
        .visible()
        .into_iter()
        .map(|s| {
            let key = match &s.kms_key_id {
                Some(k) => app.key_name_for_arn(k),
                None => crate::service::secrets::DEFAULT_KEY_ALIAS.to_string(),
            };
            vec![
                Line::from(s.name.clone()),
                Line::from(key),
                Line::from(when(s.last_changed_date)),
                Line::from(s.description.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let t = table(
        rows,
        &["Name", "Key", "Last changed", "Description"],
        block,
        area,
    );
    f.render_stateful_widget(t, area, &mut app.secrets.state);
}

/// A revealed value, shown until the popup closes. The value is a `SecretString`: dropping the
/// popup wipes it, and nothing else in the console keeps a copy.
pub struct SecretView {
    pub name: String,
    pub version_id: String,
    pub stages: Vec<String>,
    value: SecretString,
    scroll: u16,
}

impl App {
    /// `v` on a secret: asks first, then reads the current value as the acting principal.
    pub(super) fn reveal_secret(&mut self) {
        let Some(s) = self.secrets.selected() else {
            return;
        };
        let (arn, name) = (s.arn.clone(), s.name.clone());
        let w = words(&["secretsmanager", "get-secret-value", "--secret-id", &arn]);
        let message = format!(
            "Show the value of the secret {name}?\nThe read is recorded in the audit log.\nIt is made with your rights as {} (the secret's policy, kms:Decrypt on its key).\n\n{}",
            self.principal,
            command_text(&w)
        );
        self.popup = Some(Popup::Confirm {
            message,
            job: reveal(arn, name),
        });
    }
}

/// The read itself: the service's get-secret-value, whose checks and audit are the CLI's.
fn reveal(arn: String, name: String) -> Job {
    Job::new(format!("value of {name}"), move |ctx| {
        Box::pin(async move {
            let v = ctx
                .services
                .secrets
                .get_secret_value(&ctx.principal, &arn, VersionSelector::Current)
                .await?;
            Ok(JobOutcome::Secret(Box::new(SecretView {
                name: v.name,
                version_id: v.version_id,
                stages: v.version_stages,
                value: v.secret_string,
                scroll: 0,
            })))
        })
    })
}

impl SecretView {
    pub fn handle(mut self: Box<Self>, ev: KeyEvent) -> (Option<Popup>, Outcome) {
        match ev.code {
            KeyCode::Down | KeyCode::Char('j') => self.scroll += 1,
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            // Closing drops the view, and with it the value (wiped).
            _ => return (None, Outcome::Close),
        }
        (Some(Popup::Secret(self)), Outcome::Stay)
    }

    pub fn hints() -> &'static [(&'static str, &'static str)] {
        keymap::TEXT_HINTS
    }

    pub fn render(&self, f: &mut Frame, area: Rect) {
        let mut lines = vec![
            Line::styled(
                format!(
                    "Version {} ({}) · read as you, recorded in the audit log · closing forgets it",
                    self.version_id,
                    self.stages.join(", ")
                ),
                theme::dim(),
            ),
            Line::raw(""),
        ];
        // Shown as text: whatever the value holds, no control character reaches the terminal.
        let shown = crate::terminal_text::inert_lines(self.value.expose());
        lines.extend(shown.lines().map(|l| Line::raw(l.to_string())));
        let title = format!(" Secret {} ", self.name);
        super::popup::text_box(f, area, &title, lines, self.scroll, 80, 60);
    }
}
