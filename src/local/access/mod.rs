//! Lake Formation on the local lake: registered locations, grants stored in one canonical form,
//! LF-tags, data cells filters and `explain`. What a principal may see of a table is computed in
//! `view`; queries (`athena`), the catalog and `explain` all take it from there.

mod resources;
pub mod rowfilter;
mod tags;
pub mod view;

use async_trait::async_trait;
use rusqlite::params;
use serde_json::json;

use super::authorizer::Call;
use super::{Lake, not_found, now, ts};
use crate::service::access::{
    Access, AssignedTag, ColumnWildcard, DataCellsFilter, DataLakeSettings, Explanation, Grant,
    LfTagDefinition, Permission, Resource, ResourceInfo, RowFilter,
};
use crate::service::view::{any_of, column_decisions, disclosed_columns};
use crate::service::{Code, Principal, Result, ServiceError};
use resources::table_columns;

pub(super) fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::new(Code::InvalidInputException, message)
}

/// Grants are stored as the JSON of their canonical resource.
pub(in crate::local) trait Stored: Sized {
    fn load(text: &str) -> Result<Self>;
    fn store(&self) -> String;
}

impl Stored for Resource {
    fn load(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| ServiceError::internal(format!("a stored grant resource: {e}")))
    }
    fn store(&self) -> String {
        serde_json::to_string(self).expect("resources serialize")
    }
}

pub(in crate::local) use crate::service::access::location_arn;

/// A location as its bucket and its key prefix (empty, or ending in `/`).
pub(in crate::local) fn bucket_and_prefix(location: &str) -> Result<(String, String)> {
    let arn = location_arn(location)?;
    let path = arn.trim_start_matches("arn:aws:s3:::");
    let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    Ok((bucket.to_string(), prefix))
}

fn grant_detail(grant: &Grant, resource: &Resource) -> serde_json::Value {
    json!({
        "Principal": grant.principal(),
        "Resource": resource,
        "Permissions": grant.permissions,
        "PermissionsWithGrantOption": grant.permissions_with_grant_option,
    })
}

#[async_trait]
impl Access for Lake {
    async fn get_data_lake_settings(&self, by: &Principal) -> Result<DataLakeSettings> {
        self.data_lake_settings(by)
    }

    async fn put_data_lake_admins(&self, by: &Principal, admins: &[String]) -> Result<()> {
        self.set_data_lake_admins(by, admins)
    }

    async fn register_resource(&self, by: &Principal, location: &str, role: &str) -> Result<()> {
        let arn = location_arn(location)?;
        self.audited(
            by,
            Call::new("lakeformation", "RegisterResource", &arn),
            |tx, _| {
                let bucket = arn
                    .trim_start_matches("arn:aws:s3:::")
                    .split('/')
                    .next()
                    .unwrap_or_default();
                self.bucket_row(tx, bucket)?;
                self.caller(tx, &Principal::new(role))?;
                if self.registered_location(tx, &arn)?.is_some() {
                    return Err(ServiceError::new(
                        Code::AlreadyExistsException,
                        format!("the location {location} is already registered"),
                    ));
                }
                tx.execute(
                    "INSERT INTO lf_locations(location, role, registered) VALUES (?1, ?2, ?3)",
                    params![arn, role, ts(now())],
                )?;
                Ok(((), json!({"RoleArn": self.user_arn(role)})))
            },
        )
    }

    async fn list_resources(&self, by: &Principal) -> Result<Vec<ResourceInfo>> {
        self.reading(
            by,
            Call::new("lakeformation", "ListResources", "*"),
            |tx, _| self.registered_locations(tx),
        )
    }

    async fn grant_permissions(&self, by: &Principal, grant: Grant) -> Result<()> {
        let what = grant.resource.describe();
        self.audited(by, Call::new("lakeformation", "GrantPermissions", &what), |tx, caller| {
            let resource = self.check_grant_request(tx, caller, &grant)?;
            let text = resource.store();
            let with_option = &grant.permissions_with_grant_option;
            for p in grant.permissions.iter().chain(with_option) {
                let option = with_option.contains(p);
                tx.execute(
                    "INSERT INTO lf_permissions(principal, resource, permission, grant_option, granted_by, granted)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(principal, resource, permission)
                     DO UPDATE SET grant_option = max(grant_option, excluded.grant_option)",
                    params![grant.principal(), text, p.as_str(), option, caller.name, ts(now())],
                )?;
            }
            Ok(((), grant_detail(&grant, &resource)))
        })
    }

