//! Crawlers on Glue, read back: the definition, and the last crawl from Glue's crawl history
//! with the tables it created or updated (Glue's crawl record counts them but does not name
//! them, so the catalog is asked).

use super::{Aws, aws_error, opt_time, time};
use crate::service::Result;
use crate::service::jobs::{Crawl, CrawlState, CrawlerDefinition, CrawlerRun, RunState};

impl Aws {
    /// The last crawl, from Glue's crawl history, with the tables it made or changed.
    async fn last_crawl(
        &self,
        def: &CrawlerDefinition,
        running: bool,
    ) -> Result<Option<CrawlerRun>> {
        let crawls = self
            .glue
            .list_crawls()
            .crawler_name(&def.name)
            .max_results(1)
            .send()
            .await
            .map_err(|e| aws_error("glue:ListCrawls", e))?;
        let Some(crawl) = crawls.crawls().first() else {
            return Ok(None);
        };
        use aws_sdk_glue::types::CrawlerHistoryState as S;
        let state = match crawl.state() {
            _ if running => RunState::Running,
            Some(S::Running) => RunState::Running,
            Some(S::Completed) => RunState::Succeeded,
            Some(S::Stopped) => RunState::Stopped,
            _ => RunState::Failed,
        };
        let started_on = time(crawl.start_time());
        let mut created = Vec::new();
        let mut updated = Vec::new();
        if state.is_finished() {
            let prefix = def.table_prefix.clone().unwrap_or_default();
            let mut pages = self
                .glue
                .get_tables()
                .database_name(&def.database_name)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let Ok(page) = page else { break };
                for t in page.table_list() {
                    let location = t
                        .storage_descriptor()
                        .and_then(|s| s.location())
                        .unwrap_or_default();
                    if !t.name().starts_with(&prefix)
                        || !def
                            .targets
                            .iter()
                            .any(|tg| location.starts_with(tg.trim_end_matches('/')))
                    {
                        continue;
                    }
                    if time(t.create_time()) >= started_on {
                        created.push(t.name().to_string());
                    } else if time(t.update_time()) >= started_on {
                        updated.push(t.name().to_string());
                    }
                }
            }
        }
        Ok(Some(CrawlerRun {
            crawler_name: def.name.clone(),
            state,
            started_on,
            completed_on: opt_time(crawl.end_time()),
            tables_created: created,
            tables_updated: updated,
            partitions_added: 0,
            workflow_run_id: None,
            error_message: crawl.error_message().map(str::to_string),
            log: crawl
                .log_group()
                .map(|g| {
                    vec![format!(
                        "the crawl's log is in CloudWatch Logs group {g}, stream {}",
                        crawl.log_stream().unwrap_or(&def.name)
                    )]
                })
                .unwrap_or_default(),
        }))
    }

    /// Every crawl Glue keeps of `name`, newest first (ListCrawls, page after page).
    pub(super) async fn crawl_history(&self, name: &str) -> Result<Vec<Crawl>> {
        use aws_sdk_glue::types::CrawlerHistoryState as S;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .glue
                .list_crawls()
                .crawler_name(name)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws_error("glue:ListCrawls", e))?;
            for c in page.crawls() {
                out.push(Crawl {
                    crawl_id: c.crawl_id().unwrap_or_default().to_string(),
                    state: match c.state() {
                        Some(S::Running) => CrawlState::Running,
                        Some(S::Completed) => CrawlState::Completed,
                        Some(S::Stopped) => CrawlState::Stopped,
                        _ => CrawlState::Failed,
                    },
                    start_time: time(c.start_time()),
                    end_time: opt_time(c.end_time()),
                    summary: c.summary().unwrap_or_default().to_string(),
                    error_message: c.error_message().map(str::to_string),
                });
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    pub(super) async fn crawler(
        &self,
        c: &aws_sdk_glue::types::Crawler,
    ) -> Result<(CrawlerDefinition, Option<CrawlerRun>)> {
        let def = CrawlerDefinition {
            name: c.name().unwrap_or_default().to_string(),
            database_name: c.database_name().unwrap_or_default().to_string(),
            targets: c
                .targets()
                .map(|t| {
                    t.s3_targets()
                        .iter()
                        .filter_map(|s| s.path().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            security_configuration: c.crawler_security_configuration().map(str::to_string),
            update_behavior: c
                .schema_change_policy()
                .and_then(|p| p.update_behavior())
                .map(|u| u.as_str().to_string())
                .unwrap_or_else(|| "UPDATE_IN_DATABASE".into()),
            table_prefix: c.table_prefix().map(str::to_string),
            role: c.role().unwrap_or_default().to_string(),
        };
        let running = matches!(c.state().map(|s| s.as_str()), Some("RUNNING" | "STOPPING"));
        let last = self.last_crawl(&def, running).await?;
        Ok((def, last))
    }
}
