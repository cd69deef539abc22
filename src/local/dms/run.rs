//! Running a replication task: the full load (each selected table to
//! `FOLDER/SCHEMA/TABLE/LOAD00000001.csv|parquet`, committed with its statistics) and the
//! ongoing changes from PostgreSQL's logical replication (a slot on the pgoutput plugin, read
//! through its SQL functions, a change file per table per batch with the `Op` column first).
//! Exactly once: a batch's files and the slot position they reach are committed in one
//! metadata transaction, and only then is the slot advanced; a task resumed after a crash
//! skips the transactions at or below the recorded position, so nothing is lost or doubled.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rusqlite::params;

use super::pgoutput::{self, Datum, Message, Relation, format_lsn};
use super::source::{PgParams, SqliteSource, TableDef, ident, pg_read, pg_tables};
use super::values::{Cell, Rows};
use crate::local::Lake;
use crate::local::objects::{BodyWriter, SealedBody};
use crate::service::dms::mapping::TableMappings;
use crate::service::dms::{
    DataFormat, Endpoint, Engine, ReplicationTask, StartType, TableStatistics,
};
use crate::service::secrets::Secrets;
use crate::service::storage::{PutOptions, Sse};
use crate::service::{Code, Principal, Result, ServiceError};

/// Rows gathered before they are encoded: a Parquet row group's worth.
const BATCH_ROWS: usize = 64 * 1024;
/// How often an idle CDC task asks the slot for changes.
const POLL: Duration = Duration::from_millis(200);
/// Changes asked for at once (whole transactions always come together).
const PEEK_CHANGES: i32 = 20_000;

pub(super) fn sqlite_source(endpoint: &Endpoint) -> Result<SqliteSource> {
    let path = endpoint
        .sqlite_settings
        .as_ref()
        .map(|s| s.database_path.clone())
        .ok_or_else(|| ServiceError::internal("a sqlite endpoint without its settings"))?;
    Ok(SqliteSource { path: path.into() })
}

/// The task's replication slot (and publication): the endpoint's `SlotName`, else one named
/// after the task.
pub(super) fn slot_name(task: &ReplicationTask, source: &Endpoint) -> String {
    source
        .postgre_sql_settings
        .as_ref()
        .and_then(|p| p.slot_name.clone())
        .unwrap_or_else(|| {
            format!(
                "lakectl_{}",
                task.replication_task_identifier
                    .replace('-', "_")
                    .to_lowercase()
            )
        })
}

/// Where a task writes.
struct Target {
    bucket: String,
    /// `""` or `folder/`.
    folder: String,
    format: DataFormat,
    put: PutOptions,
}

impl Target {
    fn of(endpoint: &Endpoint) -> Result<Target> {
        let s3 = endpoint
            .s3_settings
            .clone()
            .ok_or_else(|| ServiceError::internal("an s3 endpoint without its settings"))?;
        let folder = s3
            .bucket_folder
            .as_deref()
            .map(|f| f.trim_matches('/'))
            .filter(|f| !f.is_empty())
            .map(|f| format!("{f}/"))
            .unwrap_or_default();
        Ok(Target {
            bucket: s3.bucket_name,
            folder,
            format: s3.data_format,
            // Every object of the lake is sealed: SSE_KMS under the key named, else the
            // bucket's default key.
            put: PutOptions {
                sse: Some(Sse::Kms),
                sse_kms_key_id: s3.server_side_encryption_kms_key_id,
            },
        })
    }

    fn table_prefix(&self, t: &TableDef) -> String {
        format!("{}{}/{}/", self.folder, t.target_schema, t.target_name)
    }
}

/// An output file being written through the storage service (sealed as it is written).
enum FileWriter {
    Csv(Box<arrow::csv::Writer<BodyWriter>>),
    Parquet(Box<ArrowWriter<BodyWriter>>),
}

impl FileWriter {
    fn new(
        format: DataFormat,
        body: BodyWriter,
        schema: arrow::datatypes::SchemaRef,
    ) -> Result<FileWriter> {
        Ok(match format {
            // A header line, so the crawler names the columns (DMS's AddColumnName=true).
            DataFormat::Csv => FileWriter::Csv(Box::new(
                arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .with_timestamp_format("%Y-%m-%d %H:%M:%S%.6f".into())
                    .build(body),
            )),
            DataFormat::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(
                        ZstdLevel::try_new(1).expect("zstd level 1"),
                    ))
                    .set_max_row_group_row_count(Some(BATCH_ROWS * 2))
                    .build();
                FileWriter::Parquet(Box::new(
                    ArrowWriter::try_new(body, schema, Some(props)).map_err(write_error)?,
                ))
            }
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            FileWriter::Csv(w) => w.write(batch).map_err(write_error),
            FileWriter::Parquet(w) => w.write(batch).map_err(write_error),
        }
    }

    fn finish(self) -> Result<SealedBody> {
        let body = match self {
            FileWriter::Csv(w) => w.into_inner(),
            FileWriter::Parquet(w) => w.into_inner().map_err(write_error)?,
        };
        body.finish()
    }
}

