//! Jobs that lakectl runs itself on AWS data (`create-job --in-lakectl`): for data that must not
//! pass through another service. The run reads the sources from S3 (S3 decrypts them for the
//! caller), dedups and masks them with the same engine and operators as the local lake, and
//! writes Parquet back under SSE-KMS; the plaintext exists only in this process's memory.
//!
//! Glue knows nothing of these runs, so each keeps its record beside the job's output, under
//! `_lakectl/runs/JOB/ID.json`, encrypted like the output. A run belongs to the process that
//! started it: `stop` works there, and a record left RUNNING by a process that has ended on this
//! machine reads as FAILED.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use super::job_store::S3Store;
use super::jobs::{PlanDataset, parse_masks};
use super::{Aws, aws_error, masking};
use crate::etl;
use crate::mask::MaskKeys;
use crate::service::jobs::{JobDefinition, JobRun, RunMetrics, RunState};
use crate::service::storage::{PutOptions, Sse, s3_location};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// Ids of runs made here, told apart from Glue's `jr_` ones.
pub(super) const RUN_PREFIX: &str = "lr_";

/// The runs this process is executing, by id, so that `stop` reaches them.
pub(super) type Running = Arc<Mutex<HashMap<String, Progress>>>;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Record {
    run: JobRun,
    pid: u32,
    host: String,
    /// What the run found and did, a line each (names and counts, never data).
    #[serde(default)]
    log: Vec<String>,
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Where a job's run records are.
fn records_prefix(def: &JobDefinition) -> Result<(String, String)> {
    let (bucket, prefix) = s3_location(&def.target)?;
    Ok((bucket, format!("{prefix}_lakectl/runs/{}/", def.name)))
}

async fn put_record(
    s3: &Client,
    bucket: &str,
    key: &str,
    kms: &Option<String>,
    record: &Record,
) -> Result<()> {
    let body = serde_json::to_vec(record).expect("a run record always serializes");
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .set_ssekms_key_id(kms.clone())
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| aws_error("s3:PutObject", e))?;
    Ok(())
}

/// Every dataset of the plan through the engine, one after another.
#[allow(clippy::too_many_arguments)]
fn run_datasets(
    store: &S3Store,
    by: &Principal,
    datasets: &[PlanDataset],
    dedup: bool,
    type_consensus: etl::consensus::Consensus,
    data_key: Option<&[u8]>,
    put: &PutOptions,
    run_id: &str,
    progress: &Progress,
    stop: etl::StopCheck,
    on_metrics: &dyn Fn(&RunMetrics),
) -> Result<(RunMetrics, Vec<String>, Vec<String>)> {
    let mut total = RunMetrics::default();
    let mut outputs = Vec::new();
    let mut log = Vec::new();
    for dataset in datasets {
        let (source_bucket, source_prefix) = s3_location(&dataset.source)?;
        let (target_bucket, target_prefix) = s3_location(&dataset.target)?;
        let mut keys = Vec::new();
        let mut size = 0;
        let mut pages = store
            .s3
            .list_objects_v2()
            .bucket(&source_bucket)
            .prefix(&source_prefix)
            .into_paginator()
            .send();
        while let Some(page) = store.handle.block_on(pages.next()) {
            let page = page.map_err(|e| aws_error("s3:ListObjectsV2", e))?;
            for o in page.contents() {
                let Some(key) = o.key() else { continue };
                let own_output = source_bucket == target_bucket && key.starts_with(&target_prefix);
                let set_aside = key[source_prefix.len()..]
                    .split('/')
                    .any(|seg| seg.starts_with('_') || seg.starts_with('.'));
                if !own_output && !set_aside && !key.ends_with('/') {
                    keys.push(key.to_string());
                    size += o.size().unwrap_or(0).max(0) as u64;
                }
            }
        }
        if keys.is_empty() {
            return Err(ServiceError::invalid(format!(
                "no objects under {}",
                dataset.source
            )));
        }
        progress.set_total(progress.total() + size);
        let masks = parse_masks(&dataset.masks)?;
        let mask_keys = match data_key {
            Some(k) if masks.iter().any(|(_, op)| op.needs_keys()) => masking::mask_keys(k)?,
            _ => MaskKeys::default(),
        };
        let spec = etl::Spec {
            source_bucket,
            source_keys: keys,
            target_bucket,
            target_prefix,
            schema: None,
            dedup,
            type_consensus,
            masks,
            mask_keys,
            put: put.clone(),
            run_id: run_id.to_string(),
            budget: etl::budget::Budget::default(),
            // DMS folders are applied on the local lake only, where the task records the key.
            apply: None,
        };
        let done = total.clone();
        let outcome = etl::run(store, by, &spec, progress, stop, &|m| {
            let mut sum = done.clone();
            add(&mut sum, m);
            on_metrics(&sum);
        })?;
        add(&mut total, &outcome.metrics);
        outputs.extend(outcome.outputs);
        log.push(format!("{} -> {}", dataset.source, dataset.target));
        log.extend(outcome.log);
    }
    Ok((total, outputs, log))
}

