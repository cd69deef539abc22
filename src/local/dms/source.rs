//! A task's source database: PostgreSQL (tokio-postgres, with the credentials a secret holds)
//! or a SQLite file. It lists the tables with their columns typed as DMS maps them, and streams
//! a table's rows out (PostgreSQL's COPY in its text format: the same text forms pgoutput
//! sends, so a full load and a change file convert values the same way). Errors say what failed
//! and where, with an AWS-style code, and never carry the password (it is also scrubbed from
//! anything the server says, in case a server echoes it).

use std::path::PathBuf;

use futures::StreamExt;
use serde::Deserialize;
use zeroize::Zeroize;

use super::values::{Cell, SourceColumn, postgres_type, sqlite_type};
use crate::service::dms::mapping::TableMappings;
use crate::service::secrets::SecretString;
use crate::service::{Code, Result, ServiceError};

/// DMS's secret shape for a database.
#[derive(Deserialize)]
struct SecretShape {
    username: String,
    password: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    port: Option<serde_json::Value>,
}

impl Drop for SecretShape {
    fn drop(&mut self) {
        self.password.zeroize();
    }
}

/// Where and as whom to connect to PostgreSQL.
pub struct PgParams {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: SecretString,
    /// The secret's name, for messages.
    pub secret_id: String,
}

