//! Glue jobs and crawlers on the local lake. A run executes on a thread of the process that
//! started it, as the job's role; its row records that process, so a run whose process died is
//! reported FAILED rather than RUNNING forever. Stop requests go through the metadata store, so
//! any process may stop any run. Run logs are sealed under the security configuration's key.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use serde_json::json;

use super::etl;
use super::{Lake, now, ts};
use crate::service::jobs::{
    CrawlerDefinition, CrawlerRun, JobDefinition, JobRun, Jobs, RunMetrics, RunState,
};
use crate::service::storage::{PutOptions, Sse};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// `s3://bucket/prefix/` → (bucket, prefix ending in `/` or empty).
pub(super) fn s3_location(uri: &str) -> Result<(String, String)> {
    let rest = uri.strip_prefix("s3://").ok_or_else(|| {
        ServiceError::new(
            Code::InvalidArgument,
            format!("{uri:?} is not an S3 location (s3://BUCKET/PREFIX/)"),
        )
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    };
    Ok((bucket.to_string(), prefix))
}

fn check_job_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::new(
            Code::InvalidArgument,
            format!("the name {name:?} is not valid: use letters, digits, - _ ."),
        ))
    }
}

fn not_found(what: String) -> ServiceError {
    ServiceError::new(Code::EntityNotFoundException, what)
}

const STOPPED: u8 = 1;
const TIMED_OUT: u8 = 2;

