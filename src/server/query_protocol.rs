//! The query protocol (IAM and STS): a form-encoded `Action=…&Version=…` POST answered in XML.
//! STS answers `GetCallerIdentity`, which every SDK and `aws sts get-caller-identity` use to ask
//! who they are; IAM's actions are in `iam.rs`.

use std::collections::HashMap;

use bytes::Bytes;
use http::{HeaderValue, Response};

use super::dispatch::{ApiRequest, Router};
use super::errors::{Protocol, bad_request, service_error, xml_escape};

pub async fn handle(router: &Router, request: ApiRequest) -> Response<s3s::Body> {
    let mut form: HashMap<String, String> =
        form_urlencoded::parse(&request.body).into_owned().collect();
    if let Some(query) = &request.query {
        for (k, v) in form_urlencoded::parse(query.as_bytes()).into_owned() {
            form.entry(k).or_insert(v);
        }
    }
    let action = form.get("Action").cloned().unwrap_or_default();
    match (request.service.as_str(), action.as_str()) {
        ("sts", "GetCallerIdentity") => {
            match router
                .services
                .iam
                .caller_identity(&request.principal)
                .await
            {
                Ok(me) => xml_response(
                    "GetCallerIdentity",
                    "https://sts.amazonaws.com/doc/2011-06-15/",
                    &format!(
                        "<Arn>{}</Arn><UserId>{}</UserId><Account>{}</Account>",
                        xml_escape(&me.arn),
                        xml_escape(&me.user_id),
                        xml_escape(&me.account)
                    ),
                ),
                Err(e) => service_error(Protocol::Query, &e),
            }
        }
        ("iam", action) => super::iam::handle(router, &request, action, &form).await,
        (service, action) => bad_request(
            Protocol::Query,
            "InvalidAction",
            &format!("{service} has no action {action:?} on the lake server"),
        ),
    }
}

/// `<{Action}Response xmlns=…><{Action}Result>{result}</…Result><ResponseMetadata>…`
pub fn xml_response(action: &str, namespace: &str, result: &str) -> Response<s3s::Body> {
    let body = format!(
        "<{action}Response xmlns=\"{namespace}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        uuid::Uuid::new_v4()
    );
    let mut response = Response::new(s3s::Body::from(Bytes::from(body)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    response
}
