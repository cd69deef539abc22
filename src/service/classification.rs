//! Sensitive-data discovery (Macie semantics): custom identifiers, allow lists, classification
//! jobs and their findings, in Macie's JSON shapes. Findings say where sensitive data is (cells,
//! records, JSON paths), never what it is; revealing samples is a separate, audited call that
//! needs decrypt rights on the object.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Principal, Progress, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDataIdentifier {
    pub name: String,
    pub regex: String,
    pub keywords: Vec<String>,
    pub ignore_words: Vec<String>,
    pub maximum_match_distance: u32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowList {
    pub name: String,
    pub words: Vec<String>,
    pub regex: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationJobSpec {
    pub name: String,
    pub bucket: String,
    pub prefix: Option<String>,
    pub custom_data_identifiers: Vec<String>,
    pub allow_lists: Vec<String>,
    /// Objects whose key hashes under this percentage are scanned (100: all).
    pub sampling_percentage: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedObject {
    pub key: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatistics {
    pub objects_total: u64,
    pub objects_scanned: u64,
    pub objects_with_findings: u64,
    /// Objects that could not be read (corrupt, unsupported, key disabled), and why.
    pub objects_skipped: Vec<SkippedObject>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationJob {
    pub job_id: String,
    #[serde(flatten)]
    pub spec: ClassificationJobSpec,
    /// `RUNNING`, `COMPLETE` or `CANCELLED`.
    pub job_status: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub statistics: JobStatistics,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cell {
    /// 1-based, the header being row 1, as Macie counts.
    pub row: u64,
    /// 1-based.
    pub column: u64,
    pub column_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// 0-based.
    pub record_index: u64,
    pub json_path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Occurrences {
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub cells: Vec<Cell>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detection {
    /// A managed identifier's type (`CREDIT_CARD_NUMBER`) or a custom identifier's name.
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u64,
    pub occurrences: Occurrences,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SensitiveData {
    /// `PERSONAL_INFORMATION`, `FINANCIAL_INFORMATION`, `CREDENTIALS`.
    pub category: String,
    pub total_count: u64,
    pub detections: Vec<Detection>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDetections {
    pub detections: Vec<Detection>,
    pub total_count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationResult {
    pub sensitive_data: Vec<SensitiveData>,
    pub custom_data_identifiers: CustomDetections,
    pub mime_type: String,
    pub size_classified: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationDetails {
    pub job_id: String,
    pub result: ClassificationResult,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Severity {
    pub description: String,
    pub score: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Object {
    pub bucket_name: String,
    pub key: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesAffected {
    pub s3_object: S3Object,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub id: String,
    /// `SensitiveData:S3Object/Personal|Financial|Credentials|CustomIdentifier|Multiple`.
    #[serde(rename = "type")]
    pub finding_type: String,
    pub severity: Severity,
    pub created_at: DateTime<Utc>,
    pub resources_affected: ResourcesAffected,
    pub classification_details: ClassificationDetails,
    pub count: u64,
}

/// Where findings say personal data is, by dataset folder: `(bucket, folder/)` → column → the
/// detection type found in it (the first, when several were). CSV findings name cells, JSON
/// findings name paths; both come down to the top-level column. The masking jobs of both
/// backends start from this.
pub fn columns_by_dataset(
    findings: &[Finding],
) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let mut datasets: BTreeMap<(String, String), BTreeMap<String, String>> = BTreeMap::new();
    for f in findings {
        let o = &f.resources_affected.s3_object;
        let folder = o
            .key
            .rsplit_once('/')
            .map(|(d, _)| format!("{d}/"))
            .unwrap_or_default();
        let r = &f.classification_details.result;
        for d in r
            .sensitive_data
            .iter()
            .flat_map(|s| &s.detections)
            .chain(&r.custom_data_identifiers.detections)
        {
            let columns = d
                .occurrences
                .cells
                .iter()
                .map(|c| c.column_name.clone())
                .chain(d.occurrences.records.iter().map(|r| {
                    r.json_path
                        .trim_start_matches("$.")
                        .split(['.', '['])
                        .next()
                        .unwrap_or("")
                        .to_string()
                }));
            for c in columns.filter(|c| !c.is_empty()) {
                datasets
                    .entry((o.bucket_name.clone(), folder.clone()))
                    .or_default()
                    .entry(c)
                    .or_insert_with(|| d.kind.clone());
            }
        }
    }
    datasets
}

/// The table a dataset folder becomes: its last segment (`raw/bank/` → `bank`).
pub fn dataset_table(bucket: &str, folder: &str) -> String {
    folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|t| !t.is_empty())
        .unwrap_or(bucket)
        .to_string()
}

/// Whether discovery is on, as Macie's session says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MacieSession {
    /// `ENABLED` or `PAUSED`.
    pub status: String,
    pub created_at: Option<DateTime<Utc>>,
    /// How often findings are published (`FIFTEEN_MINUTES`, `ONE_HOUR`, `SIX_HOURS`).
    pub finding_publishing_frequency: Option<String>,
}

#[async_trait]
pub trait Classification: Send + Sync {
    /// Turns discovery on (Macie must be enabled in an account before anything else).
    async fn enable_macie(&self, by: &Principal) -> Result<()>;
    async fn get_macie_session(&self, by: &Principal) -> Result<MacieSession>;
    async fn create_custom_data_identifier(
        &self,
        by: &Principal,
        id: CustomDataIdentifier,
    ) -> Result<String>;
    async fn list_custom_data_identifiers(
        &self,
        by: &Principal,
    ) -> Result<Vec<CustomDataIdentifier>>;
    async fn create_allow_list(&self, by: &Principal, list: AllowList) -> Result<String>;
    /// The allow lists a job may name (Macie's `ListAllowLists`).
    async fn list_allow_lists(&self, by: &Principal) -> Result<Vec<AllowList>>;
    /// Starts a job; on the local lake it scans in this process, reporting through `progress`.
    async fn create_classification_job(
        &self,
        by: &Principal,
        spec: ClassificationJobSpec,
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
    /// The matched values of one finding, by detection type: needs decrypt rights on the
    /// object's key, and is audited.
    async fn get_sensitive_data_occurrences(
        &self,
        by: &Principal,
        finding_id: &str,
    ) -> Result<BTreeMap<String, Vec<String>>>;
}
