//! The console: a ratatui app on a `tokio::select!` loop. Key events, messages from service
//! tasks and a tick (for progress) each wake the loop; the screen is redrawn after each. The
//! terminal is restored on exit and on panic (ratatui's init installs the hook).

mod actions;
pub mod app;
mod bar_label;
mod connection;
mod form;
mod grant_editor;
mod grants;
mod jobs;
pub mod keymap;
mod list_view;
mod loads;
mod objects;
mod popup;
mod query;
mod runs;
mod secrets;
pub mod theme;
pub mod view;

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;

pub use app::{App, Options};

use crate::service::{Principal, Services};

pub async fn run(
    services: Services,
    principal: Principal,
    options: Options,
) -> std::io::Result<()> {
    let mut terminal = ratatui::try_init().map_err(|e| {
        std::io::Error::other(format!(
            "the console needs a terminal ({e}); to run commands without one, name a command or use --headless"
        ))
    })?;
    let mut app = App::new(services, principal, options);
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let result = loop {
        if let Err(e) = terminal.draw(|f| view::render(&mut app, f)) {
            break Err(e);
        }
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => app.handle_key(key),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(e),
                None => break Ok(()),
            },
            Some(msg) = app.next_message() => app.update(msg),
            _ = tick.tick() => app.on_tick(),
        }
        if app.should_quit {
            break Ok(());
        }
    };
    ratatui::restore();
    result
}
