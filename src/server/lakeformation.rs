//! Lake Formation over restJson1: grants, LF-tags, data cells filters, settings and registered
//! locations, each `POST /{Operation}` with its members in the JSON body. The service layer's
//! types already have Lake Formation's member names; what differs on the wire is that
//! principals are IAM ARNs (the lake stores names) and timestamps are epoch seconds.

use http::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::dispatch::{ApiRequest, Router};
use super::errors::{Protocol, service_error};
use super::paging::LAKE_FORMATION;
use super::rest_json::{self, body, page, to_value, with_token};
use crate::service::access::{
    AssignedTag, DataCellsFilter, DataLakePrincipal, Grant, LfTag, Permission, Resource,
};
use crate::service::{Code, Result, ServiceError};

/// Lake Formation's own "the request is wrong".
const INVALID: Code = Code::InvalidInputException;

pub async fn handle(router: &Router, request: &ApiRequest) -> Response<s3s::Body> {
    if request.method != http::Method::POST {
        return rest_json::no_such_operation("lakeformation", request);
    }
    let operation = request.path.trim_start_matches('/');
    match answer(router, request, operation).await {
        Ok(Some(value)) => rest_json::json(&value),
        Ok(None) => rest_json::no_such_operation("lakeformation", request),
        Err(e) => service_error(Protocol::RestJson, &e),
    }
}

