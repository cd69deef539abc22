//! `hash` and `tokenize` through the lake server: lakectl's AWS backend creates the job as it
//! does on AWS (the masking key made by KMS and kept wrapped in a tag on the output key, through
//! the lake's TagResource), the server runs it, the run's counts read back through the AWS
//! backend as on the lake, and tokens open with `detokenize` whichever backend asks, while the
//! tokens the key made before the tag still open.

use serde_json::Value;

use super::{Server, json_of};

/// The output's masked columns and the raw ones, read with boto3 and pyarrow as `keys`.
const READ_OUTPUT: &str = r#"
import boto3, csv, io, json, os
import pyarrow.parquet as pq
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
def parquet(prefix):
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="pii-datalake", Prefix=prefix).get("Contents", [])
            if o["Key"].endswith(".parquet") and "/_" not in o["Key"]]
    rows = []
    for key in sorted(keys):
        table = pq.read_table(io.BytesIO(s3.get_object(Bucket="pii-datalake", Key=key)["Body"].read()))
        rows += table.to_pylist()
    return rows
raw = list(csv.DictReader(io.StringIO(s3.get_object(Bucket="pii-datalake", Key="raw/shop/bank/LOAD00000001.csv")["Body"].read().decode())))
out = parquet("through/")
old = parquet("encrypted/")
print(json.dumps({"raw": raw, "out": out, "old": old}, default=str))
"#;

fn client(server: &Server, keys: &super::Keys, args: &[&str]) -> Value {
    json_of(&server.lakectl_client(keys, args))
}

