//! The awsJson1.1 protocol (KMS, Glue, Athena, CloudTrail, Secrets Manager): `POST /` with the operation in
//! `X-Amz-Target` (`TrentService.DescribeKey`) and a JSON body, answered in JSON. This module
//! picks the service's module by the target's prefix, turns a body into a typed request (with
//! AWS's error for a malformed one) and an answer into the wire's shape: the service layer's
//! types serialize as the AWS CLI prints them, where timestamps are text, but on the wire
//! awsJson carries them as epoch seconds.

use bytes::Bytes;
use chrono::DateTime;
use http::{HeaderValue, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::dispatch::{ApiRequest, Router};
use super::errors::{Protocol, bad_request, service_error};
use super::paging::{Page, Paging};
use crate::service::{Code, Result, ServiceError};

/// The services this protocol serves, by the `X-Amz-Target` prefix each one's model declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Kms,
    Glue,
    Athena,
    CloudTrail,
    SecretsManager,
}

impl Service {
    fn of_target(prefix: &str) -> Option<Service> {
        match prefix {
            "TrentService" => Some(Service::Kms),
            "AWSGlue" => Some(Service::Glue),
            "AmazonAthena" => Some(Service::Athena),
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101" => Some(Service::CloudTrail),
            "secretsmanager" => Some(Service::SecretsManager),
            _ => None,
        }
    }

    /// The SigV4 signing name of the service.
    fn signing_name(self) -> &'static str {
        match self {
            Service::Kms => "kms",
            Service::Glue => "glue",
            Service::Athena => "athena",
            Service::CloudTrail => "cloudtrail",
            Service::SecretsManager => "secretsmanager",
        }
    }
}

pub async fn handle(router: &Router, request: ApiRequest) -> Response<s3s::Body> {
    let target = request
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let Some((prefix, operation)) = target.rsplit_once('.') else {
        return bad_request(
            Protocol::Json,
            "UnknownOperationException",
            "the request names no operation (X-Amz-Target)",
        );
    };
    // The target must be of the service the request was signed for: a signature for one
    // service is not a pass to another.
    let service = match Service::of_target(prefix) {
        Some(s) if s.signing_name() == request.service => s,
        _ => {
            return bad_request(
                Protocol::Json,
                "UnknownOperationException",
                &format!("{} has no operation {target:?}", request.service),
            );
        }
    };
    let body: Value = if request.body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(&request.body) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return bad_request(
                    Protocol::Json,
                    "SerializationException",
                    "the request body is not a JSON object",
                );
            }
        }
    };
    let call = Call {
        router,
        principal: &request.principal,
        operation,
        body,
    };
    let answer = match service {
        Service::Kms => super::kms::call(call).await,
        Service::Glue => super::glue::call(call).await,
        Service::Athena => super::athena::call(call).await,
        Service::CloudTrail => super::cloudtrail::call(call).await,
        Service::SecretsManager => super::secretsmanager::call(call).await,
    };
    match answer {
        Ok(value) => json_response(&value),
        Err(e) => service_error(Protocol::Json, &wire_error(e)),
    }
}

/// One operation's call, as each service module receives it.
pub struct Call<'a> {
    pub router: &'a Router,
    pub principal: &'a crate::service::Principal,
    pub operation: &'a str,
    pub body: Value,
}

impl Call<'_> {
    /// The body as the operation's request type: a missing required member is a
    /// ValidationException, a member of the wrong type a SerializationException, as AWS says.
    pub fn input<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.body.clone()).map_err(|e| {
            let text = e.to_string();
            if text.starts_with("missing field") {
                let member = text.split('`').nth(1).unwrap_or("a member");
                ServiceError::invalid(format!(
                    "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
                ))
            } else {
                coded("SerializationException", format!("the request's members do not match {}: {text}", self.operation))
            }
        })
    }

    /// The page of `items` the request asks for, by Glue's, Athena's and Secrets Manager's
    /// members (`MaxResults`, `NextToken`) or KMS's (`Limit`, `Marker`).
    pub fn page<T>(
        &self,
        paging: Paging,
        items: Vec<T>,
        id: impl Fn(&T) -> &str,
    ) -> Result<Page<T>> {
        let (limit, token) = paging.members.names();
        let size = match self.body.get(limit) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().map(|n| n as usize).ok_or_else(|| {
                coded(
                    "SerializationException",
                    format!("{limit} is not a whole number"),
                )
            })?),
        };
        let token = match self.body.get(token) {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) if !t.is_empty() => Some(t.as_str()),
            Some(Value::String(_)) => None,
            Some(_) => {
                return Err(coded(
                    "SerializationException",
                    format!("{token} is not text"),
                ));
            }
        };
        paging.page(items, id, size, token)
    }

    /// The answer for an operation this server does not have.
    pub fn unknown(&self, service: &str) -> ServiceError {
        coded(
            "UnknownOperationException",
            format!("{service} has no operation {}", self.operation),
        )
    }
}

