//! IAM over the query protocol: users, their inline and managed policies, access keys, and
//! SimulatePrincipalPolicy (weighed by the authorizer every call of the lake passes), as `aws
//! iam …` and lakectl's AWS backend call them. The README tells users to manage their keys with
//! `aws iam`, so these answer in IAM's own XML shapes; every call goes through the IAM service as
//! the signed principal, so the lake's checks (only an admin manages other users' keys) hold on
//! the wire as on the CLI.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use http::Response;

use super::dispatch::{ApiRequest, Router};
use super::errors::{Protocol, bad_request, service_error, xml_escape};
use super::paging::{Members, Paging};
use super::query_protocol::xml_response;
use crate::service::iam::{AccessKeyStatus, EvaluationResult, PrincipalInfo, Simulation};
use crate::service::policy::PolicyDocument;
use crate::service::{Code, Result, ServiceError};

const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// ListUsers' pages (`MaxItems`, `Marker`), as IAM has them: 100 by default, at most 1,000.
const USERS: Paging = Paging {
    max: 1000,
    default: 100,
    bad_token: "InvalidInput",
    members: Members::MaxItems,
};

/// The form's members, by IAM's names.
struct Form<'a>(&'a HashMap<String, String>);

impl Form<'_> {
    fn optional(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A list member (`ActionNames.member.1`, `.member.2`, ...), in order.
    fn list(&self, name: &str) -> Vec<String> {
        (1..)
            .map_while(|n| self.0.get(&format!("{name}.member.{n}")).cloned())
            .collect()
    }

    /// `ContextEntries.member.N`: each key with its values (`ContextKeyValues.member.M`).
    fn context_entries(&self) -> Vec<(String, String)> {
        let mut context = Vec::new();
        for n in 1.. {
            let entry = format!("ContextEntries.member.{n}");
            let Some(key) = self.optional(&format!("{entry}.ContextKeyName")) else {
                break;
            };
            for value in self.list(&format!("{entry}.ContextKeyValues")) {
                context.push((key.to_string(), value));
            }
        }
        context
    }

    /// `MaxItems`, when given.
    fn max_items(&self) -> Result<Option<usize>> {
        self.optional("MaxItems")
            .map(|n| {
                n.parse::<usize>().map_err(|_| {
                    ServiceError::invalid(format!("MaxItems must be a whole number, not {n:?}"))
                })
            })
            .transpose()
    }

    fn required(&self, name: &str) -> Result<&str> {
        self.optional(name).ok_or_else(|| {
            ServiceError::new(
                Code::ValidationException,
                format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"),
            )
        })
    }
}

/// Answers IAM action `action` of `request` (its form already parsed).
pub async fn handle(
    router: &Router,
    request: &ApiRequest,
    action: &str,
    form: &HashMap<String, String>,
) -> Response<s3s::Body> {
    match answer(router, request, action, &Form(form)).await {
        Ok(Some(result)) => xml_response(action, NAMESPACE, &result),
        Ok(None) => bad_request(
            Protocol::Query,
            "InvalidAction",
            &format!("iam has no action {action:?} on the lake server"),
        ),
        Err(e) => service_error(Protocol::Query, &e),
    }
}

