//! The run's output: each batch masked (after dedup, so duplicates are judged on real values),
//! encoded as Parquet (zstd) and written to the output body, one row group at a time.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::failed;
use crate::mask::{MaskKeys, Operator};
use crate::service::{Result, ServiceError};

/// Batches on their way into one Parquet body.
pub(super) struct Output<'a, W: std::io::Write + Send> {
    /// The body, until the first batch makes the writer.
    body: Option<W>,
    writer: Option<ArrowWriter<W>>,
    schema: SchemaRef,
    plan: Vec<(usize, Operator)>,
    keys: &'a MaskKeys,
    row_group_bytes: usize,
}

impl<'a, W: std::io::Write + Send> Output<'a, W> {
    /// Output of `schema`'s rows into `body`, with `masks` applied.
    pub(super) fn new(
        body: W,
        schema: &SchemaRef,
        masks: &[(String, Operator)],
        keys: &'a MaskKeys,
        row_group_bytes: usize,
    ) -> Result<Self> {
        let (schema, plan) = masked_schema(schema, masks)?;
        Ok(Output {
            body: Some(body),
            writer: None,
            schema,
            plan,
            keys,
            row_group_bytes,
        })
    }

    /// Masks and writes a batch; returns its rows.
    pub(super) fn write(&mut self, batch: RecordBatch) -> Result<u64> {
        if batch.num_rows() == 0 {
            return Ok(0);
        }
        let batch = apply_masks(batch, &self.schema, &self.plan, self.keys)?;
        // The writer is made when the first batch shows which columns deserve a dictionary.
        if self.writer.is_none() {
            let props = writer_properties(&batch);
            let w = ArrowWriter::try_new(
                self.body.take().expect("one writer"),
                self.schema.clone(),
                Some(props),
            );
            self.writer = Some(w.map_err(|e| failed(e.to_string()))?);
        }
        let w = self.writer.as_mut().expect("made above");
        let write_error =
            |e| ServiceError::local_io("cannot write Parquet", &std::io::Error::other(e));
        w.write(&batch).map_err(write_error)?;
        // A row group is buffered whole: wide rows end it before 128 Ki rows.
        if w.in_progress_size() > self.row_group_bytes {
            w.flush().map_err(write_error)?;
        }
        Ok(batch.num_rows() as u64)
    }

    /// Ends the Parquet file and gives the body back. No rows at all still make a Parquet file:
    /// the schema, for whoever reads the output.
    pub(super) fn finish(self) -> Result<W> {
        let writer = match self.writer {
            Some(w) => w,
            None => ArrowWriter::try_new(
                self.body.expect("one writer"),
                self.schema.clone(),
                Some(writer_properties_for(&self.schema, None)),
            )
            .map_err(|e| failed(e.to_string()))?,
        };
        writer
            .into_inner()
            .map_err(|e| failed(format!("cannot finish the Parquet file: {e}")))
    }
}

/// zstd at level 1, row groups of 128 Ki rows, and a dictionary only for string columns with
/// few distinct values in `first` (under a tenth of its rows): on ids, timestamps and other
/// unique values a dictionary costs time and, falling back, makes the file larger.
fn writer_properties(first: &RecordBatch) -> WriterProperties {
    writer_properties_for(&first.schema(), Some(first))
}

fn writer_properties_for(schema: &SchemaRef, first: Option<&RecordBatch>) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("zstd level 1"),
        ))
        .set_max_row_group_row_count(Some(128 * 1024))
        .set_dictionary_enabled(false);
    if let Some(batch) = first {
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            let Some(strings) = column.as_any().downcast_ref::<arrow::array::StringArray>() else {
                continue;
            };
            let distinct: HashSet<&str> = strings.iter().flatten().collect();
            if distinct.len() * 10 < batch.num_rows().max(1) {
                builder = builder.set_column_dictionary_enabled(field.name().as_str().into(), true);
            }
        }
    }
    builder.build()
}

/// The schema written, and for each masked column its index and operator.
fn masked_schema(
    schema: &SchemaRef,
    masks: &[(String, Operator)],
) -> Result<(SchemaRef, Vec<(usize, Operator)>)> {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut plan = Vec::new();
    for (column, op) in masks {
        let i = schema.index_of(column).map_err(|_| {
            failed(format!(
                "--mask names column {column:?}, which the data does not have (columns: {})",
                schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        fields[i] = Field::new(column, op.output_type(fields[i].data_type()), true);
        plan.push((i, *op));
    }
    Ok((Arc::new(Schema::new(fields)), plan))
}

fn apply_masks(
    batch: RecordBatch,
    schema: &SchemaRef,
    plan: &[(usize, Operator)],
    keys: &MaskKeys,
) -> Result<RecordBatch> {
    if plan.is_empty() {
        return Ok(batch);
    }
    let mut columns = batch.columns().to_vec();
    for (i, op) in plan {
        columns[*i] = op.apply(&columns[*i], keys).map_err(failed)?;
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| failed(e.to_string()))
}
