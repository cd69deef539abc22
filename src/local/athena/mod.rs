//! Athena on the local lake: work groups, query executions that run in the process that starts
//! them (like job runs), and results stored encrypted in the work group's output location.
//! Each query runs in a DataFusion session built for its principal (`session`), whose tables
//! hold only what that principal may see (`table`).

mod limits;
mod raw;
mod results;
mod session;
mod spill;
mod table;

use std::time::Instant;

use async_trait::async_trait;
use datafusion::error::DataFusionError;
use futures::StreamExt;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::authorizer::Call;
use super::{Caller, Lake, now, runner_gone};
use crate::service::query::{
    MIN_BYTES_SCANNED_CUTOFF, Query, QueryExecution, QueryState, QueryStatistics, QueryStatus,
    ResultColumn, ResultPage, WorkGroup, WorkGroupUpdate,
};
use crate::service::storage::{PutOptions, Sse};
use crate::service::{Code, Principal, Result, ServiceError};

use results::read_page;
use session::check_statement;

pub(in crate::local) const DEFAULT_WORK_GROUP: &str = "primary";

/// The largest memory limit a work group may set: 64 GiB.
const MAX_QUERY_MEMORY_BYTES: u64 = 64 << 30;
/// The longest timeout a work group may set: 4 hours, Athena's own ceiling for a query.
const MAX_QUERY_TIMEOUT_SECONDS: u64 = 4 * 60 * 60;

/// Athena answers InvalidRequestException for a work group or query that does not exist.
fn not_found(what: String) -> ServiceError {
    ServiceError::new(Code::InvalidRequestException, what)
}

/// `s3://B/P/` as bucket and prefix (ending in `/` unless empty), in Athena's error.
fn split_location(location: &str) -> Result<(String, String)> {
    super::access::bucket_and_prefix(location)
        .map_err(|e| ServiceError::new(Code::InvalidRequestException, e.message))
}

