//! Keys: states, rotation, policies and names, as KMS has them.

mod housekeeping;

use lakectl::service::keys::{CreateKey, KeyState};
use lakectl::service::policy::PolicyDocument;
use lakectl::service::{Code, Principal};

use crate::common::*;

/// The key version a sealed body says it was encrypted under.
fn header_version(path: &std::path::Path) -> u32 {
    let b = std::fs::read(path).unwrap();
    let id_len = u16::from_be_bytes([b[8], b[9]]) as usize;
    u32::from_be_bytes(b[10 + id_len..14 + id_len].try_into().unwrap())
}

#[tokio::test]
async fn a_disabled_or_pending_key_refuses_reads_and_writes() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    put(&t.services, &a, "data", "k", b"x", kms("alias/test"))
        .await
        .unwrap();
    t.services
        .keys
        .set_key_enabled(&a, "alias/test", false)
        .await
        .unwrap();
    assert_eq!(
        get(&t.services, &a, "data", "k").await.unwrap_err().code,
        Code::DisabledException
    );
    assert_eq!(
        put(&t.services, &a, "data", "j", b"x", kms("alias/test"))
            .await
            .unwrap_err()
            .code,
        Code::DisabledException
    );

    t.services
        .keys
        .set_key_enabled(&a, "alias/test", true)
        .await
        .unwrap();
    let m = t
        .services
        .keys
        .schedule_key_deletion(&a, "alias/test", 7)
        .await
        .unwrap();
    assert_eq!(m.key_state, KeyState::PendingDeletion);
    assert!(m.deletion_date.unwrap() > chrono::Utc::now() + chrono::Duration::days(6));
    assert_eq!(
        get(&t.services, &a, "data", "k").await.unwrap_err().code,
        Code::KMSInvalidStateException
    );
    assert_eq!(
        t.services
            .keys
            .set_key_enabled(&a, "alias/test", true)
            .await
            .unwrap_err()
            .code,
        Code::KMSInvalidStateException
    );
    // Cancelling brings the key back disabled, as KMS does.
    let m = t
        .services
        .keys
        .cancel_key_deletion(&a, "alias/test")
        .await
        .unwrap();
    assert_eq!(m.key_state, KeyState::Disabled);
    t.services
        .keys
        .set_key_enabled(&a, "alias/test", true)
        .await
        .unwrap();
    assert_eq!(get(&t.services, &a, "data", "k").await.unwrap(), b"x");
    // The waiting period is KMS's: 7 to 30 days.
    assert_eq!(
        t.services
            .keys
            .schedule_key_deletion(&a, "alias/test", 3)
            .await
            .unwrap_err()
            .code,
        Code::ValidationException
    );
}

#[tokio::test]
async fn rotation_keeps_old_objects_readable_and_seals_new_ones_under_the_newest_version() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    put(
        &t.services,
        &a,
        "data",
        "old",
        b"before rotation",
        kms("alias/test"),
    )
    .await
    .unwrap();
    let old_blob = blobs(&t.path()).pop().unwrap();
    let status = t
        .services
        .keys
        .rotate_key_on_demand(&a, "alias/test")
        .await
        .unwrap();
    assert_eq!(status.key_versions, 2);
    assert!(status.last_rotation_date.is_some());
    put(
        &t.services,
        &a,
        "data",
        "new",
        b"after rotation",
        kms("alias/test"),
    )
    .await
    .unwrap();
    let new_blob = blobs(&t.path())
        .into_iter()
        .find(|b| *b != old_blob)
        .unwrap();
    assert_eq!(header_version(&old_blob), 1);
    assert_eq!(header_version(&new_blob), 2);
    assert_eq!(
        get(&t.services, &a, "data", "old").await.unwrap(),
        b"before rotation"
    );
    assert_eq!(
        get(&t.services, &a, "data", "new").await.unwrap(),
        b"after rotation"
    );

    t.services
        .keys
        .set_key_rotation(&a, "alias/test", true, Some(90))
        .await
        .unwrap();
    let s = t
        .services
        .keys
        .get_key_rotation_status(&a, "alias/test")
        .await
        .unwrap();
    assert!(s.key_rotation_enabled);
    assert_eq!(s.rotation_period_in_days, Some(90));
    assert!(s.next_rotation_date.unwrap() > chrono::Utc::now() + chrono::Duration::days(89));
}

