//! The AWS backend: the service traits on the official AWS SDK for Rust. One `SdkConfig` (the
//! aws-config default chain, narrowed by `--profile`, `--region`, `--endpoint-url`) feeds every
//! client, so all services speak as one identity in one region. Switching profile or region
//! builds a new `Aws`; nothing here touches the process environment.
//!
//! On AWS the acting principal is whoever the credentials are: AWS enforces every permission,
//! and lakectl cannot act as someone else without their credentials. `--as` is therefore held to
//! the caller (`admin`, the default, means "the credentials"); another persona is another
//! profile.

mod athena;
mod audit;
mod crawls;
mod dms;
mod events;
mod explain;
mod glue;
mod iam;
mod in_lakectl;
mod job_store;
mod jobs;
mod kms;
mod lakeformation;
mod lf_shapes;
mod macie;
mod masking;
mod multipart;
mod s3;
mod secrets;
mod workflows;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};

use crate::service::{BackendInfo, Code, Connect, Principal, Result, ServiceError, Services};

/// Where to connect: each `None` falls back to the default chain (env, profile, SSO, IMDS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// A different endpoint for every service (moto, LocalStack); S3 is then path-style.
    pub endpoint_url: Option<String>,
}

/// Who the credentials are, as STS says.
#[derive(Debug, Clone)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    /// The last part of the ARN: a user name, or `role/session` for an assumed role.
    pub name: String,
}

/// One client per service, all from one `SdkConfig`.
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub kms: aws_sdk_kms::Client,
    pub glue: aws_sdk_glue::Client,
    pub lakeformation: aws_sdk_lakeformation::Client,
    pub athena: aws_sdk_athena::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub macie: aws_sdk_macie2::Client,
    pub iam: aws_sdk_iam::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub dms: aws_sdk_databasemigration::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
}

impl Clients {
    /// `path_style` for endpoints that are not AWS (moto, LocalStack), where bucket names do not
    /// resolve as host names.
    pub fn new(sdk: &SdkConfig, path_style: bool) -> Clients {
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            kms: aws_sdk_kms::Client::new(sdk),
            glue: aws_sdk_glue::Client::new(sdk),
            lakeformation: aws_sdk_lakeformation::Client::new(sdk),
            athena: aws_sdk_athena::Client::new(sdk),
            cloudtrail: aws_sdk_cloudtrail::Client::new(sdk),
            macie: aws_sdk_macie2::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            dms: aws_sdk_databasemigration::Client::new(sdk),
            eventbridge: aws_sdk_eventbridge::Client::new(sdk),
        }
    }
}

pub struct Aws {
    connection: Connection,
    /// Kept so that a change of region keeps the credentials already resolved.
    sdk: Option<SdkConfig>,
    region: String,
    identity: Identity,
    s3: aws_sdk_s3::Client,
    kms: aws_sdk_kms::Client,
    glue: aws_sdk_glue::Client,
    lakeformation: aws_sdk_lakeformation::Client,
    athena: aws_sdk_athena::Client,
    cloudtrail: aws_sdk_cloudtrail::Client,
    macie: aws_sdk_macie2::Client,
    iam: aws_sdk_iam::Client,
    secrets: aws_sdk_secretsmanager::Client,
    dms: aws_sdk_databasemigration::Client,
    eventbridge: aws_sdk_eventbridge::Client,
    /// Jobs this process is running itself (`--in-lakectl`).
    running: in_lakectl::Running,
}

/// Connect timeouts are short so a wrong endpoint fails at once; an attempt may take a minute
/// (an S3 part of 8 MiB on a slow link); the SDK's standard mode retries throttling and 5xx.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(60))
        .operation_attempt_timeout(Duration::from_secs(90))
        .build()
}

/// Loads the SDK configuration, then asks STS who the credentials are: no region, no
/// credentials or a refused identity fail here, before anything else is tried.
pub async fn connect(connection: Connection) -> Result<Arc<Aws>> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard().with_max_attempts(4));
    if let Some(profile) = &connection.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &connection.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &connection.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    Aws::from_config(connection, &sdk).await
}

fn config_error(message: impl Into<String>) -> ServiceError {
    ServiceError::new(Code::LakeConfiguration, message)
}

