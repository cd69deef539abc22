//! The `iam` commands: principals, and the identity policies that decide what each may call.
//! Kept apart from the other services' commands because the policy commands are a family of
//! their own (inline policies by name, AWS managed policies by ARN).

use clap::Subcommand;

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
    /// List the principals
    ListPrincipals,
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
}