fn write_error(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(Code::LocalIo, format!("cannot write a target file: {e}"))
}

/// The source side of a running task (one per task, so its size does not matter).
#[allow(clippy::large_enum_variant)]
enum SourceConn {
    Postgres {
        params: PgParams,
        client: tokio_postgres::Client,
    },
    Sqlite(SqliteSource),
}

/// Per-table change counts of one batch.
#[derive(Default, Clone, Copy)]
struct Counts {
    inserts: u64,
    updates: u64,
    deletes: u64,
}

impl Lake {
    /// The connection parameters of a PostgreSQL endpoint, its credentials read from Secrets
    /// Manager as `by` (audited there; refused without GetSecretValue and kms:Decrypt).
    pub(super) async fn pg_params(&self, by: &Principal, endpoint: &Endpoint) -> Result<PgParams> {
        let pg = endpoint.postgre_sql_settings.clone().unwrap_or_default();
        let secret_id = pg
            .secrets_manager_secret_id
            .clone()
            .ok_or_else(|| ServiceError::internal("a postgres endpoint without its secret"))?;
        let value = self.current_value(by, &secret_id).await.map_err(|e| {
            ServiceError::new(
                e.code,
                format!(
                    "cannot read the endpoint's secret {secret_id}: {}",
                    e.message
                ),
            )
        })?;
        let database = endpoint
            .database_name
            .clone()
            .or(pg.database_name.clone())
            .unwrap_or_default();
        PgParams::from_secret(
            &secret_id,
            &value,
            endpoint
                .server_name
                .as_deref()
                .or(pg.server_name.as_deref()),
            endpoint.port.or(pg.port),
            &database,
        )
    }

    fn stop_requested(&self, arn: &str) -> bool {
        self.meta
            .read(|tx| {
                Ok(tx.query_row(
                    "SELECT stop_requested FROM dms_tasks WHERE arn = ?1",
                    params![arn],
                    |r| r.get::<_, bool>(0),
                )?)
            })
            .unwrap_or(true)
    }

    fn update_task(&self, arn: &str, f: impl FnOnce(&mut ReplicationTask)) -> Result<()> {
        self.meta.write(|tx| {
            let mut task = self.task(tx, arn)?;
            f(&mut task);
            self.save_task(tx, &task)
        })
    }

    fn update_stats(
        &self,
        arn: &str,
        table: &TableDef,
        f: impl FnOnce(&mut TableStatistics),
    ) -> Result<()> {
        self.meta.write(|tx| self.change_stats(tx, arn, table, f))
    }

    fn change_stats(
        &self,
        tx: &rusqlite::Transaction,
        arn: &str,
        table: &TableDef,
        f: impl FnOnce(&mut TableStatistics),
    ) -> Result<()> {
        let mut s = self
            .table_stats(tx, arn)?
            .into_iter()
            .find(|s| s.schema_name == table.schema && s.table_name == table.name)
            .unwrap_or_else(|| TableStatistics {
                schema_name: table.schema.clone(),
                table_name: table.name.clone(),
                table_state: "Before load".into(),
                ..Default::default()
            });
        f(&mut s);
        s.last_update_time = Some(super::now());
        self.save_table_stats(tx, arn, &s)
    }

