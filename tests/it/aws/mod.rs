//! The AWS backend against moto: a real HTTP server speaking the AWS APIs, started once per test
//! process on 127.0.0.1 and installed into a venv (under the user's cache directory) when it is
//! missing, so `cargo test` needs nothing beforehand but Python. The same venv holds the real
//! clients the server tests drive (the AWS CLI v1, boto3, pyarrow): see [`venv_bin`]. moto stores policies and grants
//! without enforcing them, so the tests assert what was sent and what reads back; where moto has
//! nothing (Macie2, data cells filters), `aws-smithy-mocks` answers with AWS's response shapes.

mod catalog;
mod console;
mod dms;
mod edges;
mod events;
mod glue_spark;
mod iam;
mod in_lakectl;
mod mocked;
mod multipart;
mod scenarios;
mod secrets;
mod storage;
mod venv;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::Credentials;
use lakectl::aws::{Aws, Clients, Connection};
use lakectl::service::Services;
use lakectl::service::keys::CreateKey;
use lakectl::service::storage::CreateBucket;

/// What the venv holds, pinned to versions that resolve together: moto the tests were written
/// against, and the clients the server tests drive. awscli v1 and boto3 each pin a botocore
/// range; these two share botocore 1.44.8, which moto accepts. pyspark is Glue 5.0's Spark
/// (3.5.4; Python 3.11 and Java 17, as on these machines), for running the generated Glue
/// script (glue_spark.rs); cryptography is the version a tokenizing Glue job installs.
const PACKAGES: &[&str] = &[
    "moto[server]==5.2.5",
    "awscli==1.46.3",
    "boto3==1.44.8",
    "botocore==1.44.8",
    "pyarrow==26.0.1",
    "cryptography==50.0.2",
    "pyspark==3.5.4",
    "pandas==2.2.3",
];
pub const REGION: &str = "eu-west-1";
pub const ACCOUNT: &str = "123456789012";

pub struct Moto {
    pub url: String,
    /// Closing its stdin (when the test process ends) stops the server.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

fn venv() -> PathBuf {
    std::env::var_os("LAKECTL_MOTO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            dirs::cache_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("lakectl")
                .join("moto-venv")
        })
}

/// Creates the venv and installs [`PACKAGES`], once, under a lock (other test processes may
/// race). The marker records the package list, so a venv made for another list (an older one,
/// moto alone) is brought up to this one once.
fn install(venv: &PathBuf) -> PathBuf {
    let python = venv.join("bin").join("python");
    let marker = venv.join(".lakectl-moto");
    let wanted = PACKAGES.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        return python;
    }
    std::fs::create_dir_all(venv.parent().unwrap()).unwrap();
    let lock = std::fs::File::create(venv.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    if !std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
        assert!(
            ok(Command::new("python3").args(["-m", "venv"]).arg(venv)),
            "python3 -m venv {} failed: the AWS tests need Python 3 with venv",
            venv.display()
        );
        assert!(
            ok(Command::new(&python)
                .args(["-m", "pip", "install", "--quiet"])
                .args(PACKAGES)),
            "pip could not install {PACKAGES:?} into {}",
            venv.display()
        );
        std::fs::write(&marker, &wanted).unwrap();
    }
    python
}

/// A program of the test venv (`venv_bin("aws")`, `venv_bin("python")`), installed first if
/// the venv is missing or older than [`PACKAGES`].
pub fn venv_bin(name: &str) -> PathBuf {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    let venv = INSTALLED.get_or_init(|| {
        let venv = venv();
        install(&venv);
        venv
    });
    venv.join("bin").join(name)
}

const SERVER: &str = r#"
import os, sys, threading
def watch():
    sys.stdin.read()
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
from moto.server import main
main(["-H", "127.0.0.1", "-p", "0"])
"#;

pub fn moto() -> &'static Moto {
    static MOTO_SERVER: OnceLock<Moto> = OnceLock::new();
    MOTO_SERVER.get_or_init(|| {
        let python = venv_bin("python");
        let mut child = Command::new(python)
            .args(["-c", SERVER])
            // `iam attach-user-policy` attaches AWS managed policies (ReadOnlyAccess, ...),
            // which moto knows only when told to load them.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto starts");
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port_re = regex::Regex::new(r"http://127\.0\.0\.1:(\d+)").unwrap();
        let url = loop {
            let line = lines.next().expect("moto said where it listens").unwrap();
            if let Some(c) = port_re.captures(&line) {
                break format!("http://127.0.0.1:{}", &c[1]);
            }
        };
        // Keep draining its log, or moto blocks once the pipe fills.
        std::thread::spawn(move || for _ in lines {});
        Moto {
            url,
            _stdin: Mutex::new(stdin),
            _child: Mutex::new(child),
        }
    })
}

/// The SDK configuration of the tests: moto's endpoint and its fixed test credentials.
pub async fn sdk() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&moto().url)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

pub fn connection() -> Connection {
    Connection {
        profile: None,
        region: Some(REGION.into()),
        endpoint_url: Some(moto().url.clone()),
    }
}

/// The AWS backend on moto.
pub async fn aws() -> Services {
    Aws::from_config(connection(), &sdk().await)
        .await
        .unwrap()
        .services()
}

/// Clients on moto, to set up and to look at what lakectl sent.
pub async fn clients() -> Clients {
    Clients::new(&sdk().await, true)
}

/// POSTs JSON to moto's own API (`/moto-api/...`), which seeds what AWS would compute.
pub fn moto_post(path: &str, body: &serde_json::Value) {
    use std::io::{Read, Write};
    let addr = moto().url.trim_start_matches("http://").to_string();
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 2"), "{answer}");
}

/// The venv's Python (moto's), which also has `cryptography`.
pub fn python() -> PathBuf {
    moto();
    venv().join("bin").join("python")
}

/// A new key, and a bucket whose default encryption is under it. No bucket policy: moto
/// refuses every put into a bucket whose policy has a conditional Deny.
pub async fn key_and_bucket(s: &Services, name: &str) -> (String, String) {
    let a = crate::common::admin();
    let alias = format!("alias/{}", unique(name));
    let key = CreateKey {
        alias: Some(alias.clone()),
        description: None,
    };
    s.keys.create_key(&a, key).await.unwrap();
    let bucket = unique(name);
    let encrypted = CreateBucket {
        sse_kms_key_id: Some(alias.clone()),
        require_sse_kms: false,
    };
    s.storage
        .create_bucket(&a, &bucket, encrypted)
        .await
        .unwrap();
    (alias, bucket)
}

/// A name no other test uses: tests share one moto.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
