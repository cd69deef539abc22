//! The security walk: every command of `lakectl --help`, found by walking clap's command tree
//! (so a new command is walked without anyone adding it here), run on the demo lake as a
//! principal with no policies and no grants, then with ReadOnlyAccess, then as the personas the
//! seeds give policies to. Only the commands in PUBLIC may answer the first; with the second,
//! every command that changes the lake must be refused; the personas' work must still run.

use clap::CommandFactory;
use lakectl::cli::Context;
use lakectl::cli::commands::CommandLine;
use lakectl::service::{Code, Principal};

use crate::common::{TestLake, admin};
use crate::query::demo_lake;

/// Commands that are not service calls: `init` and `demo` create a lake and are refused inside
/// one (the executor answers InvalidArgument before any service is asked). And `sts
/// get-caller-identity`, which STS answers every caller about itself without a policy (it
/// tells the caller only its own name and the account).
const PUBLIC: &[&str] = &["init", "demo", "sts get-caller-identity"];

/// Optional arguments without which a command answers before asking the lake (nothing to
/// stop, no encryption named), so the walk would not reach the authorizer.
const EXTRA: &[(&str, &[&str])] = &[
    ("s3api put-bucket-encryption", &["--sse", "AES256"]),
    ("glue batch-stop-job-run", &["--job-run-ids", "jr_0"]),
];

/// An answer that tells nothing: empty lists, empty objects, nulls.
fn uninformative(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Array(a) => a.iter().all(uninformative),
        serde_json::Value::Object(o) => o.values().all(uninformative),
        _ => false,
    }
}

/// A batch call's answer (`BatchStopJobRun`) that refused every item, as AWS refuses them.
fn refused_in_batch(v: &serde_json::Value) -> bool {
    let errors = v["Errors"].as_array();
    v["SuccessfulSubmissions"]
        .as_array()
        .is_some_and(|a| a.is_empty())
        && errors.is_some_and(|e| {
            !e.is_empty()
                && e.iter()
                    .all(|x| x["ErrorDetail"]["ErrorCode"] == "AccessDenied")
        })
}

/// A value for a required argument, by its name: real names from the demo lake where they
/// exist, so a refusal is not "no such thing".
fn value_for(id: &str, path: &[String], scratch: &std::path::Path) -> String {
    let local = |name: &str| scratch.join(name).display().to_string();
    match id {
        "bucket" => "secure-datalake".into(),
        "key" => "raw/data.json".into(),
        "key_id" => "alias/datalake-key".into(),
        "alias" | "alias_name" => "alias/new-alias".into(),
        "target_key_id" => "alias/datalake-key".into(),
        "job_name" => "raw-to-processed".into(),
        "actions" => "JobName=raw-to-processed".into(),
        "trigger_type" => "ON_DEMAND".into(),
        "run_properties" => "stage=raw".into(),
        "run_id" | "job_run_id" => "jr_0".into(),
        "database" | "database_name" => "lakeformation-glue-catalog-db".into(),
        "table" | "filter_table" => "lakeformation-glue-catalog-db.processed".into(),
        "principal" => "nobody".into(),
        "user_name" => "analyst".into(),
        "policy_name" => "lake-user".into(),
        "policy_arn" => "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        "policy" => r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::secure-datalake/*"}]}"#.into(),
        "resource_policy" => r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#.into(),
        "policy_document" => r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.into(),
        "query_execution_id" | "query_execution_ids" => "00000000-0000-0000-0000-000000000000".into(),
        "query_string" => "SELECT 1".into(),
        "permissions" => "SELECT".into(),
        "operations" => "Decrypt".into(),
        "columns" => "symbol".into(),
        "lf_tags" | "lf_tag_expression" => "data=raw".into(),
        "values" => "a,b".into(),
        "row_filter" => "symbol = 'x'".into(),
        "output_location" | "target" => "s3://secure-datalake/out/".into(),
        "source" if path[0] == "s3" => "s3://secure-datalake/raw/data.json".into(),
        "source" => "s3://secure-datalake/raw/".into(),
        "destination" | "outfile" => local("download"),
        "body" => {
            std::fs::write(scratch.join("body"), b"x").unwrap();
            local("body")
        }
        "path" | "uri" => "s3://secure-datalake/".into(),
        "resource_arn" | "data_location" => "s3://secure-datalake/processed/".into(),
        "role_arn" | "role" => "glue-service-role".into(),
        "tokens" | "token" => "tok".into(),
        "tags" => "TagKey=k,TagValue=v".into(),
        "finding_id" | "finding_ids" | "job_id" => "f0".into(),
        "admins" => "nobody".into(),
        "regex" => "x".into(),
        "part_number" => "1".into(),
        "endpoint_type" => "source".into(),
        "engine_name" => "postgres".into(),
        "migration_type" => "full-load".into(),
        "start_replication_task_type" => "start-replication".into(),
        "table_mappings" => r#"{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"%","table-name":"%"},"rule-action":"include"}]}"#.into(),
        "event_pattern" => r#"{"source":["aws.s3"]}"#.into(),
        "event" => r#"{"id":"1","account":"1","source":"aws.s3","time":"t","region":"local","detail-type":"Object Created","detail":{}}"#.into(),
        "targets" => "Id=t,Arn=arn:aws:glue:local:000000000000:crawler/x".into(),
        "s3_destination_configuration" => "BucketARN=arn:aws:s3:::secure-datalake".into(),
        "multipart_upload" => r#"{"Parts":[{"ETag":"\"0\"","PartNumber":1}]}"#.into(),
        _ => "x".into(),
    }
}

