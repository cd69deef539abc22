//! Lake Formation's shapes and the service layer's, both ways. The service layer's resources
//! already follow Lake Formation's JSON, so this is field for field; principals given by name
//! become IAM user ARNs, locations become S3 ARNs.

use aws_sdk_lakeformation::types as lf;

use super::{Aws, build_error};
use crate::service::Result;
use crate::service::access::{
    AssignedTag, ColumnWildcard, DataCellsFilter, LfTag, Permission, Resource, RowFilter,
    location_arn,
};

pub(super) fn built<T, E: std::fmt::Display>(
    what: &str,
    r: std::result::Result<T, E>,
) -> Result<T> {
    r.map_err(|e| build_error(what, e))
}

pub(super) fn sdk_tags(expression: &[LfTag]) -> Result<Vec<lf::LfTag>> {
    expression
        .iter()
        .map(|t| {
            built(
                "LFTag",
                lf::LfTag::builder()
                    .tag_key(&t.tag_key)
                    .set_tag_values(Some(t.tag_values.clone()))
                    .build(),
            )
        })
        .collect()
}

pub(super) fn sdk_wildcard(w: &Option<ColumnWildcard>) -> Option<lf::ColumnWildcard> {
    w.as_ref().map(|w| {
        lf::ColumnWildcard::builder()
            .set_excluded_column_names(Some(w.excluded_column_names.clone()))
            .build()
    })
}

pub(super) fn sdk_row_filter(f: &RowFilter) -> lf::RowFilter {
    let builder = lf::RowFilter::builder().set_filter_expression(f.filter_expression.clone());
    match f.filter_expression {
        Some(_) => builder.build(),
        None => builder
            .all_rows_wildcard(lf::AllRowsWildcard::builder().build())
            .build(),
    }
}

pub(super) fn sdk_permissions(ps: &[Permission]) -> Vec<lf::Permission> {
    ps.iter()
        .map(|p| lf::Permission::from(p.as_str()))
        .collect()
}

pub(super) fn permissions(ps: &[lf::Permission]) -> Vec<Permission> {
    ps.iter()
        .filter_map(|p| Permission::parse(p.as_str()))
        .collect()
}

impl Aws {
    pub(super) fn sdk_principal(&self, name: &str) -> lf::DataLakePrincipal {
        lf::DataLakePrincipal::builder()
            .data_lake_principal_identifier(self.principal_arn_of(name))
            .build()
    }

    pub(super) fn sdk_resource(&self, r: &Resource) -> Result<lf::Resource> {
        let account = &self.identity.account;
        let builder = lf::Resource::builder();
        Ok(match r {
            Resource::Catalog {} => builder.catalog(lf::CatalogResource::builder().build()),
            Resource::Database { name } => builder.database(built(
                "DatabaseResource",
                lf::DatabaseResource::builder().name(name).build(),
            )?),
            Resource::Table {
                database_name,
                name,
            } => builder.table(built(
                "TableResource",
                lf::TableResource::builder()
                    .catalog_id(account)
                    .database_name(database_name)
                    .name(name)
                    .build(),
            )?),
            Resource::TableWithColumns {
                database_name,
                name,
                column_names,
                column_wildcard,
            } => builder.table_with_columns(built(
                "TableWithColumnsResource",
                lf::TableWithColumnsResource::builder()
                    .catalog_id(account)
                    .database_name(database_name)
                    .name(name)
                    .set_column_names(column_names.clone())
                    .set_column_wildcard(sdk_wildcard(column_wildcard))
                    .build(),
            )?),
            Resource::DataLocation { resource_arn } => builder.data_location(built(
                "DataLocationResource",
                lf::DataLocationResource::builder()
                    .resource_arn(location_arn(resource_arn)?)
                    .build(),
            )?),
            Resource::LfTagPolicy {
                resource_type,
                expression,
            } => builder.lf_tag_policy(built(
                "LFTagPolicyResource",
                lf::LfTagPolicyResource::builder()
                    .resource_type(lf::ResourceType::from(resource_type.as_str()))
                    .set_expression(Some(sdk_tags(expression)?))
                    .build(),
            )?),
            Resource::DataCellsFilter {
                database_name,
                table_name,
                name,
            } => builder.data_cells_filter(
                lf::DataCellsFilterResource::builder()
                    .table_catalog_id(account)
                    .database_name(database_name)
                    .table_name(table_name)
                    .name(name)
                    .build(),
            ),
        }
        .build())
    }

