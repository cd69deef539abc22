//! `lakeformation`: grants, LF-tags, data cells filters and explain, in Lake Formation's shapes.

use serde_json::{Value, json};

use super::Context;
use super::access_commands::{GrantArgs, LakeFormationCommand};
use crate::service::access::{
    ColumnWildcard, DataCellsFilter, DataLakePrincipal, Grant, LfTag, Permission, Resource,
    RowFilter,
};
use crate::service::{Code, Result, ServiceError};

fn bad(message: impl Into<String>) -> ServiceError {
    ServiceError::new(Code::InvalidInputException, message)
}

/// `DB.TABLE` as its two names.
pub fn split_table(text: &str) -> Result<(String, String)> {
    match text.split_once('.') {
        Some((d, t)) if !d.is_empty() && !t.is_empty() => Ok((d.to_string(), t.to_string())),
        _ => Err(bad(format!("{text:?} is not a table: write DB.TABLE"))),
    }
}

/// `K=V1,V2;K2=V` as an LF-tag expression.
pub fn parse_tag_expression(text: &str) -> Result<Vec<LfTag>> {
    text.split(';')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (k, values) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("{part:?} is not K=V1,V2")))?;
            Ok(LfTag {
                tag_key: k.trim().to_string(),
                tag_values: values
                    .split(',')
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect(),
            })
        })
        .collect()
}

pub fn parse_permissions(names: &[String]) -> Result<Vec<Permission>> {
    names
        .iter()
        .map(|n| {
            Permission::parse(n).ok_or_else(|| {
                bad(format!(
                    "{n:?} is not a permission (ALL, SELECT, DESCRIBE, ALTER, DROP, INSERT, DELETE, CREATE_TABLE, DATA_LOCATION_ACCESS)"
                ))
            })
        })
        .collect()
}