#[test]
fn the_aws_backend_hashes_and_tokenizes_through_the_server_and_both_backends_detokenize() {
    let server = Server::start_demo();
    let admin = server.keys_for("admin");
    client(
        &server,
        &admin,
        &[
            "glue",
            "create-job",
            "--name",
            "through",
            "--source",
            "s3://pii-datalake/raw/shop/bank/",
            "--target",
            "s3://pii-datalake/through/",
            "--mask",
            "account_number=tokenize",
            "--mask",
            "iban=hash",
            "--security-configuration",
            "pii-security-config",
            "--role",
            "glue-service-role",
        ],
    );
    // The masking key is a tag on the output key, made through the lake's KMS.
    let tags = json_of(&server.aws(
        &admin,
        &["kms", "list-resource-tags", "--key-id", "alias/pii-key"],
    ));
    let tag = tags["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["TagKey"] == "lakectl:mask-key")
        .unwrap_or_else(|| panic!("no masking key tag: {tags}"));
    assert!(tag["TagValue"].as_str().unwrap().len() > 40, "{tags}");

    let run = client(
        &server,
        &admin,
        &["glue", "start-job-run", "--job-name", "through", "--wait"],
    );
    let run = &run["JobRun"];
    assert_eq!(run["JobRunState"], "SUCCEEDED", "{run}");
    let id = run["Id"].as_str().unwrap();

    // The run's counts, through the AWS backend, are the lake's own.
    let get = [
        "glue",
        "get-job-run",
        "--job-name",
        "through",
        "--run-id",
        id,
    ];
    let through = client(&server, &admin, &get);
    let direct = server.lakectl(&get);
    let read = &direct["JobRun"]["Metrics"]["RecordsRead"];
    assert!(read.as_u64().is_some_and(|n| n > 0), "{direct}");
    for count in ["RecordsRead", "RecordsWritten", "Duplicates", "Quarantined"] {
        assert_eq!(
            through["JobRun"]["Metrics"][count], direct["JobRun"]["Metrics"][count],
            "{count}: {through} / {direct}"
        );
    }

    let seen = json_of(&server.python(&admin, READ_OUTPUT));
    let raw = seen["raw"].as_array().unwrap();
    let out = seen["out"].as_array().unwrap();
    assert_eq!(out.len(), raw.len(), "{seen}");
    let tokens: Vec<&str> = out
        .iter()
        .map(|r| r["account_number"].as_str().unwrap())
        .collect();
    assert!(tokens.iter().all(|t| t.starts_with("tok1.")), "{tokens:?}");
    for row in out {
        let hash = row["iban"].as_str().unwrap();
        assert!(
            hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
            "{row}"
        );
    }
    let mut expected: Vec<&str> = raw
        .iter()
        .map(|r| r["account_number"].as_str().unwrap())
        .collect();
    expected.sort();

    // Both backends open the tokens: the AWS backend through KMS Decrypt of the tag, the
    // lake from the same tag.
    let mut args = vec!["kms", "detokenize", "--key-id", "alias/pii-key", "--tokens"];
    args.extend(tokens.iter().copied());
    for values in [client(&server, &admin, &args), server.lakectl(&args)] {
        let mut opened: Vec<&str> = values["Values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["Value"].as_str().unwrap_or("(not opened)"))
            .collect();
        opened.sort();
        assert_eq!(opened, expected, "{values}");
    }

    // The tokens the demo's job made before the tag existed open still.
    let old = seen["old"].as_array().unwrap();
    let old_token = old
        .iter()
        .flat_map(|r| r.as_object().unwrap().values())
        .filter_map(Value::as_str)
        .find(|v| v.starts_with("tok1."))
        .unwrap_or_else(|| panic!("no token in the demo's encrypted output: {old:?}"));
    let opened = server.lakectl(&[
        "kms",
        "detokenize",
        "--key-id",
        "alias/pii-key",
        "--tokens",
        old_token,
    ]);
    assert!(opened["Values"][0]["Value"].is_string(), "{opened}");

    // The tag is set once: replacing or removing it would orphan the tokens.
    for args in [
        &[
            "kms",
            "tag-resource",
            "--key-id",
            "alias/pii-key",
            "--tags",
            "TagKey=lakectl:mask-key,TagValue=AAAA",
        ][..],
        &[
            "kms",
            "untag-resource",
            "--key-id",
            "alias/pii-key",
            "--tag-keys",
            "lakectl:mask-key",
        ],
    ] {
        let said = super::error_of(&server.aws(&admin, args));
        assert!(said.contains("TagException"), "{args:?}: {said}");
    }
}

#[test]
fn kms_tags_are_kept_listed_and_removed_as_the_key_policy_allows() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    let other = server.keys_for("other");
    server.lakectl(&["kms", "create-key", "--alias", "alias/k"]);
    json_of(&server.aws(
        &admin,
        &[
            "kms",
            "tag-resource",
            "--key-id",
            "alias/k",
            "--tags",
            "TagKey=team,TagValue=data",
            "TagKey=stage,TagValue=raw",
        ],
    ));
    // A tag given again takes the new value.
    server.lakectl(&[
        "kms",
        "tag-resource",
        "--key-id",
        "alias/k",
        "--tags",
        "TagKey=stage,TagValue=processed",
    ]);
    let listed = json_of(&server.aws(
        &admin,
        &["kms", "list-resource-tags", "--key-id", "alias/k"],
    ));
    assert_eq!(
        listed["Tags"],
        serde_json::json!([
            {"TagKey": "stage", "TagValue": "processed"},
            {"TagKey": "team", "TagValue": "data"},
        ]),
        "{listed}"
    );
    json_of(&server.aws(
        &admin,
        &[
            "kms",
            "untag-resource",
            "--key-id",
            "alias/k",
            "--tag-keys",
            "team",
        ],
    ));
    let local = server.lakectl(&["kms", "list-resource-tags", "--key-id", "alias/k"]);
    assert_eq!(
        local["Tags"],
        serde_json::json!([{"TagKey": "stage", "TagValue": "processed"}]),
        "{local}"
    );
    // Reserved keys, and a principal the key policy does not name, are refused.
    let said = super::error_of(&server.aws(
        &admin,
        &[
            "kms",
            "tag-resource",
            "--key-id",
            "alias/k",
            "--tags",
            "TagKey=aws:x,TagValue=v",
        ],
    ));
    assert!(said.contains("TagException"), "{said}");
    for args in [
        &["kms", "list-resource-tags", "--key-id", "alias/k"][..],
        &[
            "kms",
            "tag-resource",
            "--key-id",
            "alias/k",
            "--tags",
            "TagKey=mine,TagValue=v",
        ],
    ] {
        let said = super::error_of(&server.aws(&other, args));
        assert!(said.contains("AccessDenied"), "{args:?}: {said}");
    }
}
