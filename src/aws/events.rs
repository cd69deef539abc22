//! EventBridge rules and targets on the AWS backend, through `aws-sdk-eventbridge` on the
//! account's default bus. AWS delivers the events and decides who may do what; this module
//! translates. What is lakectl's own on the local lake says what AWS has instead: a Glue job or
//! crawler is started by a workflow (EventBridge's Glue target is a workflow), a classification
//! job is not a target, delivery streams are made with the AWS CLI (lakectl does not bring the
//! Firehose SDK), and deliveries that failed are in each target's SQS dead-letter queue.
//! `test-event-pattern` matches here with EventBridge's language, as on the local lake: the
//! pattern and the event are the caller's own.

use async_trait::async_trait;
use aws_sdk_eventbridge::types as eb;

use super::{Aws, aws_error, build_error, unsupported};
use crate::service::events::{
    DEFAULT_BUS, DeadLetterConfig, Delivery, DeliveryStream, Events, FailedDelivery, FailedEntry,
    RetryPolicy, Rule, RuleState, S3Destination, Target, TargetKind,
};
use crate::service::{Code, Principal, Result, ServiceError};

/// What to do instead of lakectl's delivery streams on AWS.
const MAKE_A_STREAM: &str = "create it with `aws firehose create-delivery-stream --delivery-stream-name NAME --extended-s3-destination-configuration RoleARN=ROLE,BucketARN=arn:aws:s3:::BUCKET,Prefix=PREFIX,EncryptionConfiguration={KMSEncryptionConfig={AWSKMSKeyARN=KEY}}`, then `lakectl events put-targets --rule RULE --targets Id=ID,Arn=STREAM_ARN,RoleArn=ROLE` (a role EventBridge may firehose:PutRecord as)";

fn text(s: Option<&str>) -> String {
    s.unwrap_or_default().to_string()
}

fn state_from_sdk(s: Option<&eb::RuleState>) -> RuleState {
    match s {
        Some(eb::RuleState::Disabled) => RuleState::Disabled,
        _ => RuleState::Enabled,
    }
}

/// Why a target lakectl knows cannot be an EventBridge target on AWS, if it cannot.
fn refused_on_aws(t: &Target) -> Option<String> {
    let kind = TargetKind::parse(&t.arn).ok();
    match kind {
        Some(TargetKind::GlueJob(name)) | Some(TargetKind::GlueCrawler(name)) => Some(format!(
            "EventBridge on AWS starts Glue workflows, not jobs or crawlers: put {name} in a workflow (glue create-workflow, create-trigger --type EVENT --workflow-name W --actions ...) and target arn:aws:glue:REGION:ACCOUNT:workflow/W with a RoleArn"
        )),
        Some(TargetKind::ClassificationJob(_)) => Some(
            "a classification job as a target is a lakectl extension of the local lake: Macie jobs are not EventBridge targets on AWS".into(),
        ),
        Some(TargetKind::GlueWorkflow(_)) | Some(TargetKind::DeliveryStream(_))
            if t.role_arn.is_none() =>
        {
            Some(
                "on AWS EventBridge acts on a Glue workflow or a delivery stream as a role: give the target RoleArn=arn:aws:iam::ACCOUNT:role/NAME (or --role-arn)".into(),
            )
        }
        // A workflow or stream with its role, and ARNs lakectl does not deliver to locally
        // (Lambda, SQS, ...): AWS decides.
        _ => None,
    }
}

fn target_to_sdk(t: &Target) -> Result<eb::Target> {
    eb::Target::builder()
        .id(&t.id)
        .arn(&t.arn)
        .set_role_arn(t.role_arn.clone())
        .set_input(t.input.clone())
        .set_retry_policy(t.retry_policy.map(|r| {
            eb::RetryPolicy::builder()
                .maximum_retry_attempts(r.maximum_retry_attempts.min(i32::MAX as u32) as i32)
                .build()
        }))
        .set_dead_letter_config(
            t.dead_letter_config
                .as_ref()
                .map(|d| eb::DeadLetterConfig::builder().arn(&d.arn).build()),
        )
        .build()
        .map_err(|e| build_error("PutTargets", e))
}

