//! Glue on the local lake: the seed's pipeline end to end, every source format, quarantine,
//! dedup, masks, atomic re-runs, keys that stop working, and the crawler's tables and partitions.

use std::io::Write;

use arrow::array::{Array, StringArray};
use lakectl::service::jobs::{CrawlerDefinition, JobDefinition, JobRun, MaskRule, RunState};
use lakectl::service::{Code, Principal, Progress, Services};

use crate::common::*;

fn succeeded(run: &JobRun) {
    assert_eq!(
        run.job_run_state,
        RunState::Succeeded,
        "{:?}",
        run.error_message
    );
}

/// Records read, written and quarantined.
fn counts(run: &JobRun) -> (u64, u64, u64) {
    let m = &run.metrics;
    (m.records_read, m.records_written, m.quarantined)
}

/// A job of the seed's kind: dedup, output under the security configuration `sc`.
fn job(name: &str, source: &str, target: &str) -> JobDefinition {
    JobDefinition {
        dedup: true,
        security_configuration: Some("sc".into()),
        ..job_definition(name, source, target)
    }
}

async fn crawl(s: &Services, name: &str, target: &str) {
    let def = CrawlerDefinition {
        name: name.into(),
        database_name: "db".into(),
        targets: vec![target.into()],
        security_configuration: Some("sc".into()),
        update_behavior: "UPDATE_IN_DATABASE".into(),
        table_prefix: None,
        role: "admin".into(),
    };
    s.jobs.create_crawler(&admin(), def).await.unwrap();
    s.jobs
        .start_crawler(&admin(), name, Progress::default())
        .await
        .unwrap();
    let last = eventually(&format!("crawler {name} to finish"), || async {
        let (_, last) = s.jobs.get_crawler(&admin(), name).await.unwrap();
        last.filter(|l| l.state.is_finished())
    })
    .await;
    assert_eq!(last.state, RunState::Succeeded, "{:?}", last.error_message);
}

/// A lake with the seed bucket `data`, database `db` and security configuration `sc`.
async fn glue_lake() -> TestLake {
    let t = new_lake();
    seed(&t).await;
    t.services
        .catalog
        .create_database(&admin(), "db", None)
        .await
        .unwrap();
    t.services
        .catalog
        .create_security_configuration(&admin(), "sc", "alias/test")
        .await
        .unwrap();
    t
}

/// The rows of every Parquet object under a prefix.
async fn parquet_rows(t: &TestLake, prefix: &str) -> Vec<arrow::record_batch::RecordBatch> {
    let listing = t
        .services
        .storage
        .list_objects(&admin(), "data", prefix, None)
        .await
        .unwrap();
    let mut out = Vec::new();
    for o in listing
        .objects
        .iter()
        .filter(|o| o.key.ends_with(".parquet"))
    {
        let bytes = bytes::Bytes::from(get(&t.services, &admin(), "data", &o.key).await.unwrap());
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        out.extend(reader.map(|b| b.unwrap()));
    }
    out
}

fn trades(n: usize, dup_every: usize) -> String {
    let mut lines = Vec::new();
    for i in 0..n {
        let line = format!(
            r#"{{"trade_id": {i}, "symbol": "SYM{}", "price": {}.5, "note": "MARKER-{i}-QZ"}}"#,
            i % 7,
            i
        );
        lines.push(line.clone());
        if dup_every > 0 && i % dup_every == 0 {
            lines.push(line);
        }
    }
    lines.join("\n") + "\n"
}

