//! `glue` workflows and triggers: the commands (flattened into `glue`), the AWS CLI's shorthand
//! for actions, predicates and run properties read into typed values, and the answers in Glue's
//! JSON shapes.

use std::collections::BTreeMap;

use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::{Context, EXIT_WAIT_FAILED};
use crate::service::wait::until_finished;
use crate::service::workflows::{
    Action, NodeState, Predicate, TriggerSpec, TriggerType, WorkflowRun, WorkflowRunStatus,
};
use crate::service::{Code, Result, ServiceError};

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// A workflow: triggers that start jobs, crawlers and classification jobs one after another
    CreateWorkflow {
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// KEY=VALUE,KEY=VALUE or a JSON object: properties every run starts with
        #[arg(long)]
        default_run_properties: Option<String>,
        /// At most this many runs at once: starting another fails with
        /// ConcurrentRunsExceededException (a rule's delivery retries it)
        #[arg(long)]
        max_concurrent_runs: Option<u32>,
    },
    GetWorkflow {
        #[arg(long)]
        name: String,
        /// Include the graph: triggers, the nodes they start and the conditions between
        #[arg(long)]
        include_graph: bool,
    },
    ListWorkflows,
    /// Delete a workflow and its triggers (its runs' records stay)
    DeleteWorkflow {
        #[arg(long)]
        name: String,
    },
    /// A trigger. ON_DEMAND starts its workflow's run (start-workflow-run, start-trigger);
    /// SCHEDULED fires in the lake server (`lakectl serve`) on its cron schedule, UTC; EVENT starts
    /// its workflow when an event rule's target says so; CONDITIONAL fires within a workflow run,
    /// once, when its predicate holds over that run's nodes (unless stopped: DEACTIVATED)
    CreateTrigger {
        #[arg(long)]
        name: String,
        #[arg(long)]
        workflow_name: Option<String>,
        /// ON_DEMAND, SCHEDULED, CONDITIONAL or EVENT
        #[arg(long = "type", value_name = "TYPE")]
        trigger_type: String,
        /// What it starts: JobName=NAME, CrawlerName=NAME, or (a lakectl extension, local lake
        /// only) ClassificationJobName=NAME, which runs a new classification job with the spec
        /// of the latest job of that name. Several, space-separated, or a JSON list
        #[arg(long, required = true, num_args = 1..)]
        actions: Vec<String>,
        /// Logical=AND|ANY,Conditions=[{LogicalOperator=EQUALS,JobName=NAME,State=SUCCEEDED},
        /// {LogicalOperator=EQUALS,CrawlerName=NAME,CrawlState=SUCCEEDED}] or JSON
        #[arg(long)]
        predicate: Option<String>,
        /// cron(Minutes Hours Day-of-month Month Day-of-week Year), UTC
        #[arg(long)]
        schedule: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Activate it now (SCHEDULED, CONDITIONAL, EVENT)
        #[arg(long)]
        start_on_creation: bool,
    },
    GetTrigger {
        #[arg(long)]
        name: String,
    },
    GetTriggers {
        /// Only the triggers that start this job
        #[arg(long)]
        dependent_job_name: Option<String>,
    },
    /// Activate a trigger; an ON_DEMAND trigger fires at once
    StartTrigger {
        #[arg(long)]
        name: String,
    },
    /// Deactivate a trigger: its schedule stops, its conditions no longer fire
    StopTrigger {
        #[arg(long)]
        name: String,
    },
    DeleteTrigger {
        #[arg(long)]
        name: String,
    },
    /// Start a run: the workflow's starting trigger fires. On the local lake the run and its
    /// nodes execute in this process (which stays until the run ends); a lake server takes over
    /// a run whose process died
    StartWorkflowRun {
        #[arg(long)]
        name: String,
        /// KEY=VALUE,KEY=VALUE or a JSON object, over the workflow's defaults
        #[arg(long)]
        run_properties: Option<String>,
        /// Print the finished run with its graph instead of its id
        #[arg(long)]
        wait: bool,
    },
    GetWorkflowRun {
        #[arg(long)]
        name: String,
        #[arg(long)]
        run_id: String,
        /// Include the run's graph: each node's runs, states and times, and why a node did not
        /// start
        #[arg(long)]
        include_graph: bool,
    },
    GetWorkflowRuns {
        #[arg(long)]
        name: String,
    },
    StopWorkflowRun {
        #[arg(long)]
        name: String,
        #[arg(long)]
        run_id: String,
    },
    GetWorkflowRunProperties {
        #[arg(long)]
        name: String,
        #[arg(long)]
        run_id: String,
    },
    PutWorkflowRunProperties {
        #[arg(long)]
        name: String,
        #[arg(long)]
        run_id: String,
        /// KEY=VALUE,KEY=VALUE or a JSON object
        #[arg(long)]
        run_properties: String,
    },
}