/// Every leaf command, as the words that run it with its required arguments filled in.
fn every_command(scratch: &std::path::Path) -> Vec<Vec<String>> {
    fn walk(
        cmd: &clap::Command,
        path: Vec<String>,
        scratch: &std::path::Path,
        out: &mut Vec<Vec<String>>,
    ) {
        if cmd.has_subcommands() {
            for sub in cmd.get_subcommands() {
                let mut p = path.clone();
                p.push(sub.get_name().to_string());
                walk(sub, p, scratch, out);
            }
            return;
        }
        let mut words = path.clone();
        // Required arguments, and the first of each required group (`--table` of "one of
        // --catalog, --database, --table, ...").
        let group_firsts: Vec<&str> = cmd
            .get_groups()
            .filter(|g| g.is_required_set())
            .filter_map(|g| g.get_args().next().map(|a| a.as_str()))
            .collect();
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            let needed = arg.is_required_set() || group_firsts.contains(&id);
            if !needed || id == "help" {
                continue;
            }
            if let Some(long) = arg.get_long() {
                words.push(format!("--{long}"));
            }
            if !arg.get_action().takes_values() {
                continue;
            }
            words.push(match arg.get_possible_values().first() {
                Some(v) => v.get_name().to_string(),
                None => value_for(id, &path, scratch),
            });
        }
        let name = path.join(" ");
        for (command, extra) in EXTRA {
            if *command == name {
                words.extend(extra.iter().map(|w| w.to_string()));
            }
        }
        out.push(words);
    }
    let mut out = Vec::new();
    walk(&CommandLine::command(), Vec::new(), scratch, &mut out);
    out.into_iter().map(|w| complete(w, scratch)).collect()
}

/// Adds the arguments clap still asks for (those required unless another is present).
fn complete(mut words: Vec<String>, scratch: &std::path::Path) -> Vec<String> {
    for _ in 0..5 {
        let err = match lakectl::cli::parse_line(&shell_words::join(&words)) {
            Ok(_) => return words,
            Err(e) => e,
        };
        let missing = err
            .lines()
            .skip_while(|l| !l.contains("were not provided"))
            .nth(1)
            .and_then(|l| {
                l.split_whitespace()
                    .find(|w| w.trim_start_matches('<').starts_with("--"))
            })
            .map(|w| w.trim_start_matches('<').to_string());
        let Some(flag) = missing else {
            panic!("{words:?}: {err}");
        };
        let id = flag.trim_start_matches("--").replace('-', "_");
        let value = value_for(&id, &words[..1], scratch);
        words.push(flag);
        words.push(value);
    }
    words
}

