//! ETL jobs and crawlers (Glue semantics): definitions, runs with their states and metrics.
//! No backend serves it yet; the Glue issue implements it on the local lake.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Principal, Progress, Result};

/// A column's masking: the column and the operator (`redact`, `partial:4`, `hash`, `tokenize`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MaskRule {
    pub column: String,
    pub operator: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobDefinition {
    pub name: String,
    /// `s3://bucket/prefix/` read from, and written to.
    pub source: String,
    pub target: String,
    pub dedup: bool,
    pub security_configuration: Option<String>,
    pub masks: Vec<MaskRule>,
    /// Mask what this classification job found.
    pub from_findings: Option<String>,
    /// The principal the job runs as.
    pub role: String,
    pub timeout_minutes: Option<u32>,
    /// On AWS, run in the lakectl process that starts the run (S3 in, masked, S3 out under
    /// SSE-KMS) rather than on Glue: for data that must not pass through another service. The
    /// local lake runs every job itself.
    #[serde(default)]
    pub in_lakectl: bool,
    /// The share of a column's sampled values that must agree on its type (0.5 < share <= 1;
    /// absent: 0.999). Records whose value does not fit the agreed type are quarantined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_consensus: Option<f64>,
}

/// The Glue job argument that carries a lakectl job's definition (JSON), on AWS and through the
/// lake server alike: Glue keeps it, and lakectl reads the job back from it.
pub const DEFINITION_ARGUMENT: &str = "--lakectl-definition";

