//! KMS key tags on the local lake (TagResource, UntagResource, ListResourceTags), with KMS's
//! rules: tag keys 1 to 128 characters and values up to 256, at most 50 tags a key, the `aws:`
//! prefix reserved, no tags on a key pending deletion or on a key the lake manages. Tags are
//! metadata (as on KMS, where they are not encrypted under the key), so they are stored as they
//! are; the one tag lakectl itself sets, the wrapped masking key, is a ciphertext.
//!
//! The masking keys of a key come from that tag when it is set (a job created through the lake
//! server by lakectl's AWS backend made it), so `hash` and `tokenize` agree whichever backend
//! made a token; otherwise they are derived from the key's material, and tokens made that way
//! still open after the tag is set. The tag, once set, may not be changed or removed: every
//! token made under it would stop opening.

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::kms::KeyRow;
use super::{Caller, Lake};
use crate::mask::MaskKeys;
use crate::service::keys::{EncryptionContext, KeyState, KeyTag, MASK_KEY_TAG};
use crate::service::{Code, Principal, Result, ServiceError};

/// KMS's most tags on one key.
const MOST_TAGS: usize = 50;

fn tag_error(message: String) -> ServiceError {
    ServiceError {
        code: Code::ValidationException,
        message,
        aws_code: Some("TagException".into()),
    }
}

fn check_tag(tag: &KeyTag) -> Result<()> {
    let key_len = tag.tag_key.chars().count();
    if !(1..=128).contains(&key_len) {
        return Err(tag_error(format!(
            "a tag key is 1 to 128 characters, not {key_len}"
        )));
    }
    if tag.tag_value.chars().count() > 256 {
        return Err(tag_error(format!(
            "the value of tag {:?} is over 256 characters",
            tag.tag_key
        )));
    }
    if tag.tag_key.to_ascii_lowercase().starts_with("aws:") {
        return Err(tag_error(format!(
            "tag keys beginning with aws: are reserved ({:?})",
            tag.tag_key
        )));
    }
    Ok(())
}

impl Lake {
    /// The key may carry new tags or lose some: a customer managed key not pending deletion.
    fn taggable(&self, row: &KeyRow) -> Result<()> {
        self.check_customer_managed(row)?;
        if row.state == KeyState::PendingDeletion {
            return Err(ServiceError::new(
                Code::KMSInvalidStateException,
                format!("{} is pending deletion", self.key_arn(&row.id)),
            ));
        }
        Ok(())
    }

