//! `secretsmanager`: secrets, their versions and resource policies, in Secrets Manager's names
//! and JSON shapes. The value comes in from `--secret-string` (or `file://PATH`, which keeps it
//! out of the shell's history and the process list) and goes out only in `get-secret-value`.

use clap::Subcommand;
use serde_json::{Value, json};

use super::Context;
use super::s3::read_document;
use crate::service::policy::PolicyDocument;
use crate::service::secrets::{CreateSecret, DeleteMode, SecretString, VersionSelector};
use crate::service::{Result, ServiceError};

#[derive(Debug, Subcommand)]
pub enum SecretsmanagerCommand {
    /// A secret with its first value (AWSCURRENT), sealed under --kms-key-id (default: the
    /// managed key alias/aws/secretsmanager)
    CreateSecret {
        #[arg(long)]
        name: String,
        /// The value, or file://PATH to read it from a file
        #[arg(long, value_name = "TEXT|file://PATH")]
        secret_string: String,
        #[arg(long)]
        kms_key_id: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// A secret's value: AWSCURRENT, or the version or stage named. Needs
    /// secretsmanager:GetSecretValue and kms:Decrypt on the secret's key; every read is audited
    GetSecretValue {
        /// The secret's name or ARN
        #[arg(long)]
        secret_id: String,
        #[arg(long, conflicts_with = "version_stage")]
        version_id: Option<String>,
        #[arg(long)]
        version_stage: Option<String>,
    },
    /// A new value, which becomes AWSCURRENT; the current one becomes AWSPREVIOUS
    PutSecretValue {
        #[arg(long)]
        secret_id: String,
        #[arg(long, value_name = "TEXT|file://PATH")]
        secret_string: String,
    },
    /// A secret's metadata and its versions' stages (never the value)
    DescribeSecret {
        #[arg(long)]
        secret_id: String,
    },
    /// The secrets not scheduled for deletion
    ListSecrets,
    /// Schedule a secret's deletion after a recovery window (7 to 30 days, default 30), or
    /// delete it now with --force-delete-without-recovery
    DeleteSecret {
        #[arg(long)]
        secret_id: String,
        #[arg(long, conflicts_with = "force_delete_without_recovery")]
        recovery_window_in_days: Option<u32>,
        #[arg(long)]
        force_delete_without_recovery: bool,
    },
    /// Cancel a scheduled deletion
    RestoreSecret {
        #[arg(long)]
        secret_id: String,
    },
    /// The secret's resource policy: who besides the identity policies may use it
    PutResourcePolicy {
        #[arg(long)]
        secret_id: String,
        /// The policy: file://PATH or the JSON itself
        #[arg(long)]
        resource_policy: String,
    },
    GetResourcePolicy {
        #[arg(long)]
        secret_id: String,
    },
}

impl SecretsmanagerCommand {
    /// Whether running it may change the lake (reads, including the value's, do not).
    pub fn changes_anything(&self) -> bool {
        !matches!(
            self,
            SecretsmanagerCommand::GetSecretValue { .. }
                | SecretsmanagerCommand::DescribeSecret { .. }
                | SecretsmanagerCommand::ListSecrets
                | SecretsmanagerCommand::GetResourcePolicy { .. }
        )
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| ServiceError::internal(e.to_string()))
}

/// `--secret-string`: the text itself or `file://PATH`, straight into a `SecretString`.
fn secret_arg(arg: String) -> Result<SecretString> {
    let arg = SecretString::new(arg);
    if arg.expose().starts_with("file://") {
        return Ok(SecretString::new(read_document(arg.expose())?));
    }
    Ok(arg)
}

impl Context<'_> {
    pub(super) async fn secretsmanager(&self, cmd: SecretsmanagerCommand) -> Result<Value> {
        let secrets = &self.services.secrets;
        let by = self.principal;
        match cmd {
            SecretsmanagerCommand::CreateSecret {
                name,
                secret_string,
                kms_key_id,
                description,
            } => {
                let req = CreateSecret {
                    name,
                    secret_string: secret_arg(secret_string)?,
                    kms_key_id,
                    description,
                };
                to_json(&secrets.create_secret(by, req).await?)
            }
            SecretsmanagerCommand::GetSecretValue {
                secret_id,
                version_id,
                version_stage,
            } => {
                let version = match (version_id, version_stage) {
                    (Some(id), _) => VersionSelector::Id(id),
                    (None, Some(stage)) => VersionSelector::Stage(stage),
                    (None, None) => VersionSelector::Current,
                };
                to_json(&secrets.get_secret_value(by, &secret_id, version).await?)
            }
            SecretsmanagerCommand::PutSecretValue {
                secret_id,
                secret_string,
            } => to_json(
                &secrets
                    .put_secret_value(by, &secret_id, secret_arg(secret_string)?)
                    .await?,
            ),
            SecretsmanagerCommand::DescribeSecret { secret_id } => {
                to_json(&secrets.describe_secret(by, &secret_id).await?)
            }
            SecretsmanagerCommand::ListSecrets => {
                Ok(json!({"SecretList": secrets.list_secrets(by).await?}))
            }
            SecretsmanagerCommand::DeleteSecret {
                secret_id,
                recovery_window_in_days,
                force_delete_without_recovery,
            } => {
                let mode = if force_delete_without_recovery {
                    DeleteMode::ForceWithoutRecovery
                } else {
                    DeleteMode::window(recovery_window_in_days)?
                };
                to_json(&secrets.delete_secret(by, &secret_id, mode).await?)
            }
            SecretsmanagerCommand::RestoreSecret { secret_id } => {
                to_json(&secrets.restore_secret(by, &secret_id).await?)
            }
            SecretsmanagerCommand::PutResourcePolicy {
                secret_id,
                resource_policy,
            } => {
                let doc = PolicyDocument::parse(&read_document(&resource_policy)?)?;
                to_json(&secrets.put_resource_policy(by, &secret_id, doc).await?)
            }
            SecretsmanagerCommand::GetResourcePolicy { secret_id } => {
                to_json(&secrets.get_resource_policy(by, &secret_id).await?)
            }
        }
    }
}