    async fn revoke_permissions(&self, by: &Principal, grant: Grant) -> Result<()> {
        let what = grant.resource.describe();
        self.audited(by, Call::new("lakeformation", "RevokePermissions", &what), |tx, caller| {
            let resource = self.check_grant_request(tx, caller, &grant)?;
            let text = resource.store();
            for p in &grant.permissions {
                let n = tx.execute(
                    "DELETE FROM lf_permissions WHERE principal = ?1 AND resource = ?2 AND permission = ?3",
                    params![grant.principal(), text, p.as_str()],
                )?;
                if n == 0 {
                    return Err(invalid(format!(
                        "{} holds no {} on {}",
                        grant.principal(),
                        p.as_str(),
                        resource.describe()
                    )));
                }
            }
            // Revoking only the grant option leaves the permission itself.
            for p in &grant.permissions_with_grant_option {
                if grant.permissions.contains(p) {
                    continue;
                }
                tx.execute(
                    "UPDATE lf_permissions SET grant_option = 0 WHERE principal = ?1 AND resource = ?2 AND permission = ?3",
                    params![grant.principal(), text, p.as_str()],
                )?;
            }
            Ok(((), grant_detail(&grant, &resource)))
        })
    }

    async fn list_permissions(
        &self,
        by: &Principal,
        principal: Option<&str>,
        table: Option<(&str, &str)>,
    ) -> Result<Vec<Grant>> {
        self.reading(
            by,
            Call::new("lakeformation", "ListPermissions", "*"),
            |tx, caller| {
                if !caller.admin && principal.is_some_and(|p| p != caller.name) {
                    return Err(ServiceError::denied(format!(
                        "{} may list only its own permissions (lake admins may list anyone's)",
                        caller.name
                    )));
                }
                let only = if caller.admin {
                    principal
                } else {
                    Some(caller.name.as_str())
                };
                let mut stmt = tx.prepare(
                    "SELECT principal, resource, permission, grant_option FROM lf_permissions
                 ORDER BY principal, resource, permission",
                )?;
                let rows: Vec<(String, String, String, bool)> = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let mut out: Vec<Grant> = Vec::new();
                for (who, text, perm, option) in rows {
                    if only.is_some_and(|p| p != who) {
                        continue;
                    }
                    let resource = Resource::load(&text)?;
                    if let Some(t) = table
                        && resource.table_name() != Some(t)
                    {
                        continue;
                    }
                    let Some(p) = Permission::parse(&perm) else {
                        continue;
                    };
                    let grant = match out.last_mut() {
                        Some(g) if g.principal() == who && g.resource == resource => g,
                        _ => {
                            out.push(Grant::new(&who, resource, Vec::new()));
                            out.last_mut().expect("just pushed")
                        }
                    };
                    grant.permissions.push(p);
                    if option {
                        grant.permissions_with_grant_option.push(p);
                    }
                }
                Ok(out)
            },
        )
    }

    async fn create_lf_tag(&self, by: &Principal, key: &str, values: &[String]) -> Result<()> {
        self.audited(by, Call::new("lakeformation", "CreateLFTag", key), |tx, _| {
            let ok = |s: &str| !s.is_empty() && s.len() <= 128 && !s.contains([',', ';', '=']);
            if !ok(key) || values.is_empty() || !values.iter().all(|v| ok(v)) {
                return Err(invalid(
                    "a tag needs a key and at least one value, each 1-128 characters without , ; or =",
                ));
            }
            let mut values = values.to_vec();
            values.sort();
            values.dedup();
            let n = tx.execute(
                "INSERT OR IGNORE INTO lf_tags(tag_key, tag_values) VALUES (?1, ?2)",
                params![key, serde_json::to_string(&values).expect("strings serialize")],
            )?;
            if n == 0 {
                return Err(ServiceError::new(
                    Code::AlreadyExistsException,
                    format!("the LF-tag {key} already exists"),
                ));
            }
            Ok(((), json!({"TagValues": values})))
        })
    }

    async fn list_lf_tags(&self, by: &Principal) -> Result<Vec<LfTagDefinition>> {
        self.reading(
            by,
            Call::new("lakeformation", "ListLFTags", "*"),
            |tx, _| {
                let mut stmt =
                    tx.prepare("SELECT tag_key, tag_values FROM lf_tags ORDER BY tag_key")?;
                let rows: Vec<(String, String)> = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                rows.into_iter()
                    .map(|(k, v)| {
                        Ok(LfTagDefinition {
                            tag_values: serde_json::from_str(&v)
                                .map_err(|e| ServiceError::internal(format!("tag {k}: {e}")))?,
                            tag_key: k,
                        })
                    })
                    .collect()
            },
        )
    }

