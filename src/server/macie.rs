//! Macie2 over restJson1: the session, custom data identifiers, allow lists, classification
//! jobs and findings, routed by method and path as Macie's model places them (`/macie`,
//! `/jobs/{jobId}`, `/findings/describe`, ...). The lake names identifiers and allow lists by
//! name, so a name is also its Macie id. On the wire Macie's timestamps are ISO 8601 strings,
//! written here in one form (UTC, milliseconds, `Z`) every SDK's parser takes.

use chrono::{DateTime, SecondsFormat, Utc};
use http::{Method, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::dispatch::{ApiRequest, Router};
use super::errors::{Protocol, service_error};
use super::paging::{MACIE, MACIE_SMALL};
use super::rest_json::{self, body, page, to_value, with_token};
use crate::service::classification::{
    AllowList, ClassificationJob, ClassificationJobSpec, CustomDataIdentifier, Finding,
};
use crate::service::{Code, Progress, Result, ServiceError};

const INVALID: Code = Code::ValidationException;

pub async fn handle(router: &Router, request: &ApiRequest) -> Response<s3s::Body> {
    let segments: Vec<String> = request
        .path
        .trim_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match answer(router, request, &segments).await {
        Ok(Some(value)) => rest_json::json(&value),
        Ok(None) => rest_json::no_such_operation("macie2", request),
        Err(e) => service_error(Protocol::RestJson, &e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateIdentifierRequest {
    name: String,
    regex: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    ignore_words: Vec<String>,
    maximum_match_distance: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdsRequest {
    #[serde(default)]
    ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateAllowListRequest {
    name: String,
    criteria: AllowListCriteria,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AllowListCriteria {
    regex: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateJobRequest {
    name: String,
    s3_job_definition: Value,
    #[serde(default)]
    custom_data_identifier_ids: Vec<String>,
    #[serde(default)]
    allow_list_ids: Vec<String>,
    sampling_percentage: Option<u8>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListFindingsRequest {
    finding_criteria: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetFindingsRequest {
    finding_ids: Vec<String>,
}

/// The operation at `segments` (the path split at `/`), or `None` when there is none.
async fn answer(router: &Router, request: &ApiRequest, segments: &[&str]) -> Result<Option<Value>> {
    let macie = &router.services.classification;
    let by = &request.principal;
    let arn = Arns(
        router
            .lake
            .user_arn_of("")
            .split(':')
            .nth(4)
            .unwrap_or_default()
            .to_string(),
    );
    let get = request.method == Method::GET;
    let post = request.method == Method::POST;
    let value = match segments {
        ["macie"] if post => {
            macie.enable_macie(by).await?;
            json!({})
        }
        ["macie"] if get => {
            let s = macie.get_macie_session(by).await?;
            json!({
                "status": s.status,
                "createdAt": s.created_at.as_ref().map(iso),
                "updatedAt": s.created_at.as_ref().map(iso),
                "findingPublishingFrequency": s.finding_publishing_frequency,
            })
        }
        ["custom-data-identifiers"] if post => {
            let r: CreateIdentifierRequest = body(request, INVALID)?;
            let id = macie
                .create_custom_data_identifier(
                    by,
                    CustomDataIdentifier {
                        name: r.name,
                        regex: r.regex,
                        keywords: r.keywords,
                        ignore_words: r.ignore_words,
                        maximum_match_distance: r.maximum_match_distance.unwrap_or(50),
                        created_at: Utc::now(),
                    },
                )
                .await?;
            json!({ "customDataIdentifierId": id })
        }
        ["custom-data-identifiers", "list"] if post => {
            let all = macie.list_custom_data_identifiers(by).await?;
            let listed = page(request, MACIE_SMALL, all, |c| c.name.as_str())?;
            let items: Vec<Value> = listed
                .items
                .iter()
                .map(|c| arn.identifier_summary(c))
                .collect();
            with_token(json!({ "items": items }), MACIE_SMALL, listed.next)
        }
        ["custom-data-identifiers", "get"] if post => {
            let r: IdsRequest = body(request, INVALID)?;
            let known = macie.list_custom_data_identifiers(by).await?;
            let found: Vec<Value> = known
                .iter()
                .filter(|c| r.ids.contains(&c.name))
                .map(|c| {
                    let mut v = arn.identifier_summary(c);
                    v["deleted"] = json!(false);
                    v
                })
                .collect();
            let missing: Vec<&String> = r
                .ids
                .iter()
                .filter(|id| !known.iter().any(|c| &c.name == *id))
                .collect();
            json!({ "customDataIdentifiers": found, "notFoundIdentifierIds": missing })
        }
        ["custom-data-identifiers", id] if get => {
            let c = macie
                .list_custom_data_identifiers(by)
                .await?
                .into_iter()
                .find(|c| c.name == *id)
                .ok_or_else(|| not_found("custom data identifier", id))?;
            let mut v = arn.identifier_summary(&c);
            v["regex"] = json!(c.regex);
            v["keywords"] = json!(c.keywords);
            v["ignoreWords"] = json!(c.ignore_words);
            v["maximumMatchDistance"] = json!(c.maximum_match_distance);
            v["deleted"] = json!(false);
            v
        }
        ["allow-lists"] if post => {
            let r: CreateAllowListRequest = body(request, INVALID)?;
            let regex = r.criteria.regex.ok_or_else(|| {
                ServiceError::new(
                    INVALID,
                    "the lake server takes an allow list's criteria as a regex (criteria.regex)",
                )
            })?;
            let id = macie
                .create_allow_list(
                    by,
                    AllowList {
                        name: r.name,
                        words: Vec::new(),
                        regex: Some(regex),
                        created_at: Utc::now(),
                    },
                )
                .await?;
            json!({ "id": id, "arn": arn.of("allow-list", &id) })
        }
        ["allow-lists"] if get => {
            let all = macie.list_allow_lists(by).await?;
            let listed = page(request, MACIE_SMALL, all, |l| l.name.as_str())?;
            let lists: Vec<Value> = listed
                .items
                .iter()
                .map(|l| {
                    json!({
                        "id": l.name,
                        "name": l.name,
                        "arn": arn.of("allow-list", &l.name),
                        "createdAt": iso(&l.created_at),
                        "updatedAt": iso(&l.created_at),
                    })
                })
                .collect();
            with_token(json!({ "allowLists": lists }), MACIE_SMALL, listed.next)
        }
        ["jobs"] if post => {
            let r: CreateJobRequest = body(request, INVALID)?;
            let (bucket, prefix) = job_scope(&r.s3_job_definition)?;
            let spec = ClassificationJobSpec {
                name: r.name,
                bucket,
                prefix,
                custom_data_identifiers: r.custom_data_identifier_ids,
                allow_lists: r.allow_list_ids,
                sampling_percentage: r.sampling_percentage.unwrap_or(100),
            };
            let id = macie
                .create_classification_job(by, spec, Progress::default())
                .await?;
            json!({ "jobId": id, "jobArn": arn.of("classification-job", &id) })
        }
        ["jobs", "list"] if post => {
            let all = macie.list_classification_jobs(by).await?;
            let listed = page(request, MACIE, all, |j| j.job_id.as_str())?;
            let items: Vec<Value> = listed.items.iter().map(|j| arn.job(j, false)).collect();
            with_token(json!({ "items": items }), MACIE, listed.next)
        }
        ["jobs", id] if get => arn.job(&macie.describe_classification_job(by, id).await?, true),
        ["findings"] if post => {
            let r: ListFindingsRequest = body(request, INVALID)?;
            let job = r.finding_criteria.as_ref().and_then(job_criterion);
            let ids = macie.list_findings(by, job.as_deref()).await?;
            let listed = page(request, MACIE, ids, String::as_str)?;
            with_token(json!({ "findingIds": listed.items }), MACIE, listed.next)
        }
        ["findings", "describe"] if post => {
            let r: GetFindingsRequest = body(request, INVALID)?;
            let findings = macie.get_findings(by, &r.finding_ids).await?;
            let findings = findings
                .iter()
                .map(|f| arn.finding(f))
                .collect::<Result<Vec<_>>>()?;
            json!({ "findings": findings })
        }
        ["findings", id, "reveal"] if get => {
            let found = macie.get_sensitive_data_occurrences(by, id).await?;
            let occurrences: serde_json::Map<String, Value> = found
                .into_iter()
                .map(|(kind, values)| {
                    let values: Vec<Value> =
                        values.into_iter().map(|v| json!({ "value": v })).collect();
                    (kind, json!(values))
                })
                .collect();
            json!({ "status": "SUCCESS", "sensitiveDataOccurrences": occurrences })
        }
        _ => return Ok(None),
    };
    Ok(Some(value))
}

fn not_found(kind: &str, id: &str) -> ServiceError {
    ServiceError::new(Code::NotFoundException, format!("no {kind} {id}"))
}

/// Macie's ISO 8601 form.
fn iso(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The bucket and key prefix of a job's `s3JobDefinition`: one bucket, and optionally an
/// `OBJECT_KEY STARTS_WITH` scope term, which is what the lake's jobs take.
fn job_scope(definition: &Value) -> Result<(String, Option<String>)> {
    let bucket = definition["bucketDefinitions"][0]["buckets"][0]
        .as_str()
        .ok_or_else(|| {
            ServiceError::new(
                INVALID,
                "s3JobDefinition.bucketDefinitions must name a bucket",
            )
        })?;
    let term = &definition["scoping"]["includes"]["and"][0]["simpleScopeTerm"];
    let prefix = match term {
        Value::Null => None,
        term if term["key"] == "OBJECT_KEY" && term["comparator"] == "STARTS_WITH" => {
            term["values"][0].as_str().map(str::to_string)
        }
        _ => {
            return Err(ServiceError::new(
                INVALID,
                "the lake server scopes a job by OBJECT_KEY STARTS_WITH only",
            ));
        }
    };
    Ok((bucket.to_string(), prefix))
}

/// The job id of a `findingCriteria` on `classificationDetails.jobId` (`eq`).
fn job_criterion(criteria: &Value) -> Option<String> {
    criteria["criterion"]["classificationDetails.jobId"]["eq"][0]
        .as_str()
        .map(str::to_string)
}

/// Macie ARNs in the lake's account.
struct Arns(String);

impl Arns {
    fn of(&self, kind: &str, id: &str) -> String {
        format!("arn:aws:macie2:us-east-1:{}:{kind}/{id}", self.0)
    }

    fn identifier_summary(&self, c: &CustomDataIdentifier) -> Value {
        json!({
            "id": c.name,
            "name": c.name,
            "arn": self.of("custom-data-identifier", &c.name),
            "createdAt": iso(&c.created_at),
        })
    }

    /// A job as `DescribeClassificationJob` (`full`) or `ListClassificationJobs` answers it.
    fn job(&self, j: &ClassificationJob, full: bool) -> Value {
        let buckets = json!([{ "accountId": self.0, "buckets": [j.spec.bucket] }]);
        let mut v = json!({
            "jobId": j.job_id,
            "name": j.spec.name,
            "jobStatus": j.job_status,
            "jobType": "ONE_TIME",
            "createdAt": iso(&j.created_at),
            "bucketDefinitions": buckets,
        });
        if full {
            v["jobArn"] = json!(self.of("classification-job", &j.job_id));
            v["customDataIdentifierIds"] = json!(j.spec.custom_data_identifiers);
            v["allowListIds"] = json!(j.spec.allow_lists);
            v["samplingPercentage"] = json!(j.spec.sampling_percentage);
            let mut definition = json!({ "bucketDefinitions": buckets });
            if let Some(prefix) = &j.spec.prefix {
                definition["scoping"] = json!({ "includes": { "and": [{ "simpleScopeTerm": {
                    "key": "OBJECT_KEY", "comparator": "STARTS_WITH", "values": [prefix]
                }}]}});
            }
            v["s3JobDefinition"] = definition;
            v["statistics"] = json!({
                "approximateNumberOfObjectsToProcess": j.statistics.objects_total,
                "numberOfRuns": 1,
            });
            if let Some(done) = &j.completed_at {
                v["lastRunTime"] = json!(iso(done));
            }
        }
        v
    }

    /// A finding in Macie's shape: the bucket under `s3Bucket`, custom detections by `name`,
    /// ISO timestamps.
    fn finding(&self, f: &Finding) -> Result<Value> {
        let mut v = to_value(f)?;
        let o = &f.resources_affected.s3_object;
        v["createdAt"] = json!(iso(&f.created_at));
        v["updatedAt"] = json!(iso(&f.created_at));
        v["category"] = json!("CLASSIFICATION");
        v["accountId"] = json!(self.0);
        v["resourcesAffected"] = json!({
            "s3Bucket": { "name": o.bucket_name },
            "s3Object": {
                "bucketArn": format!("arn:aws:s3:::{}", o.bucket_name),
                "key": o.key,
                "path": format!("{}/{}", o.bucket_name, o.key),
                "size": o.size,
            },
        });
        if let Some(detections) =
            v["classificationDetails"]["result"]["customDataIdentifiers"]["detections"]
                .as_array_mut()
        {
            for d in detections {
                if let Some(kind) = d.as_object_mut().and_then(|d| d.remove("type")) {
                    d["arn"] =
                        json!(self.of("custom-data-identifier", kind.as_str().unwrap_or("")));
                    d["name"] = kind;
                }
            }
        }
        Ok(v)
    }
}
