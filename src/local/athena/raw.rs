//! CSV and JSON tables for queries: each object is decoded with the ETL job's readers (so a
//! table reads the way the crawler that cataloged it sampled it), one object at a time, as a
//! stream DataFusion pulls from. A record the table's schema cannot take fails the query, as
//! Athena's HIVE_BAD_DATA does; nothing is skipped silently.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::StreamExt;

use crate::etl::source::{BATCH_ROWS, JsonBatch, Quarantined, decode_csv, decode_json};
use crate::etl::{Opened, open_source};
use crate::local::Lake;
use crate::service::{Code, Principal, Progress, Result, ServiceError};

fn bad_data(q: &Quarantined) -> ServiceError {
    ServiceError::new(
        Code::InvalidRequestException,
        format!("HIVE_BAD_DATA: {} line {}: {}", q.object, q.line, q.reason),
    )
}

/// Every record of one object as batches of `schema`.
fn read_object(
    lake: &Lake,
    reader: &Principal,
    bucket: &str,
    key: &str,
    schema: &SchemaRef,
) -> Result<Vec<RecordBatch>> {
    let (_, opened) = open_source(lake, reader, bucket, key, &Progress::default())?;
    let name = format!("s3://{bucket}/{key}");
    let failed =
        |e: String| ServiceError::new(Code::InvalidRequestException, format!("{name}: {e}"));
    let mut out = Vec::new();
    let mut quarantine = Vec::new();
    match opened {
        Opened::Json(mut records) => {
            let mut batch = JsonBatch::default();
            loop {
                let next = records.next_record().map_err(|e| failed(e.to_string()))?;
                let done = next.is_none();
                if let Some((line, record)) = next {
                    batch.push(line, record);
                }
                if batch.len() >= BATCH_ROWS || (done && !batch.is_empty()) {
                    let full = std::mem::take(&mut batch);
                    out.extend(decode_json(schema, &name, &full, &mut quarantine).map_err(failed)?);
                }
                if let Some(q) = quarantine.first() {
                    return Err(bad_data(q));
                }
                if done {
                    break;
                }
            }
        }
        Opened::Csv(mut csv) => {
            let header = csv.headers().map_err(|e| failed(e.to_string()))?.clone();
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            if header.iter().collect::<Vec<_>>() != names {
                return Err(failed(format!(
                    "its header ({}) is not the table's columns ({}); crawl it again",
                    header.iter().collect::<Vec<_>>().join(","),
                    names.join(",")
                )));
            }
            let mut rows = Vec::with_capacity(BATCH_ROWS);
            for (i, record) in csv.records().enumerate() {
                rows.push((i as u64 + 2, record.map_err(|e| failed(e.to_string()))?));
                if rows.len() >= BATCH_ROWS {
                    out.extend(decode_csv(schema, &name, &rows, &mut quarantine).map_err(failed)?);
                    rows.clear();
                }
            }
            if !rows.is_empty() {
                out.extend(decode_csv(schema, &name, &rows, &mut quarantine).map_err(failed)?);
            }
            if let Some(q) = quarantine.first() {
                return Err(bad_data(q));
            }
        }
        Opened::Parquet(_) => {
            return Err(failed(
                "a Parquet object in a CSV or JSON table; crawl it again".into(),
            ));
        }
    }
    Ok(out)
}

/// The objects of a CSV or JSON table, read one after another when DataFusion asks.
pub struct RawFiles {
    pub lake: Arc<Lake>,
    pub reader: Principal,
    pub bucket: String,
    pub keys: Vec<String>,
    pub schema: SchemaRef,
}

impl fmt::Debug for RawFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawFiles")
            .field("bucket", &self.bucket)
            .field("objects", &self.keys.len())
            .finish()
    }
}

impl PartitionStream for RawFiles {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (lake, reader, bucket, schema) = (
            self.lake.clone(),
            self.reader.clone(),
            self.bucket.clone(),
            self.schema.clone(),
        );
        let batches = futures::stream::iter(self.keys.clone()).flat_map(move |key| {
            let batches: Vec<datafusion::error::Result<RecordBatch>> =
                match read_object(&lake, &reader, &bucket, &key, &schema) {
                    Ok(b) => b.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(DataFusionError::External(Box::new(e)))],
                };
            futures::stream::iter(batches)
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
    }
}
