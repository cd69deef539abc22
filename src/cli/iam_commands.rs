//! The `iam` commands: principals, the identity policies that decide what each may call, and
//! the access keys that sign requests to `lakectl serve`. Kept apart from the other services'
//! commands because the policy commands are a family of their own (inline policies by name, AWS
//! managed policies by ARN).

use clap::{Subcommand, ValueEnum};

use crate::service::iam::AccessKeyStatus;

/// `--status` of `update-access-key`, in IAM's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    #[value(name = "Active")]
    Active,
    #[value(name = "Inactive")]
    Inactive,
}

impl From<StatusArg> for AccessKeyStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Active => AccessKeyStatus::Active,
            StatusArg::Inactive => AccessKeyStatus::Inactive,
        }
    }
}

/// One `--context-entries` entry of `simulate-principal-policy`: a condition key and its values.
/// IAM's `ContextKeyType` is accepted (scripts written for AWS pass it) but not kept: the lake's
/// condition operators decide how to compare a value, whatever type it was given as.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ContextEntry {
    pub context_key_name: String,
    #[serde(default)]
    pub context_key_values: Vec<String>,
    #[serde(default)]
    pub context_key_type: Option<String>,
}

/// The shorthand's member names; a comma-separated word that does not start with one of these
/// is one more value of the member before it (`ContextKeyValues=a,b`).
const CONTEXT_MEMBERS: [&str; 3] = ["ContextKeyName", "ContextKeyValues", "ContextKeyType"];

/// One `--context-entries` argument: JSON (an entry or a list of them) or the shorthand.
fn parse_context_entries(text: &str) -> std::result::Result<Vec<ContextEntry>, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str(trimmed)
            .map_err(|e| format!("not a list of context entries: {e}"));
    }
    if trimmed.starts_with('{') {
        return serde_json::from_str(trimmed)
            .map(|entry| vec![entry])
            .map_err(|e| format!("not a context entry: {e}"));
    }
    let (mut name, mut values, mut key_type) = (None, Vec::new(), None);
    let mut current: Option<&str> = None;
    for word in text.split(',') {
        let member = word
            .split_once('=')
            .filter(|(member, _)| CONTEXT_MEMBERS.contains(member));
        let (member, value) = match member {
            Some((member, value)) => {
                current = Some(member);
                (member, value)
            }
            None => match current {
                Some("ContextKeyValues") => ("ContextKeyValues", word),
                _ => {
                    return Err(format!(
                        "a context entry is ContextKeyName=KEY,ContextKeyValues=V1,V2[,ContextKeyType=TYPE], not {text:?}"
                    ));
                }
            },
        };
        match member {
            "ContextKeyName" => name = Some(value.to_string()),
            "ContextKeyValues" => values.push(value.to_string()),
            _ => key_type = Some(value.to_string()),
        }
    }
    let context_key_name =
        name.ok_or_else(|| format!("a context entry needs ContextKeyName=, not {text:?}"))?;
    Ok(vec![ContextEntry {
        context_key_name,
        context_key_values: values,
        context_key_type: key_type,
    }])
}

