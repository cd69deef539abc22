//! The seed scripts of `assets/scenarios/` run headless with `--backend aws` against moto, as a
//! user would run them: every line works except what moto cannot do, and each of those fails
//! for that reason alone. What the scripts made then reads back through the AWS backend.

use std::collections::BTreeMap;
use std::process::Command;

use lakectl::service::access::{Permission, Resource};

use super::{ACCOUNT, REGION, aws, moto};
use crate::common::admin;

/// Runs a scenario; returns the failing lines with their error codes.
fn run(scenario: &str) -> BTreeMap<u64, String> {
    let root = env!("CARGO_MANIFEST_DIR");
    run_script(&format!("{root}/assets/scenarios/{scenario}.lake"))
}

/// Runs a headless script against moto, as a user would; returns the failing lines.
pub fn run_script(path: &str) -> BTreeMap<u64, String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO_BIN_EXE_lakectl"))
        .args([
            "--backend",
            "aws",
            "--endpoint-url",
            &moto().url,
            "--region",
            REGION,
        ])
        .args(["--headless", "--keep-going", "--script"])
        .arg(path)
        .env("DATA", format!("{root}/assets/demo"))
        // The masking scenario's source, as an AWS user gives it (moto runs no task).
        .env(
            "SOURCE_ENDPOINT",
            format!("--engine-name postgres --postgre-sql-settings SecretsManagerSecretId=pii/source-db,DatabaseName=shop,SecretsManagerAccessRoleArn=arn:aws:iam::{ACCOUNT}:role/dms-secrets"),
        )
        .env("REPLICATION_INSTANCE_OPTION", format!("--replication-instance-arn arn:aws:dms:{REGION}:{ACCOUNT}:rep:lakectl-scenario"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let mut failed = BTreeMap::new();
    let mut lines = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let answer: serde_json::Value = serde_json::from_str(line).unwrap();
        lines += 1;
        if answer["ok"] != true {
            failed.insert(
                answer["line"].as_u64().unwrap(),
                answer["error"]["Code"].as_str().unwrap().to_string(),
            );
        }
    }
    assert!(lines > 3, "{path} ran {lines} lines");
    failed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_scenarios_run_on_aws() {
    // moto refuses every put into a bucket whose policy has a conditional Deny (it does not
    // read conditions), so the uploads, and the job script kept beside the output, fail there;
    // moto has no UpdateWorkGroup (`primary` exists in every account, and creating it
    // configures it), no Macie2 beyond its session, and no data cells filters. The job from findings and the runs
    // of jobs that could not be created follow.
    let expected: BTreeMap<u64, String> = [
        (19, "AccessDenied"),
        (28, "AccessDenied"),
        (29, "EntityNotFoundException"),
        (42, "Http500"),
    ]
    .into_iter()
    .map(|(l, c)| (l, c.to_string()))
    .collect();
    assert_eq!(run("encrypted-data-lake"), expected);

    // The DMS task: moto answers CreateReplicationTask with dates the SDK cannot read (ISO
    // text where DMS sends epoch seconds), so creating and starting it fail there.
    let expected: BTreeMap<u64, String> = [
        (34, "EndpointConnectionError"),
        (35, "EndpointConnectionError"),
        (39, "NotFound"),
        (40, "NotFound"),
        (48, "NotFound"),
        (49, "EntityNotFoundException"),
        (75, "NotFound"),
    ]
    .into_iter()
    .map(|(l, c)| (l, c.to_string()))
    .collect();
    assert_eq!(run("masking-and-fine-grained-access"), expected);

    // What was sent reads back.
    let s = aws().await;
    let a = admin();
    let aliases = s.keys.list_aliases(&a).await.unwrap();
    for alias in [
        "alias/datalake-key",
        "alias/query-results-key",
        "alias/pii-key",
    ] {
        assert!(aliases.iter().any(|x| x.alias_name == alias), "{alias}");
    }
    let pii_policy = s.keys.get_key_policy(&a, "alias/pii-key").await.unwrap();
    let scientist = format!("arn:aws:iam::{ACCOUNT}:user/data-scientist");
    assert!(pii_policy.named_principals().any(|p| p == scientist));
    assert!(
        s.keys
            .get_key_rotation_status(&a, "alias/datalake-key")
            .await
            .unwrap()
            .key_rotation_enabled
    );

    let lake_policy = s
        .storage
        .get_bucket_policy(&a, "secure-datalake")
        .await
        .unwrap();
    assert!(lake_policy.denies_unencrypted_puts());
    assert!(lake_policy.to_json().contains("LakeServiceRoles"));
    let enc = s
        .storage
        .get_bucket_encryption(&a, "pii-datalake")
        .await
        .unwrap();
    let pii_key = s.keys.describe_key(&a, "alias/pii-key").await.unwrap();
    assert_eq!(enc.kms_master_key_id.as_deref(), Some(pii_key.arn.as_str()));

    let configs = s.catalog.get_security_configurations(&a).await.unwrap();
    assert!(configs.iter().any(|c| c.name == "datalake-security-config"));
    let dbs = s.catalog.get_databases(&a).await.unwrap();
    assert!(
        dbs.iter()
            .any(|d| d.name == "lakeformation-glue-catalog-db")
    );
    let (crawler, run) = s.jobs.get_crawler(&a, "processed-crawler").await.unwrap();
    assert_eq!(crawler.database_name, "lakeformation-glue-catalog-db");
    assert!(run.is_some());

    let analyst = s
        .access
        .list_permissions(&a, Some("analyst"), None)
        .await
        .unwrap();
    let symbol_only = Resource::TableWithColumns {
        database_name: "lakeformation-glue-catalog-db".into(),
        name: "processed".into(),
        column_names: Some(vec!["symbol".into()]),
        column_wildcard: None,
    };
    assert!(
        analyst
            .iter()
            .any(|g| g.resource == symbol_only && g.permissions == [Permission::Select]),
        "{analyst:?}"
    );
    let scientist = s
        .access
        .list_permissions(&a, Some("data-scientist"), None)
        .await
        .unwrap();
    assert!(scientist.iter().any(|g| matches!(
        &g.resource,
        Resource::LfTagPolicy { expression, .. } if expression[0].tag_values == ["encrypted"]
    )));
    let tags = s
        .access
        .get_resource_lf_tags(&a, "pii_db", "masked_customers")
        .await
        .unwrap();
    assert!(tags[0].1.iter().any(|t| t.tag_value == "masked"));
}
