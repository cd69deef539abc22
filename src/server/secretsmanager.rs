//! Secrets Manager (`secretsmanager.*`) on the lake server: each operation's request as the
//! service's model names its members, the secrets service called as the request's principal,
//! the answer in Secrets Manager's shape. Resource policies and the key's Decrypt decide inside
//! the secrets service, exactly as for the CLI; the value appears only in GetSecretValue's answer
//! and never in an error or the server's log.

use serde::Deserialize;
use serde_json::{Value, json};

use super::json_protocol::{Call, output, unsupported};
use super::paging;
use crate::service::policy::PolicyDocument;
use crate::service::secrets::{CreateSecret, DeleteMode, SecretString, VersionSelector};
use crate::service::{Result, ServiceError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SecretId {
    secret_id: String,
}

/// `ClientRequestToken` (which the SDKs fill in for idempotency) is accepted and not kept: each
/// call makes a version of its own.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateSecretInput {
    name: String,
    secret_string: Option<String>,
    secret_binary: Option<Value>,
    kms_key_id: Option<String>,
    description: Option<String>,
    tags: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSecretValueInput {
    secret_id: String,
    version_id: Option<String>,
    version_stage: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutSecretValueInput {
    secret_id: String,
    secret_string: Option<String>,
    secret_binary: Option<Value>,
    version_stages: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteSecretInput {
    secret_id: String,
    recovery_window_in_days: Option<u32>,
    #[serde(default)]
    force_delete_without_recovery: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutResourcePolicyInput {
    secret_id: String,
    resource_policy: String,
}

pub async fn call(call: Call<'_>) -> Result<Value> {
    let secrets = &call.router.services.secrets;
    let by = call.principal;
    match call.operation {
        "CreateSecret" => {
            let input: CreateSecretInput = call.input()?;
            if input.tags.is_some() {
                return Err(unsupported(
                    "CreateSecret with Tags",
                    "secrets carry no tags",
                ));
            }
            let value = string_value(input.secret_string, input.secret_binary)?;
            let created = secrets
                .create_secret(
                    by,
                    CreateSecret {
                        name: input.name,
                        secret_string: value,
                        kms_key_id: input.kms_key_id,
                        description: input.description,
                    },
                )
                .await?;
            output(json!({
                "ARN": created.arn,
                "Name": created.name,
                "VersionId": created.version_id,
            }))
        }
        "GetSecretValue" => {
            let input: GetSecretValueInput = call.input()?;
            let version = match (input.version_id, input.version_stage) {
                (Some(id), None) => VersionSelector::Id(id),
                (None, Some(stage)) => VersionSelector::Stage(stage),
                (None, None) => VersionSelector::Current,
                // Secrets Manager reads the version only if the id holds the stage; the lake's
                // service takes one selector, so the pair is refused rather than half-checked.
                (Some(_), Some(_)) => {
                    return Err(ServiceError::invalid(
                        "give VersionId or VersionStage, not both".to_string(),
                    ));
                }
            };
            output(
                secrets
                    .get_secret_value(by, &input.secret_id, version)
                    .await?,
            )
        }
        "PutSecretValue" => {
            let input: PutSecretValueInput = call.input()?;
            if input.version_stages.is_some() {
                return Err(unsupported(
                    "PutSecretValue with VersionStages",
                    "a new value always becomes AWSCURRENT",
                ));
            }
            let value = string_value(input.secret_string, input.secret_binary)?;
            output(
                secrets
                    .put_secret_value(by, &input.secret_id, value)
                    .await?,
            )
        }
        "DescribeSecret" => {
            let input: SecretId = call.input()?;
            output(secrets.describe_secret(by, &input.secret_id).await?)
        }
        "ListSecrets" => {
            if call.body.get("Filters").is_some() {
                return Err(unsupported(
                    "ListSecrets with Filters",
                    "list them all and filter on the client",
                ));
            }
            let all = secrets.list_secrets(by).await?;
            let page = call.page(paging::SECRETS, all, |s| s.arn.as_str())?;
            let mut answer = json!({ "SecretList": page.items });
            if let Some(token) = page.next {
                answer["NextToken"] = json!(token);
            }
            output(answer)
        }
        "DeleteSecret" => {
            let input: DeleteSecretInput = call.input()?;
            let mode = match (
                input.force_delete_without_recovery,
                input.recovery_window_in_days,
            ) {
                (true, Some(_)) => {
                    return Err(ServiceError::invalid(
                        "give RecoveryWindowInDays or ForceDeleteWithoutRecovery, not both"
                            .to_string(),
                    ));
                }
                (true, None) => DeleteMode::ForceWithoutRecovery,
                (false, days) => DeleteMode::window(days)?,
            };
            output(secrets.delete_secret(by, &input.secret_id, mode).await?)
        }
        "RestoreSecret" => {
            let input: SecretId = call.input()?;
            let restored = secrets.restore_secret(by, &input.secret_id).await?;
            output(json!({ "ARN": restored.arn, "Name": restored.name }))
        }
        "PutResourcePolicy" => {
            let input: PutResourcePolicyInput = call.input()?;
            let policy = PolicyDocument::parse(&input.resource_policy)?;
            let secret = secrets
                .put_resource_policy(by, &input.secret_id, policy)
                .await?;
            output(json!({ "ARN": secret.arn, "Name": secret.name }))
        }
        "GetResourcePolicy" => {
            let input: SecretId = call.input()?;
            output(secrets.get_resource_policy(by, &input.secret_id).await?)
        }
        "TagResource" | "UntagResource" => {
            Err(unsupported(call.operation, "secrets carry no tags"))
        }
        "RotateSecret" | "CancelRotateSecret" => Err(unsupported(
            call.operation,
            "the lake runs no rotation functions; put a new value with PutSecretValue",
        )),
        "DeleteResourcePolicy"
        | "ValidateResourcePolicy"
        | "UpdateSecret"
        | "UpdateSecretVersionStage"
        | "ListSecretVersionIds"
        | "BatchGetSecretValue"
        | "GetRandomPassword"
        | "ReplicateSecretToRegions" => Err(unsupported(
            call.operation,
            "the lake's Secrets Manager has the operations `lakectl secretsmanager help` lists",
        )),
        _ => Err(call.unknown("Secrets Manager")),
    }
}

/// The value of a create or put: text only, as the lake keeps secrets.
fn string_value(text: Option<String>, binary: Option<Value>) -> Result<SecretString> {
    match (text, binary) {
        (Some(text), None) => Ok(SecretString::new(text)),
        (None, Some(_)) => Err(unsupported(
            "SecretBinary",
            "the lake keeps text secrets; give SecretString",
        )),
        (Some(_), Some(_)) => Err(ServiceError::invalid(
            "give SecretString or SecretBinary, not both".to_string(),
        )),
        (None, None) => Err(ServiceError::invalid(
            "the request has no SecretString".to_string(),
        )),
    }
}
