//! The Keys service on the local lake: each KMS operation as a caller sees it, authorized by the
//! key policy and recorded in the audit log. Key material, states and data keys are kms.rs's.

use async_trait::async_trait;
use chrono::{Duration, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::authorizer::Call;
use super::authz::{self, Decision};
use super::kms::{DEFAULT_ROTATION_DAYS, KeyRow};
use super::{Caller, Lake, now, parse_ts, ts};
use crate::service::keys::{
    AliasEntry, ClientCiphertext, CreateKey, EncryptionContext, KeyListEntry, KeyMetadata,
    KeyRotation, KeyState, KeyTag, Keys, RotationStatus,
};
use crate::service::policy::{PolicyDocument, PrincipalSpec};
use crate::service::{Code, Principal, Result, ServiceError};

fn default_policy(account_id: &str) -> PolicyDocument {
    PolicyDocument::parse(&format!(
        r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions",
            "Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account_id}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    ))
    .expect("the default key policy is valid")
}

impl Lake {
    fn rotation_status(&self, tx: &Transaction, key: &KeyRow) -> Result<RotationStatus> {
        let (versions, last): (u32, Option<String>) = tx.query_row(
            "SELECT count(*), max(CASE WHEN version > 1 THEN created END) FROM key_versions WHERE key_id = ?1",
            params![key.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(RotationStatus {
            key_id: key.id.clone(),
            key_rotation_enabled: key.rotation_enabled,
            rotation_period_in_days: key
                .rotation_enabled
                .then(|| key.rotation_period_days.unwrap_or(DEFAULT_ROTATION_DAYS)),
            next_rotation_date: key.next_rotation.as_deref().map(parse_ts),
            last_rotation_date: last.as_deref().map(parse_ts),
            key_versions: versions,
        })
    }

    /// The common shape of a change to one key: resolve, authorize, change, audit.
    pub(super) fn change_key<T>(
        &self,
        by: &Principal,
        key: &str,
        event: &'static str,
        f: impl FnOnce(&Transaction, &Caller, &KeyRow) -> Result<(T, serde_json::Value)>,
    ) -> Result<T> {
        self.audited(by, Call::new("kms", event, key).key(key), |tx, caller| {
            let row = self.resolve_key(tx, key)?;
            let (out, mut detail) = f(tx, caller, &row)?;
            detail["KeyId"] = json!(row.id);
            Ok((out, detail))
        })
    }

    pub(super) fn read_key<T>(
        &self,
        by: &Principal,
        key: &str,
        action: &'static str,
        f: impl FnOnce(&Transaction, &KeyRow) -> Result<T>,
    ) -> Result<T> {
        self.reading(by, Call::new("kms", action, key).key(key), |tx, _| {
            let row = self.resolve_key(tx, key)?;
            f(tx, &row)
        })
    }
}

fn check_alias_name(alias: &str) -> Result<()> {
    let name = alias.strip_prefix("alias/").ok_or_else(|| {
        ServiceError::invalid(format!(
            "alias {alias:?} must begin with alias/ (for example alias/lake-key)"
        ))
    })?;
    if name.starts_with("aws/") {
        return Err(ServiceError::invalid(
            "aliases beginning with alias/aws/ are reserved",
        ));
    }
    let ok = !name.is_empty()
        && alias.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c));
    if !ok {
        return Err(ServiceError::invalid(format!(
            "alias {alias:?} is not valid: after alias/ use letters, digits, /, _ and -"
        )));
    }
    Ok(())
}

fn insert_alias(tx: &Transaction, alias: &str, key_id: &str) -> Result<()> {
    check_alias_name(alias)?;
    let n = tx.execute(
        "INSERT INTO aliases(name, key_id, created) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![alias, key_id, ts(now())],
    )?;
    if n == 0 {
        return Err(ServiceError::new(
            Code::AlreadyExistsException,
            format!("An alias with the name {alias} already exists"),
        ));
    }
    Ok(())
}

#[async_trait]
impl Keys for Lake {
    async fn create_key(&self, by: &Principal, req: CreateKey) -> Result<KeyMetadata> {
        let resource = req.alias.clone().unwrap_or_else(|| "*".into());
        self.audited(by, Call::new("kms", "CreateKey", &resource), |tx, _| {
            let policy = default_policy(&self.header.account_id);
            let id = self.insert_key(
                tx,
                req.description.as_deref().unwrap_or(""),
                &policy,
                "CUSTOMER",
            )?;
            if let Some(alias) = &req.alias {
                insert_alias(tx, alias, &id)?;
            }
            let row = self.resolve_key(tx, &id)?;
            Ok((
                self.key_metadata(&row),
                json!({"KeyId": id, "Alias": req.alias}),
            ))
        })
    }

    async fn list_keys(&self, by: &Principal) -> Result<Vec<KeyListEntry>> {
        self.reading(by, Call::new("kms", "ListKeys", "*"), |tx, _| {
            let mut stmt = tx.prepare("SELECT id FROM keys ORDER BY created, id")?;
            let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
            ids.map(|id| {
                let id = id?;
                Ok(KeyListEntry {
                    key_arn: self.key_arn(&id),
                    key_id: id,
                })
            })
            .collect()
        })
    }

    async fn list_aliases(&self, by: &Principal) -> Result<Vec<AliasEntry>> {
        self.reading(by, Call::new("kms", "ListAliases", "*"), |tx, _| {
            let mut stmt = tx.prepare("SELECT name, key_id FROM aliases ORDER BY name")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            rows.map(|r| {
                let (name, key_id) = r?;
                Ok(AliasEntry {
                    alias_arn: format!(
                        "arn:aws:kms:{}:{}:{name}",
                        self.header.region, self.header.account_id
                    ),
                    alias_name: name,
                    target_key_id: key_id,
                })
            })
            .collect()
        })
    }

    async fn describe_key(&self, by: &Principal, key: &str) -> Result<KeyMetadata> {
        self.read_key(by, key, "DescribeKey", |_, row| Ok(self.key_metadata(row)))
    }

    async fn create_alias(&self, by: &Principal, alias: &str, key: &str) -> Result<()> {
        self.change_key(by, key, "CreateAlias", |tx, _, row| {
            self.check_customer_managed(row)?;
            insert_alias(tx, alias, &row.id)?;
            Ok(((), json!({"AliasName": alias})))
        })
    }

    async fn set_key_enabled(&self, by: &Principal, key: &str, enabled: bool) -> Result<()> {
        let event = if enabled { "EnableKey" } else { "DisableKey" };
        self.change_key(by, key, event, |tx, _, row| {
            self.check_customer_managed(row)?;
            if row.state == KeyState::PendingDeletion {
                return Err(ServiceError::new(
                    Code::KMSInvalidStateException,
                    format!(
                        "{} is pending deletion; cancel the deletion first",
                        self.key_arn(&row.id)
                    ),
                ));
            }
            let state = if enabled { "Enabled" } else { "Disabled" };
            tx.execute(
                "UPDATE keys SET state = ?2 WHERE id = ?1",
                params![row.id, state],
            )?;
            Ok(((), json!({})))
        })
    }

    async fn schedule_key_deletion(
        &self,
        by: &Principal,
        key: &str,
        days: u32,
    ) -> Result<KeyMetadata> {
        self.change_key(by, key, "ScheduleKeyDeletion", |tx, _, row| {
            self.check_customer_managed(row)?;
            if !(7..=30).contains(&days) {
                return Err(ServiceError::invalid("the pending window must be 7 to 30 days"));
            }
            if row.state == KeyState::PendingDeletion {
                return Err(ServiceError::new(
                    Code::KMSInvalidStateException,
                    format!("{} is already pending deletion", self.key_arn(&row.id)),
                ));
            }
            let date = ts(Utc::now() + Duration::days(days as i64));
            tx.execute(
                "UPDATE keys SET state = 'PendingDeletion', deletion_date = ?2, pending_window_days = ?3 WHERE id = ?1",
                params![row.id, date, days],
            )?;
            let row = self.resolve_key(tx, &row.id)?;
            Ok((self.key_metadata(&row), json!({"DeletionDate": date})))
        })
    }

    async fn cancel_key_deletion(&self, by: &Principal, key: &str) -> Result<KeyMetadata> {
        self.change_key(by, key, "CancelKeyDeletion", |tx, _, row| {
            if row.state != KeyState::PendingDeletion {
                return Err(ServiceError::new(
                    Code::KMSInvalidStateException,
                    format!("{} is not pending deletion", self.key_arn(&row.id)),
                ));
            }
            // As in KMS, a key whose deletion is cancelled comes back disabled.
            tx.execute(
                "UPDATE keys SET state = 'Disabled', deletion_date = NULL, pending_window_days = NULL WHERE id = ?1",
                params![row.id],
            )?;
            let row = self.resolve_key(tx, &row.id)?;
            Ok((self.key_metadata(&row), json!({})))
        })
    }

    async fn set_key_rotation(
        &self,
        by: &Principal,
        key: &str,
        enabled: bool,
        period_days: Option<u32>,
    ) -> Result<()> {
        let event = if enabled {
            "EnableKeyRotation"
        } else {
            "DisableKeyRotation"
        };
        self.change_key(by, key, event, |tx, _, row| {
            self.check_customer_managed(row)?;
            self.check_usable(row).map_err(|e| ServiceError::new(Code::KMSInvalidStateException, e.message))?;
            let days = period_days.unwrap_or(DEFAULT_ROTATION_DAYS);
            if !(90..=2560).contains(&days) {
                return Err(ServiceError::invalid("the rotation period must be 90 to 2560 days"));
            }
            let next = enabled.then(|| ts(now() + Duration::days(days as i64)));
            tx.execute(
                "UPDATE keys SET rotation_enabled = ?2, rotation_period_days = ?3, next_rotation = ?4 WHERE id = ?1",
                params![row.id, enabled, enabled.then_some(days), next],
            )?;
            Ok(((), json!({"RotationPeriodInDays": enabled.then_some(days)})))
        })
    }

    async fn rotate_key_on_demand(&self, by: &Principal, key: &str) -> Result<RotationStatus> {
        self.change_key(by, key, "RotateKeyOnDemand", |tx, _, row| {
            self.check_customer_managed(row)?;
            self.check_usable(row)
                .map_err(|e| ServiceError::new(Code::KMSInvalidStateException, e.message))?;
            let version = self.add_version(tx, &row.id)?;
            Ok((
                self.rotation_status(tx, row)?,
                json!({"RotationType": "ON_DEMAND", "KeyVersion": version}),
            ))
        })
    }

    async fn get_key_rotation_status(&self, by: &Principal, key: &str) -> Result<RotationStatus> {
        self.read_key(by, key, "GetKeyRotationStatus", |tx, row| {
            self.rotation_status(tx, row)
        })
    }

    async fn client_encrypt(
        &self,
        by: &Principal,
        key: &str,
        plaintext: Option<&[u8]>,
        context: &EncryptionContext,
        return_plaintext: bool,
    ) -> Result<ClientCiphertext> {
        self.client_seal(by, key, plaintext, context, return_plaintext)
    }

    async fn client_decrypt(
        &self,
        by: &Principal,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<ClientCiphertext> {
        self.client_open(by, blob, context)
    }

    async fn list_key_rotations(&self, by: &Principal, key: &str) -> Result<Vec<KeyRotation>> {
        // Reading a key's rotations is part of reading its rotation status, as on KMS.
        self.read_key(by, key, "GetKeyRotationStatus", |tx, row| {
            let mut stmt = tx.prepare(
                "SELECT created FROM key_versions WHERE key_id = ?1 AND version > 1 ORDER BY version",
            )?;
            let dates = stmt
                .query_map(params![row.id], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(dates
                .iter()
                .map(|d| KeyRotation {
                    key_id: row.id.clone(),
                    rotation_date: parse_ts(d),
                })
                .collect())
        })
    }

    async fn tag_resource(&self, by: &Principal, key: &str, tags: &[KeyTag]) -> Result<()> {
        self.tag_key(by, key, tags)
    }

    async fn untag_resource(&self, by: &Principal, key: &str, tag_keys: &[String]) -> Result<()> {
        self.untag_key(by, key, tag_keys)
    }

    async fn list_resource_tags(&self, by: &Principal, key: &str) -> Result<Vec<KeyTag>> {
        self.key_tags(by, key)
    }

    async fn get_key_policy(&self, by: &Principal, key: &str) -> Result<PolicyDocument> {
        self.read_key(by, key, "GetKeyPolicy", |_, row| {
            PolicyDocument::parse(&row.policy)
        })
    }

    async fn put_key_policy(
        &self,
        by: &Principal,
        key: &str,
        policy: PolicyDocument,
        bypass: bool,
    ) -> Result<()> {
        self.change_key(by, key, "PutKeyPolicy", |tx, caller, row| {
            self.check_customer_managed(row)?;
            self.check_policy(tx, &policy)?;
            if !bypass {
                let arn = self.key_arn(&row.id);
                let keeps_access =
                    authz::evaluate(&policy, &self.key_request(caller, &arn, "kms:PutKeyPolicy"));
                if !matches!(keeps_access, Decision::Allow(_)) {
                    return Err(ServiceError::new(
                        Code::MalformedPolicyDocumentException,
                        "the new key policy would not allow you to change it again (lockout); \
                         pass --bypass-policy-lockout-safety-check if that is what you want",
                    ));
                }
            }
            tx.execute(
                "UPDATE keys SET policy = ?2 WHERE id = ?1",
                params![row.id, policy.to_json()],
            )?;
            let granted: Vec<String> = policy
                .statement
                .iter()
                .map(|s| match &s.principal {
                    Some(PrincipalSpec::Any) | None => "*".to_string(),
                    Some(PrincipalSpec::Ids { aws, .. }) => aws.join(","),
                })
                .collect();
            Ok(((), json!({"Principals": granted})))
        })
    }

    async fn detokenize(
        &self,
        by: &Principal,
        key: &str,
        tokens: &[String],
    ) -> Result<Vec<Option<String>>> {
        self.audited(
            by,
            Call::new("kms", "Detokenize", key)
                .action("kms:Decrypt")
                .key(key),
            |tx, caller| {
                let keys = self.mask_keys_for(tx, caller, key, "kms:Decrypt")?;
                let values = tokens.iter().map(|t| keys.detokenize(t)).collect();
                Ok((values, json!({"Tokens": tokens.len()})))
            },
        )
    }

    async fn principal_arn(&self, by: &Principal, name: &str) -> Result<String> {
        self.reading(by, Call::new("iam", "GetUser", name).on(self.user_arn(name)), |tx, _| {
            let exists = tx
                .query_row("SELECT 1 FROM principals WHERE name = ?1", params![name], |_| Ok(()))
                .optional()?
                .is_some();
            if exists {
                Ok(self.user_arn(name))
            } else {
                Err(ServiceError::new(
                    Code::EntityNotFoundException,
                    format!("principal {name:?} does not exist; create it with `lakectl iam create-principal --name {name}`"),
                ))
            }
        })
    }
}