#[tokio::test]
async fn the_seed_pipeline_end_to_end() {
    let t = glue_lake().await;
    let a = admin();
    // The schema comes from a sample of the first 10,000 records; the odd records come after it.
    let mut data = trades(11_000, 10);
    data.push_str("{\"trade_id\": 5000, \"symbol\": \n"); // cut off
    data.push_str("[1, 2, 3]\n"); // not an object
    data.push_str("{\"trade_id\": \"x\", \"symbol\": \"B\"}\n"); // a field of the wrong type
    data.push_str("{\"trade_id\": 7, \"symbol\": \"C\", \"unexpected\": 1}\n"); // a field not in the schema
    put(
        &t.services,
        &a,
        "data",
        "raw/data.json",
        data.as_bytes(),
        kms("alias/test"),
    )
    .await
    .unwrap();

    let run = run_job(
        &t.services,
        job("raw-to-processed", "s3://data/raw/", "s3://data/processed/"),
    )
    .await;
    succeeded(&run);
    let m = &run.metrics;
    assert_eq!(m.records_read, 11_000 + 1_100 + 4);
    assert_eq!(m.records_written, 11_000);
    assert_eq!(m.duplicates, 1_100);
    assert_eq!(m.quarantined, 4);
    assert_eq!(
        m.records_read,
        m.records_written + m.duplicates + m.quarantined
    );

    // The quarantine says where and why, encrypted like everything else.
    let errors = t
        .services
        .storage
        .list_objects(&a, "data", "processed/_errors/", None)
        .await
        .unwrap();
    assert_eq!(errors.objects.len(), 1);
    let text = String::from_utf8(
        get(&t.services, &a, "data", &errors.objects[0].key)
            .await
            .unwrap(),
    )
    .unwrap();
    let reasons: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        reasons
            .iter()
            .map(|r| r["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![12_101, 12_102, 12_103, 12_104]
    );
    assert!(
        reasons[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(
        reasons[1]["reason"]
            .as_str()
            .unwrap()
            .contains("not a JSON object")
    );
    // The column and the type it expected, never the value.
    assert_eq!(
        reasons[2]["reason"].as_str().unwrap(),
        "column 1 (trade_id): the value is not a bigint"
    );
    assert!(
        reasons[3]["reason"]
            .as_str()
            .unwrap()
            .contains("does not fit")
    );
    assert_eq!(
        errors.objects[0].server_side_encryption,
        lakectl::service::storage::Sse::Kms
    );

    let rows: usize = parquet_rows(&t, "processed/")
        .await
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 11_000);

    crawl(&t.services, "processed-crawler", "s3://data/processed/").await;
    let table = t
        .services
        .catalog
        .get_table(&a, "db", "processed")
        .await
        .unwrap();
    let cols: Vec<(String, String)> = table
        .storage_descriptor
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.type_name.clone()))
        .collect();
    assert_eq!(
        cols,
        [
            ("trade_id", "bigint"),
            ("symbol", "string"),
            ("price", "double"),
            ("note", "string")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(table.parameters["classification"], "parquet");
    assert_eq!(table.storage_descriptor.location, "s3://data/processed/");

    // No plaintext anywhere under the lake: not the records, not the quarantine, not the log.
    for f in files_under(&t.path()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(9).any(|w| w == b"MARKER-42"),
            "{} holds plaintext",
            f.display()
        );
    }
    let log = t
        .services
        .jobs
        .get_job_run_log(&a, "raw-to-processed", &run.id)
        .await
        .unwrap();
    assert!(log.contains("wrote 11000"), "{log}");
}

#[tokio::test]
async fn csv_parquet_and_gzip_sources() {
    let t = glue_lake().await;
    let a = admin();
    let csv = "id,name,score,active\n1,Ada,9.5,true\n2,Bob,7,false\n3,Cy,8.25,\n4,Di,8\n";
    put(
        &t.services,
        &a,
        "data",
        "csv/people.csv",
        csv.as_bytes(),
        kms("alias/test"),
    )
    .await
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"{\"id\": 5, \"name\": \"Eve\", \"score\": 6.5, \"active\": true}\n")
        .unwrap();
    put(
        &t.services,
        &a,
        "data",
        "csv/more.json.gz",
        &gz.finish().unwrap(),
        kms("alias/test"),
    )
    .await
    .unwrap();

    let run = run_job(
        &t.services,
        job("from-csv", "s3://data/csv/", "s3://data/out1/"),
    )
    .await;
    succeeded(&run);
    // The short CSV row is quarantined; the empty cell is a null.
    assert_eq!(counts(&run), (5, 4, 1));

    // The Parquet output is itself a source.
    let run = run_job(
        &t.services,
        job("from-parquet", "s3://data/out1/", "s3://data/out2/"),
    )
    .await;
    succeeded(&run);
    assert_eq!(run.metrics.records_written, 4);
    let batches = parquet_rows(&t, "out2/").await;
    let schema = batches[0].schema();
    let types: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{}:{}", f.name(), f.data_type()))
        .collect();
    assert_eq!(
        types,
        ["id:Int64", "name:Utf8", "score:Float64", "active:Boolean"]
    );
}

