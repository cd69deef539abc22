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
