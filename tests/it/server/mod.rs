//! The lake server (`lakectl serve`) driven by clients nobody here wrote: the AWS CLI, boto3 and
//! pyarrow from the test venv, and lakectl's own AWS backend. Each test starts its own server on
//! a fresh lake on 127.0.0.1 (port 0: the server prints where it listens).

mod auth;
mod backend;
mod client;
mod console;
mod crawls;
mod dms;
mod faults;
mod iam;
mod json;
mod lakeformation;
mod macie;
mod masking;
mod paging;
mod runs;
mod s3;
mod scenario;
mod secrets;
mod tls;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::aws::venv_bin;
use crate::cli::{lakectl, ok};

/// An access key pair, as `iam create-access-key` gave it.
#[derive(Debug, Clone)]
pub struct Keys {
    pub id: String,
    pub secret: String,
}

pub struct Server {
    pub dir: tempfile::TempDir,
    /// The lake's passphrase (the demo lake's is `demo`).
    passphrase: &'static str,
    pub url: String,
    /// The certificate clients trust, for a server started with TLS.
    pub ca_bundle: Option<PathBuf>,
    child: Child,
}

impl Server {
    /// A new lake (its admin holds an access key: `admin_keys`) served on a free port.
    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().join("lake");
        ok(&lake, &["init"]);
        Self::serve(dir, &[])
    }

    /// The demo lake (both seeds loaded) served on a free port.
    pub fn start_demo() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().join("lake");
        let out = lakectl(&lake)
            .arg("demo")
            .env_remove("LAKECTL_PASSPHRASE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self::serve_with(dir, &[], "demo")
    }

    /// A new lake served with `extra` flags (`--tls-cert …`); `prepare` runs on the temporary
    /// directory first (to write certificates into it).
    pub fn start_with(prepare: impl FnOnce(&std::path::Path) -> Vec<String>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        ok(&dir.path().join("lake"), &["init"]);
        let extra = prepare(dir.path());
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        Self::serve(dir, &extra)
    }

    fn serve(dir: tempfile::TempDir, extra: &[&str]) -> Server {
        Self::serve_with(dir, extra, crate::common::PASSPHRASE)
    }

    fn serve_with(dir: tempfile::TempDir, extra: &[&str], passphrase: &'static str) -> Server {
        let lake = dir.path().join("lake");
        let mut child = lakectl(&lake)
            .env("LAKECTL_PASSPHRASE", passphrase)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("lakectl serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let said: Value = match serde_json::from_str(&line) {
            Ok(said) => said,
            Err(_) => {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "the server did not say where it listens: {line:?} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            }
        };
        Server {
            url: said["Listening"].as_str().unwrap().to_string(),
            dir,
            passphrase,
            ca_bundle: None,
            child,
        }
    }

    /// Stops the server as kill -9 would, then starts it again on the same lake.
    pub fn kill_and_restart(mut self) -> Server {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Self::serve_with(dir, &[], self.passphrase)
    }

    pub fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }

    /// lakectl on the lake directly (as admin unless `--as` says otherwise), beside the server.
    pub fn lakectl(&self, args: &[&str]) -> Value {
        let out = lakectl(&self.lake())
            .env("LAKECTL_PASSPHRASE", self.passphrase)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Value::Null;
        }
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// lakectl's AWS backend against the server, as `keys`: its output, whatever it was.
    pub fn lakectl_client(&self, keys: &Keys, args: &[&str]) -> Output {
        let mut cmd = lakectl(&self.lake());
        self.client_env(&mut cmd, keys);
        cmd.env_remove("LAKECTL_PASSPHRASE")
            .env_remove("LAKECTL_LAKE")
            .args(["--backend", "aws", "--output", "json"])
            .args(args)
            .output()
            .unwrap()
    }

    /// A new principal (unless it exists) with a new access key.
    pub fn keys_for(&self, user: &str) -> Keys {
        if user != "admin" {
            let _ = lakectl(&self.lake())
                .env("LAKECTL_PASSPHRASE", self.passphrase)
                .args(["iam", "create-principal", "--name", user])
                .output();
        }
        let created = self.lakectl(&["iam", "create-access-key", "--user-name", user]);
        Keys {
            id: created["AccessKey"]["AccessKeyId"]
                .as_str()
                .unwrap()
                .to_string(),
            secret: created["AccessKey"]["SecretAccessKey"]
                .as_str()
                .unwrap()
                .to_string(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server and answers everything it wrote to stderr (its log).
    pub fn stop_and_log(&mut self) -> String {
        use std::io::Read;
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut log = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut log);
        }
        log
    }

    /// Waits for the server to exit by itself (after a signal the test sent).
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }

    /// Sets `cmd`'s environment to call the server as `keys`.
    pub fn client_env_for(&self, cmd: &mut Command, keys: &Keys) {
        self.client_env(cmd, keys)
    }

    fn client_env(&self, cmd: &mut Command, keys: &Keys) {
        let home = self.dir.path().join("client-home");
        std::fs::create_dir_all(&home).unwrap();
        if let Some(bundle) = &self.ca_bundle {
            cmd.env("AWS_CA_BUNDLE", bundle);
        }
        cmd.env("AWS_ACCESS_KEY_ID", &keys.id)
            .env("AWS_SECRET_ACCESS_KEY", &keys.secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.url)
            .env("ENDPOINT", &self.url)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", &home)
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE");
    }

    /// The venv's AWS CLI as `keys`.
    pub fn aws(&self, keys: &Keys, args: &[&str]) -> Output {
        let mut cmd = Command::new(venv_bin("aws"));
        self.client_env(&mut cmd, keys);
        cmd.args(args).output().unwrap()
    }

    /// A Python script (boto3, pyarrow) as `keys`; `ENDPOINT` is set for it.
    pub fn python(&self, keys: &Keys, script: &str) -> Output {
        let mut cmd = Command::new(venv_bin("python"));
        self.client_env(&mut cmd, keys);
        cmd.args(["-c", script]).output().unwrap()
    }

    /// lakectl's AWS backend (the service layer on the aws-sdk-* crates) on this server, as
    /// `keys`: what `lakectl --backend aws --endpoint-url URL` runs on.
    pub async fn aws_backend(&self, keys: &Keys) -> lakectl::service::Services {
        use aws_config::{BehaviorVersion, Region};
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                &keys.id,
                &keys.secret,
                None,
                None,
                "lake-server-tests",
            ))
            .load()
            .await;
        let connection = lakectl::aws::Connection {
            profile: None,
            region: Some("us-east-1".into()),
            endpoint_url: Some(self.url.clone()),
        };
        lakectl::aws::Aws::from_config(connection, &sdk)
            .await
            .unwrap()
            .services()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON a client printed, or a panic with what it said.
pub fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "the client failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// What a failed client said on stderr (it must have failed).
pub fn error_of(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "the client should have been refused: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}
