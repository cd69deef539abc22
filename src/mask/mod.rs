//! Masking operators, pure: a column in, the masked column out; keys, where an operator needs
//! one, are handed in by the backend. Jobs apply them on either backend.
//!
//! - `redact`: each value becomes a run of `#` as long as the value (the seed's masking);
//! - `partial:N`: all but the last N characters become `#`;
//! - `null`: the value is removed;
//! - `hash`: keyed HMAC-SHA256, hex; the same input gives the same token, so joins still work;
//! - `tokenize`: deterministic authenticated encryption (AES-256-GCM-SIV), reversible only with the
//!   key, which the backend releases only to principals allowed to decrypt with its KMS key;
//! - `generalize-date`: a date becomes its year.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray, StringBuilder, new_null_array};
use arrow::datatypes::DataType;
use aws_lc_rs::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Redact,
    Partial(usize),
    Null,
    Hash,
    Tokenize,
    GeneralizeDate,
}

pub const OPERATORS: &[&str] = &[
    "redact",
    "partial:N",
    "null",
    "hash",
    "tokenize",
    "generalize-date",
];

pub const TOKEN_PREFIX: &str = "tok1.";
const TOKEN_AAD: &[u8] = b"lakectl token v1";

/// The keys that `hash` and `tokenize` need.
#[derive(Default)]
pub struct MaskKeys {
    pub hash: Option<hmac::Key>,
    pub token: Option<LessSafeKey>,
    /// The token key the KMS key had before a masking key was kept in its tag (the local
    /// lake's own derivation): tokens made then still open.
    pub older_token: Option<LessSafeKey>,
}

struct Len(usize);

impl aws_lc_rs::hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn derive(prk: &aws_lc_rs::hkdf::Prk, info: &[u8]) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    prk.expand(&[info], Len(32))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| "HKDF refused to derive a 32-byte key".to_string())?;
    Ok(out)
}

impl MaskKeys {
    /// The hash and token keys of a masking data key (HKDF-SHA256, no salt), as
    /// `assets/glue/job.py` derives them: every backend that holds the data key masks alike.
    pub fn from_data_key(data_key: &[u8]) -> Result<MaskKeys, String> {
        use aws_lc_rs::aead::{AES_256_GCM_SIV, UnboundKey};
        use aws_lc_rs::hkdf;
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(data_key);
        let hash = derive(&prk, b"lakectl mask hash")?;
        let token = derive(&prk, b"lakectl mask token")?;
        let token = UnboundKey::new(&AES_256_GCM_SIV, &token)
            .map_err(|_| "AES-256-GCM-SIV refused a 32-byte key".to_string())?;
        Ok(MaskKeys {
            hash: Some(hmac::Key::new(hmac::HMAC_SHA256, &hash)),
            token: Some(LessSafeKey::new(token)),
            older_token: None,
        })
    }

    /// The value behind `token`, under the token key or the older one; None when neither made
    /// it.
    pub fn detokenize(&self, token: &str) -> Option<String> {
        self.token
            .iter()
            .chain(self.older_token.iter())
            .find_map(|key| detokenize(token, key))
    }
}

impl Operator {
    pub fn parse(name: &str) -> Result<Operator, String> {
        let name = name.trim().to_ascii_lowercase();
        Ok(match name.as_str() {
            "redact" => Operator::Redact,
            "null" => Operator::Null,
            "hash" => Operator::Hash,
            "tokenize" => Operator::Tokenize,
            "generalize-date" => Operator::GeneralizeDate,
            other => match other.strip_prefix("partial:").map(str::parse::<usize>) {
                Some(Ok(n)) => Operator::Partial(n),
                _ => {
                    return Err(format!(
                        "unknown masking operator {other:?}; the operators are {}",
                        OPERATORS.join(", ")
                    ));
                }
            },
        })
    }

    /// The operator's one spelling, which `parse` gives back: what plans for other engines carry.
    pub fn name(self) -> String {
        match self {
            Operator::Redact => "redact".into(),
            Operator::Partial(n) => format!("partial:{n}"),
            Operator::Null => "null".into(),
            Operator::Hash => "hash".into(),
            Operator::Tokenize => "tokenize".into(),
            Operator::GeneralizeDate => "generalize-date".into(),
        }
    }

