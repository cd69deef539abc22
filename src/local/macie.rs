//! The classification service on the local lake (Macie semantics). Lake admins define custom
//! identifiers and allow lists and run classification jobs; a job scans, as its creator, every
//! sampled object under its bucket and prefix in this process, records a finding per object with
//! sensitive data, and lists the objects it could not read with the reason. Findings hold
//! locations only; `get_sensitive_data_occurrences` re-reads the object, so it needs read and
//! decrypt rights, and is audited.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::authorizer::Call;
use super::classify;
use super::{Lake, not_found, now, runner_gone, ts};
use crate::pii;
use crate::service::classification::{
    AllowList, Classification, ClassificationJob, ClassificationJobSpec, CustomDataIdentifier,
    Finding, JobStatistics, MacieSession, S3Object, SkippedObject,
};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// Values revealed per detection type.
const REVEAL_PER_TYPE: usize = 10;

fn load<T: serde::de::DeserializeOwned>(
    tx: &Transaction,
    table: &str,
    name: &str,
    what: &str,
) -> Result<T> {
    let text: String = tx
        .query_row(
            &format!("SELECT definition FROM {table} WHERE name = ?1"),
            params![name],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| not_found(format!("{what} {name} not found.")))?;
    serde_json::from_str(&text).map_err(|e| ServiceError::internal(format!("{what} {name}: {e}")))
}

impl Lake {
    /// The compiled detectors a job names.
    fn detectors(
        &self,
        tx: &Transaction,
        spec: &ClassificationJobSpec,
    ) -> Result<classify::Detectors> {
        let mut custom = Vec::new();
        for name in &spec.custom_data_identifiers {
            let d: CustomDataIdentifier = load(
                tx,
                "custom_data_identifiers",
                name,
                "Custom data identifier",
            )?;
            custom.push(
                pii::CustomIdentifier::new(
                    &d.name,
                    &d.regex,
                    &d.keywords,
                    &d.ignore_words,
                    d.maximum_match_distance as usize,
                )
                .map_err(ServiceError::internal)?,
            );
        }
        let mut allow = pii::AllowList::default();
        for name in &spec.allow_lists {
            let a: AllowList = load(tx, "allow_lists", name, "Allow list")?;
            allow.words.extend(a.words);
            if let Some(r) = a.regex {
                allow.patterns.push(
                    regex::Regex::new(&r).map_err(|e| ServiceError::internal(e.to_string()))?,
                );
            }
        }
        Ok(classify::Detectors::new(custom, allow))
    }

    /// A classification job by id, or the latest job of that name (scripts know names, not ids).
    pub(super) fn resolve_classification_job(
        &self,
        tx: &Transaction,
        id_or_name: &str,
    ) -> Result<String> {
        let by_id = tx
            .query_row(
                "SELECT id FROM classification_jobs WHERE id = ?1",
                params![id_or_name],
                |r| r.get(0),
            )
            .optional()?;
        let by_name = || {
            tx.query_row(
                "SELECT id FROM classification_jobs WHERE json_extract(job, '$.name') = ?1 ORDER BY created DESC LIMIT 1",
                params![id_or_name],
                |r| r.get(0),
            )
            .optional()
        };
        match by_id {
            Some(id) => Ok(id),
            None => by_name()?
                .ok_or_else(|| not_found(format!("Classification job {id_or_name} not found."))),
        }
    }

