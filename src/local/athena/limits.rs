//! What bounds one query on the local lake, so hostile SQL ends with a clear error instead of
//! taking the process down: the statement's length and expression depth (checked before
//! planning, on a thread whose stack fits the bound, since parsing, planning and running all
//! recurse over the expression tree), the query's memory (a DataFusion memory pool; functions
//! whose output can dwarf their input reserve what they will make before they make it), its time
//! and the bytes it may scan (the work group's limits).

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{DataFusionError, ScalarValue};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, Statement, Visit, Visitor};

use crate::service::{Code, ServiceError};

/// Athena's longest query string.
pub const MAX_QUERY_BYTES: usize = 262_144;
/// The deepest expression tree a query may hold (1,400 `OR` terms make a tree 1,400 deep).
pub const MAX_EXPRESSION_DEPTH: usize = 4_096;
/// The stack of the threads that parse, plan and run a query: enough for the deepest tree
/// allowed through every recursive pass (the stack is reserved, not committed, until used).
pub const QUERY_STACK_BYTES: usize = 256 << 20;
/// Values at least this large are counted against the query's memory pool.
const COUNTED_VALUE_BYTES: usize = 1 << 20;

fn refused(message: String) -> ServiceError {
    ServiceError::new(Code::InvalidRequestException, message)
}

/// `EXCEEDED_MEMORY_LIMIT`, Athena's error name, with the limit.
pub fn memory_exceeded(limit: u64, detail: &str) -> ServiceError {
    ServiceError::new(
        Code::LimitExceeded,
        format!(
            "EXCEEDED_MEMORY_LIMIT: the query needs more than the work group's memory limit of {} MiB per query ({detail})",
            limit >> 20
        ),
    )
}

pub fn time_exceeded(limit: std::time::Duration) -> ServiceError {
    ServiceError::new(
        Code::LimitExceeded,
        format!(
            "EXCEEDED_TIME_LIMIT: the query ran longer than the work group's limit of {} s",
            limit.as_secs()
        ),
    )
}

pub fn scan_exceeded(cutoff: u64) -> ServiceError {
    ServiceError::new(
        Code::LimitExceeded,
        format!(
            "Query cancelled! Bytes scanned limit was exceeded: the work group's BytesScannedCutoffPerQuery is {cutoff}"
        ),
    )
}

/// Runs `f` on a thread with the query stack, and waits for it.
pub fn on_query_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("lakectl-query".into())
            .stack_size(QUERY_STACK_BYTES)
            .spawn_scoped(scope, f)
            .expect("a thread for the query")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The depth of the deepest expression in a statement, counted by the parser's own visitor.
struct Depth {
    current: usize,
    deepest: usize,
}

impl Visitor for Depth {
    type Break = ();

    fn pre_visit_expr(&mut self, _: &SqlExpr) -> ControlFlow<()> {
        self.current += 1;
        self.deepest = self.deepest.max(self.current);
        if self.deepest > MAX_EXPRESSION_DEPTH {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _: &SqlExpr) -> ControlFlow<()> {
        self.current -= 1;
        ControlFlow::Continue(())
    }
}

/// Refuses a statement longer than Athena's limit or deeper than the bound.
pub fn check_size(sql: &str, statement: &Statement) -> crate::service::Result<()> {
    if sql.len() > MAX_QUERY_BYTES {
        return Err(refused(format!(
            "the query is {} bytes; the limit is {MAX_QUERY_BYTES}",
            sql.len()
        )));
    }
    let mut depth = Depth {
        current: 0,
        deepest: 0,
    };
    if statement.visit(&mut depth).is_break() {
        return Err(refused(format!(
            "EXPRESSION_TOO_DEEP: an expression of the query is nested more than {MAX_EXPRESSION_DEPTH} levels deep"
        )));
    }
    Ok(())
}

/// The bytes one value of a call could take at most, judged from its arguments before it runs:
/// the functions whose output can be far larger than their input.
fn value_bound(name: &str, args: &[ColumnarValue]) -> Option<u128> {
    let longest = |v: &ColumnarValue| -> u128 {
        match v {
            ColumnarValue::Scalar(s) => match s {
                ScalarValue::Utf8(Some(t))
                | ScalarValue::LargeUtf8(Some(t))
                | ScalarValue::Utf8View(Some(t)) => t.len() as u128,
                _ => 0,
            },
            ColumnarValue::Array(a) => match a.data_type() {
                DataType::Utf8 => a.as_string::<i32>().iter().flatten().map(str::len).max(),
                DataType::LargeUtf8 => a.as_string::<i64>().iter().flatten().map(str::len).max(),
                DataType::Utf8View => a.as_string_view().iter().flatten().map(str::len).max(),
                _ => None,
            }
            .unwrap_or(0) as u128,
        }
    };
    let largest_int = |v: &ColumnarValue| -> u128 {
        let of = |s: &ScalarValue| match s {
            ScalarValue::Int64(Some(n)) => (*n).max(0) as u128,
            ScalarValue::Int32(Some(n)) => (*n).max(0) as u128,
            _ => 0,
        };
        match v {
            ColumnarValue::Scalar(s) => of(s),
            ColumnarValue::Array(a) => (0..a.len())
                .filter_map(|i| ScalarValue::try_from_array(a, i).ok())
                .map(|s| of(&s))
                .max()
                .unwrap_or(0),
        }
    };
    Some(match (name, args) {
        ("repeat", [s, n]) => longest(s) * largest_int(n),
        // The length is in characters, of up to 4 bytes each.
        ("lpad" | "rpad", [_, n, ..]) => 4 * largest_int(n),
        ("replace", [s, from, to]) => {
            let from = longest(from).max(1);
            longest(s) * longest(to).max(from) / from
        }
        ("regexp_replace", [s, _, to, ..]) => longest(s) * longest(to).max(1) + longest(s),
        _ => return None,
    })
}

/// A function whose output can dwarf its input, made to reserve its output against the
/// query's memory pool before it runs: past the pool's limit it fails with
/// EXCEEDED_MEMORY_LIMIT instead of allocating.
#[derive(Debug)]
pub struct Reserving {
    inner: Arc<ScalarUDF>,
    pool: Arc<dyn MemoryPool>,
    limit: u64,
    /// Large values stay counted until the query ends: they may be held by any operator above.
    held: Mutex<Vec<MemoryReservation>>,
}

impl Reserving {
    pub fn wrap(inner: Arc<ScalarUDF>, pool: Arc<dyn MemoryPool>, limit: u64) -> ScalarUDF {
        ScalarUDF::new_from_impl(Reserving {
            inner,
            pool,
            limit,
            held: Mutex::new(Vec::new()),
        })
    }

