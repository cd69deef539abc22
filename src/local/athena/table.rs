//! A catalog table as one principal may see it, for DataFusion. Its schema holds only the
//! columns the principal may see, so a hidden column does not exist for the query: it cannot be
//! selected, filtered, joined, grouped or explained. The row filter and the cell masks are
//! applied inside the scan, below anything the query adds, so no expression of the query ever
//! runs on a row or cell the principal may not see (and cannot leak one through an error).
//!
//! The Parquet objects are read through the lake's envelope: DataFusion asks for byte ranges and
//! gets them decrypted chunk by chunk, after the lake has authorized the read and recorded it.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{DFSchema, DataFusionError, ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::ParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, col, lit, when};
use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
use datafusion::parquet::arrow::async_reader::AsyncFileReader;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{
    PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::streaming::StreamingTableExec;
use futures::FutureExt;
use futures::future::BoxFuture;

use super::raw::RawFiles;
use crate::etl::source::query_type;
use crate::local::Lake;
use crate::local::access::view::{Cells, TableView};
use crate::local::envelope::SealedObject;
use crate::local::parquet_io::SealedChunks;
use crate::service::catalog::Table;
use crate::service::{Principal, ServiceError};

/// One object of a table, with the values of its partition keys.
#[derive(Debug, Clone)]
pub struct TableFile {
    pub key: String,
    pub size: u64,
    pub partition_values: Vec<ScalarValue>,
}

pub struct GrantedTable {
    lake: Arc<Lake>,
    /// Who reads the objects: the registered location's role, or the querying principal.
    reader: Principal,
    bucket: String,
    files: Vec<TableFile>,
    /// Data columns as the catalog types them (the files' physical schema may differ slightly;
    /// DataFusion casts).
    file_schema: SchemaRef,
    partition_fields: Vec<FieldRef>,
    /// What the principal sees: the visible columns, in table order.
    visible: SchemaRef,
    /// For each visible column, the rows its cells show in (`None`: all).
    cells: Vec<Option<Expr>>,
    /// The rows the principal sees (`None`: all).
    rows: Option<Expr>,
    scanned: Arc<AtomicU64>,
    /// Recorded with each object read: whose query it serves.
    audit: serde_json::Value,
    format: Format,
}

/// How the table's objects are read.
enum Format {
    Parquet,
    /// CSV or JSON, through the ETL job's readers.
    Raw,
    /// Not by a query, and why.
    Unreadable(String),
}

impl fmt::Debug for GrantedTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantedTable")
            .field("bucket", &self.bucket)
            .field("visible", &self.visible)
            .finish_non_exhaustive()
    }
}

/// `(a) OR (b)` of row filters, parsed against the table's full schema.
fn filter_expr(
    parse: &dyn Fn(&str) -> datafusion::error::Result<Expr>,
    filters: &[String],
) -> datafusion::error::Result<Expr> {
    let mut parsed = filters.iter().map(|f| parse(f));
    let first = parsed.next().expect("at least one filter")?;
    parsed.try_fold(first, |acc, e| Ok(acc.or(e?)))
}

