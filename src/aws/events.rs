//! EventBridge rules and targets on the AWS backend: not built yet. Each call says so and names
//! the AWS CLI command to use instead (`aws events put-rule ...`), rather than pretending; the
//! pattern language itself (`events test-event-pattern`) needs no AWS call and works on both.

use async_trait::async_trait;

use super::Aws;
use crate::service::events::{
    Delivery, DeliveryStream, Events, FailedDelivery, FailedEntry, Rule, RuleState, S3Destination,
    Target,
};
use crate::service::{Code, Principal, Result, ServiceError};

fn not_yet<T>(command: &str) -> Result<T> {
    Err(ServiceError::new(
        Code::UnsupportedOperationException,
        format!(
            "lakectl does not manage EventBridge or Firehose on the AWS backend yet; use `aws {command}`"
        ),
    ))
}

#[async_trait]
impl Events for Aws {
    async fn put_rule(
        &self,
        _: &Principal,
        _: &str,
        _: &str,
        _: RuleState,
        _: Option<String>,
    ) -> Result<String> {
        not_yet("events put-rule")
    }
    async fn describe_rule(&self, _: &Principal, _: &str) -> Result<Rule> {
        not_yet("events describe-rule")
    }
    /// Matched here with EventBridge's language: the pattern and event are the caller's own.
    async fn test_event_pattern(&self, _: &Principal, pattern: &str, event: &str) -> Result<bool> {
        crate::service::events::test_event_pattern(pattern, event)
    }
    async fn list_rules(&self, _: &Principal, _: Option<&str>) -> Result<Vec<Rule>> {
        not_yet("events list-rules")
    }
    async fn set_rule_state(&self, _: &Principal, _: &str, _: RuleState) -> Result<()> {
        not_yet("events enable-rule / disable-rule")
    }
    async fn delete_rule(&self, _: &Principal, _: &str) -> Result<()> {
        not_yet("events delete-rule")
    }
    async fn put_targets(
        &self,
        _: &Principal,
        _: &str,
        _: Vec<Target>,
    ) -> Result<Vec<FailedEntry>> {
        not_yet("events put-targets")
    }
    async fn list_targets_by_rule(&self, _: &Principal, _: &str) -> Result<Vec<Target>> {
        not_yet("events list-targets-by-rule")
    }
    async fn remove_targets(
        &self,
        _: &Principal,
        _: &str,
        _: &[String],
    ) -> Result<Vec<FailedEntry>> {
        not_yet("events remove-targets")
    }
    async fn list_failed_deliveries(
        &self,
        _: &Principal,
        _: Option<&str>,
    ) -> Result<Vec<FailedDelivery>> {
        not_yet("sqs receive-message on the rule's dead-letter queue")
    }
    async fn list_deliveries(
        &self,
        _: &Principal,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<Delivery>> {
        not_yet("cloudwatch get-metric-statistics --namespace AWS/Events")
    }
    async fn replay_failed(&self, _: &Principal, _: &str, _: Option<&str>) -> Result<u64> {
        not_yet("events start-replay")
    }
    async fn create_delivery_stream(
        &self,
        _: &Principal,
        _: &str,
        _: S3Destination,
    ) -> Result<String> {
        not_yet("firehose create-delivery-stream")
    }
    async fn describe_delivery_stream(&self, _: &Principal, _: &str) -> Result<DeliveryStream> {
        not_yet("firehose describe-delivery-stream")
    }
    async fn list_delivery_streams(&self, _: &Principal) -> Result<Vec<String>> {
        not_yet("firehose list-delivery-streams")
    }
    async fn delete_delivery_stream(&self, _: &Principal, _: &str) -> Result<()> {
        not_yet("firehose delete-delivery-stream")
    }
}
