//! The dispatcher: routes recorded events to the rules they match and delivers them to the
//! rules' targets, at least once, retried with backoff, failures kept in the failed list.
//!
//! Who runs it: the lake server, in a loop (woken when it records an event, and polling for
//! events other processes recorded), and every CLI process that recorded events, after its
//! command and after each run it executes, so a lake without a server still delivers. Two
//! deliverers never deliver one event to one target at once: a delivery is claimed under a lease
//! in the store (its owner is a process and an opening of the lake; a lease whose owner's process
//! is gone, or that expired, may be taken over). Where the target is a run, starting it and
//! marking the delivery done are one transaction, checked against the lease, and the run records
//! the event's id: a redelivered event (after a crash between claim and commit) finds its run and
//! starts no second one. A delivery stream's object and the deliveries it holds commit together.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::Value;

use super::super::{Lake, now, runner_gone, ts};
use super::error_context;
use super::outbox::body_context;
use crate::service::events::{DispatchReport, Pattern, TargetKind};
use crate::service::storage::{PutOptions, Sse};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// How long a claim holds a delivery before another deliverer may take it over.
const LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// Events routed, and deliveries claimed, per transaction.
const BATCH: i64 = 64;
/// How often the lake server looks for events other processes recorded.
const POLL: Duration = Duration::from_millis(100);

/// One claimed delivery.
struct Claimed {
    event_id: String,
    rule: String,
    target_id: String,
    attempts: u32,
    /// The target, or why it cannot be delivered to (removed since the event matched).
    target: Result<(TargetKind, Option<String>, u32, String)>,
    event: String,
}

impl Claimed {
    /// What the target receives: its constant input, else the event.
    fn payload(&self) -> &str {
        match &self.target {
            Ok((_, Some(input), _, _)) => input,
            _ => &self.event,
        }
    }
}

/// Exponential backoff: 1 s, 2 s, 4 s ... at most 5 minutes.
fn backoff(attempts: u32) -> chrono::TimeDelta {
    chrono::TimeDelta::seconds(1i64 << attempts.saturating_sub(1).min(16))
        .min(chrono::TimeDelta::minutes(5))
}

fn lease_is_free(owner: Option<&str>, until: Option<&str>, me: &str, now: &str) -> bool {
    match (owner, until) {
        (None, _) | (_, None) => true,
        // Expired, or held by another process that is gone (this one's own claims are never
        // taken over before they expire: another dispatcher of this process holds them).
        (Some(o), Some(u)) => {
            u < now
                || (o != me
                    && o.split(':')
                        .next()
                        .and_then(|p| p.parse::<u32>().ok())
                        .is_some_and(runner_gone))
        }
    }
}

