//! IAM access keys on the local lake: what `lakectl serve` checks a request's Signature V4
//! against. A key's secret is the one credential a client holds, so it is sealed (AES-256-GCM,
//! under a sub-key of the root key kept for this alone) with the key id and its user as
//! additional data, shown once by `create-access-key` and never again, and left out of the
//! audit log. The calls are IAM's, decided on the user's ARN as IAM decides them: a user manages
//! its own keys only when a policy allows it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::{Lake, crypto, now, parse_ts, ts};
use crate::service::iam::{AccessKey, AccessKeyMetadata, AccessKeyStatus, SecretString};
use crate::service::{Code, Principal, Result, ServiceError};

/// IAM's quota of access keys per user.
const KEYS_PER_USER: i64 = 2;
/// What AWS's access key ids start with (long-term keys of IAM users).
const ID_PREFIX: &str = "AKIA";
/// The characters after the prefix, as AWS's: base32's alphabet.
const ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ID_SUFFIX_LEN: usize = 16;
/// 30 random bytes are 40 base64 characters, the length and alphabet of AWS's secrets.
const SECRET_BYTES: usize = 30;

/// What the server needs to check a signature: who the key belongs to, whether it may sign,
/// and its secret (wiped on drop, never printed by Debug).
#[derive(Debug, Clone)]
pub struct AccessKeyCredential {
    pub access_key_id: String,
    pub user_name: String,
    pub status: AccessKeyStatus,
    pub secret: SecretString,
}

fn new_key_id() -> String {
    let mut bytes = [0u8; ID_SUFFIX_LEN];
    crypto::fill_random(&mut bytes);
    // 256 is a multiple of 32, so each character is uniform.
    let suffix: String = bytes
        .iter()
        .map(|b| ID_ALPHABET[usize::from(b % 32)] as char)
        .collect();
    format!("{ID_PREFIX}{suffix}")
}

fn new_secret() -> SecretString {
    let mut bytes = zeroize::Zeroizing::new([0u8; SECRET_BYTES]);
    crypto::fill_random(bytes.as_mut());
    SecretString::new(B64.encode(bytes.as_ref()))
}

/// The additional data a secret is sealed with: a sealed secret moved to another key or user
/// does not open.
fn aad(access_key_id: &str, user: &str) -> Vec<u8> {
    format!("lakectl access key v1\0{access_key_id}\0{user}").into_bytes()
}

fn no_such_key(access_key_id: &str) -> ServiceError {
    ServiceError::new(
        Code::NoSuchEntity,
        format!("The Access Key with id {access_key_id} cannot be found."),
    )
}

fn status_of(stored: &str) -> Result<AccessKeyStatus> {
    AccessKeyStatus::parse(stored).ok_or_else(|| {
        ServiceError::internal(format!("an access key has the unknown status {stored:?}"))
    })
}

impl Lake {
    pub(super) fn create_access_key_local(
        &self,
        by: &Principal,
        user: Option<&str>,
    ) -> Result<AccessKey> {
        let user = user.unwrap_or(by.name());
        self.audited(by, self.user_call("CreateAccessKey", user), |tx, _| {
            self.user_exists(tx, user)?;
            let held: i64 = tx.query_row(
                "SELECT count(*) FROM access_keys WHERE principal = ?1",
                params![user],
                |r| r.get(0),
            )?;
            if held >= KEYS_PER_USER {
                return Err(ServiceError::new(
                    Code::IamLimitExceeded,
                    format!("Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}"),
                ));
            }
            let id = unused_key_id(tx)?;
            let secret = new_secret();
            let sealed = crypto::seal(
                &self.access_key_seal,
                secret.expose().as_bytes(),
                &aad(&id, user),
            );
            let created = ts(now());
            tx.execute(
                "INSERT INTO access_keys(id, principal, status, sealed_secret, created)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, user, AccessKeyStatus::Active.as_str(), sealed, created],
            )?;
            // The audit record names the key, never its secret.
            let detail = json!({"UserName": user, "AccessKeyId": id, "Status": "Active"});
            let key = AccessKey {
                user_name: user.to_string(),
                access_key_id: id,
                status: AccessKeyStatus::Active,
                secret_access_key: secret,
                create_date: parse_ts(&created),
            };
            Ok((key, detail))
        })
    }

