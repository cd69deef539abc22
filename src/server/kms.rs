//! KMS (`TrentService.*`) on the lake server: each operation's request as KMS's model names its
//! members, the keys service called as the request's principal, the answer in KMS's shape. The
//! key policy decides inside the keys service, exactly as for the CLI.

use serde::Deserialize;
use serde_json::{Value, json};

use super::json_protocol::{Call, empty, output, unsupported};
use super::paging;
use crate::service::Result;
use crate::service::keys::{CreateKey, KeyTag};
use crate::service::policy::PolicyDocument;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyId {
    key_id: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateKeyInput {
    description: Option<String>,
    key_usage: Option<String>,
    key_spec: Option<String>,
    customer_master_key_spec: Option<String>,
    policy: Option<String>,
    origin: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateAliasInput {
    alias_name: String,
    target_key_id: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ListAliasesInput {
    key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ScheduleDeletionInput {
    key_id: String,
    pending_window_in_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EnableRotationInput {
    key_id: String,
    rotation_period_in_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutKeyPolicyInput {
    key_id: String,
    policy: String,
    #[serde(default)]
    bypass_policy_lockout_safety_check: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResourceInput {
    key_id: String,
    tags: Vec<KeyTag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagResourceInput {
    key_id: String,
    tag_keys: Vec<String>,
}

pub async fn call(call: Call<'_>) -> Result<Value> {
    let keys = &call.router.services.keys;
    let by = call.principal;
    match call.operation {
        "CreateKey" => {
            let input: CreateKeyInput = call.input()?;
            let spec = input.key_spec.or(input.customer_master_key_spec);
            if spec.as_deref().is_some_and(|s| s != "SYMMETRIC_DEFAULT")
                || input
                    .key_usage
                    .as_deref()
                    .is_some_and(|u| u != "ENCRYPT_DECRYPT")
                || input.origin.as_deref().is_some_and(|o| o != "AWS_KMS")
            {
                return Err(unsupported(
                    "CreateKey with this KeySpec, KeyUsage or Origin",
                    "the lake's keys are SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys it makes itself",
                ));
            }
            let meta = keys
                .create_key(
                    by,
                    CreateKey {
                        alias: None,
                        description: input.description,
                    },
                )
                .await?;
            // A policy given at creation is the key's policy from the start, as on KMS.
            if let Some(policy) = input.policy {
                keys.put_key_policy(by, &meta.key_id, PolicyDocument::parse(&policy)?, false)
                    .await?;
            }
            output(json!({ "KeyMetadata": meta }))
        }
        "DescribeKey" => {
            let input: KeyId = call.input()?;
            output(json!({ "KeyMetadata": keys.describe_key(by, &input.key_id).await? }))
        }
        "ListKeys" => {
            let page = call.page(paging::KMS, keys.list_keys(by).await?, |k| {
                k.key_id.as_str()
            })?;
            marked(json!({ "Keys": page.items }), page.next)
        }
        "ListAliases" => {
            let input: ListAliasesInput = call.input()?;
            let mut aliases = keys.list_aliases(by).await?;
            if let Some(key) = input.key_id {
                let id = keys.describe_key(by, &key).await?.key_id;
                aliases.retain(|a| a.target_key_id == id);
            }
            let page = call.page(paging::KMS, aliases, |a| a.alias_name.as_str())?;
            marked(json!({ "Aliases": page.items }), page.next)
        }
        "CreateAlias" => {
            let input: CreateAliasInput = call.input()?;
            keys.create_alias(by, &input.alias_name, &input.target_key_id)
                .await?;
            empty()
        }
        "EnableKey" | "DisableKey" => {
            let input: KeyId = call.input()?;
            keys.set_key_enabled(by, &input.key_id, call.operation == "EnableKey")
                .await?;
            empty()
        }
        "ScheduleKeyDeletion" => {
            let input: ScheduleDeletionInput = call.input()?;
            let meta = keys
                .schedule_key_deletion(
                    by,
                    &input.key_id,
                    input.pending_window_in_days.unwrap_or(30),
                )
                .await?;
            output(json!({
                "KeyId": meta.arn,
                "DeletionDate": meta.deletion_date,
                "KeyState": meta.key_state,
                "PendingWindowInDays": meta.pending_deletion_window_in_days,
            }))
        }
        "CancelKeyDeletion" => {
            let input: KeyId = call.input()?;
            let meta = keys.cancel_key_deletion(by, &input.key_id).await?;
            output(json!({ "KeyId": meta.arn }))
        }
        "EnableKeyRotation" => {
            let input: EnableRotationInput = call.input()?;
            keys.set_key_rotation(by, &input.key_id, true, input.rotation_period_in_days)
                .await?;
            empty()
        }
        "DisableKeyRotation" => {
            let input: KeyId = call.input()?;
            keys.set_key_rotation(by, &input.key_id, false, None)
                .await?;
            empty()
        }
        "RotateKeyOnDemand" => {
            let input: KeyId = call.input()?;
            let status = keys.rotate_key_on_demand(by, &input.key_id).await?;
            output(json!({ "KeyId": status.key_id }))
        }
        "GetKeyRotationStatus" => {
            let input: KeyId = call.input()?;
            let status = keys.get_key_rotation_status(by, &input.key_id).await?;
            let mut answer = json!({
                "KeyId": status.key_id,
                "KeyRotationEnabled": status.key_rotation_enabled,
            });
            if let Some(days) = status.rotation_period_in_days {
                answer["RotationPeriodInDays"] = json!(days);
            }
            if let Some(next) = status.next_rotation_date {
                answer["NextRotationDate"] = json!(next);
            }
            output(answer)
        }
        "ListKeyRotations" => {
            let input: KeyId = call.input()?;
            let rotations = keys.list_key_rotations(by, &input.key_id).await?;
            output(json!({ "Rotations": rotations, "Truncated": false }))
        }
        "GetKeyPolicy" => {
            let input: KeyId = call.input()?;
            let policy = keys.get_key_policy(by, &input.key_id).await?;
            output(json!({ "Policy": policy.to_json(), "PolicyName": "default" }))
        }
        "ListKeyPolicies" => {
            let input: KeyId = call.input()?;
            keys.get_key_policy(by, &input.key_id).await?;
            output(json!({ "PolicyNames": ["default"], "Truncated": false }))
        }
        "PutKeyPolicy" => {
            let input: PutKeyPolicyInput = call.input()?;
            let policy = PolicyDocument::parse(&input.policy)?;
            keys.put_key_policy(
                by,
                &input.key_id,
                policy,
                input.bypass_policy_lockout_safety_check,
            )
            .await?;
            empty()
        }
        "TagResource" => {
            let input: TagResourceInput = call.input()?;
            keys.tag_resource(by, &input.key_id, &input.tags).await?;
            empty()
        }
        "UntagResource" => {
            let input: UntagResourceInput = call.input()?;
            keys.untag_resource(by, &input.key_id, &input.tag_keys)
                .await?;
            empty()
        }
        "ListResourceTags" => {
            let input: KeyId = call.input()?;
            let tags = keys.list_resource_tags(by, &input.key_id).await?;
            let page = call.page(paging::KMS, tags, |t| t.tag_key.as_str())?;
            marked(json!({ "Tags": page.items }), page.next)
        }
        "Encrypt" | "Decrypt" | "GenerateDataKey" | "GenerateDataKeyWithoutPlaintext" => {
            super::kms_crypto::call(&call).await
        }
        "ReEncrypt" => Err(unsupported(
            call.operation,
            "decrypt, then encrypt under the other key",
        )),
        _ => Err(call.unknown("KMS")),
    }
}

/// A KMS page's answer: `Truncated`, and `NextMarker` when it is.
fn marked(mut answer: Value, next: Option<String>) -> Result<Value> {
    answer["Truncated"] = json!(next.is_some());
    if let Some(marker) = next {
        answer["NextMarker"] = json!(marker);
    }
    output(answer)
}