    pub fn needs_keys(self) -> bool {
        matches!(self, Operator::Hash | Operator::Tokenize)
    }

    /// The type of the masked column.
    pub fn output_type(self, input: &DataType) -> DataType {
        match self {
            Operator::Null => input.clone(),
            _ => DataType::Utf8,
        }
    }

    pub fn apply(self, column: &ArrayRef, keys: &MaskKeys) -> Result<ArrayRef, String> {
        if self == Operator::Null {
            return Ok(new_null_array(column.data_type(), column.len()));
        }
        let text =
            arrow::compute::cast(&in_utc(column)?, &DataType::Utf8).map_err(|e| e.to_string())?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8 gives strings");
        let missing = |what: &str| format!("the {what} key for masking is not available");
        let mut out = StringBuilder::with_capacity(text.len(), text.value_data().len());
        for v in text.iter() {
            let masked = match v {
                None => None,
                Some(s) => Some(match self {
                    Operator::Redact => "#".repeat(s.chars().count()),
                    Operator::Partial(keep) => {
                        let n = s.chars().count();
                        let hidden = n.saturating_sub(keep);
                        "#".repeat(hidden) + &s.chars().skip(hidden).collect::<String>()
                    }
                    Operator::Hash => hex::encode(hmac::sign(
                        keys.hash.as_ref().ok_or_else(|| missing("hash"))?,
                        s.as_bytes(),
                    )),
                    Operator::Tokenize => {
                        tokenize(s, keys.token.as_ref().ok_or_else(|| missing("token"))?)
                    }
                    Operator::GeneralizeDate => {
                        year_of(s).unwrap_or_else(|| "#".repeat(s.chars().count()))
                    }
                    Operator::Null => unreachable!("handled above"),
                }),
            };
            out.append_option(masked);
        }
        Ok(Arc::new(out.finish()))
    }
}

/// A zoned timestamp column as the same instants in UTC, so its text ends in `Z` whatever
/// zone its writer chose: the instant is the value (Parquet stores instants; the zone is a
/// hint only Arrow's writers keep), so the same instant masks alike from any source and on
/// Spark, which sees no zone at all. Other columns are as they are.
fn in_utc(column: &ArrayRef) -> Result<ArrayRef, String> {
    match column.data_type() {
        DataType::Timestamp(unit, Some(_)) => {
            arrow::compute::cast(column, &DataType::Timestamp(*unit, Some("+00:00".into())))
                .map_err(|e| e.to_string())
        }
        _ => Ok(column.clone()),
    }
}

/// The year of a date written `YYYY-MM-DD`, `YYYY/MM/DD` or `MM/DD/YYYY`.
fn year_of(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(['-', '/', '.', 'T', ' ']).collect();
    parts
        .iter()
        .find(|p| p.len() == 4 && p.chars().all(|c| c.is_ascii_digit()))
        .map(|y| y.to_string())
}

/// Deterministic: GCM-SIV stays safe with a fixed nonce, so a value always gives the same token.
pub fn tokenize(value: &str, key: &LessSafeKey) -> String {
    let mut buf = value.as_bytes().to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([0u8; NONCE_LEN]),
        Aad::from(TOKEN_AAD),
        &mut buf,
    )
    .expect("GCM-SIV seals any length a column holds");
    format!("{TOKEN_PREFIX}{}", B64.encode(buf))
}

