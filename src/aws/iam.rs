//! Principals as IAM users: the ARNs the seed's policies name (`…:user/NAME`). An admin principal
//! gets the AWS-managed AdministratorAccess policy, as the local lake's admins may do anything.

use async_trait::async_trait;

use super::{Aws, aws_error, time};
use aws_sdk_iam::types::StatusType;

use crate::service::iam::{
    AccessKey, AccessKeyMetadata, AccessKeyStatus, AttachedPolicy, CallerIdentity, EvalDecision,
    EvaluationResult, Iam, MatchedStatement, PrincipalInfo, SecretString, Simulation, UserPolicy,
};
use crate::service::policy::PolicyDocument;
use crate::service::{Code, Principal, Result, ServiceError};

const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

impl Aws {
    async fn is_admin(&self, user: &str) -> Result<bool> {
        let mut pages = self
            .iam
            .list_attached_user_policies()
            .user_name(user)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("iam:ListAttachedUserPolicies", e))?;
            if page
                .attached_policies()
                .iter()
                .any(|p| p.policy_arn() == Some(ADMINISTRATOR_ACCESS))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[async_trait]
impl Iam for Aws {
    /// The credentials' identity, which STS told at connection (the acting principal on AWS is
    /// always the credentials').
    async fn caller_identity(&self, _by: &Principal) -> Result<CallerIdentity> {
        let identity = &self.identity;
        Ok(CallerIdentity {
            user_id: identity.name.clone(),
            account: identity.account.clone(),
            arn: identity.arn.clone(),
        })
    }

    async fn create_principal(
        &self,
        by: &Principal,
        name: &str,
        admin: bool,
    ) -> Result<PrincipalInfo> {
        self.acting(by)?;
        let created = self
            .iam
            .create_user()
            .user_name(name)
            .send()
            .await
            .map_err(|e| aws_error("iam:CreateUser", e))?;
        if admin
            && let Err(e) = self
                .iam
                .attach_user_policy()
                .user_name(name)
                .policy_arn(ADMINISTRATOR_ACCESS)
                .send()
                .await
        {
            let _ = self.iam.delete_user().user_name(name).send().await;
            return Err(aws_error("iam:AttachUserPolicy", e));
        }
        let user = created.user();
        Ok(PrincipalInfo {
            user_name: name.to_string(),
            arn: user
                .map(|u| u.arn().to_string())
                .unwrap_or_else(|| self.principal_arn_of(name)),
            admin,
            create_date: time(user.map(|u| u.create_date())),
        })
    }