impl GrantedTable {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        lake: Arc<Lake>,
        reader: Principal,
        table: &Table,
        view: &TableView,
        bucket: String,
        files: Vec<TableFile>,
        parse: &dyn Fn(&str, &DFSchema) -> datafusion::error::Result<Expr>,
        scanned: Arc<AtomicU64>,
        audit: serde_json::Value,
    ) -> Result<Self, ServiceError> {
        let field = |c: &crate::service::catalog::Column| -> Result<FieldRef, ServiceError> {
            let t = query_type(&c.type_name).ok_or_else(|| {
                ServiceError::internal(format!(
                    "{}.{}: the column {} has type {}, which queries cannot read yet",
                    table.database_name, table.name, c.name, c.type_name
                ))
            })?;
            // Parquet strings are read as views (no copy per value); the CSV and JSON readers
            // build plain strings.
            let parquet =
                table.parameters.get("classification").map(String::as_str) == Some("parquet");
            let t = match t {
                DataType::Utf8 if parquet => DataType::Utf8View,
                other => other,
            };
            Ok(Arc::new(Field::new(&c.name, t, true)))
        };
        let data: Vec<FieldRef> = table
            .storage_descriptor
            .columns
            .iter()
            .map(field)
            .collect::<Result<_, _>>()?;
        let partition_fields: Vec<FieldRef> = table
            .partition_keys
            .iter()
            .map(|c| Arc::new(Field::new(&c.name, DataType::Utf8, true)))
            .collect();
        let full = Schema::new(
            data.iter()
                .chain(&partition_fields)
                .cloned()
                .collect::<Vec<_>>(),
        );
        let full_df = DFSchema::try_from(full.clone())
            .map_err(|e| ServiceError::internal(format!("table schema: {e}")))?;
        let parse_here = |s: &str| parse(s, &full_df);
        let to_service = |e: DataFusionError| {
            ServiceError::internal(format!(
                "a row filter on {}.{} no longer compiles: {e}",
                table.database_name, table.name
            ))
        };
        let mut visible = Vec::new();
        let mut cells = Vec::new();
        for f in full.fields() {
            match view.cells(f.name()) {
                Cells::Hidden => continue,
                Cells::AllRows => cells.push(None),
                Cells::Where(filters) => cells.push(Some(
                    filter_expr(&parse_here, &filters).map_err(to_service)?,
                )),
            }
            visible.push(f.clone());
        }
        let rows = match view.rows() {
            Some(filters) if !filters.is_empty() => {
                Some(filter_expr(&parse_here, &filters).map_err(to_service)?)
            }
            _ => None,
        };
        let format = match table.parameters.get("classification").map(String::as_str) {
            Some("parquet") => Format::Parquet,
            Some("csv" | "json") if table.partition_keys.is_empty() => Format::Raw,
            Some("csv" | "json") => Format::Unreadable(format!(
                "{}.{} is a partitioned CSV or JSON table; queries read those unpartitioned (a Glue job turns it into Parquet)",
                table.database_name, table.name
            )),
            other => Format::Unreadable(format!(
                "{}.{} is a {} table, which queries cannot read",
                table.database_name,
                table.name,
                other.unwrap_or("unclassified")
            )),
        };
        Ok(GrantedTable {
            audit,
            format,
            lake,
            reader,
            bucket,
            files,
            file_schema: Arc::new(Schema::new(data)),
            partition_fields,
            visible: Arc::new(Schema::new(visible)),
            cells,
            rows,
            scanned,
        })
    }

    fn full_schema(&self) -> Schema {
        Schema::new(
            self.file_schema
                .fields()
                .iter()
                .chain(&self.partition_fields)
                .cloned()
                .collect::<Vec<_>>(),
        )
    }

    /// Opens the objects as the reader (authorized and recorded, in one transaction) and reads
    /// their footers.
    fn open_files(
        &self,
    ) -> Result<Vec<(TableFile, SealedObject, Arc<ParquetMetaData>)>, ServiceError> {
        let keys: Vec<String> = self.files.iter().map(|f| f.key.clone()).collect();
        let objects = self
            .lake
            .open_objects(&self.reader, &self.bucket, &keys, &self.audit)?;
        self.files
            .iter()
            .zip(objects)
            .map(|(f, object)| {
                let metadata = ParquetMetaDataReader::new()
                    .with_page_index_policy(PageIndexPolicy::Optional)
                    .parse_and_finish(&SealedChunks(object.clone()))
                    .map_err(|e| {
                        ServiceError::internal(format!(
                            "s3://{}/{} is not a readable Parquet file: {e}",
                            self.bucket, f.key
                        ))
                    })?;
                let name = format!("s3://{}/{}", self.bucket, f.key);
                crate::etl::budget::Budget::default().check_parquet(
                    &name,
                    object.len(),
                    &metadata,
                )?;
                Ok((f.clone(), object, Arc::new(metadata)))
            })
            .collect()
    }
}

/// Whether evaluating `e` on any row can neither fail nor say anything but true or false:
/// comparisons, ranges, IN lists, IS NULL and LIKE of columns against constants, with NOT, AND
/// and OR. (PostgreSQL calls such predicates leakproof.)
fn is_leakproof(e: &Expr) -> bool {
    use datafusion::logical_expr::Operator::*;
    let operand = |e: &Expr| matches!(e, Expr::Column(_) | Expr::Literal(..));
    match e {
        Expr::BinaryExpr(b) => match b.op {
            And | Or => is_leakproof(&b.left) && is_leakproof(&b.right),
            Eq | NotEq | Lt | LtEq | Gt | GtEq | IsDistinctFrom | IsNotDistinctFrom => {
                operand(&b.left) && operand(&b.right)
            }
            _ => false,
        },
        Expr::Not(inner) => is_leakproof(inner),
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => operand(inner),
        Expr::Between(b) => operand(&b.expr) && operand(&b.low) && operand(&b.high),
        Expr::InList(l) => operand(&l.expr) && l.list.iter().all(operand),
        Expr::Like(l) => operand(&l.expr) && matches!(*l.pattern, Expr::Literal(..)),
        _ => false,
    }
}

