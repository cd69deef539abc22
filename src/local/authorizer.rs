//! The one authorizer every call of the local lake passes. A service method describes its call
//! as a typed [`Call`] (service, operation, the resource it acts on, the IAM action, condition
//! keys, and which resource policy applies); `Lake::reading` and `Lake::audited` authorize it
//! before running anything, so no method can forget to. The decision follows AWS's policy
//! evaluation logic for one account: an explicit Deny in any applicable policy wins; otherwise an
//! Allow in an identity policy or in the resource policy (bucket policy) allows; otherwise the
//! call is denied. Key policies are stricter, as in KMS: identity policies count only when the
//! key policy delegates to the account. Lake admins stand for the account's root user.

use rusqlite::{Transaction, params};

use super::authz::{self, Decision, Request};
use super::managed_policies;
use super::{Caller, Lake};
use crate::service::access::IamDecision;
use crate::service::catalog::Table;
use crate::service::policy::PolicyDocument;
use crate::service::{Result, ServiceError};

/// What a call acts on and how, as IAM sees it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The audit log's event source (`glue`, `s3`, ...).
    pub service: &'static str,
    /// The audit log's event name (`GetTables`).
    pub operation: &'static str,
    /// What the audit log names as the resource (a name, as the caller gave it).
    pub resource_name: String,
    action: Option<String>,
    target: String,
    resource_policy: ResourcePolicy,
    context: Vec<(&'static str, String)>,
}

/// Which resource policy, besides the caller's identity policies, takes part in the decision.
#[derive(Debug, Clone)]
enum ResourcePolicy {
    None,
    Bucket(String),
    Key(String),
    /// A secret (name or ARN): its resource policy, matched against its full ARN.
    Secret(String),
}

impl Call {
    /// A call of `service:operation` on `resource_name`; IAM matches it against resource `*`
    /// until [`Call::on`] names the ARN.
    pub fn new(
        service: &'static str,
        operation: &'static str,
        resource_name: impl AsRef<str>,
    ) -> Self {
        Call {
            service,
            operation,
            resource_name: resource_name.as_ref().to_string(),
            action: None,
            target: "*".into(),
            resource_policy: ResourcePolicy::None,
            context: Vec::new(),
        }
    }

    /// The IAM action when it is not `service:operation` (`ListObjects` is `s3:ListBucket`).
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// The resource ARN identity policies' `Resource` elements are matched against.
    pub fn on(mut self, arn: impl Into<String>) -> Self {
        self.target = arn.into();
        self
    }

    /// The bucket whose policy takes part (a call on the bucket or one of its objects).
    pub fn bucket(mut self, bucket: &str) -> Self {
        self.resource_policy = ResourcePolicy::Bucket(bucket.into());
        self
    }

    /// The KMS key (id, ARN or alias) whose key policy takes part.
    pub fn key(mut self, key: &str) -> Self {
        self.resource_policy = ResourcePolicy::Key(key.into());
        self
    }

    /// The secret (name or ARN) whose resource policy takes part.
    pub fn secret(mut self, secret: &str) -> Self {
        self.resource_policy = ResourcePolicy::Secret(secret.into());
        self
    }

    /// Condition keys of the request (`s3:prefix`, `s3:x-amz-server-side-encryption`).
    pub fn context(mut self, context: Vec<(&'static str, String)>) -> Self {
        self.context = context;
        self
    }

    pub fn action_name(&self) -> String {
        self.action
            .clone()
            .unwrap_or_else(|| format!("{}:{}", self.service, self.operation))
    }
}

/// One identity policy of a principal: inline (by its name) or an attached managed policy.
#[derive(Debug, Clone)]
pub struct IdentityPolicy {
    /// How messages and `explain` name it: `inline policy results-access`, `AWS managed policy
    /// ReadOnlyAccess`.
    pub label: String,
    /// IAM's `PolicySourceType` for it: `user` (inline) or `aws-managed`.
    pub source_type: &'static str,
    pub document: PolicyDocument,
}

/// Which policy and statement allowed a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Allowed {
    pub by: String,
    /// IAM's `PolicySourceType` of what allowed it (`user`, `aws-managed`, `resource`, or
    /// `none` for a lake admin, who stands for the account's root).
    pub source_type: &'static str,
}

/// What AWS's evaluation logic concluded, each with what decided it.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Allowed(Allowed),
    /// A Deny statement applies (which policy and statement, as a refusal says it, and IAM's
    /// `PolicySourceType` of that policy).
    ExplicitDeny {
        why: String,
        source_type: &'static str,
    },
    /// Nothing allows it (why, as a refusal says it).
    ImplicitDeny(String),
}

