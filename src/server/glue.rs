//! Glue (`AWSGlue.*`) on the lake server: the catalog (databases, tables, security
//! configurations) and jobs and crawlers. A job run or crawl started here runs on the server's
//! threads: StartJobRun and StartCrawler answer at once and the run goes on after the client has
//! gone. A job's definition travels as lakectl's AWS backend sends it, in the job argument
//! `--lakectl-definition`, because the lake runs its own ETL engine, not a PySpark script.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::json_protocol::{Call, empty, output, paged, unsupported};
use super::paging;
use crate::service::jobs::{
    CrawlerDefinition, CrawlerRun, DEFINITION_ARGUMENT, JobDefinition, JobRun, RunState,
};
use crate::service::{Code, Progress, Result, ServiceError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DatabaseInput {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateDatabaseInput {
    database_input: DatabaseInput,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Name {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DatabaseName {
    database_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableName {
    database_name: String,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct S3Encryption {
    s3_encryption_mode: Option<String>,
    kms_key_arn: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct EncryptionConfiguration {
    s3_encryption: Vec<S3Encryption>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateSecurityConfigurationInput {
    name: String,
    encryption_configuration: EncryptionConfiguration,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateJobInput {
    name: String,
    role: String,
    #[serde(default)]
    default_arguments: BTreeMap<String, String>,
    #[serde(default)]
    security_configuration: Option<String>,
    #[serde(default)]
    timeout: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JobName {
    job_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JobRunId {
    job_name: String,
    run_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchStopInput {
    job_name: String,
    job_run_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct S3Target {
    path: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CrawlerTargets {
    s3_targets: Vec<S3Target>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct SchemaChangePolicy {
    update_behavior: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateCrawlerInput {
    name: String,
    role: String,
    database_name: String,
    targets: CrawlerTargets,
    #[serde(default)]
    crawler_security_configuration: Option<String>,
    #[serde(default)]
    schema_change_policy: SchemaChangePolicy,
    #[serde(default)]
    table_prefix: Option<String>,
}

fn not_found(what: String) -> ServiceError {
    ServiceError::new(Code::EntityNotFoundException, what)
}

fn job_run_state(state: RunState) -> &'static str {
    match state {
        RunState::Starting => "STARTING",
        RunState::Running => "RUNNING",
        RunState::Succeeded => "SUCCEEDED",
        RunState::Failed => "FAILED",
        RunState::Stopped => "STOPPED",
        RunState::Timeout => "TIMEOUT",
    }
}

fn job_run_shape(run: &JobRun) -> Value {
    let mut shape = json!({
        "Id": run.id,
        "JobName": run.job_name,
        "JobRunState": job_run_state(run.job_run_state),
        "StartedOn": run.started_on,
        "ExecutionTime": run.execution_time,
        "Attempt": 0,
    });
    if let Some(done) = run.completed_on {
        shape["CompletedOn"] = json!(done);
        shape["LastModifiedOn"] = json!(done);
    }
    if let Some(message) = &run.error_message {
        shape["ErrorMessage"] = json!(message);
    }
    shape
}

fn crawler_shape(def: &CrawlerDefinition, last: Option<&CrawlerRun>) -> Value {
    let running = last.is_some_and(|r| !r.state.is_finished());
    let mut shape = json!({
        "Name": def.name,
        "Role": def.role,
        "DatabaseName": def.database_name,
        "Targets": { "S3Targets": def.targets.iter().map(|p| json!({ "Path": p })).collect::<Vec<_>>() },
        "SchemaChangePolicy": { "UpdateBehavior": def.update_behavior, "DeleteBehavior": "LOG" },
        "State": if running { "RUNNING" } else { "READY" },
    });
    if let Some(sc) = &def.security_configuration {
        shape["CrawlerSecurityConfiguration"] = json!(sc);
    }
    if let Some(prefix) = &def.table_prefix {
        shape["TablePrefix"] = json!(prefix);
    }
    if let Some(run) = last.filter(|r| r.state.is_finished()) {
        let status = match run.state {
            RunState::Succeeded => "SUCCEEDED",
            RunState::Stopped => "CANCELLED",
            _ => "FAILED",
        };
        let mut crawl = json!({ "Status": status, "StartTime": run.started_on });
        if let Some(message) = &run.error_message {
            crawl["ErrorMessage"] = json!(message);
        }
        shape["LastCrawl"] = crawl;
    }
    shape
}

pub async fn call(call: Call<'_>) -> Result<Value> {
    let services = &call.router.services;
    let (catalog, jobs) = (&services.catalog, &services.jobs);
    let by = call.principal;
    match call.operation {
        "CreateDatabase" => {
            let input: CreateDatabaseInput = call.input()?;
            let db = input.database_input;
            catalog
                .create_database(by, &db.name, db.description.as_deref())
                .await?;
            empty()
        }
        "GetDatabases" => {
            let page = call.page(
                paging::GLUE_CATALOG,
                catalog.get_databases(by).await?,
                |d| d.name.as_str(),
            )?;
            paged(json!({ "DatabaseList": page.items }), page.next)
        }
        "GetDatabase" => {
            let input: Name = call.input()?;
            let db = catalog
                .get_databases(by)
                .await?
                .into_iter()
                .find(|d| d.name == input.name)
                .ok_or_else(|| not_found(format!("Database {} not found.", input.name)))?;
            output(json!({ "Database": db }))
        }
        "GetTables" => {
            let input: DatabaseName = call.input()?;
            let tables = catalog.get_tables(by, &input.database_name).await?;
            let page = call.page(paging::GLUE_CATALOG, tables, |t| t.name.as_str())?;
            paged(json!({ "TableList": page.items }), page.next)
        }
        "GetTable" => {
            let input: TableName = call.input()?;
            let table = catalog
                .get_table(by, &input.database_name, &input.name)
                .await?;
            output(json!({ "Table": table }))
        }
        "DeleteTable" => {
            let input: TableName = call.input()?;
            catalog
                .delete_table(by, &input.database_name, &input.name)
                .await?;
            empty()
        }
        "CreateSecurityConfiguration" => {
            let input: CreateSecurityConfigurationInput = call.input()?;
            let s3 = input.encryption_configuration.s3_encryption.first();
            let key = match s3 {
                Some(S3Encryption {
                    s3_encryption_mode: Some(mode),
                    kms_key_arn: Some(key),
                }) if mode == "SSE-KMS" => key.clone(),
                _ => {
                    return Err(ServiceError::invalid(
                        "the lake's security configurations encrypt S3 output under a KMS key: give S3Encryption [{S3EncryptionMode: SSE-KMS, KmsKeyArn}]",
                    ));
                }
            };
            let created = catalog
                .create_security_configuration(by, &input.name, &key)
                .await?;
            output(json!({ "Name": created.name, "CreatedTimestamp": created.created_time_stamp }))
        }
        "GetSecurityConfigurations" => {
            let configs = catalog.get_security_configurations(by).await?;
            let page = call.page(paging::GLUE, configs, |c| c.name.as_str())?;
            let shapes: Vec<Value> = page
                .items
                .iter()
                .map(security_configuration_shape)
                .collect();
            paged(json!({ "SecurityConfigurations": shapes }), page.next)
        }
        "GetSecurityConfiguration" => {
            let input: Name = call.input()?;
            let config = catalog
                .get_security_configurations(by)
                .await?
                .into_iter()
                .find(|c| c.name == input.name)
                .ok_or_else(|| {
                    not_found(format!("Security configuration {} not found.", input.name))
                })?;
            output(json!({ "SecurityConfiguration": security_configuration_shape(&config) }))
        }
        "CreateJob" => {
            let input: CreateJobInput = call.input()?;
            let Some(text) = input.default_arguments.get(DEFINITION_ARGUMENT) else {
                return Err(unsupported(
                    "CreateJob without a --lakectl-definition argument",
                    "the lake runs its own ETL engine, not a Glue script: pass the job's definition (source, target, masks) as the default argument --lakectl-definition",
                ));
            };
            let mut def: JobDefinition = serde_json::from_str(text).map_err(|e| {
                ServiceError::invalid(format!("--lakectl-definition is not a job definition: {e}"))
            })?;
            // The request's own members win over what the argument repeats.
            def.name = input.name;
            def.role = role_name(&input.role);
            if input.security_configuration.is_some() {
                def.security_configuration = input.security_configuration;
            }
            if input.timeout.is_some() {
                def.timeout_minutes = input.timeout;
            }
            // The server runs every job itself.
            def.in_lakectl = false;
            let name = def.name.clone();
            jobs.create_job(by, def).await?;
            output(json!({ "Name": name }))
        }
        "GetJobs" => {
            let page = call.page(paging::GLUE, jobs.get_jobs(by).await?, |d| d.name.as_str())?;
            let shapes: Vec<Value> = page.items.iter().map(JobDefinition::aws_shape).collect();
            paged(json!({ "Jobs": shapes }), page.next)
        }
        "GetJob" => {
            let input: JobName = call.input()?;
            let def = jobs.get_job(by, &input.job_name).await?;
            output(json!({ "Job": def.aws_shape() }))
        }
        "StartJobRun" => {
            let input: JobName = call.input()?;
            // A progress nobody cancels: the run is the server's, not the connection's.
            let id = jobs
                .start_job_run(by, &input.job_name, Progress::default())
                .await?;
            output(json!({ "JobRunId": id }))
        }
        "GetJobRun" => {
            let input: JobRunId = call.input()?;
            let run = jobs.get_job_run(by, &input.job_name, &input.run_id).await?;
            output(json!({ "JobRun": job_run_shape(&run) }))
        }
        "GetJobRuns" => {
            let input: JobName = call.input()?;
            let runs = jobs.get_job_runs(by, &input.job_name).await?;
            let page = call.page(paging::GLUE_JOB_RUNS, runs, |r| r.id.as_str())?;
            let shapes: Vec<Value> = page.items.iter().map(job_run_shape).collect();
            paged(json!({ "JobRuns": shapes }), page.next)
        }
        "BatchStopJobRun" => {
            let input: BatchStopInput = call.input()?;
            let mut stopped = Vec::new();
            let mut errors = Vec::new();
            for id in input.job_run_ids {
                match jobs.stop_job_run(by, &input.job_name, &id).await {
                    Ok(()) => stopped.push(json!({ "JobName": input.job_name, "JobRunId": id })),
                    Err(e) if e.code == Code::AccessDenied => return Err(e),
                    Err(e) => errors.push(json!({
                        "JobName": input.job_name,
                        "JobRunId": id,
                        "ErrorDetail": { "ErrorCode": e.code_name(), "ErrorMessage": e.message },
                    })),
                }
            }
            output(json!({ "SuccessfulSubmissions": stopped, "Errors": errors }))
        }
        "CreateCrawler" => {
            let input: CreateCrawlerInput = call.input()?;
            let def = CrawlerDefinition {
                name: input.name,
                database_name: input.database_name,
                targets: input
                    .targets
                    .s3_targets
                    .into_iter()
                    .map(|t| t.path)
                    .collect(),
                security_configuration: input.crawler_security_configuration,
                update_behavior: input
                    .schema_change_policy
                    .update_behavior
                    .unwrap_or_else(|| "UPDATE_IN_DATABASE".into()),
                table_prefix: input.table_prefix,
                role: role_name(&input.role),
            };
            jobs.create_crawler(by, def).await?;
            empty()
        }
        "StartCrawler" => {
            let input: Name = call.input()?;
            jobs.start_crawler(by, &input.name, Progress::default())
                .await?;
            empty()
        }
        "StopCrawler" => {
            let input: Name = call.input()?;
            jobs.stop_crawler(by, &input.name).await?;
            empty()
        }
        "GetCrawler" => {
            let input: Name = call.input()?;
            let (def, last) = jobs.get_crawler(by, &input.name).await?;
            output(json!({ "Crawler": crawler_shape(&def, last.as_ref()) }))
        }
        "GetCrawlers" => {
            let crawlers = jobs.get_crawlers(by).await?;
            let page = call.page(paging::GLUE, crawlers, |(def, _)| def.name.as_str())?;
            let shapes: Vec<Value> = page
                .items
                .iter()
                .map(|(def, last)| crawler_shape(def, last.as_ref()))
                .collect();
            paged(json!({ "Crawlers": shapes }), page.next)
        }
        "ListCrawls" => super::glue_crawls::list_crawls(&call).await,
        "GetCrawlerMetrics" | "GetPartitions" | "CreateTable" | "UpdateTable" => Err(unsupported(
            call.operation,
            "the lake's crawlers make and change its tables",
        )),
        _ => match super::glue_workflows::call(&call).await {
            Some(answer) => answer,
            None => Err(call.unknown("Glue")),
        },
    }
}

fn security_configuration_shape(c: &crate::service::catalog::SecurityConfiguration) -> Value {
    json!({
        "Name": c.name,
        "CreatedTimeStamp": c.created_time_stamp,
        "EncryptionConfiguration": {
            "S3Encryption": [{ "S3EncryptionMode": "SSE-KMS", "KmsKeyArn": c.kms_key_arn }],
            "CloudWatchEncryption": { "CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": c.kms_key_arn },
            "JobBookmarksEncryption": { "JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": c.kms_key_arn },
        },
    })
}

/// A role as the lake names principals: `arn:aws:iam::ACCOUNT:role/NAME` or `…:user/NAME` is
/// NAME; a bare name stays as it is.
fn role_name(role: &str) -> String {
    role.rsplit_once('/')
        .filter(|_| role.starts_with("arn:"))
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| role.to_string())
}
