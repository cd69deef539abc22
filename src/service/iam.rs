//! Principals: the identities every other service checks. On the local lake they are named
//! users; `admin` exists from the start and lake admins may change the control plane.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

/// Whether an access key may sign requests (IAM's `Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessKeyStatus {
    Active,
    Inactive,
}

impl AccessKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKeyStatus::Active => "Active",
            AccessKeyStatus::Inactive => "Inactive",
        }
    }

    /// IAM's names, exactly (`Active`, `Inactive`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Active" => Some(AccessKeyStatus::Active),
            "Inactive" => Some(AccessKeyStatus::Inactive),
            _ => None,
        }
    }
}

/// A secret access key in memory: wiped when dropped, and left out of Debug so that no log,
/// panic message or error can carry it. Only `expose` (and serializing the one answer that
/// must hand it over, `create-access-key`'s) reads it. No `PartialEq`: comparing secrets is
/// not something callers should do with `==` (it is not constant-time).
#[derive(Clone)]
pub struct SecretString(zeroize::Zeroizing<String>);

impl SecretString {
    pub fn new(secret: String) -> Self {
        SecretString(zeroize::Zeroizing::new(secret))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl Serialize for SecretString {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A new access key as `iam create-access-key` answers: the only answer that carries the
/// secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKey {
    pub user_name: String,
    pub access_key_id: String,
    pub status: AccessKeyStatus,
    pub secret_access_key: SecretString,
    pub create_date: DateTime<Utc>,
}

/// An access key as `iam list-access-keys` answers: never the secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKeyMetadata {
    pub user_name: String,
    pub access_key_id: String,
    pub status: AccessKeyStatus,
    pub create_date: DateTime<Utc>,
}

/// Who the caller is, as `sts get-caller-identity` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallerIdentity {
    pub user_id: String,
    pub account: String,
    pub arn: String,
}

/// IAM's `EvalDecision`: what the caller's identity policies decide for one action on one
/// resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EvalDecision {
    #[serde(rename = "allowed")]
    Allowed,
    #[serde(rename = "explicitDeny")]
    ExplicitDeny,
    #[serde(rename = "implicitDeny")]
    ImplicitDeny,
}

impl EvalDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            EvalDecision::Allowed => "allowed",
            EvalDecision::ExplicitDeny => "explicitDeny",
            EvalDecision::ImplicitDeny => "implicitDeny",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EvalDecision::Allowed,
            EvalDecision::ExplicitDeny,
            EvalDecision::ImplicitDeny,
        ]
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(s))
    }
}

/// The statement that decided, as IAM's `MatchedStatements` names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MatchedStatement {
    /// The policy and statement (`inline policy lake-user, statement ReadRaw`).
    pub source_policy_id: String,
    /// IAM's `PolicySourceType`: `user` (inline), `aws-managed`, or `none` (a lake admin).
    pub source_policy_type: String,
}

/// One action on one resource as `iam simulate-principal-policy` answers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EvaluationResult {
    pub eval_action_name: String,
    pub eval_resource_name: String,
    pub eval_decision: EvalDecision,
    pub matched_statements: Vec<MatchedStatement>,
    /// Condition keys the policies ask for that the simulation was not given (IAM's member; the
    /// lake's conditions read a missing key as absent, so this stays empty).
    pub missing_context_values: Vec<String>,
}

/// What `iam simulate-principal-policy` weighs: the user's identity policies, for each action
/// on each resource (`*` when none is named), with these condition keys.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Simulation {
    pub action_names: Vec<String>,
    pub resource_arns: Vec<String>,
    pub context: Vec<(String, String)>,
}

#[async_trait]
pub trait Iam: Send + Sync {
    /// Who `by` is. Like STS, it needs no permission, but the principal must exist.
    async fn caller_identity(&self, by: &Principal) -> Result<CallerIdentity>;
    async fn create_principal(
        &self,
        by: &Principal,
        name: &str,
        admin: bool,
    ) -> Result<PrincipalInfo>;
    async fn list_principals(&self, by: &Principal) -> Result<Vec<PrincipalInfo>>;
    /// Deletes a user (IAM's DeleteUser): refused with DeleteConflict while it has access
    /// keys or policies, as IAM refuses; the lake also refuses while it holds Lake Formation
    /// grants (a user made later with the name would inherit them) or is a lake admin.
    async fn delete_user(&self, by: &Principal, user: &str) -> Result<()>;
    /// Weighs `simulation` against the identity policies of `policy_source` (a user's ARN or
    /// name), by the evaluation the lake enforces every call with.
    async fn simulate_principal_policy(
        &self,
        by: &Principal,
        policy_source: &str,
        simulation: &Simulation,
    ) -> Result<Vec<EvaluationResult>>;

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

    /// A new access key for `user` (the caller when `None`, as in IAM); at most two per user.
    async fn create_access_key(&self, by: &Principal, user: Option<&str>) -> Result<AccessKey>;
    async fn list_access_keys(
        &self,
        by: &Principal,
        user: Option<&str>,
    ) -> Result<Vec<AccessKeyMetadata>>;
    async fn update_access_key(
        &self,
        by: &Principal,
        user: Option<&str>,
        access_key_id: &str,
        status: AccessKeyStatus,
    ) -> Result<()>;
    async fn delete_access_key(
        &self,
        by: &Principal,
        user: Option<&str>,
        access_key_id: &str,
    ) -> Result<()>;
}