/// What a failed query tells its user: the lake's own error if it raised one, the memory
/// limit if the pool refused, else DataFusion's.
fn failure(e: DataFusionError, memory_limit: u64) -> ServiceError {
    if let DataFusionError::ResourcesExhausted(_) = e.find_root() {
        return limits::memory_exceeded(memory_limit, "an operator's working memory");
    }
    let mut current: &(dyn std::error::Error + 'static) = &e;
    loop {
        if let Some(s) = current.downcast_ref::<ServiceError>() {
            return s.clone();
        }
        match current.source() {
            Some(next) => current = next,
            None => break,
        }
    }
    ServiceError::new(
        Code::InvalidRequestException,
        e.find_root().to_string().trim().to_string(),
    )
}

struct Finished {
    columns: Vec<ResultColumn>,
    rows: u64,
    scanned: u64,
    output: String,
    result_key: String,
}

impl Lake {
    fn work_group(&self, tx: &Transaction, name: &str) -> Result<WorkGroup> {
        let text: Option<String> = tx
            .query_row(
                "SELECT definition FROM athena_work_groups WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        let text = text.ok_or_else(|| {
            not_found(format!(
                "work group {name} does not exist; create it with `athena create-work-group --name {name} --output-location s3://BUCKET/PREFIX/`"
            ))
        })?;
        serde_json::from_str(&text)
            .map_err(|e| ServiceError::internal(format!("work group {name}: {e}")))
    }

    fn load_execution(&self, tx: &Transaction, id: &str) -> Result<(QueryExecution, u32)> {
        let row: Option<(String, u32)> = tx
            .query_row(
                "SELECT execution, pid FROM athena_queries WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (text, pid) =
            row.ok_or_else(|| not_found(format!("query execution {id} was not found")))?;
        let mut execution: QueryExecution = serde_json::from_str(&text)
            .map_err(|e| ServiceError::internal(format!("query execution {id}: {e}")))?;
        self.open_opt(
            &format!("athena:query={id}"),
            &mut execution.status.state_change_reason,
        );
        if !execution.status.state.is_finished() && runner_gone(pid) {
            execution.status.state = QueryState::Failed;
            execution.status.state_change_reason = Some(format!(
                "the process running it (pid {pid}) ended before the query did"
            ));
        }
        Ok((execution, pid))
    }

    /// The execution, for its principal or a lake admin; others are told it does not exist.
    fn own_execution(&self, tx: &Transaction, caller: &Caller, id: &str) -> Result<QueryExecution> {
        let (execution, _) = self.load_execution(tx, id)?;
        if !caller.admin && execution.principal != caller.name {
            return Err(not_found(format!("query execution {id} was not found")));
        }
        Ok(execution)
    }

    fn save_execution(&self, tx: &Transaction, execution: &QueryExecution) -> Result<()> {
        let mut execution = execution.clone();
        self.seal_opt(
            &format!("athena:query={}", execution.query_execution_id),
            &mut execution.status.state_change_reason,
        );
        tx.execute(
            "UPDATE athena_queries SET execution = ?2 WHERE id = ?1",
            params![
                execution.query_execution_id,
                serde_json::to_string(&execution).expect("executions serialize")
            ],
        )?;
        Ok(())
    }

    fn query_cancelled(&self, id: &str) -> Result<bool> {
        self.meta.read(|tx| {
            let (e, _) = self.load_execution(tx, id)?;
            Ok(e.status.state == QueryState::Cancelled)
        })
    }

    async fn execute_query(
        &self,
        by: &Principal,
        id: &str,
        sql: &str,
        database: Option<&str>,
        group: &WorkGroup,
    ) -> Result<Finished> {
        let memory_limit = group.memory_limit();
        let failure = |e: DataFusionError| failure(e, memory_limit);
        let session = self.query_session(id, by, database, sql, memory_limit)?;
        let frame = session
            .ctx
            .sql_with_options(sql, session::sql_options())
            .await
            .map_err(failure)?;
        let schema = frame.schema().as_arrow().clone();
        let columns: Vec<ResultColumn> = schema
            .fields()
            .iter()
            .map(|f| ResultColumn {
                name: f.name().clone(),
                type_name: results::athena_type(f.data_type()),
            })
            .collect();
        let (bucket, prefix) = split_location(&group.output_location)?;
        let key = format!("{prefix}{}/{id}.csv", by.name());
        let put = PutOptions {
            sse: Some(Sse::Kms),
            sse_kms_key_id: group.kms_key.clone(),
        };
        let plan = self.meta.read(|tx| {
            let caller = self.caller(tx, by)?;
            self.plan_put(tx, &caller, &bucket, &key, &put)
        })?;
        let mut body = self.body_writer(plan)?;
        let io = |e: std::io::Error| ServiceError::local_io("cannot write the query results", &e);
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        results::write_header(&mut body, &names).map_err(io)?;
        let mut stream = frame.execute_stream().await.map_err(failure)?;
        let mut rows = 0u64;
        let consume = async {
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(failure)?;
                rows += batch.num_rows() as u64;
                results::write_batch(&mut body, &batch).map_err(io)?;
            }
            Ok::<(), ServiceError>(())
        };
        // A stop (from any process) or a scan past the work group's cutoff is seen within
        // 200 ms, even inside a long aggregation: dropping the stream cancels DataFusion's work.
        let watch = async {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                if let Some(cutoff) = group.bytes_scanned_cutoff_per_query
                    && session.scanned.load(std::sync::atomic::Ordering::Relaxed) > cutoff
                {
                    return limits::scan_exceeded(cutoff);
                }
                match self.query_cancelled(id) {
                    Ok(false) => continue,
                    Ok(true) => {
                        return ServiceError::new(Code::Cancelled, "the query was stopped");
                    }
                    Err(e) => return e,
                }
            }
        };
        tokio::select! {
            done = consume => done?,
            stopped = watch => return Err(stopped),
        }
        if let Some(cutoff) = group.bytes_scanned_cutoff_per_query
            && session.scanned.load(std::sync::atomic::Ordering::Relaxed) > cutoff
        {
            return Err(limits::scan_exceeded(cutoff));
        }
        let sealed = body.finish()?;
        self.commit_bodies(by, vec![sealed], None)?;
        Ok(Finished {
            columns,
            rows,
            scanned: session.scanned.load(std::sync::atomic::Ordering::Relaxed),
            output: format!("s3://{bucket}/{key}"),
            result_key: key,
        })
    }

    /// Records how a query ended, unless it was stopped meanwhile.
    fn finish_query(&self, id: &str, started: Instant, outcome: Result<Finished>) {
        let _ = self.meta.write(|tx| {
            let (mut execution, _) = self.load_execution(tx, id)?;
            if execution.status.state.is_finished() {
                // Stopped meanwhile: the stop recorded CANCELLED; the runner adds how long the
                // engine ran before it let go, as Athena reports for cancelled queries.
                if execution.status.state == QueryState::Cancelled
                    && execution.statistics.engine_execution_time_in_millis == 0
                {
                    execution.statistics.engine_execution_time_in_millis =
                        started.elapsed().as_millis().max(1) as u64;
                    self.save_execution(tx, &execution)?;
                }
                return Ok(());
            }
            execution.statistics.engine_execution_time_in_millis =
                started.elapsed().as_millis() as u64;
            execution.status.completion_date_time = Some(now());
            let mut result_key = None;
            match outcome {
                Ok(done) => {
                    execution.status.state = QueryState::Succeeded;
                    execution.statistics.data_scanned_in_bytes = done.scanned;
                    execution.statistics.result_rows = done.rows;
                    execution.output_location = Some(done.output);
                    result_key = Some((done.result_key, done.columns));
                }
                Err(e) if e.code == Code::Cancelled => {
                    execution.status.state = QueryState::Cancelled;
                    execution.status.state_change_reason = Some(e.message);
                }
                Err(e) => {
                    execution.status.state = QueryState::Failed;
                    // Athena's reason is text; the code leads it unless it is Athena's own.
                    execution.status.state_change_reason = Some(match e.code {
                        Code::InvalidRequestException => e.message,
                        code => format!("{code}: {}", e.message),
                    });
                }
            }
            self.save_execution(tx, &execution)?;
            if let Some((key, columns)) = result_key {
                tx.execute(
                    "UPDATE athena_queries SET result_key = ?2 WHERE id = ?1",
                    params![
                        id,
                        serde_json::to_string(&json!({"Key": key, "Columns": columns}))
                            .expect("serializes")
                    ],
                )?;
            }
            Ok(())
        });
    }
}

