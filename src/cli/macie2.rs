//! `macie2`: custom identifiers, allow lists, classification jobs and findings, in Macie's shapes.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Context;
use super::commands::Macie2Command;
use crate::service::classification::{AllowList, ClassificationJobSpec, CustomDataIdentifier};
use crate::service::wait::until_finished;
use crate::service::{Code, Result, ServiceError};

impl Context<'_> {
    pub(super) async fn macie2(&self, cmd: Macie2Command) -> Result<Value> {
        let macie = &self.services.classification;
        let by = self.principal;
        let account = &self.services.backend.account;
        Ok(match cmd {
            Macie2Command::EnableMacie => {
                macie.enable_macie(by).await?;
                json!({})
            }
            Macie2Command::GetMacieSession => {
                serde_json::to_value(macie.get_macie_session(by).await?)
                    .map_err(|e| ServiceError::internal(e.to_string()))?
            }
            Macie2Command::CreateCustomDataIdentifier {
                name,
                regex,
                keywords,
                ignore_words,
                maximum_match_distance,
            } => {
                let id = CustomDataIdentifier {
                    name,
                    regex,
                    keywords,
                    ignore_words,
                    maximum_match_distance,
                    created_at: chrono::Utc::now(),
                };
                json!({"customDataIdentifierId": macie.create_custom_data_identifier(by, id).await?})
            }
            Macie2Command::ListCustomDataIdentifiers => {
                json!({"items": macie.list_custom_data_identifiers(by).await?})
            }
            Macie2Command::CreateAllowList { name, words, regex } => {
                let list = AllowList {
                    name,
                    words,
                    regex,
                    created_at: chrono::Utc::now(),
                };
                let id = macie.create_allow_list(by, list).await?;
                json!({"id": id, "arn": format!("arn:aws:macie2:local:{account}:allow-list/{id}")})
            }
            Macie2Command::CreateClassificationJob {
                name,
                bucket,
                prefix,
                custom_data_identifiers,
                allow_lists,
                sampling_percentage,
                wait,
            } => {
                let spec = ClassificationJobSpec {
                    name,
                    bucket,
                    prefix,
                    custom_data_identifiers,
                    allow_lists,
                    sampling_percentage,
                };
                let id = macie
                    .create_classification_job(by, spec, self.progress.clone())
                    .await?;
                let mut out = json!({"jobId": id, "jobArn": format!("arn:aws:macie2:local:{account}:classification-job/{id}")});
                if wait {
                    let poll = self.services.backend.poll_interval;
                    let job = until_finished(poll, || async {
                        let job = macie.describe_classification_job(by, &id).await?;
                        Ok((job.job_status != "RUNNING").then_some(job))
                    })
                    .await?;
                    // Macie's end states: COMPLETE (one-time jobs) and IDLE; CANCELLED and the
                    // rest did not finish the scan.
                    if !matches!(job.job_status.as_str(), "COMPLETE" | "IDLE") {
                        self.exit_with(super::EXIT_WAIT_FAILED);
                    }
                    out["jobStatus"] = json!(job.job_status);
                    out["statistics"] = json!(job.statistics);
                }
                out
            }
            Macie2Command::ListClassificationJobs => {
                json!({"items": macie.list_classification_jobs(by).await?})
            }
            Macie2Command::DescribeClassificationJob { job_id } => {
                json!(macie.describe_classification_job(by, &job_id).await?)
            }
            Macie2Command::ListFindings { job_id } => {
                json!({"findingIds": macie.list_findings(by, job_id.as_deref()).await?})
            }
            Macie2Command::GetFindings { finding_ids } => {
                json!({"findings": macie.get_findings(by, &finding_ids).await?})
            }
            Macie2Command::GetFindingStatistics { group_by } => {
                let ids = macie.list_findings(by, None).await?;
                let findings = macie.get_findings(by, &ids).await?;
                let mut counts: BTreeMap<String, u64> = BTreeMap::new();
                for f in &findings {
                    let key = match group_by.as_str() {
                        "type" => f.finding_type.clone(),
                        "severity.description" | "severity" => f.severity.description.clone(),
                        "resourcesAffected.s3Bucket.name" | "bucket" => {
                            f.resources_affected.s3_object.bucket_name.clone()
                        }
                        other => {
                            return Err(ServiceError::new(
                                Code::ValidationException,
                                format!(
                                    "--group-by {other:?}: use type, severity.description or resourcesAffected.s3Bucket.name"
                                ),
                            ));
                        }
                    };
                    *counts.entry(key).or_default() += 1;
                }
                let groups: Vec<Value> = counts
                    .into_iter()
                    .map(|(k, n)| json!({"groupKey": k, "count": n}))
                    .collect();
                json!({"countsByGroup": groups})
            }
            Macie2Command::GetSensitiveDataOccurrences { finding_id } => {
                let values = macie
                    .get_sensitive_data_occurrences(by, &finding_id)
                    .await?;
                let shaped: BTreeMap<String, Vec<Value>> = values
                    .into_iter()
                    .map(|(k, vs)| (k, vs.into_iter().map(|v| json!({"value": v})).collect()))
                    .collect();
                json!({"sensitiveDataOccurrences": shaped, "status": "SUCCESS"})
            }
        })
    }
}
