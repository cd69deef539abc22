//! `s3api`'s multipart commands, as the AWS CLI's, and the console's read-only mode.

use lakectl::service::Code;

use super::{MIB, data, md5_hex};
use crate::common::{admin, get, new_lake, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_speaks_s3apis_multipart_commands() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    let scratch = tempfile::tempdir().unwrap();
    let run = |line: String| {
        let services = t.services.clone();
        async move {
            let cmd = lakectl::cli::parse_line(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            lakectl::cli::Context::new(&services, &admin())
                .execute(cmd)
                .await
        }
    };
    let created = run("s3api create-multipart-upload --bucket data --key cli/obj --server-side-encryption aws:kms --ssekms-key-id alias/test".into()).await.unwrap();
    assert_eq!(
        (created["Bucket"].as_str(), created["Key"].as_str()),
        (Some("data"), Some("cli/obj"))
    );
    let id = created["UploadId"].as_str().unwrap().to_string();
    let mut etags = Vec::new();
    for (n, bytes) in [(1, data(5 * MIB, 9)), (2, b"the end".to_vec())] {
        let path = scratch.path().join(format!("part{n}"));
        std::fs::write(&path, &bytes).unwrap();
        let out = run(format!("s3api upload-part --bucket data --key cli/obj --upload-id {id} --part-number {n} --body {}", path.display())).await.unwrap();
        assert_eq!(out["ETag"], format!("\"{}\"", md5_hex(&bytes)));
        etags.push(out["ETag"].as_str().unwrap().to_string());
    }
    let listed = run(format!(
        "s3api list-parts --bucket data --key cli/obj --upload-id {id}"
    ))
    .await
    .unwrap();
    assert_eq!(listed["Parts"][1]["PartNumber"], 2);
    assert_eq!(listed["Parts"][1]["Size"], 7);
    let uploads = run("s3api list-multipart-uploads --bucket data".into())
        .await
        .unwrap();
    assert_eq!(uploads["Uploads"][0]["UploadId"], id.as_str());
    let doc = scratch.path().join("parts.json");
    std::fs::write(&doc, serde_json::json!({"Parts": [{"ETag": etags[0], "PartNumber": 1}, {"ETag": etags[1], "PartNumber": 2}]}).to_string()).unwrap();
    let bad = run(format!("s3api complete-multipart-upload --bucket data --key cli/obj --upload-id {id} --multipart-upload '{{\"Parts\":1}}'")).await.unwrap_err();
    assert_eq!(bad.code, Code::ParamValidation);
    let done = run(format!("s3api complete-multipart-upload --bucket data --key cli/obj --upload-id {id} --multipart-upload file://{}", doc.display())).await.unwrap();
    assert!(done["ETag"].as_str().unwrap().ends_with("-2\""), "{done}");
    assert_eq!(done["ServerSideEncryption"], "aws:kms");
    let got = get(&t.services, &a, "data", "cli/obj").await.unwrap();
    assert_eq!(got.len(), 5 * MIB + 7);
    let id2 = run("s3api create-multipart-upload --bucket data --key cli/other --server-side-encryption aws:kms".into()).await.unwrap()["UploadId"].as_str().unwrap().to_string();
    assert_eq!(
        run(format!(
            "s3api abort-multipart-upload --bucket data --key cli/other --upload-id {id2}"
        ))
        .await
        .unwrap(),
        serde_json::json!({})
    );

    // The console's read-only mode keeps the listings and leaves out the rest.
    for (line, changes) in [
        ("s3api create-multipart-upload --bucket b --key k", true),
        (
            "s3api upload-part --bucket b --key k --upload-id u --part-number 1 --body f",
            true,
        ),
        (
            "s3api complete-multipart-upload --bucket b --key k --upload-id u --multipart-upload x",
            true,
        ),
        (
            "s3api abort-multipart-upload --bucket b --key k --upload-id u",
            true,
        ),
        ("s3api list-parts --bucket b --key k --upload-id u", false),
        ("s3api list-multipart-uploads --bucket b", false),
    ] {
        assert_eq!(
            lakectl::cli::parse_line(line).unwrap().changes_anything(),
            changes,
            "{line}"
        );
    }
}