impl Lake {
    /// A call on one query: IAM decides it on the query's work group, as Athena does. An
    /// unknown id is decided on the default work group, so a refused caller learns nothing.
    fn query_call(&self, operation: &'static str, id: &str) -> Call {
        let group: Option<String> = self
            .meta
            .read(|tx| {
                Ok(tx
                    .query_row(
                        "SELECT work_group FROM athena_queries WHERE id = ?1",
                        params![id],
                        |r| r.get(0),
                    )
                    .optional()?)
            })
            .unwrap_or(None);
        let group = group.unwrap_or_else(|| DEFAULT_WORK_GROUP.to_string());
        Call::new("athena", operation, id).on(self.athena_work_group_arn(&group))
    }
}

#[async_trait]
impl Query for Lake {
    async fn create_work_group(&self, by: &Principal, group: WorkGroup) -> Result<()> {
        let name = group.name.clone();
        self.audited(by, Call::new("athena", "CreateWorkGroup", &name).on(self.athena_work_group_arn(&name)), |tx, _| {
            let ok = !name.is_empty()
                && name.len() <= 128
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !ok {
                return Err(ServiceError::new(
                    Code::InvalidRequestException,
                    format!("the work group name {name:?} is not valid: 1-128 of a-z, A-Z, 0-9, . _ -"),
                ));
            }
            let (bucket, _) = split_location(&group.output_location)?;
            self.bucket_row(tx, &bucket)?;
            let mut group = group;
            if let Some(k) = &group.kms_key {
                let key = self.resolve_key(tx, k)?;
                group.kms_key = Some(self.key_arn(&key.id));
            }
            let n = tx.execute(
                "INSERT OR IGNORE INTO athena_work_groups(name, definition, created) VALUES (?1, ?2, ?3)",
                params![name, serde_json::to_string(&group).expect("serializes"), super::ts(now())],
            )?;
            if n == 0 {
                return Err(ServiceError::new(
                    Code::InvalidRequestException,
                    format!("work group {name} already exists"),
                ));
            }
            Ok(((), json!(group)))
        })
    }

