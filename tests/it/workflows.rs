//! Glue workflows and triggers on the local lake, driven through the CLI's commands: conditional
//! triggers chaining a crawler, a job and a crawler; a failing node stopping its successors and
//! the run saying why; AND against ANY; run properties (sealed at rest); schedules that fire once
//! per tick even with two lake handles; and a run whose process was killed, finished by another.

use std::io::Write;

use chrono::{Duration, Utc};
use lakectl::cli::Context;
use lakectl::service::jobs::CrawlerDefinition;
use lakectl::service::{Principal, Result};
use serde_json::Value;

use crate::common::*;

async fn cli(t: &TestLake, line: &str) -> Result<Value> {
    let cmd = lakectl::cli::parse_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    Context::new(&t.services, &admin()).execute(cmd).await
}

pub(crate) async fn ok(t: &TestLake, line: &str) -> Value {
    cli(t, line).await.unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// The seed's bucket `data` with JSON lines under raw/trades/, database `db`, configuration `sc`.
pub(crate) async fn workflow_lake() -> TestLake {
    let t = new_lake();
    seed(&t).await;
    ok(&t, "glue create-database --name db").await;
    ok(
        &t,
        "glue create-security-configuration --name sc --sse-kms-key-id alias/test",
    )
    .await;
    let mut lines = Vec::new();
    for i in 0..50 {
        writeln!(
            lines,
            r#"{{"symbol":"S{i}","qty":{i},"account":"A{}"}}"#,
            i % 7
        )
        .unwrap();
    }
    put(
        &t.services,
        &admin(),
        "data",
        "raw/trades/day1.json",
        &lines,
        kms("alias/test"),
    )
    .await
    .unwrap();
    t
}

pub(crate) async fn crawler(t: &TestLake, name: &str, target: &str) {
    let def = CrawlerDefinition {
        name: name.into(),
        database_name: "db".into(),
        targets: vec![target.into()],
        security_configuration: Some("sc".into()),
        update_behavior: "UPDATE_IN_DATABASE".into(),
        table_prefix: Some(format!("{name}_")),
        role: "admin".into(),
    };
    t.services.jobs.create_crawler(&admin(), def).await.unwrap();
}

pub(crate) async fn job(t: &TestLake, name: &str, source: &str, target: &str) {
    ok(
        t,
        &format!("glue create-job --name {name} --source {source} --target {target} --security-configuration sc"),
    )
    .await;
}

/// The node of a run's graph by type and name.
fn node<'a>(run: &'a Value, kind: &str, name: &str) -> &'a Value {
    run["Graph"]["Nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["Type"] == kind && n["Name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {run:#}"))
}

fn job_state<'a>(run: &'a Value, name: &str) -> &'a Value {
    &node(run, "JOB", name)["JobDetails"]["JobRuns"][0]["JobRunState"]
}