#[derive(Debug, Subcommand)]
pub enum IamCommand {
    /// Create a principal
    CreatePrincipal {
        #[arg(long)]
        name: String,
        /// Make it a lake admin: it stands for the account's root user, so every call is
        /// allowed unless a resource policy (bucket or key policy) denies or leaves it out
        #[arg(long)]
        admin: bool,
    },
    /// List the users (the lake's principals), in IAM's shape; whether each is a lake admin is
    /// under `Lakectl`
    #[command(visible_alias = "list-principals")]
    ListUsers,
    /// Delete a user (IAM's DeleteUser). Refused (DeleteConflict) while it has access keys,
    /// policies or Lake Formation grants, or is a lake admin: remove those first
    DeleteUser {
        #[arg(long)]
        user_name: String,
    },
    /// What a user's identity policies decide for actions on resources (IAM's
    /// SimulatePrincipalPolicy), by the same evaluation the lake enforces every call with
    SimulatePrincipalPolicy {
        /// The user's ARN (arn:aws:iam::ACCOUNT:user/NAME) or name
        #[arg(long)]
        policy_source_arn: String,
        /// IAM actions (s3:GetObject ...)
        #[arg(long, num_args = 1.., required = true)]
        action_names: Vec<String>,
        /// Resource ARNs (default: *)
        #[arg(long, num_args = 1..)]
        resource_arns: Vec<String>,
        /// Condition keys and their values, each in the AWS CLI's shorthand
        /// (`ContextKeyName=aws:SourceIp,ContextKeyValues=10.0.0.1,ContextKeyType=ip`) or as JSON
        /// (`[{"ContextKeyName": "...", "ContextKeyValues": ["..."], "ContextKeyType": "string"}]`)
        #[arg(long, num_args = 1.., value_parser = parse_context_entries)]
        context_entries: Vec<Vec<ContextEntry>>,
    },
    /// Add or replace an inline identity policy of a user (IAM policy evaluation: an explicit
    /// Deny in any policy wins, then an Allow in an identity policy or the resource's policy;
    /// otherwise AccessDenied, whose message names the policy and Sid that decided)
    PutUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_name: String,
        /// The policy: file://PATH or the JSON itself (no Principal: it applies to the user)
        #[arg(long)]
        policy_document: String,
    },
    /// Show an inline identity policy of a user
    GetUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_name: String,
    },
    /// List the names of a user's inline identity policies
    ListUserPolicies {
        #[arg(long)]
        user_name: String,
    },
    /// Remove an inline identity policy of a user
    DeleteUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_name: String,
    },
    /// Attach an AWS managed policy (arn:aws:iam::aws:policy/NAME: ReadOnlyAccess,
    /// AdministratorAccess, AmazonAthenaFullAccess, AWSGlueConsoleFullAccess,
    /// AWSLakeFormationDataAdmin, AmazonS3ReadOnlyAccess, AmazonS3FullAccess, ...)
    AttachUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_arn: String,
    },
    /// Detach a managed policy from a user
    DetachUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_arn: String,
    },
    /// List the managed policies attached to a user
    ListAttachedUserPolicies {
        #[arg(long)]
        user_name: String,
    },
    /// Create an access key (at most two per user) for signing requests to `lakectl serve`.
    /// The answer is the only time the secret is shown: keep it, it cannot be read again
    CreateAccessKey {
        /// The user (default: the caller)
        #[arg(long)]
        user_name: Option<String>,
    },
    /// List a user's access keys: ids and status, never the secrets
    ListAccessKeys {
        /// The user (default: the caller)
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Make an access key Active or Inactive (an Inactive key signs nothing)
    UpdateAccessKey {
        #[arg(long)]
        access_key_id: String,
        #[arg(long)]
        status: StatusArg,
        /// The user (default: the caller)
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Delete an access key
    DeleteAccessKey {
        #[arg(long)]
        access_key_id: String,
        /// The user (default: the caller)
        #[arg(long)]
        user_name: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::{ContextEntry, parse_context_entries};

    fn entry(name: &str, values: &[&str], key_type: Option<&str>) -> ContextEntry {
        ContextEntry {
            context_key_name: name.into(),
            context_key_values: values.iter().map(|v| v.to_string()).collect(),
            context_key_type: key_type.map(str::to_string),
        }
    }

    #[test]
    fn context_entries_read_the_aws_cli_shorthand_and_json_alike() {
        assert_eq!(
            parse_context_entries("ContextKeyName=aws:SourceIp,ContextKeyValues=10.0.0.1,10.0.0.2,ContextKeyType=ipList").unwrap(),
            vec![entry("aws:SourceIp", &["10.0.0.1", "10.0.0.2"], Some("ipList"))]
        );
        assert_eq!(
            parse_context_entries(r#"[{"ContextKeyName": "s3:prefix", "ContextKeyValues": ["raw/"], "ContextKeyType": "string"}]"#).unwrap(),
            vec![entry("s3:prefix", &["raw/"], Some("string"))]
        );
        assert_eq!(
            parse_context_entries(r#"{"ContextKeyName": "k", "ContextKeyValues": ["v"]}"#).unwrap(),
            vec![entry("k", &["v"], None)]
        );
    }

    #[test]
    fn a_context_entry_without_its_name_or_with_a_stray_word_is_refused() {
        assert!(parse_context_entries("ContextKeyValues=a").is_err());
        assert!(parse_context_entries("stray,ContextKeyName=k").is_err());
        assert!(parse_context_entries("ContextKeyName=k,oops").is_err());
        assert!(parse_context_entries(r#"[{"ContextKeyName": "k", "Other": 1}]"#).is_err());
    }
}
