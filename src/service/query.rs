//! SQL over the catalog (Athena semantics): work groups, query executions and paged results,
//! each query seeing only what its principal was granted. No backend serves it yet; the
//! fine-grained access issue implements it on the local lake.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Principal, Result};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkGroup {
    pub name: String,
    pub output_location: String,
    pub kms_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueryState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryExecution {
    pub query_execution_id: String,
    pub query: String,
    pub work_group: String,
    pub state: QueryState,
    pub state_change_reason: Option<String>,
    pub submission_date_time: DateTime<Utc>,
    pub completion_date_time: Option<DateTime<Utc>>,
    pub data_scanned_in_bytes: u64,
    pub engine_execution_time_in_millis: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultColumn {
    pub name: String,
    #[serde(rename = "Type")]
    pub type_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultPage {
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<Option<String>>>,
    pub next_token: Option<String>,
}

#[async_trait]
pub trait Query: Send + Sync {
    async fn create_work_group(&self, by: &Principal, group: WorkGroup) -> Result<()>;
    async fn start_query_execution(
        &self,
        by: &Principal,
        sql: &str,
        work_group: Option<&str>,
    ) -> Result<String>;
    async fn get_query_execution(&self, by: &Principal, id: &str) -> Result<QueryExecution>;
    async fn get_query_results(
        &self,
        by: &Principal,
        id: &str,
        next_token: Option<&str>,
        max: usize,
    ) -> Result<ResultPage>;
    async fn list_query_executions(
        &self,
        by: &Principal,
        work_group: Option<&str>,
    ) -> Result<Vec<String>>;
    async fn stop_query_execution(&self, by: &Principal, id: &str) -> Result<()>;
}
