//! Lake Formation's restJson1 through the server: the AWS CLI grants, lists and revokes column
//! grants and tags columns, principals travel as IAM ARNs, and a principal that is not an admin
//! sees only its own grants.

use serde_json::{Value, json};

use super::{Server, error_of, json_of};

/// A bucket with one CSV dataset, crawled into table `bank.accounts`, with the CLI on the lake.
pub fn seed_accounts(server: &Server) {
    let csv = server.file("accounts.csv");
    std::fs::write(
        &csv,
        "customer_id,iban,account_number\n1,GB22,XYZ-39\n2,GB33,XYZ-4\n",
    )
    .unwrap();
    server.lakectl(&["s3", "mb", "s3://raw"]);
    server.lakectl(&["s3", "cp", csv.to_str().unwrap(), "s3://raw/accounts/a.csv"]);
    server.lakectl(&["glue", "create-database", "--name", "bank"]);
    server.lakectl(&[
        "glue",
        "create-crawler",
        "--name",
        "c",
        "--database",
        "bank",
        "--target",
        "s3://raw/accounts/",
    ]);
    server.lakectl(&["glue", "start-crawler", "--name", "c", "--wait"]);
}

fn holders(listed: &Value) -> Vec<String> {
    let mut out: Vec<String> = listed["PrincipalResourcePermissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            g["Principal"]["DataLakePrincipalIdentifier"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn the_aws_cli_grants_lists_and_tags_through_the_server() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    let analyst = server.keys_for("analyst");
    server.lakectl(&["iam", "create-principal", "--name", "auditor"]);
    seed_accounts(&server);
    // The analyst may call Lake Formation (IAM); what it sees is then Lake Formation's rule.
    let lf = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lakeformation:*","Resource":"*"}]}"#;
    server.lakectl(&[
        "iam",
        "put-user-policy",
        "--user-name",
        "analyst",
        "--policy-name",
        "lf",
        "--policy-document",
        lf,
    ]);
    let account = json_of(&server.aws(&admin, &["sts", "get-caller-identity"]))["Account"]
        .as_str()
        .unwrap()
        .to_string();
    let arn = |user: &str| format!("arn:aws:iam::{account}:user/{user}");
    let columns = json!({"TableWithColumns": {"DatabaseName": "bank", "Name": "accounts", "ColumnNames": ["customer_id"]}}).to_string();
    let table = json!({"Table": {"DatabaseName": "bank", "Name": "accounts"}}).to_string();
    let grant = |op: &str, who: &str, resource: &str, permission: &str| {
        server.aws(
            &admin,
            &[
                "lakeformation",
                op,
                "--principal",
                &format!("DataLakePrincipalIdentifier={}", arn(who)),
                "--resource",
                resource,
                "--permissions",
                permission,
            ],
        )
    };
    json_of(&grant("grant-permissions", "analyst", &columns, "SELECT"));
    json_of(&grant("grant-permissions", "auditor", &table, "DESCRIBE"));

    // The column grant is what the lake holds, under the name the lake knows.
    let local = server.lakectl(&[
        "lakeformation",
        "list-permissions",
        "--principal",
        "analyst",
    ]);
    let held = &local["PrincipalResourcePermissions"];
    assert_eq!(held.as_array().unwrap().len(), 1, "{local}");
    assert_eq!(
        held[0]["Resource"]["TableWithColumns"]["ColumnNames"],
        json!(["customer_id"])
    );

    // The admin sees every grant, principals as ARNs; the analyst only its own.
    let all = json_of(&server.aws(&admin, &["lakeformation", "list-permissions"]));
    let seen = holders(&all);
    assert!(
        seen.contains(&arn("analyst")) && seen.contains(&arn("auditor")),
        "{all}"
    );
    let own = json_of(&server.aws(&analyst, &["lakeformation", "list-permissions"]));
    assert_eq!(holders(&own), [arn("analyst")], "{own}");
    let by_table = json_of(&server.aws(
        &admin,
        &["lakeformation", "list-permissions", "--resource", &table],
    ));
    assert!(holders(&by_table).contains(&arn("auditor")), "{by_table}");
    // The analyst may not grant itself more.
    let said = error_of(&server.aws(
        &analyst,
        &[
            "lakeformation",
            "grant-permissions",
            "--principal",
            &format!("DataLakePrincipalIdentifier={}", arn("analyst")),
            "--resource",
            &table,
            "--permissions",
            "SELECT",
        ],
    ));
    assert!(said.contains("AccessDenied"), "{said}");
    // A grant of the wrong shape is refused with Lake Formation's code, not a crash.
    let said = error_of(&server.aws(
        &admin,
        &[
            "lakeformation",
            "grant-permissions",
            "--principal",
            "DataLakePrincipalIdentifier=analyst",
            "--resource",
            r#"{"Table":{"DatabaseName":"bank"}}"#,
            "--permissions",
            "SELECT",
        ],
    ));
    assert!(said.contains("InvalidInputException"), "{said}");

    // lakectl's AWS backend through the server prints what lakectl on the lake prints:
    // principals as IAM ARNs, as Lake Formation and the AWS CLI print them.
    for command in [
        &["lakeformation", "list-permissions"][..],
        &["lakeformation", "get-data-lake-settings"],
    ] {
        let through = json_of(&server.lakectl_client(&admin, command));
        let direct = server.lakectl(command);
        assert_eq!(through, direct, "{command:?}");
    }
    let direct = server.lakectl(&["lakeformation", "list-permissions"]);
    assert!(holders(&direct).contains(&arn("analyst")), "{direct}");
    let admins = server.lakectl(&["lakeformation", "get-data-lake-settings"]);
    assert_eq!(
        admins["DataLakeSettings"]["DataLakeAdmins"][0]["DataLakePrincipalIdentifier"],
        arn("admin"),
        "{admins}"
    );
    // The ARN it prints is what the CLI takes back, on the lake too.
    let by_arn = server.lakectl(&[
        "lakeformation",
        "list-permissions",
        "--principal",
        &arn("analyst"),
    ]);
    assert_eq!(holders(&by_arn), [arn("analyst")], "{by_arn}");

    // LF-tags: defined, put on a column, read back on the column.
    json_of(&server.aws(
        &admin,
        &[
            "lakeformation",
            "create-lf-tag",
            "--tag-key",
            "sensitivity",
            "--tag-values",
            "high",
            "low",
        ],
    ));
    let tags = json_of(&server.aws(&admin, &["lakeformation", "list-lf-tags"]));
    assert_eq!(tags["LFTags"][0]["TagKey"], "sensitivity", "{tags}");
    let column = json!({"TableWithColumns": {"DatabaseName": "bank", "Name": "accounts", "ColumnNames": ["account_number"]}}).to_string();
    json_of(&server.aws(
        &admin,
        &[
            "lakeformation",
            "add-lf-tags-to-resource",
            "--resource",
            &column,
            "--lf-tags",
            "TagKey=sensitivity,TagValues=high",
        ],
    ));
    let got = json_of(&server.aws(
        &admin,
        &[
            "lakeformation",
            "get-resource-lf-tags",
            "--resource",
            &table,
        ],
    ));
    let on_columns = got["LFTagsOnColumns"].as_array().unwrap();
    let tagged = on_columns
        .iter()
        .find(|c| c["Name"] == "account_number")
        .unwrap_or_else(|| panic!("{got}"));
    assert_eq!(
        tagged["LFTags"],
        json!([{"TagKey": "sensitivity", "TagValues": ["high"]}]),
        "{got}"
    );
    let untagged = on_columns.iter().find(|c| c["Name"] == "iban").unwrap();
    assert_eq!(untagged["LFTags"], json!([]), "{got}");
    let said = error_of(&server.aws(
        &admin,
        &[
            "lakeformation",
            "add-lf-tags-to-resource",
            "--resource",
            &column,
            "--lf-tags",
            "TagKey=sensitivity,TagValues=secret",
        ],
    ));
    assert!(said.contains("InvalidInput"), "{said}");

    // Revoked over the wire, the analyst holds nothing.
    json_of(&grant("revoke-permissions", "analyst", &columns, "SELECT"));
    let own = json_of(&server.aws(&analyst, &["lakeformation", "list-permissions"]));
    assert_eq!(own["PrincipalResourcePermissions"], json!([]), "{own}");
}
