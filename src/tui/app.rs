//! The console's state and its one update path: key events become intents (keymap.rs), intents
//! become popups or jobs (actions.rs), and jobs and loads come back as messages on a channel.
//! Nothing here waits on I/O: every service call runs on a tokio task.

use crossterm::event::{KeyCode, KeyEvent};
use tokio::sync::mpsc;
use tui_textarea::TextArea;

use super::grants::{GrantsData, GrantsPane};
use super::jobs::{Job, JobContext, JobOutcome};
use super::keymap::{self, Intent, Scope};
pub use super::list_view::{ListView, PaneList};
pub use super::loads::finding_label;
use super::loads::load_findings;
use super::popup::{Outcome, Popup, single_line};
use super::query::{QueryPane, QueryResult};
use super::runs::load_runs;
use super::runs::rules::{DeliveriesView, DeliveryRow};
use super::runs::workflows::GraphLoad;
pub use super::runs::{RunKind, RunRow};
use crate::service::classification::Finding;
use crate::service::iam::PrincipalInfo;
use crate::service::keys::KeyOverview;
use crate::service::secrets::SecretDescription;
use crate::service::storage::{BucketOverview, Listing};
use crate::service::{Code, Principal, Progress, Result, ServiceError, Services};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Buckets,
    Keys,
    Findings,
    Runs,
    Grants,
    Query,
}

pub const PANES: [Pane; 6] = [
    Pane::Buckets,
    Pane::Keys,
    Pane::Findings,
    Pane::Runs,
    Pane::Grants,
    Pane::Query,
];

impl Pane {
    pub fn title(self) -> &'static str {
        match self {
            Pane::Buckets => "Buckets",
            Pane::Keys => "Keys",
            Pane::Findings => "Findings",
            Pane::Runs => "Runs",
            Pane::Grants => "Grants",
            Pane::Query => "Query",
        }
    }
}

pub enum Msg {
    Findings(Result<Vec<Finding>>),
    Runs(Result<Vec<RunRow>>),
    Buckets(Result<Vec<BucketOverview>>),
    Objects {
        bucket: String,
        prefix: String,
        flat: bool,
        result: Result<Listing>,
    },
    Keys(Result<Vec<KeyOverview>>),
    Secrets(Result<Vec<SecretDescription>>),
    Principals(Result<Vec<PrincipalInfo>>),
    JobDone {
        task: u64,
        label: String,
        result: Result<JobOutcome>,
    },
    Grants(Result<GrantsData>),
    /// The run graph a popup shows, read (again).
    Graph {
        workflow: String,
        result: Result<GraphLoad>,
    },
    /// A rule's deliveries, for the Runs pane's deliveries view.
    Deliveries {
        rule: String,
        result: Result<Vec<DeliveryRow>>,
    },
    QueryDone {
        task: u64,
        result: Result<QueryResult>,
    },
    /// The services of another profile or region (`:profile`, `:region`).
    Connected(Result<Services>),
}

pub use super::objects::Objects;

pub struct Task {
    pub id: u64,
    pub label: String,
    pub progress: Progress,
}

pub struct Options {
    pub readonly: bool,
}

