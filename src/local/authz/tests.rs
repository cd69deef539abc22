//! The policy evaluator's tests: explicit deny, allow and nothing granted, and a table of every condition
//! operator run as an Allow and as a Deny.

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
