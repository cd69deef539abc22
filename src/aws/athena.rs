//! Queries on Athena. Work groups enforce their result configuration (SSE_KMS under the
//! group's key), so a query cannot ask for its results in the clear. Results come back in
//! Athena's pages of at most 1,000 rows; a larger page is several calls.

use async_trait::async_trait;
use aws_sdk_athena::types::{
    EncryptionConfiguration, EncryptionOption, QueryExecutionContext, ResultConfiguration,
    ResultConfigurationUpdates, WorkGroupConfiguration, WorkGroupConfigurationUpdates,
};

use super::{Aws, aws_error, opt_time, time};
use crate::service::query::{
    Query, QueryExecution, QueryState, QueryStatistics, QueryStatus, ResultColumn, ResultPage,
    WorkGroup, WorkGroupUpdate,
};
use crate::service::{Code, Principal, Result, ServiceError};

/// Athena's most rows per GetQueryResults call.
const ATHENA_PAGE: usize = 1000;

fn state(s: Option<&aws_sdk_athena::types::QueryExecutionState>) -> QueryState {
    use aws_sdk_athena::types::QueryExecutionState as S;
    match s {
        Some(S::Queued) | None => QueryState::Queued,
        Some(S::Running) => QueryState::Running,
        Some(S::Succeeded) => QueryState::Succeeded,
        Some(S::Cancelled) => QueryState::Cancelled,
        Some(_) => QueryState::Failed,
    }
}

#[async_trait]
impl Query for Aws {
    async fn create_work_group(&self, by: &Principal, group: WorkGroup) -> Result<()> {
        self.acting(by)?;
        let encryption = match &group.kms_key {
            Some(key) => Some(
                EncryptionConfiguration::builder()
                    .encryption_option(EncryptionOption::SseKms)
                    .kms_key(self.key_arn(by, key).await?)
                    .build()
                    .map_err(|e| super::build_error("EncryptionConfiguration", e))?,
            ),
            None => None,
        };
        let configuration = WorkGroupConfiguration::builder()
            .result_configuration(
                ResultConfiguration::builder()
                    .output_location(&group.output_location)
                    .set_encryption_configuration(encryption.clone())
                    .build(),
            )
            .enforce_work_group_configuration(true)
            .publish_cloud_watch_metrics_enabled(true)
            .build();
        let created = self
            .athena
            .create_work_group()
            .name(&group.name)
            .configuration(configuration)
            .send()
            .await
            .map_err(|e| aws_error("athena:CreateWorkGroup", e));
        match created {
            // Every account has `primary`; the service layer's "create" then configures it.
            Err(e) if e.code == Code::InvalidRequestException && e.message.contains("already") => {
                let updates = WorkGroupConfigurationUpdates::builder()
                    .result_configuration_updates(
                        ResultConfigurationUpdates::builder()
                            .output_location(&group.output_location)
                            .set_encryption_configuration(encryption)
                            .build(),
                    )
                    .enforce_work_group_configuration(true)
                    .build();
                self.athena
                    .update_work_group()
                    .work_group(&group.name)
                    .configuration_updates(updates)
                    .send()
                    .await
                    .map_err(|e| aws_error("athena:UpdateWorkGroup", e))?;
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    async fn list_work_groups(&self, by: &Principal) -> Result<Vec<WorkGroup>> {
        self.acting(by)?;
        let mut names = Vec::new();
        let mut pages = self.athena.list_work_groups().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("athena:ListWorkGroups", e))?;
            names.extend(
                page.work_groups()
                    .iter()
                    .filter_map(|w| w.name().map(str::to_string)),
            );
        }
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            out.push(self.work_group(name).await?);
        }
        Ok(out)
    }

    async fn get_work_group(&self, by: &Principal, name: &str) -> Result<WorkGroup> {
        self.acting(by)?;
        self.work_group(name.to_string()).await
    }

    /// Athena's BytesScannedCutoffPerQuery; the memory limit and timeout are lakectl's own, and
    /// Athena has no per-work-group setting for them (its limits are service quotas).
    async fn update_work_group(
        &self,
        by: &Principal,
        name: &str,
        update: WorkGroupUpdate,
    ) -> Result<()> {
        self.acting(by)?;
        if update.query_memory_limit_bytes.is_some() || update.query_timeout_seconds.is_some() {
            return Err(ServiceError::new(
                Code::UnsupportedOperationException,
                "--query-memory-limit-bytes and --query-timeout-seconds are lakectl's own limits for the local lake; Athena sets them as service quotas",
            ));
        }
        let mut updates = WorkGroupConfigurationUpdates::builder();
        if let Some(cutoff) = update.bytes_scanned_cutoff_per_query {
            let cutoff = i64::try_from(cutoff).map_err(|_| {
                ServiceError::new(
                    Code::InvalidRequestException,
                    "BytesScannedCutoffPerQuery is too large",
                )
            })?;
            updates = updates.bytes_scanned_cutoff_per_query(cutoff);
        }
        if update.remove_bytes_scanned_cutoff_per_query {
            updates = updates.remove_bytes_scanned_cutoff_per_query(true);
        }
        self.athena
            .update_work_group()
            .work_group(name)
            .configuration_updates(updates.build())
            .send()
            .await
            .map_err(|e| aws_error("athena:UpdateWorkGroup", e))?;
        Ok(())
    }

