//! The current state of a table from DMS's files, against a real PostgreSQL server: a full
//! load, then inserts, updates and deletes streamed as change files, then the ETL job
//! (`processed/`) and the masking job (`masked/`, `encrypted/`) over the table's folder; each
//! output equals the source table row for row, deletes included, after each run.

use std::time::Duration;

use arrow::array::Array;
use lakectl::service::Progress;
use lakectl::service::classification::ClassificationJobSpec;
use lakectl::service::jobs::{JobDefinition, MaskRule, RunState};

use crate::common::*;
use crate::dms::{StopOnDrop, assert_no_plaintext, endpoints, lake_for, ok, stat, stats};
use crate::postgres::{Database, database};

/// The source's rows as `id|name|email|card`, by id (psql's unaligned output).
fn source_rows(db: &Database) -> Vec<String> {
    db.sql("SELECT id, name, email, card FROM customers ORDER BY id")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every row of the Parquet objects under `prefix`, as `a|b|c|...` in the files' order.
async fn lake_rows(t: &TestLake, prefix: &str, columns: &[&str]) -> Vec<String> {
    let a = admin();
    let listing = t
        .services
        .storage
        .list_objects(&a, "data", prefix, None)
        .await
        .unwrap();
    let mut rows = Vec::new();
    for o in listing
        .objects
        .iter()
        .filter(|o| o.key.ends_with(".parquet"))
    {
        let body = bytes::Bytes::from(get(&t.services, &a, "data", &o.key).await.unwrap());
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(body)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let cols: Vec<_> = columns
                .iter()
                .map(|c| {
                    batch
                        .column_by_name(c)
                        .unwrap_or_else(|| panic!("{prefix}: no column {c}"))
                        .clone()
                })
                .collect();
            for i in 0..batch.num_rows() {
                let cells: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        if c.is_null(i) {
                            String::new()
                        } else {
                            arrow::util::display::array_value_to_string(c, i).unwrap()
                        }
                    })
                    .collect();
                rows.push(cells.join("|"));
            }
        }
    }
    rows
}

fn ids(rows: &[String]) -> Vec<String> {
    rows.iter()
        .map(|r| r.split('|').next().unwrap().to_string())
        .collect()
}

