//! Secrets Manager on the local lake: the versions and stages as Secrets Manager moves them,
//! deletion windows, and each control tried from the side: no policy, a resource policy, the
//! key's Decrypt taken away or the key disabled, a deleted secret; and the value nowhere but in
//! `get-secret-value`'s answer (not on disk, not in the audit log, not in an error).

use lakectl::cli::Context;
use lakectl::service::{Code, Principal, Result};
use serde_json::Value;

use crate::common::*;

/// A value no other test writes, so finding it anywhere means it leaked.
const VALUE: &str = "pg-pass-7f3c9e1a-not-for-disk";
const NEW_VALUE: &str = "pg-pass-2b8d4c6e-rotated";

async fn cli(t: &TestLake, who: &Principal, words: &[&str]) -> Result<Value> {
    let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    let cmd = lakectl::cli::commands::Command::from_words(&words)?;
    Context::new(&t.services, who).execute(cmd).await
}

async fn create(t: &TestLake, name: &str, extra: &[&str]) -> Value {
    let mut words = vec![
        "secretsmanager",
        "create-secret",
        "--name",
        name,
        "--secret-string",
        VALUE,
    ];
    words.extend_from_slice(extra);
    cli(t, &admin(), &words).await.unwrap()
}

async fn get(t: &TestLake, who: &Principal, id: &str, extra: &[&str]) -> Result<Value> {
    let mut words = vec!["secretsmanager", "get-secret-value", "--secret-id", id];
    words.extend_from_slice(extra);
    cli(t, who, &words).await
}

fn assert_no_value(what: &str, text: &str) {
    assert!(
        !text.contains(VALUE) && !text.contains(NEW_VALUE),
        "{what} shows the secret: {text}"
    );
}

#[tokio::test]
async fn versions_move_as_secrets_manager_moves_them_and_deletion_waits_its_window() {
    let t = new_lake();
    let a = admin();
    let created = create(&t, "prod/db", &["--description", "the source database"]).await;
    let keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ARN", "Name", "VersionId"], "{created}");
    let arn = created["ARN"].as_str().unwrap().to_string();
    let prefix = format!(
        "arn:aws:secretsmanager:{}:{}:secret:prod/db-",
        t.lake.region(),
        t.lake.account_id()
    );
    let suffix = arn.strip_prefix(&prefix).expect(&arn);
    assert!(
        suffix.len() == 6 && suffix.chars().all(|c| c.is_ascii_alphanumeric()),
        "{arn}"
    );
    let first = created["VersionId"].as_str().unwrap().to_string();

    let got = get(&t, &a, "prod/db", &[]).await.unwrap();
    assert_eq!(got["SecretString"], VALUE);
    assert_eq!(got["VersionStages"], serde_json::json!(["AWSCURRENT"]));
    assert_eq!(got["ARN"], arn.as_str());
    // By ARN too.
    assert_eq!(
        get(&t, &a, &arn, &[]).await.unwrap()["VersionId"],
        first.as_str()
    );

    // A new value: AWSCURRENT moves to it, AWSPREVIOUS follows to the old one.
    let put = cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "put-secret-value",
            "--secret-id",
            "prod/db",
            "--secret-string",
            NEW_VALUE,
        ],
    )
    .await
    .unwrap();
    let second = put["VersionId"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(
        get(&t, &a, "prod/db", &[]).await.unwrap()["SecretString"],
        NEW_VALUE
    );
    let previous = get(&t, &a, "prod/db", &["--version-stage", "AWSPREVIOUS"])
        .await
        .unwrap();
    assert_eq!(previous["SecretString"], VALUE);
    assert_eq!(previous["VersionId"], first.as_str());
    assert_eq!(
        get(&t, &a, "prod/db", &["--version-id", &first])
            .await
            .unwrap()["SecretString"],
        VALUE
    );
    // A third value: the first version loses its stage.
    cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "put-secret-value",
            "--secret-id",
            "prod/db",
            "--secret-string",
            "third",
        ],
    )
    .await
    .unwrap();
    let described = cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "describe-secret",
            "--secret-id",
            "prod/db",
        ],
    )
    .await
    .unwrap();
    let stages = described["VersionIdsToStages"].as_object().unwrap();
    assert_eq!(stages.len(), 2, "{described}");
    assert_eq!(stages[&second], serde_json::json!(["AWSPREVIOUS"]));
    assert!(!stages.contains_key(&first));
    assert_eq!(described["Description"], "the source database");
    assert!(described.get("DeletedDate").is_none());
    assert_no_value("describe-secret", &described.to_string());

    let listed = cli(&t, &a, &["secretsmanager", "list-secrets"])
        .await
        .unwrap();
    assert_eq!(listed["SecretList"][0]["Name"], "prod/db");

    // Out-of-range windows are refused before anything changes.
    let e = cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "delete-secret",
            "--secret-id",
            "prod/db",
            "--recovery-window-in-days",
            "6",
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::InvalidParameterException);

    let deleted = cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "delete-secret",
            "--secret-id",
            "prod/db",
            "--recovery-window-in-days",
            "7",
        ],
    )
    .await
    .unwrap();
    let when =
        chrono::DateTime::parse_from_rfc3339(deleted["DeletionDate"].as_str().unwrap()).unwrap();
    let days = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "{deleted}");
    let e = get(&t, &a, "prod/db", &[]).await.unwrap_err();
    assert_eq!(e.code, Code::InvalidRequestException, "{e}");
    let e = cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "put-secret-value",
            "--secret-id",
            "prod/db",
            "--secret-string",
            "x",
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::InvalidRequestException);
    assert!(
        cli(&t, &a, &["secretsmanager", "list-secrets"])
            .await
            .unwrap()["SecretList"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let described = cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "describe-secret",
            "--secret-id",
            "prod/db",
        ],
    )
    .await
    .unwrap();
    assert!(described["DeletedDate"].is_string(), "{described}");
    // The name stays taken while the secret may be restored.
    let e = cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "create-secret",
            "--name",
            "prod/db",
            "--secret-string",
            "x",
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::ResourceExistsException);

    cli(
        &t,
        &a,
        &["secretsmanager", "restore-secret", "--secret-id", "prod/db"],
    )
    .await
    .unwrap();
    assert_eq!(
        get(&t, &a, "prod/db", &[]).await.unwrap()["SecretString"],
        "third"
    );

    cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "delete-secret",
            "--secret-id",
            "prod/db",
            "--force-delete-without-recovery",
        ],
    )
    .await
    .unwrap();
    let e = get(&t, &a, "prod/db", &[]).await.unwrap_err();
    assert_eq!(e.code, Code::ResourceNotFoundException);
    // Gone: the name is free, and the new secret is another ARN.
    let again = create(&t, "prod/db", &[]).await;
    assert_ne!(again["ARN"], arn.as_str());
}