/// A resource policy as the decision sees it.
pub struct ResourcePolicyRef<'a> {
    /// `bucket policy` or `key policy`.
    pub kind: &'static str,
    pub document: &'a PolicyDocument,
    /// Key policies: identity policies count only if the key policy delegates to the account.
    pub delegation_required: bool,
}

/// The principal's identity policies: its inline policies, then its attached managed ones.
pub(super) fn identity_policies(tx: &Transaction, principal: &str) -> Result<Vec<IdentityPolicy>> {
    let mut out = Vec::new();
    let mut stmt =
        tx.prepare("SELECT name, document FROM user_policies WHERE principal = ?1 ORDER BY name")?;
    for row in stmt.query_map(params![principal], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })? {
        let (name, text) = row?;
        out.push(IdentityPolicy {
            label: format!("inline policy {name}"),
            source_type: "user",
            document: PolicyDocument::parse_identity(&text)?,
        });
    }
    let mut stmt =
        tx.prepare("SELECT arn FROM attached_policies WHERE principal = ?1 ORDER BY arn")?;
    for arn in stmt.query_map(params![principal], |r| r.get::<_, String>(0))? {
        let managed = managed_policies::find(&arn?)?;
        out.push(IdentityPolicy {
            label: format!("AWS managed policy {}", managed.name),
            source_type: "aws-managed",
            document: managed.parsed().clone(),
        });
    }
    Ok(out)
}

impl Lake {
    /// The IAM actions a query of `table` needs besides Lake Formation's grants: the table from
    /// the catalog, and the data Lake Formation vends when its role (`reader`) reads it.
    fn query_needs(
        &self,
        caller: &Caller,
        table: &Table,
        reader: &str,
    ) -> Vec<(&'static str, String)> {
        let mut needs = vec![(
            "glue:GetTable",
            self.glue_arn(&format!("table/{}/{}", table.database_name, table.name)),
        )];
        if reader != caller.name {
            needs.push(("lakeformation:GetDataAccess", "*".to_string()));
        }
        needs
    }

    /// Whether IAM lets `caller` query `table` (Lake Formation decides what it then sees).
    pub(super) fn may_query(&self, caller: &Caller, table: &Table, reader: &str) -> bool {
        self.query_needs(caller, table, reader)
            .iter()
            .all(|(action, resource)| self.decide(caller, action, resource, &[], None).is_ok())
    }

    /// The IAM decisions `explain` shows: what querying `table` (in the default work group)
    /// needs, and which policy and statement decided each.
    pub(super) fn query_decisions(
        &self,
        subject: &Caller,
        table: &Table,
        reader: &str,
    ) -> Vec<IamDecision> {
        let mut needs = vec![(
            "athena:StartQueryExecution",
            self.athena_work_group_arn(super::athena::DEFAULT_WORK_GROUP),
        )];
        needs.extend(self.query_needs(subject, table, reader));
        needs
            .into_iter()
            .map(|(action, resource)| {
                let decision = self.decide(subject, action, &resource, &[], None);
                IamDecision {
                    action: action.into(),
                    allowed: decision.is_ok(),
                    decided_by: match decision {
                        Ok(a) => format!("allowed by {}", a.by),
                        Err(e) => e.message,
                    },
                    resource,
                }
            })
            .collect()
    }

    /// Decides `call` for `caller`: Ok names what allowed it; Err is AWS's AccessDenied, naming
    /// the caller, the action and, for an explicit deny, the policy and statement.
    pub(super) fn authorize(
        &self,
        tx: &Transaction,
        caller: &Caller,
        call: &Call,
    ) -> Result<Allowed> {
        let action = call.action_name();
        let context: Vec<(&str, String)> =
            call.context.iter().map(|(k, v)| (*k, v.clone())).collect();
        match &call.resource_policy {
            ResourcePolicy::None => self.decide(caller, &action, &call.target, &context, None),
            ResourcePolicy::Bucket(name) => match self.bucket_row(tx, name) {
                Ok(row) => self.authorize_s3(caller, &row, &action, &call.target, &context),
                // No such bucket: identity policies alone decide, so a refused caller cannot
                // tell a missing bucket from one it may not see.
                Err(_) => self.decide(caller, &action, &call.target, &context, None),
            },
            ResourcePolicy::Key(key) => match self.resolve_key(tx, key) {
                Ok(row) => self.authorize_key(caller, &row, &action),
                Err(_) => self.decide(caller, &action, &call.target, &context, None),
            },
            // As for buckets, a missing secret leaves identity policies alone to decide. A
            // refusal names the secret as the caller did, not by its full ARN (whose random
            // suffix would tell the caller the secret exists).
            ResourcePolicy::Secret(id) => match self.secret_policy_for(tx, id)? {
                Some((arn, policy)) => self
                    .decide(
                        caller,
                        &action,
                        &arn,
                        &context,
                        policy.as_ref().map(|document| ResourcePolicyRef {
                            kind: "secret's resource policy",
                            document,
                            delegation_required: false,
                        }),
                    )
                    .map_err(|mut e| {
                        e.message = e.message.replace(
                            &format!("on resource: {arn} "),
                            &format!("on resource: {} ", call.target),
                        );
                        e
                    }),
                None => self.decide(caller, &action, &call.target, &context, None),
            },
        }
    }

