//! Jobs and crawlers on Glue. `create-job` turns the job's definition into a plan (datasets,
//! masks, output key), writes the PySpark script of `assets/glue/job.py` with that plan into the
//! target bucket under `_lakectl/glue/`, encrypted, and creates the Glue job around it. The
//! definition rides along as a job argument, so `get-jobs` gives back what was asked for.
//!
//! `--from-findings` is resolved when the job is created: the Macie findings of that job name the
//! columns, and the plan fixes them (the local lake reads the findings at each run instead).
//!
//! The job runs on Glue 5.0 (Spark 3.5, Python 3.11), the line `tests/it/aws/glue_spark.rs` runs
//! the script on. Tokens need `cryptography`, which Glue does not preinstall: a job that
//! tokenizes asks for it, pinned, in `--additional-python-modules` (Glue installs it from PyPI;
//! a job without internet access gets the wheel from S3 instead: upload
//! `cryptography-VERSION-cp39-abi3-manylinux_2_34_x86_64.whl` and put its `s3://` URL in that
//! argument with `glue update-job`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_glue::types::{
    CrawlerTargets, JobCommand, S3Target, SchemaChangePolicy, UpdateBehavior, WorkerType,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use super::in_lakectl::RUN_PREFIX;
use super::{Aws, aws_error, opt_time, time, unsupported};
use crate::mask::Operator;
use crate::service::classification::{Classification, columns_by_dataset, dataset_table};
use crate::service::jobs::{
    Crawl, CrawlerDefinition, CrawlerRun, DEFINITION_ARGUMENT, JobDefinition, JobRun, Jobs,
    RunMetrics, RunState,
};
use crate::service::storage::{PutOptions, Sse, Storage, s3_location};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// The template every Glue job's script is made from.
const SCRIPT_TEMPLATE: &str = include_str!("../../assets/glue/job.py");
/// The Glue version the script is written for and tested on (Spark 3.5, Python 3.11).
const GLUE_VERSION: &str = "5.0";
/// What a job that tokenizes installs on Glue for AES-GCM-SIV: the version the tests run.
const TOKEN_MODULE: &str = "cryptography==50.0.2";