pub struct App {
    pub services: Services,
    pub principal: Principal,
    pub readonly: bool,
    pub pane: Pane,
    pub buckets: ListView<BucketOverview>,
    pub objects: Option<Objects>,
    pub keys: ListView<KeyOverview>,
    /// The secrets, shown in the Keys pane instead of the keys while `show_secrets`: names, key
    /// and last change only; a value is read only on request (`v`, confirmed, audited).
    pub secrets: ListView<SecretDescription>,
    pub show_secrets: bool,
    /// Why the secrets cannot be listed, when the principal may not list them.
    pub secrets_denied: Option<String>,
    pub runs: ListView<RunRow>,
    /// One rule's deliveries, shown in the Runs pane instead of the runs (`enter` on a rule).
    pub deliveries: Option<DeliveriesView>,
    pub(super) deliveries_loaded: std::time::Instant,
    pub findings: ListView<Finding>,
    /// Why the findings cannot be shown, when they cannot: the principal is not a lake admin,
    /// or (on AWS) Macie is not enabled in this account and region.
    pub findings_unavailable: Option<crate::service::ServiceError>,
    /// Panes the acting principal may not read, with the refusal: drawn in the pane instead of
    /// a popup on every refresh.
    pub denied: Vec<(Pane, String)>,
    /// When the Runs pane last asked for fresh runs (it asks every second while one is running).
    pub(super) runs_loaded: std::time::Instant,
    pub principals: Vec<PrincipalInfo>,
    pub grants: GrantsPane,
    pub query: QueryPane,
    pub popup: Option<Popup>,
    /// The filter being typed, when `/` is active.
    pub filter_input: Option<Box<TextArea<'static>>>,
    pub tasks: Vec<Task>,
    pub message: Option<String>,
    pub history: Vec<String>,
    pub should_quit: bool,
    next_task: u64,
    in_flight: usize,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
}

impl App {
    pub fn new(services: Services, principal: Principal, options: Options) -> App {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut app = App {
            services,
            principal,
            readonly: options.readonly,
            pane: Pane::Buckets,
            buckets: ListView::new(bucket_name),
            objects: None,
            keys: ListView::new(key_label),
            secrets: ListView::new(|s: &SecretDescription| s.name.clone()),
            show_secrets: false,
            secrets_denied: None,
            runs: ListView::new(|r: &RunRow| r.name.clone()),
            deliveries: None,
            deliveries_loaded: std::time::Instant::now(),
            findings: ListView::new(finding_label),
            findings_unavailable: None,
            denied: Vec::new(),
            runs_loaded: std::time::Instant::now(),
            principals: Vec::new(),
            grants: GrantsPane::new(),
            query: QueryPane::new(),
            popup: None,
            filter_input: None,
            tasks: Vec::new(),
            message: None,
            history: Vec::new(),
            should_quit: false,
            next_task: 1,
            in_flight: 0,
            tx,
            rx,
        };
        app.refresh();
        app
    }