impl Lake {
    /// The lake server's dispatcher: delivers what is due whenever this process records an
    /// event, and every `POLL` for what other processes recorded. Runs until dropped.
    pub async fn dispatch_forever(self: Arc<Self>) {
        loop {
            tokio::select! {
                _ = self.events_notify.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
            let lake = self.clone();
            let outcome = tokio::task::spawn_blocking(move || lake.dispatch_due()).await;
            if let Ok(Err(e)) = outcome {
                tracing::warn!("delivering events: {e}");
            }
        }
    }

    /// What a run's thread calls once it has recorded its end: the events it recorded are
    /// delivered by this process too.
    pub(in crate::local) fn deliver_here(&self) {
        if self
            .events_emitted
            .swap(false, std::sync::atomic::Ordering::AcqRel)
            && let Err(e) = self.dispatch_due()
        {
            tracing::warn!("delivering events: {e}");
        }
    }

    /// Whether events wait to be routed or deliveries are due.
    fn has_due(&self) -> Result<bool> {
        let stamp = ts(now());
        self.meta.read(|tx| {
            Ok(tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM events WHERE routed = 0)
                     OR EXISTS(SELECT 1 FROM event_deliveries WHERE state = 'PENDING' AND next_attempt <= ?1)",
                params![stamp],
                |r| r.get(0),
            )?)
        })
    }

    /// On opening: what a process that ended before delivering left (killed between a change
    /// and its delivery, or a retry come due) is delivered by this one after its command.
    pub(in crate::local) fn note_undelivered(&self) -> Result<()> {
        if self.has_due()? {
            self.events_emitted
                .store(true, std::sync::atomic::Ordering::Release);
        }
        Ok(())
    }

    /// Routes new events and delivers every delivery due now.
    pub(in crate::local) fn dispatch_due(&self) -> Result<DispatchReport> {
        let mut report = DispatchReport::default();
        if !self.has_due()? {
            return Ok(report);
        }
        while self.route(&mut report)? {}
        loop {
            let claimed = self.claim()?;
            if claimed.is_empty() {
                break;
            }
            self.deliver(claimed, &mut report);
        }
        Ok(report)
    }

    /// Routes one batch of events to the enabled rules they match; answers whether there may
    /// be more.
    fn route(&self, report: &mut DispatchReport) -> Result<bool> {
        self.meta.write(|tx| {
            let events: Vec<(i64, String, String)> = tx
                .prepare("SELECT seq, id, body FROM events WHERE routed = 0 ORDER BY seq LIMIT ?1")?
                .query_map(params![BATCH], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            if events.is_empty() {
                return Ok(false);
            }
            let rules: Vec<(String, String)> = tx
                .prepare("SELECT name, pattern FROM event_rules WHERE state = 'ENABLED' ORDER BY name")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut rules_with_targets = Vec::new();
            for (name, pattern) in rules {
                let targets: Vec<String> = tx
                    .prepare("SELECT id FROM event_targets WHERE rule = ?1")?
                    .query_map(params![name], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                // A stored pattern was checked when it was put; one that no longer parses
                // matches nothing rather than stopping every delivery.
                if let (false, Ok(p)) = (targets.is_empty(), Pattern::parse(&pattern)) {
                    rules_with_targets.push((name, p, targets));
                }
            }
            let stamp = ts(now());
            for (seq, id, body) in &events {
                let body = self.open_text(&body_context(id), body);
                let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let mut matched = false;
                for (rule, pattern, targets) in &rules_with_targets {
                    if !pattern.matches(&event) {
                        continue;
                    }
                    matched = true;
                    for target in targets {
                        tx.execute(
                            "INSERT OR IGNORE INTO event_deliveries(event_id, rule, target_id, state, next_attempt, updated)
                             VALUES (?1, ?2, ?3, 'PENDING', ?4, ?4)",
                            params![id, rule, target, stamp],
                        )?;
                    }
                }
                report.events_matched += matched as u64;
                tx.execute("UPDATE events SET routed = 1 WHERE seq = ?1", params![seq])?;
            }
            Ok(events.len() as i64 == BATCH)
        })
    }

    /// Claims the deliveries due now whose lease is free.
    fn claim(&self) -> Result<Vec<Claimed>> {
        self.meta.write(|tx| {
            let stamp = ts(now());
            let until = ts(now() + LEASE);
            type Row = (String, String, String, u32, Option<String>, Option<String>);
            let rows: Vec<Row> = tx
                .prepare(
                    "SELECT event_id, rule, target_id, attempts, lease_owner, lease_until FROM event_deliveries
                     WHERE state = 'PENDING' AND next_attempt <= ?1 ORDER BY next_attempt LIMIT ?2",
                )?
                .query_map(params![stamp, BATCH * 4], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut claimed = Vec::new();
            for (event_id, rule, target_id, attempts, owner, lease) in rows {
                if claimed.len() as i64 >= BATCH
                    || !lease_is_free(owner.as_deref(), lease.as_deref(), &self.lease_owner, &stamp)
                {
                    continue;
                }
                tx.execute(
                    "UPDATE event_deliveries SET lease_owner = ?4, lease_until = ?5
                     WHERE event_id = ?1 AND rule = ?2 AND target_id = ?3",
                    params![event_id, rule, target_id, self.lease_owner, until],
                )?;
                let target: Option<(String, Option<String>, u32, String)> = tx
                    .query_row(
                        "SELECT arn, input, max_retries, principal FROM event_targets WHERE rule = ?1 AND id = ?2",
                        params![rule, target_id],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )
                    .optional()?;
                let target = match target {
                    Some((arn, input, retries, principal)) => {
                        TargetKind::parse(&arn).map(|k| (k, input, retries, principal))
                    }
                    None => Err(ServiceError::new(
                        Code::ResourceNotFoundException,
                        format!("target {target_id} was removed from rule {rule} before the event was delivered"),
                    )),
                };
                let body: String = tx.query_row(
                    "SELECT body FROM events WHERE id = ?1",
                    params![event_id],
                    |r| r.get(0),
                )?;
                claimed.push(Claimed {
                    event: self.open_text(&body_context(&event_id), &body),
                    event_id,
                    rule,
                    target_id,
                    attempts,
                    target,
                });
            }
            Ok(claimed)
        })
    }

    /// Marks a claimed delivery done, in the transaction of what it did; fails (rolling that
    /// back) if another deliverer took the lease over meanwhile.
    fn mark_delivered(&self, tx: &Transaction, c: &Claimed, result: &str) -> Result<()> {
        let changed = tx.execute(
            "UPDATE event_deliveries SET state = 'DELIVERED', attempts = attempts + 1, result = ?5,
               lease_owner = NULL, lease_until = NULL, last_error = NULL, updated = ?6
             WHERE event_id = ?1 AND rule = ?2 AND target_id = ?3 AND lease_owner = ?4 AND state = 'PENDING'",
            params![c.event_id, c.rule, c.target_id, self.lease_owner, result, ts(now())],
        )?;
        if changed == 0 {
            return Err(ServiceError::new(
                Code::Cancelled,
                "another deliverer took this delivery over",
            ));
        }
        Ok(())
    }

    /// Records a failed attempt: retried after a backoff, or failed for good once the target's
    /// retries are spent.
    fn record_failure(&self, c: &Claimed, e: &ServiceError, report: &mut DispatchReport) {
        if e.code == Code::Cancelled {
            return;
        }
        let retries = c.target.as_ref().map(|t| t.2).unwrap_or(0);
        let attempts = c.attempts + 1;
        let gone = attempts > retries || c.target.is_err();
        let error = self.seal_text(
            &error_context(&c.event_id, &c.rule, &c.target_id),
            &format!("{}: {}", e.code_name(), e.message),
        );
        let outcome = self.meta.write(|tx| {
            tx.execute(
                "UPDATE event_deliveries SET state = ?5, attempts = ?6, next_attempt = ?7, last_error = ?8,
                   lease_owner = NULL, lease_until = NULL, updated = ?9
                 WHERE event_id = ?1 AND rule = ?2 AND target_id = ?3 AND lease_owner = ?4",
                params![
                    c.event_id,
                    c.rule,
                    c.target_id,
                    self.lease_owner,
                    if gone { "FAILED" } else { "PENDING" },
                    attempts,
                    ts(now() + backoff(attempts)),
                    error,
                    ts(now())
                ],
            )?;
            Ok(())
        });
        match outcome {
            Ok(()) if gone => report.failed += 1,
            Ok(()) => report.retried += 1,
            Err(err) => tracing::warn!("cannot record a failed delivery: {err}"),
        }
    }

    fn deliver(&self, claimed: Vec<Claimed>, report: &mut DispatchReport) {
        // Events for one delivery stream, put by one principal, go out as one object.
        let mut batches: BTreeMap<(String, String), Vec<Claimed>> = BTreeMap::new();
        for c in claimed {
            let one = match &c.target {
                Err(e) => Err(e.clone()),
                Ok((TargetKind::DeliveryStream(name), _, _, principal)) => {
                    batches
                        .entry((name.clone(), principal.clone()))
                        .or_default()
                        .push(c);
                    continue;
                }
                Ok((kind, _, _, principal)) => {
                    self.deliver_one(&c, kind, &Principal::new(principal.clone()))
                }
            };
            match one {
                Ok(()) => report.delivered += 1,
                Err(e) => self.record_failure(&c, &e, report),
            }
        }
        for ((stream, principal), batch) in batches {
            match self.deliver_to_stream(&stream, &Principal::new(principal), &batch) {
                Ok(()) => report.delivered += batch.len() as u64,
                Err(e) => {
                    for c in &batch {
                        self.record_failure(c, &e, report);
                    }
                }
            }
        }
    }

    /// Starts the run a target names, unless this event already started it.
    fn deliver_one(&self, c: &Claimed, kind: &TargetKind, by: &Principal) -> Result<()> {
        let (table, column) = match kind {
            TargetKind::GlueJob(_) => ("job_runs", "id"),
            TargetKind::GlueCrawler(_) => ("crawlers", "name"),
            TargetKind::GlueWorkflow(_) => ("workflow_runs", "id"),
            TargetKind::ClassificationJob(_) => ("classification_jobs", "id"),
            TargetKind::DeliveryStream(_) => unreachable!("streams are delivered in batches"),
        };
        let done = self.meta.write(|tx| {
            let run: Option<String> = tx
                .query_row(
                    &format!("SELECT {column} FROM {table} WHERE event_id = ?1"),
                    params![c.event_id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(run) = &run {
                self.mark_delivered(tx, c, run)?;
            }
            Ok(run.is_some())
        })?;
        if done {
            return Ok(());
        }
        let event = Some(c.event_id.as_str());
        match kind {
            TargetKind::GlueJob(job) => self
                .start_job_run_for(by, job, Progress::default(), None, event, &|tx, id| {
                    self.mark_delivered(tx, c, id)
                })
                .map(|_| ()),
            TargetKind::GlueCrawler(name) => {
                self.start_crawler_for(by, name, Progress::default(), None, event, &|tx| {
                    self.mark_delivered(tx, c, name)
                })
            }
            TargetKind::GlueWorkflow(name) => self
                .start_workflow_run_for(by, name, Default::default(), None, event, &|tx, id| {
                    self.mark_delivered(tx, c, id)
                })
                .map(|_| ()),
            TargetKind::ClassificationJob(id) => {
                let job = self.reading(
                    by,
                    super::super::authorizer::Call::new("macie2", "DescribeClassificationJob", id),
                    |tx, _| {
                        let id = self.resolve_classification_job(tx, id)?;
                        self.classification_job(tx, &id)
                    },
                )?;
                let mut spec = job.spec;
                spec.name = format!("{}-{}", spec.name, &c.event_id[..8.min(c.event_id.len())]);
                self.create_classification_job_for(
                    by,
                    spec,
                    Progress::default(),
                    event,
                    &|tx, id| self.mark_delivered(tx, c, id),
                )
                .map(|_| ())
            }
            TargetKind::DeliveryStream(_) => unreachable!("streams are delivered in batches"),
        }
    }

    /// Writes a batch as newline-delimited JSON into one object under the stream's prefix
    /// (Firehose's `PREFIX/YYYY/MM/DD/HH/NAME-1-YYYY-MM-DD-HH-MM-SS-ID`), sealed as every object
    /// is, committed with the deliveries it holds.
    fn deliver_to_stream(&self, stream: &str, by: &Principal, batch: &[Claimed]) -> Result<()> {
        let dest = self.meta.read(|tx| self.stream_destination(tx, stream))?;
        let bucket = dest.bucket()?.to_string();
        let t = now();
        let key = format!(
            "{}{}/{stream}-1-{}-{}",
            dest.prefix.as_deref().unwrap_or(""),
            t.format("%Y/%m/%d/%H"),
            t.format("%Y-%m-%d-%H-%M-%S"),
            uuid::Uuid::new_v4()
        );
        let put = PutOptions {
            sse: Some(Sse::Kms),
            sse_kms_key_id: dest.kms_key_arn.clone(),
        };
        let plan = self.meta.read(|tx| {
            let caller = self.caller(tx, by)?;
            self.plan_put(tx, &caller, &bucket, &key, &put)
        })?;
        let mut body = self.body_writer(plan)?;
        for c in batch {
            body.write_all(c.payload().as_bytes())
                .and_then(|()| body.write_all(b"\n"))
                .map_err(|e| ServiceError::local_io("cannot write a delivery", &e))?;
        }
        let body = body.finish()?;
        self.commit_bodies_and(by, vec![body], None, |tx| {
            for c in batch {
                self.mark_delivered(tx, c, &key)?;
            }
            Ok((Vec::new(), ()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), chrono::TimeDelta::seconds(1));
        assert_eq!(backoff(3), chrono::TimeDelta::seconds(4));
        assert_eq!(backoff(40), chrono::TimeDelta::minutes(5));
    }

    #[test]
    fn leases() {
        let me = "1:a";
        assert!(lease_is_free(None, None, me, "2026"));
        // Held by this deliverer: not claimed twice.
        assert!(!lease_is_free(Some(me), Some("2027"), me, "2026"));
        // Held by a live process, not expired: not free (pid 1 lives).
        assert!(!lease_is_free(Some("1:b"), Some("2027"), me, "2026"));
        // Expired, whoever held it.
        assert!(lease_is_free(Some("1:b"), Some("2025"), me, "2026"));
        assert!(lease_is_free(Some(me), Some("2025"), me, "2026"));
        // Held by a process that is gone.
        assert!(lease_is_free(
            Some("4000000000:x"),
            Some("2027"),
            me,
            "2026"
        ));
    }
}
