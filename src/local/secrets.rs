//! Secrets Manager on the local lake. Each version's value is sealed as object bodies are: a data
//! key of its own from the secret's KMS key (GenerateDataKey, bound to the secret's ARN and the
//! version), and the value sealed under that data key with the ARN and version as additional
//! data, so a sealed value moved to another secret or version does not open. Reads go through
//! `Lake::audited` (every read is on the record, without the value) and need the secret's
//! permission (identity or resource policy, see authorizer.rs) and kms:Decrypt on its key.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::Duration;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;
use zeroize::Zeroize;

use super::audit::Event;
use super::authorizer::Call;
use super::{Caller, Lake, crypto, kms, now, parse_ts, ts};
use crate::service::policy::PolicyDocument;
use crate::service::secrets::{
    AWSCURRENT, AWSPREVIOUS, CreateSecret, DeleteMode, DeletedSecret, SecretDescription,
    SecretPolicy, SecretRef, SecretString, SecretValue, Secrets, VersionSelector,
};
use crate::service::{Code, Principal, Result, ServiceError};

struct SecretRow {
    arn: String,
    name: String,
    description: Option<String>,
    kms_key_id: Option<String>,
    policy: Option<String>,
    created: String,
    last_changed: String,
    last_accessed: Option<String>,
    deleted: Option<String>,
}

const COLUMNS: &str =
    "arn, name, description, kms_key_id, policy, created, last_changed, last_accessed, deleted";

fn read_row(r: &rusqlite::Row) -> rusqlite::Result<SecretRow> {
    Ok(SecretRow {
        arn: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        kms_key_id: r.get(3)?,
        policy: r.get(4)?,
        created: r.get(5)?,
        last_changed: r.get(6)?,
        last_accessed: r.get(7)?,
        deleted: r.get(8)?,
    })
}

fn value_aad(arn: &str, version: &str) -> Vec<u8> {
    format!("lakectl secret value v1|{arn}|{version}").into_bytes()
}

fn data_key_context(arn: &str, version: &str) -> String {
    format!("secretsmanager|{arn}|{version}")
}

fn not_found() -> ServiceError {
    ServiceError::new(
        Code::ResourceNotFoundException,
        "Secrets Manager can't find the specified secret.",
    )
}

fn marked_for_deletion() -> ServiceError {
    ServiceError::new(
        Code::InvalidRequestException,
        "You can't perform this operation on the secret because it was marked for deletion; `lakectl secretsmanager restore-secret` cancels the deletion.",
    )
}

/// Secrets Manager's names: 1 to 512 of ASCII letters, digits and `/_+=.@-`.
fn check_name(name: &str) -> Result<()> {
    let ok = (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::new(
            Code::InvalidParameterException,
            "a secret's name is 1 to 512 ASCII letters, digits and /_+=.@-",
        ))
    }
}

/// The six random characters Secrets Manager appends to a secret's name in its ARN, so a secret
/// made again under an old name is not the old one to policies that named its ARN.
fn arn_suffix() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 6];
    crypto::fill_random(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The versions that carry a stage, with their stages.
fn stages(tx: &Transaction, arn: &str) -> Result<BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut stmt = tx.prepare(
        "SELECT version_id, stage FROM secret_stages WHERE secret_arn = ?1 ORDER BY stage",
    )?;
    for row in stmt.query_map(params![arn], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })? {
        let (version, stage) = row?;
        out.entry(version).or_default().push(stage);
    }
    Ok(out)
}

/// Removes a secret and every sealed version of it.
fn remove(tx: &Transaction, arn: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM secret_stages WHERE secret_arn = ?1",
        params![arn],
    )?;
    tx.execute(
        "DELETE FROM secret_versions WHERE secret_arn = ?1",
        params![arn],
    )?;
    tx.execute("DELETE FROM secrets WHERE arn = ?1", params![arn])?;
    Ok(())
}

/// Removes the secrets whose recovery window has ended. Runs when a lake opens and before each
/// change to secrets; reads skip such secrets meanwhile.
pub(super) fn purge_due(lake: &Lake) -> Result<()> {
    let t = ts(now());
    let due: i64 = lake.meta.read(|tx| {
        Ok(tx.query_row(
            "SELECT count(*) FROM secrets WHERE deletion_date <= ?1",
            params![t],
            |r| r.get(0),
        )?)
    })?;
    if due > 0 {
        lake.meta.write(|tx| lake.purge_expired(tx))?;
    }
    Ok(())
}

