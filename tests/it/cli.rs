//! The binary as scripts use it: exit codes, JSON shapes, headless scripts, processes killed
//! midway and processes side by side.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::common::{PASSPHRASE, blobs, files_under};

/// The binary on `lake`, with the passphrase, and no config file or principal from the user.
pub(crate) fn lakectl(lake: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lakectl"));
    c.env("LAKECTL_LAKE", lake)
        .env("LAKECTL_PASSPHRASE", PASSPHRASE)
        // The user's own config file must not steer the tests.
        .env("LAKECTL_CONFIG", lake.with_extension("no-config.toml"))
        .env_remove("LAKECTL_PRINCIPAL");
    c
}

pub(crate) fn run(lake: &Path, args: &[&str]) -> Output {
    lakectl(lake).args(args).output().unwrap()
}

/// Runs a command that must succeed; its JSON answer (null when it printed nothing).
pub(crate) fn ok(lake: &Path, args: &[&str]) -> Value {
    let out = run(lake, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// A lake with key alias/k and the seed's bucket `lake-data`.
fn seeded() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ok(&lake, &["init"]);
    ok(&lake, &["kms", "create-key", "--alias", "alias/k"]);
    ok(
        &lake,
        &[
            "s3",
            "mb",
            "s3://lake-data",
            "--sse-kms-key-id",
            "alias/k",
            "--require-sse-kms",
        ],
    );
    (dir, lake)
}

#[test]
fn exit_codes_and_errors_follow_the_aws_cli() {
    let (dir, lake) = seeded();
    // 252: the command line is wrong.
    assert_eq!(
        run(&lake, &["kms", "no-such-operation"]).status.code(),
        Some(252)
    );
    // 253: configuration: wrong passphrase, no lake.
    let out = lakectl(&lake)
        .env("LAKECTL_PASSPHRASE", "wrong")
        .args(["kms", "list-keys"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(253));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(
        err["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("wrong passphrase")
    );
    assert_eq!(
        run(&dir.path().join("none"), &["kms", "list-keys"])
            .status
            .code(),
        Some(253)
    );
    // 254: the service refused; stderr says why in AWS's shape.
    let file = dir.path().join("f.txt");
    std::fs::write(&file, "hello").unwrap();
    let out = run(
        &lake,
        &[
            "s3",
            "cp",
            file.to_str().unwrap(),
            "s3://lake-data/raw/f.txt",
        ],
    );
    assert_eq!(out.status.code(), Some(254));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["Error"]["Code"], "AccessDenied");
    let out = run(&lake, &["kms", "describe-key", "--key-id", "alias/missing"]);
    assert_eq!(out.status.code(), Some(254));
    // Malformed policy JSON: a clear error, nothing changed.
    let before = ok(&lake, &["kms", "get-key-policy", "--key-id", "alias/k"]);
    let out = run(
        &lake,
        &[
            "kms",
            "put-key-policy",
            "--key-id",
            "alias/k",
            "--policy",
            "{\"Statement\": [",
        ],
    );
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["Error"]["Code"], "MalformedPolicyDocumentException");
    assert_eq!(
        ok(&lake, &["kms", "get-key-policy", "--key-id", "alias/k"]),
        before
    );
    // A missing local file.
    let out = run(
        &lake,
        &[
            "s3",
            "cp",
            "/no/such/file",
            "s3://lake-data/raw/x",
            "--sse",
            "aws:kms",
        ],
    );
    assert_eq!(out.status.code(), Some(255));
}

#[test]
fn a_command_s_own_principal_option_is_not_the_acting_principal() {
    let (_dir, lake) = seeded();
    ok(&lake, &["iam", "create-principal", "--name", "reader"]);
    // `--principal` names the grantee; the call is still made as admin.
    let out = ok(
        &lake,
        &[
            "kms",
            "allow",
            "--key-id",
            "alias/k",
            "--principal",
            "reader",
            "--operations",
            "Decrypt",
        ],
    );
    assert!(out["Policy"].as_str().unwrap().contains("user/reader"));
    let out = run(
        &lake,
        &[
            "--as",
            "reader",
            "kms",
            "allow",
            "--key-id",
            "alias/k",
            "--principal",
            "reader",
            "--operations",
            "Encrypt",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(254),
        "the grantee cannot grant itself more"
    );
}

#[test]
fn json_has_the_aws_shapes() {
    let (dir, lake) = seeded();
    let file = dir.path().join("data.json");
    std::fs::write(&file, "{\"symbol\":\"AMZN\"}\n").unwrap();
    ok(
        &lake,
        &[
            "s3",
            "cp",
            file.to_str().unwrap(),
            "s3://lake-data/raw/",
            "--sse",
            "aws:kms",
            "--sse-kms-key-id",
            "alias/k",
        ],
    );
    let head = ok(
        &lake,
        &[
            "s3api",
            "head-object",
            "--bucket",
            "lake-data",
            "--key",
            "raw/data.json",
        ],
    );
    assert_eq!(head["ServerSideEncryption"], "aws:kms");
    assert_eq!(head["ContentLength"], 18);
    assert!(
        head["SSEKMSKeyId"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:kms:")
    );
    assert!(head["ETag"].as_str().unwrap().starts_with('"'));
    let list = ok(
        &lake,
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            "lake-data",
            "--prefix",
            "raw/",
        ],
    );
    assert_eq!(list["Contents"][0]["Key"], "raw/data.json");
    assert_eq!(list["Contents"][0]["Size"], 18);
    let key = ok(&lake, &["kms", "describe-key", "--key-id", "alias/k"]);
    assert_eq!(key["KeyMetadata"]["KeyState"], "Enabled");
    assert_eq!(key["KeyMetadata"]["KeyManager"], "CUSTOMER");
    let enc = ok(
        &lake,
        &["s3api", "get-bucket-encryption", "--bucket", "lake-data"],
    );
    assert_eq!(
        enc["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
            ["SSEAlgorithm"],
        "aws:kms"
    );
    let policy = ok(
        &lake,
        &["s3api", "get-bucket-policy", "--bucket", "lake-data"],
    );
    let doc: Value = serde_json::from_str(policy["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(doc["Statement"][0]["Sid"], "DenyIncorrectEncryptionHeader");
    let keys = ok(&lake, &["kms", "list-aliases"]);
    assert!(
        keys["Aliases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["AliasName"] == "alias/k")
    );
}

#[test]
fn transfers_go_every_way_and_downloads_land_whole() {
    let (dir, lake) = seeded();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("nested")).unwrap();
    std::fs::write(src.join("a.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(src.join("nested/b.csv"), vec![b'z'; 200_000]).unwrap();
    let kms = ["--sse", "aws:kms", "--sse-kms-key-id", "alias/k"];
    let mut args = vec![
        "s3",
        "cp",
        src.to_str().unwrap(),
        "s3://lake-data/raw/",
        "--recursive",
    ];
    args.extend(kms);
    let up = ok(&lake, &args);
    assert_eq!(up["Transfers"].as_array().unwrap().len(), 2);
    let ls = ok(&lake, &["s3", "ls", "s3://lake-data/raw/"]);
    assert_eq!(ls["CommonPrefixes"][0]["Prefix"], "raw/nested/");
    assert_eq!(ls["Contents"][0]["Key"], "raw/a.csv");
    // Bucket to bucket, then down again, recursively.
    let mut args = vec![
        "s3",
        "cp",
        "s3://lake-data/raw/",
        "s3://lake-data/copy/",
        "--recursive",
    ];
    args.extend(kms);
    ok(&lake, &args);
    let out = dir.path().join("out");
    ok(
        &lake,
        &[
            "s3",
            "cp",
            "s3://lake-data/copy/",
            out.to_str().unwrap(),
            "--recursive",
        ],
    );
    assert_eq!(
        std::fs::read(out.join("nested/b.csv")).unwrap(),
        vec![b'z'; 200_000]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("a.csv")).unwrap(),
        "a,b\n1,2\n"
    );
    // stdin in, stdout out.
    let mut child = lakectl(&lake)
        .args([
            "s3",
            "cp",
            "-",
            "s3://lake-data/raw/stdin.txt",
            "--sse",
            "aws:kms",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from a pipe")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let out = run(&lake, &["s3", "cp", "s3://lake-data/raw/stdin.txt", "-"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("from a pipe"));
    // A refused download leaves no file behind.
    ok(&lake, &["kms", "disable-key", "--key-id", "alias/k"]);
    let dest = dir.path().join("refused.csv");
    assert_eq!(
        run(
            &lake,
            &[
                "s3",
                "cp",
                "s3://lake-data/raw/a.csv",
                dest.to_str().unwrap()
            ]
        )
        .status
        .code(),
        Some(254)
    );
    assert!(!dest.exists());
    assert!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with(".lakectl"))
    );
    // Nor does a refused download to stdout print anything of the object.
    let out = run(&lake, &["s3", "cp", "s3://lake-data/raw/stdin.txt", "-"]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A tampered body: what reached stdout before the error is the object's own bytes, never
    // the tampered chunk or anything after it.
    ok(&lake, &["kms", "enable-key", "--key-id", "alias/k"]);
    let body = vec![b'a'; 300_000];
    let src = dir.path().join("big.txt");
    std::fs::write(&src, &body).unwrap();
    let before = blobs(&lake);
    let mut args = vec![
        "s3",
        "cp",
        src.to_str().unwrap(),
        "s3://lake-data/raw/big.txt",
    ];
    args.extend(kms);
    ok(&lake, &args);
    let blob = blobs(&lake)
        .into_iter()
        .find(|b| !before.contains(b))
        .unwrap();
    let mut sealed = std::fs::read(&blob).unwrap();
    let middle = sealed.len() / 2;
    sealed[middle] ^= 0x01;
    std::fs::write(&blob, &sealed).unwrap();
    let out = run(&lake, &["s3", "cp", "s3://lake-data/raw/big.txt", "-"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("InvalidCiphertextException"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.len() < body.len() / 2 + 70_000,
        "{}",
        out.stdout.len()
    );
    assert!(out.stdout.iter().all(|&b| b == b'a'), "garbage on stdout");
}

#[test]
fn a_headless_script_prints_a_json_line_per_command_and_stops_at_the_first_failure() {
    let (dir, lake) = seeded();
    let script = dir.path().join("s.lake");
    std::fs::write(
        &script,
        "# a comment\n\nkms list-keys\niam create-principal --name $WHO\ns3 rb s3://no-such-bucket\nkms list-aliases\n",
    )
    .unwrap();
    let out = lakectl(&lake)
        .env("WHO", "analyst")
        .args(["--headless", "--script", script.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(254));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["line"], 3);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[1]["result"]["User"]["UserName"], "analyst");
    assert_eq!(lines[2]["ok"], false);
    assert_eq!(lines[2]["error"]["Code"], "NoSuchBucket");
    let out = lakectl(&lake)
        .args(["--headless", "--keep-going"])
        .stdin(std::fs::File::open(&script).unwrap())
        .env("WHO", "analyst")
        .output()
        .unwrap();
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1]["error"]["Code"], "EntityAlreadyExists");
    assert_eq!(lines[3]["ok"], true);
}

#[test]
fn an_upload_killed_midway_leaves_nothing_visible() {
    let (_dir, lake) = seeded();
    let mut child = lakectl(&lake)
        .args([
            "s3",
            "cp",
            "-",
            "s3://lake-data/raw/big.bin",
            "--sse",
            "aws:kms",
            "--sse-kms-key-id",
            "alias/k",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let chunk = vec![7u8; 1 << 20];
    for _ in 0..8 {
        stdin.write_all(&chunk).unwrap();
    }
    // The upload is under way: its body is being written under tmp/.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while files_under(&lake.join("tmp")).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!files_under(&lake.join("tmp")).is_empty());
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    let list = ok(
        &lake,
        &["s3api", "list-objects-v2", "--bucket", "lake-data"],
    );
    assert_eq!(list["KeyCount"], 0, "{list}");
    assert_eq!(
        run(
            &lake,
            &[
                "s3api",
                "head-object",
                "--bucket",
                "lake-data",
                "--key",
                "raw/big.bin"
            ]
        )
        .status
        .code(),
        Some(254)
    );
    // The lake swept the abandoned body when it was opened again.
    assert!(files_under(&lake.join("tmp")).is_empty());
    assert!(blobs(&lake).is_empty());
}

#[test]
fn two_processes_on_one_lake_do_not_corrupt_it() {
    let (dir, lake) = seeded();
    let file = dir.path().join("f.bin");
    std::fs::write(&file, vec![3u8; 100_000]).unwrap();
    let mut children = Vec::new();
    for who in ["a", "b"] {
        let script: String = (0..15)
            .map(|i| format!("s3 cp {} s3://lake-data/{who}/{i}.bin --sse aws:kms --sse-kms-key-id alias/k\n", file.display()))
            .collect();
        let path = dir.path().join(format!("{who}.lake"));
        std::fs::write(&path, script).unwrap();
        children.push(
            lakectl(&lake)
                .args(["--headless", "--script", path.to_str().unwrap()])
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let list = ok(
        &lake,
        &["s3api", "list-objects-v2", "--bucket", "lake-data"],
    );
    assert_eq!(list["KeyCount"], 30);
    assert_eq!(blobs(&lake).len(), 30);
    let v = ok(&lake, &["audit", "verify"]);
    assert_eq!(v["Valid"], true);
}

/// A command on a demo lake, which must succeed; its JSON answer.
fn on_demo_lake(lake: &std::path::Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_lakectl"))
        .args(["--lake", lake.to_str().unwrap()])
        .args(args)
        .env("LAKECTL_PASSPHRASE", "demo")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout).unwrap()
}

#[test]
fn the_demo_loads_both_seed_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_lakectl"))
        .args(["--lake", lake.to_str().unwrap(), "demo"])
        .env_remove("LAKECTL_PASSPHRASE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let demo = |args: &[&str]| on_demo_lake(&lake, args);
    let buckets = demo(&["s3", "ls"]);
    let names: Vec<&str> = buckets["Buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["lake-query-results", "pii-datalake", "secure-datalake"]
    );
    let raw = demo(&[
        "s3api",
        "head-object",
        "--bucket",
        "secure-datalake",
        "--key",
        "raw/data.json",
    ]);
    assert_eq!(raw["ServerSideEncryption"], "aws:kms");
    // Seed 2's tables came from the demo's source database, through a DMS task.
    let pii = demo(&["s3", "ls", "s3://pii-datalake/raw/", "--recursive"]);
    let keys: Vec<&str> = pii["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "raw/shop/bank/LOAD00000001.csv",
            "raw/shop/credit_cards/LOAD00000001.csv",
            "raw/shop/customers/LOAD00000001.csv"
        ]
    );
    let loaded = demo(&[
        "dms",
        "describe-table-statistics",
        "--replication-task-arn",
        "pii-load",
    ]);
    let rows: Vec<(&str, u64)> = loaded["TableStatistics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["TableName"].as_str().unwrap(),
                t["FullLoadRows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("bank", 200), ("credit_cards", 200), ("customers", 200)],
        "{loaded}"
    );
    // Seed 1's pipeline ran: the crawler made `processed` from the job's Parquet.
    let table = demo(&[
        "glue",
        "get-table",
        "--database",
        "lakeformation-glue-catalog-db",
        "--name",
        "processed",
    ]);
    let columns: Vec<&str> = table["Table"]["StorageDescriptor"]["Columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        [
            "trade_id", "symbol", "side", "quantity", "price", "trader", "ts"
        ]
    );
    let runs = demo(&["glue", "get-job-runs", "--job-name", "raw-to-processed"]);
    assert_eq!(runs["JobRuns"][0]["Metrics"]["Duplicates"], 20);
    assert_eq!(runs["JobRuns"][0]["Metrics"]["Quarantined"], 1);
    // Seed 2's masked copies are cataloged beside the raw tables.
    let tables = demo(&["glue", "get-tables", "--database", "pii_db"]);
    assert_eq!(
        tables["TableList"].as_array().unwrap().len(),
        9,
        "raw_, masked_ and encrypted_ tables"
    );
    // Seed 1's last step: the analyst, granted only `symbol`, queries the table and sees only it.
    let seen = demo(&[
        "--as",
        "analyst",
        "athena",
        "query",
        "SELECT * FROM \"lakeformation-glue-catalog-db\".processed",
    ]);
    assert_eq!(seen["Columns"], serde_json::json!(["symbol"]));
    assert!(seen["Rows"].as_array().unwrap().len() > 100);
    let findings = demo(&["macie2", "list-findings"]);
    assert_eq!(
        findings["findingIds"].as_array().unwrap().len(),
        3,
        "one per raw table"
    );
}

#[test]
fn the_demo_replicates_the_masking_scenario_from_postgresql_when_given_one() {
    let db = crate::postgres::database("demo");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("demo");
    let url = format!(
        "postgres://{}:{}@127.0.0.1:{}/{}",
        db.user, db.password, db.port, db.name
    );
    let out = Command::new(env!("CARGO_BIN_EXE_lakectl"))
        .args(["--lake", lake.to_str().unwrap(), "demo"])
        .env("LAKECTL_SOURCE_URL", &url)
        .env_remove("LAKECTL_PASSPHRASE")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(!said.contains(&db.password), "{said}");
    // The tables were made in the source, and the task read them from there.
    assert_eq!(db.sql("SELECT count(*) FROM bank").trim(), "200");
    let lakectl = |args: &[&str]| on_demo_lake(&lake, args);
    let endpoints = lakectl(&["dms", "describe-endpoints"]);
    let source = endpoints["Endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["EndpointIdentifier"] == "pii-source")
        .unwrap_or_else(|| panic!("{endpoints}"));
    assert_eq!(source["EngineName"], "postgres", "{endpoints}");
    assert!(!endpoints.to_string().contains(&db.password));
    let tables = lakectl(&["glue", "get-tables", "--database", "pii_db"]);
    assert_eq!(tables["TableList"].as_array().unwrap().len(), 9, "{tables}");
    // The analyst reads masked account numbers of GB accounts only.
    let seen = lakectl(&[
        "--as",
        "business-analyst",
        "athena",
        "query",
        "SELECT iban, bank_country FROM pii_db.masked_bank",
    ]);
    let rows = seen["Rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "{seen}");
    assert!(rows.iter().all(|r| r[1] == "GB"), "{seen}");
    // Nothing of the source, and not its password, is in the clear under the lake.
    let iban = db.sql("SELECT iban FROM bank WHERE customer_id = 1");
    crate::common::assert_nowhere_under(&lake, &[iban.trim(), &db.password]);
}

#[test]
fn completions_and_the_man_page_come_from_the_command_tree() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&lake, &["completion", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        // Every service and a deep operation: the scripts are generated, not written by hand.
        for word in [
            "kms",
            "lakeformation",
            "grant-permissions",
            "start-query-execution",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let man = run(&lake, &["man"]);
    assert!(man.status.success());
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(
        page.contains(".TH lakectl 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(page.contains("config.toml"));
    // Neither is a command the console's `:` line or a script runs.
    assert!(lakectl::cli::parse_line("completion bash").is_err());
    assert!(lakectl::cli::parse_line("man").is_err());
}

#[test]
fn the_config_file_sets_defaults_that_flags_override() {
    let (dir, lake) = seeded();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("lake = {:?}\noutput = \"table\"\n", lake.to_str().unwrap()),
    )
    .unwrap();
    let with_config = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lakectl"))
            .env_remove("LAKECTL_LAKE")
            .env("LAKECTL_PASSPHRASE", PASSPHRASE)
            .env("LAKECTL_CONFIG", &config)
            .args(args)
            .output()
            .unwrap()
    };
    // The lake and the output format come from the file: a table naming the bucket.
    let out = with_config(&["s3", "ls"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("lake-data") && !text.trim_start().starts_with('{'),
        "{text}"
    );
    // A flag wins over the file.
    let out = with_config(&["--output", "json", "s3", "ls"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Buckets"][0]["Name"], "lake-data");
    let elsewhere = dir.path().join("elsewhere");
    let out = with_config(&["--lake", elsewhere.to_str().unwrap(), "s3", "ls"]);
    assert_eq!(out.status.code(), Some(253));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a lake"));
    // A misspelt key is refused with the file's name, not ignored.
    std::fs::write(&config, "regoin = \"eu-west-1\"\n").unwrap();
    let out = with_config(&["s3", "ls"]);
    assert_eq!(out.status.code(), Some(253));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("regoin") && err.contains("config.toml"),
        "{err}"
    );
    // The console's colours live in the same file; a colour that does not parse is refused too.
    std::fs::write(
        &config,
        format!(
            "lake = {:?}\n[theme]\naccent = \"magenta\"\n",
            lake.to_str().unwrap()
        ),
    )
    .unwrap();
    assert!(with_config(&["s3", "ls"]).status.success());
    std::fs::write(&config, "[theme]\naccent = \"blood\"\n").unwrap();
    let out = with_config(&["s3", "ls"]);
    assert_eq!(out.status.code(), Some(253));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("blood") && err.contains("is not a colour"),
        "{err}"
    );
}
