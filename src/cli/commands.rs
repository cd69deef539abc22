//! The command tree, once: the shell, `--headless` scripts and the console's `:` line all parse
//! with it. Names follow the AWS CLI (service, then operation, kebab-case).

use std::path::PathBuf;

use crate::service::keys::KeyTag;
use clap::{Args, Parser, Subcommand};

pub use super::access_commands::{AthenaCommand, LakeFormationCommand};
pub use super::iam_commands::IamCommand;

/// A command as typed after `lakectl` (or after `:` in the console).
#[derive(Debug, Parser)]
#[command(no_binary_name = true, disable_help_subcommand = true)]
pub struct CommandLine {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an empty lake with the principal `admin` (needs a passphrase; see --help of lakectl)
    Init,
    /// Create a lake with the seed scenarios loaded (the demo lake, passphrase `demo`)
    Demo,
    /// Principals (the local lake's users, or IAM users on AWS) and their identity policies:
    /// without a policy, a principal that is not a lake admin may call nothing
    #[command(subcommand)]
    Iam(IamCommand),
    /// Who the acting principal is (AWS STS)
    #[command(subcommand)]
    Sts(StsCommand),
    /// Customer-managed keys (AWS KMS semantics)
    #[command(subcommand)]
    Kms(KmsCommand),
    /// Buckets and objects, the high-level commands (aws s3)
    #[command(subcommand)]
    S3(S3Command),
    /// Buckets and objects, the API-level commands (aws s3api)
    #[command(subcommand)]
    S3api(S3apiCommand),
    /// The catalog, ETL jobs and crawlers (AWS Glue)
    #[command(subcommand)]
    Glue(GlueCommand),
    /// Sensitive-data discovery: classification jobs and findings (Amazon Macie)
    #[command(subcommand)]
    Macie2(Macie2Command),
    /// Who may see which tables, columns and rows (AWS Lake Formation)
    #[command(subcommand)]
    Lakeformation(LakeFormationCommand),
    /// SQL over the catalog, as the acting principal sees it (Amazon Athena)
    #[command(subcommand)]
    Athena(AthenaCommand),
    /// Secrets sealed under a KMS key, versioned, read only as policies allow (AWS Secrets
    /// Manager)
    #[command(subcommand)]
    Secretsmanager(super::secretsmanager::SecretsmanagerCommand),
    /// Replication from a database (PostgreSQL, or a SQLite file) into the lake: endpoints,
    /// tasks (full load, ongoing changes) and their statistics (AWS Database Migration Service)
    #[command(subcommand)]
    Dms(super::dms::DmsCommand),
    /// Rules that match the lake's events (object created, job and crawler state, Macie
    /// findings) and deliver them to targets (Amazon EventBridge)
    #[command(subcommand)]
    Events(super::events::EventsCommand),
    /// Delivery streams that batch events into encrypted objects (Amazon Data Firehose to S3)
    #[command(subcommand)]
    Firehose(super::events::FirehoseCommand),
    /// The audit trail: the local lake's hash chain, or on AWS CloudTrail's events (whose
    /// integrity `aws cloudtrail validate-logs` checks)
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum StsCommand {
    /// The acting principal's user id, account and ARN (on AWS, the credentials'; through a lake
    /// server, the access key's owner)
    GetCallerIdentity,
}

#[derive(Debug, Subcommand)]
pub enum Macie2Command {
    /// Turn sensitive-data discovery on (on AWS, once per account and region; the local lake's
    /// is always on)
    EnableMacie,
    /// Whether discovery is on
    GetMacieSession,
    /// A regex, with keywords that must stand near a match (or name its column)
    CreateCustomDataIdentifier {
        #[arg(long)]
        name: String,
        #[arg(long)]
        regex: String,
        #[arg(long, value_delimiter = ',')]
        keywords: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        ignore_words: Vec<String>,
        #[arg(long, default_value_t = 50)]
        maximum_match_distance: u32,
    },
    ListCustomDataIdentifiers,
    /// Words or a regex whose matches are never reported
    CreateAllowList {
        #[arg(long)]
        name: String,
        #[arg(long, value_delimiter = ',', conflicts_with = "regex")]
        words: Vec<String>,
        #[arg(long)]
        regex: Option<String>,
    },
    /// Scan the objects under a bucket and prefix. On the local lake it runs in this process
    CreateClassificationJob {
        #[arg(long)]
        name: String,
        #[arg(long)]
        bucket: String,
        #[arg(long)]
        prefix: Option<String>,
        /// A custom data identifier to use beside the managed ones (repeat for more)
        #[arg(long = "custom-data-identifier")]
        custom_data_identifiers: Vec<String>,
        /// An allow list (repeat for more)
        #[arg(long = "allow-list")]
        allow_lists: Vec<String>,
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(1..=100))]
        sampling_percentage: u8,
        /// Print the finished job
        #[arg(long)]
        wait: bool,
    },
    ListClassificationJobs,
    DescribeClassificationJob {
        #[arg(long)]
        job_id: String,
    },
    ListFindings {
        #[arg(long)]
        job_id: Option<String>,
    },
    GetFindings {
        #[arg(long, num_args = 1.., required = true)]
        finding_ids: Vec<String>,
    },
    /// Counts of findings by type (or by severity)
    GetFindingStatistics {
        #[arg(long, default_value = "type")]
        group_by: String,
    },
    /// The sensitive values a finding points at: needs read and decrypt rights; audited
    GetSensitiveDataOccurrences {
        #[arg(long)]
        finding_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum GlueCommand {
    CreateDatabase {
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    GetDatabases,
    GetTables {
        /// The database (the AWS CLI's --database-name is the same flag)
        #[arg(long, visible_alias = "database-name")]
        database: String,
    },
    GetTable {
        /// The database (the AWS CLI's --database-name is the same flag)
        #[arg(long, visible_alias = "database-name")]
        database: String,
        #[arg(long)]
        name: String,
    },
    DeleteTable {
        /// The database (the AWS CLI's --database-name is the same flag)
        #[arg(long, visible_alias = "database-name")]
        database: String,
        #[arg(long)]
        name: String,
    },
    /// A named key for the output (S3 SSE-KMS) and logs of jobs and crawlers
    CreateSecurityConfiguration {
        #[arg(long)]
        name: String,
        #[arg(long)]
        sse_kms_key_id: String,
    },
    GetSecurityConfigurations,
    /// An ETL job: every object under --source (JSON lines or array, CSV, Parquet, gzip) to Parquet (zstd) under --target
    CreateJob {
        #[arg(long)]
        name: String,
        /// s3://BUCKET/PREFIX/ to read, or a catalog table DB.TABLE (its columns are the schema)
        #[arg(long)]
        source: String,
        /// s3://BUCKET/PREFIX/ to write (replaced whole by each run)
        #[arg(long)]
        target: String,
        /// Write exact duplicate records once
        #[arg(long)]
        dedup: bool,
        #[arg(long)]
        security_configuration: Option<String>,
        /// COLUMN=OPERATOR (redact, partial:N, null, hash, tokenize, generalize-date); with
        /// --from-findings, TYPE=OPERATOR for a detection type. Repeat for more
        #[arg(long = "mask", value_name = "COLUMN=OPERATOR")]
        masks: Vec<String>,
        /// Mask what a classification job (id, or name: its latest run) found: writes masked/TABLE
        /// (redacted, or --mask TYPE=OPERATOR per detection type) and encrypted/TABLE (tokenized)
        /// under --target for every dataset folder with findings. Or s3://BUCKET/PREFIX/: the
        /// findings a rule delivered there (a Firehose stream's objects of Macie Finding events;
        /// a lakectl extension, on the local lake)
        #[arg(long)]
        from_findings: Option<String>,
        /// The principal the job runs as [default: the caller]
        #[arg(long)]
        role: Option<String>,
        /// Stop the run with TIMEOUT after this many minutes
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        timeout: Option<u32>,
        /// AWS: run in lakectl itself (S3 in, masked here, S3 out under SSE-KMS), not on Glue,
        /// for data that must not pass through another service. The local lake always does
        #[arg(long)]
        in_lakectl: bool,
        /// The share of a column's sampled values that must agree on its type; records whose
        /// value does not fit it are quarantined. At most 1 (every value agrees, else the column
        /// is text), above 0.5 [default: 0.999]
        #[arg(long, value_name = "SHARE", value_parser = parse_consensus)]
        type_consensus: Option<f64>,
    },
    GetJobs,
    /// One job's definition
    GetJob {
        #[arg(long)]
        job_name: String,
    },
    /// Start a run. On the local lake (and on AWS for a job created --in-lakectl) it runs in this
    /// process: without --wait the JobRunId is printed at once and the process stays until the
    /// run ends; other AWS jobs run on Glue
    StartJobRun {
        #[arg(long)]
        job_name: String,
        /// Print the finished run instead of its id
        #[arg(long)]
        wait: bool,
    },
    GetJobRun {
        #[arg(long)]
        job_name: String,
        #[arg(long)]
        run_id: String,
    },
    GetJobRuns {
        #[arg(long)]
        job_name: String,
    },
    BatchStopJobRun {
        #[arg(long)]
        job_name: String,
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        job_run_ids: Vec<String>,
    },
    /// The run's log, decrypted (needs kms:Decrypt on the security configuration's key)
    GetJobRunLog {
        #[arg(long)]
        job_name: String,
        #[arg(long)]
        run_id: String,
    },
    CreateCrawler {
        #[arg(long)]
        name: String,
        #[arg(long)]
        database: String,
        /// s3://BUCKET/PREFIX/ (repeat for more)
        #[arg(long = "target", required = true)]
        targets: Vec<String>,
        #[arg(long)]
        security_configuration: Option<String>,
        /// UPDATE_IN_DATABASE or LOG
        #[arg(long, default_value = "UPDATE_IN_DATABASE")]
        schema_change_policy: String,
        /// Put before every table name this crawler creates
        #[arg(long)]
        table_prefix: Option<String>,
        /// The principal the crawler reads as [default: the caller]
        #[arg(long)]
        role: Option<String>,
    },
    StartCrawler {
        #[arg(long)]
        name: String,
        #[arg(long)]
        wait: bool,
    },
    /// Stop a crawl that is running (it ends CANCELLED; tables it already wrote stay)
    StopCrawler {
        #[arg(long)]
        name: String,
    },
    GetCrawler {
        #[arg(long)]
        name: String,
    },
    GetCrawlers,
    /// A crawler's crawls, newest first (Glue's ListCrawls)
    ListCrawls {
        #[arg(long)]
        crawler_name: String,
    },
    #[command(flatten)]
    Workflows(super::workflows::WorkflowCommand),
}

#[derive(Debug, Args)]
pub struct KeyArg {
    /// Key id, key ARN, alias/NAME or alias ARN
    #[arg(long)]
    pub key_id: String,
}

/// `--tags` in the AWS CLI's shorthand: `TagKey=KEY,TagValue=VALUE` (the value may hold
/// commas and equals signs; it runs to the end).
fn parse_key_tag(text: &str) -> std::result::Result<KeyTag, String> {
    let rest = text
        .strip_prefix("TagKey=")
        .ok_or_else(|| format!("a tag is TagKey=KEY,TagValue=VALUE, not {text:?}"))?;
    let (key, value) = rest
        .split_once(",TagValue=")
        .ok_or_else(|| format!("a tag is TagKey=KEY,TagValue=VALUE, not {text:?}"))?;
    Ok(KeyTag {
        tag_key: key.to_string(),
        tag_value: value.to_string(),
    })
}

#[derive(Debug, Subcommand)]
pub enum KmsCommand {
    /// Create a symmetric customer-managed key
    CreateKey {
        /// alias/NAME to give the key
        #[arg(long)]
        alias: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    ListKeys,
    ListAliases,
    DescribeKey(KeyArg),
    CreateAlias {
        #[arg(long)]
        alias_name: String,
        #[arg(long)]
        target_key_id: String,
    },
    EnableKeyRotation {
        #[command(flatten)]
        key: KeyArg,
        /// 90 to 2560 days (365 by default)
        #[arg(long)]
        rotation_period_in_days: Option<u32>,
    },
    DisableKeyRotation(KeyArg),
    /// Give the key a new version now; old data stays readable
    RotateKeyOnDemand(KeyArg),
    GetKeyRotationStatus(KeyArg),
    DisableKey(KeyArg),
    EnableKey(KeyArg),
    ScheduleKeyDeletion {
        #[command(flatten)]
        key: KeyArg,
        /// 7 to 30 days
        #[arg(long, default_value_t = 30)]
        pending_window_in_days: u32,
    },
    /// Cancel a scheduled deletion; the key comes back disabled
    CancelKeyDeletion(KeyArg),
    PutKeyPolicy {
        #[command(flatten)]
        key: KeyArg,
        /// The policy: file://PATH or the JSON itself
        #[arg(long)]
        policy: String,
        #[arg(long, default_value = "default")]
        policy_name: String,
        #[arg(long)]
        bypass_policy_lockout_safety_check: bool,
    },
    GetKeyPolicy {
        #[command(flatten)]
        key: KeyArg,
        #[arg(long, default_value = "default")]
        policy_name: String,
    },
    /// Tag a key (a tag already there gets the new value)
    TagResource {
        #[command(flatten)]
        key: KeyArg,
        /// TagKey=KEY,TagValue=VALUE (repeat for more)
        #[arg(long, num_args = 1.., required = true, value_parser = parse_key_tag)]
        tags: Vec<KeyTag>,
    },
    /// Remove tags from a key, by tag key
    UntagResource {
        #[command(flatten)]
        key: KeyArg,
        #[arg(long, num_args = 1.., required = true)]
        tag_keys: Vec<String>,
    },
    /// A key's tags
    ListResourceTags(KeyArg),
    /// The values behind tokens a masking job made under this key (needs kms:Decrypt; audited).
    /// A lakectl extension: AWS has no tokenization in KMS
    Detokenize {
        #[command(flatten)]
        key: KeyArg,
        #[arg(long, num_args = 1.., required = true)]
        tokens: Vec<String>,
    },
    /// Let a principal use the key: edits the key policy (an empty list removes the grant)
    Allow {
        #[command(flatten)]
        key: KeyArg,
        #[arg(long)]
        principal: String,
        /// Comma-separated: Encrypt,Decrypt,GenerateDataKey,ReEncrypt*,DescribeKey,...
        #[arg(long, value_delimiter = ',', num_args = 0..)]
        operations: Vec<String>,
    },
}

#[derive(Debug, Args, Default)]
pub struct SseArgs {
    /// Server-side encryption header: aws:kms or AES256
    #[arg(long)]
    pub sse: Option<String>,
    /// The KMS key (id, ARN or alias) for --sse aws:kms
    #[arg(long)]
    pub sse_kms_key_id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum S3Command {
    /// Make a bucket
    Mb {
        /// s3://BUCKET
        uri: String,
        /// Default encryption: SSE-KMS under this key
        #[arg(long)]
        sse_kms_key_id: Option<String>,
        /// Install the policy that refuses any put not encrypted with KMS
        #[arg(long)]
        require_sse_kms: bool,
    },
    /// Remove an empty bucket
    Rb { uri: String },
    /// List buckets, or objects under s3://BUCKET[/PREFIX]
    Ls {
        uri: Option<String>,
        #[arg(long)]
        recursive: bool,
    },
    /// Copy: local file or directory, '-' (stdin/stdout) or s3://BUCKET/KEY, in any direction
    Cp {
        source: String,
        destination: String,
        #[command(flatten)]
        sse: SseArgs,
        #[arg(long)]
        recursive: bool,
    },
    /// Remove an object (or everything under a prefix with --recursive)
    Rm {
        uri: String,
        #[arg(long)]
        recursive: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum S3apiCommand {
    /// The buckets the caller may list, with their creation dates
    ListBuckets,
    HeadObject {
        #[arg(long)]
        bucket: String,
        #[arg(long)]
        key: String,
    },
    ListObjectsV2 {
        #[arg(long)]
        bucket: String,
        #[arg(long, default_value = "")]
        prefix: String,
        #[arg(long)]
        delimiter: Option<char>,
    },
    /// Download an object into OUTFILE (`--range bytes=A-B` for part of it)
    GetObject {
        #[arg(long)]
        bucket: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        range: Option<String>,
        outfile: PathBuf,
    },
    PutObject {
        #[arg(long)]
        bucket: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        body: PathBuf,
        /// aws:kms or AES256
        #[arg(long)]
        server_side_encryption: Option<String>,
        #[arg(long = "ssekms-key-id")]
        ssekms_key_id: Option<String>,
    },
    PutBucketPolicy {
        #[arg(long)]
        bucket: String,
        /// file://PATH or the JSON itself
        #[arg(long)]
        policy: String,
    },
    GetBucketPolicy {
        #[arg(long)]
        bucket: String,
    },
    DeleteBucketPolicy {
        #[arg(long)]
        bucket: String,
    },
    /// Default encryption: SSE-KMS under a key, or AES256 (SSE-S3)
    PutBucketEncryption {
        #[arg(long)]
        bucket: String,
        #[arg(long, conflicts_with = "sse")]
        sse_kms_key_id: Option<String>,
        /// AES256 for SSE-S3
        #[arg(long)]
        sse: Option<String>,
    },
    GetBucketEncryption {
        #[arg(long)]
        bucket: String,
    },
    /// Start a multipart upload; the encryption is chosen here, for every part
    CreateMultipartUpload {
        #[arg(long)]
        bucket: String,
        #[arg(long)]
        key: String,
        /// aws:kms or AES256
        #[arg(long)]
        server_side_encryption: Option<String>,
        #[arg(long = "ssekms-key-id")]
        ssekms_key_id: Option<String>,
    },
    /// Upload one part (1 to 10000) of a multipart upload from a file
    UploadPart {
        #[arg(long)]
        bucket: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        upload_id: String,
        #[arg(long)]
        part_number: i32,
        #[arg(long)]
        body: PathBuf,
    },
    ListParts {
        #[arg(long)]
        bucket: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        upload_id: String,
    },
    ListMultipartUploads {
        #[arg(long)]
        bucket: String,
        #[arg(long, default_value = "")]
        prefix: String,
    },
    /// Make the object of the parts listed: file://parts.json or the JSON itself,
    /// {"Parts":[{"ETag":"...","PartNumber":1},...]}
    CompleteMultipartUpload {
        #[arg(long)]
        bucket: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        upload_id: String,
        #[arg(long)]
        multipart_upload: String,
    },
    AbortMultipartUpload {
        #[arg(long)]
        bucket: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        upload_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The audit events, oldest first
    List {
        #[arg(long)]
        principal: Option<String>,
    },
    /// Check every link of the hash chain; names the first entry altered or removed
    Verify,
}

impl Command {
    /// Parses already-split words (the console builds its actions this way: no quoting issues).
    pub fn from_words(words: &[String]) -> crate::service::Result<Command> {
        CommandLine::try_parse_from(words)
            .map(|c| c.command)
            .map_err(|e| {
                crate::service::ServiceError::new(
                    crate::service::Code::InvalidArgument,
                    e.render().to_string(),
                )
            })
    }

    /// Whether running it may change the lake (the console's --readonly removes those).
    pub fn changes_anything(&self) -> bool {
        match self {
            Command::Init | Command::Demo => true,
            Command::Sts(StsCommand::GetCallerIdentity) => false,
            Command::Iam(c) => !matches!(
                c,
                IamCommand::ListUsers
                    | IamCommand::SimulatePrincipalPolicy { .. }
                    | IamCommand::GetUserPolicy { .. }
                    | IamCommand::ListUserPolicies { .. }
                    | IamCommand::ListAttachedUserPolicies { .. }
                    | IamCommand::ListAccessKeys { .. }
            ),
            Command::Kms(c) => !matches!(
                c,
                KmsCommand::ListKeys
                    | KmsCommand::Detokenize { .. }
                    | KmsCommand::ListAliases
                    | KmsCommand::DescribeKey(_)
                    | KmsCommand::GetKeyRotationStatus(_)
                    | KmsCommand::GetKeyPolicy { .. }
                    | KmsCommand::ListResourceTags(_)
            ),
            Command::S3(c) => match c {
                S3Command::Ls { .. } => false,
                // Downloads change nothing in the lake.
                S3Command::Cp { destination, .. } => destination.starts_with("s3://"),
                _ => true,
            },
            Command::S3api(c) => !matches!(
                c,
                S3apiCommand::HeadObject { .. }
                    | S3apiCommand::ListBuckets
                    | S3apiCommand::ListObjectsV2 { .. }
                    | S3apiCommand::GetObject { .. }
                    | S3apiCommand::GetBucketPolicy { .. }
                    | S3apiCommand::GetBucketEncryption { .. }
                    | S3apiCommand::ListParts { .. }
                    | S3apiCommand::ListMultipartUploads { .. }
            ),
            Command::Glue(GlueCommand::Workflows(c)) => c.changes_anything(),
            Command::Glue(c) => !matches!(
                c,
                GlueCommand::GetDatabases
                    | GlueCommand::GetTables { .. }
                    | GlueCommand::GetTable { .. }
                    | GlueCommand::GetSecurityConfigurations
                    | GlueCommand::GetJobs
                    | GlueCommand::GetJob { .. }
                    | GlueCommand::GetJobRun { .. }
                    | GlueCommand::GetJobRuns { .. }
                    | GlueCommand::GetJobRunLog { .. }
                    | GlueCommand::GetCrawler { .. }
                    | GlueCommand::GetCrawlers
                    | GlueCommand::ListCrawls { .. }
            ),
            Command::Macie2(c) => matches!(
                c,
                Macie2Command::EnableMacie
                    | Macie2Command::CreateCustomDataIdentifier { .. }
                    | Macie2Command::CreateAllowList { .. }
                    | Macie2Command::CreateClassificationJob { .. }
            ),
            Command::Lakeformation(c) => c.changes_anything(),
            Command::Athena(c) => c.changes_anything(),
            Command::Secretsmanager(c) => c.changes_anything(),
            Command::Dms(c) => c.changes_anything(),
            Command::Events(c) => c.changes_anything(),
            Command::Firehose(c) => c.changes_anything(),
            Command::Audit(_) => false,
        }
    }
}

/// `--type-consensus`: a share the engine accepts, refused here as a usage error.
fn parse_consensus(text: &str) -> std::result::Result<f64, String> {
    let share: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number (e.g. 0.999)"))?;
    crate::etl::consensus::Consensus::new(share)?;
    Ok(share)
}
