//! `dms`: endpoints and replication tasks in DMS's names and JSON shapes. Settings are given
//! as the AWS CLI's shorthand (`Key=Value,Key=Value`) or as JSON. A database's password is
//! never an argument: it is read from the secret `SecretsManagerSecretId` names.

use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::Context;
use super::s3::read_document;
use crate::service::dms::{
    CreateEndpoint, CreateReplicationTask, DataFormat, Dms, EndpointType, Engine, MigrationType,
    PostgreSqlSettings, ReplicationTask, S3Settings, SqliteSettings, StartType, is_active,
};
use crate::service::wait::until_finished;
use crate::service::{Code, Result, ServiceError};

#[derive(Debug, Subcommand)]
pub enum DmsCommand {
    /// A source (postgres; sqlite, a lakectl extension: a database file read by the process
    /// running the task) or target (s3: a bucket and folder of the lake) of replication tasks
    CreateEndpoint {
        #[arg(long)]
        endpoint_identifier: String,
        /// source or target
        #[arg(long)]
        endpoint_type: String,
        /// postgres, sqlite (lakectl's extension) or s3
        #[arg(long)]
        engine_name: String,
        #[arg(long)]
        server_name: Option<String>,
        #[arg(long)]
        port: Option<u16>,
        #[arg(long)]
        database_name: Option<String>,
        /// SecretsManagerSecretId=NAME (a secret holding {"username","password","host","port"}),
        /// DatabaseName=..., SlotName=...; on AWS also SecretsManagerAccessRoleArn=ROLE (the
        /// role DMS reads the secret as; the local lake reads it as you)
        #[arg(long, value_name = "SHORTHAND|JSON")]
        postgre_sql_settings: Option<String>,
        /// BucketName=...,BucketFolder=...,DataFormat=csv|parquet,EncryptionMode=SSE_KMS,
        /// ServerSideEncryptionKmsKeyId=...; on AWS also ServiceAccessRoleArn=ROLE (the role DMS
        /// writes the bucket as; the local lake writes as the principal who starts the task)
        #[arg(long, value_name = "SHORTHAND|JSON")]
        s3_settings: Option<String>,
        /// DatabasePath=FILE: a lakectl extension, not in AWS DMS (refused on --backend aws)
        #[arg(long, value_name = "SHORTHAND|JSON")]
        sqlite_settings: Option<String>,
    },
    DescribeEndpoints,
    DeleteEndpoint {
        #[arg(long)]
        endpoint_arn: String,
    },
    /// Connects to the endpoint as a task would (reading its secret as you) and says whether it
    /// works; a failure says why without the secret. On AWS the test runs from the replication
    /// instance and lakectl waits for its result
    TestConnection {
        #[arg(long)]
        endpoint_arn: String,
        /// The replication instance to test from: required on AWS; the local lake connects from
        /// this process and ignores it
        #[arg(long)]
        replication_instance_arn: Option<String>,
    },
    /// A task copying the tables the mappings select from a source to a target endpoint
    CreateReplicationTask {
        #[arg(long)]
        replication_task_identifier: String,
        #[arg(long)]
        source_endpoint_arn: String,
        #[arg(long)]
        target_endpoint_arn: String,
        /// full-load, cdc or full-load-and-cdc (cdc from postgres sources only)
        #[arg(long)]
        migration_type: String,
        /// DMS's rules JSON, or file://PATH
        #[arg(long, value_name = "JSON|file://PATH")]
        table_mappings: String,
        /// The replication instance the task runs on: required on AWS (make one with `aws dms
        /// create-replication-instance`); the local lake runs tasks in the process that starts
        /// them and ignores it
        #[arg(long)]
        replication_instance_arn: Option<String>,
    },
    /// Starts a task in this process (as job runs are): with --wait, until it stops (a CDC task
    /// runs until stop-replication-task or the process ends; resume-processing goes on from
    /// the last committed change)
    StartReplicationTask {
        #[arg(long)]
        replication_task_arn: String,
        /// start-replication, resume-processing or reload-target
        #[arg(long)]
        start_replication_task_type: String,
        #[arg(long)]
        wait: bool,
    },
    StopReplicationTask {
        #[arg(long)]
        replication_task_arn: String,
    },
    DescribeReplicationTasks,
    /// Per-table counts: FullLoadRows, Inserts, Updates, Deletes, TableState
    DescribeTableStatistics {
        #[arg(long)]
        replication_task_arn: String,
    },
    DeleteReplicationTask {
        #[arg(long)]
        replication_task_arn: String,
    },
}

