//! Principals: the identities every other service checks. On the local lake they are named
//! users; `admin` exists from the start and lake admins may change the control plane.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::policy::PolicyDocument;
use super::{Principal, Result};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrincipalInfo {
    pub user_name: String,
    pub arn: String,
    /// A lake admin may create principals, keys and buckets (like an IAM administrator).
    pub admin: bool,
    pub create_date: DateTime<Utc>,
}

/// An inline identity policy, as `iam get-user-policy` answers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserPolicy {
    pub user_name: String,
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}

/// A managed policy attached to a user, as `iam list-attached-user-policies` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicy {
    pub policy_name: String,
    pub policy_arn: String,
}

#[async_trait]
pub trait Iam: Send + Sync {
    async fn create_principal(
        &self,
        by: &Principal,
        name: &str,
        admin: bool,
    ) -> Result<PrincipalInfo>;
    async fn list_principals(&self, by: &Principal) -> Result<Vec<PrincipalInfo>>;

    /// Adds or replaces the inline identity policy `policy_name` of `user`.
    async fn put_user_policy(
        &self,
        by: &Principal,
        user: &str,
        policy_name: &str,
        document: &PolicyDocument,
    ) -> Result<()>;
    async fn get_user_policy(
        &self,
        by: &Principal,
        user: &str,
        policy_name: &str,
    ) -> Result<UserPolicy>;
    async fn list_user_policies(&self, by: &Principal, user: &str) -> Result<Vec<String>>;
    async fn delete_user_policy(&self, by: &Principal, user: &str, policy_name: &str)
    -> Result<()>;
    /// Attaches a managed policy by ARN (`arn:aws:iam::aws:policy/ReadOnlyAccess`).
    async fn attach_user_policy(&self, by: &Principal, user: &str, policy_arn: &str) -> Result<()>;
    async fn detach_user_policy(&self, by: &Principal, user: &str, policy_arn: &str) -> Result<()>;
    async fn list_attached_user_policies(
        &self,
        by: &Principal,
        user: &str,
    ) -> Result<Vec<AttachedPolicy>>;
}
