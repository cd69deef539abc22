//! CloudTrail's LookupEvents on the lake server, answered from the lake's audit log (the audit
//! service decides who may read it). Each entry becomes a CloudTrail event whose
//! `CloudTrailEvent` is the record's JSON, with the fields lakectl's AWS backend reads back
//! (`errorCode`, `requestParameters`, `sourceIPAddress`).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json_protocol::{Call, output, unsupported};
use crate::service::audit::AuditEvent;
use crate::service::{Result, ServiceError};

/// CloudTrail's most events per page.
const MOST_EVENTS: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttribute {
    attribute_key: String,
    attribute_value: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct LookupEventsInput {
    lookup_attributes: Vec<LookupAttribute>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

fn event_shape(e: &AuditEvent) -> Value {
    let read_only = e.event_name.starts_with("Get")
        || e.event_name.starts_with("List")
        || e.event_name.starts_with("Describe")
        || e.event_name.starts_with("Head");
    let source = format!("{}.amazonaws.com", e.event_source);
    let record = json!({
        "eventVersion": "1.08",
        "eventTime": e.event_time,
        "eventSource": source,
        "eventName": e.event_name,
        "userIdentity": { "type": "IAMUser", "userName": e.principal },
        "sourceIPAddress": e.detail.get("SourceIPAddress").cloned().unwrap_or(Value::Null),
        "requestParameters": e.detail,
        "errorCode": e.error_code,
        "eventID": format!("lake-{}", e.sequence),
        "readOnly": read_only,
    });
    json!({
        "EventId": format!("lake-{}", e.sequence),
        "EventName": e.event_name,
        "ReadOnly": read_only.to_string(),
        "EventTime": e.event_time,
        "EventSource": source,
        "Username": e.principal,
        "Resources": [{ "ResourceName": e.resource }],
        "CloudTrailEvent": record.to_string(),
    })
}

fn matches(e: &AuditEvent, attr: &LookupAttribute) -> Result<bool> {
    let value = attr.attribute_value.as_str();
    Ok(match attr.attribute_key.as_str() {
        "Username" => e.principal == value,
        "EventName" => e.event_name == value,
        "EventSource" => {
            format!("{}.amazonaws.com", e.event_source) == value || e.event_source == value
        }
        "ResourceName" => e.resource == value,
        "ReadOnly" => {
            let read_only = e.event_name.starts_with("Get") || e.event_name.starts_with("List");
            read_only.to_string() == value
        }
        "EventId" => format!("lake-{}", e.sequence) == value,
        other => {
            return Err(unsupported(
                &format!("LookupAttribute {other}"),
                "the lake's audit log is looked up by Username, EventName, EventSource, ResourceName, ReadOnly or EventId",
            ));
        }
    })
}

fn time(seconds: Option<f64>) -> Option<DateTime<Utc>> {
    seconds.and_then(|s| DateTime::from_timestamp(s.floor() as i64, 0))
}

pub async fn call(call: Call<'_>) -> Result<Value> {
    if call.operation != "LookupEvents" {
        return Err(call.unknown("CloudTrail"));
    }
    let input: LookupEventsInput = call.input()?;
    if input.lookup_attributes.len() > 1 {
        return Err(ServiceError::invalid(
            "LookupAttributes takes one attribute",
        ));
    }
    let username = input
        .lookup_attributes
        .iter()
        .find(|a| a.attribute_key == "Username")
        .map(|a| a.attribute_value.clone());
    let mut events = call
        .router
        .services
        .audit
        .list(call.principal, username.as_deref())
        .await?;
    let (start, end) = (time(input.start_time), time(input.end_time));
    let mut kept = Vec::with_capacity(events.len());
    // Newest first, as CloudTrail answers.
    events.reverse();
    for e in events {
        if start.is_some_and(|s| e.event_time < s) || end.is_some_and(|t| e.event_time > t) {
            continue;
        }
        let mut ok = true;
        for attr in &input.lookup_attributes {
            ok &= matches(&e, attr)?;
        }
        if ok {
            kept.push(e);
        }
    }
    // The token is the sequence number the next page starts below.
    if let Some(token) = &input.next_token {
        let below: u64 = token
            .parse()
            .map_err(|_| ServiceError::invalid("NextToken is not one this server gave"))?;
        kept.retain(|e| e.sequence < below);
    }
    let page = input
        .max_results
        .unwrap_or(MOST_EVENTS)
        .clamp(1, MOST_EVENTS);
    let next = (kept.len() > page).then(|| kept[page - 1].sequence.to_string());
    kept.truncate(page);
    let mut answer = json!({ "Events": kept.iter().map(event_shape).collect::<Vec<_>>() });
    if let Some(token) = next {
        answer["NextToken"] = json!(token);
    }
    output(answer)
}
