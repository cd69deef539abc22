//! S3 through the server with the AWS CLI, boto3 and pyarrow: multipart transfers with SSE-KMS,
//! the seed's bucket policy, listings, presigned URLs, ranged reads, and the denials that moto
//! cannot give (it stores policies but enforces none).

use super::{Server, error_of, json_of};

/// The seed's bucket: SSE-KMS under its own key by default, and a policy refusing any put not
/// encrypted with KMS.
fn seed_bucket(server: &Server) {
    server.lakectl(&["kms", "create-key", "--alias", "alias/datalake-key"]);
    server.lakectl(&[
        "s3",
        "mb",
        "s3://secure-datalake",
        "--sse-kms-key-id",
        "alias/datalake-key",
        "--require-sse-kms",
    ]);
}

fn pattern(len: usize) -> Vec<u8> {
    // Not compressible and not periodic at any part boundary: a misplaced part shows.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn the_aws_cli_copies_40_mib_up_in_parts_and_down_again_under_the_lake_key() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    seed_bucket(&server);
    let data = pattern(40 * 1024 * 1024 + 12_345);
    let local = server.file("big.bin");
    std::fs::write(&local, &data).unwrap();

    json_of(&server.aws(
        &admin,
        &[
            "s3",
            "cp",
            local.to_str().unwrap(),
            "s3://secure-datalake/raw/big.bin",
            "--sse",
            "aws:kms",
            "--sse-kms-key-id",
            "alias/datalake-key",
            "--only-show-errors",
        ],
    ));
    let head = json_of(&server.aws(
        &admin,
        &["s3api", "head-object", "--bucket", "secure-datalake", "--key", "raw/big.bin"],
    ));
    assert_eq!(head["ContentLength"], data.len() as u64, "{head}");
    assert_eq!(head["ServerSideEncryption"], "aws:kms", "{head}");
    // Sent in parts: S3's multipart ETag ends with the number of parts.
    let tag = head["ETag"].as_str().unwrap();
    // 40 MiB and a bit in the CLI's 8 MiB parts: six of them.
    assert!(tag.trim_matches('"').ends_with("-6"), "{head}");

    let back = server.file("back.bin");
    json_of(&server.aws(
        &admin,
        &[
            "s3",
            "cp",
            "s3://secure-datalake/raw/big.bin",
            back.to_str().unwrap(),
            "--only-show-errors",
        ],
    ));
    assert!(std::fs::read(&back).unwrap() == data, "the object read back differs");

    // Nothing of it is on disk in the clear.
    let marker = &data[20 * 1024 * 1024..20 * 1024 * 1024 + 64];
    for file in crate::common::files_under(&server.lake()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "plaintext in {}",
            file.display()
        );
    }

    let listing = server.aws(&admin, &["s3", "ls", "s3://secure-datalake/raw/"]);
    let text = String::from_utf8_lossy(&json_of_text(&listing)).into_owned();
    assert!(text.contains("big.bin") && text.contains(&data.len().to_string()), "{text}");
}

fn json_of_text(out: &std::process::Output) -> Vec<u8> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout.clone()
}

#[test]
fn the_seed_policy_refuses_a_put_without_kms_and_the_analyst_reads_nothing_raw() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    let analyst = server.keys_for("analyst");
    seed_bucket(&server);
    let local = server.file("small.json");
    std::fs::write(&local, br#"{"symbol":"AMZN","price":1}"#).unwrap();

    let said = error_of(&server.aws(
        &admin,
        &["s3", "cp", local.to_str().unwrap(), "s3://secure-datalake/raw/plain.json", "--sse", "AES256"],
    ));
    assert!(said.contains("AccessDenied"), "{said}");
    json_of(&server.aws(
        &admin,
        &["s3", "cp", local.to_str().unwrap(), "s3://secure-datalake/raw/data.json", "--sse", "aws:kms", "--sse-kms-key-id", "alias/datalake-key", "--only-show-errors"],
    ));
    let listed = server.lakectl(&["s3api", "list-objects-v2", "--bucket", "secure-datalake"]);
    assert_eq!(listed["Contents"].as_array().unwrap().len(), 1, "{listed}");

    // The analyst has no policy on the bucket and no grant on the key.
    let out = server.aws(&analyst, &["s3", "cp", "s3://secure-datalake/raw/data.json", "-"]);
    let said = error_of(&out);
    assert!(said.contains("AccessDenied") || said.contains("403"), "{said}");
    assert!(out.stdout.is_empty(), "the refused get printed something");
    let said = error_of(&server.aws(
        &analyst,
        &["s3", "cp", local.to_str().unwrap(), "s3://secure-datalake/raw/mine.json", "--sse", "aws:kms", "--sse-kms-key-id", "alias/datalake-key"],
    ));
    assert!(said.contains("AccessDenied"), "{said}");
    let listed = server.lakectl(&["s3api", "list-objects-v2", "--bucket", "secure-datalake"]);
    assert_eq!(listed["Contents"].as_array().unwrap().len(), 1, "{listed}");
}

#[test]
fn presigned_urls_get_and_put_and_a_tampered_one_is_refused() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    server.lakectl(&["s3", "mb", "s3://plain"]);
    let script = r#"
import os, urllib.request, urllib.error
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], config=Config(signature_version="s3v4"))
put = s3.generate_presigned_url("put_object", Params={"Bucket": "plain", "Key": "p/one.txt"}, ExpiresIn=300)
urllib.request.urlopen(urllib.request.Request(put, data=b"presigned body", method="PUT")).read()
get = s3.generate_presigned_url("get_object", Params={"Bucket": "plain", "Key": "p/one.txt"}, ExpiresIn=300)
print(urllib.request.urlopen(get).read().decode())
bad = get.replace("one.txt", "two.txt")
try:
    urllib.request.urlopen(bad).read()
    print("accepted")
except urllib.error.HTTPError as e:
    print(e.code, "SignatureDoesNotMatch" in e.read().decode())
v2 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], config=Config(signature_version="s3"))
try:
    urllib.request.urlopen(v2.generate_presigned_url("get_object", Params={"Bucket": "plain", "Key": "p/one.txt"})).read()
    print("accepted")
except urllib.error.HTTPError as e:
    print(e.code, "Signature Version 2" in e.read().decode())
"#;
    let out = server.python(&admin, script);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "presigned body\n403 True\n403 True"
    );
}

#[test]
fn pyarrow_writes_parquet_and_reads_a_column_by_ranges() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    server.lakectl(&["s3", "mb", "s3://tables"]);
    let script = r#"
import os, pyarrow as pa, pyarrow.parquet as pq
from pyarrow import fs
s3 = fs.S3FileSystem(endpoint_override=os.environ["ENDPOINT"], scheme="http",
                     access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                     region="us-east-1")
n = 200_000
table = pa.table({"symbol": [f"S{i % 97}" for i in range(n)], "price": list(range(n))})
pq.write_table(table, "tables/t/part-0.parquet", filesystem=s3, row_group_size=50_000)
info = s3.get_file_info("tables/t/part-0.parquet")
back = pq.read_table("tables/t/part-0.parquet", filesystem=s3, columns=["price"])
print(info.size > 0, back.num_rows, sum(back.column("price").to_pylist()) == n * (n - 1) // 2)
print([f.path for f in s3.get_file_info(fs.FileSelector("tables/t"))])
"#;
    let out = server.python(&admin, script);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "True 200000 True\n['tables/t/part-0.parquet']"
    );
}
