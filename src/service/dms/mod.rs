//! Database Migration Service: endpoints (where rows come from and where they land) and
//! replication tasks that copy a database's tables into the lake, once (full load) and then as
//! they change (CDC). Types serialize in DMS's JSON shapes; the table-mapping rules are in
//! `mapping.rs`. A database's credentials are never part of an endpoint: they stay in Secrets
//! Manager and are read, as the caller, when a connection is made.

pub mod mapping;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Code, Principal, Result, ServiceError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EndpointType {
    Source,
    Target,
}

impl EndpointType {
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "source" => Ok(EndpointType::Source),
            "target" => Ok(EndpointType::Target),
            _ => Err(invalid(format!(
                "--endpoint-type is source or target, not {s:?}"
            ))),
        }
    }
}

/// The engines lakectl speaks: PostgreSQL and SQLite (a lakectl extension: a database file on
/// the machine running the task) as sources, S3 (the lake) as the target. `Other` is an
/// endpoint of another engine that an AWS account already holds (MySQL, Oracle, ...): listed as
/// AWS names it, never created by lakectl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Sqlite,
    S3,
    Other(String),
}

impl Engine {
    pub fn parse(s: &str) -> Result<Self> {
        match Engine::from_name(s) {
            Engine::Other(_) => Err(invalid(format!(
                "--engine-name {s:?} is not supported: postgres and sqlite (sources), s3 (target)"
            ))),
            known => Ok(known),
        }
    }
    /// The engine a name (DMS's `EngineName`) stands for, whatever it is.
    pub fn from_name(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "postgres" | "aurora-postgresql" => Engine::Postgres,
            "sqlite" => Engine::Sqlite,
            "s3" => Engine::S3,
            _ => Engine::Other(s.to_string()),
        }
    }
    /// DMS's `EngineName`.
    pub fn name(&self) -> &str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Sqlite => "sqlite",
            Engine::S3 => "s3",
            Engine::Other(name) => name,
        }
    }
}

impl Serialize for Engine {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Engine {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Engine::from_name(&String::deserialize(d)?))
    }
}

/// `--postgre-sql-settings`: the secret holding DMS's JSON shape
/// `{"username","password","host","port"}` (host and port may instead be given as
/// `--server-name`/`--port`), and the database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PostgreSqlSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_manager_secret_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The logical replication slot a CDC task uses (made by the task when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot_name: Option<String>,
    /// The role AWS DMS assumes to read the secret (needed on AWS; the local lake reads the
    /// secret as the caller and does not use it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_manager_access_role_arn: Option<String>,
}

/// The files a target writes: DMS's `DataFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    #[default]
    Csv,
    Parquet,
}

impl DataFormat {
    pub fn extension(self) -> &'static str {
        match self {
            DataFormat::Csv => "csv",
            DataFormat::Parquet => "parquet",
        }
    }
}

/// `--s3-settings`: where in the lake a task writes and under which key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3Settings {
    pub bucket_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_folder: Option<String>,
    pub data_format: DataFormat,
    /// Always SSE_KMS on the lake (every object is sealed); SSE_S3 is taken as the bucket's key.
    pub encryption_mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_side_encryption_kms_key_id: Option<String>,
    /// The role AWS DMS assumes to write the bucket (needed on AWS; the local lake writes as
    /// the principal who started the task and does not use it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_access_role_arn: Option<String>,
}

/// lakectl's SQLite source: the database file (`--sqlite-settings DatabasePath=...`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SqliteSettings {
    pub database_path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Endpoint {
    pub endpoint_identifier: String,
    pub endpoint_type: EndpointType,
    pub engine_name: Engine,
    pub endpoint_arn: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    #[serde(rename = "PostgreSQLSettings", skip_serializing_if = "Option::is_none")]
    pub postgre_sql_settings: Option<PostgreSqlSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_settings: Option<S3Settings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlite_settings: Option<SqliteSettings>,
}

/// `create-endpoint`'s request, checked: each engine has the settings it needs.
#[derive(Debug, Clone)]
pub struct CreateEndpoint {
    pub endpoint_identifier: String,
    pub endpoint_type: EndpointType,
    pub engine_name: Engine,
    pub server_name: Option<String>,
    pub port: Option<u16>,
    pub database_name: Option<String>,
    pub postgre_sql_settings: Option<PostgreSqlSettings>,
    pub s3_settings: Option<S3Settings>,
    pub sqlite_settings: Option<SqliteSettings>,
}

