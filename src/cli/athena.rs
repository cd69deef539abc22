//! `athena`: work groups and queries, answered in Athena's shapes, plus the `query` shorthand.

use serde_json::{Value, json};

use super::access_commands::AthenaCommand;
use super::{Context, EXIT_WAIT_FAILED};
use crate::service::query::{QueryExecution, QueryState, ResultPage, WorkGroup, WorkGroupUpdate};
use crate::service::wait::until_finished;
use crate::service::{Code, Result, ServiceError};

/// Athena's `ResultSet`: the header row first on the first page, NULL as an empty datum.
fn result_set(page: &ResultPage, first: bool) -> Value {
    let datum = |v: &Option<String>| match v {
        Some(s) => json!({"VarCharValue": s}),
        None => json!({}),
    };
    let mut rows: Vec<Value> = Vec::new();
    if first {
        rows.push(json!({"Data": page.columns.iter().map(|c| json!({"VarCharValue": c.name})).collect::<Vec<_>>()}));
    }
    rows.extend(
        page.rows
            .iter()
            .map(|r| json!({"Data": r.iter().map(datum).collect::<Vec<_>>()})),
    );
    let mut out = json!({
        "ResultSet": {
            "Rows": rows,
            "ResultSetMetadata": {
                "ColumnInfo": page.columns.iter().map(|c| json!({
                    "CatalogName": "hive", "Name": c.name, "Label": c.name, "Type": c.type_name, "Nullable": "UNKNOWN"
                })).collect::<Vec<_>>()
            }
        },
        "UpdateCount": 0
    });
    if let Some(t) = &page.next_token {
        out["NextToken"] = json!(t);
    }
    out
}

/// A work group in Athena's shape; the limits only when set (the `Lakectl…` ones are
/// lakectl's own).
/// `--configuration-updates`, as the AWS CLI takes it: shorthand `K=V,K=V` or JSON. lakectl
/// knows the bytes-scanned cutoff; other keys are refused by name rather than ignored.
fn configuration_updates_arg(text: &str) -> Result<WorkGroupUpdate> {
    let bad = |m: String| ServiceError::new(Code::InvalidArgument, m);
    let pairs: Vec<(String, Value)> = if text.trim_start().starts_with('{') {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map.into_iter().collect(),
            _ => return Err(bad("--configuration-updates: not a JSON object".into())),
        }
    } else {
        text.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').ok_or_else(|| {
                    bad(format!("--configuration-updates: {p:?} is not KEY=VALUE"))
                })?;
                let v = v.trim();
                let value = v
                    .parse::<u64>()
                    .map(Value::from)
                    .or_else(|_| v.parse::<bool>().map(Value::from))
                    .unwrap_or_else(|_| Value::from(v));
                Ok((k.trim().to_string(), value))
            })
            .collect::<Result<_>>()?
    };
    let mut update = WorkGroupUpdate::default();
    for (key, value) in pairs {
        match key.as_str() {
            "BytesScannedCutoffPerQuery" => {
                update.bytes_scanned_cutoff_per_query =
                    Some(value.as_u64().ok_or_else(|| {
                        bad("BytesScannedCutoffPerQuery is a number of bytes".into())
                    })?)
            }
            "RemoveBytesScannedCutoffPerQuery" => {
                update.remove_bytes_scanned_cutoff_per_query = value.as_bool().ok_or_else(|| {
                    bad("RemoveBytesScannedCutoffPerQuery is true or false".into())
                })?
            }
            other => {
                return Err(bad(format!(
                    "--configuration-updates: {other} is not supported by lakectl (BytesScannedCutoffPerQuery, RemoveBytesScannedCutoffPerQuery are)"
                )));
            }
        }
    }
    Ok(update)
}

