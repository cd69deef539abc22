//! Fine-grained access (Lake Formation semantics): grants on catalog resources down to columns
//! and rows, LF-tags, data cells filters, and `explain`, which says why a principal sees what it
//! sees. The types serialize in Lake Formation's JSON shapes, which are also the canonical form
//! the local lake stores grants in.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Code, Principal, Result, ServiceError};

/// `ColumnWildcard`: every column but the excluded ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ColumnWildcard {
    pub excluded_column_names: Vec<String>,
}

/// One key of an LF-tag expression and the values it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LfTag {
    pub tag_key: String,
    pub tag_values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum Resource {
    Catalog {},
    Database {
        name: String,
    },
    Table {
        database_name: String,
        name: String,
    },
    /// Exactly one of the two is set: the columns granted, or all but some.
    TableWithColumns {
        database_name: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        column_names: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        column_wildcard: Option<ColumnWildcard>,
    },
    DataLocation {
        resource_arn: String,
    },
    /// Tables and columns whose LF-tags match: AND across keys, OR within a key's values.
    #[serde(rename = "LFTagPolicy")]
    LfTagPolicy {
        resource_type: String,
        expression: Vec<LfTag>,
    },
    DataCellsFilter {
        database_name: String,
        table_name: String,
        name: String,
    },
}

impl Resource {
    pub fn table(database: &str, name: &str) -> Self {
        Resource::Table {
            database_name: database.into(),
            name: name.into(),
        }
    }

    /// The `DB.TABLE` a resource is about, if it is about one.
    pub fn table_name(&self) -> Option<(&str, &str)> {
        match self {
            Resource::Table {
                database_name,
                name,
            }
            | Resource::TableWithColumns {
                database_name,
                name,
                ..
            } => Some((database_name, name)),
            Resource::DataCellsFilter {
                database_name,
                table_name,
                ..
            } => Some((database_name, table_name)),
            _ => None,
        }
    }

    /// Whether permission `p` makes sense on this kind of resource.
    pub fn permits(&self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Resource::Catalog {} => matches!(p, All | Describe),
            Resource::Database { .. } => matches!(p, All | Alter | Drop | Describe | CreateTable),
            Resource::Table { .. } | Resource::LfTagPolicy { .. } => {
                matches!(p, All | Select | Describe | Alter | Drop | Insert | Delete)
            }
            Resource::TableWithColumns { .. } | Resource::DataCellsFilter { .. } => p == Select,
            Resource::DataLocation { .. } => p == DataLocationAccess,
        }
    }

    /// How the console and `explain` name a resource: `db.t`, `db.t (symbol, price)`, ...
    pub fn describe(&self) -> String {
        match self {
            Resource::Catalog {} => "the catalog".into(),
            Resource::Database { name } => format!("database {name}"),
            Resource::Table {
                database_name,
                name,
            } => format!("{database_name}.{name}"),
            Resource::TableWithColumns {
                database_name,
                name,
                column_names,
                column_wildcard,
            } => match (column_names, column_wildcard) {
                (Some(cols), _) => format!("{database_name}.{name} ({})", cols.join(", ")),
                (None, Some(w)) => format!(
                    "{database_name}.{name} (all but {})",
                    w.excluded_column_names.join(", ")
                ),
                (None, None) => format!("{database_name}.{name}"),
            },
            Resource::DataLocation { resource_arn } => {
                format!(
                    "location {}",
                    resource_arn.replace("arn:aws:s3:::", "s3://")
                )
            }
            Resource::LfTagPolicy { expression, .. } => {
                format!("tables tagged {}", format_tag_expression(expression))
            }
            Resource::DataCellsFilter {
                database_name,
                table_name,
                name,
            } => format!("{database_name}.{table_name} through filter {name}"),
        }
    }
}

/// `K=V1,V2;K2=V`, the form the CLI takes tag expressions in.
pub fn format_tag_expression(expression: &[LfTag]) -> String {
    expression
        .iter()
        .map(|t| format!("{}={}", t.tag_key, t.tag_values.join(",")))
        .collect::<Vec<_>>()
        .join(";")
}