    /// The task's thread: runs it to its end and records how it ended.
    pub(super) fn execute_task(&self, task: ReplicationTask, by: Principal, start: StartType) {
        let arn = task.replication_task_arn.clone();
        let started = Instant::now();
        let outcome = (|| -> Result<&'static str> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ServiceError::internal(format!("cannot start a runtime: {e}")))?;
            rt.block_on(self.run_task(&task, &by, start))
        })();
        let elapsed = started.elapsed().as_millis() as u64;
        let saved = self.update_task(&arn, |t| {
            t.replication_task_stats.elapsed_time_millis = elapsed;
            t.replication_task_stats.stop_date = Some(super::now());
            t.replication_task_stats.tables_loading = 0;
            match outcome {
                Ok(reason) => {
                    t.status = "stopped".into();
                    t.stop_reason = Some(reason.into());
                }
                Err(e) => {
                    t.status = "failed".into();
                    t.stop_reason = Some("Stop Reason FATAL_ERROR".into());
                    t.last_failure_message = Some(format!("{}: {}", e.code_name(), e.message));
                }
            }
        });
        if let Err(e) = saved {
            tracing::error!("cannot record the end of replication task {arn}: {e}");
        }
    }

    async fn run_task(
        &self,
        task: &ReplicationTask,
        by: &Principal,
        start: StartType,
    ) -> Result<&'static str> {
        let arn = task.replication_task_arn.as_str();
        let (source, target) = self.meta.read(|tx| {
            Ok((
                self.endpoint(tx, &task.source_endpoint_arn)?,
                self.endpoint(tx, &task.target_endpoint_arn)?,
            ))
        })?;
        let mappings = TableMappings::parse(&task.table_mappings)?;
        let target = Target::of(&target)?;
        let mut conn = match &source.engine_name {
            Engine::Postgres => {
                let params = self.pg_params(by, &source).await?;
                let client = params.connect().await?;
                SourceConn::Postgres { params, client }
            }
            Engine::Sqlite => SourceConn::Sqlite(sqlite_source(&source)?),
            Engine::S3 => {
                return Err(ServiceError::new(
                    Code::InvalidParameterValueException,
                    "an s3 endpoint is a target, not a source",
                ));
            }
            Engine::Other(name) => return Err(super::other_engine(name)),
        };
        let tables = match &conn {
            SourceConn::Postgres { params, client } => pg_tables(params, client, &mappings).await?,
            SourceConn::Sqlite(s) => s.tables(&mappings)?,
        };
        if tables.is_empty() {
            return Err(ServiceError::new(
                Code::ResourceNotFoundFault,
                "the table mappings select no table of the source database",
            ));
        }
        let fresh = start != StartType::ResumeProcessing;
        // The slot first, so no change made while the tables are loaded is missed.
        let slot = if task.migration_type.cdc() {
            let SourceConn::Postgres { params, client } = &conn else {
                return Err(ServiceError::new(
                    Code::InvalidParameterValueException,
                    "ongoing changes come from PostgreSQL sources only",
                ));
            };
            Some(
                self.prepare_slot(task, &source, params, client, &tables, fresh)
                    .await?,
            )
        } else {
            None
        };
        let loaded = self.meta.read(|tx| self.table_stats(tx, arn))?;
        let already_loaded = |t: &TableDef| {
            loaded.iter().any(|s| {
                s.schema_name == t.schema
                    && s.table_name == t.name
                    && s.table_state == "Table completed"
            })
        };
        if task.migration_type.full_load() {
            if fresh {
                self.meta.write(|tx| {
                    tx.execute(
                        "DELETE FROM dms_table_stats WHERE task_arn = ?1",
                        params![arn],
                    )?;
                    Ok(())
                })?;
            }
            let todo: Vec<&TableDef> = tables
                .iter()
                .filter(|t| fresh || !already_loaded(t))
                .collect();
            self.update_task(arn, |t| {
                t.status = "running".into();
                t.replication_task_stats.tables_queued = todo.len() as u32;
            })?;
            for t in &todo {
                self.update_stats(arn, t, |s| s.table_state = "Before load".into())?;
            }
            let total = tables.len() as u32;
            for (i, table) in todo.iter().enumerate() {
                if self.stop_requested(arn) {
                    return Ok("Stop Reason STOPPED_BY_USER");
                }
                self.update_task(arn, |t| {
                    t.replication_task_stats.tables_loading = 1;
                    t.replication_task_stats.tables_queued = (todo.len() - i - 1) as u32;
                })?;
                if let Err(e) = self.load_table(arn, by, &mut conn, &target, table).await {
                    let _ = self.update_stats(arn, table, |s| s.table_state = "Table error".into());
                    let _ = self.update_task(arn, |t| t.replication_task_stats.tables_errored += 1);
                    return Err(e);
                }
                let done = total - (todo.len() - i - 1) as u32;
                self.update_task(arn, |t| {
                    t.replication_task_stats.tables_loaded = done;
                    t.replication_task_stats.full_load_progress_percent = done * 100 / total;
                })?;
            }
            self.update_task(arn, |t| {
                t.replication_task_stats.full_load_finish_date = Some(super::now());
                t.replication_task_stats.full_load_progress_percent = 100;
            })?;
        }
        match (slot, conn) {
            (Some(slot), SourceConn::Postgres { params, client }) => {
                self.update_task(arn, |t| t.status = "running".into())?;
                self.stream_changes(task, by, &params, &client, &target, &tables, &slot)
                    .await
            }
            _ => Ok("Stop Reason FULL_LOAD_ONLY_FINISHED"),
        }
    }

    async fn load_table(
        &self,
        arn: &str,
        by: &Principal,
        conn: &mut SourceConn,
        target: &Target,
        table: &TableDef,
    ) -> Result<()> {
        self.update_stats(arn, table, |s| {
            s.table_state = "Full load".into();
            s.full_load_start_time = Some(super::now());
        })?;
        let prefix = target.table_prefix(table);
        let key = format!("{prefix}LOAD00000001.{}", target.format.extension());
        let body = self.dms_body(by, &target.bucket, &key, &target.put)?;
        let mut rows = Rows::new(&[], &table.columns);
        let mut writer = Some(FileWriter::new(target.format, body, rows.schema())?);
        let mut checked = Instant::now();
        let stop_check = || self.stop_requested(arn);
        let mut on_row = |cells: &[Cell]| -> Result<()> {
            rows.push(cells).map_err(|bad| {
                ServiceError::new(
                    Code::InvalidResourceStateFault,
                    format!("{}.{}: {bad}", table.schema, table.name),
                )
            })?;
            if rows.len() >= BATCH_ROWS {
                let w = writer.as_mut().expect("the writer lives until the end");
                w.write(&rows.take())?;
                if checked.elapsed() > Duration::from_secs(1) {
                    checked = Instant::now();
                    if stop_check() {
                        return Err(ServiceError::new(Code::Cancelled, "the task was stopped"));
                    }
                }
            }
            Ok(())
        };
        let n = match conn {
            SourceConn::Postgres { params, client } => {
                pg_read(params, client, table, &mut on_row).await?
            }
            SourceConn::Sqlite(s) => s.read(table, &mut on_row)?,
        };
        let mut w = writer.take().expect("the writer lives until the end");
        if !rows.is_empty() {
            w.write(&rows.take())?;
        }
        let sealed = w.finish()?;
        // The load replaces whatever an earlier run left for the table, in the same commit
        // as its statistics.
        self.commit_bodies_and(
            by,
            vec![sealed],
            Some((target.bucket.as_str(), prefix.as_str())),
            |tx| {
                self.record_table_key(tx, target, table)?;
                self.change_stats(tx, arn, table, |s| {
                    s.full_load_rows = n;
                    s.inserts = 0;
                    s.updates = 0;
                    s.deletes = 0;
                    s.table_state = "Table completed".into();
                    s.full_load_end_time = Some(super::now());
                })?;
                Ok((Vec::new(), ()))
            },
        )
    }

    /// Records the primary key of `table`'s folder (its columns' target names), in the
    /// transaction of the files written there: a job applying the folder's changes reads it.
    fn record_table_key(
        &self,
        tx: &rusqlite::Transaction,
        target: &Target,
        table: &TableDef,
    ) -> Result<()> {
        let key: Vec<&str> = table
            .columns
            .iter()
            .filter(|c| c.key)
            .map(|c| c.target.as_str())
            .collect();
        let prefix = target.table_prefix(table);
        if key.is_empty() {
            tx.execute(
                "DELETE FROM dms_table_keys WHERE bucket = ?1 AND prefix = ?2",
                params![target.bucket, prefix],
            )?;
        } else {
            tx.execute(
                "INSERT INTO dms_table_keys(bucket, prefix, columns) VALUES (?1, ?2, ?3)
                 ON CONFLICT(bucket, prefix) DO UPDATE SET columns = excluded.columns",
                params![
                    target.bucket,
                    prefix,
                    serde_json::to_string(&key).expect("names serialize")
                ],
            )?;
        }
        Ok(())
    }

    fn dms_body(
        &self,
        by: &Principal,
        bucket: &str,
        key: &str,
        put: &PutOptions,
    ) -> Result<BodyWriter> {
        let plan = self.meta.read(|tx| {
            let caller = self.caller(tx, by)?;
            self.plan_put(tx, &caller, bucket, key, put)
        })?;
        self.body_writer(plan)
    }

    /// The task's slot and publication: made anew on a fresh start (with the recorded position
    /// reset), kept on a resume (whose slot must still exist).
    async fn prepare_slot(
        &self,
        task: &ReplicationTask,
        source: &Endpoint,
        params: &PgParams,
        client: &tokio_postgres::Client,
        tables: &[TableDef],
        fresh: bool,
    ) -> Result<String> {
        let slot = slot_name(task, source);
        let exists = client
            .query_opt(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await
            .map_err(|e| params.error("cannot look up the replication slot", &e))?
            .is_some();
        if !fresh {
            if !exists {
                return Err(ServiceError::new(
                    Code::InvalidResourceStateFault,
                    format!(
                        "the replication slot {slot} no longer exists; reload-target starts the task again"
                    ),
                ));
            }
            return Ok(slot);
        }
        if exists {
            client
                .execute("SELECT pg_drop_replication_slot($1)", &[&slot])
                .await
                .map_err(|e| params.error("cannot drop the old replication slot", &e))?;
        }
        let list: Vec<String> = tables
            .iter()
            .map(|t| format!("{}.{}", ident(&t.schema), ident(&t.name)))
            .collect();
        client
            .batch_execute(&format!(
                "DROP PUBLICATION IF EXISTS {p}; CREATE PUBLICATION {p} FOR TABLE {}",
                list.join(", "),
                p = ident(&slot)
            ))
            .await
            .map_err(|e| params.error("cannot create the publication", &e))?;
        client
            .execute(
                "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
                &[&slot],
            )
            .await
            .map_err(|e| {
                params.error(
                    "cannot create the replication slot (the role needs REPLICATION)",
                    &e,
                )
            })?;
        self.meta.write(|tx| {
            tx.execute(
                "UPDATE dms_tasks SET checkpoint = 0, change_files = 0 WHERE arn = ?1",
                params![task.replication_task_arn],
            )?;
            Ok(())
        })?;
        Ok(slot)
    }

    #[allow(clippy::too_many_arguments)]
    async fn stream_changes(
        &self,
        task: &ReplicationTask,
        by: &Principal,
        params: &PgParams,
        client: &tokio_postgres::Client,
        target: &Target,
        tables: &[TableDef],
        slot: &str,
    ) -> Result<&'static str> {
        let arn = task.replication_task_arn.as_str();
        let publication = slot.to_string();
        let mut relations: BTreeMap<u32, Relation> = BTreeMap::new();
        loop {
            if self.stop_requested(arn) {
                return Ok("Stop Reason STOPPED_BY_USER");
            }
            let checkpoint: u64 = self
                .meta
                .read(|tx| {
                    Ok(tx.query_row(
                        "SELECT checkpoint FROM dms_tasks WHERE arn = ?1",
                        params![arn],
                        |r| r.get::<_, Option<i64>>(0),
                    )?)
                })?
                .unwrap_or(0) as u64;
            let rows = client
                .query(
                    "SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, $2, 'proto_version', '1', 'publication_names', $3)",
                    &[&slot, &PEEK_CHANGES, &publication],
                )
                .await
                .map_err(|e| params.error("cannot read the replication slot", &e))?;
            if rows.is_empty() {
                tokio::time::sleep(POLL).await;
                continue;
            }
            // Whole transactions, each kept only if it ends past the recorded position.
            let mut pending: Vec<(u32, char, Vec<Datum>)> = Vec::new();
            let mut changes: Vec<(u32, char, Vec<Datum>)> = Vec::new();
            let mut reached = checkpoint;
            let mut oldest_commit: Option<i64> = None;
            for row in &rows {
                let data: &[u8] = row.get(0);
                let msg = pgoutput::decode(data).map_err(|e| {
                    ServiceError::new(Code::InvalidResourceStateFault, e.to_string())
                })?;
                match msg {
                    Message::Relation(r) => {
                        relations.insert(r.id, r);
                    }
                    Message::Begin { .. } => pending.clear(),
                    Message::Insert { relation, new } => pending.push((relation, 'I', new)),
                    Message::Update { relation, new, .. } => pending.push((relation, 'U', new)),
                    Message::Delete { relation, old } => pending.push((relation, 'D', old)),
                    Message::Commit {
                        end_lsn, timestamp, ..
                    } => {
                        if end_lsn > reached {
                            reached = end_lsn;
                            changes.append(&mut pending);
                            oldest_commit.get_or_insert(timestamp);
                        }
                        pending.clear();
                    }
                    Message::Truncate { .. } | Message::Other(_) => {}
                }
            }
            if reached > checkpoint {
                self.write_changes(arn, by, target, tables, &relations, changes, reached)?;
                if let Some(ts) = oldest_commit {
                    // PostgreSQL's timestamps count from 2000-01-01.
                    let commit_us = ts + 946_684_800_000_000;
                    let latency = (chrono::Utc::now().timestamp_micros() - commit_us).max(0) / 1000;
                    let _ = self.update_task(arn, |t| {
                        t.replication_task_stats.cdc_latency_millis = Some(latency as u64)
                    });
                }
            }
            let advance_to = reached.max(checkpoint);
            if advance_to > 0 {
                client
                    .execute(
                        &format!(
                            "SELECT pg_replication_slot_advance($1, '{}')",
                            format_lsn(advance_to)
                        ),
                        &[&slot],
                    )
                    .await
                    .map_err(|e| params.error("cannot advance the replication slot", &e))?;
            }
        }
    }

    /// One change file per table of the batch, committed with the position they reach and
    /// the tables' counts in one transaction.
    #[allow(clippy::too_many_arguments)]
    fn write_changes(
        &self,
        arn: &str,
        by: &Principal,
        target: &Target,
        tables: &[TableDef],
        relations: &BTreeMap<u32, Relation>,
        changes: Vec<(u32, char, Vec<Datum>)>,
        reached: u64,
    ) -> Result<()> {
        let mut per_table: BTreeMap<usize, (Rows, Counts)> = BTreeMap::new();
        for (rel_id, op, tuple) in &changes {
            let rel = relations.get(rel_id).ok_or_else(|| {
                ServiceError::new(
                    Code::InvalidResourceStateFault,
                    "a change came before its relation",
                )
            })?;
            let Some(ti) = tables
                .iter()
                .position(|t| t.schema == rel.namespace && t.name == rel.name)
            else {
                continue;
            };
            let table = &tables[ti];
            let (rows, counts) = per_table
                .entry(ti)
                .or_insert_with(|| (Rows::new(&["Op"], &table.columns), Counts::default()));
            let op_text = op.to_string();
            let mut cells = vec![Cell::Text(&op_text)];
            for c in &table.columns {
                let at = rel.columns.iter().position(|rc| rc.name == c.name);
                cells.push(match at.and_then(|i| tuple.get(i)) {
                    Some(Datum::Text(t)) => Cell::Text(t),
                    _ => Cell::Null,
                });
            }
            rows.push(&cells).map_err(|bad| {
                ServiceError::new(
                    Code::InvalidResourceStateFault,
                    format!("{}.{}: {bad}", table.schema, table.name),
                )
            })?;
            match op {
                'I' => counts.inserts += 1,
                'U' => counts.updates += 1,
                _ => counts.deletes += 1,
            }
        }
        let seq: i64 = self.meta.read(|tx| {
            Ok(tx.query_row(
                "SELECT change_files FROM dms_tasks WHERE arn = ?1",
                params![arn],
                |r| r.get(0),
            )?)
        })?;
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S%3f");
        let mut bodies = Vec::new();
        let mut counted = Vec::new();
        for (n, (ti, (mut rows, counts))) in per_table.into_iter().enumerate() {
            let table = &tables[ti];
            let key = format!(
                "{}{stamp}-{:08}.{}",
                target.table_prefix(table),
                seq + n as i64 + 1,
                target.format.extension()
            );
            let body = self.dms_body(by, &target.bucket, &key, &target.put)?;
            let batch = rows.take();
            let mut w = FileWriter::new(target.format, body, batch.schema())?;
            w.write(&batch)?;
            bodies.push(w.finish()?);
            counted.push((ti, counts));
        }
        let files = bodies.len() as i64;
        self.commit_bodies_and(by, bodies, None, |tx| {
            tx.execute(
                "UPDATE dms_tasks SET checkpoint = ?2, change_files = change_files + ?3 WHERE arn = ?1",
                params![arn, reached as i64, files],
            )?;
            for (ti, c) in &counted {
                self.record_table_key(tx, target, &tables[*ti])?;
                self.change_stats(tx, arn, &tables[*ti], |s| {
                    s.inserts += c.inserts;
                    s.updates += c.updates;
                    s.deletes += c.deletes;
                    if s.table_state == "Before load" {
                        s.table_state = "Table completed".into();
                    }
                })?;
            }
            let mut task = self.task(tx, arn)?;
            task.recovery_checkpoint = Some(format_lsn(reached));
            self.save_task(tx, &task)?;
            Ok((Vec::new(), ()))
        })
    }
}