fn target_from_sdk(t: &eb::Target) -> Target {
    Target {
        id: t.id().to_string(),
        arn: t.arn().to_string(),
        input: t.input().map(str::to_string),
        retry_policy: t.retry_policy().and_then(|r| {
            r.maximum_retry_attempts().map(|n| RetryPolicy {
                maximum_retry_attempts: n.max(0) as u32,
            })
        }),
        role_arn: t.role_arn().map(str::to_string),
        dead_letter_config: t
            .dead_letter_config()
            .and_then(|d| d.arn())
            .map(|arn| DeadLetterConfig { arn: arn.into() }),
    }
}

fn failed_from_sdk<'a>(
    entries: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>, Option<&'a str>)>,
) -> Vec<FailedEntry> {
    entries
        .into_iter()
        .map(|(id, code, message)| FailedEntry {
            target_id: text(id),
            error_code: text(code),
            error_message: text(message),
        })
        .collect()
}

impl Aws {
    async fn all_targets(&self, rule: &str) -> Result<Vec<Target>> {
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .eventbridge
                .list_targets_by_rule()
                .rule(rule)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_error("ListTargetsByRule", e))?;
            all.extend(out.targets().iter().map(target_from_sdk));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(all)
    }
}

#[async_trait]
impl Events for Aws {
    async fn put_rule(
        &self,
        by: &Principal,
        name: &str,
        pattern: &str,
        state: RuleState,
        description: Option<String>,
    ) -> Result<String> {
        self.acting(by)?;
        // The pattern is checked with the language lakectl matches by, so a mistake is named
        // the same way on both backends; AWS checks it again.
        crate::service::events::Pattern::parse(pattern)?;
        let out = self
            .eventbridge
            .put_rule()
            .name(name)
            .event_pattern(pattern)
            .state(match state {
                RuleState::Enabled => eb::RuleState::Enabled,
                RuleState::Disabled => eb::RuleState::Disabled,
            })
            .set_description(description)
            .send()
            .await
            .map_err(|e| aws_error("PutRule", e))?;
        Ok(text(out.rule_arn()))
    }

