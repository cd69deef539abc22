//! The server under load and faults: many clients at once, kill -9 mid-transfer, SIGTERM while a
//! request is under way, and malformed HTTP. Whatever happens, an acknowledged put reads back
//! byte for byte, nothing half-written ever appears, and the audit chain verifies.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{Server, json_of};

fn host_port(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_string()
}

/// Sends raw bytes and returns what the server answered (until it closes or 5 s pass).
fn raw(server: &Server, bytes: &[u8]) -> String {
    let mut tcp = TcpStream::connect(host_port(server)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = tcp.write_all(bytes);
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn malformed_http_gets_a_clear_error_and_the_server_stays_up() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    let said = raw(&server, b"THIS IS NOT HTTP\r\n\r\n");
    assert!(said.starts_with("HTTP/1.1 400"), "{said:?}");
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let said = raw(&server, huge.as_bytes());
    assert!(
        said.starts_with("HTTP/1.1 431") || said.is_empty(),
        "{said:?}"
    );
    // A body that ends before its Content-Length: the client goes away; nothing is stored.
    let cut = "PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly this";
    let _ = raw(&server, cut.as_bytes());
    // An unsigned API request is refused as such.
    let said = raw(
        &server,
        b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Length: 2\r\n\r\n{}",
    );
    assert!(
        said.contains("MissingAuthenticationTokenException"),
        "{said:?}"
    );
    // Still serving.
    json_of(&server.aws(&admin, &["sts", "get-caller-identity"]));
    let listed = server.lakectl(&["s3", "ls"]);
    assert_eq!(
        listed["Buckets"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );
}

#[test]
fn a_server_killed_mid_upload_leaves_no_object_and_a_chain_that_verifies() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    server.lakectl(&["s3", "mb", "s3://landing"]);
    let big = server.file("big.bin");
    std::fs::write(&big, vec![7u8; 64 * 1024 * 1024]).unwrap();
    // A multipart upload under way (one part in) and a single put streaming when the kill comes.
    let script = r#"
import os, threading, time, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
up = s3.create_multipart_upload(Bucket="landing", Key="parts.bin")
s3.upload_part(Bucket="landing", Key="parts.bin", UploadId=up["UploadId"], PartNumber=1, Body=b"x" * (5 * 1024 * 1024))
print(up["UploadId"], flush=True)
"#;
    let out = server.python(&admin, script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cp = std::process::Command::new(crate::aws::venv_bin("aws"));
    let cp = {
        server.client_env_for(&mut cp, &admin);
        cp.args([
            "s3api",
            "put-object",
            "--bucket",
            "landing",
            "--key",
            "single.bin",
            "--body",
        ])
        .arg(&big)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
    };
    std::thread::sleep(Duration::from_millis(700));
    let server = server.kill_and_restart();
    let mut cp = cp;
    let _ = cp.wait();
    let listed = server.lakectl(&["s3api", "list-objects-v2", "--bucket", "landing"]);
    assert!(
        listed["Contents"].as_array().is_none_or(Vec::is_empty),
        "a partial object is visible: {listed}"
    );
    let verified = server.lakectl(&["audit", "verify"]);
    assert_eq!(verified["Valid"], true, "{verified}");
    // The server serves again, and the upload can still be completed or aborted.
    let admin = server.keys_for("admin");
    json_of(&server.aws(&admin, &["s3", "ls", "s3://landing"]));
}

#[test]
fn sigterm_lets_the_request_under_way_finish_then_the_server_exits() {
    let mut server = Server::start();
    let admin = server.keys_for("admin");
    server.lakectl(&["s3", "mb", "s3://landing"]);
    // A presigned PUT whose body arrives slowly: SIGTERM comes while it is being sent.
    let script = r#"
import os, sys, time, http.client, urllib.parse, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], config=Config(signature_version="s3v4"))
url = urllib.parse.urlparse(s3.generate_presigned_url("put_object", Params={"Bucket": "landing", "Key": "slow.txt"}, ExpiresIn=300))
conn = http.client.HTTPConnection(url.netloc)
body = b"0123456789" * 100
conn.putrequest("PUT", url.path + "?" + url.query)
conn.putheader("Content-Length", str(len(body)))
conn.endheaders()
conn.send(body[:500])
print("sending", flush=True)
sys.stdin.readline()
conn.send(body[500:])
print(conn.getresponse().status, flush=True)
"#;
    let mut child = std::process::Command::new(crate::aws::venv_bin("python"));
    server.client_env_for(&mut child, &admin);
    let mut child = child
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line.trim(), "sending");
    let pid = server.pid();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    std::thread::sleep(Duration::from_millis(300));
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    line.clear();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(
        line.trim(),
        "200",
        "the request under way was not let finish"
    );
    let _ = child.wait();
    let status = server.wait();
    assert!(
        status.success(),
        "the server did not exit cleanly: {status:?}"
    );
    let got = server.lakectl(&[
        "s3api",
        "head-object",
        "--bucket",
        "landing",
        "--key",
        "slow.txt",
    ]);
    assert_eq!(got["ContentLength"], 1000, "{got}");
}