fn df_error(e: ServiceError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[async_trait]
impl TableProvider for GrantedTable {
    fn schema(&self) -> SchemaRef {
        self.visible.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters on columns the principal sees whole may prune row groups by their statistics;
    /// DataFusion still applies every filter above the scan.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        if let Format::Unreadable(why) = &self.format {
            return Err(df_error(ServiceError::new(
                crate::service::Code::InvalidRequestException,
                why.clone(),
            )));
        }
        let full = self.full_schema();
        let projection: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.visible.fields().len()).collect(),
        };
        // What the query gets: each projected column, masked to NULL outside its cells' rows.
        let outputs: Vec<(Expr, String)> = projection
            .iter()
            .map(|&i| {
                let name = self.visible.field(i).name().clone();
                let expr = match &self.cells[i] {
                    None => col(&name),
                    Some(rows) => {
                        let null = ScalarValue::try_from(self.visible.field(i).data_type())?;
                        when(rows.clone(), col(&name)).otherwise(lit(null))?
                    }
                };
                Ok((expr, name))
            })
            .collect::<datafusion::error::Result<_>>()?;
        let mut needed: BTreeSet<usize> = BTreeSet::new();
        let refs = outputs
            .iter()
            .map(|(e, _)| e)
            .chain(self.rows.as_ref())
            .flat_map(|e| e.column_refs())
            .map(|c| c.name.clone())
            .collect::<Vec<_>>();
        for name in refs {
            needed.insert(full.index_of(&name)?);
        }
        let needed: Vec<usize> = needed.into_iter().collect();

        let mut plan: Arc<dyn ExecutionPlan> = match self.format {
            Format::Raw => Arc::new(StreamingTableExec::try_new(
                self.file_schema.clone(),
                vec![Arc::new(RawFiles {
                    lake: self.lake.clone(),
                    reader: self.reader.clone(),
                    bucket: self.bucket.clone(),
                    keys: self.files.iter().map(|f| f.key.clone()).collect(),
                    schema: self.file_schema.clone(),
                    seen: super::raw::Seen {
                        columns: self
                            .visible
                            .fields()
                            .iter()
                            .map(|f| f.name().clone())
                            .collect(),
                        all_rows: self.rows.is_none() && self.cells.iter().all(Option::is_none),
                    },
                    scanned: self.scanned.clone(),
                })],
                None,
                Vec::new(),
                false,
                None,
            )?),
            _ => self.parquet_scan(state, &full, needed, filters, limit)?,
        };
        let scanned = DFSchema::try_from(plan.schema().as_ref().clone())?;
        if let Some(rows) = &self.rows {
            let predicate = state.create_physical_expr(rows.clone(), &scanned)?;
            plan = Arc::new(FilterExec::try_new(predicate, plan)?);
        }
        let exprs = outputs
            .into_iter()
            .map(|(e, name)| Ok((state.create_physical_expr(e, &scanned)?, name)))
            .collect::<datafusion::error::Result<Vec<_>>>()?;
        Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
    }
}

