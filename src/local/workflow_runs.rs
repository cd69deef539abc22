//! Executing a workflow run on the local lake. A run is driven by one process at a time (the
//! one that started it, or a lake server that took over a run whose process died): its driver
//! starts the nodes that fired triggers asked for, and each time a node ends it fires the
//! CONDITIONAL triggers whose predicate now holds over THIS run's node states, once each. A node
//! that fails leaves the triggers waiting for its success unfired, so its successors never start,
//! and the run's graph says why. Everything a run records (fired triggers, nodes, their run ids)
//! is in the metadata store, so any process can read it and a server can finish it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rusqlite::{Transaction, params};
use serde_json::json;

use super::authorizer::Call;
use super::workflows::{check_properties, definition_graph, node_id};
use super::{Lake, now, runner_gone, ts};
use crate::service::classification::ClassificationJobSpec;
use crate::service::jobs::{CrawlerRun, RunState};
use crate::service::workflows::{
    Action, Graph, Logical, Node, NodeState, RunStatistics, Trigger, TriggerState, TriggerType,
    WorkflowRun, WorkflowRunStatus,
};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// How often a driver looks at its run's nodes: often enough that a successor starts within a
/// fraction of a second of its predecessor's end.
const DRIVE_INTERVAL: Duration = Duration::from_millis(50);

/// Who started a node: the trigger, and the workflow run it fired in (none for a trigger that
/// is not part of a workflow).
#[derive(Debug, Clone)]
pub(super) struct NodeOrigin {
    pub trigger: String,
    pub run_id: Option<String>,
}

/// One node of a run as recorded.
struct NodeRow {
    action: Action,
    trigger: String,
    reference: Option<String>,
    error: Option<String>,
    crawl: Option<String>,
}

fn job_state(s: RunState) -> NodeState {
    match s {
        RunState::Starting => NodeState::Starting,
        RunState::Running => NodeState::Running,
        RunState::Succeeded => NodeState::Succeeded,
        RunState::Failed => NodeState::Failed,
        RunState::Stopped => NodeState::Stopped,
        RunState::Timeout => NodeState::Timeout,
    }
}

/// Glue's crawl states: a stopped crawl is CANCELLED.
fn crawl_state(s: RunState) -> NodeState {
    match s {
        RunState::Stopped => NodeState::Cancelled,
        RunState::Timeout => NodeState::Failed,
        other => job_state(other),
    }
}

