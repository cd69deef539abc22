//! KMS's cryptographic operations on the lake server: Encrypt, GenerateDataKey(WithoutPlaintext)
//! and Decrypt. Blobs cross the wire in base64, as awsJson carries them; the keys service seals
//! and opens them (local/client_crypto.rs).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};

use super::json_protocol::{Call, coded, output};
use crate::service::keys::EncryptionContext;
use crate::service::{Result, ServiceError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EncryptInput {
    key_id: String,
    plaintext: String,
    #[serde(default)]
    encryption_context: EncryptionContext,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DataKeyInput {
    key_id: String,
    #[serde(default)]
    key_spec: Option<String>,
    #[serde(default)]
    number_of_bytes: Option<u32>,
    #[serde(default)]
    encryption_context: EncryptionContext,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DecryptInput {
    ciphertext_blob: String,
    #[serde(default)]
    key_id: Option<String>,
    #[serde(default)]
    encryption_context: EncryptionContext,
}

fn blob(text: &str, member: &str) -> Result<Vec<u8>> {
    B64.decode(text)
        .map_err(|_| coded("SerializationException", format!("{member} is not base64")))
}

pub async fn call(call: &Call<'_>) -> Result<Value> {
    let keys = &call.router.services.keys;
    let by = call.principal;
    match call.operation {
        "Encrypt" => {
            let input: EncryptInput = call.input()?;
            let plain = zeroize::Zeroizing::new(blob(&input.plaintext, "Plaintext")?);
            let sealed = keys
                .client_encrypt(
                    by,
                    &input.key_id,
                    Some(&plain),
                    &input.encryption_context,
                    false,
                )
                .await?;
            output(json!({
                "KeyId": sealed.key_id,
                "CiphertextBlob": B64.encode(&sealed.ciphertext_blob),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            }))
        }
        "GenerateDataKey" | "GenerateDataKeyWithoutPlaintext" => {
            let input: DataKeyInput = call.input()?;
            let bytes_ok = match (&input.key_spec, input.number_of_bytes) {
                (Some(spec), None) => spec == "AES_256",
                (None, Some(n)) => n == 32,
                _ => false,
            };
            if !bytes_ok {
                return Err(ServiceError::invalid(
                    "give KeySpec AES_256 or NumberOfBytes 32 (the lake's data keys are 256-bit), not both",
                ));
            }
            let with_plaintext = call.operation == "GenerateDataKey";
            let made = keys
                .client_encrypt(
                    by,
                    &input.key_id,
                    None,
                    &input.encryption_context,
                    with_plaintext,
                )
                .await?;
            let mut answer = json!({
                "KeyId": made.key_id,
                "CiphertextBlob": B64.encode(&made.ciphertext_blob),
            });
            if let Some(plain) = &made.plaintext {
                answer["Plaintext"] = json!(B64.encode(plain.as_slice()));
            }
            output(answer)
        }
        "Decrypt" => {
            let input: DecryptInput = call.input()?;
            let sealed = blob(&input.ciphertext_blob, "CiphertextBlob")?;
            let opened = keys
                .client_decrypt(by, &sealed, &input.encryption_context)
                .await?;
            // A KeyId given must be the key that made the ciphertext, as KMS checks.
            if let Some(key) = input.key_id {
                let named = keys.describe_key(by, &key).await?;
                if named.arn != opened.key_id {
                    return Err(ServiceError::new(
                        crate::service::Code::InvalidCiphertextException,
                        "the ciphertext was not made under the KeyId given",
                    ));
                }
            }
            let plain = opened
                .plaintext
                .ok_or_else(|| ServiceError::internal("Decrypt gave no plaintext"))?;
            output(json!({
                "KeyId": opened.key_id,
                "Plaintext": B64.encode(plain.as_slice()),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            }))
        }
        _ => Err(call.unknown("KMS")),
    }
}
