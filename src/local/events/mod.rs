//! EventBridge on the local lake: rules and targets (this file), the outbox the lake's changes
//! write their events to (outbox.rs) and the dispatcher that routes events to rules and delivers
//! them to targets (dispatch.rs), plus Firehose delivery streams, which exist here as targets.
//! Every call is authorized (`events:*` on the rule's ARN, `firehose:*` on the stream's) and
//! audited like any other.

mod dispatch;
mod outbox;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::authorizer::Call;
use super::{Lake, now, parse_ts, ts};
use crate::service::events::{
    Delivery, DeliveryStream, Events, FailedDelivery, FailedEntry, Pattern, Rule, RuleState,
    S3Destination, Target, TargetKind, check_name, test_event_pattern,
};
use crate::service::{Code, Principal, Result, ServiceError};

/// EventBridge's limit of targets per rule.
const MAX_TARGETS: usize = 5;

fn rule_not_found(name: &str) -> ServiceError {
    ServiceError::new(
        Code::ResourceNotFoundException,
        format!("Rule {name} does not exist on EventBus default."),
    )
}

/// The context a delivery's last error is sealed for.
fn error_context(event: &str, rule: &str, target: &str) -> String {
    format!("events:delivery={event}/{rule}/{target}")
}

impl Lake {
    fn rule_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:events:{}:{}:rule/{name}",
            self.header.region, self.header.account_id
        )
    }

    fn stream_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:firehose:{}:{}:deliverystream/{name}",
            self.header.region, self.header.account_id
        )
    }

    fn rule_call(&self, operation: &'static str, name: &str) -> Call {
        Call::new("events", operation, name).on(self.rule_arn(name))
    }

    fn rule(&self, tx: &Transaction, name: &str) -> Result<Rule> {
        tx.query_row(
            "SELECT pattern, state, description, created_by FROM event_rules WHERE name = ?1",
            params![name],
            |r| {
                Ok(Rule {
                    name: name.into(),
                    arn: self.rule_arn(name),
                    event_pattern: r.get(0)?,
                    state: if r.get::<_, String>(1)? == "ENABLED" {
                        RuleState::Enabled
                    } else {
                        RuleState::Disabled
                    },
                    description: r.get(2)?,
                    event_bus_name: crate::service::events::DEFAULT_BUS.into(),
                    created_by: r.get(3)?,
                })
            },
        )
        .optional()?
        .ok_or_else(|| rule_not_found(name))
    }

    fn targets(&self, tx: &Transaction, rule: &str) -> Result<Vec<Target>> {
        Ok(tx
            .prepare(
                "SELECT id, arn, input, max_retries FROM event_targets WHERE rule = ?1 ORDER BY id",
            )?
            .query_map(params![rule], |r| {
                Ok(Target {
                    id: r.get(0)?,
                    arn: r.get(1)?,
                    input: r.get(2)?,
                    retry_policy: Some(crate::service::events::RetryPolicy {
                        maximum_retry_attempts: r.get(3)?,
                    }),
                    role_arn: None,
                    dead_letter_config: None,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn stream_destination(&self, tx: &Transaction, name: &str) -> Result<S3Destination> {
        let text: String = tx
            .query_row(
                "SELECT destination FROM delivery_streams WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| {
                ServiceError::new(
                    Code::ResourceNotFoundException,
                    format!("Delivery stream {name} not found."),
                )
            })?;
        serde_json::from_str(&text).map_err(|e| ServiceError::internal(e.to_string()))
    }
}

#[async_trait]
impl Events for Lake {
    async fn put_rule(
        &self,
        by: &Principal,
        name: &str,
        pattern: &str,
        state: RuleState,
        description: Option<String>,
    ) -> Result<String> {
        check_name("rule name", name)?;
        Pattern::parse(pattern)?;
        self.audited(by, self.rule_call("PutRule", name), |tx, _| {
            tx.execute(
                "INSERT INTO event_rules(name, pattern, state, description, created_by, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(name) DO UPDATE SET pattern = excluded.pattern, state = excluded.state,
                   description = excluded.description",
                params![
                    name,
                    pattern,
                    state.as_str(),
                    description,
                    by.name(),
                    ts(now())
                ],
            )?;
            Ok((self.rule_arn(name), json!({"State": state.as_str()})))
        })
    }

    async fn describe_rule(&self, by: &Principal, name: &str) -> Result<Rule> {
        self.reading(by, self.rule_call("DescribeRule", name), |tx, _| {
            self.rule(tx, name)
        })
    }

    async fn test_event_pattern(&self, by: &Principal, pattern: &str, event: &str) -> Result<bool> {
        self.reading(by, Call::new("events", "TestEventPattern", "*"), |_, _| {
            test_event_pattern(pattern, event)
        })
    }

    async fn list_rules(&self, by: &Principal, prefix: Option<&str>) -> Result<Vec<Rule>> {
        let call = Call::new("events", "ListRules", prefix.unwrap_or("*"));
        self.reading(by, call, |tx, _| {
            let names: Vec<String> = tx
                .prepare("SELECT name FROM event_rules WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name")?
                .query_map(params![prefix.unwrap_or("")], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            names.iter().map(|n| self.rule(tx, n)).collect()
        })
    }

    async fn set_rule_state(&self, by: &Principal, name: &str, state: RuleState) -> Result<()> {
        let operation = match state {
            RuleState::Enabled => "EnableRule",
            RuleState::Disabled => "DisableRule",
        };
        self.audited(by, self.rule_call(operation, name), |tx, _| {
            let changed = tx.execute(
                "UPDATE event_rules SET state = ?2 WHERE name = ?1",
                params![name, state.as_str()],
            )?;
            if changed == 0 {
                return Err(rule_not_found(name));
            }
            Ok(((), json!({})))
        })
    }

    async fn delete_rule(&self, by: &Principal, name: &str) -> Result<()> {
        self.audited(by, self.rule_call("DeleteRule", name), |tx, _| {
            self.rule(tx, name)?;
            if !self.targets(tx, name)?.is_empty() {
                return Err(ServiceError::new(
                    Code::ValidationException,
                    "Rule can't be deleted since it has targets.",
                ));
            }
            tx.execute("DELETE FROM event_rules WHERE name = ?1", params![name])?;
            Ok(((), json!({})))
        })
    }

    async fn put_targets(
        &self,
        by: &Principal,
        rule: &str,
        targets: Vec<Target>,
    ) -> Result<Vec<FailedEntry>> {
        if targets.is_empty() {
            return Err(ServiceError::new(
                Code::ValidationException,
                "put-targets needs at least one target",
            ));
        }
        self.audited(by, self.rule_call("PutTargets", rule), |tx, _| {
            self.rule(tx, rule)?;
            let mut failed = Vec::new();
            for t in &targets {
                let checked = check_name("target id", &t.id)
                    .and_then(|()| TargetKind::parse(&t.arn))
                    .and_then(|_| match &t.dead_letter_config {
                        Some(_) => Err(ServiceError::new(
                            Code::ValidationException,
                            "DeadLetterConfig is EventBridge's on AWS; the local lake keeps deliveries that failed in its failed list (events list-failed-deliveries, replay-failed-deliveries)",
                        )),
                        None => Ok(()),
                    })
                    .and_then(|()| match &t.input {
                        Some(input) => serde_json::from_str::<serde_json::Value>(input)
                            .map(|_| ())
                            .map_err(|e| {
                                ServiceError::new(
                                    Code::ValidationException,
                                    format!("Input is not valid JSON: {e}"),
                                )
                            }),
                        None => Ok(()),
                    });
                if let Err(e) = checked {
                    failed.push(FailedEntry {
                        target_id: t.id.clone(),
                        error_code: e.code.as_str().into(),
                        error_message: e.message,
                    });
                    continue;
                }
                let retries = t.retry_policy.unwrap_or_default().maximum_retry_attempts;
                tx.execute(
                    "INSERT INTO event_targets(rule, id, arn, input, max_retries, principal)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(rule, id) DO UPDATE SET arn = excluded.arn, input = excluded.input,
                       max_retries = excluded.max_retries, principal = excluded.principal",
                    params![rule, t.id, t.arn, t.input, retries.min(185), by.name()],
                )?;
            }
            if self.targets(tx, rule)?.len() > MAX_TARGETS {
                return Err(ServiceError::new(
                    Code::LimitExceeded,
                    format!("a rule has at most {MAX_TARGETS} targets"),
                ));
            }
            let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
            Ok((failed, json!({"Targets": ids})))
        })
    }

    async fn list_targets_by_rule(&self, by: &Principal, rule: &str) -> Result<Vec<Target>> {
        self.reading(by, self.rule_call("ListTargetsByRule", rule), |tx, _| {
            self.rule(tx, rule)?;
            self.targets(tx, rule)
        })
    }

    async fn remove_targets(
        &self,
        by: &Principal,
        rule: &str,
        ids: &[String],
    ) -> Result<Vec<FailedEntry>> {
        self.audited(by, self.rule_call("RemoveTargets", rule), |tx, _| {
            self.rule(tx, rule)?;
            let mut failed = Vec::new();
            for id in ids {
                let removed = tx.execute(
                    "DELETE FROM event_targets WHERE rule = ?1 AND id = ?2",
                    params![rule, id],
                )?;
                if removed == 0 {
                    failed.push(FailedEntry {
                        target_id: id.clone(),
                        error_code: Code::ResourceNotFoundException.as_str().into(),
                        error_message: format!("Target {id} is not a target of rule {rule}."),
                    });
                }
            }
            Ok((failed, json!({"Ids": ids})))
        })
    }

    async fn list_failed_deliveries(
        &self,
        by: &Principal,
        rule: Option<&str>,
    ) -> Result<Vec<FailedDelivery>> {
        let call = match rule {
            Some(r) => self.rule_call("ListFailedDeliveries", r),
            None => Call::new("events", "ListFailedDeliveries", "*"),
        };
        // event, rule, target, attempts, sealed error, when, source, detail-type
        type Row = (
            String,
            String,
            String,
            u32,
            Option<String>,
            String,
            String,
            String,
        );
        self.reading(by, call, |tx, _| {
            let rows: Vec<Row> = tx
                .prepare(
                    "SELECT d.event_id, d.rule, d.target_id, d.attempts, d.last_error, d.updated, e.source, e.detail_type
                     FROM event_deliveries d JOIN events e ON e.id = d.event_id
                     WHERE d.state = 'FAILED' AND (?1 IS NULL OR d.rule = ?1) ORDER BY d.updated",
                )?
                .query_map(params![rule], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::new();
            for (event_id, rule, target_id, attempts, error, updated, source, detail_type) in rows {
                let target_arn: Option<String> = tx
                    .query_row(
                        "SELECT arn FROM event_targets WHERE rule = ?1 AND id = ?2",
                        params![rule, target_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                let last_error = error
                    .map(|e| self.open_text(&error_context(&event_id, &rule, &target_id), &e))
                    .unwrap_or_default();
                out.push(FailedDelivery {
                    event_id,
                    rule,
                    target_id,
                    target_arn: target_arn.unwrap_or_else(|| "(removed)".into()),
                    attempts,
                    last_error,
                    failed_at: parse_ts(&updated),
                    detail_type,
                    source,
                });
            }
            Ok(out)
        })
    }

    async fn list_deliveries(
        &self,
        by: &Principal,
        rule: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        let call = match rule {
            Some(r) => self.rule_call("ListDeliveries", r),
            None => Call::new("events", "ListDeliveries", "*"),
        };
        self.reading(by, call, |tx, _| {
            Ok(tx
                .prepare(
                    "SELECT event_id, rule, target_id, state, attempts, result, updated FROM event_deliveries
                     WHERE (?1 IS NULL OR rule = ?1) ORDER BY updated DESC LIMIT ?2",
                )?
                .query_map(params![rule, limit as i64], |r| {
                    Ok(Delivery {
                        event_id: r.get(0)?,
                        rule: r.get(1)?,
                        target_id: r.get(2)?,
                        state: r.get(3)?,
                        attempts: r.get(4)?,
                        result: r.get(5)?,
                        updated: parse_ts(&r.get::<_, String>(6)?),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn replay_failed(
        &self,
        by: &Principal,
        rule: &str,
        event_id: Option<&str>,
    ) -> Result<u64> {
        let n = self.audited(
            by,
            self.rule_call("ReplayFailedDeliveries", rule),
            |tx, _| {
                self.rule(tx, rule)?;
                let n = tx.execute(
                "UPDATE event_deliveries SET state = 'PENDING', attempts = 0, next_attempt = ?3,
                   lease_owner = NULL, lease_until = NULL, updated = ?3
                 WHERE rule = ?1 AND state = 'FAILED' AND (?2 IS NULL OR event_id = ?2)",
                params![rule, event_id, ts(now())],
            )?;
                if n == 0
                    && let Some(id) = event_id
                {
                    return Err(ServiceError::new(
                        Code::ResourceNotFoundException,
                        format!("no failed delivery of event {id} for rule {rule}"),
                    ));
                }
                Ok((n as u64, json!({"Replayed": n, "EventId": event_id})))
            },
        )?;
        if n > 0 {
            self.events_emitted
                .store(true, std::sync::atomic::Ordering::Release);
            self.events_notify.notify_one();
        }
        Ok(n)
    }

    async fn deliver_emitted(&self) {
        if self
            .events_emitted
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            let lake = self.arc();
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = lake.dispatch_due() {
                    tracing::warn!("delivering events: {e}");
                }
            })
            .await;
        }
    }

    async fn create_delivery_stream(
        &self,
        by: &Principal,
        name: &str,
        destination: S3Destination,
    ) -> Result<String> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(ServiceError::new(
                Code::InvalidArgumentException,
                format!(
                    "delivery stream name {name:?} must be 1 to 64 letters, digits, '.', '-' or '_'"
                ),
            ));
        }
        let bucket = destination.bucket()?.to_string();
        let arn = self.stream_arn(name);
        let call = Call::new("firehose", "CreateDeliveryStream", name).on(&arn);
        self.audited(by, call, |tx, _| {
            self.bucket_row_exists(tx, &bucket)?;
            if let Some(key) = &destination.kms_key_arn {
                self.resolve_key(tx, key)?;
            }
            let inserted = tx.execute(
                "INSERT INTO delivery_streams(name, destination, created) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![name, serde_json::to_string(&destination).expect("JSON"), ts(now())],
            )?;
            if inserted == 0 {
                return Err(ServiceError::new(
                    Code::ResourceInUseException,
                    format!("Delivery stream {name} already exists."),
                ));
            }
            Ok((arn.clone(), json!({"Bucket": bucket})))
        })
    }

    async fn describe_delivery_stream(&self, by: &Principal, name: &str) -> Result<DeliveryStream> {
        let arn = self.stream_arn(name);
        let call = Call::new("firehose", "DescribeDeliveryStream", name).on(&arn);
        self.reading(by, call, |tx, _| {
            let destination = self.stream_destination(tx, name)?;
            let created: String = tx.query_row(
                "SELECT created FROM delivery_streams WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )?;
            Ok(DeliveryStream {
                delivery_stream_name: name.into(),
                delivery_stream_arn: arn.clone(),
                delivery_stream_status: "ACTIVE".into(),
                delivery_stream_type: "DirectPut".into(),
                create_timestamp: parse_ts(&created),
                destination,
            })
        })
    }

    async fn list_delivery_streams(&self, by: &Principal) -> Result<Vec<String>> {
        let call = Call::new("firehose", "ListDeliveryStreams", "*");
        self.reading(by, call, |tx, _| {
            Ok(tx
                .prepare("SELECT name FROM delivery_streams ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn delete_delivery_stream(&self, by: &Principal, name: &str) -> Result<()> {
        let call = Call::new("firehose", "DeleteDeliveryStream", name).on(self.stream_arn(name));
        self.audited(by, call, |tx, _| {
            self.stream_destination(tx, name)?;
            tx.execute(
                "DELETE FROM delivery_streams WHERE name = ?1",
                params![name],
            )?;
            Ok(((), json!({})))
        })
    }
}
