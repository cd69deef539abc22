//! Signature Version 4 for the protocols that are not S3 (s3s verifies S3's own, presigned URLs
//! and streaming payloads included). Rather than a second implementation of the canonical
//! request, the request is signed again with the AWS SDK's own signer (aws-sigv4) from exactly
//! the headers the client said it signed, at the time it said it signed, and the two signatures
//! are compared in constant time.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use chrono::{NaiveDateTime, TimeZone, Utc};
use http::HeaderMap;

use super::errors::AuthError;

/// How far a request's time may be from the server's, as AWS allows.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    /// `None` when the request carries no SigV4 Authorization header at all.
    pub fn from_headers(headers: &HeaderMap) -> Option<Result<Authorization, AuthError>> {
        let value = headers.get(http::header::AUTHORIZATION)?;
        Some(
            value
                .to_str()
                .ok()
                .and_then(Self::parse)
                .ok_or_else(|| {
                    AuthError::incomplete(
                        "the Authorization header is not AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…",
                    )
                }),
        )
    }

    fn parse(text: &str) -> Option<Authorization> {
        let rest = text.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (name, value) = part.trim().split_once('=')?;
            match name {
                "Credential" => credential = Some(value),
                "SignedHeaders" => signed = Some(value),
                "Signature" => signature = Some(value),
                _ => return None,
            }
        }
        let mut scope = credential?.split('/');
        let access_key_id = scope.next()?.to_string();
        let date = scope.next()?.to_string();
        let region = scope.next()?.to_string();
        let service = scope.next()?.to_string();
        if scope.next()? != "aws4_request" || scope.next().is_some() {
            return None;
        }
        let signature = signature?;
        if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let signed_headers: Vec<String> = signed?.split(';').map(str::to_string).collect();
        if signed_headers.iter().any(String::is_empty) || access_key_id.is_empty() {
            return None;
        }
        Some(Authorization {
            access_key_id,
            date,
            region,
            service,
            signed_headers,
            signature: signature.to_ascii_lowercase(),
        })
    }
}

/// The request as received, for verification.
pub struct Received<'a> {
    pub method: &'a str,
    /// The path and query exactly as the client sent them.
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Checks `auth` against the request and the access key's `secret`; `now` is the server's time.
pub fn verify(
    auth: &Authorization,
    request: &Received,
    secret: &str,
    now: SystemTime,
) -> Result<(), AuthError> {
    let signed_at = check_time(request.headers, now)?;
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(AuthError::incomplete(
            "the signed headers must include host",
        ));
    }
    if request.headers.contains_key("x-amz-security-token") {
        // The lake issues no temporary credentials, so no session token can be valid.
        return Err(AuthError::unrecognized(
            "The security token included in the request is invalid.",
        ));
    }
    let mut headers = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        // A header signed more than once is signed as its values joined with commas.
        let values: Vec<&str> = request
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| v.to_str())
            .collect::<Result<_, _>>()
            .map_err(|_| AuthError::signature_mismatch())?;
        if values.is_empty() {
            return Err(AuthError::incomplete(&format!(
                "the signed header {name} is not in the request"
            )));
        }
        headers.push((name.as_str(), values.join(",")));
    }
    let url = format!("https://signed{}", request.path_and_query);
    let signable = SignableRequest::new(
        request.method,
        url.as_str(),
        headers.iter().map(|(n, v)| (*n, v.as_str())),
        SignableBody::Bytes(request.body),
    )
    .map_err(|_| AuthError::signature_mismatch())?;
    let identity = aws_credential_types::Credentials::new(
        auth.access_key_id.clone(),
        secret.to_string(),
        None,
        None,
        "lakectl-server",
    )
    .into();
    let mut settings = SigningSettings::default();
    // Sign what the client signed, no more and no less.
    settings.excluded_headers = None;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&auth.region)
        .name(&auth.service)
        .time(signed_at)
        .settings(settings)
        .build()
        .map_err(|_| AuthError::signature_mismatch())?
        .into();
    let expected = sign(signable, &params).map_err(|_| AuthError::signature_mismatch())?;
    let expected = expected.signature();
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        expected.as_bytes(),
        auth.signature.as_bytes(),
    )
    .is_err()
    {
        return Err(AuthError::signature_mismatch());
    }
    Ok(())
}

