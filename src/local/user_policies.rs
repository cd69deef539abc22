//! IAM identity policies on the local lake: inline policies a principal holds by name, and the
//! AWS managed policies attached to it (by ARN; their documents ship in `managed_policies`).
//! Documents are checked when put, so the authorizer never meets one it cannot evaluate.

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::authorizer::Call;
use super::{Lake, authz, managed_policies};
use crate::service::iam::{AttachedPolicy, UserPolicy};
use crate::service::policy::PolicyDocument;
use crate::service::{Code, Principal, Result, ServiceError};

/// IAM's limit on a user's inline policies, together, in characters other than whitespace.
const INLINE_POLICIES_MAX: usize = 2048;

fn no_such_user(user: &str) -> ServiceError {
    ServiceError::new(
        Code::NoSuchEntity,
        format!("The user with name {user} cannot be found."),
    )
}

impl Lake {
    pub(super) fn user_exists(&self, tx: &Transaction, user: &str) -> Result<()> {
        tx.query_row(
            "SELECT 1 FROM principals WHERE name = ?1",
            params![user],
            |_| Ok(()),
        )
        .optional()?
        .ok_or_else(|| no_such_user(user))
    }

    /// An IAM call on one user: decided on the user's ARN.
    pub(super) fn user_call(&self, operation: &'static str, user: &str) -> Call {
        Call::new("iam", operation, user).on(self.user_arn(user))
    }

    pub(super) fn put_user_policy_local(
        &self,
        by: &Principal,
        user: &str,
        policy_name: &str,
        document: &PolicyDocument,
    ) -> Result<()> {
        self.audited(by, self.user_call("PutUserPolicy", user), |tx, _| {
            self.user_exists(tx, user)?;
            super::iam::check_name("policy", policy_name, 128)?;
            // The same checks as a document read back: no Principal, operators evaluable.
            let text = document.to_json();
            PolicyDocument::parse_identity(&text)?;
            authz::check_supported(document)
                .map_err(|e| ServiceError::new(Code::MalformedPolicyDocument, e.message))?;
            // IAM's quota: a user's inline policies together hold at most 2,048 characters
            // (whitespace aside). Every call the user makes evaluates them, so they stay small.
            let others: String = tx
                .query_row(
                    "SELECT coalesce(group_concat(document, ''), '') FROM user_policies
                     WHERE principal = ?1 AND name <> ?2",
                    params![user, policy_name],
                    |r| r.get(0),
                )?;
            let size = |t: &str| t.chars().filter(|c| !c.is_whitespace()).count();
            if size(&others) + size(&text) > INLINE_POLICIES_MAX {
                return Err(ServiceError::new(
                    Code::LimitExceeded,
                    format!(
                        "Maximum policy size of {INLINE_POLICIES_MAX} bytes exceeded for user {user}"
                    ),
                ));
            }
            tx.execute(
                "INSERT INTO user_policies(principal, name, document) VALUES (?1, ?2, ?3)
                 ON CONFLICT(principal, name) DO UPDATE SET document = excluded.document",
                params![user, policy_name, text],
            )?;
            Ok(((), json!({"UserName": user, "PolicyName": policy_name})))
        })
    }

    pub(super) fn get_user_policy_local(
        &self,
        by: &Principal,
        user: &str,
        policy_name: &str,
    ) -> Result<UserPolicy> {
        self.reading(by, self.user_call("GetUserPolicy", user), |tx, _| {
            self.user_exists(tx, user)?;
            let text: String = tx
                .query_row(
                    "SELECT document FROM user_policies WHERE principal = ?1 AND name = ?2",
                    params![user, policy_name],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| {
                    ServiceError::new(
                        Code::NoSuchEntity,
                        format!("The user policy with name {policy_name} cannot be found."),
                    )
                })?;
            Ok(UserPolicy {
                user_name: user.into(),
                policy_name: policy_name.into(),
                policy_document: PolicyDocument::parse_identity(&text)?,
            })
        })
    }

    pub(super) fn list_user_policies_local(
        &self,
        by: &Principal,
        user: &str,
    ) -> Result<Vec<String>> {
        self.reading(by, self.user_call("ListUserPolicies", user), |tx, _| {
            self.user_exists(tx, user)?;
            let names = tx
                .prepare("SELECT name FROM user_policies WHERE principal = ?1 ORDER BY name")?
                .query_map(params![user], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(names)
        })
    }

    pub(super) fn delete_user_policy_local(
        &self,
        by: &Principal,
        user: &str,
        policy_name: &str,
    ) -> Result<()> {
        self.audited(by, self.user_call("DeleteUserPolicy", user), |tx, _| {
            self.user_exists(tx, user)?;
            let n = tx.execute(
                "DELETE FROM user_policies WHERE principal = ?1 AND name = ?2",
                params![user, policy_name],
            )?;
            if n == 0 {
                return Err(ServiceError::new(
                    Code::NoSuchEntity,
                    format!("The user policy with name {policy_name} cannot be found."),
                ));
            }
            Ok(((), json!({"UserName": user, "PolicyName": policy_name})))
        })
    }

    pub(super) fn attach_user_policy_local(
        &self,
        by: &Principal,
        user: &str,
        policy_arn: &str,
    ) -> Result<()> {
        self.audited(by, self.user_call("AttachUserPolicy", user), |tx, _| {
            self.user_exists(tx, user)?;
            let managed = managed_policies::find(policy_arn)?;
            tx.execute(
                "INSERT INTO attached_policies(principal, arn) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![user, managed.arn()],
            )?;
            Ok(((), json!({"UserName": user, "PolicyArn": managed.arn()})))
        })
    }

    pub(super) fn detach_user_policy_local(
        &self,
        by: &Principal,
        user: &str,
        policy_arn: &str,
    ) -> Result<()> {
        self.audited(by, self.user_call("DetachUserPolicy", user), |tx, _| {
            self.user_exists(tx, user)?;
            let arn = managed_policies::find(policy_arn)
                .map(|m| m.arn())
                .unwrap_or_else(|_| policy_arn.to_string());
            let n = tx.execute(
                "DELETE FROM attached_policies WHERE principal = ?1 AND arn = ?2",
                params![user, arn],
            )?;
            if n == 0 {
                return Err(ServiceError::new(
                    Code::NoSuchEntity,
                    format!("Policy {policy_arn} is not attached to user {user}."),
                ));
            }
            Ok(((), json!({"UserName": user, "PolicyArn": arn})))
        })
    }

    pub(super) fn list_attached_user_policies_local(
        &self,
        by: &Principal,
        user: &str,
    ) -> Result<Vec<AttachedPolicy>> {
        self.reading(
            by,
            self.user_call("ListAttachedUserPolicies", user),
            |tx, _| {
                self.user_exists(tx, user)?;
                let arns: Vec<String> = tx
                    .prepare("SELECT arn FROM attached_policies WHERE principal = ?1 ORDER BY arn")?
                    .query_map(params![user], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                arns.into_iter()
                    .map(|arn| {
                        let m = managed_policies::find(&arn)?;
                        Ok(AttachedPolicy {
                            policy_name: m.name.into(),
                            policy_arn: arn,
                        })
                    })
                    .collect()
            },
        )
    }
}
