//! Fine-grained access on Lake Formation, translated both ways by lf_shapes.rs. Lake Formation
//! enforces but does not explain: explain.rs works it out from what Lake Formation holds.

use async_trait::async_trait;
use aws_sdk_lakeformation::types as lf;

use super::lf_shapes::{
    assigned, built, data_cells_filter, permissions, resource, sdk_permissions, sdk_row_filter,
    sdk_wildcard,
};
use super::{Aws, aws_error, time};
use crate::service::access::{
    Access, AssignedTag, DataCellsFilter, DataLakePrincipal, DataLakeSettings, Explanation, Grant,
    LfTagDefinition, Resource, ResourceInfo, location_arn,
};
use crate::service::{Code, Principal, Result, ServiceError};

#[async_trait]
impl Access for Aws {
    async fn get_data_lake_settings(&self, by: &Principal) -> Result<DataLakeSettings> {
        self.acting(by)?;
        let got = self
            .lakeformation
            .get_data_lake_settings()
            .send()
            .await
            .map_err(|e| aws_error("lakeformation:GetDataLakeSettings", e))?;
        let admins = got
            .data_lake_settings()
            .map(|s| s.data_lake_admins())
            .unwrap_or_default();
        Ok(DataLakeSettings {
            data_lake_admins: admins
                .iter()
                .map(|p| DataLakePrincipal {
                    data_lake_principal_identifier: p
                        .data_lake_principal_identifier()
                        .unwrap_or_default()
                        .to_string(),
                })
                .collect(),
        })
    }

    /// Lake Formation's settings are put whole: the current ones are read and only the admins
    /// change, so defaults and other settings stay as they were.
    async fn put_data_lake_admins(&self, by: &Principal, admins: &[String]) -> Result<()> {
        self.acting(by)?;
        let arns: Vec<String> = admins.iter().map(|a| self.principal_arn_of(a)).collect();
        if !arns
            .iter()
            .any(|a| *a == self.identity.arn || a.ends_with(&format!("/{}", self.identity.name)))
        {
            return Err(ServiceError::new(
                Code::InvalidInputException,
                format!(
                    "the admins must include you ({}): otherwise this change would lock you out of it",
                    self.identity.arn
                ),
            ));
        }
        let current = self
            .lakeformation
            .get_data_lake_settings()
            .send()
            .await
            .map_err(|e| aws_error("lakeformation:GetDataLakeSettings", e))?;
        let mut settings = current
            .data_lake_settings()
            .cloned()
            .unwrap_or_else(|| lf::DataLakeSettings::builder().build());
        settings.data_lake_admins = Some(arns.iter().map(|a| self.sdk_principal(a)).collect());
        self.lakeformation
            .put_data_lake_settings()
            .data_lake_settings(settings)
            .send()
            .await
            .map_err(|e| aws_error("lakeformation:PutDataLakeSettings", e))?;
        Ok(())
    }

    async fn register_resource(&self, by: &Principal, location: &str, role: &str) -> Result<()> {
        self.acting(by)?;
        self.lakeformation
            .register_resource()
            .resource_arn(location_arn(location)?)
            .role_arn(self.role_arn_of(role))
            .use_service_linked_role(false)
            .send()
            .await
            .map_err(|e| aws_error("lakeformation:RegisterResource", e))?;
        Ok(())
    }

