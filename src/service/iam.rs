//! Principals: the identities every other service checks. On the local lake they are named
//! users; `admin` exists from the start and lake admins may change the control plane.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

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

#[async_trait]
pub trait Iam: Send + Sync {
    async fn create_principal(
        &self,
        by: &Principal,
        name: &str,
        admin: bool,
    ) -> Result<PrincipalInfo>;
    async fn list_principals(&self, by: &Principal) -> Result<Vec<PrincipalInfo>>;
}
