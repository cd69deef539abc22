//! The embedded local lake: every service real, on one machine, in one directory. Metadata calls
//! are short SQLite transactions run in place; object bodies stream on blocking threads.

mod access;
mod access_keys;
mod athena;
mod audit;
mod audit_head;
mod authorizer;
mod authz;
mod catalog;
mod classify;
mod client_crypto;
mod crawler;
mod crawls;
mod crypto;
mod dms;
mod envelope;
mod events;
mod glue;
mod iam;
mod job_store;
mod key_tags;
mod keys;
mod kms;
mod lake;
mod macie;
mod managed_policies;
mod meta;
mod multipart;
mod objects;
mod parquet_io;
mod parts;
mod pipe;
mod runs;
mod s3;
pub mod scratch;
mod sealed_text;
mod secrets;
mod user_policies;
mod workflow_runs;
mod workflow_schedule;
mod workflows;

use std::sync::{Arc, Weak};

use aws_lc_rs::aead::LessSafeKey;
use rusqlite::{OptionalExtension, Transaction, params};

pub use access_keys::AccessKeyCredential;
pub use lake::LakeDir;

use crate::service::{BackendInfo, Code, Principal, Result, ServiceError, Services};
use audit::{AuditLog, Event};
use authorizer::{Call, IdentityPolicy};
use lake::LakeHeader;
use meta::Meta;

pub struct Lake {
    /// Runs (jobs, crawls) outlive the call that starts them and need the lake to themselves.
    me: Weak<Lake>,
    dir: LakeDir,
    header: LakeHeader,
    meta: Meta,
    /// Seals and opens KMS key material; derived from the root key, which is not kept.
    key_wrap: LessSafeKey,
    /// Seals messages derived from data before they are stored (see sealed_text.rs).
    text_seal: LessSafeKey,
    /// Seals IAM access keys' secrets (see access_keys.rs).
    access_key_seal: LessSafeKey,
    audit: AuditLog,
    /// Set when this process records an event: it then delivers what is due (events/dispatch.rs).
    events_emitted: std::sync::atomic::AtomicBool,
    /// Wakes the lake server's dispatcher when this process records an event.
    events_notify: tokio::sync::Notify,
    /// Who holds a delivery's lease: this process and this opening of the lake.
    lease_owner: String,
}

/// A principal as the lake knows it, with the identity policies the authorizer weighs.
struct Caller {
    name: String,
    arn: String,
    admin: bool,
    policies: Vec<IdentityPolicy>,
}

impl Lake {
    /// Creates a lake in `dir` with the principal `admin` and the managed key `alias/aws/s3`.
    pub fn init(dir: LakeDir, passphrase: &str) -> Result<Arc<Lake>> {
        let (header, root) = lake::create(&dir, passphrase)?;
        let lake = Lake::assemble(dir, header, &root)?;
        lake.meta.write(|tx| {
            iam::insert_principal(tx, "admin", true)?;
            kms::create_managed_s3_key(&lake, tx)?;
            lake.audit.append(
                tx,
                Event {
                    principal: "admin",
                    source: "lakectl",
                    name: "CreateLake",
                    resource: &lake.dir.root().display().to_string(),
                    error_code: None,
                    detail: serde_json::json!({"AccountId": lake.header.account_id}),
                    origin: None,
                },
            )
        })?;
        Ok(lake)
    }

    pub fn open(dir: LakeDir, passphrase: &str) -> Result<Arc<Lake>> {
        let (header, root) = lake::unlock(&dir, passphrase)?;
        lake::check_writable(&dir)?;
        let lake = Lake::assemble(dir, header, &root)?;
        // Before anything is written: a store that lost commits must not grow over the gap.
        if !lake.meta.read(|tx| lake.audit.check_head_file(tx))? {
            lake.meta.write(|tx| {
                lake.audit.append(
                    tx,
                    Event {
                        principal: "lakectl",
                        source: "lakectl",
                        name: "CreateAuditHeadFile",
                        resource: &lake.dir.audit_head().display().to_string(),
                        error_code: None,
                        detail: serde_json::json!({"Reason": "audit.head was missing: a lake from before it was kept, or it was removed"}),
                        origin: None,
                    },
                )
            })?;
        }
        kms::run_due_maintenance(&lake)?;
        secrets::purge_due(&lake)?;
        objects::sweep_abandoned_uploads(&lake);
        lake.note_undelivered()?;
        Ok(lake)
    }