impl WorkflowCommand {
    pub fn changes_anything(&self) -> bool {
        !matches!(
            self,
            WorkflowCommand::GetWorkflow { .. }
                | WorkflowCommand::ListWorkflows
                | WorkflowCommand::GetTrigger { .. }
                | WorkflowCommand::GetTriggers { .. }
                | WorkflowCommand::GetWorkflowRun { .. }
                | WorkflowCommand::GetWorkflowRuns { .. }
                | WorkflowCommand::GetWorkflowRunProperties { .. }
        )
    }
}

fn bad(option: &str, why: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(Code::ParamValidation, format!("--{option}: {why}"))
}

/// The AWS CLI's shorthand syntax, the part Glue's options use: `K=V,K=V`, values that are
/// lists `[a,b]` or structures `{K=V}`, nested. Values are strings.
pub fn shorthand(text: &str) -> std::result::Result<Value, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let v = structure(&chars, &mut pos, None)?;
    if pos != chars.len() {
        return Err(format!("unexpected {:?} at {pos}", chars[pos]));
    }
    Ok(v)
}

fn structure(
    c: &[char],
    pos: &mut usize,
    close: Option<char>,
) -> std::result::Result<Value, String> {
    let mut map = Map::new();
    loop {
        let start = *pos;
        while *pos < c.len() && c[*pos] != '=' {
            if ",{}[]".contains(c[*pos]) {
                return Err(format!("expected KEY=VALUE at {start}"));
            }
            *pos += 1;
        }
        if *pos >= c.len() {
            return Err(format!("expected KEY=VALUE at {start}"));
        }
        let key: String = c[start..*pos].iter().collect::<String>().trim().to_string();
        if key.is_empty() {
            return Err(format!("an empty key at {start}"));
        }
        *pos += 1;
        let value = scalar_or_nested(c, pos)?;
        map.insert(key, value);
        match c.get(*pos) {
            Some(',') => *pos += 1,
            Some(ch) if Some(*ch) == close => return Ok(Value::Object(map)),
            None if close.is_none() => return Ok(Value::Object(map)),
            Some(ch) => return Err(format!("unexpected {ch:?} at {}", *pos)),
            None => return Err("a structure is not closed".into()),
        }
    }
}

fn scalar_or_nested(c: &[char], pos: &mut usize) -> std::result::Result<Value, String> {
    match c.get(*pos) {
        Some('[') => {
            *pos += 1;
            let mut items = Vec::new();
            if c.get(*pos) == Some(&']') {
                *pos += 1;
                return Ok(Value::Array(items));
            }
            loop {
                items.push(scalar_or_nested(c, pos)?);
                match c.get(*pos) {
                    Some(',') => *pos += 1,
                    Some(']') => {
                        *pos += 1;
                        return Ok(Value::Array(items));
                    }
                    _ => return Err("a list is not closed".into()),
                }
            }
        }
        Some('{') => {
            *pos += 1;
            let v = structure(c, pos, Some('}'))?;
            *pos += 1;
            Ok(v)
        }
        _ => {
            let start = *pos;
            while *pos < c.len() && !",]}".contains(c[*pos]) {
                if "[{=".contains(c[*pos]) {
                    return Err(format!("unexpected {:?} at {}", c[*pos], *pos));
                }
                *pos += 1;
            }
            Ok(Value::String(
                c[start..*pos].iter().collect::<String>().trim().to_string(),
            ))
        }
    }
}

/// JSON, or the shorthand.
fn value_of(option: &str, text: &str) -> Result<Value> {
    let t = text.trim();
    if t.starts_with('{') || t.starts_with('[') {
        serde_json::from_str(t).map_err(|e| bad(option, format!("not valid JSON: {e}")))
    } else {
        shorthand(t).map_err(|e| bad(option, e))
    }
}