    /// A job as stored; one whose process is gone is reported CANCELLED, with the reason.
    pub(super) fn classification_job(
        &self,
        tx: &Transaction,
        id: &str,
    ) -> Result<ClassificationJob> {
        let (text, pid): (String, u32) = tx
            .query_row(
                "SELECT job, pid FROM classification_jobs WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| not_found(format!("Classification job {id} not found.")))?;
        let mut job: ClassificationJob =
            serde_json::from_str(&text).map_err(|e| ServiceError::internal(e.to_string()))?;
        for skipped in &mut job.statistics.objects_skipped {
            skipped.reason = self.open_text(&format!("macie2:job={id}"), &skipped.reason);
        }
        if job.job_status == "RUNNING" && runner_gone(pid) {
            job.job_status = "CANCELLED".into();
            job.statistics.objects_skipped.push(SkippedObject {
                key: String::new(),
                reason: format!("the process running the job (pid {pid}) ended before the job did"),
            });
        }
        Ok(job)
    }

    fn save_classification_job(&self, job: &ClassificationJob) -> Result<()> {
        let mut job = job.clone();
        for skipped in &mut job.statistics.objects_skipped {
            skipped.reason = self.seal_text(&format!("macie2:job={}", job.job_id), &skipped.reason);
        }
        let job = &job;
        self.meta.write(|tx| {
            tx.execute(
                "UPDATE classification_jobs SET job = ?2 WHERE id = ?1",
                params![job.job_id, serde_json::to_string(job).expect("JSON")],
            )?;
            if job.completed_at.is_some() {
                self.emit_classification_state(tx, job)?;
            }
            Ok(())
        })
    }

    fn run_classification(&self, by: Principal, mut job: ClassificationJob, progress: Progress) {
        let spec = job.spec.clone();
        let outcome = (|| -> Result<()> {
            let detectors = self.meta.read(|tx| self.detectors(tx, &spec))?;
            let keys = self.list_keys(&by, &spec.bucket, spec.prefix.as_deref().unwrap_or(""))?;
            let sampled: Vec<(String, u64)> = keys
                .into_iter()
                .filter(|(k, _)| {
                    (xxhash_rust::xxh3::xxh3_64(k.as_bytes()) % 100)
                        < spec.sampling_percentage as u64
                })
                .collect();
            job.statistics.objects_total = sampled.len() as u64;
            progress.set_total(sampled.len() as u64);
            for (key, size) in sampled {
                if progress.is_cancelled() {
                    job.job_status = "CANCELLED".into();
                    return Ok(());
                }
                let object = S3Object {
                    bucket_name: spec.bucket.clone(),
                    key: key.clone(),
                    size,
                };
                match classify::classify(self, &by, &object, &job.job_id, &detectors) {
                    Ok(found) => {
                        job.statistics.objects_scanned += 1;
                        if let Some(f) = found {
                            job.statistics.objects_with_findings += 1;
                            self.meta.write(|tx| {
                                tx.execute(
                                    "INSERT INTO findings(id, job_id, finding, created) VALUES (?1, ?2, ?3, ?4)",
                                    params![f.id, job.job_id, serde_json::to_string(&f).expect("JSON"), ts(f.created_at)],
                                )?;
                                self.emit_finding(tx, &f)?;
                                Ok(())
                            })?;
                        }
                    }
                    // An object that cannot be read is listed with the reason; the job goes on.
                    Err(e) => job.statistics.objects_skipped.push(SkippedObject {
                        key,
                        reason: format!("{}: {}", e.code, e.message),
                    }),
                }
                progress.advance(1);
            }
            job.job_status = "COMPLETE".into();
            Ok(())
        })();
        if let Err(e) = outcome {
            job.job_status = "CANCELLED".into();
            job.statistics.objects_skipped.push(SkippedObject {
                key: String::new(),
                reason: format!("the job stopped: {}: {}", e.code, e.message),
            });
        }
        job.completed_at = Some(now());
        if let Err(e) = self.save_classification_job(&job) {
            tracing::error!(
                "cannot record the end of classification job {}: {e}",
                job.job_id
            );
        }
        self.deliver_here();
    }
}

#[async_trait]
impl Classification for Lake {
    /// The local lake's discovery needs no switching on: enabling it is a no-op that succeeds,
    /// as enabling an enabled Macie account does.
    async fn enable_macie(&self, by: &Principal) -> Result<()> {
        // Still a change as IAM sees it: only those allowed macie2:EnableMacie may.
        self.audited(by, Call::new("macie2", "EnableMacie", "*"), |_, _| {
            Ok(((), json!({})))
        })
    }

    async fn get_macie_session(&self, by: &Principal) -> Result<MacieSession> {
        self.reading(by, Call::new("macie2", "GetMacieSession", "*"), |_, _| {
            Ok(MacieSession {
                status: "ENABLED".into(),
                created_at: Some(self.header.created),
                finding_publishing_frequency: None,
            })
        })
    }

