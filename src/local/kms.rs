//! KMS on the local lake. Key material lives only sealed under the root key's "kms key material"
//! sub-key, one row per version; a new version on rotation, old versions kept so old data still
//! opens. Key policies decide who may use and manage a key; the state machine is KMS's
//! (Enabled, Disabled, PendingDeletion with a waiting period, then gone).

use chrono::Duration;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::audit::Event;
use super::authorizer::{Allowed, ResourcePolicyRef};
use super::authz::{self, Request};
use super::crypto::{self, Secret};
use super::{Caller, Lake, now, parse_ts, ts};
use crate::service::keys::{KeyMetadata, KeyState};
use crate::service::policy::PolicyDocument;
use crate::service::{Code, Result, ServiceError};

const MANAGED_S3_ALIAS: &str = "alias/aws/s3";
pub(super) const DEFAULT_ROTATION_DAYS: u32 = 365;

pub(super) struct KeyRow {
    pub id: String,
    pub(super) description: String,
    pub(super) state: KeyState,
    pub(super) created: String,
    pub(super) deletion_date: Option<String>,
    pub(super) pending_window_days: Option<u32>,
    pub(super) rotation_enabled: bool,
    pub(super) rotation_period_days: Option<u32>,
    pub(super) next_rotation: Option<String>,
    pub(super) policy: String,
    pub(super) manager: String,
}

const KEY_COLUMNS: &str = "id, description, state, created, deletion_date, pending_window_days, \
     rotation_enabled, rotation_period_days, next_rotation, policy, manager";

fn read_key(r: &rusqlite::Row) -> rusqlite::Result<KeyRow> {
    let state: String = r.get(2)?;
    Ok(KeyRow {
        id: r.get(0)?,
        description: r.get(1)?,
        state: match state.as_str() {
            "Disabled" => KeyState::Disabled,
            "PendingDeletion" => KeyState::PendingDeletion,
            _ => KeyState::Enabled,
        },
        created: r.get(3)?,
        deletion_date: r.get(4)?,
        pending_window_days: r.get(5)?,
        rotation_enabled: r.get(6)?,
        rotation_period_days: r.get(7)?,
        next_rotation: r.get(8)?,
        policy: r.get(9)?,
        manager: r.get(10)?,
    })
}

/// The managed key behind SSE-S3 and SSE-KMS without a key id: every principal of the lake may
/// use it through S3, nobody may change it.
pub(super) fn create_managed_s3_key(lake: &Lake, tx: &Transaction) -> Result<()> {
    let policy = PolicyDocument::parse(
        r#"{"Version":"2012-10-17","Id":"auto-s3","Statement":[{"Sid":"Allow access through S3 for all principals",
            "Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*",
            "kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"}]}"#,
    )
    .expect("the managed key policy is valid");
    let id = lake.insert_key(
        tx,
        "Default key that protects my S3 objects when no other key is defined",
        &policy,
        "AWS",
    )?;
    tx.execute(
        "INSERT INTO aliases(name, key_id, created) VALUES (?1, ?2, ?3)",
        params![MANAGED_S3_ALIAS, id, ts(now())],
    )?;
    Ok(())
}

/// The managed key behind Secrets Manager's default encryption (`alias/aws/secretsmanager`),
/// made on first use as AWS makes it: every principal may use it, through Secrets Manager only
/// (its calls are the only ones that name it for a secret), and nobody may change it.
pub(super) fn managed_secrets_key(lake: &Lake, tx: &Transaction) -> Result<String> {
    let alias = crate::service::secrets::DEFAULT_KEY_ALIAS;
    let existing: Option<String> = tx
        .query_row(
            "SELECT key_id FROM aliases WHERE name = ?1",
            params![alias],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let policy = PolicyDocument::parse(
        r#"{"Version":"2012-10-17","Id":"auto-secretsmanager-2","Statement":[{"Sid":"Allow access through AWS Secrets Manager for all principals",
            "Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*",
            "kms:GenerateDataKey*","kms:CreateGrant","kms:DescribeKey"],"Resource":"*"}]}"#,
    )
    .expect("the managed key policy is valid");
    let id = lake.insert_key(
        tx,
        "Default key that protects my Secrets Manager data when no other key is defined",
        &policy,
        "AWS",
    )?;
    tx.execute(
        "INSERT INTO aliases(name, key_id, created) VALUES (?1, ?2, ?3)",
        params![alias, id, ts(now())],
    )?;
    Ok(id)
}