/// The time the request says it was signed at, if within 15 minutes of `now` either way. s3s
/// checks this only for presigned URLs, so S3's header-signed requests are checked here too.
pub fn check_time(headers: &HeaderMap, now: SystemTime) -> Result<SystemTime, AuthError> {
    let signed_at = request_time(headers)?;
    let skew = match now.duration_since(signed_at) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > MAX_SKEW {
        return Err(AuthError::skewed(signed_at, now));
    }
    Ok(signed_at)
}

/// The time the client signed at: `X-Amz-Date` (ISO 8601 basic, `20260102T030405Z`).
fn request_time(headers: &HeaderMap) -> Result<SystemTime, AuthError> {
    let text = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AuthError::incomplete("the request has no X-Amz-Date header"))?;
    let naive = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
        .map_err(|_| AuthError::incomplete("X-Amz-Date is not of the form 20260102T030405Z"))?;
    Ok(Utc.from_utc_datetime(&naive).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    /// A request signed by the SDK's signer as a client would sign it.
    fn signed_request(body: &[u8], at: SystemTime) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:4566".parse().unwrap());
        headers.insert("x-amz-target", "TrentService.ListKeys".parse().unwrap());
        headers.insert(
            "content-type",
            "application/x-amz-json-1.1".parse().unwrap(),
        );
        let identity = aws_credential_types::Credentials::new(
            "AKIAEXAMPLEEXAMPLE22",
            SECRET,
            None,
            None,
            "test",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("kms")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let pairs: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let signable = SignableRequest::new(
            "POST",
            "https://127.0.0.1:4566/",
            pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        for (name, value) in instructions.headers() {
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        headers
    }

    fn check(
        headers: &HeaderMap,
        body: &[u8],
        secret: &str,
        now: SystemTime,
    ) -> Result<(), AuthError> {
        let auth = Authorization::from_headers(headers).unwrap()?;
        verify(
            &auth,
            &Received {
                method: "POST",
                path_and_query: "/",
                headers,
                body,
            },
            secret,
            now,
        )
    }

    #[test]
    fn a_request_the_sdk_signed_verifies_and_any_change_does_not() {
        let now = SystemTime::now();
        let body = br#"{"Limit":10}"#;
        let headers = signed_request(body, now);
        check(&headers, body, SECRET, now).unwrap();

        let code = |r: Result<(), AuthError>| r.unwrap_err().code;
        assert_eq!(
            code(check(&headers, br#"{"Limit":11}"#, SECRET, now)),
            "SignatureDoesNotMatch"
        );
        assert_eq!(
            code(check(&headers, body, "another secret", now)),
            "SignatureDoesNotMatch"
        );
        let mut changed = headers.clone();
        changed.insert("x-amz-target", "TrentService.CreateKey".parse().unwrap());
        assert_eq!(
            code(check(&changed, body, SECRET, now)),
            "SignatureDoesNotMatch"
        );
        // An unsigned header may be added (proxies do); it is not part of the signature.
        let mut extra = headers.clone();
        extra.insert("x-forwarded-for", "10.0.0.1".parse().unwrap());
        check(&extra, body, SECRET, now).unwrap();
    }

    #[test]
    fn a_request_signed_more_than_fifteen_minutes_away_is_refused_as_skewed() {
        let then = SystemTime::now() - Duration::from_secs(16 * 60);
        let body = b"{}";
        let headers = signed_request(body, then);
        let err = check(&headers, body, SECRET, SystemTime::now()).unwrap_err();
        assert_eq!(err.code, "RequestTimeTooSkewed");
        let future = SystemTime::now() + Duration::from_secs(16 * 60);
        let headers = signed_request(body, future);
        let err = check(&headers, body, SECRET, SystemTime::now()).unwrap_err();
        assert_eq!(err.code, "RequestTimeTooSkewed");
        // Within the window both ways.
        let near = SystemTime::now() - Duration::from_secs(14 * 60);
        check(&signed_request(body, near), body, SECRET, SystemTime::now()).unwrap();
    }

    #[test]
    fn malformed_authorization_headers_are_incomplete_signatures() {
        for text in [
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/kms/aws4_request",
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/kms/other, SignedHeaders=host, Signature=00",
            "Basic dXNlcjpwYXNz",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert("authorization", text.parse().unwrap());
            let err = Authorization::from_headers(&headers).unwrap().unwrap_err();
            assert_eq!(err.code, "IncompleteSignature", "{text}");
        }
    }
}