    fn assemble(dir: LakeDir, header: LakeHeader, root: &crypto::Secret) -> Result<Arc<Lake>> {
        let head_file = Arc::new(audit_head::HeadFile::new(
            dir.audit_head(),
            root.derive("audit head file").hmac(),
        ));
        let meta = Meta::open(&dir.meta_db(), head_file.clone())?;
        // Lakes made before every file was created owner-only get their modes here.
        for path in [dir.header(), dir.meta_db()] {
            lake::restrict(&path);
        }
        for suffix in ["-wal", "-shm"] {
            let mut name = dir.meta_db().into_os_string();
            name.push(suffix);
            lake::restrict(std::path::Path::new(&name));
        }
        lake::restrict_tree_once(dir.root());
        Ok(Arc::new_cyclic(|me| Lake {
            me: me.clone(),
            key_wrap: root.derive("kms key material").aead(),
            text_seal: root.derive("stored messages").aead(),
            access_key_seal: root.derive("iam access key secrets").aead(),
            audit: AuditLog::new(root, head_file),
            events_emitted: std::sync::atomic::AtomicBool::new(false),
            events_notify: tokio::sync::Notify::new(),
            lease_owner: format!("{}:{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            dir,
            header,
            meta,
        }))
    }

    fn arc(&self) -> Arc<Lake> {
        self.me.upgrade().expect("a lake in use is alive")
    }

    pub fn services(self: &Arc<Self>) -> Services {
        Services {
            backend: BackendInfo {
                kind: "local",
                location: self.dir.root().display().to_string(),
                account: self.header.account_id.clone(),
                poll_interval: std::time::Duration::from_millis(50),
            },
            iam: self.clone(),
            keys: self.clone(),
            storage: self.clone(),
            audit: self.clone(),
            catalog: self.clone(),
            jobs: self.clone(),
            workflows: self.clone(),
            classification: self.clone(),
            access: self.clone(),
            query: self.clone(),
            secrets: self.clone(),
            dms: Some(self.clone()),
            events: self.clone(),
            connect: None,
        }
    }

    pub fn account_id(&self) -> &str {
        &self.header.account_id
    }

    /// The lake's region, which ARNs name and clients sign requests for.
    pub fn region(&self) -> &str {
        &self.header.region
    }

    pub fn root(&self) -> &std::path::Path {
        self.dir.root()
    }

    pub fn user_arn_of(&self, name: &str) -> String {
        self.user_arn(name)
    }

    fn user_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:user/{name}", self.header.account_id)
    }

    fn caller(&self, tx: &Transaction, by: &Principal) -> Result<Caller> {
        let admin: Option<bool> = tx
            .query_row(
                "SELECT admin FROM principals WHERE name = ?1",
                params![by.name()],
                |r| r.get(0),
            )
            .optional()?;
        match admin {
            Some(admin) => Ok(Caller {
                name: by.name().into(),
                arn: self.user_arn(by.name()),
                admin,
                policies: authorizer::identity_policies(tx, by.name())?,
            }),
            None => Err(ServiceError::new(
                Code::UnrecognizedClientException,
                format!(
                    "principal {:?} does not exist in this lake; create it with `lakectl iam create-principal --name {}`",
                    by.name(),
                    by.name()
                ),
            )),
        }
    }

    /// Runs a change in one write transaction, once the authorizer allowed `call`, and records
    /// it in the audit log in the same transaction. A refusal is recorded too, in a transaction
    /// of its own.
    fn audited<T>(
        &self,
        by: &Principal,
        call: Call,
        f: impl FnOnce(&Transaction, &Caller) -> Result<(T, serde_json::Value)>,
    ) -> Result<T> {
        let outcome = self.meta.write(|tx| {
            let caller = self.caller(tx, by)?;
            self.authorize(tx, &caller, &call)?;
            let (out, detail) = f(tx, &caller)?;
            self.audit.append(
                tx,
                Event {
                    principal: by.name(),
                    source: call.service,
                    name: call.operation,
                    resource: &call.resource_name,
                    error_code: None,
                    detail,
                    origin: by.origin(),
                },
            )?;
            Ok(out)
        });
        if let Err(e) = &outcome {
            self.record_refusal(by, call.service, call.operation, &call.resource_name, e);
        }
        outcome
    }