/// Destroys keys whose deletion date has passed and rotates keys whose rotation is due. Runs when
/// a lake opens; it takes the write lock only when something is due.
pub(super) fn run_due_maintenance(lake: &Lake) -> Result<()> {
    let t = ts(now());
    let due: i64 = lake.meta.read(|tx| {
        Ok(tx.query_row(
            "SELECT count(*) FROM keys WHERE (state = 'PendingDeletion' AND deletion_date <= ?1)
                OR (rotation_enabled = 1 AND state = 'Enabled' AND next_rotation <= ?1)",
            params![t],
            |r| r.get(0),
        )?)
    })?;
    if due == 0 {
        return Ok(());
    }
    lake.meta.write(|tx| {
        let gone: Vec<String> = tx
            .prepare("SELECT id FROM keys WHERE state = 'PendingDeletion' AND deletion_date <= ?1")?
            .query_map(params![t], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in gone {
            tx.execute("DELETE FROM keys WHERE id = ?1", params![id])?;
            lake.audit.append(tx, Event {
                principal: "lakectl",
                source: "kms",
                name: "DeleteKey",
                resource: &lake.key_arn(&id),
                error_code: None,
                detail: json!({"Reason": "the waiting period ended; the key material is destroyed"}),
                origin: None,
            })?;
        }
        let rotate: Vec<(String, u32)> = tx
            .prepare(
                "SELECT id, rotation_period_days FROM keys
                 WHERE rotation_enabled = 1 AND state = 'Enabled' AND next_rotation <= ?1",
            )?
            .query_map(params![t], |r| r.get::<_, String>(0).and_then(|id| Ok((id, r.get::<_, Option<u32>>(1)?.unwrap_or(DEFAULT_ROTATION_DAYS)))))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, days) in rotate {
            let version = lake.add_version(tx, &id)?;
            tx.execute(
                "UPDATE keys SET next_rotation = ?2 WHERE id = ?1",
                params![id, ts(now() + Duration::days(days as i64))],
            )?;
            lake.audit.append(tx, Event {
                principal: "lakectl",
                source: "kms",
                name: "RotateKey",
                resource: &lake.key_arn(&id),
                error_code: None,
                detail: json!({"RotationType": "AUTOMATIC", "KeyVersion": version}),
                origin: None,
            })?;
        }
        Ok(())
    })
}

fn material_aad(key_id: &str, version: u32) -> Vec<u8> {
    format!("lakectl key material v1|{key_id}|{version}").into_bytes()
}

fn data_key_aad(context: &str) -> Vec<u8> {
    format!("lakectl data key v1|{context}").into_bytes()
}

impl Lake {
    pub(super) fn key_arn(&self, id: &str) -> String {
        format!(
            "arn:aws:kms:{}:{}:key/{id}",
            self.header.region, self.header.account_id
        )
    }