/// An error under a wire code the service layer has no `Code` for.
pub fn coded(name: &str, message: impl Into<String>) -> ServiceError {
    ServiceError {
        code: Code::ValidationException,
        message: message.into(),
        aws_code: Some(name.to_string()),
    }
}

/// An operation the local lake has nothing behind: said by name, never faked.
pub fn unsupported(what: &str, why: &str) -> ServiceError {
    ServiceError::new(
        Code::UnsupportedOperationException,
        format!("{what} is not supported by the lake server: {why}"),
    )
}

/// The service layer's own codes for bad input, as the JSON services name them.
fn wire_error(mut e: ServiceError) -> ServiceError {
    if e.aws_code.is_none() && matches!(e.code, Code::ParamValidation | Code::InvalidArgument) {
        e.aws_code = Some("ValidationException".into());
    }
    e
}

/// Members that carry a timestamp, wherever they appear in an answer.
const TIMESTAMPS: &[&str] = &[
    "CreationDate",
    "DeletionDate",
    "NextRotationDate",
    "LastRotationDate",
    "RotationDate",
    "OnDemandRotationStartDate",
    "CreateTime",
    "UpdateTime",
    "CreatedTimeStamp",
    "CreatedTimestamp",
    "CreatedOn",
    "LastModifiedOn",
    "StartedOn",
    "CompletedOn",
    "StartTime",
    "EndTime",
    "SubmissionDateTime",
    "CompletionDateTime",
    "CreationTime",
    "EventTime",
    "LastUpdated",
    "CreatedDate",
    "LastChangedDate",
    "LastAccessedDate",
    "DeletedDate",
];

/// A domain value in the wire's shape: timestamps become epoch seconds.
pub fn output(value: impl Serialize) -> Result<Value> {
    let mut v = serde_json::to_value(value)
        .map_err(|e| ServiceError::internal(format!("an answer did not serialize: {e}")))?;
    epoch_seconds(&mut v);
    Ok(v)
}

fn epoch_seconds(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                if TIMESTAMPS.contains(&k.as_str())
                    && let Value::String(text) = item
                    && let Ok(t) = DateTime::parse_from_rfc3339(text)
                {
                    let seconds =
                        t.timestamp() as f64 + f64::from(t.timestamp_subsec_millis()) / 1000.0;
                    *item = serde_json::json!(seconds);
                } else {
                    epoch_seconds(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(epoch_seconds),
        _ => {}
    }
}

/// A page's answer: `answer` with `NextToken` when there is more.
pub fn paged(mut answer: Value, next: Option<String>) -> Result<Value> {
    if let Some(token) = next {
        answer["NextToken"] = Value::String(token);
    }
    output(answer)
}

/// An answer with nothing to say (`{}`), as AWS gives for most changes.
pub fn empty() -> Result<Value> {
    Ok(Value::Object(Default::default()))
}

fn json_response(value: &Value) -> Response<s3s::Body> {
    let mut response = Response::new(s3s::Body::from(Bytes::from(value.to_string())));
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_become_epoch_seconds_at_any_depth_and_other_text_stays() {
        let mut v = serde_json::json!({
            "KeyMetadata": {"CreationDate": "2026-01-02T03:04:05.250Z", "Description": "2026-01-02T03:04:05Z"},
            "List": [{"StartedOn": "1970-01-01T00:00:10Z"}],
        });
        epoch_seconds(&mut v);
        assert_eq!(
            v["KeyMetadata"]["CreationDate"],
            serde_json::json!(1767323045.25)
        );
        assert_eq!(v["KeyMetadata"]["Description"], "2026-01-02T03:04:05Z");
        assert_eq!(v["List"][0]["StartedOn"], serde_json::json!(10.0));
    }
}
