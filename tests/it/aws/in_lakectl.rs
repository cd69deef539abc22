//! Jobs lakectl runs itself on AWS data (`--in-lakectl`), on moto: S3 in, deduplicated and masked
//! here, Parquet back under SSE-KMS; a second run replaces the first's output; a stopped run
//! leaves nothing.

use bytes::Bytes;
use lakectl::service::jobs::{JobDefinition, JobRun, MaskRule, RunState};
use lakectl::service::storage::Sse;
use lakectl::service::{Progress, Services};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{aws, key_and_bucket, unique};
use crate::common::{admin, get, kms, put, until_reading};

const TRADES: &[u8] = b"{\"symbol\":\"JPM\",\"trader\":\"trader-009\",\"price\":473.63}
{\"symbol\":\"NFLX\",\"trader\":\"trader-023\",\"price\":560.6}
{\"symbol\":\"JPM\",\"trader\":\"trader-009\",\"price\":473.63}
";

async fn wait(s: &Services, job: &str, id: &str) -> JobRun {
    crate::common::wait_for_run(s, job, id).await
}

/// A key, a bucket with the trades under raw/, a security configuration, and the job.
async fn setup(s: &Services) -> (String, String, String) {
    let a = admin();
    let (alias, bucket) = key_and_bucket(s, "inlakectl").await;
    put(s, &a, &bucket, "raw/trades.json", TRADES, kms(&alias))
        .await
        .unwrap();
    let config = unique("inlakectl-config");
    s.catalog
        .create_security_configuration(&a, &config, &alias)
        .await
        .unwrap();
    let name = unique("mask-here");
    s.jobs
        .create_job(
            &a,
            JobDefinition {
                name: name.clone(),
                source: format!("s3://{bucket}/raw/"),
                target: format!("s3://{bucket}/processed/"),
                dedup: true,
                security_configuration: Some(config),
                masks: vec![MaskRule {
                    column: "trader".into(),
                    operator: "tokenize".into(),
                }],
                from_findings: None,
                role: "glue-service-role".into(),
                timeout_minutes: Some(10),
                in_lakectl: true,
                type_consensus: None,
            },
        )
        .await
        .unwrap();
    (alias, bucket, name)
}

async fn outputs(s: &Services, bucket: &str) -> Vec<String> {
    s.storage
        .list_objects(&admin(), bucket, "processed/", None)
        .await
        .unwrap()
        .objects
        .into_iter()
        .map(|o| o.key)
        .filter(|k| !k.starts_with("processed/_lakectl/"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lakectl_masks_aws_data_itself() {
    let s = aws().await;
    let a = admin();
    let (alias, bucket, name) = setup(&s).await;
    let key = s.keys.describe_key(&a, &alias).await.unwrap();

    let id = s
        .jobs
        .start_job_run(&a, &name, Progress::default())
        .await
        .unwrap();
    assert!(id.starts_with("lr_"), "{id}");
    let run = wait(&s, &name, &id).await;
    assert_eq!(
        run.job_run_state,
        RunState::Succeeded,
        "{:?}",
        run.error_message
    );
    assert_eq!(
        (
            run.metrics.records_read,
            run.metrics.records_written,
            run.metrics.duplicates
        ),
        (3, 2, 1)
    );
    let written = outputs(&s, &bucket).await;
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(run.outputs, [format!("s3://{bucket}/{}", written[0])]);

    // Parquet, under the job's key, the trader tokenized so that only detokenize opens it.
    let head = s
        .storage
        .head_object(&a, &bucket, &written[0])
        .await
        .unwrap();
    assert_eq!(head.server_side_encryption, Sse::Kms);
    assert_eq!(head.sse_kms_key_id.as_deref(), Some(key.arn.as_str()));
    let bytes = Bytes::from(get(&s, &a, &bucket, &written[0]).await.unwrap());
    let batches: Vec<_> = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let traders = arrow::compute::cast(
        batches[0].column_by_name("trader").unwrap(),
        &arrow::datatypes::DataType::Utf8,
    )
    .unwrap();
    let traders = traders
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap();
    let tokens: Vec<String> = traders.iter().map(|t| t.unwrap().to_string()).collect();
    assert!(tokens.iter().all(|t| t.starts_with("tok1.")), "{tokens:?}");
    let opened = s.keys.detokenize(&a, &alias, &tokens).await.unwrap();
    assert_eq!(
        opened,
        [
            Some("trader-009".to_string()),
            Some("trader-023".to_string())
        ]
    );

    // A second run replaces the first's output; both runs are listed.
    let second = s
        .jobs
        .start_job_run(&a, &name, Progress::default())
        .await
        .unwrap();
    assert_eq!(
        wait(&s, &name, &second).await.job_run_state,
        RunState::Succeeded
    );
    let now = outputs(&s, &bucket).await;
    assert_eq!(now.len(), 1);
    assert_ne!(now, written);
    let runs = s.jobs.get_job_runs(&a, &name).await.unwrap();
    assert!(runs.iter().any(|r| r.id == id) && runs.iter().any(|r| r.id == second));
    let log = s.jobs.get_job_run_log(&a, &name, &id).await.unwrap();
    assert!(
        log.contains("read 3 record(s): wrote 2, 1 duplicate(s)"),
        "{log}"
    );
    assert!(
        !log.contains("trader-009"),
        "a log holds names and counts, never data: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_leaves_nothing() {
    let s = aws().await;
    let a = admin();
    let (alias, bucket, name) = setup(&s).await;
    // Enough records that the run is still reading when it is stopped.
    let big: String = (0..200_000)
        .map(|i| format!("{{\"symbol\":\"S{i}\",\"trader\":\"trader-{i}\",\"price\":{i}.5}}\n"))
        .collect();
    put(&s, &a, &bucket, "raw/big.json", big.as_bytes(), kms(&alias))
        .await
        .unwrap();
    let progress = Progress::default();
    let id = s
        .jobs
        .start_job_run(&a, &name, progress.clone())
        .await
        .unwrap();
    // The run is under way: RUNNING, and it has read some of its input.
    until_reading(&s, &name, &id, &progress).await;
    s.jobs.stop_job_run(&a, &name, &id).await.unwrap();
    let run = wait(&s, &name, &id).await;
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
    assert!(outputs(&s, &bucket).await.is_empty());
    let err = s.jobs.stop_job_run(&a, &name, &id).await.unwrap_err();
    assert!(err.message.contains("already ended"), "{}", err.message);
}

/// From the CLI, without --wait: the process prints the run's id and stays until the run it
/// executes has ended, as it does for the local lake's runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_stays_until_its_run_ends() {
    let bucket = unique("cli-run");
    let alias = format!("alias/{bucket}");
    let job = unique("cli-job");
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        script.path(),
        format!(
            "kms create-key --alias {alias}
s3 mb s3://{bucket} --sse-kms-key-id {alias}
s3 cp $DATA/data.json s3://{bucket}/raw/data.json --sse aws:kms --sse-kms-key-id {alias}
glue create-security-configuration --name {job}-sc --sse-kms-key-id {alias}
glue create-job --name {job} --source s3://{bucket}/raw/ --target s3://{bucket}/processed/ --dedup --security-configuration {job}-sc --role glue-service-role --mask trader=hash --in-lakectl
glue start-job-run --job-name {job}
"
        ),
    )
    .unwrap();
    let failed = super::scenarios::run_script(script.path().to_str().unwrap());
    assert!(failed.is_empty(), "{failed:?}");
    let s = aws().await;
    let runs = s.jobs.get_job_runs(&admin(), &job).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].job_run_state,
        RunState::Succeeded,
        "{:?}",
        runs[0].error_message
    );
    assert_eq!(runs[0].metrics.duplicates, 20);
}

/// The decoders' budget holds on AWS too: a gzip of one line past the record limit fails the
/// run with the limit and the object, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_line_fails_a_run_on_aws_with_the_limit() {
    use std::io::Write;
    let s = aws().await;
    let a = admin();
    let (alias, bucket, name) = setup(&s).await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(b"{\"symbol\":\"").unwrap();
    gz.write_all(&vec![b'a'; 9 << 20]).unwrap();
    gz.write_all(b"\"}\n").unwrap();
    put(
        &s,
        &a,
        &bucket,
        "raw/bomb.json.gz",
        &gz.finish().unwrap(),
        kms(&alias),
    )
    .await
    .unwrap();
    let id = s
        .jobs
        .start_job_run(&a, &name, Progress::default())
        .await
        .unwrap();
    let run = wait(&s, &name, &id).await;
    assert_eq!(run.job_run_state, RunState::Failed);
    let reason = run.error_message.unwrap_or_default();
    assert!(
        reason.contains("max record length") && reason.contains("raw/bomb.json.gz"),
        "{reason}"
    );
    assert!(outputs(&s, &bucket).await.is_empty());
}
