//! Issue 11's edges on the AWS backend: a recursive download skips keys that would land
//! outside its destination (the CLI path is shared, the keys come from S3), and crawls stop.

use lakectl::cli::{Context, EXIT_SKIPPED, parse_line};
use lakectl::service::jobs::CrawlerDefinition;
use lakectl::service::{Code, Progress};

use super::{aws, clients, key_and_bucket, unique};
use crate::common::{admin, files_under, kms, put};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recursive_download_from_s3_skips_keys_that_would_land_outside() {
    let s = aws().await;
    let a = admin();
    let (alias, bucket) = key_and_bucket(&s, "edges").await;
    let dir = tempfile::tempdir().unwrap();
    for key in ["analyst/../../ESCAPED.sh", "a//EMPTY.sh", "good.csv"] {
        put(&s, &a, &bucket, key, b"x", kms(&alias)).await.unwrap();
    }
    let dl = dir.path().join("d1").join("dl");
    let ctx = Context::new(&s, &a);
    let cmd = parse_line(&format!(
        "s3 cp --recursive s3://{bucket}/ {}",
        dl.display()
    ))
    .unwrap();
    let reply = ctx.run(cmd).await.unwrap();
    assert_eq!(reply.exit_code, EXIT_SKIPPED, "{:?}", reply.value);
    assert_eq!(reply.warnings.len(), 2, "{:?}", reply.warnings);
    let landed: Vec<_> = files_under(dir.path());
    assert_eq!(landed, [dl.join("good.csv")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_crawler_reaches_glue() {
    let s = aws().await;
    let a = admin();
    let (_, bucket) = key_and_bucket(&s, "edges").await;
    let db = unique("edgesdb");
    s.catalog.create_database(&a, &db, None).await.unwrap();
    let name = unique("crawler");
    let def = CrawlerDefinition {
        name: name.clone(),
        database_name: db,
        targets: vec![format!("s3://{bucket}/raw/")],
        security_configuration: None,
        update_behavior: "UPDATE_IN_DATABASE".into(),
        table_prefix: None,
        role: "glue-service-role".into(),
    };
    s.jobs.create_crawler(&a, def).await.unwrap();
    let idle = s.jobs.stop_crawler(&a, &name).await.unwrap_err();
    assert_eq!(idle.code, Code::CrawlerNotRunningException, "{idle:?}");
    s.jobs
        .start_crawler(&a, &name, Progress::default())
        .await
        .unwrap();
    s.jobs.stop_crawler(&a, &name).await.unwrap();
    let state = clients()
        .await
        .glue
        .get_crawler()
        .name(&name)
        .send()
        .await
        .unwrap()
        .crawler()
        .and_then(|c| c.state().map(|s| s.as_str().to_string()));
    assert_ne!(state.as_deref(), Some("RUNNING"), "{state:?}");
}
