//! Sensitive-data discovery on Macie. Identifiers and allow lists are named in commands and
//! referred to by id in Macie, so names are resolved here. An allow list of words becomes an
//! anchored regex (Macie wants words in an S3 object; a regex keeps the list in Macie).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_macie2::types as m;
use chrono::Utc;

use super::{Aws, aws_error, opt_time, time};
use crate::service::classification::{
    AllowList, Cell, Classification, ClassificationDetails, ClassificationJob,
    ClassificationJobSpec, ClassificationResult, CustomDataIdentifier, CustomDetections, Detection,
    Finding, JobStatistics, MacieSession, Occurrences, Record, ResourcesAffected, S3Object,
    SensitiveData, Severity,
};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// Macie's most findings per GetFindings call.
const FINDINGS_PER_CALL: usize = 50;
/// Macie's longest allow-list regex.
const ALLOW_REGEX_MAX: usize = 512;

fn count(n: Option<i64>) -> u64 {
    n.unwrap_or(0).max(0) as u64
}

fn occurrences(o: Option<&m::Occurrences>) -> Occurrences {
    let Some(o) = o else {
        return Occurrences::default();
    };
    Occurrences {
        cells: o
            .cells()
            .iter()
            .map(|c| Cell {
                row: count(c.row()),
                column: count(c.column()),
                column_name: c.column_name().unwrap_or_default().to_string(),
            })
            .collect(),
        records: o
            .records()
            .iter()
            .map(|r| Record {
                record_index: count(r.record_index()),
                json_path: r.json_path().unwrap_or_default().to_string(),
            })
            .collect(),
    }
}

