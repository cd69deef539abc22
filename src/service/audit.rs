//! The audit trail: every control-plane change and every data access, in order, tamper-evident.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Principal, Result};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuditEvent {
    pub sequence: u64,
    pub event_time: DateTime<Utc>,
    pub principal: String,
    /// The service, as CloudTrail names it: `kms`, `s3`, `iam`.
    pub event_source: String,
    /// The operation: `CreateKey`, `PutObject`, `GetObject`, ...
    pub event_name: String,
    pub resource: String,
    /// Set when the call was refused (`AccessDenied`, ...).
    pub error_code: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuditVerification {
    pub valid: bool,
    pub entries: u64,
    /// The chain's head, to be written down elsewhere: it proves later that nothing was rewritten.
    pub head_digest: String,
}

#[async_trait]
pub trait Audit: Send + Sync {
    async fn list(&self, by: &Principal, principal: Option<&str>) -> Result<Vec<AuditEvent>>;
    /// Checks every link of the chain; an altered or removed entry is an `AuditIntegrityException`
    /// naming the entry.
    async fn verify(&self, by: &Principal) -> Result<AuditVerification>;
}