impl GrantedTable {
    /// The Parquet objects, read through their envelopes: only the columns `needed`, row groups
    /// pruned by the filters on columns the principal sees whole.
    fn parquet_scan(
        &self,
        state: &dyn Session,
        full: &Schema,
        needed: Vec<usize>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let opened = self.open_files().map_err(df_error)?;
        let factory = SealedParquetFiles {
            files: opened
                .iter()
                .map(|(f, o, m)| (f.key.clone(), (o.clone(), m.clone())))
                .collect(),
            scanned: self.scanned.clone(),
        };
        let table_schema = TableSchema::builder(self.file_schema.clone())
            .with_table_partition_cols(self.partition_fields.clone())
            .build();
        let mut source =
            ParquetSource::new(table_schema).with_parquet_file_reader_factory(Arc::new(factory));
        // Only filters over columns the principal sees whole may prune: a masked column's
        // stored values are not what the query compares against.
        let whole: Vec<&str> = self
            .visible
            .fields()
            .iter()
            .zip(&self.cells)
            .filter(|(_, c)| c.is_none())
            .map(|(f, _)| f.name().as_str())
            .collect();
        let prunable: Vec<Expr> = filters
            .iter()
            .filter(|f| {
                f.column_refs()
                    .iter()
                    .all(|c| whole.contains(&c.name.as_str()))
            })
            .cloned()
            .collect();
        // Parquet applies the predicate's conjuncts in order, each to the rows the previous ones
        // kept (reordering is off). The row filter goes before every query filter that could
        // fail or reveal a value (a CAST, a function), so those never run on a row the principal
        // may not see; leak-proof comparisons of columns with constants may go first, which
        // lets a selective query filter do the narrowing. The filters above the scan apply again.
        let (leakproof, other): (Vec<Expr>, Vec<Expr>) =
            prunable.into_iter().partition(is_leakproof);
        let predicate = conjunction(
            leakproof
                .into_iter()
                .chain(self.rows.iter().cloned())
                .chain(other),
        );
        if let Some(predicate) = predicate {
            let full_df = DFSchema::try_from(full.clone())?;
            let mut options = source.table_parquet_options().clone();
            // A row filter on a partition key is not evaluated in the Parquet reader; then the
            // predicate only prunes.
            let row_filter_on_partition = self.rows.as_ref().is_some_and(|r| {
                r.column_refs()
                    .iter()
                    .any(|c| self.partition_fields.iter().any(|p| p.name() == &c.name))
            });
            options.global.pushdown_filters = !row_filter_on_partition;
            options.global.reorder_filters = false;
            source = source
                .with_table_parquet_options(options)
                .with_predicate(state.create_physical_expr(predicate, &full_df)?);
        }
        let target = state.config().target_partitions().max(1);
        let mut groups: Vec<Vec<PartitionedFile>> =
            vec![Vec::new(); target.min(opened.len().max(1))];
        for (i, (f, _, _)) in opened.iter().enumerate() {
            let n = groups.len();
            groups[i % n].push(
                PartitionedFile::new(f.key.clone(), f.size)
                    .with_partition_values(f.partition_values.clone()),
            );
        }
        let exact_rows = self.rows.is_none() && self.cells.iter().all(Option::is_none);
        // Row counts from the footers let the planner put the small side of a join in its hash
        // table.
        let total_rows: i64 = opened
            .iter()
            .map(|(_, _, m)| m.file_metadata().num_rows())
            .sum();
        let statistics = Statistics::new_unknown(full)
            .with_num_rows(Precision::Exact(total_rows.max(0) as usize));
        let config =
            FileScanConfigBuilder::new(ObjectStoreUrl::local_filesystem(), Arc::new(source))
                .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
                .with_statistics(statistics)
                .with_projection_indices(Some(needed))?
                .with_limit(if exact_rows { limit } else { None })
                .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

/// Hands DataFusion's Parquet reader the lake's already-opened objects and their footers.
struct SealedParquetFiles {
    files: std::collections::HashMap<String, (SealedObject, Arc<ParquetMetaData>)>,
    scanned: Arc<AtomicU64>,
}

impl fmt::Debug for SealedParquetFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedParquetFiles")
            .field("files", &self.files.len())
            .finish()
    }
}

impl ParquetFileReaderFactory for SealedParquetFiles {
    fn create_reader(
        &self,
        _partition_index: usize,
        file: PartitionedFile,
        _metadata_size_hint: Option<usize>,
        _metrics: &ExecutionPlanMetricsSet,
    ) -> datafusion::error::Result<Box<dyn AsyncFileReader + Send>> {
        let key = file.object_meta.location.as_ref();
        let (object, metadata) = self.files.get(key).ok_or_else(|| {
            DataFusionError::Internal(format!(
                "the scan asked for an object it did not open: {key}"
            ))
        })?;
        Ok(Box::new(SealedParquetReader {
            object: object.clone(),
            metadata: metadata.clone(),
            scanned: self.scanned.clone(),
        }))
    }
}

struct SealedParquetReader {
    object: SealedObject,
    metadata: Arc<ParquetMetaData>,
    scanned: Arc<AtomicU64>,
}

impl AsyncFileReader for SealedParquetReader {
    /// Decryption is CPU work on data already local; it runs in place, on the scan's thread.
    fn get_bytes(
        &mut self,
        range: Range<u64>,
    ) -> BoxFuture<'_, datafusion::parquet::errors::Result<Bytes>> {
        let len = range.end.saturating_sub(range.start);
        self.scanned.fetch_add(len, Ordering::Relaxed);
        let out = self
            .object
            .read_range(range.start, len)
            .map(Bytes::from)
            .map_err(|e| ParquetError::External(Box::new(e)));
        futures::future::ready(out).boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, datafusion::parquet::errors::Result<Arc<ParquetMetaData>>> {
        futures::future::ready(Ok(self.metadata.clone())).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::cast;

    #[test]
    fn only_comparisons_with_constants_are_leakproof() {
        assert!(is_leakproof(&col("price").gt(lit(1.0))));
        assert!(is_leakproof(
            &col("price")
                .between(lit(1.0), lit(2.0))
                .and(col("s").is_null())
        ));
        assert!(is_leakproof(
            &col("s").in_list(vec![lit("a"), lit("b")], false)
        ));
        assert!(!is_leakproof(&cast(col("s"), DataType::Int32).eq(lit(1))));
        assert!(!is_leakproof(&(col("price") / col("qty")).gt(lit(1.0))));
        assert!(!is_leakproof(
            &col("price")
                .gt(lit(1.0))
                .or(cast(col("s"), DataType::Int32).eq(lit(1)))
        ));
    }
}