    async fn add_lf_tags_to_resource(
        &self,
        by: &Principal,
        database: &str,
        table: Option<&str>,
        columns: &[String],
        tags: &[(String, String)],
    ) -> Result<()> {
        let what = match table {
            Some(t) => format!("{database}.{t}"),
            None => database.to_string(),
        };
        self.audited(by, Call::new("lakeformation", "AddLFTagsToResource", &what), |tx, _| {
            if tags.is_empty() {
                return Err(invalid("name at least one tag (K=V)"));
            }
            let cols = match table {
                Some(t) => {
                    let table = self.table_or_not_found(tx, database, t)?;
                    if columns.is_empty() {
                        vec![String::new()]
                    } else {
                        table_columns(&table, columns)?
                    }
                }
                None if !columns.is_empty() => {
                    return Err(invalid("columns are tagged on a table: add --table DB.T"));
                }
                None => {
                    self.database_exists(tx, database)?;
                    vec![String::new()]
                }
            };
            for (k, v) in tags {
                let allowed = self.lf_tag_values(tx, k)?;
                if !allowed.contains(v) {
                    return Err(invalid(format!(
                        "the tag {k} has no value {v:?} (its values: {})",
                        allowed.join(", ")
                    )));
                }
                for c in &cols {
                    tx.execute(
                        "INSERT INTO lf_tag_assignments(database, tbl, col, tag_key, tag_value)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT(database, tbl, col, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
                        params![database, table.unwrap_or(""), c, k, v],
                    )?;
                }
            }
            Ok(((), json!({"Columns": columns, "LFTags": tags.iter().map(|(k, v)| json!({"TagKey": k, "TagValues": [v]})).collect::<Vec<_>>()})))
        })
    }

    async fn get_resource_lf_tags(
        &self,
        by: &Principal,
        database: &str,
        table: &str,
    ) -> Result<Vec<(String, Vec<AssignedTag>)>> {
        self.reading(
            by,
            Call::new(
                "lakeformation",
                "GetResourceLFTags",
                format!("{database}.{table}"),
            ),
            |tx, caller| {
                // An unknown database, an unknown table and a table the caller holds nothing
                // on answer alike to a non-admin.
                let unknown =
                    || not_found(format!("Table {table} not found in database {database}."));
                let t = match self.table_or_not_found(tx, database, table) {
                    Ok(t) => t,
                    Err(_) if !caller.admin => return Err(unknown()),
                    Err(e) => return Err(e),
                };
                let view = self.table_view(tx, caller, &t)?;
                if !view.can_describe() {
                    return Err(unknown());
                }
                let visible = view.visible_columns();
                Ok(tags::describe(tx, &t)?
                    .into_iter()
                    .filter(|(c, _)| caller.admin || c.is_empty() || visible.contains(c))
                    .collect())
            },
        )
    }