/// What the generated script does, made concrete: it reads this and nothing else.
#[derive(Debug, Serialize)]
pub(super) struct Plan {
    pub dedup: bool,
    /// The share of a column's sampled values that must agree on its type (consensus.rs).
    pub type_consensus: f64,
    pub datasets: Vec<PlanDataset>,
    /// `s3://…/_lakectl/metrics/`: the script writes each run's counts there.
    pub metrics: String,
    pub kms_key_arn: Option<String>,
    /// Set when an operator needs the masking keys (see masking.rs).
    pub wrapped_mask_key: Option<String>,
    /// The region of the key and the buckets: the script's clients use it, not the
    /// environment's.
    pub region: String,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct PlanDataset {
    pub source: String,
    pub target: String,
    pub masks: Vec<(String, String)>,
}

/// The masks of a plan, each operator in its one spelling (`Hash ` is `hash`), so the script
/// never meets a name lakectl accepted and it would not.
fn canonical_masks(rules: &[(String, String)]) -> Result<Vec<(String, String)>> {
    Ok(parse_masks(rules)?
        .into_iter()
        .map(|(c, op)| (c, op.name()))
        .collect())
}

pub(super) fn parse_masks(rules: &[(String, String)]) -> Result<Vec<(String, Operator)>> {
    rules
        .iter()
        .map(|(c, op)| {
            Ok((
                c.clone(),
                Operator::parse(op).map_err(ServiceError::invalid)?,
            ))
        })
        .collect()
}

/// The script for a plan: the template with the plan in it as base64 JSON (data, never code).
pub(super) fn script(plan: &Plan) -> String {
    let json = serde_json::to_vec(plan).expect("a plan always serializes");
    SCRIPT_TEMPLATE.replace("@@PLAN@@", &B64.encode(json))
}

fn run_state(state: Option<&aws_sdk_glue::types::JobRunState>) -> RunState {
    use aws_sdk_glue::types::JobRunState as S;
    match state {
        Some(S::Starting | S::Waiting) | None => RunState::Starting,
        Some(S::Running | S::Stopping) => RunState::Running,
        Some(S::Succeeded) => RunState::Succeeded,
        Some(S::Stopped) => RunState::Stopped,
        Some(S::Timeout) => RunState::Timeout,
        Some(_) => RunState::Failed,
    }
}

impl Aws {
    pub(super) async fn plan(
        &self,
        by: &Principal,
        def: &JobDefinition,
        kms_key_arn: Option<String>,
    ) -> Result<Plan> {
        let (target_bucket, target_prefix) = s3_location(&def.target)?;
        let mut datasets = Vec::new();
        if let Some(classification) = &def.from_findings {
            let job_id = self.classification_job_id(by, classification).await?;
            let ids = self.list_findings(by, Some(&job_id)).await?;
            let findings = self.get_findings(by, &ids).await?;
            let by_type: BTreeMap<String, String> = def
                .masks
                .iter()
                .map(|m| (m.column.clone(), m.operator.clone()))
                .collect();
            for ((bucket, folder), columns) in columns_by_dataset(&findings) {
                let table = dataset_table(&bucket, &folder);
                let source = format!("s3://{bucket}/{folder}");
                let masked = columns
                    .iter()
                    .map(|(c, kind)| {
                        (
                            c.clone(),
                            by_type.get(kind).cloned().unwrap_or("redact".into()),
                        )
                    })
                    .collect::<Vec<_>>();
                let masked = canonical_masks(&masked)?;
                let tokenized = columns
                    .keys()
                    .map(|c| (c.clone(), "tokenize".to_string()))
                    .collect();
                for (kind, masks) in [("masked", masked), ("encrypted", tokenized)] {
                    datasets.push(PlanDataset {
                        source: source.clone(),
                        target: format!("s3://{target_bucket}/{target_prefix}{kind}/{table}/"),
                        masks,
                    });
                }
            }
            if datasets.is_empty() {
                return Err(ServiceError::invalid(format!(
                    "classification job {classification} found nothing to mask"
                )));
            }
        } else {
            s3_location(&def.source)?;
            let masks: Vec<(String, String)> = def
                .masks
                .iter()
                .map(|m| (m.column.clone(), m.operator.clone()))
                .collect();
            let masks = canonical_masks(&masks)?;
            datasets.push(PlanDataset {
                source: def.source.clone(),
                target: def.target.clone(),
                masks,
            });
        }
        let needs_keys = datasets
            .iter()
            .flat_map(|d| &d.masks)
            .any(|(_, op)| Operator::parse(op).is_ok_and(Operator::needs_keys));
        let wrapped_mask_key = match (&kms_key_arn, needs_keys) {
            (Some(arn), true) => Some(self.wrapped_mask_key(arn).await?),
            (None, true) => {
                return Err(ServiceError::invalid(
                    "hash and tokenize need the job's security configuration: its key keeps the masking key",
                ));
            }
            (_, false) => None,
        };
        Ok(Plan {
            dedup: def.dedup,
            type_consensus: crate::etl::consensus::of_job(def.type_consensus)?.share(),
            datasets,
            metrics: format!("s3://{target_bucket}/{target_prefix}_lakectl/metrics/"),
            kms_key_arn,
            wrapped_mask_key,
            region: self.region.clone(),
        })
    }

    async fn classification_job_id(&self, by: &Principal, name_or_id: &str) -> Result<String> {
        let jobs = self.list_classification_jobs(by).await?;
        jobs.iter()
            .find(|j| j.job_id == name_or_id || j.spec.name == name_or_id)
            .map(|j| j.job_id.clone())
            .ok_or_else(|| {
                ServiceError::new(
                    Code::NotFoundException,
                    format!("no classification job named {name_or_id}"),
                )
            })
    }

