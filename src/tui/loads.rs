//! What the Runs and Findings panes load: a job, crawler or event rule with its last run (or
//! delivery) as one row, and the findings most severe first. Called on tokio tasks; the App only
//! receives the results.

use crate::service::classification::Finding;
use crate::service::events::{Rule, RuleState};
use crate::service::jobs::RunState;
use crate::service::{Code, Principal, Result, Services};

/// What a Runs row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Job,
    Crawler,
    /// An EventBridge rule: its "run" is its latest delivery.
    Rule,
}

impl RunKind {
    pub fn label(self) -> &'static str {
        match self {
            RunKind::Job => "job",
            RunKind::Crawler => "crawler",
            RunKind::Rule => "rule",
        }
    }
}

/// A job, crawler or rule with its last run or delivery, as the Runs pane lists them.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub kind: RunKind,
    pub name: String,
    /// What it reads and writes (source → target, or the crawled targets → database).
    pub route: String,
    pub state: Option<RunState>,
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    pub seconds: Option<u64>,
    pub run_id: Option<String>,
    /// Records read/written/duplicates/quarantined, or tables created/updated for a crawl.
    pub counts: String,
    pub error: Option<String>,
}

pub(super) async fn load_runs(s: &Services, by: &Principal) -> Result<Vec<RunRow>> {
    let mut rows = Vec::new();
    for job in s.jobs.get_jobs(by).await? {
        let last = s.jobs.get_job_runs(by, &job.name).await?.into_iter().next();
        rows.push(RunRow {
            kind: RunKind::Job,
            route: format!("{} → {}", job.source, job.target),
            state: last.as_ref().map(|r| r.job_run_state),
            started: last.as_ref().map(|r| r.started_on),
            seconds: last.as_ref().map(|r| r.execution_time),
            run_id: last.as_ref().map(|r| r.id.clone()),
            counts: last
                .as_ref()
                .map(|r| {
                    let m = &r.metrics;
                    format!(
                        "{} read · {} written · {} dup · {} quar",
                        m.records_read, m.records_written, m.duplicates, m.quarantined
                    )
                })
                .unwrap_or_default(),
            error: last.and_then(|r| r.error_message),
            name: job.name,
        });
    }
    for (def, last) in s.jobs.get_crawlers(by).await? {
        rows.push(RunRow {
            kind: RunKind::Crawler,
            route: format!("{} → {}", def.targets.join(", "), def.database_name),
            state: last.as_ref().map(|r| r.state),
            started: last.as_ref().map(|r| r.started_on),
            seconds: last.as_ref().and_then(|r| {
                r.completed_on
                    .map(|c| (c - r.started_on).num_seconds().max(0) as u64)
            }),
            run_id: None,
            counts: last
                .as_ref()
                .map(|r| {
                    format!(
                        "{} created · {} updated · {} partitions",
                        r.tables_created.len(),
                        r.tables_updated.len(),
                        r.partitions_added
                    )
                })
                .unwrap_or_default(),
            error: last.and_then(|r| r.error_message),
            name: def.name,
        });
    }
    // Rules, with their recent deliveries and failures; a principal who may not read rules (or
    // a backend without them) sees jobs and crawlers only.
    if let Ok(rules) = s.events.list_rules(by, None).await {
        for rule in rules {
            rows.push(rule_row(s, by, rule).await);
        }
    }
    Ok(rows)
}

async fn rule_row(s: &Services, by: &Principal, rule: Rule) -> RunRow {
    // On AWS EventBridge keeps no delivery list (CloudWatch counts them, a target's SQS queue
    // keeps its failures): the row says so instead of showing counts of nothing.
    let recent = match s.events.list_deliveries(by, Some(&rule.name), 50).await {
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
    let Some(recent) = recent else {
        return RunRow {
            kind: RunKind::Rule,
            route: format!("{} → {targets}", rule.event_pattern),
            state: None,
            started: None,
            seconds: None,
            run_id: None,
            counts: format!(
                "deliveries in CloudWatch, failures in the targets' dead-letter queues{disabled}"
            ),
            error: None,
            name: rule.name,
        };
    };
    let count = |state: &str| recent.iter().filter(|d| d.state == state).count();
    let latest = recent.first();
    RunRow {
        kind: RunKind::Rule,
        route: format!("{} → {targets}", rule.event_pattern),
        state: latest.map(|d| match d.state.as_str() {
            "DELIVERED" => RunState::Succeeded,
            "PENDING" => RunState::Running,
            _ => RunState::Failed,
        }),
        started: latest.map(|d| d.updated),
        seconds: None,
        run_id: latest.and_then(|d| d.result.clone()),
        counts: format!(
            "{} delivered · {} pending · {} failed{disabled}",
            count("DELIVERED"),
            count("PENDING"),
            failed.len(),
        ),
        error: failed.last().map(|f| f.last_error.clone()),
        name: rule.name,
    }
}

pub(super) async fn load_findings(s: &Services, by: &Principal) -> Result<Vec<Finding>> {
    let ids = s.classification.list_findings(by, None).await?;
    let mut findings = s.classification.get_findings(by, &ids).await?;
    // Most severe first, then newest.
    findings.sort_by(|a, b| {
        b.severity
            .score
            .cmp(&a.severity.score)
            .then(b.created_at.cmp(&a.created_at))
    });
    Ok(findings)
}

/// What the filter matches in a finding: its bucket, object, type and severity.
pub fn finding_label(f: &Finding) -> String {
    let o = &f.resources_affected.s3_object;
    format!(
        "{} {} {} {}",
        o.bucket_name, o.key, f.finding_type, f.severity.description
    )
}
