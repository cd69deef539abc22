//! DMS on the local lake: endpoints and replication tasks kept in meta.db (V10), every call
//! authorized and audited through `Lake::reading`/`Lake::audited`. A task is a run: it executes
//! on a thread of the process that starts it, records that process, and is stopped through the
//! store (`run.rs`). What it reads from a database goes only into sealed objects; a failure
//! message (which may come from data) is stored sealed.

mod pgoutput;
mod run;
mod served;
mod source;
mod values;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::authorizer::Call;
use super::{Lake, now, runner_gone, ts};
use crate::service::dms::mapping::TableMappings;
use crate::service::dms::{
    Connection, CreateEndpoint, CreateReplicationTask, Dms, Endpoint, EndpointType, Engine,
    ReplicationTask, StartType, TableStatistics, TaskStats, check_identifier, is_active,
};
use crate::service::{Code, Principal, Result, ServiceError};

fn not_found(what: &str, id: &str) -> ServiceError {
    ServiceError::new(
        Code::ResourceNotFoundFault,
        format!("{what} {id} not found"),
    )
}

/// An endpoint of an engine the local lake does not read (only listed from AWS accounts; the
/// local lake never creates one, but a stored definition is not trusted to say so).
pub(super) fn other_engine(name: &str) -> ServiceError {
    ServiceError::new(
        Code::InvalidParameterValueException,
        format!("the local lake does not read {name:?} endpoints: sources are postgres and sqlite"),
    )
}

fn task_context(arn: &str) -> String {
    format!("dms:task={arn}")
}

impl Lake {
    fn dms_arn(&self, kind: &str, id: &str) -> String {
        format!(
            "arn:aws:dms:{}:{}:{kind}:{id}",
            self.header.region, self.header.account_id
        )
    }

    /// An endpoint by its ARN or identifier.
    fn endpoint(&self, tx: &Transaction, id: &str) -> Result<Endpoint> {
        let def: Option<String> = tx
            .query_row(
                "SELECT definition FROM dms_endpoints WHERE arn = ?1 OR identifier = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        let def = def.ok_or_else(|| not_found("Endpoint", id))?;
        serde_json::from_str(&def).map_err(|e| ServiceError::internal(e.to_string()))
    }

    /// A task by its ARN or identifier, with its failure message opened and a task whose
    /// process ended without it reported as failed.
    fn task(&self, tx: &Transaction, id: &str) -> Result<ReplicationTask> {
        let row: Option<(String, String, u32)> = tx
            .query_row(
                "SELECT arn, task, pid FROM dms_tasks WHERE arn = ?1 OR identifier = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (arn, text, pid) = row.ok_or_else(|| not_found("Replication task", id))?;
        let mut task: ReplicationTask =
            serde_json::from_str(&text).map_err(|e| ServiceError::internal(e.to_string()))?;
        self.open_opt(&task_context(&arn), &mut task.last_failure_message);
        if is_active(&task.status) && runner_gone(pid) {
            task.status = "failed".into();
            task.last_failure_message =
                Some("the lakectl process running the task ended without it; start it again with resume-processing".into());
        }
        Ok(task)
    }

    /// Records a task's state; its failure message sealed. A change of status is announced as
    /// DMS announces it (`aws.dms`, "DMS Replication Task State Change"), in the same
    /// transaction, so a rule can start what follows a load.
    fn save_task(&self, tx: &Transaction, task: &ReplicationTask) -> Result<()> {
        let before: Option<String> = tx
            .query_row(
                "SELECT task FROM dms_tasks WHERE arn = ?1",
                params![task.replication_task_arn],
                |r| r.get(0),
            )
            .optional()?;
        let was = before
            .and_then(|t| serde_json::from_str::<ReplicationTask>(&t).ok())
            .map(|t| t.status);
        if was.as_deref() != Some(task.status.as_str()) {
            self.emit(
                tx,
                "aws.dms",
                "DMS Replication Task State Change",
                vec![task.replication_task_arn.clone()],
                json!({
                    "type": "REPLICATION_TASK",
                    "category": "StateChange",
                    "eventType": format!("REPLICATION_TASK_{}", task.status.to_uppercase()),
                    "detailMessage": format!("Replication task {}", task.status),
                    "resourceLink": task.replication_task_arn,
                }),
            )?;
        }
        let mut stored = task.clone();
        self.seal_opt(
            &task_context(&task.replication_task_arn),
            &mut stored.last_failure_message,
        );
        tx.execute(
            "UPDATE dms_tasks SET task = ?2 WHERE arn = ?1",
            params![
                task.replication_task_arn,
                serde_json::to_string(&stored).expect("tasks serialize")
            ],
        )?;
        Ok(())
    }

    fn table_stats(&self, tx: &Transaction, arn: &str) -> Result<Vec<TableStatistics>> {
        let texts: Vec<String> = tx
            .prepare("SELECT stats FROM dms_table_stats WHERE task_arn = ?1 ORDER BY schema_name, table_name")?
            .query_map(params![arn], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(|e| ServiceError::internal(e.to_string())))
            .collect()
    }

    fn save_table_stats(&self, tx: &Transaction, arn: &str, s: &TableStatistics) -> Result<()> {
        tx.execute(
            "INSERT INTO dms_table_stats(task_arn, schema_name, table_name, stats) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(task_arn, schema_name, table_name) DO UPDATE SET stats = excluded.stats",
            params![arn, s.schema_name, s.table_name, serde_json::to_string(s).expect("stats serialize")],
        )?;
        Ok(())
    }

    /// The primary key a DMS task recorded for the table folder `prefix` of `bucket` (where
    /// its full load and change files are), if a task writes there.
    pub(in crate::local) fn dms_table_key(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Option<Vec<String>>> {
        let text: Option<String> = self.meta.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT columns FROM dms_table_keys WHERE bucket = ?1 AND prefix = ?2",
                    params![bucket, prefix],
                    |r| r.get(0),
                )
                .optional()?)
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| ServiceError::internal(e.to_string())))
            .transpose()
    }

    fn task_call(&self, operation: &'static str, id: &str) -> Call {
        let ident = id.rsplit(':').next().unwrap_or(id);
        Call::new("dms", operation, id).on(self.dms_arn("task", ident))
    }

    fn endpoint_call(&self, operation: &'static str, id: &str) -> Call {
        let ident = id.rsplit(':').next().unwrap_or(id);
        Call::new("dms", operation, id).on(self.dms_arn("endpoint", ident))
    }
}

