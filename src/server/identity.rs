//! Who is calling: an access key id names a principal and the secret its requests are signed
//! with. The lake keeps the secret sealed; it is opened here per request and dropped after.

use std::net::IpAddr;
use std::sync::Arc;

use s3s::auth::{S3Auth, SecretKey};

use super::errors::AuthError;
use crate::local::Lake;
use crate::service::iam::{AccessKeyStatus, SecretString};
use crate::service::{Origin, Principal};

/// A key's owner and secret; only Active keys are returned.
pub struct KeyOwner {
    pub user: String,
    pub secret: SecretString,
}

/// The owner of `access_key_id`, if the key exists and is Active. Unknown and inactive keys get
/// the same refusal.
pub fn owner(lake: &Lake, access_key_id: &str) -> Result<KeyOwner, AuthError> {
    match lake.access_key_credential(access_key_id) {
        Ok(cred) if cred.status == AccessKeyStatus::Active => Ok(KeyOwner {
            user: cred.user_name,
            secret: cred.secret,
        }),
        Ok(_) => Err(AuthError::unknown_key()),
        Err(e) if e.code_name() == "InvalidAccessKeyId" => Err(AuthError::unknown_key()),
        Err(e) => {
            tracing::error!(error = %e, "access key lookup failed");
            Err(AuthError::unknown_key())
        }
    }
}

/// The principal an authenticated request acts as.
pub fn principal(user: &str, access_key_id: &str, peer: IpAddr) -> Principal {
    Principal::authenticated(
        user,
        Origin {
            access_key_id: access_key_id.to_string(),
            source_ip: peer,
        },
    )
}

/// s3s asks for a key's secret to verify S3 signatures (headers, presigned URLs, chunks), on
/// every request; the operation then needs the key's owner, which is remembered here so the
/// key is not opened twice. A key never changes owner, and whether it may still be used is
/// decided by the lookup every request makes first, so the remembered owner cannot go stale.
/// Only keys that verified are remembered, so unknown ids cannot grow the map.
pub struct S3Keys {
    lake: Arc<Lake>,
    owners: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl S3Keys {
    pub fn new(lake: Arc<Lake>) -> Self {
        S3Keys {
            lake,
            owners: Default::default(),
        }
    }

    /// The owner of a key s3s has just verified a request with.
    pub fn owner_of(&self, access_key: &str) -> Option<String> {
        self.owners.lock().ok()?.get(access_key).cloned()
    }
}

#[async_trait::async_trait]
impl S3Auth for S3Keys {
    async fn get_secret_key(&self, access_key: &str) -> s3s::S3Result<SecretKey> {
        match owner(&self.lake, access_key) {
            Ok(owner) => {
                if let Ok(mut owners) = self.owners.lock() {
                    owners.insert(access_key.to_string(), owner.user.clone());
                }
                Ok(SecretKey::from(owner.secret.expose()))
            }
            Err(_) => Err(s3s::s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
        }
    }
}
