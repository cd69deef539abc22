//! The masking scenario runs itself (assets/scenarios/masking-pipeline.lake): with the lake
//! server running, a row inserted in the source PostgreSQL database appears, masked, in the
//! business analyst's query and, tokenized, in the data scientist's, with no command typed; an
//! update and a delete follow the same way; and the inserted row's values are nowhere under the
//! lake in the clear.

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Server;
use crate::cli::lakectl;
use crate::postgres::{Database, database};

/// How long the pipeline may take, from a COMMIT to the row in the analyst's query.
const DEADLINE: Duration = Duration::from_secs(180);

const MAIL: &str = "zed.marker9001@example.com";
const NAME: &str = "Zed Markerson";

fn seed_source(db: &Database) {
    db.sql(
        "CREATE TABLE customers(customer_id int4 PRIMARY KEY, username text, name text, sex text,
            address text, mail text, birthdate date, job text, phone text);
         CREATE TABLE credit_cards(customer_id int4 PRIMARY KEY, credit_card_provider text,
            credit_card_number text, credit_card_expire text, credit_card_security_code text);
         CREATE TABLE bank(customer_id int4 PRIMARY KEY, iban text, bban text, account_number text,
            bank_country text);",
    );
    for table in ["customers", "credit_cards", "bank"] {
        let file = format!("{}/assets/demo/{table}.csv", env!("CARGO_MANIFEST_DIR"));
        db.sql(&format!("\\copy {table} FROM '{file}' CSV HEADER"));
    }
}

/// `sql` as `who` in `database`: the rows, or None while the query cannot run yet (no table).
fn query(server: &Server, who: &str, database: &str, sql: &str) -> Option<Vec<Vec<Value>>> {
    let out: Output = lakectl(&server.lake())
        .args(["--as", who, "athena", "query", sql, "--database", database])
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(
        v["Rows"]
            .as_array()?
            .iter()
            .map(|r| r.as_array().cloned().unwrap_or_default())
            .collect(),
    )
}

fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> (T, Duration) {
    let began = Instant::now();
    loop {
        if let Some(v) = probe() {
            return (v, began.elapsed());
        }
        assert!(
            began.elapsed() < DEADLINE,
            "{what}: not within {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn count(server: &Server, who: &str, database: &str, sql: &str) -> Option<i64> {
    let rows = query(server, who, database, sql)?;
    rows.first()?.first()?.as_str()?.parse().ok()
}

#[test]
fn a_row_inserted_in_the_source_reaches_the_personas_masked_and_tokenized_by_itself() {
    let db = database("scenario");
    seed_source(&db);
    let server = Server::start();
    let script = format!(
        "{}/assets/scenarios/masking-pipeline.lake",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = lakectl(&server.lake())
        .env("SOURCE_SECRET", db.secret())
        .env("SOURCE_DATABASE", &db.name)
        .args(["--headless", "--script", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the set-up script: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The full load travels the whole pipeline by itself.
    let (_, initial) = wait_for("the full load in the analyst's masked table", || {
        let n = count(
            &server,
            "business-analyst",
            "pii_masked",
            "SELECT count(*) FROM customers",
        )?;
        (n == 200).then_some(())
    });
    wait_for("the full load in the data scientist's table", || {
        let n = count(
            &server,
            "data-scientist",
            "pii_encrypted",
            "SELECT count(*) FROM customers",
        )?;
        (n == 200).then_some(())
    });
    eprintln!("full load to the analyst's query: {initial:?}");

    // An insert: masked for the analyst, tokenized for the data scientist, who may read it back.
    db.sql(&format!(
        "INSERT INTO customers VALUES (9001, 'zmarker', '{NAME}', 'M', '1 Marker Road, Testville',
           '{MAIL}', '1980-01-01', 'Tester', '+1-555-555-9001')"
    ));
    let committed = Instant::now();
    let (masked, _) = wait_for("the insert in the analyst's query", || {
        let rows = query(
            &server,
            "business-analyst",
            "pii_masked",
            "SELECT mail, job FROM customers WHERE customer_id = 9001",
        )?;
        rows.into_iter().next()
    });
    let to_analyst = committed.elapsed();
    eprintln!("COMMIT to the row, masked, in the analyst's query: {to_analyst:?}");
    let mail = masked[0].as_str().unwrap_or("");
    assert!(
        !mail.is_empty() && !mail.contains("zed.marker"),
        "{masked:?}"
    );
    assert_eq!(masked[1], "Tester");
    let (tokenized, _) = wait_for("the insert in the data scientist's query", || {
        query(
            &server,
            "data-scientist",
            "pii_encrypted",
            "SELECT mail, detokenize(mail) FROM customers WHERE customer_id = 9001",
        )?
        .into_iter()
        .next()
    });
    assert!(
        tokenized[0].as_str().unwrap().starts_with("tok1."),
        "{tokenized:?}"
    );
    assert_eq!(tokenized[1], MAIL, "the data scientist detokenizes");
    // The analyst cannot read the encrypted tables.
    assert!(
        query(
            &server,
            "business-analyst",
            "pii_encrypted",
            "SELECT mail FROM customers WHERE customer_id = 9001"
        )
        .is_none_or(|rows| rows.is_empty()),
        "the analyst reads encrypted data"
    );

    // An update and a delete follow the same way.
    db.sql("UPDATE customers SET job = 'Promoted' WHERE customer_id = 9001");
    wait_for("the update in the analyst's query", || {
        let rows = query(
            &server,
            "business-analyst",
            "pii_masked",
            "SELECT job FROM customers WHERE customer_id = 9001",
        )?;
        (rows.first()?.first()? == "Promoted").then_some(())
    });
    db.sql("DELETE FROM customers WHERE customer_id = 9001");
    wait_for("the delete in both queries", || {
        let analyst = count(
            &server,
            "business-analyst",
            "pii_masked",
            "SELECT count(*) FROM customers WHERE customer_id = 9001",
        )?;
        let scientist = count(
            &server,
            "data-scientist",
            "pii_encrypted",
            "SELECT count(*) FROM customers WHERE customer_id = 9001",
        )?;
        (analyst == 0 && scientist == 0).then_some(())
    });

    // Nothing moves under the lake once the server has stopped.
    let mut server = server;
    server.stop_and_log();
    for needle in [MAIL, NAME] {
        for f in crate::common::files_under(&server.lake()) {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} holds {needle:?} in the clear",
                f.display()
            );
        }
    }
}
