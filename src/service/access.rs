//! Fine-grained access (Lake Formation semantics): grants on catalog resources down to columns
//! and rows, LF-tags, data cells filters, and `explain`, which says why a principal sees what it
//! sees. No backend serves it yet; the fine-grained access issue implements it on the local lake.

use async_trait::async_trait;
use serde::Serialize;

use super::{Principal, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Columns {
    Include(Vec<String>),
    Exclude(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Resource {
    Catalog,
    Database(String),
    Table {
        database: String,
        name: String,
    },
    TableWithColumns {
        database: String,
        name: String,
        columns: Columns,
    },
    DataLocation(String),
    /// AND across keys, OR within a key's values.
    LfTagExpression(Vec<(String, Vec<String>)>),
    DataCellsFilter {
        database: String,
        table: String,
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Permission {
    All,
    Select,
    Describe,
    Alter,
    Drop,
    Insert,
    Delete,
    CreateTable,
    DataLocationAccess,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Grant {
    pub principal: String,
    pub resource: Resource,
    pub permissions: Vec<Permission>,
    pub grant_option: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataCellsFilter {
    pub name: String,
    pub database: String,
    pub table: String,
    pub row_filter: String,
    pub columns: Option<Columns>,
}

/// One column as a principal sees it, and the grant, tag or filter that decided.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ColumnDecision {
    pub column: String,
    pub visible: bool,
    pub decided_by: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Explanation {
    pub principal: String,
    pub table: String,
    pub columns: Vec<ColumnDecision>,
    pub row_filter: Option<String>,
    /// Whether the principal may use the key the table's data is encrypted under.
    pub key_usable: bool,
}

#[async_trait]
pub trait Access: Send + Sync {
    async fn register_resource(&self, by: &Principal, location: &str) -> Result<()>;
    async fn grant_permissions(&self, by: &Principal, grant: Grant) -> Result<()>;
    async fn revoke_permissions(&self, by: &Principal, grant: Grant) -> Result<()>;
    async fn list_permissions(
        &self,
        by: &Principal,
        principal: Option<&str>,
        resource: Option<&Resource>,
    ) -> Result<Vec<Grant>>;
    async fn create_lf_tag(&self, by: &Principal, key: &str, values: &[String]) -> Result<()>;
    async fn add_lf_tags_to_resource(
        &self,
        by: &Principal,
        resource: Resource,
        tags: &[(String, String)],
    ) -> Result<()>;
    async fn create_data_cells_filter(&self, by: &Principal, filter: DataCellsFilter)
    -> Result<()>;
    async fn explain(
        &self,
        by: &Principal,
        principal: &str,
        database: &str,
        table: &str,
    ) -> Result<Explanation>;
}