    async fn list_resources(&self, by: &Principal) -> Result<Vec<ResourceInfo>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self.lakeformation.list_resources().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("lakeformation:ListResources", e))?;
            out.extend(page.resource_info_list().iter().map(|r| ResourceInfo {
                resource_arn: r.resource_arn().unwrap_or_default().to_string(),
                role_arn: r.role_arn().unwrap_or_default().to_string(),
                last_modified: time(r.last_modified()),
            }));
        }
        Ok(out)
    }

    async fn grant_permissions(&self, by: &Principal, grant: Grant) -> Result<()> {
        self.acting(by)?;
        self.lakeformation
            .grant_permissions()
            .principal(self.sdk_principal(grant.principal()))
            .resource(self.sdk_resource(&grant.resource)?)
            .set_permissions(Some(sdk_permissions(&grant.permissions)))
            .set_permissions_with_grant_option(Some(sdk_permissions(
                &grant.permissions_with_grant_option,
            )))
            .send()
            .await
            .map_err(|e| aws_error("lakeformation:GrantPermissions", e))?;
        Ok(())
    }

    async fn revoke_permissions(&self, by: &Principal, grant: Grant) -> Result<()> {
        self.acting(by)?;
        self.lakeformation
            .revoke_permissions()
            .principal(self.sdk_principal(grant.principal()))
            .resource(self.sdk_resource(&grant.resource)?)
            .set_permissions(Some(sdk_permissions(&grant.permissions)))
            .set_permissions_with_grant_option(Some(sdk_permissions(
                &grant.permissions_with_grant_option,
            )))
            .send()
            .await
            .map_err(|e| aws_error("lakeformation:RevokePermissions", e))?;
        Ok(())
    }

    async fn list_permissions(
        &self,
        by: &Principal,
        principal: Option<&str>,
        table: Option<(&str, &str)>,
    ) -> Result<Vec<Grant>> {
        self.acting(by)?;
        let resource = match table {
            Some((db, t)) => Some(self.sdk_resource(&Resource::table(db, t))?),
            None => None,
        };
        // Lake Formation filters by principal only together with a resource; without one, the
        // principal's grants are picked out of the whole list here.
        let wanted = principal.map(|p| self.principal_arn_of(p));
        let mut out = Vec::new();
        let mut pages = self
            .lakeformation
            .list_permissions()
            .set_principal(
                resource
                    .as_ref()
                    .and(principal)
                    .map(|p| self.sdk_principal(p)),
            )
            .set_resource(resource)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("lakeformation:ListPermissions", e))?;
            for p in page.principal_resource_permissions() {
                let Some(resource) = p.resource().and_then(self::resource) else {
                    continue;
                };
                let holder = p
                    .principal()
                    .and_then(|p| p.data_lake_principal_identifier())
                    .unwrap_or_default();
                if wanted.as_ref().is_some_and(|w| w != holder) {
                    continue;
                }
                out.push(Grant {
                    principal: DataLakePrincipal {
                        data_lake_principal_identifier: holder.to_string(),
                    },
                    resource,
                    permissions: permissions(p.permissions()),
                    permissions_with_grant_option: permissions(p.permissions_with_grant_option()),
                });
            }
        }
        Ok(out)
    }

    async fn create_lf_tag(&self, by: &Principal, key: &str, values: &[String]) -> Result<()> {
        self.acting(by)?;
        self.lakeformation
            .create_lf_tag()
            .tag_key(key)
            .set_tag_values(Some(values.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("lakeformation:CreateLFTag", e))?;
        Ok(())
    }

    async fn list_lf_tags(&self, by: &Principal) -> Result<Vec<LfTagDefinition>> {
        self.acting(by)?;
        let mut out = Vec::new();
        let mut pages = self.lakeformation.list_lf_tags().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("lakeformation:ListLFTags", e))?;
            out.extend(page.lf_tags().iter().map(|t| LfTagDefinition {
                tag_key: t.tag_key().to_string(),
                tag_values: t.tag_values().to_vec(),
            }));
        }
        Ok(out)
    }

    async fn add_lf_tags_to_resource(
        &self,
        by: &Principal,
        database: &str,
        table: Option<&str>,
        columns: &[String],
        tags: &[(String, String)],
    ) -> Result<()> {
        self.acting(by)?;
        let pairs = tags
            .iter()
            .map(|(k, v)| {
                built(
                    "LFTagPair",
                    lf::LfTagPair::builder().tag_key(k).tag_values(v).build(),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let added = self
            .lakeformation
            .add_lf_tags_to_resource()
            .resource(self.sdk_table(database, table, columns)?)
            .set_lf_tags(Some(pairs))
            .send()
            .await
            .map_err(|e| aws_error("lakeformation:AddLFTagsToResource", e))?;
        if let Some(failure) = added.failures().first() {
            let error = failure.error();
            return Err(ServiceError {
                code: Code::InvalidInputException,
                message: error
                    .and_then(|e| e.error_message())
                    .unwrap_or("Lake Formation refused the tag")
                    .to_string(),
                aws_code: error.and_then(|e| e.error_code()).map(str::to_string),
            });
        }
        Ok(())
    }

    async fn get_resource_lf_tags(
        &self,
        by: &Principal,
        database: &str,
        table: &str,
    ) -> Result<Vec<(String, Vec<AssignedTag>)>> {
        self.acting(by)?;
        let got = self
            .lakeformation
            .get_resource_lf_tags()
            .resource(self.sdk_table(database, Some(table), &[])?)
            .show_assigned_lf_tags(false)
            .send()
            .await
            .map_err(|e| aws_error("lakeformation:GetResourceLFTags", e))?;
        let mut on_table = assigned(
            got.lf_tag_on_database(),
            Some(format!("database {database}")),
        );
        let own = assigned(got.lf_tags_on_table(), None);
        on_table.retain(|t| !own.iter().any(|o| o.tag_key == t.tag_key));
        on_table.extend(own);
        let mut out = vec![(String::new(), on_table)];
        for c in got.lf_tags_on_columns() {
            out.push((
                c.name().unwrap_or_default().to_string(),
                assigned(c.lf_tags(), None),
            ));
        }
        Ok(out)
    }

    async fn create_data_cells_filter(
        &self,
        by: &Principal,
        filter: DataCellsFilter,
    ) -> Result<()> {
        self.acting(by)?;
        let data = built(
            "DataCellsFilter",
            lf::DataCellsFilter::builder()
                .table_catalog_id(&self.identity.account)
                .database_name(&filter.database_name)
                .table_name(&filter.table_name)
                .name(&filter.name)
                .row_filter(sdk_row_filter(&filter.row_filter))
                .set_column_names(filter.column_names.clone())
                .set_column_wildcard(sdk_wildcard(&filter.column_wildcard))
                .build(),
        )?;
        self.lakeformation
            .create_data_cells_filter()
            .table_data(data)
            .send()
            .await
            .map_err(|e| aws_error("lakeformation:CreateDataCellsFilter", e))?;
        Ok(())
    }

    async fn list_data_cells_filters(
        &self,
        by: &Principal,
        table: Option<(&str, &str)>,
    ) -> Result<Vec<DataCellsFilter>> {
        self.acting(by)?;
        let table = match table {
            Some((db, t)) => Some(built(
                "TableResource",
                lf::TableResource::builder()
                    .catalog_id(&self.identity.account)
                    .database_name(db)
                    .name(t)
                    .build(),
            )?),
            None => None,
        };
        let mut out = Vec::new();
        let mut pages = self
            .lakeformation
            .list_data_cells_filter()
            .set_table(table)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("lakeformation:ListDataCellsFilter", e))?;
            out.extend(page.data_cells_filters().iter().map(data_cells_filter));
        }
        Ok(out)
    }

    async fn delete_data_cells_filter(
        &self,
        by: &Principal,
        database: &str,
        table: &str,
        name: &str,
    ) -> Result<()> {
        self.acting(by)?;
        self.lakeformation
            .delete_data_cells_filter()
            .table_catalog_id(&self.identity.account)
            .database_name(database)
            .table_name(table)
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("lakeformation:DeleteDataCellsFilter", e))?;
        Ok(())
    }

    /// Lake Formation does not explain; lakectl reads what it holds and explains as the local
    /// lake does (explain.rs).
    async fn explain(
        &self,
        by: &Principal,
        principal: &str,
        database: &str,
        table: &str,
    ) -> Result<Explanation> {
        self.acting(by)?;
        self.explain_table(by, principal, database, table).await
    }
}