impl PgParams {
    /// Reads DMS's JSON shape out of the secret; the endpoint's server and port win over the
    /// secret's.
    pub fn from_secret(
        secret_id: &str,
        value: &SecretString,
        server: Option<&str>,
        port: Option<u16>,
        database: &str,
    ) -> Result<PgParams> {
        let shape: SecretShape = serde_json::from_str(value.expose()).map_err(|_| {
            ServiceError::new(
                Code::InvalidParameterValueException,
                format!(
                    "the secret {secret_id} is not DMS's JSON shape {{\"username\",\"password\",\"host\",\"port\"}}"
                ),
            )
        })?;
        let host = server
            .map(str::to_string)
            .or_else(|| shape.host.clone())
            .ok_or_else(|| {
                ServiceError::new(
                    Code::InvalidParameterValueException,
                    format!("no server: neither --server-name nor the secret {secret_id}'s host"),
                )
            })?;
        let secret_port = match &shape.port {
            Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        Ok(PgParams {
            host,
            port: port.or(secret_port).unwrap_or(5432),
            database: database.to_string(),
            user: shape.username.clone(),
            password: SecretString::new(shape.password.clone()),
            secret_id: secret_id.to_string(),
        })
    }

    /// A message the server or the driver made, without the password in it.
    fn scrub(&self, text: String) -> String {
        let p = self.password.expose();
        if p.len() >= 3 && text.contains(p) {
            text.replace(p, "********")
        } else {
            text
        }
    }

    /// A driver error as the service's: the code says what went wrong, the message says where.
    pub fn error(&self, what: &str, e: &tokio_postgres::Error) -> ServiceError {
        let (code, detail) = match e.as_db_error() {
            Some(db) => {
                let code = match db.code().code() {
                    "28P01" | "28000" => Code::AccessDeniedFault,
                    "3D000" | "42P01" | "3F000" => Code::ResourceNotFoundFault,
                    "42501" => Code::AccessDeniedFault,
                    _ => Code::InvalidResourceStateFault,
                };
                (
                    code,
                    format!("{} (SQLSTATE {})", db.message(), db.code().code()),
                )
            }
            None => (Code::EndpointConnection, e.to_string()),
        };
        let detail = match code {
            Code::AccessDeniedFault if detail.contains("password") => format!(
                "{detail}: the credentials in secret {} were refused",
                self.secret_id
            ),
            _ => detail,
        };
        ServiceError::new(
            code,
            self.scrub(format!(
                "{what} on PostgreSQL {}:{} database {}: {detail}",
                self.host, self.port, self.database
            )),
        )
    }

    /// Connects, and sets the session up so values come out in the forms `values.rs` reads
    /// (UTC, ISO dates, hex bytea, floats that round-trip).
    pub async fn connect(&self) -> Result<tokio_postgres::Client> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .dbname(&self.database)
            .user(&self.user)
            .password(self.password.expose().as_bytes())
            .application_name("lakectl-dms")
            .connect_timeout(std::time::Duration::from_secs(10));
        // TLS is not negotiated yet: the connection is plain (see the note in ARCHITECTURE.md).
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| self.error("cannot connect", &e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
            .batch_execute(
                "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex'; \
                 SET extra_float_digits = 3; SET IntervalStyle = 'iso_8601'",
            )
            .await
            .map_err(|e| self.error("cannot set the session up", &e))?;
        Ok(client)
    }
}

/// One source table, its columns typed and named for the target.
#[derive(Debug, Clone)]
pub struct TableDef {
    pub schema: String,
    pub name: String,
    pub target_schema: String,
    pub target_name: String,
    pub columns: Vec<SourceColumn>,
}

/// `"name"`, quoted as an SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The tables of a PostgreSQL database the mapping selects, typed.
pub async fn pg_tables(
    params: &PgParams,
    client: &tokio_postgres::Client,
    mappings: &TableMappings,
) -> Result<Vec<TableDef>> {
    let rows = client
        .query(
            "SELECT c.table_schema::text, c.table_name::text, c.column_name::text, c.udt_name::text,
                    c.numeric_precision::int, c.numeric_scale::int,
                    EXISTS (SELECT 1 FROM information_schema.table_constraints tc
                            JOIN information_schema.key_column_usage k
                              ON k.constraint_schema = tc.constraint_schema
                             AND k.constraint_name = tc.constraint_name
                            WHERE tc.constraint_type = 'PRIMARY KEY'
                              AND k.table_schema = c.table_schema AND k.table_name = c.table_name
                              AND k.column_name = c.column_name)
             FROM information_schema.columns c
             JOIN information_schema.tables t
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE t.table_type = 'BASE TABLE'
               AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
             ORDER BY c.table_schema, c.table_name, c.ordinal_position",
            &[],
        )
        .await
        .map_err(|e| params.error("cannot list the tables", &e))?;
    let mut out: Vec<TableDef> = Vec::new();
    for row in rows {
        let (schema, table, column, udt): (String, String, String, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if !mappings.selected(&schema, &table) {
            continue;
        }
        let Some(target) = mappings.target_column(&schema, &table, &column) else {
            continue;
        };
        let col = SourceColumn {
            name: column,
            target,
            data_type: postgres_type(&udt, row.get(4), row.get(5)),
            key: row.get(6),
        };
        match out.last_mut() {
            Some(t) if t.schema == schema && t.name == table => t.columns.push(col),
            _ => out.push(TableDef {
                target_schema: mappings.target_schema(&schema),
                target_name: mappings.target_table(&schema, &table),
                schema,
                name: table,
                columns: vec![col],
            }),
        }
    }
    Ok(out)
}

/// Streams a PostgreSQL table's rows (COPY ... TO STDOUT, text format) to `on_row`.
pub async fn pg_read(
    params: &PgParams,
    client: &tokio_postgres::Client,
    table: &TableDef,
    on_row: &mut dyn FnMut(&[Cell]) -> Result<()>,
) -> Result<u64> {
    let columns: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
    let sql = format!(
        "COPY {}.{} ({}) TO STDOUT",
        ident(&table.schema),
        ident(&table.name),
        columns.join(", ")
    );
    let where_ = format!("cannot read {}.{}", table.schema, table.name);
    let stream = client
        .copy_out(sql.as_str())
        .await
        .map_err(|e| params.error(&where_, &e))?;
    let mut stream = std::pin::pin!(stream);
    let mut pending: Vec<u8> = Vec::new();
    let mut rows = 0u64;
    let mut fields: Vec<Option<String>> = Vec::with_capacity(table.columns.len());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| params.error(&where_, &e))?;
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(nl) = pending[start..].iter().position(|b| *b == b'\n') {
            let line = &pending[start..start + nl];
            start += nl + 1;
            split_copy_line(line, &mut fields).ok_or_else(|| {
                ServiceError::new(
                    Code::InvalidResourceStateFault,
                    format!("{where_}: a row of COPY's output does not decode"),
                )
            })?;
            if fields.len() != table.columns.len() {
                return Err(ServiceError::new(
                    Code::InvalidResourceStateFault,
                    format!(
                        "{where_}: a row has {} fields, not {}",
                        fields.len(),
                        table.columns.len()
                    ),
                ));
            }
            let cells: Vec<Cell> = fields
                .iter()
                .map(|f| f.as_deref().map_or(Cell::Null, Cell::Text))
                .collect();
            on_row(&cells)?;
            rows += 1;
        }
        pending.drain(..start);
    }
    Ok(rows)
}

