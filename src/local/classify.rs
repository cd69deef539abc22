//! Classifying one object: every cell (CSV), every leaf of every record (JSON, with its path) or
//! every value of every column (Parquet) goes through the `pii` detectors, with its column name
//! or JSON path as context. The same walk yields a Macie finding (where, never what) or, for an
//! authorized reveal, the matched values themselves.

use std::collections::BTreeMap;

use arrow::array::{Array, StringArray};
use arrow::datatypes::DataType;

use super::Lake;
use crate::etl::budget::{Budget, exceeded_csv, exceeded_io};
use crate::etl::{Opened, open_source};
use crate::pii::{self, AllowList, Category, CustomIdentifier};
use crate::service::classification::{
    Cell, ClassificationDetails, ClassificationResult, CustomDetections, Detection, Finding,
    Occurrences, Record, ResourcesAffected, S3Object, SensitiveData, Severity,
};
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// Occurrences kept per detection type (Macie keeps at most 15).
const MAX_OCCURRENCES: usize = 15;

/// What a job looks for: the managed identifiers, the custom identifiers it names and its allow
/// lists, compiled once.
pub(super) struct Detectors {
    pub scanner: pii::Scanner,
}

impl Detectors {
    pub fn new(custom: Vec<CustomIdentifier>, allow: AllowList) -> Self {
        Detectors {
            scanner: pii::Scanner::new(custom, allow),
        }
    }
}

/// Column scanners by column name, made on first use.
struct Columns<'a> {
    scanner: &'a pii::Scanner,
    by_name: std::collections::HashMap<String, pii::ColumnScanner<'a>>,
}

impl<'a> Columns<'a> {
    fn scan(&mut self, text: &str, column: &str) -> Vec<pii::Match> {
        if !self.by_name.contains_key(column) {
            self.by_name
                .insert(column.to_string(), self.scanner.column(column));
        }
        self.by_name[column].scan(text)
    }
}

pub(super) enum Location {
    Cell(Cell),
    Record(Record),
}

/// Calls `visit` with every value of the object, where it is and its column name or JSON path.
fn walk(
    lake: &Lake,
    by: &Principal,
    bucket: &str,
    key: &str,
    visit: &mut dyn FnMut(Location, &str, &str),
) -> Result<()> {
    let budget = Budget::default();
    let (_, opened) = open_source(lake, by, bucket, key, &Progress::default(), &budget)?;
    let bad = |e: String| {
        ServiceError::new(
            Code::ValidationException,
            format!("s3://{bucket}/{key}: {e}"),
        )
    };
    // A limit of the budget ends the object's scan; other bad records are passed over.
    let limit_or = |e: &csv::Error| match exceeded_csv(e) {
        Some(limit) => limit.clone().into(),
        None => bad(e.to_string()),
    };
    match opened {
        Opened::Csv(mut reader) => {
            let header: Vec<String> = reader
                .headers()
                .map_err(|e| limit_or(&e))?
                .iter()
                .map(String::from)
                .collect();
            for (i, row) in reader.records().enumerate() {
                let row = match row {
                    Ok(row) => row,
                    Err(e) if exceeded_csv(&e).is_some() => return Err(limit_or(&e)),
                    Err(_) => continue,
                };
                for (j, cell) in row.iter().enumerate() {
                    let name = header.get(j).cloned().unwrap_or_default();
                    let at = Cell {
                        row: i as u64 + 2,
                        column: j as u64 + 1,
                        column_name: name.clone(),
                    };
                    visit(Location::Cell(at), cell, &name);
                }
            }
        }
        Opened::Json(mut records) => {
            let mut index = 0u64;
            while let Some((_, r)) = records.next_record().map_err(|e| match exceeded_io(&e) {
                Some(limit) => limit.clone().into(),
                None => bad(e.to_string()),
            })? {
                if let Ok(value) = serde_json::from_slice::<serde_json::Value>(r) {
                    walk_json(&value, "$", index, visit);
                }
                index += 1;
            }
        }
        Opened::Parquet(reader) => {
            let mut base = 0u64;
            for batch in reader {
                let batch = batch.map_err(|e| bad(e.to_string()))?;
                for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                    let Ok(text) = arrow::compute::cast(column, &DataType::Utf8) else {
                        continue;
                    };
                    let text = text
                        .as_any()
                        .downcast_ref::<StringArray>()
                        .expect("cast to Utf8 gives strings");
                    let path = format!("$.{}", field.name());
                    for (row, value) in text.iter().enumerate() {
                        if let Some(v) = value {
                            visit(
                                Location::Record(Record {
                                    record_index: base + row as u64,
                                    json_path: path.clone(),
                                }),
                                v,
                                field.name(),
                            );
                        }
                    }
                }
                base += batch.num_rows() as u64;
            }
        }
    }
    Ok(())
}