#[async_trait]
impl Dms for Lake {
    async fn create_endpoint(&self, by: &Principal, req: CreateEndpoint) -> Result<Endpoint> {
        let arn = self.dms_arn("endpoint", &req.endpoint_identifier);
        let call = self.endpoint_call("CreateEndpoint", &req.endpoint_identifier);
        self.audited(
            by,
            call,
            |tx, _| {
                // Checked once the caller may create endpoints at all.
                let endpoint = req.into_endpoint(arn.clone())?;
                let exists: bool = tx.query_row(
                    "SELECT count(*) > 0 FROM dms_endpoints WHERE identifier = ?1",
                    params![endpoint.endpoint_identifier],
                    |r| r.get(0),
                )?;
                if exists {
                    return Err(ServiceError::new(
                        Code::ResourceAlreadyExistsFault,
                        format!("The endpoint {} already exists", endpoint.endpoint_identifier),
                    ));
                }
                tx.execute(
                    "INSERT INTO dms_endpoints(arn, identifier, definition, created) VALUES (?1, ?2, ?3, ?4)",
                    params![arn, endpoint.endpoint_identifier, serde_json::to_string(&endpoint).expect("endpoints serialize"), ts(now())],
                )?;
                Ok((endpoint.clone(), json!({"EndpointArn": arn, "EngineName": endpoint.engine_name})))
            },
        )
    }

    async fn describe_endpoints(&self, by: &Principal) -> Result<Vec<Endpoint>> {
        self.reading(by, Call::new("dms", "DescribeEndpoints", "*"), |tx, _| {
            let defs: Vec<String> = tx
                .prepare("SELECT definition FROM dms_endpoints ORDER BY identifier")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            defs.iter()
                .map(|d| serde_json::from_str(d).map_err(|e| ServiceError::internal(e.to_string())))
                .collect()
        })
    }

    async fn delete_endpoint(&self, by: &Principal, id: &str) -> Result<Endpoint> {
        self.audited(by, self.endpoint_call("DeleteEndpoint", id), |tx, _| {
            let endpoint = self.endpoint(tx, id)?;
            let used: i64 = tx.query_row(
                "SELECT count(*) FROM dms_tasks WHERE source_endpoint = ?1 OR target_endpoint = ?1",
                params![endpoint.endpoint_arn],
                |r| r.get(0),
            )?;
            if used > 0 {
                return Err(ServiceError::new(
                    Code::InvalidResourceStateFault,
                    format!(
                        "the endpoint {} is used by {used} replication task(s); delete them first",
                        endpoint.endpoint_identifier
                    ),
                ));
            }
            tx.execute(
                "DELETE FROM dms_endpoints WHERE arn = ?1",
                params![endpoint.endpoint_arn],
            )?;
            let mut gone = endpoint;
            gone.status = "deleting".into();
            Ok((gone, json!({})))
        })
    }