#[tokio::test]
async fn masks_reruns_and_keys_that_stop_working() {
    let t = glue_lake().await;
    let a = admin();
    put(
        &t.services,
        &a,
        "data",
        "raw/cards.csv",
        b"id,card\n1,4111111111111111\n2,5500005555555559\n",
        kms("alias/test"),
    )
    .await
    .unwrap();
    let mut def = job("mask", "s3://data/raw/", "s3://data/masked/");
    def.masks = vec![MaskRule {
        column: "card".into(),
        operator: "redact".into(),
    }];
    let run = run_job(&t.services, def).await;
    succeeded(&run);
    let batches = parquet_rows(&t, "masked/").await;
    let cards = batches[0]
        .column_by_name("card")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .clone();
    assert_eq!(
        cards.iter().collect::<Vec<_>>(),
        vec![Some("################"); 2]
    );

    // A second run replaces the first run's output whole.
    let before: Vec<String> = t
        .services
        .storage
        .list_objects(&a, "data", "masked/", None)
        .await
        .unwrap()
        .objects
        .into_iter()
        .map(|o| o.key)
        // Each run's counts sit beside its output (as the Glue script writes them).
        .filter(|k| !k.contains("/_lakectl/"))
        .collect();
    let id = t
        .services
        .jobs
        .start_job_run(&a, "mask", Progress::default())
        .await
        .unwrap();
    assert_eq!(
        wait_for_run(&t.services, "mask", &id).await.job_run_state,
        RunState::Succeeded
    );
    let after: Vec<String> = t
        .services
        .storage
        .list_objects(&a, "data", "masked/", None)
        .await
        .unwrap()
        .objects
        .into_iter()
        .map(|o| o.key)
        // Each run's counts sit beside its output (as the Glue script writes them).
        .filter(|k| !k.contains("/_lakectl/"))
        .collect();
    assert_eq!(after.len(), 1);
    assert_ne!(before, after);

    // The key disabled: the run fails with the KMS error, and the last good output stays.
    t.services
        .keys
        .set_key_enabled(&a, "alias/test", false)
        .await
        .unwrap();
    let id = t
        .services
        .jobs
        .start_job_run(&a, "mask", Progress::default())
        .await
        .unwrap();
    let failed = wait_for_run(&t.services, "mask", &id).await;
    assert_eq!(failed.job_run_state, RunState::Failed);
    assert!(
        failed
            .error_message
            .as_deref()
            .unwrap()
            .contains("DisabledException"),
        "{:?}",
        failed.error_message
    );
    t.services
        .keys
        .set_key_enabled(&a, "alias/test", true)
        .await
        .unwrap();
    let now: Vec<String> = t
        .services
        .storage
        .list_objects(&a, "data", "masked/", None)
        .await
        .unwrap()
        .objects
        .into_iter()
        .map(|o| o.key)
        .filter(|k| !k.contains("/_lakectl/"))
        .collect();
    assert_eq!(now, after);
    // Its log is still sealed, and readable by whoever may decrypt.
    assert!(
        t.services
            .jobs
            .get_job_run_log(&a, "mask", &id)
            .await
            .unwrap()
            .contains("DisabledException")
    );

    // Unknown operators and columns are refused up front or fail the run clearly.
    let mut bad = job("bad-op", "s3://data/raw/", "s3://data/x/");
    bad.masks = vec![MaskRule {
        column: "card".into(),
        operator: "scramble".into(),
    }];
    assert_eq!(
        t.services.jobs.create_job(&a, bad).await.unwrap_err().code,
        Code::InvalidArgument
    );
    let mut missing = job("bad-col", "s3://data/raw/", "s3://data/y/");
    missing.masks = vec![MaskRule {
        column: "ssn".into(),
        operator: "redact".into(),
    }];
    let run = run_job(&t.services, missing).await;
    assert_eq!(run.job_run_state, RunState::Failed);
    assert!(run.error_message.unwrap().contains("ssn"));
}

