//! Telling the protocols apart. A request's SigV4 credential scope names the service it was
//! signed for: `s3` goes to s3s (which verifies it), everything else is verified here and goes
//! to its protocol's module. A request with no signature is refused, except that S3 answers
//! anonymous requests itself (with AccessDenied: the lake has no public buckets).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::errors::{AuthError, Protocol, bad_request};
use super::identity;
use super::sigv4::{self, Authorization, Received};
use crate::local::Lake;
use crate::service::{Principal, Services};

/// The largest body a request of the JSON and query protocols may carry (S3 bodies stream).
const MAX_API_BODY: usize = 8 * 1024 * 1024;

/// The client's address, for S3 requests (s3s hands request extensions to the operations).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// A non-S3 request once authenticated: who, and what they asked.
pub struct ApiRequest {
    pub principal: Principal,
    pub service: String,
    pub method: http::Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

pub struct Router {
    pub lake: Arc<Lake>,
    pub services: Services,
    s3: s3s::service::S3Service,
}

impl Router {
    pub fn new(lake: Arc<Lake>) -> Router {
        let services = lake.services();
        let s3 = super::s3::service(lake.clone(), services.clone());
        Router { lake, services, s3 }
    }

    pub async fn handle(
        &self,
        mut req: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<s3s::Body> {
        let auth = Authorization::from_headers(req.headers());
        let service = match &auth {
            Some(Ok(a)) => Some(a.service.clone()),
            Some(Err(_)) | None => None,
        };
        if service.as_deref() == Some("s3")
            || (auth.is_none() && !is_signature_v2(&req) && self::is_s3_shaped(&req))
        {
            if auth.is_some()
                && let Err(e) = sigv4::check_time(req.headers(), SystemTime::now())
            {
                return e.response(Protocol::S3);
            }
            req.extensions_mut().insert(Peer(peer));
            return match hyper::service::Service::call(&self.s3, req).await {
                Ok(response) => response,
                Err(e) => {
                    tracing::debug!(error = ?e, "s3 request failed");
                    bad_request(
                        Protocol::RestJson,
                        "InternalFailure",
                        "the request could not be served",
                    )
                }
            };
        }
        if is_signature_v2(&req) {
            return AuthError::version_2().response(Protocol::S3);
        }
        let protocol = protocol_of(service.as_deref(), &req);
        let auth = match auth {
            Some(Ok(a)) => a,
            Some(Err(e)) => return e.response(protocol),
            None => return AuthError::missing().response(protocol),
        };
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_API_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return bad_request(
                    protocol,
                    "SerializationException",
                    "the request body is larger than 8 MiB or ended before its length",
                );
            }
        };
        let owner = match identity::owner(&self.lake, &auth.access_key_id) {
            Ok(owner) => owner,
            Err(e) => return e.response(protocol),
        };
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let received = Received {
            method: parts.method.as_str(),
            path_and_query,
            headers: &parts.headers,
            body: &body,
        };
        if let Err(e) = sigv4::verify(&auth, &received, owner.secret.expose(), SystemTime::now()) {
            return e.response(protocol);
        }
        let request = ApiRequest {
            principal: identity::principal(&owner.user, &auth.access_key_id, peer.ip()),
            service: auth.service.clone(),
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers: parts.headers,
            body,
        };
        drop(owner);
        match request.service.as_str() {
            "sts" | "iam" => super::query_protocol::handle(self, request).await,
            "kms" | "glue" | "athena" | "cloudtrail" | "secretsmanager" => {
                super::json_protocol::handle(self, request).await
            }
            "lakeformation" | "macie2" => super::rest_json::handle(self, request).await,
            other => bad_request(
                protocol,
                "UnknownServiceException",
                &format!("the lake server does not serve {other}"),
            ),
        }
    }
}

/// S3 is the protocol of a request signed for `s3`, presigned (`X-Amz-Credential`), or with no
/// signature and none of the other protocols' marks.
fn is_s3_shaped(req: &Request<Incoming>) -> bool {
    let query = req.uri().query().unwrap_or("");
    if query.contains("X-Amz-Credential=") {
        return true;
    }
    !(req.headers().contains_key("x-amz-target") || is_form_post(req))
}

/// Signature Version 2 (HMAC-SHA1, `Authorization: AWS …` or `AWSAccessKeyId=` in the query),
/// which AWS has retired: s3s would verify it, the lake refuses it.
fn is_signature_v2(req: &Request<Incoming>) -> bool {
    let header = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS "));
    let query = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("AWSAccessKeyId=")));
    header || query
}

fn is_form_post(req: &Request<Incoming>) -> bool {
    req.method() == http::Method::POST
        && req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn protocol_of(service: Option<&str>, req: &Request<Incoming>) -> Protocol {
    match service {
        Some("iam" | "sts") => Protocol::Query,
        Some("lakeformation" | "macie2") => Protocol::RestJson,
        Some(_) => Protocol::Json,
        None if is_form_post(req) => Protocol::Query,
        None if req.headers().contains_key("x-amz-target") => Protocol::Json,
        None => Protocol::RestJson,
    }
}
