//! Replication tasks in the lake server. A server records itself in `lake_servers` while it
//! runs; a process that starts a task while a server runs hands it over (the task's row names
//! the server as its runner and keeps the start asked for), and the server's tick, every second,
//! starts what was handed to it. The tick also takes over CDC tasks whose runner died (a killed
//! CLI process, or a server before a restart) and resumes them from the position committed with
//! their last change files, so nothing is lost or written twice. Server-run tasks run on
//! threads of their own, which end with the process: a task is never stopped by a server's exit,
//! only paused until the next server resumes it.

use rusqlite::{Transaction, params};

use super::run::slot_name;
use crate::local::{Lake, now, runner_gone, ts};
use crate::service::dms::{Engine, ReplicationTask, StartType, is_active};
use crate::service::{Principal, Result};

/// A task's row as the tick reads it: arn, runner pid, the task, who started it, and the
/// start handed to a server.
type TaskRow = (String, u32, String, Option<String>, Option<String>);

fn start_word(start: StartType) -> &'static str {
    match start {
        StartType::StartReplication => "start-replication",
        StartType::ResumeProcessing => "resume-processing",
        StartType::ReloadTarget => "reload-target",
    }
}

impl Lake {
    /// Records this process as a lake server (and forgets servers that died).
    pub fn register_server(&self) -> Result<()> {
        self.meta.write(|tx| {
            let pids: Vec<u32> = tx
                .prepare("SELECT pid FROM lake_servers")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for pid in pids.into_iter().filter(|p| runner_gone(*p)) {
                tx.execute("DELETE FROM lake_servers WHERE pid = ?1", params![pid])?;
            }
            tx.execute(
                "INSERT INTO lake_servers(pid, started) VALUES (?1, ?2)
                 ON CONFLICT(pid) DO UPDATE SET started = excluded.started",
                params![std::process::id(), ts(now())],
            )?;
            Ok(())
        })
    }

    /// Forgets this process as a lake server (when it drains).
    pub fn unregister_server(&self) {
        let _ = self.meta.write(|tx| {
            tx.execute(
                "DELETE FROM lake_servers WHERE pid = ?1",
                params![std::process::id()],
            )?;
            Ok(())
        });
    }

    /// A lake server that is running, if one is (this process, if it is one).
    pub(super) fn live_server(&self, tx: &Transaction) -> Result<Option<u32>> {
        let pids: Vec<u32> = tx
            .prepare("SELECT pid FROM lake_servers ORDER BY started DESC")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let me = std::process::id();
        Ok(if pids.contains(&me) {
            Some(me)
        } else {
            pids.into_iter().find(|p| !runner_gone(*p))
        })
    }

    /// Hands a task being started to the lake server `server`: the server's tick starts it as
    /// `by`, as `start` says.
    pub(super) fn hand_task(
        &self,
        tx: &Transaction,
        arn: &str,
        server: u32,
        by: &Principal,
        start: StartType,
    ) -> Result<()> {
        tx.execute(
            "UPDATE dms_tasks SET pid = ?2, stop_requested = 0, starter = ?3, handed_start = ?4 WHERE arn = ?1",
            params![arn, server, by.name(), start_word(start)],
        )?;
        Ok(())
    }

    /// The lake server's tick: starts the tasks handed to this server, and takes over the CDC
    /// tasks whose runner died, resuming them. Answers the tasks started.
    pub fn run_served_replication_tasks(&self) -> Result<Vec<String>> {
        let me = std::process::id();
        let claimed: Vec<(ReplicationTask, Principal, StartType)> = self.meta.write(|tx| {
            let rows: Vec<TaskRow> = tx
                .prepare("SELECT arn, pid, task, starter, handed_start FROM dms_tasks")?
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut claimed = Vec::new();
            for (arn, pid, text, starter, handed) in rows {
                let Ok(stored) = serde_json::from_str::<ReplicationTask>(&text) else {
                    continue;
                };
                let Some(starter) = starter else { continue };
                let start = match (&handed, pid == me, runner_gone(pid)) {
                    // Handed to this server, or to one that died before it started it.
                    (Some(h), true, _) | (Some(h), _, true) => StartType::parse(h)?,
                    // A CDC task whose runner died while it streamed.
                    (None, false, true)
                        if stored.migration_type.cdc()
                            && matches!(stored.status.as_str(), "starting" | "running") =>
                    {
                        StartType::ResumeProcessing
                    }
                    _ => continue,
                };
                if !is_active(&stored.status) || stored.status == "stopping" {
                    continue;
                }
                // The claim: this process is the runner from now on.
                tx.execute(
                    "UPDATE dms_tasks SET pid = ?2, handed_start = NULL WHERE arn = ?1",
                    params![arn, me],
                )?;
                let task = self.task(tx, &arn)?;
                claimed.push((task, Principal::new(starter), start));
            }
            Ok(claimed)
        })?;
        let mut started = Vec::new();
        for (task, by, start) in claimed {
            let lake = self.arc();
            let name = task.replication_task_identifier.clone();
            tracing::info!(task = %name, ?start, "the lake server runs the replication task");
            // A thread of its own: the server's exit must not wait for a task that streams
            // forever (the next server resumes it).
            let spawned = std::thread::Builder::new()
                .name(format!("dms-{name}"))
                .spawn(move || lake.execute_task(task, by, start));
            if let Err(e) = spawned {
                tracing::error!(task = %name, "cannot start the task's thread: {e}");
                continue;
            }
            started.push(name);
        }
        Ok(started)
    }

    /// Drops a deleted CDC task's replication slot and publication in its source, so the
    /// source keeps no WAL for it. A source that cannot be reached is left as it is (logged):
    /// the task is deleted all the same.
    pub(super) async fn drop_slot(&self, by: &Principal, task: &ReplicationTask) -> Result<()> {
        if !task.migration_type.cdc() {
            return Ok(());
        }
        let source = self
            .meta
            .read(|tx| self.endpoint(tx, &task.source_endpoint_arn))?;
        if source.engine_name != Engine::Postgres {
            return Ok(());
        }
        let slot = slot_name(task, &source);
        let connected = async {
            let params = self.pg_params(by, &source).await?;
            let client = params.connect().await?;
            Ok::<_, crate::service::ServiceError>((params, client))
        }
        .await;
        let (params, client) = match connected {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(
                    task = %task.replication_task_identifier,
                    "cannot reach the source to drop the replication slot {slot}: {}",
                    e.message
                );
                return Ok(());
            }
        };
        client
            .execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await
            .map_err(|e| params.error("cannot drop the replication slot", &e))?;
        client
            .batch_execute(&format!(
                "DROP PUBLICATION IF EXISTS {}",
                super::source::ident(&slot)
            ))
            .await
            .map_err(|e| params.error("cannot drop the publication", &e))?;
        Ok(())
    }
}
