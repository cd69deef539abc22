//! EventBridge on the local lake: patterns through the CLI, a rule on uploads starting a crawler,
//! Macie findings delivered to a delivery stream as encrypted objects, a delivery interrupted by
//! a dead process delivered once after, and a failing target's delivery kept and replayed.

use std::path::Path;

use lakectl::local::{Lake, LakeDir};
use lakectl::service::classification::ClassificationJobSpec;
use lakectl::service::events::RuleState;
use lakectl::service::{Code, Progress};
use serde_json::{Value, json};

use crate::cli::{ok, run};
use crate::common::*;

/// A lake made by the CLI with key alias/k and bucket `lake-data`.
fn cli_lake() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ok(&lake, &["init"]);
    ok(&lake, &["kms", "create-key", "--alias", "alias/k"]);
    ok(
        &lake,
        &["s3", "mb", "s3://lake-data", "--sse-kms-key-id", "alias/k"],
    );
    (dir, lake)
}

fn upload(lake: &Path, dir: &Path, key: &str, body: &str) {
    let file = dir.join("upload.csv");
    std::fs::write(&file, body).unwrap();
    ok(
        lake,
        &[
            "s3",
            "cp",
            file.to_str().unwrap(),
            &format!("s3://lake-data/{key}"),
        ],
    );
}

