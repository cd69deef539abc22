//! `events` (EventBridge rules and targets on the lake's default bus) and `firehose` (delivery
//! streams to S3, which exist here as targets), in the AWS CLI's names and JSON shapes. The
//! failed-delivery list, its replay and the deliveries list are lakectl extensions.

use clap::Subcommand;
use serde_json::{Value, json};

use super::Context;
use super::s3::read_document;
use crate::service::events::{RetryPolicy, RuleState, S3Destination, Target};
use crate::service::{Code, Result, ServiceError};

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Create or replace a rule on the lake's event bus. The lake emits aws.s3 Object Created /
    /// Object Deleted, aws.glue Glue Job State Change / Glue Crawler State Change, aws.macie
    /// Macie Finding and Macie Classification Job State Change (the last is lakectl's)
    PutRule {
        #[arg(long)]
        name: String,
        /// The pattern (EventBridge's language), or file://PATH
        #[arg(long)]
        event_pattern: String,
        #[arg(long, default_value = "ENABLED", value_parser = ["ENABLED", "DISABLED"])]
        state: String,
        #[arg(long)]
        description: Option<String>,
    },
    DescribeRule {
        #[arg(long)]
        name: String,
    },
    ListRules {
        #[arg(long)]
        name_prefix: Option<String>,
    },
    EnableRule {
        #[arg(long)]
        name: String,
    },
    DisableRule {
        #[arg(long)]
        name: String,
    },
    /// Delete a rule (remove its targets first)
    DeleteRule {
        #[arg(long)]
        name: String,
    },
    /// Add or replace targets: `Id=ID,Arn=ARN[,RoleArn=ROLE][,Input=JSON]` (Input last) or the
    /// JSON list, or file://PATH. Targets: a Glue workflow (arn:aws:glue:REGION:ACCOUNT:
    /// workflow/NAME) starts a run; a Firehose delivery stream (arn:aws:firehose:…:
    /// deliverystream/NAME) batches events into encrypted objects. On the local lake also a Glue
    /// job (…:job/NAME) starts a run, a crawler (…:crawler/NAME) crawls and a classification job
    /// (arn:aws:macie2:…:classification-job/ID) runs again as a new one-time job (lakectl
    /// extensions: EventBridge on AWS starts Glue workflows only, so put the job or crawler in a
    /// workflow with an EVENT trigger; Macie jobs are not EventBridge targets). On the local lake
    /// each target acts as the principal who put it and RoleArn is not used; on AWS EventBridge
    /// acts as the target's RoleArn (or --role-arn), which a workflow or stream target needs.
    /// JSON targets may carry RetryPolicy.MaximumRetryAttempts (default 4), and on AWS
    /// DeadLetterConfig.Arn (an SQS queue that keeps what could not be delivered). On AWS lakectl
    /// does not create delivery streams or Lambda functions: make them with `aws firehose
    /// create-delivery-stream` / `aws lambda create-function` and target their ARNs here
    PutTargets {
        #[arg(long)]
        rule: String,
        #[arg(long, num_args = 1.., required = true)]
        targets: Vec<String>,
        /// The role EventBridge assumes for targets that name none (on AWS; the local lake's
        /// targets act as the principal who put them)
        #[arg(long)]
        role_arn: Option<String>,
    },
    ListTargetsByRule {
        #[arg(long)]
        rule: String,
    },
    RemoveTargets {
        #[arg(long)]
        rule: String,
        #[arg(long, num_args = 1.., required = true)]
        ids: Vec<String>,
    },
    /// Whether an event (JSON, or file://PATH) matches a pattern
    TestEventPattern {
        #[arg(long)]
        event_pattern: String,
        #[arg(long)]
        event: String,
    },
    /// Deliveries that failed after their retries, with why (a lakectl extension: on AWS,
    /// EventBridge keeps these in the SQS queue of each target's DeadLetterConfig, which this
    /// names; read it with `aws sqs receive-message`)
    ListFailedDeliveries {
        #[arg(long)]
        rule: Option<String>,
    },
    /// Deliver a rule's failed deliveries again (all, or one event's) (a lakectl extension)
    ReplayFailedDeliveries {
        #[arg(long)]
        rule: String,
        #[arg(long)]
        event_id: Option<String>,
    },
    /// Recent deliveries, whatever their state (a lakectl extension)
    ListDeliveries {
        #[arg(long)]
        rule: Option<String>,
        #[arg(long, default_value_t = 50)]
        max_results: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum FirehoseCommand {
    /// A delivery stream to S3: `BucketARN=arn:aws:s3:::BUCKET[,Prefix=PREFIX]` or Firehose's
    /// JSON (EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN names the key; RoleARN is
    /// accepted and unused: the stream writes as the principal who made it a rule's target).
    /// The local lake's: on --backend aws lakectl does not manage Firehose; create the stream
    /// with `aws firehose create-delivery-stream --delivery-stream-name N
    /// --extended-s3-destination-configuration RoleARN=ROLE,BucketARN=arn:aws:s3:::BUCKET,...`
    /// and name its ARN in `events put-targets` with a RoleArn EventBridge may put records as
    CreateDeliveryStream {
        #[arg(long)]
        delivery_stream_name: String,
        #[arg(long)]
        s3_destination_configuration: String,
    },
    DescribeDeliveryStream {
        #[arg(long)]
        delivery_stream_name: String,
    },
    ListDeliveryStreams,
    DeleteDeliveryStream {
        #[arg(long)]
        delivery_stream_name: String,
    },
}

impl EventsCommand {
    pub fn changes_anything(&self) -> bool {
        !matches!(
            self,
            EventsCommand::DescribeRule { .. }
                | EventsCommand::ListRules { .. }
                | EventsCommand::ListTargetsByRule { .. }
                | EventsCommand::TestEventPattern { .. }
                | EventsCommand::ListFailedDeliveries { .. }
                | EventsCommand::ListDeliveries { .. }
        )
    }
}

impl FirehoseCommand {
    pub fn changes_anything(&self) -> bool {
        matches!(
            self,
            FirehoseCommand::CreateDeliveryStream { .. }
                | FirehoseCommand::DeleteDeliveryStream { .. }
        )
    }
}

fn param(message: impl Into<String>) -> ServiceError {
    ServiceError::new(Code::ParamValidation, message)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| ServiceError::internal(e.to_string()))
}