impl Aws {
    /// The clients over `sdk`, once STS has said who the credentials are.
    pub async fn from_config(connection: Connection, sdk: &SdkConfig) -> Result<Arc<Aws>> {
        let Some(region) = sdk.region().map(|r| r.to_string()) else {
            return Err(config_error(
                "no AWS region: pass --region, set AWS_REGION, or set `region` in the profile",
            ));
        };
        // Which profile was asked for, so a misspelt one is named in the refusal.
        let for_profile = connection
            .profile
            .as_deref()
            .map(|p| format!(" for profile {p:?}"))
            .unwrap_or_default();
        if sdk.credentials_provider().is_none() {
            return Err(config_error(format!(
                "no AWS credentials{for_profile}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile",
            )));
        }
        let who = aws_sdk_sts::Client::new(sdk)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                let err = aws_error("sts:GetCallerIdentity", e);
                if err.code == Code::EndpointConnection
                    && err.message.contains("credentials")
                {
                    config_error(format!(
                        "no usable AWS credentials{for_profile} ({}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run `aws sso login`, or pass --profile",
                        err.message
                    ))
                } else {
                    err
                }
            })?;
        let arn = who.arn().unwrap_or_default().to_string();
        let identity = Identity {
            account: who.account().unwrap_or_default().to_string(),
            name: arn
                .split_once('/')
                .map(|(_, rest)| rest.to_string())
                .unwrap_or_else(|| arn.clone()),
            arn,
        };
        let clients = Clients::new(sdk, connection.endpoint_url.is_some());
        let mut aws = Aws::new(connection, region, identity, clients);
        aws.sdk = Some(sdk.clone());
        Ok(Arc::new(aws))
    }

    /// The backend over clients made elsewhere: tests put `aws-smithy-mocks` clients where
    /// moto has no service.
    pub fn from_clients(
        connection: Connection,
        region: String,
        identity: Identity,
        clients: Clients,
    ) -> Arc<Aws> {
        Arc::new(Aws::new(connection, region, identity, clients))
    }

    fn new(connection: Connection, region: String, identity: Identity, clients: Clients) -> Aws {
        Aws {
            connection,
            sdk: None,
            region,
            identity,
            s3: clients.s3,
            kms: clients.kms,
            glue: clients.glue,
            lakeformation: clients.lakeformation,
            athena: clients.athena,
            cloudtrail: clients.cloudtrail,
            macie: clients.macie,
            iam: clients.iam,
            secrets: clients.secrets,
            dms: clients.dms,
            eventbridge: clients.eventbridge,
            running: Default::default(),
        }
    }

    pub fn services(self: &Arc<Self>) -> Services {
        let mut location = format!("{} · {}", self.region, self.identity.arn);
        if let Some(profile) = &self.connection.profile {
            location = format!("{profile} · {location}");
        }
        if let Some(url) = &self.connection.endpoint_url {
            location.push_str(&format!(" · {url}"));
        }
        Services {
            backend: BackendInfo {
                kind: "aws",
                location,
                account: self.identity.account.clone(),
                poll_interval: Duration::from_secs(2),
            },
            iam: self.clone(),
            keys: self.clone(),
            storage: self.clone(),
            audit: self.clone(),
            catalog: self.clone(),
            jobs: self.clone(),
            workflows: self.clone(),
            classification: self.clone(),
            access: self.clone(),
            query: self.clone(),
            secrets: self.clone(),
            dms: Some(self.clone()),
            events: self.clone(),
            connect: Some(self.clone()),
        }
    }

    /// Holds `--as` to the credentials' identity (see the module comment).
    fn acting(&self, by: &Principal) -> Result<()> {
        let name = by.name();
        if name == "admin" || name == self.identity.name || name == self.identity.arn {
            return Ok(());
        }
        Err(ServiceError::denied(format!(
            "on AWS lakectl acts as its credentials ({}), and cannot act as {name:?}; use a profile with {name}'s credentials (--profile, or :profile in the console)",
            self.identity.arn
        )))
    }

    /// The ARN a policy or grant names for a principal given by name.
    fn principal_arn_of(&self, name: &str) -> String {
        if name.starts_with("arn:") {
            name.to_string()
        } else {
            format!("arn:aws:iam::{}:user/{name}", self.identity.account)
        }
    }

    /// The ARN Glue needs for a job's or crawler's role given by name.
    fn role_arn_of(&self, name: &str) -> String {
        if name.starts_with("arn:") {
            name.to_string()
        } else {
            format!("arn:aws:iam::{}:role/{name}", self.identity.account)
        }
    }
}