    /// The local lake connects from this process: a replication instance is not used.
    async fn test_connection(
        &self,
        by: &Principal,
        id: &str,
        _replication_instance: Option<&str>,
    ) -> Result<Connection> {
        let endpoint = self.reading(by, self.endpoint_call("TestConnection", id), |tx, _| {
            self.endpoint(tx, id)
        })?;
        match &endpoint.engine_name {
            Engine::Postgres => {
                let params = self.pg_params(by, &endpoint).await?;
                let client = params.connect().await?;
                client
                    .simple_query("SELECT 1")
                    .await
                    .map_err(|e| params.error("cannot query", &e))?;
            }
            Engine::Sqlite => {
                let src = run::sqlite_source(&endpoint)?;
                super::blocking(move || src.check()).await?;
            }
            Engine::S3 => {
                let s3 = endpoint.s3_settings.clone().unwrap_or_default();
                let lake = self.arc();
                let by = by.clone();
                super::blocking(move || {
                    lake.list_keys(
                        &by,
                        &s3.bucket_name,
                        s3.bucket_folder.as_deref().unwrap_or(""),
                    )
                    .map(|_| ())
                })
                .await?;
            }
            Engine::Other(name) => return Err(other_engine(name)),
        }
        Ok(Connection {
            endpoint_arn: endpoint.endpoint_arn,
            endpoint_identifier: endpoint.endpoint_identifier,
            status: "successful".into(),
        })
    }

    async fn create_replication_task(
        &self,
        by: &Principal,
        req: CreateReplicationTask,
    ) -> Result<ReplicationTask> {
        let arn = self.dms_arn("task", &req.replication_task_identifier);
        self.audited(
            by,
            self.task_call("CreateReplicationTask", &req.replication_task_identifier),
            |tx, _| {
                check_identifier(&req.replication_task_identifier)?;
                TableMappings::parse(&req.table_mappings)?;
                let source = self.endpoint(tx, &req.source_endpoint_arn)?;
                let target = self.endpoint(tx, &req.target_endpoint_arn)?;
                if source.endpoint_type != EndpointType::Source || target.endpoint_type != EndpointType::Target {
                    return Err(ServiceError::new(
                        Code::InvalidParameterValueException,
                        "--source-endpoint-arn names a source endpoint and --target-endpoint-arn a target",
                    ));
                }
                if req.migration_type.cdc() && source.engine_name != Engine::Postgres {
                    return Err(ServiceError::new(
                        Code::InvalidParameterValueException,
                        "ongoing changes (cdc, full-load-and-cdc) come from PostgreSQL sources only",
                    ));
                }
                let exists: bool = tx.query_row(
                    "SELECT count(*) > 0 FROM dms_tasks WHERE identifier = ?1",
                    params![req.replication_task_identifier],
                    |r| r.get(0),
                )?;
                if exists {
                    return Err(ServiceError::new(
                        Code::ResourceAlreadyExistsFault,
                        format!("The replication task {} already exists", req.replication_task_identifier),
                    ));
                }
                let task = ReplicationTask {
                    replication_task_identifier: req.replication_task_identifier.clone(),
                    replication_task_arn: arn.clone(),
                    source_endpoint_arn: source.endpoint_arn.clone(),
                    target_endpoint_arn: target.endpoint_arn.clone(),
                    replication_instance_arn: None,
                    migration_type: req.migration_type,
                    table_mappings: req.table_mappings.clone(),
                    status: "ready".into(),
                    stop_reason: None,
                    last_failure_message: None,
                    replication_task_creation_date: now(),
                    replication_task_start_date: None,
                    replication_task_stats: TaskStats::default(),
                    recovery_checkpoint: None,
                };
                tx.execute(
                    "INSERT INTO dms_tasks(arn, identifier, source_endpoint, target_endpoint, task) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![arn, task.replication_task_identifier, source.endpoint_arn, target.endpoint_arn, serde_json::to_string(&task).expect("tasks serialize")],
                )?;
                Ok((task, json!({"ReplicationTaskArn": arn, "MigrationType": req.migration_type})))
            },
        )
    }