    async fn list_work_groups(&self, by: &Principal) -> Result<Vec<WorkGroup>> {
        self.reading(by, Call::new("athena", "ListWorkGroups", "*"), |tx, _| {
            let texts: Vec<String> = tx
                .prepare("SELECT definition FROM athena_work_groups ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            texts
                .iter()
                .map(|t| {
                    serde_json::from_str(t)
                        .map_err(|e| ServiceError::internal(format!("a work group: {e}")))
                })
                .collect()
        })
    }

    /// Athena's GetWorkGroup, authorized as that action on the work group (not as ListWorkGroups).
    async fn get_work_group(&self, by: &Principal, name: &str) -> Result<WorkGroup> {
        let call = Call::new("athena", "GetWorkGroup", name).on(self.athena_work_group_arn(name));
        self.reading(by, call, |tx, _| self.work_group(tx, name))
    }

    async fn update_work_group(
        &self,
        by: &Principal,
        name: &str,
        update: WorkGroupUpdate,
    ) -> Result<()> {
        let call =
            Call::new("athena", "UpdateWorkGroup", name).on(self.athena_work_group_arn(name));
        self.audited(by, call, |tx, _| {
            let mut group = self.work_group(tx, name)?;
            // A limit is a budget: one too large to hold is no limit, so both are capped.
            let within = |v: Option<u64>, what: &str, max: u64| match v {
                Some(n) if n == 0 || n > max => Err(ServiceError::new(
                    Code::InvalidRequestException,
                    format!("{what} must be between 1 and {max}"),
                )),
                other => Ok(other),
            };
            if let Some(cutoff) = update.bytes_scanned_cutoff_per_query {
                if cutoff < MIN_BYTES_SCANNED_CUTOFF {
                    return Err(ServiceError::new(
                        Code::InvalidRequestException,
                        format!("BytesScannedCutoffPerQuery must be at least {MIN_BYTES_SCANNED_CUTOFF} (10 MB), as on Athena"),
                    ));
                }
                group.bytes_scanned_cutoff_per_query = Some(cutoff);
            }
            if update.remove_bytes_scanned_cutoff_per_query {
                group.bytes_scanned_cutoff_per_query = None;
            }
            let memory = update.query_memory_limit_bytes;
            if let Some(m) = within(memory, "the query memory limit", MAX_QUERY_MEMORY_BYTES)? {
                group.query_memory_limit_bytes = Some(m);
            }
            let timeout = update.query_timeout_seconds;
            if let Some(t) = within(timeout, "the query timeout", MAX_QUERY_TIMEOUT_SECONDS)? {
                group.query_timeout_seconds = Some(t);
            }
            tx.execute(
                "UPDATE athena_work_groups SET definition = ?2 WHERE name = ?1",
                params![name, serde_json::to_string(&group).expect("serializes")],
            )?;
            Ok(((), json!(group)))
        })
    }

    async fn start_query_execution(
        &self,
        by: &Principal,
        sql: &str,
        work_group: Option<&str>,
        database: Option<&str>,
    ) -> Result<String> {
        let wg_name = work_group.unwrap_or(DEFAULT_WORK_GROUP).to_string();
        let id = uuid::Uuid::new_v4().to_string();
        let group = self.audited(by, Call::new("athena", "StartQueryExecution", &id).on(self.athena_work_group_arn(&wg_name)), |tx, _| {
            let group = self.work_group(tx, &wg_name)?;
            check_statement(sql)?;
            let execution = QueryExecution {
                query_execution_id: id.clone(),
                query: sql.to_string(),
                work_group: wg_name.clone(),
                principal: by.name().to_string(),
                database: database.map(String::from),
                output_location: None,
                status: QueryStatus {
                    state: QueryState::Running,
                    state_change_reason: None,
                    submission_date_time: now(),
                    completion_date_time: None,
                },
                statistics: QueryStatistics {
                    engine_execution_time_in_millis: 0,
                    data_scanned_in_bytes: 0,
                    result_rows: 0,
                },
            };
            tx.execute(
                "INSERT INTO athena_queries(id, principal, work_group, execution, pid) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id,
                    by.name(),
                    wg_name,
                    serde_json::to_string(&execution).expect("serializes"),
                    std::process::id()
                ],
            )?;
            Ok((group, json!({"QueryString": sql, "WorkGroup": wg_name, "Database": database})))
        })?;
        let lake = self.arc();
        let (by, run_id, sql, database) = (
            by.clone(),
            id.clone(),
            sql.to_string(),
            database.map(String::from),
        );
        // The query runs on a blocking task so the process outlives the call until it ends, as
        // job runs do; inside, on threads with the query stack (planning and running recurse
        // over the expression tree) and a runtime of its own, within the work group's time.
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let outcome = limits::on_query_stack(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_stack_size(limits::QUERY_STACK_BYTES)
                    .thread_name("lakectl-query-worker")
                    .build()
                    .map_err(|e| ServiceError::internal(format!("the query runtime: {e}")))?;
                let limit = group.timeout();
                let outcome = runtime.block_on(async {
                    let run = lake.execute_query(&by, &run_id, &sql, database.as_deref(), &group);
                    tokio::time::timeout(limit, run)
                        .await
                        .unwrap_or_else(|_| Err(limits::time_exceeded(limit)))
                });
                runtime.shutdown_background();
                outcome
            });
            lake.finish_query(&run_id, started, outcome);
        });
        Ok(id)
    }

    async fn get_query_execution(&self, by: &Principal, id: &str) -> Result<QueryExecution> {
        self.reading(
            by,
            self.query_call("GetQueryExecution", id),
            |tx, caller| self.own_execution(tx, caller, id),
        )
    }

    async fn get_query_results(
        &self,
        by: &Principal,
        id: &str,
        next_token: Option<&str>,
        max: usize,
    ) -> Result<ResultPage> {
        let (execution, stored) =
            self.reading(by, self.query_call("GetQueryResults", id), |tx, caller| {
                let execution = self.own_execution(tx, caller, id)?;
                let stored: Option<String> = tx.query_row(
                    "SELECT result_key FROM athena_queries WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )?;
                Ok((execution, stored))
            })?;
        if execution.status.state != QueryState::Succeeded {
            return Err(ServiceError::new(
                Code::InvalidRequestException,
                format!(
                    "query {id} has no results: its state is {}{}",
                    serde_json::to_value(execution.status.state)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    execution
                        .status
                        .state_change_reason
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
            ));
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct StoredResult {
            key: String,
            columns: Vec<ResultColumn>,
        }
        let stored: StoredResult = serde_json::from_str(stored.as_deref().unwrap_or("null"))
            .map_err(|e| ServiceError::internal(format!("the results of {id}: {e}")))?;
        let (bucket, _) = split_location(execution.output_location.as_deref().unwrap_or_default())?;
        let lake = self.arc();
        let (by2, key) = (by.clone(), stored.key.clone());
        // The token is where the next page starts: rows before it and its byte offset.
        let (skipped, offset) = match next_token {
            None => (0u64, None),
            Some(t) => {
                let parsed = t
                    .split_once(':')
                    .and_then(|(r, o)| Some((r.parse().ok()?, o.parse().ok()?)));
                let (r, o): (u64, u64) = parsed.ok_or_else(|| {
                    ServiceError::new(
                        Code::InvalidRequestException,
                        format!("{t:?} is not a token this query gave"),
                    )
                })?;
                (r, Some(o))
            }
        };
        let width = stored.columns.len();
        let total = execution.statistics.result_rows;
        let max = max.max(1);
        let page = super::blocking(move || {
            let (_, object) = lake.open_object(&by2, &bucket, &key)?;
            let broken = |e: String| ServiceError::internal(format!("the results: {e}"));
            let start = match offset {
                Some(o) if o <= object.len() => o,
                Some(_) => return Err(broken("the token is past the end".into())),
                None => {
                    // Past the header row.
                    let header = std::io::BufReader::new(object.reader_at(0));
                    read_page(header, width, 1).map_err(broken)?.consumed
                }
            };
            let reader = std::io::BufReader::with_capacity(1 << 16, object.reader_at(start));
            let page = read_page(reader, width, max).map_err(broken)?;
            Ok((page.rows, start + page.consumed, page.ended))
        })
        .await?;
        let (rows, next_offset, ended) = page;
        let shown = skipped + rows.len() as u64;
        Ok(ResultPage {
            columns: stored.columns,
            rows,
            next_token: (!ended && shown < total).then(|| format!("{shown}:{next_offset}")),
        })
    }

    async fn list_query_executions(
        &self,
        by: &Principal,
        work_group: Option<&str>,
    ) -> Result<Vec<String>> {
        self.reading(
            by,
            Call::new("athena", "ListQueryExecutions", "*"),
            |tx, caller| {
                let rows: Vec<(String, String, String)> = tx
                    .prepare(
                        "SELECT id, principal, work_group FROM athena_queries ORDER BY rowid DESC",
                    )?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                Ok(rows
                    .into_iter()
                    .filter(|(_, p, w)| {
                        (caller.admin || *p == caller.name) && work_group.is_none_or(|g| g == w)
                    })
                    .map(|(id, _, _)| id)
                    .collect())
            },
        )
    }

    async fn stop_query_execution(&self, by: &Principal, id: &str) -> Result<()> {
        self.audited(
            by,
            self.query_call("StopQueryExecution", id),
            |tx, caller| {
                let mut execution = self.own_execution(tx, caller, id)?;
                if !execution.status.state.is_finished() {
                    execution.status.state = QueryState::Cancelled;
                    execution.status.state_change_reason =
                        Some(format!("stopped by {}", caller.name));
                    execution.status.completion_date_time = Some(now());
                    self.save_execution(tx, &execution)?;
                }
                Ok(((), json!({})))
            },
        )
    }
}