#[async_trait]
impl Connect for Aws {
    /// A new profile is a new identity, found through the default chain again; a new region
    /// keeps the credentials at hand.
    async fn switch(&self, profile: Option<String>, region: Option<String>) -> Result<Services> {
        let mut connection = self.connection.clone();
        if region.is_some() {
            connection.region = region.clone();
        }
        match (profile, region, &self.sdk) {
            (None, Some(region), Some(sdk)) => {
                let sdk = sdk.to_builder().region(Region::new(region)).build();
                Ok(Aws::from_config(connection, &sdk).await?.services())
            }
            (profile, _, _) => {
                if profile.is_some() {
                    connection.profile = profile;
                }
                Ok(connect(connection).await?.services())
            }
        }
    }
}

/// An SDK error as a service error: AWS's code kept as sent, and classified so that exit codes
/// and the console treat it like the local backend's. An error without a code (S3 answers HEAD
/// and some refusals with a bare status) is named by its status.
pub(crate) fn aws_error<E>(
    operation: &str,
    err: aws_sdk_sts::error::SdkError<E, aws_sdk_sts::config::http::HttpResponse>,
) -> ServiceError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_sts::error::SdkError;
    match &err {
        SdkError::ServiceError(ctx) if ctx.raw().status().is_success() => ServiceError::new(
            Code::EndpointConnection,
            format!(
                "the answer to {operation} is not what AWS sends ({}); is --endpoint-url an AWS endpoint?",
                causes(&err)
            ),
        ),
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let aws_code = match err.code() {
                Some(code) => code.to_string(),
                None => match status {
                    403 => "AccessDenied".to_string(),
                    404 => "NotFound".to_string(),
                    other => format!("Http{other}"),
                },
            };
            let message = err
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{operation} failed with HTTP status {status}"));
            ServiceError {
                code: classify(&aws_code),
                message,
                aws_code: Some(aws_code),
            }
        }
        _ => ServiceError::new(
            Code::EndpointConnection,
            format!("{operation}: {}", causes(&err)),
        ),
    }
}

/// An error and its causes, each said once: `dispatch failure: io error: tcp connect error:
/// Connection refused (os error 111)`.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !said.iter().any(|s| s.contains(&text)) {
            said.push(text);
        }
        next = e.source();
    }
    said.join(": ")
}

/// What kind of failure an AWS error code is.
fn classify(aws_code: &str) -> Code {
    match aws_code {
        "AccessDeniedException" | "Forbidden" | "AuthorizationErrorException" => Code::AccessDenied,
        // (InvalidAccessKeyId and SignatureDoesNotMatch are codes of their own, parsed above.)
        "InvalidClientTokenId" | "ExpiredToken" | "ExpiredTokenException" => {
            Code::UnrecognizedClientException
        }
        "ResourceNotFoundException" | "NotFound" => Code::NotFoundException,
        "BucketAlreadyOwnedByYou" | "ResourceAlreadyExistsException" | "ConflictException" => {
            Code::AlreadyExistsException
        }
        "InvalidParameterValue" | "InvalidParameterException" | "InvalidRequest" => {
            Code::ValidationException
        }
        // After the names above, so that codes the local lake also uses under a Secrets Manager
        // name (ResourceNotFoundException) keep the kind other services' scripts expect.
        _ => Code::parse(aws_code).unwrap_or(Code::AwsService),
    }
}

/// The SDK's timestamp as the service layer's.
pub(crate) fn time(t: Option<&aws_smithy_types::DateTime>) -> DateTime<Utc> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or_default()
}

pub(crate) fn opt_time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

/// A request the SDK refused to build (a required field missing): a bug here, said plainly.
pub(crate) fn build_error(what: &str, err: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(format!("cannot build the {what} request: {err}"))
}

/// What the AWS backend does not do, in one place: the error says where to go instead.
pub(crate) fn unsupported(what: &str, instead: &str) -> ServiceError {
    ServiceError::new(
        Code::UnsupportedOperationException,
        format!("{what} is not available on the AWS backend: {instead}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_codes_are_classified() {
        assert_eq!(classify("AccessDeniedException"), Code::AccessDenied);
        assert_eq!(classify("NoSuchBucket"), Code::NoSuchBucket);
        assert_eq!(
            classify("EntityNotFoundException"),
            Code::EntityNotFoundException
        );
        // IAM's own codes are kept as such (the local lake answers with them too).
        assert_eq!(classify("NoSuchEntity"), Code::NoSuchEntity);
        assert_eq!(classify("EntityAlreadyExists"), Code::EntityAlreadyExists);
        assert_eq!(classify("ThrottlingException"), Code::AwsService);
        assert_eq!(
            classify("ExpiredToken").exit_code(),
            Code::LakeConfiguration.exit_code()
        );
    }
}
