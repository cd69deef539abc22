//! Principals and the audit service on the local lake. Principals are named users; lake admins
//! manage the control plane and read the audit log.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};

use super::authorizer::{Call, Verdict};
use super::{Lake, now, parse_ts, ts};
use crate::service::access::{DataLakePrincipal, DataLakeSettings};
use crate::service::audit::{Audit, AuditEvent, AuditVerification};
use crate::service::iam::{
    AccessKey, AccessKeyMetadata, AccessKeyStatus, AttachedPolicy, CallerIdentity, EvalDecision,
    EvaluationResult, Iam, MatchedStatement, PrincipalInfo, Simulation, UserPolicy,
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

    /// The user an IAM request names by ARN (this account's `…:user/NAME`) or by name.
    fn user_named(&self, arn_or_name: &str) -> Result<String> {
        let prefix = self.user_arn("");
        let name = match arn_or_name.strip_prefix(&prefix) {
            Some(name) => name,
            None if arn_or_name.starts_with("arn:") => {
                return Err(ServiceError::new(
                    Code::NoSuchEntity,
                    format!(
                        "{arn_or_name} is not a user of this lake's account (its users are {prefix}NAME)"
                    ),
                ));
            }
            None => arn_or_name,
        };
        check_name("user", name, 64)?;
        Ok(name.to_string())
    }

    /// What must go before `user` may be deleted, said as IAM says it; `None` when nothing.
    fn delete_conflict(&self, tx: &Transaction, user: &str) -> Result<Option<String>> {
        let count =
            |sql: &str| -> Result<i64> { Ok(tx.query_row(sql, params![user], |r| r.get(0))?) };
        let admin: Option<bool> = tx
            .query_row(
                "SELECT admin FROM principals WHERE name = ?1",
                params![user],
                |r| r.get(0),
            )
            .optional()?;
        let Some(admin) = admin else {
            return Err(ServiceError::new(
                Code::NoSuchEntity,
                format!("The user with name {user} cannot be found."),
            ));
        };
        Ok(if admin {
            Some("Cannot delete entity, it is a data lake admin: remove it from the admins (lakeformation put-data-lake-settings) first.".into())
        } else if count("SELECT COUNT(*) FROM access_keys WHERE principal = ?1")? > 0 {
            Some("Cannot delete entity, must delete access keys first.".into())
        } else if count("SELECT COUNT(*) FROM user_policies WHERE principal = ?1")? > 0 {
            Some("Cannot delete entity, must delete policies first.".into())
        } else if count("SELECT COUNT(*) FROM attached_policies WHERE principal = ?1")? > 0 {
            Some("Cannot delete entity, must detach all policies first.".into())
        } else if count("SELECT COUNT(*) FROM lf_permissions WHERE principal = ?1")? > 0 {
            // IAM leaves Lake Formation's grants behind; the lake names principals by name, so
            // a user made later with this name would inherit them.
            Some("Cannot delete entity, must revoke its Lake Formation permissions first.".into())
        } else {
            None
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

    async fn delete_user(&self, by: &Principal, user: &str) -> Result<()> {
        self.audited(
            by,
            Call::new("iam", "DeleteUser", user).on(self.user_arn(user)),
            |tx, _| {
                if let Some(conflict) = self.delete_conflict(tx, user)? {
                    return Err(ServiceError::new(Code::DeleteConflict, conflict));
                }
                tx.execute("DELETE FROM principals WHERE name = ?1", params![user])?;
                Ok(((), serde_json::json!({ "UserName": user })))
            },
        )
    }

    async fn simulate_principal_policy(
        &self,
        by: &Principal,
        policy_source: &str,
        simulation: &Simulation,
    ) -> Result<Vec<EvaluationResult>> {
        let user = self.user_named(policy_source)?;
        if simulation.action_names.is_empty() {
            return Err(ServiceError::new(
                Code::ValidationException,
                "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null",
            ));
        }
        let resources: Vec<&str> = if simulation.resource_arns.is_empty() {
            vec!["*"]
        } else {
            simulation
                .resource_arns
                .iter()
                .map(String::as_str)
                .collect()
        };
        let context: Vec<(&str, String)> = simulation
            .context
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        self.reading(
            by,
            Call::new("iam", "SimulatePrincipalPolicy", &user).on(self.user_arn(&user)),
            |tx, _| {
                let subject = self
                    .caller(tx, &Principal::new(user.as_str()))
                    .map_err(|_| {
                        ServiceError::new(
                            Code::NoSuchEntity,
                            format!("The user with name {user} cannot be found."),
                        )
                    })?;
                let mut results = Vec::new();
                for action in &simulation.action_names {
                    for resource in &resources {
                        // Identity policies alone, as IAM simulates a principal's policies
                        // when no resource policy is given: the same evaluation every call
                        // of the lake passes.
                        let verdict = self.verdict(&subject, action, resource, &context, None);
                        let (decision, matched) = match verdict {
                            Verdict::Allowed(a) => {
                                (EvalDecision::Allowed, Some((a.by, a.source_type)))
                            }
                            Verdict::ExplicitDeny { why, source_type } => {
                                (EvalDecision::ExplicitDeny, Some((why, source_type)))
                            }
                            Verdict::ImplicitDeny(_) => (EvalDecision::ImplicitDeny, None),
                        };
                        results.push(EvaluationResult {
                            eval_action_name: action.clone(),
                            eval_resource_name: resource.to_string(),
                            eval_decision: decision,
                            matched_statements: matched
                                .into_iter()
                                .map(|(source, source_type)| MatchedStatement {
                                    source_policy_id: source,
                                    source_policy_type: source_type.into(),
                                })
                                .collect(),
                            missing_context_values: Vec::new(),
                        });
                    }
                }
                Ok(results)
            },
        )
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
