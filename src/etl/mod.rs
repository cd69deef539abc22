//! The ETL job's engine: every object under a source prefix in, deduplicated Parquet (zstd) out,
//! encrypted, made visible at once in place of the previous run's output. It runs on either
//! backend: the backend is a `JobStore`, which opens source objects and writes and commits the
//! output (the local lake in one transaction; S3 by completing multipart uploads). Two threads:
//! one decrypts and decodes the sources into Arrow batches, the other deduplicates, masks,
//! encodes Parquet and encrypts. Records that cannot be rows go, encrypted, to `_errors/`.
//!
//! Memory is bounded by the run's `Budget` (budget.rs): a few batches of at most
//! `batch_bytes` each, one Parquet row group (128 Ki rows or `row_group_bytes`, whichever comes
//! first) and, with `--dedup`, the set of 128-bit hashes of the distinct rows (16 bytes each,
//! about 24 with the set's overhead; no record is kept), which may take `dedup_bytes`: past it
//! the set spills to sealed, hash-partitioned scratch files and dedup stays exact (dedup.rs).
//!
//! A column's type is what the sampled values agree on (`Spec::type_consensus`, consensus.rs):
//! records that do not fit it are quarantined, and read = written + duplicates + quarantined.
//!
//! A DMS folder (full load and change files) is applied by its primary key instead
//! (`Spec::apply`, apply.rs): the output is the table's current state.

pub mod apply;
pub mod budget;
pub mod consensus;
pub mod data_error;
mod dedup;
mod json_array;
mod output;
mod schema;
pub mod source;
mod store;

use dedup::Dedup;
use output::Output;
pub use schema::sample_schema;
use store::Chunks;
pub use store::{JobStore, SourceObject};

use std::io::Read;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::service::jobs::RunMetrics;
use crate::service::storage::PutOptions;
use crate::service::{Code, Principal, Progress, Result, ServiceError};
use budget::{Budget, exceeded_csv, exceeded_io};
use data_error::{DataError, Problem};
use source::{BATCH_ROWS, Format, Quarantined};

/// What one run reads and writes.
pub struct Spec {
    pub source_bucket: String,
    pub source_keys: Vec<String>,
    pub target_bucket: String,
    pub target_prefix: String,
    /// The schema, when the source is a catalog table: records that do not fit are quarantined.
    pub schema: Option<SchemaRef>,
    pub dedup: bool,
    /// The share of a column's sampled values that must agree on its type (consensus.rs).
    pub type_consensus: consensus::Consensus,
    /// Columns to mask, and how; applied after dedup, so duplicates are judged on real values.
    pub masks: Vec<(String, crate::mask::Operator)>,
    /// The keys `hash` and `tokenize` use.
    pub mask_keys: crate::mask::MaskKeys,
    pub put: PutOptions,
    pub run_id: String,
    /// The limits every source is decoded within.
    pub budget: Budget,
    /// The primary key, when the sources are a DMS table folder (`source_keys` in the order
    /// `apply::apply_order` gives): the output is the table's current state, changes applied.
    pub apply: Option<Vec<String>>,
}

pub struct Outcome {
    pub metrics: RunMetrics,
    pub outputs: Vec<String>,
    pub log: Vec<String>,
}

/// Why a run must end early: `Some(reason)` stops it (a stop request, the timeout).
pub type StopCheck<'a> = &'a (dyn Fn() -> Option<ServiceError> + Sync);

fn failed(m: impl Into<String>) -> ServiceError {
    ServiceError::new(Code::ValidationException, m)
}

