//! Glue workflows in the Runs pane: a row per workflow with its last run (state, actions by
//! state, the nodes in the order they run), and `enter`'s run graph, which stays open and is
//! read again every second while the run is under way.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::graph;
use super::{RunKind, RunRow};
use crate::service::jobs::RunState;
use crate::service::workflows::{Graph, WorkflowRun, WorkflowRunStatus};
use crate::service::{Principal, Result, Services};
use crate::tui::keymap;
use crate::tui::popup::{Outcome, Popup};

fn run_state(run: &WorkflowRun) -> RunState {
    match run.status {
        WorkflowRunStatus::Running | WorkflowRunStatus::Stopping => RunState::Running,
        // Glue calls a run whose actions failed COMPLETED too; the colour says how it went.
        WorkflowRunStatus::Completed if run.statistics.failed_actions > 0 => RunState::Failed,
        WorkflowRunStatus::Completed => RunState::Succeeded,
        WorkflowRunStatus::Stopped => RunState::Stopped,
        WorkflowRunStatus::Error => RunState::Failed,
    }
}

fn status_name(status: WorkflowRunStatus) -> String {
    super::serde_name(&status)
}

pub(super) async fn workflow_rows(s: &Services, by: &Principal) -> Vec<RunRow> {
    let Ok(names) = s.workflows.list_workflows(by).await else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for name in names {
        let Ok(wf) = s.workflows.get_workflow(by, &name, true).await else {
            continue;
        };
        let mut row = RunRow::new(RunKind::Workflow, name);
        if let Some(g) = &wf.graph {
            row.route = graph::order(g)
                .into_iter()
                .filter(|n| n.kind != "TRIGGER")
                .map(|n| n.name.clone())
                .collect::<Vec<_>>()
                .join(" → ");
        }
        if let Some(run) = wf.last_run {
            let st = &run.statistics;
            row.state = Some(run_state(&run));
            row.state_label = Some(status_name(run.status));
            row.started = Some(run.started_on);
            row.seconds = run
                .completed_on
                .map(|c| (c - run.started_on).num_seconds().max(0) as u64);
            row.counts = format!(
                "{} actions · {} succeeded · {} failed · {} running",
                st.total_actions,
                st.succeeded_actions,
                st.failed_actions + st.errored_actions + st.timeout_actions,
                st.running_actions
            );
            row.error = run.error_message;
            row.run_id = Some(run.workflow_run_id);
        }
        rows.push(row);
    }
    rows
}

/// What one load of the graph view brings: the workflow's last run with its graph, or, for a
/// workflow that never ran, its definition's graph.
pub struct GraphLoad {
    pub run: Option<WorkflowRun>,
    pub definition: Option<Graph>,
}

pub(crate) async fn load_graph(s: &Services, by: &Principal, workflow: &str) -> Result<GraphLoad> {
    let wf = s.workflows.get_workflow(by, workflow, false).await?;
    match wf.last_run {
        Some(last) => Ok(GraphLoad {
            run: Some(
                s.workflows
                    .get_workflow_run(by, workflow, &last.workflow_run_id, true)
                    .await?,
            ),
            definition: None,
        }),
        None => Ok(GraphLoad {
            run: None,
            definition: s.workflows.get_workflow(by, workflow, true).await?.graph,
        }),
    }
}

/// The run graph popup: what it last read, and when, so the App reads it again while the run
/// is under way.
pub struct RunGraph {
    pub workflow: String,
    pub loaded: Option<GraphLoad>,
    pub error: Option<String>,
    pub scroll: u16,
    /// When it last asked for the graph, and whether that answer is still to come.
    asked: Instant,
    pub loading: bool,
}

impl RunGraph {
    pub fn new(workflow: String) -> RunGraph {
        RunGraph {
            workflow,
            loaded: None,
            error: None,
            scroll: 0,
            asked: Instant::now(),
            loading: true,
        }
    }

    pub fn set(&mut self, result: Result<GraphLoad>) {
        self.loading = false;
        match result {
            Ok(load) => {
                self.loaded = Some(load);
                self.error = None;
            }
            Err(e) => self.error = Some(format!("{}: {}", e.code_name(), e.message)),
        }
    }

    /// The run is under way: the view is read again.
    pub fn live(&self) -> bool {
        self.loaded
            .as_ref()
            .and_then(|l| l.run.as_ref())
            .is_some_and(|r| {
                matches!(
                    r.status,
                    WorkflowRunStatus::Running | WorkflowRunStatus::Stopping
                )
            })
    }

    /// Whether to read the graph again now (live, not already asked, `every` since the last).
    pub fn due(&mut self, every: Duration) -> bool {
        if self.live() && !self.loading && self.asked.elapsed() >= every {
            self.asked = Instant::now();
            self.loading = true;
            return true;
        }
        false
    }

    pub fn handle(mut self: Box<Self>, ev: KeyEvent) -> (Option<Popup>, Outcome) {
        match ev.code {
            KeyCode::Down | KeyCode::Char('j') => self.scroll += 1,
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown => self.scroll += 10,
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            _ => return (None, Outcome::Close),
        }
        (Some(Popup::Graph(self)), Outcome::Stay)
    }

    pub fn hints() -> &'static [(&'static str, &'static str)] {
        keymap::TEXT_HINTS
    }

    pub fn render(&self, f: &mut Frame, area: Rect) {
        let mut lines: Vec<Line<'static>> = Vec::new();
        let title = match self.loaded.as_ref().and_then(|l| l.run.as_ref()) {
            Some(run) => {
                lines.extend(graph::run_header(run));
                format!(
                    " Workflow {} · run {} · {}{} ",
                    self.workflow,
                    run.workflow_run_id,
                    status_name(run.status),
                    if self.live() {
                        " · live, read every second"
                    } else {
                        ""
                    }
                )
            }
            None => format!(" Workflow {} · never run: its graph ", self.workflow),
        };
        if let Some(e) = &self.error {
            lines.push(Line::raw(e.clone()));
        }
        match &self.loaded {
            Some(GraphLoad { run: Some(run), .. }) => lines.extend(graph::lines(
                run.graph.as_ref().unwrap_or(&Graph::default()),
            )),
            Some(GraphLoad {
                definition: Some(g),
                ..
            }) => lines.extend(graph::lines(g)),
            Some(_) => lines.push(Line::raw("The workflow has no triggers yet.")),
            None if self.error.is_none() => lines.push(Line::raw("Reading the graph…")),
            None => {}
        }
        crate::tui::popup::text_box(f, area, &title, lines, self.scroll, 90, 85);
    }
}
