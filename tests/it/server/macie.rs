//! Macie2's restJson1 through the server: the AWS CLI enables discovery, defines the seed's
//! `XYZ-n` identifier, runs a job and reads its findings; a principal without Macie
//! permissions is refused.

use serde_json::json;

use super::lakeformation::seed_accounts;
use super::{Server, error_of, json_of};

#[test]
fn the_aws_cli_runs_a_classification_job_and_reads_its_findings() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    let analyst = server.keys_for("analyst");
    seed_accounts(&server);

    json_of(&server.aws(&admin, &["macie2", "enable-macie"]));
    let session = json_of(&server.aws(&admin, &["macie2", "get-macie-session"]));
    assert_eq!(session["status"], "ENABLED", "{session}");
    let made = json_of(&server.aws(
        &admin,
        &[
            "macie2",
            "create-custom-data-identifier",
            "--name",
            "account_number",
            "--regex",
            r"(XYZ-)\d{1,2}",
            "--keywords",
            "account_number",
            "--maximum-match-distance",
            "20",
        ],
    ));
    let identifier = made["customDataIdentifierId"].as_str().unwrap().to_string();
    let listed = json_of(&server.aws(&admin, &["macie2", "list-custom-data-identifiers"]));
    assert_eq!(listed["items"][0]["name"], "account_number", "{listed}");
    let got = json_of(&server.aws(
        &admin,
        &["macie2", "get-custom-data-identifier", "--id", &identifier],
    ));
    assert_eq!(got["regex"], r"(XYZ-)\d{1,2}", "{got}");
    json_of(&server.aws(
        &admin,
        &[
            "macie2",
            "create-allow-list",
            "--name",
            "test-accounts",
            "--criteria",
            "regex=XYZ-00",
        ],
    ));
    let lists = json_of(&server.aws(&admin, &["macie2", "list-allow-lists"]));
    assert_eq!(lists["allowLists"][0]["name"], "test-accounts", "{lists}");

    let definition = json!({"bucketDefinitions": [{"accountId": "000000000000", "buckets": ["raw"]}],
        "scoping": {"includes": {"and": [{"simpleScopeTerm": {"key": "OBJECT_KEY", "comparator": "STARTS_WITH", "values": ["accounts/"]}}]}}});
    let job = json_of(&server.aws(
        &admin,
        &[
            "macie2",
            "create-classification-job",
            "--job-type",
            "ONE_TIME",
            "--name",
            "scan",
            "--s3-job-definition",
            &definition.to_string(),
            "--custom-data-identifier-ids",
            &identifier,
            "--allow-list-ids",
            "test-accounts",
        ],
    ));
    let job_id = job["jobId"].as_str().unwrap().to_string();
    let mut described = json!(null);
    for _ in 0..60 {
        described = json_of(&server.aws(
            &admin,
            &["macie2", "describe-classification-job", "--job-id", &job_id],
        ));
        if described["jobStatus"] != "RUNNING" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert_eq!(described["jobStatus"], "COMPLETE", "{described}");
    assert_eq!(
        described["s3JobDefinition"]["scoping"]["includes"]["and"][0]["simpleScopeTerm"]["values"],
        json!(["accounts/"])
    );
    let jobs = json_of(&server.aws(&admin, &["macie2", "list-classification-jobs"]));
    assert_eq!(jobs["items"][0]["jobId"], job_id.as_str(), "{jobs}");

    let criteria =
        json!({"criterion": {"classificationDetails.jobId": {"eq": [job_id]}}}).to_string();
    let ids = json_of(&server.aws(
        &admin,
        &["macie2", "list-findings", "--finding-criteria", &criteria],
    ));
    let ids: Vec<String> = ids["findingIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let mut args = vec!["macie2", "get-findings", "--finding-ids"];
    args.extend(ids.iter().map(String::as_str));
    let findings = json_of(&server.aws(&admin, &args));
    let finding = &findings["findings"][0];
    assert_eq!(
        finding["resourcesAffected"]["s3Object"]["key"], "accounts/a.csv",
        "{finding}"
    );
    assert_eq!(
        finding["resourcesAffected"]["s3Bucket"]["name"], "raw",
        "{finding}"
    );
    let custom =
        &finding["classificationDetails"]["result"]["customDataIdentifiers"]["detections"][0];
    assert_eq!(custom["name"], "account_number", "{finding}");
    // Findings say where, never what.
    assert!(!findings.to_string().contains("XYZ-39"), "{findings}");

    // Without Macie permissions, refused.
    let said = error_of(&server.aws(&analyst, &["macie2", "list-findings"]));
    assert!(said.contains("AccessDenied"), "{said}");
    let said = error_of(&server.aws(
        &analyst,
        &["macie2", "get-findings", "--finding-ids", &ids[0]],
    ));
    assert!(said.contains("AccessDenied"), "{said}");

    // lakectl's AWS backend through the server answers as lakectl on the lake.
    let through = json_of(&server.lakectl_client(&admin, &["macie2", "list-findings"]));
    let direct = server.lakectl(&["macie2", "list-findings"]);
    assert_eq!(through, direct);
    let through = json_of(&server.lakectl_client(
        &admin,
        &["macie2", "get-findings", "--finding-ids", &ids[0]],
    ));
    let direct = server.lakectl(&["macie2", "get-findings", "--finding-ids", &ids[0]]);
    assert_eq!(
        through["findings"][0]["classificationDetails"],
        direct["findings"][0]["classificationDetails"]
    );
}
