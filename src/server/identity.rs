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

/// s3s asks for a key's secret to verify S3 signatures (headers, presigned URLs, chunks).
pub struct S3Keys(pub Arc<Lake>);

#[async_trait::async_trait]
impl S3Auth for S3Keys {
    async fn get_secret_key(&self, access_key: &str) -> s3s::S3Result<SecretKey> {
        match owner(&self.0, access_key) {
            Ok(owner) => Ok(SecretKey::from(owner.secret.expose())),
            Err(_) => Err(s3s::s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
        }
    }
}