impl DmsCommand {
    pub fn changes_anything(&self) -> bool {
        !matches!(
            self,
            DmsCommand::DescribeEndpoints
                | DmsCommand::TestConnection { .. }
                | DmsCommand::DescribeReplicationTasks
                | DmsCommand::DescribeTableStatistics { .. }
        )
    }
}

fn invalid(message: String) -> ServiceError {
    ServiceError::new(Code::InvalidParameterValueException, message)
}

/// `Key=Value,Key=Value` (the AWS CLI's shorthand) or a JSON object.
fn settings(arg: &str, flag: &str) -> Result<Map<String, Value>> {
    let text = read_document(arg)?;
    if text.trim_start().starts_with('{') {
        return match serde_json::from_str(&text) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(invalid(format!("{flag}: not a JSON object"))),
        };
    }
    let mut out = Map::new();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| invalid(format!("{flag}: {pair:?} is not Key=Value")))?;
        out.insert(k.trim().to_string(), Value::String(v.trim().to_string()));
    }
    Ok(out)
}

fn take(m: &mut Map<String, Value>, key: &str) -> Option<String> {
    m.remove(key).map(|v| match v {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

fn no_more(m: Map<String, Value>, flag: &str) -> Result<()> {
    match m.keys().next() {
        Some(k) => Err(invalid(format!(
            "{flag}: {k} is not a setting lakectl knows"
        ))),
        None => Ok(()),
    }
}

fn postgres_settings(arg: &str) -> Result<PostgreSqlSettings> {
    let flag = "--postgre-sql-settings";
    let mut m = settings(arg, flag)?;
    let port = take(&mut m, "Port")
        .map(|p| {
            p.parse::<u16>()
                .map_err(|_| invalid(format!("{flag}: Port {p:?}")))
        })
        .transpose()?;
    let s = PostgreSqlSettings {
        secrets_manager_secret_id: take(&mut m, "SecretsManagerSecretId"),
        database_name: take(&mut m, "DatabaseName"),
        server_name: take(&mut m, "ServerName"),
        port,
        slot_name: take(&mut m, "SlotName"),
        secrets_manager_access_role_arn: take(&mut m, "SecretsManagerAccessRoleArn"),
    };
    no_more(m, flag)?;
    Ok(s)
}

fn s3_settings(arg: &str) -> Result<S3Settings> {
    let flag = "--s3-settings";
    let mut m = settings(arg, flag)?;
    let format = match take(&mut m, "DataFormat").as_deref() {
        None | Some("csv") => DataFormat::Csv,
        Some("parquet") => DataFormat::Parquet,
        Some(other) => {
            return Err(invalid(format!(
                "{flag}: DataFormat is csv or parquet, not {other:?}"
            )));
        }
    };
    let s = S3Settings {
        bucket_name: take(&mut m, "BucketName").unwrap_or_default(),
        bucket_folder: take(&mut m, "BucketFolder"),
        data_format: format,
        encryption_mode: take(&mut m, "EncryptionMode").unwrap_or("SSE_KMS".into()),
        server_side_encryption_kms_key_id: take(&mut m, "ServerSideEncryptionKmsKeyId"),
        service_access_role_arn: take(&mut m, "ServiceAccessRoleArn"),
    };
    for accepted in ["AddColumnName", "CompressionType"] {
        m.remove(accepted);
    }
    no_more(m, flag)?;
    Ok(s)
}

fn sqlite_settings(arg: &str) -> Result<SqliteSettings> {
    let flag = "--sqlite-settings";
    let mut m = settings(arg, flag)?;
    let path = take(&mut m, "DatabasePath").unwrap_or_default();
    no_more(m, flag)?;
    // The task may run from another directory: keep the path absolute.
    let path = std::path::absolute(&path)
        .map(|p| p.display().to_string())
        .unwrap_or(path);
    Ok(SqliteSettings {
        database_path: path,
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| ServiceError::internal(e.to_string()))
}

impl Context<'_> {
    fn dms_service(&self) -> Result<&dyn Dms> {
        self.services.dms.as_deref().ok_or_else(|| {
            ServiceError::new(
                Code::UnsupportedOperationException,
                "this backend has no DMS",
            )
        })
    }

    async fn wait_for_task(&self, arn: &str) -> Result<ReplicationTask> {
        let dms = self.dms_service()?;
        let by = self.principal;
        until_finished(
            self.services
                .backend
                .poll_interval
                .max(std::time::Duration::from_millis(200)),
            || async {
                let task = dms
                    .describe_replication_tasks(by)
                    .await?
                    .into_iter()
                    .find(|t| t.replication_task_arn == arn)
                    .ok_or_else(|| {
                        ServiceError::new(
                            Code::ResourceNotFoundFault,
                            format!("the task {arn} is gone"),
                        )
                    })?;
                Ok((!is_active(&task.status)).then_some(task))
            },
        )
        .await
    }

    pub(super) async fn dms(&self, cmd: DmsCommand) -> Result<Value> {
        let dms = self.dms_service()?;
        let by = self.principal;
        match cmd {
            DmsCommand::CreateEndpoint {
                endpoint_identifier,
                endpoint_type,
                engine_name,
                server_name,
                port,
                database_name,
                postgre_sql_settings,
                s3_settings: s3,
                sqlite_settings: sqlite,
            } => {
                let req = CreateEndpoint {
                    endpoint_identifier,
                    endpoint_type: EndpointType::parse(&endpoint_type)?,
                    engine_name: Engine::parse(&engine_name)?,
                    server_name,
                    port,
                    database_name,
                    postgre_sql_settings: postgre_sql_settings
                        .as_deref()
                        .map(postgres_settings)
                        .transpose()?,
                    s3_settings: s3.as_deref().map(s3_settings).transpose()?,
                    sqlite_settings: sqlite.as_deref().map(sqlite_settings).transpose()?,
                };
                Ok(json!({"Endpoint": dms.create_endpoint(by, req).await?}))
            }
            DmsCommand::DescribeEndpoints => {
                Ok(json!({"Endpoints": dms.describe_endpoints(by).await?}))
            }
            DmsCommand::DeleteEndpoint { endpoint_arn } => {
                Ok(json!({"Endpoint": dms.delete_endpoint(by, &endpoint_arn).await?}))
            }
            DmsCommand::TestConnection {
                endpoint_arn,
                replication_instance_arn,
            } => Ok(json!({"Connection": dms
                .test_connection(by, &endpoint_arn, replication_instance_arn.as_deref())
                .await?})),
            DmsCommand::CreateReplicationTask {
                replication_task_identifier,
                source_endpoint_arn,
                target_endpoint_arn,
                migration_type,
                table_mappings,
                replication_instance_arn,
            } => {
                let req = CreateReplicationTask {
                    replication_task_identifier,
                    source_endpoint_arn,
                    target_endpoint_arn,
                    replication_instance_arn,
                    migration_type: MigrationType::parse(&migration_type)?,
                    table_mappings: read_document(&table_mappings)?,
                };
                Ok(json!({"ReplicationTask": dms.create_replication_task(by, req).await?}))
            }
            DmsCommand::StartReplicationTask {
                replication_task_arn,
                start_replication_task_type,
                wait,
            } => {
                let start = StartType::parse(&start_replication_task_type)?;
                let task = dms
                    .start_replication_task(by, &replication_task_arn, start)
                    .await?;
                if !wait {
                    return to_json(&json!({"ReplicationTask": task}));
                }
                let ended = self.wait_for_task(&task.replication_task_arn).await?;
                if ended.status == "failed" {
                    self.exit_with(255);
                }
                Ok(json!({"ReplicationTask": ended}))
            }
            DmsCommand::StopReplicationTask {
                replication_task_arn,
            } => Ok(
                json!({"ReplicationTask": dms.stop_replication_task(by, &replication_task_arn).await?}),
            ),
            DmsCommand::DescribeReplicationTasks => {
                Ok(json!({"ReplicationTasks": dms.describe_replication_tasks(by).await?}))
            }
            DmsCommand::DescribeTableStatistics {
                replication_task_arn,
            } => {
                let stats = dms
                    .describe_table_statistics(by, &replication_task_arn)
                    .await?;
                Ok(json!({"ReplicationTaskArn": replication_task_arn, "TableStatistics": stats}))
            }
            DmsCommand::DeleteReplicationTask {
                replication_task_arn,
            } => Ok(
                json!({"ReplicationTask": dms.delete_replication_task(by, &replication_task_arn).await?}),
            ),
        }
    }
}
