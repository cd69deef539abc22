//! A pane's list: its items, the selection and the `/` filter, kept consistent (the selection
//! always on a visible item). Every pane that shows rows holds one, so selection and filtering
//! behave alike everywhere and the App drives any of them through `PaneList`.

use ratatui::widgets::TableState;

/// A list with a selection and a filter; `name` says what the filter matches in an item.
pub struct ListView<T> {
    pub items: Vec<T>,
    pub state: TableState,
    pub filter: String,
    name: fn(&T) -> String,
}

impl<T> ListView<T> {
    pub fn new(name: fn(&T) -> String) -> Self {
        ListView {
            items: Vec::new(),
            state: TableState::default(),
            filter: String::new(),
            name,
        }
    }

    /// The items the filter lets through.
    pub fn visible(&self) -> Vec<&T> {
        let needle = self.filter.to_lowercase();
        self.items
            .iter()
            .filter(|i| needle.is_empty() || (self.name)(i).to_lowercase().contains(&needle))
            .collect()
    }

    /// The selected item among the visible ones.
    pub fn selected(&self) -> Option<&T> {
        let i = self.state.selected()?;
        self.visible().get(i).copied()
    }

    pub fn set(&mut self, items: Vec<T>) {
        self.items = items;
        self.clamp();
    }

    /// Keeps the selection on a visible item (or none when nothing is visible).
    fn clamp(&mut self) {
        let len = self.visible().len();
        let sel = match (self.state.selected(), len) {
            (_, 0) => None,
            (None, _) => Some(0),
            (Some(i), n) => Some(i.min(n - 1)),
        };
        self.state.select(sel);
    }
}

/// What the App does with whichever list the current pane shows.
pub trait PaneList {
    fn filter(&self) -> &str;
    fn set_filter(&mut self, filter: String);
    fn step(&mut self, down: bool);
}

impl<T> PaneList for ListView<T> {
    fn filter(&self) -> &str {
        &self.filter
    }

    fn set_filter(&mut self, filter: String) {
        self.filter = filter;
        self.clamp();
    }

    fn step(&mut self, down: bool) {
        let len = self.visible().len();
        if len == 0 {
            return;
        }
        let i = self.state.selected().unwrap_or(0);
        self.state.select(Some(if down {
            (i + 1).min(len - 1)
        } else {
            i.saturating_sub(1)
        }));
    }
}
