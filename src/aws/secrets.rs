//! Secrets Manager on AWS: the same operations through `aws-sdk-secretsmanager`. AWS decides who
//! may read (identity and resource policies, kms:Decrypt through Secrets Manager) and keeps its
//! own audit (CloudTrail); this module only translates. The value is copied out of the SDK's
//! answer into a `SecretString` at once, and the SDK's types redact it in their `Debug`.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{Aws, aws_error, opt_time, time};
use crate::service::policy::PolicyDocument;
use crate::service::secrets::{
    CreateSecret, DeleteMode, DeletedSecret, SecretDescription, SecretPolicy, SecretRef,
    SecretString, SecretValue, Secrets, VersionSelector,
};
use crate::service::{Principal, Result};

fn stages(
    map: Option<&std::collections::HashMap<String, Vec<String>>>,
) -> BTreeMap<String, Vec<String>> {
    map.map(|m| {
        m.iter()
            .map(|(k, v)| {
                let mut v = v.clone();
                v.sort();
                (k.clone(), v)
            })
            .collect()
    })
    .unwrap_or_default()
}

fn text(s: Option<&str>) -> String {
    s.unwrap_or_default().to_string()
}

#[async_trait]
impl Secrets for Aws {
    async fn create_secret(&self, by: &Principal, req: CreateSecret) -> Result<SecretRef> {
        self.acting(by)?;
        let out = self
            .secrets
            .create_secret()
            .name(&req.name)
            .secret_string(req.secret_string.expose())
            .set_kms_key_id(req.kms_key_id.clone())
            .set_description(req.description.clone())
            .send()
            .await
            .map_err(|e| aws_error("CreateSecret", e))?;
        Ok(SecretRef {
            arn: text(out.arn()),
            name: text(out.name()),
            version_id: out.version_id().map(str::to_string),
            version_stages: None,
        })
    }

    async fn get_secret_value(
        &self,
        by: &Principal,
        secret_id: &str,
        version: VersionSelector,
    ) -> Result<SecretValue> {
        self.acting(by)?;
        let (id, stage) = match version {
            VersionSelector::Current => (None, None),
            VersionSelector::Id(id) => (Some(id), None),
            VersionSelector::Stage(stage) => (None, Some(stage)),
        };
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(secret_id)
            .set_version_id(id)
            .set_version_stage(stage)
            .send()
            .await
            .map_err(|e| aws_error("GetSecretValue", e))?;
        let mut version_stages = out.version_stages().to_vec();
        version_stages.sort();
        Ok(SecretValue {
            arn: text(out.arn()),
            name: text(out.name()),
            version_id: text(out.version_id()),
            secret_string: SecretString::new(text(out.secret_string())),
            version_stages,
            created_date: time(out.created_date()),
        })
    }

    async fn put_secret_value(
        &self,
        by: &Principal,
        secret_id: &str,
        value: SecretString,
    ) -> Result<SecretRef> {
        self.acting(by)?;
        let out = self
            .secrets
            .put_secret_value()
            .secret_id(secret_id)
            .secret_string(value.expose())
            .send()
            .await
            .map_err(|e| aws_error("PutSecretValue", e))?;
        Ok(SecretRef {
            arn: text(out.arn()),
            name: text(out.name()),
            version_id: out.version_id().map(str::to_string),
            version_stages: Some(out.version_stages().to_vec()),
        })
    }

    async fn describe_secret(&self, by: &Principal, secret_id: &str) -> Result<SecretDescription> {
        self.acting(by)?;
        let out = self
            .secrets
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| aws_error("DescribeSecret", e))?;
        Ok(SecretDescription {
            arn: text(out.arn()),
            name: text(out.name()),
            description: out.description().map(str::to_string),
            kms_key_id: out.kms_key_id().map(str::to_string),
            created_date: time(out.created_date()),
            last_changed_date: time(out.last_changed_date().or(out.created_date())),
            last_accessed_date: opt_time(out.last_accessed_date()),
            deleted_date: opt_time(out.deleted_date()),
            version_ids_to_stages: stages(out.version_ids_to_stages()),
        })
    }

    async fn list_secrets(&self, by: &Principal) -> Result<Vec<SecretDescription>> {
        self.acting(by)?;
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .secrets
                .list_secrets()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_error("ListSecrets", e))?;
            for s in out.secret_list() {
                all.push(SecretDescription {
                    arn: text(s.arn()),
                    name: text(s.name()),
                    description: s.description().map(str::to_string),
                    kms_key_id: s.kms_key_id().map(str::to_string),
                    created_date: time(s.created_date()),
                    last_changed_date: time(s.last_changed_date().or(s.created_date())),
                    last_accessed_date: opt_time(s.last_accessed_date()),
                    deleted_date: opt_time(s.deleted_date()),
                    version_ids_to_stages: stages(s.secret_versions_to_stages()),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(all)
    }

    async fn delete_secret(
        &self,
        by: &Principal,
        secret_id: &str,
        mode: DeleteMode,
    ) -> Result<DeletedSecret> {
        self.acting(by)?;
        let call = self.secrets.delete_secret().secret_id(secret_id);
        let call = match mode {
            DeleteMode::RecoveryWindow(days) => call.recovery_window_in_days(days as i64),
            DeleteMode::ForceWithoutRecovery => call.force_delete_without_recovery(true),
        };
        let out = call
            .send()
            .await
            .map_err(|e| aws_error("DeleteSecret", e))?;
        Ok(DeletedSecret {
            arn: text(out.arn()),
            name: text(out.name()),
            deletion_date: time(out.deletion_date()),
        })
    }

    async fn restore_secret(&self, by: &Principal, secret_id: &str) -> Result<SecretRef> {
        self.acting(by)?;
        let out = self
            .secrets
            .restore_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| aws_error("RestoreSecret", e))?;
        Ok(SecretRef {
            arn: text(out.arn()),
            name: text(out.name()),
            version_id: None,
            version_stages: None,
        })
    }

    async fn put_resource_policy(
        &self,
        by: &Principal,
        secret_id: &str,
        policy: PolicyDocument,
    ) -> Result<SecretRef> {
        self.acting(by)?;
        let out = self
            .secrets
            .put_resource_policy()
            .secret_id(secret_id)
            .resource_policy(policy.to_json())
            .send()
            .await
            .map_err(|e| aws_error("PutResourcePolicy", e))?;
        Ok(SecretRef {
            arn: text(out.arn()),
            name: text(out.name()),
            version_id: None,
            version_stages: None,
        })
    }

    async fn get_resource_policy(&self, by: &Principal, secret_id: &str) -> Result<SecretPolicy> {
        self.acting(by)?;
        let out = self
            .secrets
            .get_resource_policy()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| aws_error("GetResourcePolicy", e))?;
        Ok(SecretPolicy {
            arn: text(out.arn()),
            name: text(out.name()),
            resource_policy: out.resource_policy().map(str::to_string),
        })
    }
}
