//! DMS on moto through the same commands a user types (`dms create-endpoint ...`, run by the
//! CLI's executor as the console's `:` line runs them): endpoints and replication tasks round
//! trip, what reached AWS is read back with the SDK, and what AWS cannot do (the SQLite source, a
//! task without a replication instance, an endpoint without the role DMS acts as) is refused
//! before any call, saying what to do instead. moto has no DescribeTableStatistics and ignores
//! the start type, so those are tested for what moto has: the call reaches it.
//!
//! moto writes a task's dates as ISO text where DMS's JSON protocol sends epoch seconds, which
//! the SDK rightly refuses to read; [`EpochTimestamps`] rewrites those members of moto's answers
//! (and nothing else) for the backend under test, so every state still comes from moto.

use std::process::Command;

use aws_sdk_databasemigration::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_databasemigration::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::body::SdkBody;
use lakectl::cli::{Context, parse_line};
use lakectl::service::{Code, Result, Services};
use serde_json::Value;

use super::{ACCOUNT, REGION, clients, moto, unique, venv_bin};
use crate::common::admin;

#[derive(Debug)]
struct EpochTimestamps;

/// moto's `2026-12-03T19:40:00.123456` (UTC, no offset) as epoch seconds.
fn epoch(text: &str) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .ok()?;
    Some(t.timestamp_micros() as f64 / 1e6)
}

fn rewrite_dates(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                let seconds = match v {
                    Value::String(s) if k.ends_with("Date") || k.ends_with("Time") => epoch(s),
                    _ => None,
                };
                match seconds {
                    Some(n) => *v = serde_json::json!(n),
                    None => rewrite_dates(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_dates),
        _ => {}
    }
}

impl Intercept for EpochTimestamps {
    fn name(&self) -> &'static str {
        "EpochTimestamps"
    }
    fn modify_before_deserialization(
        &self,
        ctx: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> std::result::Result<(), aws_sdk_databasemigration::error::BoxError> {
        let body = std::mem::replace(ctx.response_mut().body_mut(), SdkBody::taken());
        let rewritten = futures::stream::once(async move {
            let bytes = http_body_util::BodyExt::collect(body).await?.to_bytes();
            let bytes = match serde_json::from_slice::<Value>(&bytes) {
                Ok(mut v) => {
                    rewrite_dates(&mut v);
                    bytes::Bytes::from(serde_json::to_vec(&v)?)
                }
                Err(_) => bytes,
            };
            Ok::<_, aws_sdk_databasemigration::error::BoxError>(hyper::body::Frame::data(bytes))
        });
        *ctx.response_mut().body_mut() =
            SdkBody::from_body_1_x(http_body_util::StreamBody::new(rewritten));
        Ok(())
    }
}

/// The AWS backend on moto, its DMS client reading moto's dates.
async fn aws() -> Services {
    let sdk = super::sdk().await;
    let conf = aws_sdk_databasemigration::config::Builder::from(&sdk)
        .interceptor(EpochTimestamps)
        .build();
    super::mocked::backend(|c| c.dms = aws_sdk_databasemigration::Client::from_conf(conf)).await
}

