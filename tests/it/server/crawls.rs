//! A crawler's history through the server: every crawl is kept, ListCrawls answers them newest
//! first in Glue's shape, with Glue's filters and pages, and lakectl's AWS backend reads the
//! same history the lake holds.

use serde_json::Value;

use super::lakeformation::seed_accounts;
use super::{Server, error_of, json_of};

fn ids(crawls: &Value) -> Vec<String> {
    crawls["Crawls"]
        .as_array()
        .unwrap_or_else(|| panic!("no Crawls: {crawls}"))
        .iter()
        .map(|c| c["CrawlId"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_crawl_is_kept_and_list_crawls_filters_and_pages_it() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    seed_accounts(&server);
    for _ in 0..2 {
        server.lakectl(&["glue", "start-crawler", "--name", "c", "--wait"]);
    }

    let all = json_of(&server.aws(&admin, &["glue", "list-crawls", "--crawler-name", "c"]));
    let crawls = all["Crawls"].as_array().unwrap();
    assert_eq!(crawls.len(), 3, "{all}");
    assert!(crawls.iter().all(|c| c["State"] == "COMPLETED"), "{all}");
    assert!(crawls.iter().all(|c| !c["StartTime"].is_null()), "{all}");
    // ISO 8601 text (or a number, by the CLI's timestamp format): both order as written.
    let starts: Vec<String> = crawls.iter().map(|c| c["StartTime"].to_string()).collect();
    let mut newest_first = starts.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(starts, newest_first, "newest first: {all}");
    let every = ids(&all);
    let mut distinct = every.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{all}");

    // Pages of one, and Glue's filters, as boto3 sends them.
    let script = format!(
        r#"
import boto3, json, os
glue = boto3.client("glue", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
pages, token = [], None
while True:
    page = glue.list_crawls(CrawlerName="c", MaxResults=1, **({{"NextToken": token}} if token else {{}}))
    assert len(page["Crawls"]) == 1, page
    pages.append(page["Crawls"][0]["CrawlId"])
    token = page.get("NextToken")
    if not token:
        break
def only(*filters):
    f = [dict(FieldName=n, FilterOperator=o, FieldValue=v) for n, o, v in filters]
    return [c["CrawlId"] for c in glue.list_crawls(CrawlerName="c", Filters=f)["Crawls"]]
newest = glue.list_crawls(CrawlerName="c")["Crawls"][0]
print(json.dumps({{
    "pages": pages,
    "by_id": only(("CRAWL_ID", "EQ", "{middle}")),
    "failed": only(("STATE", "EQ", "FAILED")),
    "completed": only(("STATE", "EQ", "COMPLETED")),
    # The wire rounds times: before the newest's start, rounded down, is the two older.
    "before_newest": only(("START_TIME", "LT", str(newest["StartTime"].timestamp()))),
}}))
"#,
        middle = every[1]
    );
    let seen = json_of(&server.python(&admin, &script));
    assert_eq!(seen["pages"], serde_json::json!(every), "{seen}");
    assert_eq!(seen["by_id"], serde_json::json!([every[1]]), "{seen}");
    assert_eq!(seen["failed"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["completed"], serde_json::json!(every), "{seen}");
    assert_eq!(
        seen["before_newest"],
        serde_json::json!(every[1..]),
        "{seen}"
    );

    let said = error_of(&server.aws(
        &admin,
        &[
            "glue",
            "list-crawls",
            "--crawler-name",
            "c",
            "--filters",
            "FieldName=DPU_HOUR,FilterOperator=GT,FieldValue=1",
        ],
    ));
    assert!(said.contains("UnsupportedOperation"), "{said}");

    // lakectl on the lake and lakectl's AWS backend through the server: the same history.
    let args = ["glue", "list-crawls", "--crawler-name", "c"];
    let direct = server.lakectl(&args);
    assert_eq!(ids(&direct), every, "{direct}");
    let through = json_of(&server.lakectl_client(&admin, &args));
    assert_eq!(ids(&through), every, "{through}");

    // A principal with no Glue permission reads no history.
    let nobody = server.keys_for("nobody");
    let said = error_of(&server.aws(&nobody, &["glue", "list-crawls", "--crawler-name", "c"]));
    assert!(said.contains("AccessDenied"), "{said}");
}
