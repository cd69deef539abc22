//! Headless mode: one command tree (`commands`), one executor (`execute`) that turns a command
//! into a service call and an AWS-shaped JSON answer, output rendering, and the script runner.
//! The console's `:` line calls the same executor.

pub mod access_commands;
mod athena;
pub mod commands;
pub mod dms;
pub mod events;
mod glue;
pub mod iam_commands;
pub mod lakeformation;
pub mod local_files;
mod macie2;
mod multipart;
pub mod output;
pub mod s3;
mod s3api;
pub mod script;
pub mod secretsmanager;
pub mod workflows;

use std::sync::Mutex;

use clap::Parser;
use serde_json::{Value, json};

use crate::service::iam::Simulation;
use crate::service::keys::CreateKey;
use crate::service::policy::PolicyDocument;
use crate::service::{Code, Principal, Progress, Result, ServiceError, Services};
use commands::{AuditCommand, Command, CommandLine, IamCommand, KmsCommand, StsCommand};

/// Everything a command runs against.
pub struct Context<'a> {
    pub services: &'a Services,
    pub principal: &'a Principal,
    /// In the console, stdin and stdout belong to the terminal UI.
    pub console: bool,
    /// Transfers report here (the console's status bar reads it) and stop when it is cancelled.
    pub progress: Progress,
    /// What the command says besides its answer; taken by `run`.
    notes: Mutex<Notes>,
    /// In a `--headless` script, stdout carries one JSON record a line, so it cannot carry an
    /// object too.
    headless: bool,
}

/// A command's answer as the edge needs it: the JSON to print, what to say on stderr, and the
/// exit code when the command ran but a script must not take it as a success.
#[derive(Debug)]
pub struct Reply {
    pub value: Value,
    /// Said on stderr as `warning: …` (in the console, in the status bar); already inert.
    pub warnings: Vec<String>,
    /// 0, or the AWS CLI's code for this outcome: 2 when some files were skipped, 255 when a
    /// waited-for run ended FAILED, TIMEOUT, STOPPED or CANCELLED.
    pub exit_code: u8,
}

#[derive(Debug, Default)]
struct Notes {
    warnings: Vec<String>,
    exit_code: u8,
}

/// The AWS CLI's exit code when `s3` skipped files (and did the rest).
pub const EXIT_SKIPPED: u8 = 2;
/// The AWS CLI's exit code when a waiter saw a failure state.
pub const EXIT_WAIT_FAILED: u8 = 255;

impl<'a> Context<'a> {
    pub fn new(services: &'a Services, principal: &'a Principal) -> Self {
        Context {
            services,
            principal,
            console: false,
            progress: Progress::default(),
            notes: Mutex::default(),
            headless: false,
        }
    }

    /// A context for the lines of a `--headless` script.
    pub fn for_headless(services: &'a Services, principal: &'a Principal) -> Self {
        Context {
            headless: true,
            ..Context::new(services, principal)
        }
    }

    /// A context for a command the console runs: stdin and stdout are the terminal UI's.
    pub fn for_console(
        services: &'a Services,
        principal: &'a Principal,
        progress: Progress,
    ) -> Self {
        Context {
            console: true,
            progress,
            ..Context::new(services, principal)
        }
    }

    /// Records a warning (it is made inert here) for the edge to show.
    fn warn(&self, text: &str) {
        let mut notes = self.notes.lock().unwrap_or_else(|p| p.into_inner());
        notes
            .warnings
            .push(crate::terminal_text::inert(text).into_owned());
    }

    /// Ends the command with `code` unless an earlier note chose a code already.
    fn exit_with(&self, code: u8) {
        let mut notes = self.notes.lock().unwrap_or_else(|p| p.into_inner());
        if notes.exit_code == 0 {
            notes.exit_code = code;
        }
    }
}

/// Parses one line the way a shell would split it (`:kms describe-key --key-id alias/x`).
pub fn parse_line(line: &str) -> std::result::Result<Command, String> {
    let words = shell_words::split(line).map_err(|e| format!("cannot split the line: {e}"))?;
    let words = match words.first().map(String::as_str) {
        Some("lakectl") => &words[1..],
        _ => &words[..],
    };
    CommandLine::try_parse_from(words)
        .map(|c| c.command)
        .map_err(|e| e.render().to_string())
}

