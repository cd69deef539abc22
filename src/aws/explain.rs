//! `explain` on AWS. Lake Formation enforces grants without saying why; lakectl reads what it
//! holds (the principal's grants, the table's data cells filters and LF-tags, the data lake
//! admins, the registered locations) and runs the same view as the local lake over it
//! (service/view.rs), so both backends explain alike. KMS key policies and IAM are AWS's to
//! evaluate: for the data's keys, explain says their state and leaves the decision to KMS; what
//! IAM decides for a query, AWS's own policy simulator says (iam:SimulatePrincipalPolicy), with
//! the policy that decided.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use super::{Aws, aws_error};
use crate::service::access::{
    Access, Explanation, IamDecision, KeyDecision, Resource, location_arn,
};
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
            iam_decisions: self.query_decisions(&arn, database, table, &reader).await,
            data_read_as: reader,
            hidden_columns,
        })
    }

    /// What querying the table in the default work group needs from IAM, as AWS's policy
    /// simulator decides it for `principal_arn`. A simulation that cannot run (no
    /// iam:SimulatePrincipalPolicy, or an endpoint without it) says so instead of guessing.
    async fn query_decisions(
        &self,
        principal_arn: &str,
        database: &str,
        table: &str,
        reader: &str,
    ) -> Vec<IamDecision> {
        let (region, account) = (&self.region, &self.identity.account);
        let mut needs = vec![
            (
                "athena:StartQueryExecution",
                format!("arn:aws:athena:{region}:{account}:workgroup/primary"),
            ),
            (
                "glue:GetTable",
                format!("arn:aws:glue:{region}:{account}:table/{database}/{table}"),
            ),
        ];
        // Where Lake Formation's role reads the data, the querying principal asks it for access.
        if self.principal_arn_of(reader) != principal_arn {
            needs.push(("lakeformation:GetDataAccess", "*".to_string()));
        }
        let mut decisions = Vec::new();
        for (action, resource) in needs {
            let simulated = self
                .iam
                .simulate_principal_policy()
                .policy_source_arn(principal_arn)
                .action_names(action)
                .resource_arns(&resource)
                .send()
                .await;
            let (allowed, decided_by) = match simulated {
                Ok(out) => simulated_decision(action, out.evaluation_results()),
                Err(e) => (
                    false,
                    format!(
                        "not known: the policy simulator did not answer ({})",
                        aws_error("iam:SimulatePrincipalPolicy", e).message
                    ),
                ),
            };
            decisions.push(IamDecision {
                action: action.to_string(),
                resource,
                allowed,
                decided_by,
            });
        }
        decisions
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

/// The simulator's answer for one action, in the words the local lake uses.
fn simulated_decision(
    action: &str,
    results: &[aws_sdk_iam::types::EvaluationResult],
) -> (bool, String) {
    use aws_sdk_iam::types::PolicyEvaluationDecisionType as Decision;
    let Some(result) = results.first() else {
        return (
            false,
            "not known: the policy simulator answered nothing".into(),
        );
    };
    let policies: Vec<&str> = result
        .matched_statements()
        .iter()
        .filter_map(|s| s.source_policy_id())
        .collect();
    let by = if policies.is_empty() {
        String::new()
    } else {
        format!(" by policy {}", policies.join(", "))
    };
    match result.eval_decision() {
        Decision::Allowed => (true, format!("allowed{by}")),
        Decision::ExplicitDeny => (false, format!("explicitly denied{by}")),
        _ => (
            false,
            format!("no identity-based policy allows the {action} action"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::types::{EvaluationResult, PolicyEvaluationDecisionType, Statement};

    use super::simulated_decision;

    fn result(decision: PolicyEvaluationDecisionType, policy: Option<&str>) -> EvaluationResult {
        let mut r = EvaluationResult::builder()
            .eval_action_name("glue:GetTable")
            .eval_decision(decision);
        if let Some(p) = policy {
            r = r.matched_statements(Statement::builder().source_policy_id(p).build());
        }
        r.build().unwrap()
    }

    #[test]
    fn the_simulators_answer_names_the_policy_that_decided() {
        use PolicyEvaluationDecisionType as D;
        assert_eq!(
            simulated_decision(
                "glue:GetTable",
                &[result(D::Allowed, Some("AmazonAthenaFullAccess"))]
            ),
            (true, "allowed by policy AmazonAthenaFullAccess".to_string())
        );
        assert_eq!(
            simulated_decision("glue:GetTable", &[result(D::ExplicitDeny, Some("no-glue"))]),
            (false, "explicitly denied by policy no-glue".to_string())
        );
        assert_eq!(
            simulated_decision("glue:GetTable", &[result(D::ImplicitDeny, None)]),
            (
                false,
                "no identity-based policy allows the glue:GetTable action".to_string()
            )
        );
        assert!(!simulated_decision("glue:GetTable", &[]).0);
    }
}