    pub(super) fn sdk_table(
        &self,
        database: &str,
        table: Option<&str>,
        columns: &[String],
    ) -> Result<lf::Resource> {
        let r = match table {
            None => Resource::Database {
                name: database.into(),
            },
            Some(t) if columns.is_empty() => Resource::table(database, t),
            Some(t) => Resource::TableWithColumns {
                database_name: database.into(),
                name: t.into(),
                column_names: Some(columns.to_vec()),
                column_wildcard: None,
            },
        };
        self.sdk_resource(&r)
    }
}

/// A resource as Lake Formation describes it, back in the service layer's terms.
pub(super) fn resource(r: &lf::Resource) -> Option<Resource> {
    if r.catalog().is_some() {
        return Some(Resource::Catalog {});
    }
    if let Some(d) = r.database() {
        return Some(Resource::Database {
            name: d.name().to_string(),
        });
    }
    if let Some(t) = r.table_with_columns() {
        return Some(Resource::TableWithColumns {
            database_name: t.database_name().to_string(),
            name: t.name().to_string(),
            column_names: (!t.column_names().is_empty()).then(|| t.column_names().to_vec()),
            column_wildcard: t.column_wildcard().map(|w| ColumnWildcard {
                excluded_column_names: w.excluded_column_names().to_vec(),
            }),
        });
    }
    if let Some(t) = r.table() {
        return Some(Resource::table(t.database_name(), t.name().unwrap_or("*")));
    }
    if let Some(l) = r.data_location() {
        return Some(Resource::DataLocation {
            resource_arn: l.resource_arn().to_string(),
        });
    }
    if let Some(p) = r.lf_tag_policy() {
        return Some(Resource::LfTagPolicy {
            resource_type: p.resource_type().as_str().to_string(),
            expression: p
                .expression()
                .iter()
                .map(|t| LfTag {
                    tag_key: t.tag_key().to_string(),
                    tag_values: t.tag_values().to_vec(),
                })
                .collect(),
        });
    }
    if let Some(f) = r.data_cells_filter() {
        return Some(Resource::DataCellsFilter {
            database_name: f.database_name().unwrap_or_default().to_string(),
            table_name: f.table_name().unwrap_or_default().to_string(),
            name: f.name().unwrap_or_default().to_string(),
        });
    }
    None
}

pub(super) fn data_cells_filter(f: &lf::DataCellsFilter) -> DataCellsFilter {
    DataCellsFilter {
        table_catalog_id: f.table_catalog_id().to_string(),
        database_name: f.database_name().to_string(),
        table_name: f.table_name().to_string(),
        name: f.name().to_string(),
        row_filter: RowFilter {
            filter_expression: f
                .row_filter()
                .and_then(|r| r.filter_expression())
                .map(str::to_string),
            all_rows_wildcard: f
                .row_filter()
                .and_then(|r| r.all_rows_wildcard())
                .map(|_| serde_json::json!({})),
        },
        column_names: (!f.column_names().is_empty()).then(|| f.column_names().to_vec()),
        column_wildcard: f.column_wildcard().map(|w| ColumnWildcard {
            excluded_column_names: w.excluded_column_names().to_vec(),
        }),
    }
}

pub(super) fn assigned(
    pairs: &[lf::LfTagPair],
    inherited_from: Option<String>,
) -> Vec<AssignedTag> {
    pairs
        .iter()
        .flat_map(|p| {
            let from = inherited_from.clone();
            p.tag_values().iter().map(move |v| AssignedTag {
                tag_key: p.tag_key().to_string(),
                tag_value: v.clone(),
                inherited_from: from.clone(),
            })
        })
        .collect()
}
