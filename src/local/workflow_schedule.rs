//! SCHEDULED triggers and orphaned workflow runs, for the lake server. Each activated schedule
//! keeps its next minute in the store; a tick claims a due trigger by moving that minute on in
//! the same transaction that found it due, so two servers over one lake never fire one tick
//! twice. The clock is a parameter, so the logic is tested without waiting for minutes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};

use super::{Lake, parse_ts, ts};
use crate::service::schedule::Schedule;
use crate::service::workflows::{Trigger, TriggerState, TriggerType};
use crate::service::{Principal, Result, ServiceError};

impl Lake {
    /// Keeps `trigger`'s next minute (an activated SCHEDULED trigger), else none.
    pub(super) fn schedule_next(
        &self,
        tx: &Transaction,
        trigger: &Trigger,
        from: DateTime<Utc>,
    ) -> Result<()> {
        let next = match (&trigger.schedule, trigger.kind, trigger.state) {
            (Some(s), TriggerType::Scheduled, TriggerState::Activated) => {
                Schedule::parse(s)?.next_after(from).map(ts)
            }
            _ => None,
        };
        tx.execute(
            "UPDATE triggers SET next_fire = ?2 WHERE name = ?1",
            params![trigger.name, next],
        )?;
        Ok(())
    }

    /// Fires the schedules due at `now`, each once, as the principal who created the trigger
    /// (its runs are authorized and audited as that principal's). Answers the triggers fired.
    pub fn fire_due_schedules(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        let due: Vec<(Trigger, String)> = self.meta.write(|tx| {
            let rows: Vec<(String, String, String, String)> = tx
                .prepare(
                    "SELECT name, definition, owner, next_fire FROM triggers WHERE next_fire IS NOT NULL AND next_fire <= ?1 ORDER BY name",
                )?
                .query_map(params![ts(now)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut due = Vec::new();
            for (name, text, owner, at) in rows {
                let trigger: Trigger = serde_json::from_str(&text)
                    .map_err(|e| ServiceError::internal(format!("trigger {name}: {e}")))?;
                let next = trigger
                    .schedule
                    .as_deref()
                    .and_then(|s| Schedule::parse(s).ok())
                    .and_then(|s| s.next_after(now.max(parse_ts(&at))))
                    .map(ts);
                // The claim: only the transaction that still sees this tick moves it on.
                let claimed = tx.execute(
                    "UPDATE triggers SET next_fire = ?2 WHERE name = ?1 AND next_fire = ?3",
                    params![name, next, at],
                )?;
                if claimed == 1 {
                    due.push((trigger, owner));
                }
            }
            Ok(due)
        })?;
        let mut fired = Vec::new();
        for (trigger, owner) in due {
            match self.fire_starting_trigger(&Principal::new(owner), &trigger, BTreeMap::new()) {
                Ok(_) => fired.push(trigger.name),
                Err(e) => {
                    tracing::warn!(trigger = %trigger.name, "a scheduled trigger could not start its run: {e}")
                }
            }
        }
        Ok(fired)
    }

    /// What the lake server does every second: fire due schedules, finish workflow runs whose
    /// process died, and run the replication tasks handed to it or left by a dead runner.
    pub fn scheduler_tick(&self, now: DateTime<Utc>) {
        if let Err(e) = self.fire_due_schedules(now) {
            tracing::warn!("the scheduler could not read the triggers: {e}");
        }
        if let Err(e) = self.resume_orphaned_workflow_runs() {
            tracing::warn!("the scheduler could not read the workflow runs: {e}");
        }
        if let Err(e) = self.run_served_replication_tasks() {
            tracing::warn!("the scheduler could not start the replication tasks: {e}");
        }
    }
}