    async fn create_data_cells_filter(
        &self,
        by: &Principal,
        filter: DataCellsFilter,
    ) -> Result<()> {
        let what = format!(
            "{}.{}:{}",
            filter.database_name, filter.table_name, filter.name
        );
        self.audited(by, Call::new("lakeformation", "CreateDataCellsFilter", &what), |tx, _| {
            let mut filter = filter;
            if filter.name.is_empty() || filter.name.len() > 255 {
                return Err(invalid("a data cells filter needs a name of 1-255 characters"));
            }
            let table = self.table_or_not_found(tx, &filter.database_name, &filter.table_name)?;
            let all = table.column_names();
            match filter.row_filter.filter_expression.as_deref().map(str::trim) {
                None | Some("") => {
                    filter.row_filter = RowFilter {
                        filter_expression: None,
                        all_rows_wildcard: Some(json!({})),
                    };
                }
                Some(text) => {
                    rowfilter::check(text, &all)?;
                }
            }
            match (&filter.column_names, &filter.column_wildcard) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "give either the columns to include or those to exclude, not both",
                    ));
                }
                (Some(cols), None) => {
                    if cols.is_empty() {
                        return Err(invalid("name at least one column"));
                    }
                    filter.column_names = Some(table_columns(&table, cols)?);
                }
                (None, Some(w)) => {
                    filter.column_wildcard = Some(ColumnWildcard {
                        excluded_column_names: table_columns(&table, &w.excluded_column_names)?,
                    });
                }
                (None, None) => {
                    filter.column_wildcard = Some(ColumnWildcard {
                        excluded_column_names: Vec::new(),
                    });
                }
            }
            filter.table_catalog_id = self.header.account_id.clone();
            let n = tx.execute(
                "INSERT OR IGNORE INTO lf_data_cells_filters(database, tbl, name, definition) VALUES (?1, ?2, ?3, ?4)",
                params![
                    filter.database_name,
                    filter.table_name,
                    filter.name,
                    serde_json::to_string(&filter).expect("filters serialize")
                ],
            )?;
            if n == 0 {
                return Err(ServiceError::new(
                    Code::AlreadyExistsException,
                    format!("a data cells filter {} already exists on {}.{}", filter.name, filter.database_name, filter.table_name),
                ));
            }
            Ok(((), json!(filter)))
        })
    }

    async fn list_data_cells_filters(
        &self,
        by: &Principal,
        table: Option<(&str, &str)>,
    ) -> Result<Vec<DataCellsFilter>> {
        self.reading(by, Call::new("lakeformation", "ListDataCellsFilter", "*"), |tx, _| {
            let mut stmt = tx.prepare(
                "SELECT database, tbl, definition FROM lf_data_cells_filters ORDER BY database, tbl, name",
            )?;
            let rows: Vec<(String, String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .filter(|(d, t, _)| table.is_none_or(|(td, tt)| td == d && tt == t))
                .map(|(_, _, text)| {
                    serde_json::from_str(&text)
                        .map_err(|e| ServiceError::internal(format!("a data cells filter: {e}")))
                })
                .collect()
        })
    }

    async fn delete_data_cells_filter(
        &self,
        by: &Principal,
        database: &str,
        table: &str,
        name: &str,
    ) -> Result<()> {
        let what = format!("{database}.{table}:{name}");
        self.audited(
            by,
            Call::new("lakeformation", "DeleteDataCellsFilter", &what),
            |tx, _| {
                let n = tx.execute(
                "DELETE FROM lf_data_cells_filters WHERE database = ?1 AND tbl = ?2 AND name = ?3",
                params![database, table, name],
            )?;
                if n == 0 {
                    return Err(not_found(format!(
                        "data cells filter {name} not found on {database}.{table}"
                    )));
                }
                // Grants through the filter go with it.
                let resource = Resource::DataCellsFilter {
                    database_name: database.into(),
                    table_name: table.into(),
                    name: name.into(),
                };
                let revoked = tx.execute(
                    "DELETE FROM lf_permissions WHERE resource = ?1",
                    params![resource.store()],
                )?;
                Ok(((), json!({"GrantsRevoked": revoked})))
            },
        )
    }

    async fn explain(
        &self,
        by: &Principal,
        principal: &str,
        database: &str,
        table: &str,
    ) -> Result<Explanation> {
        self.reading(
            by,
            Call::new("lakeformation", "Explain", format!("{database}.{table}"))
                // Explaining is reading one's own (or, for an admin, anyone's) permissions.
                .action("lakeformation:ListPermissions"),
            |tx, caller| {
                if !caller.admin && caller.name != principal {
                    return Err(ServiceError::denied(format!(
                        "{} may explain only its own access (lake admins may explain anyone's)",
                        caller.name
                    )));
                }
                let subject = self.caller(tx, &Principal::new(principal))?;
                // To a non-admin, a table it holds nothing on answers exactly as one that does
                // not exist, so explain is no existence oracle.
                let unknown =
                    || not_found(format!("Table {table} not found in database {database}."));
                let t = match self.table_or_not_found(tx, database, table) {
                    Ok(t) => t,
                    Err(_) if !caller.admin => return Err(unknown()),
                    Err(e) => return Err(e),
                };
                let view = self.table_view(tx, &subject, &t)?;
                if !caller.admin && !view.can_describe() {
                    return Err(unknown());
                }
                let (columns, hidden_columns) = disclosed_columns(
                    &view,
                    column_decisions(&view, principal, database, table),
                    caller.admin,
                );
                let reader = self.data_reader(tx, &subject, &t)?;
                let iam_decisions = self.query_decisions(&subject, &t, &reader);
                Ok(Explanation {
                    principal: principal.into(),
                    table: format!("{database}.{table}"),
                    columns,
                    row_filter: view.rows().filter(|f| !f.is_empty()).map(|f| any_of(&f)),
                    keys: self.explain_keys(tx, &reader, &t)?,
                    data_read_as: reader,
                    hidden_columns,
                    iam_decisions,
                })
            },
        )
    }
}
