//! The Runs pane: everything that runs in the lake as one list (jobs and crawlers with their
//! last run, replication tasks with their table counts, workflows with their last run, event
//! rules with their recent deliveries), each row's keys (actions.rs), and the views `enter`
//! opens: a task's per-table statistics (replication.rs), a workflow run's live graph
//! (workflows.rs, graph.rs) and a rule's deliveries with replay (rules.rs).

mod actions;
pub mod graph;
pub mod replication;
pub mod rules;
pub mod workflows;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::app::{App, Pane};
use super::theme;
use super::view::{empty, pane_block, table, when};
use crate::service::dms::StartType;
use crate::service::jobs::RunState;
use crate::service::{Principal, Result, Services};

/// What a Runs row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Job,
    Crawler,
    /// A DMS replication task: its "run" is the task itself (it runs until it stops).
    ReplicationTask,
    /// A Glue workflow: its last run.
    Workflow,
    /// An EventBridge rule: its "run" is its latest delivery.
    Rule,
}

impl RunKind {
    pub fn label(self) -> &'static str {
        match self {
            RunKind::Job => "job",
            RunKind::Crawler => "crawler",
            RunKind::ReplicationTask => "dms task",
            RunKind::Workflow => "workflow",
            RunKind::Rule => "rule",
        }
    }
}

/// A job, crawler, task, workflow or rule with its last run or delivery, as the pane lists them.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub kind: RunKind,
    pub name: String,
    /// What it reads and writes (source → target, or the crawled targets → database).
    pub route: String,
    /// Whether it is under way and how it ended, for the colour and the live refresh.
    pub state: Option<RunState>,
    /// The state in its own service's words where they are not a Glue job's (DMS's `running`,
    /// a workflow run's `COMPLETED`).
    pub state_label: Option<String>,
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    pub seconds: Option<u64>,
    /// The last run's id; a replication task's ARN; a rule's latest delivery's result.
    pub run_id: Option<String>,
    /// Records read/written/duplicates/quarantined, tables created/updated for a crawl, rows
    /// loaded/inserted/updated/deleted for a task, actions by state for a workflow.
    pub counts: String,
    pub error: Option<String>,
    /// How `s` starts a replication task from where it is.
    pub start_type: Option<StartType>,
}

impl RunRow {
    fn new(kind: RunKind, name: String) -> RunRow {
        RunRow {
            kind,
            name,
            route: String::new(),
            state: None,
            state_label: None,
            started: None,
            seconds: None,
            run_id: None,
            counts: String::new(),
            error: None,
            start_type: None,
        }
    }

    /// Under way: started and not yet ended.
    pub fn is_active(&self) -> bool {
        self.state.is_some_and(|s| !s.is_finished())
    }
}

pub(super) async fn load_runs(s: &Services, by: &Principal) -> Result<Vec<RunRow>> {
    let mut rows = Vec::new();
    for job in s.jobs.get_jobs(by).await? {
        let last = s.jobs.get_job_runs(by, &job.name).await?.into_iter().next();
        let mut row = RunRow::new(RunKind::Job, job.name);
        row.route = format!("{} → {}", job.source, job.target);
        if let Some(r) = last {
            let m = &r.metrics;
            row.state = Some(r.job_run_state);
            row.started = Some(r.started_on);
            row.seconds = Some(r.execution_time);
            row.counts = format!(
                "{} read · {} written · {} dup · {} quar",
                m.records_read, m.records_written, m.duplicates, m.quarantined
            );
            row.run_id = Some(r.id);
            row.error = r.error_message;
        }
        rows.push(row);
    }
    for (def, last) in s.jobs.get_crawlers(by).await? {
        let mut row = RunRow::new(RunKind::Crawler, def.name);
        row.route = format!("{} → {}", def.targets.join(", "), def.database_name);
        if let Some(r) = last {
            row.state = Some(r.state);
            row.started = Some(r.started_on);
            row.seconds = r
                .completed_on
                .map(|c| (c - r.started_on).num_seconds().max(0) as u64);
            row.counts = format!(
                "{} created · {} updated · {} partitions",
                r.tables_created.len(),
                r.tables_updated.len(),
                r.partitions_added
            );
            row.error = r.error_message;
        }
        rows.push(row);
    }
    // A principal who may not read tasks, workflows or rules (or a backend without them) sees
    // the rest: each loader answers what it may.
    rows.extend(replication::task_rows(s, by).await);
    rows.extend(workflows::workflow_rows(s, by).await);
    rows.extend(rules::rule_rows(s, by).await);
    Ok(rows)
}

/// A value's name in its service's JSON (`ON_DEMAND`, `full-load-and-cdc`), for the screen.
pub(super) fn serde_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A row's state as the pane shows it, coloured by how it went.
fn state_span(r: &RunRow) -> Span<'static> {
    let Some(s) = r.state else {
        return Span::styled(
            r.state_label.clone().unwrap_or_else(|| "never run".into()),
            theme::dim(),
        );
    };
    let text = r
        .state_label
        .clone()
        .unwrap_or_else(|| format!("{s:?}").to_uppercase());
    let color = match s {
        RunState::Succeeded => theme::ok(),
        RunState::Running | RunState::Starting => theme::warn(),
        _ => theme::bad(),
    };
    Span::styled(text, Style::new().fg(color))
}

/// What the pane lists: jobs and crawlers always, the other kinds when there are some.
fn title(rows: &[RunRow]) -> String {
    let mut kinds = vec!["Jobs", "crawlers"];
    for (kind, name) in [
        (RunKind::ReplicationTask, "replication tasks"),
        (RunKind::Workflow, "workflows"),
        (RunKind::Rule, "rules"),
    ] {
        if rows.iter().any(|r| r.kind == kind) {
            kinds.push(name);
        }
    }
    let last = kinds.pop().unwrap_or_default();
    format!("{} and {last}", kinds.join(", "))
}

pub(super) fn render(app: &mut App, f: &mut Frame, area: Rect) {
    if app.deliveries.is_some() {
        return rules::render(app, f, area);
    }
    let block = pane_block(
        format!(" {} ({}) ", title(&app.runs.items), app.runs.items.len()),
        app.current_filter(),
    );
    if let Some(why) = app.denied_reason(Pane::Runs) {
        return empty(f, area, block, &why);
    }
    if app.runs.items.is_empty() {
        let hint = "Nothing runs here yet. Create jobs and crawlers with :glue create-job and :glue create-crawler \
                    (the demo lake has both), replication tasks with :dms create-replication-task, workflows with \
                    :glue create-workflow and rules with :events put-rule; c shows the catalog.";
        return empty(f, area, block, hint);
    }
    let rows: Vec<Vec<Line>> = app
        .runs
        .visible()
        .into_iter()
        .map(|r| {
            vec![
                Line::from(r.kind.label()),
                Line::from(r.name.clone()),
                Line::from(state_span(r)),
                Line::from(r.started.map(when).unwrap_or_default()),
                Line::from(r.seconds.map(|s| format!("{s} s")).unwrap_or_default()),
                Line::from(r.error.clone().unwrap_or_else(|| r.counts.clone())),
                Line::from(r.route.clone()),
            ]
        })
        .collect();
    let t = table(
        rows,
        &[
            "Kind",
            "Name",
            "Last run",
            "Started",
            "Took",
            "Records",
            "Reads → writes",
        ],
        block,
        area,
    );
    f.render_stateful_widget(t, area, &mut app.runs.state);
}