#[tokio::test]
async fn a_run_can_be_stopped_and_a_role_needs_rights() {
    let t = glue_lake().await;
    let a = admin();
    put(
        &t.services,
        &a,
        "data",
        "big/trades.json",
        trades(600_000, 0).as_bytes(),
        kms("alias/test"),
    )
    .await
    .unwrap();
    t.services
        .jobs
        .create_job(&a, job("big", "s3://data/big/", "s3://data/bigout/"))
        .await
        .unwrap();
    let progress = Progress::default();
    let id = t
        .services
        .jobs
        .start_job_run(&a, "big", progress.clone())
        .await
        .unwrap();
    // Stopped while under way: RUNNING, and some of the input read.
    until_reading(&t.services, "big", &id, &progress).await;
    t.services.jobs.stop_job_run(&a, "big", &id).await.unwrap();
    let run = wait_for_run(&t.services, "big", &id).await;
    assert_eq!(
        run.job_run_state,
        RunState::Stopped,
        "{:?}",
        run.error_message
    );
    assert!(
        progress.done() < progress.total(),
        "the runner read all {} bytes despite the stop",
        progress.total()
    );
    assert_left_nothing(&t, "data", "bigout/").await;

    // A role outside the key policy reads nothing.
    t.services
        .iam
        .create_principal(&a, "etl", false)
        .await
        .unwrap();
    let mut def = job("as-etl", "s3://data/big/", "s3://data/etlout/");
    def.role = "etl".into();
    let run = run_job(&t.services, def).await;
    assert_eq!(run.job_run_state, RunState::Failed);
    assert!(run.error_message.unwrap().contains("AccessDenied"));
    assert_eq!(
        t.services
            .jobs
            .start_job_run(&Principal::new("etl"), "as-etl", Progress::default())
            .await
            .unwrap_err()
            .code,
        Code::AccessDenied
    );
}

#[tokio::test]
async fn the_crawler_finds_tables_and_partitions() {
    let t = glue_lake().await;
    let a = admin();
    for (month, n) in [("10", 3), ("11", 4)] {
        let body = (0..n)
            .map(|i| format!("{{\"id\": {i}, \"v\": \"x\"}}\n"))
            .collect::<String>();
        put(
            &t.services,
            &a,
            "data",
            &format!("raw/trades/year=2026/month={month}/part.json"),
            body.as_bytes(),
            kms("alias/test"),
        )
        .await
        .unwrap();
    }
    put(
        &t.services,
        &a,
        "data",
        "raw/people/people.csv",
        b"name,age\nAda,36\n",
        kms("alias/test"),
    )
    .await
    .unwrap();
    crawl(&t.services, "raw", "s3://data/raw/").await;
    let tables = t.services.catalog.get_tables(&a, "db").await.unwrap();
    assert_eq!(
        tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        vec!["people", "trades"]
    );
    let trades = &tables[1];
    assert_eq!(
        trades
            .partition_keys
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["year", "month"]
    );
    assert_eq!(
        trades.parameters["partitions"],
        "year=2026/month=10,year=2026/month=11"
    );
    assert_eq!(trades.parameters["classification"], "json");
    assert_eq!(tables[0].storage_descriptor.columns[1].type_name, "bigint");
    let (_, last) = t.services.jobs.get_crawler(&a, "raw").await.unwrap();
    assert_eq!(last.unwrap().partitions_added, 2);
}