/// A grant or revocation (`GrantPermissions`, `RevokePermissions`).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GrantRequest {
    principal: DataLakePrincipal,
    resource: Resource,
    permissions: Vec<Permission>,
    #[serde(default)]
    permissions_with_grant_option: Vec<Permission>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPermissionsRequest {
    principal: Option<DataLakePrincipal>,
    resource: Option<Resource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateLfTagRequest {
    tag_key: String,
    tag_values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResourceRequest {
    resource: Resource,
    #[serde(rename = "LFTags", default)]
    lf_tags: Vec<LfTag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SettingsRequest {
    data_lake_settings: Settings,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Settings {
    #[serde(default)]
    data_lake_admins: Vec<DataLakePrincipal>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RegisterRequest {
    resource_arn: String,
    role_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateFilterRequest {
    table_data: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListFiltersRequest {
    table: Option<TableRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableRef {
    database_name: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteFilterRequest {
    database_name: String,
    table_name: String,
    name: String,
}

/// The operation's answer, or `None` when the lake server has no such operation.
async fn answer(router: &Router, request: &ApiRequest, operation: &str) -> Result<Option<Value>> {
    let access = &router.services.access;
    let by = &request.principal;
    let names = Names(
        router
            .lake
            .user_arn_of("")
            .split(':')
            .nth(4)
            .unwrap_or_default()
            .to_string(),
    );
    let value = match operation {
        "GrantPermissions" | "RevokePermissions" => {
            let r: GrantRequest = body(request, INVALID)?;
            let grant = Grant {
                principal: names.name_of(&r.principal),
                resource: r.resource,
                permissions: r.permissions,
                permissions_with_grant_option: r.permissions_with_grant_option,
            };
            if operation == "GrantPermissions" {
                access.grant_permissions(by, grant).await?;
            } else {
                access.revoke_permissions(by, grant).await?;
            }
            json!({})
        }
        "ListPermissions" => {
            let r: ListPermissionsRequest = body(request, INVALID)?;
            let principal = r
                .principal
                .map(|p| names.name_of(&p).data_lake_principal_identifier);
            let table = r.resource.as_ref().and_then(Resource::table_name);
            let mut grants = access
                .list_permissions(by, principal.as_deref(), table)
                .await?;
            // The service filters by table; a catalog, database or location resource is
            // matched here.
            if let Some(resource) = r.resource.as_ref().filter(|r| r.table_name().is_none()) {
                grants.retain(|g| &g.resource == resource);
            }
            // A grant is one principal's permissions on one resource: that pair is its identity.
            let grants = grants
                .into_iter()
                .map(|mut g| {
                    g.principal = names.arn_of(&g.principal);
                    let value = to_value(&g)?;
                    let id = json!([value["Principal"], value["Resource"]]).to_string();
                    Ok((id, value))
                })
                .collect::<Result<Vec<_>>>()?;
            let listed = page(request, LAKE_FORMATION, grants, |(id, _)| id.as_str())?;
            let grants: Vec<Value> = listed.items.into_iter().map(|(_, g)| g).collect();
            with_token(
                json!({ "PrincipalResourcePermissions": grants }),
                LAKE_FORMATION,
                listed.next,
            )
        }
        "CreateLFTag" => {
            let r: CreateLfTagRequest = body(request, INVALID)?;
            access.create_lf_tag(by, &r.tag_key, &r.tag_values).await?;
            json!({})
        }
        "ListLFTags" => {
            let tags = access.list_lf_tags(by).await?;
            let listed = page(request, LAKE_FORMATION, tags, |t| t.tag_key.as_str())?;
            with_token(
                json!({ "LFTags": to_value(&listed.items)? }),
                LAKE_FORMATION,
                listed.next,
            )
        }
        "AddLFTagsToResource" => {
            let r: TagResourceRequest = body(request, INVALID)?;
            let (database, table, columns) = tagged_resource(&r.resource)?;
            let pairs: Vec<(String, String)> = r
                .lf_tags
                .iter()
                .flat_map(|t| t.tag_values.iter().map(|v| (t.tag_key.clone(), v.clone())))
                .collect();
            access
                .add_lf_tags_to_resource(by, database, table, columns, &pairs)
                .await?;
            json!({ "Failures": [] })
        }
        "GetResourceLFTags" => {
            let r: TagResourceRequest = body(request, INVALID)?;
            let (database, Some(table), _) = tagged_resource(&r.resource)? else {
                return Err(ServiceError::new(
                    INVALID,
                    "the lake server reads the LF-tags of a table (Resource.Table)",
                ));
            };
            resource_tags(access.get_resource_lf_tags(by, database, table).await?)
        }
        "GetDataLakeSettings" => {
            let settings = access.get_data_lake_settings(by).await?;
            let admins: Vec<_> = settings
                .data_lake_admins
                .iter()
                .map(|a| names.arn_of(a))
                .collect();
            json!({ "DataLakeSettings": { "DataLakeAdmins": to_value(&admins)? } })
        }
        "PutDataLakeSettings" => {
            let r: SettingsRequest = body(request, INVALID)?;
            let admins: Vec<String> = r
                .data_lake_settings
                .data_lake_admins
                .iter()
                .map(|a| names.name_of(a).data_lake_principal_identifier)
                .collect();
            access.put_data_lake_admins(by, &admins).await?;
            json!({})
        }
        "RegisterResource" => {
            let r: RegisterRequest = body(request, INVALID)?;
            let role = r.role_arn.ok_or_else(|| {
                ServiceError::new(
                    INVALID,
                    "the lake server registers a location with a RoleArn",
                )
            })?;
            access.register_resource(by, &r.resource_arn, &role).await?;
            json!({})
        }
        "ListResources" => {
            let all = access.list_resources(by).await?;
            let listed = page(request, LAKE_FORMATION, all, |r| r.resource_arn.as_str())?;
            let resources: Vec<Value> = listed
                .items
                .iter()
                .map(|r| {
                    json!({
                        "ResourceArn": r.resource_arn,
                        "RoleArn": r.role_arn,
                        // restJson1's default timestamp format: epoch seconds.
                        "LastModified": r.last_modified.timestamp(),
                    })
                })
                .collect();
            with_token(
                json!({ "ResourceInfoList": resources }),
                LAKE_FORMATION,
                listed.next,
            )
        }
        "CreateDataCellsFilter" => {
            let r: CreateFilterRequest = body(request, INVALID)?;
            let mut data = r.table_data;
            // The catalog id is optional on the wire; the lake has one catalog.
            if let Some(fields) = data.as_object_mut() {
                fields.entry("TableCatalogId").or_insert_with(|| {
                    json!(
                        router
                            .lake
                            .user_arn_of("")
                            .split(':')
                            .nth(4)
                            .unwrap_or_default()
                    )
                });
            }
            let filter: DataCellsFilter = serde_json::from_value(data).map_err(|e| {
                ServiceError::new(
                    INVALID,
                    format!("TableData is not a data cells filter: {e}"),
                )
            })?;
            access.create_data_cells_filter(by, filter).await?;
            json!({})
        }
        "ListDataCellsFilter" => {
            let r: ListFiltersRequest = body(request, INVALID)?;
            let table = r
                .table
                .as_ref()
                .map(|t| (t.database_name.as_str(), t.name.as_str()));
            let filters = access
                .list_data_cells_filters(by, table)
                .await?
                .into_iter()
                .map(|f| {
                    let id = json!([f.database_name, f.table_name, f.name]).to_string();
                    (id, f)
                })
                .collect();
            let listed = page(request, LAKE_FORMATION, filters, |(id, _)| id.as_str())?;
            let filters: Vec<DataCellsFilter> = listed.items.into_iter().map(|(_, f)| f).collect();
            with_token(
                json!({ "DataCellsFilters": to_value(&filters)? }),
                LAKE_FORMATION,
                listed.next,
            )
        }
        "DeleteDataCellsFilter" => {
            let r: DeleteFilterRequest = body(request, INVALID)?;
            access
                .delete_data_cells_filter(by, &r.database_name, &r.table_name, &r.name)
                .await?;
            json!({})
        }
        _ => return Ok(None),
    };
    Ok(Some(value))
}

/// Principals on the wire are IAM ARNs (`arn:aws:iam::ACCOUNT:user/NAME`); the lake names its
/// principals. The account is the lake's.
struct Names(String);

impl Names {
    fn name_of(&self, p: &DataLakePrincipal) -> DataLakePrincipal {
        p.as_name(&self.0)
    }

    fn arn_of(&self, p: &DataLakePrincipal) -> DataLakePrincipal {
        p.as_arn(&self.0)
    }
}

/// The database, table and columns an LF-tag request names.
fn tagged_resource(resource: &Resource) -> Result<(&str, Option<&str>, &[String])> {
    match resource {
        Resource::Database { name } => Ok((name.as_str(), None, &[])),
        Resource::Table {
            database_name,
            name,
        } => Ok((database_name.as_str(), Some(name.as_str()), &[])),
        Resource::TableWithColumns {
            database_name,
            name,
            column_names: Some(columns),
            ..
        } => Ok((
            database_name.as_str(),
            Some(name.as_str()),
            columns.as_slice(),
        )),
        other => Err(ServiceError::new(
            INVALID,
            format!(
                "LF-tags are on databases, tables and columns, not {}",
                other.describe()
            ),
        )),
    }
}

/// `GetResourceLFTags`' answer: the tags a table inherits from its database, its own, and
/// each column's, values grouped by key.
fn resource_tags(tags: Vec<(String, Vec<AssignedTag>)>) -> Value {
    fn pairs<'a>(tags: impl Iterator<Item = &'a AssignedTag>) -> Vec<Value> {
        let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
        for t in tags {
            match grouped.iter_mut().find(|(k, _)| *k == t.tag_key) {
                Some((_, values)) => values.push(t.tag_value.clone()),
                None => grouped.push((t.tag_key.clone(), vec![t.tag_value.clone()])),
            }
        }
        grouped
            .into_iter()
            .map(|(k, v)| json!({ "TagKey": k, "TagValues": v }))
            .collect()
    }
    let mut out = json!({ "LFTagOnDatabase": [], "LFTagsOnTable": [], "LFTagsOnColumns": [] });
    let mut columns = Vec::new();
    for (column, assigned) in &tags {
        if column.is_empty() {
            let from_db = |t: &&AssignedTag| {
                t.inherited_from
                    .as_deref()
                    .is_some_and(|f| f.starts_with("database"))
            };
            out["LFTagOnDatabase"] = json!(pairs(assigned.iter().filter(from_db)));
            out["LFTagsOnTable"] = json!(pairs(assigned.iter().filter(|t| !from_db(t))));
        } else {
            columns.push(json!({ "Name": column, "LFTags": pairs(assigned.iter()) }));
        }
    }
    out["LFTagsOnColumns"] = json!(columns);
    out
}
