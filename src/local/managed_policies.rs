//! AWS managed policies the local lake knows by name and ARN, so `iam attach-user-policy
//! --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess` means what it means on AWS. Each is the
//! real policy document trimmed to the actions lakectl has (statements about services lakectl
//! does not implement are left out; nothing is widened). They ship in the binary, are never
//! stored, and cannot be changed.

use std::sync::LazyLock;

use crate::service::policy::PolicyDocument;
use crate::service::{Code, Result, ServiceError};

/// An AWS managed policy: its name (the last part of its ARN) and its document.
pub struct ManagedPolicy {
    pub name: &'static str,
    pub document: &'static str,
}

const ARN_PREFIX: &str = "arn:aws:iam::aws:policy/";

impl ManagedPolicy {
    pub fn arn(&self) -> String {
        // AWS keeps its service-role policies under a path of their own.
        let path = if self.name == "AWSGlueServiceRole" {
            "service-role/"
        } else {
            ""
        };
        format!("{ARN_PREFIX}{path}{}", self.name)
    }

    /// The document, parsed once per process: every call of a principal that holds it weighs it.
    pub fn parsed(&self) -> &'static PolicyDocument {
        static PARSED: LazyLock<Vec<PolicyDocument>> = LazyLock::new(|| {
            MANAGED
                .iter()
                .map(|p| {
                    PolicyDocument::parse_identity(p.document).expect("managed policies are valid")
                })
                .collect()
        });
        let at = MANAGED
            .iter()
            .position(|p| p.name == self.name)
            .expect("a managed policy is one of MANAGED");
        &PARSED[at]
    }
}

