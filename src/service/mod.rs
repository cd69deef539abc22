//! The service layer: the one API the console and the CLI speak. It knows domain types (Bucket,
//! ObjectInfo, KeyMetadata, ...) and one trait per service; backends (`local`, `aws`)
//! implement the traits and translate. Every call names the acting principal, and every
//! permission check happens behind these traits, never in an interface.

pub mod access;
pub mod audit;
pub mod catalog;
pub mod classification;
pub mod dms;
pub mod error;
pub mod events;
pub mod iam;
pub mod jobs;
pub mod keys;
pub mod multipart;
pub mod policy;
pub mod progress;
pub mod query;
pub mod schedule;
pub mod secrets;
pub mod storage;
pub mod view;
pub mod wait;
pub mod workflows;

use std::sync::Arc;

pub use error::{Code, Result, ServiceError};
pub use progress::Progress;

/// Who is acting. On the local lake this is a principal name (`admin`, `analyst`); backends map
/// it to their own identities (an IAM ARN on AWS). A principal the lake server authenticated
/// also carries where the request came from, which the audit log records.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    name: String,
    origin: Option<std::sync::Arc<Origin>>,
}

/// How an authenticated request reached the lake server: CloudTrail's `userIdentity.accessKeyId`
/// and `sourceIPAddress`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub access_key_id: String,
    pub source_ip: std::net::IpAddr,
}

impl Principal {
    pub fn new(name: impl Into<String>) -> Self {
        Principal {
            name: name.into(),
            origin: None,
        }
    }
    /// A principal authenticated by the lake server with `origin`'s access key.
    pub fn authenticated(name: impl Into<String>, origin: Origin) -> Self {
        Principal {
            name: name.into(),
            origin: Some(std::sync::Arc::new(origin)),
        }
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_deref()
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// What the status bar says about where the services run.
#[derive(Debug, Clone)]
pub struct BackendInfo {
    pub kind: &'static str,
    pub location: String,
    /// The account ARNs name (`$ACCOUNT` in scripts).
    pub account: String,
    /// How often `--wait` and the console ask whether a run or query has finished: often on
    /// the local lake, seldom enough on AWS to stay clear of API throttling.
    pub poll_interval: std::time::Duration,
}

/// A backend that can reconnect elsewhere: the console's `:profile` and `:region` on AWS. The
/// local lake has nothing to switch.
#[async_trait::async_trait]
pub trait Connect: Send + Sync {
    /// Services for another profile or region (`None` keeps the current one).
    async fn switch(&self, profile: Option<String>, region: Option<String>) -> Result<Services>;
}

/// One handle on every service of one backend; cheap to clone into tasks. The access and query
/// traits join it as a backend serves them.
#[derive(Clone)]
pub struct Services {
    pub backend: BackendInfo,
    pub iam: Arc<dyn iam::Iam>,
    pub keys: Arc<dyn keys::Keys>,
    pub storage: Arc<dyn storage::Storage>,
    pub audit: Arc<dyn audit::Audit>,
    pub catalog: Arc<dyn catalog::Catalog>,
    pub jobs: Arc<dyn jobs::Jobs>,
    pub workflows: Arc<dyn workflows::Workflows>,
    pub classification: Arc<dyn classification::Classification>,
    pub access: Arc<dyn access::Access>,
    pub query: Arc<dyn query::Query>,
    pub secrets: Arc<dyn secrets::Secrets>,
    /// DMS; the AWS backend has none yet (lakectl's DMS runs on the local lake).
    pub dms: Option<Arc<dyn dms::Dms>>,
    pub events: Arc<dyn events::Events>,
    pub connect: Option<Arc<dyn Connect>>,
}
