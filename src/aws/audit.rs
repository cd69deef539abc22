//! The audit trail on AWS is CloudTrail's, and its integrity check is CloudTrail's log file
//! validation: lakectl does not keep a second one, and says where to look.

use async_trait::async_trait;

use super::{Aws, unsupported};
use crate::service::audit::{Audit, AuditEvent, AuditVerification};
use crate::service::{Principal, Result};

#[async_trait]
impl Audit for Aws {
    async fn list(&self, by: &Principal, _principal: Option<&str>) -> Result<Vec<AuditEvent>> {
        self.acting(by)?;
        Err(unsupported(
            "audit list",
            "AWS records every call in CloudTrail; read it with `aws cloudtrail lookup-events`",
        ))
    }

    async fn verify(&self, by: &Principal) -> Result<AuditVerification> {
        self.acting(by)?;
        Err(unsupported(
            "audit verify",
            "CloudTrail checks its own logs; run `aws cloudtrail validate-logs` on the trail",
        ))
    }
}