    async fn create_custom_data_identifier(
        &self,
        by: &Principal,
        id: CustomDataIdentifier,
    ) -> Result<String> {
        self.audited(by, Call::new("macie2", "CreateCustomDataIdentifier", &id.name), |tx, _| {
            if id.name.is_empty() {
                return Err(ServiceError::new(Code::ValidationException, "a custom data identifier needs a name"));
            }
            pii::CustomIdentifier::new(&id.name, &id.regex, &id.keywords, &id.ignore_words, id.maximum_match_distance as usize)
                .map_err(|e| ServiceError::new(Code::ValidationException, e))?;
            if id.maximum_match_distance == 0 || id.maximum_match_distance > 300 {
                return Err(ServiceError::new(Code::ValidationException, "the maximum match distance is 1 to 300 characters"));
            }
            let n = tx.execute(
                "INSERT INTO custom_data_identifiers(name, definition) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![id.name, serde_json::to_string(&id).expect("JSON")],
            )?;
            if n == 0 {
                return Err(ServiceError::new(Code::AlreadyExistsException, format!("Custom data identifier {} already exists.", id.name)));
            }
            Ok((id.name.clone(), json!({"Regex": id.regex, "Keywords": id.keywords})))
        })
    }

    async fn list_custom_data_identifiers(
        &self,
        by: &Principal,
    ) -> Result<Vec<CustomDataIdentifier>> {
        self.reading(
            by,
            Call::new("macie2", "ListCustomDataIdentifiers", "*"),
            |tx, _| {
                let names: Vec<String> = tx
                    .prepare("SELECT name FROM custom_data_identifiers ORDER BY name")?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                names
                    .iter()
                    .map(|n| load(tx, "custom_data_identifiers", n, "Custom data identifier"))
                    .collect()
            },
        )
    }

