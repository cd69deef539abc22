//! Glue workflows and triggers on AWS: each call is Glue's own, translated to and from the
//! service layer's types; Glue runs the workflow. Classification jobs are not Glue nodes, so an
//! action or condition naming one is refused here with the reason (on AWS, an EventBridge rule
//! on Macie's events is what starts work after a classification job).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_glue::types as g;
use serde_json::{Value, json};

use super::{Aws, aws_error, build_error, opt_time, time, unsupported};
use crate::service::workflows::{
    Action, Condition, Edge, Graph, LogicalOperator, Node, Predicate, RunStatistics, Trigger,
    TriggerSpec, Workflow, WorkflowRun, WorkflowRunStatus, Workflows,
};
use crate::service::{Principal, Result, ServiceError};

/// An SDK enum as the service layer's (both spell Glue's names).
fn enum_of<T: serde::de::DeserializeOwned>(name: &str) -> Result<T> {
    serde_json::from_value(json!(name)).map_err(|_| {
        ServiceError::internal(format!(
            "Glue answered {name:?}, which lakectl does not know"
        ))
    })
}

fn sdk_action(a: &Action) -> Result<g::Action> {
    Ok(match a {
        Action::Job { job_name } => g::Action::builder().job_name(job_name).build(),
        Action::Crawler { crawler_name } => g::Action::builder().crawler_name(crawler_name).build(),
        Action::Classification { .. } => {
            return Err(unsupported(
                "a classification job as a workflow node",
                "on AWS, start work after Macie with an EventBridge rule on its events",
            ));
        }
    })
}

fn action_of(a: &g::Action) -> Option<Action> {
    a.job_name()
        .map(|j| Action::Job { job_name: j.into() })
        .or_else(|| {
            a.crawler_name().map(|c| Action::Crawler {
                crawler_name: c.into(),
            })
        })
}

fn sdk_predicate(p: &Predicate) -> Result<g::Predicate> {
    let mut b = g::Predicate::builder().logical(g::Logical::from(enum_name(&p.logical).as_str()));
    for c in &p.conditions {
        let mut cb = g::Condition::builder().logical_operator(g::LogicalOperator::Equals);
        cb = match &c.node {
            Action::Job { job_name } => cb.job_name(job_name),
            Action::Crawler { crawler_name } => cb.crawler_name(crawler_name),
            Action::Classification { .. } => return Err(sdk_action(&c.node).unwrap_err()),
        };
        if let Some(s) = c.state {
            cb = cb.state(g::JobRunState::from(enum_name(&s).as_str()));
        }
        if let Some(s) = c.crawl_state {
            cb = cb.crawl_state(g::CrawlState::from(enum_name(&s).as_str()));
        }
        b = b.conditions(cb.build());
    }
    Ok(b.build())
}