impl CreateEndpoint {
    /// The endpoint it describes, or why it cannot be one.
    pub fn into_endpoint(self, arn: String) -> Result<Endpoint> {
        check_identifier(&self.endpoint_identifier)?;
        match (&self.engine_name, self.endpoint_type) {
            (Engine::S3, EndpointType::Target) => {
                let s3 = self.s3_settings.as_ref().ok_or_else(|| {
                    invalid("an s3 target needs --s3-settings BucketName=...".to_string())
                })?;
                if s3.bucket_name.is_empty() {
                    return Err(invalid("--s3-settings needs BucketName".into()));
                }
                if !matches!(s3.encryption_mode.as_str(), "SSE_KMS" | "SSE_S3") {
                    return Err(invalid(format!(
                        "EncryptionMode is SSE_KMS or SSE_S3, not {:?}",
                        s3.encryption_mode
                    )));
                }
            }
            (Engine::Postgres, EndpointType::Source) => {
                let pg = self.postgre_sql_settings.as_ref();
                if pg
                    .and_then(|p| p.secrets_manager_secret_id.as_ref())
                    .is_none()
                {
                    return Err(invalid(
                        "a postgres source needs --postgre-sql-settings SecretsManagerSecretId=... (lakectl never takes a password on the command line)".into(),
                    ));
                }
                if self.database_name.is_none()
                    && pg.and_then(|p| p.database_name.as_ref()).is_none()
                {
                    return Err(invalid(
                        "a postgres source needs a database: --database-name or DatabaseName="
                            .into(),
                    ));
                }
            }
            (Engine::Sqlite, EndpointType::Source) => {
                if self
                    .sqlite_settings
                    .as_ref()
                    .is_none_or(|s| s.database_path.is_empty())
                {
                    return Err(invalid(
                        "a sqlite source needs --sqlite-settings DatabasePath=FILE".into(),
                    ));
                }
            }
            (engine, kind) => {
                return Err(invalid(format!(
                    "{engine:?} is not supported as a {kind:?} endpoint: sources are postgres and sqlite, the target is s3"
                )));
            }
        }
        Ok(Endpoint {
            endpoint_identifier: self.endpoint_identifier,
            endpoint_type: self.endpoint_type,
            engine_name: self.engine_name,
            endpoint_arn: arn,
            status: "active".into(),
            server_name: self.server_name,
            port: self.port,
            database_name: self.database_name,
            postgre_sql_settings: self.postgre_sql_settings,
            s3_settings: self.s3_settings,
            sqlite_settings: self.sqlite_settings,
        })
    }
}

/// DMS's identifiers: 1 to 255 letters, digits and hyphens, starting with a letter.
pub fn check_identifier(id: &str) -> Result<()> {
    let ok = (1..=255).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--");
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{id:?}: an identifier is 1 to 255 letters, digits and single hyphens, starting with a letter"
        )))
    }
}

/// `test-connection`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Connection {
    pub endpoint_arn: String,
    pub endpoint_identifier: String,
    pub status: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MigrationType {
    FullLoad,
    Cdc,
    FullLoadAndCdc,
}