/// `aws ...` from the test venv on moto, as a user sets up what lakectl does not make.
fn aws_cli(args: &[&str]) -> Value {
    let out = Command::new(venv_bin("aws"))
        .args(args)
        .args(["--endpoint-url", &moto().url, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("aws runs");
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

const SECRETS_ROLE: &str = "arn:aws:iam::123456789012:role/dms-secrets";
const S3_ROLE: &str = "arn:aws:iam::123456789012:role/dms-s3";

async fn run(s: &Services, line: &str) -> Result<Value> {
    let a = admin();
    let ctx = Context::new(s, &a);
    let cmd = parse_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    ctx.run(cmd).await.map(|r| r.value)
}

/// A replication instance on moto, made as a user would with the AWS CLI.
fn replication_instance() -> String {
    let made = aws_cli(&[
        "dms",
        "create-replication-instance",
        "--replication-instance-identifier",
        &unique("ri"),
        "--replication-instance-class",
        "dms.t3.micro",
    ]);
    made["ReplicationInstance"]["ReplicationInstanceArn"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A source and a target endpoint; answers their ARNs.
async fn endpoints(s: &Services) -> (String, String) {
    let source = run(
        s,
        &format!(
            "dms create-endpoint --endpoint-identifier {} --endpoint-type source --engine-name postgres --server-name db.internal --port 5432 --database-name shop --postgre-sql-settings SecretsManagerSecretId=shop-db,SecretsManagerAccessRoleArn={SECRETS_ROLE}",
            unique("src")
        ),
    )
    .await
    .unwrap();
    let target = run(
        s,
        &format!(
            "dms create-endpoint --endpoint-identifier {} --endpoint-type target --engine-name s3 --s3-settings BucketName=raw,BucketFolder=dms,DataFormat=parquet,EncryptionMode=SSE_KMS,ServerSideEncryptionKmsKeyId=alias/raw,ServiceAccessRoleArn={S3_ROLE}",
            unique("dst")
        ),
    )
    .await
    .unwrap();
    (
        source["Endpoint"]["EndpointArn"]
            .as_str()
            .unwrap()
            .to_string(),
        target["Endpoint"]["EndpointArn"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_round_trip_through_dms() {
    let s = aws().await;
    let (source, target) = endpoints(&s).await;
    assert!(
        source.starts_with(&format!("arn:aws:dms:eu-west-1:{ACCOUNT}:endpoint:")),
        "{source}"
    );

    // What reached DMS: the secret and the roles, never a password.
    let sent = clients()
        .await
        .dms
        .describe_endpoints()
        .filters(
            aws_sdk_databasemigration::types::Filter::builder()
                .name("endpoint-arn")
                .values(&source)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let pg = sent.endpoints()[0].postgre_sql_settings().unwrap();
    assert_eq!(pg.secrets_manager_secret_id(), Some("shop-db"));
    assert_eq!(pg.secrets_manager_access_role_arn(), Some(SECRETS_ROLE));
    assert_eq!(sent.endpoints()[0].engine_name(), Some("postgres"));
    assert_eq!(sent.endpoints()[0].username(), None);

    let listed = run(&s, "dms describe-endpoints").await.unwrap();
    let of = |arn: &str| {
        listed["Endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["EndpointArn"] == arn)
            .cloned()
            .unwrap_or_else(|| panic!("{arn} is listed: {listed}"))
    };
    let src = of(&source);
    assert_eq!(src["EngineName"], "postgres");
    assert_eq!(src["EndpointType"], "SOURCE");
    assert_eq!(
        src["PostgreSQLSettings"]["SecretsManagerSecretId"],
        "shop-db"
    );
    let dst = of(&target);
    assert_eq!(dst["EngineName"], "s3");
    assert_eq!(dst["EndpointType"], "TARGET");
    assert_eq!(dst["S3Settings"]["BucketName"], "raw");
    assert_eq!(dst["S3Settings"]["BucketFolder"], "dms");
    assert_eq!(dst["S3Settings"]["DataFormat"], "parquet");
    assert_eq!(dst["S3Settings"]["EncryptionMode"], "SSE_KMS");
    assert_eq!(
        dst["S3Settings"]["ServerSideEncryptionKmsKeyId"],
        "alias/raw"
    );
    assert_eq!(dst["S3Settings"]["ServiceAccessRoleArn"], S3_ROLE);

    // A connection is tested from a replication instance, and lakectl waits for its result.
    let e = run(&s, &format!("dms test-connection --endpoint-arn {source}"))
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::InvalidParameterValueException);
    assert!(
        e.message.contains("--replication-instance-arn"),
        "{}",
        e.message
    );
    let instance = replication_instance();
    let tested = run(
        &s,
        &format!(
            "dms test-connection --endpoint-arn {source} --replication-instance-arn {instance}"
        ),
    )
    .await
    .unwrap();
    assert_eq!(tested["Connection"]["Status"], "successful", "{tested}");
    assert_eq!(tested["Connection"]["EndpointArn"], source);

    let deleted = run(&s, &format!("dms delete-endpoint --endpoint-arn {target}"))
        .await
        .unwrap();
    assert_eq!(deleted["Endpoint"]["EndpointArn"], target);
    let listed = run(&s, "dms describe-endpoints").await.unwrap();
    assert!(
        !listed.to_string().contains(&target),
        "a deleted endpoint is gone: {listed}"
    );
    let e = run(&s, &format!("dms delete-endpoint --endpoint-arn {target}"))
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::ResourceNotFoundFault, "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_tasks_round_trip_through_dms() {
    let s = aws().await;
    let (source, target) = endpoints(&s).await;
    let instance = replication_instance();
    let dir = tempfile::tempdir().unwrap();
    let mappings = dir.path().join("mappings.json");
    let rules = r#"{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"all","object-locator":{"schema-name":"public","table-name":"%"},"rule-action":"include"}]}"#;
    std::fs::write(&mappings, rules).unwrap();
    let id = unique("task");
    let create = format!(
        "dms create-replication-task --replication-task-identifier {id} --source-endpoint-arn {source} --target-endpoint-arn {target} --migration-type full-load-and-cdc --table-mappings file://{}",
        mappings.display()
    );

    // AWS runs a task on a replication instance: without one, nothing is asked of AWS.
    let e = run(&s, &create).await.unwrap_err();
    assert_eq!(e.code, Code::InvalidParameterValueException);
    assert!(
        e.message.contains("--replication-instance-arn"),
        "{}",
        e.message
    );
    // Mappings lakectl cannot read are named before AWS is asked.
    let e = run(
        &s,
        &format!(
            "dms create-replication-task --replication-task-identifier {id} --source-endpoint-arn {source} --target-endpoint-arn {target} --migration-type full-load --table-mappings {{\"rules\":7}} --replication-instance-arn {instance}"
        ),
    )
    .await
    .unwrap_err();
    assert_ne!(e.code, Code::AwsService, "{e:?}");
    let tasks = run(&s, "dms describe-replication-tasks").await.unwrap();
    assert!(!tasks.to_string().contains(&id), "{tasks}");

    let created = run(
        &s,
        &format!("{create} --replication-instance-arn {instance}"),
    )
    .await
    .unwrap();
    let task = &created["ReplicationTask"];
    let arn = task["ReplicationTaskArn"].as_str().unwrap().to_string();
    assert_eq!(task["ReplicationTaskIdentifier"], id.as_str());
    assert_eq!(task["MigrationType"], "full-load-and-cdc");
    assert_eq!(task["ReplicationInstanceArn"], instance.as_str());
    assert_eq!(task["SourceEndpointArn"], source.as_str());
    let sent: Value = serde_json::from_str(task["TableMappings"].as_str().unwrap()).unwrap();
    assert_eq!(sent["rules"][0]["rule-action"], "include");

    let started = run(
        &s,
        &format!(
            "dms start-replication-task --replication-task-arn {arn} --start-replication-task-type start-replication"
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        started["ReplicationTask"]["ReplicationTaskArn"],
        arn.as_str()
    );
    let status = |tasks: &Value| {
        tasks["ReplicationTasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["ReplicationTaskArn"] == arn.as_str())
            .map(|t| t["Status"].as_str().unwrap().to_string())
    };
    let tasks = run(&s, "dms describe-replication-tasks").await.unwrap();
    assert_eq!(status(&tasks).as_deref(), Some("running"), "{tasks}");

    // A task named by its identifier is found by it (DMS's calls take ARNs only).
    let stopped = run(
        &s,
        &format!("dms stop-replication-task --replication-task-arn {id}"),
    )
    .await
    .unwrap();
    assert_eq!(stopped["ReplicationTask"]["Status"], "stopped", "{stopped}");
    // DMS refuses to stop a task that is not running; its code reaches the caller.
    let e = run(
        &s,
        &format!("dms stop-replication-task --replication-task-arn {arn}"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.aws_code.as_deref(),
        Some("InvalidResourceStateFault"),
        "{e:?}"
    );

    run(
        &s,
        &format!(
            "dms start-replication-task --replication-task-arn {arn} --start-replication-task-type resume-processing"
        ),
    )
    .await
    .unwrap();
    let tasks = run(&s, "dms describe-replication-tasks").await.unwrap();
    assert_eq!(status(&tasks).as_deref(), Some("running"), "{tasks}");

    // moto has no DescribeTableStatistics: the call reaches it and its refusal comes back.
    let e = run(
        &s,
        &format!("dms describe-table-statistics --replication-task-arn {arn}"),
    )
    .await
    .unwrap_err();
    assert!(
        e.aws_code.is_some() && e.code != Code::InvalidParameterValueException,
        "{e:?}"
    );

    let deleted = run(
        &s,
        &format!("dms delete-replication-task --replication-task-arn {arn}"),
    )
    .await
    .unwrap();
    assert_eq!(deleted["ReplicationTask"]["Status"], "deleting");
    let tasks = run(&s, "dms describe-replication-tasks").await.unwrap();
    assert_eq!(status(&tasks), None, "{tasks}");
    let e = run(
        &s,
        &format!(
            "dms start-replication-task --replication-task-arn {arn} --start-replication-task-type start-replication"
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::ResourceNotFoundFault, "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_aws_dms_cannot_do_is_refused_before_any_call() {
    let s = aws().await;
    let sqlite = unique("lite");
    let e = run(
        &s,
        &format!(
            "dms create-endpoint --endpoint-identifier {sqlite} --endpoint-type source --engine-name sqlite --sqlite-settings DatabasePath=/tmp/shop.db"
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::InvalidParameterValueException);
    assert!(
        e.message.contains("lakectl extension") && e.message.contains("postgres"),
        "{}",
        e.message
    );
    let no_role = unique("norole");
    let e = run(
        &s,
        &format!(
            "dms create-endpoint --endpoint-identifier {no_role} --endpoint-type target --engine-name s3 --s3-settings BucketName=raw"
        ),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("ServiceAccessRoleArn"), "{}", e.message);
    let e = run(
        &s,
        &format!(
            "dms create-endpoint --endpoint-identifier {no_role} --endpoint-type source --engine-name postgres --database-name shop --postgre-sql-settings SecretsManagerSecretId=shop-db"
        ),
    )
    .await
    .unwrap_err();
    assert!(
        e.message.contains("SecretsManagerAccessRoleArn"),
        "{}",
        e.message
    );
    let listed = run(&s, "dms describe-endpoints").await.unwrap().to_string();
    assert!(
        !listed.contains(&sqlite) && !listed.contains(&no_role),
        "nothing was created: {listed}"
    );
}
