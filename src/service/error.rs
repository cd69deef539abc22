//! Typed service errors. Each carries the AWS error code a script would see from the real service,
//! so the CLI can print `{"Error":{"Code","Message"}}` and pick the AWS CLI's exit code, and the
//! console can show a message that says what to do.

use std::fmt;

/// Declares the codes once: the enum, the name each travels as, and the list `parse` reads.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// AWS-style error codes. The names are the ones the AWS services use, so scripts match
        /// on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            const ALL: &[Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }
        }
    };
}

codes! {
    AccessDenied => "AccessDenied",
    NoSuchBucket => "NoSuchBucket",
    NoSuchKey => "NoSuchKey",
    BucketAlreadyExists => "BucketAlreadyExists",
    BucketNotEmpty => "BucketNotEmpty",
    InvalidBucketName => "InvalidBucketName",
    InvalidArgument => "InvalidArgument",
    /// The command line itself is wrong (the AWS CLI's parameter validation), exit 252.
    ParamValidation => "ParamValidation",
    NoSuchBucketPolicy => "NoSuchBucketPolicy",
    /// Multipart uploads: no such upload (never created, completed or aborted).
    NoSuchUpload => "NoSuchUpload",
    /// A completion names a part that was not uploaded, or with another ETag.
    InvalidPart => "InvalidPart",
    /// A completion's part list is not in ascending order of part number.
    InvalidPartOrder => "InvalidPartOrder",
    /// A part other than the last is under 5 MiB.
    EntityTooSmall => "EntityTooSmall",
    ServerSideEncryptionConfigurationNotFoundError => "ServerSideEncryptionConfigurationNotFoundError",
    NotFoundException => "NotFoundException",
    AlreadyExistsException => "AlreadyExistsException",
    DisabledException => "DisabledException",
    KMSInvalidStateException => "KMSInvalidStateException",
    InvalidCiphertextException => "InvalidCiphertextException",
    MalformedPolicyDocumentException => "MalformedPolicyDocumentException",
    UnsupportedOperationException => "UnsupportedOperationException",
    ValidationException => "ValidationException",
    /// Lake Formation's "the request is wrong" (a bad grant, row filter or tag).
    InvalidInputException => "InvalidInputException",
    /// Athena's "the query is wrong or not allowed".
    InvalidRequestException => "InvalidRequestException",
    EntityNotFoundException => "EntityNotFoundException",
    /// EventBridge: an event pattern (or the event tested against it) is not valid.
    InvalidEventPatternException => "InvalidEventPatternException",
    /// Firehose: a parameter is not valid.
    InvalidArgumentException => "InvalidArgumentException",
    /// Firehose: a delivery stream of that name exists.
    ResourceInUseException => "ResourceInUseException",
    /// Secrets Manager's "no such secret" (or version, or stage).
    ResourceNotFoundException => "ResourceNotFoundException",
    /// Secrets Manager's "a secret of that name exists (perhaps scheduled for deletion)".
    ResourceExistsException => "ResourceExistsException",
    /// Secrets Manager's "a parameter's value is not valid".
    InvalidParameterException => "InvalidParameterException",
    /// Glue: a crawler is already crawling (start) / is not crawling (stop).
    CrawlerRunningException => "CrawlerRunningException",
    ResourceNotFoundFault => "ResourceNotFoundFault",
    ResourceAlreadyExistsFault => "ResourceAlreadyExistsFault",
    InvalidResourceStateFault => "InvalidResourceStateFault",
    InvalidParameterValueException => "InvalidParameterValueException",
    AccessDeniedFault => "AccessDeniedFault",
    KMSKeyNotAccessibleFault => "KMSKeyNotAccessibleFault",
    CrawlerNotRunningException => "CrawlerNotRunningException",
    /// Glue: a workflow already runs as many runs as its MaxConcurrentRuns allows.
    ConcurrentRunsExceededException => "ConcurrentRunsExceededException",
    /// Glue: a workflow run is not in a state that allows the call (stopping one that ended).
    IllegalWorkflowStateException => "IllegalWorkflowStateException",
    /// IAM's "that name is taken" (user names compare case-insensitively).
    EntityAlreadyExists => "EntityAlreadyExists",
    /// IAM's "no such user, policy or attachment".
    NoSuchEntity => "NoSuchEntity",
    /// IAM's "the user still has what must go first" (access keys, policies).
    DeleteConflict => "DeleteConflict",
    /// IAM's "this policy document is not valid".
    MalformedPolicyDocument => "MalformedPolicyDocument",
    UnrecognizedClientException => "UnrecognizedClientException",
    /// Signature V4: the access key id is not known.
    InvalidAccessKeyId => "InvalidAccessKeyId",
    /// Signature V4: the signature does not match the one the secret makes.
    SignatureDoesNotMatch => "SignatureDoesNotMatch",
    /// Signature V4: the request's time is too far from the server's.
    RequestTimeTooSkewed => "RequestTimeTooSkewed",
    /// Signature V4: the request is not signed at all.
    MissingAuthenticationToken => "MissingAuthenticationToken",
    /// IAM's "a quota was reached" (two access keys per user), under IAM's name.
    IamLimitExceeded => "LimitExceeded",
    AuditIntegrityException => "AuditIntegrityException",
    /// The lake directory is missing, not a lake, or its passphrase is wrong.
    LakeConfiguration => "LakeConfigurationError",
    Cancelled => "Cancelled",
    /// A limit was reached: a decoder's budget (record length, expansion, bytes, memory) or a
    /// query's (memory, time, bytes scanned).
    LimitExceeded => "LimitExceededException",
    /// An AWS error with no counterpart above; the AWS name travels in `aws_code`.
    AwsService => "ServiceException",
    /// The AWS endpoint could not be reached or answered with something that is not AWS.
    EndpointConnection => "EndpointConnectionError",
    /// A local file could not be read or written.
    LocalIo => "LocalIoError",
    Internal => "InternalError",
}

impl Code {
    /// The code named `name`, for errors that travel as text (a failed query's reason).
    pub fn parse(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// The AWS CLI v2 exit code for this error: 253 configuration, 254 the service refused,
    /// 255 anything else.
    pub fn exit_code(self) -> i32 {
        match self {
            Code::ParamValidation => 252,
            // Who the caller is could not be established: its credentials are the problem.
            Code::LakeConfiguration
            | Code::UnrecognizedClientException
            | Code::InvalidAccessKeyId
            | Code::SignatureDoesNotMatch
            | Code::RequestTimeTooSkewed
            | Code::MissingAuthenticationToken => 253,
            Code::LocalIo | Code::Internal | Code::Cancelled | Code::EndpointConnection => 255,
            _ => 254,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", self.code_name())]
pub struct ServiceError {
    pub code: Code,
    pub message: String,
    /// The error code exactly as AWS sent it (`AccessDeniedException`, `NoSuchEntity`), when it
    /// came from AWS: scripts see AWS's name, while `code` says what kind of failure it is.
    pub aws_code: Option<String>,
}

impl ServiceError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
            aws_code: None,
        }
    }

    /// The name scripts and the console see: AWS's own when the error came from AWS.
    pub fn code_name(&self) -> &str {
        self.aws_code.as_deref().unwrap_or(self.code.as_str())
    }

    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(Code::AccessDenied, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::ValidationException, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::Internal, message)
    }

    pub fn local_io(what: &str, err: &std::io::Error) -> Self {
        Self::new(Code::LocalIo, format!("{what}: {err}"))
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