/// 32 clients for 30 seconds of mixed puts, gets and lists: no error at all, and every
/// acknowledged put reads back byte for byte at the end.
#[test]
fn thirty_two_clients_for_thirty_seconds_lose_nothing() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    server.lakectl(&["s3", "mb", "s3://busy"]);
    let script = r#"
import os, threading, time, hashlib, random, boto3, botocore.config
errors, acked = [], {}
lock = threading.Lock()
def client(n):
    s3 = boto3.session.Session().client("s3", endpoint_url=os.environ["ENDPOINT"],
        config=botocore.config.Config(retries={"max_attempts": 0}, max_pool_connections=2))
    rnd = random.Random(n)
    end = time.time() + 30
    i = 0
    # 30 seconds, and at least 4 puts each however loaded the machine is (a fixed amount of
    # work, so a slow machine makes the test slower, not too light to be load).
    while time.time() < end or i < 4:
        try:
            op = rnd.random()
            if op < 0.5:
                key = f"c{n}/o{i}"
                body = rnd.randbytes(rnd.choice([10, 4096, 300_000]))
                s3.put_object(Bucket="busy", Key=key, Body=body)
                with lock:
                    acked[key] = hashlib.sha256(body).hexdigest()
                i += 1
            elif op < 0.8:
                with lock:
                    keys = [k for k in acked if k.startswith(f"c{n}/")]
                if keys:
                    key = rnd.choice(keys)
                    got = s3.get_object(Bucket="busy", Key=key)["Body"].read()
                    if hashlib.sha256(got).hexdigest() != acked[key]:
                        errors.append(f"{key} differs")
            else:
                s3.list_objects_v2(Bucket="busy", Prefix=f"c{n}/")
        except Exception as e:
            errors.append(repr(e))
threads = [threading.Thread(target=client, args=(n,)) for n in range(32)]
[t.start() for t in threads]
[t.join() for t in threads]
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
for key, digest in acked.items():
    got = s3.get_object(Bucket="busy", Key=key)["Body"].read()
    if hashlib.sha256(got).hexdigest() != digest:
        errors.append(f"{key} differs at the end")
print(len(acked), len(errors), errors[:5])
"#;
    let out = server.python(&admin, script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    let mut fields = said.split_whitespace();
    let acked: usize = fields.next().unwrap().parse().unwrap();
    let errors: usize = fields.next().unwrap().parse().unwrap();
    assert_eq!(errors, 0, "{said}");
    assert!(acked > 100, "too little was done to call it load: {said}");
    let verified = server.lakectl(&["audit", "verify"]);
    assert_eq!(verified["Valid"], true, "{verified}");
}

/// Signed request heads (S3 SigV4, the payload's hash signed) for a PUT of `BODY_LEN` bytes to
/// `lengths/short` and `lengths/long`, made by botocore's own signer: the body is then sent by hand.
const SIGNED_HEADS: &str = r#"
import botocore.auth, botocore.awsrequest, botocore.session, hashlib, json, os, urllib.parse
endpoint = os.environ["ENDPOINT"]
creds = botocore.session.get_session().get_credentials()
body = b"x" * 1000
heads = {}
for key in ("short", "long"):
    req = botocore.awsrequest.AWSRequest(method="PUT", url=f"{endpoint}/lengths/{key}", data=body,
        headers={"x-amz-content-sha256": hashlib.sha256(body).hexdigest()})
    botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    headers = {k: v for k, v in req.headers.items() if k.lower() not in ("content-length", "host")}
    lines = [f"PUT /lengths/{key} HTTP/1.1", f"Host: {urllib.parse.urlparse(endpoint).netloc}",
             f"Content-Length: {len(body)}"] + [f"{k}: {v}" for k, v in headers.items()]
    heads[key] = "\r\n".join(lines) + "\r\n\r\n"
print(json.dumps(heads))
"#;

#[test]
fn a_signed_body_shorter_or_longer_than_its_content_length_stores_nothing_more() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    server.lakectl(&["s3", "mb", "s3://lengths"]);
    let heads = json_of(&server.python(&admin, SIGNED_HEADS));
    let body = vec![b'x'; 1000];

    // Shorter: the client stops after 400 of its 1,000 bytes and goes away.
    let mut short = heads["short"].as_str().unwrap().as_bytes().to_vec();
    short.extend_from_slice(&body[..400]);
    let said = raw(&server, &short);
    assert!(!said.contains(" 200 "), "{said:?}");

    // Longer: the request is the declared 1,000 bytes; what follows is a request of its own,
    // and not HTTP, so it gets a clear 400.
    let mut long = heads["long"].as_str().unwrap().as_bytes().to_vec();
    long.extend_from_slice(&body);
    long.extend_from_slice(b"GARBAGE THAT IS NOT HTTP\r\n\r\n");
    let said = raw(&server, &long);
    assert!(said.starts_with("HTTP/1.1 200"), "{said:?}");
    assert!(said.contains("HTTP/1.1 400"), "{said:?}");

    let listed = server.lakectl(&["s3api", "list-objects-v2", "--bucket", "lengths"]);
    let keys: Vec<(&str, u64)> = listed["Contents"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|o| (o["Key"].as_str().unwrap(), o["Size"].as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(keys, [("long", 1000)], "{listed}");
    assert_eq!(server.lakectl(&["audit", "verify"])["Valid"], true);
}
