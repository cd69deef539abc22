//! `explain` on AWS. Lake Formation enforces grants without saying why; lakectl reads what it
//! holds (the principal's grants, the table's data cells filters and LF-tags, the data lake
//! admins, the registered locations) and runs the same view as the local lake over it
//! (service/view.rs), so both backends explain alike. KMS key policies and IAM are AWS's to
//! evaluate: for the data's keys, explain says their state and leaves the decision to KMS.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use super::{Aws, aws_error};
use crate::service::access::{Access, Explanation, KeyDecision, Resource, location_arn};
use crate::service::catalog::Catalog;
use crate::service::keys::{KeyState, Keys};
use crate::service::storage::Storage;
use crate::service::view::{
    EffectiveTags, Held, TableView, TagSet, any_of, column_decisions, disclosed_columns,
};
use crate::service::{Principal, Result};

/// Objects of the table looked at for the keys they are under.
const SAMPLED_OBJECTS: i32 = 50;

impl Aws {
    pub(super) async fn explain_table(
        &self,
        by: &Principal,
        principal: &str,
        database: &str,
        table: &str,
    ) -> Result<Explanation> {
        let t = self.get_table(by, database, table).await?;
        let arn = self.principal_arn_of(principal);
        let admin = self
            .get_data_lake_settings(by)
            .await?
            .data_lake_admins
            .iter()
            .any(|p| p.data_lake_principal_identifier == arn);
        let grants: Vec<(Resource, Vec<Held>)> = self
            .list_permissions(by, Some(principal), None)
            .await?
            .into_iter()
            .map(|g| {
                let held = g
                    .permissions
                    .iter()
                    .map(|p| (*p, g.permissions_with_grant_option.contains(p)))
                    .collect();
                (g.resource, held)
            })
            .collect();
        let filters: BTreeMap<String, _> = self
            .list_data_cells_filters(by, Some((database, table)))
            .await?
            .into_iter()
            .map(|f| (f.name.clone(), f))
            .collect();
        let mut tags = if grants
            .iter()
            .any(|(r, _)| matches!(r, Resource::LfTagPolicy { .. }))
        {
            Some(
                self.effective_tags(by, database, table, &t.column_names())
                    .await?,
            )
        } else {
            None
        };
        let view = TableView::build(
            &t,
            admin,
            grants,
            |name| Ok(filters.get(name).cloned()),
            || Ok(tags.take().unwrap_or_default()),
        )?;
        let reader = self
            .reader_of(by, &t.storage_descriptor.location, &arn)
            .await?;
        // Explaining another principal needs Lake Formation's ListPermissions on its grants,
        // which only administrators hold: such a viewer may see every column's name.
        let viewer_privileged = admin || by.name() != principal;
        let (columns, hidden_columns) = disclosed_columns(
            &view,
            column_decisions(&view, principal, database, table),
            viewer_privileged,
        );
        Ok(Explanation {
            principal: principal.to_string(),
            table: format!("{database}.{table}"),
            columns,
            row_filter: view.rows().filter(|f| !f.is_empty()).map(|f| any_of(&f)),
            keys: self
                .keys_of(by, &t.storage_descriptor.location, &reader)
                .await?,
            data_read_as: reader,
            hidden_columns,
            iam_decisions: Vec::new(),
        })
    }

    /// The table's and each column's effective tags, from Lake Formation.
    async fn effective_tags(
        &self,
        by: &Principal,
        database: &str,
        table: &str,
        columns: &[String],
    ) -> Result<EffectiveTags> {
        let assigned = self.get_resource_lf_tags(by, database, table).await?;
        let set = |tags: &[crate::service::access::AssignedTag], here: &str| -> TagSet {
            tags.iter()
                .map(|t| {
                    let from = t.inherited_from.clone().unwrap_or_else(|| here.to_string());
                    (t.tag_key.clone(), (t.tag_value.clone(), from))
                })
                .collect()
        };
        let table_tags = assigned
            .iter()
            .find(|(c, _)| c.is_empty())
            .map(|(_, t)| set(t, &format!("table {database}.{table}")))
            .unwrap_or_default();
        let columns = columns
            .iter()
            .map(|c| {
                let mut tags = table_tags.clone();
                if let Some((_, own)) = assigned.iter().find(|(name, _)| name == c) {
                    tags.extend(set(own, &format!("column {c}")));
                }
                (c.clone(), tags)
            })
            .collect();
        Ok(EffectiveTags {
            table: table_tags,
            columns,
        })
    }

    /// Who reads the table's objects for a query: the role of the registered location that
    /// covers it (Lake Formation vends its access), else the principal itself.
    async fn reader_of(
        &self,
        by: &Principal,
        location: &str,
        principal_arn: &str,
    ) -> Result<String> {
        let Ok(table_arn) = location_arn(location) else {
            return Ok(principal_arn.to_string());
        };
        let covering = self
            .list_resources(by)
            .await?
            .into_iter()
            .filter(|r| {
                table_arn == r.resource_arn
                    || table_arn.starts_with(&format!("{}/", r.resource_arn))
            })
            .max_by_key(|r| r.resource_arn.len());
        Ok(covering
            .map(|r| r.role_arn)
            .unwrap_or_else(|| principal_arn.to_string()))
    }

    /// The keys a sample of the table's objects are under, with their state.
    async fn keys_of(
        &self,
        by: &Principal,
        location: &str,
        reader: &str,
    ) -> Result<Vec<KeyDecision>> {
        let Ok((bucket, prefix)) = crate::service::storage::s3_location(location) else {
            return Ok(Vec::new());
        };
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .max_keys(SAMPLED_OBJECTS)
            .send()
            .await
            .map_err(|e| aws_error("s3:ListObjectsV2", e))?;
        let keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        let bucket = bucket.as_str();
        let heads = futures::stream::iter(keys)
            .map(|key| async move { self.head_object(by, bucket, &key).await.ok() })
            .buffered(16)
            .collect::<Vec<_>>()
            .await;
        let key_ids: BTreeSet<String> = heads
            .into_iter()
            .flatten()
            .filter_map(|h| h.sse_kms_key_id)
            .collect();
        let aliases = self.list_aliases(by).await?;
        let mut out = Vec::new();
        for key in key_ids {
            let meta = self.describe_key(by, &key).await?;
            let alias = aliases
                .iter()
                .find(|a| a.target_key_id == meta.key_id)
                .map(|a| a.alias_name.clone());
            let usable = meta.key_state == KeyState::Enabled;
            out.push(KeyDecision {
                key_id: meta.arn,
                alias,
                usable,
                reason: if usable {
                    format!("the key is Enabled; whether {reader} may decrypt with it is for KMS to decide (its key policy and IAM), which lakectl does not evaluate on AWS")
                } else {
                    format!("the key is {}: nothing under it can be read", meta.key_state.as_str())
                },
            });
        }
        Ok(out)
    }
}
