//! The Workflows service on the local lake: workflow and trigger definitions, and the calls that
//! start, read and stop workflow runs. What a run does once started (firing conditional
//! triggers, starting nodes, ending) is in workflow_runs.rs; schedules in workflow_schedule.rs.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::authorizer::Call;
use super::glue::check_job_name;
use super::{Lake, not_found, now};
use crate::service::schedule::Schedule;
use crate::service::workflows::{
    Action, Edge, Graph, Node, NodeState, Trigger, TriggerSpec, TriggerState, TriggerType,
    Workflow, WorkflowRun, WorkflowRunStatus, Workflows,
};
use crate::service::{Code, Principal, Result, ServiceError};

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::new(Code::InvalidInputException, message)
}

/// Run properties: Glue's limits on names, and a bound on what a run carries.
pub(super) fn check_properties(properties: &BTreeMap<String, String>) -> Result<()> {
    let total: usize = properties.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > 64 * 1024 {
        return Err(invalid("run properties are limited to 64 KiB in all"));
    }
    for k in properties.keys() {
        if k.is_empty() || k.len() > 255 {
            return Err(invalid(format!(
                "the run property name {k:?} is not valid (1 to 255 characters)"
            )));
        }
    }
    Ok(())
}

/// The unique id a graph gives a node: its type and name.
pub(super) fn node_id(kind: &str, name: &str) -> String {
    format!("{kind}:{name}")
}

/// A workflow's graph from its triggers: each trigger points at what it starts, and each node a
/// condition watches points at the trigger that waits for it.
pub(super) fn definition_graph(triggers: &[Trigger]) -> Graph {
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut edges = Vec::new();
    let mut node = |a: &Action| {
        let id = node_id(a.kind(), a.name());
        nodes.entry(id.clone()).or_insert_with(|| Node {
            kind: a.kind().into(),
            name: a.name().into(),
            unique_id: id.clone(),
            trigger_details: None,
            job_details: None,
            crawler_details: None,
            classification_job_details: None,
            not_started_reason: None,
        });
        id
    };
    let mut trigger_nodes = Vec::new();
    for t in triggers {
        let tid = node_id("TRIGGER", &t.name);
        for a in &t.actions {
            edges.push(Edge {
                source_id: tid.clone(),
                destination_id: node(a),
            });
        }
        for c in t.predicate.iter().flat_map(|p| &p.conditions) {
            edges.push(Edge {
                source_id: node(&c.node),
                destination_id: tid.clone(),
            });
        }
        trigger_nodes.push(Node {
            kind: "TRIGGER".into(),
            name: t.name.clone(),
            unique_id: tid,
            trigger_details: Some(json!({ "Trigger": t })),
            job_details: None,
            crawler_details: None,
            classification_job_details: None,
            not_started_reason: None,
        });
    }
    trigger_nodes.extend(nodes.into_values());
    Graph {
        nodes: trigger_nodes,
        edges,
    }
}

impl Lake {
    pub(super) fn workflow_arn(&self, name: &str) -> String {
        self.glue_arn(&format!("workflow/{name}"))
    }

    fn trigger_arn(&self, name: &str) -> String {
        self.glue_arn(&format!("trigger/{name}"))
    }