impl Context<'_> {
    /// The caller's account, which turns the lake's principal names into the ARNs Lake
    /// Formation prints and back (STS answers it without a permission).
    async fn account(&self) -> Result<String> {
        Ok(self
            .services
            .iam
            .caller_identity(self.principal)
            .await?
            .account)
    }

    /// A principal as typed (a name, or this account's user ARN, as Lake Formation prints
    /// it): the name the lake knows. The AWS backend makes the ARN again.
    async fn principal_name(&self, typed: &str) -> Result<String> {
        if !typed.starts_with("arn:") {
            return Ok(typed.to_string());
        }
        Ok(DataLakePrincipal::named(typed)
            .as_name(&self.account().await?)
            .data_lake_principal_identifier)
    }

    async fn grant_from(&self, args: GrantArgs) -> Result<Grant> {
        let r = args.resource;
        let resource = if r.catalog {
            Resource::Catalog {}
        } else if let Some(name) = r.database {
            Resource::Database { name }
        } else if let Some(t) = r.table {
            let (database_name, name) = split_table(&t)?;
            if !args.columns.is_empty() {
                Resource::TableWithColumns {
                    database_name,
                    name,
                    column_names: Some(args.columns),
                    column_wildcard: None,
                }
            } else if !args.excluded_columns.is_empty() {
                Resource::TableWithColumns {
                    database_name,
                    name,
                    column_names: None,
                    column_wildcard: Some(ColumnWildcard {
                        excluded_column_names: args.excluded_columns,
                    }),
                }
            } else {
                Resource::Table {
                    database_name,
                    name,
                }
            }
        } else if let Some(resource_arn) = r.data_location {
            Resource::DataLocation { resource_arn }
        } else if let Some(expr) = r.lf_tag_expression {
            Resource::LfTagPolicy {
                resource_type: "TABLE".into(),
                expression: parse_tag_expression(&expr)?,
            }
        } else if let Some(name) = r.data_cells_filter {
            let (database_name, table_name) = match args.filter_table {
                Some(t) => split_table(&t)?,
                None => self.filter_table(&name).await?,
            };
            Resource::DataCellsFilter {
                database_name,
                table_name,
                name,
            }
        } else {
            return Err(bad("name a resource"));
        };
        let permissions = parse_permissions(&args.permissions)?;
        let principal = self.principal_name(&args.principal).await?;
        let mut grant = Grant::new(&principal, resource, permissions.clone());
        if args.grant_option {
            grant.permissions_with_grant_option = permissions;
        }
        Ok(grant)
    }

    /// The table of the only data cells filter named `name`.
    async fn filter_table(&self, name: &str) -> Result<(String, String)> {
        let all = self
            .services
            .access
            .list_data_cells_filters(self.principal, None)
            .await?;
        let tables: Vec<_> = all
            .into_iter()
            .filter(|f| f.name == name)
            .map(|f| (f.database_name, f.table_name))
            .collect();
        match tables.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ServiceError::new(
                Code::EntityNotFoundException,
                format!("no data cells filter is named {name}"),
            )),
            _ => Err(bad(format!(
                "several tables have a data cells filter named {name}: add --filter-table DB.TABLE"
            ))),
        }
    }

    pub(super) async fn lakeformation(&self, cmd: LakeFormationCommand) -> Result<Value> {
        let access = &self.services.access;
        let by = self.principal;
        Ok(match cmd {
            LakeFormationCommand::RegisterResource {
                resource_arn,
                role_arn,
            } => {
                let role = role_arn.rsplit('/').next().unwrap_or(&role_arn).to_string();
                access.register_resource(by, &resource_arn, &role).await?;
                json!({})
            }
            LakeFormationCommand::ListResources => {
                json!({"ResourceInfoList": access.list_resources(by).await?})
            }
            LakeFormationCommand::GrantPermissions(args) => {
                let grant = self.grant_from(args).await?;
                access.grant_permissions(by, grant).await?;
                json!({})
            }
            LakeFormationCommand::RevokePermissions(args) => {
                let only_option = args.grant_option;
                let mut grant = self.grant_from(args).await?;
                if only_option {
                    // `--grant-option` on revoke takes back only the right to grant.
                    grant.permissions = Vec::new();
                }
                access.revoke_permissions(by, grant).await?;
                json!({})
            }
            LakeFormationCommand::ListPermissions { principal, table } => {
                let table = table.map(|t| split_table(&t)).transpose()?;
                let principal = match principal {
                    Some(p) => Some(self.principal_name(&p).await?),
                    None => None,
                };
                let mut grants = access
                    .list_permissions(
                        by,
                        principal.as_deref(),
                        table.as_ref().map(|(d, t)| (d.as_str(), t.as_str())),
                    )
                    .await?;
                // Principals as Lake Formation prints them (IAM ARNs), on either backend.
                let account = self.account().await?;
                for g in &mut grants {
                    g.principal = g.principal.as_arn(&account);
                }
                json!({"PrincipalResourcePermissions": grants})
            }
            LakeFormationCommand::CreateLfTag { key, values } => {
                access.create_lf_tag(by, &key, &values).await?;
                json!({})
            }
            LakeFormationCommand::ListLfTags => {
                json!({"LFTags": access.list_lf_tags(by).await?})
            }
            LakeFormationCommand::GetDataLakeSettings => {
                let mut settings = access.get_data_lake_settings(by).await?;
                let account = self.account().await?;
                for admin in &mut settings.data_lake_admins {
                    *admin = admin.as_arn(&account);
                }
                json!({"DataLakeSettings": settings})
            }
            LakeFormationCommand::PutDataLakeSettings { admins } => {
                let mut names = Vec::with_capacity(admins.len());
                for admin in &admins {
                    names.push(self.principal_name(admin).await?);
                }
                access.put_data_lake_admins(by, &names).await?;
                json!({})
            }
            LakeFormationCommand::AddLfTagsToResource {
                database,
                table,
                columns,
                lf_tags,
            } => {
                let tags = lf_tags
                    .iter()
                    .map(|t| {
                        t.split_once('=')
                            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                            .ok_or_else(|| bad(format!("{t:?} is not K=V")))
                    })
                    .collect::<Result<Vec<_>>>()?;
                match table {
                    Some(t) => {
                        let (d, t) = split_table(&t)?;
                        access
                            .add_lf_tags_to_resource(by, &d, Some(&t), &columns, &tags)
                            .await?
                    }
                    None => {
                        let d = database.unwrap_or_default();
                        access
                            .add_lf_tags_to_resource(by, &d, None, &columns, &tags)
                            .await?
                    }
                }
                json!({"Failures": []})
            }
            LakeFormationCommand::GetResourceLfTags { table } => {
                let (d, t) = split_table(&table)?;
                let tags = access.get_resource_lf_tags(by, &d, &t).await?;
                let mut out = json!({});
                for (column, assigned) in tags {
                    if column.is_empty() {
                        out["LFTagsOnTable"] = json!(assigned);
                    } else {
                        let list = out["LFTagsOnColumns"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        let mut list = list;
                        list.push(json!({"Name": column, "LFTags": assigned}));
                        out["LFTagsOnColumns"] = json!(list);
                    }
                }
                out
            }
            LakeFormationCommand::CreateDataCellsFilter {
                name,
                table,
                row_filter,
                columns,
                excluded_columns,
            } => {
                let (database_name, table_name) = split_table(&table)?;
                let filter = DataCellsFilter {
                    table_catalog_id: String::new(),
                    database_name,
                    table_name,
                    name,
                    row_filter: RowFilter {
                        filter_expression: Some(row_filter),
                        all_rows_wildcard: None,
                    },
                    column_names: (!columns.is_empty()).then_some(columns),
                    column_wildcard: (!excluded_columns.is_empty()).then_some(ColumnWildcard {
                        excluded_column_names: excluded_columns,
                    }),
                };
                access.create_data_cells_filter(by, filter).await?;
                json!({})
            }
            LakeFormationCommand::ListDataCellsFilter { table } => {
                let table = table.map(|t| split_table(&t)).transpose()?;
                let filters = access
                    .list_data_cells_filters(
                        by,
                        table.as_ref().map(|(d, t)| (d.as_str(), t.as_str())),
                    )
                    .await?;
                json!({"DataCellsFilters": filters})
            }
            LakeFormationCommand::DeleteDataCellsFilter { name, table } => {
                let (d, t) = split_table(&table)?;
                access.delete_data_cells_filter(by, &d, &t, &name).await?;
                json!({})
            }
            LakeFormationCommand::Explain { principal, table } => {
                let (d, t) = split_table(&table)?;
                let principal = self.principal_name(&principal).await?;
                let explanation = access.explain(by, &principal, &d, &t).await?;
                let mut out = json!(explanation);
                if let Some(note) = explanation.hidden_columns_note() {
                    out["HiddenColumnsNote"] = json!(note);
                }
                out
            }
        })
    }
}
