//! `glue`: the catalog, jobs and crawlers, answered in Glue's shapes.

use serde_json::{Value, json};

use super::commands::GlueCommand;
use super::{Context, EXIT_WAIT_FAILED};
use crate::service::jobs::{
    CrawlerDefinition, CrawlerRun, JobDefinition, JobRun, MaskRule, RunState,
};
use crate::service::wait::until_finished;
use crate::service::{Code, Progress, Result, ServiceError};

fn crawler_json(def: &CrawlerDefinition, last: &Option<CrawlerRun>) -> Value {
    let running = last.as_ref().is_some_and(|r| !r.state.is_finished());
    let mut crawler = json!({
        "Name": def.name,
        "Role": def.role,
        "DatabaseName": def.database_name,
        "Targets": {"S3Targets": def.targets.iter().map(|t| json!({"Path": t})).collect::<Vec<_>>()},
        "SchemaChangePolicy": {"UpdateBehavior": def.update_behavior},
        "State": if running { "RUNNING" } else { "READY" },
    });
    // Glue leaves out what is not set; the AWS CLI prints no null.
    if let Some(config) = &def.security_configuration {
        crawler["CrawlerSecurityConfiguration"] = json!(config);
    }
    if let Some(prefix) = &def.table_prefix {
        crawler["TablePrefix"] = json!(prefix);
    }
    if let Some(r) = last {
        let mut crawl = json!({
            // Glue's LastCrawlInfo: SUCCEEDED, CANCELLED or FAILED.
            "Status": match r.state {
                _ if running => "RUNNING",
                RunState::Succeeded => "SUCCEEDED",
                RunState::Stopped => "CANCELLED",
                _ => "FAILED",
            },
            "StartTime": r.started_on,
            // What Glue keeps in CloudWatch, lakectl says here, under its own member.
            "Lakectl": {
                "TablesCreated": r.tables_created,
                "TablesUpdated": r.tables_updated,
                "PartitionsAdded": r.partitions_added,
                "Log": r.log,
            },
        });
        if let Some(message) = &r.error_message {
            crawl["ErrorMessage"] = json!(message);
        }
        crawler["LastCrawl"] = crawl;
    }
    crawler
}

