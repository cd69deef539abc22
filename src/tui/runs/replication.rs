//! DMS replication tasks in the Runs pane: a row per task with its state and its tables' counts
//! summed (rows loaded, inserts, updates, deletes) and the latency of its last change batch;
//! `enter` shows the per-table statistics; `s`/`S` start and stop it with the `dms` commands.

use super::{RunKind, RunRow};
use crate::service::dms::{Endpoint, ReplicationTask, StartType, TableStatistics};
use crate::service::jobs::RunState;
use crate::service::{Principal, Services};
use crate::tui::jobs::{Job, JobOutcome};

/// A task's status (DMS's words) as a run state: under way, or how it ended. A task that never
/// ran has none.
fn run_state(status: &str) -> Option<RunState> {
    Some(match status {
        "starting" => RunState::Starting,
        "running" | "stopping" => RunState::Running,
        "stopped" => RunState::Stopped,
        "failed" => RunState::Failed,
        _ => return None,
    })
}

/// Where an endpoint is, as people name it: the bucket and folder of an S3 target, the
/// engine of a source.
fn endpoint_label(endpoints: &[Endpoint], arn: &str) -> String {
    let Some(e) = endpoints.iter().find(|e| e.endpoint_arn == arn) else {
        return arn.to_string();
    };
    match &e.s3_settings {
        Some(s3) => {
            let folder = s3.bucket_folder.as_deref().unwrap_or_default();
            let folder = if folder.is_empty() {
                String::new()
            } else {
                format!("{}/", folder.trim_matches('/'))
            };
            format!(
                "s3://{}/{folder} ({})",
                s3.bucket_name,
                s3.data_format.extension()
            )
        }
        None => format!("{} ({:?})", e.endpoint_identifier, e.engine_name).to_lowercase(),
    }
}

/// The tables' counts summed, as the row shows them.
fn summary(task: &ReplicationTask, tables: &[TableStatistics]) -> String {
    let sum = |f: fn(&TableStatistics) -> u64| tables.iter().map(f).sum::<u64>();
    let mut text = format!(
        "{} tables · {} loaded · {} ins · {} upd · {} del",
        tables.len(),
        sum(|t| t.full_load_rows),
        sum(|t| t.inserts),
        sum(|t| t.updates),
        sum(|t| t.deletes),
    );
    if let Some(ms) = task.replication_task_stats.cdc_latency_millis {
        text.push_str(&format!(" · latency {ms} ms"));
    }
    text
}

pub(super) async fn task_rows(s: &Services, by: &Principal) -> Vec<RunRow> {
    let Some(dms) = &s.dms else {
        return Vec::new();
    };
    let Ok(tasks) = dms.describe_replication_tasks(by).await else {
        return Vec::new();
    };
    let endpoints = dms.describe_endpoints(by).await.unwrap_or_default();
    let mut rows = Vec::new();
    for task in tasks {
        let tables = dms
            .describe_table_statistics(by, &task.replication_task_arn)
            .await
            .unwrap_or_default();
        let mut row = RunRow::new(
            RunKind::ReplicationTask,
            task.replication_task_identifier.clone(),
        );
        row.route = format!(
            "{} → {}",
            endpoint_label(&endpoints, &task.source_endpoint_arn),
            endpoint_label(&endpoints, &task.target_endpoint_arn)
        );
        row.state = run_state(&task.status);
        row.state_label = Some(task.status.to_uppercase());
        row.started = task.replication_task_start_date;
        row.seconds = task
            .replication_task_start_date
            .map(|_| task.replication_task_stats.elapsed_time_millis / 1000);
        row.counts = summary(&task, &tables);
        row.error = task.last_failure_message.clone();
        row.start_type = Some(StartType::for_restart(&task.status, task.migration_type));
        row.run_id = Some(task.replication_task_arn);
        rows.push(row);
    }
    rows
}

/// `enter` on a task: the task's state and each table's statistics, as a table.
pub(super) fn table_statistics(arn: String, name: String) -> Job {
    Job::new(format!("statistics of {name}"), move |ctx| {
        Box::pin(async move {
            let dms = ctx.services.dms.as_ref().ok_or_else(|| {
                crate::service::ServiceError::new(
                    crate::service::Code::InvalidArgument,
                    "this backend has no replication tasks",
                )
            })?;
            let by = &ctx.principal;
            let task = dms
                .describe_replication_tasks(by)
                .await?
                .into_iter()
                .find(|t| t.replication_task_arn == arn)
                .ok_or_else(|| {
                    crate::service::ServiceError::new(
                        crate::service::Code::ResourceNotFoundFault,
                        format!("the replication task {name} is gone"),
                    )
                })?;
            let tables = dms.describe_table_statistics(by, &arn).await?;
            Ok(JobOutcome::Text {
                title: format!("Replication task {name}: table statistics"),
                body: statistics_text(&task, &tables),
            })
        })
    })
}

fn statistics_text(task: &ReplicationTask, tables: &[TableStatistics]) -> String {
    let st = &task.replication_task_stats;
    let mut out = format!(
        "{} ({}) · full load {}% · {} loaded, {} loading, {} queued, {} errored\n",
        task.status.to_uppercase(),
        super::serde_name(&task.migration_type),
        st.full_load_progress_percent,
        st.tables_loaded,
        st.tables_loading,
        st.tables_queued,
        st.tables_errored,
    );
    match st.cdc_latency_millis {
        Some(ms) => out.push_str(&format!(
            "Latency (source commit → change file in the lake): {ms} ms"
        )),
        None => out.push_str("Latency: no change batch yet"),
    }
    if let Some(at) = &task.recovery_checkpoint {
        out.push_str(&format!(" · checkpoint {at}"));
    }
    out.push('\n');
    if let Some(why) = &task.last_failure_message {
        out.push_str(&format!("Last failure: {why}\n"));
    }
    out.push('\n');
    let width = tables
        .iter()
        .map(|t| t.schema_name.len() + t.table_name.len() + 1)
        .chain([5])
        .max()
        .unwrap_or(5);
    out.push_str(&format!(
        "{:<width$}  {:<16} {:>12} {:>9} {:>9} {:>9}  {}\n",
        "Table", "State", "Rows loaded", "Inserts", "Updates", "Deletes", "Last change"
    ));
    for t in tables {
        out.push_str(&format!(
            "{:<width$}  {:<16} {:>12} {:>9} {:>9} {:>9}  {}\n",
            format!("{}.{}", t.schema_name, t.table_name),
            t.table_state,
            t.full_load_rows,
            t.inserts,
            t.updates,
            t.deletes,
            t.last_update_time
                .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| "—".into()),
        ));
    }
    if tables.is_empty() {
        out.push_str("(no table yet: the task has not loaded any)\n");
    }
    out
}