/// `s3://B/P`, `s3://B/P/` and `arn:aws:s3:::B/P` all name the location `arn:aws:s3:::B/P`.
pub fn location_arn(location: &str) -> Result<String> {
    let path = location
        .strip_prefix("s3://")
        .or_else(|| location.strip_prefix("arn:aws:s3:::"))
        .ok_or_else(|| {
            ServiceError::new(
                Code::InvalidInputException,
                format!("{location:?} is not an S3 location (s3://BUCKET/PREFIX)"),
            )
        })?;
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return Err(ServiceError::new(
            Code::InvalidInputException,
            format!("{location:?} names no bucket"),
        ));
    }
    Ok(format!("arn:aws:s3:::{path}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

impl Permission {
    pub const EVERY: [Permission; 9] = [
        Permission::All,
        Permission::Select,
        Permission::Describe,
        Permission::Alter,
        Permission::Drop,
        Permission::Insert,
        Permission::Delete,
        Permission::CreateTable,
        Permission::DataLocationAccess,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::All => "ALL",
            Permission::Select => "SELECT",
            Permission::Describe => "DESCRIBE",
            Permission::Alter => "ALTER",
            Permission::Drop => "DROP",
            Permission::Insert => "INSERT",
            Permission::Delete => "DELETE",
            Permission::CreateTable => "CREATE_TABLE",
            Permission::DataLocationAccess => "DATA_LOCATION_ACCESS",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        let s = s.trim().to_ascii_uppercase();
        Permission::EVERY.into_iter().find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataLakePrincipal {
    pub data_lake_principal_identifier: String,
}

impl DataLakePrincipal {
    /// As Lake Formation and the AWS CLI print it: a name of the lake is this account's IAM
    /// user ARN; an ARN, or a group such as `IAM_ALLOWED_PRINCIPALS`, stays as it is.
    pub fn as_arn(&self, account: &str) -> DataLakePrincipal {
        let id = &self.data_lake_principal_identifier;
        let is_name = !id.contains(':') && !id.chars().all(|c| c.is_ascii_uppercase() || c == '_');
        DataLakePrincipal {
            data_lake_principal_identifier: if is_name {
                format!("arn:aws:iam::{account}:user/{id}")
            } else {
                id.clone()
            },
        }
    }

    /// As the lake names it: this account's user ARN is the user's name; anything else (a
    /// name, another account's ARN) stays, for the service to accept or refuse.
    pub fn as_name(&self, account: &str) -> DataLakePrincipal {
        let id = &self.data_lake_principal_identifier;
        let prefix = format!("arn:aws:iam::{account}:user/");
        DataLakePrincipal {
            data_lake_principal_identifier: id.strip_prefix(&prefix).unwrap_or(id).to_string(),
        }
    }

    pub fn named(id: &str) -> DataLakePrincipal {
        DataLakePrincipal {
            data_lake_principal_identifier: id.to_string(),
        }
    }
}

/// Lake Formation's `PrincipalResourcePermissions`: what one principal holds on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Grant {
    pub principal: DataLakePrincipal,
    pub resource: Resource,
    pub permissions: Vec<Permission>,
    pub permissions_with_grant_option: Vec<Permission>,
}

impl Grant {
    pub fn new(principal: &str, resource: Resource, permissions: Vec<Permission>) -> Self {
        Grant {
            principal: DataLakePrincipal {
                data_lake_principal_identifier: principal.into(),
            },
            resource,
            permissions,
            permissions_with_grant_option: Vec::new(),
        }
    }

    pub fn principal(&self) -> &str {
        &self.principal.data_lake_principal_identifier
    }
}

/// Rows and columns of one table: a row filter (`TRUE` for every row) and the columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataCellsFilter {
    pub table_catalog_id: String,
    pub database_name: String,
    pub table_name: String,
    pub name: String,
    pub row_filter: RowFilter,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_wildcard: Option<ColumnWildcard>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RowFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_expression: Option<String>,
    /// Present (and empty) when every row passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_rows_wildcard: Option<serde_json::Value>,
}

/// One column as a principal sees it, and the grants, tags or filters that decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ColumnDecision {
    pub column: String,
    pub visible: bool,
    /// The rows in which the column's cells are visible, when not all of them are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible_where: Option<String>,
    pub decided_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Explanation {
    pub principal: String,
    pub table: String,
    pub columns: Vec<ColumnDecision>,
    /// The rows the principal sees; `None` when it sees every row (or none of the table).
    pub row_filter: Option<String>,
    /// Who reads the table's objects for a query: the role of the registered data location
    /// (Lake Formation vends its access) or, for an unregistered location, the principal itself.
    pub data_read_as: String,
    /// The keys the table's objects are encrypted under, and whether that reader may use each.
    pub keys: Vec<KeyDecision>,
    /// Columns left out of `columns` because the principal may not learn their names (it holds
    /// no DESCRIBE on the table): only how many there are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_columns: Option<usize>,
    /// The IAM decisions a query of the table needs, and the policy and statement that made
    /// each (the local lake decides them itself; on AWS, IAM does and says nothing here).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub iam_decisions: Vec<IamDecision>,
}

impl Explanation {
    /// The line the CLI and the console show for columns whose names are withheld.
    pub fn hidden_columns_note(&self) -> Option<String> {
        self.hidden_columns.map(|n| match n {
            1 => "1 more column is not visible to you".to_string(),
            n => format!("{n} more columns are not visible to you"),
        })
    }
}

/// One IAM action a principal needs, whether it is allowed, and which policy decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IamDecision {
    pub action: String,
    pub resource: String,
    pub allowed: bool,
    pub decided_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDecision {
    pub key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    pub usable: bool,
    pub reason: String,
}

/// A registered data location and the role that reads it for Lake Formation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceInfo {
    pub resource_arn: String,
    pub role_arn: String,
    pub last_modified: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LfTagDefinition {
    pub tag_key: String,
    pub tag_values: Vec<String>,
}

/// The tags on a database, table or column; `inherited` when they come from above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignedTag {
    pub tag_key: String,
    pub tag_value: String,
    pub inherited_from: Option<String>,
}

/// Lake Formation's `LFTagPair` (`TagKey`, `TagValues`), with where an inherited tag was set
/// under lakectl's own member, as Lake Formation does not say it.
impl Serialize for AssignedTag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("TagKey", &self.tag_key)?;
        map.serialize_entry("TagValues", &[&self.tag_value])?;
        if let Some(from) = &self.inherited_from {
            map.serialize_entry("Lakectl", &serde_json::json!({ "InheritedFrom": from }))?;
        }
        map.end()
    }
}

