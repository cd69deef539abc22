//! Authentication through the server, with the clients' own signers: a principal is who its
//! access key says, and a request whose key, signature or time is wrong is refused with AWS's
//! codes before it reaches any service.

use super::{Keys, Server, error_of, json_of};

#[test]
fn the_aws_cli_is_the_principal_its_key_names() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    let analyst = server.keys_for("analyst");
    let me = json_of(&server.aws(&admin, &["sts", "get-caller-identity"]));
    assert!(me["Arn"].as_str().unwrap().ends_with(":user/admin"), "{me}");
    let me = json_of(&server.aws(&analyst, &["sts", "get-caller-identity"]));
    assert!(
        me["Arn"].as_str().unwrap().ends_with(":user/analyst"),
        "{me}"
    );
    assert_eq!(me["UserId"], "analyst");

    // The audit log records who, with which key, from where (CloudTrail's userIdentity and
    // sourceIPAddress), and the entry is part of the chain.
    json_of(&server.aws(&admin, &["s3api", "create-bucket", "--bucket", "audited"]));
    let events = server.lakectl(&["audit", "list", "--principal", "admin"]);
    let made = events
        .as_array()
        .or_else(|| events["Events"].as_array())
        .expect("a list of events")
        .iter()
        .find(|e| e["EventName"] == "CreateBucket")
        .unwrap_or_else(|| panic!("no CreateBucket in {events}"))
        .clone();
    assert_eq!(
        made["Detail"]["UserIdentity"]["AccessKeyId"],
        admin.id.as_str(),
        "{made}"
    );
    assert_eq!(made["Detail"]["SourceIPAddress"], "127.0.0.1", "{made}");

    // Reads through the server are recorded too, as CloudTrail records management reads; a
    // read on the lake directly (no key, no address) is not.
    json_of(&server.aws(&admin, &["glue", "get-databases"]));
    server.lakectl(&["glue", "get-databases"]);
    let events = server.lakectl(&["audit", "list", "--principal", "admin"]);
    let reads: Vec<&serde_json::Value> = events
        .as_array()
        .or_else(|| events["Events"].as_array())
        .expect("a list of events")
        .iter()
        .filter(|e| e["EventName"] == "GetDatabases")
        .collect();
    assert_eq!(reads.len(), 1, "{events}");
    assert_eq!(
        reads[0]["Detail"]["UserIdentity"]["AccessKeyId"],
        admin.id.as_str(),
        "{events}"
    );
    assert_eq!(reads[0]["Detail"]["ReadOnly"], true, "{events}");
    assert_eq!(server.lakectl(&["audit", "verify"])["Valid"], true);
}

#[test]
fn wrong_secrets_unknown_and_inactive_keys_are_refused_with_aws_codes() {
    let server = Server::start();
    let admin = server.keys_for("admin");

    // The last character changed (to one it is not: one secret in 64 ends in `x`).
    let last = if admin.secret.ends_with('x') {
        'y'
    } else {
        'x'
    };
    let wrong = Keys {
        secret: format!("{}{last}", &admin.secret[..39]),
        ..admin.clone()
    };
    assert_ne!(wrong.secret, admin.secret);
    let said = error_of(&server.aws(&wrong, &["sts", "get-caller-identity"]));
    assert!(said.contains("SignatureDoesNotMatch"), "{said}");
    let said = error_of(&server.aws(&wrong, &["s3", "ls"]));
    assert!(said.contains("SignatureDoesNotMatch"), "{said}");

    let unknown = Keys {
        id: "AKIAAAAAAAAAAAAAAAAA".into(),
        ..admin.clone()
    };
    let said = error_of(&server.aws(&unknown, &["sts", "get-caller-identity"]));
    assert!(said.contains("InvalidClientTokenId"), "{said}");
    let said = error_of(&server.aws(&unknown, &["s3", "ls"]));
    assert!(said.contains("InvalidAccessKeyId"), "{said}");

    server.lakectl(&[
        "iam",
        "update-access-key",
        "--user-name",
        "admin",
        "--access-key-id",
        &admin.id,
        "--status",
        "Inactive",
    ]);
    let said = error_of(&server.aws(&admin, &["sts", "get-caller-identity"]));
    assert!(said.contains("InvalidClientTokenId"), "{said}");
    let said = error_of(&server.aws(&admin, &["s3", "ls"]));
    assert!(said.contains("InvalidAccessKeyId"), "{said}");
    // Made active again, the same key works: the refusal was the status, not the key.
    server.lakectl(&[
        "iam",
        "update-access-key",
        "--user-name",
        "admin",
        "--access-key-id",
        &admin.id,
        "--status",
        "Active",
    ]);
    json_of(&server.aws(&admin, &["sts", "get-caller-identity"]));
}

/// botocore signs with a clock 20 minutes slow; the server refuses the request as skewed, for
/// the query protocol and for S3 alike. Unsigned requests are refused too.
#[test]
fn stale_and_unsigned_requests_are_refused() {
    let server = Server::start();
    let admin = server.keys_for("admin");
    let script = r#"
import datetime, os, sys
from unittest import mock
import boto3, botocore.auth, botocore.exceptions
from botocore.config import Config
slow = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=20)
codes = []
with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: slow):
    for make in (lambda: boto3.client("sts", endpoint_url=os.environ["ENDPOINT"]).get_caller_identity(),
                 lambda: boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], config=Config(retries={"max_attempts": 0})).list_buckets()):
        try:
            make()
            codes.append("accepted")
        except botocore.exceptions.ClientError as e:
            codes.append(e.response["Error"]["Code"])
from botocore import UNSIGNED
for service in ("sts", "s3"):
    try:
        client = boto3.client(service, endpoint_url=os.environ["ENDPOINT"], config=Config(signature_version=UNSIGNED))
        client.get_caller_identity() if service == "sts" else client.list_buckets()
        codes.append("accepted")
    except botocore.exceptions.ClientError as e:
        codes.append(e.response["Error"]["Code"])
print(" ".join(codes))
"#;
    let out = server.python(&admin, script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "RequestTimeTooSkewed RequestTimeTooSkewed MissingAuthenticationToken AccessDenied"
    );
}
