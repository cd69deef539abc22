//! What the Runs pane's keys do to the selected row, by kind: `enter` opens its details (a job
//! run, a crawler, a task's table statistics, a workflow's live run graph, a rule's
//! deliveries), `s` and `S` start and stop it behind a confirmation that shows the `lakectl`
//! command, `l` reads a job run's log; in a rule's deliveries `R` replays a failed one.

use super::rules::{DeliveriesView, load_deliveries};
use super::workflows::{RunGraph, load_graph};
use super::{RunKind, replication};
use crate::tui::actions::words;
use crate::tui::app::{App, Msg};
use crate::tui::jobs::{Job, JobOutcome, command_text};
use crate::tui::popup::Popup;

impl App {
    pub(in crate::tui) fn open_run(&mut self) {
        let Some(r) = self.selected_run() else {
            return;
        };
        let (name, id) = (r.name.clone(), r.run_id.clone());
        let w = match (r.kind, id) {
            (RunKind::Crawler, _) => words(&["glue", "get-crawler", "--name", &name]),
            (RunKind::Job, Some(id)) => {
                words(&["glue", "get-job-run", "--job-name", &name, "--run-id", &id])
            }
            (RunKind::Job, None) => words(&["glue", "get-jobs"]),
            (RunKind::ReplicationTask, Some(arn)) => {
                return self.run_job(replication::table_statistics(arn, name));
            }
            (RunKind::ReplicationTask, None) => return,
            (RunKind::Workflow, _) => {
                self.popup = Some(Popup::Graph(Box::new(RunGraph::new(name.clone()))));
                return self.load_graph(name);
            }
            (RunKind::Rule, _) => {
                self.deliveries = Some(DeliveriesView::new(name.clone()));
                return self.load_deliveries();
            }
        };
        self.run_job(Job::command(format!("details of {name}"), w, true));
    }

    pub(in crate::tui) fn load_graph(&mut self, workflow: String) {
        let (s, p) = (self.services.clone(), self.principal.clone());
        self.spawn(async move {
            let result = load_graph(&s, &p, &workflow).await;
            Msg::Graph { workflow, result }
        });
    }

    pub(in crate::tui) fn load_deliveries(&mut self) {
        let Some(rule) = self.deliveries.as_ref().map(|d| d.rule.clone()) else {
            return;
        };
        self.deliveries_loaded = std::time::Instant::now();
        let (s, p) = (self.services.clone(), self.principal.clone());
        self.spawn(async move {
            let result = load_deliveries(&s, &p, &rule).await;
            Msg::Deliveries { rule, result }
        });
    }

    pub(in crate::tui) fn start_run(&mut self) {
        let Some(r) = self.selected_run() else {
            return;
        };
        let (kind, name, run_id, start, active) = (
            r.kind,
            r.name.clone(),
            r.run_id.clone(),
            r.start_type,
            r.is_active(),
        );
        // With --wait the task lasts as long as the run: its gauge is in the status bar, and
        // `x` stops it.
        match kind {
            // A rule's `s` delivers its failed deliveries again.
            RunKind::Rule => {
                let w = words(&["events", "replay-failed-deliveries", "--rule", &name]);
                self.confirm(
                    &format!("Deliver the failed deliveries of the rule {name} again"),
                    w,
                );
            }
            RunKind::Crawler => {
                let w = words(&["glue", "start-crawler", "--name", &name, "--wait"]);
                self.confirm(&format!("Start the crawler {name}"), w);
            }
            RunKind::Job => {
                let w = words(&["glue", "start-job-run", "--job-name", &name, "--wait"]);
                self.confirm(&format!("Start the job {name}"), w);
            }
            // Without --wait: the run is watched in its graph (enter), not in the status bar.
            RunKind::Workflow => {
                let w = words(&["glue", "start-workflow-run", "--name", &name]);
                self.confirm(
                    &format!("Start a run of the workflow {name} (enter shows its graph)"),
                    w,
                );
            }
            RunKind::ReplicationTask => {
                let (Some(arn), Some(start)) = (run_id, start) else {
                    return;
                };
                if active {
                    self.message = Some(format!("{name} is under way; S stops it"));
                    return;
                }
                let w = words(&[
                    "dms",
                    "start-replication-task",
                    "--replication-task-arn",
                    &arn,
                    "--start-replication-task-type",
                    start.as_str(),
                ]);
                self.confirm(
                    &format!(
                        "Start the replication task {name} ({}): it runs in this console's process until it stops, or in the lake server if one runs",
                        start.as_str()
                    ),
                    w,
                );
            }
        }
    }