    pub(super) fn workflow_def(&self, tx: &Transaction, name: &str) -> Result<Workflow> {
        let text: String = tx
            .query_row(
                "SELECT definition FROM workflows WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| not_found(format!("Workflow {name} not found.")))?;
        serde_json::from_str(&text).map_err(|e| ServiceError::internal(format!("workflow: {e}")))
    }

    /// A trigger and the principal its schedule fires as (who created it).
    pub(super) fn trigger_row(&self, tx: &Transaction, name: &str) -> Result<(Trigger, String)> {
        let (text, owner): (String, String) = tx
            .query_row(
                "SELECT definition, owner FROM triggers WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| not_found(format!("Trigger {name} not found.")))?;
        let trigger = serde_json::from_str(&text)
            .map_err(|e| ServiceError::internal(format!("trigger: {e}")))?;
        Ok((trigger, owner))
    }

    pub(super) fn workflow_triggers(&self, tx: &Transaction, name: &str) -> Result<Vec<Trigger>> {
        let texts: Vec<String> = tx
            .prepare("SELECT definition FROM triggers WHERE workflow = ?1 ORDER BY name")?
            .query_map(params![name], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(|e| ServiceError::internal(e.to_string())))
            .collect()
    }

    fn save_trigger(&self, tx: &Transaction, t: &Trigger) -> Result<()> {
        tx.execute(
            "UPDATE triggers SET definition = ?2 WHERE name = ?1",
            params![
                t.name,
                serde_json::to_string(t).expect("triggers serialize")
            ],
        )?;
        Ok(())
    }

    /// A node must name something that exists: a job, a crawler, a classification job.
    fn check_node_exists(&self, tx: &Transaction, a: &Action) -> Result<()> {
        match a {
            Action::Job { job_name } => {
                let n: i64 = tx.query_row(
                    "SELECT count(*) FROM jobs WHERE name = ?1",
                    params![job_name],
                    |r| r.get(0),
                )?;
                if n == 0 {
                    return Err(not_found(format!("Job {job_name} not found.")));
                }
            }
            Action::Crawler { crawler_name } => {
                self.crawler(tx, crawler_name)?;
            }
            Action::Classification {
                classification_job_name,
            } => {
                self.resolve_classification_job(tx, classification_job_name)?;
            }
        }
        Ok(())
    }

    fn check_trigger(&self, tx: &Transaction, spec: &TriggerSpec) -> Result<()> {
        check_job_name(&spec.name)?;
        if spec.actions.is_empty() {
            return Err(invalid(
                "a trigger needs at least one action (--actions JobName=NAME)",
            ));
        }
        for a in &spec.actions {
            self.check_node_exists(tx, a)?;
        }
        match (spec.kind, &spec.schedule) {
            (TriggerType::Scheduled, Some(s)) => {
                Schedule::parse(s)?;
            }
            (TriggerType::Scheduled, None) => {
                return Err(invalid("a SCHEDULED trigger needs --schedule 'cron(...)'"));
            }
            (_, Some(_)) => return Err(invalid("only a SCHEDULED trigger has a --schedule")),
            _ => {}
        }
        match (spec.kind, &spec.predicate) {
            (TriggerType::Conditional, Some(p)) => {
                if p.conditions.is_empty() {
                    return Err(invalid(
                        "a CONDITIONAL trigger's predicate needs conditions",
                    ));
                }
                if spec.workflow_name.is_none() {
                    return Err(invalid(
                        "lakectl runs CONDITIONAL triggers within a workflow: give --workflow-name",
                    ));
                }
                for c in &p.conditions {
                    self.check_node_exists(tx, &c.node)?;
                    let allowed: &[NodeState] = match (&c.node, c.state, c.crawl_state) {
                        (Action::Crawler { .. }, None, Some(_)) => &[
                            NodeState::Succeeded,
                            NodeState::Failed,
                            NodeState::Cancelled,
                        ],
                        (Action::Job { .. }, Some(_), None) => &[
                            NodeState::Succeeded,
                            NodeState::Failed,
                            NodeState::Stopped,
                            NodeState::Timeout,
                        ],
                        (Action::Classification { .. }, Some(_), None) => {
                            &[NodeState::Succeeded, NodeState::Cancelled]
                        }
                        _ => {
                            return Err(invalid(format!(
                                "the condition on {} {} needs {}",
                                c.node.kind(),
                                c.node.name(),
                                if matches!(c.node, Action::Crawler { .. }) {
                                    "CrawlState (and no State)"
                                } else {
                                    "State (and no CrawlState)"
                                }
                            )));
                        }
                    };
                    let wanted = c.wanted().expect("checked above");
                    if !allowed.contains(&wanted) {
                        return Err(invalid(format!(
                            "a condition on {} {} may wait for {}, not {}",
                            c.node.kind(),
                            c.node.name(),
                            allowed
                                .iter()
                                .map(|s| super::workflow_runs::state_name(*s))
                                .collect::<Vec<_>>()
                                .join(", "),
                            super::workflow_runs::state_name(wanted)
                        )));
                    }
                }
            }
            (TriggerType::Conditional, None) => {
                return Err(invalid("a CONDITIONAL trigger needs --predicate"));
            }
            (_, Some(_)) => return Err(invalid("only a CONDITIONAL trigger has a --predicate")),
            _ => {}
        }
        if let Some(w) = &spec.workflow_name {
            self.workflow_def(tx, w)?;
            if spec.kind != TriggerType::Conditional {
                let starting = self
                    .workflow_triggers(tx, w)?
                    .into_iter()
                    .find(|t| t.kind != TriggerType::Conditional);
                if let Some(t) = starting {
                    return Err(invalid(format!(
                        "workflow {w} already starts with trigger {} ({:?}); a workflow has one starting trigger",
                        t.name, t.kind
                    )));
                }
            }
        } else if spec.kind == TriggerType::Event {
            return Err(invalid(
                "an EVENT trigger starts a workflow: give --workflow-name",
            ));
        }
        Ok(())
    }

    /// The run as stored, its properties opened; a run whose driving process is gone is
    /// reported ERROR until a lake server takes it over.
    pub(super) fn workflow_run_row(&self, tx: &Transaction, id: &str) -> Result<WorkflowRun> {
        let (text, properties, pid): (String, String, u32) = tx
            .query_row(
                "SELECT run, properties, pid FROM workflow_runs WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| not_found(format!("Workflow run {id} not found.")))?;
        let mut run: WorkflowRun = serde_json::from_str(&text)
            .map_err(|e| ServiceError::internal(format!("workflow run {id}: {e}")))?;
        let properties = self.open_text(&format!("glue:workflow-run={id}"), &properties);
        run.workflow_run_properties = serde_json::from_str(&properties).unwrap_or_default();
        if matches!(
            run.status,
            WorkflowRunStatus::Running | WorkflowRunStatus::Stopping
        ) && super::runner_gone(pid)
        {
            run.status = WorkflowRunStatus::Error;
            run.error_message = Some(format!(
                "the process driving the run (pid {pid}) ended before the run did; a lake server (`lakectl serve`) takes it over and finishes it"
            ));
        }
        Ok(run)
    }

    fn run_of(&self, tx: &Transaction, workflow: &str, id: &str) -> Result<WorkflowRun> {
        let run = self.workflow_run_row(tx, id)?;
        if run.name != workflow {
            return Err(not_found(format!(
                "Workflow run {id} of {workflow} not found."
            )));
        }
        Ok(run)
    }
}

#[async_trait]
impl Workflows for Lake {
    async fn create_workflow(
        &self,
        by: &Principal,
        name: &str,
        description: Option<String>,
        default_run_properties: BTreeMap<String, String>,
        max_concurrent_runs: Option<u32>,
    ) -> Result<()> {
        let call = Call::new("glue", "CreateWorkflow", name).on(self.workflow_arn(name));
        self.audited(by, call, |tx, _| {
            check_job_name(name)?;
            check_properties(&default_run_properties)?;
            let t = now();
            let wf = Workflow {
                name: name.into(),
                description,
                default_run_properties,
                max_concurrent_runs,
                created_on: t,
                last_modified_on: t,
                last_run: None,
                graph: None,
            };
            let n = tx.execute(
                "INSERT INTO workflows(name, definition) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![
                    name,
                    serde_json::to_string(&wf).expect("workflows serialize")
                ],
            )?;
            if n == 0 {
                return Err(ServiceError::new(
                    Code::AlreadyExistsException,
                    format!("Workflow {name} already exists."),
                ));
            }
            Ok(((), json!({"Name": name})))
        })
    }

    async fn get_workflow(
        &self,
        by: &Principal,
        name: &str,
        include_graph: bool,
    ) -> Result<Workflow> {
        let call = Call::new("glue", "GetWorkflow", name).on(self.workflow_arn(name));
        self.reading(by, call, |tx, _| {
            let mut wf = self.workflow_def(tx, name)?;
            let last: Option<String> = tx
                .query_row(
                    "SELECT id FROM workflow_runs WHERE workflow = ?1 ORDER BY started DESC LIMIT 1",
                    params![name],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = last {
                wf.last_run = Some(self.workflow_run_row(tx, &id)?);
            }
            if include_graph {
                wf.graph = Some(definition_graph(&self.workflow_triggers(tx, name)?));
            }
            Ok(wf)
        })
    }

    async fn list_workflows(&self, by: &Principal) -> Result<Vec<String>> {
        self.reading(by, Call::new("glue", "ListWorkflows", "*"), |tx, _| {
            Ok(tx
                .prepare("SELECT name FROM workflows ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn delete_workflow(&self, by: &Principal, name: &str) -> Result<()> {
        let call = Call::new("glue", "DeleteWorkflow", name).on(self.workflow_arn(name));
        self.audited(by, call, |tx, _| {
            self.workflow_def(tx, name)?;
            let running: i64 = tx.query_row(
                "SELECT count(*) FROM workflow_runs WHERE workflow = ?1 AND json_extract(run, '$.Status') IN ('RUNNING', 'STOPPING')",
                params![name],
                |r| r.get(0),
            )?;
            if running > 0 {
                return Err(ServiceError::new(
                    Code::IllegalWorkflowStateException,
                    format!("workflow {name} has a run under way: stop it first (glue stop-workflow-run)"),
                ));
            }
            tx.execute("DELETE FROM triggers WHERE workflow = ?1", params![name])?;
            tx.execute("DELETE FROM workflows WHERE name = ?1", params![name])?;
            Ok(((), json!({"Name": name})))
        })
    }

    async fn create_trigger(&self, by: &Principal, spec: TriggerSpec) -> Result<()> {
        let call = Call::new("glue", "CreateTrigger", &spec.name).on(self.trigger_arn(&spec.name));
        self.audited(by, call, |tx, caller| {
            self.check_trigger(tx, &spec)?;
            let state = if spec.start_on_creation && spec.kind != TriggerType::OnDemand {
                TriggerState::Activated
            } else {
                TriggerState::Created
            };
            let trigger = Trigger {
                name: spec.name.clone(),
                workflow_name: spec.workflow_name.clone(),
                kind: spec.kind,
                state,
                description: spec.description.clone(),
                schedule: spec.schedule.clone(),
                actions: spec.actions.clone(),
                predicate: spec.predicate.clone(),
            };
            let n = tx.execute(
                "INSERT INTO triggers(name, workflow, definition, owner) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![
                    spec.name,
                    spec.workflow_name,
                    serde_json::to_string(&trigger).expect("triggers serialize"),
                    caller.name
                ],
            )?;
            if n == 0 {
                return Err(ServiceError::new(
                    Code::AlreadyExistsException,
                    format!("Trigger {} already exists.", spec.name),
                ));
            }
            if state == TriggerState::Activated {
                self.schedule_next(tx, &trigger, now())?;
            }
            Ok((
                (),
                json!({"Name": spec.name, "Type": spec.kind, "WorkflowName": spec.workflow_name}),
            ))
        })
    }

    async fn get_trigger(&self, by: &Principal, name: &str) -> Result<Trigger> {
        let call = Call::new("glue", "GetTrigger", name).on(self.trigger_arn(name));
        self.reading(by, call, |tx, _| Ok(self.trigger_row(tx, name)?.0))
    }

    async fn get_triggers(
        &self,
        by: &Principal,
        dependent_job_name: Option<&str>,
    ) -> Result<Vec<Trigger>> {
        self.reading(by, Call::new("glue", "GetTriggers", "*"), |tx, _| {
            let names: Vec<String> = tx
                .prepare("SELECT name FROM triggers ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::new();
            for n in names {
                let t = self.trigger_row(tx, &n)?.0;
                let starts = |j: &str| {
                    t.actions
                        .iter()
                        .any(|a| matches!(a, Action::Job { job_name } if job_name == j))
                };
                if dependent_job_name.is_none_or(starts) {
                    out.push(t);
                }
            }
            Ok(out)
        })
    }

    async fn start_trigger(&self, by: &Principal, name: &str) -> Result<()> {
        let call = Call::new("glue", "StartTrigger", name).on(self.trigger_arn(name));
        let fire = self.audited(by, call, |tx, _| {
            let (mut t, _) = self.trigger_row(tx, name)?;
            if t.kind == TriggerType::OnDemand {
                return Ok((Some(t), json!({"Name": name, "Fired": true})));
            }
            t.state = TriggerState::Activated;
            self.save_trigger(tx, &t)?;
            self.schedule_next(tx, &t, now())?;
            Ok((None, json!({"Name": name, "State": t.state})))
        })?;
        if let Some(t) = fire {
            self.fire_starting_trigger(by, &t, BTreeMap::new())?;
        }
        Ok(())
    }

    async fn stop_trigger(&self, by: &Principal, name: &str) -> Result<()> {
        let call = Call::new("glue", "StopTrigger", name).on(self.trigger_arn(name));
        self.audited(by, call, |tx, _| {
            let (mut t, _) = self.trigger_row(tx, name)?;
            if t.kind == TriggerType::OnDemand {
                return Err(invalid(format!(
                    "trigger {name} is ON_DEMAND: it fires only when started, there is nothing to stop"
                )));
            }
            t.state = TriggerState::Deactivated;
            self.save_trigger(tx, &t)?;
            tx.execute(
                "UPDATE triggers SET next_fire = NULL WHERE name = ?1",
                params![name],
            )?;
            Ok(((), json!({"Name": name, "State": t.state})))
        })
    }

    async fn delete_trigger(&self, by: &Principal, name: &str) -> Result<()> {
        let call = Call::new("glue", "DeleteTrigger", name).on(self.trigger_arn(name));
        self.audited(by, call, |tx, _| {
            self.trigger_row(tx, name)?;
            tx.execute("DELETE FROM triggers WHERE name = ?1", params![name])?;
            Ok(((), json!({"Name": name})))
        })
    }

    async fn start_workflow_run(
        &self,
        by: &Principal,
        name: &str,
        run_properties: BTreeMap<String, String>,
    ) -> Result<String> {
        self.begin_workflow_run(by, name, run_properties, None)
    }

    async fn get_workflow_run(
        &self,
        by: &Principal,
        name: &str,
        run_id: &str,
        include_graph: bool,
    ) -> Result<WorkflowRun> {
        let call = Call::new("glue", "GetWorkflowRun", name).on(self.workflow_arn(name));
        self.reading(by, call, |tx, _| {
            let mut run = self.run_of(tx, name, run_id)?;
            if include_graph {
                run.graph = Some(self.run_graph(tx, &run)?);
            }
            Ok(run)
        })
    }

    async fn get_workflow_runs(&self, by: &Principal, name: &str) -> Result<Vec<WorkflowRun>> {
        let call = Call::new("glue", "GetWorkflowRuns", name).on(self.workflow_arn(name));
        self.reading(by, call, |tx, _| {
            self.workflow_def(tx, name)?;
            let ids: Vec<String> = tx
                .prepare("SELECT id FROM workflow_runs WHERE workflow = ?1 ORDER BY started DESC")?
                .query_map(params![name], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.iter().map(|id| self.workflow_run_row(tx, id)).collect()
        })
    }

    async fn stop_workflow_run(&self, by: &Principal, name: &str, run_id: &str) -> Result<()> {
        let call = Call::new("glue", "StopWorkflowRun", name).on(self.workflow_arn(name));
        self.audited(by, call, |tx, _| {
            let run = self.run_of(tx, name, run_id)?;
            if run.status != WorkflowRunStatus::Running {
                return Err(ServiceError::new(
                    Code::IllegalWorkflowStateException,
                    format!("workflow run {run_id} is {:?}, not RUNNING", run.status),
                ));
            }
            tx.execute(
                "UPDATE workflow_runs SET stop_requested = 1 WHERE id = ?1",
                params![run_id],
            )?;
            Ok(((), json!({"RunId": run_id})))
        })
    }

    async fn get_workflow_run_properties(
        &self,
        by: &Principal,
        name: &str,
        run_id: &str,
    ) -> Result<BTreeMap<String, String>> {
        let call = Call::new("glue", "GetWorkflowRunProperties", name).on(self.workflow_arn(name));
        self.reading(by, call, |tx, _| {
            Ok(self.run_of(tx, name, run_id)?.workflow_run_properties)
        })
    }

    async fn put_workflow_run_properties(
        &self,
        by: &Principal,
        name: &str,
        run_id: &str,
        properties: BTreeMap<String, String>,
    ) -> Result<()> {
        let call = Call::new("glue", "PutWorkflowRunProperties", name).on(self.workflow_arn(name));
        self.audited(by, call, |tx, _| {
            let run = self.run_of(tx, name, run_id)?;
            let mut all = run.workflow_run_properties;
            all.extend(properties.clone());
            check_properties(&all)?;
            self.store_run_properties(tx, run_id, &all)?;
            Ok((
                (),
                json!({"RunId": run_id, "Names": properties.keys().collect::<Vec<_>>()}),
            ))
        })
    }

    async fn runs_here_ended(&self) {
        let me = std::process::id();
        loop {
            let driving = self.meta.read(|tx| {
                Ok(tx.query_row(
                    "SELECT count(*) FROM workflow_runs WHERE pid = ?1 AND json_extract(run, '$.Status') IN ('RUNNING', 'STOPPING')",
                    params![me],
                    |r| r.get::<_, i64>(0),
                )?)
            });
            if !matches!(driving, Ok(n) if n > 0) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Lake {
    /// Run properties are sealed: an event that starts a run may put what it saw in them.
    pub(super) fn store_run_properties(
        &self,
        tx: &Transaction,
        run_id: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<()> {
        let sealed = self.seal_text(
            &format!("glue:workflow-run={run_id}"),
            &serde_json::to_string(properties).expect("JSON"),
        );
        tx.execute(
            "UPDATE workflow_runs SET properties = ?2 WHERE id = ?1",
            params![run_id, sealed],
        )?;
        Ok(())
    }
}
