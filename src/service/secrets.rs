//! Secrets Manager: named secrets whose values are versioned, sealed under a KMS key and read
//! only by principals the identity policies or the secret's resource policy allow (and the key
//! lets decrypt). Types serialize in Secrets Manager's JSON shapes. The value travels only as a
//! [`SecretString`], which wipes itself and never prints in a `Debug`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::policy::PolicyDocument;
use super::{Principal, Result, ServiceError};
pub use crate::service::iam::SecretString;

/// The stage of the version `get-secret-value` reads when asked for none.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The stage the version that was current moves to when a new value is put.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
/// The key Secrets Manager seals values under when `--kms-key-id` names none.
pub const DEFAULT_KEY_ALIAS: &str = "alias/aws/secretsmanager";

/// `create-secret`'s request. The value is here only as a `SecretString`.
#[derive(Debug)]
pub struct CreateSecret {
    pub name: String,
    pub secret_string: SecretString,
    pub kms_key_id: Option<String>,
    pub description: Option<String>,
}

/// Which version a read wants: `--version-id`, `--version-stage`, or AWSCURRENT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelector {
    Current,
    Id(String),
    Stage(String),
}

/// How `delete-secret` deletes: after a recovery window (7 to 30 days), or now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteMode {
    RecoveryWindow(u32),
    ForceWithoutRecovery,
}

impl DeleteMode {
    /// Secrets Manager's rule: a window of 7 to 30 days (30 when not given).
    pub fn window(days: Option<u32>) -> Result<DeleteMode> {
        match days.unwrap_or(30) {
            d @ 7..=30 => Ok(DeleteMode::RecoveryWindow(d)),
            d => Err(ServiceError::new(
                super::Code::InvalidParameterException,
                format!("the recovery window must be 7 to 30 days, not {d}"),
            )),
        }
    }
}

/// What `create-secret`, `put-secret-value` and `restore-secret` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretRef {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_stages: Option<Vec<String>>,
}

/// `get-secret-value`'s answer: the only one that carries the value.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretValue {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    pub version_id: String,
    pub secret_string: SecretString,
    pub version_stages: Vec<String>,
    pub created_date: DateTime<Utc>,
}

/// `describe-secret`'s answer, and one entry of `list-secrets`: never the value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretDescription {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The key as given at creation; None for the default `alias/aws/secretsmanager`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub created_date: DateTime<Utc>,
    pub last_changed_date: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<DateTime<Utc>>,
    /// When the secret was scheduled for deletion; reads are refused from then on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_date: Option<DateTime<Utc>>,
    pub version_ids_to_stages: BTreeMap<String, Vec<String>>,
}

/// `delete-secret`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeletedSecret {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    pub deletion_date: DateTime<Utc>,
}

/// `get-resource-policy`'s answer (the policy as JSON text, as Secrets Manager gives it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretPolicy {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
}

/// `secret_id` is a secret's name or ARN, everywhere.
#[async_trait]
pub trait Secrets: Send + Sync {
    async fn create_secret(&self, by: &Principal, req: CreateSecret) -> Result<SecretRef>;
    /// Needs secretsmanager:GetSecretValue (identity or resource policy) and kms:Decrypt on the
    /// key; refused with InvalidRequestException while the secret is scheduled for deletion.
    async fn get_secret_value(
        &self,
        by: &Principal,
        secret_id: &str,
        version: VersionSelector,
    ) -> Result<SecretValue>;
    /// A new version, AWSCURRENT; the version that was current becomes AWSPREVIOUS.
    async fn put_secret_value(
        &self,
        by: &Principal,
        secret_id: &str,
        value: SecretString,
    ) -> Result<SecretRef>;
    async fn describe_secret(&self, by: &Principal, secret_id: &str) -> Result<SecretDescription>;
    /// The secrets not scheduled for deletion.
    async fn list_secrets(&self, by: &Principal) -> Result<Vec<SecretDescription>>;
    async fn delete_secret(
        &self,
        by: &Principal,
        secret_id: &str,
        mode: DeleteMode,
    ) -> Result<DeletedSecret>;
    async fn restore_secret(&self, by: &Principal, secret_id: &str) -> Result<SecretRef>;
    async fn put_resource_policy(
        &self,
        by: &Principal,
        secret_id: &str,
        policy: PolicyDocument,
    ) -> Result<SecretRef>;
    async fn get_resource_policy(&self, by: &Principal, secret_id: &str) -> Result<SecretPolicy>;

    /// The current value of a secret, for another service acting as `by` (DMS reads a database's
    /// credentials so): exactly `get-secret-value`'s checks and audit, and only the value back.
    async fn current_value(&self, by: &Principal, secret_id: &str) -> Result<SecretString> {
        Ok(self
            .get_secret_value(by, secret_id, VersionSelector::Current)
            .await?
            .secret_string)
    }
}