#[tokio::test]
async fn a_catalog_table_as_source_fixes_the_schema() {
    let t = glue_lake().await;
    let a = admin();
    put(
        &t.services,
        &a,
        "data",
        "raw/people/a.json",
        b"{\"id\": 1, \"name\": \"Ada\"}\n",
        kms("alias/test"),
    )
    .await
    .unwrap();
    crawl(&t.services, "raw", "s3://data/raw/").await;
    // A later object whose id is not a number: inferred afresh it would widen the column; read as
    // the catalog's table it is quarantined.
    put(
        &t.services,
        &a,
        "data",
        "raw/people/b.json",
        b"{\"id\": \"x\", \"name\": \"Bob\"}\n{\"id\": 3, \"name\": \"Cy\"}\n",
        kms("alias/test"),
    )
    .await
    .unwrap();
    let run = run_job(
        &t.services,
        job("from-table", "db.people", "s3://data/people-out/"),
    )
    .await;
    succeeded(&run);
    assert_eq!(counts(&run), (3, 2, 1));
    assert!(
        t.services
            .jobs
            .create_job(&a, job("no-table", "db.nope", "s3://data/x/"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_timeout_and_a_key_disabled_midway_end_runs_cleanly() {
    let t = glue_lake().await;
    let a = admin();
    put(
        &t.services,
        &a,
        "data",
        "big/trades.json",
        trades(400_000, 0).as_bytes(),
        kms("alias/test"),
    )
    .await
    .unwrap();
    // A one-minute timeout reached midway: once the run is reading, its recorded start is moved
    // two minutes back, as if it had been running that long (the deadline counts from there).
    let mut def = job("timed", "s3://data/big/", "s3://data/timed/");
    def.timeout_minutes = Some(1);
    t.services.jobs.create_job(&a, def).await.unwrap();
    let progress = Progress::default();
    let id = t
        .services
        .jobs
        .start_job_run(&a, "timed", progress.clone())
        .await
        .unwrap();
    until_reading(&t.services, "timed", &id, &progress).await;
    let long_ago = (chrono::Utc::now() - chrono::Duration::minutes(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let moved = rusqlite::Connection::open(t.path().join("meta.db"))
        .unwrap()
        .execute(
            "UPDATE job_runs SET started = ?1 WHERE id = ?2",
            rusqlite::params![long_ago, id],
        )
        .unwrap();
    assert_eq!(moved, 1);
    let run = wait_for_run(&t.services, "timed", &id).await;
    assert_eq!(
        run.job_run_state,
        RunState::Timeout,
        "{:?}",
        run.error_message
    );
    assert!(
        progress.done() < progress.total(),
        "the timeout ended the run before it read everything"
    );
    assert_left_nothing(&t, "data", "timed/").await;

    t.services
        .jobs
        .create_job(&a, job("midway", "s3://data/big/", "s3://data/midway/"))
        .await
        .unwrap();
    let progress = Progress::default();
    let id = t
        .services
        .jobs
        .start_job_run(&a, "midway", progress.clone())
        .await
        .unwrap();
    // Midway: the run is RUNNING and has read some of its input.
    until_reading(&t.services, "midway", &id, &progress).await;
    t.services
        .keys
        .set_key_enabled(&a, "alias/test", false)
        .await
        .unwrap();
    let run = wait_for_run(&t.services, "midway", &id).await;
    assert_eq!(run.job_run_state, RunState::Failed);
    assert!(
        run.error_message
            .as_deref()
            .unwrap()
            .contains("DisabledException"),
        "{:?}",
        run.error_message
    );
    assert_left_nothing(&t, "data", "midway/").await;
}

/// A JSON array is a source like JSON lines (its elements are the records), and a column that
/// is whole numbers in one object and fractions in another is a double in the output, with the
/// whole numbers kept as their values.
#[tokio::test]
async fn json_array_sources_and_int_widened_to_double_across_objects() {
    let t = glue_lake().await;
    let a = admin();
    let objects: [(&str, &str); 2] = [
        (
            "arr/a.json",
            r#"[{"id": 1, "amount": 5, "name": "a"}, {"id": 2, "amount": 7, "name": "[b]"}]"#,
        ),
        (
            "arr/b.json",
            "[\n  {\"id\": 3, \"amount\": 2.5, \"name\": \"c,}\"},\n  {\"id\": 4, \"amount\": 10, \"name\": \"d\"}\n]\n",
        ),
    ];
    for (key, body) in objects {
        put(
            &t.services,
            &a,
            "data",
            key,
            body.as_bytes(),
            kms("alias/test"),
        )
        .await
        .unwrap();
    }
    let run = run_job(
        &t.services,
        job("arrays", "s3://data/arr/", "s3://data/arrout/"),
    )
    .await;
    succeeded(&run);
    assert_eq!(counts(&run), (4, 4, 0));
    let batches = parquet_rows(&t, "arrout/").await;
    let mut rows = Vec::new();
    for b in &batches {
        let schema = b.schema();
        let field = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
        assert_eq!(field("id"), arrow::datatypes::DataType::Int64);
        assert_eq!(field("amount"), arrow::datatypes::DataType::Float64);
        let ids = b
            .column_by_name("id")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        let amounts = b
            .column_by_name("amount")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap();
        let names = b
            .column_by_name("name")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        for i in 0..b.num_rows() {
            rows.push((ids.value(i), amounts.value(i), names.value(i).to_string()));
        }
    }
    rows.sort_by_key(|r| r.0);
    assert_eq!(
        rows,
        [
            (1, 5.0, "a".to_string()),
            (2, 7.0, "[b]".to_string()),
            (3, 2.5, "c,}".to_string()),
            (4, 10.0, "d".to_string()),
        ]
    );
}

/// Nested objects and arrays stay nested: a struct column with a struct inside it and a list
/// column, read back from the Parquet with their values, an object missing a nested member
/// giving a null there, and a duplicate that differs only inside a nested value kept.
#[tokio::test]
async fn nested_objects_and_arrays_are_written_as_structs_and_lists() {
    use arrow::array::{Array, ListArray, StringArray, StructArray};
    use arrow::datatypes::DataType;

    let t = glue_lake().await;
    let a = admin();
    let lines = [
        r#"{"id": 1, "customer": {"name": "Ada", "address": {"city": "London"}}, "tags": ["a", "b"]}"#,
        r#"{"id": 2, "customer": {"name": "Grace"}, "tags": []}"#,
        r#"{"id": 1, "customer": {"name": "Ada", "address": {"city": "London"}}, "tags": ["a", "b"]}"#,
        r#"{"id": 1, "customer": {"name": "Ada", "address": {"city": "Paris"}}, "tags": ["a", "b"]}"#,
    ]
    .join("\n");
    put(
        &t.services,
        &a,
        "data",
        "nested/n.json",
        lines.as_bytes(),
        kms("alias/test"),
    )
    .await
    .unwrap();
    let run = run_job(
        &t.services,
        job("nested", "s3://data/nested/", "s3://data/nestout/"),
    )
    .await;
    succeeded(&run);
    // Four read, the exact duplicate dropped, the one that differs in a nested city kept.
    assert_eq!(counts(&run), (4, 3, 0));
    assert_eq!(run.metrics.duplicates, 1);
    let mut rows = Vec::new();
    for b in parquet_rows(&t, "nestout/").await {
        let schema = b.schema();
        let DataType::Struct(customer_fields) =
            schema.field_with_name("customer").unwrap().data_type()
        else {
            panic!("customer is not a struct: {schema:?}");
        };
        assert!(matches!(
            customer_fields.find("address").unwrap().1.data_type(),
            DataType::Struct(_)
        ));
        assert!(matches!(
            schema.field_with_name("tags").unwrap().data_type(),
            DataType::List(_) | DataType::LargeList(_)
        ));
        let ids = arrow::compute::cast(b.column_by_name("id").unwrap(), &DataType::Int64).unwrap();
        let ids = ids
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        let customer = b
            .column_by_name("customer")
            .unwrap()
            .as_any()
            .downcast_ref::<StructArray>()
            .unwrap();
        let names = customer
            .column_by_name("name")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let address = customer
            .column_by_name("address")
            .unwrap()
            .as_any()
            .downcast_ref::<StructArray>()
            .unwrap();
        let cities = address
            .column_by_name("city")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let tags = b
            .column_by_name("tags")
            .unwrap()
            .as_any()
            .downcast_ref::<ListArray>()
            .expect("tags is a list");
        for i in 0..b.num_rows() {
            let city =
                (!address.is_null(i) && !cities.is_null(i)).then(|| cities.value(i).to_string());
            let tag_values = tags.value(i);
            let tag_values = tag_values.as_any().downcast_ref::<StringArray>().unwrap();
            let tag_list: Vec<String> = (0..tag_values.len())
                .map(|j| tag_values.value(j).to_string())
                .collect();
            rows.push((ids.value(i), names.value(i).to_string(), city, tag_list));
        }
    }
    rows.sort();
    let s = |x: &str| x.to_string();
    assert_eq!(
        rows,
        [
            (1, s("Ada"), Some(s("London")), vec![s("a"), s("b")]),
            (1, s("Ada"), Some(s("Paris")), vec![s("a"), s("b")]),
            (2, s("Grace"), None, vec![]),
        ]
    );
}
