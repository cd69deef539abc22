//! EventBridge for the lake: the events the lake emits (in EventBridge's envelope), rules that
//! match them with EventBridge's pattern language (pattern.rs), the targets a matching event is
//! delivered to, and the delivery streams (Firehose to S3) that are one kind of target. Types
//! serialize in EventBridge's and Firehose's JSON shapes. Delivery is at least once and never
//! silently drops an event: what could not be delivered is kept in a failed list that can be read
//! and replayed (a lakectl extension; EventBridge's counterpart is a dead-letter queue).

pub mod pattern;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Code, Principal, Result, ServiceError};
pub use pattern::Pattern;

/// The one event bus the lake has, as EventBridge names its default.
pub const DEFAULT_BUS: &str = "default";

/// `put-rule`'s state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleState {
    Enabled,
    Disabled,
}

impl RuleState {
    pub fn parse(s: &str) -> Result<RuleState> {
        match s {
            "ENABLED" => Ok(RuleState::Enabled),
            "DISABLED" => Ok(RuleState::Disabled),
            other => Err(ServiceError::new(
                Code::ValidationException,
                format!("the state is ENABLED or DISABLED, not {other:?}"),
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::Enabled => "ENABLED",
            RuleState::Disabled => "DISABLED",
        }
    }
}

/// A rule as `describe-rule` and `list-rules` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    pub name: String,
    pub arn: String,
    pub event_pattern: String,
    pub state: RuleState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub event_bus_name: String,
    /// Who put the rule (EventBridge's `CreatedBy`, an account there; a principal here).
    pub created_by: String,
}

/// `put-targets`'s retry policy: how often a failing delivery is tried again before it lands in
/// the failed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryPolicy {
    pub maximum_retry_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            maximum_retry_attempts: 4,
        }
    }
}

/// A target as `put-targets` takes it and `list-targets-by-rule` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    pub id: String,
    pub arn: String,
    /// Constant JSON delivered instead of the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    /// The role EventBridge assumes to act on the target (on AWS: Glue workflows, Firehose).
    /// The local lake does not use it: there a target acts as the principal who put it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Where EventBridge on AWS keeps events it could not deliver (an SQS queue). The local lake
    /// keeps them in its failed list instead and refuses this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<DeadLetterConfig>,
}

/// EventBridge's `DeadLetterConfig`: an SQS queue's ARN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    pub arn: String,
}

/// What a target's ARN names. A new kind (a Glue workflow) is one arm here and one in the
/// local dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// `arn:aws:glue:REGION:ACCOUNT:job/NAME`: a run of the job starts.
    GlueJob(String),
    /// `arn:aws:glue:REGION:ACCOUNT:crawler/NAME`: the crawler crawls.
    GlueCrawler(String),
    /// `arn:aws:glue:REGION:ACCOUNT:workflow/NAME`: a run of the workflow starts from its EVENT
    /// trigger (else its ON_DEMAND one), as a Glue EVENT trigger does.
    GlueWorkflow(String),
    /// `arn:aws:macie2:REGION:ACCOUNT:classification-job/ID`: a new one-time job with that job's
    /// scope runs (a lakectl extension: Macie jobs are not EventBridge targets on AWS).
    ClassificationJob(String),
    /// `arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME`: the event joins a batch written as
    /// newline-delimited JSON into an encrypted object under the stream's prefix.
    DeliveryStream(String),
}

impl TargetKind {
    /// The kind a target ARN names, or a ValidationException saying which ARNs are targets.
    pub fn parse(arn: &str) -> Result<TargetKind> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let bad = || {
            ServiceError::new(
                Code::ValidationException,
                format!(
                    "target ARN {arn:?} is not a target the lake delivers to: arn:aws:glue:REGION:ACCOUNT:job/NAME, arn:aws:glue:REGION:ACCOUNT:crawler/NAME, arn:aws:glue:REGION:ACCOUNT:workflow/NAME, arn:aws:macie2:REGION:ACCOUNT:classification-job/ID or arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME"
                ),
            )
        };
        if parts.len() != 6 || parts[0] != "arn" {
            return Err(bad());
        }
        let (kind, name) = parts[5].split_once('/').ok_or_else(bad)?;
        if name.is_empty() {
            return Err(bad());
        }
        Ok(match (parts[2], kind) {
            ("glue", "job") => TargetKind::GlueJob(name.into()),
            ("glue", "crawler") => TargetKind::GlueCrawler(name.into()),
            ("glue", "workflow") => TargetKind::GlueWorkflow(name.into()),
            ("macie2", "classification-job") => TargetKind::ClassificationJob(name.into()),
            ("firehose", "deliverystream") => TargetKind::DeliveryStream(name.into()),
            _ => return Err(bad()),
        })
    }
}