pub(super) fn state_name(s: NodeState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn statistics(states: &[NodeState]) -> RunStatistics {
    let mut s = RunStatistics {
        total_actions: states.len() as u32,
        ..RunStatistics::default()
    };
    for st in states {
        match st {
            NodeState::Starting | NodeState::Running | NodeState::Stopping => {
                s.running_actions += 1
            }
            NodeState::Succeeded => s.succeeded_actions += 1,
            NodeState::Failed => s.failed_actions += 1,
            NodeState::Stopped | NodeState::Cancelled => s.stopped_actions += 1,
            NodeState::Timeout => s.timeout_actions += 1,
            NodeState::Error => s.errored_actions += 1,
        }
    }
    s
}

impl Lake {
    /// Starts a run of `name` as `by`: its starting trigger (`starting`, or the workflow's
    /// ON_DEMAND, EVENT or SCHEDULED trigger) fires, and this process drives the run.
    pub(super) fn begin_workflow_run(
        &self,
        by: &Principal,
        name: &str,
        run_properties: BTreeMap<String, String>,
        starting: Option<&str>,
    ) -> Result<String> {
        self.start_workflow_run_for(by, name, run_properties, starting, None, &|_, _| Ok(()))
    }

    /// Starts a run as `begin_workflow_run` does; `event` is the event a rule delivered (its
    /// EVENT trigger starts the run, and the run records the event), and `also` runs in the
    /// run's transaction with its id, as for `start_job_run_for`.
    pub(super) fn start_workflow_run_for(
        &self,
        by: &Principal,
        name: &str,
        run_properties: BTreeMap<String, String>,
        starting: Option<&str>,
        event: Option<&str>,
        also: &dyn Fn(&Transaction, &str) -> Result<()>,
    ) -> Result<String> {
        let id = format!("wr_{}", uuid::Uuid::new_v4().simple());
        let order = if event.is_some() {
            [
                TriggerType::Event,
                TriggerType::OnDemand,
                TriggerType::Scheduled,
            ]
        } else {
            [
                TriggerType::OnDemand,
                TriggerType::Event,
                TriggerType::Scheduled,
            ]
        };
        let call = Call::new("glue", "StartWorkflowRun", name).on(self.workflow_arn(name));
        self.audited(by, call, |tx, _| {
            let wf = self.workflow_def(tx, name)?;
            if let Some(max) = wf.max_concurrent_runs {
                let ids: Vec<String> = tx
                    .prepare("SELECT id FROM workflow_runs WHERE workflow = ?1")?
                    .query_map(params![name], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let mut running = 0u32;
                for id in &ids {
                    let run = self.workflow_run_row(tx, id)?;
                    if matches!(run.status, WorkflowRunStatus::Running | WorkflowRunStatus::Stopping) {
                        running += 1;
                    }
                }
                if running >= max {
                    return Err(ServiceError::new(
                        Code::ConcurrentRunsExceededException,
                        format!("Workflow {name} already has {running} run(s) under way (MaxConcurrentRuns {max})."),
                    ));
                }
            }
            let triggers = self.workflow_triggers(tx, name)?;
            let first = match starting {
                Some(s) => triggers.iter().find(|t| t.name == s),
                None => order
                    .iter()
                    .find_map(|k| triggers.iter().find(|t| t.kind == *k)),
            }
            .ok_or_else(|| {
                ServiceError::new(
                    Code::InvalidInputException,
                    format!(
                        "workflow {name} has no starting trigger: create one with `glue create-trigger --workflow-name {name} --type ON_DEMAND --actions ...`"
                    ),
                )
            })?;
            let mut properties = wf.default_run_properties.clone();
            properties.extend(run_properties.clone());
            check_properties(&properties)?;
            let run = WorkflowRun {
                name: name.into(),
                workflow_run_id: id.clone(),
                workflow_run_properties: BTreeMap::new(),
                started_on: now(),
                completed_on: None,
                status: WorkflowRunStatus::Running,
                error_message: None,
                statistics: RunStatistics {
                    total_actions: first.actions.len() as u32,
                    running_actions: first.actions.len() as u32,
                    ..RunStatistics::default()
                },
                starting_trigger: Some(first.name.clone()),
                graph: None,
            };
            tx.execute(
                "INSERT INTO workflow_runs(id, workflow, run, properties, started, starter, pid, event_id) VALUES (?1, ?2, ?3, '', ?4, ?5, ?6, ?7)",
                params![id, name, serde_json::to_string(&run).expect("JSON"), ts(run.started_on), by.name(), std::process::id(), event],
            )?;
            also(tx, &id)?;
            self.store_run_properties(tx, &id, &properties)?;
            self.fire(tx, &id, first)?;
            Ok((
                (),
                json!({"RunId": id, "StartingTrigger": first.name, "PropertyNames": properties.keys().collect::<Vec<_>>()}),
            ))
        })?;
        self.spawn_driver(id.clone(), by.clone());
        Ok(id)
    }

    /// Records that `trigger` fired in run `run_id` and which nodes it asks for; the driver
    /// starts them. A node runs once per workflow run.
    fn fire(&self, tx: &Transaction, run_id: &str, trigger: &Trigger) -> Result<()> {
        tx.execute(
            "INSERT INTO workflow_fires(run_id, trigger, fired) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![run_id, trigger.name, ts(now())],
        )?;
        for a in &trigger.actions {
            tx.execute(
                "INSERT INTO workflow_nodes(run_id, kind, name, trigger, started) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![run_id, a.kind(), a.name(), trigger.name, ts(now())],
            )?;
        }
        Ok(())
    }

    /// An ON_DEMAND, SCHEDULED or EVENT trigger fires: in a workflow it starts a run; on its own
    /// it starts its actions.
    pub(super) fn fire_starting_trigger(
        &self,
        by: &Principal,
        trigger: &Trigger,
        properties: BTreeMap<String, String>,
    ) -> Result<Option<String>> {
        if let Some(wf) = &trigger.workflow_name {
            return self
                .begin_workflow_run(by, wf, properties, Some(&trigger.name))
                .map(Some);
        }
        let origin = NodeOrigin {
            trigger: trigger.name.clone(),
            run_id: None,
        };
        for a in &trigger.actions {
            self.start_node(by, a, &origin)?;
        }
        Ok(None)
    }

    /// Starts one node as `by`, through the same authorized calls a user would make. Answers
    /// the id that finds its run again (a job run id, a classification job id).
    fn start_node(&self, by: &Principal, a: &Action, origin: &NodeOrigin) -> Result<String> {
        match a {
            Action::Job { job_name } => {
                self.begin_job_run(by, job_name, Progress::default(), Some(origin))
            }
            Action::Crawler { crawler_name } => self
                .begin_crawl(by, crawler_name, Progress::default(), Some(origin))
                .map(|()| crawler_name.clone()),
            Action::Classification {
                classification_job_name,
            } => {
                let spec: ClassificationJobSpec = self.meta.read(|tx| {
                    let id = self.resolve_classification_job(tx, classification_job_name)?;
                    Ok(self.classification_job(tx, &id)?.spec)
                })?;
                self.begin_classification_job(by, spec, Progress::default())
            }
        }
    }

    fn spawn_driver(&self, run_id: String, by: Principal) {
        let lake = self.arc();
        tokio::task::spawn_blocking(move || lake.drive(&run_id, &by));
    }

    /// Drives a run to its end: starts what fired, fires what the ended nodes allow.
    fn drive(&self, run_id: &str, by: &Principal) {
        loop {
            match self.step(run_id, by) {
                Ok(false) => std::thread::sleep(DRIVE_INTERVAL),
                Ok(true) => return,
                Err(e) => {
                    tracing::error!("workflow run {run_id}: {e}");
                    let _ = self.meta.write(|tx| {
                        let mut run = self.workflow_run_row(tx, run_id)?;
                        run.status = WorkflowRunStatus::Error;
                        run.completed_on = Some(now());
                        run.error_message = Some(format!("{}: {}", e.code, e.message));
                        self.save_workflow_run(tx, &run)
                    });
                    return;
                }
            }
        }
    }

    fn node_rows(&self, tx: &Transaction, run_id: &str) -> Result<Vec<NodeRow>> {
        let mut stmt = tx.prepare(
            "SELECT kind, name, trigger, ref, error, crawl FROM workflow_nodes WHERE run_id = ?1 ORDER BY started, kind, name",
        )?;
        let rows = stmt.query_map(params![run_id], |r| {
            let (kind, name): (String, String) = (r.get(0)?, r.get(1)?);
            Ok((
                Action::from_kind(&kind, &name),
                NodeRow {
                    action: Action::Job { job_name: name },
                    trigger: r.get(2)?,
                    reference: r.get(3)?,
                    error: r.get(4)?,
                    crawl: r.get(5)?,
                },
                kind,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (action, mut node, kind) = row?;
            node.action =
                action.ok_or_else(|| ServiceError::internal(format!("node kind {kind}")))?;
            out.push(node);
        }
        Ok(out)
    }

    /// The crawl a node started: the outcome kept with the node, else the crawler's last crawl
    /// if this run started it.
    fn node_crawl(
        &self,
        tx: &Transaction,
        run_id: &str,
        n: &NodeRow,
    ) -> Result<Option<CrawlerRun>> {
        if let Some(text) = &n.crawl {
            let mut run: CrawlerRun =
                serde_json::from_str(text).map_err(|e| ServiceError::internal(e.to_string()))?;
            self.open_opt(
                &format!("glue:crawler={}", n.action.name()),
                &mut run.error_message,
            );
            return Ok(Some(run));
        }
        let (_, last) = self.crawler(tx, n.action.name())?;
        Ok(last.filter(|r| r.workflow_run_id.as_deref() == Some(run_id)))
    }

    fn node_state(&self, tx: &Transaction, run_id: &str, n: &NodeRow) -> Result<NodeState> {
        if n.error.is_some() {
            return Ok(NodeState::Error);
        }
        let Some(reference) = &n.reference else {
            return Ok(NodeState::Starting);
        };
        Ok(match &n.action {
            Action::Job { job_name } => {
                job_state(self.job_run(tx, job_name, reference)?.job_run_state)
            }
            Action::Crawler { .. } => match self.node_crawl(tx, run_id, n)? {
                Some(c) => crawl_state(c.state),
                // Another crawl replaced ours before its end was kept: its outcome is lost.
                None => NodeState::Error,
            },
            Action::Classification { .. } => {
                match self.classification_job(tx, reference)?.job_status.as_str() {
                    "RUNNING" => NodeState::Running,
                    "COMPLETE" => NodeState::Succeeded,
                    _ => NodeState::Cancelled,
                }
            }
        })
    }

    pub(super) fn save_workflow_run(&self, tx: &Transaction, run: &WorkflowRun) -> Result<()> {
        let mut stored = run.clone();
        // Properties are kept sealed in their own column; the graph is computed on reading.
        stored.workflow_run_properties = BTreeMap::new();
        stored.graph = None;
        tx.execute(
            "UPDATE workflow_runs SET run = ?2 WHERE id = ?1",
            params![
                run.workflow_run_id,
                serde_json::to_string(&stored).expect("JSON")
            ],
        )?;
        Ok(())
    }

    /// One look at the run: start pending nodes, fire what the ended nodes allow, end the run
    /// when nothing runs and nothing more can fire. Answers whether this driver is done.
    fn step(&self, run_id: &str, by: &Principal) -> Result<bool> {
        // Nodes that fired but have not started yet.
        let pending: Vec<NodeRow> = self.meta.read(|tx| {
            Ok(self
                .node_rows(tx, run_id)?
                .into_iter()
                .filter(|n| n.reference.is_none() && n.error.is_none())
                .collect())
        })?;
        for n in pending {
            let origin = NodeOrigin {
                trigger: n.trigger.clone(),
                run_id: Some(run_id.to_string()),
            };
            let started = self.start_node(by, &n.action, &origin);
            self.meta.write(|tx| {
                let (reference, error) = match &started {
                    Ok(r) => (Some(r.clone()), None),
                    Err(e) => (
                        None,
                        Some(self.seal_text(
                            &format!("glue:workflow-run={run_id}"),
                            &format!("{}: {}", e.code, e.message),
                        )),
                    ),
                };
                tx.execute(
                    "UPDATE workflow_nodes SET ref = ?4, error = ?5 WHERE run_id = ?1 AND kind = ?2 AND name = ?3",
                    params![run_id, n.action.kind(), n.action.name(), reference, error],
                )?;
                Ok(())
            })?;
        }
        self.meta.write(|tx| {
            let (pid, stop_requested): (u32, bool) = tx.query_row(
                "SELECT pid, stop_requested FROM workflow_runs WHERE id = ?1",
                params![run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if pid != std::process::id() {
                // Another process took the run over.
                return Ok(true);
            }
            let mut run = self.workflow_run_row(tx, run_id)?;
            let before = run.clone();
            let nodes = self.node_rows(tx, run_id)?;
            let mut states: BTreeMap<Action, NodeState> = BTreeMap::new();
            for n in &nodes {
                states.insert(n.action.clone(), self.node_state(tx, run_id, n)?);
            }
            let mut fired_now = false;
            if stop_requested {
                run.status = WorkflowRunStatus::Stopping;
                for n in &nodes {
                    if states[&n.action].is_finished() {
                        continue;
                    }
                    match (&n.action, &n.reference) {
                        (Action::Job { .. }, Some(r)) => {
                            tx.execute("UPDATE job_runs SET stop_requested = 1 WHERE id = ?1", params![r])?;
                        }
                        (Action::Crawler { crawler_name }, Some(_)) => {
                            tx.execute("UPDATE crawlers SET stop_requested = 1 WHERE name = ?1", params![crawler_name])?;
                        }
                        (_, None) => {
                            // Fired but not started: it never will be.
                            tx.execute(
                                "DELETE FROM workflow_nodes WHERE run_id = ?1 AND kind = ?2 AND name = ?3 AND ref IS NULL",
                                params![run_id, n.action.kind(), n.action.name()],
                            )?;
                            states.remove(&n.action);
                        }
                        // A classification scan finishes what it started.
                        _ => {}
                    }
                }
            } else {
                let fired: BTreeSet<String> = tx
                    .prepare("SELECT trigger FROM workflow_fires WHERE run_id = ?1")?
                    .query_map(params![run_id], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for t in self.workflow_triggers(tx, &run.name)? {
                    let live = t.kind == TriggerType::Conditional
                        && t.state != TriggerState::Deactivated
                        && !fired.contains(&t.name);
                    if live
                        && t.predicate.as_ref().is_some_and(|p| {
                            p.holds(|a| states.get(a).copied().filter(|s| s.is_finished()))
                        })
                    {
                        self.fire(tx, run_id, &t)?;
                        fired_now = true;
                    }
                }
            }
            let list: Vec<NodeState> = states.values().copied().collect();
            run.statistics = statistics(&list);
            let all_ended = list.iter().all(|s| s.is_finished());
            let done = all_ended && !fired_now;
            if done {
                run.completed_on = Some(now());
                run.status = if stop_requested {
                    WorkflowRunStatus::Stopped
                } else {
                    WorkflowRunStatus::Completed
                };
                let failed: Vec<String> = states
                    .iter()
                    .filter(|(_, s)| !matches!(s, NodeState::Succeeded))
                    .map(|(a, s)| format!("{} {} {}", a.kind(), a.name(), state_name(*s)))
                    .collect();
                if !failed.is_empty() {
                    run.error_message = Some(format!(
                        "{} action(s) did not succeed: {}; the nodes that waited for their success did not start (see get-workflow-run --include-graph)",
                        failed.len(),
                        failed.join(", ")
                    ));
                }
            }
            if run != before {
                self.save_workflow_run(tx, &run)?;
            }
            Ok(done)
        })
    }

    /// A run's graph: the workflow's, with each node's runs in this run, each trigger's firing,
    /// and for a node that did not run, why.
    pub(super) fn run_graph(&self, tx: &Transaction, run: &WorkflowRun) -> Result<Graph> {
        let run_id = &run.workflow_run_id;
        let triggers = self.workflow_triggers(tx, &run.name)?;
        let mut graph = definition_graph(&triggers);
        let nodes = self.node_rows(tx, run_id)?;
        let fired: BTreeMap<String, String> = tx
            .prepare("SELECT trigger, fired FROM workflow_fires WHERE run_id = ?1")?
            .query_map(params![run_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut states: BTreeMap<Action, NodeState> = BTreeMap::new();
        for n in &nodes {
            states.insert(n.action.clone(), self.node_state(tx, run_id, n)?);
            let id = node_id(n.action.kind(), n.action.name());
            if !graph.nodes.iter().any(|g| g.unique_id == id) {
                graph.nodes.push(Node {
                    kind: n.action.kind().into(),
                    name: n.action.name().into(),
                    unique_id: id,
                    trigger_details: None,
                    job_details: None,
                    crawler_details: None,
                    classification_job_details: None,
                    not_started_reason: None,
                });
            }
        }
        let finished = run.status != WorkflowRunStatus::Running;
        for g in &mut graph.nodes {
            if g.kind == "TRIGGER" {
                if let Some(d) = &mut g.trigger_details {
                    d["Fired"] = json!(fired.contains_key(&g.name));
                    if let Some(at) = fired.get(&g.name) {
                        d["FiredOn"] = json!(at);
                    }
                }
                continue;
            }
            let Some(n) = nodes
                .iter()
                .find(|n| n.action.kind() == g.kind && n.action.name() == g.name)
            else {
                if finished {
                    g.not_started_reason =
                        Some(self.why_not_started(&triggers, &fired, &states, &g.kind, &g.name));
                }
                continue;
            };
            if let Some(e) = &n.error {
                let e = self.open_text(&format!("glue:workflow-run={run_id}"), e);
                g.not_started_reason = Some(format!("it could not be started: {e}"));
                continue;
            }
            let Some(reference) = &n.reference else {
                continue;
            };
            match &n.action {
                Action::Job { job_name } => {
                    g.job_details =
                        Some(json!({"JobRuns": [self.job_run(tx, job_name, reference)?]}));
                }
                Action::Crawler { .. } => {
                    let crawls: Vec<serde_json::Value> = self
                        .node_crawl(tx, run_id, n)?
                        .map(|c| {
                            json!({
                                "State": state_name(crawl_state(c.state)),
                                "StartedOn": c.started_on,
                                "CompletedOn": c.completed_on,
                                "ErrorMessage": c.error_message,
                                "TablesCreated": c.tables_created,
                                "TablesUpdated": c.tables_updated,
                            })
                        })
                        .into_iter()
                        .collect();
                    g.crawler_details = Some(json!({"Crawls": crawls}));
                }
                Action::Classification { .. } => {
                    let job = self.classification_job(tx, reference)?;
                    g.classification_job_details = Some(json!({"Jobs": [job]}));
                }
            }
        }
        Ok(graph)
    }

    /// Why a node of a finished run never started: the triggers that would have started it, and
    /// what their predicates waited for.
    fn why_not_started(
        &self,
        triggers: &[Trigger],
        fired: &BTreeMap<String, String>,
        states: &BTreeMap<Action, NodeState>,
        kind: &str,
        name: &str,
    ) -> String {
        let mut reasons = Vec::new();
        for t in triggers.iter().filter(|t| {
            t.actions
                .iter()
                .any(|a| a.kind() == kind && a.name() == name)
        }) {
            if fired.contains_key(&t.name) {
                reasons.push(format!(
                    "trigger {} fired but the run was stopped before the node started",
                    t.name
                ));
                continue;
            }
            if t.state == TriggerState::Deactivated {
                reasons.push(format!("trigger {} is DEACTIVATED", t.name));
                continue;
            }
            let Some(p) = &t.predicate else {
                reasons.push(format!(
                    "trigger {} ({:?}) did not start this run",
                    t.name, t.kind
                ));
                continue;
            };
            let unmet: Vec<String> = p
                .conditions
                .iter()
                .filter(|c| states.get(&c.node).copied() != c.wanted())
                .map(|c| {
                    let wanted = c.wanted().map(state_name).unwrap_or_default();
                    match states.get(&c.node) {
                        Some(s) => format!(
                            "{} {} {wanted} (it ended {})",
                            c.node.kind(),
                            c.node.name(),
                            state_name(*s)
                        ),
                        None => format!(
                            "{} {} {wanted} (it did not run)",
                            c.node.kind(),
                            c.node.name()
                        ),
                    }
                })
                .collect();
            let logical = match p.logical {
                Logical::And => "all of",
                Logical::Any => "any of",
            };
            reasons.push(format!(
                "trigger {} did not fire: it waits for {logical} {}",
                t.name,
                unmet.join("; ")
            ));
        }
        if reasons.is_empty() {
            "no trigger of this workflow starts it".into()
        } else {
            reasons.join(". ")
        }
    }

    /// Takes over the runs whose driving process died: this process drives them to their end
    /// (their nodes that ran in the dead process are FAILED; what waits on that may still fire).
    pub(super) fn resume_orphaned_workflow_runs(&self) -> Result<Vec<String>> {
        let me = std::process::id();
        let claimed: Vec<(String, String)> = self.meta.write(|tx| {
            let rows: Vec<(String, u32, String)> = tx
                .prepare(
                    "SELECT id, pid, starter FROM workflow_runs WHERE json_extract(run, '$.Status') IN ('RUNNING', 'STOPPING')",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut claimed = Vec::new();
            for (id, pid, starter) in rows {
                if runner_gone(pid)
                    && tx.execute(
                        "UPDATE workflow_runs SET pid = ?2 WHERE id = ?1 AND pid = ?3",
                        params![id, me, pid],
                    )? == 1
                {
                    claimed.push((id, starter));
                }
            }
            Ok(claimed)
        })?;
        for (id, starter) in &claimed {
            tracing::info!(run = %id, "taking over a workflow run whose process ended");
            self.spawn_driver(id.clone(), Principal::new(starter.clone()));
        }
        Ok(claimed.into_iter().map(|(id, _)| id).collect())
    }
}