impl Lake {
    fn job(&self, tx: &rusqlite::Transaction, name: &str) -> Result<JobDefinition> {
        let text: String = tx
            .query_row(
                "SELECT definition FROM jobs WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| not_found(format!("Job {name} not found.")))?;
        serde_json::from_str(&text).map_err(|e| ServiceError::internal(format!("job {name}: {e}")))
    }

    /// A run as stored, with a run whose process is gone reported as failed.
    fn job_run(&self, tx: &rusqlite::Transaction, job: &str, id: &str) -> Result<JobRun> {
        let (text, pid): (String, u32) = tx
            .query_row(
                "SELECT run, pid FROM job_runs WHERE job = ?1 AND id = ?2",
                params![job, id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| not_found(format!("Job run {id} of {job} not found.")))?;
        let mut run: JobRun = serde_json::from_str(&text)
            .map_err(|e| ServiceError::internal(format!("run {id}: {e}")))?;
        if !run.job_run_state.is_finished()
            && pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            run.job_run_state = RunState::Failed;
            run.error_message = Some(format!(
                "the process running it (pid {pid}) ended before the run did"
            ));
        }
        Ok(run)
    }

    fn save_run(&self, run: &JobRun, log: Option<&[u8]>) -> Result<()> {
        self.meta.write(|tx| {
            tx.execute(
                "UPDATE job_runs SET run = ?3, log = coalesce(?4, log) WHERE job = ?1 AND id = ?2",
                params![
                    run.job_name,
                    run.id,
                    serde_json::to_string(run).expect("runs serialize"),
                    log
                ],
            )?;
            Ok(())
        })
    }

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
            .reading(by, "glue", "GetTable", source, |tx, _| {
                self.table(tx, db, name)
            })?
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

    fn execute_run(&self, job: JobDefinition, mut run: JobRun, progress: Progress) {
        let role = Principal::new(job.role.clone());
        let started = Instant::now();
        let reason = AtomicU8::new(0);
        let last_save = std::sync::Mutex::new(Instant::now());
        let stop = || -> Option<ServiceError> {
            if let Some(minutes) = job.timeout_minutes
                && started.elapsed() > Duration::from_secs(minutes as u64 * 60)
            {
                reason.store(TIMED_OUT, Ordering::Relaxed);
                return Some(ServiceError::new(
                    Code::Cancelled,
                    format!("the run timed out after {minutes} minute(s)"),
                ));
            }
            let asked = progress.is_cancelled()
                || self
                    .meta
                    .read(|tx| {
                        Ok(tx.query_row(
                            "SELECT stop_requested FROM job_runs WHERE id = ?1",
                            params![run.id],
                            |r| r.get::<_, bool>(0),
                        )?)
                    })
                    .unwrap_or(false);
            if asked {
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
            let (source, schema) = self.job_source(&role, &job.source)?;
            let (src_bucket, src_prefix) = s3_location(&source)?;
            let (dst_bucket, dst_prefix) = s3_location(&job.target)?;
            let keys: Vec<String> = self
                .list_keys(&role, &src_bucket, &src_prefix)?
                .into_iter()
                .map(|(k, _)| k)
                // Never read our own output or anything set aside.
                .filter(|k| !(src_bucket == dst_bucket && k.starts_with(&dst_prefix)))
                .filter(|k| {
                    !k[src_prefix.len()..]
                        .split('/')
                        .any(|seg| seg.starts_with('_') || seg.starts_with('.'))
                })
                .collect();
            let total = self
                .list_keys(&role, &src_bucket, &src_prefix)?
                .into_iter()
                .filter(|(k, _)| keys.contains(k))
                .map(|(_, s)| s)
                .sum();
            progress.set_total(total);
            if keys.is_empty() {
                return Err(ServiceError::new(
                    Code::ValidationException,
                    format!("no objects under {}", job.source),
                ));
            }
            let masks = job
                .masks
                .iter()
                .map(|m| crate::mask::Operator::parse(&m.operator).map(|op| (m.column.clone(), op)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| ServiceError::new(Code::InvalidArgument, e))?;
            let (put, _) = self.output_encryption(job.security_configuration.as_deref())?;
            let spec = etl::Spec {
                source_bucket: src_bucket,
                source_keys: keys,
                target_bucket: dst_bucket,
                target_prefix: dst_prefix,
                schema,
                dedup: job.dedup,
                masks,
                put,
                run_id: run.id.clone(),
            };
            etl::run(self, &role, &spec, &progress, &stop, &on_metrics)
        })();
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
    }
}

#[async_trait]
impl Jobs for Lake {
    async fn create_job(&self, by: &Principal, def: JobDefinition) -> Result<()> {
        self.audited(by, "glue", "CreateJob", &def.name, |tx, caller| {
            self.require_admin(caller, "glue:CreateJob")?;
            check_job_name(&def.name)?;
            let (tb, _) = s3_location(&def.target)?;
            self.bucket_row_exists(tx, &tb)?;
            if def.source.starts_with("s3://") {
                self.bucket_row_exists(tx, &s3_location(&def.source)?.0)?;
            } else {
                let (db, name) = def.source.split_once('.').ok_or_else(|| {
                    ServiceError::new(Code::InvalidArgument, format!("the source {:?} is neither s3://BUCKET/PREFIX/ nor DB.TABLE", def.source))
                })?;
                self.table(tx, db, name)?.ok_or_else(|| not_found(format!("Table {name} not found in database {db}.")))?;
            }
            self.caller(tx, &Principal::new(def.role.clone()))
                .map_err(|_| not_found(format!("the role {:?} is not a principal of this lake", def.role)))?;
            if let Some(sc) = &def.security_configuration {
                self.security_configuration(tx, sc)?;
            }
            for m in &def.masks {
                crate::mask::Operator::parse(&m.operator).map_err(|e| ServiceError::new(Code::InvalidArgument, e))?;
            }
            if def.from_findings.is_some() {
                return Err(ServiceError::new(
                    Code::InvalidArgument,
                    "--from-findings masks what a classification job found; this lake has no classification jobs",
                ));
            }
            let n = tx.execute(
                "INSERT INTO jobs(name, definition, created) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![def.name, serde_json::to_string(&def).expect("jobs serialize"), ts(now())],
            )?;
            if n == 0 {
                return Err(ServiceError::new(Code::AlreadyExistsException, format!("Job {} already exists.", def.name)));
            }
            Ok(((), json!({"Source": def.source, "Target": def.target, "Role": def.role})))
        })
    }

    async fn get_jobs(&self, by: &Principal) -> Result<Vec<JobDefinition>> {
        self.reading(by, "glue", "GetJobs", "*", |tx, _| {
            let names: Vec<String> = tx
                .prepare("SELECT name FROM jobs ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            names.iter().map(|n| self.job(tx, n)).collect()
        })
    }

    async fn start_job_run(&self, by: &Principal, job: &str, progress: Progress) -> Result<String> {
        let id = format!("jr_{}", uuid::Uuid::new_v4().simple());
        let (def, run) = self.audited(by, "glue", "StartJobRun", job, |tx, caller| {
            self.require_admin(caller, "glue:StartJobRun")?;
            let def = self.job(tx, job)?;
            let run = JobRun {
                id: id.clone(),
                job_name: job.into(),
                job_run_state: RunState::Running,
                started_on: now(),
                completed_on: None,
                execution_time: 0,
                metrics: RunMetrics::default(),
                error_message: None,
                outputs: Vec::new(),
            };
            tx.execute(
                "INSERT INTO job_runs(id, job, run, started, pid) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id,
                    job,
                    serde_json::to_string(&run).expect("runs serialize"),
                    ts(run.started_on),
                    std::process::id()
                ],
            )?;
            Ok(((def, run), json!({"JobRunId": id})))
        })?;
        let lake = self.arc();
        tokio::task::spawn_blocking(move || lake.execute_run(def, run, progress));
        Ok(id)
    }

    async fn get_job_run(&self, by: &Principal, job: &str, run_id: &str) -> Result<JobRun> {
        self.reading(by, "glue", "GetJobRun", job, |tx, _| {
            self.job(tx, job)?;
            self.job_run(tx, job, run_id)
        })
    }

    async fn get_job_runs(&self, by: &Principal, job: &str) -> Result<Vec<JobRun>> {
        self.reading(by, "glue", "GetJobRuns", job, |tx, _| {
            self.job(tx, job)?;
            let ids: Vec<String> = tx
                .prepare("SELECT id FROM job_runs WHERE job = ?1 ORDER BY started DESC")?
                .query_map(params![job], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.iter().map(|id| self.job_run(tx, job, id)).collect()
        })
    }

    async fn stop_job_run(&self, by: &Principal, job: &str, run_id: &str) -> Result<()> {
        self.audited(by, "glue", "BatchStopJobRun", job, |tx, caller| {
            self.require_admin(caller, "glue:BatchStopJobRun")?;
            let run = self.job_run(tx, job, run_id)?;
            if run.job_run_state.is_finished() {
                return Err(ServiceError::new(
                    Code::InvalidArgument,
                    format!("run {run_id} has already ended ({:?})", run.job_run_state),
                ));
            }
            tx.execute(
                "UPDATE job_runs SET stop_requested = 1 WHERE id = ?1",
                params![run_id],
            )?;
            Ok(((), json!({"JobRunId": run_id})))
        })
    }

    async fn get_job_run_log(&self, by: &Principal, job: &str, run_id: &str) -> Result<String> {
        self.reading(by, "glue", "GetJobRunLog", job, |tx, caller| {
            let sealed: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT log FROM job_runs WHERE job = ?1 AND id = ?2",
                    params![job, run_id],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| not_found(format!("Job run {run_id} of {job} not found.")))?;
            let Some(sealed) = sealed else {
                return Ok(String::new());
            };
            let v: serde_json::Value = serde_json::from_slice(&sealed)
                .map_err(|e| ServiceError::internal(e.to_string()))?;
            let field = |k: &str| {
                hex::decode(v[k].as_str().unwrap_or(""))
                    .map_err(|e| ServiceError::internal(e.to_string()))
            };
            let context = format!("glue:job-run={run_id}");
            let dk = self.decrypt_data_key(
                tx,
                caller,
                v["KeyId"].as_str().unwrap_or(""),
                v["Version"].as_u64().unwrap_or(0) as u32,
                &field("DataKey")?,
                &context,
            )?;
            let text = super::crypto::open(&dk.aead(), &field("Log")?, context.as_bytes())?;
            Ok(String::from_utf8_lossy(&text).into_owned())
        })
    }

    async fn create_crawler(&self, by: &Principal, def: CrawlerDefinition) -> Result<()> {
        self.audited(by, "glue", "CreateCrawler", &def.name, |tx, caller| {
            self.require_admin(caller, "glue:CreateCrawler")?;
            check_job_name(&def.name)?;
            self.database_exists(tx, &def.database_name)?;
            if let Some(p) = &def.table_prefix {
                super::catalog::check_catalog_name("table prefix", p)?;
            }
            if def.targets.is_empty() {
                return Err(ServiceError::new(
                    Code::InvalidArgument,
                    "a crawler needs a target (--target s3://BUCKET/PREFIX/)",
                ));
            }
            for t in &def.targets {
                self.bucket_row_exists(tx, &s3_location(t)?.0)?;
            }
            if !["UPDATE_IN_DATABASE", "LOG"].contains(&def.update_behavior.as_str()) {
                return Err(ServiceError::new(
                    Code::InvalidArgument,
                    "the schema change policy is UPDATE_IN_DATABASE or LOG",
                ));
            }
            self.caller(tx, &Principal::new(def.role.clone()))
                .map_err(|_| {
                    not_found(format!(
                        "the role {:?} is not a principal of this lake",
                        def.role
                    ))
                })?;
            if let Some(sc) = &def.security_configuration {
                self.security_configuration(tx, sc)?;
            }
            let n = tx.execute(
                "INSERT INTO crawlers(name, definition) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![
                    def.name,
                    serde_json::to_string(&def).expect("crawlers serialize")
                ],
            )?;
            if n == 0 {
                return Err(ServiceError::new(
                    Code::AlreadyExistsException,
                    format!("Crawler {} already exists.", def.name),
                ));
            }
            Ok((
                (),
                json!({"Database": def.database_name, "Targets": def.targets}),
            ))
        })
    }

    async fn start_crawler(&self, by: &Principal, name: &str, progress: Progress) -> Result<()> {
        let def = self.audited(by, "glue", "StartCrawler", name, |tx, caller| {
            self.require_admin(caller, "glue:StartCrawler")?;
            let (def, last) = self.crawler(tx, name)?;
            if last.is_some_and(|r| !r.state.is_finished()) {
                return Err(ServiceError::new(
                    Code::InvalidArgument,
                    format!("Crawler {name} is already running."),
                ));
            }
            let run = CrawlerRun {
                crawler_name: name.into(),
                state: RunState::Running,
                started_on: now(),
                completed_on: None,
                tables_created: vec![],
                tables_updated: vec![],
                partitions_added: 0,
                error_message: None,
                log: vec![],
            };
            tx.execute(
                "UPDATE crawlers SET last_run = ?2 WHERE name = ?1",
                params![name, serde_json::to_string(&run).expect("JSON")],
            )?;
            Ok((def, json!({})))
        })?;
        let lake = self.arc();
        tokio::task::spawn_blocking(move || lake.execute_crawl(def, progress));
        Ok(())
    }

    async fn get_crawler(
        &self,
        by: &Principal,
        name: &str,
    ) -> Result<(CrawlerDefinition, Option<CrawlerRun>)> {
        self.reading(by, "glue", "GetCrawler", name, |tx, _| {
            self.crawler(tx, name)
        })
    }

    async fn get_crawlers(
        &self,
        by: &Principal,
    ) -> Result<Vec<(CrawlerDefinition, Option<CrawlerRun>)>> {
        self.reading(by, "glue", "GetCrawlers", "*", |tx, _| {
            let names: Vec<String> = tx
                .prepare("SELECT name FROM crawlers ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            names.iter().map(|n| self.crawler(tx, n)).collect()
        })
    }
}

impl Lake {
    pub(super) fn crawler(
        &self,
        tx: &rusqlite::Transaction,
        name: &str,
    ) -> Result<(CrawlerDefinition, Option<CrawlerRun>)> {
        let (def, last): (String, Option<String>) = tx
            .query_row(
                "SELECT definition, last_run FROM crawlers WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| not_found(format!("Crawler {name} not found.")))?;
        let def = serde_json::from_str(&def).map_err(|e| ServiceError::internal(e.to_string()))?;
        let last = last
            .map(|l| serde_json::from_str(&l))
            .transpose()
            .map_err(|e| ServiceError::internal(e.to_string()))?;
        Ok((def, last))
    }

    pub(super) fn save_crawl(&self, run: &CrawlerRun) -> Result<()> {
        self.meta.write(|tx| {
            tx.execute(
                "UPDATE crawlers SET last_run = ?2 WHERE name = ?1",
                params![run.crawler_name, serde_json::to_string(run).expect("JSON")],
            )?;
            Ok(())
        })
    }

    fn bucket_row_exists(&self, tx: &rusqlite::Transaction, bucket: &str) -> Result<()> {
        tx.query_row(
            "SELECT 1 FROM buckets WHERE name = ?1",
            params![bucket],
            |_| Ok(()),
        )
        .optional()?
        .ok_or_else(|| {
            ServiceError::new(
                Code::NoSuchBucket,
                format!("The specified bucket does not exist: {bucket}"),
            )
        })
    }
}
