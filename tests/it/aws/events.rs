//! EventBridge on moto through the commands a user types: rules and targets round trip (what
//! reached EventBridge read back with the SDK), a Glue workflow target carries the role
//! EventBridge acts as, targets AWS cannot have come back as failed entries saying what to do
//! instead, and what lakectl does not manage on AWS (delivery streams, the failed list) says
//! where it is. The Runs pane lists a rule from AWS without pretending to know its deliveries.

use crossterm::event::KeyCode;
use lakectl::cli::{Context, parse_line};
use lakectl::service::{Code, Result, Services};
use lakectl::tui::{App, Options};
use serde_json::Value;

use super::{ACCOUNT, REGION, aws, clients, unique};
use crate::common::{admin, settle};
use crate::console::{press, screen};

const EVENTS_ROLE: &str = "arn:aws:iam::123456789012:role/events-start-workflow";
const PATTERN: &str = r#"{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"object":{"key":[{"prefix":"raw/"}]}}}"#;

async fn run(s: &Services, line: &str) -> Result<Value> {
    let a = admin();
    let ctx = Context::new(s, &a);
    let cmd = parse_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    ctx.run(cmd).await.map(|r| r.value)
}

fn quoted(json: &str) -> String {
    format!("'{json}'")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_targets_round_trip_through_eventbridge() {
    let s = aws().await;
    let rule = unique("raw-arrivals");
    let put = run(
        &s,
        &format!(
            "events put-rule --name {rule} --event-pattern {} --description 'new raw data'",
            quoted(PATTERN)
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        put["RuleArn"],
        format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}")
    );
    let described = run(&s, &format!("events describe-rule --name {rule}"))
        .await
        .unwrap();
    assert_eq!(described["State"], "ENABLED");
    assert_eq!(described["Description"], "new raw data");
    assert_eq!(described["EventBusName"], "default");
    let sent: Value = serde_json::from_str(described["EventPattern"].as_str().unwrap()).unwrap();
    assert_eq!(sent["detail"]["object"]["key"][0]["prefix"], "raw/");

    run(&s, &format!("events disable-rule --name {rule}"))
        .await
        .unwrap();
    let listed = run(&s, &format!("events list-rules --name-prefix {rule}"))
        .await
        .unwrap();
    let rules = listed["Rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{listed}");
    assert_eq!(rules[0]["State"], "DISABLED");
    run(&s, &format!("events enable-rule --name {rule}"))
        .await
        .unwrap();
    let described = run(&s, &format!("events describe-rule --name {rule}"))
        .await
        .unwrap();
    assert_eq!(described["State"], "ENABLED");

    // A workflow with the role EventBridge starts it as; a job AWS cannot start from a rule;
    // a workflow without a role. Only the first reaches EventBridge.
    let workflow = format!("arn:aws:glue:{REGION}:{ACCOUNT}:workflow/mask");
    let job = format!("arn:aws:glue:{REGION}:{ACCOUNT}:job/mask");
    let dlq = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:raw-arrivals-dlq");
    let targets = format!(
        r#"[{{"Id":"wf","Arn":"{workflow}","RetryPolicy":{{"MaximumRetryAttempts":3}},"DeadLetterConfig":{{"Arn":"{dlq}"}}}},{{"Id":"job","Arn":"{job}"}}]"#
    );
    let answer = run(
        &s,
        &format!(
            "events put-targets --rule {rule} --role-arn {EVENTS_ROLE} --targets {}",
            quoted(&targets)
        ),
    )
    .await
    .unwrap();
    assert_eq!(answer["FailedEntryCount"], 1, "{answer}");
    assert_eq!(answer["FailedEntries"][0]["TargetId"], "job");
    let why = answer["FailedEntries"][0]["ErrorMessage"].as_str().unwrap();
    assert!(why.contains("workflow"), "{why}");
    let answer = run(
        &s,
        &format!("events put-targets --rule {rule} --targets Id=bare,Arn={workflow}"),
    )
    .await
    .unwrap();
    assert_eq!(answer["FailedEntryCount"], 1, "{answer}");
    assert!(
        answer["FailedEntries"][0]["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("RoleArn"),
        "{answer}"
    );

    let on_aws = clients()
        .await
        .eventbridge
        .list_targets_by_rule()
        .rule(&rule)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = on_aws.targets().iter().map(|t| t.id()).collect();
    assert_eq!(ids, ["wf"]);
    let t = &on_aws.targets()[0];
    assert_eq!(t.role_arn(), Some(EVENTS_ROLE));
    assert_eq!(
        t.dead_letter_config().and_then(|d| d.arn()),
        Some(dlq.as_str())
    );
    assert_eq!(
        t.retry_policy().and_then(|r| r.maximum_retry_attempts()),
        Some(3)
    );

    let listed = run(&s, &format!("events list-targets-by-rule --rule {rule}"))
        .await
        .unwrap();
    let t = &listed["Targets"][0];
    assert_eq!(t["Arn"], workflow.as_str());
    assert_eq!(t["RoleArn"], EVENTS_ROLE);
    assert_eq!(t["DeadLetterConfig"]["Arn"], dlq.as_str());

    // The failed list lives in the target's queue on AWS: the answer names it.
    let e = run(&s, &format!("events list-failed-deliveries --rule {rule}"))
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::UnsupportedOperationException);
    assert!(
        e.message.contains(&dlq) && e.message.contains("aws sqs receive-message"),
        "{}",
        e.message
    );

    // EventBridge refuses to delete a rule with targets; its refusal reaches the caller.
    let e = run(&s, &format!("events delete-rule --name {rule}"))
        .await
        .unwrap_err();
    assert_eq!(e.aws_code.as_deref(), Some("ValidationException"), "{e:?}");
    assert!(e.message.contains("targets"), "{}", e.message);

    let removed = run(&s, &format!("events remove-targets --rule {rule} --ids wf"))
        .await
        .unwrap();
    assert_eq!(removed["FailedEntryCount"], 0, "{removed}");
    let listed = run(&s, &format!("events list-targets-by-rule --rule {rule}"))
        .await
        .unwrap();
    assert_eq!(listed["Targets"], serde_json::json!([]));
    run(&s, &format!("events delete-rule --name {rule}"))
        .await
        .unwrap();
    let e = run(&s, &format!("events describe-rule --name {rule}"))
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::NotFoundException, "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_lakectl_does_not_manage_on_aws_says_what_to_use() {
    let s = aws().await;
    let e = run(
        &s,
        "firehose create-delivery-stream --delivery-stream-name findings --s3-destination-configuration BucketARN=arn:aws:s3:::findings",
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::UnsupportedOperationException);
    assert!(
        e.message.contains("aws firehose create-delivery-stream")
            && e.message.contains("put-targets"),
        "{}",
        e.message
    );
    let e = run(&s, "events replay-failed-deliveries --rule r")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::UnsupportedOperationException);

    // A pattern EventBridge's language cannot read is refused before any call, as locally.
    let rule = unique("bad-pattern");
    let e = run(
        &s,
        &format!(
            "events put-rule --name {rule} --event-pattern {}",
            quoted(r#"{"source":"aws.s3"}"#)
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::InvalidEventPatternException, "{e:?}");
    let listed = run(&s, &format!("events list-rules --name-prefix {rule}"))
        .await
        .unwrap();
    assert_eq!(listed["Rules"], serde_json::json!([]));

    // test-event-pattern matches here, with the same language on both backends.
    let event = r#"{"id":"1","account":"1","source":"aws.s3","time":"2026-01-01T00:00:00Z","region":"eu-west-1","detail-type":"Object Created","resources":[],"detail":{"object":{"key":"raw/a.csv"}}}"#;
    let matched = run(
        &s,
        &format!(
            "events test-event-pattern --event-pattern {} --event {}",
            quoted(PATTERN),
            quoted(event)
        ),
    )
    .await
    .unwrap();
    assert_eq!(matched["Result"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runs_pane_lists_a_rule_from_eventbridge() {
    let s = aws().await;
    let rule = unique("runs-pane");
    s.events
        .put_rule(
            &admin(),
            &rule,
            PATTERN,
            lakectl::service::events::RuleState::Disabled,
            None,
        )
        .await
        .unwrap();
    let mut app = App::new(s, admin(), Options { readonly: false });
    settle(&mut app).await;
    press(&mut app, KeyCode::Char('4'));
    app.refresh();
    settle(&mut app).await;
    let found = app
        .runs
        .visible()
        .iter()
        .find(|r| r.name == rule)
        .map(|r| (*r).clone());
    let Some(row) = found else {
        panic!("the rule is listed: {}", screen(&mut app));
    };
    assert!(row.counts.contains("CloudWatch"), "{}", row.counts);
    assert!(row.counts.contains("disabled"), "{}", row.counts);
    assert_eq!(row.state, None);
}