/// `KEY=VALUE,...` pairs; a key in `rest_keys` takes the rest of the text (JSON has commas).
fn shorthand(text: &str, rest_keys: &[&str]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once('=')
            .ok_or_else(|| param(format!("expected KEY=VALUE in {text:?}")))?;
        if rest_keys.contains(&key) {
            out.push((key.to_string(), after.to_string()));
            break;
        }
        let (value, next) = after.split_once(',').unwrap_or((after, ""));
        out.push((key.to_string(), value.to_string()));
        rest = next;
    }
    Ok(out)
}

/// `--targets`: shorthand items or one JSON list.
fn parse_targets(items: &[String]) -> Result<Vec<Target>> {
    if let [one] = items {
        let text = read_document(one)?;
        if text.trim_start().starts_with('[') {
            return serde_json::from_str(&text)
                .map_err(|e| param(format!("--targets is not a list of targets: {e}")));
        }
    }
    items
        .iter()
        .map(|item| {
            let (mut id, mut arn, mut input, mut retry, mut role) = (None, None, None, None, None);
            for (k, v) in shorthand(item, &["Input"])? {
                match k.as_str() {
                    "Id" => id = Some(v),
                    "Arn" => arn = Some(v),
                    "Input" => input = Some(v),
                    "RoleArn" => role = Some(v),
                    "MaximumRetryAttempts" => {
                        retry = Some(RetryPolicy {
                            maximum_retry_attempts: v.parse().map_err(|_| {
                                param(format!("MaximumRetryAttempts {v:?} is not a number"))
                            })?,
                        })
                    }
                    other => {
                        return Err(param(format!(
                            "unknown target key {other:?}: Id, Arn, RoleArn, MaximumRetryAttempts, Input (DeadLetterConfig in the JSON form)"
                        )));
                    }
                }
            }
            Ok(Target {
                id: id.ok_or_else(|| param(format!("target {item:?} has no Id")))?,
                arn: arn.ok_or_else(|| param(format!("target {item:?} has no Arn")))?,
                input,
                retry_policy: retry,
                role_arn: role,
                dead_letter_config: None,
            })
        })
        .collect()
}

