//! DMS on AWS: endpoints and replication tasks through `aws-sdk-databasemigration`. AWS runs the
//! tasks on a replication instance and decides who may do what; this module translates the
//! service layer's types to the SDK's and back. What only the local lake has (the SQLite source,
//! a task without a replication instance) is refused with what AWS needs instead. A database's
//! credentials stay in Secrets Manager: an endpoint names the secret and the role DMS reads it
//! as, never a password.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_databasemigration::types as d;

use super::{Aws, aws_error, build_error, opt_time, time};
use crate::service::dms::{
    Connection, CreateEndpoint, CreateReplicationTask, DataFormat, Dms, Endpoint, EndpointType,
    Engine, MigrationType, PostgreSqlSettings, ReplicationTask, S3Settings, StartType,
    TableStatistics, TaskStats,
};
use crate::service::{Code, Principal, Result, ServiceError};

/// How long `test-connection` waits for the replication instance's answer, asking this often.
const CONNECTION_TEST_BUDGET: Duration = Duration::from_secs(300);
const CONNECTION_TEST_POLL: Duration = Duration::from_secs(2);

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::new(Code::InvalidParameterValueException, message)
}

fn text(s: Option<&str>) -> String {
    s.unwrap_or_default().to_string()
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

/// What the local lake may do that DMS on AWS cannot, refused before any call.
fn check_for_aws(req: &CreateEndpoint) -> Result<()> {
    match (&req.engine_name, req.endpoint_type) {
        (Engine::Sqlite, _) => Err(invalid(
            "the sqlite source is a lakectl extension that AWS DMS does not have (a replication instance cannot read a file on this machine): on --backend aws use a postgres source reachable from the replication instance",
        )),
        (Engine::Postgres, EndpointType::Source) => {
            let role = req
                .postgre_sql_settings
                .as_ref()
                .and_then(|p| p.secrets_manager_access_role_arn.as_deref());
            if role.is_none() {
                return Err(invalid(
                    "on AWS, DMS reads the secret as a role: add SecretsManagerAccessRoleArn=arn:aws:iam::ACCOUNT:role/NAME (a role DMS may assume, allowed secretsmanager:GetSecretValue on the secret) to --postgre-sql-settings",
                ));
            }
            Ok(())
        }
        (Engine::S3, EndpointType::Target) => {
            let role = req
                .s3_settings
                .as_ref()
                .and_then(|s| s.service_access_role_arn.as_deref());
            if role.is_none() {
                return Err(invalid(
                    "on AWS, DMS writes the bucket as a role: add ServiceAccessRoleArn=arn:aws:iam::ACCOUNT:role/NAME (a role DMS may assume, allowed s3:PutObject on the bucket and kms:GenerateDataKey on its key) to --s3-settings",
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn encryption_mode(mode: &str) -> d::EncryptionModeValue {
    match mode {
        "SSE_S3" => d::EncryptionModeValue::SseS3,
        _ => d::EncryptionModeValue::SseKms,
    }
}

fn postgres_to_sdk(p: &PostgreSqlSettings) -> d::PostgreSqlSettings {
    d::PostgreSqlSettings::builder()
        .set_secrets_manager_secret_id(p.secrets_manager_secret_id.clone())
        .set_secrets_manager_access_role_arn(p.secrets_manager_access_role_arn.clone())
        .set_database_name(p.database_name.clone())
        .set_server_name(p.server_name.clone())
        .set_port(p.port.map(i32::from))
        .set_slot_name(p.slot_name.clone())
        .build()
}

fn s3_to_sdk(s: &S3Settings) -> d::S3Settings {
    d::S3Settings::builder()
        .bucket_name(&s.bucket_name)
        .set_bucket_folder(s.bucket_folder.clone())
        .data_format(match s.data_format {
            DataFormat::Csv => d::DataFormatValue::Csv,
            DataFormat::Parquet => d::DataFormatValue::Parquet,
        })
        .encryption_mode(encryption_mode(&s.encryption_mode))
        .set_server_side_encryption_kms_key_id(s.server_side_encryption_kms_key_id.clone())
        .set_service_access_role_arn(s.service_access_role_arn.clone())
        .build()
}

fn port(p: Option<i32>) -> Option<u16> {
    p.and_then(|p| u16::try_from(p).ok())
}

fn endpoint_from_sdk(e: &d::Endpoint) -> Endpoint {
    let postgre_sql_settings = e.postgre_sql_settings().map(|p| PostgreSqlSettings {
        secrets_manager_secret_id: p.secrets_manager_secret_id().map(str::to_string),
        database_name: p.database_name().map(str::to_string),
        server_name: p.server_name().map(str::to_string),
        port: port(p.port()),
        slot_name: p.slot_name().map(str::to_string),
        secrets_manager_access_role_arn: p.secrets_manager_access_role_arn().map(str::to_string),
    });
    let s3_settings = e.s3_settings().map(|s| S3Settings {
        bucket_name: text(s.bucket_name()),
        bucket_folder: s.bucket_folder().map(str::to_string),
        data_format: match s.data_format() {
            Some(d::DataFormatValue::Parquet) => DataFormat::Parquet,
            _ => DataFormat::Csv,
        },
        encryption_mode: match s.encryption_mode() {
            Some(d::EncryptionModeValue::SseKms) => "SSE_KMS",
            _ => "SSE_S3",
        }
        .to_string(),
        server_side_encryption_kms_key_id: s
            .server_side_encryption_kms_key_id()
            .map(str::to_string),
        service_access_role_arn: s.service_access_role_arn().map(str::to_string),
    });
    Endpoint {
        endpoint_identifier: text(e.endpoint_identifier()),
        endpoint_type: match e.endpoint_type() {
            Some(d::ReplicationEndpointTypeValue::Target) => EndpointType::Target,
            _ => EndpointType::Source,
        },
        engine_name: Engine::from_name(e.engine_name().unwrap_or_default()),
        endpoint_arn: text(e.endpoint_arn()),
        status: text(e.status()),
        server_name: e.server_name().map(str::to_string),
        port: port(e.port()),
        database_name: e.database_name().map(str::to_string),
        postgre_sql_settings,
        s3_settings,
        sqlite_settings: None,
    }
}

fn migration_type_to_sdk(m: MigrationType) -> d::MigrationTypeValue {
    match m {
        MigrationType::FullLoad => d::MigrationTypeValue::FullLoad,
        MigrationType::Cdc => d::MigrationTypeValue::Cdc,
        MigrationType::FullLoadAndCdc => d::MigrationTypeValue::FullLoadAndCdc,
    }
}

fn task_from_sdk(t: &d::ReplicationTask) -> ReplicationTask {
    let stats = t.replication_task_stats().map(|s| TaskStats {
        full_load_progress_percent: s.full_load_progress_percent().max(0) as u32,
        elapsed_time_millis: s.elapsed_time_millis().max(0) as u64,
        tables_loaded: s.tables_loaded().max(0) as u32,
        tables_loading: s.tables_loading().max(0) as u32,
        tables_queued: s.tables_queued().max(0) as u32,
        tables_errored: s.tables_errored().max(0) as u32,
        start_date: opt_time(s.start_date()),
        stop_date: opt_time(s.stop_date()),
        full_load_finish_date: opt_time(s.full_load_finish_date()),
        // DMS reports latency through CloudWatch (CDCLatencyTarget), not on the task.
        cdc_latency_millis: None,
    });
    ReplicationTask {
        replication_task_identifier: text(t.replication_task_identifier()),
        replication_task_arn: text(t.replication_task_arn()),
        source_endpoint_arn: text(t.source_endpoint_arn()),
        target_endpoint_arn: text(t.target_endpoint_arn()),
        replication_instance_arn: t.replication_instance_arn().map(str::to_string),
        migration_type: match t.migration_type() {
            Some(d::MigrationTypeValue::Cdc) => MigrationType::Cdc,
            Some(d::MigrationTypeValue::FullLoadAndCdc) => MigrationType::FullLoadAndCdc,
            _ => MigrationType::FullLoad,
        },
        table_mappings: text(t.table_mappings()),
        status: text(t.status()),
        stop_reason: t.stop_reason().map(str::to_string),
        last_failure_message: t.last_failure_message().map(str::to_string),
        replication_task_creation_date: time(t.replication_task_creation_date()),
        replication_task_start_date: opt_time(t.replication_task_start_date()),
        replication_task_stats: stats.unwrap_or_default(),
        recovery_checkpoint: t.recovery_checkpoint().map(str::to_string),
    }
}

fn stats_from_sdk(s: &d::TableStatistics) -> TableStatistics {
    TableStatistics {
        schema_name: text(s.schema_name()),
        table_name: text(s.table_name()),
        inserts: count(s.inserts()),
        deletes: count(s.deletes()),
        updates: count(s.updates()),
        ddls: count(s.ddls()),
        full_load_rows: count(s.full_load_rows()),
        full_load_error_rows: count(s.full_load_error_rows()),
        full_load_start_time: opt_time(s.full_load_start_time()),
        full_load_end_time: opt_time(s.full_load_end_time()),
        last_update_time: opt_time(s.last_update_time()),
        table_state: text(s.table_state()),
    }
}

fn filter(name: &str, value: &str) -> Result<d::Filter> {
    d::Filter::builder()
        .name(name)
        .values(value)
        .build()
        .map_err(|e| build_error("DMS filter", e))
}

impl Aws {
    /// An endpoint's ARN from its ARN or identifier (DMS's calls take ARNs only).
    async fn endpoint_arn(&self, id: &str) -> Result<String> {
        if id.starts_with("arn:") {
            return Ok(id.to_string());
        }
        let out = self
            .dms
            .describe_endpoints()
            .filters(filter("endpoint-id", id)?)
            .send()
            .await
            .map_err(|e| aws_error("DescribeEndpoints", e))?;
        out.endpoints()
            .iter()
            .find_map(|e| e.endpoint_arn().map(str::to_string))
            .ok_or_else(|| {
                ServiceError::new(
                    Code::ResourceNotFoundFault,
                    format!("endpoint {id} not found"),
                )
            })
    }

    /// A task's ARN from its ARN or identifier.
    async fn task_arn(&self, id: &str) -> Result<String> {
        if id.starts_with("arn:") {
            return Ok(id.to_string());
        }
        let out = self
            .dms
            .describe_replication_tasks()
            .filters(filter("replication-task-id", id)?)
            .without_settings(true)
            .send()
            .await
            .map_err(|e| aws_error("DescribeReplicationTasks", e))?;
        out.replication_tasks()
            .iter()
            .find_map(|t| t.replication_task_arn().map(str::to_string))
            .ok_or_else(|| {
                ServiceError::new(
                    Code::ResourceNotFoundFault,
                    format!("replication task {id} not found"),
                )
            })
    }

    /// The instance's last answer for the endpoint, once it is not `testing` any more.
    async fn connection_result(&self, endpoint: &str, instance: &str) -> Result<d::Connection> {
        let deadline = tokio::time::Instant::now() + CONNECTION_TEST_BUDGET;
        loop {
            let out = self
                .dms
                .describe_connections()
                .filters(filter("endpoint-arn", endpoint)?)
                .filters(filter("replication-instance-arn", instance)?)
                .send()
                .await
                .map_err(|e| aws_error("DescribeConnections", e))?;
            let found = out.connections().iter().find(|c| {
                c.endpoint_arn() == Some(endpoint) && c.replication_instance_arn() == Some(instance)
            });
            match found {
                Some(c) if c.status() != Some("testing") => return Ok(c.clone()),
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(ServiceError::new(
                        Code::AwsService,
                        format!(
                            "the replication instance has not finished testing {endpoint} after {} s; see `aws dms describe-connections`",
                            CONNECTION_TEST_BUDGET.as_secs()
                        ),
                    ));
                }
                _ => tokio::time::sleep(CONNECTION_TEST_POLL).await,
            }
        }
    }
}

#[async_trait]
impl Dms for Aws {
    async fn create_endpoint(&self, by: &Principal, req: CreateEndpoint) -> Result<Endpoint> {
        self.acting(by)?;
        // The service layer's checks first (each engine has its settings), then AWS's needs.
        req.clone().into_endpoint(String::new())?;
        check_for_aws(&req)?;
        let out = self
            .dms
            .create_endpoint()
            .endpoint_identifier(&req.endpoint_identifier)
            .endpoint_type(match req.endpoint_type {
                EndpointType::Source => d::ReplicationEndpointTypeValue::Source,
                EndpointType::Target => d::ReplicationEndpointTypeValue::Target,
            })
            .engine_name(req.engine_name.name())
            .set_server_name(req.server_name.clone())
            .set_port(req.port.map(i32::from))
            .set_database_name(req.database_name.clone())
            .set_postgre_sql_settings(req.postgre_sql_settings.as_ref().map(postgres_to_sdk))
            .set_s3_settings(req.s3_settings.as_ref().map(s3_to_sdk))
            .send()
            .await
            .map_err(|e| aws_error("CreateEndpoint", e))?;
        out.endpoint()
            .map(endpoint_from_sdk)
            .ok_or_else(|| ServiceError::internal("CreateEndpoint answered no endpoint"))
    }

    async fn describe_endpoints(&self, by: &Principal) -> Result<Vec<Endpoint>> {
        self.acting(by)?;
        let mut all = Vec::new();
        let mut pages = self.dms.describe_endpoints().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeEndpoints", e))?;
            all.extend(page.endpoints().iter().map(endpoint_from_sdk));
        }
        Ok(all)
    }

    async fn delete_endpoint(&self, by: &Principal, endpoint: &str) -> Result<Endpoint> {
        self.acting(by)?;
        let arn = self.endpoint_arn(endpoint).await?;
        let out = self
            .dms
            .delete_endpoint()
            .endpoint_arn(arn)
            .send()
            .await
            .map_err(|e| aws_error("DeleteEndpoint", e))?;
        out.endpoint()
            .map(endpoint_from_sdk)
            .ok_or_else(|| ServiceError::internal("DeleteEndpoint answered no endpoint"))
    }

    /// DMS tests from a replication instance and answers at once with `testing`; the result
    /// comes from DescribeConnections, which this waits for (AWS never puts the secret in it).
    async fn test_connection(
        &self,
        by: &Principal,
        endpoint: &str,
        replication_instance: Option<&str>,
    ) -> Result<Connection> {
        self.acting(by)?;
        let instance = replication_instance.ok_or_else(|| {
            invalid(
                "on AWS a connection is tested from a replication instance: pass --replication-instance-arn (see `aws dms describe-replication-instances`)",
            )
        })?;
        let arn = self.endpoint_arn(endpoint).await?;
        self.dms
            .test_connection()
            .replication_instance_arn(instance)
            .endpoint_arn(&arn)
            .send()
            .await
            .map_err(|e| aws_error("TestConnection", e))?;
        let c = self.connection_result(&arn, instance).await?;
        let status = text(c.status());
        if status != "successful" {
            return Err(ServiceError::new(
                Code::AwsService,
                format!(
                    "the connection test of {} from {instance} ended {status}: {}",
                    text(c.endpoint_identifier()),
                    c.last_failure_message().unwrap_or("no reason given")
                ),
            ));
        }
        Ok(Connection {
            endpoint_arn: arn,
            endpoint_identifier: text(c.endpoint_identifier()),
            status,
        })
    }

    async fn create_replication_task(
        &self,
        by: &Principal,
        req: CreateReplicationTask,
    ) -> Result<ReplicationTask> {
        self.acting(by)?;
        let instance = req.replication_instance_arn.as_deref().ok_or_else(|| {
            invalid(
                "on AWS a task runs on a replication instance: pass --replication-instance-arn (make one with `aws dms create-replication-instance`)",
            )
        })?;
        // The rules are checked here as the local lake checks them, so a mistake is named
        // before AWS is asked.
        crate::service::dms::mapping::TableMappings::parse(&req.table_mappings)?;
        let source = self.endpoint_arn(&req.source_endpoint_arn).await?;
        let target = self.endpoint_arn(&req.target_endpoint_arn).await?;
        let out = self
            .dms
            .create_replication_task()
            .replication_task_identifier(&req.replication_task_identifier)
            .source_endpoint_arn(source)
            .target_endpoint_arn(target)
            .replication_instance_arn(instance)
            .migration_type(migration_type_to_sdk(req.migration_type))
            .table_mappings(&req.table_mappings)
            .send()
            .await
            .map_err(|e| aws_error("CreateReplicationTask", e))?;
        out.replication_task()
            .map(task_from_sdk)
            .ok_or_else(|| ServiceError::internal("CreateReplicationTask answered no task"))
    }

    /// AWS runs the task on its replication instance; `--wait` polls it like any run.
    async fn start_replication_task(
        &self,
        by: &Principal,
        task: &str,
        start: StartType,
    ) -> Result<ReplicationTask> {
        self.acting(by)?;
        let arn = self.task_arn(task).await?;
        let out = self
            .dms
            .start_replication_task()
            .replication_task_arn(arn)
            .start_replication_task_type(match start {
                StartType::StartReplication => d::StartReplicationTaskTypeValue::StartReplication,
                StartType::ResumeProcessing => d::StartReplicationTaskTypeValue::ResumeProcessing,
                StartType::ReloadTarget => d::StartReplicationTaskTypeValue::ReloadTarget,
            })
            .send()
            .await
            .map_err(|e| aws_error("StartReplicationTask", e))?;
        out.replication_task()
            .map(task_from_sdk)
            .ok_or_else(|| ServiceError::internal("StartReplicationTask answered no task"))
    }

    async fn stop_replication_task(&self, by: &Principal, task: &str) -> Result<ReplicationTask> {
        self.acting(by)?;
        let arn = self.task_arn(task).await?;
        let out = self
            .dms
            .stop_replication_task()
            .replication_task_arn(arn)
            .send()
            .await
            .map_err(|e| aws_error("StopReplicationTask", e))?;
        out.replication_task()
            .map(task_from_sdk)
            .ok_or_else(|| ServiceError::internal("StopReplicationTask answered no task"))
    }

    async fn describe_replication_tasks(&self, by: &Principal) -> Result<Vec<ReplicationTask>> {
        self.acting(by)?;
        let mut all = Vec::new();
        let mut pages = self
            .dms
            .describe_replication_tasks()
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeReplicationTasks", e))?;
            all.extend(page.replication_tasks().iter().map(task_from_sdk));
        }
        Ok(all)
    }

    async fn describe_table_statistics(
        &self,
        by: &Principal,
        task: &str,
    ) -> Result<Vec<TableStatistics>> {
        self.acting(by)?;
        let arn = self.task_arn(task).await?;
        let mut all = Vec::new();
        let mut pages = self
            .dms
            .describe_table_statistics()
            .replication_task_arn(&arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("DescribeTableStatistics", e))?;
            all.extend(page.table_statistics().iter().map(stats_from_sdk));
        }
        Ok(all)
    }

    async fn delete_replication_task(&self, by: &Principal, task: &str) -> Result<ReplicationTask> {
        self.acting(by)?;
        let arn = self.task_arn(task).await?;
        let out = self
            .dms
            .delete_replication_task()
            .replication_task_arn(arn)
            .send()
            .await
            .map_err(|e| aws_error("DeleteReplicationTask", e))?;
        out.replication_task()
            .map(task_from_sdk)
            .ok_or_else(|| ServiceError::internal("DeleteReplicationTask answered no task"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(engine: Engine, kind: EndpointType) -> CreateEndpoint {
        CreateEndpoint {
            endpoint_identifier: "e".into(),
            endpoint_type: kind,
            engine_name: engine,
            server_name: None,
            port: None,
            database_name: Some("db".into()),
            postgre_sql_settings: None,
            s3_settings: None,
            sqlite_settings: None,
        }
    }

    #[test]
    fn what_aws_cannot_do_is_refused_saying_what_instead() {
        let e = check_for_aws(&endpoint(Engine::Sqlite, EndpointType::Source)).unwrap_err();
        assert!(e.message.contains("lakectl extension"), "{}", e.message);
        let e = check_for_aws(&endpoint(Engine::Postgres, EndpointType::Source)).unwrap_err();
        assert!(
            e.message.contains("SecretsManagerAccessRoleArn"),
            "{}",
            e.message
        );
        let e = check_for_aws(&endpoint(Engine::S3, EndpointType::Target)).unwrap_err();
        assert!(e.message.contains("ServiceAccessRoleArn"), "{}", e.message);
        let mut ok = endpoint(Engine::S3, EndpointType::Target);
        ok.s3_settings = Some(S3Settings {
            service_access_role_arn: Some("arn:aws:iam::1:role/dms".into()),
            ..Default::default()
        });
        check_for_aws(&ok).unwrap();
    }

    #[test]
    fn s3_settings_keep_their_encryption() {
        let s = S3Settings {
            bucket_name: "raw".into(),
            bucket_folder: Some("dms".into()),
            data_format: DataFormat::Parquet,
            encryption_mode: "SSE_KMS".into(),
            server_side_encryption_kms_key_id: Some("arn:aws:kms:eu-west-1:1:key/k".into()),
            service_access_role_arn: Some("arn:aws:iam::1:role/dms".into()),
        };
        let sdk = s3_to_sdk(&s);
        assert_eq!(sdk.encryption_mode(), Some(&d::EncryptionModeValue::SseKms));
        assert_eq!(sdk.data_format(), Some(&d::DataFormatValue::Parquet));
        let back = endpoint_from_sdk(
            &d::Endpoint::builder()
                .engine_name("s3")
                .endpoint_type(d::ReplicationEndpointTypeValue::Target)
                .s3_settings(sdk)
                .build(),
        );
        assert_eq!(back.s3_settings, Some(s));
        assert_eq!(back.engine_name, Engine::S3);
        assert_eq!(back.endpoint_type, EndpointType::Target);
    }
}