fn deliveries(lake: &Path, rule: &str) -> Vec<Value> {
    ok(lake, &["events", "list-deliveries", "--rule", rule])["Deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

/// The deliveries of `rule` in the store, straight from meta.db: (event, state, result).
fn stored_deliveries(lake: &Path, rule: &str) -> Vec<(String, String, Option<String>)> {
    let db = rusqlite::Connection::open(lake.join("meta.db")).unwrap();
    db.prepare("SELECT event_id, state, result FROM event_deliveries WHERE rule = ?1")
        .unwrap()
        .query_map([rule], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn test_event_pattern_answers_in_eventbridge_s_shape() {
    let (_dir, lake) = cli_lake();
    let event = json!({"version":"0","id":"1","detail-type":"Object Created","source":"aws.s3","account":"1",
        "time":"2026-01-01T00:00:00Z","region":"local","resources":[],
        "detail":{"bucket":{"name":"lake-data"},"object":{"key":"raw/a.csv","size":10}}})
    .to_string();
    let check = |pattern: Value| {
        ok(
            &lake,
            &[
                "events",
                "test-event-pattern",
                "--event-pattern",
                &pattern.to_string(),
                "--event",
                &event,
            ],
        )["Result"]
            .as_bool()
            .unwrap()
    };
    assert!(check(
        json!({"detail":{"object":{"key":[{"prefix":"raw/"}]}}})
    ));
    assert!(!check(
        json!({"detail":{"object":{"key":[{"prefix":"masked/"}]}}})
    ));
    assert!(check(
        json!({"detail":{"object":{"size":[{"numeric":[">",5,"<=",10]}]}}})
    ));
    assert!(!check(
        json!({"detail":{"object":{"size":[{"numeric":[">",10]}]}}})
    ));
    assert!(check(json!({"source":[{"anything-but":"aws.glue"}]})));
    assert!(check(json!({"detail":{"etag":[{"exists":false}]}})));
    let out = run(
        &lake,
        &[
            "events",
            "put-rule",
            "--name",
            "r",
            "--event-pattern",
            r#"{"source":"aws.s3"}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(254));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("InvalidEventPatternException"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rules_and_targets_follow_the_aws_cli() {
    let (_dir, lake) = cli_lake();
    let arn = ok(
        &lake,
        &[
            "events",
            "put-rule",
            "--name",
            "raw-uploads",
            "--event-pattern",
            r#"{"source":["aws.s3"]}"#,
            "--description",
            "uploads",
        ],
    );
    assert!(
        arn["RuleArn"]
            .as_str()
            .unwrap()
            .ends_with(":rule/raw-uploads")
    );
    let rule = ok(&lake, &["events", "describe-rule", "--name", "raw-uploads"]);
    assert_eq!(rule["State"], "ENABLED");
    assert_eq!(rule["EventBusName"], "default");
    ok(&lake, &["events", "disable-rule", "--name", "raw-uploads"]);
    let rules = ok(&lake, &["events", "list-rules", "--name-prefix", "raw"]);
    assert_eq!(rules["Rules"][0]["State"], "DISABLED");
    assert_eq!(
        ok(&lake, &["events", "list-rules", "--name-prefix", "zzz"])["Rules"],
        json!([])
    );
    let put = ok(
        &lake,
        &[
            "events",
            "put-targets",
            "--rule",
            "raw-uploads",
            "--targets",
            "Id=crawl,Arn=arn:aws:glue:local:1:crawler/raw",
            "Id=bad,Arn=arn:aws:lambda:local:1:function:f",
        ],
    );
    assert_eq!(put["FailedEntryCount"], 1);
    assert_eq!(put["FailedEntries"][0]["TargetId"], "bad");
    // A dead-letter queue is EventBridge's on AWS: here failures stay in the failed list, and
    // the target saying otherwise is refused rather than silently kept without one.
    let put = ok(
        &lake,
        &[
            "events",
            "put-targets",
            "--rule",
            "raw-uploads",
            "--targets",
            r#"[{"Id":"dlq","Arn":"arn:aws:glue:local:1:crawler/raw","DeadLetterConfig":{"Arn":"arn:aws:sqs:local:1:q"}}]"#,
        ],
    );
    assert_eq!(put["FailedEntryCount"], 1, "{put}");
    assert!(
        put["FailedEntries"][0]["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("list-failed-deliveries"),
        "{put}"
    );
    let targets = ok(
        &lake,
        &["events", "list-targets-by-rule", "--rule", "raw-uploads"],
    );
    assert_eq!(targets["Targets"][0]["Id"], "crawl");
    assert_eq!(targets["Targets"].as_array().unwrap().len(), 1, "{targets}");
    let out = run(&lake, &["events", "delete-rule", "--name", "raw-uploads"]);
    assert_eq!(out.status.code(), Some(254), "a rule with targets stays");
    ok(
        &lake,
        &[
            "events",
            "remove-targets",
            "--rule",
            "raw-uploads",
            "--ids",
            "crawl",
        ],
    );
    ok(&lake, &["events", "delete-rule", "--name", "raw-uploads"]);
    let out = run(&lake, &["events", "describe-rule", "--name", "raw-uploads"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ResourceNotFoundException"));
}

#[test]
fn an_upload_under_raw_starts_the_crawler() {
    let (dir, lake) = cli_lake();
    ok(&lake, &["glue", "create-database", "--name", "db"]);
    ok(
        &lake,
        &[
            "glue",
            "create-crawler",
            "--name",
            "raw",
            "--database",
            "db",
            "--target",
            "s3://lake-data/raw/",
        ],
    );
    ok(
        &lake,
        &[
            "events",
            "put-rule",
            "--name",
            "raw-uploads",
            "--event-pattern",
            r#"{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":["lake-data"]},"object":{"key":[{"prefix":"raw/"}]}}}"#,
        ],
    );
    let account = ok(&lake, &["sts", "get-caller-identity"])["Account"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &lake,
        &[
            "events",
            "put-targets",
            "--rule",
            "raw-uploads",
            "--targets",
            &format!("Id=crawl,Arn=arn:aws:glue:local:{account}:crawler/raw"),
        ],
    );
    // Elsewhere than raw/: nothing.
    upload(&lake, dir.path(), "other/a.csv", "id,name\n1,x\n");
    assert!(deliveries(&lake, "raw-uploads").is_empty());
    assert!(ok(&lake, &["glue", "get-crawler", "--name", "raw"])["Crawler"]["LastCrawl"].is_null());
    // Under raw/: the same command delivers, the crawl runs in it and has ended with it.
    upload(&lake, dir.path(), "raw/customers/a.csv", "id,name\n1,x\n");
    let d = deliveries(&lake, "raw-uploads");
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["State"], "DELIVERED");
    assert_eq!(d[0]["Result"], "raw");
    let crawler = ok(&lake, &["glue", "get-crawler", "--name", "raw"]);
    assert_eq!(
        crawler["Crawler"]["LastCrawl"]["Status"], "SUCCEEDED",
        "{crawler}"
    );
    let tables = ok(&lake, &["glue", "get-tables", "--database", "db"]);
    assert_eq!(tables["TableList"][0]["Name"], "customers", "{tables}");
    // The crawl's own end is an event too (Glue Crawler State Change), recorded sealed.
    let db = rusqlite::Connection::open(lake.join("meta.db")).unwrap();
    let kinds: Vec<String> = db
        .prepare("SELECT detail_type FROM events ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        kinds.contains(&"Glue Crawler State Change".to_string()),
        "{kinds:?}"
    );
    let bodies: Vec<String> = db
        .prepare("SELECT body FROM events")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        bodies
            .iter()
            .all(|b| b.starts_with("lakectl-sealed:") && !b.contains("raw/customers"))
    );
}

/// A rule's target may be a Glue workflow: the event starts a run from the workflow's EVENT
/// trigger, the run records the event (so a redelivery starts no second run), and the run's
/// nodes run in the process that delivered it.
#[test]
fn an_upload_under_raw_starts_a_workflow_from_its_event_trigger() {
    let (dir, lake) = cli_lake();
    ok(&lake, &["glue", "create-database", "--name", "db"]);
    ok(
        &lake,
        &[
            "glue",
            "create-crawler",
            "--name",
            "raw",
            "--database",
            "db",
            "--target",
            "s3://lake-data/raw/",
        ],
    );
    ok(&lake, &["glue", "create-workflow", "--name", "ingest"]);
    ok(
        &lake,
        &[
            "glue",
            "create-trigger",
            "--name",
            "on-upload",
            "--workflow-name",
            "ingest",
            "--type",
            "EVENT",
            "--actions",
            "CrawlerName=raw",
        ],
    );
    ok(
        &lake,
        &[
            "events",
            "put-rule",
            "--name",
            "raw-uploads",
            "--event-pattern",
            r#"{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"object":{"key":[{"prefix":"raw/"}]}}}"#,
        ],
    );
    let account = ok(&lake, &["sts", "get-caller-identity"])["Account"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &lake,
        &[
            "events",
            "put-targets",
            "--rule",
            "raw-uploads",
            "--targets",
            &format!("Id=flow,Arn=arn:aws:glue:local:{account}:workflow/ingest"),
        ],
    );
    upload(&lake, dir.path(), "raw/customers/a.csv", "id,name\n1,x\n");
    let d = deliveries(&lake, "raw-uploads");
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["State"], "DELIVERED", "{d:?}");
    let run_id = d[0]["Result"].as_str().unwrap().to_string();
    let runs = ok(&lake, &["glue", "get-workflow-runs", "--name", "ingest"]);
    let runs = runs["Runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["WorkflowRunId"], run_id.as_str(), "{runs:?}");
    assert_eq!(runs[0]["StartingTrigger"], "on-upload", "{runs:?}");
    // The run's crawl ran in the process that delivered the event, and the table exists.
    assert_eq!(runs[0]["Status"], "COMPLETED", "{runs:?}");
    let tables = ok(&lake, &["glue", "get-tables", "--database", "db"]);
    assert_eq!(tables["TableList"][0]["Name"], "customers", "{tables}");
    // The run carries the event: the store names it.
    let db = rusqlite::Connection::open(lake.join("meta.db")).unwrap();
    let (event, delivered): (Option<String>, String) = db
        .query_row(
            "SELECT w.event_id, d.event_id FROM workflow_runs w, event_deliveries d WHERE w.id = ?1",
            [&run_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(event.as_deref(), Some(delivered.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn macie_findings_reach_a_delivery_stream_as_encrypted_objects() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    let s = &t.services;
    s.storage
        .create_bucket(
            &a,
            "findings",
            lakectl::service::storage::CreateBucket {
                sse_kms_key_id: Some("alias/test".into()),
                require_sse_kms: false,
            },
        )
        .await
        .unwrap();
    s.events
        .create_delivery_stream(
            &a,
            "macie-findings",
            lakectl::service::events::S3Destination {
                bucket_arn: "arn:aws:s3:::findings".into(),
                prefix: Some("macie/".into()),
                kms_key_arn: Some("alias/test".into()),
            },
        )
        .await
        .unwrap();
    let again = s
        .events
        .create_delivery_stream(
            &a,
            "macie-findings",
            lakectl::service::events::S3Destination {
                bucket_arn: "arn:aws:s3:::findings".into(),
                prefix: None,
                kms_key_arn: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(again.code, Code::ResourceInUseException);
    s.events
        .put_rule(
            &a,
            "findings",
            r#"{"source":["aws.macie"],"detail-type":["Macie Finding"]}"#,
            RuleState::Enabled,
            None,
        )
        .await
        .unwrap();
    let stream_arn = format!(
        "arn:aws:firehose:local:{}:deliverystream/macie-findings",
        t.lake.account_id()
    );
    let failed = s
        .events
        .put_targets(
            &a,
            "findings",
            vec![lakectl::service::events::Target {
                id: "stream".into(),
                arn: stream_arn,
                input: None,
                retry_policy: None,
                role_arn: None,
                dead_letter_config: None,
            }],
        )
        .await
        .unwrap();
    assert!(failed.is_empty());
    let customers = include_str!("../../assets/demo/customers.csv");
    put(
        &t.services,
        &a,
        "data",
        "raw/customers.csv",
        customers.as_bytes(),
        kms("alias/test"),
    )
    .await
    .unwrap();
    let id = s
        .classification
        .create_classification_job(
            &a,
            ClassificationJobSpec {
                name: "scan".into(),
                bucket: "data".into(),
                prefix: Some("raw/".into()),
                custom_data_identifiers: vec![],
                allow_lists: vec![],
                sampling_percentage: 100,
            },
            Progress::default(),
        )
        .await
        .unwrap();
    // The job's thread delivers what it recorded once it has ended.
    let objects = eventually("the findings to be delivered", || async {
        let listed = s
            .storage
            .list_objects(&a, "findings", "macie/", None)
            .await
            .unwrap()
            .objects;
        (!listed.is_empty()).then_some(listed)
    })
    .await;
    let body = get(s, &a, "findings", &objects[0].key).await.unwrap();
    let lines: Vec<Value> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "one object, one finding");
    assert_eq!(lines[0]["source"], "aws.macie");
    assert_eq!(lines[0]["detail-type"], "Macie Finding");
    assert_eq!(
        lines[0]["detail"]["resourcesAffected"]["s3Object"]["key"],
        "raw/customers.csv"
    );
    let finding_ids = s.classification.list_findings(&a, Some(&id)).await.unwrap();
    assert_eq!(lines[0]["detail"]["id"], finding_ids[0].as_str());
    assert!(objects[0].key.starts_with("macie/20"), "{}", objects[0].key);
    // No event, and no delivered batch, is anywhere under the lake in the clear.
    for file in files_under(&t.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(14).any(|w| w == b"\"detail-type\""),
            "{} holds an event in the clear",
            file.display()
        );
    }
}

#[test]
fn a_delivery_left_by_a_dead_process_is_delivered_once_after() {
    let (dir, lake) = cli_lake();
    upload(&lake, dir.path(), "raw/a.csv", "id,name\n1,x\n");
    ok(
        &lake,
        &[
            "glue",
            "create-job",
            "--name",
            "copy",
            "--source",
            "s3://lake-data/raw/",
            "--target",
            "s3://lake-data/out/",
        ],
    );
    ok(
        &lake,
        &[
            "events",
            "put-rule",
            "--name",
            "uploads",
            "--event-pattern",
            r#"{"detail-type":["Object Created"],"detail":{"object":{"key":[{"prefix":"raw/"}]}}}"#,
        ],
    );
    let account = ok(&lake, &["sts", "get-caller-identity"])["Account"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &lake,
        &[
            "events",
            "put-targets",
            "--rule",
            "uploads",
            "--targets",
            &format!("Id=copy,Arn=arn:aws:glue:local:{account}:job/copy"),
        ],
    );
    // A process records a change and its event, then ends before delivering it (as a process
    // killed between the two would): the library's services record without delivering.
    {
        let opened = Lake::open(LakeDir::new(&lake), PASSPHRASE).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(put(
            &opened.services(),
            &admin(),
            "lake-data",
            "raw/b.csv",
            b"id,name\n2,y\n",
            Default::default(),
        ))
        .unwrap();
    }
    // ... and a deliverer that claimed it died too: its lease names a process that is gone.
    let db = rusqlite::Connection::open(lake.join("meta.db")).unwrap();
    let event: String = db
        .query_row(
            "SELECT id FROM events WHERE detail_type = 'Object Created' ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db.execute("UPDATE events SET routed = 1 WHERE id = ?1", [&event])
        .unwrap();
    db.execute(
        "INSERT INTO event_deliveries(event_id, rule, target_id, state, next_attempt, lease_owner, lease_until, updated)
         VALUES (?1, 'uploads', 'copy', 'PENDING', '2000-01-01T00:00:00.000000Z', '4000000000:dead', '2999-01-01T00:00:00.000000Z', '2000-01-01T00:00:00.000000Z')",
        [&event],
    )
    .unwrap();
    assert_eq!(stored_deliveries(&lake, "uploads")[0].1, "PENDING");
    // The next process on the lake, whatever its command, delivers what was left.
    ok(&lake, &["glue", "get-jobs"]);
    let runs = |lake: &Path| -> Vec<(String, Option<String>)> {
        let db = rusqlite::Connection::open(lake.join("meta.db")).unwrap();
        db.prepare("SELECT id, event_id FROM job_runs WHERE job = 'copy'")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let after = runs(&lake);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(
        after[0].1.as_deref(),
        Some(event.as_str()),
        "the run carries the event id"
    );
    let stored = stored_deliveries(&lake, "uploads");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, "DELIVERED");
    assert_eq!(stored[0].2.as_deref(), Some(after[0].0.as_str()));
    let run = ok(
        &lake,
        &[
            "glue",
            "get-job-run",
            "--job-name",
            "copy",
            "--run-id",
            &after[0].0,
        ],
    );
    assert_eq!(run["JobRun"]["JobRunState"], "SUCCEEDED", "{run}");
    // Delivered again (a deliverer that crashed after the run started but before it said so):
    // the run that carries the event is found, and no second one starts.
    db.execute(
        "UPDATE event_deliveries SET state = 'PENDING', lease_owner = NULL, lease_until = NULL WHERE event_id = ?1",
        [&event],
    )
    .unwrap();
    ok(&lake, &["glue", "get-jobs"]);
    assert_eq!(runs(&lake).len(), 1);
    let stored = stored_deliveries(&lake, "uploads");
    assert_eq!(stored[0].1, "DELIVERED");
    assert_eq!(stored[0].2.as_deref(), Some(after[0].0.as_str()));
}

#[test]
fn a_failing_target_lands_in_the_failed_list_and_is_replayed() {
    let (dir, lake) = cli_lake();
    let account = ok(&lake, &["sts", "get-caller-identity"])["Account"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &lake,
        &[
            "events",
            "put-rule",
            "--name",
            "uploads",
            "--event-pattern",
            // Under raw/ only: the job writes under out/, which must not start it again.
            r#"{"detail-type":["Object Created"],"detail":{"object":{"key":[{"prefix":"raw/"}]}}}"#,
        ],
    );
    // The job does not exist yet, and the target is not retried.
    ok(
        &lake,
        &[
            "events",
            "put-targets",
            "--rule",
            "uploads",
            "--targets",
            &format!("Id=copy,Arn=arn:aws:glue:local:{account}:job/copy,MaximumRetryAttempts=0"),
        ],
    );
    upload(&lake, dir.path(), "raw/a.csv", "id,name\n1,x\n");
    let failed = ok(&lake, &["events", "list-failed-deliveries"])["FailedDeliveries"].clone();
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed[0]["Rule"], "uploads");
    assert_eq!(failed[0]["DetailType"], "Object Created");
    assert!(
        failed[0]["LastError"]
            .as_str()
            .unwrap()
            .contains("EntityNotFoundException"),
        "{failed}"
    );
    // Its reason is stored sealed.
    let db = rusqlite::Connection::open(lake.join("meta.db")).unwrap();
    let stored: String = db
        .query_row("SELECT last_error FROM event_deliveries", [], |r| r.get(0))
        .unwrap();
    assert!(stored.starts_with("lakectl-sealed:"), "{stored}");
    ok(
        &lake,
        &[
            "glue",
            "create-job",
            "--name",
            "copy",
            "--source",
            "s3://lake-data/raw/",
            "--target",
            "s3://lake-data/out/",
        ],
    );
    let replayed = ok(
        &lake,
        &["events", "replay-failed-deliveries", "--rule", "uploads"],
    );
    assert_eq!(replayed["Replayed"], 1);
    assert_eq!(
        ok(&lake, &["events", "list-failed-deliveries"])["FailedDeliveries"],
        json!([])
    );
    let d = deliveries(&lake, "uploads");
    assert_eq!(d[0]["State"], "DELIVERED", "{d:?}");
    let runs = ok(&lake, &["glue", "get-job-runs", "--job-name", "copy"]);
    assert_eq!(runs["JobRuns"].as_array().unwrap().len(), 1, "{runs}");
    // Replaying with nothing failed says so.
    let out = run(
        &lake,
        &[
            "events",
            "replay-failed-deliveries",
            "--rule",
            "uploads",
            "--event-id",
            "nope",
        ],
    );
    assert_eq!(out.status.code(), Some(254));
}

#[test]
fn a_target_that_fails_is_retried_with_backoff_before_it_is_kept() {
    let (dir, lake) = cli_lake();
    ok(
        &lake,
        &[
            "events",
            "put-rule",
            "--name",
            "uploads",
            "--event-pattern",
            r#"{"source":["aws.s3"]}"#,
        ],
    );
    ok(
        &lake,
        &[
            "events",
            "put-targets",
            "--rule",
            "uploads",
            "--targets",
            "Id=c,Arn=arn:aws:glue:local:1:crawler/missing,MaximumRetryAttempts=2",
        ],
    );
    upload(&lake, dir.path(), "a.csv", "x\n");
    // One attempt so far: pending, not failed, its next try a second later.
    let d = deliveries(&lake, "uploads");
    assert_eq!(
        (d[0]["State"].as_str(), d[0]["Attempts"].as_u64()),
        (Some("PENDING"), Some(1))
    );
    assert_eq!(
        ok(&lake, &["events", "list-failed-deliveries"])["FailedDeliveries"],
        json!([])
    );
    // Each later process retries what is due: after 1 s and 2 s, then it is kept as failed.
    for _ in 0..60 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        ok(&lake, &["events", "list-rules"]);
        if deliveries(&lake, "uploads")[0]["State"] == "FAILED" {
            break;
        }
    }
    let d = deliveries(&lake, "uploads");
    assert_eq!(
        (d[0]["State"].as_str(), d[0]["Attempts"].as_u64()),
        (Some("FAILED"), Some(3))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runs_pane_shows_a_rule_s_failures_and_replays_them_when_confirmed() {
    use crate::console::{press, screen};
    use crossterm::event::KeyCode;
    use lakectl::service::jobs::CrawlerDefinition;
    use lakectl::tui::{App, Options};

    let t = new_lake();
    seed(&t).await;
    let (a, s) = (admin(), &t.services);
    s.events
        .put_rule(
            &a,
            "uploads",
            r#"{"source":["aws.s3"],"detail":{"object":{"key":[{"prefix":"raw/"}]}}}"#,
            RuleState::Enabled,
            None,
        )
        .await
        .unwrap();
    let arn = format!("arn:aws:glue:local:{}:crawler/raw", t.lake.account_id());
    s.events
        .put_targets(
            &a,
            "uploads",
            vec![lakectl::service::events::Target {
                id: "crawl".into(),
                arn,
                input: None,
                retry_policy: Some(lakectl::service::events::RetryPolicy {
                    maximum_retry_attempts: 0,
                }),
                role_arn: None,
                dead_letter_config: None,
            }],
        )
        .await
        .unwrap();
    put(s, &a, "data", "raw/t/a.csv", b"id\n1\n", kms("alias/test"))
        .await
        .unwrap();
    // The crawler does not exist yet: the delivery fails and is kept.
    s.events.deliver_emitted().await;
    let mut app = App::new(s.clone(), a.clone(), Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('4'));
    settle(&mut app).await;
    let runs = screen(&mut app);
    assert!(
        runs.contains("Jobs, crawlers and rules")
            && runs.contains("uploads")
            && runs.contains("FAILED"),
        "{runs}"
    );
    s.catalog.create_database(&a, "db", None).await.unwrap();
    s.jobs
        .create_crawler(
            &a,
            CrawlerDefinition {
                name: "raw".into(),
                database_name: "db".into(),
                targets: vec!["s3://data/raw/".into()],
                security_configuration: None,
                update_behavior: "UPDATE_IN_DATABASE".into(),
                table_prefix: None,
                role: "admin".into(),
            },
        )
        .await
        .unwrap();
    // `s` on a rule replays its failed deliveries, behind a confirm.
    press(&mut app, KeyCode::Char('s'));
    let confirm = screen(&mut app);
    assert!(
        confirm.contains("events replay-failed-deliveries --rule uploads"),
        "{confirm}"
    );
    press(&mut app, KeyCode::Char('y'));
    settle(&mut app).await;
    let delivered = eventually("the replayed delivery", || async {
        let d = s
            .events
            .list_deliveries(&a, Some("uploads"), 10)
            .await
            .unwrap();
        (d.len() == 1 && d[0].state == "DELIVERED").then_some(d)
    })
    .await;
    assert_eq!(delivered[0].result.as_deref(), Some("raw"));
    assert!(
        s.events
            .list_failed_deliveries(&a, None)
            .await
            .unwrap()
            .is_empty()
    );
}
