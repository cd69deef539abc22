//! The SQL session a query runs in, built for its principal: a catalog `awsdatacatalog` holding
//! only the tables the principal may select from, each narrowed to its visible columns and rows
//! (see `table`). Nothing else is reachable: no information_schema, no files or URLs, no
//! statements but queries. Enforcement is by construction: what is not in the session does not
//! exist for the query, so no rewrite of the query can reach it.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use aws_lc_rs::aead::LessSafeKey;
use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::{
    CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider, SchemaProvider,
};
use datafusion::common::{DataFusionError, ScalarValue};
use datafusion::execution::FunctionRegistry;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::execution::disk_manager::DiskManagerBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use rusqlite::params;

use super::limits::{self, GROWING_FUNCTIONS, Reserving};
use super::spill::{SPILL_LIMIT_FACTOR, SealedSpills};
use super::table::{GrantedTable, TableFile};
use crate::local::Lake;
use crate::local::access::bucket_and_prefix;
use crate::service::catalog::Table;
use crate::service::{Code, Principal, Result, ServiceError};

pub const CATALOG: &str = "awsdatacatalog";

fn refused(message: impl Into<String>) -> ServiceError {
    ServiceError::new(Code::InvalidRequestException, message)
}

/// How deep the parser may recurse (nested parentheses, subqueries); the query stack fits it.
pub const PARSER_RECURSION_LIMIT: usize = 256;

/// Only one SELECT (with its WITH, UNION, subqueries) per query, of bounded length and depth;
/// every other statement is refused before anything is planned. Parsing recurses, so it runs
/// on the query stack.
pub fn check_statement(sql: &str) -> Result<()> {
    if sql.len() > limits::MAX_QUERY_BYTES {
        return Err(refused(format!(
            "the query is {} bytes; the limit is {}",
            sql.len(),
            limits::MAX_QUERY_BYTES
        )));
    }
    limits::on_query_stack(|| check_parsed(sql))
}

fn check_parsed(sql: &str) -> Result<()> {
    let dialect = GenericDialect {};
    let statements = DFParserBuilder::new(sql)
        .with_dialect(&dialect)
        .with_recursion_limit(PARSER_RECURSION_LIMIT)
        .build()
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| match e.find_root() {
            DataFusionError::SQL(inner, _)
                if matches!(**inner, datafusion::sql::sqlparser::parser::ParserError::RecursionLimitExceeded) =>
            {
                refused(format!(
                    "EXPRESSION_TOO_DEEP: the query nests more than {PARSER_RECURSION_LIMIT} levels deep"
                ))
            }
            _ => refused(format!("the query does not parse: {e}")),
        })?;
    if statements.len() != 1 {
        return Err(refused(format!(
            "a query is one statement; this has {}",
            statements.len()
        )));
    }
    match &statements[0] {
        DFStatement::Statement(s) if matches!(**s, Statement::Query(_)) => {
            limits::check_size(sql, s)
        }
        DFStatement::Statement(s) => Err(refused(format!(
            "only queries (SELECT) run here; {} statements are refused",
            statement_kind(s)
        ))),
        DFStatement::CreateExternalTable(_) => Err(refused(
            "only queries (SELECT) run here; CREATE EXTERNAL TABLE is refused",
        )),
        DFStatement::CopyTo(_) => Err(refused("only queries (SELECT) run here; COPY is refused")),
        DFStatement::Explain(_) => Err(refused(
            "only queries (SELECT) run here; EXPLAIN is refused",
        )),
        DFStatement::Reset(_) => Err(refused("only queries (SELECT) run here; RESET is refused")),
    }
}

/// The statement's leading keywords (`CREATE TABLE`, `SET`, ...), for the refusal.
fn statement_kind(s: &Statement) -> String {
    let text = s.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    match words.as_slice() {
        [first, second]
            if matches!(
                first.to_ascii_uppercase().as_str(),
                "CREATE" | "DROP" | "ALTER" | "SHOW" | "DESCRIBE"
            ) =>
        {
            format!(
                "{} {}",
                first.to_ascii_uppercase(),
                second.to_ascii_uppercase()
            )
        }
        [first, ..] => first.to_ascii_uppercase(),
        [] => "empty".into(),
    }
}

/// What the query may run: no DDL, no DML, no SET.
pub fn sql_options() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