    async fn start_replication_task(
        &self,
        by: &Principal,
        id: &str,
        start: StartType,
    ) -> Result<ReplicationTask> {
        let task = self.audited(by, self.task_call("StartReplicationTask", id), |tx, _| {
            let mut task = self.task(tx, id)?;
            if is_active(&task.status) {
                return Err(ServiceError::new(
                    Code::InvalidResourceStateFault,
                    format!("the replication task {} is {}; stop it first", task.replication_task_identifier, task.status),
                ));
            }
            if start == StartType::StartReplication && task.status != "ready" {
                return Err(ServiceError::new(
                    Code::InvalidResourceStateFault,
                    "start-replication starts a task that never ran; use resume-processing or reload-target",
                ));
            }
            task.status = "starting".into();
            task.stop_reason = None;
            task.last_failure_message = None;
            task.replication_task_start_date = Some(now());
            task.replication_task_stats.start_date = Some(now());
            task.replication_task_stats.stop_date = None;
            // A lake server runs the task when one is running (this process, if it is one).
            let server = self.live_server(tx)?;
            let runner = server.unwrap_or(std::process::id());
            self.hand_task(tx, &task.replication_task_arn, runner, by, start)?;
            if server.is_none() {
                tx.execute(
                    "UPDATE dms_tasks SET handed_start = NULL WHERE arn = ?1",
                    params![task.replication_task_arn],
                )?;
            }
            self.save_task(tx, &task)?;
            let handed = server.is_some();
            Ok((
                (task, handed),
                json!({"StartReplicationTaskType": format!("{start:?}"), "Runner": runner}),
            ))
        })?;
        let (task, handed) = task;
        if handed {
            // The server's tick starts it within a second.
            return Ok(task);
        }
        let lake = self.arc();
        let by = by.clone();
        let started = task.clone();
        // A blocking thread of the caller's runtime, as job runs: the process that started the
        // task stays until the task ends (a CDC task: until it is stopped), and a server's task
        // outlives the request. The database connection gets a runtime of its own there.
        tokio::task::spawn_blocking(move || lake.execute_task(started, by, start));
        Ok(task)
    }

    async fn stop_replication_task(&self, by: &Principal, id: &str) -> Result<ReplicationTask> {
        self.audited(by, self.task_call("StopReplicationTask", id), |tx, _| {
            let mut task = self.task(tx, id)?;
            if !is_active(&task.status) {
                return Err(ServiceError::new(
                    Code::InvalidResourceStateFault,
                    format!(
                        "the replication task {} is {}, not running",
                        task.replication_task_identifier, task.status
                    ),
                ));
            }
            tx.execute(
                "UPDATE dms_tasks SET stop_requested = 1 WHERE arn = ?1",
                params![task.replication_task_arn],
            )?;
            task.status = "stopping".into();
            self.save_task(tx, &task)?;
            Ok((task, json!({})))
        })
    }

    async fn describe_replication_tasks(&self, by: &Principal) -> Result<Vec<ReplicationTask>> {
        self.reading(
            by,
            Call::new("dms", "DescribeReplicationTasks", "*"),
            |tx, _| {
                let arns: Vec<String> = tx
                    .prepare("SELECT arn FROM dms_tasks ORDER BY identifier")?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                arns.iter().map(|a| self.task(tx, a)).collect()
            },
        )
    }

    async fn describe_table_statistics(
        &self,
        by: &Principal,
        id: &str,
    ) -> Result<Vec<TableStatistics>> {
        self.reading(
            by,
            self.task_call("DescribeTableStatistics", id),
            |tx, _| {
                let task = self.task(tx, id)?;
                self.table_stats(tx, &task.replication_task_arn)
            },
        )
    }

    async fn delete_replication_task(&self, by: &Principal, id: &str) -> Result<ReplicationTask> {
        // Authorized and checked first, so the slot is dropped only for a task being deleted.
        let task = self.reading(by, self.task_call("DeleteReplicationTask", id), |tx, _| {
            let task = self.task(tx, id)?;
            if is_active(&task.status) {
                return Err(ServiceError::new(
                    Code::InvalidResourceStateFault,
                    format!(
                        "the replication task {} is {}; stop it first",
                        task.replication_task_identifier, task.status
                    ),
                ));
            }
            Ok(task)
        })?;
        self.drop_slot(by, &task).await?;
        self.audited(by, self.task_call("DeleteReplicationTask", id), |tx, _| {
            let mut task = self.task(tx, id)?;
            if is_active(&task.status) {
                return Err(ServiceError::new(
                    Code::InvalidResourceStateFault,
                    format!(
                        "the replication task {} is {}; stop it first",
                        task.replication_task_identifier, task.status
                    ),
                ));
            }
            tx.execute(
                "DELETE FROM dms_tasks WHERE arn = ?1",
                params![task.replication_task_arn],
            )?;
            task.status = "deleting".into();
            Ok((task, json!({})))
        })
    }
}