    pub(super) fn tag_key(&self, by: &Principal, key: &str, tags: &[KeyTag]) -> Result<()> {
        tags.iter().try_for_each(check_tag)?;
        self.change_key(by, key, "TagResource", |tx, _, row| {
            self.taggable(row)?;
            for tag in tags.iter().filter(|t| t.tag_key == MASK_KEY_TAG) {
                self.check_mask_key_tag(tx, row, &tag.tag_value)?;
            }
            for tag in tags {
                tx.execute(
                    "INSERT INTO key_tags(key_id, tag_key, tag_value) VALUES (?1, ?2, ?3)
                     ON CONFLICT(key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
                    params![row.id, tag.tag_key, tag.tag_value],
                )?;
            }
            let count: usize = tx.query_row(
                "SELECT COUNT(*) FROM key_tags WHERE key_id = ?1",
                params![row.id],
                |r| r.get(0),
            )?;
            if count > MOST_TAGS {
                return Err(ServiceError {
                    code: Code::LimitExceeded,
                    message: format!("a key carries at most {MOST_TAGS} tags"),
                    aws_code: Some("LimitExceededException".into()),
                });
            }
            let keys: Vec<&str> = tags.iter().map(|t| t.tag_key.as_str()).collect();
            Ok(((), json!({ "TagKeys": keys })))
        })
    }

    pub(super) fn untag_key(&self, by: &Principal, key: &str, tag_keys: &[String]) -> Result<()> {
        self.change_key(by, key, "UntagResource", |tx, _, row| {
            self.taggable(row)?;
            if tag_keys.iter().any(|k| k == MASK_KEY_TAG) {
                return Err(tag_error(format!(
                    "{MASK_KEY_TAG} holds the key's masking key: without it, no token made under it would open"
                )));
            }
            for tag_key in tag_keys {
                tx.execute(
                    "DELETE FROM key_tags WHERE key_id = ?1 AND tag_key = ?2",
                    params![row.id, tag_key],
                )?;
            }
            Ok(((), json!({ "TagKeys": tag_keys })))
        })
    }

    pub(super) fn key_tags(&self, by: &Principal, key: &str) -> Result<Vec<KeyTag>> {
        self.read_key(by, key, "ListResourceTags", |tx, row| {
            let mut stmt = tx.prepare(
                "SELECT tag_key, tag_value FROM key_tags WHERE key_id = ?1 ORDER BY tag_key",
            )?;
            let tags = stmt
                .query_map(params![row.id], |r| {
                    Ok(KeyTag {
                        tag_key: r.get(0)?,
                        tag_value: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(tags)
        })
    }

    /// A new `lakectl:mask-key` value: a data key wrapped by this very key, and the first one
    /// (the tag is set once; a new value would orphan every token made under the old one).
    fn check_mask_key_tag(&self, tx: &Transaction, row: &KeyRow, value: &str) -> Result<()> {
        let current = self.tagged_mask_key(tx, row)?;
        if let Some(current) = current {
            return if current == value {
                Ok(())
            } else {
                Err(tag_error(format!(
                    "{MASK_KEY_TAG} is set once: the key's tokens open only with the masking key it holds"
                )))
            };
        }
        self.unwrap_mask_key(tx, row, value)
            .map(|_| ())
            .map_err(|_| {
                tag_error(format!(
                    "{MASK_KEY_TAG} must hold a data key wrapped by this key (GenerateDataKeyWithoutPlaintext, base64)"
                ))
            })
    }

    fn tagged_mask_key(&self, tx: &Transaction, row: &KeyRow) -> Result<Option<String>> {
        Ok(tx
            .query_row(
                "SELECT tag_value FROM key_tags WHERE key_id = ?1 AND tag_key = ?2",
                params![row.id, MASK_KEY_TAG],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The data key a `lakectl:mask-key` value wraps.
    fn unwrap_mask_key(
        &self,
        tx: &Transaction,
        row: &KeyRow,
        wrapped: &str,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        use base64::Engine;
        let blob = base64::engine::general_purpose::STANDARD
            .decode(wrapped.trim())
            .map_err(|_| {
                ServiceError::new(
                    Code::InvalidCiphertextException,
                    format!("the {MASK_KEY_TAG} tag of {} is not base64", row.id),
                )
            })?;
        self.open_client_blob(tx, row, &blob, &EncryptionContext::new())
    }

    /// The masking keys of `key` for `caller` (who must be allowed `action` on it): from the
    /// wrapped data key in its `lakectl:mask-key` tag when there is one, else derived from the
    /// key's first material.
    pub(super) fn mask_keys_for(
        &self,
        tx: &Transaction,
        caller: &Caller,
        key: &str,
        action: &str,
    ) -> Result<MaskKeys> {
        let row = self.resolve_key(tx, key)?;
        self.authorize_key(caller, &row, action)?;
        self.check_usable(&row)?;
        match self.tagged_mask_key(tx, &row)? {
            Some(wrapped) => {
                let data_key = self.unwrap_mask_key(tx, &row, &wrapped)?;
                let mut keys =
                    MaskKeys::from_data_key(&data_key).map_err(ServiceError::internal)?;
                // Tokens the key made before the tag was set open still (hashes made then
                // differ from those made now: a join across the two needs the output remade).
                keys.older_token = self.material_mask_keys(tx, &row)?.token;
                Ok(keys)
            }
            None => self.material_mask_keys(tx, &row),
        }
    }
}