    pub(super) fn list_access_keys_local(
        &self,
        by: &Principal,
        user: Option<&str>,
    ) -> Result<Vec<AccessKeyMetadata>> {
        let user = user.unwrap_or(by.name());
        self.reading(by, self.user_call("ListAccessKeys", user), |tx, _| {
            self.user_exists(tx, user)?;
            let mut stmt = tx.prepare(
                "SELECT id, status, created FROM access_keys WHERE principal = ?1
                 ORDER BY created, id",
            )?;
            let rows = stmt.query_map(params![user], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            rows.map(|row| {
                let (id, status, created) = row?;
                Ok(AccessKeyMetadata {
                    user_name: user.to_string(),
                    access_key_id: id,
                    status: status_of(&status)?,
                    create_date: parse_ts(&created),
                })
            })
            .collect()
        })
    }

    pub(super) fn update_access_key_local(
        &self,
        by: &Principal,
        user: Option<&str>,
        access_key_id: &str,
        status: AccessKeyStatus,
    ) -> Result<()> {
        let user = user.unwrap_or(by.name());
        self.audited(by, self.user_call("UpdateAccessKey", user), |tx, _| {
            self.user_exists(tx, user)?;
            let n = tx.execute(
                "UPDATE access_keys SET status = ?3 WHERE id = ?1 AND principal = ?2",
                params![access_key_id, user, status.as_str()],
            )?;
            if n == 0 {
                return Err(no_such_key(access_key_id));
            }
            let detail =
                json!({"UserName": user, "AccessKeyId": access_key_id, "Status": status.as_str()});
            Ok(((), detail))
        })
    }

    pub(super) fn delete_access_key_local(
        &self,
        by: &Principal,
        user: Option<&str>,
        access_key_id: &str,
    ) -> Result<()> {
        let user = user.unwrap_or(by.name());
        self.audited(by, self.user_call("DeleteAccessKey", user), |tx, _| {
            self.user_exists(tx, user)?;
            let n = tx.execute(
                "DELETE FROM access_keys WHERE id = ?1 AND principal = ?2",
                params![access_key_id, user],
            )?;
            if n == 0 {
                return Err(no_such_key(access_key_id));
            }
            Ok(((), json!({"UserName": user, "AccessKeyId": access_key_id})))
        })
    }

    /// The credential behind `access_key_id`, for the server's Signature V4 check. There is no
    /// caller to authorize: this runs to find out who the caller is. An unknown id is
    /// `InvalidAccessKeyId`, as S3 answers; an Inactive key is returned as such, and refusing
    /// it is the server's to do (it answers as AWS does for a disabled key).
    pub fn access_key_credential(&self, access_key_id: &str) -> Result<AccessKeyCredential> {
        let row: Option<(String, String, Vec<u8>)> = self.meta.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT principal, status, sealed_secret FROM access_keys WHERE id = ?1",
                    params![access_key_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?)
        })?;
        let Some((user, status, sealed)) = row else {
            return Err(ServiceError::new(
                Code::InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records.",
            ));
        };
        let plain = zeroize::Zeroizing::new(crypto::open(
            &self.access_key_seal,
            &sealed,
            &aad(access_key_id, &user),
        )?);
        let secret = std::str::from_utf8(&plain)
            .map_err(|_| ServiceError::internal("a sealed access key secret is not text"))?;
        Ok(AccessKeyCredential {
            access_key_id: access_key_id.to_string(),
            user_name: user,
            status: status_of(&status)?,
            secret: SecretString::new(secret.to_string()),
        })
    }
}

/// A fresh id: 80 random bits collide practically never, but a collision must not become an
/// internal error or, worse, a key shared by two users.
fn unused_key_id(tx: &Transaction) -> Result<String> {
    loop {
        let id = new_key_id();
        let taken = tx
            .query_row(
                "SELECT 1 FROM access_keys WHERE id = ?1",
                params![id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !taken {
            return Ok(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_secrets_have_aws_shapes() {
        let id = new_key_id();
        assert_eq!(id.len(), 20, "{id}");
        assert!(id.starts_with("AKIA"));
        assert!(id[4..].bytes().all(|b| ID_ALPHABET.contains(&b)), "{id}");
        assert_ne!(new_key_id(), id);
        let secret = new_secret();
        assert_eq!(secret.expose().len(), 40);
        assert!(
            secret
                .expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        );
        assert_eq!(format!("{secret:?}"), "<secret>");
    }
}
