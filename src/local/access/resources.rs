//! What grants name, checked and put in canonical form: databases, tables, columns, registered
//! locations, tag expressions and data cells filters; who may grant what; who reads a table's
//! objects for a query and whether that reader may use their keys.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{bucket_and_prefix, invalid, location_arn};
use crate::local::{Caller, Lake, not_found, parse_ts};
use crate::service::access::{
    ColumnWildcard, DataCellsFilter, Grant, KeyDecision, LfTag, Permission, Resource, ResourceInfo,
};
use crate::service::catalog::Table;
use crate::service::{Principal, Result, ServiceError};

/// Whether `inner` lies at or under `outer` (both location ARNs).
pub(super) fn within(inner: &str, outer: &str) -> bool {
    inner == outer || inner.starts_with(&format!("{outer}/"))
}

impl Lake {
    pub(super) fn table_or_not_found(
        &self,
        tx: &Transaction,
        db: &str,
        name: &str,
    ) -> Result<Table> {
        self.database_exists(tx, db)?;
        self.table(tx, db, name)?
            .ok_or_else(|| not_found(format!("Table {name} not found in database {db}.")))
    }

    /// Checks that everything a resource names exists, and puts it in canonical form: column
    /// lists sorted and spelled as the table spells them, an empty exclusion list read as the
    /// whole table, tag expressions sorted.
    pub(super) fn canonical(&self, tx: &Transaction, resource: Resource) -> Result<Resource> {
        Ok(match resource {
            Resource::Catalog {} => Resource::Catalog {},
            Resource::Database { name } => {
                self.database_exists(tx, &name)?;
                Resource::Database { name }
            }
            Resource::Table {
                database_name,
                name,
            } => {
                self.table_or_not_found(tx, &database_name, &name)?;
                Resource::Table {
                    database_name,
                    name,
                }
            }
            Resource::TableWithColumns {
                database_name,
                name,
                column_names,
                column_wildcard,
            } => {
                let table = self.table_or_not_found(tx, &database_name, &name)?;
                match (column_names, column_wildcard) {
                    (Some(cols), None) => {
                        if cols.is_empty() {
                            return Err(invalid("name at least one column"));
                        }
                        Resource::TableWithColumns {
                            column_names: Some(table_columns(&table, &cols)?),
                            column_wildcard: None,
                            database_name,
                            name,
                        }
                    }
                    (None, Some(w)) if w.excluded_column_names.is_empty() => Resource::Table {
                        database_name,
                        name,
                    },
                    (None, Some(w)) => Resource::TableWithColumns {
                        column_names: None,
                        column_wildcard: Some(ColumnWildcard {
                            excluded_column_names: table_columns(&table, &w.excluded_column_names)?,
                        }),
                        database_name,
                        name,
                    },
                    (None, None) => Resource::Table {
                        database_name,
                        name,
                    },
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            "give either the columns to include or those to exclude, not both",
                        ));
                    }
                }
            }
            Resource::DataLocation { resource_arn } => {
                let arn = location_arn(&resource_arn)?;
                if self.registered_location(tx, &arn)?.is_none() {
                    return Err(not_found(format!(
                        "the location {resource_arn} is not registered; register it with `lakeformation register-resource`"
                    )));
                }
                Resource::DataLocation { resource_arn: arn }
            }
            Resource::LfTagPolicy { expression, .. } => {
                if expression.is_empty() {
                    return Err(invalid("a tag expression needs at least one key"));
                }
                let mut out: Vec<LfTag> = Vec::new();
                for t in expression {
                    let allowed = self.lf_tag_values(tx, &t.tag_key)?;
                    if t.tag_values.is_empty() {
                        return Err(invalid(format!("the tag {} needs a value", t.tag_key)));
                    }
                    for v in &t.tag_values {
                        if !allowed.contains(v) {
                            return Err(invalid(format!(
                                "the tag {} has no value {v:?} (its values: {})",
                                t.tag_key,
                                allowed.join(", ")
                            )));
                        }
                    }
                    if out.iter().any(|o| o.tag_key == t.tag_key) {
                        return Err(invalid(format!(
                            "the tag {} appears twice; list its values once (K=V1,V2)",
                            t.tag_key
                        )));
                    }
                    let mut values = t.tag_values;
                    values.sort();
                    values.dedup();
                    out.push(LfTag {
                        tag_key: t.tag_key,
                        tag_values: values,
                    });
                }
                out.sort_by(|a, b| a.tag_key.cmp(&b.tag_key));
                Resource::LfTagPolicy {
                    resource_type: "TABLE".into(),
                    expression: out,
                }
            }
            Resource::DataCellsFilter {
                database_name,
                table_name,
                name,
            } => {
                self.table_or_not_found(tx, &database_name, &table_name)?;
                if self
                    .data_cells_filter(tx, &database_name, &table_name, &name)?
                    .is_none()
                {
                    return Err(not_found(format!(
                        "data cells filter {name} not found on {database_name}.{table_name}"
                    )));
                }
                Resource::DataCellsFilter {
                    database_name,
                    table_name,
                    name,
                }
            }
        })
    }

    pub(super) fn registered_location(
        &self,
        tx: &Transaction,
        arn: &str,
    ) -> Result<Option<String>> {
        Ok(tx
            .query_row(
                "SELECT role FROM lf_locations WHERE location = ?1",
                params![arn],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The registered location that covers `location` (the most specific), and its role.
    pub(in crate::local) fn covering_location(
        &self,
        tx: &Transaction,
        location: &str,
    ) -> Result<Option<(String, String)>> {
        let arn = location_arn(location)?;
        let mut stmt = tx.prepare("SELECT location, role FROM lf_locations")?;
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .into_iter()
            .filter(|(l, _)| within(&arn, l))
            .max_by_key(|(l, _)| l.len()))
    }

    /// A job or crawler may write a table over a registered location only with
    /// DATA_LOCATION_ACCESS on it (or a covering one). Unregistered locations are IAM's alone.
    pub(in crate::local) fn check_location_write(
        &self,
        tx: &Transaction,
        writer: &Caller,
        location: &str,
    ) -> Result<()> {
        let Some((registered, _)) = self.covering_location(tx, location)? else {
            return Ok(());
        };
        if writer.admin {
            return Ok(());
        }
        let target = location_arn(location)?;
        let held = self
            .grants_of(tx, &writer.name)?
            .into_iter()
            .any(|(r, perms)| {
                matches!(&r, Resource::DataLocation { resource_arn } if within(&target, resource_arn))
                    && perms.iter().any(|(p, _)| *p == Permission::DataLocationAccess)
            });
        if held {
            Ok(())
        } else {
            Err(ServiceError::denied(format!(
                "{} has no DATA_LOCATION_ACCESS on {registered}, a location registered with Lake Formation; grant it with `lakeformation grant-permissions --principal {} --permissions DATA_LOCATION_ACCESS --data-location {}`",
                writer.name,
                writer.name,
                registered.replace("arn:aws:s3:::", "s3://")
            )))
        }
    }

    pub(super) fn lf_tag_values(&self, tx: &Transaction, key: &str) -> Result<Vec<String>> {
        let text: Option<String> = tx
            .query_row(
                "SELECT tag_values FROM lf_tags WHERE tag_key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?;
        let text = text.ok_or_else(|| {
            not_found(format!(
                "the LF-tag {key} does not exist; create it with `lakeformation create-lf-tag`"
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| ServiceError::internal(format!("tag {key}: {e}")))
    }

    pub(in crate::local) fn data_cells_filter(
        &self,
        tx: &Transaction,
        db: &str,
        table: &str,
        name: &str,
    ) -> Result<Option<DataCellsFilter>> {
        let text: Option<String> = tx
            .query_row(
                "SELECT definition FROM lf_data_cells_filters WHERE database = ?1 AND tbl = ?2 AND name = ?3",
                params![db, table, name],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| ServiceError::internal(format!("data cells filter {name}: {e}")))
        })
        .transpose()
    }

    /// Whether `caller` may grant or revoke `p` on `resource`: admins may, and so may holders
    /// of `p` (or ALL) with the grant option on it or on the table it narrows.
    pub(super) fn may_grant(
        &self,
        tx: &Transaction,
        caller: &Caller,
        resource: &Resource,
        p: Permission,
    ) -> Result<bool> {
        if caller.admin {
            return Ok(true);
        }
        let parent = resource.table_name().map(|(d, t)| Resource::table(d, t));
        Ok(self
            .grants_of(tx, &caller.name)?
            .into_iter()
            .any(|(r, perms)| {
                (r == *resource || Some(&r) == parent.as_ref())
                    && perms
                        .iter()
                        .any(|(held, option)| *option && (*held == p || *held == Permission::All))
            }))
    }

    pub(super) fn check_grant_request(
        &self,
        tx: &Transaction,
        caller: &Caller,
        grant: &Grant,
    ) -> Result<Resource> {
        let principal = grant.principal();
        let exists: bool = tx
            .query_row(
                "SELECT 1 FROM principals WHERE name = ?1",
                params![principal],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if !exists {
            return Err(invalid(format!(
                "the principal {principal:?} does not exist; create it with `iam create-principal`"
            )));
        }
        if grant.permissions.is_empty() && grant.permissions_with_grant_option.is_empty() {
            return Err(invalid("name at least one permission"));
        }
        let resource = self.canonical(tx, grant.resource.clone())?;
        for p in grant
            .permissions
            .iter()
            .chain(&grant.permissions_with_grant_option)
        {
            if !resource.permits(*p) {
                return Err(invalid(format!(
                    "{} does not apply to {}",
                    p.as_str(),
                    resource.describe()
                )));
            }
            if !self.may_grant(tx, caller, &resource, *p)? {
                return Err(ServiceError::denied(format!(
                    "{} may not grant {} on {}: that needs the grant option on it",
                    caller.name,
                    p.as_str(),
                    resource.describe()
                )));
            }
        }
        Ok(resource)
    }

    pub(super) fn registered_locations(&self, tx: &Transaction) -> Result<Vec<ResourceInfo>> {
        let mut stmt =
            tx.prepare("SELECT location, role, registered FROM lf_locations ORDER BY location")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ResourceInfo {
                    resource_arn: r.get(0)?,
                    role_arn: self.user_arn(&r.get::<_, String>(1)?),
                    last_modified: parse_ts(&r.get::<_, String>(2)?),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Who reads a table's objects for a query: the registered location's role, or the caller.
    pub(in crate::local) fn data_reader(
        &self,
        tx: &Transaction,
        caller: &Caller,
        table: &Table,
    ) -> Result<String> {
        Ok(
            match self.covering_location(tx, &table.storage_descriptor.location)? {
                Some((_, role)) => role,
                None => caller.name.clone(),
            },
        )
    }

    pub(super) fn explain_keys(
        &self,
        tx: &Transaction,
        reader: &str,
        table: &Table,
    ) -> Result<Vec<KeyDecision>> {
        let (bucket, prefix) = bucket_and_prefix(&table.storage_descriptor.location)?;
        let keys: Vec<String> = tx
            .prepare(
                "SELECT DISTINCT kms_key_id FROM objects WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2",
            )?
            .query_map(params![bucket, prefix], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let reader_caller = self.caller(tx, &Principal::new(reader))?;
        let mut out = Vec::new();
        for key in keys {
            let decision = self.resolve_key(tx, &key).and_then(|row| {
                self.authorize_key(&reader_caller, &row, "kms:Decrypt")?;
                self.check_usable(&row)
            });
            // Named as people name it: its alias, with the id.
            let alias: Option<String> = tx
                .query_row(
                    "SELECT name FROM aliases WHERE key_id = ?1 ORDER BY name LIMIT 1",
                    params![key],
                    |r| r.get(0),
                )
                .optional()?;
            out.push(match decision {
                Ok(()) => KeyDecision {
                    key_id: key,
                    alias,
                    usable: true,
                    reason: format!("{reader} may use it for kms:Decrypt and it is enabled"),
                },
                Err(e) => KeyDecision {
                    key_id: key,
                    alias,
                    usable: false,
                    reason: e.message,
                },
            });
        }
        Ok(out)
    }
}

/// The named columns as the table spells them, sorted; unknown names and `*` are refused.
pub(super) fn table_columns(table: &Table, names: &[String]) -> Result<Vec<String>> {
    let all: Vec<&str> = table
        .storage_descriptor
        .columns
        .iter()
        .chain(&table.partition_keys)
        .map(|c| c.name.as_str())
        .collect();
    let mut out = Vec::new();
    for n in names {
        let n = n.trim();
        if n == "*" {
            return Err(invalid(
                "a column list cannot mix names with the wildcard *: grant the table, or name the columns",
            ));
        }
        let found = all
            .iter()
            .find(|c| **c == n)
            .or_else(|| all.iter().find(|c| c.eq_ignore_ascii_case(n)))
            .ok_or_else(|| {
                invalid(format!(
                    "{}.{} has no column {n:?}",
                    table.database_name, table.name
                ))
            })?;
        out.push(found.to_string());
    }
    out.sort();
    out.dedup();
    Ok(out)
}
