//! Row filters of data cells filters. A filter is stored as text and compiled into every query
//! of every principal it governs, so it is held to a small language: comparisons, IN, BETWEEN,
//! LIKE, IS [NOT] NULL, NOT, AND and OR over the table's columns and literals. Anything else
//! (functions, subqueries, casts) is refused when the filter is created, not when it is used.

use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use crate::service::{Code, Result, ServiceError};

/// Checks `text` against the language and the table's columns; returns the columns it names.
pub fn check(text: &str, columns: &[String]) -> Result<Vec<String>> {
    let invalid = |why: String| {
        ServiceError::new(
            Code::InvalidInputException,
            format!("row filter {text:?}: {why}"),
        )
    };
    let mut parser = Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .map_err(|e| invalid(e.to_string()))?;
    let expr = parser.parse_expr().map_err(|e| invalid(e.to_string()))?;
    if parser.peek_token().token != Token::EOF {
        return Err(invalid(format!(
            "unexpected {} after the expression",
            parser.peek_token().token
        )));
    }
    let mut named = Vec::new();
    walk(&expr, columns, &mut named).map_err(invalid)?;
    Ok(named)
}

fn walk(
    expr: &Expr,
    columns: &[String],
    named: &mut Vec<String>,
) -> std::result::Result<(), String> {
    let mut go = |e: &Expr| walk(e, columns, named);
    match expr {
        Expr::Identifier(ident) => {
            // Unquoted names are case-insensitive, as in queries; quoted ones are exact.
            let found = columns.iter().find(|c| match ident.quote_style {
                Some(_) => **c == ident.value,
                None => c.eq_ignore_ascii_case(&ident.value),
            });
            match found {
                Some(c) => {
                    if !named.contains(c) {
                        named.push(c.clone());
                    }
                    Ok(())
                }
                None => Err(format!("the table has no column {}", ident.value)),
            }
        }
        Expr::Value(v) => match &v.value {
            Value::Number(..) | Value::SingleQuotedString(_) | Value::Boolean(_) | Value::Null => {
                Ok(())
            }
            other => Err(format!("the literal {other} is not supported")),
        },
        Expr::Nested(inner) => go(inner),
        Expr::UnaryOp { op, expr } => match op {
            UnaryOperator::Not | UnaryOperator::Minus | UnaryOperator::Plus => go(expr),
            other => Err(format!("the operator {other} is not supported")),
        },
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
            | BinaryOperator::And
            | BinaryOperator::Or => {
                go(left)?;
                go(right)
            }
            other => Err(format!(
                "the operator {other} is not supported (use comparisons, IN, BETWEEN, LIKE, IS NULL, NOT, AND, OR)"
            )),
        },
        Expr::InList { expr, list, .. } => {
            go(expr)?;
            list.iter().try_for_each(go)
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            go(expr)?;
            go(low)?;
            go(high)
        }
        Expr::Like {
            expr,
            pattern,
            any: false,
            escape_char: None,
            ..
        } => {
            go(expr)?;
            go(pattern)
        }
        Expr::IsNull(e) | Expr::IsNotNull(e) => go(e),
        other => Err(format!(
            "{other} is not supported in a row filter (use comparisons, IN, BETWEEN, LIKE, IS NULL, NOT, AND, OR over the table's columns)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<String> {
        ["symbol", "price", "Region"].map(String::from).to_vec()
    }

    #[test]
    fn accepts_the_language() {
        for ok in [
            "symbol = 'AMZN'",
            "price > 10 AND price <= 100.5",
            "symbol IN ('A', 'B') OR price BETWEEN 1 AND 2",
            "symbol LIKE 'A%' AND NOT (price IS NULL)",
            "\"Region\" <> 'eu' OR symbol IS NOT NULL",
            "TRUE",
            "price > -3",
        ] {
            assert!(check(ok, &cols()).is_ok(), "{ok}");
        }
        assert_eq!(
            check("SYMBOL = 'x' and price > 1", &cols()).unwrap(),
            ["symbol", "price"]
        );
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "upper(symbol) = 'A'",
            "symbol IN (SELECT symbol FROM t)",
            "CAST(price AS INT) = 1",
            "ssn = '1'",
            "symbol = 'a'; DROP TABLE t",
            "price + 1 > 2",
            "EXISTS (SELECT 1)",
            "\"region\" = 'eu'",
            "",
        ] {
            let err = check(bad, &cols()).unwrap_err();
            assert_eq!(err.code, Code::InvalidInputException, "{bad}");
        }
    }
}