/// One line of COPY's text format into its fields (`\N` is NULL; backslash escapes undone).
fn split_copy_line(line: &[u8], out: &mut Vec<Option<String>>) -> Option<()> {
    out.clear();
    for raw in line.split(|b| *b == b'\t') {
        if raw == b"\\N" {
            out.push(None);
            continue;
        }
        let mut v = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'\\' {
                let c = *raw.get(i + 1)?;
                v.push(match c {
                    b'b' => 8,
                    b'f' => 12,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'v' => 11,
                    other => other,
                });
                i += 2;
            } else {
                v.push(raw[i]);
                i += 1;
            }
        }
        out.push(Some(String::from_utf8(v).ok()?));
    }
    Some(())
}

/// A SQLite source: the database file, opened read-only.
pub struct SqliteSource {
    pub path: PathBuf,
}

impl SqliteSource {
    fn open(&self) -> Result<rusqlite::Connection> {
        if !self.path.is_file() {
            return Err(ServiceError::new(
                Code::ResourceNotFoundFault,
                format!("the SQLite database {} does not exist", self.path.display()),
            ));
        }
        rusqlite::Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| self.error(&e))
    }

    fn error(&self, e: &rusqlite::Error) -> ServiceError {
        ServiceError::new(
            Code::InvalidResourceStateFault,
            format!("the SQLite database {}: {e}", self.path.display()),
        )
    }

    pub fn check(&self) -> Result<()> {
        let conn = self.open()?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(|e| self.error(&e))
    }

    pub fn tables(&self, mappings: &TableMappings) -> Result<Vec<TableDef>> {
        let conn = self.open()?;
        let names: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.error(&e))?;
        let mut out = Vec::new();
        for name in names.into_iter().filter(|n| mappings.selected("main", n)) {
            let cols: Vec<(String, String, bool)> = conn
                .prepare(&format!("PRAGMA table_info({})", ident(&name)))
                .and_then(|mut s| {
                    s.query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get::<_, i64>(5)? > 0)))?
                        .collect()
                })
                .map_err(|e| self.error(&e))?;
            let columns = cols
                .into_iter()
                .filter_map(|(c, t, key)| {
                    mappings
                        .target_column("main", &name, &c)
                        .map(|target| SourceColumn {
                            data_type: sqlite_type(&t),
                            name: c,
                            target,
                            key,
                        })
                })
                .collect();
            out.push(TableDef {
                target_schema: mappings.target_schema("main"),
                target_name: mappings.target_table("main", &name),
                schema: "main".into(),
                name,
                columns,
            });
        }
        Ok(out)
    }

    pub fn read(
        &self,
        table: &TableDef,
        on_row: &mut dyn FnMut(&[Cell]) -> Result<()>,
    ) -> Result<u64> {
        let conn = self.open()?;
        let cols: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM {}",
                cols.join(", "),
                ident(&table.name)
            ))
            .map_err(|e| self.error(&e))?;
        let mut rows = stmt.query([]).map_err(|e| self.error(&e))?;
        let mut n = 0;
        while let Some(row) = rows.next().map_err(|e| self.error(&e))? {
            let mut cells = Vec::with_capacity(cols.len());
            for i in 0..cols.len() {
                use rusqlite::types::ValueRef;
                cells.push(match row.get_ref(i).map_err(|e| self.error(&e))? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Float(v),
                    ValueRef::Text(t) => match std::str::from_utf8(t) {
                        Ok(s) => Cell::Text(s),
                        Err(_) => Cell::Bytes(t),
                    },
                    ValueRef::Blob(b) => Cell::Bytes(b),
                });
            }
            on_row(&cells)?;
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_lines() {
        let mut f = Vec::new();
        split_copy_line(b"1\t\\N\ta\\tb\\\\c\t", &mut f).unwrap();
        assert_eq!(
            f,
            vec![
                Some("1".into()),
                None,
                Some("a\tb\\c".into()),
                Some(String::new())
            ]
        );
        assert!(split_copy_line(b"trailing\\", &mut f).is_none());
    }

    #[test]
    fn secret_shape_and_scrub() {
        let v = SecretString::new(
            r#"{"username":"u","password":"hunter22","host":"db","port":"6543"}"#.into(),
        );
        let p = PgParams::from_secret("s", &v, None, None, "d").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("db", 6543));
        assert_eq!(p.scrub("x hunter22 y".into()), "x ******** y");
        let bad =
            PgParams::from_secret("s", &SecretString::new("hunter22".into()), None, None, "d")
                .err()
                .unwrap();
        assert!(!bad.message.contains("hunter22"));
    }
}
