//! What the lake does to keys on its own, when it opens: destroys a key whose deletion window has
//! ended and rotates a key whose rotation is due. Time is moved by writing the due date into the
//! past in the metadata store, as a lake left closed past that date would find it.

use lakectl::local::{Lake, LakeDir};
use lakectl::service::Code;

use super::header_version;
use crate::common::*;

/// Sets `column` of the key behind `alias/test` to a day ago.
fn make_due(t: &TestLake, column: &str) -> String {
    let db = rusqlite::Connection::open(t.path().join("meta.db")).unwrap();
    let id: String = db
        .query_row(
            "SELECT key_id FROM aliases WHERE name = 'alias/test'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let past = (chrono::Utc::now() - chrono::Duration::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let changed = db
        .execute(
            &format!("UPDATE keys SET {column} = ?1 WHERE id = ?2"),
            rusqlite::params![past, id],
        )
        .unwrap();
    assert_eq!(changed, 1);
    id
}

fn versions(t: &TestLake, id: &str) -> i64 {
    rusqlite::Connection::open(t.path().join("meta.db"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM key_versions WHERE key_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test]
async fn a_key_past_its_deletion_window_is_destroyed_when_the_lake_opens() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    put(&t.services, &a, "data", "k", b"sealed", kms("alias/test"))
        .await
        .unwrap();
    t.services
        .keys
        .schedule_key_deletion(&a, "alias/test", 7)
        .await
        .unwrap();

    // Within the window, opening the lake keeps the key (it can still be cancelled).
    let reopened = Lake::open(LakeDir::new(t.path()), PASSPHRASE).unwrap();
    let id = make_due(&t, "deletion_date");
    assert_eq!(versions(&t, &id), 1);
    drop(reopened);

    let reopened = Lake::open(LakeDir::new(t.path()), PASSPHRASE).unwrap();
    let s = reopened.services();
    assert_eq!(versions(&t, &id), 0, "the key material is destroyed");
    assert_eq!(
        s.keys.describe_key(&a, &id).await.unwrap_err().code,
        Code::NotFoundException
    );
    assert_eq!(
        s.keys
            .describe_key(&a, "alias/test")
            .await
            .unwrap_err()
            .code,
        Code::NotFoundException,
        "the alias goes with the key"
    );
    let refused = get(&s, &a, "data", "k").await.unwrap_err();
    assert!(!refused.message.contains("sealed"), "{}", refused.message);
    let audit = s.audit.list(&a, None).await.unwrap();
    let deleted = audit
        .iter()
        .find(|e| e.event_name == "DeleteKey" && e.resource.ends_with(&id))
        .expect("the destruction is audited");
    assert_eq!(deleted.principal, "lakectl");
    assert!(s.audit.verify(&a).await.unwrap().valid);
}

#[tokio::test]
async fn a_key_due_for_rotation_gets_a_new_version_once_when_the_lake_opens() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    put(&t.services, &a, "data", "old", b"before", kms("alias/test"))
        .await
        .unwrap();
    t.services
        .keys
        .set_key_rotation(&a, "alias/test", true, Some(90))
        .await
        .unwrap();
    // Not due yet: opening the lake changes nothing.
    drop(Lake::open(LakeDir::new(t.path()), PASSPHRASE).unwrap());
    let id = make_due(&t, "next_rotation");
    assert_eq!(versions(&t, &id), 1);

    let reopened = Lake::open(LakeDir::new(t.path()), PASSPHRASE).unwrap();
    let s = reopened.services();
    assert_eq!(versions(&t, &id), 2);
    let status = s
        .keys
        .get_key_rotation_status(&a, "alias/test")
        .await
        .unwrap();
    assert!(
        status.next_rotation_date.unwrap() > chrono::Utc::now() + chrono::Duration::days(89),
        "the next rotation is a period away"
    );
    put(&s, &a, "data", "new", b"after", kms("alias/test"))
        .await
        .unwrap();
    let blobs = blobs(&t.path());
    let mut seen: Vec<u32> = blobs.iter().map(|b| header_version(b)).collect();
    seen.sort();
    assert_eq!(seen, [1, 2], "old sealed under 1, new under 2");
    assert_eq!(get(&s, &a, "data", "old").await.unwrap(), b"before");
    assert_eq!(get(&s, &a, "data", "new").await.unwrap(), b"after");
    let audit = s.audit.list(&a, None).await.unwrap();
    let rotated: Vec<_> = audit
        .iter()
        .filter(|e| e.event_name == "RotateKey" && e.principal == "lakectl")
        .collect();
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0].detail["RotationType"], "AUTOMATIC");

    // Opening again is not another rotation.
    drop(Lake::open(LakeDir::new(t.path()), PASSPHRASE).unwrap());
    assert_eq!(versions(&t, &id), 2);
}