    fn reserve(&self, bytes: u128) -> datafusion::error::Result<()> {
        let exceeded = || {
            DataFusionError::External(Box::new(memory_exceeded(
                self.limit,
                &format!("{} would make {} MiB", self.inner.name(), bytes >> 20),
            )))
        };
        let bytes = usize::try_from(bytes).map_err(|_| exceeded())?;
        let reservation =
            MemoryConsumer::new(format!("lakectl {}", self.inner.name())).register(&self.pool);
        reservation.try_grow(bytes).map_err(|_| exceeded())?;
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(reservation);
        Ok(())
    }
}

impl PartialEq for Reserving {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
impl Eq for Reserving {}
impl std::hash::Hash for Reserving {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.name().hash(state);
    }
}

impl ScalarUDFImpl for Reserving {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }
    fn signature(&self) -> &Signature {
        self.inner.signature()
    }
    fn return_type(&self, args: &[DataType]) -> datafusion::error::Result<DataType> {
        self.inner.return_type(args)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> datafusion::error::Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }
    fn coerce_types(&self, args: &[DataType]) -> datafusion::error::Result<Vec<DataType>> {
        self.inner.coerce_types(args)
    }
    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        // Small values are left to the operators that hold them; a large one is counted, for
        // every row of the batch, before it is made.
        if let Some(per_value) = value_bound(self.inner.name(), &args.args)
            && per_value >= COUNTED_VALUE_BYTES as u128
        {
            // A value is copied as it moves up the plan and into the results, so one value may
            // take at most a quarter of the query's memory.
            if per_value > (self.limit / 4) as u128 {
                return Err(DataFusionError::External(Box::new(memory_exceeded(
                    self.limit,
                    &format!(
                        "{} would make one value of {} MiB; one value may take a quarter of the limit",
                        self.inner.name(),
                        per_value >> 20
                    ),
                ))));
            }
            self.reserve(per_value * args.number_rows.max(1) as u128)?;
        }
        self.inner.invoke_with_args(args)
    }
}

/// The names of the functions `Reserving` wraps.
pub const GROWING_FUNCTIONS: &[&str] = &["repeat", "lpad", "rpad", "replace", "regexp_replace"];

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::parser::DFParser;
    use datafusion::sql::sqlparser::dialect::GenericDialect;

    fn depth_check(sql: &str) -> crate::service::Result<()> {
        on_query_stack(|| {
            let statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {}).unwrap();
            match &statements[0] {
                datafusion::sql::parser::Statement::Statement(s) => check_size(sql, s),
                _ => unreachable!(),
            }
        })
    }

    #[test]
    fn a_deep_expression_is_refused_before_planning() {
        let ors = |n: usize| {
            format!(
                "SELECT 1 WHERE {}",
                (0..n)
                    .map(|i| format!("{i} = 1"))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            )
        };
        depth_check(&ors(1_400)).unwrap();
        let e = depth_check(&ors(MAX_EXPRESSION_DEPTH + 10)).unwrap_err();
        assert!(e.message.contains("EXPRESSION_TOO_DEEP"), "{}", e.message);
    }

    #[test]
    fn growth_is_judged_from_the_arguments() {
        let s = |t: &str| ColumnarValue::Scalar(ScalarValue::Utf8(Some(t.into())));
        let n = |v: i64| ColumnarValue::Scalar(ScalarValue::Int64(Some(v)));
        assert_eq!(
            value_bound("repeat", &[s("ab"), n(1_000_000_000)]),
            Some(2_000_000_000)
        );
        assert_eq!(value_bound("repeat", &[s("ab"), n(-5)]), Some(0));
        assert_eq!(value_bound("upper", &[s("ab")]), None);
    }
}