pub struct QuerySession {
    pub ctx: SessionContext,
    /// Bytes read from the lake's objects by the query (Athena's DataScannedInBytes).
    pub scanned: Arc<AtomicU64>,
}

/// A table the principal may select from, with what the session needs to read it.
struct Readable {
    table: Table,
    view: crate::local::access::view::TableView,
    reader: String,
    bucket: String,
    files: Vec<TableFile>,
}

impl Lake {
    pub(super) fn query_session(
        &self,
        id: &str,
        by: &Principal,
        database: Option<&str>,
        sql: &str,
        memory_limit: u64,
    ) -> Result<QuerySession> {
        let (readable, token_keys) = self.meta.read(|tx| {
            let caller = self.caller(tx, by)?;
            let mut stmt =
                tx.prepare("SELECT definition FROM catalog_tables ORDER BY database, name")?;
            let tables: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut readable = Vec::new();
            for text in tables {
                let table: Table = serde_json::from_str(&text)
                    .map_err(|e| ServiceError::internal(format!("a catalog table: {e}")))?;
                let view = self.table_view(tx, &caller, &table)?;
                if !view.can_select() {
                    continue;
                }
                let reader = self.data_reader(tx, &caller, &table)?;
                // IAM decides before Lake Formation, as for Athena on AWS: a table is in the
                // query's catalog only if the caller may glue:GetTable it and, where Lake
                // Formation's role reads the data, lakeformation:GetDataAccess. Otherwise it
                // does not exist for the query, like a table the caller holds nothing on.
                if !self.may_query(&caller, &table, &reader) {
                    continue;
                }
                let (bucket, files) = self.table_files(tx, &table)?;
                readable.push(Readable {
                    table,
                    view,
                    reader,
                    bucket,
                    files,
                });
            }
            // Token keys are derived only for a query that asks for them.
            let token_keys = if sql.to_ascii_lowercase().contains("detokenize") {
                self.token_keys(tx, &caller)?
            } else {
                Vec::new()
            };
            Ok((readable, token_keys))
        })?;

        let target = std::thread::available_parallelism().map_or(2, |n| n.get());
        let config = SessionConfig::new()
            .with_information_schema(false)
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema(CATALOG, database.unwrap_or("default"))
            .with_target_partitions(target)
            .set_usize(
                "datafusion.sql_parser.recursion_limit",
                PARSER_RECURSION_LIMIT,
            )
            // What a sort keeps back for merging its spilled runs: DataFusion's 10 MiB would
            // take all of a small limit before anything spilled.
            .set_usize(
                "datafusion.execution.sort_spill_reservation_bytes",
                usize::try_from(memory_limit / 8)
                    .unwrap_or(usize::MAX)
                    .min(10 << 20),
            );
        // Sorts, aggregates and joins that outgrow the memory limit spill to sealed files
        // (spill.rs), never plaintext; what cannot spill ends the query (EXCEEDED_MEMORY_LIMIT).
        let memory = usize::try_from(memory_limit).unwrap_or(usize::MAX);
        let spills = SealedSpills::new(
            self.dir.tmp(),
            memory_limit.saturating_mul(SPILL_LIMIT_FACTOR),
        );
        let runtime = RuntimeEnvBuilder::new()
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_temp_file_factory(Arc::new(spills)),
            )
            .with_memory_limit(memory, 1.0)
            .build_arc()
            .map_err(|e| ServiceError::internal(format!("the query runtime: {e}")))?;
        let pool = runtime.memory_pool.clone();
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        for name in GROWING_FUNCTIONS {
            if let Ok(f) = ctx.udf(name) {
                ctx.register_udf(Reserving::wrap(f, pool.clone(), memory_limit));
            }
        }
        let catalog = Arc::new(MemoryCatalogProvider::new());
        let scanned = Arc::new(AtomicU64::new(0));
        let lake = self.arc();
        for r in readable {
            let schema = match catalog.schema(&r.table.database_name) {
                Some(s) => s,
                None => {
                    let s: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
                    catalog
                        .register_schema(&r.table.database_name, s.clone())
                        .map_err(|e| ServiceError::internal(e.to_string()))?;
                    s
                }
            };
            let provider = GrantedTable::new(
                lake.clone(),
                Principal::new(&r.reader),
                &r.table,
                &r.view,
                r.bucket,
                r.files,
                &|s, schema| ctx.parse_sql_expr(s, schema),
                scanned.clone(),
                serde_json::json!({"QueryExecutionId": id, "OnBehalfOf": by.name()}),
            )?;
            schema
                .register_table(r.table.name.clone(), Arc::new(provider))
                .map_err(|e| ServiceError::internal(e.to_string()))?;
        }
        ctx.register_catalog(CATALOG, catalog);
        ctx.register_udf(ScalarUDF::new_from_impl(Detokenize::new(
            by.name(),
            token_keys,
        )));
        Ok(QuerySession { ctx, scanned })
    }

    /// The objects of a table: everything under its location but `_`- and `.`-prefixed names
    /// (quarantine, markers), with partition values read from `key=value/` folders.
    fn table_files(
        &self,
        tx: &rusqlite::Transaction,
        table: &Table,
    ) -> Result<(String, Vec<TableFile>)> {
        let (bucket, prefix) = bucket_and_prefix(&table.storage_descriptor.location)?;
        let rows: Vec<(String, u64)> = tx
            .prepare(
                "SELECT key, size FROM objects WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key",
            )?
            .query_map(params![bucket, prefix], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut files = Vec::new();
        'objects: for (key, size) in rows {
            let rest = &key[prefix.len()..];
            if rest
                .split('/')
                .any(|seg| seg.starts_with('_') || seg.starts_with('.'))
            {
                continue;
            }
            let mut values = Vec::new();
            for p in &table.partition_keys {
                let found = rest
                    .split('/')
                    .filter_map(|seg| seg.split_once('='))
                    .find(|(k, _)| *k == p.name);
                match found {
                    Some((_, v)) => values.push(ScalarValue::Utf8(Some(v.to_string()))),
                    None => continue 'objects,
                }
            }
            files.push(TableFile {
                key,
                size,
                partition_values: values,
            });
        }
        Ok((bucket, files))
    }

    /// The token keys of every customer key the caller may decrypt with, for `detokenize`.
    fn token_keys(
        &self,
        tx: &rusqlite::Transaction,
        caller: &crate::local::Caller,
    ) -> Result<Vec<LessSafeKey>> {
        let ids: Vec<String> = tx
            .prepare("SELECT id FROM keys WHERE manager = 'CUSTOMER' ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids
            .iter()
            .filter_map(|id| self.mask_keys_for(tx, caller, id, "kms:Decrypt").ok())
            .flat_map(|k| k.token.into_iter().chain(k.older_token))
            .collect())
    }
}