pub fn parse_properties(option: &str, text: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_value(value_of(option, text)?)
        .map_err(|e| bad(option, format!("a map of names to string values: {e}")))
}

pub fn parse_actions(texts: &[String]) -> Result<Vec<Action>> {
    let mut out = Vec::new();
    for t in texts {
        let v = value_of("actions", t)?;
        let items = match v {
            Value::Array(items) => items,
            one => vec![one],
        };
        for item in items {
            let keys = item.as_object().map(|o| {
                o.keys()
                    .filter(|k| {
                        ["JobName", "CrawlerName", "ClassificationJobName"].contains(&k.as_str())
                    })
                    .count()
            });
            if keys != Some(1) {
                return Err(bad(
                    "actions",
                    format!(
                        "{item}: each action names one of JobName, CrawlerName, ClassificationJobName"
                    ),
                ));
            }
            out.push(serde_json::from_value(item).map_err(|e| bad("actions", e))?);
        }
    }
    Ok(out)
}

pub fn parse_predicate(text: &str) -> Result<Predicate> {
    serde_json::from_value(value_of("predicate", text)?).map_err(|e| {
        bad(
            "predicate",
            format!("{e} (Logical=AND|ANY,Conditions=[{{LogicalOperator=EQUALS,JobName=NAME,State=SUCCEEDED}}])"),
        )
    })
}

fn trigger_type(text: &str) -> Result<TriggerType> {
    serde_json::from_value(json!(text.to_ascii_uppercase())).map_err(|_| {
        bad(
            "type",
            format!("{text:?}: ON_DEMAND, SCHEDULED, CONDITIONAL or EVENT"),
        )
    })
}

fn run_json(run: &WorkflowRun) -> Value {
    json!(run)
}

impl Context<'_> {
    pub(super) async fn workflows(&self, cmd: WorkflowCommand) -> Result<Value> {
        let w = &self.services.workflows;
        let by = self.principal;
        Ok(match cmd {
            WorkflowCommand::CreateWorkflow {
                name,
                description,
                default_run_properties,
                max_concurrent_runs,
            } => {
                let props = match default_run_properties {
                    Some(p) => parse_properties("default-run-properties", &p)?,
                    None => BTreeMap::new(),
                };
                w.create_workflow(by, &name, description, props, max_concurrent_runs)
                    .await?;
                json!({"Name": name})
            }
            WorkflowCommand::GetWorkflow {
                name,
                include_graph,
            } => json!({"Workflow": w.get_workflow(by, &name, include_graph).await?}),
            WorkflowCommand::ListWorkflows => json!({"Workflows": w.list_workflows(by).await?}),
            WorkflowCommand::DeleteWorkflow { name } => {
                w.delete_workflow(by, &name).await?;
                json!({"Name": name})
            }
            WorkflowCommand::CreateTrigger {
                name,
                workflow_name,
                trigger_type: kind,
                actions,
                predicate,
                schedule,
                description,
                start_on_creation,
            } => {
                let spec = TriggerSpec {
                    name: name.clone(),
                    workflow_name,
                    kind: trigger_type(&kind)?,
                    description,
                    schedule,
                    actions: parse_actions(&actions)?,
                    predicate: predicate.as_deref().map(parse_predicate).transpose()?,
                    start_on_creation,
                };
                w.create_trigger(by, spec).await?;
                json!({"Name": name})
            }
            WorkflowCommand::GetTrigger { name } => {
                json!({"Trigger": w.get_trigger(by, &name).await?})
            }
            WorkflowCommand::GetTriggers { dependent_job_name } => {
                json!({"Triggers": w.get_triggers(by, dependent_job_name.as_deref()).await?})
            }
            WorkflowCommand::StartTrigger { name } => {
                w.start_trigger(by, &name).await?;
                json!({"Name": name})
            }
            WorkflowCommand::StopTrigger { name } => {
                w.stop_trigger(by, &name).await?;
                json!({"Name": name})
            }
            WorkflowCommand::DeleteTrigger { name } => {
                w.delete_trigger(by, &name).await?;
                json!({"Name": name})
            }
            WorkflowCommand::StartWorkflowRun {
                name,
                run_properties,
                wait,
            } => {
                let props = match run_properties {
                    Some(p) => parse_properties("run-properties", &p)?,
                    None => BTreeMap::new(),
                };
                let id = w.start_workflow_run(by, &name, props).await?;
                if !wait {
                    return Ok(json!({"RunId": id}));
                }
                let run = until_finished(self.services.backend.poll_interval, || async {
                    let run = w.get_workflow_run(by, &name, &id, true).await?;
                    let ended = !matches!(
                        run.status,
                        WorkflowRunStatus::Running | WorkflowRunStatus::Stopping
                    );
                    Ok(ended.then_some(run))
                })
                .await?;
                let all_succeeded = run.status == WorkflowRunStatus::Completed
                    && run.statistics.succeeded_actions == run.statistics.total_actions;
                if !all_succeeded {
                    self.exit_with(EXIT_WAIT_FAILED);
                }
                json!({"Run": run_json(&run)})
            }
            WorkflowCommand::GetWorkflowRun {
                name,
                run_id,
                include_graph,
            } => {
                json!({"Run": run_json(&w.get_workflow_run(by, &name, &run_id, include_graph).await?)})
            }
            WorkflowCommand::GetWorkflowRuns { name } => {
                json!({"Runs": w.get_workflow_runs(by, &name).await?})
            }
            WorkflowCommand::StopWorkflowRun { name, run_id } => {
                w.stop_workflow_run(by, &name, &run_id).await?;
                json!({})
            }
            WorkflowCommand::GetWorkflowRunProperties { name, run_id } => {
                json!({"RunProperties": w.get_workflow_run_properties(by, &name, &run_id).await?})
            }
            WorkflowCommand::PutWorkflowRunProperties {
                name,
                run_id,
                run_properties,
            } => {
                let props = parse_properties("run-properties", &run_properties)?;
                w.put_workflow_run_properties(by, &name, &run_id, props)
                    .await?;
                json!({})
            }
        })
    }
}

