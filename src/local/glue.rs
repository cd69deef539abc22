//! The Jobs service on the local lake: job and crawler definitions, starting and stopping runs,
//! and reading them back. A run executes on a thread of the process that started it, as the job's
//! role (runs.rs; crawls, crawler.rs); its row records that process, so a run or crawl whose
//! process died is reported FAILED rather than RUNNING forever. Stop requests go through the
//! metadata store, so any process may stop any run or crawl.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use serde_json::json;

use super::authorizer::Call;
use super::workflow_runs::NodeOrigin;
use super::{Lake, not_found, now, runner_gone, ts};
use crate::service::jobs::{
    Crawl, CrawlerDefinition, CrawlerRun, JobDefinition, JobRun, Jobs, RunMetrics, RunState,
};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

pub(super) use crate::service::storage::s3_location;

pub(super) fn check_job_name(name: &str) -> Result<()> {
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
    pub(super) fn job_run(
        &self,
        tx: &rusqlite::Transaction,
        job: &str,
        id: &str,
    ) -> Result<JobRun> {
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
        self.open_opt(&format!("glue:job-run={id}"), &mut run.error_message);
        if !run.job_run_state.is_finished() && runner_gone(pid) {
            run.job_run_state = RunState::Failed;
            run.error_message = Some(format!(
                "the process running it (pid {pid}) ended before the run did"
            ));
        }
        Ok(run)
    }

    pub(super) fn save_run(&self, run: &JobRun, log: Option<&[u8]>) -> Result<()> {
        let mut run = run.clone();
        self.seal_opt(&format!("glue:job-run={}", run.id), &mut run.error_message);
        let run = &run;
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
            if run.job_run_state.is_finished() {
                self.emit_job_state(tx, run)?;
            }
            Ok(())
        })
    }
}

