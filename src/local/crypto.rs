//! The few cryptographic building blocks the lake uses, all from aws-lc-rs: AES-256-GCM sealing
//! of small secrets (key material, data keys), HKDF sub-keys, HMAC, and the CSPRNG. Nothing here
//! is a primitive of our own; this module only fixes how they are combined.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{hkdf, hmac, rand};

use crate::service::{Code, Result, ServiceError};

pub const KEY_LEN: usize = 32;
pub const TAG_LEN: usize = 16;

/// 256 bits of key material that is wiped from memory when dropped.
pub struct Secret(pub [u8; KEY_LEN]);

impl Drop for Secret {
    fn drop(&mut self) {
        // A volatile write so the compiler cannot drop the wipe as a dead store.
        for b in self.0.iter_mut() {
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl Secret {
    pub fn random() -> Self {
        let mut k = [0u8; KEY_LEN];
        fill_random(&mut k);
        Secret(k)
    }

    pub fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.0).expect("32-byte AES key"))
    }

    /// A sub-key for one purpose, so no key is ever used for two.
    pub fn derive(&self, purpose: &str) -> Secret {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"lakectl").extract(&self.0);
        let info = [purpose.as_bytes()];
        let okm = prk
            .expand(&info, hkdf::HKDF_SHA256)
            .expect("HKDF output of one block");
        let mut out = [0u8; KEY_LEN];
        okm.fill(&mut out).expect("HKDF fill of 32 bytes");
        Secret(out)
    }

    pub fn hmac(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &self.0)
    }
}

pub fn fill_random(buf: &mut [u8]) {
    rand::fill(buf).expect("the system CSPRNG is available");
}

/// Seals a small secret: `nonce || ciphertext || tag`, bound to `aad`.
pub fn seal(key: &LessSafeKey, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce);
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .expect("AES-GCM seal of a small buffer");
    out.extend_from_slice(tag.as_ref());
    out
}

/// Opens what `seal` made; any change to the bytes or to `aad` is an `InvalidCiphertextException`.
pub fn open(key: &LessSafeKey, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let invalid = || {
        ServiceError::new(
            Code::InvalidCiphertextException,
            "the ciphertext or its encryption context failed authentication",
        )
    };
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(invalid());
    }
    let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).map_err(|_| invalid())?;
    let mut buf = sealed[NONCE_LEN..].to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| invalid())?;
    Ok(plain.to_vec())
}

/// Opens a sealed 256-bit key.
pub fn open_key(key: &LessSafeKey, sealed: &[u8], aad: &[u8]) -> Result<Secret> {
    let plain = open(key, sealed, aad)?;
    let bytes: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| {
        ServiceError::new(
            Code::InvalidCiphertextException,
            "a sealed key has the wrong length",
        )
    })?;
    Ok(Secret(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_are_bound_to_their_context() {
        let k = Secret::random().aead();
        let sealed = seal(&k, b"material", b"ctx-a");
        assert_eq!(open(&k, &sealed, b"ctx-a").unwrap(), b"material");
        assert_eq!(
            open(&k, &sealed, b"ctx-b").unwrap_err().code,
            Code::InvalidCiphertextException
        );
        let mut tampered = sealed.clone();
        tampered[14] ^= 1;
        assert!(open(&k, &tampered, b"ctx-a").is_err());
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let root = Secret::random();
        assert_ne!(root.derive("a").0, root.derive("b").0);
        assert_eq!(root.derive("a").0, root.derive("a").0);
    }
}