fn add(total: &mut RunMetrics, m: &RunMetrics) {
    total.records_read += m.records_read;
    total.records_written += m.records_written;
    total.duplicates += m.duplicates;
    total.quarantined += m.quarantined;
    total.bytes_read += m.bytes_read;
    total.bytes_written += m.bytes_written;
}

impl Aws {
    /// Starts a run in this process and returns its id at once.
    pub(super) async fn start_in_lakectl(
        &self,
        by: &Principal,
        def: JobDefinition,
        progress: Progress,
    ) -> Result<String> {
        let kms_key_arn = match &def.security_configuration {
            Some(name) => Some(self.security_configuration_key(name).await?),
            None => None,
        };
        let plan = self.plan(by, &def, kms_key_arn.clone()).await?;
        let type_consensus = etl::consensus::of_job(def.type_consensus)?;
        // The masking key is opened now, as the caller: a caller KMS refuses fails here.
        let data_key = match (&plan.wrapped_mask_key, &kms_key_arn) {
            (Some(_), Some(arn)) => Some(self.open_mask_data_key(arn).await?),
            _ => None,
        };
        let id = format!("{RUN_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let (bucket, prefix) = records_prefix(&def)?;
        let record_key = format!("{prefix}{id}.json");
        let mut record = Record {
            run: JobRun {
                id: id.clone(),
                job_name: def.name.clone(),
                job_run_state: RunState::Running,
                started_on: Utc::now(),
                completed_on: None,
                execution_time: 0,
                metrics: RunMetrics::default(),
                error_message: None,
                outputs: Vec::new(),
                trigger_name: None,
                workflow_run_id: None,
            },
            pid: std::process::id(),
            host: host(),
            log: Vec::new(),
        };
        put_record(&self.s3, &bucket, &record_key, &kms_key_arn, &record).await?;
        self.running
            .lock()
            .expect("the run registry")
            .insert(id.clone(), progress.clone());

        let running = self.running.clone();
        let s3 = self.s3.clone();
        let by = by.clone();
        let run_id = id.clone();
        // All of the run, its last record included, is one blocking task: the runtime waits for
        // those when the process ends, so a CLI that does not --wait still finishes the run.
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let deadline = def
                .timeout_minutes
                .map(|m| Duration::from_secs(u64::from(m) * 60));
            let put = PutOptions {
                sse: Some(Sse::Kms),
                sse_kms_key_id: kms_key_arn.clone(),
            };
            let store = S3Store {
                s3: s3.clone(),
                handle: handle.clone(),
            };
            let stop = || -> Option<ServiceError> {
                if progress.is_cancelled() {
                    return Some(ServiceError::new(Code::Cancelled, "the run was stopped"));
                }
                match deadline {
                    Some(d) if started.elapsed() > d => Some(ServiceError::new(
                        Code::Cancelled,
                        format!("TIMEOUT: the run took over {} minute(s)", d.as_secs() / 60),
                    )),
                    _ => None,
                }
            };
            let outcome = run_datasets(
                &store,
                &by,
                &plan.datasets,
                plan.dedup,
                type_consensus,
                data_key.as_deref(),
                &put,
                &run_id,
                &progress,
                &stop,
                &|_| {},
            );
            let run = &mut record.run;
            run.completed_on = Some(Utc::now());
            run.execution_time = started.elapsed().as_secs();
            match outcome {
                Ok((metrics, outputs, log)) => {
                    run.job_run_state = RunState::Succeeded;
                    run.metrics = metrics;
                    run.outputs = outputs;
                    record.log = log;
                }
                Err(e) => {
                    run.job_run_state = match e.code {
                        Code::Cancelled if e.message.starts_with("TIMEOUT") => RunState::Timeout,
                        Code::Cancelled => RunState::Stopped,
                        _ => RunState::Failed,
                    };
                    run.error_message = Some(format!("{}: {}", e.code_name(), e.message));
                }
            }
            let _ = handle.block_on(put_record(&s3, &bucket, &record_key, &kms_key_arn, &record));
            running
                .lock()
                .expect("the run registry")
                .remove(&record.run.id);
        });
        Ok(id)
    }

    async fn read_record(&self, bucket: &str, key: &str) -> Result<JobRun> {
        Ok(self.read_whole_record(bucket, key).await?.run)
    }

    async fn read_whole_record(&self, bucket: &str, key: &str) -> Result<Record> {
        // The runs under way here are taken before the record is read: a run writes its last
        // record before it leaves the registry, so one that left it after this read would
        // otherwise look like a run whose process died (its record still RUNNING, itself gone).
        let running_here: Vec<String> = self
            .running
            .lock()
            .expect("the run registry")
            .keys()
            .cloned()
            .collect();
        let bytes = self.read_object(bucket, key).await?;
        let mut record: Record = serde_json::from_slice(&bytes)
            .map_err(|e| ServiceError::internal(format!("run record s3://{bucket}/{key}: {e}")))?;
        let run = &mut record.run;
        let here = running_here.contains(&run.id);
        let gone = record.host == host()
            && record.pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{}", record.pid)).exists();
        if !run.job_run_state.is_finished() && !here && (gone || record.pid == std::process::id()) {
            run.job_run_state = RunState::Failed;
            run.error_message = Some(format!(
                "the lakectl process that ran it (pid {}) ended before the run did",
                record.pid
            ));
        }
        Ok(record)
    }

    pub(super) async fn in_lakectl_run(&self, def: &JobDefinition, id: &str) -> Result<JobRun> {
        let (bucket, prefix) = records_prefix(def)?;
        self.read_record(&bucket, &format!("{prefix}{id}.json"))
            .await
            .map_err(|e| match e.code {
                Code::NoSuchKey | Code::NotFoundException => ServiceError::new(
                    Code::EntityNotFoundException,
                    format!("Job run {id} of {} not found.", def.name),
                ),
                _ => e,
            })
    }

    /// The run's log, kept in its record (encrypted like the output).
    pub(super) async fn in_lakectl_run_log(&self, def: &JobDefinition, id: &str) -> Result<String> {
        let (bucket, prefix) = records_prefix(def)?;
        let record = self
            .read_whole_record(&bucket, &format!("{prefix}{id}.json"))
            .await?;
        Ok(record.log.join("\n"))
    }

    pub(super) async fn in_lakectl_runs(&self, def: &JobDefinition) -> Result<Vec<JobRun>> {
        let (bucket, prefix) = records_prefix(def)?;
        let (keys, _) = self.object_keys(&bucket, &prefix, None).await?;
        let mut runs = Vec::with_capacity(keys.len());
        for key in keys {
            runs.push(self.read_record(&bucket, &key).await?);
        }
        runs.sort_by_key(|r| std::cmp::Reverse(r.started_on));
        Ok(runs)
    }

    pub(super) async fn stop_in_lakectl(&self, def: &JobDefinition, id: &str) -> Result<()> {
        if let Some(progress) = self.running.lock().expect("the run registry").get(id) {
            progress.cancel();
            return Ok(());
        }
        let run = self.in_lakectl_run(def, id).await?;
        Err(ServiceError::new(
            Code::InvalidArgument,
            if run.job_run_state.is_finished() {
                format!("run {id} has already ended ({:?})", run.job_run_state)
            } else {
                format!("run {id} runs in another lakectl process; stop it there")
            },
        ))
    }
}
