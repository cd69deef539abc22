//! Evaluates IAM-style policy documents (key policies, bucket policies) for the local lake, with
//! AWS's rules: an explicit Deny wins, then an Allow, else nothing was granted. Conditions support
//! the operators seed policies use; a policy using any other is refused when it is put, never
//! half-evaluated.

use wildmatch::WildMatch;

use crate::service::policy::{Effect, PolicyDocument, PrincipalSpec, Statement};
use crate::service::{Code, Result, ServiceError};

/// Who asks, for what, on what, with which request context.
pub struct Request<'a> {
    pub principal_arn: &'a str,
    /// Lake admins are what the account root (`arn:aws:iam::ACCOUNT:root`) stands for locally.
    pub principal_is_admin: bool,
    pub account_id: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    /// Condition keys present in the request (`s3:x-amz-server-side-encryption`, ...).
    pub context: &'a [(&'a str, String)],
}

#[derive(Debug, PartialEq)]
pub enum Decision {
    /// Denied by the statement with this Sid (or position).
    Deny(String),
    Allow(String),
    /// No statement applies.
    NotGranted,
}

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnNotEquals",
    "ArnLike",
    "ArnNotLike",
    "Bool",
    "Null",
];

/// Refuses documents this evaluator cannot honour exactly.
pub fn check_supported(doc: &PolicyDocument) -> Result<()> {
    for st in &doc.statement {
        for op in st.condition.keys() {
            let base = op.strip_suffix("IfExists").unwrap_or(op);
            if !OPERATORS.contains(&base) || (base == "Null" && op.ends_with("IfExists")) {
                return Err(ServiceError::new(
                    Code::MalformedPolicyDocumentException,
                    format!(
                        "condition operator {op} is not supported by the local lake (supported: {})",
                        OPERATORS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

pub fn evaluate(doc: &PolicyDocument, req: &Request) -> Decision {
    let mut allowed = None;
    for (i, st) in doc.statement.iter().enumerate() {
        if !applies(st, req) {
            continue;
        }
        let name = st
            .sid
            .clone()
            .unwrap_or_else(|| format!("statement {}", i + 1));
        match st.effect {
            Effect::Deny => return Decision::Deny(name),
            Effect::Allow => allowed = allowed.or(Some(name)),
        }
    }
    allowed.map_or(Decision::NotGranted, Decision::Allow)
}

fn applies(st: &Statement, req: &Request) -> bool {
    // An identity policy's statements have no Principal: they apply to whom they are attached.
    st.principal
        .as_ref()
        .is_none_or(|p| principal_matches(p, req))
        && st
            .action
            .iter()
            .any(|a| WildMatch::new_case_insensitive(a).matches(req.action))
        && st.resource.iter().any(|r| {
            resolve_variables(r, req).is_some_and(|r| WildMatch::new(&r).matches(req.resource))
        })
        && st.condition.iter().all(|(op, keys)| {
            keys.iter()
                .all(|(key, values)| condition_holds(op, req.context_value(key), &values.0))
        })
}

/// IAM policy variables in a resource (`arn:aws:s3:::results/${aws:username}/*`): each
/// `${key}` becomes the request's value for it. A variable without a value makes the resource
/// match nothing, as in IAM.
fn resolve_variables(pattern: &str, req: &Request) -> Option<String> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        out.push_str(req.context_value(&rest[start + 2..end])?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

impl Request<'_> {
    fn context_value(&self, key: &str) -> Option<&str> {
        match key {
            "aws:PrincipalArn" | "aws:userid" => Some(self.principal_arn),
            "aws:username" => self.principal_arn.rsplit('/').next(),
            "aws:PrincipalAccount" => Some(self.account_id),
            // In-process calls never cross a network; locally every request is "secure".
            "aws:SecureTransport" => Some("true"),
            _ => self
                .context
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str()),
        }
    }
}

fn principal_matches(spec: &PrincipalSpec, req: &Request) -> bool {
    match spec {
        PrincipalSpec::Any => true,
        PrincipalSpec::Ids { aws, .. } => aws.iter().any(|id| {
            id == "*"
                || id == req.principal_arn
                || (req.principal_is_admin
                    && (id == req.account_id
                        || *id == format!("arn:aws:iam::{}:root", req.account_id)))
        }),
    }
}

fn condition_holds(op: &str, actual: Option<&str>, wanted: &[String]) -> bool {
    let (base, if_exists) = match op.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (op, false),
    };
    if base == "Null" {
        // {"Null": {"key": "true"}} holds when the key is absent.
        return wanted.iter().any(|w| (w == "true") == actual.is_none());
    }
    let negated = base.contains("Not");
    let Some(actual) = actual else {
        // A missing key: positive operators fail, negated ones hold (IAM's rule); IfExists holds.
        return if_exists || negated;
    };
    let any = |f: &dyn Fn(&str) -> bool| wanted.iter().any(|w| f(w));
    let matched = match base {
        "StringEquals" | "StringNotEquals" | "ArnEquals" | "ArnNotEquals" => any(&|w| w == actual),
        "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => {
            any(&|w| w.eq_ignore_ascii_case(actual))
        }
        "StringLike" | "StringNotLike" | "ArnLike" | "ArnNotLike" => {
            any(&|w| WildMatch::new(w).matches(actual))
        }
        "Bool" => any(&|w| w.eq_ignore_ascii_case(actual)),
        _ => false,
    };
    matched != negated
}

#[cfg(test)]
mod tests;
