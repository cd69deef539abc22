//! The test venv's real clients: the server tests drive the AWS CLI v1, boto3 and pyarrow from
//! it, the Glue script's tests pyspark and cryptography, so a venv that lacks one (an old
//! marker, a failed install) fails here, plainly, first.

use std::process::Command;

use super::{PACKAGES, moto, venv_bin};

fn pinned(package: &str) -> &'static str {
    PACKAGES
        .iter()
        .find_map(|p| p.strip_prefix(package)?.strip_prefix("=="))
        .unwrap_or_else(|| panic!("{package} is pinned"))
}

#[test]
fn the_venv_has_the_aws_cli_boto3_and_pyarrow() {
    let out = Command::new(venv_bin("aws"))
        .arg("--version")
        .output()
        .expect("the venv has aws");
    assert!(out.status.success(), "{out:?}");
    // awscli v1 prints its version on stdout (older ones on stderr).
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.starts_with(&format!("aws-cli/{} ", pinned("awscli"))),
        "{said}"
    );

    let out = Command::new(venv_bin("python"))
        .args([
            "-c",
            "import boto3, cryptography, pyarrow, pyspark; print(boto3.__version__, pyarrow.__version__, pyspark.__version__, cryptography.__version__)",
        ])
        .output()
        .expect("the venv has python");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "{} {} {} {}",
            pinned("boto3"),
            pinned("pyarrow"),
            pinned("pyspark"),
            pinned("cryptography")
        )
    );
}

/// The CLI does not just start: it signs a request and reads the answer (from moto).
#[test]
fn the_venv_aws_cli_talks_to_an_endpoint() {
    let out = Command::new(venv_bin("aws"))
        .args(["sts", "get-caller-identity", "--endpoint-url", &moto().url])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", super::REGION)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("aws runs");
    assert!(out.status.success(), "{out:?}");
    let identity: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(identity["Account"], super::ACCOUNT, "{identity}");
}