    fn definition_of(job: &aws_sdk_glue::types::Job) -> JobDefinition {
        let stored = job
            .default_arguments()
            .and_then(|a| a.get(DEFINITION_ARGUMENT))
            .and_then(|d| serde_json::from_str::<JobDefinition>(d).ok());
        stored.unwrap_or_else(|| JobDefinition {
            name: job.name().unwrap_or_default().to_string(),
            source: String::new(),
            target: String::new(),
            dedup: false,
            security_configuration: job.security_configuration().map(str::to_string),
            masks: Vec::new(),
            from_findings: None,
            role: job.role().unwrap_or_default().to_string(),
            timeout_minutes: job.timeout().map(|t| t as u32),
            in_lakectl: false,
            type_consensus: None,
        })
    }

    pub(super) async fn job_definition(&self, name: &str) -> Result<JobDefinition> {
        let got = self
            .glue
            .get_job()
            .job_name(name)
            .send()
            .await
            .map_err(|e| aws_error("glue:GetJob", e))?;
        got.job().map(Self::definition_of).ok_or_else(|| {
            ServiceError::new(
                Code::EntityNotFoundException,
                format!("Job {name} not found."),
            )
        })
    }

    /// The counts the script wrote for a finished run; none until it has.
    async fn run_metrics(&self, def: &JobDefinition, run_id: &str) -> Option<RunMetrics> {
        let (bucket, prefix) = s3_location(&def.target).ok()?;
        let key = format!("{prefix}_lakectl/metrics/{run_id}.json");
        let bytes = self.read_object(&bucket, &key).await.ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    async fn job_run(
        &self,
        def: Option<&JobDefinition>,
        run: &aws_sdk_glue::types::JobRun,
    ) -> JobRun {
        let state = run_state(run.job_run_state());
        let id = run.id().unwrap_or_default().to_string();
        let metrics = match def {
            Some(def) if state == RunState::Succeeded => self.run_metrics(def, &id).await,
            _ => None,
        };
        JobRun {
            job_name: run.job_name().unwrap_or_default().to_string(),
            job_run_state: state,
            started_on: time(run.started_on()),
            completed_on: opt_time(run.completed_on()),
            execution_time: run.execution_time().max(0) as u64,
            metrics: metrics.unwrap_or_default(),
            error_message: run.error_message().map(str::to_string),
            outputs: def.map(|d| vec![d.target.clone()]).unwrap_or_default(),
            trigger_name: run.trigger_name().map(str::to_string),
            workflow_run_id: None,
            id,
        }
    }
}

#[async_trait]
impl Jobs for Aws {
    async fn runs_here_ended(&self) {
        while !self.running.lock().expect("the run registry").is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    async fn create_job(&self, by: &Principal, def: JobDefinition) -> Result<()> {
        self.acting(by)?;
        let kms_key_arn = match &def.security_configuration {
            Some(name) => Some(self.security_configuration_key(name).await?),
            None => None,
        };
        let plan = self.plan(by, &def, kms_key_arn.clone()).await?;
        let (bucket, prefix) = s3_location(&def.target)?;
        let script_key = format!("{prefix}_lakectl/glue/{}.py", def.name);
        let body = script(&plan).into_bytes();
        self.put_object(
            by,
            &bucket,
            &script_key,
            Box::new(std::io::Cursor::new(body)),
            PutOptions {
                sse: Some(Sse::Kms),
                sse_kms_key_id: kms_key_arn,
            },
            Progress::default(),
        )
        .await?;
        let definition = serde_json::to_string(&def).expect("a job definition always serializes");
        let tokenizes = plan
            .datasets
            .iter()
            .flat_map(|d| &d.masks)
            .any(|(_, op)| op == "tokenize");
        let mut create = self
            .glue
            .create_job()
            .name(&def.name)
            .description(format!(
                "lakectl: {} → {}",
                def.from_findings
                    .as_deref()
                    .map(|f| format!("findings of {f}"))
                    .unwrap_or(def.source.clone()),
                def.target
            ))
            .role(self.role_arn_of(&def.role))
            .command(
                JobCommand::builder()
                    .name("glueetl")
                    .python_version("3")
                    .script_location(format!("s3://{bucket}/{script_key}"))
                    .build(),
            )
            .glue_version(GLUE_VERSION)
            .worker_type(WorkerType::G1X)
            .number_of_workers(2)
            .set_security_configuration(def.security_configuration.clone())
            .set_timeout(def.timeout_minutes.map(|t| t as i32))
            .default_arguments("--job-language", "python")
            .default_arguments(DEFINITION_ARGUMENT, definition);
        if tokenizes {
            create = create.default_arguments("--additional-python-modules", TOKEN_MODULE);
        }
        create
            .send()
            .await
            .map_err(|e| aws_error("glue:CreateJob", e))?;
        Ok(())
    }

    async fn get_jobs(&self, by: &Principal) -> Result<Vec<JobDefinition>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self.glue.get_jobs().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("glue:GetJobs", e))?;
            out.extend(page.jobs().iter().map(Self::definition_of));
        }
        Ok(out)
    }

