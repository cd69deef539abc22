//! Secrets Manager through the lake server: the AWS CLI and boto3 keep a database's credentials
//! as the DMS endpoint will read them; a principal the secret's policy does not name is refused
//! without learning the value or whether the secret exists; ListSecrets pages; the value is in
//! GetSecretValue's answer and nowhere else (not in errors, the audit log or the server's log).

use super::{Server, error_of, json_of};

const VALUE: &str = r#"{"username":"dms_reader","password":"wire-s3cret-7Q"}"#;

#[test]
fn the_aws_cli_and_boto3_keep_and_read_secrets_as_the_policy_allows() {
    let mut server = Server::start();
    let admin = server.keys_for("admin");
    let etl = server.keys_for("etl");

    let made = json_of(&server.aws(
        &admin,
        &[
            "secretsmanager",
            "create-secret",
            "--name",
            "db/source",
            "--secret-string",
            VALUE,
            "--description",
            "the source database",
        ],
    ));
    let arn = made["ARN"].as_str().unwrap().to_string();
    assert!(arn.contains(":secret:db/source-"), "{made}");
    assert!(made["VersionId"].is_string(), "{made}");

    // The admin reads it back, and the CLI took the wire's timestamps as timestamps.
    let got = json_of(&server.aws(
        &admin,
        &[
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            "db/source",
        ],
    ));
    assert_eq!(got["SecretString"], VALUE, "{got}");
    assert_eq!(got["VersionStages"], serde_json::json!(["AWSCURRENT"]));
    let described = json_of(&server.aws(
        &admin,
        &["secretsmanager", "describe-secret", "--secret-id", &arn],
    ));
    assert_eq!(described["Description"], "the source database");
    assert!(described.get("SecretString").is_none(), "{described}");
    assert!(
        described["LastChangedDate"].is_string() || described["LastChangedDate"].is_number(),
        "{described}"
    );

    // etl holds no policy: refused, for this secret exactly as for one that does not exist,
    // and the refusal carries no value.
    let refused = error_of(&server.aws(
        &etl,
        &[
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            "db/source",
        ],
    ));
    let missing = error_of(&server.aws(
        &etl,
        &[
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            "db/nothing",
        ],
    ));
    assert!(refused.contains("AccessDenied"), "{refused}");
    assert_eq!(
        refused.replace("db/source", "NAME"),
        missing.replace("db/nothing", "NAME"),
        "a refusal must not tell whether the secret exists"
    );
    assert!(
        !refused.contains("s3cret") && !refused.contains(&arn),
        "{refused}"
    );

    // The secret's resource policy names etl: boto3 reads it (the managed key lets every
    // principal decrypt through Secrets Manager), and may not change it.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:user/etl"}},"Action":"secretsmanager:GetSecretValue","Resource":"*"}}]}}"#,
        arn.split(':').nth(4).unwrap()
    );
    json_of(&server.aws(
        &admin,
        &[
            "secretsmanager",
            "put-resource-policy",
            "--secret-id",
            "db/source",
            "--resource-policy",
            &policy,
        ],
    ));
    let read = server.python(
        &etl,
        r#"
import boto3, json, os
sm = boto3.client("secretsmanager", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
value = json.loads(sm.get_secret_value(SecretId="db/source")["SecretString"])
print(value["username"])
try:
    sm.put_secret_value(SecretId="db/source", SecretString="x")
    print("changed")
except sm.exceptions.ClientError as e:
    print(e.response["Error"]["Code"])
"#,
    );
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&read.stdout)
            .lines()
            .collect::<Vec<_>>(),
        ["dms_reader", "AccessDeniedException"]
    );

    // A new value moves the stages; ListSecrets pages through boto3's paginator.
    json_of(&server.aws(
        &admin,
        &[
            "secretsmanager",
            "put-secret-value",
            "--secret-id",
            "db/source",
            "--secret-string",
            "rotated",
        ],
    ));
    for n in 0..3 {
        json_of(&server.aws(
            &admin,
            &[
                "secretsmanager",
                "create-secret",
                "--name",
                &format!("db/extra-{n}"),
                "--secret-string",
                "x",
            ],
        ));
    }
    let script = format!(
        r#"
import boto3, os
sm = boto3.client("secretsmanager", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
pages = list(sm.get_paginator("list_secrets").paginate(PaginationConfig={{"PageSize": 3}}))
print(len(pages), sorted(s["Name"] for p in pages for s in p["SecretList"]))
previous = sm.get_secret_value(SecretId="db/source", VersionStage="AWSPREVIOUS")["SecretString"]
print(previous == '{VALUE}')
try:
    sm.list_secrets(NextToken="forged")
except sm.exceptions.InvalidNextTokenException:
    print("forged token refused")
"#
    );
    let pages = server.python(&admin, &script);
    assert!(
        pages.status.success(),
        "{}",
        String::from_utf8_lossy(&pages.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&pages.stdout)
            .lines()
            .collect::<Vec<_>>(),
        [
            "2 ['db/extra-0', 'db/extra-1', 'db/extra-2', 'db/source']",
            "True",
            "forged token refused"
        ]
    );

    // Deleted, it reads nowhere; restored, it reads again.
    let deleted = json_of(&server.aws(
        &admin,
        &[
            "secretsmanager",
            "delete-secret",
            "--secret-id",
            "db/source",
            "--recovery-window-in-days",
            "7",
        ],
    ));
    assert!(deleted["DeletionDate"].is_string() || deleted["DeletionDate"].is_number());
    let said = error_of(&server.aws(
        &admin,
        &[
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            "db/source",
        ],
    ));
    assert!(said.contains("InvalidRequestException"), "{said}");
    json_of(&server.aws(
        &admin,
        &[
            "secretsmanager",
            "restore-secret",
            "--secret-id",
            "db/source",
        ],
    ));
    let got = json_of(&server.aws(
        &admin,
        &[
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            "db/source",
        ],
    ));
    assert_eq!(got["SecretString"], "rotated");

    // The reads are audited by principal and access key, without the value; the server's log
    // holds no value either.
    let trail = json_of(&server.aws(
        &admin,
        &[
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=GetSecretValue",
        ],
    ));
    let text = trail.to_string();
    assert!(
        text.contains(&etl.id),
        "the audit names etl's access key: {text}"
    );
    assert!(
        !text.contains("s3cret") && !text.contains("rotated"),
        "{text}"
    );
    let log = server.stop_and_log();
    assert!(!log.contains("s3cret") && !log.contains("rotated"), "{log}");
}
