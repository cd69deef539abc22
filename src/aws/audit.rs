//! The audit trail on AWS is CloudTrail's. `audit list` reads it through LookupEvents: the
//! management events of the last 90 days, newest first from AWS and given oldest first here, as
//! the local lake gives its own. LookupEvents answers two calls a second per account, so a list
//! stops after `MOST_EVENTS`. Checking the trail's integrity is CloudTrail's log file
//! validation, which `audit verify` names.

use async_trait::async_trait;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};

use super::{Aws, aws_error, build_error, time, unsupported};
use crate::service::audit::{Audit, AuditEvent, AuditVerification};
use crate::service::{Principal, Result};

/// The most events one `audit list` reads (20 pages of 50).
const MOST_EVENTS: usize = 1000;

fn event(e: &aws_sdk_cloudtrail::types::Event) -> AuditEvent {
    let raw: serde_json::Value = e
        .cloud_trail_event()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    AuditEvent {
        sequence: 0,
        event_time: time(e.event_time()),
        principal: e.username().unwrap_or_default().to_string(),
        event_source: e
            .event_source()
            .unwrap_or_default()
            .trim_end_matches(".amazonaws.com")
            .to_string(),
        event_name: e.event_name().unwrap_or_default().to_string(),
        resource: e
            .resources()
            .first()
            .and_then(|r| r.resource_name())
            .unwrap_or_default()
            .to_string(),
        error_code: raw["errorCode"].as_str().map(str::to_string),
        detail: serde_json::json!({
            "EventId": e.event_id(),
            "ReadOnly": e.read_only(),
            "RequestParameters": raw["requestParameters"],
            "SourceIPAddress": raw["sourceIPAddress"],
        }),
    }
}

#[async_trait]
impl Audit for Aws {
    async fn list(&self, by: &Principal, principal: Option<&str>) -> Result<Vec<AuditEvent>> {
        self.acting(by)?;
        let filter = match principal {
            Some(name) => Some(
                LookupAttribute::builder()
                    .attribute_key(LookupAttributeKey::Username)
                    .attribute_value(name)
                    .build()
                    .map_err(|e| build_error("LookupAttribute", e))?,
            ),
            None => None,
        };
        let mut events = Vec::new();
        let mut pages = self
            .cloudtrail
            .lookup_events()
            .set_lookup_attributes(filter.map(|f| vec![f]))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("cloudtrail:LookupEvents", e))?;
            events.extend(page.events().iter().map(event));
            if events.len() >= MOST_EVENTS {
                events.truncate(MOST_EVENTS);
                break;
            }
        }
        events.reverse();
        for (i, e) in events.iter_mut().enumerate() {
            e.sequence = i as u64 + 1;
        }
        Ok(events)
    }

    async fn verify(&self, by: &Principal) -> Result<AuditVerification> {
        self.acting(by)?;
        Err(unsupported(
            "audit verify",
            "CloudTrail signs its own log files; check them with `aws cloudtrail validate-logs` on the trail",
        ))
    }
}
