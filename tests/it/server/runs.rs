//! Runs started through the server are the server's: the client's call returns at once, the run
//! goes on after the client has gone, and a server killed mid-run reports the run FAILED, with
//! the reason, when it starts again, leaving the previous output as it was.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Server, json_of};

/// The state of a run, read on the lake directly (not through the server).
fn state(server: &Server, run_id: &str) -> Value {
    server.lakectl(&[
        "glue",
        "get-job-run",
        "--job-name",
        "raw-to-processed",
        "--run-id",
        run_id,
    ])["JobRun"]
        .clone()
}

fn wait_for(server: &Server, run_id: &str, done: impl Fn(&str) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let run = state(server, run_id);
        if done(run["JobRunState"].as_str().unwrap_or("")) {
            return run;
        }
        assert!(Instant::now() < deadline, "the run stayed {run}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Enough raw data that the job is still reading when the server is killed.
fn load_more_raw(server: &Server) {
    let lines: String = (0..400_000)
        .map(|i| {
            format!(
                "{{\"symbol\":\"S{}\",\"price\":{i},\"note\":\"row {i} of the bigger load\"}}\n",
                i % 97
            )
        })
        .collect();
    let file = server.file("more.json");
    std::fs::write(&file, lines).unwrap();
    server.lakectl(&[
        "s3",
        "cp",
        file.to_str().unwrap(),
        "s3://secure-datalake/raw/more.json",
        "--sse",
        "aws:kms",
        "--sse-kms-key-id",
        "alias/datalake-key",
    ]);
}

fn processed_objects(server: &Server) -> Value {
    server.lakectl(&[
        "s3api",
        "list-objects-v2",
        "--bucket",
        "secure-datalake",
        "--prefix",
        "processed/",
    ])["Contents"]
        .clone()
}

#[test]
fn a_run_started_through_the_server_goes_on_after_the_client_has_gone() {
    let server = Server::start_demo();
    let admin = server.keys_for("admin");
    let started = json_of(&server.aws(
        &admin,
        &["glue", "start-job-run", "--job-name", "raw-to-processed"],
    ));
    let run_id = started["JobRunId"].as_str().unwrap().to_string();
    // The client has exited; the run is the server's.
    let run = wait_for(&server, &run_id, |s| s == "SUCCEEDED" || s == "FAILED");
    assert_eq!(run["JobRunState"], "SUCCEEDED", "{run}");
}

#[test]
fn a_server_killed_mid_run_reports_it_failed_on_restart_and_leaves_the_output_as_it_was() {
    let server = Server::start_demo();
    let admin = server.keys_for("admin");
    load_more_raw(&server);
    let before = processed_objects(&server);
    let started = json_of(&server.aws(
        &admin,
        &["glue", "start-job-run", "--job-name", "raw-to-processed"],
    ));
    let run_id = started["JobRunId"].as_str().unwrap().to_string();
    wait_for(&server, &run_id, |s| s == "RUNNING");
    let server = server.kill_and_restart();
    let run = wait_for(&server, &run_id, |s| s != "RUNNING" && s != "STARTING");
    assert_eq!(run["JobRunState"], "FAILED", "{run}");
    assert!(
        run["ErrorMessage"].as_str().is_some_and(|m| !m.is_empty()),
        "a failed run says why: {run}"
    );
    assert_eq!(
        processed_objects(&server),
        before,
        "the killed run changed the output"
    );
    assert_eq!(server.lakectl(&["audit", "verify"])["Valid"], true);
}
