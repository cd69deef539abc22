//! lakectl's own AWS backend as a client of the lake server: the seed's analyst, with its own
//! access key and nothing else, sees only `symbol`, exactly as `--as analyst` on the lake does.

use super::{Server, json_of};

#[test]
fn lakectl_on_the_aws_backend_is_the_analyst_its_key_names_and_sees_only_symbol() {
    let server = Server::start_demo();
    let analyst = server.keys_for("analyst");
    let me = json_of(&server.lakectl_client(&analyst, &["sts", "get-caller-identity"]));
    assert!(
        me["Arn"].as_str().unwrap().ends_with(":user/analyst"),
        "{me}"
    );

    let run = json_of(&server.lakectl_client(
        &analyst,
        &[
            "athena",
            "start-query-execution",
            "--query-string",
            "SELECT * FROM processed LIMIT 5",
            "--database",
            "lakeformation-glue-catalog-db",
            "--wait",
        ],
    ));
    let id = run["QueryExecution"]["QueryExecutionId"]
        .as_str()
        .or_else(|| run["QueryExecutionId"].as_str())
        .unwrap_or_else(|| panic!("no query id in {run}"))
        .to_string();
    let results = json_of(&server.lakectl_client(
        &analyst,
        &["athena", "get-query-results", "--query-execution-id", &id],
    ));
    let columns: Vec<&str> = results["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
        .as_array()
        .unwrap_or_else(|| panic!("no columns in {results}"))
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["symbol"], "{results}");

    // The same query as the lake's own CLI answers for --as analyst.
    let direct = server.lakectl(&[
        "--as",
        "analyst",
        "athena",
        "start-query-execution",
        "--query-string",
        "SELECT * FROM processed LIMIT 5",
        "--database",
        "lakeformation-glue-catalog-db",
        "--wait",
    ]);
    assert_eq!(
        direct["QueryExecution"]["Status"]["State"], "SUCCEEDED",
        "{direct}"
    );

    // A column the analyst was not granted is refused through the wire too.
    let out = server.lakectl_client(
        &analyst,
        &[
            "athena",
            "start-query-execution",
            "--query-string",
            "SELECT price FROM processed",
            "--database",
            "lakeformation-glue-catalog-db",
            "--wait",
        ],
    );
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The raw data stays out of reach: the analyst's GET of raw/ is refused by the server.
    let out = server.lakectl_client(
        &analyst,
        &["s3", "cp", "s3://secure-datalake/raw/data.json", "-"],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "a refused get printed data");
}
