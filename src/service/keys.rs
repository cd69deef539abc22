//! Customer-managed keys with KMS semantics: aliases, states, rotation, key policies.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::policy::PolicyDocument;
use super::{Principal, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    pub key_id: String,
    pub arn: String,
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    pub creation_date: DateTime<Utc>,
    pub enabled: bool,
    pub description: String,
    pub key_usage: &'static str,
    pub key_state: KeyState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<u32>,
    pub origin: &'static str,
    /// `CUSTOMER`, or `AWS` for the managed key behind SSE-S3 (`alias/aws/s3`).
    pub key_manager: &'static str,
    pub key_spec: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    pub key_id: String,
    pub key_arn: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasEntry {
    pub alias_name: String,
    pub alias_arn: String,
    pub target_key_id: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationStatus {
    pub key_id: String,
    pub key_rotation_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<DateTime<Utc>>,
    /// Not in KMS's answer, but what operators ask: when the key last got a new version.
    pub last_rotation_date: Option<DateTime<Utc>>,
    pub key_versions: u32,
}

/// What the Keys pane shows on one line: metadata, its aliases and its rotation.
#[derive(Debug, Clone)]
pub struct KeyOverview {
    pub key_id: String,
    pub arn: String,
    /// None when the viewer may list the key but not describe it.
    pub metadata: Option<KeyMetadata>,
    pub aliases: Vec<String>,
    pub rotation: Option<RotationStatus>,
}

/// One rotation of a key (KMS's ListKeyRotations): when the key got a new version.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyRotation {
    pub key_id: String,
    pub rotation_date: DateTime<Utc>,
}

/// A ciphertext a KMS key made for a client (Encrypt, GenerateDataKey), with its plaintext when
/// the operation hands it out. The plaintext is wiped when dropped.
pub struct ClientCiphertext {
    /// The key's ARN.
    pub key_id: String,
    pub ciphertext_blob: Vec<u8>,
    pub plaintext: Option<zeroize::Zeroizing<Vec<u8>>>,
}

/// A client's EncryptionContext: bound to the ciphertext, needed again to decrypt it.
pub type EncryptionContext = std::collections::BTreeMap<String, String>;

/// The tag on a key that holds its masking data key wrapped by the key itself (base64 of KMS's
/// ciphertext, about 250 characters, under the 256 a tag value may hold). `hash` and
/// `tokenize` derive their keys from it wherever it is set (aws/masking.rs makes it on AWS and
/// on a lake server; the local lake uses it when present), so tokens made through either
/// backend open with the other.
pub const MASK_KEY_TAG: &str = "lakectl:mask-key";

/// A KMS key's tag, as KMS names its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyTag {
    pub tag_key: String,
    pub tag_value: String,
}

#[derive(Debug, Clone, Default)]
pub struct CreateKey {
    pub alias: Option<String>,
    pub description: Option<String>,
}

/// The operations `kms allow` can grant, by their short names.
pub const USAGE_OPERATIONS: &[&str] = &[
    "Encrypt",
    "Decrypt",
    "GenerateDataKey",
    "ReEncrypt*",
    "DescribeKey",
];

