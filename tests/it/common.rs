//! Helpers shared by the tests: a fresh lake in a temporary directory, and byte-level put/get.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lakectl::local::{Lake, LakeDir};
use lakectl::service::jobs::{JobDefinition, JobRun};
use lakectl::service::keys::CreateKey;
use lakectl::service::storage::{CreateBucket, PutOptions, Sse};
use lakectl::service::{Principal, Progress, Result, Services};

pub const PASSPHRASE: &str = "correct horse battery staple";

pub struct TestLake {
    pub dir: tempfile::TempDir,
    pub services: Services,
    pub lake: Arc<Lake>,
}

impl TestLake {
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("lake")
    }
}

pub fn new_lake() -> TestLake {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::init(LakeDir::new(dir.path().join("lake")), PASSPHRASE).unwrap();
    TestLake {
        services: lake.services(),
        lake,
        dir,
    }
}

pub fn admin() -> Principal {
    Principal::new("admin")
}

/// The identity policies the seeds give the demo's personas (assets/scenarios/*.lake): Athena's
/// managed policy, and their own Lake Formation permissions and query results.
pub async fn give_persona_policies(s: &Services, name: &str) {
    let a = admin();
    s.iam
        .attach_user_policy(&a, name, "arn:aws:iam::aws:policy/AmazonAthenaFullAccess")
        .await
        .unwrap();
    let lake_user = lakectl::service::policy::PolicyDocument::parse_identity(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"OwnLakeFormationPermissions","Effect":"Allow","Action":["lakeformation:GetDataAccess","lakeformation:ListPermissions","lakeformation:GetResourceLFTags","lakeformation:ListLFTags"],"Resource":"*"},{"Sid":"OwnQueryResults","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::lake-query-results/${aws:username}/*"}]}"#,
    )
    .unwrap();
    s.iam
        .put_user_policy(&a, name, "lake-user", &lake_user)
        .await
        .unwrap();
}

/// A Write that can be read back after the service consumed the box.
#[derive(Clone, Default)]
pub struct SharedBuf(pub Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn kms(key: &str) -> PutOptions {
    PutOptions {
        sse: Some(Sse::Kms),
        sse_kms_key_id: Some(key.to_string()),
    }
}

pub async fn put(
    s: &Services,
    by: &Principal,
    bucket: &str,
    key: &str,
    data: &[u8],
    opts: PutOptions,
) -> Result<()> {
    s.storage
        .put_object(
            by,
            bucket,
            key,
            Box::new(std::io::Cursor::new(data.to_vec())),
            opts,
            Progress::default(),
        )
        .await?;
    Ok(())
}

pub async fn get(s: &Services, by: &Principal, bucket: &str, key: &str) -> Result<Vec<u8>> {
    get_range(s, by, bucket, key, None).await
}

pub async fn get_range(
    s: &Services,
    by: &Principal,
    bucket: &str,
    key: &str,
    range: Option<(u64, u64)>,
) -> Result<Vec<u8>> {
    let buf = SharedBuf::default();
    s.storage
        .get_object(
            by,
            bucket,
            key,
            range,
            Box::new(buf.clone()),
            Progress::default(),
        )
        .await?;
    Ok(buf.0.lock().unwrap().clone())
}

/// A key `alias/test` and a bucket `data` that requires KMS, as in the seed.
pub async fn seed(t: &TestLake) {
    let a = admin();
    t.services
        .keys
        .create_key(
            &a,
            CreateKey {
                alias: Some("alias/test".into()),
                description: None,
            },
        )
        .await
        .unwrap();
    t.services
        .storage
        .create_bucket(
            &a,
            "data",
            CreateBucket {
                sse_kms_key_id: Some("alias/test".into()),
                require_sse_kms: true,
            },
        )
        .await
        .unwrap();
}

/// Every file under `dir`.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// Fails if any file under `dir` holds any of `needles` (plaintext that must only ever be
/// stored sealed).
pub fn assert_nowhere_under(dir: &Path, needles: &[&str]) {
    for file in files_under(dir) {
        let bytes = std::fs::read(&file).unwrap();
        for needle in needles {
            assert!(
                !needle.is_empty() && !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle:?} is in the clear in {}",
                file.display()
            );
        }
    }
}

/// The sealed bodies in the lake's object store.
pub fn blobs(lake: &Path) -> Vec<PathBuf> {
    files_under(&lake.join("objects"))
}

/// A job run as admin, with nothing but its name and route set.
pub fn job_definition(name: &str, source: &str, target: &str) -> JobDefinition {
    JobDefinition {
        name: name.into(),
        source: source.into(),
        target: target.into(),
        dedup: false,
        security_configuration: None,
        masks: vec![],
        from_findings: None,
        role: "admin".into(),
        timeout_minutes: None,
        in_lakectl: false,
        type_consensus: None,
    }
}

/// Creates and starts a job, and waits for its run to end.
pub async fn run_job(s: &Services, def: JobDefinition) -> JobRun {
    let name = def.name.clone();
    s.jobs.create_job(&admin(), def).await.unwrap();
    let id = s
        .jobs
        .start_job_run(&admin(), &name, Progress::default())
        .await
        .unwrap();
    wait_for_run(s, &name, &id).await
}

pub async fn wait_for_run(s: &Services, job: &str, id: &str) -> JobRun {
    eventually(&format!("job run {id} of {job} to finish"), || async {
        let run = s.jobs.get_job_run(&admin(), job, id).await.unwrap();
        run.job_run_state.is_finished().then_some(run)
    })
    .await
}

/// How long a test waits for work to end before it fails: far past any run the tests start,
/// short enough that a run stuck in RUNNING fails CI instead of hanging it.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// Polls `probe` until it answers, failing the test with `what` after `PATIENCE`.
pub async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    eventually_within(what, PATIENCE, probe).await
}

/// Polls `probe` until it answers, failing the test with `what` after `within`.
pub async fn eventually_within<T, F, Fut>(
    what: &str,
    within: std::time::Duration,
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(answer) = probe().await {
            return answer;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gave up after {within:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A run or upload that did not finish left nothing behind: no object under `prefix`, and no
/// body in the lake's tmp/.
pub async fn assert_left_nothing(t: &TestLake, bucket: &str, prefix: &str) {
    let listed = t
        .services
        .storage
        .list_objects(&admin(), bucket, prefix, None)
        .await
        .unwrap()
        .objects;
    assert!(listed.is_empty(), "objects left under {prefix}: {listed:?}");
    assert!(
        files_under(&t.path().join("tmp")).is_empty(),
        "a body was left in tmp/"
    );
}

/// The console's `settle` with a deadline: a task that never ends fails its test, saying so,
/// instead of hanging the run.
pub async fn settle(app: &mut lakectl::tui::App) {
    tokio::time::timeout(std::time::Duration::from_secs(120), app.settle())
        .await
        .expect("the console's tasks to end within 120 s");
}

/// Waits until run `id` of `job` is under way: RUNNING, and `progress` shows some input read.
/// A run that ends first fails the test, since whatever was to meet it mid-work would not.
pub async fn until_reading(s: &Services, job: &str, id: &str, progress: &Progress) {
    eventually(
        &format!("run {id} of {job} to read some of its input"),
        || async {
            let run = s.jobs.get_job_run(&admin(), job, id).await.unwrap();
            assert!(
                !run.job_run_state.is_finished(),
                "the run ended before it was met mid-work: {run:?}"
            );
            (run.job_run_state == lakectl::service::jobs::RunState::Running && progress.done() > 0)
                .then_some(())
        },
    )
    .await;
}
