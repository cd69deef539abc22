//! IAM's query protocol through the server: the AWS CLI manages users, policies and access keys
//! as the README tells users to, and the lake's rules hold on the wire (a principal that is not
//! an admin cannot make a key for another).

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
    let said = error_of(&server.aws(&admin, &["iam", "delete-user", "--user-name", "analyst"]));
    assert!(said.contains("UnsupportedOperation"), "{said}");
}