async fn run(t: &TestLake, job: &str) {
    let id = t
        .services
        .jobs
        .start_job_run(&admin(), job, Progress::default())
        .await
        .unwrap();
    let run = wait_for_run(&t.services, job, &id).await;
    assert_eq!(
        run.job_run_state,
        RunState::Succeeded,
        "{job}: {:?}",
        run.error_message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_over_a_dms_folder_write_the_source_table_as_it_is_now() {
    let db = database("current");
    db.sql(
        "CREATE TABLE customers(id int4 PRIMARY KEY, name text, email text, card text);
         INSERT INTO customers SELECT g, 'Name' || g, 'person' || g || '@example.com',
           '4111111111111111' FROM generate_series(1, 20) g;",
    );
    let t = lake_for(&db).await;
    endpoints(&t, &db, "csv").await;
    ok(
        &t,
        &[
            "dms",
            "create-replication-task",
            "--replication-task-identifier",
            "current",
            "--source-endpoint-arn",
            "source",
            "--target-endpoint-arn",
            "lake",
            "--migration-type",
            "full-load-and-cdc",
            "--table-mappings",
            r#"{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"public","table-name":"customers"},"rule-action":"include"}]}"#,
        ],
    )
    .await;
    let _stop = StopOnDrop(t.lake.clone(), "current");
    ok(
        &t,
        &[
            "dms",
            "start-replication-task",
            "--replication-task-arn",
            "current",
            "--start-replication-task-type",
            "start-replication",
        ],
    )
    .await;
    eventually("the full load", || async {
        let s = stats(&t, "current").await;
        (s.len() == 1 && s[0]["TableState"] == "Table completed").then_some(())
    })
    .await;

    let a = admin();
    let columns = ["id", "name", "email", "card"];
    t.services
        .jobs
        .create_job(
            &a,
            job_definition(
                "process",
                "s3://data/raw/public/customers/",
                "s3://data/processed/customers/",
            ),
        )
        .await
        .unwrap();
    run(&t, "process").await;
    assert_eq!(
        lake_rows(&t, "processed/customers/", &columns).await,
        source_rows(&db),
        "after the full load"
    );

    // Inserts, updates (one row twice), deletes, a row inserted and deleted in one
    // transaction, and a key deleted then inserted again with other values.
    db.sql(
        "INSERT INTO customers VALUES (21, 'New21', 'new21@example.com', '5500000000000004'),
                                      (22, 'New22', NULL, NULL);
         UPDATE customers SET name = 'Renamed3' WHERE id = 3;
         UPDATE customers SET email = 'moved5@example.com', card = NULL WHERE id = 5;
         DELETE FROM customers WHERE id IN (7, 8);",
    );
    db.sql(
        "UPDATE customers SET name = 'Renamed3 again' WHERE id = 3;
         BEGIN; INSERT INTO customers VALUES (30, 'Gone', 'gone@example.com', NULL);
         DELETE FROM customers WHERE id = 30; COMMIT;
         DELETE FROM customers WHERE id = 10;
         INSERT INTO customers VALUES (10, 'Back10', 'back10@example.com', '4111111111111111');",
    );
    eventually_within("the changes", Duration::from_secs(30), || async {
        let s = stats(&t, "current").await;
        let c = stat(&s, "customers");
        (c["Inserts"] == 4 && c["Updates"] == 3 && c["Deletes"] == 4).then_some(())
    })
    .await;
    run(&t, "process").await;
    let now = source_rows(&db);
    assert_eq!(now.len(), 20, "20 + 2 inserted - 2 deleted");
    assert_eq!(
        lake_rows(&t, "processed/customers/", &columns).await,
        now,
        "after inserts, updates and deletes"
    );

    // The masking job: masked/ and encrypted/ hold the same rows, their personal data masked.
    let scan = ClassificationJobSpec {
        name: "discovery".into(),
        bucket: "data".into(),
        prefix: Some("raw/".into()),
        custom_data_identifiers: vec![],
        allow_lists: vec![],
        sampling_percentage: 100,
    };
    let scan_id = t
        .services
        .classification
        .create_classification_job(&a, scan, Progress::default())
        .await
        .unwrap();
    eventually("the classification job", || async {
        let job = t
            .services
            .classification
            .describe_classification_job(&a, &scan_id)
            .await
            .unwrap();
        (job.job_status != "RUNNING").then_some(())
    })
    .await;
    t.services
        .catalog
        .create_security_configuration(&a, "sc", "alias/test")
        .await
        .unwrap();
    let mask = JobDefinition {
        security_configuration: Some("sc".into()),
        masks: vec![MaskRule {
            column: "CREDIT_CARD_NUMBER".into(),
            operator: "partial:4".into(),
        }],
        from_findings: Some("discovery".into()),
        ..job_definition("mask-pii", "s3://data/raw/", "s3://data/")
    };
    t.services.jobs.create_job(&a, mask).await.unwrap();
    run(&t, "mask-pii").await;
    for prefix in ["masked/customers/", "encrypted/customers/"] {
        let rows = lake_rows(&t, prefix, &columns).await;
        assert_eq!(ids(&rows), ids(&now), "{prefix}: the source's keys");
        for (lake, source) in rows.iter().zip(&now) {
            let email = |r: &str| r.split('|').nth(2).unwrap().to_string();
            if !email(source).is_empty() {
                assert_ne!(email(lake), email(source), "{prefix}: email not masked");
            }
        }
    }
    // One more delete, and the next run follows it.
    db.sql("DELETE FROM customers WHERE id = 1");
    eventually_within("the delete", Duration::from_secs(30), || async {
        let s = stats(&t, "current").await;
        (stat(&s, "customers")["Deletes"] == 5).then_some(())
    })
    .await;
    run(&t, "mask-pii").await;
    run(&t, "process").await;
    let now = source_rows(&db);
    assert_eq!(lake_rows(&t, "processed/customers/", &columns).await, now);
    for prefix in ["masked/customers/", "encrypted/customers/"] {
        let rows = lake_rows(&t, prefix, &columns).await;
        assert_eq!(ids(&rows), ids(&now), "{prefix} after the delete");
    }
    assert_no_plaintext(&t.path(), "back10@example.com");
}
