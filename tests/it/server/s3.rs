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
        &[
            "s3api",
            "head-object",
            "--bucket",
            "secure-datalake",
            "--key",
            "raw/big.bin",
        ],
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
    assert!(
        std::fs::read(&back).unwrap() == data,
        "the object read back differs"
    );

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
    assert!(
        text.contains("big.bin") && text.contains(&data.len().to_string()),
        "{text}"
    );
}

fn json_of_text(out: &std::process::Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        &[
            "s3",
            "cp",
            local.to_str().unwrap(),
            "s3://secure-datalake/raw/plain.json",
            "--sse",
            "AES256",
        ],
    ));
    assert!(said.contains("AccessDenied"), "{said}");
    json_of(&server.aws(
        &admin,
        &[
            "s3",
            "cp",
            local.to_str().unwrap(),
            "s3://secure-datalake/raw/data.json",
            "--sse",
            "aws:kms",
            "--sse-kms-key-id",
            "alias/datalake-key",
            "--only-show-errors",
        ],
    ));
    let listed = server.lakectl(&["s3api", "list-objects-v2", "--bucket", "secure-datalake"]);
    assert_eq!(listed["Contents"].as_array().unwrap().len(), 1, "{listed}");

    // The analyst has no policy on the bucket and no grant on the key.
    let out = server.aws(
        &analyst,
        &["s3", "cp", "s3://secure-datalake/raw/data.json", "-"],
    );
    let said = error_of(&out);
    assert!(
        said.contains("AccessDenied") || said.contains("403"),
        "{said}"
    );
    assert!(out.stdout.is_empty(), "the refused get printed something");
    let said = error_of(&server.aws(
        &analyst,
        &[
            "s3",
            "cp",
            local.to_str().unwrap(),
            "s3://secure-datalake/raw/mine.json",
            "--sse",
            "aws:kms",
            "--sse-kms-key-id",
            "alias/datalake-key",
        ],
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "True 200000 True\n['tables/t/part-0.parquet']"
    );
}

/// A put with a streaming signed payload (aws-chunked, each chunk signed in a chain, as the Java
/// and Rust SDKs send large bodies): stored when every chunk's signature holds, refused with
/// SignatureDoesNotMatch and nothing stored when one chunk was changed on the way. A signed put
/// whose body stops short of its Content-Length stores nothing either.
#[test]
fn streaming_signed_payloads_are_verified_chunk_by_chunk() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    server.lakectl(&["s3", "mb", "s3://chunks"]);
    let script = r#"
import datetime, hashlib, hmac, http.client, os, urllib.parse
key_id, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
host = urllib.parse.urlparse(os.environ["ENDPOINT"]).netloc
sha = lambda b: hashlib.sha256(b).hexdigest()
def mac(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
def put(key, chunks, tamper):
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{day}/us-east-1/s3/aws4_request"
    signing = mac(mac(mac(mac(("AWS4" + secret).encode(), day), "us-east-1"), "s3"), "aws4_request")
    decoded = sum(len(c) for c in chunks)
    def frame(size, sig, data): return f"{size:x};chunk-signature={sig}\r\n".encode() + data + b"\r\n"
    # The encoded length does not depend on the signatures (64 hex digits each).
    length = sum(len(frame(len(c), "0" * 64, c)) for c in chunks) + len(frame(0, "0" * 64, b""))
    headers = {"content-encoding": "aws-chunked", "content-length": str(length), "host": host,
               "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-date": amz,
               "x-amz-decoded-content-length": str(decoded)}
    names = ";".join(sorted(headers))
    canonical = "\n".join(["PUT", f"/chunks/{key}", ""] + [f"{n}:{headers[n]}" for n in sorted(headers)] + ["", names, headers["x-amz-content-sha256"]])
    seed = hmac.new(signing, f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n{sha(canonical.encode())}".encode(), hashlib.sha256).hexdigest()
    body, prev = b"", seed
    for i, data in enumerate(chunks + [b""]):
        sig = hmac.new(signing, f"AWS4-HMAC-SHA256-PAYLOAD\n{amz}\n{scope}\n{prev}\n{sha(b'')}\n{sha(data)}".encode(), hashlib.sha256).hexdigest()
        sent = data if not (tamper and i == 1) else data[:-1] + b"!"
        body += frame(len(data), sig, sent)
        prev = sig
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={names}, Signature={seed}"
    conn = http.client.HTTPConnection(host)
    conn.request("PUT", f"/chunks/{key}", body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read().decode()
def short(key):
    # UNSIGNED-PAYLOAD, Content-Length 1000, then 10 bytes and the connection closed.
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{day}/us-east-1/s3/aws4_request"
    signing = mac(mac(mac(mac(("AWS4" + secret).encode(), day), "us-east-1"), "s3"), "aws4_request")
    headers = {"content-length": "1000", "host": host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amz}
    names = ";".join(sorted(headers))
    canonical = "\n".join(["PUT", f"/chunks/{key}", ""] + [f"{n}:{headers[n]}" for n in sorted(headers)] + ["", names, "UNSIGNED-PAYLOAD"])
    sig = hmac.new(signing, f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n{sha(canonical.encode())}".encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={names}, Signature={sig}"
    conn = http.client.HTTPConnection(host)
    conn.putrequest("PUT", f"/chunks/{key}", skip_host=True, skip_accept_encoding=True)
    for n, v in headers.items():
        conn.putheader(n, v)
    conn.endheaders()
    conn.send(b"0123456789")
    conn.sock.close()
short("short.bin")
import time; time.sleep(0.5)
chunks = [os.urandom(64 * 1024), os.urandom(64 * 1024), os.urandom(1000)]
status, _ = put("good.bin", chunks, False)
print(status)
status, said = put("bad.bin", chunks, True)
print(status, "SignatureDoesNotMatch" in said)
import boto3
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
print(s3.get_object(Bucket="chunks", Key="good.bin")["Body"].read() == b"".join(chunks))
print([o["Key"] for o in s3.list_objects_v2(Bucket="chunks").get("Contents", [])])
"#;
    let out = server.python(&admin, script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "200\n403 True\nTrue\n['good.bin']"
    );
}
