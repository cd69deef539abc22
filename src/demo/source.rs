//! The masking scenario's source database. The seed begins at a database that DMS replicates
//! into the raw bucket, so the demo makes one: an SQLite file of the seed's tables in the demo's
//! temporary directory (gone once the lake is loaded; it holds only generated data), or, given
//! `--source-url`, the same tables in a PostgreSQL database, whose credentials go into Secrets
//! Manager for the DMS endpoint, as the seed keeps them.

use std::path::Path;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::cli::Context;
use crate::service::secrets::{CreateSecret, SecretString};
use crate::service::{Code, Result, ServiceError};

/// The tables' definitions, valid in SQLite and PostgreSQL alike.
const SOURCE_SQL: &str = include_str!("../../assets/demo/source.sql");

/// Each table and the CSV file its rows come from.
pub const TABLES: [(&str, &str); 3] = [
    ("customers", include_str!("../../assets/demo/customers.csv")),
    (
        "credit_cards",
        include_str!("../../assets/demo/credit_cards.csv"),
    ),
    ("bank", include_str!("../../assets/demo/bank.csv")),
];

/// The secret the PostgreSQL endpoint reads its credentials from.
pub const SECRET_NAME: &str = "pii/source-db";

/// Where the masking scenario's data starts.
pub enum SourceDatabase {
    /// An SQLite file the demo makes (the default: nothing to set up).
    Sqlite,
    /// A PostgreSQL database given as `postgres://USER:PASSWORD@HOST:PORT/DATABASE`. The URL
    /// holds a password, so it is kept as a secret and never printed.
    Postgres(SecretString),
}

impl SourceDatabase {
    pub fn from_url(url: Option<String>) -> SourceDatabase {
        match url {
            None => SourceDatabase::Sqlite,
            Some(url) => SourceDatabase::Postgres(SecretString::new(url)),
        }
    }

    /// Makes and fills the tables; returns the arguments of `dms create-endpoint` that name
    /// the source (the scenario script's `$SOURCE_ENDPOINT`).
    pub async fn make(&self, ctx: &Context<'_>, dir: &Path) -> Result<String> {
        match self {
            SourceDatabase::Sqlite => {
                let path = dir.join("source.db");
                make_sqlite(&path)?;
                Ok(format!(
                    "--engine-name sqlite --sqlite-settings DatabasePath={}",
                    shell_words::quote(&path.display().to_string())
                ))
            }
            SourceDatabase::Postgres(url) => make_postgres(ctx, url).await,
        }
    }
}

/// The rows of a table's CSV file: its header and its records.
fn rows(csv_text: &str) -> Result<(Vec<String>, Vec<csv::StringRecord>)> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let bad = |e: csv::Error| ServiceError::internal(format!("the demo's data is not CSV: {e}"));
    let header = reader
        .headers()
        .map_err(bad)?
        .iter()
        .map(str::to_string)
        .collect();
    let records = reader
        .records()
        .collect::<std::result::Result<_, _>>()
        .map_err(bad)?;
    Ok((header, records))
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn make_sqlite(path: &Path) -> Result<()> {
    let failed = |e: rusqlite::Error| {
        ServiceError::internal(format!(
            "cannot make the demo's source database {}: {e}",
            path.display()
        ))
    };
    let mut db = rusqlite::Connection::open(path).map_err(failed)?;
    let tx = db.transaction().map_err(failed)?;
    tx.execute_batch(SOURCE_SQL).map_err(failed)?;
    for (table, csv_text) in TABLES {
        let (header, records) = rows(csv_text)?;
        let columns: Vec<String> = header.iter().map(|c| quoted(c)).collect();
        let marks = vec!["?"; columns.len()].join(", ");
        let mut insert = tx
            .prepare(&format!(
                "INSERT INTO {} ({}) VALUES ({marks})",
                quoted(table),
                columns.join(", ")
            ))
            .map_err(failed)?;
        for record in &records {
            insert
                .execute(rusqlite::params_from_iter(record.iter()))
                .map_err(failed)?;
        }
    }
    tx.commit().map_err(failed)
}

/// The parts of a `postgres://` URL the endpoint needs; an error never repeats the URL.
struct PgUrl {
    config: tokio_postgres::Config,
    host: String,
    port: u16,
    database: String,
}

