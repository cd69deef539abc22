//! TLS for the lake server: a certificate chain and key from PEM files, rustls on the aws-lc-rs
//! provider (the one the AWS SDK already brings), TLS 1.2 and 1.3, HTTP/1.1 by ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::service::{Code, Result, ServiceError};

pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    let bad = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        ServiceError::new(
            Code::ParamValidation,
            format!("cannot read the {what} {}: {e}", path.display()),
        )
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("certificate", cert, &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad("certificate", cert, &e))?;
    if chain.is_empty() {
        return Err(bad("certificate", cert, &"no CERTIFICATE block in it"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("private key", key, &e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServiceError::internal(format!("TLS set-up: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            ServiceError::new(
                Code::ParamValidation,
                format!("the certificate and key do not make a TLS identity: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