    async fn get_job(&self, by: &Principal, name: &str) -> Result<JobDefinition> {
        self.acting(by)?;
        self.job_definition(name).await
    }

    /// Glue runs the job, and `progress` has nothing to report until it ends; a job created
    /// `--in-lakectl` runs here instead (in_lakectl.rs) and reports as it goes.
    async fn start_job_run(&self, by: &Principal, job: &str, progress: Progress) -> Result<String> {
        self.acting(by)?;
        let def = self.job_definition(job).await?;
        if def.in_lakectl {
            return self.start_in_lakectl(by, def, progress).await;
        }
        let started = self
            .glue
            .start_job_run()
            .job_name(job)
            .send()
            .await
            .map_err(|e| aws_error("glue:StartJobRun", e))?;
        Ok(started.job_run_id().unwrap_or_default().to_string())
    }

    async fn get_job_run(&self, by: &Principal, job: &str, run_id: &str) -> Result<JobRun> {
        self.acting(by)?;
        if run_id.starts_with(RUN_PREFIX) {
            return self
                .in_lakectl_run(&self.job_definition(job).await?, run_id)
                .await;
        }
        let got = self
            .glue
            .get_job_run()
            .job_name(job)
            .run_id(run_id)
            .send()
            .await
            .map_err(|e| aws_error("glue:GetJobRun", e))?;
        let run = got.job_run().ok_or_else(|| {
            ServiceError::new(
                Code::EntityNotFoundException,
                format!("Job run {run_id} of {job} not found."),
            )
        })?;
        let def = self.job_definition(job).await.ok();
        Ok(self.job_run(def.as_ref(), run).await)
    }

