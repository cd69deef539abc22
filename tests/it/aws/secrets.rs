//! Secrets Manager on moto: the AWS backend's round trip (create, get, put with the stages
//! moving, describe, list, delete with a window, restore, force delete) and Secrets Manager's
//! codes reaching the caller as AWS sent them.

use lakectl::service::secrets::{CreateSecret, DeleteMode, SecretString, VersionSelector};

use super::{aws, unique};
use crate::common::admin;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_round_trip_through_secrets_manager() {
    let s = aws().await;
    let a = admin();
    let name = unique("db-creds");
    let created = s
        .secrets
        .create_secret(
            &a,
            CreateSecret {
                name: name.clone(),
                secret_string: SecretString::new("first-value".into()),
                kms_key_id: None,
                description: Some("the source database".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.name, name);
    assert!(
        created.arn.contains(&format!(":secret:{name}-")),
        "{}",
        created.arn
    );
    let first = created.version_id.clone().unwrap();

    let got = s
        .secrets
        .get_secret_value(&a, &name, VersionSelector::Current)
        .await
        .unwrap();
    assert_eq!(got.secret_string.expose(), "first-value");
    assert_eq!(got.version_id, first);
    assert_eq!(got.version_stages, ["AWSCURRENT"]);

    let put = s
        .secrets
        .put_secret_value(&a, &name, SecretString::new("second-value".into()))
        .await
        .unwrap();
    let second = put.version_id.unwrap();
    assert_eq!(
        s.secrets.current_value(&a, &name).await.unwrap().expose(),
        "second-value"
    );
    let previous = s
        .secrets
        .get_secret_value(&a, &name, VersionSelector::Stage("AWSPREVIOUS".into()))
        .await
        .unwrap();
    assert_eq!(previous.secret_string.expose(), "first-value");
    assert_eq!(previous.version_id, first);

    let described = s.secrets.describe_secret(&a, &created.arn).await.unwrap();
    assert_eq!(
        described.description.as_deref(),
        Some("the source database")
    );
    assert_eq!(described.version_ids_to_stages[&second], ["AWSCURRENT"]);
    assert_eq!(described.version_ids_to_stages[&first], ["AWSPREVIOUS"]);
    let listed = s.secrets.list_secrets(&a).await.unwrap();
    assert!(listed.iter().any(|d| d.name == name), "{listed:?}");

    let deleted = s
        .secrets
        .delete_secret(&a, &name, DeleteMode::RecoveryWindow(7))
        .await
        .unwrap();
    assert!(deleted.deletion_date > chrono::Utc::now() + chrono::Duration::days(6));
    let e = s
        .secrets
        .get_secret_value(&a, &name, VersionSelector::Current)
        .await
        .unwrap_err();
    assert_eq!(e.code_name(), "InvalidRequestException", "{e}");
    assert!(!e.message.contains("second-value"));

    s.secrets.restore_secret(&a, &name).await.unwrap();
    assert_eq!(
        s.secrets.current_value(&a, &name).await.unwrap().expose(),
        "second-value"
    );

    s.secrets
        .delete_secret(&a, &name, DeleteMode::ForceWithoutRecovery)
        .await
        .unwrap();
    let e = s
        .secrets
        .get_secret_value(&a, &name, VersionSelector::Current)
        .await
        .unwrap_err();
    assert_eq!(e.code_name(), "ResourceNotFoundException", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_policy_round_trips() {
    let s = aws().await;
    let a = admin();
    let name = unique("policy-secret");
    s.secrets
        .create_secret(
            &a,
            CreateSecret {
                name: name.clone(),
                secret_string: SecretString::new("v".into()),
                kms_key_id: None,
                description: None,
            },
        )
        .await
        .unwrap();
    let doc = lakectl::service::policy::PolicyDocument::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Reads","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#,
    )
    .unwrap();
    s.secrets
        .put_resource_policy(&a, &name, doc.clone())
        .await
        .unwrap();
    let got = s.secrets.get_resource_policy(&a, &name).await.unwrap();
    let back =
        lakectl::service::policy::PolicyDocument::parse(got.resource_policy.as_deref().unwrap())
            .unwrap();
    assert_eq!(back, doc);
}
