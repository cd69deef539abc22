//! Principals as IAM users: the ARNs the seed's policies name (`…:user/NAME`). An admin principal
//! gets the AWS-managed AdministratorAccess policy, as the local lake's admins may do anything.

use async_trait::async_trait;

use super::{Aws, aws_error, time};
use crate::service::iam::{Iam, PrincipalInfo};
use crate::service::{Principal, Result};

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
}
