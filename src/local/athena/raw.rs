//! CSV and JSON tables for queries: each object is decoded with the ETL job's readers (so a
//! table reads the way the crawler that cataloged it sampled it) within their budget, one batch
//! at a time, as a stream DataFusion pulls from. A record the table's schema cannot take fails
//! the query, as Athena's HIVE_BAD_DATA does; nothing is skipped silently. The error names the
//! object, and the line and column only as far as the principal sees them, never a value.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::StreamExt;

use crate::etl::budget::{Budget, exceeded_csv, exceeded_io};
use crate::etl::data_error::{DataError, Problem, Visibility};
use crate::etl::source::{BATCH_ROWS, JsonBatch, Quarantined, decode_csv, decode_json};
use crate::etl::{Opened, open_source};
use crate::local::Lake;
use crate::service::{Code, Principal, Progress, Result, ServiceError};

/// What the querying principal sees of the table, so an error names nothing else.
#[derive(Debug, Clone)]
pub struct Seen {
    pub columns: Vec<String>,
    pub all_rows: bool,
}

impl Seen {
    fn bad_data(&self, e: &DataError) -> ServiceError {
        let column = |c: &str| self.columns.iter().any(|v| v == c);
        let visible = Visibility {
            column: &column,
            all_rows: self.all_rows,
        };
        ServiceError::new(
            Code::InvalidRequestException,
            format!("HIVE_BAD_DATA: {}", e.message_for(&visible)),
        )
    }
}

/// One object's records, decoded a batch at a time as DataFusion pulls.
struct ObjectBatches {
    name: String,
    schema: SchemaRef,
    seen: Seen,
    budget: Budget,
    opened: Opened,
    /// Plaintext bytes read from the object, and how many of them are counted in `scanned`.
    progress: Progress,
    counted: u64,
    scanned: Arc<AtomicU64>,
    /// The CSV line of the next record (the header is line 1).
    line: u64,
    done: bool,
}

impl ObjectBatches {
    fn open(
        lake: &Lake,
        reader: &Principal,
        bucket: &str,
        key: &str,
        schema: &SchemaRef,
        seen: &Seen,
        scanned: &Arc<AtomicU64>,
    ) -> Result<Self> {
        let budget = Budget::default();
        let progress = Progress::default();
        let (_, mut opened) = open_source(lake, reader, bucket, key, &progress, &budget)?;
        let name = format!("s3://{bucket}/{key}");
        let failed =
            |e: String| ServiceError::new(Code::InvalidRequestException, format!("{name}: {e}"));
        match &mut opened {
            Opened::Csv(csv) => {
                let header = csv
                    .headers()
                    .map_err(|e| match exceeded_csv(&e) {
                        Some(limit) => limit.clone().into(),
                        None => failed(e.to_string()),
                    })?
                    .clone();
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                if header.iter().collect::<Vec<_>>() != names {
                    // The file's header is data; the table's columns are named only as seen.
                    return Err(failed(
                        "its header is not the table's columns; crawl it again".into(),
                    ));
                }
            }
            Opened::Json(_) => {}
            Opened::Parquet(_) => {
                return Err(failed(
                    "a Parquet object in a CSV or JSON table; crawl it again".into(),
                ));
            }
        }
        Ok(ObjectBatches {
            name,
            schema: schema.clone(),
            seen: seen.clone(),
            budget,
            opened,
            progress,
            counted: 0,
            scanned: scanned.clone(),
            line: 1,
            done: false,
        })
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let mut quarantine: Vec<Quarantined> = Vec::new();
        let name = self.name.clone();
        let batch = match &mut self.opened {
            Opened::Json(records) => {
                let mut batch = JsonBatch::default();
                while batch.len() < BATCH_ROWS && batch.bytes() < self.budget.batch_bytes() {
                    let next = records.next_record().map_err(|e| match exceeded_io(&e) {
                        Some(limit) => limit.clone().into(),
                        None => {
                            ServiceError::new(Code::InvalidRequestException, format!("{name}: {e}"))
                        }
                    })?;
                    match next {
                        Some((line, record)) => batch.push(line, record),
                        None => break,
                    }
                }
                if batch.is_empty() {
                    return Ok(None);
                }
                decode_json(&self.schema, &name, &batch, &mut quarantine)
            }
            Opened::Csv(csv) => {
                let mut rows = Vec::with_capacity(BATCH_ROWS);
                let mut bytes = 0usize;
                let mut record = csv::StringRecord::new();
                while rows.len() < BATCH_ROWS && bytes < self.budget.batch_bytes() {
                    self.line += 1;
                    match csv.read_record(&mut record) {
                        Ok(true) => {
                            self.line = record.position().map_or(self.line, |p| p.line());
                            bytes += record.as_byte_record().as_slice().len();
                            rows.push((self.line, record.clone()));
                        }
                        Ok(false) => break,
                        Err(e) => {
                            return Err(match exceeded_csv(&e) {
                                Some(limit) => limit.clone().into(),
                                None => self.seen.bad_data(&DataError::new(
                                    &name,
                                    self.line,
                                    Problem::NotCsv,
                                )),
                            });
                        }
                    }
                }
                if rows.is_empty() {
                    return Ok(None);
                }
                decode_csv(&self.schema, &name, &rows, &mut quarantine)
            }
            Opened::Parquet(_) => return Ok(None),
        };
        let batch = batch.map_err(|e| {
            ServiceError::new(Code::InvalidRequestException, format!("{name}: {e}"))
        })?;
        if let Some(q) = quarantine.first() {
            return Err(self.seen.bad_data(&q.error));
        }
        Ok(batch)
    }
}

impl Iterator for ObjectBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let next = self.next_batch();
            // Athena's DataScannedInBytes: what was read, as it is read.
            let read = self.progress.done();
            self.scanned
                .fetch_add(read - self.counted, Ordering::Relaxed);
            self.counted = read;
            match next {
                Ok(Some(b)) if b.num_rows() == 0 => continue,
                Ok(Some(b)) => return Some(Ok(b)),
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// The objects of a CSV or JSON table, read one after another when DataFusion asks.
pub struct RawFiles {
    pub lake: Arc<Lake>,
    pub reader: Principal,
    pub bucket: String,
    pub keys: Vec<String>,
    pub schema: SchemaRef,
    pub seen: Seen,
    pub scanned: Arc<AtomicU64>,
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
        let (lake, reader, bucket, schema, seen, scanned) = (
            self.lake.clone(),
            self.reader.clone(),
            self.bucket.clone(),
            self.schema.clone(),
            self.seen.clone(),
            self.scanned.clone(),
        );
        let batches = futures::stream::iter(self.keys.clone()).flat_map(move |key| {
            let batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send> =
                match ObjectBatches::open(&lake, &reader, &bucket, &key, &schema, &seen, &scanned) {
                    Ok(b) => Box::new(b),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                };
            futures::stream::iter(
                batches.map(|b| b.map_err(|e| DataFusionError::External(Box::new(e)))),
            )
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
    }
}
