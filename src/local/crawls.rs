//! A crawler's history (Glue's ListCrawls): every crawl gets an id when it starts, its row in
//! `crawls` follows it as the crawler's `last_run` does (the same JSON, its error sealed the
//! same way), and stays when the next crawl starts. A crawl whose process died is reported
//! FAILED here as in GetCrawler: the current one by its runner's pid, an older unfinished one
//! because a newer crawl could start only once it had ended or its runner had died.

use rusqlite::{OptionalExtension, Transaction, params};

use super::authorizer::Call;
use super::{Lake, not_found, now, runner_gone, ts};
use crate::service::jobs::{Crawl, CrawlerRun, RunState};
use crate::service::{Principal, Result, ServiceError};

impl Lake {
    /// Records a new crawl of `crawler` as its current one, with `run` (already serialized as
    /// the crawler's `last_run` is); answers its id.
    pub(super) fn begin_crawl_record(
        &self,
        tx: &Transaction,
        crawler: &str,
        run: &str,
    ) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        tx.execute(
            "INSERT INTO crawls(crawler, id, started, run) VALUES (?1, ?2, ?3, ?4)",
            params![crawler, id, ts(now()), run],
        )?;
        tx.execute(
            "UPDATE crawlers SET crawl_id = ?2 WHERE name = ?1",
            params![crawler, id],
        )?;
        Ok(id)
    }

    /// Keeps the current crawl's row in step with `last_run`.
    pub(super) fn update_crawl_record(
        &self,
        tx: &Transaction,
        crawler: &str,
        run: &str,
    ) -> Result<()> {
        tx.execute(
            "UPDATE crawls SET run = ?2
             WHERE crawler = ?1 AND id = (SELECT crawl_id FROM crawlers WHERE name = ?1)",
            params![crawler, run],
        )?;
        Ok(())
    }

    /// Every crawl of `crawler`, newest first.
    pub(super) fn crawl_history(&self, by: &Principal, crawler: &str) -> Result<Vec<Crawl>> {
        self.reading(
            by,
            Call::new("glue", "ListCrawls", crawler)
                .on(self.glue_arn(&format!("crawler/{crawler}"))),
            |tx, _| {
                let (current, pid): (Option<String>, u32) = tx
                    .query_row(
                        "SELECT crawl_id, pid FROM crawlers WHERE name = ?1",
                        params![crawler],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?
                    .ok_or_else(|| not_found(format!("Crawler {crawler} not found.")))?;
                let rows: Vec<(String, String)> = tx
                    .prepare(
                        "SELECT id, run FROM crawls WHERE crawler = ?1
                         ORDER BY started DESC, rowid DESC",
                    )?
                    .query_map(params![crawler], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                rows.into_iter()
                    .map(|(id, text)| {
                        let mut run: CrawlerRun = serde_json::from_str(&text)
                            .map_err(|e| ServiceError::internal(e.to_string()))?;
                        self.open_opt(&format!("glue:crawler={crawler}"), &mut run.error_message);
                        let is_current = current.as_deref() == Some(id.as_str());
                        if !run.state.is_finished() && (!is_current || runner_gone(pid)) {
                            run.state = RunState::Failed;
                            run.error_message =
                                Some("the process running it ended before the crawl did".into());
                        }
                        Ok(Crawl::of(id, &run))
                    })
                    .collect()
            },
        )
    }
}
