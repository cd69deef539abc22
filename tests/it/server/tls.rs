//! TLS: off loopback the server refuses to serve plain HTTP unless told to; with a certificate
//! it speaks HTTPS only, and the AWS CLI trusting that certificate talks to it.

use std::path::Path;
use std::process::Command;

use super::{Server, json_of};
use crate::aws::venv_bin;
use crate::cli::lakectl;

/// A self-signed certificate for 127.0.0.1 and its key, made with the venv's `cryptography`
/// (which moto already needs).
fn self_signed(dir: &Path) -> (String, String) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let script = r#"
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
    .not_valid_after(now + datetime.timedelta(days=1))
    .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .sign(key, hashes.SHA256()))
open(sys.argv[1], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[2], "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
"#;
    let out = Command::new(venv_bin("python"))
        .args(["-c", script])
        .arg(&cert)
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        cert.to_str().unwrap().to_string(),
        key.to_str().unwrap().to_string(),
    )
}

#[test]
fn off_loopback_plain_http_is_refused_and_a_bad_certificate_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    crate::cli::ok(&lake, &["init"]);
    let out = lakectl(&lake)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(252), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--tls-cert") && said.contains("--insecure-http"),
        "{said}"
    );

    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let out = lakectl(&lake)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&junk)
        .arg("--tls-key")
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(252), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("certificate"),
        "{out:?}"
    );
}

#[test]
fn with_a_certificate_the_server_speaks_https_only() {
    let mut cert_path = None;
    let mut server = Server::start_with(|dir| {
        let (cert, key) = self_signed(dir);
        cert_path = Some(cert.clone());
        vec!["--tls-cert".into(), cert, "--tls-key".into(), key]
    });
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    server.ca_bundle = cert_path.map(Into::into);
    let admin = server.keys_for("admin");
    let me = json_of(&server.aws(&admin, &["sts", "get-caller-identity"]));
    assert!(me["Arn"].as_str().unwrap().ends_with(":user/admin"), "{me}");
    // Plain HTTP to the same port gets nothing an HTTP client could take for an answer.
    let plain = server.url.replace("https://", "http://");
    let out = server.aws(
        &admin,
        &[
            "--endpoint-url",
            &plain,
            "sts",
            "get-caller-identity",
            "--cli-read-timeout",
            "5",
        ],
    );
    assert!(!out.status.success(), "plain HTTP was answered");
}
