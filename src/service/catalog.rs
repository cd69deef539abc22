//! The data catalog (Glue semantics): databases, tables with their columns, location, format and
//! partition keys, and security configurations that name the key for job and crawler output.
//! No backend serves it yet; the Glue issue implements it on the local lake.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Principal, Result};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Database {
    pub name: String,
    pub description: Option<String>,
    pub location_uri: Option<String>,
    pub create_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Column {
    pub name: String,
    /// A Hive type name, as Glue stores it: `string`, `bigint`, `double`, `timestamp`, ...
    #[serde(rename = "Type")]
    pub type_name: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StorageDescriptor {
    pub columns: Vec<Column>,
    pub location: String,
    /// `parquet`, `json`, `csv`.
    pub format: String,
    pub compressed: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Table {
    pub name: String,
    pub database_name: String,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    pub storage_descriptor: StorageDescriptor,
    pub partition_keys: Vec<Column>,
    pub table_type: String,
    pub parameters: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityConfiguration {
    pub name: String,
    /// Output of jobs and crawlers (S3 SSE-KMS) and their logs are encrypted under this key.
    pub sse_kms_key_id: String,
    pub created_time_stamp: DateTime<Utc>,
}

#[async_trait]
pub trait Catalog: Send + Sync {
    async fn create_database(
        &self,
        by: &Principal,
        name: &str,
        description: Option<&str>,
    ) -> Result<Database>;
    async fn get_databases(&self, by: &Principal) -> Result<Vec<Database>>;
    async fn get_tables(&self, by: &Principal, database: &str) -> Result<Vec<Table>>;
    async fn get_table(&self, by: &Principal, database: &str, name: &str) -> Result<Table>;
    async fn create_security_configuration(
        &self,
        by: &Principal,
        name: &str,
        kms_key: &str,
    ) -> Result<SecurityConfiguration>;
    async fn get_security_configuration(
        &self,
        by: &Principal,
        name: &str,
    ) -> Result<SecurityConfiguration>;
}
