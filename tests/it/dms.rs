//! DMS against a real PostgreSQL server (tests/it/postgres.rs): full loads of customer, card
//! and bank tables with every type DMS maps, read back typed through Athena after a crawl;
//! ongoing changes (inserts, updates, deletes) reaching change files; a task killed with
//! SIGKILL mid-stream and resumed with exact counts; the errors a wrong password, a closed port
//! and a key that refuses Decrypt give, with the secret nowhere in the output; and no plaintext
//! row anywhere under the lake.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lakectl::cli::Context;
use lakectl::service::query::{QueryState, WorkGroup};
use lakectl::service::storage::CreateBucket;
use lakectl::service::{Code, Principal, Progress, Result};
use serde_json::Value;

use crate::cli::lakectl;
use crate::common::*;
use crate::postgres::{Database, database};

/// A value found only in the source rows: finding it under the lake means a row leaked.
const MARKER: &str = "Zyxwvutsrq-Plaintext-Marker";

pub(crate) async fn cli(t: &TestLake, who: &Principal, words: &[&str]) -> Result<Value> {
    let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    let cmd = lakectl::cli::commands::Command::from_words(&words)?;
    Context::new(&t.services, who).execute(cmd).await
}

pub(crate) async fn ok(t: &TestLake, words: &[&str]) -> Value {
    cli(t, &admin(), words)
        .await
        .unwrap_or_else(|e| panic!("{words:?}: {e}"))
}

/// The seed's three tables, with every type DMS maps.
fn seed_source(db: &Database) {
    db.sql(&format!(
        "CREATE TABLE customer(
            id int4 PRIMARY KEY, name text, email varchar(100), balance numeric(12,2),
            born date, joined timestamptz, vip bool, ref uuid, profile jsonb, photo bytea,
            score float8, visits int8, rank int2);
         CREATE TABLE card(id int4 PRIMARY KEY, customer_id int4, pan text, cvv text, expires date);
         CREATE TABLE bank(id int4 PRIMARY KEY, name text, iban text);
         INSERT INTO customer VALUES
           (1, '{MARKER}', 'ada@example.com', 1234.50, '1990-05-17', '2024-01-02 03:04:05.25+02',
            true, '3f0c5c1e-1111-4000-8000-000000000001', '{{\"tier\":\"gold\"}}', '\\x00ff10',
            0.5, 9000000000, 7),
           (2, 'Bob', NULL, -0.01, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL);
         INSERT INTO card SELECT g, 1 + g % 2, '4111111111111' || lpad(g::text, 3, '0'), '123',
           DATE '2030-01-01' + g FROM generate_series(1, 50) g;
         INSERT INTO bank VALUES (1, 'First Bank', 'GB82WEST12345698765432');"
    ));
}

/// A lake with a key, a bucket, a database and a work group, and the source's secret.
pub(crate) async fn lake_for(db: &Database) -> TestLake {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    t.services
        .storage
        .create_bucket(
            &a,
            "results",
            CreateBucket {
                sse_kms_key_id: Some("alias/test".into()),
                require_sse_kms: false,
            },
        )
        .await
        .unwrap();
    t.services
        .catalog
        .create_database(&a, "db", None)
        .await
        .unwrap();
    t.services
        .query
        .create_work_group(
            &a,
            WorkGroup::new(
                "primary".into(),
                "s3://results/".into(),
                Some("alias/test".into()),
            ),
        )
        .await
        .unwrap();
    ok(
        &t,
        &[
            "secretsmanager",
            "create-secret",
            "--name",
            "prod/source-db",
            "--secret-string",
            &db.secret(),
        ],
    )
    .await;
    t
}