#[tokio::test]
async fn the_key_policy_decides_who_may_use_a_key() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    t.services
        .iam
        .create_principal(&a, "glue", false)
        .await
        .unwrap();
    let glue = Principal::new("glue");
    // Let glue put into the bucket; the key policy still says no.
    let mut policy = PolicyDocument::require_sse_kms("data");
    policy
        .set_allow_statement(
            "glue-writes",
            &format!("arn:aws:iam::{}:user/glue", t.lake.account_id()),
            &["PutObject".into(), "GetObject".into()],
            "s3",
        )
        .unwrap();
    policy.statement.last_mut().unwrap().resource = vec!["arn:aws:s3:::data/*".into()];
    t.services
        .storage
        .put_bucket_policy(&a, "data", policy)
        .await
        .unwrap();
    let err = put(
        &t.services,
        &glue,
        "data",
        "processed/p",
        b"x",
        kms("alias/test"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, Code::AccessDenied);
    assert!(
        err.message.contains("kms:GenerateDataKey"),
        "{}",
        err.message
    );

    let ops: Vec<String> = ["Encrypt", "Decrypt", "GenerateDataKey"]
        .map(String::from)
        .to_vec();
    t.services
        .keys
        .allow(&a, "alias/test", "glue", &ops)
        .await
        .unwrap();
    put(
        &t.services,
        &glue,
        "data",
        "processed/p",
        b"x",
        kms("alias/test"),
    )
    .await
    .unwrap();
    assert_eq!(
        get(&t.services, &glue, "data", "processed/p")
            .await
            .unwrap(),
        b"x"
    );
    // Not a key administrator, though.
    assert_eq!(
        t.services
            .keys
            .set_key_enabled(&glue, "alias/test", false)
            .await
            .unwrap_err()
            .code,
        Code::AccessDenied
    );
    // And the grant can be taken back.
    t.services
        .keys
        .allow(&a, "alias/test", "glue", &[])
        .await
        .unwrap();
    assert_eq!(
        get(&t.services, &glue, "data", "processed/p")
            .await
            .unwrap_err()
            .code,
        Code::AccessDenied
    );
    // Unknown principals are refused, not silently written into the policy.
    assert_eq!(
        t.services
            .keys
            .allow(&a, "alias/test", "nobody", &ops)
            .await
            .unwrap_err()
            .code,
        Code::EntityNotFoundException
    );
}

#[tokio::test]
async fn a_policy_that_locks_the_caller_out_is_refused_and_changes_nothing() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    let before = t
        .services
        .keys
        .get_key_policy(&a, "alias/test")
        .await
        .unwrap();
    let lockout = PolicyDocument::parse(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt"}]}"#,
    )
    .unwrap();
    let err = t
        .services
        .keys
        .put_key_policy(&a, "alias/test", lockout, false)
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::MalformedPolicyDocumentException);
    let unknown = PolicyDocument::parse(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/x"},"Action":"kms:*"}]}"#,
    )
    .unwrap();
    assert_eq!(
        t.services
            .keys
            .put_key_policy(&a, "alias/test", unknown, true)
            .await
            .unwrap_err()
            .code,
        Code::MalformedPolicyDocumentException
    );
    assert_eq!(
        t.services
            .keys
            .get_key_policy(&a, "alias/test")
            .await
            .unwrap(),
        before
    );
}

#[tokio::test]
async fn a_key_answers_to_its_id_arn_alias_and_alias_arn() {
    let t = new_lake();
    let a = admin();
    let m = t
        .services
        .keys
        .create_key(
            &a,
            CreateKey {
                alias: Some("alias/named".into()),
                description: Some("d".into()),
            },
        )
        .await
        .unwrap();
    let alias_arn = format!("arn:aws:kms:local:{}:alias/named", t.lake.account_id());
    for name in [
        m.key_id.as_str(),
        m.arn.as_str(),
        "alias/named",
        alias_arn.as_str(),
    ] {
        assert_eq!(
            t.services.keys.describe_key(&a, name).await.unwrap().key_id,
            m.key_id,
            "{name}"
        );
    }
    assert_eq!(
        t.services
            .keys
            .describe_key(&a, "alias/other")
            .await
            .unwrap_err()
            .code,
        Code::NotFoundException
    );
    let dup = t
        .services
        .keys
        .create_key(
            &a,
            CreateKey {
                alias: Some("alias/named".into()),
                description: None,
            },
        )
        .await;
    assert_eq!(dup.unwrap_err().code, Code::AlreadyExistsException);
    // The failed create left no key behind.
    assert_eq!(t.services.keys.list_keys(&a).await.unwrap().len(), 2);
    assert_eq!(
        t.services
            .keys
            .create_alias(&a, "alias/aws/mine", &m.key_id)
            .await
            .unwrap_err()
            .code,
        Code::ValidationException
    );
}

#[tokio::test]
async fn only_admins_change_the_control_plane() {
    let t = new_lake();
    let a = admin();
    t.services
        .iam
        .create_principal(&a, "analyst", false)
        .await
        .unwrap();
    let analyst = Principal::new("analyst");
    assert_eq!(
        t.services
            .keys
            .create_key(&analyst, CreateKey::default())
            .await
            .unwrap_err()
            .code,
        Code::AccessDenied
    );
    assert_eq!(
        t.services
            .storage
            .create_bucket(&analyst, "b-1", Default::default())
            .await
            .unwrap_err()
            .code,
        Code::AccessDenied
    );
    assert_eq!(
        t.services
            .iam
            .create_principal(&analyst, "x", true)
            .await
            .unwrap_err()
            .code,
        Code::AccessDenied
    );
    assert_eq!(
        t.services
            .audit
            .list(&analyst, None)
            .await
            .unwrap_err()
            .code,
        Code::AccessDenied
    );
    assert_eq!(
        t.services
            .keys
            .list_keys(&Principal::new("ghost"))
            .await
            .unwrap_err()
            .code,
        Code::UnrecognizedClientException
    );
}
