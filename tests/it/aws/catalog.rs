//! Glue (catalog, security configurations, jobs and their scripts, crawlers), Lake Formation and
//! Athena on moto.

use aws_sdk_glue::types::{Column as GlueColumn, StorageDescriptor, TableInput};
use base64::Engine;
use lakectl::service::access::{ColumnWildcard, Grant, LfTag, Permission, Resource};
use lakectl::service::jobs::{CrawlerDefinition, JobDefinition, MaskRule, RunState};
use lakectl::service::query::{QueryState, WorkGroup};
use lakectl::service::storage::Sse;
use lakectl::service::{Code, Progress, Services};

use super::{ACCOUNT, REGION, aws, clients, key_and_bucket, moto_post, python, unique};
use crate::common::{admin, eventually, get, kms, put};

/// A key, a bucket under it with raw JSON in it, and a security configuration naming the key.
async fn lake(s: &Services) -> (String, String, String) {
    let a = admin();
    let (alias, bucket) = key_and_bucket(s, "lake").await;
    put(
        s,
        &a,
        &bucket,
        "raw/data.json",
        b"{\"symbol\":\"JPM\",\"trader\":\"t-1\"}\n",
        kms(&alias),
    )
    .await
    .unwrap();
    let config = unique("config");
    s.catalog
        .create_security_configuration(&a, &config, &alias)
        .await
        .unwrap();
    (alias, bucket, config)
}