pub const MANAGED: &[ManagedPolicy] = &[
    ManagedPolicy {
        name: "AdministratorAccess",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    },
    ManagedPolicy {
        name: "ReadOnlyAccess",
        document: r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadOnlyActions","Effect":"Allow","Action":[
            "athena:Batch*","athena:Get*","athena:List*",
            "glue:BatchGet*","glue:Get*","glue:List*",
            "iam:Get*","iam:List*",
            "kms:Describe*","kms:Get*","kms:List*",
            "lakeformation:Describe*","lakeformation:Get*","lakeformation:List*","lakeformation:Search*",
            "macie2:Describe*","macie2:Get*","macie2:List*",
            "s3:Describe*","s3:Get*","s3:List*",
            "secretsmanager:DescribeSecret","secretsmanager:GetResourcePolicy","secretsmanager:ListSecrets",
            "secretsmanager:ListSecretVersionIds"],"Resource":"*"}]}"#,
    },
    ManagedPolicy {
        name: "AmazonS3ReadOnlyAccess",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*"],"Resource":"*"}]}"#,
    },
    ManagedPolicy {
        name: "AmazonS3FullAccess",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
    },
    ManagedPolicy {
        name: "AmazonAthenaFullAccess",
        document: r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"BaseAthenaPermissions","Effect":"Allow","Action":["athena:*"],"Resource":"*"},
            {"Sid":"BaseGluePermissions","Effect":"Allow","Action":[
                "glue:CreateDatabase","glue:DeleteDatabase","glue:GetDatabase","glue:GetDatabases",
                "glue:UpdateDatabase","glue:CreateTable","glue:DeleteTable","glue:BatchDeleteTable",
                "glue:UpdateTable","glue:GetTable","glue:GetTables","glue:BatchCreatePartition",
                "glue:CreatePartition","glue:DeletePartition","glue:BatchDeletePartition",
                "glue:UpdatePartition","glue:GetPartition","glue:GetPartitions","glue:BatchGetPartition"],"Resource":"*"},
            {"Sid":"BaseQueryResultsPermissions","Effect":"Allow","Action":[
                "s3:GetBucketLocation","s3:GetObject","s3:ListBucket","s3:ListBucketMultipartUploads",
                "s3:ListMultipartUploadParts","s3:AbortMultipartUpload","s3:CreateBucket","s3:PutObject"],
             "Resource":["arn:aws:s3:::aws-athena-query-results-*"]},
            {"Sid":"AthenaExamplesS3Access","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::athena-examples*"]},
            {"Sid":"S3ListPermissions","Effect":"Allow","Action":["s3:ListBucket","s3:GetBucketLocation","s3:ListAllMyBuckets"],"Resource":["*"]}]}"#,
    },
    ManagedPolicy {
        name: "AWSGlueConsoleFullAccess",
        document: r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["glue:*","s3:GetBucketLocation","s3:ListBucket","s3:ListAllMyBuckets",
                "s3:GetBucketAcl","iam:ListRoles","iam:ListUsers","iam:ListGroups","iam:ListRolePolicies",
                "iam:GetRole","iam:GetRolePolicy","iam:ListAttachedRolePolicies","kms:ListAliases",
                "kms:DescribeKey"],"Resource":["*"]},
            {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::aws-glue-*/*","arn:aws:s3:::*/*aws-glue-*/*","arn:aws:s3:::aws-glue-*"]},
            {"Effect":"Allow","Action":["s3:CreateBucket"],"Resource":["arn:aws:s3:::aws-glue-*"]}]}"#,
    },
    ManagedPolicy {
        name: "AWSGlueServiceRole",
        document: r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["glue:*","s3:GetBucketLocation","s3:ListBucket","s3:ListAllMyBuckets",
                "s3:GetBucketAcl","iam:ListRolePolicies","iam:GetRole","iam:GetRolePolicy"],"Resource":["*"]},
            {"Effect":"Allow","Action":["s3:CreateBucket"],"Resource":["arn:aws:s3:::aws-glue-*"]},
            {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":["arn:aws:s3:::aws-glue-*/*","arn:aws:s3:::*/*aws-glue-*/*"]},
            {"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::crawler-public*","arn:aws:s3:::aws-glue-*"]}]}"#,
    },
    ManagedPolicy {
        name: "AWSLakeFormationDataAdmin",
        document: r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"AWSLakeFormationDataAdminAllow","Effect":"Allow","Action":["lakeformation:*",
                "glue:GetDatabase","glue:GetDatabases","glue:CreateDatabase","glue:UpdateDatabase",
                "glue:DeleteDatabase","glue:GetConnections","glue:SearchTables","glue:GetTable",
                "glue:CreateTable","glue:UpdateTable","glue:DeleteTable","glue:GetTableVersions",
                "glue:GetPartitions","glue:GetTables","s3:ListBucket","s3:GetBucketLocation",
                "s3:ListAllMyBuckets","s3:GetBucketAcl","iam:ListUsers","iam:ListRoles","iam:GetRole",
                "iam:GetRolePolicy"],"Resource":"*"},
            {"Sid":"AWSLakeFormationDataAdminDeny","Effect":"Deny","Action":["lakeformation:PutDataLakeSettings"],"Resource":"*"}]}"#,
    },
    ManagedPolicy {
        name: "AWSKeyManagementServicePowerUser",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateAlias",
            "kms:CreateKey","kms:DeleteAlias","kms:Describe*","kms:GenerateRandom","kms:Get*","kms:List*",
            "kms:TagResource","kms:UntagResource","iam:ListGroups","iam:ListRoles","iam:ListUsers"],"Resource":"*"}]}"#,
    },
    ManagedPolicy {
        name: "AmazonMacieFullAccess",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["macie2:*"],"Resource":"*"}]}"#,
    },
    ManagedPolicy {
        name: "IAMReadOnlyAccess",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}"#,
    },
];

/// The managed policy an ARN (or a bare name, as a convenience) names; anything else is IAM's
/// `NoSuchEntity`, listing what there is.
pub fn find(arn_or_name: &str) -> Result<&'static ManagedPolicy> {
    MANAGED
        .iter()
        .find(|p| p.name == arn_or_name || p.arn() == arn_or_name)
        .ok_or_else(|| {
        ServiceError::new(
            Code::NoSuchEntity,
            format!(
                "Policy {arn_or_name} does not exist or is not attachable; the local lake has the AWS managed policies {}",
                MANAGED.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_managed_policy_parses_and_is_found_by_name_and_arn() {
        for p in MANAGED {
            p.parsed();
            assert_eq!(find(&p.arn()).unwrap().name, p.name);
            assert_eq!(find(p.name).unwrap().name, p.name);
        }
        assert_eq!(
            find("arn:aws:iam::aws:policy/Nope").err().unwrap().code,
            Code::NoSuchEntity
        );
    }
}