#[tokio::test]
async fn reads_need_the_secrets_permission_and_the_keys_decrypt() {
    let t = new_lake();
    let a = admin();
    t.services
        .iam
        .create_principal(&a, "etl", false)
        .await
        .unwrap();
    let etl = Principal::new("etl");
    let arn = create(&t, "db/default-key", &[]).await["ARN"]
        .as_str()
        .unwrap()
        .to_string();

    // No policy: refused, and the refusal is the secret's, not the key's.
    let e = get(&t, &etl, "db/default-key", &[]).await.unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);
    assert!(e.message.contains("secretsmanager:GetSecretValue"), "{e}");
    assert_no_value("a refusal", &e.to_string());

    // The secret's resource policy allows it: allowed (the managed key lets every principal
    // decrypt through Secrets Manager).
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"EtlReads","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:user/etl"}},"Action":"secretsmanager:GetSecretValue","Resource":"*"}}]}}"#,
        t.lake.account_id()
    );
    cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "put-resource-policy",
            "--secret-id",
            "db/default-key",
            "--resource-policy",
            &policy,
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        get(&t, &etl, "db/default-key", &[]).await.unwrap()["SecretString"],
        VALUE
    );
    // The typed read another service (DMS) uses: the same checks.
    let current = t.services.secrets.current_value(&etl, &arn).await.unwrap();
    assert_eq!(current.expose(), VALUE);
    assert_eq!(format!("{current:?}"), "<secret>");
    // The policy reaches only the secret it is on.
    create(&t, "db/other", &[]).await;
    assert_eq!(
        get(&t, &etl, "db/other", &[]).await.unwrap_err().code,
        Code::AccessDenied
    );
    // Nor may etl change it.
    let e = cli(
        &t,
        &etl,
        &[
            "secretsmanager",
            "put-secret-value",
            "--secret-id",
            "db/default-key",
            "--secret-string",
            "x",
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);

    // A customer key whose policy does not name etl: the secret allows, the key refuses.
    t.services
        .keys
        .create_key(
            &a,
            lakectl::service::keys::CreateKey {
                alias: Some("alias/db-secrets".into()),
                description: None,
            },
        )
        .await
        .unwrap();
    create(&t, "db/own-key", &["--kms-key-id", "alias/db-secrets"]).await;
    let on_own = policy.replace("EtlReads", "EtlReadsOwn");
    cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "put-resource-policy",
            "--secret-id",
            "db/own-key",
            "--resource-policy",
            &on_own,
        ],
    )
    .await
    .unwrap();
    let e = get(&t, &etl, "db/own-key", &[]).await.unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);
    assert!(e.message.contains("kms:Decrypt"), "{e}");
    assert_no_value("the key's refusal", &e.to_string());

    // The key policy lets etl decrypt: allowed.
    t.services
        .keys
        .allow(&a, "alias/db-secrets", "etl", &["Decrypt".to_string()])
        .await
        .unwrap();
    assert_eq!(
        get(&t, &etl, "db/own-key", &[]).await.unwrap()["SecretString"],
        VALUE
    );

    // The key disabled: KMS's code, for everyone, and nothing of the value.
    t.services
        .keys
        .set_key_enabled(&a, "alias/db-secrets", false)
        .await
        .unwrap();
    for who in [&etl, &a] {
        let e = get(&t, who, "db/own-key", &[]).await.unwrap_err();
        assert_eq!(e.code, Code::DisabledException);
        assert_no_value("a disabled key's refusal", &e.to_string());
    }
    // A new value cannot be sealed under it either.
    let e = cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "put-secret-value",
            "--secret-id",
            "db/own-key",
            "--secret-string",
            NEW_VALUE,
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::DisabledException);
    assert_no_value("a refused put", &e.to_string());

    // A resource policy with an explicit deny wins over the admin's identity.
    let deny = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"NoReads","Effect":"Deny","Principal":{{"AWS":"arn:aws:iam::{}:user/etl"}},"Action":"secretsmanager:GetSecretValue","Resource":"*"}}]}}"#,
        t.lake.account_id()
    );
    cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "put-resource-policy",
            "--secret-id",
            "db/default-key",
            "--resource-policy",
            &deny,
        ],
    )
    .await
    .unwrap();
    let e = get(&t, &etl, "db/default-key", &[]).await.unwrap_err();
    assert!(
        e.message.contains("explicit deny") && e.message.contains("NoReads"),
        "{e}"
    );
}