#[async_trait]
pub trait Keys: Send + Sync {
    async fn create_key(&self, by: &Principal, req: CreateKey) -> Result<KeyMetadata>;
    async fn list_keys(&self, by: &Principal) -> Result<Vec<KeyListEntry>>;
    async fn list_aliases(&self, by: &Principal) -> Result<Vec<AliasEntry>>;
    /// `key` is a key id, a key ARN, `alias/NAME` or an alias ARN, here and everywhere.
    async fn describe_key(&self, by: &Principal, key: &str) -> Result<KeyMetadata>;
    async fn create_alias(&self, by: &Principal, alias: &str, key: &str) -> Result<()>;
    async fn set_key_enabled(&self, by: &Principal, key: &str, enabled: bool) -> Result<()>;
    async fn schedule_key_deletion(
        &self,
        by: &Principal,
        key: &str,
        days: u32,
    ) -> Result<KeyMetadata>;
    async fn cancel_key_deletion(&self, by: &Principal, key: &str) -> Result<KeyMetadata>;
    async fn set_key_rotation(
        &self,
        by: &Principal,
        key: &str,
        enabled: bool,
        period_days: Option<u32>,
    ) -> Result<()>;
    async fn rotate_key_on_demand(&self, by: &Principal, key: &str) -> Result<RotationStatus>;
    async fn get_key_rotation_status(&self, by: &Principal, key: &str) -> Result<RotationStatus>;
    /// Every rotation the key has had, oldest first (the lake server's ListKeyRotations). Only
    /// the local lake keeps them this way; elsewhere they are refused.
    async fn list_key_rotations(&self, by: &Principal, key: &str) -> Result<Vec<KeyRotation>> {
        let _ = (by, key);
        Err(super::ServiceError::new(
            super::Code::UnsupportedOperationException,
            "ListKeyRotations is answered by the local lake only",
        ))
    }
    /// KMS's TagResource: adds `tags`, replacing the value of a key already there.
    async fn tag_resource(&self, by: &Principal, key: &str, tags: &[KeyTag]) -> Result<()>;
    /// KMS's UntagResource: removes the tags with these keys (absent ones are no error).
    async fn untag_resource(&self, by: &Principal, key: &str, tag_keys: &[String]) -> Result<()>;
    /// KMS's ListResourceTags, by tag key.
    async fn list_resource_tags(&self, by: &Principal, key: &str) -> Result<Vec<KeyTag>>;
    async fn get_key_policy(&self, by: &Principal, key: &str) -> Result<PolicyDocument>;
    /// Refuses a policy that would lock the caller out of the key unless `bypass_lockout_check`.
    async fn put_key_policy(
        &self,
        by: &Principal,
        key: &str,
        policy: PolicyDocument,
        bypass_lockout_check: bool,
    ) -> Result<()>;
    /// KMS's Encrypt, GenerateDataKey (`plaintext` None: a new 256-bit data key, returned with
    /// its ciphertext unless `return_plaintext` is false) for a client of the lake server.
    async fn client_encrypt(
        &self,
        by: &Principal,
        key: &str,
        plaintext: Option<&[u8]>,
        context: &EncryptionContext,
        return_plaintext: bool,
    ) -> Result<ClientCiphertext> {
        let _ = (by, key, plaintext, context, return_plaintext);
        Err(super::ServiceError::new(
            super::Code::UnsupportedOperationException,
            "Encrypt and GenerateDataKey are the lake server's; the AWS backend calls KMS itself",
        ))
    }
    /// KMS's Decrypt of what `client_encrypt` made, with the same context.
    async fn client_decrypt(
        &self,
        by: &Principal,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<ClientCiphertext> {
        let _ = (by, blob, context);
        Err(super::ServiceError::new(
            super::Code::UnsupportedOperationException,
            "Decrypt is the lake server's; the AWS backend calls KMS itself",
        ))
    }
    /// The values behind `tokenize` tokens made under `key`: needs kms:Decrypt on it. A token the
    /// key did not make gives None.
    async fn detokenize(
        &self,
        by: &Principal,
        key: &str,
        tokens: &[String],
    ) -> Result<Vec<Option<String>>>;
    /// The identity a policy statement names for this principal (an ARN).
    async fn principal_arn(&self, by: &Principal, name: &str) -> Result<String>;

    /// `kms allow`: the key policy, edited so that `principal` may use the key for `operations`
    /// (and no more: a previous `allow` statement for the same principal is replaced).
    async fn allow(
        &self,
        by: &Principal,
        key: &str,
        principal: &str,
        operations: &[String],
    ) -> Result<PolicyDocument> {
        let arn = self.principal_arn(by, principal).await?;
        let mut policy = self.get_key_policy(by, key).await?;
        policy.set_allow_statement(
            &format!("lakectl-allow-{principal}"),
            &arn,
            operations,
            "kms",
        )?;
        self.put_key_policy(by, key, policy.clone(), false).await?;
        Ok(policy)
    }

    /// Everything the Keys pane needs, one entry per key.
    async fn key_overview(&self, by: &Principal) -> Result<Vec<KeyOverview>> {
        let aliases = self.list_aliases(by).await?;
        let mut out = Vec::new();
        for entry in self.list_keys(by).await? {
            // Describing a key needs rights on it that not every viewer has; the key is still listed.
            let metadata = match self.describe_key(by, &entry.key_id).await {
                Ok(m) => Some(m),
                Err(e) if e.code == super::Code::AccessDenied => None,
                Err(e) => return Err(e),
            };
            let rotation = self.get_key_rotation_status(by, &entry.key_id).await.ok();
            let names = aliases
                .iter()
                .filter(|a| a.target_key_id == entry.key_id)
                .map(|a| a.alias_name.clone())
                .collect();
            out.push(KeyOverview {
                key_id: entry.key_id,
                arn: entry.key_arn,
                metadata,
                aliases: names,
                rotation,
            });
        }
        Ok(out)
    }
}
