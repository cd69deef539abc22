//! The catalog on the Glue Data Catalog, and security configurations. Jobs and crawlers, which
//! run on Glue too, are in `jobs.rs`.

use async_trait::async_trait;
use aws_sdk_glue::types::{
    CloudWatchEncryption, CloudWatchEncryptionMode, DatabaseInput, EncryptionConfiguration,
    JobBookmarksEncryption, JobBookmarksEncryptionMode, S3Encryption, S3EncryptionMode,
};
use chrono::Utc;

use super::{Aws, aws_error, build_error, time};
use crate::service::catalog::{
    Catalog, Column, Database, SecurityConfiguration, SerdeInfo, StorageDescriptor, Table,
};
use crate::service::{Principal, Result, ServiceError};

fn column(c: &aws_sdk_glue::types::Column) -> Column {
    Column {
        name: c.name().to_string(),
        type_name: c.r#type().unwrap_or("string").to_string(),
    }
}

pub(super) fn table(t: &aws_sdk_glue::types::Table) -> Table {
    let sd = t.storage_descriptor();
    Table {
        name: t.name().to_string(),
        database_name: t.database_name().unwrap_or_default().to_string(),
        create_time: time(t.create_time()),
        update_time: time(t.update_time().or(t.create_time())),
        storage_descriptor: StorageDescriptor {
            columns: sd
                .map(|s| s.columns().iter().map(column).collect())
                .unwrap_or_default(),
            location: sd
                .and_then(|s| s.location())
                .unwrap_or_default()
                .to_string(),
            input_format: sd
                .and_then(|s| s.input_format())
                .unwrap_or_default()
                .to_string(),
            output_format: sd
                .and_then(|s| s.output_format())
                .unwrap_or_default()
                .to_string(),
            serde_info: SerdeInfo {
                serialization_library: sd
                    .and_then(|s| s.serde_info())
                    .and_then(|s| s.serialization_library())
                    .unwrap_or_default()
                    .to_string(),
            },
            compressed: sd.map(|s| s.compressed()).unwrap_or(false),
        },
        partition_keys: t.partition_keys().iter().map(column).collect(),
        table_type: t.table_type().unwrap_or("EXTERNAL_TABLE").to_string(),
        parameters: t
            .parameters()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

fn database(d: &aws_sdk_glue::types::Database) -> Database {
    Database {
        name: d.name().to_string(),
        description: d.description().map(str::to_string),
        location_uri: d.location_uri().map(str::to_string),
        create_time: time(d.create_time()),
    }
}

fn security_configuration(c: &aws_sdk_glue::types::SecurityConfiguration) -> SecurityConfiguration {
    SecurityConfiguration {
        name: c.name().unwrap_or_default().to_string(),
        kms_key_arn: c
            .encryption_configuration()
            .and_then(|e| e.s3_encryption().first())
            .and_then(|s| s.kms_key_arn())
            .unwrap_or_default()
            .to_string(),
        created_time_stamp: time(c.created_time_stamp()),
    }
}

impl Aws {
    /// The key a security configuration encrypts S3 output under.
    pub(super) async fn security_configuration_key(&self, name: &str) -> Result<String> {
        let got = self
            .glue
            .get_security_configuration()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("glue:GetSecurityConfiguration", e))?;
        let config = got.security_configuration().map(security_configuration);
        match config {
            Some(c) if !c.kms_key_arn.is_empty() => Ok(c.kms_key_arn),
            _ => Err(ServiceError::invalid(format!(
                "security configuration {name} names no KMS key for S3 output"
            ))),
        }
    }
}

#[async_trait]
impl Catalog for Aws {
    async fn create_database(
        &self,
        by: &Principal,
        name: &str,
        description: Option<&str>,
    ) -> Result<Database> {
        self.acting(by)?;
        let input = DatabaseInput::builder()
            .name(name)
            .set_description(description.map(str::to_string))
            .build()
            .map_err(|e| build_error("CreateDatabase", e))?;
        self.glue
            .create_database()
            .database_input(input)
            .send()
            .await
            .map_err(|e| aws_error("glue:CreateDatabase", e))?;
        Ok(Database {
            name: name.to_string(),
            description: description.map(str::to_string),
            location_uri: None,
            create_time: Utc::now(),
        })
    }

    async fn get_databases(&self, by: &Principal) -> Result<Vec<Database>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self.glue.get_databases().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("glue:GetDatabases", e))?;
            out.extend(page.database_list().iter().map(database));
        }
        Ok(out)
    }

    async fn get_tables(&self, by: &Principal, database: &str) -> Result<Vec<Table>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self
            .glue
            .get_tables()
            .database_name(database)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("glue:GetTables", e))?;
            out.extend(page.table_list().iter().map(table));
        }
        Ok(out)
    }

    async fn get_table(&self, by: &Principal, database: &str, name: &str) -> Result<Table> {
        self.acting(by)?;
        let got = self
            .glue
            .get_table()
            .database_name(database)
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("glue:GetTable", e))?;
        got.table()
            .map(table)
            .ok_or_else(|| ServiceError::internal("glue:GetTable said nothing"))
    }

    async fn delete_table(&self, by: &Principal, database: &str, name: &str) -> Result<()> {
        self.acting(by)?;
        self.glue
            .delete_table()
            .database_name(database)
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("glue:DeleteTable", e))?;
        Ok(())
    }

    /// Output to S3 (SSE-KMS), logs (CloudWatch) and job bookmarks (CSE-KMS) all under one key,
    /// as the seed's configuration has it.
    async fn create_security_configuration(
        &self,
        by: &Principal,
        name: &str,
        kms_key: &str,
    ) -> Result<SecurityConfiguration> {
        self.acting(by)?;
        let arn = self.key_arn(by, kms_key).await?;
        let encryption = EncryptionConfiguration::builder()
            .s3_encryption(
                S3Encryption::builder()
                    .s3_encryption_mode(S3EncryptionMode::Ssekms)
                    .kms_key_arn(&arn)
                    .build(),
            )
            .cloud_watch_encryption(
                CloudWatchEncryption::builder()
                    .cloud_watch_encryption_mode(CloudWatchEncryptionMode::Ssekms)
                    .kms_key_arn(&arn)
                    .build(),
            )
            .job_bookmarks_encryption(
                JobBookmarksEncryption::builder()
                    .job_bookmarks_encryption_mode(JobBookmarksEncryptionMode::Csekms)
                    .kms_key_arn(&arn)
                    .build(),
            )
            .build();
        let created = self
            .glue
            .create_security_configuration()
            .name(name)
            .encryption_configuration(encryption)
            .send()
            .await
            .map_err(|e| aws_error("glue:CreateSecurityConfiguration", e))?;
        Ok(SecurityConfiguration {
            name: name.to_string(),
            kms_key_arn: arn,
            created_time_stamp: time(created.created_timestamp()),
        })
    }

    async fn get_security_configurations(
        &self,
        by: &Principal,
    ) -> Result<Vec<SecurityConfiguration>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self
            .glue
            .get_security_configurations()
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("glue:GetSecurityConfigurations", e))?;
            out.extend(
                page.security_configurations()
                    .iter()
                    .map(security_configuration),
            );
        }
        Ok(out)
    }
}
