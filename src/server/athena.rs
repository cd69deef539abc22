//! Athena (`AmazonAthena.*`) on the lake server. A query started here runs in the server's
//! process (the query service's runtime), so StartQueryExecution answers at once and the query
//! goes on after the client has gone; GetQueryExecution and GetQueryResults follow it, and only
//! for the principal that ran it (the query service answers another's id as not found).

use serde::Deserialize;
use serde_json::{Value, json};

use super::json_protocol::{Call, empty, output, paged, unsupported};
use super::paging;
use crate::service::query::{QueryExecution, WorkGroup, WorkGroupUpdate};
use crate::service::{Code, Result, ServiceError};

/// Athena's most rows per GetQueryResults page.
const MOST_ROWS: usize = 1000;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ResultConfiguration {
    output_location: Option<String>,
    encryption_configuration: Option<EncryptionConfiguration>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct EncryptionConfiguration {
    encryption_option: Option<String>,
    kms_key: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct WorkGroupConfiguration {
    result_configuration: Option<ResultConfiguration>,
    result_configuration_updates: Option<ResultConfiguration>,
    bytes_scanned_cutoff_per_query: Option<u64>,
    remove_bytes_scanned_cutoff_per_query: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateWorkGroupInput {
    name: String,
    #[serde(default)]
    configuration: WorkGroupConfiguration,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WorkGroupName {
    work_group: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateWorkGroupInput {
    work_group: String,
    #[serde(default)]
    configuration_updates: WorkGroupConfiguration,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ExecutionContext {
    database: Option<String>,
    catalog: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartQueryInput {
    query_string: String,
    #[serde(default)]
    work_group: Option<String>,
    #[serde(default)]
    query_execution_context: ExecutionContext,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ExecutionId {
    query_execution_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetResultsInput {
    query_execution_id: String,
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    max_results: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ListExecutionsInput {
    work_group: Option<String>,
}

fn execution_shape(q: &QueryExecution) -> Value {
    let mut shape = json!({
        "QueryExecutionId": q.query_execution_id,
        "Query": q.query,
        "StatementType": "DML",
        "WorkGroup": q.work_group,
        "Status": q.status,
        "Statistics": {
            "EngineExecutionTimeInMillis": q.statistics.engine_execution_time_in_millis,
            "DataScannedInBytes": q.statistics.data_scanned_in_bytes,
            "TotalExecutionTimeInMillis": q.statistics.engine_execution_time_in_millis,
        },
        "QueryExecutionContext": { "Catalog": "AwsDataCatalog" },
    });
    if let Some(db) = &q.database {
        shape["QueryExecutionContext"]["Database"] = json!(db);
    }
    if let Some(location) = &q.output_location {
        shape["ResultConfiguration"] = json!({ "OutputLocation": location });
    }
    shape
}

fn kms_key_of(config: Option<&ResultConfiguration>) -> Result<Option<String>> {
    let Some(enc) = config.and_then(|c| c.encryption_configuration.as_ref()) else {
        return Ok(None);
    };
    match enc.encryption_option.as_deref() {
        Some("SSE_KMS") | None => Ok(enc.kms_key.clone()),
        Some(other) => Err(unsupported(
            &format!("EncryptionOption {other}"),
            "the lake encrypts query results under a KMS key (SSE_KMS)",
        )),
    }
}

pub async fn call(call: Call<'_>) -> Result<Value> {
    let query = &call.router.services.query;
    let by = call.principal;
    match call.operation {
        "CreateWorkGroup" => {
            let input: CreateWorkGroupInput = call.input()?;
            let results = input.configuration.result_configuration.as_ref();
            let location = results
                .and_then(|r| r.output_location.clone())
                .ok_or_else(|| {
                    ServiceError::new(
                        Code::InvalidRequestException,
                        "a work group of the lake needs Configuration.ResultConfiguration.OutputLocation",
                    )
                })?;
            let mut group = WorkGroup::new(input.name, location, kms_key_of(results)?);
            group.bytes_scanned_cutoff_per_query =
                input.configuration.bytes_scanned_cutoff_per_query;
            query.create_work_group(by, group).await?;
            empty()
        }
        "GetWorkGroup" => {
            let input: WorkGroupName = call.input()?;
            let group = query.get_work_group(by, &input.work_group).await?;
            output(json!({ "WorkGroup": group.aws_shape() }))
        }
        "ListWorkGroups" => {
            let groups = query.list_work_groups(by).await?;
            let page = call.page(paging::ATHENA, groups, |g| g.name.as_str())?;
            let summaries: Vec<Value> = page.items.iter().map(WorkGroup::aws_summary).collect();
            paged(json!({ "WorkGroups": summaries }), page.next)
        }
        "UpdateWorkGroup" => {
            let input: UpdateWorkGroupInput = call.input()?;
            let updates = &input.configuration_updates;
            if updates.result_configuration_updates.is_some() {
                // The service layer changes limits only; the output location and key are the
                // group's from its creation, which `create_work_group` sets again.
                let groups = query.list_work_groups(by).await?;
                let mut group = groups
                    .into_iter()
                    .find(|g| g.name == input.work_group)
                    .ok_or_else(|| {
                        ServiceError::new(
                            Code::InvalidRequestException,
                            format!("WorkGroup {} is not found.", input.work_group),
                        )
                    })?;
                let results = updates.result_configuration_updates.as_ref();
                if let Some(location) = results.and_then(|r| r.output_location.clone()) {
                    group.output_location = location;
                }
                if let Some(key) = kms_key_of(results)? {
                    group.kms_key = Some(key);
                }
                query.create_work_group(by, group).await?;
            }
            if updates.bytes_scanned_cutoff_per_query.is_some()
                || updates.remove_bytes_scanned_cutoff_per_query == Some(true)
            {
                query
                    .update_work_group(
                        by,
                        &input.work_group,
                        WorkGroupUpdate {
                            bytes_scanned_cutoff_per_query: updates.bytes_scanned_cutoff_per_query,
                            remove_bytes_scanned_cutoff_per_query: updates
                                .remove_bytes_scanned_cutoff_per_query
                                .unwrap_or(false),
                            ..WorkGroupUpdate::default()
                        },
                    )
                    .await?;
            }
            empty()
        }
        "StartQueryExecution" => {
            let input: StartQueryInput = call.input()?;
            let context = &input.query_execution_context;
            if context
                .catalog
                .as_deref()
                .is_some_and(|c| c != "AwsDataCatalog")
            {
                return Err(unsupported(
                    "a catalog other than AwsDataCatalog",
                    "the lake has one catalog",
                ));
            }
            let id = query
                .start_query_execution(
                    by,
                    &input.query_string,
                    input.work_group.as_deref(),
                    context.database.as_deref(),
                )
                .await?;
            output(json!({ "QueryExecutionId": id }))
        }
        "GetQueryExecution" => {
            let input: ExecutionId = call.input()?;
            let q = query
                .get_query_execution(by, &input.query_execution_id)
                .await?;
            output(json!({ "QueryExecution": execution_shape(&q) }))
        }
        "GetQueryResults" => {
            let input: GetResultsInput = call.input()?;
            let max = input.max_results.unwrap_or(MOST_ROWS).clamp(1, MOST_ROWS);
            // Athena's first page starts with the column names as a row; it counts as a row.
            let first = input.next_token.is_none();
            let data_rows = if first {
                max.saturating_sub(1).max(1)
            } else {
                max
            };
            let page = query
                .get_query_results(
                    by,
                    &input.query_execution_id,
                    input.next_token.as_deref(),
                    data_rows,
                )
                .await?;
            let mut rows: Vec<Value> = Vec::with_capacity(page.rows.len() + 1);
            if first {
                rows.push(json!({
                    "Data": page.columns.iter().map(|c| json!({ "VarCharValue": c.name })).collect::<Vec<_>>()
                }));
            }
            rows.extend(page.rows.iter().map(|row| {
                json!({
                    "Data": row
                        .iter()
                        .map(|cell| match cell {
                            Some(v) => json!({ "VarCharValue": v }),
                            None => json!({}),
                        })
                        .collect::<Vec<_>>()
                })
            }));
            let columns: Vec<Value> = page
                .columns
                .iter()
                .map(|c| {
                    json!({
                        "CatalogName": "hive",
                        "Name": c.name,
                        "Label": c.name,
                        "Type": c.type_name,
                        "Nullable": "UNKNOWN",
                    })
                })
                .collect();
            let mut answer = json!({
                "UpdateCount": 0,
                "ResultSet": { "Rows": rows, "ResultSetMetadata": { "ColumnInfo": columns } },
            });
            if let Some(token) = page.next_token {
                answer["NextToken"] = json!(token);
            }
            output(answer)
        }
        "ListQueryExecutions" => {
            let input: ListExecutionsInput = call.input()?;
            let ids = query
                .list_query_executions(by, input.work_group.as_deref())
                .await?;
            let page = call.page(paging::ATHENA, ids, String::as_str)?;
            paged(json!({ "QueryExecutionIds": page.items }), page.next)
        }
        "BatchGetQueryExecution" => {
            #[derive(Deserialize)]
            #[serde(rename_all = "PascalCase")]
            struct Ids {
                query_execution_ids: Vec<String>,
            }
            let input: Ids = call.input()?;
            let mut found = Vec::new();
            let mut missing = Vec::new();
            for id in input.query_execution_ids {
                match query.get_query_execution(by, &id).await {
                    Ok(q) => found.push(execution_shape(&q)),
                    Err(e) => missing.push(json!({
                        "QueryExecutionId": id,
                        "ErrorCode": e.code_name(),
                        "ErrorMessage": e.message,
                    })),
                }
            }
            output(json!({ "QueryExecutions": found, "UnprocessedQueryExecutionIds": missing }))
        }
        "StopQueryExecution" => {
            let input: ExecutionId = call.input()?;
            query
                .stop_query_execution(by, &input.query_execution_id)
                .await?;
            empty()
        }
        _ => Err(call.unknown("Athena")),
    }
}
