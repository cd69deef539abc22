//! Long lists through the server come a page at a time, as the AWS CLI and boto3 ask for them:
//! `--page-size 1` walks every page and gets the whole list once, with each service's own
//! members (Glue's NextToken, KMS's Marker and Truncated, IAM's Marker and IsTruncated); a token
//! the server never gave is refused with the service's code. Lake Formation and Macie2 (restJson1)
//! page the same way, with their own members.

use super::{Server, error_of, json_of};

fn names(list: &serde_json::Value, member: &str, field: &str) -> Vec<String> {
    let mut names: Vec<String> = list[member]
        .as_array()
        .unwrap_or_else(|| panic!("no {member}: {list}"))
        .iter()
        .map(|item| match field {
            "" => item.as_str().unwrap().to_string(),
            f => item[f].as_str().unwrap().to_string(),
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_page_is_walked_once_and_a_forged_token_is_refused() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    for n in 0..3 {
        server.lakectl(&["glue", "create-database", "--name", &format!("db{n}")]);
        server.lakectl(&["kms", "create-key", "--description", &format!("key {n}")]);
        server.keys_for(&format!("user{n}"));
    }

    let whole = |args: &[&str]| json_of(&server.aws(&admin, args));
    let paged = |args: &[&str]| {
        let mut with = args.to_vec();
        with.extend(["--page-size", "1"]);
        json_of(&server.aws(&admin, &with))
    };

    let dbs = paged(&["glue", "get-databases"]);
    assert_eq!(names(&dbs, "DatabaseList", "Name"), ["db0", "db1", "db2"]);

    let keys = whole(&["kms", "list-keys"]);
    let paged_keys = paged(&["kms", "list-keys"]);
    assert!(names(&keys, "Keys", "KeyId").len() >= 3, "{keys}");
    assert_eq!(
        names(&paged_keys, "Keys", "KeyId"),
        names(&keys, "Keys", "KeyId")
    );

    let users = paged(&["iam", "list-users"]);
    assert_eq!(
        names(&users, "Users", "UserName"),
        ["admin", "user0", "user1", "user2"]
    );

    // One page by hand: the token is there, and the rest follows it.
    let first = whole(&["glue", "get-databases", "--max-items", "1"]);
    assert_eq!(
        first["DatabaseList"].as_array().unwrap().len(),
        1,
        "{first}"
    );
    assert!(first["NextToken"].is_string(), "{first}");

    // Tokens the server never gave: each service's own refusal.
    let said = error_of(&server.aws(
        &admin,
        &["glue", "get-databases", "--starting-token", "Zm9yZ2Vk"],
    ));
    assert!(said.contains("InvalidInputException"), "{said}");
    let said = error_of(&server.aws(
        &admin,
        &["kms", "list-keys", "--starting-token", "Zm9yZ2Vk"],
    ));
    assert!(said.contains("InvalidMarkerException"), "{said}");
    let said = error_of(&server.aws(&admin, &["iam", "list-users", "--starting-token", "x"]));
    assert!(said.contains("InvalidInput"), "{said}");
    // A page size past the service's largest is a validation error, not a silent cap.
    let said = error_of(&server.python(
        &admin,
        r#"
import boto3, os
boto3.client("glue", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1").get_databases(MaxResults=5000)
"#,
    ));
    assert!(said.contains("1 to 100"), "{said}");
}

/// Every page of `args` (the AWS CLI's own paginator, `--page-size 1`) gives the same list as
/// one call, and that list is long enough to need more than one page.
fn walked_like_whole(
    server: &Server,
    keys: &super::Keys,
    args: &[&str],
    member: &str,
    field: &str,
) {
    let whole = names(&json_of(&server.aws(keys, args)), member, field);
    assert!(
        whole.len() >= 2,
        "{args:?} lists too little to page: {whole:?}"
    );
    let mut with = args.to_vec();
    with.extend(["--page-size", "1"]);
    assert_eq!(
        names(&json_of(&server.aws(keys, &with)), member, field),
        whole,
        "{args:?}"
    );
    // One page by hand: one item and a token.
    let mut one = args.to_vec();
    one.extend(["--max-items", "1"]);
    let first = json_of(&server.aws(keys, &one));
    assert_eq!(first[member].as_array().unwrap().len(), 1, "{first}");
    assert!(first["NextToken"].is_string(), "{first}");
}

#[test]
fn lake_formation_and_macie_lists_come_a_page_at_a_time() {
    let server = Server::start_demo();
    let admin = server.keys_for("admin");
    for n in 0..2 {
        server.lakectl(&[
            "lakeformation",
            "create-lf-tag",
            "--key",
            &format!("extra{n}"),
            "--values",
            "a,b",
        ]);
        server.lakectl(&[
            "macie2",
            "create-classification-job",
            "--name",
            &format!("again{n}"),
            "--bucket",
            "pii-datalake",
            "--prefix",
            "raw/",
            "--wait",
        ]);
    }
    walked_like_whole(
        &server,
        &admin,
        &["lakeformation", "list-lf-tags"],
        "LFTags",
        "TagKey",
    );
    walked_like_whole(
        &server,
        &admin,
        &["macie2", "list-findings"],
        "findingIds",
        "",
    );
    walked_like_whole(
        &server,
        &admin,
        &["macie2", "list-classification-jobs"],
        "items",
        "jobId",
    );

    // ListPermissions has no paginator in the AWS CLI: boto3 follows NextToken by hand, and
    // the pages hold every grant once, as one call does.
    let walked = json_of(&server.python(
        &admin,
        r#"
import boto3, json, os
lf = boto3.client("lakeformation", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
whole = lf.list_permissions()
assert "NextToken" not in whole, whole
pages, token = [], None
while True:
    page = lf.list_permissions(MaxResults=1, **({"NextToken": token} if token else {}))
    assert len(page["PrincipalResourcePermissions"]) <= 1, page
    pages += page["PrincipalResourcePermissions"]
    token = page.get("NextToken")
    if not token:
        break
key = lambda g: json.dumps([g["Principal"], g["Resource"], sorted(g["Permissions"])], sort_keys=True)
print(json.dumps({"whole": sorted(map(key, whole["PrincipalResourcePermissions"])), "paged": sorted(map(key, pages))}))
"#,
    ));
    assert!(walked["whole"].as_array().unwrap().len() >= 2, "{walked}");
    assert_eq!(walked["whole"], walked["paged"]);

    let said = error_of(&server.aws(
        &admin,
        &["macie2", "list-findings", "--starting-token", "Zm9yZ2Vk"],
    ));
    assert!(said.contains("ValidationException"), "{said}");
    let said = error_of(&server.aws(
        &admin,
        &[
            "lakeformation",
            "list-lf-tags",
            "--starting-token",
            "Zm9yZ2Vk",
        ],
    ));
    assert!(said.contains("InvalidInputException"), "{said}");
}
