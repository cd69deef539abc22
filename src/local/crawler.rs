//! The crawler: reads what lies under its targets (decrypting as its role) and keeps the catalog
//! in step. Each folder directly under a target is a dataset and a table; objects directly under
//! the target make a table named after the target's last folder; `key=value/` folders are
//! partitions. The schema comes from samples of every object; with the LOG policy a changed schema
//! is only logged.

use std::collections::{BTreeMap, BTreeSet};

use super::Lake;
use super::glue::s3_location;
use crate::etl;
use crate::service::catalog::{Column, Table};
use crate::service::jobs::{CrawlerDefinition, RunState};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

#[derive(Default)]
struct Dataset {
    location: String,
    keys: Vec<String>,
    partition_keys: Vec<String>,
    partitions: BTreeSet<String>,
}

/// A table name from a folder name: lowercase, other characters as `_`.
fn table_name(folder: &str) -> String {
    folder
        .trim_matches('/')
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Groups the objects under one target into datasets.
fn datasets(bucket: &str, prefix: &str, keys: Vec<String>) -> BTreeMap<String, Dataset> {
    let target_name = prefix
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(bucket)
        .to_string();
    let mut out: BTreeMap<String, Dataset> = BTreeMap::new();
    for key in keys {
        let segments: Vec<&str> = key[prefix.len()..].split('/').collect();
        let (folders, file) = segments.split_at(segments.len() - 1);
        if segments
            .iter()
            .any(|s| s.starts_with('_') || s.starts_with('.'))
            || file[0].is_empty()
        {
            continue;
        }
        let (name, location, rest) = match folders.first() {
            Some(f) if !f.contains('=') => (
                table_name(f),
                format!("s3://{bucket}/{prefix}{f}/"),
                &folders[1..],
            ),
            _ => (
                table_name(&target_name),
                format!("s3://{bucket}/{prefix}"),
                folders,
            ),
        };
        let ds = out.entry(name).or_default();
        ds.location = location;
        let parts: Vec<(&str, &str)> = rest.iter().filter_map(|s| s.split_once('=')).collect();
        for (k, _) in &parts {
            if !ds.partition_keys.iter().any(|p| p == k) {
                ds.partition_keys.push(k.to_string());
            }
        }
        if !parts.is_empty() {
            ds.partitions.insert(
                parts
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
        ds.keys.push(key);
    }
    out
}

impl Lake {
    pub(super) fn execute_crawl(&self, def: CrawlerDefinition, progress: Progress) {
        let role = Principal::new(def.role.clone());
        let Ok((_, Some(mut run))) = self.meta.read(|tx| self.crawler(tx, &def.name)) else {
            return;
        };
        let outcome = (|| -> Result<()> {
            for target in &def.targets {
                let (bucket, prefix) = s3_location(target)?;
                let keys: Vec<String> = self
                    .list_keys(&role, &bucket, &prefix)?
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
                let found = datasets(&bucket, &prefix, keys);
                progress.set_total(found.len() as u64);
                for (name, ds) in found {
                    if progress.is_cancelled() || self.crawl_stop_requested(&def.name) {
                        return Err(ServiceError::new(Code::Cancelled, "the crawl was stopped"));
                    }
                    let name = format!("{}{name}", def.table_prefix.as_deref().unwrap_or(""));
                    let (schema, format) = etl::sample_schema(
                        self,
                        &role,
                        &bucket,
                        &ds.keys,
                        &etl::budget::Budget::default(),
                        // A table's types are what queries read every record as: a record a
                        // query could not read must not be cataloged away.
                        etl::consensus::Consensus::UNANIMOUS,
                    )?;
                    let columns: Vec<Column> = schema
                        .fields()
                        .iter()
                        .filter(|f| !ds.partition_keys.contains(f.name()))
                        .map(|f| Column {
                            name: f.name().to_lowercase(),
                            type_name: etl::source::hive_type(f.data_type()),
                        })
                        .collect();
                    let partition_keys: Vec<Column> = ds
                        .partition_keys
                        .iter()
                        .map(|k| Column {
                            name: k.to_lowercase(),
                            type_name: "string".into(),
                        })
                        .collect();
                    let database = def.database_name.clone();
                    let mut line = String::new();
                    self.meta.write(|tx| {
                        let now = super::now();
                        let existing = self.table(tx, &database, &name)?;
                        let known: BTreeSet<String> = existing
                            .as_ref()
                            .and_then(|t| t.parameters.get("partitions"))
                            .map(|p| p.split(',').filter(|s| !s.is_empty()).map(String::from).collect())
                            .unwrap_or_default();
                        let added = ds.partitions.difference(&known).count() as u64;
                        let all: Vec<String> = known.union(&ds.partitions).cloned().collect();
                        let mut table = match &existing {
                            Some(t) => t.clone(),
                            None => Table {
                                name: name.clone(),
                                database_name: database.clone(),
                                create_time: now,
                                update_time: now,
                                storage_descriptor: format.catalog().storage(columns.clone(), ds.location.clone(), false),
                                partition_keys: partition_keys.clone(),
                                table_type: "EXTERNAL_TABLE".into(),
                                parameters: BTreeMap::new(),
                            },
                        };
                        let changed = existing.as_ref().is_some_and(|t| t.storage_descriptor.columns != columns || t.partition_keys != partition_keys);
                        if changed && def.update_behavior == "LOG" {
                            line = format!("{database}.{name}: the schema changed; not applied (schema change policy LOG)");
                        } else {
                            table.storage_descriptor = format.catalog().storage(columns.clone(), ds.location.clone(), false);
                            table.partition_keys = partition_keys.clone();
                        }
                        table.parameters.insert("classification".into(), format.catalog().classification().into());
                        table.parameters.insert("objectCount".into(), ds.keys.len().to_string());
                        table.parameters.insert("partitions".into(), all.join(","));
                        table.update_time = now;
                        // Lake Formation: a table over a registered location needs its role to
                        // hold DATA_LOCATION_ACCESS there.
                        let writer = self.caller(tx, &role)?;
                        self.check_location_write(tx, &writer, &ds.location)?;
                        self.put_table(tx, &table)?;
                        match &existing {
                            None => run.tables_created.push(format!("{database}.{name}")),
                            Some(_) if changed || added > 0 => run.tables_updated.push(format!("{database}.{name}")),
                            Some(_) => {}
                        }
                        run.partitions_added += added;
                        Ok(())
                    })?;
                    run.log.push(format!(
                        "{name}: {} object(s), {} column(s), {} partition(s) at {}",
                        ds.keys.len(),
                        columns.len(),
                        ds.partitions.len(),
                        ds.location
                    ));
                    if !line.is_empty() {
                        run.log.push(line);
                    }
                    progress.advance(1);
                }
            }
            Ok(())
        })();
        run.completed_on = Some(super::now());
        match outcome {
            Ok(()) => run.state = RunState::Succeeded,
            Err(e) if e.code == Code::Cancelled => {
                run.state = RunState::Stopped;
                run.log.push("stopped on request".into());
            }
            Err(e) => {
                run.state = RunState::Failed;
                run.error_message = Some(format!("{}: {}", e.code, e.message));
            }
        }
        if let Err(e) = self.save_crawl(&run) {
            tracing::error!("cannot record the end of crawl {}: {e}", def.name);
        }
        self.deliver_here();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_make_tables_and_key_value_folders_partitions() {
        let keys = [
            "processed/part-1.parquet",
            "processed/_errors/x.jsonl",
            "raw/customers/customers.csv",
            "raw/trades/year=2026/month=11/a.json",
            "raw/trades/year=2026/month=10/b.json",
        ];
        let by = |p: &str| {
            datasets(
                "lake",
                p,
                keys.iter()
                    .filter(|k| k.starts_with(p))
                    .map(|k| k.to_string())
                    .collect(),
            )
        };
        let processed = by("processed/");
        assert_eq!(processed.keys().collect::<Vec<_>>(), vec!["processed"]);
        assert_eq!(processed["processed"].keys.len(), 1, "_errors/ is not data");
        let raw = by("raw/");
        assert_eq!(raw.keys().collect::<Vec<_>>(), vec!["customers", "trades"]);
        assert_eq!(raw["trades"].partition_keys, vec!["year", "month"]);
        assert_eq!(raw["trades"].partitions.len(), 2);
        assert_eq!(raw["trades"].location, "s3://lake/raw/trades/");
    }
}
