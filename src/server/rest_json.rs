//! restJson1 (Lake Formation, Macie2): each operation is a method and a path, its members in a
//! JSON body, path labels and the query string. This module routes by service and holds what
//! both services' modules share: reading a body into a typed request, and answering in JSON.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::dispatch::{ApiRequest, Router};
use super::errors::{Protocol, bad_request};
use super::json_protocol::coded;
use super::paging::{Page, Paging};
use crate::service::{Code, Result, ServiceError};

pub async fn handle(router: &Router, request: ApiRequest) -> Response<s3s::Body> {
    match request.service.as_str() {
        "lakeformation" => super::lakeformation::handle(router, &request).await,
        "macie2" => super::macie::handle(router, &request).await,
        other => bad_request(
            Protocol::RestJson,
            "UnknownServiceException",
            &format!("the lake server does not serve {other}"),
        ),
    }
}

/// The request's JSON body as `T` (an empty body is `{}`); a body of the wrong shape is
/// refused with the service's validation code, naming what serde could not read.
pub fn body<T: DeserializeOwned>(request: &ApiRequest, invalid: Code) -> Result<T> {
    let text: &[u8] = if request.body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &request.body
    };
    serde_json::from_slice(text).map_err(|e| {
        ServiceError::new(
            invalid,
            format!("the request body is not valid for this operation: {e}"),
        )
    })
}

/// A 200 answer with `value` as its JSON body.
pub fn json(value: &serde_json::Value) -> Response<s3s::Body> {
    let mut response = Response::new(s3s::Body::from(Bytes::from(value.to_string())));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An operation the router does not know, by method and path.
pub fn no_such_operation(service: &str, request: &ApiRequest) -> Response<s3s::Body> {
    let mut response = bad_request(
        Protocol::RestJson,
        "UnknownOperationException",
        &format!(
            "{service} has no operation at {} {} on the lake server",
            request.method, request.path
        ),
    );
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// Serializes a service-layer value (which already has AWS's member names) into JSON.
pub fn to_value<T: serde::Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| {
        ServiceError::new(
            Code::Internal,
            format!("an answer could not be serialized: {e}"),
        )
    })
}

/// The page of `items` a request asks for: its size and token are body members (Lake
/// Formation's `MaxResults`/`NextToken`, Macie's `maxResults`/`nextToken`), or query parameters
/// for Macie's GET lists. `id` names an item uniquely within the list.
pub fn page<T>(
    request: &ApiRequest,
    paging: Paging,
    items: Vec<T>,
    id: impl Fn(&T) -> &str,
) -> Result<Page<T>> {
    let (limit_name, token_name) = paging.members.names();
    let members: serde_json::Value = if request.body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&request.body).map_err(|e| {
            coded(
                "SerializationException",
                format!("the request body is not JSON: {e}"),
            )
        })?
    };
    let query: Vec<(String, String)> = request
        .query
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let from_query = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let size = match (&members[limit_name], from_query(limit_name)) {
        (serde_json::Value::Null, None) => None,
        (serde_json::Value::Null, Some(text)) => Some(text.parse::<u64>().ok()),
        (value, _) => Some(value.as_u64()),
    };
    let size = match size {
        None => None,
        Some(Some(n)) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        Some(None) => {
            return Err(coded(
                "SerializationException",
                format!("{limit_name} is not a whole number"),
            ));
        }
    };
    let token = match &members[token_name] {
        serde_json::Value::String(t) => Some(t.as_str()),
        serde_json::Value::Null => from_query(token_name),
        _ => {
            return Err(coded(
                "SerializationException",
                format!("{token_name} is not text"),
            ));
        }
    }
    .filter(|t| !t.is_empty());
    paging.page(items, id, size, token)
}

/// `value` with the page's `NextToken` (or `nextToken`) when there is more.
pub fn with_token(
    mut value: serde_json::Value,
    paging: Paging,
    next: Option<String>,
) -> serde_json::Value {
    if let Some(token) = next {
        value[paging.members.names().1] = serde_json::Value::String(token);
    }
    value
}