async fn run(
    t: &TestLake,
    who: &Principal,
    words: &[String],
) -> lakectl::service::Result<serde_json::Value> {
    let line = shell_words::join(words);
    let cmd = lakectl::cli::parse_line(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
    Context::new(&t.services, who).execute(cmd).await
}

fn is_public(words: &[String]) -> bool {
    PUBLIC.contains(&words[0].as_str()) || PUBLIC.contains(&words.join(" ").as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_refuses_a_principal_with_no_policy_then_read_only_changes_nothing() {
    let t = demo_lake().await;
    let a = admin();
    t.services
        .iam
        .create_principal(&a, "nobody", false)
        .await
        .unwrap();
    let nobody = Principal::new("nobody");
    let scratch = tempfile::tempdir().unwrap();
    let commands = every_command(scratch.path());
    assert!(
        commands.len() > 60,
        "the walk found {} commands",
        commands.len()
    );
    eprintln!("the security walk runs {} commands", commands.len());

    // 1. No policy, no grant: every command is refused (AccessDenied, exit 254).
    let mut answered = Vec::new();
    for words in &commands {
        if is_public(words) {
            continue;
        }
        match run(&t, &nobody, words).await {
            Err(e) if e.code == Code::AccessDenied => {
                assert_eq!(e.code.exit_code(), 254);
                assert!(
                    e.message.contains("arn:aws:iam::") && e.message.contains("nobody"),
                    "{words:?}: the refusal names the caller: {}",
                    e.message
                );
            }
            Ok(v) if uninformative(&v) || refused_in_batch(&v) => {}
            other => answered.push(format!("{}: {other:?}", words.join(" "))),
        }
    }
    assert!(
        answered.is_empty(),
        "answered a principal with no policy:\n{}",
        answered.join("\n")
    );
    assert!(
        !std::fs::exists(scratch.path().join("download")).unwrap(),
        "a refused download wrote a file"
    );

    // 2. ReadOnlyAccess: reads are allowed, every change is refused.
    t.services
        .iam
        .attach_user_policy(&a, "nobody", "arn:aws:iam::aws:policy/ReadOnlyAccess")
        .await
        .unwrap();
    let mut changed = Vec::new();
    for words in &commands {
        if is_public(words) {
            continue;
        }
        let line = shell_words::join(words);
        let changes = lakectl::cli::parse_line(&line).unwrap().changes_anything();
        let outcome = run(&t, &nobody, words).await;
        let refused = match &outcome {
            Err(e) => e.code == Code::AccessDenied,
            Ok(v) => refused_in_batch(v),
        };
        if changes && !refused {
            changed.push(format!("{line}: {outcome:?}"));
        }
    }
    assert!(
        changed.is_empty(),
        "ReadOnlyAccess let these change the lake:\n{}",
        changed.join("\n")
    );
    for read in [
        "glue get-databases",
        "glue get-crawlers",
        "glue get-jobs",
        "kms list-keys",
        "kms list-aliases",
        "athena list-work-groups",
        "iam list-principals",
        "s3 ls",
    ] {
        let cmd = lakectl::cli::parse_line(read).unwrap();
        Context::new(&t.services, &nobody)
            .execute(cmd)
            .await
            .unwrap_or_else(|e| panic!("ReadOnlyAccess may {read}: {e}"));
    }
    // Lake Formation still filters the catalog: no grant, no database.
    let dbs = t.services.catalog.get_databases(&nobody).await.unwrap();
    assert!(dbs.is_empty(), "{dbs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_personas_policies_let_them_do_their_work_and_nothing_more() {
    let t = demo_lake().await;
    let table = "\"lakeformation-glue-catalog-db\".processed";
    let work: &[(&str, Vec<String>)] = &[
        (
            "analyst",
            vec![
                format!("athena start-query-execution --query-string 'SELECT symbol FROM {table} LIMIT 3' --wait"),
                "glue get-tables --database lakeformation-glue-catalog-db".into(),
                "lakeformation explain --principal analyst --table lakeformation-glue-catalog-db.processed".into(),
                "lakeformation list-permissions".into(),
                "s3 ls".into(),
            ],
        ),
        (
            "business-analyst",
            vec![
                "athena start-query-execution --query-string 'SELECT * FROM pii_db.masked_bank LIMIT 3' --wait".into(),
                "glue get-tables --database pii_db".into(),
                "lakeformation explain --principal business-analyst --table pii_db.masked_customers".into(),
            ],
        ),
        (
            "data-scientist",
            vec![
                "athena start-query-execution --query-string 'SELECT * FROM pii_db.encrypted_customers LIMIT 3' --wait".into(),
                "glue get-databases".into(),
            ],
        ),
    ];
    for (who, lines) in work {
        let by = Principal::new(*who);
        for line in lines {
            let cmd = lakectl::cli::parse_line(line).unwrap();
            let out = Context::new(&t.services, &by)
                .execute(cmd)
                .await
                .unwrap_or_else(|e| panic!("{who}: {line}: {e}"));
            if line.contains("--wait") {
                assert_eq!(
                    out["QueryExecution"]["Status"]["State"], "SUCCEEDED",
                    "{who}: {line}: {out}"
                );
            }
        }
        // And nothing of the control plane.
        for line in [
            "kms create-key",
            "s3 mb s3://mine",
            "glue get-crawlers",
            "iam create-principal --name sidekick",
            "iam attach-user-policy --user-name analyst --policy-arn AdministratorAccess",
            "lakeformation put-data-lake-settings --admins analyst",
        ] {
            let cmd = lakectl::cli::parse_line(line).unwrap();
            let e = Context::new(&t.services, &by)
                .execute(cmd)
                .await
                .unwrap_err();
            assert_eq!(e.code, Code::AccessDenied, "{who}: {line}: {e}");
        }
    }
}