/// Counts the plaintext bytes a source yields, for the run's progress and BytesRead.
struct Counting<R> {
    inner: R,
    progress: Progress,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// An error reading `object`: a budget's limit as `LimitExceededException`, else `other`.
fn read_error(e: &std::io::Error, other: impl FnOnce() -> ServiceError) -> ServiceError {
    match exceeded_io(e) {
        Some(limit) => limit.clone().into(),
        None => other(),
    }
}

/// One source object, opened and told apart.
pub enum Opened {
    Json(source::JsonRecords),
    Csv(csv::Reader<Box<dyn std::io::BufRead + Send>>),
    Parquet(parquet::arrow::arrow_reader::ParquetRecordBatchReader),
}

pub fn open_source<S: JobStore + ?Sized>(
    store: &S,
    by: &Principal,
    bucket: &str,
    key: &str,
    progress: &Progress,
    budget: &Budget,
) -> Result<(Format, Opened)> {
    let object = store.open(by, bucket, key)?;
    let name = format!("s3://{bucket}/{key}");
    let io = |e: std::io::Error| {
        read_error(&e, || {
            ServiceError::new(
                Code::InvalidCiphertextException,
                format!("s3://{bucket}/{key}: {e}"),
            )
        })
    };
    let counted = Counting {
        inner: object.reader_at(0),
        progress: progress.clone(),
    };
    let (format, reader, _gz) = source::sniff(Box::new(counted), &name, budget).map_err(io)?;
    let opened = match format {
        Format::Parquet => {
            let stored = object.len();
            let chunks = Chunks(object);
            let not_parquet =
                |e| failed(format!("s3://{bucket}/{key} is not readable Parquet: {e}"));
            let builder =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(chunks)
                    .map_err(not_parquet)?;
            budget.check_parquet(&name, stored, builder.metadata())?;
            let reader = builder
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(not_parquet)?;
            Opened::Parquet(reader)
        }
        Format::JsonLines | Format::JsonArray => {
            Opened::Json(source::JsonRecords::new(reader, format, &name, budget))
        }
        Format::Csv => Opened::Csv(csv::ReaderBuilder::new().flexible(true).from_reader(reader)),
    };
    Ok((format, opened))
}

/// What the decoding thread sends.
enum Decoded {
    Batch(RecordBatch),
    Quarantined(Vec<Quarantined>),
    /// Records seen in the sources (rows and quarantined alike).
    Records(u64),
    /// Records read that the current state no longer holds (applying changes).
    Superseded(u64),
}

/// Decodes every source, in order, into batches of the job's schema.
fn decode_all<S: JobStore>(
    store: &S,
    spec: &Spec,
    by: &Principal,
    schema: &SchemaRef,
    progress: &Progress,
    send: &dyn Fn(Decoded) -> bool,
) -> Result<()> {
    for key in &spec.source_keys {
        let object = format!("s3://{}/{key}", spec.source_bucket);
        let budget = &spec.budget;
        let (_, opened) = open_source(store, by, &spec.source_bucket, key, progress, budget)?;
        let mut quarantine = Vec::new();
        match opened {
            Opened::Parquet(reader) => {
                for batch in reader {
                    let batch = batch.map_err(|e| failed(format!("{object}: {e}")))?;
                    let n = batch.num_rows() as u64;
                    let cast =
                        cast_to(&batch, schema).map_err(|e| failed(format!("{object}: {e}")))?;
                    if !send(Decoded::Records(n)) || !send(Decoded::Batch(cast)) {
                        return Ok(());
                    }
                }
            }
            Opened::Json(mut records) => loop {
                let mut pending = source::JsonBatch::default();
                let mut seen = 0u64;
                while pending.len() < BATCH_ROWS && pending.bytes() < budget.batch_bytes() {
                    let Some((line, r)) = records
                        .next_record()
                        .map_err(|e| read_error(&e, || failed(format!("{object}: {e}"))))?
                    else {
                        break;
                    };
                    seen += 1;
                    if source::looks_like_object(r) {
                        pending.push(line, r);
                    } else {
                        let error = source::json_record_problem(&object, line, r)
                            .unwrap_or_else(|| DataError::new(&object, line, Problem::NotAnObject));
                        quarantine.push(Quarantined {
                            error,
                            record: String::from_utf8_lossy(r).into_owned(),
                        });
                    }
                }
                if seen == 0 {
                    break;
                }
                let batch = source::decode_json(schema, &object, &pending, &mut quarantine)
                    .map_err(failed)?;
                if !send(Decoded::Records(seen))
                    || !send(Decoded::Quarantined(std::mem::take(&mut quarantine)))
                {
                    return Ok(());
                }
                if let Some(b) = batch
                    && !send(Decoded::Batch(b))
                {
                    return Ok(());
                }
            },
            Opened::Csv(mut reader) => {
                let header = reader
                    .headers()
                    .map_err(|e| match exceeded_csv(&e) {
                        Some(limit) => limit.clone().into(),
                        None => failed(format!("{object}: {e}")),
                    })?
                    .clone();
                // The file's own columns, typed as the job's schema says.
                let file_schema = Arc::new(Schema::new(
                    header
                        .iter()
                        .map(|h| {
                            let t = schema
                                .field_with_name(h.trim())
                                .map(|f| f.data_type().clone())
                                .unwrap_or(DataType::Utf8);
                            Field::new(h.trim(), t, true)
                        })
                        .collect::<Vec<_>>(),
                ));
                let mut rows = reader.into_records();
                let mut line = 1u64;
                loop {
                    let mut pending = Vec::with_capacity(BATCH_ROWS);
                    let mut pending_bytes = 0usize;
                    while pending.len() < BATCH_ROWS && pending_bytes < budget.batch_bytes() {
                        match rows.next() {
                            None => break,
                            Some(Ok(r)) => {
                                line = r.position().map_or(line + 1, |p| p.line());
                                pending_bytes += r.as_byte_record().as_slice().len();
                                pending.push((line, r));
                            }
                            Some(Err(e)) => {
                                if let Some(limit) = exceeded_csv(&e) {
                                    return Err(limit.clone().into());
                                }
                                line += 1;
                                quarantine.push(Quarantined {
                                    error: DataError::new(&object, line, Problem::NotCsv),
                                    record: String::new(),
                                });
                            }
                        }
                    }
                    let seen = pending.len() as u64 + quarantine.len() as u64;
                    if seen == 0 {
                        break;
                    }
                    let batch =
                        source::decode_csv(&file_schema, &object, &pending, &mut quarantine)
                            .map_err(failed)?;
                    if !send(Decoded::Records(seen))
                        || !send(Decoded::Quarantined(std::mem::take(&mut quarantine)))
                    {
                        return Ok(());
                    }
                    if let Some(b) = batch {
                        let cast =
                            cast_to(&b, schema).map_err(|e| failed(format!("{object}: {e}")))?;
                        if !send(Decoded::Batch(cast)) {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Decodes every source of a DMS table folder, in order, into the table's current state, and
/// sends its rows; records no longer in the state count as superseded.
fn apply_all<S: JobStore>(
    store: &S,
    spec: &Spec,
    by: &Principal,
    read_schema: &SchemaRef,
    key: &[String],
    progress: &Progress,
    send: &dyn Fn(Decoded) -> bool,
) -> Result<()> {
    let folder = format!("s3://{}/", spec.source_bucket);
    let state = std::cell::RefCell::new(apply::State::new(
        read_schema,
        key,
        spec.budget.dedup_bytes(),
        &folder,
    )?);
    let failure = std::cell::RefCell::new(None);
    decode_all(store, spec, by, read_schema, progress, &|d| match d {
        Decoded::Batch(b) => match state.borrow_mut().apply(b) {
            Ok(()) => true,
            Err(e) => {
                *failure.borrow_mut() = Some(e);
                false
            }
        },
        other => send(other),
    })?;
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    let (batches, superseded) = state.into_inner().finish(BATCH_ROWS)?;
    if !send(Decoded::Superseded(superseded)) {
        return Ok(());
    }
    for b in batches {
        if !send(Decoded::Batch(b)) {
            return Ok(());
        }
    }
    Ok(())
}

/// A batch in the job's schema: columns by name, cast where types differ, null where absent.
fn cast_to(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> std::result::Result<RecordBatch, arrow::error::ArrowError> {
    if batch.schema() == *schema {
        return Ok(batch.clone());
    }
    let columns = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) if c.data_type() == f.data_type() => Ok(c.clone()),
            Some(c) => arrow::compute::cast(c, f.data_type()),
            None => Ok(arrow::array::new_null_array(
                f.data_type(),
                batch.num_rows(),
            )),
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

/// Runs the job: reads, dedups, masks, writes; commits the output and the quarantine together,
/// in place of the previous run's output.
pub fn run<S: JobStore>(
    store: &S,
    by: &Principal,
    spec: &Spec,
    progress: &Progress,
    stop: StopCheck,
    on_metrics: &dyn Fn(&RunMetrics),
) -> Result<Outcome> {
    let mut log = Vec::new();
    let (sampled, format) = match &spec.schema {
        Some(schema) => (
            schema.clone(),
            sample_schema(
                store,
                by,
                &spec.source_bucket,
                &spec.source_keys[..1],
                &spec.budget,
                spec.type_consensus,
            )?
            .1,
        ),
        // The full load's types are the table's: a change file of deletes alone has empty
        // cells, which would read as text.
        None if spec.apply.is_some() => {
            let loads: Vec<String> = spec
                .source_keys
                .iter()
                .filter(|k| apply::is_full_load(k))
                .cloned()
                .collect();
            let sampled = if loads.is_empty() {
                &spec.source_keys
            } else {
                &loads
            };
            sample_schema(
                store,
                by,
                &spec.source_bucket,
                sampled,
                &spec.budget,
                spec.type_consensus,
            )?
        }
        None => sample_schema(
            store,
            by,
            &spec.source_bucket,
            &spec.source_keys,
            &spec.budget,
            spec.type_consensus,
        )?,
    };
    // Applying changes reads `Op` beside the table's columns and writes the columns alone.
    let (read_schema, schema) = match spec.apply {
        Some(_) => apply::schemas(&sampled),
        None => (sampled.clone(), sampled),
    };
    log.push(format!(
        "schema from {}, format {:?}: {}",
        if spec.schema.is_some() {
            "the catalog".to_string()
        } else {
            format!("{} object(s)", spec.source_keys.len())
        },
        format,
        schema
            .fields()
            .iter()
            .map(|f| format!("{} {}", f.name(), source::hive_type(f.data_type())))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    if let Some(key) = &spec.apply {
        log.push(format!(
            "applying {} DMS file(s) by the primary key ({})",
            spec.source_keys.len(),
            key.join(", ")
        ));
    }
    let short = spec
        .run_id
        .split_once('_')
        .map_or(spec.run_id.as_str(), |(_, id)| id);
    let out_key = format!(
        "{}part-{}-00000.zstd.parquet",
        spec.target_prefix,
        &short[..8.min(short.len())]
    );
    let body = store.create(by, &spec.target_bucket, &out_key, &spec.put)?;
    let mut output = Output::new(
        body,
        &schema,
        &spec.masks,
        &spec.mask_keys,
        spec.budget.row_group_bytes(),
    )?;
    // About 100 bytes a record is typical of JSON and CSV; the set grows if there are more.
    let expected_rows = (progress.total() / 100) as usize;
    let mut dedup = if spec.dedup && spec.apply.is_none() {
        Some(Dedup::new(
            &schema,
            expected_rows,
            spec.budget.dedup_bytes(),
            store.scratch_area(),
            &format!("s3://{}/", spec.source_bucket),
        )?)
    } else {
        None
    };
    let mut metrics = RunMetrics::default();
    let mut quarantined: Vec<Quarantined> = Vec::new();

    let (tx, rx) = sync_channel::<Decoded>(4);
    let decoded: Result<()> = std::thread::scope(|scope| {
        let read_schema = &read_schema;
        // The producer owns the sender: when it ends, the channel closes and the loop below ends.
        let producer = scope.spawn(move || match &spec.apply {
            None => decode_all(store, spec, by, read_schema, progress, &|d| {
                tx.send(d).is_ok()
            }),
            Some(key) => apply_all(store, spec, by, read_schema, key, progress, &|d| {
                tx.send(d).is_ok()
            }),
        });
        let consumed = (|| -> Result<()> {
            for d in rx.iter() {
                if let Some(e) = stop() {
                    return Err(e);
                }
                match d {
                    Decoded::Records(n) => metrics.records_read += n,
                    Decoded::Superseded(n) => metrics.duplicates += n,
                    Decoded::Quarantined(q) => quarantined.extend(q),
                    Decoded::Batch(batch) => {
                        let batch = match dedup.as_mut() {
                            Some(d) => {
                                let (kept, dropped) = d.apply(&batch)?;
                                metrics.duplicates += dropped;
                                kept
                            }
                            None => batch,
                        };
                        metrics.records_written += output.write(batch)?;
                        on_metrics(&metrics);
                    }
                }
            }
            Ok(())
        })();
        drop(rx);
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(ServiceError::internal("the decoding thread panicked")));
        // The consumer's error explains a producer that merely found the channel closed.
        consumed.and(produced)
    });
    decoded?;
    // Rows a spilled dedup held back are decided now, and written in the order they came.
    if let Some(d) = dedup.take() {
        if d.has_spilled() {
            log.push(format!(
                "the set of distinct rows outgrew its budget of {} bytes and spilled to sealed scratch files",
                spec.budget.dedup_bytes()
            ));
        }
        d.finish(&mut |kept, dropped| {
            if let Some(e) = stop() {
                return Err(e);
            }
            metrics.duplicates += dropped;
            metrics.records_written += output.write(kept)?;
            on_metrics(&metrics);
            Ok(())
        })?;
    }
    metrics.quarantined = quarantined.len() as u64;
    metrics.bytes_read = progress.done();
    debug_assert_eq!(
        metrics.records_read,
        metrics.records_written + metrics.duplicates + metrics.quarantined
    );

    let body = output.finish()?;
    let (sealed, written) = store.finish(body)?;
    metrics.bytes_written = written;
    let mut outputs = vec![format!("s3://{}/{out_key}", spec.target_bucket)];
    let mut bodies = vec![sealed];
    if !quarantined.is_empty() {
        let err_key = format!("{}_errors/{}.jsonl", spec.target_prefix, spec.run_id);
        let mut w = store.create(by, &spec.target_bucket, &err_key, &spec.put)?;
        for q in &quarantined {
            serde_json::to_writer(&mut w, q).map_err(|e| ServiceError::internal(e.to_string()))?;
            std::io::Write::write_all(&mut w, b"\n")
                .map_err(|e| ServiceError::local_io("cannot write the quarantine", &e))?;
        }
        bodies.push(store.finish(w)?.0);
        outputs.push(format!("s3://{}/{err_key}", spec.target_bucket));
        log.push(format!(
            "{} record(s) quarantined to s3://{}/{err_key}",
            quarantined.len(),
            spec.target_bucket
        ));
    }
    if let Some(e) = stop() {
        return Err(e);
    }
    store.commit(by, bodies, (&spec.target_bucket, &spec.target_prefix))?;
    log.push(format!(
        "read {} record(s): wrote {}, {} duplicate(s), {} quarantined",
        metrics.records_read, metrics.records_written, metrics.duplicates, metrics.quarantined
    ));
    Ok(Outcome {
        metrics,
        outputs,
        log,
    })
}
