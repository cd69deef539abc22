//! Keys on KMS. KMS's administrative calls want a key id or ARN, not an alias, so names are
//! resolved once through DescribeKey (which takes every form) before them.

use async_trait::async_trait;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};

use super::{Aws, aws_error, opt_time, time};
use crate::service::keys::{
    AliasEntry, CreateKey, KeyListEntry, KeyMetadata, KeyState, KeyTag, Keys, RotationStatus,
};
use crate::service::policy::PolicyDocument;
use crate::service::{Principal, Result};

/// KMS answers with open-ended strings; the service layer keeps the ones it knows.
fn known(value: &str, options: &[&'static str]) -> &'static str {
    options
        .iter()
        .find(|o| **o == value)
        .copied()
        .unwrap_or("OTHER")
}

fn metadata(m: &aws_sdk_kms::types::KeyMetadata) -> KeyMetadata {
    let state = m.key_state().map(|s| s.as_str()).unwrap_or_default();
    KeyMetadata {
        key_id: m.key_id().to_string(),
        arn: m.arn().unwrap_or_default().to_string(),
        aws_account_id: m.aws_account_id().unwrap_or_default().to_string(),
        creation_date: time(m.creation_date()),
        enabled: m.enabled(),
        description: m.description().unwrap_or_default().to_string(),
        key_usage: known(
            m.key_usage().map(|u| u.as_str()).unwrap_or_default(),
            &[
                "ENCRYPT_DECRYPT",
                "SIGN_VERIFY",
                "GENERATE_VERIFY_MAC",
                "KEY_AGREEMENT",
            ],
        ),
        key_state: match state {
            "Enabled" => KeyState::Enabled,
            "PendingDeletion" | "PendingReplicaDeletion" => KeyState::PendingDeletion,
            // Creating, PendingImport, Unavailable, Updating: none of them encrypts.
            _ => KeyState::Disabled,
        },
        deletion_date: opt_time(m.deletion_date()),
        pending_deletion_window_in_days: m.pending_deletion_window_in_days().map(|d| d as u32),
        origin: known(
            m.origin().map(|o| o.as_str()).unwrap_or_default(),
            &["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"],
        ),
        key_manager: known(
            m.key_manager().map(|k| k.as_str()).unwrap_or_default(),
            &["CUSTOMER", "AWS"],
        ),
        key_spec: known(
            m.key_spec().map(|k| k.as_str()).unwrap_or_default(),
            &[
                "SYMMETRIC_DEFAULT",
                "RSA_2048",
                "RSA_3072",
                "RSA_4096",
                "HMAC_256",
            ],
        ),
    }
}

impl Aws {
    /// The key id behind any of the names KMS accepts.
    pub(super) async fn key_id(&self, key: &str) -> Result<String> {
        if !key.starts_with("alias/") && !key.contains(":alias/") {
            return Ok(key.to_string());
        }
        let got = self
            .kms
            .describe_key()
            .key_id(key)
            .send()
            .await
            .map_err(|e| aws_error("kms:DescribeKey", e))?;
        Ok(got
            .key_metadata()
            .map(|m| m.key_id().to_string())
            .unwrap_or_else(|| key.to_string()))
    }
}

#[async_trait]
impl Keys for Aws {
    async fn create_key(&self, by: &Principal, req: CreateKey) -> Result<KeyMetadata> {
        self.acting(by)?;
        let created = self
            .kms
            .create_key()
            .key_usage(KeyUsageType::EncryptDecrypt)
            .key_spec(KeySpec::SymmetricDefault)
            .set_description(req.description)
            .send()
            .await
            .map_err(|e| aws_error("kms:CreateKey", e))?;
        let meta = created
            .key_metadata()
            .map(metadata)
            .ok_or_else(|| crate::service::ServiceError::internal("kms:CreateKey said nothing"))?;
        if let Some(alias) = req.alias
            && let Err(e) = self.create_alias(by, &alias, &meta.key_id).await
        {
            // A key cannot be deleted at once; the least KMS allows is a week's wait.
            let _ = self
                .kms
                .schedule_key_deletion()
                .key_id(&meta.key_id)
                .pending_window_in_days(7)
                .send()
                .await;
            return Err(e);
        }
        Ok(meta)
    }

    async fn list_keys(&self, by: &Principal) -> Result<Vec<KeyListEntry>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self.kms.list_keys().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("kms:ListKeys", e))?;
            out.extend(page.keys().iter().map(|k| KeyListEntry {
                key_id: k.key_id().unwrap_or_default().to_string(),
                key_arn: k.key_arn().unwrap_or_default().to_string(),
            }));
        }
        Ok(out)
    }

    async fn list_aliases(&self, by: &Principal) -> Result<Vec<AliasEntry>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self.kms.list_aliases().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("kms:ListAliases", e))?;
            out.extend(page.aliases().iter().filter_map(|a| {
                Some(AliasEntry {
                    alias_name: a.alias_name()?.to_string(),
                    alias_arn: a.alias_arn().unwrap_or_default().to_string(),
                    target_key_id: a.target_key_id()?.to_string(),
                })
            }));
        }
        Ok(out)
    }

    async fn describe_key(&self, by: &Principal, key: &str) -> Result<KeyMetadata> {
        self.acting(by)?;
        let got = self
            .kms
            .describe_key()
            .key_id(key)
            .send()
            .await
            .map_err(|e| aws_error("kms:DescribeKey", e))?;
        got.key_metadata()
            .map(metadata)
            .ok_or_else(|| crate::service::ServiceError::internal("kms:DescribeKey said nothing"))
    }

    async fn create_alias(&self, by: &Principal, alias: &str, key: &str) -> Result<()> {
        self.acting(by)?;
        self.kms
            .create_alias()
            .alias_name(alias)
            .target_key_id(self.key_id(key).await?)
            .send()
            .await
            .map_err(|e| aws_error("kms:CreateAlias", e))?;
        Ok(())
    }

    async fn set_key_enabled(&self, by: &Principal, key: &str, enabled: bool) -> Result<()> {
        self.acting(by)?;
        let id = self.key_id(key).await?;
        if enabled {
            self.kms
                .enable_key()
                .key_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error("kms:EnableKey", e))
        } else {
            self.kms
                .disable_key()
                .key_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error("kms:DisableKey", e))
        }
    }

    async fn schedule_key_deletion(
        &self,
        by: &Principal,
        key: &str,
        days: u32,
    ) -> Result<KeyMetadata> {
        self.acting(by)?;
        let id = self.key_id(key).await?;
        self.kms
            .schedule_key_deletion()
            .key_id(&id)
            .pending_window_in_days(days as i32)
            .send()
            .await
            .map_err(|e| aws_error("kms:ScheduleKeyDeletion", e))?;
        self.describe_key(by, &id).await
    }

    async fn cancel_key_deletion(&self, by: &Principal, key: &str) -> Result<KeyMetadata> {
        self.acting(by)?;
        let id = self.key_id(key).await?;
        self.kms
            .cancel_key_deletion()
            .key_id(&id)
            .send()
            .await
            .map_err(|e| aws_error("kms:CancelKeyDeletion", e))?;
        self.describe_key(by, &id).await
    }

    async fn set_key_rotation(
        &self,
        by: &Principal,
        key: &str,
        enabled: bool,
        period_days: Option<u32>,
    ) -> Result<()> {
        self.acting(by)?;
        let id = self.key_id(key).await?;
        if enabled {
            self.kms
                .enable_key_rotation()
                .key_id(id)
                .set_rotation_period_in_days(period_days.map(|d| d as i32))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error("kms:EnableKeyRotation", e))
        } else {
            self.kms
                .disable_key_rotation()
                .key_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error("kms:DisableKeyRotation", e))
        }
    }

    async fn rotate_key_on_demand(&self, by: &Principal, key: &str) -> Result<RotationStatus> {
        self.acting(by)?;
        let id = self.key_id(key).await?;
        self.kms
            .rotate_key_on_demand()
            .key_id(&id)
            .send()
            .await
            .map_err(|e| aws_error("kms:RotateKeyOnDemand", e))?;
        self.get_key_rotation_status(by, &id).await
    }

    async fn get_key_rotation_status(&self, by: &Principal, key: &str) -> Result<RotationStatus> {
        self.acting(by)?;
        let id = self.key_id(key).await?;
        let status = self
            .kms
            .get_key_rotation_status()
            .key_id(&id)
            .send()
            .await
            .map_err(|e| aws_error("kms:GetKeyRotationStatus", e))?;
        let mut rotations = Vec::new();
        let mut pages = self
            .kms
            .list_key_rotations()
            .key_id(&id)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("kms:ListKeyRotations", e))?;
            rotations.extend(
                page.rotations()
                    .iter()
                    .filter_map(|r| opt_time(r.rotation_date())),
            );
        }
        Ok(RotationStatus {
            key_id: id,
            key_rotation_enabled: status.key_rotation_enabled(),
            rotation_period_in_days: status.rotation_period_in_days().map(|d| d as u32),
            next_rotation_date: opt_time(status.next_rotation_date()),
            last_rotation_date: rotations.iter().max().copied(),
            key_versions: 1 + rotations.len() as u32,
        })
    }

    async fn tag_resource(&self, by: &Principal, key: &str, tags: &[KeyTag]) -> Result<()> {
        self.acting(by)?;
        let tags = tags
            .iter()
            .map(|t| {
                aws_sdk_kms::types::Tag::builder()
                    .tag_key(&t.tag_key)
                    .tag_value(&t.tag_value)
                    .build()
                    .map_err(|e| super::build_error("TagResource", e))
            })
            .collect::<Result<Vec<_>>>()?;
        self.kms
            .tag_resource()
            .key_id(self.key_id(key).await?)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws_error("kms:TagResource", e))?;
        Ok(())
    }

    async fn untag_resource(&self, by: &Principal, key: &str, tag_keys: &[String]) -> Result<()> {
        self.acting(by)?;
        self.kms
            .untag_resource()
            .key_id(self.key_id(key).await?)
            .set_tag_keys(Some(tag_keys.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("kms:UntagResource", e))?;
        Ok(())
    }

    async fn list_resource_tags(&self, by: &Principal, key: &str) -> Result<Vec<KeyTag>> {
        self.acting(by)?;
        let mut pages = self
            .kms
            .list_resource_tags()
            .key_id(self.key_id(key).await?)
            .into_paginator()
            .send();
        let mut tags = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("kms:ListResourceTags", e))?;
            tags.extend(page.tags().iter().map(|t| KeyTag {
                tag_key: t.tag_key().to_string(),
                tag_value: t.tag_value().to_string(),
            }));
        }
        Ok(tags)
    }

    async fn get_key_policy(&self, by: &Principal, key: &str) -> Result<PolicyDocument> {
        self.acting(by)?;
        let got = self
            .kms
            .get_key_policy()
            .key_id(self.key_id(key).await?)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| aws_error("kms:GetKeyPolicy", e))?;
        PolicyDocument::parse(got.policy().unwrap_or_default())
    }

    async fn put_key_policy(
        &self,
        by: &Principal,
        key: &str,
        policy: PolicyDocument,
        bypass_lockout_check: bool,
    ) -> Result<()> {
        self.acting(by)?;
        self.kms
            .put_key_policy()
            .key_id(self.key_id(key).await?)
            .policy_name("default")
            .policy(policy.to_json())
            .bypass_policy_lockout_safety_check(bypass_lockout_check)
            .send()
            .await
            .map_err(|e| aws_error("kms:PutKeyPolicy", e))?;
        Ok(())
    }

    /// Tokens made under `key` (by the Glue script or lakectl's masking job) opened with the
    /// masking key, which KMS unwraps only for a caller allowed kms:Decrypt on `key`.
    async fn detokenize(
        &self,
        by: &Principal,
        key: &str,
        tokens: &[String],
    ) -> Result<Vec<Option<String>>> {
        self.acting(by)?;
        let keys = self.open_mask_keys(&self.key_id(key).await?).await?;
        let token_key = keys.token.as_ref().expect("mask keys carry a token key");
        Ok(tokens
            .iter()
            .map(|t| crate::mask::detokenize(t, token_key))
            .collect())
    }

    async fn principal_arn(&self, by: &Principal, name: &str) -> Result<String> {
        self.acting(by)?;
        if name.starts_with("arn:") {
            return Ok(name.to_string());
        }
        let user = self
            .iam
            .get_user()
            .user_name(name)
            .send()
            .await
            .map_err(|e| aws_error("iam:GetUser", e))?;
        Ok(user
            .user()
            .map(|u| u.arn().to_string())
            .unwrap_or_else(|| self.principal_arn_of(name)))
    }
}