fn crawl_state<'a>(run: &'a Value, name: &str) -> &'a Value {
    &node(run, "CRAWLER", name)["CrawlerDetails"]["Crawls"][0]["State"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_triggers_run_a_crawler_then_a_job_then_a_crawler() {
    let t = workflow_lake().await;
    crawler(&t, "raw", "s3://data/raw/").await;
    job(&t, "to-processed", "s3://data/raw/", "s3://data/processed/").await;
    crawler(&t, "processed", "s3://data/processed/").await;
    ok(
        &t,
        "glue create-workflow --name pipeline --description 'crawl, process, crawl'",
    )
    .await;
    ok(&t, "glue create-trigger --name start --workflow-name pipeline --type ON_DEMAND --actions CrawlerName=raw").await;
    ok(&t, "glue create-trigger --name after-raw --workflow-name pipeline --type CONDITIONAL --start-on-creation --actions JobName=to-processed --predicate 'Logical=AND,Conditions=[{LogicalOperator=EQUALS,CrawlerName=raw,CrawlState=SUCCEEDED}]'").await;
    ok(&t, "glue create-trigger --name after-job --workflow-name pipeline --type CONDITIONAL --start-on-creation --actions CrawlerName=processed --predicate 'Logical=AND,Conditions=[{LogicalOperator=EQUALS,JobName=to-processed,State=SUCCEEDED}]'").await;

    // The definition's graph: 3 triggers, 3 nodes, trigger → node and node → trigger edges.
    let wf = ok(&t, "glue get-workflow --name pipeline --include-graph").await;
    let graph = &wf["Workflow"]["Graph"];
    assert_eq!(graph["Nodes"].as_array().unwrap().len(), 6, "{graph:#}");
    assert_eq!(graph["Edges"].as_array().unwrap().len(), 5, "{graph:#}");

    let run = ok(&t, "glue start-workflow-run --name pipeline --wait").await["Run"].clone();
    assert_eq!(run["Status"], "COMPLETED", "{run:#}");
    let stats = &run["Statistics"];
    assert_eq!(
        (
            stats["TotalActions"].as_u64(),
            stats["SucceededActions"].as_u64(),
            stats["FailedActions"].as_u64()
        ),
        (Some(3), Some(3), Some(0)),
        "{run:#}"
    );
    assert!(run.get("ErrorMessage").is_none(), "{run:#}");
    assert_eq!(crawl_state(&run, "raw"), "SUCCEEDED");
    assert_eq!(job_state(&run, "to-processed"), "SUCCEEDED");
    assert_eq!(crawl_state(&run, "processed"), "SUCCEEDED");
    // In order: each node started after the one it waited for ended.
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let raw_end = time(&node(&run, "CRAWLER", "raw")["CrawlerDetails"]["Crawls"][0]["CompletedOn"]);
    let job_run = &node(&run, "JOB", "to-processed")["JobDetails"]["JobRuns"][0];
    assert!(time(&job_run["StartedOn"]) >= raw_end);
    let processed_start =
        time(&node(&run, "CRAWLER", "processed")["CrawlerDetails"]["Crawls"][0]["StartedOn"]);
    assert!(processed_start >= time(&job_run["CompletedOn"]));
    // How long a successor waits: from its predecessor's end to its own start, and from the run's
    // start to its first node's.
    let first = time(&node(&run, "CRAWLER", "raw")["CrawlerDetails"]["Crawls"][0]["StartedOn"])
        - time(&run["StartedOn"]);
    let gaps = [
        time(&job_run["StartedOn"]) - raw_end,
        processed_start - time(&job_run["CompletedOn"]),
    ];
    eprintln!(
        "workflow latency: run start to first node {} ms; node end to successor start {} ms, {} ms",
        first.num_milliseconds(),
        gaps[0].num_milliseconds(),
        gaps[1].num_milliseconds()
    );
    for gap in gaps.iter().chain([&first]) {
        assert!(gap.num_milliseconds() < 5_000, "a successor waited {gap}");
    }
    // The job run carries its trigger and its workflow run.
    let id = run["WorkflowRunId"].as_str().unwrap();
    assert_eq!(job_run["TriggerName"], "after-raw");
    assert_eq!(job_run["WorkflowRunId"], id);
    let by_job = ok(&t, "glue get-job-runs --job-name to-processed").await;
    assert_eq!(by_job["JobRuns"][0]["WorkflowRunId"], id);
    // The crawls did their work: the raw table and the processed one are in the catalog.
    let tables = ok(&t, "glue get-tables --database db").await;
    let names: Vec<&str> = tables["TableList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"raw_trades") && names.contains(&"processed_processed"),
        "{names:?}"
    );
    // The run is listed, and is the workflow's last run.
    let runs = ok(&t, "glue get-workflow-runs --name pipeline").await;
    assert_eq!(runs["Runs"].as_array().unwrap().len(), 1);
    let wf = ok(&t, "glue get-workflow --name pipeline").await;
    assert_eq!(wf["Workflow"]["LastRun"]["WorkflowRunId"], id);
    let triggers = ok(&t, "glue get-triggers --dependent-job-name to-processed").await;
    assert_eq!(triggers["Triggers"].as_array().unwrap().len(), 1);
    assert_eq!(triggers["Triggers"][0]["Name"], "after-raw");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_node_stops_its_successors_and_the_run_says_why() {
    let t = workflow_lake().await;
    // Nothing lies under empty/: the job fails.
    job(&t, "bad", "s3://data/empty/", "s3://data/out/").await;
    crawler(&t, "after", "s3://data/out/").await;
    ok(&t, "glue create-workflow --name fragile").await;
    ok(&t, "glue create-trigger --name go --workflow-name fragile --type ON_DEMAND --actions JobName=bad").await;
    ok(&t, "glue create-trigger --name then --workflow-name fragile --type CONDITIONAL --actions CrawlerName=after --predicate 'Logical=AND,Conditions=[{LogicalOperator=EQUALS,JobName=bad,State=SUCCEEDED}]'").await;
    let id = ok(&t, "glue start-workflow-run --name fragile").await["RunId"]
        .as_str()
        .unwrap()
        .to_string();
    let run = eventually("the fragile run to end", || async {
        let run = ok(
            &t,
            &format!("glue get-workflow-run --name fragile --run-id {id} --include-graph"),
        )
        .await["Run"]
            .clone();
        (run["Status"] != "RUNNING").then_some(run)
    })
    .await;
    assert_eq!(run["Status"], "COMPLETED", "{run:#}");
    assert_eq!(run["Statistics"]["FailedActions"], 1, "{run:#}");
    assert_eq!(
        run["Statistics"]["TotalActions"], 1,
        "the successor never started: {run:#}"
    );
    assert!(
        run["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("JOB bad FAILED"),
        "{run:#}"
    );
    assert_eq!(job_state(&run, "bad"), "FAILED");
    let why = node(&run, "JOB", "bad")["JobDetails"]["JobRuns"][0]["ErrorMessage"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("no objects under"), "{why}");
    let after = node(&run, "CRAWLER", "after");
    assert!(after.get("CrawlerDetails").is_none(), "{after:#}");
    let reason = after["NotStartedReason"].as_str().unwrap();
    assert!(
        reason.contains("trigger then did not fire")
            && reason.contains("JOB bad SUCCEEDED (it ended FAILED)"),
        "{reason}"
    );
    let (_, last) = t
        .services
        .jobs
        .get_crawler(&admin(), "after")
        .await
        .unwrap();
    assert!(last.is_none(), "the crawler never ran");
    // `--wait` on such a run exits 255, as a failed job run does.
    let out = crate::cli::lakectl(&t.path())
        .args(["glue", "start-workflow-run", "--name", "fragile", "--wait"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(255),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn and_waits_for_every_condition_any_for_one() {
    let t = workflow_lake().await;
    job(&t, "good", "s3://data/raw/", "s3://data/good/").await;
    job(&t, "bad", "s3://data/empty/", "s3://data/bad/").await;
    crawler(&t, "c-and", "s3://data/good/").await;
    crawler(&t, "c-any", "s3://data/good/").await;
    ok(&t, "glue create-workflow --name both").await;
    ok(&t, "glue create-trigger --name go --workflow-name both --type ON_DEMAND --actions JobName=good JobName=bad").await;
    ok(&t, "glue create-trigger --name all --workflow-name both --type CONDITIONAL --actions CrawlerName=c-and --predicate 'Logical=AND,Conditions=[{LogicalOperator=EQUALS,JobName=good,State=SUCCEEDED},{LogicalOperator=EQUALS,JobName=bad,State=SUCCEEDED}]'").await;
    ok(&t, "glue create-trigger --name one --workflow-name both --type CONDITIONAL --actions CrawlerName=c-any --predicate '{\"Logical\":\"ANY\",\"Conditions\":[{\"LogicalOperator\":\"EQUALS\",\"JobName\":\"good\",\"State\":\"SUCCEEDED\"},{\"LogicalOperator\":\"EQUALS\",\"JobName\":\"bad\",\"State\":\"SUCCEEDED\"}]}'").await;
    let run = cli(&t, "glue start-workflow-run --name both --wait")
        .await
        .unwrap()["Run"]
        .clone();
    assert_eq!(job_state(&run, "good"), "SUCCEEDED", "{run:#}");
    assert_eq!(job_state(&run, "bad"), "FAILED");
    assert_eq!(
        crawl_state(&run, "c-any"),
        "SUCCEEDED",
        "ANY: one success is enough"
    );
    let and = node(&run, "CRAWLER", "c-and");
    assert!(
        and.get("CrawlerDetails").is_none(),
        "AND: one failure is enough to hold it: {and:#}"
    );
    assert!(
        and["NotStartedReason"]
            .as_str()
            .unwrap()
            .contains("all of JOB bad SUCCEEDED")
    );
    let fired = |name: &str| {
        node(&run, "TRIGGER", name)["TriggerDetails"]["Fired"]
            .as_bool()
            .unwrap()
    };
    assert!(fired("go") && fired("one") && !fired("all"));
    assert_eq!(run["Statistics"]["TotalActions"], 3);
    assert_eq!(run["Statistics"]["SucceededActions"], 2);
    // A stopped (DEACTIVATED) conditional trigger does not fire at all.
    ok(&t, "glue stop-trigger --name one").await;
    let run = cli(&t, "glue start-workflow-run --name both --wait")
        .await
        .unwrap()["Run"]
        .clone();
    assert!(
        node(&run, "CRAWLER", "c-any")["NotStartedReason"]
            .as_str()
            .unwrap()
            .contains("DEACTIVATED"),
        "{run:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_properties_merge_over_defaults_and_are_sealed_at_rest() {
    let t = workflow_lake().await;
    job(&t, "good", "s3://data/raw/", "s3://data/good/").await;
    ok(&t, "glue create-workflow --name props --default-run-properties region=eu,marker=default-marker-value").await;
    ok(&t, "glue create-trigger --name go --workflow-name props --type ON_DEMAND --actions JobName=good").await;
    let id = ok(
        &t,
        r#"glue start-workflow-run --name props --run-properties '{"marker":"run-marker-7f3a9"}'"#,
    )
    .await["RunId"]
        .as_str()
        .unwrap()
        .to_string();
    let props = ok(
        &t,
        &format!("glue get-workflow-run-properties --name props --run-id {id}"),
    )
    .await;
    assert_eq!(props["RunProperties"]["region"], "eu");
    assert_eq!(props["RunProperties"]["marker"], "run-marker-7f3a9");
    ok(&t, &format!("glue put-workflow-run-properties --name props --run-id {id} --run-properties stage=masked")).await;
    let props = ok(
        &t,
        &format!("glue get-workflow-run-properties --name props --run-id {id}"),
    )
    .await;
    assert_eq!(props["RunProperties"]["stage"], "masked");
    assert_eq!(props["RunProperties"].as_object().unwrap().len(), 3);
    let bad = cli(
        &t,
        "glue start-workflow-run --name props --run-properties 'a=[b'",
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code, lakectl::service::Code::ParamValidation);
    // The run's properties are not in the metadata store in the clear.
    eventually("the props run to end", || async {
        let r = ok(
            &t,
            &format!("glue get-workflow-run --name props --run-id {id}"),
        )
        .await;
        (r["Run"]["Status"] == "COMPLETED").then_some(())
    })
    .await;
    for f in files_under(&t.path()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(16).any(|w| w == b"run-marker-7f3a9"),
            "{} holds a run property in the clear",
            f.display()
        );
    }
    // Stopping a run that ended is refused with Glue's code.
    let e = cli(
        &t,
        &format!("glue stop-workflow-run --name props --run-id {id}"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.code,
        lakectl::service::Code::IllegalWorkflowStateException
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_fires_once_per_tick_even_with_two_servers() {
    let t = workflow_lake().await;
    job(&t, "good", "s3://data/raw/", "s3://data/good/").await;
    ok(&t, "glue create-workflow --name nightly").await;
    let bad = cli(&t, "glue create-trigger --name tick --workflow-name nightly --type SCHEDULED --schedule 'cron(61 * * * ? *)' --actions JobName=good").await.unwrap_err();
    assert_eq!(
        bad.code,
        lakectl::service::Code::InvalidInputException,
        "{bad}"
    );
    ok(&t, "glue create-trigger --name tick --workflow-name nightly --type SCHEDULED --schedule 'cron(* * * * ? *)' --start-on-creation --actions JobName=good").await;
    // A second lake handle stands for a second server on the same lake.
    let other =
        lakectl::local::Lake::open(lakectl::local::LakeDir::new(t.path()), PASSPHRASE).unwrap();
    let now = Utc::now();
    assert!(
        t.lake.fire_due_schedules(now).unwrap().is_empty(),
        "not due yet"
    );
    let next_minute = now + Duration::seconds(61);
    assert_eq!(
        t.lake.fire_due_schedules(next_minute).unwrap(),
        vec!["tick".to_string()]
    );
    assert!(
        other.fire_due_schedules(next_minute).unwrap().is_empty(),
        "the tick was claimed"
    );
    assert!(t.lake.fire_due_schedules(next_minute).unwrap().is_empty());
    assert_eq!(
        other
            .fire_due_schedules(now + Duration::seconds(121))
            .unwrap(),
        vec!["tick".to_string()]
    );
    let runs = eventually("both scheduled runs to end", || async {
        let runs = ok(&t, "glue get-workflow-runs --name nightly").await["Runs"].clone();
        let all = runs.as_array().unwrap();
        (all.len() == 2 && all.iter().all(|r| r["Status"] == "COMPLETED")).then_some(runs)
    })
    .await;
    assert_eq!(runs[0]["StartingTrigger"], "tick");
    assert_eq!(runs[0]["Statistics"]["SucceededActions"], 1, "{runs:#}");
    // A stopped schedule does not fire.
    ok(&t, "glue stop-trigger --name tick").await;
    assert!(
        t.lake
            .fire_due_schedules(now + Duration::days(1))
            .unwrap()
            .is_empty()
    );
    let trigger = ok(&t, "glue get-trigger --name tick").await;
    assert_eq!(trigger["Trigger"]["State"], "DEACTIVATED");
    assert_eq!(trigger["Trigger"]["Type"], "SCHEDULED");
    assert_eq!(trigger["Trigger"]["Schedule"], "cron(* * * * ? *)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definitions_are_checked_and_deleting_a_workflow_takes_its_triggers() {
    let t = workflow_lake().await;
    job(&t, "good", "s3://data/raw/", "s3://data/good/").await;
    ok(&t, "glue create-workflow --name w").await;
    for (line, code) in [
        (
            "glue create-trigger --name x --workflow-name w --type ON_DEMAND --actions JobName=nope",
            "EntityNotFoundException",
        ),
        (
            "glue create-trigger --name x --workflow-name w --type WHENEVER --actions JobName=good",
            "ParamValidation",
        ),
        (
            "glue create-trigger --name x --workflow-name w --type CONDITIONAL --actions JobName=good",
            "InvalidInputException",
        ),
        (
            "glue create-trigger --name x --workflow-name w --type CONDITIONAL --actions JobName=good --predicate 'Conditions=[{LogicalOperator=EQUALS,JobName=good,CrawlState=SUCCEEDED}]'",
            "InvalidInputException",
        ),
        (
            "glue create-trigger --name x --workflow-name w --type SCHEDULED --actions JobName=good",
            "InvalidInputException",
        ),
        (
            "glue create-trigger --name x --workflow-name nope --type ON_DEMAND --actions JobName=good",
            "EntityNotFoundException",
        ),
        (
            "glue create-trigger --name x --type EVENT --actions JobName=good",
            "InvalidInputException",
        ),
        ("glue create-workflow --name w", "AlreadyExistsException"),
        ("glue start-workflow-run --name w", "InvalidInputException"),
    ] {
        let e = cli(&t, line).await.unwrap_err();
        assert_eq!(e.code.as_str(), code, "{line}: {e}");
    }
    ok(
        &t,
        "glue create-trigger --name a --workflow-name w --type ON_DEMAND --actions JobName=good",
    )
    .await;
    let e = cli(
        &t,
        "glue create-trigger --name b --workflow-name w --type EVENT --actions JobName=good",
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("one starting trigger"), "{e}");
    assert_eq!(ok(&t, "glue list-workflows").await["Workflows"][0], "w");
    ok(&t, "glue delete-workflow --name w").await;
    assert_eq!(
        ok(&t, "glue list-workflows").await["Workflows"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let e = cli(&t, "glue get-trigger --name a").await.unwrap_err();
    assert_eq!(e.code.as_str(), "EntityNotFoundException");
    // A principal without glue:* on the workflow is refused, and the refusal is audited.
    t.services
        .iam
        .create_principal(&admin(), "nobody", false)
        .await
        .unwrap();
    let cmd = lakectl::cli::parse_line("glue list-workflows").unwrap();
    let e = Context::new(&t.services, &Principal::new("nobody"))
        .execute(cmd)
        .await
        .unwrap_err();
    assert_eq!(e.code.as_str(), "AccessDenied");
}

/// A run whose process is killed mid-run: readers report it ERROR, and a lake server's tick takes
/// it over and finishes it (the node that ran in the dead process is FAILED, so the trigger
/// waiting on that failure fires in the new process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_process_died_is_finished_by_a_server() {
    let t = workflow_lake().await;
    // Enough records that the job is still running when its process is killed.
    let mut lines = Vec::new();
    for i in 0..200_000 {
        writeln!(
            lines,
            r#"{{"symbol":"S{i}","qty":{i},"account":"A{}","note":"{}"}}"#,
            i % 7,
            "x".repeat(40)
        )
        .unwrap();
    }
    put(
        &t.services,
        &admin(),
        "data",
        "big/trades/all.json",
        &lines,
        kms("alias/test"),
    )
    .await
    .unwrap();
    job(&t, "slow", "s3://data/big/", "s3://data/slow/").await;
    crawler(&t, "on-failure", "s3://data/raw/").await;
    ok(&t, "glue create-workflow --name mortal").await;
    ok(&t, "glue create-trigger --name go --workflow-name mortal --type ON_DEMAND --actions JobName=slow").await;
    ok(&t, "glue create-trigger --name cleanup --workflow-name mortal --type CONDITIONAL --actions CrawlerName=on-failure --predicate 'Logical=ANY,Conditions=[{LogicalOperator=EQUALS,JobName=slow,State=FAILED}]'").await;
    let mut child = crate::cli::lakectl(&t.path())
        .args(["glue", "start-workflow-run", "--name", "mortal"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = eventually("the child's run to be running its job", || async {
        let runs = ok(&t, "glue get-workflow-runs --name mortal").await["Runs"].clone();
        let id = runs[0]["WorkflowRunId"].as_str()?.to_string();
        let run = ok(
            &t,
            &format!("glue get-workflow-run --name mortal --run-id {id} --include-graph"),
        )
        .await["Run"]
            .clone();
        (job_state(&run, "slow") == "RUNNING").then_some(id)
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let orphan = ok(
        &t,
        &format!("glue get-workflow-run --name mortal --run-id {id}"),
    )
    .await["Run"]
        .clone();
    assert_eq!(orphan["Status"], "ERROR", "{orphan:#}");
    assert!(
        orphan["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("ended before the run did")
    );
    t.lake.scheduler_tick(Utc::now());
    let run = eventually("the server to finish the run", || async {
        let run = ok(
            &t,
            &format!("glue get-workflow-run --name mortal --run-id {id} --include-graph"),
        )
        .await["Run"]
            .clone();
        (run["Status"] == "COMPLETED").then_some(run)
    })
    .await;
    assert_eq!(job_state(&run, "slow"), "FAILED", "{run:#}");
    assert!(
        node(&run, "JOB", "slow")["JobDetails"]["JobRuns"][0]["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("ended before the run did")
    );
    assert_eq!(crawl_state(&run, "on-failure"), "SUCCEEDED", "{run:#}");
    // Taken over once: a second tick finds nothing to take.
    t.lake.scheduler_tick(Utc::now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_at_its_max_concurrent_runs_refuses_another_until_one_ends() {
    let t = workflow_lake().await;
    job(&t, "to-processed", "s3://data/raw/", "s3://data/processed/").await;
    ok(
        &t,
        "glue create-workflow --name single --max-concurrent-runs 1",
    )
    .await;
    ok(&t, "glue create-trigger --name go --workflow-name single --type ON_DEMAND --actions JobName=to-processed").await;
    let id = ok(&t, "glue start-workflow-run --name single").await["RunId"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = cli(&t, "glue start-workflow-run --name single")
        .await
        .expect_err("a second run while the first is under way");
    assert_eq!(
        refused.code,
        lakectl::service::Code::ConcurrentRunsExceededException,
        "{refused}"
    );
    let wf = ok(&t, "glue get-workflow --name single").await;
    assert_eq!(wf["Workflow"]["MaxConcurrentRuns"], 1, "{wf}");
    eventually("the first run to end", || async {
        let run = ok(
            &t,
            &format!("glue get-workflow-run --name single --run-id {id}"),
        )
        .await["Run"]
            .clone();
        (run["Status"] != "RUNNING").then_some(())
    })
    .await;
    ok(&t, "glue start-workflow-run --name single --wait").await;
}
