//! Glue workflows and triggers: the wiring that lets jobs, crawlers and classification jobs run
//! one after another without anyone typing the next command. The types serialize in Glue's JSON
//! shapes (`Workflow`, `Trigger`, `WorkflowRun`, `Graph`); a backend runs them. Classification
//! jobs as workflow nodes are a lakectl extension (`ClassificationJobName` in an action).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Principal, Result};

/// What a trigger starts, and what a condition watches: one node of a workflow's graph.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Action {
    Job {
        #[serde(rename = "JobName")]
        job_name: String,
    },
    Crawler {
        #[serde(rename = "CrawlerName")]
        crawler_name: String,
    },
    /// lakectl: a new classification job with the spec of the latest job of this name.
    Classification {
        #[serde(rename = "ClassificationJobName")]
        classification_job_name: String,
    },
}

impl Action {
    /// Glue's node type (`JOB`, `CRAWLER`; lakectl's `CLASSIFICATION_JOB`).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Job { .. } => "JOB",
            Action::Crawler { .. } => "CRAWLER",
            Action::Classification { .. } => "CLASSIFICATION_JOB",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Action::Job { job_name } => job_name,
            Action::Crawler { crawler_name } => crawler_name,
            Action::Classification {
                classification_job_name,
            } => classification_job_name,
        }
    }

    pub fn from_kind(kind: &str, name: &str) -> Option<Action> {
        let name = name.to_string();
        Some(match kind {
            "JOB" => Action::Job { job_name: name },
            "CRAWLER" => Action::Crawler { crawler_name: name },
            "CLASSIFICATION_JOB" => Action::Classification {
                classification_job_name: name,
            },
            _ => return None,
        })
    }
}

/// A node's state as conditions name it: Glue's job run states, crawl states (`CANCELLED`) and,
/// for classification jobs, SUCCEEDED (Macie's COMPLETE) or CANCELLED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NodeState {
    Starting,
    Running,
    Stopping,
    Succeeded,
    Failed,
    Stopped,
    Timeout,
    Cancelled,
    Error,
}