/// Lake Formation's data lake settings: who administers the lake (grants anything, sees every
/// grant and table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataLakeSettings {
    pub data_lake_admins: Vec<DataLakePrincipal>,
}

#[async_trait]
pub trait Access: Send + Sync {
    async fn get_data_lake_settings(&self, by: &Principal) -> Result<DataLakeSettings>;
    /// Makes exactly `admins` the lake's admins. A list that leaves out the caller is refused:
    /// it would lock them out of the settings they are changing.
    async fn put_data_lake_admins(&self, by: &Principal, admins: &[String]) -> Result<()>;
    /// Registers an S3 location; Lake Formation reads it as `role` for queries.
    async fn register_resource(&self, by: &Principal, location: &str, role: &str) -> Result<()>;
    async fn list_resources(&self, by: &Principal) -> Result<Vec<ResourceInfo>>;
    /// Grants every permission of `grant`, those also in `permissions_with_grant_option` with
    /// the grant option. All or nothing.
    async fn grant_permissions(&self, by: &Principal, grant: Grant) -> Result<()>;
    async fn revoke_permissions(&self, by: &Principal, grant: Grant) -> Result<()>;
    async fn list_permissions(
        &self,
        by: &Principal,
        principal: Option<&str>,
        table: Option<(&str, &str)>,
    ) -> Result<Vec<Grant>>;
    async fn create_lf_tag(&self, by: &Principal, key: &str, values: &[String]) -> Result<()>;
    async fn list_lf_tags(&self, by: &Principal) -> Result<Vec<LfTagDefinition>>;
    /// Tags a database, a table, or columns of a table (`columns` non-empty).
    async fn add_lf_tags_to_resource(
        &self,
        by: &Principal,
        database: &str,
        table: Option<&str>,
        columns: &[String],
        tags: &[(String, String)],
    ) -> Result<()>;
    /// The tags of a table and of each of its columns, inherited ones included.
    async fn get_resource_lf_tags(
        &self,
        by: &Principal,
        database: &str,
        table: &str,
    ) -> Result<Vec<(String, Vec<AssignedTag>)>>;
    async fn create_data_cells_filter(&self, by: &Principal, filter: DataCellsFilter)
    -> Result<()>;
    async fn list_data_cells_filters(
        &self,
        by: &Principal,
        table: Option<(&str, &str)>,
    ) -> Result<Vec<DataCellsFilter>>;
    async fn delete_data_cells_filter(
        &self,
        by: &Principal,
        database: &str,
        table: &str,
        name: &str,
    ) -> Result<()>;
    async fn explain(
        &self,
        by: &Principal,
        principal: &str,
        database: &str,
        table: &str,
    ) -> Result<Explanation>;
}