impl Lake {
    fn purge_expired(&self, tx: &Transaction) -> Result<()> {
        let gone: Vec<String> = tx
            .prepare("SELECT arn FROM secrets WHERE deletion_date <= ?1")?
            .query_map(params![ts(now())], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for arn in gone {
            remove(tx, &arn)?;
            self.audit.append(
                tx,
                Event {
                    principal: "lakectl",
                    source: "secretsmanager",
                    name: "DeleteSecret",
                    resource: &arn,
                    error_code: None,
                    detail: json!({"Reason": "the recovery window ended; every version is destroyed"}),
                    origin: None,
                },
            )?;
        }
        Ok(())
    }

    /// The ARN a call names before the secret is found: the ARN given, or the name's ARN without
    /// its suffix (identity policies' `secret:NAME-*` match it).
    fn secret_target(&self, secret_id: &str) -> String {
        if secret_id.starts_with("arn:") {
            secret_id.to_string()
        } else {
            format!(
                "arn:aws:secretsmanager:{}:{}:secret:{secret_id}",
                self.header.region, self.header.account_id
            )
        }
    }

    fn find_secret(&self, tx: &Transaction, secret_id: &str) -> Result<Option<SecretRow>> {
        Ok(tx
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM secrets WHERE (name = ?1 OR arn = ?1)
                     AND (deletion_date IS NULL OR deletion_date > ?2)"
                ),
                params![secret_id, ts(now())],
                read_row,
            )
            .optional()?)
    }

    fn secret_row(&self, tx: &Transaction, secret_id: &str) -> Result<SecretRow> {
        self.find_secret(tx, secret_id)?.ok_or_else(not_found)
    }

    /// For the authorizer: a secret's full ARN and its resource policy, if the secret exists.
    pub(super) fn secret_policy_for(
        &self,
        tx: &Transaction,
        secret_id: &str,
    ) -> Result<Option<(String, Option<PolicyDocument>)>> {
        match self.find_secret(tx, secret_id)? {
            Some(row) => {
                let policy = row
                    .policy
                    .as_deref()
                    .map(PolicyDocument::parse)
                    .transpose()?;
                Ok(Some((row.arn, policy)))
            }
            None => Ok(None),
        }
    }

    fn call(&self, operation: &'static str, secret_id: &str) -> Call {
        Call::new("secretsmanager", operation, secret_id)
            .on(self.secret_target(secret_id))
            .secret(secret_id)
    }

    /// Seals `value` as a new version of `row` under its key (kms:GenerateDataKey for the
    /// caller) and makes it AWSCURRENT; the version that was current becomes AWSPREVIOUS.
    fn add_secret_version(
        &self,
        tx: &Transaction,
        caller: &Caller,
        arn: &str,
        kms_key_id: Option<&str>,
        value: &SecretString,
    ) -> Result<(String, String)> {
        let key = match kms_key_id {
            Some(k) => k.to_string(),
            None => kms::managed_secrets_key(self, tx)?,
        };
        let version = uuid::Uuid::new_v4().to_string();
        let (data_key, key_id, key_version, sealed_data_key) =
            self.generate_data_key(tx, caller, &key, &data_key_context(arn, &version))?;
        let sealed_value = crypto::seal(
            &data_key.aead(),
            value.expose().as_bytes(),
            &value_aad(arn, &version),
        );
        tx.execute(
            "INSERT INTO secret_versions(secret_arn, version_id, key_id, key_version, sealed_data_key, sealed_value, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![arn, version, key_id, key_version, sealed_data_key, sealed_value, ts(now())],
        )?;
        tx.execute(
            "DELETE FROM secret_stages WHERE secret_arn = ?1 AND stage = ?2",
            params![arn, AWSPREVIOUS],
        )?;
        tx.execute(
            "UPDATE secret_stages SET stage = ?2 WHERE secret_arn = ?1 AND stage = ?3",
            params![arn, AWSPREVIOUS, AWSCURRENT],
        )?;
        tx.execute(
            "INSERT INTO secret_stages(secret_arn, stage, version_id) VALUES (?1, ?2, ?3)",
            params![arn, AWSCURRENT, version],
        )?;
        tx.execute(
            "UPDATE secrets SET last_changed = ?2 WHERE arn = ?1",
            params![arn, ts(now())],
        )?;
        Ok((version, key_id))
    }

    fn describe(&self, tx: &Transaction, row: &SecretRow) -> Result<SecretDescription> {
        Ok(SecretDescription {
            arn: row.arn.clone(),
            name: row.name.clone(),
            description: row.description.clone(),
            kms_key_id: row.kms_key_id.clone(),
            created_date: parse_ts(&row.created),
            last_changed_date: parse_ts(&row.last_changed),
            last_accessed_date: row.last_accessed.as_deref().map(parse_ts),
            deleted_date: row.deleted.as_deref().map(parse_ts),
            version_ids_to_stages: stages(tx, &row.arn)?,
        })
    }

    /// Opens one version: kms:Decrypt on its key for the caller, then the value, which leaves
    /// here only as a `SecretString`.
    fn open_version(
        &self,
        tx: &Transaction,
        caller: &Caller,
        arn: &str,
        version: &str,
    ) -> Result<(SecretString, String, String)> {
        let (key_id, key_version, sealed_data_key, sealed_value, created): (
            String,
            u32,
            Vec<u8>,
            Vec<u8>,
            String,
        ) = tx
            .query_row(
                "SELECT key_id, key_version, sealed_data_key, sealed_value, created FROM secret_versions
                 WHERE secret_arn = ?1 AND version_id = ?2",
                params![arn, version],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?
            .ok_or_else(|| {
                ServiceError::new(
                    Code::ResourceNotFoundException,
                    format!("Secrets Manager can't find the specified secret value for VersionId: {version}"),
                )
            })?;
        let data_key = self.decrypt_data_key(
            tx,
            caller,
            &key_id,
            key_version,
            &sealed_data_key,
            &data_key_context(arn, version),
        )?;
        let plain = crypto::open(&data_key.aead(), &sealed_value, &value_aad(arn, version))?;
        let text = String::from_utf8(plain).map_err(|e| {
            e.into_bytes().zeroize();
            ServiceError::internal("a secret's sealed value is not UTF-8 text")
        })?;
        Ok((SecretString::new(text), key_id, created))
    }
}