impl NodeState {
    pub fn is_finished(self) -> bool {
        !matches!(
            self,
            NodeState::Starting | NodeState::Running | NodeState::Stopping
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogicalOperator {
    Equals,
}

/// `{LogicalOperator: EQUALS, JobName: j, State: SUCCEEDED}` or with `CrawlerName` and
/// `CrawlState`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Condition {
    #[serde(default = "equals")]
    pub logical_operator: LogicalOperator,
    #[serde(flatten)]
    pub node: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<NodeState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawl_state: Option<NodeState>,
}

fn equals() -> LogicalOperator {
    LogicalOperator::Equals
}

impl Condition {
    /// The state this condition waits for (`State` for jobs, `CrawlState` for crawlers).
    pub fn wanted(&self) -> Option<NodeState> {
        self.state.or(self.crawl_state)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Logical {
    And,
    Any,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Predicate {
    #[serde(default = "and")]
    pub logical: Logical,
    pub conditions: Vec<Condition>,
}

fn and() -> Logical {
    Logical::And
}

impl Predicate {
    /// Whether the predicate holds over the states of one workflow run's nodes.
    pub fn holds(&self, state_of: impl Fn(&Action) -> Option<NodeState>) -> bool {
        let met = |c: &Condition| state_of(&c.node).is_some() && state_of(&c.node) == c.wanted();
        match self.logical {
            Logical::And => !self.conditions.is_empty() && self.conditions.iter().all(met),
            Logical::Any => self.conditions.iter().any(met),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TriggerType {
    OnDemand,
    Scheduled,
    Conditional,
    Event,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TriggerState {
    Created,
    Activated,
    Deactivated,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Trigger {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
    #[serde(rename = "Type")]
    pub kind: TriggerType,
    pub state: TriggerState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `cron(Minutes Hours Day-of-month Month Day-of-week Year)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<Predicate>,
}

/// What `create-trigger` asks for.
#[derive(Debug, Clone)]
pub struct TriggerSpec {
    pub name: String,
    pub workflow_name: Option<String>,
    pub kind: TriggerType,
    pub description: Option<String>,
    pub schedule: Option<String>,
    pub actions: Vec<Action>,
    pub predicate: Option<Predicate>,
    pub start_on_creation: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowRunStatus {
    Running,
    Completed,
    Stopping,
    Stopped,
    Error,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunStatistics {
    pub total_actions: u32,
    pub timeout_actions: u32,
    pub failed_actions: u32,
    pub stopped_actions: u32,
    pub succeeded_actions: u32,
    pub running_actions: u32,
    pub errored_actions: u32,
    pub waiting_actions: u32,
}

/// One node of a graph: a trigger, or what it starts, with its runs in a workflow run's graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Node {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    pub unique_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_details: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_details: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawler_details: Option<serde_json::Value>,
    /// lakectl: the classification jobs this node ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification_job_details: Option<serde_json::Value>,
    /// lakectl: in a run's graph, why this node did not run (a predecessor's state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_started_reason: Option<String>,
}

/// What a node of a run's graph did in that run, read from the details Glue gives per kind
/// (`JobDetails.JobRuns`, `CrawlerDetails.Crawls`, lakectl's `ClassificationJobDetails.Jobs`):
/// its latest run's state and times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeActivity {
    /// None when the node has not run in this run (or its state is one lakectl does not know).
    pub state: Option<NodeState>,
    pub started_on: Option<DateTime<Utc>>,
    pub completed_on: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
}

/// A trigger node's details: the trigger, and in a run's graph whether (and when) it fired.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerActivity {
    pub trigger: Trigger,
    pub fired: bool,
    pub fired_on: Option<DateTime<Utc>>,
}

impl Node {
    /// The node's latest run in this run's graph; None for triggers and nodes without details.
    pub fn activity(&self) -> Option<NodeActivity> {
        let time = |v: &serde_json::Value, field: &str| {
            v.get(field)
                .and_then(|t| serde_json::from_value::<DateTime<Utc>>(t.clone()).ok())
        };
        let text = |v: &serde_json::Value, field: &str| {
            v.get(field).and_then(|t| t.as_str()).map(str::to_string)
        };
        let state = |v: &serde_json::Value, field: &str| {
            v.get(field).and_then(|s| match s.as_str()? {
                // Macie's job states, as a workflow's conditions read them.
                "COMPLETE" => Some(NodeState::Succeeded),
                "IDLE" | "PAUSED" | "USER_PAUSED" => Some(NodeState::Running),
                "WAITING" => Some(NodeState::Starting),
                "EXPIRED" => Some(NodeState::Timeout),
                _ => serde_json::from_value::<NodeState>(s.clone()).ok(),
            })
        };
        let latest = |details: &Option<serde_json::Value>, list: &str| {
            details
                .as_ref()?
                .get(list)?
                .as_array()?
                .iter()
                .max_by_key(|r| time(r, "StartedOn").or_else(|| time(r, "createdAt")))
                .cloned()
        };
        if let Some(r) = latest(&self.job_details, "JobRuns") {
            return Some(NodeActivity {
                state: state(&r, "JobRunState"),
                started_on: time(&r, "StartedOn"),
                completed_on: time(&r, "CompletedOn"),
                error_message: text(&r, "ErrorMessage"),
            });
        }
        if let Some(c) = latest(&self.crawler_details, "Crawls") {
            return Some(NodeActivity {
                state: state(&c, "State"),
                started_on: time(&c, "StartedOn"),
                completed_on: time(&c, "CompletedOn"),
                error_message: text(&c, "ErrorMessage"),
            });
        }
        let j = latest(&self.classification_job_details, "Jobs")?;
        Some(NodeActivity {
            state: state(&j, "jobStatus"),
            started_on: time(&j, "createdAt"),
            completed_on: time(&j, "completedAt"),
            error_message: None,
        })
    }

    /// A trigger node's trigger, and whether it fired in this run's graph.
    pub fn trigger(&self) -> Option<TriggerActivity> {
        let d = self.trigger_details.as_ref()?;
        let trigger = serde_json::from_value(d.get("Trigger")?.clone()).ok()?;
        Some(TriggerActivity {
            trigger,
            fired: d.get("Fired").and_then(|f| f.as_bool()).unwrap_or(false),
            fired_on: d
                .get("FiredOn")
                .and_then(|t| serde_json::from_value(t.clone()).ok()),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Edge {
    pub source_id: String,
    pub destination_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkflowRun {
    pub name: String,
    pub workflow_run_id: String,
    pub workflow_run_properties: BTreeMap<String, String>,
    pub started_on: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_on: Option<DateTime<Utc>>,
    pub status: WorkflowRunStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub statistics: RunStatistics,
    /// lakectl: the trigger that started the run (an ON_DEMAND, SCHEDULED or EVENT trigger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<Graph>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Workflow {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub default_run_properties: BTreeMap<String, String>,
    /// Glue's MaxConcurrentRuns: starting a run past it fails (an event delivery retries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_runs: Option<u32>,
    pub created_on: DateTime<Utc>,
    pub last_modified_on: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<WorkflowRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<Graph>,
}

#[async_trait]
pub trait Workflows: Send + Sync {
    async fn create_workflow(
        &self,
        by: &Principal,
        name: &str,
        description: Option<String>,
        default_run_properties: BTreeMap<String, String>,
        max_concurrent_runs: Option<u32>,
    ) -> Result<()>;
    async fn get_workflow(
        &self,
        by: &Principal,
        name: &str,
        include_graph: bool,
    ) -> Result<Workflow>;
    async fn list_workflows(&self, by: &Principal) -> Result<Vec<String>>;
    /// Deletes the workflow and its triggers (Glue does the same); its runs' records stay.
    async fn delete_workflow(&self, by: &Principal, name: &str) -> Result<()>;

    async fn create_trigger(&self, by: &Principal, spec: TriggerSpec) -> Result<()>;
    async fn get_trigger(&self, by: &Principal, name: &str) -> Result<Trigger>;
    /// All triggers, or those whose actions start `dependent_job_name`.
    async fn get_triggers(
        &self,
        by: &Principal,
        dependent_job_name: Option<&str>,
    ) -> Result<Vec<Trigger>>;
    /// Activates a trigger; an ON_DEMAND trigger fires now (in its workflow: starts a run).
    async fn start_trigger(&self, by: &Principal, name: &str) -> Result<()>;
    async fn stop_trigger(&self, by: &Principal, name: &str) -> Result<()>;
    async fn delete_trigger(&self, by: &Principal, name: &str) -> Result<()>;

    /// Starts a run: the workflow's ON_DEMAND trigger fires. On the local lake the run is driven
    /// by this process (its nodes run here), like job runs. An EVENT target calls this too.
    async fn start_workflow_run(
        &self,
        by: &Principal,
        name: &str,
        run_properties: BTreeMap<String, String>,
    ) -> Result<String>;
    async fn get_workflow_run(
        &self,
        by: &Principal,
        name: &str,
        run_id: &str,
        include_graph: bool,
    ) -> Result<WorkflowRun>;
    async fn get_workflow_runs(&self, by: &Principal, name: &str) -> Result<Vec<WorkflowRun>>;
    async fn stop_workflow_run(&self, by: &Principal, name: &str, run_id: &str) -> Result<()>;
    async fn get_workflow_run_properties(
        &self,
        by: &Principal,
        name: &str,
        run_id: &str,
    ) -> Result<BTreeMap<String, String>>;
    async fn put_workflow_run_properties(
        &self,
        by: &Principal,
        name: &str,
        run_id: &str,
        properties: BTreeMap<String, String>,
    ) -> Result<()>;

    /// Returns once the workflow runs this process drives have ended, so that the CLI stays
    /// until then (their nodes run in this process).
    async fn runs_here_ended(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_s_activity_is_read_from_each_kind_s_details() {
        let node = |job: Option<serde_json::Value>, crawler: Option<serde_json::Value>| Node {
            kind: "JOB".into(),
            name: "n".into(),
            unique_id: "JOB:n".into(),
            trigger_details: None,
            job_details: job,
            crawler_details: crawler,
            classification_job_details: None,
            not_started_reason: None,
        };
        // The latest of several runs counts; Glue's times are RFC 3339.
        let job = node(
            Some(serde_json::json!({"JobRuns": [
                {"JobRunState": "FAILED", "StartedOn": "2026-01-01T10:00:00Z", "ErrorMessage": "old"},
                {"JobRunState": "RUNNING", "StartedOn": "2026-01-01T11:00:00Z"}]})),
            None,
        );
        let a = job.activity().unwrap();
        assert_eq!(a.state, Some(NodeState::Running));
        assert_eq!(
            a.started_on.unwrap().to_rfc3339(),
            "2026-01-01T11:00:00+00:00"
        );
        assert_eq!((a.completed_on, a.error_message), (None, None));
        let crawl = node(
            None,
            Some(
                serde_json::json!({"Crawls": [{"State": "CANCELLED", "StartedOn": "2026-01-01T10:00:00Z",
                "CompletedOn": "2026-01-01T10:00:05Z", "ErrorMessage": "stopped"}]}),
            ),
        );
        let c = crawl.activity().unwrap();
        assert_eq!(c.state, Some(NodeState::Cancelled));
        assert_eq!(c.error_message.as_deref(), Some("stopped"));
        assert!(c.completed_on.is_some());
        // A state lakectl does not know is no state, not a guess; no details, no activity.
        let odd = node(
            Some(serde_json::json!({"JobRuns": [{"JobRunState": "HIBERNATING"}]})),
            None,
        );
        assert_eq!(odd.activity().unwrap().state, None);
        assert_eq!(node(None, None).activity(), None);
        assert_eq!(node(None, None).trigger(), None);
    }

    #[test]
    fn predicates_read_and_write_glue_json() {
        let p: Predicate = serde_json::from_str(
            r#"{"Logical":"ANY","Conditions":[
                {"LogicalOperator":"EQUALS","JobName":"mask","State":"FAILED"},
                {"LogicalOperator":"EQUALS","CrawlerName":"raw","CrawlState":"SUCCEEDED"}]}"#,
        )
        .unwrap();
        assert_eq!(
            p.conditions[1].node,
            Action::Crawler {
                crawler_name: "raw".into()
            }
        );
        let back = serde_json::to_value(&p).unwrap();
        assert_eq!(back["Conditions"][0]["JobName"], "mask");
        assert_eq!(back["Conditions"][1]["CrawlState"], "SUCCEEDED");
        let crawled = |a: &Action| (a.name() == "raw").then_some(NodeState::Succeeded);
        assert!(p.holds(crawled), "ANY: one condition is enough");
        let all = Predicate {
            logical: Logical::And,
            ..p
        };
        assert!(!all.holds(crawled), "AND: the job has not failed");
        assert!(
            !Predicate {
                logical: Logical::And,
                conditions: vec![]
            }
            .holds(|_| None)
        );
    }
}
