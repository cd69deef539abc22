//! Typed service errors. Each carries the AWS error code a script would see from the real service,
//! so the CLI can print `{"Error":{"Code","Message"}}` and pick the AWS CLI's exit code, and the
//! console can show a message that says what to do.

use std::fmt;

/// AWS-style error codes. The names are the ones the AWS services use, so scripts match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    AccessDenied,
    NoSuchBucket,
    NoSuchKey,
    BucketAlreadyExists,
    BucketNotEmpty,
    InvalidBucketName,
    InvalidArgument,
    NoSuchBucketPolicy,
    ServerSideEncryptionConfigurationNotFoundError,
    NotFoundException,
    AlreadyExistsException,
    DisabledException,
    KMSInvalidStateException,
    InvalidCiphertextException,
    MalformedPolicyDocumentException,
    UnsupportedOperationException,
    ValidationException,
    /// Lake Formation's "the request is wrong" (a bad grant, row filter or tag).
    InvalidInputException,
    /// Athena's "the query is wrong or not allowed".
    InvalidRequestException,
    EntityNotFoundException,
    UnrecognizedClientException,
    AuditIntegrityException,
    /// The lake directory is missing, not a lake, or its passphrase is wrong.
    LakeConfiguration,
    Cancelled,
    /// A local file could not be read or written.
    LocalIo,
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::AccessDenied => "AccessDenied",
            Code::NoSuchBucket => "NoSuchBucket",
            Code::NoSuchKey => "NoSuchKey",
            Code::BucketAlreadyExists => "BucketAlreadyExists",
            Code::BucketNotEmpty => "BucketNotEmpty",
            Code::InvalidBucketName => "InvalidBucketName",
            Code::InvalidArgument => "InvalidArgument",
            Code::NoSuchBucketPolicy => "NoSuchBucketPolicy",
            Code::ServerSideEncryptionConfigurationNotFoundError => {
                "ServerSideEncryptionConfigurationNotFoundError"
            }
            Code::NotFoundException => "NotFoundException",
            Code::AlreadyExistsException => "AlreadyExistsException",
            Code::DisabledException => "DisabledException",
            Code::KMSInvalidStateException => "KMSInvalidStateException",
            Code::InvalidCiphertextException => "InvalidCiphertextException",
            Code::MalformedPolicyDocumentException => "MalformedPolicyDocumentException",
            Code::UnsupportedOperationException => "UnsupportedOperationException",
            Code::ValidationException => "ValidationException",
            Code::InvalidInputException => "InvalidInputException",
            Code::InvalidRequestException => "InvalidRequestException",
            Code::EntityNotFoundException => "EntityNotFoundException",
            Code::UnrecognizedClientException => "UnrecognizedClientException",
            Code::AuditIntegrityException => "AuditIntegrityException",
            Code::LakeConfiguration => "LakeConfigurationError",
            Code::Cancelled => "Cancelled",
            Code::LocalIo => "LocalIoError",
            Code::Internal => "InternalError",
        }
    }

    /// The code named `name`, for errors that travel as text (a failed query's reason).
    pub fn parse(name: &str) -> Option<Code> {
        use Code::*;
        [
            AccessDenied,
            NoSuchBucket,
            NoSuchKey,
            BucketAlreadyExists,
            BucketNotEmpty,
            InvalidBucketName,
            InvalidArgument,
            NoSuchBucketPolicy,
            ServerSideEncryptionConfigurationNotFoundError,
            NotFoundException,
            AlreadyExistsException,
            DisabledException,
            KMSInvalidStateException,
            InvalidCiphertextException,
            MalformedPolicyDocumentException,
            UnsupportedOperationException,
            ValidationException,
            InvalidInputException,
            InvalidRequestException,
            EntityNotFoundException,
            UnrecognizedClientException,
            AuditIntegrityException,
            LakeConfiguration,
            Cancelled,
            LocalIo,
            Internal,
        ]
        .into_iter()
        .find(|c| c.as_str() == name)
    }

    /// The AWS CLI v2 exit code for this error: 253 configuration, 254 the service refused,
    /// 255 anything else.
    pub fn exit_code(self) -> i32 {
        match self {
            Code::LakeConfiguration | Code::UnrecognizedClientException => 253,
            Code::LocalIo | Code::Internal | Code::Cancelled => 255,
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
#[error("{code}: {message}")]
pub struct ServiceError {
    pub code: Code,
    pub message: String,
}

impl ServiceError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
        }
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