/// A target `put-targets` or `remove-targets` could not take, in EventBridge's shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailedEntry {
    pub target_id: String,
    pub error_code: String,
    pub error_message: String,
}

/// One event as the lake emitted it, in EventBridge's envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub version: String,
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    pub account: String,
    pub time: DateTime<Utc>,
    pub region: String,
    pub resources: Vec<String>,
    pub detail: Value,
}

/// A delivery of one event to one target that has not (yet) succeeded after its retries: the
/// failed list (lakectl's dead-letter list).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailedDelivery {
    pub event_id: String,
    pub rule: String,
    pub target_id: String,
    pub target_arn: String,
    pub attempts: u32,
    pub last_error: String,
    pub failed_at: DateTime<Utc>,
    #[serde(rename = "DetailType")]
    pub detail_type: String,
    pub source: String,
}

/// One delivery as the console and `list-deliveries` show it: recent ones, whatever their state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Delivery {
    pub event_id: String,
    pub rule: String,
    pub target_id: String,
    pub state: String,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    pub updated: DateTime<Utc>,
}

/// What one dispatch pass did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DispatchReport {
    pub events_matched: u64,
    pub delivered: u64,
    pub retried: u64,
    pub failed: u64,
}

/// `firehose create-delivery-stream --s3-destination-configuration`, the part the lake uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3Destination {
    #[serde(rename = "BucketARN")]
    pub bucket_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `KMSEncryptionConfig.AWSKMSKeyARN` in Firehose; the key objects are sealed under (the
    /// bucket's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
}

impl S3Destination {
    pub fn bucket(&self) -> Result<&str> {
        self.bucket_arn
            .strip_prefix("arn:aws:s3:::")
            .filter(|b| !b.is_empty() && !b.contains('/'))
            .ok_or_else(|| {
                ServiceError::new(
                    Code::InvalidArgumentException,
                    format!("BucketARN {:?} is not arn:aws:s3:::BUCKET", self.bucket_arn),
                )
            })
    }
}

/// A delivery stream as `describe-delivery-stream` shows it (`DeliveryStreamDescription`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryStream {
    pub delivery_stream_name: String,
    #[serde(rename = "DeliveryStreamARN")]
    pub delivery_stream_arn: String,
    pub delivery_stream_status: String,
    pub delivery_stream_type: String,
    pub create_timestamp: DateTime<Utc>,
    pub destination: S3Destination,
}

/// EventBridge's rule names and target ids: 1 to 64 of `[.\-_A-Za-z0-9]`. `what` says which
/// (`rule name`, `target id`) in the refusal.
pub fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(ServiceError::new(
            Code::ValidationException,
            format!("{what} {name:?} must be 1 to 64 letters, digits, '.', '-' or '_'"),
        ));
    }
    Ok(())
}

/// `test-event-pattern`: whether `event` (an event in EventBridge's envelope) matches.
pub fn test_event_pattern(pattern: &str, event: &str) -> Result<bool> {
    let pattern = Pattern::parse(pattern)?;
    let event: Value = serde_json::from_str(event).map_err(|e| {
        ServiceError::new(
            Code::InvalidEventPatternException,
            format!("the event is not JSON: {e}"),
        )
    })?;
    for field in ["id", "account", "source", "time", "region", "detail-type"] {
        if event.get(field).is_none() {
            return Err(ServiceError::new(
                Code::InvalidEventPatternException,
                format!("the event lacks the field {field:?}, which every event has"),
            ));
        }
    }
    Ok(pattern.matches(&event))
}