fn parse_url(url: &SecretString) -> Result<PgUrl> {
    let shape = "--source-url is postgres://USER:PASSWORD@HOST:PORT/DATABASE";
    let config = tokio_postgres::Config::from_str(url.expose())
        .map_err(|_| ServiceError::invalid(format!("{shape}, and it could not be read")))?;
    let host = match config.get_hosts() {
        [tokio_postgres::config::Host::Tcp(host)] => host.clone(),
        _ => {
            return Err(ServiceError::invalid(format!(
                "{shape}: one TCP host (DMS connects over the network)"
            )));
        }
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let (Some(user), Some(database)) = (config.get_user(), config.get_dbname()) else {
        return Err(ServiceError::invalid(format!(
            "{shape}: a user and a database"
        )));
    };
    // The database's name becomes a word of the endpoint's settings.
    if user.is_empty()
        || !database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ServiceError::invalid(format!(
            "{shape}: a user, and a database named with letters, digits, _ and -"
        )));
    }
    let database = database.to_string();
    Ok(PgUrl {
        config,
        host,
        port,
        database,
    })
}

fn pg_failed(at: &PgUrl, what: &str, e: &tokio_postgres::Error) -> ServiceError {
    let (code, detail) = match e.as_db_error() {
        Some(db) if db.code().code() == "42P07" => (
            Code::InvalidParameterValueException,
            format!(
                "{}: the demo makes its own tables; give it a database without them",
                db.message()
            ),
        ),
        Some(db) => (
            Code::InvalidParameterValueException,
            format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        ),
        None => (Code::EndpointConnection, e.to_string()),
    };
    ServiceError::new(
        code,
        format!(
            "{what} on PostgreSQL {}:{} database {}: {detail}",
            at.host, at.port, at.database
        ),
    )
}

async fn make_postgres(ctx: &Context<'_>, url: &SecretString) -> Result<String> {
    let at = parse_url(url)?;
    let mut config = at.config.clone();
    config.connect_timeout(std::time::Duration::from_secs(10));
    let (mut client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| pg_failed(&at, "cannot connect", &e))?;
    tokio::spawn(connection);
    let tx = client
        .transaction()
        .await
        .map_err(|e| pg_failed(&at, "cannot begin", &e))?;
    tx.batch_execute(SOURCE_SQL)
        .await
        .map_err(|e| pg_failed(&at, "cannot make the tables", &e))?;
    for (table, csv_text) in TABLES {
        let (header, records) = rows(csv_text)?;
        // PostgreSQL converts each text value to its column's type itself.
        let insert = tx
            .prepare(&format!(
                "INSERT INTO {t} SELECT * FROM json_populate_record(NULL::{t}, $1::text::json)",
                t = quoted(table)
            ))
            .await
            .map_err(|e| pg_failed(&at, "cannot insert", &e))?;
        for record in &records {
            let row: Map<String, Value> = header
                .iter()
                .zip(record.iter())
                .map(|(c, v)| (c.clone(), Value::String(v.to_string())))
                .collect();
            let row = Value::Object(row).to_string();
            tx.execute(&insert, &[&row])
                .await
                .map_err(|e| pg_failed(&at, "cannot insert", &e))?;
        }
    }
    tx.commit()
        .await
        .map_err(|e| pg_failed(&at, "cannot commit", &e))?;

    let password = at
        .config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    let credentials = serde_json::json!({
        "username": at.config.get_user(),
        "password": password,
        "host": at.host,
        "port": at.port,
    });
    ctx.services
        .secrets
        .create_secret(
            ctx.principal,
            CreateSecret {
                name: SECRET_NAME.to_string(),
                secret_string: SecretString::new(credentials.to_string()),
                kms_key_id: None,
                description: Some(
                    "The masking scenario's source database (DMS's JSON shape)".to_string(),
                ),
            },
        )
        .await?;
    Ok(format!(
        "--engine-name postgres --postgre-sql-settings SecretsManagerSecretId={SECRET_NAME},DatabaseName={}",
        at.database
    ))
}

#[cfg(test)]
mod tests {
    use super::{SecretString, SourceDatabase, parse_url};

    #[test]
    fn a_source_url_is_read_and_its_errors_never_repeat_it() {
        let at = parse_url(&SecretString::new(
            "postgres://shop:s3cret-pw@127.0.0.1:6543/shop".into(),
        ))
        .unwrap();
        assert_eq!(
            (at.host.as_str(), at.port, at.database.as_str()),
            ("127.0.0.1", 6543, "shop")
        );
        for bad in [
            "mysql://shop:s3cret-pw@db/shop",
            "postgres://shop:s3cret-pw@db/shop,evil",
            "postgres://s3cret-pw@/tmp",
            "not a url s3cret-pw",
        ] {
            let e = parse_url(&SecretString::new(bad.into()))
                .err()
                .unwrap_or_else(|| panic!("{bad} was accepted"));
            assert!(!e.message.contains("s3cret-pw"), "{bad}: {}", e.message);
        }
        assert!(matches!(
            SourceDatabase::from_url(None),
            SourceDatabase::Sqlite
        ));
    }
}
