//! Identity policies on AWS: `iam put-user-policy` and friends are IAM's own calls (AWS decides
//! every call there), so the test checks what IAM holds after each and that IAM's errors reach
//! the caller with IAM's codes.

use lakectl::service::Code;
use lakectl::service::iam::AccessKeyStatus;
use lakectl::service::policy::PolicyDocument;

use super::{aws, unique};
use crate::common::admin;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_policies_round_trip_through_iam() {
    let s = aws().await;
    let a = admin();
    let user = unique("policy-user");
    s.iam.create_principal(&a, &user, false).await.unwrap();

    let doc = PolicyDocument::parse_identity(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Results","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::lake-query-results/${aws:username}/*"}]}"#,
    )
    .unwrap();
    s.iam
        .put_user_policy(&a, &user, "lake-user", &doc)
        .await
        .unwrap();
    assert_eq!(
        s.iam.list_user_policies(&a, &user).await.unwrap(),
        ["lake-user"]
    );
    let got = s.iam.get_user_policy(&a, &user, "lake-user").await.unwrap();
    assert_eq!(got.policy_document, doc);
    assert_eq!(got.user_name, user);

    s.iam
        .attach_user_policy(&a, &user, "arn:aws:iam::aws:policy/ReadOnlyAccess")
        .await
        .unwrap();
    let attached = s.iam.list_attached_user_policies(&a, &user).await.unwrap();
    assert_eq!(attached.len(), 1, "{attached:?}");
    assert_eq!(
        attached[0].policy_arn,
        "arn:aws:iam::aws:policy/ReadOnlyAccess"
    );
    assert_eq!(attached[0].policy_name, "ReadOnlyAccess");
    s.iam
        .detach_user_policy(&a, &user, "ReadOnlyAccess")
        .await
        .unwrap();
    assert!(
        s.iam
            .list_attached_user_policies(&a, &user)
            .await
            .unwrap()
            .is_empty()
    );

    s.iam
        .delete_user_policy(&a, &user, "lake-user")
        .await
        .unwrap();
    assert!(
        s.iam
            .list_user_policies(&a, &user)
            .await
            .unwrap()
            .is_empty()
    );
    let e = s
        .iam
        .get_user_policy(&a, &user, "lake-user")
        .await
        .unwrap_err();
    assert_eq!(e.code_name(), "NoSuchEntity", "{e}");
    assert_ne!(e.code, Code::Internal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_keys_round_trip_through_iam() {
    let s = aws().await;
    let a = admin();
    let user = unique("key-user");
    s.iam.create_principal(&a, &user, false).await.unwrap();

    let made = s.iam.create_access_key(&a, Some(&user)).await.unwrap();
    assert_eq!(made.user_name, user);
    assert_eq!(made.status, AccessKeyStatus::Active);
    assert!(made.access_key_id.starts_with("AKIA"), "{made:?}");
    assert!(!made.secret_access_key.expose().is_empty());

    let listed = s.iam.list_access_keys(&a, Some(&user)).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].access_key_id, made.access_key_id);
    assert_eq!(listed[0].user_name, user);
    assert_eq!(listed[0].status, AccessKeyStatus::Active);

    s.iam
        .update_access_key(
            &a,
            Some(&user),
            &made.access_key_id,
            AccessKeyStatus::Inactive,
        )
        .await
        .unwrap();
    let listed = s.iam.list_access_keys(&a, Some(&user)).await.unwrap();
    assert_eq!(listed[0].status, AccessKeyStatus::Inactive);

    s.iam
        .delete_access_key(&a, Some(&user), &made.access_key_id)
        .await
        .unwrap();
    assert!(
        s.iam
            .list_access_keys(&a, Some(&user))
            .await
            .unwrap()
            .is_empty()
    );
    // IAM's own error reaches the caller with IAM's code.
    let e = s
        .iam
        .delete_access_key(&a, Some(&user), &made.access_key_id)
        .await
        .unwrap_err();
    assert_eq!(e.code_name(), "NoSuchEntity", "{e}");
    assert_eq!(e.code, Code::NoSuchEntity);
}

/// On AWS the caller is the credentials, as STS told them at connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_get_caller_identity_is_the_credentials() {
    let s = aws().await;
    let me = s.iam.caller_identity(&admin()).await.unwrap();
    assert_eq!(me.account, super::ACCOUNT);
    assert!(me.arn.starts_with("arn:aws:"), "{me:?}");
    assert!(me.arn.ends_with(&me.user_id), "{me:?}");
}