#[async_trait]
impl Jobs for Lake {
    async fn create_job(&self, by: &Principal, def: JobDefinition) -> Result<()> {
        self.audited(by, Call::new("glue", "CreateJob", &def.name).on(self.glue_arn(&format!("job/{}", def.name))), |tx, _| {
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
            crate::etl::consensus::of_job(def.type_consensus)?;
            for m in &def.masks {
                crate::mask::Operator::parse(&m.operator).map_err(|e| ServiceError::new(Code::InvalidArgument, e))?;
            }
            match &def.from_findings {
                Some(delivered) if delivered.starts_with("s3://") => {
                    self.bucket_row_exists(tx, &s3_location(delivered)?.0)?;
                }
                Some(classification) => {
                    self.resolve_classification_job(tx, classification)?;
                }
                None => {}
            }
            let needs_keys = def.from_findings.is_some()
                || def.masks.iter().any(|m| crate::mask::Operator::parse(&m.operator).is_ok_and(|o| o.needs_keys()));
            if needs_keys && def.security_configuration.is_none() {
                return Err(ServiceError::new(
                    Code::InvalidArgument,
                    "hash, tokenize and --from-findings need --security-configuration: its key protects the tokens",
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
        self.reading(by, Call::new("glue", "GetJobs", "*"), |tx, _| {
            let names: Vec<String> = tx
                .prepare("SELECT name FROM jobs ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            names.iter().map(|n| self.job(tx, n)).collect()
        })
    }

    /// Glue's GetJob, authorized as that action on the job, as IAM decides it on AWS (not as
    /// GetJobs on every job).
    async fn get_job(&self, by: &Principal, name: &str) -> Result<JobDefinition> {
        let call = Call::new("glue", "GetJob", name).on(self.glue_arn(&format!("job/{name}")));
        self.reading(by, call, |tx, _| self.job(tx, name))
    }

    async fn start_job_run(&self, by: &Principal, job: &str, progress: Progress) -> Result<String> {
        self.begin_job_run(by, job, progress, None)
    }

    async fn get_job_run(&self, by: &Principal, job: &str, run_id: &str) -> Result<JobRun> {
        self.reading(
            by,
            Call::new("glue", "GetJobRun", job).on(self.glue_arn(&format!("job/{}", job))),
            |tx, _| {
                self.job(tx, job)?;
                self.job_run(tx, job, run_id)
            },
        )
    }

    async fn get_job_runs(&self, by: &Principal, job: &str) -> Result<Vec<JobRun>> {
        self.reading(
            by,
            Call::new("glue", "GetJobRuns", job).on(self.glue_arn(&format!("job/{}", job))),
            |tx, _| {
                self.job(tx, job)?;
                let ids: Vec<String> = tx
                    .prepare("SELECT id FROM job_runs WHERE job = ?1 ORDER BY started DESC")?
                    .query_map(params![job], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                ids.iter().map(|id| self.job_run(tx, job, id)).collect()
            },
        )
    }

    async fn stop_job_run(&self, by: &Principal, job: &str, run_id: &str) -> Result<()> {
        self.audited(
            by,
            Call::new("glue", "BatchStopJobRun", job).on(self.glue_arn(&format!("job/{}", job))),
            |tx, _| {
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
            },
        )
    }

    async fn get_job_run_log(&self, by: &Principal, job: &str, run_id: &str) -> Result<String> {
        self.reading(
            by,
            Call::new("glue", "GetJobRunLog", job).on(self.glue_arn(&format!("job/{}", job))),
            |tx, caller| {
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
            },
        )
    }

    async fn create_crawler(&self, by: &Principal, def: CrawlerDefinition) -> Result<()> {
        self.audited(
            by,
            Call::new("glue", "CreateCrawler", &def.name)
                .on(self.glue_arn(&format!("crawler/{}", def.name))),
            |tx, _| {
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
            },
        )
    }

    async fn start_crawler(&self, by: &Principal, name: &str, progress: Progress) -> Result<()> {
        self.begin_crawl(by, name, progress, None)
    }

    async fn stop_crawler(&self, by: &Principal, name: &str) -> Result<()> {
        let call =
            Call::new("glue", "StopCrawler", name).on(self.glue_arn(&format!("crawler/{name}")));
        self.audited(by, call, |tx, _| {
            let (_, last) = self.crawler(tx, name)?;
            if last.is_none_or(|r| r.state.is_finished()) {
                return Err(ServiceError::new(
                    Code::CrawlerNotRunningException,
                    format!("Crawler {name} is not running."),
                ));
            }
            tx.execute(
                "UPDATE crawlers SET stop_requested = 1 WHERE name = ?1",
                params![name],
            )?;
            Ok(((), json!({})))
        })
    }

    async fn get_crawler(
        &self,
        by: &Principal,
        name: &str,
    ) -> Result<(CrawlerDefinition, Option<CrawlerRun>)> {
        self.reading(
            by,
            Call::new("glue", "GetCrawler", name).on(self.glue_arn(&format!("crawler/{}", name))),
            |tx, _| self.crawler(tx, name),
        )
    }

    async fn list_crawls(&self, by: &Principal, name: &str) -> Result<Vec<Crawl>> {
        self.crawl_history(by, name)
    }

    async fn get_crawlers(
        &self,
        by: &Principal,
    ) -> Result<Vec<(CrawlerDefinition, Option<CrawlerRun>)>> {
        self.reading(by, Call::new("glue", "GetCrawlers", "*"), |tx, _| {
            let names: Vec<String> = tx
                .prepare("SELECT name FROM crawlers ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            names.iter().map(|n| self.crawler(tx, n)).collect()
        })
    }
}

impl Lake {
    /// Starts a run of `job` as `by` on a thread of this process; `origin` is the workflow run
    /// and trigger that start it, recorded on the run.
    pub(super) fn begin_job_run(
        &self,
        by: &Principal,
        job: &str,
        progress: Progress,
        origin: Option<&NodeOrigin>,
    ) -> Result<String> {
        self.start_job_run_for(by, job, progress, origin, None, &|_, _| Ok(()))
    }

    /// Starts a crawl of `name` as `by` on a thread of this process; `origin` is the workflow
    /// run that starts it, recorded on the crawl.
    pub(super) fn begin_crawl(
        &self,
        by: &Principal,
        name: &str,
        progress: Progress,
        origin: Option<&NodeOrigin>,
    ) -> Result<()> {
        self.start_crawler_for(by, name, progress, origin, None, &|_| Ok(()))
    }

    pub(super) fn crawler(
        &self,
        tx: &rusqlite::Transaction,
        name: &str,
    ) -> Result<(CrawlerDefinition, Option<CrawlerRun>)> {
        let (def, last, pid): (String, Option<String>, u32) = tx
            .query_row(
                "SELECT definition, last_run, pid FROM crawlers WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| not_found(format!("Crawler {name} not found.")))?;
        let def = serde_json::from_str(&def).map_err(|e| ServiceError::internal(e.to_string()))?;
        let mut last: Option<CrawlerRun> = last
            .map(|l| serde_json::from_str(&l))
            .transpose()
            .map_err(|e| ServiceError::internal(e.to_string()))?;
        if let Some(run) = &mut last {
            self.open_opt(&format!("glue:crawler={name}"), &mut run.error_message);
        }
        if let Some(run) = last.as_mut().filter(|r| !r.state.is_finished())
            && runner_gone(pid)
        {
            run.state = RunState::Failed;
            run.error_message = Some(format!(
                "the process running it (pid {pid}) ended before the crawl did"
            ));
        }
        Ok((def, last))
    }

    /// Whether someone asked the running crawl of `name` to stop.
    pub(super) fn crawl_stop_requested(&self, name: &str) -> bool {
        self.meta
            .read(|tx| {
                Ok(tx.query_row(
                    "SELECT stop_requested FROM crawlers WHERE name = ?1",
                    params![name],
                    |r| r.get::<_, bool>(0),
                )?)
            })
            .unwrap_or(false)
    }

    pub(super) fn save_crawl(&self, run: &CrawlerRun) -> Result<()> {
        let mut run = run.clone();
        self.seal_opt(
            &format!("glue:crawler={}", run.crawler_name),
            &mut run.error_message,
        );
        let run = &run;
        self.meta.write(|tx| {
            let text = serde_json::to_string(run).expect("JSON");
            tx.execute(
                "UPDATE crawlers SET last_run = ?2 WHERE name = ?1",
                params![run.crawler_name, text],
            )?;
            self.update_crawl_record(tx, &run.crawler_name, &text)?;
            // The workflow run that started the crawl keeps its outcome, whatever crawls next.
            if let Some(workflow_run) = &run.workflow_run_id
                && run.state.is_finished()
            {
                tx.execute(
                    "UPDATE workflow_nodes SET crawl = ?3 WHERE run_id = ?1 AND kind = 'CRAWLER' AND name = ?2",
                    params![workflow_run, run.crawler_name, text],
                )?;
            }
            if run.state.is_finished() {
                self.emit_crawler_state(tx, run)?;
            }
            Ok(())
        })
    }

    pub(super) fn bucket_row_exists(&self, tx: &rusqlite::Transaction, bucket: &str) -> Result<()> {
        self.bucket_row(tx, bucket).map(|_| ())
    }
}

impl Lake {
    /// Starts a run; `event` is the event a rule delivered (recorded on the run), and `also`
    /// runs in the run's transaction with its id (the dispatcher marks the delivery done there,
    /// so a run and its delivery commit together).
    pub(super) fn start_job_run_for(
        &self,
        by: &Principal,
        job: &str,
        progress: Progress,
        origin: Option<&NodeOrigin>,
        event: Option<&str>,
        also: &dyn Fn(&rusqlite::Transaction, &str) -> Result<()>,
    ) -> Result<String> {
        let id = format!("jr_{}", uuid::Uuid::new_v4().simple());
        let (def, run) = self.audited(
            by,
            Call::new("glue", "StartJobRun", job).on(self.glue_arn(&format!("job/{}", job))),
            |tx, _| {
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
                    trigger_name: origin.map(|o| o.trigger.clone()),
                    workflow_run_id: origin.and_then(|o| o.run_id.clone()),
                };
                tx.execute(
                    "INSERT INTO job_runs(id, job, run, started, pid, workflow_run_id, event_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        id,
                        job,
                        serde_json::to_string(&run).expect("runs serialize"),
                        ts(run.started_on),
                        std::process::id(),
                        origin.and_then(|o| o.run_id.as_deref()),
                        event
                    ],
                )?;
                also(tx, &id)?;
                Ok(((def, run), json!({"JobRunId": id, "EventId": event})))
            },
        )?;
        let lake = self.arc();
        tokio::task::spawn_blocking(move || lake.execute_run(def, run, progress));
        Ok(id)
    }

    /// Starts a crawl; `event` and `also` as for `start_job_run_for`.
    pub(super) fn start_crawler_for(
        &self,
        by: &Principal,
        name: &str,
        progress: Progress,
        origin: Option<&NodeOrigin>,
        event: Option<&str>,
        also: &dyn Fn(&rusqlite::Transaction) -> Result<()>,
    ) -> Result<()> {
        let def = self.audited(
            by,
            Call::new("glue", "StartCrawler", name).on(self.glue_arn(&format!("crawler/{}", name))),
            |tx, _| {
                let (def, last) = self.crawler(tx, name)?;
                if last.is_some_and(|r| !r.state.is_finished()) {
                    return Err(ServiceError::new(
                        Code::CrawlerRunningException,
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
                    workflow_run_id: origin.and_then(|o| o.run_id.clone()),
                };
                // This process runs the crawl: its id lets any process tell a crawl whose
                // runner died.
                let text = serde_json::to_string(&run).expect("JSON");
                tx.execute(
                    "UPDATE crawlers SET last_run = ?2, pid = ?3, stop_requested = 0, event_id = ?4 WHERE name = ?1",
                    params![name, text, std::process::id(), event],
                )?;
                self.begin_crawl_record(tx, name, &text)?;
                also(tx)?;
                self.emit_crawler_state(tx, &run)?;
                Ok((def, json!({"EventId": event})))
            },
        )?;
        let lake = self.arc();
        tokio::task::spawn_blocking(move || lake.execute_crawl(def, progress));
        Ok(())
    }
}