impl Context<'_> {
    /// Runs a command: its answer, its warnings and the exit code its outcome calls for.
    pub async fn run(&self, cmd: Command) -> Result<Reply> {
        *self.notes.lock().unwrap_or_else(|p| p.into_inner()) = Notes::default();
        let value = self.execute(cmd).await;
        // What the command recorded is delivered before its answer, without a lake server.
        self.services.events.deliver_emitted().await;
        let value = value?;
        let notes = std::mem::take(&mut *self.notes.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(Reply {
            value,
            warnings: notes.warnings,
            exit_code: notes.exit_code,
        })
    }

    /// Runs a command for its answer only (callers that show neither warnings nor exit codes).
    pub async fn execute(&self, cmd: Command) -> Result<Value> {
        match cmd {
            Command::Init | Command::Demo => Err(ServiceError::new(
                Code::InvalidArgument,
                "init and demo create a lake; run them from the shell (lakectl init, lakectl demo)",
            )),
            Command::Iam(c) => self.iam(c).await,
            Command::Sts(StsCommand::GetCallerIdentity) => Ok(serde_json::to_value(
                self.services.iam.caller_identity(self.principal).await?,
            )
            .map_err(|e| ServiceError::internal(e.to_string()))?),
            Command::Kms(c) => self.kms(c).await,
            Command::S3(c) => self.s3(c).await,
            Command::S3api(c) => self.s3api(c).await,
            Command::Glue(c) => self.glue(c).await,
            Command::Macie2(c) => self.macie2(c).await,
            Command::Lakeformation(c) => self.lakeformation(c).await,
            Command::Athena(c) => self.athena(c).await,
            Command::Secretsmanager(c) => self.secretsmanager(c).await,
            Command::Dms(c) => self.dms(c).await,
            Command::Events(c) => self.events(c).await,
            Command::Firehose(c) => self.firehose(c).await,
            Command::Audit(c) => self.audit(c).await,
        }
    }

    async fn iam(&self, cmd: IamCommand) -> Result<Value> {
        let iam = &self.services.iam;
        let by = self.principal;
        Ok(match cmd {
            IamCommand::CreatePrincipal { name, admin } => {
                json!({"User": iam.create_principal(self.principal, &name, admin).await?})
            }
            IamCommand::ListUsers => {
                let users = iam.list_principals(self.principal).await?;
                json!({"Users": users.iter().map(user_json).collect::<Vec<_>>()})
            }
            IamCommand::DeleteUser { user_name } => {
                iam.delete_user(by, &user_name).await?;
                json!({})
            }
            IamCommand::SimulatePrincipalPolicy {
                policy_source_arn,
                action_names,
                resource_arns,
                context_entries,
            } => {
                let context = context_entries
                    .into_iter()
                    .flatten()
                    .flat_map(|entry| {
                        let key = entry.context_key_name;
                        entry
                            .context_key_values
                            .into_iter()
                            .map(move |value| (key.clone(), value))
                    })
                    .collect();
                let simulation = Simulation {
                    action_names,
                    resource_arns,
                    context,
                };
                json!({
                    "EvaluationResults": iam
                        .simulate_principal_policy(by, &policy_source_arn, &simulation)
                        .await?,
                    "IsTruncated": false,
                })
            }
            IamCommand::PutUserPolicy {
                user_name,
                policy_name,
                policy_document,
            } => {
                let doc = PolicyDocument::parse_identity(&s3::read_document(&policy_document)?)?;
                iam.put_user_policy(by, &user_name, &policy_name, &doc)
                    .await?;
                json!({})
            }
            IamCommand::GetUserPolicy {
                user_name,
                policy_name,
            } => json!(iam.get_user_policy(by, &user_name, &policy_name).await?),
            IamCommand::ListUserPolicies { user_name } => {
                json!({"PolicyNames": iam.list_user_policies(by, &user_name).await?})
            }
            IamCommand::DeleteUserPolicy {
                user_name,
                policy_name,
            } => {
                iam.delete_user_policy(by, &user_name, &policy_name).await?;
                json!({})
            }
            IamCommand::AttachUserPolicy {
                user_name,
                policy_arn,
            } => {
                iam.attach_user_policy(by, &user_name, &policy_arn).await?;
                json!({})
            }
            IamCommand::DetachUserPolicy {
                user_name,
                policy_arn,
            } => {
                iam.detach_user_policy(by, &user_name, &policy_arn).await?;
                json!({})
            }
            IamCommand::ListAttachedUserPolicies { user_name } => {
                json!({"AttachedPolicies": iam.list_attached_user_policies(by, &user_name).await?})
            }
            IamCommand::CreateAccessKey { user_name } => {
                json!({"AccessKey": iam.create_access_key(by, user_name.as_deref()).await?})
            }
            IamCommand::ListAccessKeys { user_name } => json!({
                "AccessKeyMetadata": iam.list_access_keys(by, user_name.as_deref()).await?,
                "IsTruncated": false,
            }),
            IamCommand::UpdateAccessKey {
                access_key_id,
                status,
                user_name,
            } => {
                iam.update_access_key(by, user_name.as_deref(), &access_key_id, status.into())
                    .await?;
                json!({})
            }
            IamCommand::DeleteAccessKey {
                access_key_id,
                user_name,
            } => {
                iam.delete_access_key(by, user_name.as_deref(), &access_key_id)
                    .await?;
                json!({})
            }
        })
    }

    async fn kms(&self, cmd: KmsCommand) -> Result<Value> {
        let keys = &self.services.keys;
        let by = self.principal;
        Ok(match cmd {
            KmsCommand::CreateKey { alias, description } => {
                json!({"KeyMetadata": keys.create_key(by, CreateKey { alias, description }).await?})
            }
            KmsCommand::ListKeys => json!({"Keys": keys.list_keys(by).await?}),
            KmsCommand::ListAliases => json!({"Aliases": keys.list_aliases(by).await?}),
            KmsCommand::DescribeKey(k) => {
                json!({"KeyMetadata": keys.describe_key(by, &k.key_id).await?})
            }
            KmsCommand::CreateAlias {
                alias_name,
                target_key_id,
            } => {
                keys.create_alias(by, &alias_name, &target_key_id).await?;
                json!({})
            }
            KmsCommand::EnableKeyRotation {
                key,
                rotation_period_in_days,
            } => {
                keys.set_key_rotation(by, &key.key_id, true, rotation_period_in_days)
                    .await?;
                json!({})
            }
            KmsCommand::DisableKeyRotation(k) => {
                keys.set_key_rotation(by, &k.key_id, false, None).await?;
                json!({})
            }
            KmsCommand::RotateKeyOnDemand(k) => {
                let status = keys.rotate_key_on_demand(by, &k.key_id).await?;
                json!({"KeyId": status.key_id})
            }
            KmsCommand::GetKeyRotationStatus(k) => {
                json!(keys.get_key_rotation_status(by, &k.key_id).await?)
            }
            KmsCommand::DisableKey(k) => {
                keys.set_key_enabled(by, &k.key_id, false).await?;
                json!({})
            }
            KmsCommand::EnableKey(k) => {
                keys.set_key_enabled(by, &k.key_id, true).await?;
                json!({})
            }
            KmsCommand::ScheduleKeyDeletion {
                key,
                pending_window_in_days,
            } => {
                let m = keys
                    .schedule_key_deletion(by, &key.key_id, pending_window_in_days)
                    .await?;
                json!({"KeyId": m.arn, "DeletionDate": m.deletion_date, "KeyState": m.key_state,
                       "PendingWindowInDays": pending_window_in_days})
            }
            KmsCommand::CancelKeyDeletion(k) => {
                json!({"KeyId": keys.cancel_key_deletion(by, &k.key_id).await?.arn})
            }
            KmsCommand::PutKeyPolicy {
                key,
                policy,
                policy_name,
                bypass_policy_lockout_safety_check,
            } => {
                check_policy_name(&policy_name)?;
                let doc = PolicyDocument::parse(&s3::read_document(&policy)?)?;
                keys.put_key_policy(by, &key.key_id, doc, bypass_policy_lockout_safety_check)
                    .await?;
                json!({})
            }
            KmsCommand::GetKeyPolicy { key, policy_name } => {
                check_policy_name(&policy_name)?;
                json!({"Policy": keys.get_key_policy(by, &key.key_id).await?.to_json(), "PolicyName": "default"})
            }
            KmsCommand::TagResource { key, tags } => {
                keys.tag_resource(by, &key.key_id, &tags).await?;
                json!({})
            }
            KmsCommand::UntagResource { key, tag_keys } => {
                keys.untag_resource(by, &key.key_id, &tag_keys).await?;
                json!({})
            }
            KmsCommand::ListResourceTags(key) => json!({
                "Tags": keys.list_resource_tags(by, &key.key_id).await?,
                "Truncated": false,
            }),
            KmsCommand::Detokenize { key, tokens } => {
                let values = keys.detokenize(by, &key.key_id, &tokens).await?;
                let pairs: Vec<Value> = tokens
                    .iter()
                    .zip(values)
                    .map(|(t, v)| json!({"Token": t, "Value": v}))
                    .collect();
                json!({"Values": pairs})
            }
            KmsCommand::Allow {
                key,
                principal,
                operations,
            } => {
                let policy = keys.allow(by, &key.key_id, &principal, &operations).await?;
                json!({"Policy": policy.to_json(), "PolicyName": "default"})
            }
        })
    }

    async fn audit(&self, cmd: AuditCommand) -> Result<Value> {
        let audit = &self.services.audit;
        Ok(match cmd {
            AuditCommand::List { principal } => {
                json!({"Events": audit.list(self.principal, principal.as_deref()).await?})
            }
            AuditCommand::Verify => json!(audit.verify(self.principal).await?),
        })
    }
}

fn check_policy_name(name: &str) -> Result<()> {
    if name != "default" {
        return Err(ServiceError::new(
            Code::NotFoundException,
            "a key has one policy, named default",
        ));
    }
    Ok(())
}

/// IAM's `User`: the lake names a user by its name, so that is its id too (as the lake server's
/// ListUsers answers).
fn user_json(user: &crate::service::iam::PrincipalInfo) -> Value {
    json!({
        "Path": "/",
        "UserName": user.user_name,
        "UserId": user.user_name,
        "Arn": user.arn,
        "CreateDate": user.create_date,
        "Lakectl": {"Admin": user.admin},
    })
}
