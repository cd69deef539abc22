//! IAM access keys on the local lake: the calls in the AWS CLI's shapes, IAM's quota, and the
//! secret's protection tried from every side: the listing, the files of the lake (meta.db and
//! its WAL), the audit log, a sealed secret moved to another key, and principals without a policy.

use lakectl::cli::Context;
use lakectl::service::iam::AccessKeyStatus;
use lakectl::service::policy::PolicyDocument;
use lakectl::service::{Code, Principal, Services};
use serde_json::Value;

use crate::common::{TestLake, admin, files_under, new_lake};

async fn cli(s: &Services, who: &str, line: &str) -> lakectl::service::Result<Value> {
    let by = Principal::new(who);
    let cmd = lakectl::cli::parse_line(line).unwrap();
    Context::new(s, &by).execute(cmd).await
}

async fn lake_with(users: &[&str]) -> TestLake {
    let t = new_lake();
    for user in users {
        t.services
            .iam
            .create_principal(&admin(), user, false)
            .await
            .unwrap();
    }
    t
}

fn id_of(created: &Value) -> String {
    created["AccessKey"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn secret_of(created: &Value) -> String {
    created["AccessKey"]["SecretAccessKey"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_keys_are_created_listed_updated_and_deleted_as_in_iam() {
    let t = lake_with(&["bob"]).await;
    let s = &t.services;
    let first = cli(s, "admin", "iam create-access-key --user-name bob")
        .await
        .unwrap();
    let key = &first["AccessKey"];
    assert_eq!(key["UserName"], "bob");
    assert_eq!(key["Status"], "Active");
    assert!(key["CreateDate"].is_string(), "{first}");
    let id = id_of(&first);
    let id_shape = regex::Regex::new(r"^AKIA[A-Z2-7]{16}$").unwrap();
    assert!(id_shape.is_match(&id), "{id}");
    let secret = secret_of(&first);
    assert_eq!(secret.len(), 40, "{secret}");

    let second = cli(s, "admin", "iam create-access-key --user-name bob")
        .await
        .unwrap();
    assert_ne!(id_of(&second), id);
    assert_ne!(secret_of(&second), secret);

    // IAM's quota: two keys per user.
    let e = cli(s, "admin", "iam create-access-key --user-name bob")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::IamLimitExceeded, "{e}");
    assert_eq!(e.code_name(), "LimitExceeded");
    assert_eq!(e.code.exit_code(), 254);

    // The listing: ids and status, never a secret.
    let listed = cli(s, "admin", "iam list-access-keys --user-name bob")
        .await
        .unwrap();
    assert_eq!(listed["IsTruncated"], false);
    let keys = listed["AccessKeyMetadata"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{listed}");
    assert!(keys.iter().all(|k| k["UserName"] == "bob"
        && k["Status"] == "Active"
        && k.get("SecretAccessKey").is_none()));
    let text = listed.to_string();
    assert!(text.contains(&id));
    assert!(!text.contains(&secret) && !text.contains(&secret_of(&second)));

    // The credential the server checks signatures with.
    let cred = t.lake.access_key_credential(&id).unwrap();
    assert_eq!(cred.user_name, "bob");
    assert_eq!(cred.status, AccessKeyStatus::Active);
    assert_eq!(cred.secret.expose(), secret);
    assert!(!format!("{cred:?}").contains(&secret), "{cred:?}");

    // Inactive reads Inactive, in the listing and to the server.
    cli(
        s,
        "admin",
        &format!("iam update-access-key --user-name bob --access-key-id {id} --status Inactive"),
    )
    .await
    .unwrap();
    assert_eq!(
        t.lake.access_key_credential(&id).unwrap().status,
        AccessKeyStatus::Inactive
    );
    let listed = cli(s, "admin", "iam list-access-keys --user-name bob")
        .await
        .unwrap();
    let statuses: Vec<&Value> = listed["AccessKeyMetadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["Status"])
        .collect();
    assert!(statuses.contains(&&Value::from("Inactive")), "{listed}");

    // A key is found under its own user only.
    let e = cli(
        s,
        "admin",
        &format!("iam delete-access-key --access-key-id {id}"),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::NoSuchEntity, "{e}");
    let e = cli(
        s,
        "admin",
        "iam update-access-key --user-name nobody-here --access-key-id AKIAAAAAAAAAAAAAAAAA --status Active",
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::NoSuchEntity, "{e}");

    // Deleted: gone from the listing and unknown to the server; the quota frees a place.
    cli(
        s,
        "admin",
        &format!("iam delete-access-key --user-name bob --access-key-id {id}"),
    )
    .await
    .unwrap();
    let e = t.lake.access_key_credential(&id).unwrap_err();
    assert_eq!(e.code, Code::InvalidAccessKeyId, "{e}");
    assert_eq!(e.code.exit_code(), 253);
    let e = t
        .lake
        .access_key_credential("AKIAIOSFODNN7EXAMPLE")
        .unwrap_err();
    assert_eq!(e.code, Code::InvalidAccessKeyId, "{e}");
    let listed = cli(s, "admin", "iam list-access-keys --user-name bob")
        .await
        .unwrap();
    assert_eq!(listed["AccessKeyMetadata"].as_array().unwrap().len(), 1);
    cli(s, "admin", "iam create-access-key --user-name bob")
        .await
        .unwrap();

    // Without --user-name, the caller's own keys, as in IAM.
    let own = cli(s, "admin", "iam create-access-key").await.unwrap();
    assert_eq!(own["AccessKey"]["UserName"], "admin");
    let listed = cli(s, "admin", "iam list-access-keys").await.unwrap();
    assert_eq!(
        listed["AccessKeyMetadata"][0]["AccessKeyId"],
        own["AccessKey"]["AccessKeyId"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_is_nowhere_on_disk_nor_in_the_audit_log() {
    let t = lake_with(&["bob"]).await;
    let s = &t.services;
    let created = cli(s, "admin", "iam create-access-key --user-name bob")
        .await
        .unwrap();
    let (id, secret) = (id_of(&created), secret_of(&created));
    cli(
        s,
        "admin",
        &format!("iam update-access-key --user-name bob --access-key-id {id} --status Inactive"),
    )
    .await
    .unwrap();

    // Every file of the lake, the store and its write-ahead log included, while it is open.
    let files = files_under(&t.path());
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"meta.db".to_string()), "{names:?}");
    let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &secret).unwrap();
    let mut id_seen = false;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(
            !has(secret.as_bytes()),
            "{} holds the secret",
            file.display()
        );
        assert!(!has(&raw), "{} holds the secret's bytes", file.display());
        id_seen |= has(id.as_bytes());
    }
    // The scan reads what the store wrote: the key id is there.
    assert!(id_seen, "the key id is in none of {names:?}");

    // The audit log names the key and never its secret.
    let events = s.audit.list(&admin(), None).await.unwrap();
    let created_event = events
        .iter()
        .find(|e| e.event_name == "CreateAccessKey")
        .expect("CreateAccessKey is audited");
    assert_eq!(created_event.detail["AccessKeyId"], id.as_str());
    assert_eq!(created_event.detail["UserName"], "bob");
    let updated = events
        .iter()
        .find(|e| e.event_name == "UpdateAccessKey")
        .expect("UpdateAccessKey is audited");
    assert_eq!(updated.detail["Status"], "Inactive");
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains(&secret), "the audit log holds the secret");
    assert!(s.audit.verify(&admin()).await.unwrap().valid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_secret_moved_to_another_key_does_not_open() {
    let t = lake_with(&["bob", "carol"]).await;
    let s = &t.services;
    let bob = id_of(
        &cli(s, "admin", "iam create-access-key --user-name bob")
            .await
            .unwrap(),
    );
    let carol = id_of(
        &cli(s, "admin", "iam create-access-key --user-name carol")
            .await
            .unwrap(),
    );
    // Someone with the files (not the passphrase) gives carol's key bob's sealed secret.
    let db = rusqlite::Connection::open(t.path().join("meta.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    db.execute(
        "UPDATE access_keys SET sealed_secret = (SELECT sealed_secret FROM access_keys WHERE id = ?1) WHERE id = ?2",
        rusqlite::params![bob, carol],
    )
    .unwrap();
    let e = t.lake.access_key_credential(&carol).unwrap_err();
    assert_eq!(e.code, Code::InvalidCiphertextException, "{e}");
    // And a key moved to another user does not open either.
    db.execute(
        "UPDATE access_keys SET principal = 'carol' WHERE id = ?1",
        rusqlite::params![bob],
    )
    .unwrap();
    let e = t.lake.access_key_credential(&bob).unwrap_err();
    assert_eq!(e.code, Code::InvalidCiphertextException, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managing_access_keys_takes_a_policy_as_in_iam() {
    let t = lake_with(&["bob", "carol"]).await;
    let s = &t.services;
    let bobs = id_of(
        &cli(s, "admin", "iam create-access-key --user-name bob")
            .await
            .unwrap(),
    );
    // No policy: bob may not touch keys, his own or another's.
    for line in [
        "iam create-access-key".to_string(),
        "iam create-access-key --user-name bob".into(),
        "iam create-access-key --user-name carol".into(),
        "iam list-access-keys".into(),
        "iam list-access-keys --user-name carol".into(),
        format!("iam update-access-key --access-key-id {bobs} --status Inactive"),
        format!("iam delete-access-key --access-key-id {bobs}"),
    ] {
        let e = cli(s, "bob", &line).await.unwrap_err();
        assert_eq!(e.code, Code::AccessDenied, "{line}: {e}");
        assert!(e.message.contains("user/bob"), "{line}: {}", e.message);
    }
    assert_eq!(
        t.lake.access_key_credential(&bobs).unwrap().status,
        AccessKeyStatus::Active
    );
    let listed = cli(s, "admin", "iam list-access-keys --user-name carol")
        .await
        .unwrap();
    assert!(listed["AccessKeyMetadata"].as_array().unwrap().is_empty());
    // The refusals are on the record.
    let events = s.audit.list(&admin(), Some("bob")).await.unwrap();
    assert!(
        events.iter().any(|e| e.event_name == "CreateAccessKey"
            && e.error_code.as_deref() == Some("AccessDenied")),
        "{events:?}"
    );

    // IAM's self-service policy: his own keys, nobody else's.
    let own = PolicyDocument::parse_identity(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"OwnKeys","Effect":"Allow","Action":["iam:CreateAccessKey","iam:ListAccessKeys","iam:UpdateAccessKey","iam:DeleteAccessKey"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#,
    )
    .unwrap();
    s.iam
        .put_user_policy(&admin(), "bob", "own-keys", &own)
        .await
        .unwrap();
    let made = cli(s, "bob", "iam create-access-key").await.unwrap();
    assert_eq!(made["AccessKey"]["UserName"], "bob");
    cli(s, "bob", "iam list-access-keys").await.unwrap();
    cli(
        s,
        "bob",
        &format!("iam update-access-key --access-key-id {bobs} --status Inactive"),
    )
    .await
    .unwrap();
    for line in [
        "iam create-access-key --user-name carol",
        "iam list-access-keys --user-name carol",
    ] {
        let e = cli(s, "bob", line).await.unwrap_err();
        assert_eq!(e.code, Code::AccessDenied, "{line}: {e}");
    }
}

#[test]
fn the_binary_prints_iam_shapes_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    crate::cli::ok(&lake, &["init"]);
    let created = crate::cli::ok(&lake, &["iam", "create-access-key"]);
    assert_eq!(created["AccessKey"]["UserName"], "admin");
    assert_eq!(
        created["AccessKey"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .len(),
        40
    );
    crate::cli::ok(&lake, &["iam", "create-access-key"]);
    let third = crate::cli::run(&lake, &["iam", "create-access-key"]);
    assert_eq!(third.status.code(), Some(254));
    let err = String::from_utf8_lossy(&third.stderr);
    assert!(err.contains("LimitExceeded"), "{err}");
    let bad = crate::cli::run(
        &lake,
        &[
            "iam",
            "update-access-key",
            "--access-key-id",
            &id_of(&created),
            "--status",
            "Enabled",
        ],
    );
    assert_eq!(bad.status.code(), Some(252), "{bad:?}");
    // Changing commands are marked so: the console's --readonly leaves them out.
    for (line, changes) in [
        ("iam create-access-key", true),
        ("iam list-access-keys", false),
        (
            "iam update-access-key --access-key-id A --status Active",
            true,
        ),
        ("iam delete-access-key --access-key-id A", true),
    ] {
        let cmd = lakectl::cli::parse_line(line).unwrap();
        assert_eq!(cmd.changes_anything(), changes, "{line}");
    }
}

/// `sts get-caller-identity` answers every principal about itself, needs no policy, and refuses
/// a principal the lake does not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_get_caller_identity_names_the_acting_principal() {
    let t = crate::common::new_lake();
    let s = &t.services;
    cli(s, "admin", "iam create-principal --name bob")
        .await
        .unwrap();
    let me = cli(s, "bob", "sts get-caller-identity").await.unwrap();
    assert_eq!(me["UserId"], "bob");
    assert_eq!(me["Account"], t.lake.account_id());
    assert_eq!(
        me["Arn"],
        format!("arn:aws:iam::{}:user/bob", t.lake.account_id())
    );
    let e = cli(s, "nobody-here", "sts get-caller-identity")
        .await
        .unwrap_err();
    assert_eq!(e.code, lakectl::service::Code::UnrecognizedClientException);
}