fn walk_json(
    value: &serde_json::Value,
    path: &str,
    index: u64,
    visit: &mut dyn FnMut(Location, &str, &str),
) {
    use serde_json::Value;
    let leaf = |text: &str, visit: &mut dyn FnMut(Location, &str, &str)| {
        visit(
            Location::Record(Record {
                record_index: index,
                json_path: path.to_string(),
            }),
            text,
            path,
        )
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                walk_json(v, &format!("{path}.{k}"), index, visit);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk_json(v, &format!("{path}[{i}]"), index, visit);
            }
        }
        Value::String(s) => leaf(s, visit),
        Value::Number(n) => leaf(&n.to_string(), visit),
        Value::Bool(_) | Value::Null => {}
    }
}

fn category_name(c: Category) -> &'static str {
    match c {
        Category::Personal => "PERSONAL_INFORMATION",
        Category::Financial => "FINANCIAL_INFORMATION",
        Category::Credentials => "CREDENTIALS",
        Category::CustomIdentifier => "CUSTOM_IDENTIFIER",
    }
}

/// Scans one object; a finding when anything sensitive is in it.
pub(super) fn classify(
    lake: &Lake,
    by: &Principal,
    object: &S3Object,
    job_id: &str,
    detectors: &Detectors,
) -> Result<Option<Finding>> {
    let (bucket, key, size) = (
        object.bucket_name.as_str(),
        object.key.as_str(),
        object.size,
    );
    let mut columns = Columns {
        scanner: &detectors.scanner,
        by_name: Default::default(),
    };
    let mut found: BTreeMap<(Category, std::sync::Arc<str>), (u64, Occurrences)> = BTreeMap::new();
    let mut csv = false;
    walk(lake, by, bucket, key, &mut |at, text, column| {
        for m in columns.scan(text, column) {
            let entry = found.entry((m.category, m.identifier)).or_default();
            entry.0 += 1;
            match &at {
                Location::Cell(c)
                    if entry.1.cells.len() < MAX_OCCURRENCES && !entry.1.cells.contains(c) =>
                {
                    csv = true;
                    entry.1.cells.push(c.clone())
                }
                Location::Record(r)
                    if entry.1.records.len() < MAX_OCCURRENCES && !entry.1.records.contains(r) =>
                {
                    entry.1.records.push(r.clone())
                }
                _ => {}
            }
        }
    })?;
    if found.is_empty() {
        return Ok(None);
    }
    let mut by_category: BTreeMap<Category, Vec<Detection>> = BTreeMap::new();
    for ((category, kind), (count, occurrences)) in found {
        by_category.entry(category).or_default().push(Detection {
            kind: kind.to_string(),
            count,
            occurrences,
        });
    }
    let custom_detections = by_category
        .remove(&Category::CustomIdentifier)
        .unwrap_or_default();
    let categories: Vec<Category> = by_category
        .keys()
        .copied()
        .chain((!custom_detections.is_empty()).then_some(Category::CustomIdentifier))
        .collect();
    let finding_type = match categories.as_slice() {
        [Category::Personal] => "Personal",
        [Category::Financial] => "Financial",
        [Category::Credentials] => "Credentials",
        [Category::CustomIdentifier] => "CustomIdentifier",
        _ => "Multiple",
    };
    let high = categories
        .iter()
        .any(|c| matches!(c, Category::Financial | Category::Credentials));
    let severity = if high {
        Severity {
            description: "High".into(),
            score: 3,
        }
    } else {
        Severity {
            description: "Medium".into(),
            score: 2,
        }
    };
    let sensitive_data = by_category
        .into_iter()
        .map(|(c, detections)| SensitiveData {
            category: category_name(c).into(),
            total_count: detections.iter().map(|d| d.count).sum(),
            detections,
        })
        .collect();
    Ok(Some(Finding {
        id: uuid::Uuid::new_v4().simple().to_string(),
        finding_type: format!("SensitiveData:S3Object/{finding_type}"),
        severity,
        created_at: super::now(),
        resources_affected: ResourcesAffected {
            s3_object: S3Object {
                bucket_name: bucket.into(),
                key: key.into(),
                size,
            },
        },
        classification_details: ClassificationDetails {
            job_id: job_id.into(),
            result: ClassificationResult {
                sensitive_data,
                custom_data_identifiers: CustomDetections {
                    total_count: custom_detections.iter().map(|d| d.count).sum(),
                    detections: custom_detections,
                },
                mime_type: if csv { "text/csv" } else { "application/json" }.into(),
                size_classified: size,
            },
        },
        count: 1,
    }))
}

/// The values behind a finding, at most `per_type` of each detection type.
pub(super) fn reveal(
    lake: &Lake,
    by: &Principal,
    object: &S3Object,
    detectors: &Detectors,
    per_type: usize,
) -> Result<BTreeMap<String, Vec<String>>> {
    let (bucket, key) = (object.bucket_name.as_str(), object.key.as_str());
    let mut columns = Columns {
        scanner: &detectors.scanner,
        by_name: Default::default(),
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    walk(lake, by, bucket, key, &mut |_, text, column| {
        for m in columns.scan(text, column) {
            let values = out.entry(m.identifier.to_string()).or_default();
            let value = text[m.start..m.end].to_string();
            if values.len() < per_type && !values.contains(&value) {
                values.push(value);
            }
        }
    })?;
    Ok(out)
}
