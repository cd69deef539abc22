//! Executing a job run: its source (an S3 prefix or a catalog table), its output encryption, the
//! stop, timeout and progress checks the engine consults, its final state and metrics, and its
//! log, sealed under the security configuration's key.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use rusqlite::params;
use serde_json::json;

use super::authorizer::Call;
use super::glue::s3_location;
use super::{Lake, not_found, now, parse_ts};
use crate::etl;
use crate::mask::{MaskKeys, Operator};
use crate::service::classification::{Finding, columns_by_dataset, dataset_table};
use crate::service::jobs::{JobDefinition, JobRun, RunMetrics, RunState};
use crate::service::storage::{PutOptions, Sse};
use crate::service::{Code, Principal, Progress, Result, ServiceError};
use std::collections::BTreeMap;

type MaskKeysFor<'a> = dyn Fn(&[(String, Operator)]) -> Result<MaskKeys> + 'a;

const STOPPED: u8 = 1;
const TIMED_OUT: u8 = 2;

impl Lake {
    /// The put options a job or crawler writes with: its security configuration's key, else
    /// SSE-KMS under the bucket's default.
    fn output_encryption(
        &self,
        security_configuration: Option<&str>,
    ) -> Result<(PutOptions, String)> {
        match security_configuration {
            Some(name) => {
                let sc = self.meta.read(|tx| self.security_configuration(tx, name))?;
                Ok((
                    PutOptions {
                        sse: Some(Sse::Kms),
                        sse_kms_key_id: Some(sc.kms_key_arn.clone()),
                    },
                    sc.kms_key_arn,
                ))
            }
            None => Ok((
                PutOptions {
                    sse: Some(Sse::Kms),
                    sse_kms_key_id: None,
                },
                "alias/aws/s3".into(),
            )),
        }
    }

    /// Seals a run's log under `key` as `by`; if that key cannot be used (the reason the run
    /// may have failed), under the lake-managed key: a log is never kept in the clear.
    fn seal_log(&self, by: &Principal, key: &str, context: &str, text: &str) -> Result<Vec<u8>> {
        let seal_under = |k: &str| {
            self.meta.read(|tx| {
                let caller = self.caller(tx, by)?;
                let (dk, key_id, version, sealed_dk) = self.generate_data_key(tx, &caller, k, context)?;
                let body = super::crypto::seal(&dk.aead(), text.as_bytes(), context.as_bytes());
                Ok(serde_json::to_vec(&json!({"KeyId": key_id, "Version": version, "DataKey": hex::encode(sealed_dk), "Log": hex::encode(body)}))
                    .expect("JSON"))
            })
        };
        seal_under(key).or_else(|_| seal_under("alias/aws/s3"))
    }

