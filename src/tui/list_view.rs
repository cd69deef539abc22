//! A pane's list: its items, the selection and the `/` filter, kept consistent (the selection
//! always on a visible item). Every pane that shows rows holds one, so selection and filtering
//! behave alike everywhere and the App drives any of them through `PaneList`.

use ratatui::widgets::TableState;

use super::app::{App, Pane, RunRow};
use crate::service::classification::Finding;
use crate::service::keys::KeyOverview;
use crate::service::storage::{BucketOverview, ObjectInfo};

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

/// The list the App's current pane shows, and the selection in each.
impl App {
    /// The list the current pane shows, if it shows one.
    fn list(&self) -> Option<&dyn PaneList> {
        match (self.pane, &self.objects) {
            (Pane::Buckets, Some(o)) => Some(&o.list),
            (Pane::Buckets, None) => Some(&self.buckets),
            (Pane::Keys, _) if self.show_secrets => Some(&self.secrets),
            (Pane::Keys, _) => Some(&self.keys),
            (Pane::Runs, _) if self.deliveries.is_some() => {
                self.deliveries.as_ref().map(|d| &d.list as &dyn PaneList)
            }
            (Pane::Runs, _) => Some(&self.runs),
            (Pane::Findings, _) => Some(&self.findings),
            (Pane::Grants, _) => Some(&self.grants.list),
            _ => None,
        }
    }

    pub(super) fn list_mut(&mut self) -> Option<&mut dyn PaneList> {
        match (self.pane, self.objects.as_mut()) {
            (Pane::Buckets, Some(o)) => Some(&mut o.list),
            (Pane::Buckets, None) => Some(&mut self.buckets),
            (Pane::Keys, _) if self.show_secrets => Some(&mut self.secrets),
            (Pane::Keys, _) => Some(&mut self.keys),
            (Pane::Runs, _) if self.deliveries.is_some() => self
                .deliveries
                .as_mut()
                .map(|d| &mut d.list as &mut dyn PaneList),
            (Pane::Runs, _) => Some(&mut self.runs),
            (Pane::Findings, _) => Some(&mut self.findings),
            (Pane::Grants, _) => Some(&mut self.grants.list),
            _ => None,
        }
    }

    pub(super) fn set_filter(&mut self, text: String) {
        if let Some(list) = self.list_mut() {
            list.set_filter(text);
        }
    }

    pub fn current_filter(&self) -> Option<&str> {
        let f = self.list()?.filter();
        (!f.is_empty() || self.filter_input.is_some()).then_some(f)
    }

    pub fn selected_bucket(&self) -> Option<&BucketOverview> {
        self.buckets.selected()
    }

    pub fn selected_object(&self) -> Option<&ObjectInfo> {
        self.objects.as_ref()?.selected_object()
    }

    pub fn selected_finding(&self) -> Option<&Finding> {
        self.findings.selected()
    }

    pub fn selected_run(&self) -> Option<&RunRow> {
        self.runs.selected()
    }

    pub fn selected_key(&self) -> Option<&KeyOverview> {
        self.keys.selected()
    }
}
