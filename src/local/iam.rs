//! Principals and the audit service on the local lake. Principals are named users; lake admins
//! manage the control plane and read the audit log.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};

use super::authorizer::Call;
use super::{Lake, now, parse_ts, ts};
use crate::service::access::{DataLakePrincipal, DataLakeSettings};
use crate::service::audit::{Audit, AuditEvent, AuditVerification};
use crate::service::iam::{
    AccessKey, AccessKeyMetadata, AccessKeyStatus, AttachedPolicy, CallerIdentity, Iam,
    PrincipalInfo, UserPolicy,
};
use crate::service::policy::PolicyDocument;
use crate::service::{Code, Principal, Result, ServiceError};

/// IAM's rule for names (users up to 64 characters, policies up to 128): `what` says which.
pub(super) fn check_name(what: &str, name: &str, max: usize) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(format!(
            "{what} name {name:?} is not valid: use 1 to {max} letters, digits or +=,.@_-"
        )))
    }
}

/// Names are unique case-insensitively, as IAM's user names are (`ADMIN` when `admin` exists
/// is refused); the write transaction makes the check and the insert one step.
pub(super) fn insert_principal(tx: &Transaction, name: &str, admin: bool) -> Result<()> {
    check_name("principal", name, 64)?;
    let existing: Option<String> = tx
        .query_row(
            "SELECT name FROM principals WHERE name = ?1 COLLATE NOCASE",
            params![name],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(existing) = existing {
        return Err(ServiceError::new(
            Code::EntityAlreadyExists,
            format!(
                "User with name {name} already exists (as {existing}: names are unique regardless of case)."
            ),
        ));
    }
    tx.execute(
        "INSERT INTO principals(name, admin, created) VALUES (?1, ?2, ?3)",
        params![name, admin, ts(now())],
    )?;
    Ok(())
}

impl Lake {
    /// Lake Formation's data lake admins are the lake's admins.
    pub(super) fn data_lake_settings(&self, by: &Principal) -> Result<DataLakeSettings> {
        self.reading(
            by,
            Call::new("lakeformation", "GetDataLakeSettings", "*"),
            |tx, _| {
                let mut stmt =
                    tx.prepare("SELECT name FROM principals WHERE admin = 1 ORDER BY name")?;
                let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
                Ok(DataLakeSettings {
                    data_lake_admins: names
                        .map(|n| {
                            Ok(DataLakePrincipal {
                                data_lake_principal_identifier: n?,
                            })
                        })
                        .collect::<Result<_>>()?,
                })
            },
        )
    }

    pub(super) fn set_data_lake_admins(&self, by: &Principal, admins: &[String]) -> Result<()> {
        self.audited(by, Call::new("lakeformation", "PutDataLakeSettings", "*"), |tx, _| {
            if !admins.iter().any(|a| a == by.name()) {
                return Err(ServiceError::new(
                    Code::InvalidInputException,
                    format!("the admins must include you ({by}): otherwise this change would lock you out of it"),
                ));
            }
            for name in admins {
                let known = tx.execute("UPDATE principals SET admin = 1 WHERE name = ?1", params![name])?;
                if known == 0 {
                    return Err(ServiceError::new(
                        Code::EntityNotFoundException,
                        format!("principal {name:?} does not exist"),
                    ));
                }
            }
            let placeholders = vec!["?"; admins.len()].join(",");
            tx.execute(
                &format!("UPDATE principals SET admin = 0 WHERE name NOT IN ({placeholders})"),
                rusqlite::params_from_iter(admins),
            )?;
            Ok(((), serde_json::json!({ "DataLakeAdmins": admins })))
        })
    }

    fn principal_info(&self, name: String, admin: bool, created: String) -> PrincipalInfo {
        PrincipalInfo {
            arn: self.user_arn(&name),
            user_name: name,
            admin,
            create_date: parse_ts(&created),
        }
    }
}

#[async_trait]
impl Iam for Lake {
    async fn create_principal(
        &self,
        by: &Principal,
        name: &str,
        admin: bool,
    ) -> Result<PrincipalInfo> {
        self.audited(
            by,
            Call::new("iam", "CreateUser", name).on(self.user_arn(name)),
            |tx, _| {
                insert_principal(tx, name, admin)?;
                let info = self.principal_info(name.into(), admin, ts(now()));
                Ok((
                    info,
                    serde_json::json!({ "UserName": name, "Admin": admin }),
                ))
            },
        )
    }

    async fn caller_identity(&self, by: &Principal) -> Result<CallerIdentity> {
        let caller = self.meta.read(|tx| self.caller(tx, by))?;
        Ok(CallerIdentity {
            user_id: caller.name,
            account: self.header.account_id.clone(),
            arn: caller.arn,
        })
    }

    async fn list_principals(&self, by: &Principal) -> Result<Vec<PrincipalInfo>> {
        self.reading(by, Call::new("iam", "ListUsers", "*"), |tx, _| {
            let mut stmt =
                tx.prepare("SELECT name, admin, created FROM principals ORDER BY name")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.map(|r| {
                let (name, admin, created) = r?;
                Ok(self.principal_info(name, admin, created))
            })
            .collect()
        })
    }

    async fn put_user_policy(
        &self,
        by: &Principal,
        user: &str,
        policy_name: &str,
        document: &PolicyDocument,
    ) -> Result<()> {
        self.put_user_policy_local(by, user, policy_name, document)
    }

    async fn get_user_policy(
        &self,
        by: &Principal,
        user: &str,
        policy_name: &str,
    ) -> Result<UserPolicy> {
        self.get_user_policy_local(by, user, policy_name)
    }

    async fn list_user_policies(&self, by: &Principal, user: &str) -> Result<Vec<String>> {
        self.list_user_policies_local(by, user)
    }

    async fn delete_user_policy(
        &self,
        by: &Principal,
        user: &str,
        policy_name: &str,
    ) -> Result<()> {
        self.delete_user_policy_local(by, user, policy_name)
    }

    async fn attach_user_policy(&self, by: &Principal, user: &str, policy_arn: &str) -> Result<()> {
        self.attach_user_policy_local(by, user, policy_arn)
    }

    async fn detach_user_policy(&self, by: &Principal, user: &str, policy_arn: &str) -> Result<()> {
        self.detach_user_policy_local(by, user, policy_arn)
    }

    async fn list_attached_user_policies(
        &self,
        by: &Principal,
        user: &str,
    ) -> Result<Vec<AttachedPolicy>> {
        self.list_attached_user_policies_local(by, user)
    }

    async fn create_access_key(&self, by: &Principal, user: Option<&str>) -> Result<AccessKey> {
        self.create_access_key_local(by, user)
    }

    async fn list_access_keys(
        &self,
        by: &Principal,
        user: Option<&str>,
    ) -> Result<Vec<AccessKeyMetadata>> {
        self.list_access_keys_local(by, user)
    }

    async fn update_access_key(
        &self,
        by: &Principal,
        user: Option<&str>,
        access_key_id: &str,
        status: AccessKeyStatus,
    ) -> Result<()> {
        self.update_access_key_local(by, user, access_key_id, status)
    }

    async fn delete_access_key(
        &self,
        by: &Principal,
        user: Option<&str>,
        access_key_id: &str,
    ) -> Result<()> {
        self.delete_access_key_local(by, user, access_key_id)
    }
}

#[async_trait]
impl Audit for Lake {
    async fn list(&self, by: &Principal, principal: Option<&str>) -> Result<Vec<AuditEvent>> {
        self.reading(
            by,
            Call::new("lakectl", "ListAuditEvents", "audit"),
            |tx, _| self.audit.list(tx, principal),
        )
    }

    async fn verify(&self, by: &Principal) -> Result<AuditVerification> {
        let verified = self.reading(
            by,
            Call::new("lakectl", "VerifyAuditLog", "audit"),
            |tx, _| self.audit.verify(tx),
        )?;
        // The chain agrees with itself; the head kept outside the store says whether the store
        // lost commits (audit_head.rs).
        self.meta.read(|tx| self.audit.check_head_file(tx))?;
        Ok(verified)
    }
}
