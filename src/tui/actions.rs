//! What each console action does: the form it asks for, the confirmation it shows and the CLI
//! command it finally runs. Every change is a `lakectl` command line, shown in the confirmation
//! exactly as it will run, so the console also teaches the CLI.

use super::app::{App, Objects, key_label};
use super::jobs::{Job, JobOutcome, command_text};
use super::keymap::Intent;
use super::popup::{Field, Form, FormKind, Picker, PickerKind, Popup, Submit};

use crate::service::keys::{KeyState, USAGE_OPERATIONS};
use crate::service::storage::Sse;
use crate::service::{Code, Principal, ServiceError};

const SSE_S3: &str = "SSE-S3 (the lake-managed key)";
const BUCKET_DEFAULT: &str = " (bucket default)";

pub(super) fn words(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

impl App {
    pub(super) fn confirm(&mut self, label: &str, words: Vec<String>) {
        let message = format!("{label}?\n\n{}", command_text(&words));
        self.popup = Some(Popup::Confirm {
            message,
            job: Job::command(label, words, false),
        });
    }

    fn key_choices(&self) -> Vec<String> {
        self.keys
            .items
            .iter()
            .filter(|k| !k.aliases.iter().any(|a| a.starts_with("alias/aws/")))
            .map(key_label)
            .collect()
    }

    /// The bucket an upload goes to: the open one, or the one selected.
    fn upload_target(&self) -> Option<(String, Option<String>)> {
        let name = match &self.objects {
            Some(o) => o.bucket.clone(),
            None => self.selected_bucket()?.bucket.name.clone(),
        };
        let default_key = self
            .buckets
            .items
            .iter()
            .find(|b| b.bucket.name == name)
            .and_then(|b| b.encryption.as_ref())
            .filter(|e| e.sse_algorithm == Sse::Kms)
            .and_then(|e| e.kms_master_key_id.clone())
            .map(|arn| self.key_name_for_arn(&arn));
        Some((name, default_key))
    }

    /// An alias for a key ARN when it has one.
    pub fn key_name_for_arn(&self, arn: &str) -> String {
        self.keys
            .items
            .iter()
            .find(|k| k.arn == arn)
            .map(key_label)
            .unwrap_or_else(|| arn.to_string())
    }

    pub(super) fn act(&mut self, intent: Intent) {
        match intent {
            Intent::Open => match self.pane {
                super::app::Pane::Buckets => {
                    if let Some(o) = self.objects.as_mut() {
                        if o.enter_selected() {
                            self.load_objects();
                        }
                    } else if let Some(b) = self.selected_bucket() {
                        self.objects = Some(Objects::new(b.bucket.name.clone()));
                        self.load_objects();
                    }
                }
                super::app::Pane::Keys if self.show_secrets => {
                    if let Some(s) = self.secrets.selected() {
                        let w = words(&["secretsmanager", "describe-secret", "--secret-id", &s.arn]);
                        self.run_job(Job::command(format!("secret {}", s.name), w, true));
                    }
                }
                super::app::Pane::Keys => {
                    if let Some(k) = self.selected_key() {
                        self.run_job(key_details(k.key_id.clone(), key_label(k)));
                    }
                }
                super::app::Pane::Findings => {
                    if let Some(f) = self.selected_finding() {
                        let w = words(&["macie2", "get-findings", "--finding-ids", &f.id]);
                        self.run_job(Job::command(format!("finding {}", f.resources_affected.s3_object.key), w, true));
                    }
                }
                super::app::Pane::Runs => self.open_run(),
                _ => {}
            },
            Intent::StartRun => self.start_run(),
            Intent::StopRun => self.stop_run(),
            Intent::RunLog => self.run_log(),
            Intent::Replay => self.replay_delivery(),
            Intent::Catalog => self.run_job(catalog_tree()),
            Intent::Reveal if self.pane == super::app::Pane::Keys => self.reveal_secret(),
            Intent::Reveal => {
                if let Some(f) = self.selected_finding() {
                    let o = &f.resources_affected.s3_object;
                    let w = words(&["macie2", "get-sensitive-data-occurrences", "--finding-id", &f.id]);
                    let message = format!(
                        "Show the sensitive values in s3://{}/{}? This reads the object with your rights and is recorded in the audit log.\n\n{}",
                        o.bucket_name,
                        o.key,
                        command_text(&w)
                    );
                    self.popup = Some(Popup::Confirm { message, job: Job::command(format!("values in {}", o.key), w, true) });
                }
            }
            Intent::MaskFromFinding => {
                if let Some(f) = self.selected_finding() {
                    let bucket = f.resources_affected.s3_object.bucket_name.clone();
                    let classification = f.classification_details.job_id.clone();
                    self.popup = Some(Popup::form(Form::new(
                        FormKind::MaskFromFinding { classification, bucket: bucket.clone() },
                        "Mask what this classification job found",
                        vec![
                            Field::text("Write masked/TABLE and encrypted/TABLE under", &format!("s3://{bucket}/")),
                            Field::text("Security configuration (its key encrypts and tokenizes)", ""),
                            Field::text("Role", self.principal.name()),
                        ],
                    )));
                }
            }
            Intent::Classify => {
                let buckets: Vec<String> = self.buckets.items.iter().map(|b| b.bucket.name.clone()).collect();
                self.popup = Some(Popup::form(Form::new(
                    FormKind::Classify,
                    "New classification job",
                    vec![
                        Field::Choice { label: "Bucket", options: buckets, selected: 0 },
                        Field::text("Prefix (empty: the whole bucket)", ""),
                        Field::text("Custom data identifiers (comma-separated names)", ""),
                    ],
                )));
            }
            Intent::CreateBucket => {
                let mut keys = vec![SSE_S3.to_string()];
                keys.extend(self.key_choices());
                self.popup = Some(Popup::form(Form::new(
                    FormKind::CreateBucket,
                    "New bucket",
                    vec![
                        Field::text("Bucket name", ""),
                        Field::Choice { label: "Default encryption", options: keys, selected: 0 },
                        Field::Choice {
                            label: "Refuse puts not encrypted with KMS",
                            options: vec!["yes".into(), "no".into()],
                            selected: 0,
                        },
                    ],
                )));
            }
            Intent::DeleteBucket => {
                if let Some(b) = self.selected_bucket() {
                    let name = b.bucket.name.clone();
                    self.confirm(&format!("Delete the bucket {name}"), words(&["s3", "rb", &format!("s3://{name}")]));
                }
            }
            Intent::Upload => {
                let Some((bucket, default_key)) = self.upload_target() else { return };
                let mut choices = Vec::new();
                if let Some(k) = &default_key {
                    choices.push(format!("{k}{BUCKET_DEFAULT}"));
                }
                choices.extend(self.key_choices().into_iter().filter(|k| Some(k) != default_key.as_ref()));
                choices.push(SSE_S3.into());
                self.popup = Some(Popup::form(Form::new(
                    FormKind::Upload { bucket: bucket.clone(), prefix: String::new() },
                    format!("Upload to s3://{bucket}"),
                    vec![
                        Field::text("Local file", ""),
                        Field::text("Object key (empty: the file's name)", ""),
                        Field::Choice { label: "Encrypt under", options: choices, selected: 0 },
                    ],
                )));
            }
            Intent::Download => {
                if let (Some(o), Some(obj)) = (&self.objects, self.selected_object()) {
                    let name = obj.key.rsplit('/').next().unwrap_or(&obj.key).to_string();
                    self.popup = Some(Popup::form(Form::new(
                        FormKind::Download { bucket: o.bucket.clone(), key: obj.key.clone() },
                        format!("Download s3://{}/{}", o.bucket, obj.key),
                        vec![Field::text("Save as", &name)],
                    )));
                }
            }
            Intent::DeleteObject => {
                if let (Some(o), Some(obj)) = (&self.objects, self.selected_object()) {
                    let uri = format!("s3://{}/{}", o.bucket, obj.key);
                    self.confirm(&format!("Delete {uri}"), words(&["s3", "rm", &uri]));
                }
            }
            Intent::CreateKey => {
                self.popup = Some(Popup::form(Form::new(
                    FormKind::CreateKey,
                    "New key",
                    vec![Field::text("Alias", "alias/"), Field::text("Description", "")],
                )));
            }
            Intent::RotateKey => self.on_selected_key(|id, label, _| {
                (format!("Rotate {label} now (old data stays readable)"), words(&["kms", "rotate-key-on-demand", "--key-id", id]))
            }),
            Intent::ToggleKeyEnabled => self.on_selected_key(|id, label, state| match state {
                Some(KeyState::Enabled) => (
                    format!("Disable {label}: nothing encrypted under it can be read or written until it is enabled"),
                    words(&["kms", "disable-key", "--key-id", id]),
                ),
                _ => (format!("Enable {label}"), words(&["kms", "enable-key", "--key-id", id])),
            }),
            Intent::ToggleRotation => {
                let on = self.selected_key().and_then(|k| k.rotation.as_ref()).is_some_and(|r| r.key_rotation_enabled);
                self.on_selected_key(|id, label, _| {
                    if on {
                        (format!("Turn off automatic rotation of {label}"), words(&["kms", "disable-key-rotation", "--key-id", id]))
                    } else {
                        (format!("Rotate {label} automatically every year"), words(&["kms", "enable-key-rotation", "--key-id", id]))
                    }
                })
            }
            Intent::ScheduleDeletion => {
                if let Some(k) = self.selected_key() {
                    self.popup = Some(Popup::form(Form::new(
                        FormKind::ScheduleDeletion { key_id: k.key_id.clone() },
                        format!("Schedule the deletion of {}", key_label(k)),
                        vec![Field::text("Waiting period in days (7 to 30)", "30")],
                    )));
                }
            }
            Intent::CancelDeletion => self.on_selected_key(|id, label, _| {
                (format!("Cancel the deletion of {label} (it comes back disabled)"), words(&["kms", "cancel-key-deletion", "--key-id", id]))
            }),
            Intent::EditKeyUsers => {
                if let Some(k) = self.selected_key() {
                    let principals: Vec<String> = self.principals.iter().map(|p| p.user_name.clone()).collect();
                    let ops: Vec<String> = USAGE_OPERATIONS.iter().map(|s| s.to_string()).collect();
                    let ticked = ops.iter().map(|o| o != "ReEncrypt*").collect();
                    self.popup = Some(Popup::form(Form::new(
                        FormKind::KeyUsers { key_id: k.key_id.clone() },
                        format!("Who may use {}", key_label(k)),
                        vec![
                            Field::Choice { label: "Principal", options: principals, selected: 0 },
                            Field::Checks { label: "May (untick all to remove)", options: ops, ticked, cursor: 0 },
                        ],
                    )));
                }
            }
            Intent::SwitchPrincipal => {
                let options: Vec<String> = self.principals.iter().map(|p| p.user_name.clone()).collect();
                let at = options.iter().position(|p| p == self.principal.name());
                let mut state = ratatui::widgets::ListState::default();
                state.select(at.or(Some(0)));
                self.popup = Some(Popup::Picker(Picker { kind: PickerKind::Principal, title: "Act as".into(), options, state }));
            }
            _ => {}
        }
    }

    fn on_selected_key(
        &mut self,
        f: impl FnOnce(&str, &str, Option<KeyState>) -> (String, Vec<String>),
    ) {
        if let Some(k) = self.selected_key() {
            let (label, words) = f(
                &k.key_id,
                &key_label(k),
                k.metadata.as_ref().map(|m| m.key_state),
            );
            self.confirm(&label, words);
        }
    }

    pub(super) fn submit(&mut self, submit: Submit) {
        match submit {
            Submit::Confirmed(job) => self.run_job(job),
            Submit::Picked(PickerKind::Principal, name) => {
                // The status bar already names the acting principal; say what changed.
                let previous = std::mem::replace(&mut self.principal, Principal::new(name));
                self.message = Some(format!("switched from {}", previous.name()));
                self.refresh();
            }
            Submit::Command(line) => {
                self.history.retain(|h| h != &line);
                self.history.push(line.clone());
                if let Some((profile, region)) = super::connection::change(&line) {
                    return self.reconnect(profile, region);
                }
                match crate::cli::parse_line(&line) {
                    Err(usage) => self.show_error(&ServiceError::new(Code::InvalidArgument, usage)),
                    Ok(cmd) if self.readonly && cmd.changes_anything() => self.show_error(&ServiceError::new(
                        Code::AccessDenied,
                        "this console is read-only (--readonly): commands that change the lake are not available",
                    )),
                    Ok(cmd) => {
                        let words = match shell_words::split(&line) {
                            Ok(w) => w.into_iter().skip_while(|w| w == "lakectl").collect(),
                            Err(_) => return,
                        };
                        let job = Job::command(line.clone(), words, true);
                        if cmd.changes_anything() {
                            self.popup = Some(Popup::Confirm { message: format!("Run this?\n\nlakectl {line}"), job });
                        } else {
                            self.run_job(job);
                        }
                    }
                }
            }
            Submit::Form(form) => self.submit_form(form),
        }
    }

    fn submit_form(&mut self, form: Form) {
        let invalid = |m: &str| ServiceError::new(Code::InvalidArgument, m.to_string());
        match form.kind.clone() {
            FormKind::CreateBucket => {
                let name = form.value(0);
                if name.is_empty() {
                    return self.show_error(&invalid("a bucket needs a name"));
                }
                let mut w = words(&["s3", "mb", &format!("s3://{name}")]);
                let key = form.value(1);
                if key != SSE_S3 {
                    w.extend(words(&["--sse-kms-key-id", &key]));
                }
                if form.value(2) == "yes" {
                    w.push("--require-sse-kms".into());
                }
                self.confirm(&format!("Create the bucket {name}"), w);
            }
            FormKind::Upload { bucket, prefix } => {
                let path = form.value(0);
                if path.is_empty() {
                    return self.show_error(&invalid("which file? type its path"));
                }
                let key = match form.value(1) {
                    k if k.is_empty() => {
                        format!("{prefix}{}", path.rsplit('/').next().unwrap_or(&path))
                    }
                    k => k,
                };
                let choice = form.value(2);
                let mut w = words(&["s3", "cp", &path, &format!("s3://{bucket}/{key}")]);
                if choice == SSE_S3 {
                    w.extend(words(&["--sse", "AES256"]));
                } else {
                    let k = choice.trim_end_matches(BUCKET_DEFAULT);
                    w.extend(words(&["--sse", "aws:kms", "--sse-kms-key-id", k]));
                }
                let label = format!(
                    "Upload {path} to s3://{bucket}/{key} under {}",
                    choice.trim_end_matches(BUCKET_DEFAULT)
                );
                self.confirm(&label, w);
            }
            FormKind::Download { bucket, key } => {
                let dest = form.value(0);
                let w = words(&["s3", "cp", &format!("s3://{bucket}/{key}"), &dest]);
                self.run_job(Job::command(format!("download {key}"), w, false));
            }
            FormKind::CreateKey => {
                let alias = form.value(0);
                let mut w = words(&["kms", "create-key"]);
                if !alias.is_empty() && alias != "alias/" {
                    w.extend(words(&["--alias", &alias]));
                }
                let description = form.value(1);
                if !description.is_empty() {
                    w.extend(words(&["--description", &description]));
                }
                self.confirm("Create a key", w);
            }
            FormKind::ScheduleDeletion { key_id } => {
                let days = form.value(0);
                let w = words(&[
                    "kms",
                    "schedule-key-deletion",
                    "--key-id",
                    &key_id,
                    "--pending-window-in-days",
                    &days,
                ]);
                self.confirm(
                    &format!("Delete this key in {days} days: data under it will be lost for good"),
                    w,
                );
            }
            FormKind::Classify => {
                let bucket = form.value(0);
                if bucket.is_empty() {
                    return self.show_error(&invalid("there is no bucket to scan"));
                }
                let name = format!("scan-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
                let mut w = words(&[
                    "macie2",
                    "create-classification-job",
                    "--name",
                    &name,
                    "--bucket",
                    &bucket,
                ]);
                let prefix = form.value(1);
                if !prefix.is_empty() {
                    w.extend(words(&["--prefix", &prefix]));
                }
                for id in form
                    .value(2)
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                {
                    w.extend(words(&["--custom-data-identifier", id]));
                }
                w.push("--wait".into());
                self.confirm(
                    &format!("Scan s3://{bucket}/{prefix} for sensitive data"),
                    w,
                );
            }
            FormKind::MaskFromFinding {
                classification,
                bucket,
            } => {
                let (target, sc, role) = (form.value(0), form.value(1), form.value(2));
                if sc.is_empty() {
                    return self.show_error(&invalid(
                        "name a security configuration: its key protects the tokens",
                    ));
                }
                let name = format!("mask-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
                let create = words(&[
                    "glue",
                    "create-job",
                    "--name",
                    &name,
                    "--source",
                    &format!("s3://{bucket}/"),
                    "--target",
                    &target,
                    "--from-findings",
                    &classification,
                    "--security-configuration",
                    &sc,
                    "--role",
                    &role,
                ]);
                let start = words(&["glue", "start-job-run", "--job-name", &name, "--wait"]);
                let message = format!(
                    "Create and run a masking job?\n\n{}\n{}",
                    command_text(&create),
                    command_text(&start)
                );
                let job = Job::new(format!("masking job {name}"), move |ctx| {
                    Box::pin(async move {
                        let cli = crate::cli::Context::for_console(
                            &ctx.services,
                            &ctx.principal,
                            ctx.progress.clone(),
                        );
                        cli.execute(crate::cli::commands::Command::from_words(&create)?)
                            .await?;
                        let run = cli
                            .execute(crate::cli::commands::Command::from_words(&start)?)
                            .await?;
                        Ok(JobOutcome::Text {
                            title: format!("masking job {name}"),
                            body: crate::cli::output::json_pretty(&run),
                        })
                    })
                });
                self.popup = Some(Popup::Confirm { message, job });
            }
            FormKind::GrantStart => self.grant_details(&form),
            FormKind::GrantDetails {
                principal,
                database,
                table,
                what,
            } => self.confirm_grant(&form, &principal, &database, &table, &what),
            FormKind::Explain => self.explain_from(&form),
            FormKind::KeyUsers { key_id } => {
                let principal = form.value(0);
                let ops = form.value(1);
                let mut w = words(&[
                    "kms",
                    "allow",
                    "--key-id",
                    &key_id,
                    "--principal",
                    &principal,
                    "--operations",
                ]);
                if !ops.is_empty() {
                    w.push(ops.clone());
                }
                let label = if ops.is_empty() {
                    format!("{principal} may no longer use this key")
                } else {
                    format!("{principal} may {ops} with this key")
                };
                self.confirm(&label, w);
            }
        }
    }
}

/// Describe, rotation and policy of one key, in one popup.
fn key_details(key_id: String, label: String) -> Job {
    Job::new(format!("details of {label}"), move |ctx| {
        Box::pin(async move {
            let keys = &ctx.services.keys;
            let by = &ctx.principal;
            let meta = keys.describe_key(by, &key_id).await?;
            let mut body =
                crate::cli::output::json_pretty(&serde_json::json!({"KeyMetadata": meta}));
            if let Ok(r) = keys.get_key_rotation_status(by, &key_id).await {
                body.push_str("\n\nRotation\n");
                body.push_str(&crate::cli::output::json_pretty(&serde_json::json!(r)));
            }
            match keys.get_key_policy(by, &key_id).await {
                Ok(p) => {
                    body.push_str("\n\nKey policy\n");
                    body.push_str(&p.to_json());
                }
                Err(e) => body.push_str(&format!("\n\nKey policy: {}", e.message)),
            }
            Ok(JobOutcome::Text { title: label, body })
        })
    })
}

/// The catalog as a tree: databases, their tables with location and format, and columns.
fn catalog_tree() -> Job {
    Job::new("catalog", move |ctx| {
        Box::pin(async move {
            let catalog = &ctx.services.catalog;
            let by = &ctx.principal;
            let mut body = String::new();
            for db in catalog.get_databases(by).await? {
                body.push_str(&format!("{}\n", db.name));
                for t in catalog.get_tables(by, &db.name).await? {
                    let format = t
                        .parameters
                        .get("classification")
                        .map(String::as_str)
                        .unwrap_or("?");
                    body.push_str(&format!(
                        "  {}  ({format}, {})\n",
                        t.name, t.storage_descriptor.location
                    ));
                    for c in &t.storage_descriptor.columns {
                        body.push_str(&format!("      {:<28} {}\n", c.name, c.type_name));
                    }
                    for c in &t.partition_keys {
                        body.push_str(&format!(
                            "      {:<28} {} (partition)\n",
                            c.name, c.type_name
                        ));
                    }
                }
            }
            if body.is_empty() {
                body = "The catalog is empty: create a database (:glue create-database --name NAME) and crawl data into it.".into();
            }
            Ok(JobOutcome::Text {
                title: "Catalog: databases → tables → columns".into(),
                body,
            })
        })
    })
}