async fn glue_table(database: &str, name: &str, location: &str) {
    let columns = ["symbol", "price"].map(|c| {
        GlueColumn::builder()
            .name(c)
            .r#type(if c == "price" { "double" } else { "string" })
            .build()
            .unwrap()
    });
    let input = TableInput::builder()
        .name(name)
        .storage_descriptor(
            StorageDescriptor::builder()
                .set_columns(Some(columns.to_vec()))
                .location(location)
                .build(),
        )
        .build()
        .unwrap();
    clients()
        .await
        .glue
        .create_table()
        .database_name(database)
        .table_input(input)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_reads_back_from_glue() {
    let s = aws().await;
    let a = admin();
    let db = unique("db");
    s.catalog
        .create_database(&a, &db, Some("the lake"))
        .await
        .unwrap();
    let dbs = s.catalog.get_databases(&a).await.unwrap();
    let mine = dbs.iter().find(|d| d.name == db).unwrap();
    assert_eq!(mine.description.as_deref(), Some("the lake"));

    glue_table(&db, "processed", "s3://lake/processed/").await;
    let tables = s.catalog.get_tables(&a, &db).await.unwrap();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].column_names(), ["symbol", "price"]);
    assert_eq!(
        tables[0].storage_descriptor.location,
        "s3://lake/processed/"
    );
    let table = s.catalog.get_table(&a, &db, "processed").await.unwrap();
    assert_eq!(table.storage_descriptor.columns[1].type_name, "double");

    s.catalog.delete_table(&a, &db, "processed").await.unwrap();
    let err = s.catalog.get_table(&a, &db, "processed").await.unwrap_err();
    assert_eq!(err.code, Code::EntityNotFoundException, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_configuration_puts_everything_under_the_key() {
    let s = aws().await;
    let (alias, _, config) = lake(&s).await;
    let key = s.keys.describe_key(&admin(), &alias).await.unwrap();
    let listed = s
        .catalog
        .get_security_configurations(&admin())
        .await
        .unwrap();
    let mine = listed.iter().find(|c| c.name == config).unwrap();
    assert_eq!(mine.kms_key_arn, key.arn);

    let sent = clients()
        .await
        .glue
        .get_security_configuration()
        .name(&config)
        .send()
        .await
        .unwrap();
    let enc = sent
        .security_configuration()
        .unwrap()
        .encryption_configuration()
        .unwrap();
    assert_eq!(
        enc.s3_encryption()[0]
            .s3_encryption_mode()
            .unwrap()
            .as_str(),
        "SSE-KMS"
    );
    assert_eq!(
        enc.cloud_watch_encryption().unwrap().kms_key_arn(),
        Some(key.arn.as_str())
    );
    assert_eq!(
        enc.job_bookmarks_encryption()
            .unwrap()
            .job_bookmarks_encryption_mode()
            .unwrap()
            .as_str(),
        "CSE-KMS"
    );
}

fn plan_of(script: &str) -> serde_json::Value {
    let b64 = script
        .split("base64.b64decode(\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the script carries its plan");
    let json = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    serde_json::from_slice(&json).unwrap()
}

fn run_python(code: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_a_generated_script_kept_encrypted_beside_it() {
    let s = aws().await;
    let a = admin();
    let (alias, bucket, config) = lake(&s).await;
    let key = s.keys.describe_key(&a, &alias).await.unwrap();
    let name = unique("job");
    let def = JobDefinition {
        name: name.clone(),
        source: format!("s3://{bucket}/raw/"),
        target: format!("s3://{bucket}/processed/"),
        dedup: true,
        security_configuration: Some(config.clone()),
        masks: vec![MaskRule {
            column: "trader".into(),
            operator: "tokenize".into(),
        }],
        from_findings: None,
        role: "glue-service-role".into(),
        timeout_minutes: Some(30),
        in_lakectl: false,
        type_consensus: None,
    };
    s.jobs.create_job(&a, def.clone()).await.unwrap();

    // The script: in the target bucket, encrypted under the job's key, valid Python, its plan
    // what the definition said.
    let script_key = format!("processed/_lakectl/glue/{name}.py");
    let head = s
        .storage
        .head_object(&a, &bucket, &script_key)
        .await
        .unwrap();
    assert_eq!(head.server_side_encryption, Sse::Kms);
    assert_eq!(head.sse_kms_key_id.as_deref(), Some(key.arn.as_str()));
    let script = String::from_utf8(get(&s, &a, &bucket, &script_key).await.unwrap()).unwrap();
    run_python(
        "import ast, sys; ast.parse(sys.stdin.read() if False else sys.argv[1])",
        &[&script],
    );
    let plan = plan_of(&script);
    assert_eq!(plan["dedup"], true);
    assert_eq!(plan["datasets"][0]["source"], format!("s3://{bucket}/raw/"));
    assert_eq!(
        plan["datasets"][0]["masks"],
        serde_json::json!([["trader", "tokenize"]])
    );
    assert_eq!(plan["kms_key_arn"], key.arn.as_str());
    let wrapped = plan["wrapped_mask_key"]
        .as_str()
        .expect("tokenize needs the masking key");

    // Glue has the job around the script, with the role and the configuration.
    let job = clients()
        .await
        .glue
        .get_job()
        .job_name(&name)
        .send()
        .await
        .unwrap();
    let job = job.job().unwrap();
    assert_eq!(
        job.command().unwrap().script_location(),
        Some(format!("s3://{bucket}/{script_key}").as_str())
    );
    assert_eq!(
        job.role(),
        Some(format!("arn:aws:iam::{ACCOUNT}:role/glue-service-role").as_str())
    );
    assert_eq!(job.security_configuration(), Some(config.as_str()));
    let listed = s.jobs.get_jobs(&a).await.unwrap();
    let back = listed.iter().find(|j| j.name == name).unwrap();
    assert_eq!(back.masks, def.masks);
    assert_eq!(back.target, def.target);

    // A token the script makes opens with lakectl's detokenize, for a caller KMS lets decrypt
    // the masking key (the key the plan carries, kept in a tag on the output key).
    let data_key = clients()
        .await
        .kms
        .decrypt()
        .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(
            base64::engine::general_purpose::STANDARD
                .decode(wrapped)
                .unwrap(),
        ))
        .send()
        .await
        .unwrap();
    let hex_key = hex::encode(data_key.plaintext().unwrap().as_ref());
    let prelude = script
        .split("# Everything above runs without Spark")
        .next()
        .unwrap();
    let token = run_python(
        &format!(
            "{prelude}\nimport sys\nh, t = derive_keys(bytes.fromhex(sys.argv[1]))\nprint(tokenize_value(t, '4111 1111 1111 1111'))"
        ),
        &[&hex_key],
    );
    assert!(token.starts_with("tok1."), "{token}");
    let opened = s
        .keys
        .detokenize(&a, &alias, &[token, "tok1.AAAA".into()])
        .await
        .unwrap();
    assert_eq!(opened, vec![Some("4111 1111 1111 1111".to_string()), None]);

    // A run: Glue's states, and the counts the script writes back. moto runs no script, so the
    // test writes them, but where and under which names the generated script would: at its
    // plan's metrics prefix, the keys of its own `metrics` dict (each a different count).
    let id = s
        .jobs
        .start_job_run(&a, &name, Progress::default())
        .await
        .unwrap();
    let prefix = plan["metrics"]
        .as_str()
        .expect("the plan says where counts go");
    let metrics_key = format!("{id}.json");
    let metrics_key = prefix
        .strip_prefix(&format!("s3://{bucket}/"))
        .map(|p| format!("{p}{metrics_key}"))
        .expect("counts go beside the output");
    let dict = script
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with("metrics = {"))
        .expect("the script keeps its counts in one dict");
    let counts = run_python(
        &format!(
            "import json\n{dict}\nprint(json.dumps({{k: 10 + i for i, k in enumerate(metrics)}}))"
        ),
        &[],
    );
    put(
        &s,
        &a,
        &bucket,
        &metrics_key,
        counts.as_bytes(),
        kms(&alias),
    )
    .await
    .unwrap();
    // Another run's counts beside them are not this run's.
    put(
        &s,
        &a,
        &bucket,
        &metrics_key.replace(&id, "jr_other"),
        br#"{"RecordsRead":99}"#,
        kms(&alias),
    )
    .await
    .unwrap();
    let run = eventually("the job run to finish", || async {
        let run = s.jobs.get_job_run(&a, &name, &id).await.unwrap();
        run.job_run_state.is_finished().then_some(run)
    })
    .await;
    assert_eq!(run.job_run_state, RunState::Succeeded);
    // Every count the script writes is read back under its own name.
    assert_eq!(
        (
            run.metrics.records_read,
            run.metrics.records_written,
            run.metrics.duplicates,
            run.metrics.quarantined
        ),
        (10, 11, 12, 13),
        "{counts}"
    );
    assert!(
        s.jobs
            .get_job_runs(&a, &name)
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == id)
    );
    let err = s.jobs.get_job_run_log(&a, &name, &id).await.unwrap_err();
    assert_eq!(err.code, Code::UnsupportedOperationException);
    assert!(err.message.contains("/aws-glue/jobs/output"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashing_without_a_security_configuration_is_refused() {
    let s = aws().await;
    let (_, bucket, _) = lake(&s).await;
    let def = JobDefinition {
        name: unique("nokey"),
        source: format!("s3://{bucket}/raw/"),
        target: format!("s3://{bucket}/out/"),
        dedup: false,
        security_configuration: None,
        masks: vec![MaskRule {
            column: "trader".into(),
            operator: "hash".into(),
        }],
        from_findings: None,
        role: "r".into(),
        timeout_minutes: None,
        in_lakectl: false,
        type_consensus: None,
    };
    let err = s.jobs.create_job(&admin(), def).await.unwrap_err();
    assert_eq!(err.code, Code::ValidationException);
    assert!(
        err.message.contains("security configuration"),
        "{}",
        err.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawlers_run_on_glue_and_read_back() {
    let s = aws().await;
    let a = admin();
    let (_, bucket, config) = lake(&s).await;
    let db = unique("crawled");
    s.catalog.create_database(&a, &db, None).await.unwrap();
    let name = unique("crawler");
    let def = CrawlerDefinition {
        name: name.clone(),
        database_name: db.clone(),
        targets: vec![format!("s3://{bucket}/processed/")],
        security_configuration: Some(config.clone()),
        update_behavior: "UPDATE_IN_DATABASE".into(),
        table_prefix: Some("p_".into()),
        role: "glue-service-role".into(),
    };
    s.jobs.create_crawler(&a, def).await.unwrap();
    let (back, last) = s.jobs.get_crawler(&a, &name).await.unwrap();
    assert!(last.is_none());
    assert_eq!(back.targets, [format!("s3://{bucket}/processed/")]);
    assert_eq!(back.table_prefix.as_deref(), Some("p_"));
    assert_eq!(
        back.security_configuration.as_deref(),
        Some(config.as_str())
    );
    assert_eq!(
        back.role,
        format!("arn:aws:iam::{ACCOUNT}:role/glue-service-role")
    );

    s.jobs
        .start_crawler(&a, &name, Progress::default())
        .await
        .unwrap();
    let run = eventually("the crawl to finish", || async {
        let (_, last) = s.jobs.get_crawler(&a, &name).await.unwrap();
        last.filter(|l| l.state.is_finished())
    })
    .await;
    assert_eq!(run.state, RunState::Succeeded);
    assert!(
        s.jobs
            .get_crawlers(&a)
            .await
            .unwrap()
            .iter()
            .any(|(d, _)| d.name == name)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lake_formation_grants_tags_and_locations_read_back() {
    let s = aws().await;
    let a = admin();
    let (_, bucket, _) = lake(&s).await;
    let db = unique("lfdb");
    s.catalog.create_database(&a, &db, None).await.unwrap();
    glue_table(&db, "processed", &format!("s3://{bucket}/processed/")).await;

    s.access
        .register_resource(
            &a,
            &format!("s3://{bucket}/processed/"),
            "lakeformation-service-role",
        )
        .await
        .unwrap();
    let resources = s.access.list_resources(&a).await.unwrap();
    let mine = resources
        .iter()
        .find(|r| r.resource_arn == format!("arn:aws:s3:::{bucket}/processed"))
        .unwrap();
    assert_eq!(
        mine.role_arn,
        format!("arn:aws:iam::{ACCOUNT}:role/lakeformation-service-role")
    );

    let analyst = unique("analyst");
    let columns = Resource::TableWithColumns {
        database_name: db.clone(),
        name: "processed".into(),
        column_names: Some(vec!["symbol".into()]),
        column_wildcard: None,
    };
    s.access
        .grant_permissions(
            &a,
            Grant::new(&analyst, columns.clone(), vec![Permission::Select]),
        )
        .await
        .unwrap();
    let all_but = Resource::TableWithColumns {
        database_name: db.clone(),
        name: "processed".into(),
        column_names: None,
        column_wildcard: Some(ColumnWildcard {
            excluded_column_names: vec!["price".into()],
        }),
    };
    let mut with_option = Grant::new(&analyst, all_but.clone(), vec![Permission::Select]);
    with_option.permissions_with_grant_option = vec![Permission::Select];
    s.access.grant_permissions(&a, with_option).await.unwrap();

    let key = unique("data");
    s.access
        .create_lf_tag(&a, &key, &["raw".into(), "masked".into()])
        .await
        .unwrap();
    assert!(
        s.access
            .list_lf_tags(&a)
            .await
            .unwrap()
            .iter()
            .any(|t| t.tag_key == key && t.tag_values == ["raw", "masked"])
    );
    s.access
        .add_lf_tags_to_resource(
            &a,
            &db,
            Some("processed"),
            &[],
            &[(key.clone(), "masked".into())],
        )
        .await
        .unwrap();
    let tags = s
        .access
        .get_resource_lf_tags(&a, &db, "processed")
        .await
        .unwrap();
    assert!(
        tags[0]
            .1
            .iter()
            .any(|t| t.tag_key == key && t.tag_value == "masked"),
        "{tags:?}"
    );
    let by_tag = Resource::LfTagPolicy {
        resource_type: "TABLE".into(),
        expression: vec![LfTag {
            tag_key: key.clone(),
            tag_values: vec!["masked".into()],
        }],
    };
    s.access
        .grant_permissions(
            &a,
            Grant::new(
                &analyst,
                by_tag.clone(),
                vec![Permission::Select, Permission::Describe],
            ),
        )
        .await
        .unwrap();

    let arn = format!("arn:aws:iam::{ACCOUNT}:user/{analyst}");
    let held = s
        .access
        .list_permissions(&a, Some(&analyst), None)
        .await
        .unwrap();
    assert!(held.iter().all(|g| g.principal() == arn));
    let find = |r: &Resource| held.iter().find(|g| &g.resource == r).cloned();
    assert_eq!(find(&columns).unwrap().permissions, [Permission::Select]);
    assert_eq!(
        find(&all_but).unwrap().permissions_with_grant_option,
        [Permission::Select]
    );
    assert!(
        find(&by_tag)
            .unwrap()
            .permissions
            .contains(&Permission::Describe)
    );

    s.access
        .revoke_permissions(
            &a,
            Grant::new(&analyst, columns.clone(), vec![Permission::Select]),
        )
        .await
        .unwrap();
    let held = s
        .access
        .list_permissions(&a, Some(&analyst), None)
        .await
        .unwrap();
    assert!(held.iter().all(|g| g.resource != columns));

    // The data lake admins: the caller stays one, the rest reads back as ARNs.
    let err = s
        .access
        .put_data_lake_admins(&a, std::slice::from_ref(&analyst))
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidInputException);
    s.access
        .put_data_lake_admins(&a, &["moto".into(), analyst.clone()])
        .await
        .unwrap();
    let admins: Vec<String> = s
        .access
        .get_data_lake_settings(&a)
        .await
        .unwrap()
        .data_lake_admins
        .into_iter()
        .map(|p| p.data_lake_principal_identifier)
        .collect();
    assert_eq!(
        admins,
        [format!("arn:aws:iam::{ACCOUNT}:user/moto"), arn.clone()]
    );
}

/// One page only: moto does not page query results (`aws::mocked` reads across Athena's pages).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn athena_queries_run_in_encrypted_work_groups_and_return_their_rows() {
    let s = aws().await;
    let a = admin();
    let (alias, bucket, _) = lake(&s).await;
    let key = s.keys.describe_key(&a, &alias).await.unwrap();
    let group = unique("wg");
    s.query
        .create_work_group(
            &a,
            WorkGroup::new(
                group.clone(),
                format!("s3://{bucket}/results/"),
                Some(alias.clone()),
            ),
        )
        .await
        .unwrap();
    let groups = s.query.list_work_groups(&a).await.unwrap();
    let mine = groups.iter().find(|g| g.name == group).unwrap();
    assert_eq!(mine.output_location, format!("s3://{bucket}/results/"));
    assert_eq!(mine.kms_key.as_deref(), Some(key.arn.as_str()));
    let sent = clients()
        .await
        .athena
        .get_work_group()
        .work_group(&group)
        .send()
        .await
        .unwrap();
    let config = sent.work_group().unwrap().configuration().unwrap();
    assert_eq!(config.enforce_work_group_configuration(), Some(true));
    assert_eq!(
        config
            .result_configuration()
            .unwrap()
            .encryption_configuration()
            .unwrap()
            .encryption_option()
            .as_str(),
        "SSE_KMS"
    );

    // Athena computes the rows; moto is told them, header row first, as Athena sends it.
    let cell = |v: &str| serde_json::json!({"VarCharValue": v});
    moto_post(
        "/moto-api/static/athena/query-results",
        &serde_json::json!({
            "account_id": ACCOUNT,
            "region": super::REGION,
            "results": [{
                "rows": [{"Data": [cell("symbol")]}, {"Data": [cell("JPM")]}, {"Data": [cell("NFLX")]}],
                "column_info": [{"Name": "symbol", "Type": "varchar", "CatalogName": "c", "SchemaName": "s", "TableName": "t", "Label": "symbol", "Precision": 0, "Scale": 0, "Nullable": "NULLABLE", "CaseSensitive": true}],
            }],
        }),
    );
    let id = s
        .query
        .start_query_execution(
            &a,
            "SELECT symbol FROM processed",
            Some(&group),
            Some("lakedb"),
        )
        .await
        .unwrap();
    let execution = s.query.get_query_execution(&a, &id).await.unwrap();
    assert_eq!(execution.status.state, QueryState::Succeeded);
    assert_eq!(execution.query, "SELECT symbol FROM processed");
    assert_eq!(execution.database.as_deref(), Some("lakedb"));
    let page = s.query.get_query_results(&a, &id, None, 100).await.unwrap();
    assert_eq!(page.columns[0].name, "symbol");
    assert_eq!(
        page.rows,
        vec![
            vec![Some("JPM".to_string())],
            vec![Some("NFLX".to_string())]
        ]
    );
    assert!(
        s.query
            .list_query_executions(&a, Some(&group))
            .await
            .unwrap()
            .contains(&id)
    );
    s.query.stop_query_execution(&a, &id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_works_out_from_lake_formation_what_a_principal_sees() {
    let s = aws().await;
    let a = admin();
    let (alias, bucket, _) = lake(&s).await;
    let key = s.keys.describe_key(&a, &alias).await.unwrap();
    let db = unique("explained");
    s.catalog.create_database(&a, &db, None).await.unwrap();
    let location = format!("s3://{bucket}/processed/");
    glue_table(&db, "processed", &location).await;
    put(
        &s,
        &a,
        &bucket,
        "processed/part-0.parquet",
        b"PAR1",
        kms(&alias),
    )
    .await
    .unwrap();
    s.access
        .register_resource(&a, &location, "lakeformation-service-role")
        .await
        .unwrap();
    let analyst = unique("analyst");
    let symbol = Resource::TableWithColumns {
        database_name: db.clone(),
        name: "processed".into(),
        column_names: Some(vec!["symbol".into()]),
        column_wildcard: None,
    };
    s.access
        .grant_permissions(&a, Grant::new(&analyst, symbol, vec![Permission::Select]))
        .await
        .unwrap();

    let e = s
        .access
        .explain(&a, &analyst, &db, "processed")
        .await
        .unwrap();
    let by_column = |c: &str| e.columns.iter().find(|d| d.column == c).unwrap().clone();
    assert!(by_column("symbol").visible);
    assert_eq!(
        by_column("symbol").decided_by,
        [format!("SELECT on {db}.processed (symbol)")]
    );
    assert!(!by_column("price").visible);
    assert_eq!(
        by_column("price").decided_by,
        [format!("no grant of {analyst} includes price")]
    );
    assert_eq!(e.row_filter, None);
    assert_eq!(
        e.data_read_as,
        format!("arn:aws:iam::{ACCOUNT}:role/lakeformation-service-role")
    );
    assert_eq!(e.keys.len(), 1);
    assert_eq!(e.keys[0].key_id, key.arn);
    assert_eq!(e.keys[0].alias.as_deref(), Some(alias.as_str()));
    assert!(e.keys[0].usable);
    // What IAM decides for a query is asked of AWS's policy simulator; each need is listed.
    let actions: Vec<&str> = e.iam_decisions.iter().map(|d| d.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "athena:StartQueryExecution",
            "glue:GetTable",
            "lakeformation:GetDataAccess"
        ]
    );
    assert_eq!(
        e.iam_decisions[1].resource,
        format!("arn:aws:glue:{REGION}:{ACCOUNT}:table/{db}/processed")
    );
    // moto has no policy simulator: explain says the decision is not known, never a guess.
    for d in &e.iam_decisions {
        assert!(!d.allowed && d.decided_by.starts_with("not known"), "{d:?}");
    }
}
