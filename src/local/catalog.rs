//! The Glue catalog on the local lake: databases, tables (stored as their Glue JSON), and
//! security configurations. Lake admins change it; other principals see the tables Lake
//! Formation lets them describe, with the columns it lets them select.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::authorizer::Call;
use super::{Caller, Lake, not_found, now, parse_ts, ts};
use crate::service::access::Resource;
use crate::service::catalog::{Catalog, Database, SecurityConfiguration, Table};
use crate::service::{Code, Principal, Result, ServiceError};

/// Glue's rule for database and table names: lowercase letters, digits, `_` and `-`.
pub(super) fn check_catalog_name(kind: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ServiceError::new(
            Code::InvalidArgument,
            format!(
                "the {kind} name {name:?} is not valid: use lowercase letters, digits, _ and -"
            ),
        ))
    }
}

impl Lake {
    pub(super) fn database_exists(&self, tx: &Transaction, name: &str) -> Result<()> {
        tx.query_row(
            "SELECT 1 FROM databases WHERE name = ?1",
            params![name],
            |_| Ok(()),
        )
        .optional()?
        .ok_or_else(|| not_found(format!("Database {name} not found.")))
    }

    pub(super) fn table(
        &self,
        tx: &Transaction,
        database: &str,
        name: &str,
    ) -> Result<Option<Table>> {
        let text: Option<String> = tx
            .query_row(
                "SELECT definition FROM catalog_tables WHERE database = ?1 AND name = ?2",
                params![database, name],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| ServiceError::internal(format!("table {database}.{name}: {e}")))
        })
        .transpose()
    }

    /// A table as Lake Formation describes it to `caller`: not at all without a permission on
    /// it, and with only the columns the caller may select (all of them for DESCRIBE alone, as
    /// Lake Formation shows a table's shape to those who may describe it).
    fn as_described_to(
        &self,
        tx: &Transaction,
        caller: &Caller,
        table: Table,
    ) -> Result<Option<Table>> {
        if caller.admin {
            return Ok(Some(table));
        }
        let view = self.table_view(tx, caller, &table)?;
        if !view.can_describe() {
            return Ok(None);
        }
        if !view.can_select() {
            return Ok(Some(table));
        }
        let visible = view.visible_columns();
        let mut table = table;
        table
            .storage_descriptor
            .columns
            .retain(|c| visible.contains(&c.name));
        table.partition_keys.retain(|c| visible.contains(&c.name));
        Ok(Some(table))
    }

    /// Lake Formation's filter on databases, as AWS applies it on top of IAM: a non-admin sees a
    /// database only if it holds some permission on it or on one of its tables.
    fn database_visible_to(
        &self,
        tx: &Transaction,
        caller: &Caller,
        database: &str,
    ) -> Result<bool> {
        if caller.admin {
            return Ok(true);
        }
        let on_database = self
            .grants_of(tx, &caller.name)?
            .iter()
            .any(|(r, _)| matches!(r, Resource::Database { name } if name == database));
        if on_database {
            return Ok(true);
        }
        let mut stmt = tx.prepare("SELECT definition FROM catalog_tables WHERE database = ?1")?;
        let texts: Vec<String> = stmt
            .query_map(params![database], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for text in texts {
            let table: Table = serde_json::from_str(&text)
                .map_err(|e| ServiceError::internal(format!("a table of {database}: {e}")))?;
            let view = self.table_view(tx, caller, &table)?;
            if view.can_describe() || view.can_select() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Creates or replaces a table (jobs and crawlers write through here).
    pub(super) fn put_table(&self, tx: &Transaction, table: &Table) -> Result<()> {
        self.database_exists(tx, &table.database_name)?;
        check_catalog_name("table", &table.name)?;
        let text = serde_json::to_string(table).expect("tables serialize");
        tx.execute(
            "INSERT INTO catalog_tables(database, name, definition) VALUES (?1, ?2, ?3)
             ON CONFLICT(database, name) DO UPDATE SET definition = excluded.definition",
            params![table.database_name, table.name, text],
        )?;
        Ok(())
    }

    /// The key ARN a security configuration names.
    pub(super) fn security_configuration(
        &self,
        tx: &Transaction,
        name: &str,
    ) -> Result<SecurityConfiguration> {
        tx.query_row(
            "SELECT name, kms_key_id, created FROM security_configurations WHERE name = ?1",
            params![name],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?
        .map(|(name, key, created)| SecurityConfiguration {
            name,
            kms_key_arn: self.key_arn(&key),
            created_time_stamp: parse_ts(&created),
        })
        .ok_or_else(|| not_found(format!("Security configuration {name} not found.")))
    }
}

#[async_trait]
impl Catalog for Lake {
    async fn create_database(
        &self,
        by: &Principal,
        name: &str,
        description: Option<&str>,
    ) -> Result<Database> {
        self.audited(by, Call::new("glue", "CreateDatabase", name).on(self.glue_arn(&format!("database/{name}"))), |tx, _| {
            check_catalog_name("database", name)?;
            let created = ts(now());
            let n = tx.execute(
                "INSERT INTO databases(name, description, created) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![name, description, created],
            )?;
            if n == 0 {
                return Err(ServiceError::new(Code::AlreadyExistsException, format!("Database {name} already exists.")));
            }
            let db = Database {
                name: name.into(),
                description: description.map(String::from),
                location_uri: None,
                create_time: parse_ts(&created),
            };
            Ok((db, json!({})))
        })
    }

    async fn get_databases(&self, by: &Principal) -> Result<Vec<Database>> {
        let call = Call::new("glue", "GetDatabases", "*").on(self.glue_arn("catalog"));
        self.reading(by, call, |tx, caller| {
            let mut stmt = tx.prepare(
                "SELECT name, description, location, created FROM databases ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Database {
                    name: r.get(0)?,
                    description: r.get(1)?,
                    location_uri: r.get(2)?,
                    create_time: parse_ts(&r.get::<_, String>(3)?),
                })
            })?;
            let all: Vec<Database> = rows.collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::with_capacity(all.len());
            for db in all {
                if self.database_visible_to(tx, caller, &db.name)? {
                    out.push(db);
                }
            }
            Ok(out)
        })
    }

    async fn get_tables(&self, by: &Principal, database: &str) -> Result<Vec<Table>> {
        self.reading(
            by,
            Call::new("glue", "GetTables", database)
                .on(self.glue_arn(&format!("database/{database}"))),
            |tx, caller| {
                self.database_exists(tx, database)?;
                let mut stmt = tx.prepare(
                    "SELECT definition FROM catalog_tables WHERE database = ?1 ORDER BY name",
                )?;
                let rows = stmt.query_map(params![database], |r| r.get::<_, String>(0))?;
                let mut out = Vec::new();
                for text in rows {
                    let table: Table = serde_json::from_str(&text?).map_err(|e| {
                        ServiceError::internal(format!("a table of {database}: {e}"))
                    })?;
                    if let Some(t) = self.as_described_to(tx, caller, table)? {
                        out.push(t);
                    }
                }
                Ok(out)
            },
        )
    }

    async fn get_table(&self, by: &Principal, database: &str, name: &str) -> Result<Table> {
        self.reading(
            by,
            Call::new("glue", "GetTable", format!("{database}.{name}"))
                .on(self.glue_arn(&format!("table/{database}/{name}"))),
            |tx, caller| {
                self.database_exists(tx, database)?;
                let missing =
                    || not_found(format!("Table {name} not found in database {database}."));
                let table = self.table(tx, database, name)?.ok_or_else(missing)?;
                self.as_described_to(tx, caller, table)?.ok_or_else(missing)
            },
        )
    }

    async fn delete_table(&self, by: &Principal, database: &str, name: &str) -> Result<()> {
        self.audited(
            by,
            Call::new("glue", "DeleteTable", format!("{database}.{name}"))
                .on(self.glue_arn(&format!("table/{database}/{name}"))),
            |tx, _| {
                let n = tx.execute(
                    "DELETE FROM catalog_tables WHERE database = ?1 AND name = ?2",
                    params![database, name],
                )?;
                if n == 0 {
                    return Err(not_found(format!(
                        "Table {name} not found in database {database}."
                    )));
                }
                Ok(((), json!({})))
            },
        )
    }

    async fn create_security_configuration(
        &self,
        by: &Principal,
        name: &str,
        kms_key: &str,
    ) -> Result<SecurityConfiguration> {
        self.audited(by, Call::new("glue", "CreateSecurityConfiguration", name), |tx, _| {
            if name.is_empty() || name.len() > 255 {
                return Err(ServiceError::new(Code::InvalidArgument, "a security configuration needs a name"));
            }
            let key = self.resolve_key(tx, kms_key)?;
            let n = tx.execute(
                "INSERT INTO security_configurations(name, kms_key_id, created) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![name, key.id, ts(now())],
            )?;
            if n == 0 {
                return Err(ServiceError::new(
                    Code::AlreadyExistsException,
                    format!("Security configuration {name} already exists."),
                ));
            }
            Ok((self.security_configuration(tx, name)?, json!({"KeyId": key.id})))
        })
    }

    async fn get_security_configurations(
        &self,
        by: &Principal,
    ) -> Result<Vec<SecurityConfiguration>> {
        self.reading(
            by,
            Call::new("glue", "GetSecurityConfigurations", "*"),
            |tx, _| {
                let names: Vec<String> = tx
                    .prepare("SELECT name FROM security_configurations ORDER BY name")?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                names
                    .iter()
                    .map(|n| self.security_configuration(tx, n))
                    .collect()
            },
        )
    }
}