    async fn list_principals(&self, by: &Principal) -> Result<Vec<PrincipalInfo>> {
        self.acting(by)?;
        let mut users = Vec::new();
        let mut pages = self.iam.list_users().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("iam:ListUsers", e))?;
            users.extend(page.users().iter().cloned());
        }
        let mut out = Vec::with_capacity(users.len());
        for user in users {
            out.push(PrincipalInfo {
                admin: self.is_admin(user.user_name()).await?,
                user_name: user.user_name().to_string(),
                arn: user.arn().to_string(),
                create_date: time(Some(user.create_date())),
            });
        }
        Ok(out)
    }

    async fn put_user_policy(
        &self,
        by: &Principal,
        user: &str,
        policy_name: &str,
        document: &PolicyDocument,
    ) -> Result<()> {
        self.acting(by)?;
        self.iam
            .put_user_policy()
            .user_name(user)
            .policy_name(policy_name)
            .policy_document(document.to_json())
            .send()
            .await
            .map_err(|e| aws_error("iam:PutUserPolicy", e))?;
        Ok(())
    }

    async fn get_user_policy(
        &self,
        by: &Principal,
        user: &str,
        policy_name: &str,
    ) -> Result<UserPolicy> {
        self.acting(by)?;
        let out = self
            .iam
            .get_user_policy()
            .user_name(user)
            .policy_name(policy_name)
            .send()
            .await
            .map_err(|e| aws_error("iam:GetUserPolicy", e))?;
        // IAM returns the document URL-encoded (RFC 3986).
        let text = percent_encoding::percent_decode_str(out.policy_document())
            .decode_utf8()
            .map_err(|e| {
                ServiceError::new(
                    Code::AwsService,
                    format!(
                        "iam:GetUserPolicy returned a document that is not URL-encoded UTF-8: {e}"
                    ),
                )
            })?;
        Ok(UserPolicy {
            user_name: out.user_name().to_string(),
            policy_name: out.policy_name().to_string(),
            policy_document: PolicyDocument::parse_identity(&text)?,
        })
    }

    async fn list_user_policies(&self, by: &Principal, user: &str) -> Result<Vec<String>> {
        self.acting(by)?;
        let mut names = Vec::new();
        let mut pages = self
            .iam
            .list_user_policies()
            .user_name(user)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("iam:ListUserPolicies", e))?;
            names.extend(page.policy_names().iter().cloned());
        }
        Ok(names)
    }

    async fn delete_user_policy(
        &self,
        by: &Principal,
        user: &str,
        policy_name: &str,
    ) -> Result<()> {
        self.acting(by)?;
        self.iam
            .delete_user_policy()
            .user_name(user)
            .policy_name(policy_name)
            .send()
            .await
            .map_err(|e| aws_error("iam:DeleteUserPolicy", e))?;
        Ok(())
    }

    async fn attach_user_policy(&self, by: &Principal, user: &str, policy_arn: &str) -> Result<()> {
        self.acting(by)?;
        self.iam
            .attach_user_policy()
            .user_name(user)
            .policy_arn(managed_arn(policy_arn))
            .send()
            .await
            .map_err(|e| aws_error("iam:AttachUserPolicy", e))?;
        Ok(())
    }

    async fn detach_user_policy(&self, by: &Principal, user: &str, policy_arn: &str) -> Result<()> {
        self.acting(by)?;
        self.iam
            .detach_user_policy()
            .user_name(user)
            .policy_arn(managed_arn(policy_arn))
            .send()
            .await
            .map_err(|e| aws_error("iam:DetachUserPolicy", e))?;
        Ok(())
    }

    async fn list_attached_user_policies(
        &self,
        by: &Principal,
        user: &str,
    ) -> Result<Vec<AttachedPolicy>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self
            .iam
            .list_attached_user_policies()
            .user_name(user)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("iam:ListAttachedUserPolicies", e))?;
            out.extend(page.attached_policies().iter().map(|p| AttachedPolicy {
                policy_name: p.policy_name().unwrap_or_default().to_string(),
                policy_arn: p.policy_arn().unwrap_or_default().to_string(),
            }));
        }
        Ok(out)
    }

    // Access keys: without a user, IAM acts on the user whose credentials sign the request,
    // so the name is sent only when given.

    async fn create_access_key(&self, by: &Principal, user: Option<&str>) -> Result<AccessKey> {
        self.acting(by)?;
        let out = self
            .iam
            .create_access_key()
            .set_user_name(user.map(str::to_string))
            .send()
            .await
            .map_err(|e| aws_error("iam:CreateAccessKey", e))?;
        let key = out.access_key().ok_or_else(|| {
            ServiceError::new(
                Code::AwsService,
                "iam:CreateAccessKey answered without the key",
            )
        })?;
        Ok(AccessKey {
            user_name: key.user_name().to_string(),
            access_key_id: key.access_key_id().to_string(),
            status: status_from(key.status()),
            secret_access_key: SecretString::new(key.secret_access_key().to_string()),
            create_date: time(key.create_date()),
        })
    }

    async fn list_access_keys(
        &self,
        by: &Principal,
        user: Option<&str>,
    ) -> Result<Vec<AccessKeyMetadata>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self
            .iam
            .list_access_keys()
            .set_user_name(user.map(str::to_string))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("iam:ListAccessKeys", e))?;
            out.extend(page.access_key_metadata().iter().map(|k| {
                AccessKeyMetadata {
                    user_name: k.user_name().unwrap_or_default().to_string(),
                    access_key_id: k.access_key_id().unwrap_or_default().to_string(),
                    status: k
                        .status()
                        .map(status_from)
                        .unwrap_or(AccessKeyStatus::Inactive),
                    create_date: time(k.create_date()),
                }
            }));
        }
        Ok(out)
    }

    async fn update_access_key(
        &self,
        by: &Principal,
        user: Option<&str>,
        access_key_id: &str,
        status: AccessKeyStatus,
    ) -> Result<()> {
        self.acting(by)?;
        let status = match status {
            AccessKeyStatus::Active => StatusType::Active,
            AccessKeyStatus::Inactive => StatusType::Inactive,
        };
        self.iam
            .update_access_key()
            .set_user_name(user.map(str::to_string))
            .access_key_id(access_key_id)
            .status(status)
            .send()
            .await
            .map_err(|e| aws_error("iam:UpdateAccessKey", e))?;
        Ok(())
    }

    async fn delete_user(&self, by: &Principal, user: &str) -> Result<()> {
        self.acting(by)?;
        self.iam
            .delete_user()
            .user_name(user)
            .send()
            .await
            .map_err(|e| aws_error("iam:DeleteUser", e))?;
        Ok(())
    }

    async fn simulate_principal_policy(
        &self,
        by: &Principal,
        policy_source: &str,
        simulation: &Simulation,
    ) -> Result<Vec<EvaluationResult>> {
        self.acting(by)?;
        // A bare name is this account's user, as on the local lake.
        let source = if policy_source.starts_with("arn:") {
            policy_source.to_string()
        } else {
            format!(
                "arn:aws:iam::{}:user/{policy_source}",
                self.identity.account
            )
        };
        let mut context = Vec::new();
        for (key, value) in &simulation.context {
            context.push(
                aws_sdk_iam::types::ContextEntry::builder()
                    .context_key_name(key)
                    .context_key_values(value)
                    .context_key_type(aws_sdk_iam::types::ContextKeyTypeEnum::String)
                    .build(),
            );
        }
        let mut pages = self
            .iam
            .simulate_principal_policy()
            .policy_source_arn(source)
            .set_action_names(Some(simulation.action_names.clone()))
            .set_resource_arns(Some(simulation.resource_arns.clone()).filter(|r| !r.is_empty()))
            .set_context_entries(Some(context).filter(|c| !c.is_empty()))
            .into_paginator()
            .send();
        let mut results = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("iam:SimulatePrincipalPolicy", e))?;
            for r in page.evaluation_results() {
                results.push(EvaluationResult {
                    eval_action_name: r.eval_action_name().to_string(),
                    eval_resource_name: r.eval_resource_name().unwrap_or("*").to_string(),
                    eval_decision: EvalDecision::parse(r.eval_decision().as_str())
                        .unwrap_or(EvalDecision::ImplicitDeny),
                    matched_statements: r
                        .matched_statements()
                        .iter()
                        .map(|m| MatchedStatement {
                            source_policy_id: m.source_policy_id().unwrap_or_default().to_string(),
                            source_policy_type: m
                                .source_policy_type()
                                .map(|t| t.as_str().to_string())
                                .unwrap_or_default(),
                        })
                        .collect(),
                    missing_context_values: r.missing_context_values().to_vec(),
                });
            }
        }
        Ok(results)
    }

    async fn delete_access_key(
        &self,
        by: &Principal,
        user: Option<&str>,
        access_key_id: &str,
    ) -> Result<()> {
        self.acting(by)?;
        self.iam
            .delete_access_key()
            .set_user_name(user.map(str::to_string))
            .access_key_id(access_key_id)
            .send()
            .await
            .map_err(|e| aws_error("iam:DeleteAccessKey", e))?;
        Ok(())
    }
}

/// IAM's status as the service layer's: only an Active key signs, so anything else (Expired,
/// a status this SDK does not know) reads as Inactive.
fn status_from(status: &StatusType) -> AccessKeyStatus {
    match status {
        StatusType::Active => AccessKeyStatus::Active,
        _ => AccessKeyStatus::Inactive,
    }
}

/// A bare managed policy name (`ReadOnlyAccess`) means the AWS managed policy, as on the
/// local lake; an ARN passes as given.
fn managed_arn(arn_or_name: &str) -> String {
    if arn_or_name.starts_with("arn:") {
        arn_or_name.to_string()
    } else {
        format!("arn:aws:iam::aws:policy/{arn_or_name}")
    }
}
