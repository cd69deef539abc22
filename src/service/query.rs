//! SQL over the catalog (Athena semantics): work groups, query executions and paged results,
//! each query seeing only what its principal was granted. The types serialize in Athena's
//! JSON shapes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Principal, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkGroup {
    pub name: String,
    /// Where results go, `s3://BUCKET/PREFIX/`.
    pub output_location: String,
    /// The key results are encrypted under (SSE_KMS); the bucket's default when `None`.
    pub kms_key: Option<String>,
    /// Athena's BytesScannedCutoffPerQuery: a query that reads more is cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_scanned_cutoff_per_query: Option<u64>,
    /// lakectl's own (the local lake): the memory one query may use; `None`, the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_memory_limit_bytes: Option<u64>,
    /// lakectl's own (the local lake): how long one query may run; `None`, the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_timeout_seconds: Option<u64>,
}

impl WorkGroup {
    /// A work group with the default limits.
    pub fn new(name: String, output_location: String, kms_key: Option<String>) -> Self {
        WorkGroup {
            name,
            output_location,
            kms_key,
            bytes_scanned_cutoff_per_query: None,
            query_memory_limit_bytes: None,
            query_timeout_seconds: None,
        }
    }

    /// Athena's `WorkGroup`, as GetWorkGroup answers it (the CLI prints it, the lake server sends
    /// it). lakectl's own limits sit under `Configuration.Lakectl`.
    pub fn aws_shape(&self) -> serde_json::Value {
        let mut results = serde_json::json!({ "OutputLocation": self.output_location });
        if let Some(key) = &self.kms_key {
            results["EncryptionConfiguration"] =
                serde_json::json!({ "EncryptionOption": "SSE_KMS", "KmsKey": key });
        }
        let mut configuration = serde_json::json!({
            "ResultConfiguration": results,
            "EnforceWorkGroupConfiguration": true,
        });
        if let Some(cutoff) = self.bytes_scanned_cutoff_per_query {
            configuration["BytesScannedCutoffPerQuery"] = cutoff.into();
        }
        let mut own = serde_json::Map::new();
        if let Some(bytes) = self.query_memory_limit_bytes {
            own.insert("QueryMemoryLimitBytes".into(), bytes.into());
        }
        if let Some(seconds) = self.query_timeout_seconds {
            own.insert("QueryTimeoutSeconds".into(), seconds.into());
        }
        if !own.is_empty() {
            configuration["Lakectl"] = own.into();
        }
        serde_json::json!({ "Name": self.name, "State": "ENABLED", "Configuration": configuration })
    }

    /// Athena's `WorkGroupSummary`, as ListWorkGroups answers it.
    pub fn aws_summary(&self) -> serde_json::Value {
        serde_json::json!({ "Name": self.name, "State": "ENABLED" })
    }

    /// The memory one query may use: the work group's limit, else 2 GiB.
    pub fn memory_limit(&self) -> u64 {
        self.query_memory_limit_bytes
            .unwrap_or(DEFAULT_QUERY_MEMORY_BYTES)
    }

    /// How long one query may run: the work group's limit, else 30 minutes (Athena's default
    /// DML query timeout).
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.query_timeout_seconds
                .unwrap_or(DEFAULT_QUERY_TIMEOUT_SECONDS),
        )
    }
}

pub const DEFAULT_QUERY_MEMORY_BYTES: u64 = 2 << 30;
pub const DEFAULT_QUERY_TIMEOUT_SECONDS: u64 = 30 * 60;
/// Athena's smallest BytesScannedCutoffPerQuery: 10 MB.
pub const MIN_BYTES_SCANNED_CUTOFF: u64 = 10_000_000;

/// Changes to a work group's limits (`athena update-work-group`); `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkGroupUpdate {
    pub bytes_scanned_cutoff_per_query: Option<u64>,
    pub remove_bytes_scanned_cutoff_per_query: bool,
    /// lakectl's own; the AWS backend refuses it.
    pub query_memory_limit_bytes: Option<u64>,
    /// lakectl's own; the AWS backend refuses it.
    pub query_timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueryState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl QueryState {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            QueryState::Succeeded | QueryState::Failed | QueryState::Cancelled
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryStatus {
    pub state: QueryState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_change_reason: Option<String>,
    pub submission_date_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_date_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryStatistics {
    pub engine_execution_time_in_millis: u64,
    pub data_scanned_in_bytes: u64,
    /// Rows in the result (not in Athena's shape; the console shows it).
    pub result_rows: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryExecution {
    pub query_execution_id: String,
    pub query: String,
    pub work_group: String,
    /// Who ran it: results are theirs.
    pub principal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// `s3://…/PRINCIPAL/ID.csv` once results exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_location: Option<String>,
    pub status: QueryStatus,
    pub statistics: QueryStatistics,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultColumn {
    pub name: String,
    /// Athena's type name: varchar, bigint, double, boolean, date, timestamp, ...
    #[serde(rename = "Type")]
    pub type_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultPage {
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<Option<String>>>,
    /// Pass back to get the next page; `None` on the last.
    pub next_token: Option<String>,
}

#[async_trait]
pub trait Query: Send + Sync {
    async fn create_work_group(&self, by: &Principal, group: WorkGroup) -> Result<()>;
    async fn list_work_groups(&self, by: &Principal) -> Result<Vec<WorkGroup>>;
    /// One work group (Athena's GetWorkGroup): InvalidRequestException when there is none.
    async fn get_work_group(&self, by: &Principal, name: &str) -> Result<WorkGroup> {
        self.list_work_groups(by)
            .await?
            .into_iter()
            .find(|g| g.name == name)
            .ok_or_else(|| {
                super::ServiceError::new(
                    super::Code::InvalidRequestException,
                    format!("WorkGroup {name} is not found."),
                )
            })
    }
    /// Changes a work group's limits.
    async fn update_work_group(
        &self,
        by: &Principal,
        name: &str,
        update: WorkGroupUpdate,
    ) -> Result<()>;
    /// Checks the statement and starts it; returns the execution id. `database` is the
    /// default database for unqualified table names.
    async fn start_query_execution(
        &self,
        by: &Principal,
        sql: &str,
        work_group: Option<&str>,
        database: Option<&str>,
    ) -> Result<String>;
    async fn get_query_execution(&self, by: &Principal, id: &str) -> Result<QueryExecution>;
    /// A page of results: `max` rows from `next_token` on.
    async fn get_query_results(
        &self,
        by: &Principal,
        id: &str,
        next_token: Option<&str>,
        max: usize,
    ) -> Result<ResultPage>;
    /// The caller's executions, newest first (every principal's for lake admins).
    async fn list_query_executions(
        &self,
        by: &Principal,
        work_group: Option<&str>,
    ) -> Result<Vec<String>>;
    async fn stop_query_execution(&self, by: &Principal, id: &str) -> Result<()>;
}