/// `--s3-destination-configuration`: shorthand or Firehose's JSON.
fn parse_destination(text: &str) -> Result<S3Destination> {
    let text = read_document(text)?;
    if text.trim_start().starts_with('{') {
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| param(format!("--s3-destination-configuration is not JSON: {e}")))?;
        let bucket_arn = v["BucketARN"]
            .as_str()
            .ok_or_else(|| param("--s3-destination-configuration needs BucketARN"))?;
        return Ok(S3Destination {
            bucket_arn: bucket_arn.into(),
            prefix: v["Prefix"].as_str().map(String::from),
            kms_key_arn: v["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"]
                .as_str()
                .map(String::from),
        });
    }
    let mut dest = S3Destination {
        bucket_arn: String::new(),
        prefix: None,
        kms_key_arn: None,
    };
    for (k, v) in shorthand(&text, &[])? {
        match k.as_str() {
            "BucketARN" => dest.bucket_arn = v,
            "Prefix" => dest.prefix = Some(v),
            "RoleARN" => {}
            other => {
                return Err(param(format!(
                    "unknown key {other:?}: BucketARN, Prefix, RoleARN (or the JSON form)"
                )));
            }
        }
    }
    if dest.bucket_arn.is_empty() {
        return Err(param("--s3-destination-configuration needs BucketARN"));
    }
    Ok(dest)
}

fn failed(entries: Vec<crate::service::events::FailedEntry>) -> Result<Value> {
    Ok(json!({"FailedEntryCount": entries.len(), "FailedEntries": to_json(&entries)?}))
}