impl Context<'_> {
    pub(crate) async fn wait_for_query(&self, id: &str) -> Result<QueryExecution> {
        until_finished(self.services.backend.poll_interval, || async {
            let e = self
                .services
                .query
                .get_query_execution(self.principal, id)
                .await?;
            Ok(e.status.state.is_finished().then_some(e))
        })
        .await
    }

    pub(super) async fn athena(&self, cmd: AthenaCommand) -> Result<Value> {
        let query = &self.services.query;
        let by = self.principal;
        Ok(match cmd {
            AthenaCommand::CreateWorkGroup {
                name,
                output_location,
                sse_kms_key_id,
            } => {
                query
                    .create_work_group(by, WorkGroup::new(name, output_location, sse_kms_key_id))
                    .await?;
                json!({})
            }
            AthenaCommand::ListWorkGroups => {
                let groups = query.list_work_groups(by).await?;
                json!({"WorkGroups": groups.iter().map(WorkGroup::aws_summary).collect::<Vec<_>>()})
            }
            AthenaCommand::GetWorkGroup { work_group } => {
                let group = query.get_work_group(by, &work_group).await?;
                json!({"WorkGroup": group.aws_shape()})
            }
            AthenaCommand::UpdateWorkGroup {
                work_group,
                configuration_updates,
                query_memory_limit_bytes,
                query_timeout_seconds,
            } => {
                let mut update = match configuration_updates {
                    Some(text) => configuration_updates_arg(&text)?,
                    None => WorkGroupUpdate::default(),
                };
                update.query_memory_limit_bytes = query_memory_limit_bytes;
                update.query_timeout_seconds = query_timeout_seconds;
                query.update_work_group(by, &work_group, update).await?;
                json!({})
            }
            AthenaCommand::StartQueryExecution {
                query_string,
                work_group,
                database,
                wait,
            } => {
                let id = query
                    .start_query_execution(
                        by,
                        &query_string,
                        Some(&work_group),
                        database.as_deref(),
                    )
                    .await?;
                if wait {
                    let execution = self.wait_for_query(&id).await?;
                    if execution.status.state != QueryState::Succeeded {
                        self.exit_with(EXIT_WAIT_FAILED);
                    }
                    json!({"QueryExecution": execution})
                } else {
                    json!({"QueryExecutionId": id})
                }
            }
            AthenaCommand::GetQueryExecution { query_execution_id } => {
                json!({"QueryExecution": query.get_query_execution(by, &query_execution_id).await?})
            }
            AthenaCommand::GetQueryResults {
                query_execution_id,
                next_token,
                max_results,
            } => {
                let page = query
                    .get_query_results(by, &query_execution_id, next_token.as_deref(), max_results)
                    .await?;
                result_set(&page, next_token.is_none())
            }
            AthenaCommand::ListQueryExecutions { work_group } => {
                json!({"QueryExecutionIds": query.list_query_executions(by, work_group.as_deref()).await?})
            }
            AthenaCommand::StopQueryExecution { query_execution_id } => {
                query.stop_query_execution(by, &query_execution_id).await?;
                json!({})
            }
            AthenaCommand::Query {
                sql,
                work_group,
                database,
            } => {
                let id = query
                    .start_query_execution(by, &sql, Some(&work_group), database.as_deref())
                    .await?;
                let execution = self.wait_for_query(&id).await?;
                if execution.status.state != QueryState::Succeeded {
                    let reason = execution.status.state_change_reason.unwrap_or_default();
                    // The lake's own code when it raised one (AccessDenied, ...), else Athena's.
                    let (code, message) = match reason.split_once(": ") {
                        Some((c, m)) if Code::parse(c).is_some() => {
                            (Code::parse(c).expect("checked"), m.to_string())
                        }
                        _ => (Code::InvalidRequestException, reason.clone()),
                    };
                    return Err(ServiceError::new(code, message));
                }
                let mut rows: Vec<Vec<Option<String>>> = Vec::new();
                let mut token: Option<String> = None;
                let mut columns;
                loop {
                    let page = query
                        .get_query_results(by, &id, token.as_deref(), 10_000)
                        .await?;
                    columns = page.columns;
                    rows.extend(page.rows);
                    match page.next_token {
                        Some(t) => token = Some(t),
                        None => break,
                    }
                }
                json!({
                    "QueryExecutionId": id,
                    "Columns": columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                    "Types": columns.iter().map(|c| c.type_name.clone()).collect::<Vec<_>>(),
                    "Rows": rows,
                    "DataScannedInBytes": execution.statistics.data_scanned_in_bytes,
                    "EngineExecutionTimeInMillis": execution.statistics.engine_execution_time_in_millis,
                })
            }
        })
    }
}