impl Context<'_> {
    async fn wait_for_run(&self, job: &str, id: &str) -> Result<JobRun> {
        until_finished(self.services.backend.poll_interval, || async {
            let run = self
                .services
                .jobs
                .get_job_run(self.principal, job, id)
                .await?;
            Ok(run.job_run_state.is_finished().then_some(run))
        })
        .await
    }

    pub(super) async fn glue(&self, cmd: GlueCommand) -> Result<Value> {
        let catalog = &self.services.catalog;
        let jobs = &self.services.jobs;
        let by = self.principal;
        Ok(match cmd {
            GlueCommand::Workflows(c) => return self.workflows(c).await,
            GlueCommand::CreateDatabase { name, description } => {
                catalog
                    .create_database(by, &name, description.as_deref())
                    .await?;
                json!({})
            }
            GlueCommand::GetDatabases => json!({"DatabaseList": catalog.get_databases(by).await?}),
            GlueCommand::GetTables { database } => {
                json!({"TableList": catalog.get_tables(by, &database).await?})
            }
            GlueCommand::GetTable { database, name } => {
                json!({"Table": catalog.get_table(by, &database, &name).await?})
            }
            GlueCommand::DeleteTable { database, name } => {
                catalog.delete_table(by, &database, &name).await?;
                json!({})
            }
            GlueCommand::CreateSecurityConfiguration {
                name,
                sse_kms_key_id,
            } => {
                let sc = catalog
                    .create_security_configuration(by, &name, &sse_kms_key_id)
                    .await?;
                json!({"Name": sc.name, "CreatedTimestamp": sc.created_time_stamp})
            }
            GlueCommand::GetSecurityConfigurations => {
                let list: Vec<Value> = catalog
                    .get_security_configurations(by)
                    .await?
                    .into_iter()
                    .map(|sc| {
                        let kms = json!({"KmsKeyArn": sc.kms_key_arn});
                        json!({
                            "Name": sc.name,
                            "CreatedTimeStamp": sc.created_time_stamp,
                            "EncryptionConfiguration": {
                                "S3Encryption": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": kms["KmsKeyArn"]}],
                                "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": kms["KmsKeyArn"]},
                            }
                        })
                    })
                    .collect();
                json!({"SecurityConfigurations": list})
            }
            GlueCommand::CreateJob {
                name,
                source,
                target,
                dedup,
                security_configuration,
                masks,
                from_findings,
                role,
                timeout,
                in_lakectl,
                type_consensus,
            } => {
                let masks = masks
                    .iter()
                    .map(|m| match m.split_once('=') {
                        Some((c, op)) if !c.is_empty() => Ok(MaskRule {
                            column: c.trim().into(),
                            operator: op.trim().into(),
                        }),
                        _ => Err(ServiceError::new(
                            Code::InvalidArgument,
                            format!("--mask {m:?}: use COLUMN=OPERATOR"),
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?;
                let def = JobDefinition {
                    name: name.clone(),
                    source,
                    target,
                    dedup,
                    security_configuration,
                    masks,
                    from_findings,
                    role: role.unwrap_or_else(|| by.name().to_string()),
                    timeout_minutes: timeout,
                    in_lakectl,
                    type_consensus,
                };
                jobs.create_job(by, def).await?;
                json!({"Name": name})
            }
            GlueCommand::GetJobs => {
                let all = jobs.get_jobs(by).await?;
                json!({"Jobs": all.iter().map(job_json).collect::<Vec<_>>()})
            }
            GlueCommand::GetJob { job_name } => {
                json!({"Job": job_json(&jobs.get_job(by, &job_name).await?)})
            }
            GlueCommand::StartJobRun { job_name, wait } => {
                let id = jobs
                    .start_job_run(by, &job_name, self.progress.clone())
                    .await?;
                if wait {
                    let run = self.wait_for_run(&job_name, &id).await?;
                    if run.job_run_state != RunState::Succeeded {
                        self.exit_with(EXIT_WAIT_FAILED);
                    }
                    json!({"JobRun": run})
                } else {
                    json!({"JobRunId": id})
                }
            }
            GlueCommand::GetJobRun { job_name, run_id } => {
                json!({"JobRun": jobs.get_job_run(by, &job_name, &run_id).await?})
            }
            GlueCommand::GetJobRuns { job_name } => {
                json!({"JobRuns": jobs.get_job_runs(by, &job_name).await?})
            }
            GlueCommand::BatchStopJobRun {
                job_name,
                job_run_ids,
            } => {
                let (mut ok, mut errors) = (Vec::new(), Vec::new());
                for id in job_run_ids {
                    match jobs.stop_job_run(by, &job_name, &id).await {
                        Ok(()) => ok.push(json!({"JobName": job_name, "JobRunId": id})),
                        Err(e) => errors.push(json!({"JobName": job_name, "JobRunId": id,
                            "ErrorDetail": {"ErrorCode": e.code_name(), "ErrorMessage": e.message}})),
                    }
                }
                json!({"SuccessfulSubmissions": ok, "Errors": errors})
            }
            GlueCommand::GetJobRunLog { job_name, run_id } => {
                json!({"Log": jobs.get_job_run_log(by, &job_name, &run_id).await?})
            }
            GlueCommand::CreateCrawler {
                name,
                database,
                targets,
                security_configuration,
                schema_change_policy,
                table_prefix,
                role,
            } => {
                let def = CrawlerDefinition {
                    name,
                    database_name: database,
                    targets,
                    security_configuration,
                    update_behavior: schema_change_policy,
                    table_prefix,
                    role: role.unwrap_or_else(|| by.name().to_string()),
                };
                jobs.create_crawler(by, def).await?;
                json!({})
            }
            GlueCommand::StartCrawler { name, wait } => {
                jobs.start_crawler(by, &name, Progress::default()).await?;
                if !wait {
                    return Ok(json!({}));
                }
                let (def, last) = until_finished(self.services.backend.poll_interval, || async {
                    let (def, last) = jobs.get_crawler(by, &name).await?;
                    let ended = last.as_ref().is_none_or(|r| r.state.is_finished());
                    Ok(ended.then_some((def, last)))
                })
                .await?;
                if last
                    .as_ref()
                    .is_some_and(|r| r.state != RunState::Succeeded)
                {
                    self.exit_with(EXIT_WAIT_FAILED);
                }
                json!({"Crawler": crawler_json(&def, &last)})
            }
            GlueCommand::StopCrawler { name } => {
                jobs.stop_crawler(by, &name).await?;
                json!({})
            }
            GlueCommand::GetCrawler { name } => {
                let (def, last) = jobs.get_crawler(by, &name).await?;
                json!({"Crawler": crawler_json(&def, &last)})
            }
            GlueCommand::ListCrawls { crawler_name } => {
                json!({"Crawls": jobs.list_crawls(by, &crawler_name).await?})
            }
            GlueCommand::GetCrawlers => {
                let all: Vec<Value> = jobs
                    .get_crawlers(by)
                    .await?
                    .iter()
                    .map(|(d, l)| crawler_json(d, l))
                    .collect();
                json!({"Crawlers": all})
            }
        })
    }
}

/// Glue's `Job` (what `aws glue get-job` prints for it), with the definition also spelled out
/// under `Lakectl` for the reader, rather than only as the JSON string in its arguments.
fn job_json(def: &crate::service::jobs::JobDefinition) -> Value {
    let mut job = def.aws_shape();
    job["Lakectl"] = json!({
        "Source": def.source,
        "Target": def.target,
        "Dedup": def.dedup,
        "Masks": def.masks,
        "FromFindings": def.from_findings,
        "InLakectl": def.in_lakectl,
        "TypeConsensus": crate::etl::consensus::of_job(def.type_consensus)
            .map(|c| c.share())
            .ok(),
    });
    job
}
