//! CDC tasks in the lake server: a task started by a CLI process while a server runs is the
//! server's (the CLI process ends, the task streams on); a server killed mid-stream and started
//! again resumes it with nothing lost and nothing doubled; deleting the task drops its
//! replication slot and publication in the source.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Server;
use crate::postgres::database;

fn wait_until<T>(what: &str, within: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen in {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn task(server: &Server) -> Value {
    server.lakectl(&["dms", "describe-replication-tasks"])["ReplicationTasks"][0].clone()
}

fn inserts(server: &Server) -> u64 {
    server.lakectl(&[
        "dms",
        "describe-table-statistics",
        "--replication-task-arn",
        "served",
    ])["TableStatistics"][0]["Inserts"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn a_cdc_task_runs_in_the_server_and_a_restart_resumes_it_exactly() {
    let db = database("served");
    db.sql("CREATE TABLE trades(id int8 PRIMARY KEY, symbol text, qty int4)");
    let server = Server::start();
    let secret = db.secret();
    let source = format!(
        "SecretsManagerSecretId=prod/source-db,DatabaseName={}",
        db.name
    );
    for args in [
        &["kms", "create-key", "--alias", "alias/test"][..],
        &["s3", "mb", "s3://data", "--sse-kms-key-id", "alias/test"],
        &[
            "secretsmanager",
            "create-secret",
            "--name",
            "prod/source-db",
            "--secret-string",
            &secret,
        ],
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
            &source,
        ],
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
            "BucketName=data,BucketFolder=raw,DataFormat=csv,EncryptionMode=SSE_KMS,ServerSideEncryptionKmsKeyId=alias/test",
        ],
        &[
            "dms",
            "create-replication-task",
            "--replication-task-identifier",
            "served",
            "--source-endpoint-arn",
            "source",
            "--target-endpoint-arn",
            "lake",
            "--migration-type",
            "cdc",
            "--table-mappings",
            r#"{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"public","table-name":"trades"},"rule-action":"include"}]}"#,
        ],
        // This process ends at once: the server runs the task.
        &[
            "dms",
            "start-replication-task",
            "--replication-task-arn",
            "served",
            "--start-replication-task-type",
            "start-replication",
        ],
    ] {
        server.lakectl(args);
    }
    wait_until(
        "the task to run in the server",
        Duration::from_secs(30),
        || (task(&server)["Status"] == "running").then_some(()),
    );
    db.sql("INSERT INTO trades VALUES (0, 'FIRST', 1)");
    wait_until("the first change", Duration::from_secs(30), || {
        (inserts(&server) == 1).then_some(())
    });

    // A writer commits 100 transactions of 10 rows; the server is killed and started again
    // while it streams them.
    const TXNS: i64 = 100;
    const ROWS: i64 = 10;
    let (name, user) = (db.name.clone(), db.user.clone());
    let writer = std::thread::spawn(move || {
        for i in 0..TXNS {
            let sql = format!(
                "INSERT INTO trades SELECT g, 'SYM', g::int4 FROM generate_series({}, {}) g",
                i * ROWS + 1,
                (i + 1) * ROWS
            );
            crate::postgres::postgres().psql(&name, &user, &sql);
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    wait_until("some changes", Duration::from_secs(60), || {
        (inserts(&server) >= 100).then_some(())
    });
    let server = server.kill_and_restart();
    let at_restart = inserts(&server);
    writer.join().unwrap();
    assert!(
        at_restart < (TXNS * ROWS + 1) as u64,
        "the writer finished before the kill"
    );
    wait_until(
        "every change after the restart",
        Duration::from_secs(60),
        || (inserts(&server) >= (TXNS * ROWS + 1) as u64).then_some(()),
    );
    // Give a doubled batch the time to show, then count exactly.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(inserts(&server), (TXNS * ROWS + 1) as u64);
    assert_eq!(task(&server)["Status"], "running");

    server.lakectl(&[
        "dms",
        "stop-replication-task",
        "--replication-task-arn",
        "served",
    ]);
    wait_until("the stop", Duration::from_secs(30), || {
        (task(&server)["Status"] == "stopped").then_some(())
    });
    let slots = || {
        db.sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'lakectl_served'")
            .trim()
            .to_string()
    };
    let publications = || {
        db.sql("SELECT count(*) FROM pg_publication WHERE pubname = 'lakectl_served'")
            .trim()
            .to_string()
    };
    assert_eq!((slots(), publications()), ("1".into(), "1".into()));
    server.lakectl(&[
        "dms",
        "delete-replication-task",
        "--replication-task-arn",
        "served",
    ]);
    assert_eq!(
        (slots(), publications()),
        ("0".into(), "0".into()),
        "the slot and publication are dropped with the task"
    );
}