/// `detokenize(column)`: the plaintext of `tok1.` tokens, for a principal allowed kms:Decrypt
/// on the key that made them. Values that are not tokens pass through; a token no key of the
/// principal opens is an error, so a missing right never looks like missing data.
struct Detokenize {
    principal: String,
    keys: Vec<LessSafeKey>,
    signature: Signature,
}

impl Detokenize {
    fn new(principal: &str, keys: Vec<LessSafeKey>) -> Self {
        Detokenize {
            principal: principal.into(),
            keys,
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }

    fn open(&self, value: &str) -> datafusion::error::Result<String> {
        if !value.starts_with(crate::mask::TOKEN_PREFIX) {
            return Ok(value.to_string());
        }
        self.keys
            .iter()
            .find_map(|k| crate::mask::detokenize(value, k))
            .ok_or_else(|| {
                DataFusionError::External(Box::new(ServiceError::denied(format!(
                    "detokenize: {} may not use kms:Decrypt on the key these tokens were made with",
                    self.principal
                ))))
            })
    }
}

impl std::fmt::Debug for Detokenize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detokenize")
            .field("principal", &self.principal)
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl PartialEq for Detokenize {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
impl Eq for Detokenize {}
impl std::hash::Hash for Detokenize {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.principal.hash(state);
    }
}

impl ScalarUDFImpl for Detokenize {
    fn name(&self) -> &str {
        "detokenize"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let input = args.args[0].clone().into_array(args.number_rows)?;
        let strings = input
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| DataFusionError::Plan("detokenize takes a string column".into()))?;
        let out: StringArray = strings
            .iter()
            .map(|v| v.map(|s| self.open(s)).transpose())
            .collect::<datafusion::error::Result<_>>()?;
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}