/// EventBridge rules and targets, and the Firehose delivery streams that are targets.
#[async_trait]
pub trait Events: Send + Sync {
    /// Creates or replaces a rule; answers its ARN.
    async fn put_rule(
        &self,
        by: &Principal,
        name: &str,
        pattern: &str,
        state: RuleState,
        description: Option<String>,
    ) -> Result<String>;
    async fn describe_rule(&self, by: &Principal, name: &str) -> Result<Rule>;
    /// `test-event-pattern` (events:TestEventPattern): the matching itself is `test_event_pattern`.
    async fn test_event_pattern(&self, by: &Principal, pattern: &str, event: &str) -> Result<bool>;
    async fn list_rules(&self, by: &Principal, prefix: Option<&str>) -> Result<Vec<Rule>>;
    async fn set_rule_state(&self, by: &Principal, name: &str, state: RuleState) -> Result<()>;
    /// Refused while the rule has targets, as in EventBridge.
    async fn delete_rule(&self, by: &Principal, name: &str) -> Result<()>;
    async fn put_targets(
        &self,
        by: &Principal,
        rule: &str,
        targets: Vec<Target>,
    ) -> Result<Vec<FailedEntry>>;
    async fn list_targets_by_rule(&self, by: &Principal, rule: &str) -> Result<Vec<Target>>;
    async fn remove_targets(
        &self,
        by: &Principal,
        rule: &str,
        ids: &[String],
    ) -> Result<Vec<FailedEntry>>;
    /// Deliveries that failed after their retries (lakectl extension).
    async fn list_failed_deliveries(
        &self,
        by: &Principal,
        rule: Option<&str>,
    ) -> Result<Vec<FailedDelivery>>;
    /// Recent deliveries of a rule, whatever their state (lakectl extension).
    async fn list_deliveries(
        &self,
        by: &Principal,
        rule: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Delivery>>;
    /// Puts failed deliveries (all of the rule's, or the one of `event_id`) back to be delivered
    /// again; answers how many (lakectl extension).
    async fn replay_failed(
        &self,
        by: &Principal,
        rule: &str,
        event_id: Option<&str>,
    ) -> Result<u64>;
    /// Delivers what is due when this process recorded events (or replayed failed deliveries):
    /// the CLI calls it after each command, so events are delivered without a lake server. Not
    /// an API call: each delivery acts, and is authorized, as the principal who put its target.
    /// AWS delivers its own events, so the default does nothing.
    async fn deliver_emitted(&self) {}

    async fn create_delivery_stream(
        &self,
        by: &Principal,
        name: &str,
        destination: S3Destination,
    ) -> Result<String>;
    async fn describe_delivery_stream(&self, by: &Principal, name: &str) -> Result<DeliveryStream>;
    async fn list_delivery_streams(&self, by: &Principal) -> Result<Vec<String>>;
    async fn delete_delivery_stream(&self, by: &Principal, name: &str) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_arns() {
        assert_eq!(
            TargetKind::parse("arn:aws:glue:local:123456789012:crawler/raw").unwrap(),
            TargetKind::GlueCrawler("raw".into())
        );
        assert_eq!(
            TargetKind::parse("arn:aws:firehose:local:1:deliverystream/findings").unwrap(),
            TargetKind::DeliveryStream("findings".into())
        );
        for bad in [
            "arn:aws:glue:local:1:table/db/t",
            "arn:aws:lambda:local:1:function:f",
            "crawler/raw",
            "arn:aws:glue:local:1:job/",
        ] {
            assert_eq!(
                TargetKind::parse(bad).unwrap_err().code,
                Code::ValidationException
            );
        }
    }

    #[test]
    fn test_event_pattern_needs_an_envelope() {
        let event = r#"{"id":"1","account":"1","source":"aws.s3","time":"t","region":"r","detail-type":"Object Created","detail":{}}"#;
        assert!(test_event_pattern(r#"{"source":["aws.s3"]}"#, event).unwrap());
        assert!(!test_event_pattern(r#"{"source":["aws.glue"]}"#, event).unwrap());
        assert!(test_event_pattern(r#"{"source":["aws.s3"]}"#, r#"{"source":"aws.s3"}"#).is_err());
    }
}