/// The `<…Result>` element's content, or `None` for an action the server does not know.
async fn answer(
    router: &Router,
    request: &ApiRequest,
    action: &str,
    form: &Form<'_>,
) -> Result<Option<String>> {
    let iam = &router.services.iam;
    let by = &request.principal;
    let result = match action {
        "CreateUser" => {
            let user = iam
                .create_principal(by, form.required("UserName")?, false)
                .await?;
            format!("<User>{}</User>", user_xml(&user))
        }
        "GetUser" => {
            // Without a name, IAM answers about the caller.
            let name = match form.optional("UserName") {
                Some(name) => name.to_string(),
                None => iam.caller_identity(by).await?.user_id,
            };
            let user = iam
                .list_principals(by)
                .await?
                .into_iter()
                .find(|u| u.user_name.eq_ignore_ascii_case(&name))
                .ok_or_else(|| {
                    ServiceError::new(
                        Code::NoSuchEntity,
                        format!("The user with name {name} cannot be found."),
                    )
                })?;
            format!("<User>{}</User>", user_xml(&user))
        }
        "ListUsers" => {
            let users = iam.list_principals(by).await?;
            let page = USERS.page(
                users,
                |u| u.user_name.as_str(),
                form.max_items()?,
                form.optional("Marker"),
            )?;
            let users: String = page
                .items
                .iter()
                .map(|u| format!("<member>{}</member>", user_xml(u)))
                .collect();
            truncated(format!("<Users>{users}</Users>"), page.next)
        }
        "PutUserPolicy" => {
            let document = PolicyDocument::parse_identity(form.required("PolicyDocument")?)?;
            iam.put_user_policy(
                by,
                form.required("UserName")?,
                form.required("PolicyName")?,
                &document,
            )
            .await?;
            String::new()
        }
        "GetUserPolicy" => {
            let policy = iam
                .get_user_policy(by, form.required("UserName")?, form.required("PolicyName")?)
                .await?;
            // IAM hands the document back URL-encoded (RFC 3986), and clients decode it.
            let encoded = percent_encoding::utf8_percent_encode(
                &policy.policy_document.to_json(),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string();
            format!(
                "<UserName>{}</UserName><PolicyName>{}</PolicyName><PolicyDocument>{}</PolicyDocument>",
                xml_escape(&policy.user_name),
                xml_escape(&policy.policy_name),
                xml_escape(&encoded)
            )
        }
        "ListUserPolicies" => {
            let names: String = iam
                .list_user_policies(by, form.required("UserName")?)
                .await?
                .iter()
                .map(|n| format!("<member>{}</member>", xml_escape(n)))
                .collect();
            format!("<PolicyNames>{names}</PolicyNames><IsTruncated>false</IsTruncated>")
        }
        "DeleteUserPolicy" => {
            iam.delete_user_policy(by, form.required("UserName")?, form.required("PolicyName")?)
                .await?;
            String::new()
        }
        "AttachUserPolicy" => {
            iam.attach_user_policy(by, form.required("UserName")?, form.required("PolicyArn")?)
                .await?;
            String::new()
        }
        "DetachUserPolicy" => {
            iam.detach_user_policy(by, form.required("UserName")?, form.required("PolicyArn")?)
                .await?;
            String::new()
        }
        "ListAttachedUserPolicies" => {
            let attached: String = iam
                .list_attached_user_policies(by, form.required("UserName")?)
                .await?
                .iter()
                .map(|p| {
                    format!(
                        "<member><PolicyName>{}</PolicyName><PolicyArn>{}</PolicyArn></member>",
                        xml_escape(&p.policy_name),
                        xml_escape(&p.policy_arn)
                    )
                })
                .collect();
            format!(
                "<AttachedPolicies>{attached}</AttachedPolicies><IsTruncated>false</IsTruncated>"
            )
        }
        "CreateAccessKey" => {
            let key = iam.create_access_key(by, form.optional("UserName")).await?;
            format!(
                "<AccessKey><UserName>{}</UserName><AccessKeyId>{}</AccessKeyId><Status>{}</Status><SecretAccessKey>{}</SecretAccessKey><CreateDate>{}</CreateDate></AccessKey>",
                xml_escape(&key.user_name),
                xml_escape(&key.access_key_id),
                key.status.as_str(),
                xml_escape(key.secret_access_key.expose()),
                iso(&key.create_date)
            )
        }
        "ListAccessKeys" => {
            let keys: String = iam
                .list_access_keys(by, form.optional("UserName"))
                .await?
                .iter()
                .map(|k| {
                    format!(
                        "<member><UserName>{}</UserName><AccessKeyId>{}</AccessKeyId><Status>{}</Status><CreateDate>{}</CreateDate></member>",
                        xml_escape(&k.user_name),
                        xml_escape(&k.access_key_id),
                        k.status.as_str(),
                        iso(&k.create_date)
                    )
                })
                .collect();
            format!("<AccessKeyMetadata>{keys}</AccessKeyMetadata><IsTruncated>false</IsTruncated>")
        }
        "UpdateAccessKey" => {
            let status = form.required("Status")?;
            let status = AccessKeyStatus::parse(status).ok_or_else(|| {
                ServiceError::new(
                    Code::ValidationException,
                    format!("1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"),
                )
            })?;
            iam.update_access_key(
                by,
                form.optional("UserName"),
                form.required("AccessKeyId")?,
                status,
            )
            .await?;
            String::new()
        }
        "DeleteAccessKey" => {
            iam.delete_access_key(by, form.optional("UserName"), form.required("AccessKeyId")?)
                .await?;
            String::new()
        }
        "DeleteUser" => {
            iam.delete_user(by, form.required("UserName")?).await?;
            String::new()
        }
        "SimulatePrincipalPolicy" => {
            let simulation = Simulation {
                action_names: form.list("ActionNames"),
                resource_arns: form.list("ResourceArns"),
                context: form.context_entries(),
            };
            let results = iam
                .simulate_principal_policy(by, form.required("PolicySourceArn")?, &simulation)
                .await?;
            // A result is one action on one resource: that pair is its identity on a page.
            let results: Vec<(String, EvaluationResult)> = results
                .into_iter()
                .map(|r| {
                    (
                        format!("{}\n{}", r.eval_action_name, r.eval_resource_name),
                        r,
                    )
                })
                .collect();
            let page = USERS.page(
                results,
                |(id, _)| id.as_str(),
                form.max_items()?,
                form.optional("Marker"),
            )?;
            let members: String = page.items.iter().map(|(_, r)| evaluation_xml(r)).collect();
            truncated(
                format!("<EvaluationResults>{members}</EvaluationResults>"),
                page.next,
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(result))
}

/// A page's members followed by `IsTruncated` and, when there is more, the `Marker`.
fn truncated(members: String, next: Option<String>) -> String {
    match next {
        Some(marker) => format!(
            "{members}<IsTruncated>true</IsTruncated><Marker>{}</Marker>",
            xml_escape(&marker)
        ),
        None => format!("{members}<IsTruncated>false</IsTruncated>"),
    }
}

/// One of SimulatePrincipalPolicy's `EvaluationResults`.
fn evaluation_xml(r: &EvaluationResult) -> String {
    let statements: String = r
        .matched_statements
        .iter()
        .map(|m| {
            format!(
                "<member><SourcePolicyId>{}</SourcePolicyId><SourcePolicyType>{}</SourcePolicyType></member>",
                xml_escape(&m.source_policy_id),
                xml_escape(&m.source_policy_type)
            )
        })
        .collect();
    let missing: String = r
        .missing_context_values
        .iter()
        .map(|k| format!("<member>{}</member>", xml_escape(k)))
        .collect();
    format!(
        "<member><EvalActionName>{}</EvalActionName><EvalResourceName>{}</EvalResourceName><EvalDecision>{}</EvalDecision><MatchedStatements>{statements}</MatchedStatements><MissingContextValues>{missing}</MissingContextValues></member>",
        xml_escape(&r.eval_action_name),
        xml_escape(&r.eval_resource_name),
        r.eval_decision.as_str()
    )
}

/// IAM's `User` members.
fn user_xml(user: &PrincipalInfo) -> String {
    format!(
        "<Path>/</Path><UserName>{}</UserName><UserId>{}</UserId><Arn>{}</Arn><CreateDate>{}</CreateDate>",
        xml_escape(&user.user_name),
        xml_escape(&user.user_name),
        xml_escape(&user.arn),
        iso(&user.create_date)
    )
}

/// IAM's timestamps: ISO 8601 in UTC.
fn iso(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