    async fn get_job_runs(&self, by: &Principal, job: &str) -> Result<Vec<JobRun>> {
        self.acting(by)?;
        let def = self.job_definition(job).await.ok();
        let mut runs = Vec::new();
        let mut pages = self
            .glue
            .get_job_runs()
            .job_name(job)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("glue:GetJobRuns", e))?;
            runs.extend(page.job_runs().iter().cloned());
        }
        let mut out = Vec::with_capacity(runs.len());
        if let Some(def) = def.as_ref().filter(|d| d.in_lakectl) {
            out.extend(self.in_lakectl_runs(def).await?);
        }
        for run in &runs {
            out.push(self.job_run(def.as_ref(), run).await);
        }
        Ok(out)
    }

    async fn stop_job_run(&self, by: &Principal, job: &str, run_id: &str) -> Result<()> {
        self.acting(by)?;
        if run_id.starts_with(RUN_PREFIX) {
            return self
                .stop_in_lakectl(&self.job_definition(job).await?, run_id)
                .await;
        }
        let stopped = self
            .glue
            .batch_stop_job_run()
            .job_name(job)
            .job_run_ids(run_id)
            .send()
            .await
            .map_err(|e| aws_error("glue:BatchStopJobRun", e))?;
        if let Some(err) = stopped.errors().first() {
            let detail = err.error_detail();
            return Err(ServiceError {
                code: Code::InvalidArgument,
                message: detail
                    .and_then(|d| d.error_message())
                    .unwrap_or("the run cannot be stopped")
                    .to_string(),
                aws_code: detail.and_then(|d| d.error_code()).map(str::to_string),
            });
        }
        Ok(())
    }

    async fn get_job_run_log(&self, by: &Principal, job: &str, run_id: &str) -> Result<String> {
        self.acting(by)?;
        if run_id.starts_with(RUN_PREFIX) {
            return self
                .in_lakectl_run_log(&self.job_definition(job).await?, run_id)
                .await;
        }
        Err(unsupported(
            "the run log",
            &format!(
                "Glue writes it to CloudWatch Logs, group /aws-glue/jobs/output, stream {run_id}, encrypted under the security configuration's key; read it with `aws logs get-log-events`"
            ),
        ))
    }

    async fn create_crawler(&self, by: &Principal, def: CrawlerDefinition) -> Result<()> {
        self.acting(by)?;
        let targets = CrawlerTargets::builder()
            .set_s3_targets(Some(
                def.targets
                    .iter()
                    .map(|t| S3Target::builder().path(t).build())
                    .collect(),
            ))
            .build();
        self.glue
            .create_crawler()
            .name(&def.name)
            .role(self.role_arn_of(&def.role))
            .database_name(&def.database_name)
            .targets(targets)
            .set_table_prefix(def.table_prefix.clone())
            .set_crawler_security_configuration(def.security_configuration.clone())
            .schema_change_policy(
                SchemaChangePolicy::builder()
                    .update_behavior(UpdateBehavior::from(def.update_behavior.as_str()))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error("glue:CreateCrawler", e))?;
        Ok(())
    }

    async fn start_crawler(&self, by: &Principal, name: &str, _progress: Progress) -> Result<()> {
        self.acting(by)?;
        self.glue
            .start_crawler()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("glue:StartCrawler", e))?;
        Ok(())
    }

    async fn stop_crawler(&self, by: &Principal, name: &str) -> Result<()> {
        self.acting(by)?;
        self.glue
            .stop_crawler()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("glue:StopCrawler", e))?;
        Ok(())
    }

    async fn get_crawler(
        &self,
        by: &Principal,
        name: &str,
    ) -> Result<(CrawlerDefinition, Option<CrawlerRun>)> {
        self.acting(by)?;
        let got = self
            .glue
            .get_crawler()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("glue:GetCrawler", e))?;
        let crawler = got.crawler().ok_or_else(|| {
            ServiceError::new(
                Code::EntityNotFoundException,
                format!("Crawler {name} not found."),
            )
        })?;
        self.crawler(crawler).await
    }

    async fn list_crawls(&self, by: &Principal, name: &str) -> Result<Vec<Crawl>> {
        self.acting(by)?;
        self.crawl_history(name).await
    }

    async fn get_crawlers(
        &self,
        by: &Principal,
    ) -> Result<Vec<(CrawlerDefinition, Option<CrawlerRun>)>> {
        self.acting(by)?;
        let mut crawlers = Vec::new();
        let mut pages = self.glue.get_crawlers().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("glue:GetCrawlers", e))?;
            crawlers.extend(page.crawlers().iter().cloned());
        }
        let mut out = Vec::with_capacity(crawlers.len());
        for c in &crawlers {
            out.push(self.crawler(c).await?);
        }
        Ok(out)
    }
}
