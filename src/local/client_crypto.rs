//! KMS's Encrypt, GenerateDataKey and Decrypt for clients of the lake server (an SDK's
//! client-side envelope, lakectl's AWS backend's masking secret). The plaintext is sealed under
//! the key's current version with the client's EncryptionContext as additional data, in a
//! domain of its own, so a client's ciphertext never opens as one of the lake's own data keys
//! and the lake's never opens here. The key policy decides (kms:Encrypt, kms:GenerateDataKey,
//! kms:Decrypt) and the key must be Enabled; every call is audited.
//!
//! Blob layout: `LKC1`, the key id's length (1 byte) and the key id, the version (4 bytes, big
//! endian), then the sealed plaintext (nonce, ciphertext, tag).

use serde_json::json;
use zeroize::Zeroizing;

use super::Lake;
use super::authorizer::Call;
use super::crypto::{self, Secret};
use super::kms::KeyRow;
use crate::service::keys::{ClientCiphertext, EncryptionContext};
use crate::service::{Code, Principal, Result, ServiceError};

const MAGIC: &[u8; 4] = b"LKC1";
/// KMS's most plaintext per Encrypt.
const MOST_PLAINTEXT: usize = 4096;

fn aad(context: &EncryptionContext) -> Vec<u8> {
    let mut out = b"lakectl kms client ciphertext v1\0".to_vec();
    out.extend(serde_json::to_vec(context).expect("a string map always serializes"));
    out
}

fn invalid() -> ServiceError {
    ServiceError::new(
        Code::InvalidCiphertextException,
        "the ciphertext or its encryption context failed authentication",
    )
}

/// The key id and version a blob names, and its sealed part.
fn parse(blob: &[u8]) -> Result<(String, u32, &[u8])> {
    let rest = blob.strip_prefix(MAGIC.as_slice()).ok_or_else(invalid)?;
    let (&len, rest) = rest.split_first().ok_or_else(invalid)?;
    let len = usize::from(len);
    if rest.len() < len + 4 {
        return Err(invalid());
    }
    let id = std::str::from_utf8(&rest[..len]).map_err(|_| invalid())?;
    let version = u32::from_be_bytes(rest[len..len + 4].try_into().map_err(|_| invalid())?);
    Ok((id.to_string(), version, &rest[len + 4..]))
}

impl Lake {
    /// Opens a blob `client_seal` made under `row` (the caller already authorized to decrypt
    /// with it): a blob under another key is invalid here.
    pub(super) fn open_client_blob(
        &self,
        tx: &rusqlite::Transaction,
        row: &KeyRow,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (key_id, version, sealed) = parse(blob)?;
        if key_id != row.id {
            return Err(invalid());
        }
        self.open_sealed(tx, row, version, sealed, context)
    }

    fn open_sealed(
        &self,
        tx: &rusqlite::Transaction,
        row: &KeyRow,
        version: u32,
        sealed: &[u8],
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (_, material) = self.material(tx, &row.id, Some(version))?;
        Ok(Zeroizing::new(crypto::open(
            &material.aead(),
            sealed,
            &aad(context),
        )?))
    }

    pub(super) fn client_seal(
        &self,
        by: &Principal,
        key: &str,
        plaintext: Option<&[u8]>,
        context: &EncryptionContext,
        return_plaintext: bool,
    ) -> Result<ClientCiphertext> {
        if plaintext.is_some_and(|p| p.is_empty() || p.len() > MOST_PLAINTEXT) {
            return Err(ServiceError::invalid(format!(
                "Plaintext must be 1 to {MOST_PLAINTEXT} bytes"
            )));
        }
        let (event, action) = match (plaintext, return_plaintext) {
            (Some(_), _) => ("Encrypt", "kms:Encrypt"),
            (None, true) => ("GenerateDataKey", "kms:GenerateDataKey"),
            (None, false) => ("GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKey"),
        };
        self.audited(
            by,
            Call::new("kms", event, key).key(key).action(action),
            |tx, caller| {
                let row = self.resolve_key(tx, key)?;
                self.authorize_key(caller, &row, action)?;
                self.check_usable(&row)?;
                let (version, material) = self.material(tx, &row.id, None)?;
                let fresh;
                let plain: &[u8] = match plaintext {
                    Some(p) => p,
                    None => {
                        fresh = Secret::random();
                        &fresh.0
                    }
                };
                let mut blob = MAGIC.to_vec();
                blob.push(
                    u8::try_from(row.id.len())
                        .map_err(|_| ServiceError::internal("key id too long"))?,
                );
                blob.extend(row.id.as_bytes());
                blob.extend(version.to_be_bytes());
                blob.extend(crypto::seal(&material.aead(), plain, &aad(context)));
                let out = ClientCiphertext {
                    key_id: self.key_arn(&row.id),
                    ciphertext_blob: blob,
                    plaintext: (plaintext.is_none() && return_plaintext)
                        .then(|| Zeroizing::new(plain.to_vec())),
                };
                Ok((out, json!({ "KeyId": row.id })))
            },
        )
    }

    pub(super) fn client_open(
        &self,
        by: &Principal,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<ClientCiphertext> {
        let (key_id, version, sealed) = parse(blob)?;
        self.audited(
            by,
            Call::new("kms", "Decrypt", &key_id).key(&key_id),
            |tx, caller| {
                let row = self.resolve_key(tx, &key_id)?;
                self.authorize_key(caller, &row, "kms:Decrypt")?;
                self.check_usable(&row)?;
                let plain = self.open_sealed(tx, &row, version, sealed, context)?;
                let out = ClientCiphertext {
                    key_id: self.key_arn(&row.id),
                    ciphertext_blob: Vec::new(),
                    plaintext: Some(plain),
                };
                Ok((out, json!({ "KeyId": row.id })))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_names_its_key_and_version_and_a_cut_one_is_invalid() {
        let mut blob = MAGIC.to_vec();
        blob.push(3);
        blob.extend(b"abc");
        blob.extend(7u32.to_be_bytes());
        blob.extend([1, 2, 3]);
        let (id, version, sealed) = parse(&blob).unwrap();
        assert_eq!((id.as_str(), version, sealed), ("abc", 7, &[1u8, 2, 3][..]));
        assert_eq!(
            parse(&blob[..6]).unwrap_err().code,
            Code::InvalidCiphertextException
        );
        assert_eq!(
            parse(b"XXXX").unwrap_err().code,
            Code::InvalidCiphertextException
        );
    }
}