    async fn list_allow_lists(&self, by: &Principal) -> Result<Vec<AllowList>> {
        self.reading(by, Call::new("macie2", "ListAllowLists", "*"), |tx, _| {
            let names: Vec<String> = tx
                .prepare("SELECT name FROM allow_lists ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            names
                .iter()
                .map(|n| load(tx, "allow_lists", n, "Allow list"))
                .collect()
        })
    }

    async fn create_allow_list(&self, by: &Principal, list: AllowList) -> Result<String> {
        self.audited(
            by,
            Call::new("macie2", "CreateAllowList", &list.name),
            |tx, _| {
                if list.words.is_empty() == list.regex.is_none() {
                    return Err(ServiceError::new(
                        Code::ValidationException,
                        "an allow list has either --words or --regex",
                    ));
                }
                if let Some(r) = &list.regex {
                    regex::Regex::new(r).map_err(|e| {
                        ServiceError::new(
                            Code::ValidationException,
                            format!("the regex does not compile: {e}"),
                        )
                    })?;
                }
                let n = tx.execute(
                "INSERT INTO allow_lists(name, definition) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![list.name, serde_json::to_string(&list).expect("JSON")],
            )?;
                if n == 0 {
                    return Err(ServiceError::new(
                        Code::AlreadyExistsException,
                        format!("Allow list {} already exists.", list.name),
                    ));
                }
                Ok((list.name.clone(), json!({})))
            },
        )
    }

    async fn create_classification_job(
        &self,
        by: &Principal,
        spec: ClassificationJobSpec,
        progress: Progress,
    ) -> Result<String> {
        self.begin_classification_job(by, spec, progress)
    }

    async fn list_classification_jobs(&self, by: &Principal) -> Result<Vec<ClassificationJob>> {
        self.reading(
            by,
            Call::new("macie2", "ListClassificationJobs", "*"),
            |tx, _| {
                let ids: Vec<String> = tx
                    .prepare("SELECT id FROM classification_jobs ORDER BY created DESC")?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                ids.iter()
                    .map(|id| self.classification_job(tx, id))
                    .collect()
            },
        )
    }

    async fn describe_classification_job(
        &self,
        by: &Principal,
        job_id: &str,
    ) -> Result<ClassificationJob> {
        self.reading(
            by,
            Call::new("macie2", "DescribeClassificationJob", job_id),
            |tx, _| self.classification_job(tx, job_id),
        )
    }

    async fn list_findings(&self, by: &Principal, job_id: Option<&str>) -> Result<Vec<String>> {
        self.reading(by, Call::new("macie2", "ListFindings", "*"), |tx, _| {
            let ids: Vec<String> = tx
                .prepare(
                    "SELECT id FROM findings WHERE ?1 IS NULL OR job_id = ?1 ORDER BY created, id",
                )?
                .query_map(params![job_id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(ids)
        })
    }

    async fn get_findings(&self, by: &Principal, ids: &[String]) -> Result<Vec<Finding>> {
        self.reading(by, Call::new("macie2", "GetFindings", "*"), |tx, _| {
            let mut out = Vec::new();
            for id in ids {
                let text: Option<String> = tx
                    .query_row(
                        "SELECT finding FROM findings WHERE id = ?1",
                        params![id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(t) = text {
                    out.push(
                        serde_json::from_str(&t)
                            .map_err(|e| ServiceError::internal(e.to_string()))?,
                    );
                }
            }
            Ok(out)
        })
    }

    async fn get_sensitive_data_occurrences(
        &self,
        by: &Principal,
        finding_id: &str,
    ) -> Result<BTreeMap<String, Vec<String>>> {
        let (finding, spec) = self.reading(
            by,
            Call::new("macie2", "GetSensitiveDataOccurrences", finding_id),
            |tx, _| {
                let text: String = tx
                    .query_row(
                        "SELECT finding FROM findings WHERE id = ?1",
                        params![finding_id],
                        |r| r.get(0),
                    )
                    .optional()?
                    .ok_or_else(|| not_found(format!("Finding {finding_id} not found.")))?;
                let f: Finding = serde_json::from_str(&text)
                    .map_err(|e| ServiceError::internal(e.to_string()))?;
                let job = self.classification_job(tx, &f.classification_details.job_id)?;
                Ok((f, job.spec))
            },
        )?;
        let detectors = self.meta.read(|tx| self.detectors(tx, &spec))?;
        let o = &finding.resources_affected.s3_object;
        // Reading the object again is what authorizes the reveal: s3:GetObject and kms:Decrypt.
        let values = classify::reveal(self, by, o, &detectors, REVEAL_PER_TYPE)?;
        self.audited(by, Call::new("macie2", "GetSensitiveDataOccurrences", finding_id), |_, _| {
            Ok(((), json!({"Object": format!("s3://{}/{}", o.bucket_name, o.key), "Types": values.keys().collect::<Vec<_>>()})))
        })?;
        Ok(values)
    }
}

impl Lake {
    /// Creates a classification job and scans on a thread of this process.
    pub(super) fn begin_classification_job(
        &self,
        by: &Principal,
        spec: ClassificationJobSpec,
        progress: Progress,
    ) -> Result<String> {
        self.create_classification_job_for(by, spec, progress, None, &|_, _| Ok(()))
    }

    /// Creates and runs a job; `event` and `also` as for `start_job_run_for`.
    pub(super) fn create_classification_job_for(
        &self,
        by: &Principal,
        spec: ClassificationJobSpec,
        progress: Progress,
        event: Option<&str>,
        also: &dyn Fn(&Transaction, &str) -> Result<()>,
    ) -> Result<String> {
        let job = self.audited(
            by,
            Call::new("macie2", "CreateClassificationJob", &spec.name),
            |tx, _| {
                self.bucket_row_exists(tx, &spec.bucket)?;
                if !(1..=100).contains(&spec.sampling_percentage) {
                    return Err(ServiceError::new(
                        Code::ValidationException,
                        "the sampling percentage is 1 to 100",
                    ));
                }
                self.detectors(tx, &spec)?;
                let job = ClassificationJob {
                    job_id: uuid::Uuid::new_v4().simple().to_string(),
                    spec: spec.clone(),
                    job_status: "RUNNING".into(),
                    created_at: now(),
                    completed_at: None,
                    statistics: JobStatistics::default(),
                };
                tx.execute(
                "INSERT INTO classification_jobs(id, job, created, pid, event_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                        job.job_id,
                        serde_json::to_string(&job).expect("JSON"),
                        ts(job.created_at), std::process::id(), event],
            )?;
                also(tx, &job.job_id)?;
                Ok((
                    job.clone(),
                    json!({"JobId": job.job_id, "Bucket": spec.bucket}),
                ))
            },
        )?;
        let id = job.job_id.clone();
        let (lake, by) = (self.arc(), by.clone());
        tokio::task::spawn_blocking(move || lake.run_classification(by, job, progress));
        Ok(id)
    }
}