pub(crate) async fn endpoints(t: &TestLake, db: &Database, format: &str) {
    ok(
        t,
        &[
            "dms",
            "create-endpoint",
            "--endpoint-identifier",
            "source",
            "--endpoint-type",
            "source",
            "--engine-name",
            "postgres",
            "--postgre-sql-settings",
            &format!(
                "SecretsManagerSecretId=prod/source-db,DatabaseName={}",
                db.name
            ),
        ],
    )
    .await;
    ok(
        t,
        &[
            "dms",
            "create-endpoint",
            "--endpoint-identifier",
            "lake",
            "--endpoint-type",
            "target",
            "--engine-name",
            "s3",
            "--s3-settings",
            &format!(
                "BucketName=data,BucketFolder=raw,DataFormat={format},EncryptionMode=SSE_KMS,ServerSideEncryptionKmsKeyId=alias/test"
            ),
        ],
    )
    .await;
}

const MAPPINGS: &str = r#"{"rules":[
  {"rule-type":"selection","rule-id":"1","rule-name":"all","object-locator":{"schema-name":"public","table-name":"%"},"rule-action":"include"},
  {"rule-type":"transformation","rule-id":"2","rule-name":"no-cvv","rule-target":"column","object-locator":{"schema-name":"public","table-name":"card","column-name":"cvv"},"rule-action":"remove-column"},
  {"rule-type":"transformation","rule-id":"3","rule-name":"banks","rule-target":"table","object-locator":{"schema-name":"public","table-name":"bank"},"rule-action":"rename","value":"banks"}
]}"#;

async fn task(t: &TestLake, id: &str, migration: &str) {
    ok(
        t,
        &[
            "dms",
            "create-replication-task",
            "--replication-task-identifier",
            id,
            "--source-endpoint-arn",
            "source",
            "--target-endpoint-arn",
            "lake",
            "--migration-type",
            migration,
            "--table-mappings",
            MAPPINGS,
        ],
    )
    .await;
}

/// Stops a task when the test ends, passed or not: a CDC task runs until stopped, and the
/// test's runtime waits for it.
pub(crate) struct StopOnDrop(pub std::sync::Arc<lakectl::local::Lake>, pub &'static str);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let services = self.0.services();
        let task = self.1;
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    if let Some(dms) = &services.dms {
                        let _ = dms.stop_replication_task(&admin(), task).await;
                    }
                })
        })
        .join();
    }
}

pub(crate) async fn stats(t: &TestLake, task: &str) -> Vec<Value> {
    ok(
        t,
        &[
            "dms",
            "describe-table-statistics",
            "--replication-task-arn",
            task,
        ],
    )
    .await["TableStatistics"]
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) fn stat<'a>(stats: &'a [Value], table: &str) -> &'a Value {
    stats
        .iter()
        .find(|s| s["TableName"] == table)
        .unwrap_or_else(|| panic!("no statistics for {table}: {stats:?}"))
}

async fn query(t: &TestLake, sql: &str) -> lakectl::service::query::ResultPage {
    let by = admin();
    let q = &t.services.query;
    let id = q
        .start_query_execution(&by, sql, None, Some("db"))
        .await
        .unwrap();
    let execution = eventually(&format!("query {id}"), || async {
        let e = q.get_query_execution(&by, &id).await.unwrap();
        e.status.state.is_finished().then_some(e)
    })
    .await;
    assert_eq!(
        execution.status.state,
        QueryState::Succeeded,
        "{sql}: {:?}",
        execution.status.state_change_reason
    );
    q.get_query_results(&by, &id, None, 1000).await.unwrap()
}