#[async_trait]
impl Secrets for Lake {
    async fn create_secret(&self, by: &Principal, req: CreateSecret) -> Result<SecretRef> {
        check_name(&req.name)?;
        let call = Call::new("secretsmanager", "CreateSecret", &req.name)
            .on(self.secret_target(&req.name));
        self.audited(by, call, |tx, caller| {
            self.purge_expired(tx)?;
            let taken: Option<Option<String>> = tx
                .query_row(
                    "SELECT deleted FROM secrets WHERE name = ?1",
                    params![req.name],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(deleted) = taken {
                return Err(ServiceError::new(
                    Code::ResourceExistsException,
                    match deleted {
                        Some(_) => format!("a secret named {} is scheduled for deletion; restore it or wait until it is deleted", req.name),
                        None => format!("the secret {} already exists.", req.name),
                    },
                ));
            }
            if let Some(key) = &req.kms_key_id {
                // Fails as KMS would (NotFoundException) before anything is stored.
                self.resolve_key(tx, key)?;
            }
            let arn = format!("{}-{}", self.secret_target(&req.name), arn_suffix());
            let t = ts(now());
            tx.execute(
                "INSERT INTO secrets(arn, name, description, kms_key_id, created, last_changed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![arn, req.name, req.description, req.kms_key_id, t],
            )?;
            let (version, key_id) = self.add_secret_version(
                tx,
                caller,
                &arn,
                req.kms_key_id.as_deref(),
                &req.secret_string,
            )?;
            let detail = json!({"ARN": arn, "VersionId": version, "KmsKeyId": key_id});
            Ok((
                SecretRef {
                    arn,
                    name: req.name.clone(),
                    version_id: Some(version),
                    version_stages: None,
                },
                detail,
            ))
        })
    }

    async fn get_secret_value(
        &self,
        by: &Principal,
        secret_id: &str,
        version: VersionSelector,
    ) -> Result<SecretValue> {
        self.audited(by, self.call("GetSecretValue", secret_id), |tx, caller| {
            let row = self.secret_row(tx, secret_id)?;
            if row.deleted.is_some() {
                return Err(marked_for_deletion());
            }
            let stages = stages(tx, &row.arn)?;
            let version_id = match &version {
                VersionSelector::Id(id) => id.clone(),
                VersionSelector::Current => stage_version(&stages, AWSCURRENT)?,
                VersionSelector::Stage(stage) => stage_version(&stages, stage)?,
            };
            let (value, key_id, created) = self.open_version(tx, caller, &row.arn, &version_id)?;
            tx.execute(
                "UPDATE secrets SET last_accessed = ?2 WHERE arn = ?1",
                params![row.arn, ts(now())],
            )?;
            let version_stages = stages.get(&version_id).cloned().unwrap_or_default();
            let detail = json!({"ARN": row.arn, "VersionId": version_id, "VersionStages": version_stages, "KmsKeyId": key_id});
            Ok((
                SecretValue {
                    arn: row.arn,
                    name: row.name,
                    version_id,
                    secret_string: value,
                    version_stages,
                    created_date: parse_ts(&created),
                },
                detail,
            ))
        })
    }

    async fn put_secret_value(
        &self,
        by: &Principal,
        secret_id: &str,
        value: SecretString,
    ) -> Result<SecretRef> {
        self.audited(by, self.call("PutSecretValue", secret_id), |tx, caller| {
            let row = self.secret_row(tx, secret_id)?;
            if row.deleted.is_some() {
                return Err(marked_for_deletion());
            }
            let (version, key_id) =
                self.add_secret_version(tx, caller, &row.arn, row.kms_key_id.as_deref(), &value)?;
            let detail = json!({"ARN": row.arn, "VersionId": version, "KmsKeyId": key_id});
            Ok((
                SecretRef {
                    arn: row.arn,
                    name: row.name,
                    version_id: Some(version),
                    version_stages: Some(vec![AWSCURRENT.into()]),
                },
                detail,
            ))
        })
    }

    async fn describe_secret(&self, by: &Principal, secret_id: &str) -> Result<SecretDescription> {
        self.reading(by, self.call("DescribeSecret", secret_id), |tx, _| {
            let row = self.secret_row(tx, secret_id)?;
            self.describe(tx, &row)
        })
    }

    async fn list_secrets(&self, by: &Principal) -> Result<Vec<SecretDescription>> {
        let call = Call::new("secretsmanager", "ListSecrets", "*");
        self.reading(by, call, |tx, _| {
            let rows: Vec<SecretRow> = tx
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM secrets WHERE deleted IS NULL ORDER BY name"
                ))?
                .query_map([], read_row)?
                .collect::<rusqlite::Result<_>>()?;
            rows.iter().map(|row| self.describe(tx, row)).collect()
        })
    }

    async fn delete_secret(
        &self,
        by: &Principal,
        secret_id: &str,
        mode: DeleteMode,
    ) -> Result<DeletedSecret> {
        self.audited(by, self.call("DeleteSecret", secret_id), |tx, _| {
            self.purge_expired(tx)?;
            let row = self.secret_row(tx, secret_id)?;
            let t = now();
            let deletion_date = match mode {
                DeleteMode::ForceWithoutRecovery => {
                    remove(tx, &row.arn)?;
                    t
                }
                DeleteMode::RecoveryWindow(days) => {
                    if row.deleted.is_some() {
                        return Err(marked_for_deletion());
                    }
                    let at = t + Duration::days(days as i64);
                    tx.execute(
                        "UPDATE secrets SET deleted = ?2, deletion_date = ?3 WHERE arn = ?1",
                        params![row.arn, ts(t), ts(at)],
                    )?;
                    at
                }
            };
            let detail = json!({"ARN": row.arn, "DeletionDate": ts(deletion_date),
                "ForceDeleteWithoutRecovery": mode == DeleteMode::ForceWithoutRecovery});
            Ok((
                DeletedSecret {
                    arn: row.arn,
                    name: row.name,
                    deletion_date,
                },
                detail,
            ))
        })
    }

    async fn restore_secret(&self, by: &Principal, secret_id: &str) -> Result<SecretRef> {
        self.audited(by, self.call("RestoreSecret", secret_id), |tx, _| {
            let row = self.secret_row(tx, secret_id)?;
            tx.execute(
                "UPDATE secrets SET deleted = NULL, deletion_date = NULL WHERE arn = ?1",
                params![row.arn],
            )?;
            let detail = json!({"ARN": row.arn});
            Ok((plain_ref(row), detail))
        })
    }

    async fn put_resource_policy(
        &self,
        by: &Principal,
        secret_id: &str,
        policy: PolicyDocument,
    ) -> Result<SecretRef> {
        self.audited(by, self.call("PutResourcePolicy", secret_id), |tx, _| {
            let row = self.secret_row(tx, secret_id)?;
            self.check_policy(tx, &policy)?;
            tx.execute(
                "UPDATE secrets SET policy = ?2 WHERE arn = ?1",
                params![row.arn, policy.to_json()],
            )?;
            let detail = json!({"ARN": row.arn, "ResourcePolicy": policy.to_json()});
            Ok((plain_ref(row), detail))
        })
    }

    async fn get_resource_policy(&self, by: &Principal, secret_id: &str) -> Result<SecretPolicy> {
        self.reading(by, self.call("GetResourcePolicy", secret_id), |tx, _| {
            let row = self.secret_row(tx, secret_id)?;
            Ok(SecretPolicy {
                arn: row.arn,
                name: row.name,
                resource_policy: row.policy,
            })
        })
    }
}

fn plain_ref(row: SecretRow) -> SecretRef {
    SecretRef {
        arn: row.arn,
        name: row.name,
        version_id: None,
        version_stages: None,
    }
}

fn stage_version(stages: &BTreeMap<String, Vec<String>>, stage: &str) -> Result<String> {
    stages
        .iter()
        .find(|(_, s)| s.iter().any(|x| x == stage))
        .map(|(v, _)| v.clone())
        .ok_or_else(|| {
            ServiceError::new(
                Code::ResourceNotFoundException,
                format!("Secrets Manager can't find the specified secret value for staging label: {stage}"),
            )
        })
}