#[tokio::test]
async fn the_value_is_nowhere_but_in_the_answer_to_get_secret_value() {
    let t = new_lake();
    let a = admin();
    create(&t, "leak/check", &[]).await;
    cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "put-secret-value",
            "--secret-id",
            "leak/check",
            "--secret-string",
            NEW_VALUE,
        ],
    )
    .await
    .unwrap();
    // From a file too (the way that keeps it out of the process list).
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("value");
    std::fs::write(&file, format!("{VALUE}-from-file")).unwrap();
    let from_file = format!("file://{}", file.display());
    create(&t, "leak/file", &[]).await;
    cli(
        &t,
        &a,
        &[
            "secretsmanager",
            "put-secret-value",
            "--secret-id",
            "leak/file",
            "--secret-string",
            &from_file,
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        get(&t, &a, "leak/file", &[]).await.unwrap()["SecretString"],
        format!("{VALUE}-from-file")
    );
    for _ in 0..3 {
        get(&t, &a, "leak/check", &[]).await.unwrap();
        get(&t, &a, "leak/check", &["--version-stage", "AWSPREVIOUS"])
            .await
            .unwrap();
    }
    t.services
        .iam
        .create_principal(&a, "nobody", false)
        .await
        .unwrap();
    let e = get(&t, &Principal::new("nobody"), "leak/check", &[])
        .await
        .unwrap_err();
    assert_no_value("a refusal", &e.to_string());

    // Every read is on the record, without the value.
    let audit = cli(&t, &a, &["audit", "list"]).await.unwrap().to_string();
    assert_no_value("audit list", &audit);
    let reads = audit.matches("\"GetSecretValue\"").count();
    assert!(reads >= 8, "{reads} reads audited: {audit}");

    // Not on disk: every file under the lake, meta.db and its WAL included.
    let files = files_under(&t.path());
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().ends_with("meta.db-wal")),
        "{files:?}"
    );
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for v in [VALUE, NEW_VALUE] {
            assert!(
                !bytes.windows(v.len()).any(|w| w == v.as_bytes()),
                "{} holds a secret value in plaintext",
                f.display()
            );
        }
    }
}

/// A principal with no policy is refused the same way for a secret that exists and one that
/// does not: the refusal names the secret as asked, not by the ARN whose suffix would tell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_does_not_tell_whether_the_secret_exists() {
    let t = crate::common::new_lake();
    let s = &t.services;
    let a = crate::common::admin();
    s.iam.create_principal(&a, "nosy", false).await.unwrap();
    let cmd = |line: &str| lakectl::cli::parse_line(line).unwrap();
    lakectl::cli::Context::new(s, &a)
        .execute(cmd(
            "secretsmanager create-secret --name db/creds --secret-string x",
        ))
        .await
        .unwrap();
    let nosy = lakectl::service::Principal::new("nosy");
    let mut refusals = Vec::new();
    for name in ["db/creds", "db/nope"] {
        let line = format!("secretsmanager get-secret-value --secret-id {name}");
        let e = lakectl::cli::Context::new(s, &nosy)
            .execute(cmd(&line))
            .await
            .unwrap_err();
        refusals.push(e);
    }
    let (exists, missing) = (&refusals[0], &refusals[1]);
    assert_eq!(exists.code, missing.code);
    assert_eq!(
        exists.message.replace("db/creds", "X"),
        missing.message.replace("db/nope", "X")
    );
}