/// The value behind a token, if `key` is its key.
pub fn detokenize(token: &str, key: &LessSafeKey) -> Option<String> {
    let mut buf = B64.decode(token.strip_prefix(TOKEN_PREFIX)?).ok()?;
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key([0u8; NONCE_LEN]),
            Aad::from(TOKEN_AAD),
            &mut buf,
        )
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use aws_lc_rs::aead::{AES_256_GCM_SIV, UnboundKey};

    fn strings(a: &ArrayRef) -> Vec<Option<String>> {
        a.as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .iter()
            .map(|v| v.map(String::from))
            .collect()
    }

    fn keys() -> MaskKeys {
        MaskKeys {
            hash: Some(hmac::Key::new(hmac::HMAC_SHA256, &[7u8; 32])),
            token: Some(LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM_SIV, &[9u8; 32]).unwrap(),
            )),
            older_token: None,
        }
    }

    #[test]
    fn redact_and_partial_keep_length_but_no_hidden_character() {
        let col: ArrayRef = Arc::new(StringArray::from(vec![
            Some("4111111111111111"),
            None,
            Some("é"),
        ]));
        assert_eq!(
            strings(&Operator::Redact.apply(&col, &keys()).unwrap()),
            vec![Some("################".into()), None, Some("#".into())]
        );
        assert_eq!(
            strings(&Operator::Partial(4).apply(&col, &keys()).unwrap())[0].as_deref(),
            Some("############1111")
        );
        let nums: ArrayRef = Arc::new(Int64Array::from(vec![12345]));
        assert_eq!(
            Operator::Redact.apply(&nums, &keys()).unwrap().data_type(),
            &DataType::Utf8
        );
        assert!(
            Operator::parse("scramble")
                .unwrap_err()
                .contains("partial:N")
        );
        assert_eq!(Operator::parse("partial:4").unwrap(), Operator::Partial(4));
        for op in [
            Operator::Partial(4),
            Operator::GeneralizeDate,
            Operator::Hash,
        ] {
            assert_eq!(Operator::parse(&op.name()), Ok(op));
        }
        assert_eq!(Operator::parse(" Hash ").unwrap().name(), "hash");
    }

    #[test]
    fn hash_and_tokens_are_deterministic_and_tokens_reverse_only_with_their_key() {
        let col: ArrayRef = Arc::new(StringArray::from(vec![
            "ada@example.com",
            "bob@example.com",
            "ada@example.com",
        ]));
        let hashed = strings(&Operator::Hash.apply(&col, &keys()).unwrap());
        assert_eq!(hashed[0], hashed[2]);
        assert_ne!(hashed[0], hashed[1]);
        assert!(!hashed[0].as_ref().unwrap().contains("ada"));
        let tokens = strings(&Operator::Tokenize.apply(&col, &keys()).unwrap());
        assert_eq!(tokens[0], tokens[2]);
        let k = keys();
        assert_eq!(
            detokenize(tokens[1].as_deref().unwrap(), k.token.as_ref().unwrap()).as_deref(),
            Some("bob@example.com")
        );
        let other = LessSafeKey::new(UnboundKey::new(&AES_256_GCM_SIV, &[1u8; 32]).unwrap());
        assert_eq!(detokenize(tokens[1].as_deref().unwrap(), &other), None);
        assert!(
            Operator::Tokenize
                .apply(&col, &MaskKeys::default())
                .is_err(),
            "no key, no tokens"
        );
    }

    #[test]
    fn dates_generalise_to_their_year() {
        let col: ArrayRef = Arc::new(StringArray::from(vec![
            "1961-03-12",
            "03/12/1961",
            "not a date",
        ]));
        assert_eq!(
            strings(&Operator::GeneralizeDate.apply(&col, &keys()).unwrap()),
            vec![
                Some("1961".into()),
                Some("1961".into()),
                Some("##########".into())
            ]
        );
    }

    #[test]
    fn a_zoned_instant_masks_alike_whatever_its_zone() {
        use arrow::array::TimestampMicrosecondArray;
        // 2024-01-01T08:00:00Z, kept under three zones: one instant.
        let instant = 1_704_096_000_000_000i64;
        let zoned = |zone: &str| -> ArrayRef {
            Arc::new(TimestampMicrosecondArray::from(vec![instant]).with_timezone(zone))
        };
        let redacted = |c: &ArrayRef| strings(&Operator::Partial(30).apply(c, &keys()).unwrap());
        let text = redacted(&zoned("+02:00"));
        assert_eq!(text, vec![Some("2024-01-01T08:00:00Z".into())]);
        assert_eq!(redacted(&zoned("UTC")), text);
        assert_eq!(redacted(&zoned("America/New_York")), text);
        let hash = |c: &ArrayRef| strings(&Operator::Hash.apply(c, &keys()).unwrap());
        assert_eq!(hash(&zoned("+02:00")), hash(&zoned("-05:00")));
        // A timestamp without a zone is a wall-clock time: written as it is.
        let naive: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![instant]));
        assert_eq!(redacted(&naive), vec![Some("2024-01-01T08:00:00".into())]);
    }
}
