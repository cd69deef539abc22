//! The awsJson1.1 services (KMS, Glue, Athena, CloudTrail) through the lake server: boto3 runs
//! the first seed's scenario as the admin's keys, the analyst's query sees only what it was
//! granted, the denials moto cannot give are given, and the wire's shapes are AWS's (timestamps
//! as numbers, a missing member a ValidationException).

use serde_json::Value;

use super::{Server, error_of, json_of};

/// The admin's part of the seed, through boto3: key, bucket, raw data, Glue security
/// configuration, database, job and run, crawler and crawl. Prints the key's ARN.
const SCENARIO: &str = r#"
import boto3, datetime, json, os, sys, time
kw = dict(endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
kms, s3, glue = (boto3.client(s, **kw) for s in ("kms", "s3", "glue"))
key = kms.create_key(Description="Encrypts the data lake")["KeyMetadata"]
assert isinstance(key["CreationDate"], datetime.datetime), key
kms.create_alias(AliasName="alias/datalake-key", TargetKeyId=key["KeyId"])
assert kms.describe_key(KeyId="alias/datalake-key")["KeyMetadata"]["Arn"] == key["Arn"]
s3.create_bucket(Bucket="secure-datalake")
s3.put_object(Bucket="secure-datalake", Key="raw/data.json", Body=open(sys.argv[1], "rb").read(),
              ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/datalake-key")
glue.create_security_configuration(Name="datalake-security-config", EncryptionConfiguration={
    "S3Encryption": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key["Arn"]}]})
glue.create_database(DatabaseInput={"Name": "lakeformation-glue-catalog-db"})
definition = {"Name": "raw-to-processed", "Source": "s3://secure-datalake/raw/",
    "Target": "s3://secure-datalake/processed/", "Dedup": True,
    "SecurityConfiguration": "datalake-security-config", "Masks": [], "FromFindings": None,
    "Role": "admin", "TimeoutMinutes": None}
glue.create_job(Name="raw-to-processed", Role="arn:aws:iam::000000000000:role/admin",
    Command={"Name": "glueetl", "ScriptLocation": "s3://secure-datalake/unused.py"},
    DefaultArguments={"--lakectl-definition": json.dumps(definition)},
    SecurityConfiguration="datalake-security-config")
run_id = glue.start_job_run(JobName="raw-to-processed")["JobRunId"]
deadline = time.time() + 120
while True:
    run = glue.get_job_run(JobName="raw-to-processed", RunId=run_id)["JobRun"]
    if run["JobRunState"] not in ("STARTING", "RUNNING"):
        break
    assert time.time() < deadline, run
    time.sleep(0.2)
assert run["JobRunState"] == "SUCCEEDED", run
assert isinstance(run["StartedOn"], datetime.datetime), run
glue.create_crawler(Name="processed-crawler", Role="admin", DatabaseName="lakeformation-glue-catalog-db",
    Targets={"S3Targets": [{"Path": "s3://secure-datalake/processed/"}]},
    CrawlerSecurityConfiguration="datalake-security-config")
glue.start_crawler(Name="processed-crawler")
while True:
    crawler = glue.get_crawler(Name="processed-crawler")["Crawler"]
    if crawler["State"] == "READY" and "LastCrawl" in crawler:
        break
    assert time.time() < deadline, crawler
    time.sleep(0.2)
assert crawler["LastCrawl"]["Status"] == "SUCCEEDED", crawler
tables = [t["Name"] for t in glue.get_tables(DatabaseName="lakeformation-glue-catalog-db")["TableList"]]
assert tables == ["processed"], tables
events = boto3.client("cloudtrail", **kw).lookup_events(
    LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "StartJobRun"}])["Events"]
assert [e["Username"] for e in events] == ["admin"], events
assert isinstance(events[0]["EventTime"], datetime.datetime), events
print(key["Arn"])
"#;

/// The analyst's queries through boto3: prints the first query's columns, then the refused
/// query's error code and message, then the admin's execution's error code.
const ANALYST: &str = r#"
import boto3, os, sys, time
athena = boto3.client("athena", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
ctx = {"Database": "lakeformation-glue-catalog-db"}
qid = athena.start_query_execution(QueryString="SELECT * FROM processed", QueryExecutionContext=ctx)["QueryExecutionId"]
while True:
    status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
    if status["State"] not in ("QUEUED", "RUNNING"):
        break
    time.sleep(0.1)
assert status["State"] == "SUCCEEDED", status
rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]
print(",".join(c["Name"] for c in rows["ResultSetMetadata"]["ColumnInfo"]))
assert rows["Rows"][0]["Data"] == [{"VarCharValue": "symbol"}], rows["Rows"][0]
assert len(rows["Rows"]) > 1, rows
try:
    qid = athena.start_query_execution(QueryString="SELECT price FROM processed", QueryExecutionContext=ctx)["QueryExecutionId"]
    while True:
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if status["State"] not in ("QUEUED", "RUNNING"):
            break
        time.sleep(0.1)
    print("STATE", status["State"], status.get("StateChangeReason", "").replace("\n", " "))