    async fn start_query_execution(
        &self,
        by: &Principal,
        sql: &str,
        work_group: Option<&str>,
        database: Option<&str>,
    ) -> Result<String> {
        self.acting(by)?;
        let context = QueryExecutionContext::builder()
            .catalog("AwsDataCatalog")
            .set_database(database.map(str::to_string))
            .build();
        let started = self
            .athena
            .start_query_execution()
            .query_string(sql)
            .work_group(work_group.unwrap_or("primary"))
            .query_execution_context(context)
            .send()
            .await
            .map_err(|e| aws_error("athena:StartQueryExecution", e))?;
        Ok(started.query_execution_id().unwrap_or_default().to_string())
    }

    async fn get_query_execution(&self, by: &Principal, id: &str) -> Result<QueryExecution> {
        self.acting(by)?;
        let got = self
            .athena
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .map_err(|e| aws_error("athena:GetQueryExecution", e))?;
        let q = got.query_execution().ok_or_else(|| {
            ServiceError::new(
                Code::InvalidRequestException,
                format!("query {id} was not found"),
            )
        })?;
        let status = q.status();
        let stats = q.statistics();
        Ok(QueryExecution {
            query_execution_id: id.to_string(),
            query: q.query().unwrap_or_default().to_string(),
            work_group: q.work_group().unwrap_or("primary").to_string(),
            principal: self.identity.arn.clone(),
            database: q
                .query_execution_context()
                .and_then(|c| c.database())
                .map(str::to_string),
            output_location: q
                .result_configuration()
                .and_then(|r| r.output_location())
                .map(str::to_string),
            status: QueryStatus {
                state: state(status.and_then(|s| s.state())),
                state_change_reason: status
                    .and_then(|s| s.state_change_reason())
                    .map(str::to_string),
                submission_date_time: time(status.and_then(|s| s.submission_date_time())),
                completion_date_time: opt_time(status.and_then(|s| s.completion_date_time())),
            },
            statistics: QueryStatistics {
                engine_execution_time_in_millis: stats
                    .and_then(|s| s.engine_execution_time_in_millis())
                    .unwrap_or(0)
                    .max(0) as u64,
                data_scanned_in_bytes: stats
                    .and_then(|s| s.data_scanned_in_bytes())
                    .unwrap_or(0)
                    .max(0) as u64,
                // Athena does not count result rows; the pages do.
                result_rows: 0,
            },
        })
    }

    /// `max` rows from `next_token` on, in as many Athena pages as it takes. On the first page
    /// Athena's first row repeats the column names; it is dropped.
    async fn get_query_results(
        &self,
        by: &Principal,
        id: &str,
        next_token: Option<&str>,
        max: usize,
    ) -> Result<ResultPage> {
        self.acting(by)?;
        let mut token = next_token.map(str::to_string);
        let mut header_pending = next_token.is_none();
        let mut columns = Vec::new();
        let mut rows = Vec::new();
        loop {
            let want = (max - rows.len()).clamp(1, ATHENA_PAGE) + usize::from(header_pending);
            let page = self
                .athena
                .get_query_results()
                .query_execution_id(id)
                .set_next_token(token.take())
                .max_results(want.min(ATHENA_PAGE) as i32)
                .send()
                .await
                .map_err(|e| aws_error("athena:GetQueryResults", e))?;
            let set = page.result_set();
            if columns.is_empty() {
                columns = set
                    .and_then(|s| s.result_set_metadata())
                    .map(|m| {
                        m.column_info()
                            .iter()
                            .map(|c| ResultColumn {
                                name: c.name().to_string(),
                                type_name: c.r#type().to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
            }
            let mut data: Vec<Vec<Option<String>>> = set
                .map(|s| {
                    s.rows()
                        .iter()
                        .map(|r| {
                            r.data()
                                .iter()
                                .map(|d| d.var_char_value().map(str::to_string))
                                .collect()
                        })
                        .collect()
                })
                .unwrap_or_default();
            if header_pending && !data.is_empty() {
                let names: Vec<Option<String>> =
                    columns.iter().map(|c| Some(c.name.clone())).collect();
                if data[0] == names {
                    data.remove(0);
                }
            }
            header_pending = false;
            rows.extend(data);
            token = page.next_token().map(str::to_string);
            if token.is_none() || rows.len() >= max {
                break;
            }
        }
        Ok(ResultPage {
            columns,
            rows,
            next_token: token,
        })
    }

    async fn list_query_executions(
        &self,
        by: &Principal,
        work_group: Option<&str>,
    ) -> Result<Vec<String>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self
            .athena
            .list_query_executions()
            .set_work_group(work_group.map(str::to_string))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("athena:ListQueryExecutions", e))?;
            out.extend(page.query_execution_ids().iter().cloned());
        }
        Ok(out)
    }

    async fn stop_query_execution(&self, by: &Principal, id: &str) -> Result<()> {
        self.acting(by)?;
        self.athena
            .stop_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .map_err(|e| aws_error("athena:StopQueryExecution", e))?;
        Ok(())
    }
}

impl Aws {
    /// One work group, read with GetWorkGroup.
    async fn work_group(&self, name: String) -> Result<WorkGroup> {
        let got = self
            .athena
            .get_work_group()
            .work_group(&name)
            .send()
            .await
            .map_err(|e| aws_error("athena:GetWorkGroup", e))?;
        let results = got
            .work_group()
            .and_then(|w| w.configuration())
            .and_then(|c| c.result_configuration());
        let mut group = WorkGroup::new(
            name,
            results
                .and_then(|r| r.output_location())
                .unwrap_or_default()
                .to_string(),
            results
                .and_then(|r| r.encryption_configuration())
                .and_then(|e| e.kms_key())
                .map(str::to_string),
        );
        group.bytes_scanned_cutoff_per_query = got
            .work_group()
            .and_then(|w| w.configuration())
            .and_then(|c| c.bytes_scanned_cutoff_per_query())
            .map(|b| b as u64);
        Ok(group)
    }
}
