//! Event rules in the Runs pane: a row per rule with its latest delivery and its counts, and
//! `enter`'s view of the rule's recent deliveries beside its failed ones (the dead-letter
//! list, with each failure's reason), where `R` delivers one failed delivery again.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{RunKind, RunRow};
use crate::service::events::{Delivery, FailedDelivery, Rule, RuleState};
use crate::service::jobs::RunState;
use crate::service::{Code, Principal, Result, Services};
use crate::tui::app::{App, ListView};
use crate::tui::theme;
use crate::tui::view::{empty, pane_block, table, when};

/// How many recent deliveries a rule's row counts and its view lists.
const RECENT: usize = 50;

pub(super) async fn rule_rows(s: &Services, by: &Principal) -> Vec<RunRow> {
    let Ok(rules) = s.events.list_rules(by, None).await else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for rule in rules {
        rows.push(rule_row(s, by, rule).await);
    }
    rows
}

async fn rule_row(s: &Services, by: &Principal, rule: Rule) -> RunRow {
    // On AWS EventBridge keeps no delivery list (CloudWatch counts them, a target's SQS queue
    // keeps its failures): the row says so instead of showing counts of nothing.
    let recent = match s.events.list_deliveries(by, Some(&rule.name), RECENT).await {
        Ok(recent) => Some(recent),
        Err(e) if e.code == Code::UnsupportedOperationException => None,
        Err(_) => Some(Vec::new()),
    };
    let failed = s
        .events
        .list_failed_deliveries(by, Some(&rule.name))
        .await
        .unwrap_or_default();
    let targets = s
        .events
        .list_targets_by_rule(by, &rule.name)
        .await
        .map(|ts| ts.into_iter().map(|t| t.arn).collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    let disabled = if rule.state == RuleState::Disabled {
        " · disabled"
    } else {
        ""
    };
    let mut row = RunRow::new(RunKind::Rule, rule.name);
    row.route = format!("{} → {targets}", rule.event_pattern);
    let Some(recent) = recent else {
        row.counts = format!(
            "deliveries in CloudWatch, failures in the targets' dead-letter queues{disabled}"
        );
        return row;
    };
    let count = |state: &str| recent.iter().filter(|d| d.state == state).count();
    let latest = recent.first();
    row.state = latest.map(|d| match d.state.as_str() {
        "DELIVERED" => RunState::Succeeded,
        "PENDING" => RunState::Running,
        _ => RunState::Failed,
    });
    row.started = latest.map(|d| d.updated);
    row.run_id = latest.and_then(|d| d.result.clone());
    row.counts = format!(
        "{} delivered · {} pending · {} failed{disabled}",
        count("DELIVERED"),
        count("PENDING"),
        failed.len(),
    );
    row.error = failed.last().map(|f| f.last_error.clone());
    row
}

/// One delivery of an event to a target, with the failure's reason when it failed.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub delivery: Delivery,
    /// The dead-letter entry, for a delivery that failed after its retries.
    pub failure: Option<FailedDelivery>,
}

impl DeliveryRow {
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }
}

/// A rule's deliveries as the Runs pane shows them after `enter` on the rule.
pub struct DeliveriesView {
    pub rule: String,
    pub list: ListView<DeliveryRow>,
    /// Why they cannot be read, when the principal may not.
    pub error: Option<String>,
}

impl DeliveriesView {
    pub fn new(rule: String) -> DeliveriesView {
        DeliveriesView {
            rule,
            list: ListView::new(|d: &DeliveryRow| {
                format!(
                    "{} {} {}",
                    d.delivery.event_id, d.delivery.target_id, d.delivery.state
                )
            }),
            error: None,
        }
    }

    pub fn set(&mut self, result: Result<Vec<DeliveryRow>>) {
        match result {
            Ok(rows) => {
                self.error = None;
                self.list.set(rows);
            }
            Err(e) => {
                self.list.set(Vec::new());
                self.error = Some(format!("{}: {}", e.code_name(), e.message));
            }
        }
    }

    /// Some delivery is still being tried: the view is read again.
    pub fn live(&self) -> bool {
        self.list
            .items
            .iter()
            .any(|d| d.delivery.state == "PENDING")
    }
}

/// The rule's recent deliveries, each failed one with its dead-letter entry, and the failed
/// ones older than the recent window after them: a failure is never out of sight.
pub(crate) async fn load_deliveries(
    s: &Services,
    by: &Principal,
    rule: &str,
) -> Result<Vec<DeliveryRow>> {
    let recent = s.events.list_deliveries(by, Some(rule), RECENT).await?;
    let mut failed = s.events.list_failed_deliveries(by, Some(rule)).await?;
    let mut rows = Vec::new();
    for delivery in recent {
        let at = failed
            .iter()
            .position(|f| f.event_id == delivery.event_id && f.target_id == delivery.target_id);
        let failure = at.map(|i| failed.remove(i));
        rows.push(DeliveryRow { delivery, failure });
    }
    for f in failed {
        rows.push(DeliveryRow {
            delivery: Delivery {
                event_id: f.event_id.clone(),
                rule: f.rule.clone(),
                target_id: f.target_id.clone(),
                state: "FAILED".into(),
                attempts: f.attempts,
                result: None,
                updated: f.failed_at,
            },
            failure: Some(f),
        });
    }
    Ok(rows)
}

pub(super) fn render(app: &mut App, f: &mut Frame, area: Rect) {
    let filter = app.current_filter().map(str::to_string);
    let Some(view) = app.deliveries.as_mut() else {
        return;
    };
    let failed = view.list.items.iter().filter(|d| d.failed()).count();
    let block = pane_block(
        format!(
            " Rule {}: recent deliveries ({}, {failed} failed) · esc: back ",
            view.rule,
            view.list.items.len()
        ),
        filter.as_deref(),
    );
    if let Some(why) = &view.error {
        return empty(f, area, block, why);
    }
    if view.list.items.is_empty() {
        return empty(
            f,
            area,
            block,
            "No event has matched this rule yet (or its deliveries were before the recent ones kept).",
        );
    }
    let rows: Vec<Vec<Line>> = view
        .list
        .visible()
        .into_iter()
        .map(|d| {
            let color = match d.delivery.state.as_str() {
                "DELIVERED" => theme::ok(),
                "PENDING" => theme::warn(),
                _ => theme::bad(),
            };
            let what = match &d.failure {
                Some(f) => format!("{} ({} from {})", f.last_error, f.detail_type, f.source),
                None => d.delivery.result.clone().unwrap_or_default(),
            };
            vec![
                Line::from(Span::styled(
                    d.delivery.state.clone(),
                    Style::new().fg(color),
                )),
                Line::from(d.delivery.event_id.clone()),
                Line::from(d.delivery.target_id.clone()),
                Line::from(d.delivery.attempts.to_string()).right_aligned(),
                Line::from(when(d.delivery.updated)),
                Line::from(what),
            ]
        })
        .collect();
    let t = table(
        rows,
        &[
            "State",
            "Event",
            "Target",
            "Attempts",
            "Updated",
            "Result, or why it failed",
        ],
        block,
        area,
    );
    f.render_stateful_widget(t, area, &mut view.list.state);
}
