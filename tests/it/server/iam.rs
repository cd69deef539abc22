//! IAM's query protocol through the server: the AWS CLI manages users, policies and access keys
//! as the README tells users to, and the lake's rules hold on the wire (a principal that is not
//! an admin cannot make a key for another); users are deleted as IAM deletes them, and
//! SimulatePrincipalPolicy answers what the lake then enforces.

use super::{Keys, Server, error_of, json_of};

#[test]
fn the_aws_cli_manages_users_policies_and_access_keys() {
    let server = Server::start();
    let admin = server.keys_for("admin");

    let made = json_of(&server.aws(&admin, &["iam", "create-user", "--user-name", "analyst"]));
    assert_eq!(made["User"]["UserName"], "analyst", "{made}");
    assert!(
        made["User"]["Arn"]
            .as_str()
            .unwrap()
            .ends_with(":user/analyst"),
        "{made}"
    );
    let users = json_of(&server.aws(&admin, &["iam", "list-users"]));
    let names: Vec<&str> = users["Users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["UserName"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"admin") && names.contains(&"analyst"),
        "{users}"
    );
    let me = json_of(&server.aws(&admin, &["iam", "get-user"]));
    assert_eq!(me["User"]["UserName"], "admin", "{me}");

    // A key made over the wire signs requests as its user.
    let created = json_of(&server.aws(
        &admin,
        &["iam", "create-access-key", "--user-name", "analyst"],
    ));
    let key = &created["AccessKey"];
    assert_eq!(key["UserName"], "analyst");
    assert_eq!(key["Status"], "Active");
    let analyst = Keys {
        id: key["AccessKeyId"].as_str().unwrap().to_string(),
        secret: key["SecretAccessKey"].as_str().unwrap().to_string(),
    };
    let who = json_of(&server.aws(&analyst, &["sts", "get-caller-identity"]));
    assert!(
        who["Arn"].as_str().unwrap().ends_with(":user/analyst"),
        "{who}"
    );

    // Listing shows the key, never its secret.
    let out = server.aws(
        &admin,
        &["iam", "list-access-keys", "--user-name", "analyst"],
    );
    let listed = json_of(&out);
    assert_eq!(
        listed["AccessKeyMetadata"][0]["AccessKeyId"],
        analyst.id.as_str()
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&analyst.secret));
    assert!(
        listed["AccessKeyMetadata"][0]
            .get("SecretAccessKey")
            .is_none()
    );

    // Made inactive over the wire, the key signs nothing; active again, it does.
    let status = |s: &str| {
        json_of(&server.aws(
            &admin,
            &[
                "iam",
                "update-access-key",
                "--user-name",
                "analyst",
                "--access-key-id",
                &analyst.id,
                "--status",
                s,
            ],
        ))
    };
    status("Inactive");
    let said = error_of(&server.aws(&analyst, &["sts", "get-caller-identity"]));
    assert!(said.contains("InvalidClientTokenId"), "{said}");
    status("Active");
    json_of(&server.aws(&analyst, &["sts", "get-caller-identity"]));

    // The analyst's own key may not make one for the admin (or list the admin's).
    let said = error_of(&server.aws(
        &analyst,
        &["iam", "create-access-key", "--user-name", "admin"],
    ));
    assert!(said.contains("AccessDenied"), "{said}");
    let said = error_of(&server.aws(
        &analyst,
        &["iam", "list-access-keys", "--user-name", "admin"],
    ));
    assert!(said.contains("AccessDenied"), "{said}");
    let admin_keys = server.lakectl(&["iam", "list-access-keys", "--user-name", "admin"]);
    assert_eq!(
        admin_keys["AccessKeyMetadata"].as_array().unwrap().len(),
        1,
        "{admin_keys}"
    );

    // Inline policies: the document travels form-encoded and comes back URL-encoded, which the
    // CLI decodes.
    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::raw/*"]}]}"#;
    json_of(&server.aws(
        &admin,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "analyst",
            "--policy-name",
            "read-raw",
            "--policy-document",
            document,
        ],
    ));
    let got = json_of(&server.aws(
        &admin,
        &[
            "iam",
            "get-user-policy",
            "--user-name",
            "analyst",
            "--policy-name",
            "read-raw",
        ],
    ));
    let statement = &got["PolicyDocument"]["Statement"][0];
    assert_eq!(
        statement["Resource"],
        serde_json::json!(["arn:aws:s3:::raw/*"]),
        "{got}"
    );
    let names = json_of(&server.aws(
        &admin,
        &["iam", "list-user-policies", "--user-name", "analyst"],
    ));
    assert_eq!(names["PolicyNames"], serde_json::json!(["read-raw"]));
    let local = server.lakectl(&[
        "iam",
        "get-user-policy",
        "--user-name",
        "analyst",
        "--policy-name",
        "read-raw",
    ]);
    assert_eq!(
        local["PolicyDocument"]["Statement"][0]["Resource"],
        statement["Resource"]
    );
    let said = error_of(&server.aws(
        &admin,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "analyst",
            "--policy-name",
            "bad",
            "--policy-document",
            "{not json",
        ],
    ));
    assert!(said.contains("MalformedPolicyDocument"), "{said}");

    // Managed policies.
    let arn = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    json_of(&server.aws(
        &admin,
        &[
            "iam",
            "attach-user-policy",
            "--user-name",
            "analyst",
            "--policy-arn",
            arn,
        ],
    ));
    let attached = json_of(&server.aws(
        &admin,
        &[
            "iam",
            "list-attached-user-policies",
            "--user-name",
            "analyst",
        ],
    ));
    assert_eq!(
        attached["AttachedPolicies"][0]["PolicyArn"], arn,
        "{attached}"
    );
    json_of(&server.aws(
        &admin,
        &[
            "iam",
            "detach-user-policy",
            "--user-name",
            "analyst",
            "--policy-arn",
            arn,
        ],
    ));
    let attached = json_of(&server.aws(
        &admin,
        &[
            "iam",
            "list-attached-user-policies",
            "--user-name",
            "analyst",
        ],
    ));
    assert_eq!(attached["AttachedPolicies"], serde_json::json!([]));
    json_of(&server.aws(
        &admin,
        &[
            "iam",
            "delete-user-policy",
            "--user-name",
            "analyst",
            "--policy-name",
            "read-raw",
        ],
    ));

    // lakectl's AWS backend through the server answers as lakectl on the lake.
    let out = server.lakectl_client(
        &admin,
        &["iam", "list-access-keys", "--user-name", "analyst"],
    );
    let through = json_of(&out);
    let direct = server.lakectl(&["iam", "list-access-keys", "--user-name", "analyst"]);
    assert_eq!(through, direct);

    // A user with a key cannot be deleted (IAM's DeleteConflict): the key goes first.
    let said = error_of(&server.aws(&admin, &["iam", "delete-user", "--user-name", "analyst"]));
    assert!(
        said.contains("DeleteConflict") && said.contains("access keys"),
        "{said}"
    );

    // Deleted, the key is gone from the list and signs nothing.
    json_of(&server.aws(
        &admin,
        &[
            "iam",
            "delete-access-key",
            "--user-name",
            "analyst",
            "--access-key-id",
            &analyst.id,
        ],
    ));
    let listed = json_of(&server.aws(
        &admin,
        &["iam", "list-access-keys", "--user-name", "analyst"],
    ));
    assert_eq!(listed["AccessKeyMetadata"], serde_json::json!([]));
    let said = error_of(&server.aws(&analyst, &["sts", "get-caller-identity"]));
    assert!(said.contains("InvalidClientTokenId"), "{said}");
    // With nothing left, the user goes, and is gone.
    json_of(&server.aws(&admin, &["iam", "delete-user", "--user-name", "analyst"]));
    let users = json_of(&server.aws(&admin, &["iam", "list-users"]));
    assert!(
        !users.to_string().contains("\"analyst\""),
        "a deleted user is listed: {users}"
    );
    let said = error_of(&server.aws(&admin, &["iam", "get-user", "--user-name", "analyst"]));
    assert!(said.contains("NoSuchEntity"), "{said}");
    let said = error_of(&server.aws(&admin, &["iam", "delete-user", "--user-name", "analyst"]));
    assert!(said.contains("NoSuchEntity"), "{said}");
}

/// The decisions of `simulate-principal-policy` for `analyst` on `resources`, by resource.
fn simulated(out: &serde_json::Value) -> Vec<(String, String)> {
    out["EvaluationResults"]
        .as_array()
        .unwrap_or_else(|| panic!("no EvaluationResults: {out}"))
        .iter()
        .map(|r| {
            (
                r["EvalResourceName"].as_str().unwrap().to_string(),
                r["EvalDecision"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn simulate_principal_policy_answers_what_the_lake_then_enforces() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    let analyst = server.keys_for("analyst");
    let body = server.file("body.txt");
    std::fs::write(&body, "x").unwrap();
    server.lakectl(&["s3", "mb", "s3://raw"]);
    for key in ["public/a.txt", "secret/a.txt", "other/a.txt"] {
        server.lakectl(&[
            "s3",
            "cp",
            body.to_str().unwrap(),
            &format!("s3://raw/{key}"),
        ]);
    }
    let document = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"ReadRaw","Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::raw/public/*","arn:aws:s3:::raw/secret/*"]},
        {"Sid":"NoSecrets","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::raw/secret/*"}]}"#;
    server.lakectl(&[
        "iam",
        "put-user-policy",
        "--user-name",
        "analyst",
        "--policy-name",
        "read-raw",
        "--policy-document",
        document,
    ]);
    let account = json_of(&server.aws(&admin, &["sts", "get-caller-identity"]))["Account"]
        .as_str()
        .unwrap()
        .to_string();
    let source = format!("arn:aws:iam::{account}:user/analyst");
    let resources = [
        "arn:aws:s3:::raw/public/a.txt",
        "arn:aws:s3:::raw/secret/a.txt",
        "arn:aws:s3:::raw/other/a.txt",
    ];
    let mut args = vec![
        "iam",
        "simulate-principal-policy",
        "--policy-source-arn",
        &source,
        "--action-names",
        "s3:GetObject",
        "--resource-arns",
    ];
    args.extend(resources);
    let wire = json_of(&server.aws(&admin, &args));
    let expected: Vec<(String, String)> = resources
        .iter()
        .zip(["allowed", "explicitDeny", "implicitDeny"])
        .map(|(r, d)| (r.to_string(), d.to_string()))
        .collect();
    assert_eq!(simulated(&wire), expected, "{wire}");
    let denied_by = &wire["EvaluationResults"][1]["MatchedStatements"][0];
    assert!(
        denied_by["SourcePolicyId"]
            .as_str()
            .is_some_and(|s| s.contains("read-raw") && s.contains("NoSecrets")),
        "{wire}"
    );
    assert_eq!(denied_by["SourcePolicyType"], "user", "{wire}");
    // lakectl on the lake answers the same.
    let local = server.lakectl(&args);
    assert_eq!(simulated(&local), expected, "{local}");

    // What the simulation said is what the lake does when the analyst asks.
    let down = server.file("down.txt");
    for (key, allowed) in [("public", true), ("secret", false), ("other", false)] {
        let out = server.aws(
            &analyst,
            &[
                "s3",
                "cp",
                &format!("s3://raw/{key}/a.txt"),
                down.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.success(), allowed, "{key}: {out:?}");
    }

    // Simulating needs iam:SimulatePrincipalPolicy: the analyst may not ask about the admin.
    let said = error_of(&server.aws(
        &analyst,
        &[
            "iam",
            "simulate-principal-policy",
            "--policy-source-arn",
            &format!("arn:aws:iam::{account}:user/admin"),
            "--action-names",
            "s3:GetObject",
        ],
    ));
    assert!(said.contains("AccessDenied"), "{said}");

    // Condition keys: a put is allowed only with SSE-KMS, and the simulation weighs the context
    // it is given, from the AWS CLI and from lakectl alike.
    let document = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"PutPublic","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::raw/public/*"},
        {"Sid":"OnlyKms","Effect":"Deny","Action":"s3:PutObject","Resource":"*",
         "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}]}"#;
    server.lakectl(&[
        "iam",
        "put-user-policy",
        "--user-name",
        "analyst",
        "--policy-name",
        "put-public",
        "--policy-document",
        document,
    ]);
    let put = [
        "iam",
        "simulate-principal-policy",
        "--policy-source-arn",
        &source,
        "--action-names",
        "s3:PutObject",
        "--resource-arns",
        "arn:aws:s3:::raw/public/b.txt",
    ];
    let decision = |out: &serde_json::Value| simulated(out)[0].1.clone();
    for (context, expected) in [
        (None, "explicitDeny"),
        (
            Some(
                "ContextKeyName=s3:x-amz-server-side-encryption,ContextKeyValues=aws:kms,ContextKeyType=string",
            ),
            "allowed",
        ),
        (
            Some(
                r#"[{"ContextKeyName":"s3:x-amz-server-side-encryption","ContextKeyValues":["AES256"],"ContextKeyType":"string"}]"#,
            ),
            "explicitDeny",
        ),
    ] {
        let mut args = put.to_vec();
        args.extend(
            context
                .map(|c| ["--context-entries", c])
                .into_iter()
                .flatten(),
        );
        let wire = json_of(&server.aws(&admin, &args));
        assert_eq!(
            decision(&wire),
            expected,
            "{context:?} over the wire: {wire}"
        );
        let local = server.lakectl(&args);
        assert_eq!(
            decision(&local),
            expected,
            "{context:?} from lakectl: {local}"
        );
    }
}