except athena.exceptions.ClientError as e:
    print(e.response["Error"]["Code"], e.response["Error"]["Message"].replace("\n", " "))
try:
    athena.get_query_execution(QueryExecutionId=sys.argv[1])
    print("FOUND")
except athena.exceptions.ClientError as e:
    print(e.response["Error"]["Code"])
"#;

fn python_with(server: &Server, keys: &super::Keys, script: &str, args: &[&str]) -> String {
    let mut cmd = std::process::Command::new(crate::aws::venv_bin("python"));
    server.client_env_for(&mut cmd, keys);
    let out = cmd.arg("-c").arg(script).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn start_query(server: &Server, keys: &super::Keys, sql: &str) -> Value {
    json_of(&server.aws(
        keys,
        &[
            "athena",
            "start-query-execution",
            "--query-string",
            sql,
            "--query-execution-context",
            "Database=lakeformation-glue-catalog-db",
        ],
    ))
}

#[test]
fn boto3_runs_the_first_seed_through_the_server_and_the_analyst_sees_only_symbol() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    let analyst = server.keys_for("analyst");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/data.json");
    let key_arn = python_with(&server, &admin, SCENARIO, &[data]);
    assert!(key_arn.trim().starts_with("arn:aws:kms:"), "{key_arn}");

    // The analyst's side of the seed (Lake Formation's protocol is another's): results bucket,
    // work group, policies and the one column grant, on the lake directly.
    for args in [
        &[
            "s3",
            "mb",
            "s3://lake-query-results",
            "--sse-kms-key-id",
            "alias/datalake-key",
        ][..],
        &[
            "athena",
            "create-work-group",
            "--name",
            "primary",
            "--output-location",
            "s3://lake-query-results/",
            "--sse-kms-key-id",
            "alias/datalake-key",
        ],
        &[
            "kms",
            "allow",
            "--key-id",
            "alias/datalake-key",
            "--principal",
            "analyst",
            "--operations",
            "Encrypt,Decrypt,GenerateDataKey",
        ],
        &[
            "lakeformation",
            "grant-permissions",
            "--principal",
            "analyst",
            "--permissions",
            "SELECT",
            "--table",
            "lakeformation-glue-catalog-db.processed",
            "--columns",
            "symbol",
        ],
        &[
            "iam",
            "attach-user-policy",
            "--user-name",
            "analyst",
            "--policy-arn",
            "arn:aws:iam::aws:policy/AmazonAthenaFullAccess",
        ],
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "analyst",
            "--policy-name",
            "own-results",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::lake-query-results/${aws:username}/*"},{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::secure-datalake/processed/*"},{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::secure-datalake"}]}"#,
        ],
    ] {
        server.lakectl(args);
    }
    // The admin's own query, whose id the analyst then asks about.
    let admin_query = start_query(&server, &admin, "SELECT symbol FROM processed");
    let admin_id = admin_query["QueryExecutionId"].as_str().unwrap();

    let said = python_with(&server, &analyst, ANALYST, &[admin_id]);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines[0], "symbol", "{said}");
    // The column not granted is refused, and the refusal carries no value of the data.
    assert!(!lines[1].contains("SUCCEEDED"), "{said}");
    let data_text = std::fs::read_to_string(data).unwrap();
    let first: Value = serde_json::from_str(data_text.lines().next().unwrap()).unwrap();
    let price = first["price"].to_string();
    assert!(
        !lines[1].contains(&price),
        "the refusal carries a value: {said}"
    );
    // Another principal's execution does not exist for the analyst.
    assert!(
        lines[2].contains("InvalidRequestException") || lines[2].contains("NotFound"),
        "{said}"
    );
}

#[test]
fn a_disabled_key_refuses_data_keys_and_decryption_through_kms() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    server.lakectl(&["kms", "create-key", "--alias", "alias/k"]);
    let made = json_of(&server.aws(
        &admin,
        &[
            "kms",
            "generate-data-key",
            "--key-id",
            "alias/k",
            "--key-spec",
            "AES_256",
            "--encryption-context",
            "purpose=test",
        ],
    ));
    let blob = made["CiphertextBlob"].as_str().unwrap();
    let file = server.file("blob");
    use base64::Engine;
    std::fs::write(
        &file,
        base64::engine::general_purpose::STANDARD
            .decode(blob)
            .unwrap(),
    )
    .unwrap();
    let blob_arg = format!("fileb://{}", file.display());
    let opened = json_of(&server.aws(
        &admin,
        &[
            "kms",
            "decrypt",
            "--ciphertext-blob",
            &blob_arg,
            "--encryption-context",
            "purpose=test",
        ],
    ));
    assert_eq!(opened["Plaintext"], made["Plaintext"]);
    // Another context does not open it.
    let e = error_of(&server.aws(
        &admin,
        &[
            "kms",
            "decrypt",
            "--ciphertext-blob",
            &blob_arg,
            "--encryption-context",
            "purpose=other",
        ],
    ));
    assert!(e.contains("InvalidCiphertextException"), "{e}");

    server.lakectl(&["kms", "disable-key", "--key-id", "alias/k"]);
    let e = error_of(&server.aws(
        &admin,
        &[
            "kms",
            "generate-data-key",
            "--key-id",
            "alias/k",
            "--key-spec",
            "AES_256",
        ],
    ));
    assert!(e.contains("DisabledException"), "{e}");
    let e = error_of(&server.aws(
        &admin,
        &[
            "kms",
            "decrypt",
            "--ciphertext-blob",
            &blob_arg,
            "--encryption-context",
            "purpose=test",
        ],
    ));
    assert!(e.contains("DisabledException"), "{e}");
    // A principal the key policy does not name gets no data key either.
    let other = server.keys_for("someone");
    server.lakectl(&["kms", "enable-key", "--key-id", "alias/k"]);
    let e = error_of(&server.aws(
        &other,
        &[
            "kms",
            "generate-data-key",
            "--key-id",
            "alias/k",
            "--key-spec",
            "AES_256",
        ],
    ));
    assert!(e.contains("AccessDenied"), "{e}");
}

/// Timestamps to the second: the wire carries epoch seconds as a double, which the SDK rounds.
fn to_millis(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                *v = Value::from(t.timestamp());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_millis),
        Value::Object(map) => map.values_mut().for_each(to_millis),
        _ => {}
    }
}

#[test]
fn lakectl_on_the_aws_backend_answers_as_lakectl_on_the_lake() {
    let server = Server::start_demo();
    let admin = server.keys_for("admin");
    for command in [
        &["kms", "list-keys"][..],
        &["kms", "list-aliases"],
        &["glue", "get-databases"],
        &[
            "glue",
            "get-tables",
            "--database",
            "lakeformation-glue-catalog-db",
        ],
        &["athena", "list-work-groups"],
    ] {
        let mut direct = server.lakectl(command);
        let mut through = json_of(&server.lakectl_client(&admin, command));
        to_millis(&mut direct);
        to_millis(&mut through);
        assert_eq!(through, direct, "{command:?}");
    }
}

#[test]
fn the_wire_has_awss_shapes_and_errors() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    server.lakectl(&["kms", "create-key", "--alias", "alias/k"]);
    let script = r#"
import boto3, botocore.auth, botocore.awsrequest, botocore.session, datetime, json, os, urllib.error, urllib.request
kw = dict(endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
kms = boto3.client("kms", **kw)
meta = kms.describe_key(KeyId="alias/k")["KeyMetadata"]
print(type(meta["CreationDate"]).__name__)
# The raw wire: CreationDate is a number.
session = botocore.session.get_session()
request = botocore.awsrequest.AWSRequest(method="POST", url=os.environ["ENDPOINT"] + "/",
    data=json.dumps({"KeyId": "alias/k"}),
    headers={"X-Amz-Target": "TrentService.DescribeKey", "Content-Type": "application/x-amz-json-1.1"})
botocore.auth.SigV4Auth(session.get_credentials(), "kms", "us-east-1").add_auth(request)
raw = urllib.request.urlopen(urllib.request.Request(request.url, data=request.body, headers=dict(request.headers), method="POST")).read()
print(type(json.loads(raw)["KeyMetadata"]["CreationDate"]).__name__)
def code(target, body, service="kms"):
    request = botocore.awsrequest.AWSRequest(method="POST", url=os.environ["ENDPOINT"] + "/", data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
    botocore.auth.SigV4Auth(session.get_credentials(), service, "us-east-1").add_auth(request)
    try:
        urllib.request.urlopen(urllib.request.Request(request.url, data=request.body, headers=dict(request.headers), method="POST"))
        return "OK"
    except urllib.error.HTTPError as e:
        return json.loads(e.read())["__type"]
print(code("TrentService.DescribeKey", "{}"))
print(code("TrentService.DescribeKey", '{"KeyId": 5}'))
print(code("TrentService.NoSuchThing", "{}"))
print(code("AWSGlue.GetDatabases", "{}"))
print(code("TrentService.TagResource", '{"KeyId": "alias/k", "Tags": [{"TagKey": "aws:x", "TagValue": "v"}]}'))
print(code("AWSGlue.GetDatabases", "{}", "glue"))
"#;
    let out = server.python(&admin, script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(
        lines,
        [
            "datetime",
            "float",
            "ValidationException",
            "SerializationException",
            "UnknownOperationException",
            // Signed for kms, aimed at Glue: not a pass to another service.
            "UnknownOperationException",
            // KMS's own code for a tag it refuses (aws: is reserved).
            "TagException",
            "OK",
        ],
        "{said}"
    );
}