fn finding(f: &m::Finding) -> Finding {
    let details = f.classification_details();
    let result = details.and_then(|d| d.result());
    let object = f.resources_affected().and_then(|r| r.s3_object());
    let bucket = f.resources_affected().and_then(|r| r.s3_bucket());
    let custom = result.and_then(|r| r.custom_data_identifiers());
    Finding {
        id: f.id().unwrap_or_default().to_string(),
        finding_type: f
            .r#type()
            .map(|t| t.as_str())
            .unwrap_or_default()
            .to_string(),
        severity: Severity {
            description: f
                .severity()
                .and_then(|s| s.description())
                .map(|d| d.as_str())
                .unwrap_or("Low")
                .to_string(),
            score: f
                .severity()
                .and_then(|s| s.score())
                .unwrap_or(1)
                .clamp(0, 255) as u8,
        },
        created_at: time(f.created_at()),
        resources_affected: ResourcesAffected {
            s3_object: S3Object {
                bucket_name: bucket
                    .and_then(|b| b.name())
                    .unwrap_or_default()
                    .to_string(),
                key: object.and_then(|o| o.key()).unwrap_or_default().to_string(),
                size: count(object.and_then(|o| o.size())),
            },
        },
        classification_details: ClassificationDetails {
            job_id: details
                .and_then(|d| d.job_id())
                .unwrap_or_default()
                .to_string(),
            result: ClassificationResult {
                sensitive_data: result
                    .map(|r| {
                        r.sensitive_data()
                            .iter()
                            .map(|s| SensitiveData {
                                category: s
                                    .category()
                                    .map(|c| c.as_str())
                                    .unwrap_or_default()
                                    .to_string(),
                                total_count: count(s.total_count()),
                                detections: s
                                    .detections()
                                    .iter()
                                    .map(|d| Detection {
                                        kind: d.r#type().unwrap_or_default().to_string(),
                                        count: count(d.count()),
                                        occurrences: occurrences(d.occurrences()),
                                    })
                                    .collect(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                custom_data_identifiers: CustomDetections {
                    detections: custom
                        .map(|c| {
                            c.detections()
                                .iter()
                                .map(|d| Detection {
                                    kind: d.name().unwrap_or_default().to_string(),
                                    count: count(d.count()),
                                    occurrences: occurrences(d.occurrences()),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    total_count: count(custom.and_then(|c| c.total_count())),
                },
                mime_type: result
                    .and_then(|r| r.mime_type())
                    .unwrap_or_default()
                    .to_string(),
                size_classified: count(result.and_then(|r| r.size_classified())),
            },
        },
        count: count(f.count()),
    }
}

/// `^(?:w1|w2)$` with each word escaped; too long for Macie is an error that says so.
fn words_regex(words: &[String]) -> Result<String> {
    let alternatives: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
    let regex = format!("^(?:{})$", alternatives.join("|"));
    if regex.len() > ALLOW_REGEX_MAX {
        return Err(ServiceError::invalid(format!(
            "an allow list of {} words makes a {}-character regex; Macie takes {ALLOW_REGEX_MAX}: put the words in an S3 object and create the list with `aws macie2 create-allow-list`",
            words.len(),
            regex.len()
        )));
    }
    Ok(regex)
}

impl Aws {
    async fn custom_identifier_ids(&self) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let mut pages = self
            .macie
            .list_custom_data_identifiers()
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("macie2:ListCustomDataIdentifiers", e))?;
            for item in page.items() {
                if let (Some(name), Some(id)) = (item.name(), item.id()) {
                    out.insert(name.to_string(), id.to_string());
                }
            }
        }
        Ok(out)
    }

    async fn allow_list_ids(&self) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let mut pages = self.macie.list_allow_lists().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("macie2:ListAllowLists", e))?;
            for item in page.allow_lists() {
                if let (Some(name), Some(id)) = (item.name(), item.id()) {
                    out.insert(name.to_string(), id.to_string());
                }
            }
        }
        Ok(out)
    }
}

/// Names (or ids) to ids, with the name that matches nothing said.
fn resolve(kind: &str, names: &[String], known: &BTreeMap<String, String>) -> Result<Vec<String>> {
    names
        .iter()
        .map(|n| {
            known
                .get(n)
                .cloned()
                .or_else(|| known.values().find(|id| *id == n).cloned())
                .ok_or_else(|| {
                    ServiceError::new(Code::NotFoundException, format!("no {kind} named {n}"))
                })
        })
        .collect()
}

#[async_trait]
impl Classification for Aws {
    /// Idempotent, as the local lake's is: an account already enabled stays as it is (Macie
    /// itself would answer ConflictException).
    async fn enable_macie(&self, by: &Principal) -> Result<()> {
        self.acting(by)?;
        if let Ok(session) = self.get_macie_session(by).await
            && session.status == "ENABLED"
        {
            return Ok(());
        }
        self.macie
            .enable_macie()
            .status(m::MacieStatus::Enabled)
            .client_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .map_err(|e| aws_error("macie2:EnableMacie", e))?;
        Ok(())
    }

    async fn get_macie_session(&self, by: &Principal) -> Result<MacieSession> {
        self.acting(by)?;
        let got = self
            .macie
            .get_macie_session()
            .send()
            .await
            .map_err(|e| aws_error("macie2:GetMacieSession", e))?;
        Ok(MacieSession {
            status: got
                .status()
                .map(|s| s.as_str())
                .unwrap_or("PAUSED")
                .to_string(),
            created_at: opt_time(got.created_at()),
            finding_publishing_frequency: got
                .finding_publishing_frequency()
                .map(|f| f.as_str().to_string()),
        })
    }

    async fn create_custom_data_identifier(
        &self,
        by: &Principal,
        id: CustomDataIdentifier,
    ) -> Result<String> {
        self.acting(by)?;
        let created = self
            .macie
            .create_custom_data_identifier()
            .name(&id.name)
            .regex(&id.regex)
            .set_keywords(Some(id.keywords))
            .set_ignore_words(Some(id.ignore_words))
            .maximum_match_distance(id.maximum_match_distance as i32)
            .send()
            .await
            .map_err(|e| aws_error("macie2:CreateCustomDataIdentifier", e))?;
        Ok(created
            .custom_data_identifier_id()
            .unwrap_or_default()
            .to_string())
    }

    async fn list_custom_data_identifiers(
        &self,
        by: &Principal,
    ) -> Result<Vec<CustomDataIdentifier>> {
        self.acting(by)?;
        let mut out = Vec::new();
        for id in self.custom_identifier_ids().await?.into_values() {
            let got = self
                .macie
                .get_custom_data_identifier()
                .id(&id)
                .send()
                .await
                .map_err(|e| aws_error("macie2:GetCustomDataIdentifier", e))?;
            out.push(CustomDataIdentifier {
                name: got.name().unwrap_or_default().to_string(),
                regex: got.regex().unwrap_or_default().to_string(),
                keywords: got.keywords().to_vec(),
                ignore_words: got.ignore_words().to_vec(),
                maximum_match_distance: got.maximum_match_distance().unwrap_or(50).max(0) as u32,
                created_at: time(got.created_at()),
            });
        }
        Ok(out)
    }

    async fn list_allow_lists(&self, by: &Principal) -> Result<Vec<AllowList>> {
        self.acting(by)?;
        let mut out = Vec::new();
        for id in self.allow_list_ids().await?.into_values() {
            let got = self
                .macie
                .get_allow_list()
                .id(&id)
                .send()
                .await
                .map_err(|e| aws_error("macie2:GetAllowList", e))?;
            out.push(AllowList {
                name: got.name().unwrap_or_default().to_string(),
                words: Vec::new(),
                regex: got.criteria().and_then(|c| c.regex()).map(str::to_string),
                created_at: time(got.created_at()),
            });
        }
        Ok(out)
    }

    async fn create_allow_list(&self, by: &Principal, list: AllowList) -> Result<String> {
        self.acting(by)?;
        let regex = match list.regex {
            Some(r) => r,
            None => words_regex(&list.words)?,
        };
        let created = self
            .macie
            .create_allow_list()
            .name(&list.name)
            .criteria(m::AllowListCriteria::builder().regex(regex).build())
            .client_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .map_err(|e| aws_error("macie2:CreateAllowList", e))?;
        Ok(created.id().unwrap_or_default().to_string())
    }

    /// Macie runs the job; it is one-time, scoped to the prefix, and `progress` stays silent.
    async fn create_classification_job(
        &self,
        by: &Principal,
        spec: ClassificationJobSpec,
        _progress: Progress,
    ) -> Result<String> {
        self.acting(by)?;
        let identifiers = resolve(
            "custom data identifier",
            &spec.custom_data_identifiers,
            &self.custom_identifier_ids().await?,
        )?;
        let allow_lists = resolve(
            "allow list",
            &spec.allow_lists,
            &self.allow_list_ids().await?,
        )?;
        let buckets = m::S3BucketDefinitionForJob::builder()
            .account_id(&self.identity.account)
            .buckets(&spec.bucket)
            .build();
        let scoping = spec.prefix.as_ref().map(|prefix| {
            let starts_with = m::SimpleScopeTerm::builder()
                .key(m::ScopeFilterKey::ObjectKey)
                .comparator(m::JobComparator::StartsWith)
                .values(prefix)
                .build();
            let term = m::JobScopeTerm::builder()
                .simple_scope_term(starts_with)
                .build();
            m::Scoping::builder()
                .includes(m::JobScopingBlock::builder().and(term).build())
                .build()
        });
        let created = self
            .macie
            .create_classification_job()
            .name(&spec.name)
            .job_type(m::JobType::OneTime)
            .s3_job_definition(
                m::S3JobDefinition::builder()
                    .bucket_definitions(buckets)
                    .set_scoping(scoping)
                    .build(),
            )
            .set_custom_data_identifier_ids(Some(identifiers))
            .set_allow_list_ids(Some(allow_lists))
            .sampling_percentage(spec.sampling_percentage as i32)
            .client_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .map_err(|e| aws_error("macie2:CreateClassificationJob", e))?;
        Ok(created.job_id().unwrap_or_default().to_string())
    }

    async fn list_classification_jobs(&self, by: &Principal) -> Result<Vec<ClassificationJob>> {
        self.acting(by)?;
        let mut ids = Vec::new();
        let mut pages = self
            .macie
            .list_classification_jobs()
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("macie2:ListClassificationJobs", e))?;
            ids.extend(
                page.items()
                    .iter()
                    .filter_map(|j| j.job_id().map(str::to_string)),
            );
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.describe_classification_job(by, &id).await?);
        }
        Ok(out)
    }

    /// Macie reports how many objects a job had to process, not what became of each: the
    /// scanned and skipped counts stay empty here (Macie's usage statistics and findings have
    /// them).
    async fn describe_classification_job(
        &self,
        by: &Principal,
        job_id: &str,
    ) -> Result<ClassificationJob> {
        self.acting(by)?;
        let got = self
            .macie
            .describe_classification_job()
            .job_id(job_id)
            .send()
            .await
            .map_err(|e| aws_error("macie2:DescribeClassificationJob", e))?;
        let definition = got.s3_job_definition();
        let prefix = definition
            .and_then(|d| d.scoping())
            .and_then(|s| s.includes())
            .and_then(|i| i.and().first())
            .and_then(|t| t.simple_scope_term())
            .and_then(|t| t.values().first())
            .cloned();
        let status = got.job_status().map(|s| s.as_str()).unwrap_or("RUNNING");
        Ok(ClassificationJob {
            job_id: job_id.to_string(),
            spec: ClassificationJobSpec {
                name: got.name().unwrap_or_default().to_string(),
                bucket: definition
                    .and_then(|d| d.bucket_definitions().first())
                    .and_then(|b| b.buckets().first())
                    .cloned()
                    .unwrap_or_default(),
                prefix,
                custom_data_identifiers: got.custom_data_identifier_ids().to_vec(),
                allow_lists: got.allow_list_ids().to_vec(),
                sampling_percentage: got.sampling_percentage().unwrap_or(100).clamp(0, 100) as u8,
            },
            job_status: status.to_string(),
            created_at: time(got.created_at()),
            completed_at: if status == "COMPLETE" || status == "CANCELLED" {
                opt_time(got.last_run_time()).or(Some(Utc::now()))
            } else {
                None
            },
            statistics: JobStatistics {
                objects_total: got
                    .statistics()
                    .and_then(|s| s.approximate_number_of_objects_to_process())
                    .unwrap_or(0.0)
                    .max(0.0) as u64,
                ..JobStatistics::default()
            },
        })
    }

    async fn list_findings(&self, by: &Principal, job_id: Option<&str>) -> Result<Vec<String>> {
        self.acting(by)?;
        let criteria = job_id.map(|id| {
            m::FindingCriteria::builder()
                .criterion(
                    "classificationDetails.jobId",
                    m::CriterionAdditionalProperties::builder().eq(id).build(),
                )
                .build()
        });
        let mut out = Vec::new();
        let mut pages = self
            .macie
            .list_findings()
            .set_finding_criteria(criteria)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("macie2:ListFindings", e))?;
            out.extend(page.finding_ids().iter().cloned());
        }
        Ok(out)
    }

    async fn get_findings(&self, by: &Principal, ids: &[String]) -> Result<Vec<Finding>> {
        self.acting(by)?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(FINDINGS_PER_CALL) {
            let got = self
                .macie
                .get_findings()
                .set_finding_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| aws_error("macie2:GetFindings", e))?;
            out.extend(got.findings().iter().map(finding));
        }
        Ok(out)
    }

    /// Macie reveals samples only where the account has turned revealing on, and retrieves
    /// them asynchronously: a finding still being processed says so.
    async fn get_sensitive_data_occurrences(
        &self,
        by: &Principal,
        finding_id: &str,
    ) -> Result<BTreeMap<String, Vec<String>>> {
        self.acting(by)?;
        let got = self
            .macie
            .get_sensitive_data_occurrences()
            .finding_id(finding_id)
            .send()
            .await
            .map_err(|e| aws_error("macie2:GetSensitiveDataOccurrences", e))?;
        if got.status().map(|s| s.as_str()) == Some("PROCESSING") {
            return Err(ServiceError::new(
                Code::InvalidRequestException,
                format!(
                    "Macie is still retrieving the occurrences of finding {finding_id}; ask again shortly"
                ),
            ));
        }
        if let Some(error) = got.error() {
            return Err(ServiceError::new(Code::AwsService, error.to_string()));
        }
        Ok(got
            .sensitive_data_occurrences()
            .map(|occ| {
                occ.iter()
                    .map(|(kind, found)| {
                        (
                            kind.clone(),
                            found
                                .iter()
                                .filter_map(|d| d.value().map(str::to_string))
                                .collect(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_words_become_an_anchored_escaped_regex() {
        let r = words_regex(&["000000".into(), "a.b".into()]).unwrap();
        assert_eq!(r, r"^(?:000000|a\.b)$");
        let re = regex::Regex::new(&r).unwrap();
        assert!(re.is_match("a.b") && !re.is_match("axb") && !re.is_match("0000001"));
        let many: Vec<String> = (0..200).map(|i| format!("word{i}")).collect();
        assert!(words_regex(&many).is_err());
    }
}