    /// A job's source: an S3 location, or `DB.TABLE`, whose location and columns the catalog gives.
    fn job_source(
        &self,
        by: &Principal,
        source: &str,
    ) -> Result<(String, Option<arrow::datatypes::SchemaRef>)> {
        if source.starts_with("s3://") {
            return Ok((source.to_string(), None));
        }
        let (db, name) = source.split_once('.').ok_or_else(|| {
            ServiceError::new(
                Code::InvalidArgument,
                format!("the source {source:?} is neither s3://BUCKET/PREFIX/ nor DB.TABLE"),
            )
        })?;
        let table = self
            .reading(
                by,
                Call::new("glue", "GetTable", source)
                    .on(self.glue_arn(&format!("table/{db}/{name}"))),
                |tx, _| self.table(tx, db, name),
            )?
            .ok_or_else(|| not_found(format!("Table {name} not found in database {db}.")))?;
        let fields = table
            .storage_descriptor
            .columns
            .iter()
            .map(|c| {
                etl::source::arrow_type(&c.type_name)
                    .map(|t| arrow::datatypes::Field::new(&c.name, t, true))
                    .ok_or_else(|| {
                        ServiceError::new(
                            Code::InvalidArgument,
                            format!(
                                "{source}: column {} has type {}, which jobs do not read yet",
                                c.name, c.type_name
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((
            table.storage_descriptor.location,
            Some(std::sync::Arc::new(arrow::datatypes::Schema::new(fields))),
        ))
    }

    pub(super) fn execute_run(&self, job: JobDefinition, mut run: JobRun, progress: Progress) {
        let role = Principal::new(job.role.clone());
        let started = Instant::now();
        let reason = AtomicU8::new(0);
        let last_save = std::sync::Mutex::new(Instant::now());
        // Checked between batches. The timeout counts from the run's recorded start, not from
        // this process's: a run handed to the lake server, or finished by one after its process
        // died, keeps the deadline it started with.
        let stop = || -> Option<ServiceError> {
            let (asked, started_on) = self
                .meta
                .read(|tx| {
                    Ok(tx.query_row(
                        "SELECT stop_requested, started FROM job_runs WHERE id = ?1",
                        params![run.id],
                        |r| Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?)),
                    )?)
                })
                .map(|(asked, at)| (asked, Some(parse_ts(&at))))
                .unwrap_or((false, None));
            let ran_for = started_on
                .and_then(|at| (now() - at).to_std().ok())
                .unwrap_or_else(|| started.elapsed());
            if let Some(minutes) = job.timeout_minutes
                && ran_for > Duration::from_secs(minutes as u64 * 60)
            {
                reason.store(TIMED_OUT, Ordering::Relaxed);
                return Some(ServiceError::new(
                    Code::Cancelled,
                    format!("the run timed out after {minutes} minute(s)"),
                ));
            }
            if asked || progress.is_cancelled() {
                reason.store(STOPPED, Ordering::Relaxed);
                return Some(ServiceError::new(Code::Cancelled, "the run was stopped"));
            }
            None
        };
        let on_metrics = |m: &RunMetrics| {
            // Records so far, for whoever watches the run; at most once a second.
            let mut last = last_save.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() > Duration::from_secs(1) {
                *last = Instant::now();
                let mut interim = run.clone();
                interim.metrics = m.clone();
                interim.execution_time = started.elapsed().as_secs();
                let _ = self.save_run(&interim, None);
            }
        };
        let outcome = (|| -> Result<etl::Outcome> {
            let (put, key) = self.output_encryption(job.security_configuration.as_deref())?;
            let mask_keys = |ops: &[(String, Operator)]| -> Result<MaskKeys> {
                if !ops.iter().any(|(_, o)| o.needs_keys()) {
                    return Ok(MaskKeys::default());
                }
                self.meta.read(|tx| {
                    let caller = self.caller(tx, &role)?;
                    self.mask_keys(tx, &caller, &key)
                })
            };
            if let Some(classification) = &job.from_findings {
                return self.mask_from_findings(
                    &job,
                    classification,
                    &role,
                    &put,
                    &mask_keys,
                    &run.id,
                    &progress,
                    &stop,
                    &on_metrics,
                );
            }
            let (source, schema) = self.job_source(&role, &job.source)?;
            let (src_bucket, src_prefix) = s3_location(&source)?;
            let (dst_bucket, dst_prefix) = s3_location(&job.target)?;
            let objects: Vec<(String, u64)> = self
                .list_keys(&role, &src_bucket, &src_prefix)?
                .into_iter()
                // Never read our own output or anything set aside.
                .filter(|(k, _)| !(src_bucket == dst_bucket && k.starts_with(&dst_prefix)))
                .filter(|(k, _)| {
                    !k[src_prefix.len()..]
                        .split('/')
                        .any(|seg| seg.starts_with('_') || seg.starts_with('.'))
                })
                .collect();
            // A DMS table folder is applied by its key: its own files, in DMS's order.
            let apply = self.dms_table_key(&src_bucket, &src_prefix)?;
            let objects: Vec<(String, u64)> = objects
                .into_iter()
                .filter(|(k, _)| apply.is_none() || !k[src_prefix.len()..].contains('/'))
                .collect();
            progress.set_total(objects.iter().map(|(_, size)| size).sum());
            if objects.is_empty() {
                return Err(ServiceError::new(
                    Code::ValidationException,
                    format!("no objects under {}", job.source),
                ));
            }
            let mut keys: Vec<String> = objects.into_iter().map(|(k, _)| k).collect();
            if apply.is_some() {
                etl::apply::apply_order(&mut keys);
            }
            let masks = job
                .masks
                .iter()
                .map(|m| Operator::parse(&m.operator).map(|op| (m.column.clone(), op)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| ServiceError::new(Code::InvalidArgument, e))?;
            let spec = etl::Spec {
                source_bucket: src_bucket,
                source_keys: keys,
                target_bucket: dst_bucket,
                target_prefix: dst_prefix,
                schema,
                dedup: job.dedup,
                type_consensus: etl::consensus::of_job(job.type_consensus)?,
                mask_keys: mask_keys(&masks)?,
                masks,
                put,
                run_id: run.id.clone(),
                budget: etl::budget::Budget::default(),
                apply,
            };
            etl::run(self, &role, &spec, &progress, &stop, &on_metrics)
        })()
        .and_then(|o| {
            self.put_run_metrics(&role, &job, &run.id, &o.metrics)?;
            Ok(o)
        });
        run.execution_time = started.elapsed().as_secs();
        run.completed_on = Some(now());
        let mut log = vec![format!(
            "{} run {} as {} started",
            job.name, run.id, job.role
        )];
        match outcome {
            Ok(o) => {
                run.job_run_state = RunState::Succeeded;
                run.metrics = o.metrics;
                run.outputs = o.outputs;
                log.extend(o.log);
            }
            Err(e) => {
                run.job_run_state = match reason.load(Ordering::Relaxed) {
                    STOPPED => RunState::Stopped,
                    TIMED_OUT => RunState::Timeout,
                    _ => RunState::Failed,
                };
                log.push(format!("{}: {}", e.code, e.message));
                run.error_message = Some(format!("{}: {}", e.code, e.message));
            }
        }
        log.push(format!(
            "ended {:?} after {} s",
            run.job_run_state, run.execution_time
        ));
        let key = self
            .output_encryption(job.security_configuration.as_deref())
            .map(|(_, k)| k)
            .unwrap_or_else(|_| "alias/aws/s3".into());
        let sealed = self
            .seal_log(
                &role,
                &key,
                &format!("glue:job-run={}", run.id),
                &log.join("\n"),
            )
            .ok();
        if let Err(e) = self.save_run(&run, sealed.as_deref()) {
            tracing::error!("cannot record the end of run {}: {e}", run.id);
        }
        self.deliver_here();
    }

    /// The run's counts where the Glue script writes them and lakectl's AWS backend reads them
    /// (`{target}_lakectl/metrics/{run}.json`, sealed like the output), so a client of the lake
    /// server sees the figures `glue get-job-run` shows here. Hive's rule keeps `_` folders out
    /// of crawls, queries and jobs.
    fn put_run_metrics(
        &self,
        role: &Principal,
        job: &JobDefinition,
        run_id: &str,
        metrics: &RunMetrics,
    ) -> Result<()> {
        use std::io::Write;
        let (put, _) = self.output_encryption(job.security_configuration.as_deref())?;
        let (bucket, prefix) = s3_location(&job.target)?;
        let key = format!("{prefix}_lakectl/metrics/{run_id}.json");
        let text = serde_json::to_vec(metrics)
            .map_err(|e| ServiceError::internal(format!("run metrics did not serialize: {e}")))?;
        let mut body = etl::JobStore::create(self, role, &bucket, &key, &put)?;
        body.write_all(&text)
            .map_err(|e| ServiceError::local_io("cannot write the run's metrics", &e))?;
        let (written, _) = etl::JobStore::finish(self, body)?;
        self.commit_bodies(role, vec![written], None)
    }

    /// `--from-findings`: for every dataset folder a classification job found personal data in,
    /// `masked/<table>` (the columns it named, redacted, or as `--mask TYPE=OPERATOR` says) and
    /// `encrypted/<table>` (the same columns tokenized) under the job's target.
    #[allow(clippy::too_many_arguments)]
    fn mask_from_findings(
        &self,
        job: &JobDefinition,
        classification: &str,
        role: &Principal,
        put: &PutOptions,
        mask_keys: &MaskKeysFor,
        run_id: &str,
        progress: &Progress,
        stop: etl::StopCheck,
        on_metrics: &dyn Fn(&RunMetrics),
    ) -> Result<etl::Outcome> {
        let (dst_bucket, dst_prefix) = s3_location(&job.target)?;
        let findings: Vec<Finding> = if classification.starts_with("s3://") {
            self.delivered_findings(role, classification)?
        } else {
            self.classification_findings(classification)?
        };
        if findings.is_empty() {
            return Err(ServiceError::new(
                Code::ValidationException,
                format!("{classification} holds no findings to mask from"),
            ));
        }
        self.mask_datasets(
            job,
            &findings,
            role,
            put,
            mask_keys,
            run_id,
            progress,
            stop,
            on_metrics,
            &dst_bucket,
            &dst_prefix,
        )
    }

    /// The findings a classification job recorded.
    fn classification_findings(&self, classification: &str) -> Result<Vec<Finding>> {
        self.meta.read(|tx| {
            let classification = self.resolve_classification_job(tx, classification)?;
            let rows: Vec<String> = tx
                .prepare("SELECT finding FROM findings WHERE job_id = ?1 ORDER BY id")?
                .query_map(params![classification], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            rows.iter()
                .map(|t| serde_json::from_str(t).map_err(|e| ServiceError::internal(e.to_string())))
                .collect()
        })
    }

    /// The findings delivered under `location` (`s3://BUCKET/PREFIX/`): Firehose's objects of
    /// EventBridge events, one a line, each `Macie Finding` event's detail a finding. Read as
    /// `role`, within the run's budget; lines that are not findings are skipped.
    fn delivered_findings(&self, role: &Principal, location: &str) -> Result<Vec<Finding>> {
        let (bucket, prefix) = s3_location(location)?;
        let budget = etl::budget::Budget::default();
        let mut findings = Vec::new();
        for (key, _) in self.list_keys(role, &bucket, &prefix)? {
            let (_, opened) =
                etl::open_source(self, role, &bucket, &key, &Progress::default(), &budget)?;
            let etl::Opened::Json(mut records) = opened else {
                continue;
            };
            while let Some((_, record)) = records.next_record().map_err(|e| {
                ServiceError::new(
                    Code::ValidationException,
                    format!("s3://{bucket}/{key}: {e}"),
                )
            })? {
                let Ok(event) = serde_json::from_slice::<serde_json::Value>(record) else {
                    continue;
                };
                if event["detail-type"] != "Macie Finding" {
                    continue;
                }
                if let Ok(f) = serde_json::from_value::<Finding>(event["detail"].clone()) {
                    findings.push(f);
                }
            }
        }
        Ok(findings)
    }

    #[allow(clippy::too_many_arguments)]
    fn mask_datasets(
        &self,
        job: &JobDefinition,
        findings: &[Finding],
        role: &Principal,
        put: &PutOptions,
        mask_keys: &MaskKeysFor,
        run_id: &str,
        progress: &Progress,
        stop: etl::StopCheck,
        on_metrics: &dyn Fn(&RunMetrics),
        dst_bucket: &str,
        dst_prefix: &str,
    ) -> Result<etl::Outcome> {
        let datasets = columns_by_dataset(findings);
        let by_type: BTreeMap<String, Operator> = job
            .masks
            .iter()
            .map(|m| Operator::parse(&m.operator).map(|op| (m.column.clone(), op)))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| ServiceError::new(Code::InvalidArgument, e))?;
        let mut total = etl::Outcome {
            metrics: RunMetrics::default(),
            outputs: Vec::new(),
            log: Vec::new(),
        };
        for ((bucket, folder), columns) in datasets {
            let table = dataset_table(&bucket, &folder);
            let mut keys: Vec<String> = self
                .list_keys(role, &bucket, &folder)?
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| {
                    !k[folder.len()..].contains('/') && !k[folder.len()..].starts_with(['_', '.'])
                })
                .collect();
            // A DMS table folder: masked/ and encrypted/ are the table's current state.
            let apply = self.dms_table_key(&bucket, &folder)?;
            if apply.is_some() {
                etl::apply::apply_order(&mut keys);
            }
            let masked: Vec<(String, Operator)> = columns
                .iter()
                .map(|(c, kind)| {
                    (
                        c.clone(),
                        by_type.get(kind).copied().unwrap_or(Operator::Redact),
                    )
                })
                .collect();
            let encrypted: Vec<(String, Operator)> = columns
                .keys()
                .map(|c| (c.clone(), Operator::Tokenize))
                .collect();
            total.log.push(format!(
                "{table}: masking {} from s3://{bucket}/{folder}",
                columns.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
            for (kind, ops) in [("masked", masked), ("encrypted", encrypted)] {
                let spec = etl::Spec {
                    source_bucket: bucket.clone(),
                    source_keys: keys.clone(),
                    target_bucket: dst_bucket.to_string(),
                    target_prefix: format!("{dst_prefix}{kind}/{table}/"),
                    schema: None,
                    dedup: job.dedup,
                    type_consensus: etl::consensus::of_job(job.type_consensus)?,
                    mask_keys: mask_keys(&ops)?,
                    masks: ops,
                    put: put.clone(),
                    run_id: run_id.to_string(),
                    budget: etl::budget::Budget::default(),
                    apply: apply.clone(),
                };
                let o = etl::run(self, role, &spec, progress, stop, on_metrics)?;
                let m = &mut total.metrics;
                m.records_read += o.metrics.records_read;
                m.records_written += o.metrics.records_written;
                m.duplicates += o.metrics.duplicates;
                m.quarantined += o.metrics.quarantined;
                m.bytes_read += o.metrics.bytes_read;
                m.bytes_written += o.metrics.bytes_written;
                total.outputs.extend(o.outputs);
                total.log.extend(o.log);
            }
        }
        Ok(total)
    }
}
