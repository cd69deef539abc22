//! Sensitive-data discovery (Macie semantics): custom identifiers, allow lists, classification
//! jobs and their findings. Findings never hold the sensitive values themselves.
//! No backend serves it yet; the sensitive-data issue implements it on the local lake.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Principal, Progress, Result};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDataIdentifier {
    pub name: String,
    pub regex: String,
    pub keywords: Vec<String>,
    pub ignore_words: Vec<String>,
    pub maximum_match_distance: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AllowListCriteria {
    Words(Vec<String>),
    Regex(String),
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationJob {
    pub job_id: String,
    pub name: String,
    pub bucket: String,
    pub prefix: Option<String>,
    pub custom_data_identifiers: Vec<String>,
    pub sampling_percentage: u8,
    /// `RUNNING`, `COMPLETE`, `CANCELLED`, ...
    pub job_status: String,
    pub created_at: DateTime<Utc>,
}

/// Where a match is: a CSV cell, or a record and path in JSON or Parquet.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Occurrence {
    Cell {
        row: u64,
        column: u64,
        column_name: String,
    },
    Record {
        record_index: u64,
        json_path: String,
    },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub id: String,
    /// `SensitiveData:S3Object/Personal`, `/Financial`, `/Credentials`, `/CustomIdentifier`, `/Multiple`.
    #[serde(rename = "type")]
    pub finding_type: String,
    pub severity: String,
    pub bucket: String,
    pub key: String,
    pub job_id: String,
    /// Detection type (`CREDIT_CARD_NUMBER`, a custom identifier's name) → count.
    pub counts: BTreeMap<String, u64>,
    pub occurrences: BTreeMap<String, Vec<Occurrence>>,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait Classification: Send + Sync {
    async fn create_custom_data_identifier(
        &self,
        by: &Principal,
        id: CustomDataIdentifier,
    ) -> Result<String>;
    async fn create_allow_list(
        &self,
        by: &Principal,
        name: &str,
        criteria: AllowListCriteria,
    ) -> Result<String>;
    async fn create_classification_job(
        &self,
        by: &Principal,
        job: ClassificationJob,
        progress: Progress,
    ) -> Result<String>;
    async fn list_classification_jobs(&self, by: &Principal) -> Result<Vec<ClassificationJob>>;
    async fn describe_classification_job(
        &self,
        by: &Principal,
        job_id: &str,
    ) -> Result<ClassificationJob>;
    async fn list_findings(&self, by: &Principal, job_id: Option<&str>) -> Result<Vec<String>>;
    async fn get_findings(&self, by: &Principal, ids: &[String]) -> Result<Vec<Finding>>;
    /// The matched values of one finding: needs decrypt rights on the object's key; audited.
    async fn get_sensitive_data_occurrences(
        &self,
        by: &Principal,
        finding_id: &str,
    ) -> Result<BTreeMap<String, Vec<String>>>;
}
