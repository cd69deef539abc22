//! The audit log: everything recorded, and any edit or removal caught and named.

use rusqlite::Connection;

use lakectl::service::{Code, Principal};

use crate::common::*;

#[tokio::test]
async fn changes_reads_and_refusals_are_recorded() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    put(&t.services, &a, "data", "k", b"x", kms("alias/test"))
        .await
        .unwrap();
    get(&t.services, &a, "data", "k").await.unwrap();
    let _ = put(&t.services, &a, "data", "plain", b"x", Default::default()).await;
    t.services
        .iam
        .create_principal(&a, "bob", false)
        .await
        .unwrap();
    let _ = get(&t.services, &Principal::new("bob"), "data", "k").await;
    let events = t.services.audit.list(&a, None).await.unwrap();
    let names: Vec<(String, Option<String>)> = events
        .iter()
        .map(|e| (e.event_name.clone(), e.error_code.clone()))
        .collect();
    for expected in [
        ("CreateKey", None),
        ("CreateBucket", None),
        ("PutObject", None),
        ("GetObject", None),
        ("PutObject", Some("AccessDenied")),
        ("GetObject", Some("AccessDenied")),
    ] {
        let e = (expected.0.to_string(), expected.1.map(String::from));
        assert!(names.contains(&e), "{e:?} missing from {names:?}");
    }
    let bobs = t.services.audit.list(&a, Some("bob")).await.unwrap();
    assert!(bobs.iter().all(|e| e.principal == "bob") && !bobs.is_empty());
    let v = t.services.audit.verify(&a).await.unwrap();
    assert!(v.valid);
    assert_eq!(v.entries as usize, events.len());
}

fn edit(t: &TestLake, sql: &str) {
    let conn = Connection::open(t.path().join("meta.db")).unwrap();
    conn.execute_batch(sql).unwrap();
}

async fn lake_with_history() -> TestLake {
    let t = new_lake();
    seed(&t).await;
    for i in 0..3 {
        put(
            &t.services,
            &admin(),
            "data",
            &format!("k{i}"),
            b"x",
            kms("alias/test"),
        )
        .await
        .unwrap();
    }
    t
}

#[tokio::test]
async fn verify_names_an_altered_entry() {
    let t = lake_with_history().await;
    edit(
        &t,
        "UPDATE audit SET principal = 'someone-else' WHERE seq = 3",
    );
    let err = t.services.audit.verify(&admin()).await.unwrap_err();
    assert_eq!(err.code, Code::AuditIntegrityException);
    assert!(err.message.contains("entry 3"), "{}", err.message);
}

#[tokio::test]
async fn verify_names_a_removed_entry() {
    let t = lake_with_history().await;
    edit(&t, "DELETE FROM audit WHERE seq = 2");
    let err = t.services.audit.verify(&admin()).await.unwrap_err();
    assert!(err.message.contains("entry 2"), "{}", err.message);
}

#[tokio::test]
async fn verify_catches_a_cut_tail_even_with_the_head_rewritten() {
    let t = lake_with_history().await;
    let n: i64 = Connection::open(t.path().join("meta.db"))
        .unwrap()
        .query_row("SELECT max(seq) FROM audit", [], |r| r.get(0))
        .unwrap();
    edit(&t, &format!("DELETE FROM audit WHERE seq = {n}"));
    let err = t.services.audit.verify(&admin()).await.unwrap_err();
    assert!(
        err.message.contains(&format!("entry {n}")),
        "{}",
        err.message
    );
    // Pointing the head at the new last entry does not help: the head carries a MAC.
    edit(
        &t,
        &format!(
            "UPDATE audit_head SET seq = {}, hash = (SELECT hash FROM audit WHERE seq = {})",
            n - 1,
            n - 1
        ),
    );
    assert_eq!(
        t.services.audit.verify(&admin()).await.unwrap_err().code,
        Code::AuditIntegrityException
    );
}