    /// Security-relevant refusals (denials, unusable keys, failed integrity) go on the record.
    fn record_refusal(
        &self,
        by: &Principal,
        source: &str,
        name: &str,
        resource: &str,
        e: &ServiceError,
    ) {
        let relevant = matches!(
            e.code,
            Code::AccessDenied
                | Code::DisabledException
                | Code::KMSInvalidStateException
                | Code::InvalidCiphertextException
        );
        if relevant {
            let _ = self.meta.write(|tx| {
                self.audit.append(
                    tx,
                    Event {
                        principal: by.name(),
                        source,
                        name,
                        resource,
                        error_code: Some(e.code.as_str()),
                        detail: serde_json::json!({ "Message": e.message }),
                        origin: by.origin(),
                    },
                )
            });
        }
    }

    /// Runs a read-only call on a snapshot, once the authorizer allowed `call`; refusals are
    /// recorded like those of changes. A read that came through the lake server is recorded
    /// too, as CloudTrail records management reads (with the key id and source address), in
    /// its own transaction after the snapshot; a read the log cannot record is not answered.
    fn reading<T>(
        &self,
        by: &Principal,
        call: Call,
        f: impl FnOnce(&Transaction, &Caller) -> Result<T>,
    ) -> Result<T> {
        let outcome = self.meta.read(|tx| {
            let caller = self.caller(tx, by)?;
            self.authorize(tx, &caller, &call)?;
            f(tx, &caller)
        });
        match &outcome {
            Err(e) => self.record_refusal(by, call.service, call.operation, &call.resource_name, e),
            Ok(_) if by.origin().is_some() => {
                self.meta.write(|tx| {
                    self.audit.append(
                        tx,
                        Event {
                            principal: by.name(),
                            source: call.service,
                            name: call.operation,
                            resource: &call.resource_name,
                            error_code: None,
                            detail: serde_json::json!({ "ReadOnly": true }),
                            origin: by.origin(),
                        },
                    )
                })?;
            }
            Ok(_) => {}
        }
        outcome
    }

    /// ARNs of the lake's Glue and Athena resources (`glue_arn("table/db/t")`), as IAM policies
    /// name them.
    fn glue_arn(&self, resource: &str) -> String {
        format!(
            "arn:aws:glue:{}:{}:{resource}",
            self.header.region, self.header.account_id
        )
    }

    fn athena_work_group_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:athena:{}:{}:workgroup/{name}",
            self.header.region, self.header.account_id
        )
    }
}

/// Runs blocking work (object bodies) off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServiceError::internal(format!("a worker thread failed: {e}")))?
}

/// Glue's and Macie's "no such thing" error.
fn not_found(what: String) -> ServiceError {
    ServiceError::new(Code::EntityNotFoundException, what)
}

/// Whether the process that started a run (jobs, crawls, scans execute in it) has ended
/// without it: another process then reports the run as failed instead of running forever.
fn runner_gone(pid: u32) -> bool {
    pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

/// The local lake's decoders, for `crate::fuzzing` (cargo fuzz) only: not an API.
#[doc(hidden)]
pub mod fuzz_hooks {
    use std::io::{Read, Write};

    use crate::service::Result;

    /// A row filter checked against a table's columns.
    pub fn row_filter(text: &str, columns: &[String]) -> Result<Vec<String>> {
        super::access::rowfilter::check(text, columns)
    }

    /// Arbitrary bytes opened as a sealed object body and read whole with a fixed key: every
    /// input must end in plaintext or an error, never a panic.
    pub fn sealed_object(bytes: &[u8]) -> Result<Vec<u8>> {
        let _ = super::envelope::Header::decode(bytes);
        let mut file = tempfile::tempfile()
            .map_err(|e| crate::service::ServiceError::local_io("tempfile", &e))?;
        file.write_all(bytes)
            .map_err(|e| crate::service::ServiceError::local_io("tempfile", &e))?;
        let sealed = super::envelope::SealedFile::open(file)?;
        let object = super::envelope::SealedObject::new(sealed, super::crypto::Secret([7u8; 32]));
        let len = object.len().min(1 << 20);
        let _ = object.read_range(0, len);
        let mut out = Vec::new();
        object
            .reader_at(0)
            .take(1 << 20)
            .read_to_end(&mut out)
            .map_err(|e| crate::service::ServiceError::local_io("read", &e))?;
        Ok(out)
    }
}
