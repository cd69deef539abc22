//! What a command prints. JSON has the AWS CLI's shape (4-space indent, PascalCase fields); a
//! table is a generic rendering of that same JSON, so the two cannot disagree. Every string
//! goes through `terminal_text` on the way out: values come from data and other principals.

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde_json::{Map, Value};

use crate::service::ServiceError;
use crate::terminal_text::{self, inert, inert_lines};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Table,
}

pub fn json_pretty(value: &Value) -> String {
    terminal_text::json_pretty(value)
}

/// One line of JSON (error lines, headless records), with the same escaping as `json_pretty`.
pub fn json_line(value: &Value) -> String {
    terminal_text::json_line(value)
}

/// The command's answer, as it is printed (nothing for an empty answer, as the AWS CLI does).
pub fn render(value: &Value, format: Format) -> String {
    match value {
        Value::Object(m) if m.is_empty() => String::new(),
        _ => match format {
            Format::Json => json_pretty(value),
            Format::Table => render_table(value),
        },
    }
}

pub fn error_json(err: &ServiceError) -> Value {
    serde_json::json!({"Error": {"Code": err.code_name(), "Message": err.message}})
}

pub fn render_error(err: &ServiceError, format: Format) -> String {
    match format {
        Format::Json => json_line(&error_json(err)),
        Format::Table => format!(
            "An error occurred ({}): {}",
            err.code,
            inert_lines(&err.message)
        ),
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        // A table cell may span lines (comfy-table keeps them inside the cell's borders).
        Value::String(s) => inert_lines(s).into_owned(),
        other => inert_lines(&other.to_string()).into_owned(),
    }
}

fn new_table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t
}

fn rows_table(items: &[Value]) -> Table {
    let mut columns: Vec<String> = Vec::new();
    for item in items {
        if let Value::Object(m) = item {
            for k in m.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
    }
    let mut t = new_table();
    if columns.is_empty() {
        t.set_header(vec!["Value"]);
        for item in items {
            t.add_row(vec![cell(item)]);
        }
    } else {
        t.set_header(
            columns
                .iter()
                .map(|c| inert(c).into_owned())
                .collect::<Vec<_>>(),
        );
        for item in items {
            t.add_row(
                columns
                    .iter()
                    .map(|c| item.get(c).map(cell).unwrap_or_default())
                    .collect::<Vec<_>>(),
            );
        }
    }
    t
}

fn fields_table(fields: &Map<String, Value>) -> Table {
    let mut t = new_table();
    for (k, v) in fields {
        t.add_row(vec![inert(k).into_owned(), cell(v)]);
    }
    t
}

/// A query's result (`athena query`) as one table: its columns over its rows.
fn result_table(columns: &[Value], rows: &[Value]) -> Table {
    let mut t = new_table();
    t.set_header(columns.iter().map(cell).collect::<Vec<_>>());
    for row in rows {
        if let Value::Array(values) = row {
            t.add_row(values.iter().map(cell).collect::<Vec<_>>());
        }
    }
    t
}

fn render_table(value: &Value) -> String {
    let Value::Object(top) = value else {
        return cell(value);
    };
    if let (Some(Value::Array(columns)), Some(Value::Array(rows))) =
        (top.get("Columns"), top.get("Rows"))
    {
        return format!("{}\n({} row(s))", result_table(columns, rows), rows.len());
    }
    let mut sections = Vec::new();
    let mut scalars = Map::new();
    for (name, v) in top {
        match v {
            Value::Array(items) => sections.push(format!("{}\n{}", inert(name), rows_table(items))),
            Value::Object(inner) => {
                sections.push(format!("{}\n{}", inert(name), fields_table(inner)))
            }
            scalar => {
                scalars.insert(name.clone(), scalar.clone());
            }
        }
    }
    if !scalars.is_empty() {
        sections.insert(0, fields_table(&scalars).to_string());
    }
    sections.join("\n")
}