    async fn describe_rule(&self, by: &Principal, name: &str) -> Result<Rule> {
        self.acting(by)?;
        let out = self
            .eventbridge
            .describe_rule()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("DescribeRule", e))?;
        Ok(Rule {
            name: text(out.name()),
            arn: text(out.arn()),
            event_pattern: text(out.event_pattern()),
            state: state_from_sdk(out.state()),
            description: out.description().map(str::to_string),
            event_bus_name: out.event_bus_name().unwrap_or(DEFAULT_BUS).to_string(),
            created_by: text(out.created_by()),
        })
    }

    async fn test_event_pattern(&self, _: &Principal, pattern: &str, event: &str) -> Result<bool> {
        crate::service::events::test_event_pattern(pattern, event)
    }

    async fn list_rules(&self, by: &Principal, prefix: Option<&str>) -> Result<Vec<Rule>> {
        self.acting(by)?;
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .eventbridge
                .list_rules()
                .set_name_prefix(prefix.map(str::to_string))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_error("ListRules", e))?;
            for r in out.rules() {
                all.push(Rule {
                    name: text(r.name()),
                    arn: text(r.arn()),
                    event_pattern: text(r.event_pattern()),
                    state: state_from_sdk(r.state()),
                    description: r.description().map(str::to_string),
                    event_bus_name: r.event_bus_name().unwrap_or(DEFAULT_BUS).to_string(),
                    // ListRules does not say who created a rule: a service that manages it,
                    // else the account that owns the bus.
                    created_by: r.managed_by().unwrap_or(&self.identity.account).to_string(),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(all)
    }

    async fn set_rule_state(&self, by: &Principal, name: &str, state: RuleState) -> Result<()> {
        self.acting(by)?;
        match state {
            RuleState::Enabled => self
                .eventbridge
                .enable_rule()
                .name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error("EnableRule", e)),
            RuleState::Disabled => self
                .eventbridge
                .disable_rule()
                .name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error("DisableRule", e)),
        }
    }

    async fn delete_rule(&self, by: &Principal, name: &str) -> Result<()> {
        self.acting(by)?;
        self.eventbridge
            .delete_rule()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("DeleteRule", e))?;
        Ok(())
    }

    /// Targets AWS cannot have are answered as failed entries (as EventBridge answers its own
    /// refusals), and only the others are sent.
    async fn put_targets(
        &self,
        by: &Principal,
        rule: &str,
        targets: Vec<Target>,
    ) -> Result<Vec<FailedEntry>> {
        self.acting(by)?;
        if targets.is_empty() {
            return Err(ServiceError::new(
                Code::ValidationException,
                "put-targets needs at least one target",
            ));
        }
        let mut failed = Vec::new();
        let mut send = Vec::new();
        for t in &targets {
            match refused_on_aws(t) {
                Some(why) => failed.push(FailedEntry {
                    target_id: t.id.clone(),
                    error_code: "ValidationException".into(),
                    error_message: why,
                }),
                None => send.push(target_to_sdk(t)?),
            }
        }
        if send.is_empty() {
            return Ok(failed);
        }
        let out = self
            .eventbridge
            .put_targets()
            .rule(rule)
            .set_targets(Some(send))
            .send()
            .await
            .map_err(|e| aws_error("PutTargets", e))?;
        failed.extend(failed_from_sdk(
            out.failed_entries()
                .iter()
                .map(|f| (f.target_id(), f.error_code(), f.error_message())),
        ));
        Ok(failed)
    }

    async fn list_targets_by_rule(&self, by: &Principal, rule: &str) -> Result<Vec<Target>> {
        self.acting(by)?;
        self.all_targets(rule).await
    }

    async fn remove_targets(
        &self,
        by: &Principal,
        rule: &str,
        ids: &[String],
    ) -> Result<Vec<FailedEntry>> {
        self.acting(by)?;
        let out = self
            .eventbridge
            .remove_targets()
            .rule(rule)
            .set_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("RemoveTargets", e))?;
        Ok(failed_from_sdk(out.failed_entries().iter().map(|f| {
            (f.target_id(), f.error_code(), f.error_message())
        })))
    }

    /// On AWS the failed deliveries are messages in each target's SQS dead-letter queue, which
    /// lakectl does not read (no SQS SDK): the answer names the queues of the rule's targets,
    /// or says that a target without one drops what it cannot deliver.
    async fn list_failed_deliveries(
        &self,
        by: &Principal,
        rule: Option<&str>,
    ) -> Result<Vec<FailedDelivery>> {
        self.acting(by)?;
        let general = "on AWS, EventBridge keeps events it could not deliver in the SQS queue of each target's DeadLetterConfig; read them with `aws sqs receive-message --queue-url URL`";
        let Some(rule) = rule else {
            return Err(unsupported(
                "the failed-delivery list",
                &format!("{general}; pass --rule to see which queues a rule's targets use"),
            ));
        };
        let targets = self.all_targets(rule).await?;
        let queues: Vec<String> = targets
            .iter()
            .map(|t| match &t.dead_letter_config {
                Some(d) => format!("target {} → {}", t.id, d.arn),
                None => format!(
                    "target {} has no DeadLetterConfig (what it cannot deliver after its retries is dropped; add one with put-targets)",
                    t.id
                ),
            })
            .collect();
        let listed = if queues.is_empty() {
            format!("rule {rule} has no targets")
        } else {
            queues.join("; ")
        };
        Err(unsupported(
            "the failed-delivery list",
            &format!("{general}. {listed}"),
        ))
    }

    async fn list_deliveries(
        &self,
        by: &Principal,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<Delivery>> {
        self.acting(by)?;
        Err(unsupported(
            "the deliveries list",
            "EventBridge counts deliveries in CloudWatch: `aws cloudwatch get-metric-statistics --namespace AWS/Events --metric-name Invocations|FailedInvocations --dimensions Name=RuleName,Value=RULE ...`",
        ))
    }

    async fn replay_failed(&self, by: &Principal, _: &str, _: Option<&str>) -> Result<u64> {
        self.acting(by)?;
        Err(unsupported(
            "replaying failed deliveries",
            "send the messages of the target's dead-letter queue again with `aws events put-events`, or replay an archive with `aws events start-replay`",
        ))
    }

    async fn create_delivery_stream(
        &self,
        by: &Principal,
        _: &str,
        _: S3Destination,
    ) -> Result<String> {
        self.acting(by)?;
        Err(unsupported(
            "creating a Firehose delivery stream",
            MAKE_A_STREAM,
        ))
    }

    async fn describe_delivery_stream(&self, by: &Principal, _: &str) -> Result<DeliveryStream> {
        self.acting(by)?;
        Err(unsupported(
            "Firehose",
            "use `aws firehose describe-delivery-stream --delivery-stream-name NAME`",
        ))
    }

    async fn list_delivery_streams(&self, by: &Principal) -> Result<Vec<String>> {
        self.acting(by)?;
        Err(unsupported(
            "Firehose",
            "use `aws firehose list-delivery-streams`",
        ))
    }

    async fn delete_delivery_stream(&self, by: &Principal, _: &str) -> Result<()> {
        self.acting(by)?;
        Err(unsupported(
            "Firehose",
            "use `aws firehose delete-delivery-stream --delivery-stream-name NAME`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(arn: &str, role: Option<&str>) -> Target {
        Target {
            id: "t".into(),
            arn: arn.into(),
            input: None,
            retry_policy: None,
            role_arn: role.map(str::to_string),
            dead_letter_config: None,
        }
    }

    #[test]
    fn targets_aws_cannot_have_say_what_instead() {
        let job = refused_on_aws(&target("arn:aws:glue:eu-west-1:1:job/mask", Some("r")));
        assert!(job.is_some_and(|m| m.contains("workflow")));
        let macie = refused_on_aws(&target(
            "arn:aws:macie2:eu-west-1:1:classification-job/j",
            Some("r"),
        ));
        assert!(macie.is_some_and(|m| m.contains("lakectl extension")));
        let no_role = refused_on_aws(&target("arn:aws:glue:eu-west-1:1:workflow/w", None));
        assert!(no_role.is_some_and(|m| m.contains("RoleArn")));
        assert_eq!(
            refused_on_aws(&target("arn:aws:glue:eu-west-1:1:workflow/w", Some("r"))),
            None
        );
        assert_eq!(
            refused_on_aws(&target("arn:aws:lambda:eu-west-1:1:function:f", None)),
            None
        );
    }

    #[test]
    fn a_target_round_trips_through_the_sdk() {
        let t = Target {
            id: "w".into(),
            arn: "arn:aws:glue:eu-west-1:1:workflow/w".into(),
            input: Some(r#"{"a":1}"#.into()),
            retry_policy: Some(RetryPolicy {
                maximum_retry_attempts: 2,
            }),
            role_arn: Some("arn:aws:iam::1:role/events".into()),
            dead_letter_config: Some(DeadLetterConfig {
                arn: "arn:aws:sqs:eu-west-1:1:dlq".into(),
            }),
        };
        assert_eq!(target_from_sdk(&target_to_sdk(&t).unwrap()), t);
    }
}
