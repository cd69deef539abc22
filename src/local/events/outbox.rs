//! The outbox: every change that AWS would announce on EventBridge inserts its event here, in
//! the same transaction as the change, so no change is without its event and no event without
//! its change. The event's body names object keys and carries findings, which are derived from
//! data, so it is stored sealed (sealed_text.rs) under the event's id; only its source and
//! detail-type, which name services, are in the clear.

use std::sync::atomic::Ordering;

use rusqlite::{Transaction, params};
use serde_json::{Value, json};

use super::super::{Lake, now, ts};
use crate::service::Result;
use crate::service::classification::{ClassificationJob, Finding};
use crate::service::events::Event;
use crate::service::jobs::{CrawlerRun, JobRun, RunState};

/// The context an event body is sealed for.
pub(in crate::local) fn body_context(id: &str) -> String {
    format!("events:event={id}")
}

impl Lake {
    /// Records an event in `tx`, the transaction of the change it announces.
    pub(in crate::local) fn emit(
        &self,
        tx: &Transaction,
        source: &str,
        detail_type: &str,
        resources: Vec<String>,
        detail: Value,
    ) -> Result<()> {
        let event = Event {
            version: "0".into(),
            id: uuid::Uuid::new_v4().to_string(),
            detail_type: detail_type.into(),
            source: source.into(),
            account: self.header.account_id.clone(),
            time: now(),
            region: self.header.region.clone(),
            resources,
            detail,
        };
        let body = serde_json::to_string(&event).expect("events serialize");
        tx.execute(
            "INSERT INTO events(id, source, detail_type, time, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                event.id,
                event.source,
                event.detail_type,
                ts(event.time),
                self.seal_text(&body_context(&event.id), &body)
            ],
        )?;
        // This process has something to deliver once its command (or run) is done.
        self.events_emitted.store(true, Ordering::Release);
        self.events_notify.notify_one();
        Ok(())
    }

    /// `Object Created` (`aws.s3`), in EventBridge's S3 detail shape.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::local) fn emit_object_created(
        &self,
        tx: &Transaction,
        requester: &str,
        bucket: &str,
        key: &str,
        size: u64,
        etag: &str,
        reason: &str,
    ) -> Result<()> {
        self.emit(
            tx,
            "aws.s3",
            "Object Created",
            vec![format!("arn:aws:s3:::{bucket}")],
            json!({
                "version": "0",
                "bucket": {"name": bucket},
                "object": {"key": key, "size": size, "etag": etag, "sequencer": sequencer()},
                "request-id": uuid::Uuid::new_v4().simple().to_string(),
                "requester": self.user_arn(requester),
                "reason": reason,
            }),
        )
    }

    /// `Object Deleted` (`aws.s3`).
    pub(in crate::local) fn emit_object_deleted(
        &self,
        tx: &Transaction,
        requester: &str,
        bucket: &str,
        key: &str,
    ) -> Result<()> {
        self.emit(
            tx,
            "aws.s3",
            "Object Deleted",
            vec![format!("arn:aws:s3:::{bucket}")],
            json!({
                "version": "0",
                "bucket": {"name": bucket},
                "object": {"key": key, "sequencer": sequencer()},
                "request-id": uuid::Uuid::new_v4().simple().to_string(),
                "requester": self.user_arn(requester),
                "reason": "DeleteObject",
                "deletion-type": "Permanently Deleted",
            }),
        )
    }

    /// `Glue Job State Change` for a run that ended (Glue announces end states only).
    pub(in crate::local) fn emit_job_state(&self, tx: &Transaction, run: &JobRun) -> Result<()> {
        let state = glue_state(run.job_run_state);
        self.emit(
            tx,
            "aws.glue",
            "Glue Job State Change",
            vec![],
            json!({
                "jobName": run.job_name,
                "severity": if run.job_run_state == RunState::Succeeded { "INFO" } else { "ERROR" },
                "state": state,
                "jobRunId": run.id,
                "message": format!("Job run {}", state.to_lowercase()),
            }),
        )
    }

    /// `Glue Crawler State Change`: Started, Succeeded or Failed, as Glue announces.
    pub(in crate::local) fn emit_crawler_state(
        &self,
        tx: &Transaction,
        run: &CrawlerRun,
    ) -> Result<()> {
        let state = match run.state {
            RunState::Running | RunState::Starting => "Started",
            RunState::Succeeded => "Succeeded",
            _ => "Failed",
        };
        self.emit(
            tx,
            "aws.glue",
            "Glue Crawler State Change",
            vec![self.glue_arn(&format!("crawler/{}", run.crawler_name))],
            json!({
                "crawlerName": run.crawler_name,
                "state": state,
                "startTime": ts(run.started_on),
                "tablesCreated": run.tables_created.len().to_string(),
                "tablesUpdated": run.tables_updated.len().to_string(),
                "partitionsCreated": run.partitions_added.to_string(),
            }),
        )
    }

    /// `Macie Finding`, its detail the finding (sealed with the rest of the body).
    pub(in crate::local) fn emit_finding(&self, tx: &Transaction, finding: &Finding) -> Result<()> {
        self.emit(
            tx,
            "aws.macie",
            "Macie Finding",
            vec![],
            serde_json::to_value(finding).expect("findings serialize"),
        )
    }

    /// `Macie Classification Job State Change` (a lakectl event: Macie announces findings, not
    /// job states, on EventBridge).
    pub(in crate::local) fn emit_classification_state(
        &self,
        tx: &Transaction,
        job: &ClassificationJob,
    ) -> Result<()> {
        self.emit(
            tx,
            "aws.macie",
            "Macie Classification Job State Change",
            vec![],
            json!({
                "jobId": job.job_id,
                "jobName": job.spec.name,
                "jobStatus": job.job_status,
                "objectsScanned": job.statistics.objects_scanned,
                "objectsWithFindings": job.statistics.objects_with_findings,
            }),
        )
    }
}

/// Glue's names of end states in its events.
fn glue_state(state: RunState) -> &'static str {
    match state {
        RunState::Succeeded => "SUCCEEDED",
        RunState::Stopped => "STOPPED",
        RunState::Timeout => "TIMEOUT",
        RunState::Failed => "FAILED",
        _ => "RUNNING",
    }
}

/// S3's sequencer: a hex value that grows with time, for ordering events of one key.
fn sequencer() -> String {
    format!(
        "{:016X}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    )
}