impl MigrationType {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "full-load" => Ok(MigrationType::FullLoad),
            "cdc" => Ok(MigrationType::Cdc),
            "full-load-and-cdc" => Ok(MigrationType::FullLoadAndCdc),
            _ => Err(invalid(format!(
                "--migration-type is full-load, cdc or full-load-and-cdc, not {s:?}"
            ))),
        }
    }
    pub fn full_load(self) -> bool {
        matches!(
            self,
            MigrationType::FullLoad | MigrationType::FullLoadAndCdc
        )
    }
    pub fn cdc(self) -> bool {
        matches!(self, MigrationType::Cdc | MigrationType::FullLoadAndCdc)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartType {
    StartReplication,
    ResumeProcessing,
    ReloadTarget,
}

impl StartType {
    /// The AWS CLI's word for it (`--start-replication-task-type`).
    pub fn as_str(self) -> &'static str {
        match self {
            StartType::StartReplication => "start-replication",
            StartType::ResumeProcessing => "resume-processing",
            StartType::ReloadTarget => "reload-target",
        }
    }

    /// How a task with `status` starts again: from the beginning when it never ran, from its
    /// last committed change when it reads changes, else by loading its tables again.
    pub fn for_restart(status: &str, migration: MigrationType) -> StartType {
        if status == "ready" {
            StartType::StartReplication
        } else if migration.cdc() {
            StartType::ResumeProcessing
        } else {
            StartType::ReloadTarget
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "start-replication" => Ok(StartType::StartReplication),
            "resume-processing" => Ok(StartType::ResumeProcessing),
            "reload-target" => Ok(StartType::ReloadTarget),
            _ => Err(invalid(format!(
                "--start-replication-task-type is start-replication, resume-processing or reload-target, not {s:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskStats {
    pub full_load_progress_percent: u32,
    pub elapsed_time_millis: u64,
    pub tables_loaded: u32,
    pub tables_loading: u32,
    pub tables_queued: u32,
    pub tables_errored: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_load_finish_date: Option<DateTime<Utc>>,
    /// From a change's COMMIT on the source to its change file committed in the lake, for the
    /// last batch (milliseconds; CDCLatencyTarget in DMS's metrics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cdc_latency_millis: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicationTask {
    pub replication_task_identifier: String,
    pub replication_task_arn: String,
    pub source_endpoint_arn: String,
    pub target_endpoint_arn: String,
    /// The replication instance the task runs on (AWS); the local lake runs tasks itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_instance_arn: Option<String>,
    pub migration_type: MigrationType,
    /// The rules as given (JSON text, as DMS keeps them).
    pub table_mappings: String,
    /// ready, starting, running, stopping, stopped, failed.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure_message: Option<String>,
    pub replication_task_creation_date: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_task_start_date: Option<DateTime<Utc>>,
    pub replication_task_stats: TaskStats,
    /// The source position the task has written up to (PostgreSQL's LSN), for CDC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_checkpoint: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CreateReplicationTask {
    pub replication_task_identifier: String,
    pub source_endpoint_arn: String,
    pub target_endpoint_arn: String,
    /// Where the task runs: required on AWS, unused by the local lake (which runs tasks in
    /// the process that starts them).
    pub replication_instance_arn: Option<String>,
    pub migration_type: MigrationType,
    pub table_mappings: String,
}

/// `describe-table-statistics`: one table's counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableStatistics {
    pub schema_name: String,
    pub table_name: String,
    pub inserts: u64,
    pub deletes: u64,
    pub updates: u64,
    pub ddls: u64,
    pub full_load_rows: u64,
    pub full_load_error_rows: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_load_start_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_load_end_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<DateTime<Utc>>,
    /// "Before load", "Full load", "Table completed", "Table error".
    pub table_state: String,
}

#[async_trait]
pub trait Dms: Send + Sync {
    async fn create_endpoint(&self, by: &Principal, req: CreateEndpoint) -> Result<Endpoint>;
    async fn describe_endpoints(&self, by: &Principal) -> Result<Vec<Endpoint>>;
    async fn delete_endpoint(&self, by: &Principal, endpoint: &str) -> Result<Endpoint>;
    /// Connects to the endpoint as the task would (reading its secret as `by`) and answers
    /// `successful`, or the reason it cannot, never with the secret's value in it. On AWS the
    /// test runs from `replication_instance` (required there); the local lake connects itself.
    async fn test_connection(
        &self,
        by: &Principal,
        endpoint: &str,
        replication_instance: Option<&str>,
    ) -> Result<Connection>;
    async fn create_replication_task(
        &self,
        by: &Principal,
        req: CreateReplicationTask,
    ) -> Result<ReplicationTask>;
    /// Starts the task in this process (as job runs are): the task reads the source and writes
    /// the target as `by`.
    async fn start_replication_task(
        &self,
        by: &Principal,
        task: &str,
        start: StartType,
    ) -> Result<ReplicationTask>;
    async fn stop_replication_task(&self, by: &Principal, task: &str) -> Result<ReplicationTask>;
    async fn describe_replication_tasks(&self, by: &Principal) -> Result<Vec<ReplicationTask>>;
    async fn describe_table_statistics(
        &self,
        by: &Principal,
        task: &str,
    ) -> Result<Vec<TableStatistics>>;
    async fn delete_replication_task(&self, by: &Principal, task: &str) -> Result<ReplicationTask>;
}

fn invalid(message: String) -> ServiceError {
    ServiceError::new(Code::InvalidParameterValueException, message)
}

/// Whether a task with this status is still working (start it again only once it is not).
pub fn is_active(status: &str) -> bool {
    matches!(status, "starting" | "running" | "stopping")
}
