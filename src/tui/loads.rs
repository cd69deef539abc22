//! What the Findings pane loads: the findings, most severe first. Called on a tokio task; the
//! App only receives the result. (The Runs pane's loads are in runs/.)

use crate::service::classification::Finding;
use crate::service::{Principal, Result, Services};

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