    /// AWS's evaluation logic over the caller's identity policies and one resource policy.
    pub(super) fn decide(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        context: &[(&str, String)],
        resource_policy: Option<ResourcePolicyRef>,
    ) -> Result<Allowed> {
        match self.verdict(caller, action, target, context, resource_policy) {
            Verdict::Allowed(allowed) => Ok(allowed),
            Verdict::ExplicitDeny { why, .. } | Verdict::ImplicitDeny(why) => {
                Err(ServiceError::denied(format!(
                    "User: {} is not authorized to perform: {action} on resource: {target} {why}",
                    caller.arn
                )))
            }
        }
    }

    /// The decision itself, typed: `decide` turns it into an answer or AccessDenied, and
    /// `iam simulate-principal-policy` reports it as IAM's `EvalDecision`.
    pub(super) fn verdict(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        context: &[(&str, String)],
        resource_policy: Option<ResourcePolicyRef>,
    ) -> Verdict {
        let request = Request {
            principal_arn: &caller.arn,
            principal_is_admin: caller.admin,
            account_id: &self.header.account_id,
            action,
            resource: target,
            context,
        };
        let mut allowed_by: Option<String> = None;
        let mut resource_allows = false;
        if let Some(rp) = &resource_policy {
            match authz::evaluate(rp.document, &request) {
                Decision::Deny(sid) => {
                    return Verdict::ExplicitDeny {
                        why: format!(
                            "with an explicit deny in a resource-based policy (the {}, statement {sid})",
                            rp.kind
                        ),
                        source_type: "resource",
                    };
                }
                Decision::Allow(sid) => {
                    resource_allows = true;
                    allowed_by = Some(format!("the {}, statement {sid}", rp.kind));
                }
                Decision::NotGranted => {}
            }
        }
        let mut identity_allows = None;
        if caller.admin {
            identity_allows = Some(("lake admin (the account's root)".to_string(), "none"));
        } else {
            for policy in &caller.policies {
                match authz::evaluate(&policy.document, &request) {
                    Decision::Deny(sid) => {
                        return Verdict::ExplicitDeny {
                            why: format!(
                                "with an explicit deny in an identity-based policy ({}, statement {sid})",
                                policy.label
                            ),
                            source_type: policy.source_type,
                        };
                    }
                    Decision::Allow(sid) => {
                        identity_allows = identity_allows.or(Some((
                            format!("{}, statement {sid}", policy.label),
                            policy.source_type,
                        )));
                    }
                    Decision::NotGranted => {}
                }
            }
        }
        if resource_allows {
            return Verdict::Allowed(Allowed {
                by: allowed_by.expect("an allowing resource policy is named"),
                source_type: "resource",
            });
        }
        match (resource_policy, identity_allows) {
            (Some(rp), Some((by, source_type))) if rp.delegation_required => {
                // KMS: an identity policy counts only if the key policy lets the account's IAM
                // policies decide (its statement for the account root allows the action).
                let root = format!("arn:aws:iam::{}:root", self.header.account_id);
                let as_account = Request {
                    principal_arn: &root,
                    principal_is_admin: true,
                    ..request
                };
                if matches!(
                    authz::evaluate(rp.document, &as_account),
                    Decision::Allow(_)
                ) {
                    Verdict::Allowed(Allowed { by, source_type })
                } else {
                    Verdict::ImplicitDeny(format!(
                        "because no {} statement allows it; `lakectl kms allow --key-id KEY --principal {} --operations ...` grants it",
                        rp.kind, caller.name
                    ))
                }
            }
            (_, Some((by, source_type))) => Verdict::Allowed(Allowed { by, source_type }),
            (Some(rp), None) => Verdict::ImplicitDeny(format!(
                "because no identity-based policy allows the {action} action and no {} statement allows it",
                rp.kind
            )),
            (None, None) => Verdict::ImplicitDeny(format!(
                "because no identity-based policy allows the {action} action"
            )),
        }
    }
}
