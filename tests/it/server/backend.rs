//! lakectl's AWS backend run against the lake server, beside moto: the same calls the moto
//! tests make, but here the answers are enforced, so the denials moto cannot give are asserted.

use lakectl::service::storage::{CreateBucket, PutOptions, Sse};
use lakectl::service::{Code, Principal, Progress};

use super::Server;

fn put_kms() -> PutOptions {
    PutOptions {
        sse: Some(Sse::Kms),
        sse_kms_key_id: Some("alias/datalake-key".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_backends_storage_calls_work_and_are_enforced_through_the_server() {
    let server = Server::start();
    let admin_keys = server.keys_for("admin");
    let analyst_keys = server.keys_for("analyst");
    server.lakectl(&["kms", "create-key", "--alias", "alias/datalake-key"]);
    let admin = server.aws_backend(&admin_keys).await;
    let analyst = server.aws_backend(&analyst_keys).await;
    // On AWS the acting principal is the credentials; the name passed along is not believed.
    let claimed = Principal::new("admin");

    admin
        .storage
        .create_bucket(&claimed, "through", CreateBucket::default())
        .await
        .unwrap();
    let body: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let info = admin
        .storage
        .put_object(
            &claimed,
            "through",
            "raw/big.bin",
            Box::new(std::io::Cursor::new(body.clone())),
            put_kms(),
            Progress::default(),
        )
        .await
        .unwrap();
    assert_eq!(info.size, body.len() as u64);
    assert_eq!(info.server_side_encryption, Sse::Kms);
    let listing = admin
        .storage
        .list_objects(&claimed, "through", "raw/", Some('/'))
        .await
        .unwrap();
    assert_eq!(listing.objects.len(), 1, "{listing:?}");
    let sink = crate::common::SharedBuf::default();
    admin
        .storage
        .get_object(
            &claimed,
            "through",
            "raw/big.bin",
            Some((1000, 2000)),
            Box::new(sink.clone()),
            Progress::default(),
        )
        .await
        .unwrap();
    assert_eq!(*sink.0.lock().unwrap(), body[1000..2000]);

    // The analyst's credentials, whatever principal name the caller passes: refused.
    let e = analyst
        .storage
        .get_object(
            &claimed,
            "through",
            "raw/big.bin",
            None,
            Box::new(crate::common::SharedBuf::default()),
            Progress::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::AccessDenied, "{e}");
    let e = analyst
        .storage
        .put_object(
            &claimed,
            "through",
            "raw/mine.bin",
            Box::new(std::io::Cursor::new(b"x".to_vec())),
            put_kms(),
            Progress::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::AccessDenied, "{e}");
    let e = analyst
        .storage
        .create_bucket(&claimed, "analysts-own", CreateBucket::default())
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::AccessDenied, "{e}");
    let listed = server.lakectl(&["s3", "ls"]);
    assert_eq!(listed["Buckets"].as_array().unwrap().len(), 1, "{listed}");
}

/// The AWS backend's keys, IAM, catalog, Lake Formation, jobs and Athena calls through the
/// server, as the demo's analyst (a column grant on `processed`, nothing more): what moto
/// answers to anyone is refused here, and what the lake allows the analyst works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_backends_other_services_are_enforced_through_the_server() {
    use lakectl::service::access::{Grant, Permission, Resource};
    use lakectl::service::iam::Simulation;
    use lakectl::service::keys::{CreateKey, KeyTag};

    let server = Server::start_demo();
    let analyst_keys = server.keys_for("analyst");
    let admin_keys = server.keys_for("admin");
    let analyst = server.aws_backend(&analyst_keys).await;
    let admin = server.aws_backend(&admin_keys).await;
    let claimed = Principal::new("admin");
    let denied = |what: &str, e: lakectl::service::ServiceError| {
        assert_eq!(e.code, Code::AccessDenied, "{what}: {e}");
    };

    denied(
        "kms:CreateKey",
        analyst
            .keys
            .create_key(&claimed, CreateKey::default())
            .await
            .unwrap_err(),
    );
    let tag = KeyTag {
        tag_key: "owner".into(),
        tag_value: "analyst".into(),
    };
    denied(
        "kms:TagResource",
        analyst
            .keys
            .tag_resource(&claimed, "alias/datalake-key", std::slice::from_ref(&tag))
            .await
            .unwrap_err(),
    );
    admin
        .keys
        .tag_resource(&claimed, "alias/datalake-key", std::slice::from_ref(&tag))
        .await
        .unwrap();
    assert!(
        admin
            .keys
            .list_resource_tags(&claimed, "alias/datalake-key")
            .await
            .unwrap()
            .contains(&tag)
    );
    denied(
        "iam:CreateUser",
        analyst
            .iam
            .create_principal(&claimed, "mallory", true)
            .await
            .unwrap_err(),
    );
    denied(
        "iam:DeleteUser",
        analyst
            .iam
            .delete_user(&claimed, "admin")
            .await
            .unwrap_err(),
    );
    let grant = Grant::new(
        "analyst",
        Resource::table("lakeformation-glue-catalog-db", "processed"),
        vec![Permission::Select],
    );
    denied(
        "lakeformation:GrantPermissions",
        analyst
            .access
            .grant_permissions(&claimed, grant)
            .await
            .unwrap_err(),
    );
    denied(
        "glue:StartJobRun",
        analyst
            .jobs
            .start_job_run(&claimed, "raw-to-processed", Progress::default())
            .await
            .unwrap_err(),
    );
    // What the lake lets the analyst see of the catalog: the granted table, only its column.
    let tables = analyst
        .catalog
        .get_tables(&claimed, "lakeformation-glue-catalog-db")
        .await
        .unwrap();
    let processed = tables
        .iter()
        .find(|t| t.name == "processed")
        .unwrap_or_else(|| panic!("{tables:?}"));
    let columns: Vec<&str> = processed
        .storage_descriptor
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(columns, ["symbol"], "{processed:?}");

    // IAM's simulation through the AWS backend says what the lake then does.
    let simulated = admin
        .iam
        .simulate_principal_policy(
            &claimed,
            "analyst",
            &Simulation {
                action_names: vec!["kms:CreateKey".into(), "glue:GetTables".into()],
                ..Simulation::default()
            },
        )
        .await
        .unwrap();
    let decisions: Vec<(&str, &str)> = simulated
        .iter()
        .map(|r| (r.eval_action_name.as_str(), r.eval_decision.as_str()))
        .collect();
    assert_eq!(
        decisions,
        [
            ("kms:CreateKey", "implicitDeny"),
            ("glue:GetTables", "allowed")
        ],
        "{simulated:?}"
    );
}