    /// Runs `fut` on a task; its message comes back through `next_message`.
    pub(super) fn spawn(&mut self, fut: impl std::future::Future<Output = Msg> + Send + 'static) {
        self.in_flight += 1;
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(fut.await);
        });
    }

    pub fn refresh(&mut self) {
        let (s, p) = (self.services.clone(), self.principal.clone());
        self.spawn(async move { Msg::Buckets(s.storage.bucket_overview(&p).await) });
        let (s, p) = (self.services.clone(), self.principal.clone());
        self.spawn(async move { Msg::Keys(s.keys.key_overview(&p).await) });
        let (s, p) = (self.services.clone(), self.principal.clone());
        self.spawn(async move { Msg::Secrets(s.secrets.list_secrets(&p).await) });
        let (s, p) = (self.services.clone(), self.principal.clone());
        self.spawn(async move { Msg::Principals(s.iam.list_principals(&p).await) });
        let (s, p) = (self.services.clone(), self.principal.clone());
        self.spawn(async move { Msg::Findings(load_findings(&s, &p).await) });
        self.load_runs();
        self.load_deliveries();
        self.load_grants();
        self.load_objects();
    }

    /// Remembers that `pane` is empty because the principal may not read it.
    fn no_access(&mut self, pane: Pane, e: &ServiceError) {
        self.access_restored(pane);
        self.denied.push((pane, e.message.clone()));
    }

    fn access_restored(&mut self, pane: Pane) {
        self.denied.retain(|(p, _)| *p != pane);
    }

    /// Why `pane` is empty, when the principal may not read it.
    pub fn denied_reason(&self, pane: Pane) -> Option<String> {
        self.denied.iter().find(|(p, _)| *p == pane).map(|(_, m)| {
            format!(
                "You have no access to this pane as {}.\n\n{m}",
                self.principal
            )
        })
    }

    pub(super) fn load_runs(&mut self) {
        self.runs_loaded = std::time::Instant::now();
        let (s, p) = (self.services.clone(), self.principal.clone());
        self.spawn(async move { Msg::Runs(load_runs(&s, &p).await) });
    }

    /// Called on every tick of the event loop: runs under way are watched live (runs/actions.rs).
    pub fn on_tick(&mut self) {
        self.watch_runs();
    }

    /// Lists the open bucket where its view is (one folder, or every key in the flat view).
    pub fn load_objects(&mut self) {
        let Some(o) = &self.objects else {
            return;
        };
        let (bucket, flat) = (o.bucket.clone(), o.flat);
        let (prefix, delimiter) = o.request();
        let (s, p) = (self.services.clone(), self.principal.clone());
        self.spawn(async move {
            let result = s
                .storage
                .list_objects(&p, &bucket, &prefix, delimiter)
                .await;
            Msg::Objects {
                bucket,
                prefix,
                flat,
                result,
            }
        });
    }

    pub(super) fn next_task_id(&mut self) -> u64 {
        self.next_task += 1;
        self.next_task - 1
    }

    /// Runs a confirmed job, with its progress in the status bar.
    pub fn run_job(&mut self, job: Job) {
        let id = self.next_task_id();
        let progress = Progress::default();
        self.tasks.push(Task {
            id,
            label: job.label.clone(),
            progress: progress.clone(),
        });
        let ctx = JobContext {
            services: self.services.clone(),
            principal: self.principal.clone(),
            progress,
        };
        let label = job.label;
        let run = job.run;
        self.spawn(async move {
            Msg::JobDone {
                task: id,
                label,
                result: run(ctx).await,
            }
        });
    }

    pub fn show_error(&mut self, err: &ServiceError) {
        self.popup = Some(Popup::Error {
            title: err.code_name().to_string(),
            message: err.message.clone(),
        });
    }

    pub fn update(&mut self, msg: Msg) {
        self.in_flight = self.in_flight.saturating_sub(1);
        match msg {
            Msg::Buckets(Ok(items)) => {
                self.access_restored(Pane::Buckets);
                self.buckets.set(items)
            }
            Msg::Keys(Ok(items)) => {
                self.access_restored(Pane::Keys);
                self.keys.set(items)
            }
            Msg::Secrets(Ok(items)) => {
                self.secrets_denied = None;
                self.secrets.set(items)
            }
            // Said in the pane's secrets view, not in a popup at every refresh.
            Msg::Secrets(Err(e)) => {
                self.secrets.set(Vec::new());
                self.secrets_denied = Some(format!("{}: {}", e.code_name(), e.message));
            }
            Msg::Runs(Ok(items)) => {
                self.access_restored(Pane::Runs);
                self.runs.set(items)
            }
            Msg::Findings(Ok(items)) => {
                self.findings_unavailable = None;
                self.findings.set(items);
            }
            // Said in the pane, not in a popup at every refresh.
            Msg::Findings(Err(e)) => {
                self.findings.set(Vec::new());
                self.findings_unavailable = Some(e);
            }
            Msg::Principals(Ok(items)) => self.principals = items,
            Msg::Grants(Ok(data)) => self.grants.set(data),
            Msg::Graph { workflow, result } => {
                if let Some(Popup::Graph(g)) = &mut self.popup
                    && g.workflow == workflow
                {
                    g.set(result);
                }
            }
            Msg::Deliveries { rule, result } => {
                if let Some(d) = self.deliveries.as_mut().filter(|d| d.rule == rule) {
                    d.set(result);
                }
            }
            Msg::QueryDone { task, result } => self.query_done(task, result),
            Msg::Connected(Ok(services)) => {
                self.message = Some(format!("connected: {}", services.backend.location));
                self.services = services;
                self.refresh();
            }
            Msg::Objects {
                bucket,
                prefix,
                flat,
                result: Ok(listing),
            } => {
                if let Some(o) = self.objects.as_mut().filter(|o| o.bucket == bucket) {
                    o.set(&prefix, flat, listing);
                }
            }
            // A pane the acting principal may not read is emptied and the status line says
            // so: every refresh as a principal with few policies would otherwise stack popups.
            Msg::Buckets(Err(e)) if e.code == Code::AccessDenied => {
                self.buckets.set(Vec::new());
                self.no_access(Pane::Buckets, &e);
            }
            Msg::Keys(Err(e)) if e.code == Code::AccessDenied => {
                self.keys.set(Vec::new());
                self.no_access(Pane::Keys, &e);
            }
            Msg::Runs(Err(e)) if e.code == Code::AccessDenied => {
                self.runs.set(Vec::new());
                self.no_access(Pane::Runs, &e);
            }
            Msg::Grants(Err(e)) if e.code == Code::AccessDenied => {
                self.grants.set(GrantsData {
                    grants: Vec::new(),
                    tables: Vec::new(),
                    filters: Vec::new(),
                });
            }
            // The principal picker keeps the list it had: the console's user may switch back.
            Msg::Principals(Err(e)) if e.code == Code::AccessDenied => {}
            Msg::Objects { result: Err(e), .. }
            | Msg::Buckets(Err(e))
            | Msg::Keys(Err(e))
            | Msg::Runs(Err(e))
            | Msg::Principals(Err(e))
            | Msg::Grants(Err(e))
            | Msg::Connected(Err(e)) => self.show_error(&e),
            Msg::JobDone {
                task,
                label,
                result,
            } => {
                self.tasks.retain(|t| t.id != task);
                match result {
                    Ok(JobOutcome::Message(m)) => self.message = Some(m),
                    Ok(JobOutcome::Secret(view)) => {
                        self.message =
                            Some(format!("{label}: shown, and recorded in the audit log"));
                        self.popup = Some(Popup::Secret(view));
                    }
                    Ok(JobOutcome::Text { title, body }) => {
                        self.message = Some(format!("{label}: done"));
                        self.popup = Some(Popup::Text {
                            title,
                            body,
                            scroll: 0,
                        });
                    }
                    Err(e) => {
                        self.message = Some(format!("{label}: failed"));
                        self.show_error(&e);
                    }
                }
                self.refresh();
            }
        }
    }

    /// Waits for every load and job under way (tests use it to reach a settled screen).
    pub async fn settle(&mut self) {
        while self.in_flight > 0 {
            match tokio::time::timeout(std::time::Duration::from_secs(30), self.rx.recv()).await {
                Ok(Some(msg)) => self.update(msg),
                _ => break,
            }
        }
    }

    /// The next message from a task (the event loop selects on it).
    pub async fn next_message(&mut self) -> Option<Msg> {
        self.rx.recv().await
    }

    pub fn scope(&self) -> Scope {
        match self.pane {
            Pane::Buckets if self.objects.is_some() => Scope::Objects,
            Pane::Buckets => Scope::Buckets,
            Pane::Keys if self.show_secrets => Scope::Secrets,
            Pane::Keys => Scope::Keys,
            Pane::Runs if self.deliveries.is_some() => Scope::Deliveries,
            Pane::Runs => Scope::Runs,
            Pane::Findings => Scope::Findings,
            Pane::Grants => Scope::Grants,
            Pane::Query => Scope::Query,
        }
    }

    pub fn hints(&self) -> Vec<(String, &'static str)> {
        match (&self.popup, &self.filter_input) {
            (Some(p), _) => p.hints(),
            (None, Some(_)) => keymap::FILTER_HINTS
                .iter()
                .map(|(k, h)| (k.to_string(), *h))
                .collect(),
            (None, None) if self.pane == Pane::Query && self.query.editing => {
                keymap::QUERY_EDIT_HINTS
                    .iter()
                    .map(|(k, h)| (k.to_string(), *h))
                    .collect()
            }
            (None, None) => keymap::hints(self.scope(), self.readonly),
        }
    }

    pub fn handle_key(&mut self, ev: KeyEvent) {
        if let Some(mut input) = self.filter_input.take() {
            match ev.code {
                KeyCode::Enter => {}
                KeyCode::Esc => self.set_filter(String::new()),
                _ => {
                    input.input(ev);
                    self.set_filter(input.lines().join(""));
                    self.filter_input = Some(input);
                }
            }
            return;
        }
        if let Some(popup) = self.popup.take() {
            let (keep, outcome) = popup.handle(ev, &self.history);
            self.popup = keep;
            if let Outcome::Submit(submit) = outcome {
                self.submit(submit);
            }
            return;
        }
        if self.pane == Pane::Query && self.query.editing {
            return self.query_editor_key(ev);
        }
        if let Some(intent) = keymap::lookup(self.scope(), &ev, self.readonly) {
            self.on_intent(intent);
        }
    }

    /// What the open confirmation asks, unwrapped (the screen wraps it to the popup's width).
    pub fn confirmation(&self) -> Option<&str> {
        match &self.popup {
            Some(Popup::Confirm { message, .. }) => Some(message),
            _ => None,
        }
    }

    fn on_intent(&mut self, intent: Intent) {
        match intent {
            Intent::Quit => self.should_quit = true,
            Intent::NextPane | Intent::PrevPane => {
                let i = PANES.iter().position(|p| *p == self.pane).unwrap_or(0);
                let next = if intent == Intent::NextPane {
                    (i + 1) % 6
                } else {
                    (i + 5) % 6
                };
                self.pane = PANES[next];
            }
            Intent::Pane(i) => self.pane = PANES[i.min(5)],
            Intent::Up | Intent::Down if self.pane == Pane::Query => {
                self.query.step(intent == Intent::Down)
            }
            Intent::Up | Intent::Down => {
                if let Some(list) = self.list_mut() {
                    list.step(intent == Intent::Down);
                }
            }
            Intent::Back if self.pane == Pane::Runs => self.deliveries = None,
            Intent::Back => {
                if self.objects.as_mut().is_some_and(Objects::up) {
                    self.load_objects();
                } else {
                    self.objects = None;
                }
            }
            Intent::ToggleFlat => {
                if let Some(o) = self.objects.as_mut() {
                    o.toggle_flat();
                    self.load_objects();
                }
            }
            Intent::Help => {
                self.popup = Some(Popup::Help {
                    readonly: self.readonly,
                    scroll: 0,
                })
            }
            Intent::CommandLine => {
                self.popup = Some(Popup::CommandLine {
                    input: single_line(""),
                    history_at: None,
                })
            }
            Intent::Filter if self.scope() != Scope::Global => {
                self.filter_input = Some(single_line(self.current_filter().unwrap_or("")));
            }
            Intent::Filter => {}
            Intent::Refresh => {
                self.message = None;
                self.refresh();
            }
            Intent::CancelTask => {
                if let Some(t) = self.tasks.last() {
                    t.progress.cancel();
                    self.message = Some(format!("cancelling {}", t.label));
                }
            }
            Intent::ToggleSecrets => self.show_secrets = !self.show_secrets,
            Intent::NewGrant => self.new_grant(),
            Intent::Revoke => self.revoke_selected(),
            Intent::Explain => self.explain(),
            Intent::ToggleGrantView => self.grants.toggle_view(),
            Intent::EditQuery => self.query.editing = true,
            Intent::RunQuery => self.run_query(),
            Intent::HistoryBack => self.query.recall(true),
            Intent::HistoryForward => self.query.recall(false),
            Intent::ColumnsLeft => self.query.scroll_columns(false),
            Intent::ColumnsRight => self.query.scroll_columns(true),
            other => self.act(other),
        }
    }
}

pub fn bucket_name(b: &BucketOverview) -> String {
    b.bucket.name.clone()
}

/// A key as people name it: its first alias, else its id.
pub fn key_label(k: &KeyOverview) -> String {
    k.aliases
        .first()
        .cloned()
        .unwrap_or_else(|| k.key_id.clone())
}
