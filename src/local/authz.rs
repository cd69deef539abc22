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
mod tests {
    use super::*;

    fn req<'a>(action: &'a str, ctx: &'a [(&'a str, String)]) -> Request<'a> {
        Request {
            principal_arn: "arn:aws:iam::111122223333:user/analyst",
            principal_is_admin: false,
            account_id: "111122223333",
            action,
            resource: "arn:aws:s3:::lake/raw/data.json",
            context: ctx,
        }
    }

    #[test]
    fn the_seed_policy_denies_puts_not_encrypted_with_kms() {
        let doc = PolicyDocument::require_sse_kms("lake");
        let sse = "s3:x-amz-server-side-encryption";
        assert!(matches!(
            evaluate(&doc, &req("s3:PutObject", &[])),
            Decision::Deny(_)
        ));
        assert!(matches!(
            evaluate(&doc, &req("s3:PutObject", &[(sse, "AES256".into())])),
            Decision::Deny(_)
        ));
        assert_eq!(
            evaluate(&doc, &req("s3:PutObject", &[(sse, "aws:kms".into())])),
            Decision::NotGranted
        );
        assert_eq!(
            evaluate(&doc, &req("s3:GetObject", &[])),
            Decision::NotGranted
        );
    }

    #[test]
    fn policy_variables_narrow_resources_to_the_caller() {
        let doc = PolicyDocument::parse(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/${aws:username}/*"}]}"#,
        )
        .unwrap();
        let mine = Request {
            resource: "arn:aws:s3:::lake/analyst/q.csv",
            ..req("s3:GetObject", &[])
        };
        let theirs = Request {
            resource: "arn:aws:s3:::lake/data-scientist/q.csv",
            ..req("s3:GetObject", &[])
        };
        assert!(matches!(evaluate(&doc, &mine), Decision::Allow(_)));
        assert_eq!(evaluate(&doc, &theirs), Decision::NotGranted);
    }

    #[test]
    fn root_stands_for_admins_only() {
        let doc = PolicyDocument::parse(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*"}]}"#,
        )
        .unwrap();
        let mut r = req("kms:Decrypt", &[]);
        r.resource = "*";
        assert_eq!(evaluate(&doc, &r), Decision::NotGranted);
        r.principal_is_admin = true;
        assert!(matches!(evaluate(&doc, &r), Decision::Allow(_)));
    }

    #[test]
    fn unsupported_operators_are_refused_up_front() {
        let doc = PolicyDocument::parse(
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01"}}}]}"#,
        )
        .unwrap();
        assert_eq!(
            check_supported(&doc).unwrap_err().code,
            Code::MalformedPolicyDocumentException
        );
    }

    /// One statement of `effect` on every action, under `condition` (a JSON object).
    fn under(effect: &str, condition: &str) -> PolicyDocument {
        let doc = PolicyDocument::parse(&format!(
            r#"{{"Statement":[{{"Sid":"Cond","Effect":"{effect}","Principal":"*","Action":"*","Resource":"*","Condition":{condition}}}]}}"#
        ))
        .unwrap();
        check_supported(&doc).unwrap();
        doc
    }

    #[test]
    fn each_condition_operator_allows_and_denies_as_iam_does() {
        let role = "arn:aws:iam::111122223333:role/etl-daily";
        // (operator, key, values, the request's value for the key (None: absent), holds)
        let cases: &[(&str, &str, &str, Option<&str>, bool)] = &[
            ("StringEquals", "lake:env", r#""Prod""#, Some("Prod"), true),
            ("StringEquals", "lake:env", r#""Prod""#, Some("prod"), false),
            (
                "StringEquals",
                "lake:env",
                r#"["dev","Prod"]"#,
                Some("Prod"),
                true,
            ),
            ("StringEquals", "lake:env", r#""Prod""#, None, false),
            (
                "StringEqualsIgnoreCase",
                "lake:env",
                r#""Prod""#,
                Some("pROD"),
                true,
            ),
            (
                "StringEqualsIgnoreCase",
                "lake:env",
                r#""Prod""#,
                Some("Prod2"),
                false,
            ),
            (
                "StringEqualsIgnoreCase",
                "lake:env",
                r#""Prod""#,
                None,
                false,
            ),
            (
                "StringNotEqualsIgnoreCase",
                "lake:env",
                r#""prod""#,
                Some("PROD"),
                false,
            ),
            (
                "StringNotEqualsIgnoreCase",
                "lake:env",
                r#""prod""#,
                Some("dev"),
                true,
            ),
            (
                "StringNotEqualsIgnoreCase",
                "lake:env",
                r#""prod""#,
                None,
                true,
            ),
            (
                "StringLike",
                "s3:prefix",
                r#""raw/*/2024-??.json""#,
                Some("raw/a/b/2024-01.json"),
                true,
            ),
            (
                "StringLike",
                "s3:prefix",
                r#""raw/*/2024-??.json""#,
                Some("raw/a/2024-1.json"),
                false,
            ),
            (
                "StringLike",
                "s3:prefix",
                r#""raw/*""#,
                Some("RAW/a"),
                false,
            ),
            (
                "StringLike",
                "s3:prefix",
                r#"["curated/*","raw/*"]"#,
                Some("raw/a"),
                true,
            ),
            ("StringLike", "s3:prefix", r#""*""#, None, false),
            (
                "StringNotLike",
                "s3:prefix",
                r#""raw/*""#,
                Some("raw/a"),
                false,
            ),
            (
                "StringNotLike",
                "s3:prefix",
                r#""raw/*""#,
                Some("curated/a"),
                true,
            ),
            ("StringNotLike", "s3:prefix", r#""raw/*""#, None, true),
            (
                "ArnEquals",
                "aws:SourceArn",
                &format!("\"{role}\""),
                Some(role),
                true,
            ),
            (
                "ArnEquals",
                "aws:SourceArn",
                &format!("\"{role}\""),
                Some("arn:aws:iam::111122223333:role/etl-daily2"),
                false,
            ),
            (
                "ArnEquals",
                "aws:SourceArn",
                &format!("\"{role}\""),
                None,
                false,
            ),
            (
                "ArnNotEquals",
                "aws:SourceArn",
                &format!("\"{role}\""),
                Some(role),
                false,
            ),
            (
                "ArnNotEquals",
                "aws:SourceArn",
                &format!("\"{role}\""),
                Some("arn:aws:iam::111122223333:role/other"),
                true,
            ),
            (
                "ArnLike",
                "aws:SourceArn",
                r#""arn:aws:iam::111122223333:role/etl-*""#,
                Some(role),
                true,
            ),
            (
                "ArnLike",
                "aws:SourceArn",
                r#""arn:aws:iam::111122223333:role/etl-*""#,
                Some("arn:aws:iam::111122223333:user/etl-daily"),
                false,
            ),
            (
                "ArnLike",
                "aws:SourceArn",
                r#""arn:aws:iam::*:role/etl-*""#,
                None,
                false,
            ),
            (
                "ArnNotLike",
                "aws:SourceArn",
                r#""arn:aws:iam::111122223333:role/etl-*""#,
                Some(role),
                false,
            ),
            (
                "ArnNotLike",
                "aws:SourceArn",
                r#""arn:aws:iam::111122223333:role/etl-*""#,
                Some("arn:aws:iam::111122223333:user/x"),
                true,
            ),
            // The caller's own ARN is a condition key too.
            (
                "ArnLike",
                "aws:PrincipalArn",
                r#""arn:aws:iam::111122223333:user/ana*""#,
                None,
                true,
            ),
            (
                "ArnLike",
                "aws:PrincipalArn",
                r#""arn:aws:iam::111122223333:role/*""#,
                None,
                false,
            ),
            (
                "Bool",
                "aws:MultiFactorAuthPresent",
                r#""true""#,
                Some("true"),
                true,
            ),
            (
                "Bool",
                "aws:MultiFactorAuthPresent",
                r#""true""#,
                Some("false"),
                false,
            ),
            (
                "Bool",
                "aws:MultiFactorAuthPresent",
                r#""true""#,
                None,
                false,
            ),
            (
                "Bool",
                "aws:MultiFactorAuthPresent",
                r#""false""#,
                Some("false"),
                true,
            ),
            // Locally every call is in-process, so "secure".
            ("Bool", "aws:SecureTransport", r#""false""#, None, false),
            ("Bool", "aws:SecureTransport", r#""true""#, None, true),
            ("Null", "lake:env", r#""true""#, None, true),
            ("Null", "lake:env", r#""true""#, Some("x"), false),
            ("Null", "lake:env", r#""false""#, Some("x"), true),
            ("Null", "lake:env", r#""false""#, None, false),
            // Condition keys are matched without regard to case, as in IAM.
            ("StringEquals", "LAKE:Env", r#""Prod""#, Some("Prod"), true),
            // IfExists: an absent key holds; a present one is tested as without it.
            ("StringEqualsIfExists", "lake:env", r#""Prod""#, None, true),
            (
                "StringEqualsIfExists",
                "lake:env",
                r#""Prod""#,
                Some("Prod"),
                true,
            ),
            (
                "StringEqualsIfExists",
                "lake:env",
                r#""Prod""#,
                Some("dev"),
                false,
            ),
            (
                "StringEqualsIgnoreCaseIfExists",
                "lake:env",
                r#""Prod""#,
                Some("PROD"),
                true,
            ),
            (
                "StringEqualsIgnoreCaseIfExists",
                "lake:env",
                r#""Prod""#,
                Some("dev"),
                false,
            ),
            ("StringLikeIfExists", "s3:prefix", r#""raw/*""#, None, true),
            (
                "StringLikeIfExists",
                "s3:prefix",
                r#""raw/*""#,
                Some("raw/a"),
                true,
            ),
            (
                "StringLikeIfExists",
                "s3:prefix",
                r#""raw/*""#,
                Some("curated/a"),
                false,
            ),
            (
                "StringNotLikeIfExists",
                "s3:prefix",
                r#""raw/*""#,
                Some("raw/a"),
                false,
            ),
            (
                "StringNotLikeIfExists",
                "s3:prefix",
                r#""raw/*""#,
                None,
                true,
            ),
            (
                "ArnLikeIfExists",
                "aws:SourceArn",
                r#""arn:aws:iam::*:role/etl-*""#,
                None,
                true,
            ),
            (
                "ArnLikeIfExists",
                "aws:SourceArn",
                r#""arn:aws:iam::*:role/etl-*""#,
                Some(role),
                true,
            ),
            (
                "ArnLikeIfExists",
                "aws:SourceArn",
                r#""arn:aws:iam::*:role/etl-*""#,
                Some("arn:aws:iam::1:user/x"),
                false,
            ),
            (
                "ArnEqualsIfExists",
                "aws:SourceArn",
                &format!("\"{role}\""),
                Some("arn:aws:iam::1:user/x"),
                false,
            ),
            (
                "BoolIfExists",
                "aws:MultiFactorAuthPresent",
                r#""true""#,
                None,
                true,
            ),
            (
                "BoolIfExists",
                "aws:MultiFactorAuthPresent",
                r#""true""#,
                Some("true"),
                true,
            ),
            (
                "BoolIfExists",
                "aws:MultiFactorAuthPresent",
                r#""true""#,
                Some("false"),
                false,
            ),
        ];
        for (op, key, values, actual, holds) in cases {
            // The request names the key in lower case (the cases' keys may not).
            let lower = key.to_ascii_lowercase();
            let ctx: Vec<(&str, String)> = actual
                .map(|v| (lower.as_str(), v.to_string()))
                .into_iter()
                .collect();
            let r = req("s3:GetObject", &ctx);
            let condition = format!(r#"{{"{op}":{{"{key}":{values}}}}}"#);
            let what = format!("{condition} with {key}={actual:?}");
            // An Allow under the condition grants exactly when it holds.
            let want = if *holds {
                Decision::Allow("Cond".into())
            } else {
                Decision::NotGranted
            };
            assert_eq!(
                evaluate(&under("Allow", &condition), &r),
                want,
                "Allow: {what}"
            );
            // A Deny under it, beside an Allow of everything, wins exactly when it holds.
            let mut doc = under("Deny", &condition);
            doc.statement
                .extend(under("Allow", "{}").statement.into_iter().map(|mut s| {
                    s.sid = Some("Everything".into());
                    s
                }));
            let want = if *holds {
                Decision::Deny("Cond".into())
            } else {
                Decision::Allow("Everything".into())
            };
            assert_eq!(evaluate(&doc, &r), want, "Deny: {what}");
        }
    }

    #[test]
    fn every_key_and_every_operator_of_a_condition_must_hold() {
        let doc = under(
            "Allow",
            r#"{"StringEquals":{"lake:env":"prod","lake:team":"fin"},"Bool":{"lake:mfa":"true"}}"#,
        );
        let ctx = |env: &str, team: &str, mfa: &str| {
            vec![
                ("lake:env", env.to_string()),
                ("lake:team", team.to_string()),
                ("lake:mfa", mfa.to_string()),
            ]
        };
        let all = ctx("prod", "fin", "true");
        assert!(matches!(
            evaluate(&doc, &req("s3:GetObject", &all)),
            Decision::Allow(_)
        ));
        for c in [
            ctx("dev", "fin", "true"),
            ctx("prod", "hr", "true"),
            ctx("prod", "fin", "false"),
        ] {
            assert_eq!(
                evaluate(&doc, &req("s3:GetObject", &c)),
                Decision::NotGranted,
                "{c:?}"
            );
        }
    }

    #[test]
    fn if_exists_forms_are_accepted_but_null_if_exists_is_not() {
        for op in ["StringLikeIfExists", "ArnNotEqualsIfExists", "BoolIfExists"] {
            under("Allow", &format!(r#"{{"{op}":{{"k":"v"}}}}"#));
        }
        let doc = PolicyDocument::parse(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"NullIfExists":{"k":"true"}}}]}"#,
        )
        .unwrap();
        assert_eq!(
            check_supported(&doc).unwrap_err().code,
            Code::MalformedPolicyDocumentException
        );
    }
}