impl Context<'_> {
    pub(super) async fn events(&self, cmd: EventsCommand) -> Result<Value> {
        let events = &self.services.events;
        let by = self.principal;
        Ok(match cmd {
            EventsCommand::PutRule {
                name,
                event_pattern,
                state,
                description,
            } => {
                let pattern = read_document(&event_pattern)?;
                let arn = events
                    .put_rule(by, &name, &pattern, RuleState::parse(&state)?, description)
                    .await?;
                json!({"RuleArn": arn})
            }
            EventsCommand::DescribeRule { name } => {
                to_json(&events.describe_rule(by, &name).await?)?
            }
            EventsCommand::ListRules { name_prefix } => {
                json!({"Rules": to_json(&events.list_rules(by, name_prefix.as_deref()).await?)?})
            }
            EventsCommand::EnableRule { name } => {
                events.set_rule_state(by, &name, RuleState::Enabled).await?;
                json!({})
            }
            EventsCommand::DisableRule { name } => {
                events
                    .set_rule_state(by, &name, RuleState::Disabled)
                    .await?;
                json!({})
            }
            EventsCommand::DeleteRule { name } => {
                events.delete_rule(by, &name).await?;
                json!({})
            }
            EventsCommand::PutTargets {
                rule,
                targets,
                role_arn,
            } => {
                let mut targets = parse_targets(&targets)?;
                for t in &mut targets {
                    if t.role_arn.is_none() {
                        t.role_arn = role_arn.clone();
                    }
                }
                failed(events.put_targets(by, &rule, targets).await?)?
            }
            EventsCommand::ListTargetsByRule { rule } => {
                json!({"Targets": to_json(&events.list_targets_by_rule(by, &rule).await?)?})
            }
            EventsCommand::RemoveTargets { rule, ids } => {
                failed(events.remove_targets(by, &rule, &ids).await?)?
            }
            EventsCommand::TestEventPattern {
                event_pattern,
                event,
            } => {
                let result = events
                    .test_event_pattern(
                        by,
                        &read_document(&event_pattern)?,
                        &read_document(&event)?,
                    )
                    .await?;
                json!({"Result": result})
            }
            EventsCommand::ListFailedDeliveries { rule } => {
                json!({"FailedDeliveries": to_json(&events.list_failed_deliveries(by, rule.as_deref()).await?)?})
            }
            EventsCommand::ReplayFailedDeliveries { rule, event_id } => {
                json!({"Replayed": events.replay_failed(by, &rule, event_id.as_deref()).await?})
            }
            EventsCommand::ListDeliveries { rule, max_results } => {
                json!({"Deliveries": to_json(&events.list_deliveries(by, rule.as_deref(), max_results).await?)?})
            }
        })
    }

    pub(super) async fn firehose(&self, cmd: FirehoseCommand) -> Result<Value> {
        let events = &self.services.events;
        let by = self.principal;
        Ok(match cmd {
            FirehoseCommand::CreateDeliveryStream {
                delivery_stream_name,
                s3_destination_configuration,
            } => {
                let dest = parse_destination(&s3_destination_configuration)?;
                let arn = events
                    .create_delivery_stream(by, &delivery_stream_name, dest)
                    .await?;
                json!({"DeliveryStreamARN": arn})
            }
            FirehoseCommand::DescribeDeliveryStream {
                delivery_stream_name,
            } => {
                let d = events
                    .describe_delivery_stream(by, &delivery_stream_name)
                    .await?;
                json!({"DeliveryStreamDescription": {
                    "DeliveryStreamName": d.delivery_stream_name,
                    "DeliveryStreamARN": d.delivery_stream_arn,
                    "DeliveryStreamStatus": d.delivery_stream_status,
                    "DeliveryStreamType": d.delivery_stream_type,
                    "CreateTimestamp": d.create_timestamp,
                    "Destinations": [{"DestinationId": "destinationId-000000000001", "S3DestinationDescription": {
                        "BucketARN": d.destination.bucket_arn,
                        "Prefix": d.destination.prefix,
                        "EncryptionConfiguration": match &d.destination.kms_key_arn {
                            Some(k) => json!({"KMSEncryptionConfig": {"AWSKMSKeyARN": k}}),
                            None => json!({"NoEncryptionConfig": "NoEncryption", "Note": "sealed under the bucket's default key"}),
                        },
                    }}],
                    "HasMoreDestinations": false,
                }})
            }
            FirehoseCommand::ListDeliveryStreams => {
                json!({"DeliveryStreamNames": events.list_delivery_streams(by).await?, "HasMoreDeliveryStreams": false})
            }
            FirehoseCommand::DeleteDeliveryStream {
                delivery_stream_name,
            } => {
                events
                    .delete_delivery_stream(by, &delivery_stream_name)
                    .await?;
                json!({})
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_shorthand_and_json() {
        let t = parse_targets(&[
            "Id=a,Arn=arn:aws:glue:local:1:crawler/raw".into(),
            r#"Id=b,Arn=arn:aws:glue:local:1:job/j,MaximumRetryAttempts=0,Input={"x":1,"y":2}"#
                .into(),
        ])
        .unwrap();
        assert_eq!(t[0].arn, "arn:aws:glue:local:1:crawler/raw");
        assert_eq!(t[1].input.as_deref(), Some(r#"{"x":1,"y":2}"#));
        assert_eq!(t[1].retry_policy.unwrap().maximum_retry_attempts, 0);
        let t = parse_targets(&[r#"[{"Id":"a","Arn":"arn:aws:glue:local:1:job/j","RetryPolicy":{"MaximumRetryAttempts":1}}]"#.into()]).unwrap();
        assert_eq!(t[0].retry_policy.unwrap().maximum_retry_attempts, 1);
        assert!(parse_targets(&["Arn=x".into()]).is_err());
        let t = parse_targets(&[
            "Id=w,Arn=arn:aws:glue:eu-west-1:1:workflow/w,RoleArn=arn:aws:iam::1:role/events"
                .into(),
        ])
        .unwrap();
        assert_eq!(t[0].role_arn.as_deref(), Some("arn:aws:iam::1:role/events"));
        let t = parse_targets(&[r#"[{"Id":"w","Arn":"arn:aws:glue:eu-west-1:1:workflow/w","DeadLetterConfig":{"Arn":"arn:aws:sqs:eu-west-1:1:dlq"}}]"#.into()]).unwrap();
        assert_eq!(
            t[0].dead_letter_config.as_ref().map(|d| d.arn.as_str()),
            Some("arn:aws:sqs:eu-west-1:1:dlq")
        );
    }

    #[test]
    fn destination_shorthand_and_json() {
        let d = parse_destination("BucketARN=arn:aws:s3:::findings,Prefix=macie/").unwrap();
        assert_eq!(
            (d.bucket().unwrap(), d.prefix.as_deref()),
            ("findings", Some("macie/"))
        );
        let d = parse_destination(r#"{"BucketARN":"arn:aws:s3:::f","EncryptionConfiguration":{"KMSEncryptionConfig":{"AWSKMSKeyARN":"alias/k"}}}"#).unwrap();
        assert_eq!(d.kms_key_arn.as_deref(), Some("alias/k"));
        assert!(parse_destination("Prefix=x").is_err());
    }
}
