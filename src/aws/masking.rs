//! The masking keys on AWS. `hash` and `tokenize` need a secret that the Glue script, lakectl's
//! own masking job and `detokenize` all derive the same keys from, and that only principals
//! allowed kms:Decrypt on the output key can open. It is a data key made by KMS
//! (GenerateDataKeyWithoutPlaintext), kept wrapped in a tag on that KMS key, and opened by KMS
//! Decrypt when needed: the plaintext lives only in memory, and every opening is in CloudTrail.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, Tag};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Aws, aws_error};
use crate::mask::MaskKeys;
use crate::service::{Code, Result, ServiceError};

pub(super) use crate::service::keys::MASK_KEY_TAG;

/// The hash and token keys from the data key, as `assets/glue/job.py` derives them.
pub(super) fn mask_keys(data_key: &[u8]) -> Result<MaskKeys> {
    MaskKeys::from_data_key(data_key).map_err(ServiceError::internal)
}

impl Aws {
    /// The wrapped masking key of `key_id`, made and tagged on first use.
    pub(super) async fn wrapped_mask_key(&self, key_id: &str) -> Result<String> {
        if let Some(wrapped) = self.tagged_mask_key(key_id).await? {
            return Ok(wrapped);
        }
        let made = self
            .kms
            .generate_data_key_without_plaintext()
            .key_id(key_id)
            .key_spec(DataKeySpec::Aes256)
            .send()
            .await
            .map_err(|e| aws_error("kms:GenerateDataKeyWithoutPlaintext", e))?;
        let wrapped = B64.encode(
            made.ciphertext_blob()
                .map(|b| b.as_ref())
                .unwrap_or_default(),
        );
        let tag = Tag::builder()
            .tag_key(MASK_KEY_TAG)
            .tag_value(&wrapped)
            .build()
            .map_err(|e| super::build_error("TagResource", e))?;
        self.kms
            .tag_resource()
            .key_id(key_id)
            .tags(tag)
            .send()
            .await
            .map_err(|e| aws_error("kms:TagResource", e))?;
        Ok(wrapped)
    }

    async fn tagged_mask_key(&self, key_id: &str) -> Result<Option<String>> {
        let mut pages = self
            .kms
            .list_resource_tags()
            .key_id(key_id)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("kms:ListResourceTags", e))?;
            if let Some(tag) = page.tags().iter().find(|t| t.tag_key() == MASK_KEY_TAG) {
                return Ok(Some(tag.tag_value().to_string()));
            }
        }
        Ok(None)
    }

    /// The masking keys of `key_id`, opened by KMS for the caller (kms:Decrypt decides).
    pub(super) async fn open_mask_keys(&self, key_id: &str) -> Result<MaskKeys> {
        mask_keys(&self.open_mask_data_key(key_id).await?)
    }

    /// The masking data key of `key_id` in the clear, for a job that masks in this process.
    pub(super) async fn open_mask_data_key(&self, key_id: &str) -> Result<Vec<u8>> {
        let wrapped = self.tagged_mask_key(key_id).await?.ok_or_else(|| {
            ServiceError::new(
                Code::NotFoundException,
                format!(
                    "key {key_id} has made no masking key: no job has hashed or tokenized under it"
                ),
            )
        })?;
        let blob = B64.decode(wrapped).map_err(|_| {
            ServiceError::new(
                Code::InvalidCiphertextException,
                format!("the {MASK_KEY_TAG} tag of {key_id} is not base64"),
            )
        })?;
        let opened = self
            .kms
            .decrypt()
            .key_id(key_id)
            .ciphertext_blob(Blob::new(blob))
            .send()
            .await
            .map_err(|e| aws_error("kms:Decrypt", e))?;
        let plain = opened
            .plaintext()
            .ok_or_else(|| ServiceError::internal("kms:Decrypt returned no plaintext"))?;
        Ok(plain.as_ref().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys the Glue script derives (Python's `cryptography` HKDF with no salt, the same
    /// infos) must be these: a token made by one opens with the other.
    #[test]
    fn derived_keys_are_stable_and_distinct() {
        let a = mask_keys(&[7u8; 32]).unwrap();
        let b = mask_keys(&[7u8; 32]).unwrap();
        let token = crate::mask::tokenize("4111 1111 1111 1111", a.token.as_ref().unwrap());
        assert_eq!(
            crate::mask::detokenize(&token, b.token.as_ref().unwrap()).as_deref(),
            Some("4111 1111 1111 1111")
        );
        let other = mask_keys(&[8u8; 32]).unwrap();
        assert_eq!(
            crate::mask::detokenize(&token, other.token.as_ref().unwrap()),
            None
        );
    }
}