/// No file under the lake holds `needle` in the clear.
pub(crate) fn assert_no_plaintext(lake: &Path, needle: &str) {
    for f in files_under(lake) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{} holds {needle:?} in the clear",
            f.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_load_of_every_type_reads_back_typed_through_athena() {
    let db = database("full");
    seed_source(&db);
    let t = lake_for(&db).await;
    endpoints(&t, &db, "parquet").await;
    let conn = ok(&t, &["dms", "test-connection", "--endpoint-arn", "source"]).await;
    assert_eq!(conn["Connection"]["Status"], "successful");
    task(&t, "load", "full-load").await;
    let done = ok(
        &t,
        &[
            "dms",
            "start-replication-task",
            "--replication-task-arn",
            "load",
            "--start-replication-task-type",
            "start-replication",
            "--wait",
        ],
    )
    .await;
    let task = &done["ReplicationTask"];
    assert_eq!(task["Status"], "stopped", "{task}");
    assert_eq!(task["StopReason"], "Stop Reason FULL_LOAD_ONLY_FINISHED");
    assert_eq!(task["ReplicationTaskStats"]["TablesLoaded"], 3);
    assert_eq!(task["ReplicationTaskStats"]["FullLoadProgressPercent"], 100);

    let s = stats(&t, "load").await;
    assert_eq!(stat(&s, "customer")["FullLoadRows"], 2);
    assert_eq!(stat(&s, "card")["FullLoadRows"], 50);
    assert_eq!(stat(&s, "bank")["FullLoadRows"], 1);
    for x in &s {
        assert_eq!(x["TableState"], "Table completed", "{x}");
    }
    // DMS's layout, the renamed table under its new name.
    let keys: Vec<String> = t
        .services
        .storage
        .list_objects(&admin(), "data", "raw/", None)
        .await
        .unwrap()
        .objects
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(
        keys,
        [
            "raw/public/banks/LOAD00000001.parquet",
            "raw/public/card/LOAD00000001.parquet",
            "raw/public/customer/LOAD00000001.parquet"
        ]
    );

    // The crawler catalogs the files' types, and Athena reads each back as that type.
    crawl(&t, "raw/public/").await;
    let page = query(
        &t,
        "SELECT id, name, balance, born, joined, vip, ref, profile, photo, score, visits, rank FROM customer ORDER BY id",
    )
    .await;
    let types: Vec<(&str, &str)> = page
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_name.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("id", "integer"),
            ("name", "varchar"),
            ("balance", "decimal(12,2)"),
            ("born", "date"),
            ("joined", "timestamp"),
            ("vip", "boolean"),
            ("ref", "varchar"),
            ("profile", "varchar"),
            ("photo", "varbinary"),
            ("score", "double"),
            ("visits", "bigint"),
            ("rank", "smallint"),
        ]
    );
    let first: Vec<&str> = page.rows[0]
        .iter()
        .map(|v| v.as_deref().unwrap_or("NULL"))
        .collect();
    assert_eq!(first[0], "1");
    assert_eq!(first[1], MARKER);
    assert_eq!(first[2], "1234.50");
    assert_eq!(first[3], "1990-05-17");
    // In UTC (the source said +02).
    assert!(
        first[4].starts_with("2024-01-02") && first[4].contains("01:04:05.25"),
        "{}",
        first[4]
    );
    assert_eq!(first[5], "true");
    assert_eq!(first[6], "3f0c5c1e-1111-4000-8000-000000000001");
    assert_eq!(first[7], r#"{"tier": "gold"}"#);
    assert_eq!(first[10], "9000000000");
    assert_eq!(page.rows[1][2].as_deref(), Some("-0.01"));
    assert_eq!(page.rows[1][3], None);
    // The removed column is not there; the renamed table is.
    let cards = query(&t, "SELECT * FROM card LIMIT 1").await;
    assert!(
        !cards.columns.iter().any(|c| c.name == "cvv"),
        "{:?}",
        cards.columns
    );
    let banks = query(&t, "SELECT iban FROM banks").await;
    assert_eq!(banks.rows[0][0].as_deref(), Some("GB82WEST12345698765432"));

    // Nothing of the source in the clear anywhere under the lake.
    assert_no_plaintext(&t.path(), MARKER);
    assert_no_plaintext(&t.path(), &db.password);
}