    pub(super) fn insert_key(
        &self,
        tx: &Transaction,
        description: &str,
        policy: &PolicyDocument,
        manager: &str,
    ) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        tx.execute(
            "INSERT INTO keys(id, description, state, created, policy, manager) VALUES (?1, ?2, 'Enabled', ?3, ?4, ?5)",
            params![id, description, ts(now()), policy.to_json(), manager],
        )?;
        self.add_version(tx, &id)?;
        Ok(id)
    }

    pub(super) fn add_version(&self, tx: &Transaction, key_id: &str) -> Result<u32> {
        let version: u32 = tx.query_row(
            "SELECT coalesce(max(version), 0) + 1 FROM key_versions WHERE key_id = ?1",
            params![key_id],
            |r| r.get(0),
        )?;
        let material = Secret::random();
        let sealed = crypto::seal(&self.key_wrap, &material.0, &material_aad(key_id, version));
        tx.execute(
            "INSERT INTO key_versions(key_id, version, sealed_material, created) VALUES (?1, ?2, ?3, ?4)",
            params![key_id, version, sealed, ts(now())],
        )?;
        Ok(version)
    }

    /// The material of `version`, or of the newest version.
    pub(super) fn material(
        &self,
        tx: &Transaction,
        key_id: &str,
        version: Option<u32>,
    ) -> Result<(u32, Secret)> {
        let row: Option<(u32, Vec<u8>)> = tx
            .query_row(
                "SELECT version, sealed_material FROM key_versions WHERE key_id = ?1 AND (?2 IS NULL OR version = ?2)
                 ORDER BY version DESC LIMIT 1",
                params![key_id, version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (v, sealed) = row.ok_or_else(|| {
            ServiceError::new(
                Code::NotFoundException,
                format!("key material for {} is gone", self.key_arn(key_id)),
            )
        })?;
        Ok((
            v,
            crypto::open_key(&self.key_wrap, &sealed, &material_aad(key_id, v))?,
        ))
    }

    /// Finds a key by id, ARN, `alias/NAME` or alias ARN.
    pub(super) fn resolve_key(&self, tx: &Transaction, key: &str) -> Result<KeyRow> {
        let key = key.trim();
        let alias = if let Some(rest) = key.strip_prefix("arn:aws:kms:") {
            rest.split_once(":alias/")
                .map(|(_, name)| format!("alias/{name}"))
        } else if key.starts_with("alias/") {
            Some(key.to_string())
        } else {
            None
        };
        let found = match &alias {
            Some(name) => tx
                .query_row(
                    &format!("SELECT {KEY_COLUMNS} FROM keys WHERE id = (SELECT key_id FROM aliases WHERE name = ?1)"),
                    params![name],
                    read_key,
                )
                .optional()?,
            None => {
                let id = key.rsplit_once(":key/").map_or(key, |(_, id)| id);
                tx.query_row(&format!("SELECT {KEY_COLUMNS} FROM keys WHERE id = ?1"), params![id], read_key)
                    .optional()?
            }
        };
        found.ok_or_else(|| match alias {
            Some(name) => ServiceError::new(Code::NotFoundException, format!("Alias {name} is not found.")),
            None => ServiceError::new(
                Code::NotFoundException,
                format!("Key '{key}' does not exist; `lakectl kms list-keys` and `list-aliases` show the keys there are"),
            ),
        })
    }

    pub(super) fn key_metadata(&self, k: &KeyRow) -> KeyMetadata {
        KeyMetadata {
            key_id: k.id.clone(),
            arn: self.key_arn(&k.id),
            aws_account_id: self.header.account_id.clone(),
            creation_date: parse_ts(&k.created),
            enabled: k.state == KeyState::Enabled,
            description: k.description.clone(),
            key_usage: "ENCRYPT_DECRYPT",
            key_state: k.state,
            deletion_date: k.deletion_date.as_deref().map(parse_ts),
            pending_deletion_window_in_days: k.pending_window_days,
            origin: "AWS_KMS",
            key_manager: if k.manager == "AWS" {
                "AWS"
            } else {
                "CUSTOMER"
            },
            key_spec: "SYMMETRIC_DEFAULT",
        }
    }

    pub(super) fn key_request<'a>(
        &'a self,
        caller: &'a Caller,
        arn: &'a str,
        action: &'a str,
    ) -> Request<'a> {
        Request {
            principal_arn: &caller.arn,
            principal_is_admin: caller.admin,
            account_id: &self.header.account_id,
            action,
            resource: arn,
            context: &[],
        }
    }

    /// The key policy decides; identity policies count only where it delegates to the account.
    pub(super) fn authorize_key(
        &self,
        caller: &Caller,
        key: &KeyRow,
        action: &str,
    ) -> Result<Allowed> {
        let policy = PolicyDocument::parse(&key.policy)?;
        let arn = self.key_arn(&key.id);
        self.decide(
            caller,
            action,
            &arn,
            &[],
            Some(ResourcePolicyRef {
                kind: "key policy",
                document: &policy,
                delegation_required: true,
            }),
        )
    }

    /// Cryptographic operations need an Enabled key.
    pub(super) fn check_usable(&self, key: &KeyRow) -> Result<()> {
        match key.state {
            KeyState::Enabled => Ok(()),
            KeyState::Disabled => Err(ServiceError::new(
                Code::DisabledException,
                format!("{} is disabled.", self.key_arn(&key.id)),
            )),
            KeyState::PendingDeletion => Err(ServiceError::new(
                Code::KMSInvalidStateException,
                format!("{} is pending deletion.", self.key_arn(&key.id)),
            )),
        }
    }

    pub(super) fn check_customer_managed(&self, key: &KeyRow) -> Result<()> {
        if key.manager == "AWS" {
            return Err(ServiceError::new(
                Code::UnsupportedOperationException,
                format!(
                    "{} is managed by the lake; it cannot be changed",
                    self.key_arn(&key.id)
                ),
            ));
        }
        Ok(())
    }

    /// GenerateDataKey: a fresh data key and its sealed form, bound to `context`.
    pub(super) fn generate_data_key(
        &self,
        tx: &Transaction,
        caller: &Caller,
        key: &str,
        context: &str,
    ) -> Result<(Secret, String, u32, Vec<u8>)> {
        let row = self.resolve_key(tx, key)?;
        self.authorize_key(caller, &row, "kms:GenerateDataKey")?;
        self.check_usable(&row)?;
        let (version, material) = self.material(tx, &row.id, None)?;
        let data_key = Secret::random();
        let sealed = crypto::seal(&material.aead(), &data_key.0, &data_key_aad(context));
        Ok((data_key, row.id, version, sealed))
    }

    /// Decrypt: opens a sealed data key; a different context fails authentication.
    pub(super) fn decrypt_data_key(
        &self,
        tx: &Transaction,
        caller: &Caller,
        key_id: &str,
        version: u32,
        sealed: &[u8],
        context: &str,
    ) -> Result<Secret> {
        let row = self.resolve_key(tx, key_id)?;
        self.authorize_key(caller, &row, "kms:Decrypt")?;
        self.check_usable(&row)?;
        let (_, material) = self.material(tx, &row.id, Some(version))?;
        crypto::open_key(&material.aead(), sealed, &data_key_aad(context))
    }

    /// The keys masking derives from a KMS key, for a caller allowed to use it. They come from the
    /// key's first version, so hashes and tokens stay the same across rotations.
    pub(super) fn mask_keys(
        &self,
        tx: &Transaction,
        caller: &Caller,
        key: &str,
    ) -> Result<crate::mask::MaskKeys> {
        self.mask_keys_for(tx, caller, key, "kms:GenerateDataKey")
    }

    /// The masking keys derived from the key's material, when its tags hold no masking key
    /// (key_tags.rs decides which).
    pub(super) fn material_mask_keys(
        &self,
        tx: &Transaction,
        row: &KeyRow,
    ) -> Result<crate::mask::MaskKeys> {
        use aws_lc_rs::aead::{AES_256_GCM_SIV, LessSafeKey, UnboundKey};
        let (_, material) = self.material(tx, &row.id, Some(1))?;
        let token = material.derive("lakectl mask token v1");
        Ok(crate::mask::MaskKeys {
            hash: Some(material.derive("lakectl mask hash v1").hmac()),
            token: Some(LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM_SIV, &token.0).expect("32-byte key"),
            )),
            older_token: None,
        })
    }

    /// Checks a policy before it is stored: evaluable here, and naming only principals that exist.
    pub(super) fn check_policy(&self, tx: &Transaction, policy: &PolicyDocument) -> Result<()> {
        authz::check_supported(policy)?;
        let root = format!("arn:aws:iam::{}:root", self.header.account_id);
        let user_prefix = format!("arn:aws:iam::{}:user/", self.header.account_id);
        for p in policy.named_principals() {
            let known = p == "*"
                || p == root
                || p == self.header.account_id
                || match p.strip_prefix(&user_prefix) {
                    Some(name) => tx
                        .query_row(
                            "SELECT 1 FROM principals WHERE name = ?1",
                            params![name],
                            |_| Ok(()),
                        )
                        .optional()?
                        .is_some(),
                    None => false,
                };
            if !known {
                return Err(ServiceError::new(
                    Code::MalformedPolicyDocumentException,
                    format!(
                        "the policy names an unknown principal {p:?}; principals are {user_prefix}NAME, {root} or \"*\""
                    ),
                ));
            }
        }
        Ok(())
    }
}