    pub(in crate::tui) fn stop_run(&mut self) {
        let Some(r) = self.selected_run().filter(|r| r.is_active()) else {
            return;
        };
        let name = r.name.clone();
        match (r.kind, r.run_id.clone()) {
            (RunKind::Crawler, _) => {
                let w = words(&["glue", "stop-crawler", "--name", &name]);
                self.confirm(
                    &format!("Stop the crawl of {name}: tables it already wrote stay"),
                    w,
                );
            }
            (RunKind::Job, Some(id)) => {
                let w = words(&[
                    "glue",
                    "batch-stop-job-run",
                    "--job-name",
                    &name,
                    "--job-run-ids",
                    &id,
                ]);
                self.confirm(
                    &format!("Stop the run of {name}: its output is discarded"),
                    w,
                );
            }
            (RunKind::Workflow, Some(id)) => {
                let w = words(&[
                    "glue",
                    "stop-workflow-run",
                    "--name",
                    &name,
                    "--run-id",
                    &id,
                ]);
                self.confirm(
                    &format!("Stop the run of {name}: nodes under way finish, no other starts"),
                    w,
                );
            }
            (RunKind::ReplicationTask, Some(arn)) => {
                let w = words(&[
                    "dms",
                    "stop-replication-task",
                    "--replication-task-arn",
                    &arn,
                ]);
                self.confirm(
                    &format!(
                        "Stop the replication task {name}: what it committed stays, and resume-processing goes on from there"
                    ),
                    w,
                );
            }
            _ => {}
        }
    }

    pub(in crate::tui) fn run_log(&mut self) {
        if let Some(r) = self.selected_run().filter(|r| r.kind == RunKind::Job)
            && let Some(id) = &r.run_id
        {
            let (job, id) = (r.name.clone(), id.clone());
            self.run_job(Job::new(format!("log of {job}"), move |ctx| {
                Box::pin(async move {
                    let body = ctx
                        .services
                        .jobs
                        .get_job_run_log(&ctx.principal, &job, &id)
                        .await?;
                    Ok(JobOutcome::Text {
                        title: format!("log of {job} run {id}"),
                        body,
                    })
                })
            }));
        }
    }

    /// `R` in a rule's deliveries: the selected failed delivery, delivered again once confirmed.
    pub(in crate::tui) fn replay_delivery(&mut self) {
        let Some(view) = &self.deliveries else {
            return;
        };
        let Some(d) = view.list.selected() else {
            return;
        };
        let Some(failure) = d.failure.clone() else {
            let said = format!(
                "the delivery of {} is {}: only a failed one is replayed",
                d.delivery.event_id, d.delivery.state
            );
            self.message = Some(said);
            return;
        };
        let rule = view.rule.clone();
        let w = words(&[
            "events",
            "replay-failed-deliveries",
            "--rule",
            &rule,
            "--event-id",
            &failure.event_id,
        ]);
        let label = format!(
            "Deliver the event {} ({}) again to the targets of {rule} it failed to reach; it failed with: {}",
            failure.event_id, failure.detail_type, failure.last_error
        );
        let message = format!("{label}?\n\n{}", command_text(&w));
        self.popup = Some(Popup::Confirm {
            message,
            job: Job::command(format!("replay of {}", failure.event_id), w, false),
        });
    }

    /// On each tick: the runs while one is under way, the open run graph while its run is,
    /// and the open deliveries while one is pending, each as often as the backend allows.
    pub(in crate::tui) fn watch_runs(&mut self) {
        let every = std::time::Duration::from_secs(1).max(self.services.backend.poll_interval);
        let running = self.runs.items.iter().any(|r| r.is_active()) || !self.tasks.is_empty();
        if running && self.runs_loaded.elapsed() > every {
            self.load_runs();
        }
        if let Some(Popup::Graph(g)) = &mut self.popup
            && g.due(every)
        {
            let workflow = g.workflow.clone();
            self.load_graph(workflow);
        }
        if self.deliveries.as_ref().is_some_and(|d| d.live())
            && self.deliveries_loaded.elapsed() > every
        {
            self.load_deliveries();
        }
    }
}