async fn crawl(t: &TestLake, prefix: &str) {
    let def = lakectl::service::jobs::CrawlerDefinition {
        name: "raw".into(),
        database_name: "db".into(),
        targets: vec![format!("s3://data/{prefix}")],
        security_configuration: None,
        update_behavior: "UPDATE_IN_DATABASE".into(),
        table_prefix: None,
        role: "admin".into(),
    };
    t.services.jobs.create_crawler(&admin(), def).await.unwrap();
    t.services
        .jobs
        .start_crawler(&admin(), "raw", Progress::default())
        .await
        .unwrap();
    eventually("the crawl", || async {
        let (_, last) = t.services.jobs.get_crawler(&admin(), "raw").await.unwrap();
        last.filter(|l| l.state.is_finished())
    })
    .await;
}

/// The decrypted text of every change file under `prefix` (CSV), in key order.
async fn change_files(t: &TestLake, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for o in t
        .services
        .storage
        .list_objects(&admin(), "data", prefix, None)
        .await
        .unwrap()
        .objects
    {
        if o.key.contains("/LOAD") {
            continue;
        }
        let body = get(&t.services, &admin(), "data", &o.key).await.unwrap();
        out.push(String::from_utf8(body).unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdc_inserts_updates_and_deletes_reach_change_files() {
    let db = database("cdc");
    seed_source(&db);
    let t = lake_for(&db).await;
    endpoints(&t, &db, "csv").await;
    task(&t, "ongoing", "full-load-and-cdc").await;
    let _stop = StopOnDrop(t.lake.clone(), "ongoing");
    ok(
        &t,
        &[
            "dms",
            "start-replication-task",
            "--replication-task-arn",
            "ongoing",
            "--start-replication-task-type",
            "start-replication",
        ],
    )
    .await;
    eventually("the full load", || async {
        let s = stats(&t, "ongoing").await;
        (s.len() == 3 && s.iter().all(|x| x["TableState"] == "Table completed")).then_some(())
    })
    .await;
    let began = Instant::now();
    db.sql(
        "INSERT INTO bank VALUES (2, 'Second Bank', 'DE89370400440532013000');
         UPDATE bank SET name = 'First Bank plc' WHERE id = 1;
         DELETE FROM card WHERE id = 7;",
    );
    let s = eventually_within("the changes", Duration::from_secs(30), || async {
        let s = stats(&t, "ongoing").await;
        (stat(&s, "bank")["Inserts"] == 1 && stat(&s, "card")["Deletes"] == 1).then_some(s)
    })
    .await;
    let latency = began.elapsed();
    assert!(latency < Duration::from_secs(3), "changes took {latency:?}");
    assert_eq!(stat(&s, "bank")["Updates"], 1);
    assert_eq!(stat(&s, "bank")["FullLoadRows"], 1);
    let bank = change_files(&t, "raw/public/banks/").await.join("\n");
    assert!(bank.starts_with("Op,id,name,iban\n"), "{bank}");
    assert!(
        bank.contains("I,2,Second Bank,DE89370400440532013000"),
        "{bank}"
    );
    assert!(
        bank.contains("U,1,First Bank plc,GB82WEST12345698765432"),
        "{bank}"
    );
    let card = change_files(&t, "raw/public/card/").await.join("\n");
    // A delete carries the key (the replica identity); the removed column is not there.
    assert!(
        card.starts_with("Op,id,customer_id,pan,expires\n"),
        "{card}"
    );
    assert!(card.contains("D,7,,,"), "{card}");
    let tasks = ok(&t, &["dms", "describe-replication-tasks"]).await;
    let task = &tasks["ReplicationTasks"][0];
    assert_eq!(task["Status"], "running");
    assert!(task["RecoveryCheckpoint"].as_str().unwrap().contains('/'));
    ok(
        &t,
        &[
            "dms",
            "stop-replication-task",
            "--replication-task-arn",
            "ongoing",
        ],
    )
    .await;
    eventually("the stop", || async {
        let tasks = ok(&t, &["dms", "describe-replication-tasks"]).await;
        (tasks["ReplicationTasks"][0]["Status"] == "stopped").then_some(())
    })
    .await;
    assert_no_plaintext(&t.path(), "DE89370400440532013000");
}

/// Every `I` row's id in the change files under `prefix`.
async fn inserted_ids(t: &TestLake, prefix: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for f in change_files(t, prefix).await {
        for line in f.lines().skip(1) {
            let mut cells = line.split(',');
            if cells.next() == Some("I") {
                ids.push(cells.next().unwrap().parse().unwrap());
            }
        }
    }
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_killed_mid_stream_resumes_with_nothing_lost_or_doubled() {
    let db = database("kill");
    db.sql("CREATE TABLE trades(id int8 PRIMARY KEY, symbol text, qty int4)");
    let t = lake_for(&db).await;
    endpoints(&t, &db, "csv").await;
    ok(
        &t,
        &[
            "dms",
            "create-replication-task",
            "--replication-task-identifier",
            "stream",
            "--source-endpoint-arn",
            "source",
            "--target-endpoint-arn",
            "lake",
            "--migration-type",
            "cdc",
            "--table-mappings",
            r#"{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"public","table-name":"trades"},"rule-action":"include"}]}"#,
        ],
    )
    .await;
    let start = |kind: &str| {
        lakectl(&t.path())
            .args([
                "dms",
                "start-replication-task",
                "--replication-task-arn",
                "stream",
                "--start-replication-task-type",
                kind,
                "--wait",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = start("start-replication");
    eventually("the task to run", || async {
        let tasks = ok(&t, &["dms", "describe-replication-tasks"]).await;
        let checkpoint_ready = tasks["ReplicationTasks"][0]["Status"] == "running";
        checkpoint_ready.then_some(())
    })
    .await;
    // Writers commit 200 transactions of 10 rows while the task streams them.
    const TXNS: i64 = 200;
    const ROWS: i64 = 10;
    let name = db.name.clone();
    let user = db.user.clone();
    let writer = std::thread::spawn(move || {
        for i in 0..TXNS {
            let sql = format!(
                "INSERT INTO trades SELECT g, 'SYM', g::int4 FROM generate_series({}, {}) g",
                i * ROWS + 1,
                (i + 1) * ROWS
            );
            crate::postgres::postgres().psql(&name, &user, &sql);
            std::thread::sleep(Duration::from_millis(15));
        }
    });
    // Kill it once it has written some change files but not all.
    eventually_within("some changes", Duration::from_secs(60), || async {
        let s = stats(&t, "stream").await;
        s.first()
            .filter(|x| x["Inserts"].as_u64().unwrap_or(0) >= 200)
            .map(|_| ())
    })
    .await;
    let killed = Command::new("kill")
        .args(["-9", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    first.wait().unwrap();
    let at_kill = stat(&stats(&t, "stream").await, "trades")["Inserts"]
        .as_u64()
        .unwrap();
    assert!(
        at_kill < (TXNS * ROWS) as u64,
        "the writer finished before the kill"
    );
    let task = ok(&t, &["dms", "describe-replication-tasks"]).await;
    assert_eq!(task["ReplicationTasks"][0]["Status"], "failed", "{task}");
    writer.join().unwrap();

    let mut second = start("resume-processing");
    let s = eventually_within("every change", Duration::from_secs(60), || async {
        let s = stats(&t, "stream").await;
        (stat(&s, "trades")["Inserts"].as_u64() >= Some((TXNS * ROWS) as u64)).then_some(s)
    })
    .await;
    // Give a doubled batch the time to show, then count exactly.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let s2 = stats(&t, "stream").await;
    assert_eq!(s2, s, "counts moved after every change was in");
    assert_eq!(stat(&s, "trades")["Inserts"], TXNS * ROWS);
    let ids = inserted_ids(&t, "raw/public/trades/").await;
    assert_eq!(ids, (1..=TXNS * ROWS).collect::<Vec<_>>());
    ok(
        &t,
        &[
            "dms",
            "stop-replication-task",
            "--replication-task-arn",
            "stream",
        ],
    )
    .await;
    let status = second.wait().unwrap();
    assert!(status.success(), "the resumed task ended {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_clear_errors_without_the_secret() {
    let db = database("refused");
    seed_source(&db);
    let t = lake_for(&db).await;
    let a = admin();
    let wrong = db.secret().replace(&db.password, "pw-wrong-4e1f9a7c55d2");
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let closed = db.secret().replace(
        &format!("\"port\":{}", db.port),
        &format!("\"port\":{closed_port}"),
    );
    assert_ne!(closed, db.secret());
    for (name, value) in [("db/wrong", &wrong), ("db/closed", &closed)] {
        ok(
            &t,
            &[
                "secretsmanager",
                "create-secret",
                "--name",
                name,
                "--secret-string",
                value,
            ],
        )
        .await;
    }
    // A secret under a key whose policy does not let etl decrypt, which etl may otherwise read.
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
    ok(
        &t,
        &[
            "secretsmanager",
            "create-secret",
            "--name",
            "db/locked",
            "--secret-string",
            &db.secret(),
            "--kms-key-id",
            "alias/db-secrets",
        ],
    )
    .await;
    t.services
        .iam
        .create_principal(&a, "etl", false)
        .await
        .unwrap();
    let policy = lakectl::service::policy::PolicyDocument::parse_identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dms:*","secretsmanager:GetSecretValue"],"Resource":"*"}]}"#,
    )
    .unwrap();
    t.services
        .iam
        .put_user_policy(&a, "etl", "dms", &policy)
        .await
        .unwrap();
    for (id, secret) in [
        ("wrong", "db/wrong"),
        ("closed", "db/closed"),
        ("locked", "db/locked"),
    ] {
        ok(
            &t,
            &[
                "dms",
                "create-endpoint",
                "--endpoint-identifier",
                id,
                "--endpoint-type",
                "source",
                "--engine-name",
                "postgres",
                "--postgre-sql-settings",
                &format!("SecretsManagerSecretId={secret},DatabaseName={}", db.name),
            ],
        )
        .await;
    }
    let expect = [
        (
            "wrong",
            "admin",
            "AccessDeniedFault",
            "password authentication failed",
        ),
        (
            "closed",
            "admin",
            "EndpointConnectionError",
            &format!("127.0.0.1:{closed_port}"),
        ),
        ("locked", "etl", "AccessDenied", "kms:Decrypt"),
    ];
    for (endpoint, who, code, says) in expect {
        let out = lakectl(&t.path())
            .args([
                "--as",
                who,
                "dms",
                "test-connection",
                "--endpoint-arn",
                endpoint,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{endpoint}: {stdout}");
        let all = format!("{stdout}{stderr}");
        assert!(all.contains(code), "{endpoint}: {all}");
        assert!(all.contains(says), "{endpoint}: {all}");
        for secret in [&db.password, "pw-wrong-4e1f9a7c55d2"] {
            assert!(!all.contains(secret), "{endpoint} shows the secret: {all}");
        }
    }
    // A missing table is a clear error too: a task whose mappings select nothing.
    ok(
        &t,
        &[
            "dms",
            "create-endpoint",
            "--endpoint-identifier",
            "lake",
            "--endpoint-type",
            "target",
            "--engine-name",
            "s3",
            "--s3-settings",
            "BucketName=data,BucketFolder=raw,DataFormat=csv",
        ],
    )
    .await;
    let e = cli(
        &t,
        &a,
        &["dms", "test-connection", "--endpoint-arn", "lake"],
    )
    .await
    .unwrap();
    assert_eq!(e["Connection"]["Status"], "successful");
    ok(
        &t,
        &[
            "dms",
            "create-replication-task",
            "--replication-task-identifier",
            "missing",
            "--source-endpoint-arn",
            "closed",
            "--target-endpoint-arn",
            "lake",
            "--migration-type",
            "full-load",
            "--table-mappings",
            r#"{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"public","table-name":"nope"},"rule-action":"include"}]}"#,
        ],
    )
    .await;
    let done = cli(
        &t,
        &a,
        &[
            "dms",
            "start-replication-task",
            "--replication-task-arn",
            "missing",
            "--start-replication-task-type",
            "start-replication",
            "--wait",
        ],
    )
    .await
    .unwrap();
    assert_eq!(done["ReplicationTask"]["Status"], "failed");
    let why = done["ReplicationTask"]["LastFailureMessage"]
        .as_str()
        .unwrap();
    assert!(why.contains("EndpointConnectionError"), "{why}");
    assert!(!why.contains(&db.password));
    // Errors from the service keep their codes.
    let e = cli(
        &t,
        &a,
        &["dms", "delete-endpoint", "--endpoint-arn", "nope"],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::ResourceNotFoundFault);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_file_loads_as_csv() {
    let t = new_lake();
    seed(&t).await;
    let file = t.dir.path().join("source.db");
    {
        let c = rusqlite::Connection::open(&file).unwrap();
        c.execute_batch(&format!(
            "CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT, balance DECIMAL(10,2), photo BLOB);
             INSERT INTO customer VALUES (1, '{MARKER}', 12.5, x'00ff'), (2, 'Bob, Jr.', NULL, NULL);"
        ))
        .unwrap();
    }
    ok(
        &t,
        &[
            "dms",
            "create-endpoint",
            "--endpoint-identifier",
            "file",
            "--endpoint-type",
            "source",
            "--engine-name",
            "sqlite",
            "--sqlite-settings",
            &format!("DatabasePath={}", file.display()),
        ],
    )
    .await;
    ok(
        &t,
        &[
            "dms",
            "create-endpoint",
            "--endpoint-identifier",
            "lake",
            "--endpoint-type",
            "target",
            "--engine-name",
            "s3",
            "--s3-settings",
            "BucketName=data,BucketFolder=raw,DataFormat=csv",
        ],
    )
    .await;
    ok(
        &t,
        &[
            "dms",
            "create-replication-task",
            "--replication-task-identifier",
            "copy",
            "--source-endpoint-arn",
            "file",
            "--target-endpoint-arn",
            "lake",
            "--migration-type",
            "full-load",
            "--table-mappings",
            r#"{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"main","table-name":"%"},"rule-action":"include"}]}"#,
        ],
    )
    .await;
    let done = ok(
        &t,
        &[
            "dms",
            "start-replication-task",
            "--replication-task-arn",
            "copy",
            "--start-replication-task-type",
            "start-replication",
            "--wait",
        ],
    )
    .await;
    assert_eq!(done["ReplicationTask"]["Status"], "stopped", "{done}");
    let body = get(
        &t.services,
        &admin(),
        "data",
        "raw/main/customer/LOAD00000001.csv",
    )
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!("id,name,balance,photo\n1,{MARKER},12.50,00ff\n2,\"Bob, Jr.\",,\n")
    );
    // The task's state changes were announced as DMS announces them, for rules to act on.
    let db = rusqlite::Connection::open(t.path().join("meta.db")).unwrap();
    let announced: Vec<String> = db
        .prepare("SELECT detail_type FROM events WHERE source = 'aws.dms' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        announced.len() >= 2
            && announced
                .iter()
                .all(|d| d == "DMS Replication Task State Change"),
        "{announced:?}"
    );
    // A cdc task from SQLite is refused when created.
    let e = cli(
        &t,
        &admin(),
        &[
            "dms",
            "create-replication-task",
            "--replication-task-identifier",
            "ongoing",
            "--source-endpoint-arn",
            "file",
            "--target-endpoint-arn",
            "lake",
            "--migration-type",
            "cdc",
            "--table-mappings",
            r#"{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"main","table-name":"%"},"rule-action":"include"}]}"#,
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::InvalidParameterValueException);
    assert_no_plaintext(&t.path(), MARKER);
}
