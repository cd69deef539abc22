//! IAM identity policies on the local lake, and the reproductions of issue 11's items 5, 6 and 7:
//! names unique regardless of case, explain that tells a principal only what it may see, and
//! metadata that answers nobody without a policy. Each control is tried from the side that
//! should be refused.

use lakectl::cli::Context;
use lakectl::service::policy::PolicyDocument;
use lakectl::service::{Code, Principal, Services};

use crate::common::{admin, new_lake, seed};
use crate::query::{T, demo_lake, query};

const DB: &str = "lakeformation-glue-catalog-db";

fn identity(text: &str) -> PolicyDocument {
    PolicyDocument::parse_identity(text).unwrap()
}

async fn cli(s: &Services, who: &str, line: &str) -> lakectl::service::Result<serde_json::Value> {
    let by = Principal::new(who);
    let cmd = lakectl::cli::parse_line(line).unwrap();
    Context::new(s, &by).execute(cmd).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_policies_are_put_listed_attached_and_removed() {
    let t = new_lake();
    let s = &t.services;
    s.iam
        .create_principal(&admin(), "bob", false)
        .await
        .unwrap();
    cli(s, "admin", r#"iam put-user-policy --user-name bob --policy-name list --policy-document '{"Version":"2012-10-17","Statement":[{"Sid":"ListKeys","Effect":"Allow","Action":"kms:ListKeys","Resource":"*"}]}'"#).await.unwrap();
    let got = cli(
        s,
        "admin",
        "iam get-user-policy --user-name bob --policy-name list",
    )
    .await
    .unwrap();
    assert_eq!(got["PolicyName"], "list");
    assert_eq!(got["PolicyDocument"]["Statement"][0]["Sid"], "ListKeys");
    let names = cli(s, "admin", "iam list-user-policies --user-name bob")
        .await
        .unwrap();
    assert_eq!(names["PolicyNames"], serde_json::json!(["list"]));
    // IAM's quota on a user's inline policies: 2,048 characters together. A document past it
    // is refused and leaves the others as they were.
    let actions: Vec<String> = (0..120).map(|i| format!("\"s3:GetObject{i}\"")).collect();
    let big = format!(
        r#"iam put-user-policy --user-name bob --policy-name big --policy-document '{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":[{}],"Resource":"*"}}]}}'"#,
        actions.join(",")
    );
    let e = cli(s, "admin", &big).await.unwrap_err();
    assert_eq!(e.code, Code::LimitExceeded, "{}", e.message);
    let names = cli(s, "admin", "iam list-user-policies --user-name bob")
        .await
        .unwrap();
    assert_eq!(names["PolicyNames"], serde_json::json!(["list"]));
    // bob may now list keys, and nothing else.
    cli(s, "bob", "kms list-keys").await.unwrap();
    let e = cli(s, "bob", "kms list-aliases").await.unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);
    assert!(
        e.message.contains("user/bob") && e.message.contains("kms:ListAliases"),
        "{}",
        e.message
    );

    // Managed policies, by ARN or by name.
    cli(s, "admin", "iam attach-user-policy --user-name bob --policy-arn arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess").await.unwrap();
    cli(
        s,
        "admin",
        "iam attach-user-policy --user-name bob --policy-arn ReadOnlyAccess",
    )
    .await
    .unwrap();
    let attached = cli(
        s,
        "admin",
        "iam list-attached-user-policies --user-name bob",
    )
    .await
    .unwrap();
    let arns: Vec<&str> = attached["AttachedPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["PolicyArn"].as_str().unwrap())
        .collect();
    assert_eq!(
        arns,
        [
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
            "arn:aws:iam::aws:policy/ReadOnlyAccess"
        ]
    );
    cli(s, "bob", "kms list-aliases").await.unwrap();
    cli(s, "admin", "iam detach-user-policy --user-name bob --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess").await.unwrap();
    assert_eq!(
        cli(s, "bob", "kms list-aliases").await.unwrap_err().code,
        Code::AccessDenied
    );
    cli(
        s,
        "admin",
        "iam delete-user-policy --user-name bob --policy-name list",
    )
    .await
    .unwrap();
    assert_eq!(
        cli(s, "bob", "kms list-keys").await.unwrap_err().code,
        Code::AccessDenied
    );

    // What IAM refuses, the lake refuses, with IAM's codes.
    for (line, code) in [
        (
            "iam attach-user-policy --user-name bob --policy-arn arn:aws:iam::aws:policy/NoSuchPolicy",
            Code::NoSuchEntity,
        ),
        (
            "iam attach-user-policy --user-name ghost --policy-arn ReadOnlyAccess",
            Code::NoSuchEntity,
        ),
        (
            "iam get-user-policy --user-name bob --policy-name gone",
            Code::NoSuchEntity,
        ),
        (
            "iam delete-user-policy --user-name bob --policy-name gone",
            Code::NoSuchEntity,
        ),
        (
            "iam detach-user-policy --user-name bob --policy-arn ReadOnlyAccess",
            Code::NoSuchEntity,
        ),
        (
            r#"iam put-user-policy --user-name bob --policy-name p --policy-document '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*"}]}'"#,
            Code::MalformedPolicyDocument,
        ),
        (
            r#"iam put-user-policy --user-name bob --policy-name p --policy-document '{"Statement":[{"Effect":"Allow","Action":"s3:*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01"}}}]}'"#,
            Code::MalformedPolicyDocument,
        ),
        (
            r#"iam put-user-policy --user-name bob --policy-name p --policy-document '{"Statement":[{"Effect":"Allow","Action":"PutObject"}]}'"#,
            Code::MalformedPolicyDocument,
        ),
        (
            "iam put-user-policy --user-name bob --policy-name p --policy-document nonsense",
            Code::MalformedPolicyDocument,
        ),
    ] {
        let e = cli(s, "admin", line).await.unwrap_err();
        assert_eq!(e.code, code, "{line}: {e}");
    }
    // A non-admin cannot give itself a policy.
    let e = cli(
        s,
        "bob",
        "iam attach-user-policy --user-name bob --policy-arn AdministratorAccess",
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_deny_anywhere_wins_and_names_its_policy() {
    let t = new_lake();
    seed(&t).await;
    let s = &t.services;
    let a = admin();
    s.iam.create_principal(&a, "bob", false).await.unwrap();
    s.iam
        .attach_user_policy(&a, "bob", "arn:aws:iam::aws:policy/AmazonS3FullAccess")
        .await
        .unwrap();
    s.storage
        .list_buckets(&Principal::new("bob"))
        .await
        .unwrap();
    s.iam
        .put_user_policy(
            &a,
            "bob",
            "no-listing",
            &identity(r#"{"Statement":[{"Sid":"NoBucketNames","Effect":"Deny","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#),
        )
        .await
        .unwrap();
    let e = s
        .storage
        .list_buckets(&Principal::new("bob"))
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);
    assert!(
        e.message.contains("explicit deny")
            && e.message.contains("no-listing")
            && e.message.contains("NoBucketNames"),
        "{}",
        e.message
    );
    // A bucket policy's Allow does not beat an identity policy's Deny.
    s.storage
        .put_bucket_policy(
            &a,
            "data",
            PolicyDocument::parse(r#"{"Statement":[{"Sid":"BobLists","Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::data"}]}"#).unwrap(),
        )
        .await
        .unwrap();
    let carol = Principal::new("carol");
    s.iam.create_principal(&a, "carol", false).await.unwrap();
    // The bucket policy alone allows carol (same account: either policy may allow).
    s.storage
        .list_objects(&carol, "data", "", None)
        .await
        .unwrap();
    s.iam
        .put_user_policy(
            &a,
            "carol",
            "deny-data",
            &identity(r#"{"Statement":[{"Sid":"NotData","Effect":"Deny","Action":"s3:*","Resource":["arn:aws:s3:::data","arn:aws:s3:::data/*"]}]}"#),
        )
        .await
        .unwrap();
    let e = s
        .storage
        .list_objects(&carol, "data", "", None)
        .await
        .unwrap_err();
    assert!(e.message.contains("deny-data"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_policies_use_a_key_only_where_its_policy_delegates_to_the_account() {
    let t = new_lake();
    seed(&t).await;
    let s = &t.services;
    let a = admin();
    s.iam.create_principal(&a, "bob", false).await.unwrap();
    s.iam
        .attach_user_policy(&a, "bob", "arn:aws:iam::aws:policy/AdministratorAccess")
        .await
        .unwrap();
    let bob = Principal::new("bob");
    // The default key policy lets the account's IAM policies decide: AdministratorAccess may.
    s.keys.describe_key(&bob, "alias/test").await.unwrap();
    // A key policy that names only admin: IAM policies no longer count.
    let only_admin = PolicyDocument::parse(&format!(
        r#"{{"Statement":[{{"Sid":"OnlyAdmin","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:user/admin"}},"Action":"kms:*"}}]}}"#,
        t.lake.account_id()
    ))
    .unwrap();
    s.keys
        .put_key_policy(&a, "alias/test", only_admin, true)
        .await
        .unwrap();
    let e = s.keys.describe_key(&bob, "alias/test").await.unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);
    assert!(e.message.contains("key policy"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_names_are_unique_regardless_of_case() {
    let t = new_lake();
    let e = cli(&t.services, "admin", "iam create-principal --name ADMIN")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::EntityAlreadyExists);
    cli(&t.services, "admin", "iam create-principal --name Analyst")
        .await
        .unwrap();
    let e = cli(&t.services, "admin", "iam create-principal --name analyst")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::EntityAlreadyExists);
    let users = t.services.iam.list_principals(&admin()).await.unwrap();
    assert_eq!(users.len(), 2, "{users:?}");
}

/// Issue 11, item 7: the analyst's metadata calls, as the demo seeds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_answers_only_what_the_policies_allow() {
    let t = demo_lake().await;
    let s = &t.services;
    for refused in [
        "glue get-crawlers",
        "glue get-jobs",
        "glue get-job-runs --job-name mask-pii",
        "glue get-security-configurations",
        "kms list-keys",
        "kms list-aliases",
        "iam list-principals",
        "audit list",
    ] {
        let e = cli(s, "analyst", refused).await.unwrap_err();
        assert_eq!(e.code, Code::AccessDenied, "{refused}: {e}");
        assert!(
            !e.message.contains("raw_bank") && !e.message.contains("mask-pii/"),
            "{}",
            e.message
        );
    }
    // The catalog, filtered by Lake Formation: only what the analyst holds permissions on.
    let dbs = cli(s, "analyst", "glue get-databases").await.unwrap();
    let names: Vec<&str> = dbs["DatabaseList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [DB]);
    let tables = s
        .catalog
        .get_tables(&Principal::new("analyst"), "pii_db")
        .await
        .unwrap();
    assert!(tables.is_empty(), "{tables:?}");
    // What the seeds gave the personas still works.
    let mine = query(&t, "analyst", &format!("SELECT symbol FROM {T} LIMIT 1"))
        .await
        .unwrap();
    assert_eq!(mine.columns, ["symbol"]);
    query(
        &t,
        "business-analyst",
        "SELECT * FROM pii_db.masked_customers LIMIT 1",
    )
    .await
    .unwrap();
    query(
        &t,
        "data-scientist",
        "SELECT * FROM pii_db.encrypted_customers LIMIT 1",
    )
    .await
    .unwrap();
    let dbs = s
        .catalog
        .get_databases(&Principal::new("business-analyst"))
        .await
        .unwrap();
    assert_eq!(
        dbs.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        ["pii_db"]
    );

    // A principal with no policy at all gets nothing, even the names of buckets.
    s.iam
        .create_principal(&admin(), "nobody", false)
        .await
        .unwrap();
    for refused in [
        "s3 ls",
        "glue get-databases",
        "athena list-work-groups",
        "macie2 list-findings",
    ] {
        let e = cli(s, "nobody", refused).await.unwrap_err();
        assert_eq!(e.code, Code::AccessDenied, "{refused}");
    }
}

/// IAM decides before Lake Formation: a grant alone does not put a table in a query's catalog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_needs_iam_as_well_as_a_grant() {
    let t = demo_lake().await;
    let s = &t.services;
    let a = admin();
    // The analyst loses lakeformation:GetDataAccess: its granted table is gone from its queries,
    // answered as a table that does not exist.
    let without = identity(
        r#"{"Statement":[{"Sid":"OwnLakeFormationPermissions","Effect":"Allow","Action":["lakeformation:ListPermissions"],"Resource":"*"}]}"#,
    );
    s.iam
        .put_user_policy(&a, "analyst", "lake-user", &without)
        .await
        .unwrap();
    let gone = query(&t, "analyst", &format!("SELECT symbol FROM {T}"))
        .await
        .unwrap_err();
    let never = query(
        &t,
        "analyst",
        "SELECT symbol FROM \"lakeformation-glue-catalog-db\".nosuchtable",
    )
    .await
    .unwrap_err();
    assert_eq!(
        gone.message.replace("processed", "X"),
        never.message.replace("nosuchtable", "X")
    );
    let why = s
        .access
        .explain(&a, "analyst", DB, "processed")
        .await
        .unwrap();
    let data = why
        .iam_decisions
        .iter()
        .find(|d| d.action == "lakeformation:GetDataAccess")
        .unwrap();
    assert!(!data.allowed, "{data:?}");
    // An explicit deny of the table in IAM wins over the grant too.
    s.iam
        .put_user_policy(
            &a,
            "analyst",
            "lake-user",
            &identity(r#"{"Statement":[{"Effect":"Allow","Action":"lakeformation:GetDataAccess","Resource":"*"}]}"#),
        )
        .await
        .unwrap();
    query(&t, "analyst", &format!("SELECT symbol FROM {T}"))
        .await
        .unwrap();
    s.iam
        .put_user_policy(
            &a,
            "analyst",
            "no-processed",
            &identity(r#"{"Statement":[{"Sid":"NotProcessed","Effect":"Deny","Action":"glue:GetTable","Resource":"arn:aws:glue:*:*:table/lakeformation-glue-catalog-db/processed"}]}"#),
        )
        .await
        .unwrap();
    assert!(
        query(&t, "analyst", &format!("SELECT symbol FROM {T}"))
            .await
            .is_err()
    );
}

/// Issue 11, item 6: explain tells a non-admin only what it may see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_withholds_hidden_columns_and_is_no_existence_oracle() {
    let t = demo_lake().await;
    let s = &t.services;
    let analyst = Principal::new("analyst");
    // The analyst holds SELECT on `symbol` only, no DESCRIBE: the other columns are counted.
    let why = s
        .access
        .explain(&analyst, "analyst", DB, "processed")
        .await
        .unwrap();
    let shown: Vec<&str> = why.columns.iter().map(|c| c.column.as_str()).collect();
    assert_eq!(shown, ["symbol"]);
    let admin_view = s
        .access
        .explain(&admin(), "analyst", DB, "processed")
        .await
        .unwrap();
    let hidden = admin_view.columns.len() - 1;
    assert!(hidden > 0);
    assert_eq!(why.hidden_columns, Some(hidden));
    let text = cli(
        s,
        "analyst",
        &format!("lakeformation explain --principal analyst --table {DB}.processed"),
    )
    .await
    .unwrap()
    .to_string();
    assert!(
        text.contains(&format!("{hidden} more columns are not visible to you")),
        "{text}"
    );
    for c in admin_view.columns.iter().filter(|c| !c.visible) {
        assert!(
            !text.contains(&format!("\"{}\"", c.column)),
            "{} leaked: {text}",
            c.column
        );
    }
    // It says which policy decided.
    assert!(
        why.iam_decisions.iter().any(|d| d.allowed
            && d.action == "athena:StartQueryExecution"
            && d.decided_by.contains("AmazonAthenaFullAccess")),
        "{:?}",
        why.iam_decisions
    );
    // A table held by tag with DESCRIBE shows its columns by name.
    let ba = Principal::new("business-analyst");
    let why = s
        .access
        .explain(&ba, "business-analyst", "pii_db", "masked_customers")
        .await
        .unwrap();
    assert_eq!(why.hidden_columns, None);

    // Unknown table, unknown database, and a table the analyst holds nothing on: one answer.
    let mut answers: Vec<(Code, String)> = Vec::new();
    for (d, tb) in [
        ("pii_db", "raw_bank"),
        ("pii_db", "no_such_table"),
        ("no_such_db", "raw_bank"),
    ] {
        let e = s
            .access
            .explain(&analyst, "analyst", d, tb)
            .await
            .unwrap_err();
        answers.push((e.code, e.message.replace(d, "D").replace(tb, "T")));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    // The same for the table's tags.
    let mut tag_answers: Vec<(Code, String)> = Vec::new();
    for (d, tb) in [
        ("pii_db", "raw_bank"),
        ("pii_db", "no_such_table"),
        ("no_such_db", "raw_bank"),
    ] {
        let e = s
            .access
            .get_resource_lf_tags(&analyst, d, tb)
            .await
            .unwrap_err();
        tag_answers.push((e.code, e.message.replace(d, "D").replace(tb, "T")));
    }
    assert!(
        tag_answers.windows(2).all(|w| w[0] == w[1]),
        "{tag_answers:?}"
    );
    assert_eq!(answers[0].0, Code::EntityNotFoundException);
}

/// `glue get-job` and `athena get-work-group` are decided as GetJob and GetWorkGroup on the one
/// resource, as IAM decides them: a policy naming one job's ARN reads that job and no other, and
/// a refusal reads the same whether the job exists or not.
#[tokio::test]
async fn get_job_and_get_work_group_are_authorized_on_the_one_resource() {
    let t = demo_lake().await;
    let (s, a) = (&t.services, admin());
    s.iam.create_principal(&a, "reader", false).await.unwrap();
    let account = s.iam.list_principals(&a).await.unwrap()[0]
        .arn
        .split(':')
        .nth(4)
        .unwrap()
        .to_string();
    let job_arn = |name: &str| format!("arn:aws:glue:local:{account}:job/{name}");
    s.iam
        .put_user_policy(
            &a,
            "reader",
            "one-job",
            &identity(&format!(
                r#"{{"Statement":[{{"Effect":"Allow","Action":["glue:GetJob","athena:GetWorkGroup"],"Resource":["{}","arn:aws:athena:local:{account}:workgroup/primary"]}}]}}"#,
                job_arn("mask-pii")
            )),
        )
        .await
        .unwrap();
    let reader = Principal::new("reader");
    assert_eq!(
        s.jobs.get_job(&reader, "mask-pii").await.unwrap().name,
        "mask-pii"
    );
    assert_eq!(
        s.query
            .get_work_group(&reader, "primary")
            .await
            .unwrap()
            .name,
        "primary"
    );
    let other = s
        .jobs
        .get_job(&reader, "raw-to-processed")
        .await
        .unwrap_err();
    let missing = s.jobs.get_job(&reader, "no-such-job").await.unwrap_err();
    assert_eq!(other.code, Code::AccessDenied);
    assert_eq!(
        other.message.replace("raw-to-processed", "X"),
        missing.message.replace("no-such-job", "X")
    );
    assert_eq!(
        s.jobs.get_jobs(&reader).await.unwrap_err().code,
        Code::AccessDenied,
        "GetJob on one job is not GetJobs"
    );
}
