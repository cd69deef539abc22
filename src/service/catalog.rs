//! The data catalog (Glue semantics): databases, tables with their columns, location, format and
//! partition keys, and security configurations that name the key for job and crawler output.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Principal, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Database {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_uri: Option<String>,
    pub create_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Column {
    pub name: String,
    /// A Hive type name, as Glue stores it: `string`, `bigint`, `double`, `boolean`, `timestamp`.
    #[serde(rename = "Type")]
    pub type_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SerdeInfo {
    pub serialization_library: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StorageDescriptor {
    pub columns: Vec<Column>,
    pub location: String,
    pub input_format: String,
    pub output_format: String,
    pub serde_info: SerdeInfo,
    pub compressed: bool,
}

/// The formats the lake reads and catalogs, with the Hive classes Glue records for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    Parquet,
    Json,
    Csv,
}

impl DataFormat {
    pub fn classification(self) -> &'static str {
        match self {
            DataFormat::Parquet => "parquet",
            DataFormat::Json => "json",
            DataFormat::Csv => "csv",
        }
    }

    pub fn storage(
        self,
        columns: Vec<Column>,
        location: String,
        compressed: bool,
    ) -> StorageDescriptor {
        let (input, output, serde) = match self {
            DataFormat::Parquet => (
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            ),
            DataFormat::Json => (
                "org.apache.hadoop.mapred.TextInputFormat",
                "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "org.openx.data.jsonserde.JsonSerDe",
            ),
            DataFormat::Csv => (
                "org.apache.hadoop.mapred.TextInputFormat",
                "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
            ),
        };
        StorageDescriptor {
            columns,
            location,
            input_format: input.into(),
            output_format: output.into(),
            serde_info: SerdeInfo {
                serialization_library: serde.into(),
            },
            compressed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Table {
    pub name: String,
    pub database_name: String,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    pub storage_descriptor: StorageDescriptor,
    pub partition_keys: Vec<Column>,
    pub table_type: String,
    /// `classification` (parquet, json, csv), `recordCount`, `partitions` (the partition values
    /// seen, comma-separated key=value/ paths), ...
    pub parameters: BTreeMap<String, String>,
}

impl Table {
    /// Every column's name: the data columns, then the partition keys.
    pub fn column_names(&self) -> Vec<String> {
        self.storage_descriptor
            .columns
            .iter()
            .chain(&self.partition_keys)
            .map(|c| c.name.clone())
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityConfiguration {
    pub name: String,
    /// Output of jobs and crawlers (S3 SSE-KMS) and their logs are encrypted under this key (ARN).
    pub kms_key_arn: String,
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
    async fn delete_table(&self, by: &Principal, database: &str, name: &str) -> Result<()>;
    async fn create_security_configuration(
        &self,
        by: &Principal,
        name: &str,
        kms_key: &str,
    ) -> Result<SecurityConfiguration>;
    async fn get_security_configurations(
        &self,
        by: &Principal,
    ) -> Result<Vec<SecurityConfiguration>>;
}
