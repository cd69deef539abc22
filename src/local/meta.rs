//! The metadata store: one SQLite database in WAL mode. SQLite gives the lake transactions that
//! hold across processes (two `lakectl` on one lake serialize their writes, readers never block)
//! and crash safety. Write transactions start IMMEDIATE so a read-then-write never deadlocks.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::audit_head::HeadFile;
use crate::service::{Code, Result, ServiceError};

impl From<rusqlite::Error> for ServiceError {
    fn from(err: rusqlite::Error) -> Self {
        if err.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) {
            return super::lake::read_only_error(&err.to_string());
        }
        ServiceError::internal(format!("metadata store: {err}"))
    }
}

/// The schema, as the migrations that build it: a lake at version N runs migrations N.. in order.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, V14];

const V1: &str = r#"
CREATE TABLE principals(
    name TEXT PRIMARY KEY,
    admin INTEGER NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE keys(
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    created TEXT NOT NULL,
    deletion_date TEXT,
    pending_window_days INTEGER,
    rotation_enabled INTEGER NOT NULL DEFAULT 0,
    rotation_period_days INTEGER,
    next_rotation TEXT,
    policy TEXT NOT NULL,
    manager TEXT NOT NULL
);
CREATE TABLE key_versions(
    key_id TEXT NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    sealed_material BLOB NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY(key_id, version)
);
CREATE TABLE aliases(
    name TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
    created TEXT NOT NULL
);
CREATE TABLE buckets(
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created TEXT NOT NULL,
    policy TEXT,
    sse_algorithm TEXT,
    kms_key_id TEXT
);
CREATE TABLE objects(
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key TEXT NOT NULL,
    blob TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    sse TEXT NOT NULL,
    kms_key_id TEXT NOT NULL,
    PRIMARY KEY(bucket, key)
) WITHOUT ROWID;
CREATE TABLE audit(
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    principal TEXT NOT NULL,
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    resource TEXT NOT NULL,
    error_code TEXT,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE audit_head(
    id INTEGER PRIMARY KEY CHECK (id = 0),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL
);
"#;

/// The catalog, security configurations, jobs and crawlers (Glue).
const V2: &str = r#"
CREATE TABLE databases(
    name TEXT PRIMARY KEY,
    description TEXT,
    location TEXT,
    created TEXT NOT NULL
);
CREATE TABLE catalog_tables(
    database TEXT NOT NULL REFERENCES databases(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY(database, name)
);
CREATE TABLE security_configurations(
    name TEXT PRIMARY KEY,
    kms_key_id TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE jobs(
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE job_runs(
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL REFERENCES jobs(name) ON DELETE CASCADE,
    run TEXT NOT NULL,
    started TEXT NOT NULL,
    pid INTEGER NOT NULL,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    log BLOB
);
CREATE TABLE crawlers(
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    last_run TEXT
);
"#;

/// Sensitive-data discovery (Macie).
const V3: &str = r#"
CREATE TABLE custom_data_identifiers(
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL
);
CREATE TABLE allow_lists(
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL
);
CREATE TABLE classification_jobs(
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    created TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE findings(
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES classification_jobs(id) ON DELETE CASCADE,
    finding TEXT NOT NULL,
    created TEXT NOT NULL
);
"#;

/// Fine-grained access (Lake Formation) and queries (Athena). A grant is one row per principal,
/// resource and permission, the resource in its canonical JSON form, so a revoke of part of a
/// grant and a repeated grant both land on the same rows.
const V4: &str = r#"
CREATE TABLE lf_locations(
    location TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    registered TEXT NOT NULL
);
CREATE TABLE lf_permissions(
    principal TEXT NOT NULL REFERENCES principals(name),
    resource TEXT NOT NULL,
    permission TEXT NOT NULL,
    grant_option INTEGER NOT NULL,
    granted_by TEXT NOT NULL,
    granted TEXT NOT NULL,
    PRIMARY KEY(principal, resource, permission)
);
CREATE TABLE lf_tags(
    tag_key TEXT PRIMARY KEY,
    tag_values TEXT NOT NULL
);
CREATE TABLE lf_tag_assignments(
    database TEXT NOT NULL,
    tbl TEXT NOT NULL,
    col TEXT NOT NULL,
    tag_key TEXT NOT NULL REFERENCES lf_tags(tag_key),
    tag_value TEXT NOT NULL,
    PRIMARY KEY(database, tbl, col, tag_key)
);
CREATE TABLE lf_data_cells_filters(
    database TEXT NOT NULL,
    tbl TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY(database, tbl, name)
);
CREATE TABLE athena_work_groups(
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE athena_queries(
    id TEXT PRIMARY KEY,
    principal TEXT NOT NULL,
    work_group TEXT NOT NULL,
    execution TEXT NOT NULL,
    result_key TEXT,
    pid INTEGER NOT NULL DEFAULT 0
);
"#;

/// Crawls record their runner, as job runs do: a crawl whose process died is reported FAILED
/// instead of RUNNING forever, and a stop request reaches it through the store.
const V5: &str = r#"
ALTER TABLE crawlers ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crawlers ADD COLUMN stop_requested INTEGER NOT NULL DEFAULT 0;
"#;

/// IAM identity policies: inline policies by name, and the AWS managed policies attached (by
/// ARN; their documents ship in the binary).
const V6: &str = r#"
CREATE TABLE user_policies(
    principal TEXT NOT NULL REFERENCES principals(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY(principal, name)
);
CREATE TABLE attached_policies(
    principal TEXT NOT NULL REFERENCES principals(name) ON DELETE CASCADE,
    arn TEXT NOT NULL,
    PRIMARY KEY(principal, arn)
);
"#;

/// IAM access keys, for `lakectl serve`'s Signature V4: the secret sealed under a root sub-key
/// with the key id and user as additional data (access_keys.rs).
const V7: &str = r#"
CREATE TABLE access_keys(
    id TEXT PRIMARY KEY,
    principal TEXT NOT NULL REFERENCES principals(name) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    sealed_secret BLOB NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX access_keys_by_principal ON access_keys(principal);
"#;

/// S3 multipart uploads: an upload with the encryption decided at its creation (and the headers
/// as sent, which the bucket policy is evaluated against for each part), its parts as sealed
/// bodies, and the S3 ETag of a completed upload's object (`"<md5>-N"`), which differs from
/// the sealed body's own tag that `etag` keeps for the integrity check.
const V8: &str = r#"
CREATE TABLE multipart_uploads(
    id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key TEXT NOT NULL,
    initiator TEXT NOT NULL,
    initiated TEXT NOT NULL,
    sse_sent TEXT,
    kms_key_sent TEXT,
    sse TEXT NOT NULL,
    kms_key_id TEXT NOT NULL
);
CREATE INDEX multipart_uploads_by_key ON multipart_uploads(bucket, key);
CREATE TABLE multipart_parts(
    upload_id TEXT NOT NULL REFERENCES multipart_uploads(id),
    part_number INTEGER NOT NULL,
    blob TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    tag TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY(upload_id, part_number)
) WITHOUT ROWID;
ALTER TABLE objects ADD COLUMN s3_etag TEXT;
"#;

/// Secrets Manager: a secret's name, key and resource policy; each version's value sealed under
/// a data key of its own (itself sealed under the secret's KMS key) with the ARN and version as
/// additional data; the stages (AWSCURRENT, AWSPREVIOUS, ...) pointing at versions. A secret
/// scheduled for deletion keeps its rows until `deletion_date`, then they are removed.
const V9: &str = r#"
CREATE TABLE secrets(
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    kms_key_id TEXT,
    policy TEXT,
    created TEXT NOT NULL,
    last_changed TEXT NOT NULL,
    last_accessed TEXT,
    deleted TEXT,
    deletion_date TEXT
);
CREATE TABLE secret_versions(
    secret_arn TEXT NOT NULL REFERENCES secrets(arn) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    sealed_data_key BLOB NOT NULL,
    sealed_value BLOB NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY(secret_arn, version_id)
);
CREATE TABLE secret_stages(
    secret_arn TEXT NOT NULL REFERENCES secrets(arn) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY(secret_arn, stage),
    FOREIGN KEY(secret_arn, version_id) REFERENCES secret_versions(secret_arn, version_id)
);
"#;

/// Glue workflows and triggers: definitions, runs, the nodes each run started (the crawl's
/// outcome kept with its node), which triggers fired in a run, and the workflow run a job run
/// belongs to.
const V12: &str = r#"
CREATE TABLE workflows(
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL
);
CREATE TABLE triggers(
    name TEXT PRIMARY KEY,
    workflow TEXT REFERENCES workflows(name) ON DELETE CASCADE,
    definition TEXT NOT NULL,
    owner TEXT NOT NULL,
    next_fire TEXT
);
CREATE INDEX triggers_by_workflow ON triggers(workflow);
CREATE TABLE workflow_runs(
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    run TEXT NOT NULL,
    properties TEXT NOT NULL,
    started TEXT NOT NULL,
    starter TEXT NOT NULL,
    pid INTEGER NOT NULL,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    event_id TEXT
);
CREATE INDEX workflow_runs_by_workflow ON workflow_runs(workflow, started);
CREATE TABLE workflow_fires(
    run_id TEXT NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
    trigger TEXT NOT NULL,
    fired TEXT NOT NULL,
    PRIMARY KEY(run_id, trigger)
);
CREATE TABLE workflow_nodes(
    run_id TEXT NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    trigger TEXT NOT NULL,
    ref TEXT,
    started TEXT NOT NULL,
    error TEXT,
    crawl TEXT,
    PRIMARY KEY(run_id, kind, name)
);
ALTER TABLE job_runs ADD COLUMN workflow_run_id TEXT;
"#;

/// DMS: endpoints (their settings; credentials stay in Secrets Manager), replication tasks
/// (the task as DMS describes it, its failure message sealed; the runner's process and stop
/// request as job runs have; the source position its committed change files reach, written in
/// the same transaction as those files) and per-table statistics.
const V10: &str = r#"
CREATE TABLE dms_endpoints(
    arn TEXT PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE dms_tasks(
    arn TEXT PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    source_endpoint TEXT NOT NULL REFERENCES dms_endpoints(arn),
    target_endpoint TEXT NOT NULL REFERENCES dms_endpoints(arn),
    task TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    checkpoint INTEGER,
    change_files INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE dms_table_stats(
    task_arn TEXT NOT NULL REFERENCES dms_tasks(arn) ON DELETE CASCADE,
    schema_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    stats TEXT NOT NULL,
    PRIMARY KEY(task_arn, schema_name, table_name)
);
"#;

/// EventBridge (local/events/): the outbox of events, each inserted in the transaction of the
/// change that caused it, its body (object keys, findings: derived from data) sealed; rules and
/// their targets (each acting as the principal who put it); one delivery per event, rule and
/// target, claimed under a lease so two processes never deliver it at once, with its attempts,
/// its next try and its sealed last error; the runs a delivery started name its event; Firehose
/// delivery streams to S3.
const V11: &str = r#"
CREATE TABLE events(
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    detail_type TEXT NOT NULL,
    time TEXT NOT NULL,
    body TEXT NOT NULL,
    routed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_unrouted ON events(routed, seq);
CREATE TABLE event_rules(
    name TEXT PRIMARY KEY,
    pattern TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('ENABLED', 'DISABLED')),
    description TEXT,
    created_by TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE event_targets(
    rule TEXT NOT NULL REFERENCES event_rules(name),
    id TEXT NOT NULL,
    arn TEXT NOT NULL,
    input TEXT,
    max_retries INTEGER NOT NULL,
    principal TEXT NOT NULL,
    PRIMARY KEY(rule, id)
);
CREATE TABLE event_deliveries(
    event_id TEXT NOT NULL REFERENCES events(id),
    rule TEXT NOT NULL,
    target_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    last_error TEXT,
    result TEXT,
    updated TEXT NOT NULL,
    PRIMARY KEY(event_id, rule, target_id)
);
CREATE INDEX event_deliveries_due ON event_deliveries(state, next_attempt);
CREATE TABLE delivery_streams(
    name TEXT PRIMARY KEY,
    destination TEXT NOT NULL,
    created TEXT NOT NULL
);
ALTER TABLE job_runs ADD COLUMN event_id TEXT;
ALTER TABLE crawlers ADD COLUMN event_id TEXT;
ALTER TABLE classification_jobs ADD COLUMN event_id TEXT;
"#;

/// DMS in the lake server: the primary key of each table folder a task writes (DMS writes
/// none into its files; a job applying the folder's changes needs it), who started a task and
/// the start a task handed to the lake server waits for (so the server runs it, and resumes it
/// after a restart, as that principal), and the lake servers running (so a CLI process hands a
/// task to one instead of running it itself).
const V13: &str = r#"
CREATE TABLE dms_table_keys(
    bucket TEXT NOT NULL,
    prefix TEXT NOT NULL,
    columns TEXT NOT NULL,
    PRIMARY KEY(bucket, prefix)
);
ALTER TABLE dms_tasks ADD COLUMN starter TEXT;
ALTER TABLE dms_tasks ADD COLUMN handed_start TEXT;
CREATE TABLE lake_servers(
    pid INTEGER PRIMARY KEY,
    started TEXT NOT NULL
);
"#;

/// KMS key tags (TagResource), and every crawl a crawler made (ListCrawls): the crawler's row
/// names its current crawl, whose outcome is also kept in `crawls` when it ends.
const V14: &str = r#"
CREATE TABLE key_tags(
    key_id TEXT NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
    tag_key TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY(key_id, tag_key)
);
CREATE TABLE crawls(
    crawler TEXT NOT NULL REFERENCES crawlers(name) ON DELETE CASCADE,
    id TEXT NOT NULL,
    started TEXT NOT NULL,
    run TEXT NOT NULL,
    PRIMARY KEY(crawler, id)
);
ALTER TABLE crawlers ADD COLUMN crawl_id TEXT;
"#;

pub struct Meta {
    conn: Mutex<Connection>,
    /// Told when each write transaction ends, so the audit head kept outside follows commits.
    head: Arc<HeadFile>,
}

impl Meta {
    pub fn open(path: &Path, head: Arc<HeadFile>) -> Result<Self> {
        // Owner-only from the start: SQLite gives -wal and -shm the mode of the database file.
        match super::lake::create_private(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(ServiceError::local_io("cannot create meta.db", &e)),
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let meta = Meta {
            conn: Mutex::new(conn),
            head,
        };
        meta.write(|tx| {
            let version: usize = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version > MIGRATIONS.len() {
                return Err(ServiceError::new(
                    Code::LakeConfiguration,
                    format!("metadata schema {version} is newer than this lakectl understands"),
                ));
            }
            for migration in &MIGRATIONS[version..] {
                tx.execute_batch(migration)?;
            }
            tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
            Ok(())
        })?;
        Ok(meta)
    }

    /// Runs `f` in a write transaction; it commits only if `f` returns Ok.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = f(&tx).and_then(|out| Ok(tx.commit().map(|()| out)?));
        self.head.transaction_ended(outcome.is_ok());
        outcome
    }

    /// Runs `f` on a consistent snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&tx)
    }
}