/// A node state as a short word for tables and the console.
pub fn state_word(s: NodeState) -> &'static str {
    match s {
        NodeState::Starting => "STARTING",
        NodeState::Running => "RUNNING",
        NodeState::Stopping => "STOPPING",
        NodeState::Succeeded => "SUCCEEDED",
        NodeState::Failed => "FAILED",
        NodeState::Stopped => "STOPPED",
        NodeState::Timeout => "TIMEOUT",
        NodeState::Cancelled => "CANCELLED",
        NodeState::Error => "ERROR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_cli_shorthand_reads_glue_predicates_and_actions() {
        let p = parse_predicate(
            "Logical=ANY,Conditions=[{LogicalOperator=EQUALS,JobName=mask,State=FAILED},{LogicalOperator=EQUALS,CrawlerName=raw,CrawlState=SUCCEEDED}]",
        )
        .unwrap();
        assert_eq!(p.conditions.len(), 2);
        assert_eq!(p.conditions[0].state, Some(NodeState::Failed));
        assert_eq!(
            p.conditions[1].node,
            Action::Crawler {
                crawler_name: "raw".into()
            }
        );
        let json = parse_predicate(
            r#"{"Conditions":[{"LogicalOperator":"EQUALS","JobName":"j","State":"SUCCEEDED"}]}"#,
        )
        .unwrap();
        assert_eq!(
            json.logical,
            crate::service::workflows::Logical::And,
            "AND by default"
        );
        let a = parse_actions(&[
            "JobName=mask".into(),
            "CrawlerName=raw".into(),
            r#"[{"ClassificationJobName":"scan"}]"#.into(),
        ])
        .unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[2].kind(), "CLASSIFICATION_JOB");
        assert_eq!(parse_properties("p", "a=1,b=x y").unwrap()["b"], "x y");
        for bad in ["JobName=a,CrawlerName=b", "Name=x", "JobName", "JobName=[a"] {
            assert!(parse_actions(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(parse_predicate("Logical=SOME,Conditions=[]").is_err());
        assert!(
            parse_predicate("Logical=AND,Conditions=[{LogicalOperator=EQUALS,JobName=j").is_err()
        );
    }
}