impl JobDefinition {
    /// Glue's `Job`, as GetJob and GetJobs answer it: what `aws glue get-job` prints for this job
    /// on AWS or through the lake server.
    pub fn aws_shape(&self) -> serde_json::Value {
        let definition = serde_json::to_string(self).expect("a job definition serializes");
        let mut job = serde_json::json!({
            "Name": self.name,
            "Role": self.role,
            "Command": { "Name": "glueetl", "PythonVersion": "3" },
            "DefaultArguments": { DEFINITION_ARGUMENT: definition },
            "Description": format!(
                "lakectl: {} → {}",
                self.from_findings.as_deref().unwrap_or(&self.source),
                self.target
            ),
        });
        if let Some(sc) = &self.security_configuration {
            job["SecurityConfiguration"] = sc.as_str().into();
        }
        if let Some(t) = self.timeout_minutes {
            job["Timeout"] = t.into();
        }
        job
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunState {
    Starting,
    Running,
    Succeeded,
    Failed,
    Stopped,
    Timeout,
}

impl RunState {
    pub fn is_finished(self) -> bool {
        !matches!(self, RunState::Starting | RunState::Running)
    }
}

/// RecordsRead = RecordsWritten + Duplicates + Quarantined, always.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[serde(default)]
pub struct RunMetrics {
    pub records_read: u64,
    pub records_written: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobRun {
    pub id: String,
    pub job_name: String,
    pub job_run_state: RunState,
    pub started_on: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_on: Option<DateTime<Utc>>,
    /// Seconds.
    pub execution_time: u64,
    pub metrics: RunMetrics,
    /// Absent, not null, when there is none: the AWS CLI prints no member AWS did not send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Where the run wrote (Parquet, and quarantined records under `_errors/`).
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Glue's TriggerName: the trigger that started the run, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_name: Option<String>,
    /// lakectl: the workflow run that started it (Glue passes it as `--WORKFLOW_RUN_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_run_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CrawlerDefinition {
    pub name: String,
    pub database_name: String,
    pub targets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_configuration: Option<String>,
    /// `UPDATE_IN_DATABASE` or `LOG`.
    pub update_behavior: String,
    /// Put before every table name the crawler creates (two crawlers, one database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_prefix: Option<String>,
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CrawlerRun {
    pub crawler_name: String,
    pub state: RunState,
    pub started_on: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_on: Option<DateTime<Utc>>,
    pub tables_created: Vec<String>,
    pub tables_updated: Vec<String>,
    pub partitions_added: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// What the crawler found and did, one line each (names and counts, never data).
    #[serde(default)]
    pub log: Vec<String>,
    /// lakectl: the workflow run that started the crawl, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_run_id: Option<String>,
}

/// A crawl's state in Glue's crawl history (`CrawlerHistoryState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CrawlState {
    Running,
    Completed,
    Failed,
    Stopped,
}

impl CrawlState {
    pub fn of(state: RunState) -> CrawlState {
        match state {
            RunState::Starting | RunState::Running => CrawlState::Running,
            RunState::Succeeded => CrawlState::Completed,
            RunState::Stopped => CrawlState::Stopped,
            RunState::Failed | RunState::Timeout => CrawlState::Failed,
        }
    }

    pub fn parse(s: &str) -> Option<CrawlState> {
        [
            CrawlState::Running,
            CrawlState::Completed,
            CrawlState::Failed,
            CrawlState::Stopped,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CrawlState::Running => "RUNNING",
            CrawlState::Completed => "COMPLETED",
            CrawlState::Failed => "FAILED",
            CrawlState::Stopped => "STOPPED",
        }
    }
}

/// One crawl of a crawler, as Glue's ListCrawls answers it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Crawl {
    pub crawl_id: String,
    pub state: CrawlState,
    pub start_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl Crawl {
    pub fn of(crawl_id: String, run: &CrawlerRun) -> Crawl {
        Crawl {
            crawl_id,
            state: CrawlState::of(run.state),
            start_time: run.started_on,
            end_time: run.completed_on,
            summary: format!(
                "{} tables created, {} updated, {} partitions added",
                run.tables_created.len(),
                run.tables_updated.len(),
                run.partitions_added
            ),
            error_message: run.error_message.clone(),
        }
    }
}

#[async_trait]
pub trait Jobs: Send + Sync {
    async fn create_job(&self, by: &Principal, def: JobDefinition) -> Result<()>;
    async fn get_jobs(&self, by: &Principal) -> Result<Vec<JobDefinition>>;
    /// One job (Glue's GetJob): EntityNotFoundException when there is none.
    async fn get_job(&self, by: &Principal, name: &str) -> Result<JobDefinition> {
        self.get_jobs(by)
            .await?
            .into_iter()
            .find(|j| j.name == name)
            .ok_or_else(|| {
                super::ServiceError::new(
                    super::Code::EntityNotFoundException,
                    format!("Job {name} not found."),
                )
            })
    }
    /// Starts a run and returns its id. On the local lake the run executes in this process: it
    /// reports through `progress`, and stops when that is cancelled or on `stop_job_run`.
    async fn start_job_run(&self, by: &Principal, job: &str, progress: Progress) -> Result<String>;
    async fn get_job_run(&self, by: &Principal, job: &str, run_id: &str) -> Result<JobRun>;
    async fn get_job_runs(&self, by: &Principal, job: &str) -> Result<Vec<JobRun>>;
    async fn stop_job_run(&self, by: &Principal, job: &str, run_id: &str) -> Result<()>;
    /// The run's log, decrypted for a principal allowed to read it.
    async fn get_job_run_log(&self, by: &Principal, job: &str, run_id: &str) -> Result<String>;
    async fn create_crawler(&self, by: &Principal, def: CrawlerDefinition) -> Result<()>;
    /// Starts a crawl; it runs in this process and reports through `progress`.
    async fn start_crawler(&self, by: &Principal, name: &str, progress: Progress) -> Result<()>;
    /// Asks a running crawl to stop (Glue's StopCrawler); it ends STOPPED (Glue: CANCELLED).
    async fn stop_crawler(&self, by: &Principal, name: &str) -> Result<()>;
    async fn get_crawler(
        &self,
        by: &Principal,
        name: &str,
    ) -> Result<(CrawlerDefinition, Option<CrawlerRun>)>;
    /// Every crawl of crawler `name` the lake keeps, newest first (Glue's ListCrawls).
    async fn list_crawls(&self, by: &Principal, name: &str) -> Result<Vec<Crawl>>;
    async fn get_crawlers(
        &self,
        by: &Principal,
    ) -> Result<Vec<(CrawlerDefinition, Option<CrawlerRun>)>>;

    /// Returns once the runs this process executes itself have ended, so that the CLI stays
    /// until then. The local lake's runs are blocking tasks, which the runtime waits for anyway.
    async fn runs_here_ended(&self) {}
}
