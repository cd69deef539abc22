//! Errors as each wire protocol spells them. A client's SDK finds the error code where its
//! protocol puts it (a JSON `__type`, an XML `<Code>`, the `x-amzn-ErrorType` header) and raises
//! the exception it names, so a refusal reads on the client as it would from AWS.

use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};

use crate::service::{Code, ServiceError};

/// The wire protocols the server speaks besides S3 (s3s renders S3's errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1.1 (KMS, Glue, Athena): POST / with `X-Amz-Target`.
    Json,
    /// restJson1 (Lake Formation, Macie2): operations by path.
    RestJson,
    /// The query protocol (IAM, STS): form-encoded POST, XML answers.
    Query,
    /// S3's REST-XML, for the few refusals made before s3s sees the request.
    S3,
}

/// A request that was not authenticated, in the terms each protocol uses.
#[derive(Debug, Clone)]
pub struct AuthError {
    pub code: &'static str,
    pub message: String,
}

impl AuthError {
    pub fn incomplete(message: &str) -> Self {
        AuthError {
            code: "IncompleteSignature",
            message: message.to_string(),
        }
    }
    pub fn signature_mismatch() -> Self {
        AuthError {
            code: "SignatureDoesNotMatch",
            message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.".into(),
        }
    }
    pub fn skewed(signed_at: SystemTime, now: SystemTime) -> Self {
        let at = chrono::DateTime::<chrono::Utc>::from(signed_at);
        let now = chrono::DateTime::<chrono::Utc>::from(now);
        AuthError {
            code: "RequestTimeTooSkewed",
            message: format!(
                "Signature expired: {} is not within 15 minutes of the server's time {}",
                at.format("%Y%m%dT%H%M%SZ"),
                now.format("%Y%m%dT%H%M%SZ")
            ),
        }
    }
    pub fn unrecognized(message: &str) -> Self {
        AuthError {
            code: "UnrecognizedClientException",
            message: message.to_string(),
        }
    }
    /// An access key the lake does not know, or one made inactive: the same answer for both,
    /// so a caller cannot tell which ids exist.
    pub fn unknown_key() -> Self {
        Self::unrecognized("The security token included in the request is invalid.")
    }
    pub fn version_2() -> Self {
        AuthError {
            code: "AccessDenied",
            message: "Signature Version 2 is not accepted: sign requests with Signature Version 4 (AWS4-HMAC-SHA256)".into(),
        }
    }
    pub fn missing() -> Self {
        AuthError {
            code: "MissingAuthenticationToken",
            message: "Request is missing Authentication Token".into(),
        }
    }

    /// The code and status under `protocol`: the JSON services add `Exception`, IAM and STS
    /// say `InvalidClientTokenId` for an unknown key.
    fn wire(&self, protocol: Protocol) -> (String, StatusCode) {
        let code = match (self.code, protocol) {
            ("UnrecognizedClientException", Protocol::Query) => "InvalidClientTokenId".to_string(),
            ("MissingAuthenticationToken", Protocol::Json | Protocol::RestJson) => {
                "MissingAuthenticationTokenException".to_string()
            }
            (code, _) => code.to_string(),
        };
        let status = match self.code {
            "IncompleteSignature" | "UnrecognizedClientException" if protocol == Protocol::Json => {
                StatusCode::BAD_REQUEST
            }
            "IncompleteSignature" if protocol != Protocol::S3 => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        };
        (code, status)
    }

    pub fn response(&self, protocol: Protocol) -> Response<s3s::Body> {
        let (code, status) = self.wire(protocol);
        render(protocol, status, &code, &self.message)
    }
}

/// A service error under `protocol`.
pub fn service_error(protocol: Protocol, err: &ServiceError) -> Response<s3s::Body> {
    let json = matches!(protocol, Protocol::Json | Protocol::RestJson);
    let code = match err.code {
        Code::AccessDenied if json => "AccessDeniedException".to_string(),
        Code::Internal | Code::LocalIo => "InternalFailure".to_string(),
        _ => err.code_name().to_string(),
    };
    let status = match err.code {
        Code::Internal | Code::LocalIo | Code::AwsService => StatusCode::INTERNAL_SERVER_ERROR,
        Code::AccessDenied if protocol != Protocol::Json => StatusCode::FORBIDDEN,
        Code::NoSuchEntity | Code::NotFoundException if protocol != Protocol::Json => {
            StatusCode::NOT_FOUND
        }
        Code::EntityAlreadyExists | Code::AlreadyExistsException
            if protocol == Protocol::RestJson =>
        {
            StatusCode::CONFLICT
        }
        Code::DeleteConflict => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    // A store or I/O failure's message may name server paths: the client learns only that it
    // failed; the server's log has the rest.
    let message = match err.code {
        Code::Internal | Code::LocalIo => {
            tracing::error!(error = %err, "request failed inside the server");
            "We encountered an internal error. Please try again.".to_string()
        }
        _ => err.message.clone(),
    };
    render(protocol, status, &code, &message)
}

/// A request the server does not understand (no such operation, malformed body).
pub fn bad_request(protocol: Protocol, code: &str, message: &str) -> Response<s3s::Body> {
    render(protocol, StatusCode::BAD_REQUEST, code, message)
}

fn render(
    protocol: Protocol,
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response<s3s::Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (content_type, body) = match protocol {
        Protocol::Json | Protocol::RestJson => (
            if protocol == Protocol::Json {
                "application/x-amz-json-1.1"
            } else {
                "application/json"
            },
            serde_json::json!({"__type": code, "message": message, "Message": message}).to_string(),
        ),
        Protocol::S3 => (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code><Message>{}</Message><RequestId>{request_id}</RequestId></Error>",
                xml_escape(code),
                xml_escape(message)
            ),
        ),
        Protocol::Query => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                xml_escape(code),
                xml_escape(message)
            ),
        ),
    };
    let mut response = Response::new(s3s::Body::from(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Ok(v) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-errortype", v);
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}

/// Escapes text for an XML element's content or an attribute.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all become the replacement character.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