fn enum_name(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn trigger_of(t: &g::Trigger) -> Result<Trigger> {
    let predicate = match t.predicate() {
        Some(p) => Some(Predicate {
            logical: enum_of(p.logical().map(|l| l.as_str()).unwrap_or("AND"))?,
            conditions: p
                .conditions()
                .iter()
                .filter_map(|c| {
                    let node = c
                        .job_name()
                        .map(|j| Action::Job { job_name: j.into() })
                        .or_else(|| {
                            c.crawler_name().map(|n| Action::Crawler {
                                crawler_name: n.into(),
                            })
                        })?;
                    Some(Condition {
                        logical_operator: LogicalOperator::Equals,
                        node,
                        state: c.state().and_then(|s| enum_of(s.as_str()).ok()),
                        crawl_state: c.crawl_state().and_then(|s| enum_of(s.as_str()).ok()),
                    })
                })
                .collect(),
        }),
        None => None,
    };
    Ok(Trigger {
        name: t.name().unwrap_or_default().into(),
        workflow_name: t.workflow_name().map(str::to_string),
        kind: enum_of(t.r#type().map(|k| k.as_str()).unwrap_or("ON_DEMAND"))?,
        state: enum_of(match t.state().map(|s| s.as_str()) {
            Some("ACTIVATED" | "ACTIVATING") => "ACTIVATED",
            Some("DEACTIVATED" | "DEACTIVATING") => "DEACTIVATED",
            _ => "CREATED",
        })?,
        description: t.description().map(str::to_string),
        schedule: t.schedule().map(str::to_string),
        actions: t.actions().iter().filter_map(action_of).collect(),
        predicate,
    })
}

fn properties(p: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    p.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn graph_of(gr: &g::WorkflowGraph) -> Result<Graph> {
    let mut nodes = Vec::new();
    for n in gr.nodes() {
        let trigger_details = match n.trigger_details().and_then(|d| d.trigger()) {
            Some(t) => Some(json!({"Trigger": trigger_of(t)?})),
            None => None,
        };
        let job_details = n.job_details().map(|d| {
            json!({"JobRuns": d.job_runs().iter().map(|r| json!({
                "Id": r.id(), "JobName": r.job_name(), "JobRunState": r.job_run_state().map(|s| s.as_str()),
                "StartedOn": opt_time(r.started_on()), "CompletedOn": opt_time(r.completed_on()),
                "ErrorMessage": r.error_message(), "TriggerName": r.trigger_name(),
            })).collect::<Vec<Value>>()})
        });
        let crawler_details = n.crawler_details().map(|d| {
            json!({"Crawls": d.crawls().iter().map(|c| json!({
                "State": c.state().map(|s| s.as_str()), "StartedOn": opt_time(c.started_on()),
                "CompletedOn": opt_time(c.completed_on()), "ErrorMessage": c.error_message(),
            })).collect::<Vec<Value>>()})
        });
        nodes.push(Node {
            kind: n.r#type().map(|t| t.as_str()).unwrap_or_default().into(),
            name: n.name().unwrap_or_default().into(),
            unique_id: n.unique_id().unwrap_or_default().into(),
            trigger_details,
            job_details,
            crawler_details,
            classification_job_details: None,
            not_started_reason: None,
        });
    }
    let edges = gr
        .edges()
        .iter()
        .map(|e| Edge {
            source_id: e.source_id().unwrap_or_default().into(),
            destination_id: e.destination_id().unwrap_or_default().into(),
        })
        .collect();
    Ok(Graph { nodes, edges })
}

fn run_of(r: &g::WorkflowRun) -> Result<WorkflowRun> {
    let s = r.statistics();
    let n = |v: Option<i32>| v.unwrap_or(0).max(0) as u32;
    Ok(WorkflowRun {
        name: r.name().unwrap_or_default().into(),
        workflow_run_id: r.workflow_run_id().unwrap_or_default().into(),
        workflow_run_properties: properties(r.workflow_run_properties()),
        started_on: time(r.started_on()),
        completed_on: opt_time(r.completed_on()),
        status: enum_of::<WorkflowRunStatus>(r.status().map(|s| s.as_str()).unwrap_or("RUNNING"))?,
        error_message: r.error_message().map(str::to_string),
        statistics: RunStatistics {
            total_actions: n(s.map(|s| s.total_actions())),
            timeout_actions: n(s.map(|s| s.timeout_actions())),
            failed_actions: n(s.map(|s| s.failed_actions())),
            stopped_actions: n(s.map(|s| s.stopped_actions())),
            succeeded_actions: n(s.map(|s| s.succeeded_actions())),
            running_actions: n(s.map(|s| s.running_actions())),
            errored_actions: n(s.map(|s| s.errored_actions())),
            waiting_actions: n(s.map(|s| s.waiting_actions())),
        },
        starting_trigger: None,
        graph: r.graph().map(graph_of).transpose()?,
    })
}

fn hash_map(p: BTreeMap<String, String>) -> HashMap<String, String> {
    p.into_iter().collect()
}

#[async_trait]
impl Workflows for Aws {
    async fn create_workflow(
        &self,
        by: &Principal,
        name: &str,
        description: Option<String>,
        default_run_properties: BTreeMap<String, String>,
        max_concurrent_runs: Option<u32>,
    ) -> Result<()> {
        self.acting(by)?;
        self.glue
            .create_workflow()
            .name(name)
            .set_description(description)
            .set_max_concurrent_runs(max_concurrent_runs.map(|n| n as i32))
            .set_default_run_properties(Some(hash_map(default_run_properties)))
            .send()
            .await
            .map_err(|e| aws_error("CreateWorkflow", e))?;
        Ok(())
    }

    async fn get_workflow(
        &self,
        by: &Principal,
        name: &str,
        include_graph: bool,
    ) -> Result<Workflow> {
        self.acting(by)?;
        let out = self
            .glue
            .get_workflow()
            .name(name)
            .include_graph(include_graph)
            .send()
            .await
            .map_err(|e| aws_error("GetWorkflow", e))?;
        let w = out
            .workflow()
            .ok_or_else(|| ServiceError::internal("GetWorkflow answered no workflow"))?;
        Ok(Workflow {
            name: w.name().unwrap_or(name).into(),
            description: w.description().map(str::to_string),
            default_run_properties: properties(w.default_run_properties()),
            max_concurrent_runs: w.max_concurrent_runs().map(|n| n.max(0) as u32),
            created_on: time(w.created_on()),
            last_modified_on: time(w.last_modified_on()),
            last_run: w.last_run().map(run_of).transpose()?,
            graph: w.graph().map(graph_of).transpose()?,
        })
    }

    async fn list_workflows(&self, by: &Principal) -> Result<Vec<String>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .glue
                .list_workflows()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_error("ListWorkflows", e))?;
            out.extend(page.workflows().iter().cloned());
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn delete_workflow(&self, by: &Principal, name: &str) -> Result<()> {
        self.acting(by)?;
        self.glue
            .delete_workflow()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("DeleteWorkflow", e))?;
        Ok(())
    }

    async fn create_trigger(&self, by: &Principal, spec: TriggerSpec) -> Result<()> {
        self.acting(by)?;
        let actions = spec
            .actions
            .iter()
            .map(sdk_action)
            .collect::<Result<Vec<_>>>()?;
        let predicate = spec.predicate.as_ref().map(sdk_predicate).transpose()?;
        self.glue
            .create_trigger()
            .name(&spec.name)
            .set_workflow_name(spec.workflow_name.clone())
            .r#type(g::TriggerType::from(enum_name(&spec.kind).as_str()))
            .set_description(spec.description.clone())
            .set_schedule(spec.schedule.clone())
            .set_actions(Some(actions))
            .set_predicate(predicate)
            .start_on_creation(spec.start_on_creation)
            .send()
            .await
            .map_err(|e| aws_error("CreateTrigger", e))?;
        Ok(())
    }

    async fn get_trigger(&self, by: &Principal, name: &str) -> Result<Trigger> {
        self.acting(by)?;
        let out = self
            .glue
            .get_trigger()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("GetTrigger", e))?;
        trigger_of(
            out.trigger()
                .ok_or_else(|| ServiceError::internal("GetTrigger answered no trigger"))?,
        )
    }

    async fn get_triggers(
        &self,
        by: &Principal,
        dependent_job_name: Option<&str>,
    ) -> Result<Vec<Trigger>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .glue
                .get_triggers()
                .set_dependent_job_name(dependent_job_name.map(str::to_string))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_error("GetTriggers", e))?;
            for t in page.triggers() {
                out.push(trigger_of(t)?);
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn start_trigger(&self, by: &Principal, name: &str) -> Result<()> {
        self.acting(by)?;
        self.glue
            .start_trigger()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("StartTrigger", e))?;
        Ok(())
    }

    async fn stop_trigger(&self, by: &Principal, name: &str) -> Result<()> {
        self.acting(by)?;
        self.glue
            .stop_trigger()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("StopTrigger", e))?;
        Ok(())
    }

    async fn delete_trigger(&self, by: &Principal, name: &str) -> Result<()> {
        self.acting(by)?;
        self.glue
            .delete_trigger()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("DeleteTrigger", e))?;
        Ok(())
    }

    async fn start_workflow_run(
        &self,
        by: &Principal,
        name: &str,
        run_properties: BTreeMap<String, String>,
    ) -> Result<String> {
        self.acting(by)?;
        let out = self
            .glue
            .start_workflow_run()
            .name(name)
            .set_run_properties((!run_properties.is_empty()).then(|| hash_map(run_properties)))
            .send()
            .await
            .map_err(|e| aws_error("StartWorkflowRun", e))?;
        out.run_id()
            .map(str::to_string)
            .ok_or_else(|| build_error("StartWorkflowRun", "no RunId in the answer"))
    }

    async fn get_workflow_run(
        &self,
        by: &Principal,
        name: &str,
        run_id: &str,
        include_graph: bool,
    ) -> Result<WorkflowRun> {
        self.acting(by)?;
        let out = self
            .glue
            .get_workflow_run()
            .name(name)
            .run_id(run_id)
            .include_graph(include_graph)
            .send()
            .await
            .map_err(|e| aws_error("GetWorkflowRun", e))?;
        run_of(
            out.run()
                .ok_or_else(|| ServiceError::internal("GetWorkflowRun answered no run"))?,
        )
    }

    async fn get_workflow_runs(&self, by: &Principal, name: &str) -> Result<Vec<WorkflowRun>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .glue
                .get_workflow_runs()
                .name(name)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_error("GetWorkflowRuns", e))?;
            for r in page.runs() {
                out.push(run_of(r)?);
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn stop_workflow_run(&self, by: &Principal, name: &str, run_id: &str) -> Result<()> {
        self.acting(by)?;
        self.glue
            .stop_workflow_run()
            .name(name)
            .run_id(run_id)
            .send()
            .await
            .map_err(|e| aws_error("StopWorkflowRun", e))?;
        Ok(())
    }

    async fn get_workflow_run_properties(
        &self,
        by: &Principal,
        name: &str,
        run_id: &str,
    ) -> Result<BTreeMap<String, String>> {
        self.acting(by)?;
        let out = self
            .glue
            .get_workflow_run_properties()
            .name(name)
            .run_id(run_id)
            .send()
            .await
            .map_err(|e| aws_error("GetWorkflowRunProperties", e))?;
        Ok(properties(out.run_properties()))
    }

    async fn put_workflow_run_properties(
        &self,
        by: &Principal,
        name: &str,
        run_id: &str,
        run_properties: BTreeMap<String, String>,
    ) -> Result<()> {
        self.acting(by)?;
        self.glue
            .put_workflow_run_properties()
            .name(name)
            .run_id(run_id)
            .set_run_properties(Some(hash_map(run_properties)))
            .send()
            .await
            .map_err(|e| aws_error("PutWorkflowRunProperties", e))?;
        Ok(())
    }
}
