//! DMS's table-mapping rules (`--table-mappings file://M.json`): which tables a task copies
//! (selection rules, include and exclude, `%` matching any run of characters) and how their
//! schema, table and column names land in the target (transformation rules: rename,
//! add-prefix, remove-prefix, convert-lowercase, convert-uppercase, remove-column). Parsed once
//! into typed rules, so a task never reads the JSON again.

use serde::Deserialize;

use crate::service::{Code, Result, ServiceError};

#[derive(Debug, Clone, Deserialize)]
struct RawRules {
    rules: Vec<RawRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawRule {
    rule_type: String,
    #[serde(default)]
    rule_target: Option<String>,
    #[serde(default)]
    object_locator: Locator,
    rule_action: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Locator {
    #[serde(default)]
    schema_name: Option<String>,
    #[serde(default)]
    table_name: Option<String>,
    #[serde(default)]
    column_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Schema,
    Table,
    Column,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Rename(String),
    AddPrefix(String),
    RemovePrefix(String),
    Lowercase,
    Uppercase,
    RemoveColumn,
}

#[derive(Debug, Clone)]
struct Transformation {
    target: Target,
    schema: String,
    table: String,
    column: String,
    action: Action,
}

/// The rules of one task.
#[derive(Debug, Clone)]
pub struct TableMappings {
    /// (schema pattern, table pattern, include?)
    selections: Vec<(String, String, bool)>,
    transformations: Vec<Transformation>,
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::new(Code::InvalidParameterValueException, message)
}

/// DMS's wildcard: `%` is any run of characters (none included); everything else is itself.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative glob matching with one backtrack point: linear in practice, never recursive.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

impl TableMappings {
    pub fn parse(text: &str) -> Result<TableMappings> {
        let raw: RawRules = serde_json::from_str(text)
            .map_err(|e| invalid(format!("the table mappings are not DMS's rules JSON: {e}")))?;
        let mut selections = Vec::new();
        let mut transformations = Vec::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let at = || format!("rule {}", i + 1);
            let schema = r.object_locator.schema_name.clone().unwrap_or("%".into());
            let table = r.object_locator.table_name.clone().unwrap_or("%".into());
            match r.rule_type.as_str() {
                "selection" => {
                    let include = match r.rule_action.as_str() {
                        "include" => true,
                        "exclude" => false,
                        other => {
                            return Err(invalid(format!(
                                "{}: a selection rule's action is include or exclude, not {other:?}",
                                at()
                            )));
                        }
                    };
                    if r.object_locator.schema_name.is_none()
                        || r.object_locator.table_name.is_none()
                    {
                        return Err(invalid(format!(
                            "{}: a selection rule names schema-name and table-name",
                            at()
                        )));
                    }
                    selections.push((schema, table, include));
                }
                "transformation" => {
                    let target = match r.rule_target.as_deref() {
                        Some("schema") => Target::Schema,
                        Some("table") => Target::Table,
                        Some("column") => Target::Column,
                        other => {
                            return Err(invalid(format!(
                                "{}: rule-target is schema, table or column, not {other:?}",
                                at()
                            )));
                        }
                    };
                    let value = || {
                        r.value.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
                            invalid(format!("{}: {} needs a value", at(), r.rule_action))
                        })
                    };
                    let action = match r.rule_action.as_str() {
                        "rename" => Action::Rename(value()?),
                        "add-prefix" => Action::AddPrefix(value()?),
                        "remove-prefix" => Action::RemovePrefix(value()?),
                        "convert-lowercase" => Action::Lowercase,
                        "convert-uppercase" => Action::Uppercase,
                        "remove-column" if target == Target::Column => Action::RemoveColumn,
                        other => {
                            return Err(invalid(format!(
                                "{}: the transformation {other:?} is not supported (rename, add-prefix, remove-prefix, convert-lowercase, convert-uppercase, remove-column)",
                                at()
                            )));
                        }
                    };
                    let column = r.object_locator.column_name.clone().unwrap_or("%".into());
                    if target == Target::Column && r.object_locator.column_name.is_none() {
                        return Err(invalid(format!(
                            "{}: a column rule names column-name",
                            at()
                        )));
                    }
                    transformations.push(Transformation {
                        target,
                        schema,
                        table,
                        column,
                        action,
                    });
                }
                other => {
                    return Err(invalid(format!(
                        "{}: rule-type is selection or transformation, not {other:?}",
                        at()
                    )));
                }
            }
        }
        if !selections.iter().any(|(_, _, include)| *include) {
            return Err(invalid(
                "the table mappings need at least one selection rule that includes tables",
            ));
        }
        Ok(TableMappings {
            selections,
            transformations,
        })
    }

    /// Whether the task copies `schema.table`: an include matches it and no exclude does.
    pub fn selected(&self, schema: &str, table: &str) -> bool {
        let hit = |include: bool| {
            self.selections
                .iter()
                .any(|(s, t, i)| *i == include && matches(s, schema) && matches(t, table))
        };
        hit(true) && !hit(false)
    }

    fn apply(
        &self,
        target: Target,
        name: &str,
        hit: impl Fn(&Transformation) -> bool,
    ) -> Option<String> {
        let mut out = name.to_string();
        for t in self
            .transformations
            .iter()
            .filter(|t| t.target == target && hit(t))
        {
            match &t.action {
                Action::Rename(v) => out = v.clone(),
                Action::AddPrefix(v) => out = format!("{v}{out}"),
                Action::RemovePrefix(v) => {
                    if let Some(rest) = out.strip_prefix(v.as_str()) {
                        out = rest.to_string();
                    }
                }
                Action::Lowercase => out = out.to_lowercase(),
                Action::Uppercase => out = out.to_uppercase(),
                Action::RemoveColumn => return None,
            }
        }
        Some(out)
    }

    /// The schema's name in the target.
    pub fn target_schema(&self, schema: &str) -> String {
        self.apply(Target::Schema, schema, |t| matches(&t.schema, schema))
            .unwrap_or_else(|| schema.to_string())
    }

    /// The table's name in the target.
    pub fn target_table(&self, schema: &str, table: &str) -> String {
        self.apply(Target::Table, table, |t| {
            matches(&t.schema, schema) && matches(&t.table, table)
        })
        .unwrap_or_else(|| table.to_string())
    }

    /// The column's name in the target, or None when a rule removes it.
    pub fn target_column(&self, schema: &str, table: &str, column: &str) -> Option<String> {
        self.apply(Target::Column, column, |t| {
            matches(&t.schema, schema) && matches(&t.table, table) && matches(&t.column, column)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("%", ""));
        assert!(matches("cust%", "customer"));
        assert!(matches("%er", "customer"));
        assert!(matches("c%t%r", "customer"));
        assert!(!matches("c%x", "customer"));
        assert!(!matches("card", "cards"));
        assert!(matches("card", "card"));
    }

    #[test]
    fn selections_and_transformations() {
        let m = TableMappings::parse(
            r#"{"rules":[
            {"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"public","table-name":"%"},"rule-action":"include"},
            {"rule-type":"selection","rule-id":"2","rule-name":"2","object-locator":{"schema-name":"public","table-name":"tmp%"},"rule-action":"exclude"},
            {"rule-type":"transformation","rule-id":"3","rule-name":"3","rule-target":"table","object-locator":{"schema-name":"public","table-name":"bank"},"rule-action":"rename","value":"banks"},
            {"rule-type":"transformation","rule-id":"4","rule-name":"4","rule-target":"table","object-locator":{"schema-name":"%","table-name":"%"},"rule-action":"add-prefix","value":"src_"},
            {"rule-type":"transformation","rule-id":"5","rule-name":"5","rule-target":"column","object-locator":{"schema-name":"public","table-name":"card","column-name":"cvv"},"rule-action":"remove-column"}
            ]}"#,
        )
        .unwrap();
        assert!(m.selected("public", "card"));
        assert!(!m.selected("public", "tmp_x"));
        assert!(!m.selected("other", "card"));
        assert_eq!(m.target_table("public", "bank"), "src_banks");
        assert_eq!(m.target_table("public", "card"), "src_card");
        assert_eq!(m.target_column("public", "card", "cvv"), None);
        assert_eq!(
            m.target_column("public", "card", "pan").as_deref(),
            Some("pan")
        );
        assert_eq!(m.target_schema("public"), "public");
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for bad in [
            "{}",
            r#"{"rules":[]}"#,
            r#"{"rules":[{"rule-type":"selection","object-locator":{"schema-name":"a","table-name":"b"},"rule-action":"explicit"}]}"#,
            r#"{"rules":[{"rule-type":"selection","object-locator":{"schema-name":"a","table-name":"b"},"rule-action":"include"},{"rule-type":"transformation","rule-target":"table","object-locator":{"schema-name":"a","table-name":"b"},"rule-action":"rename"}]}"#,
        ] {
            let e = TableMappings::parse(bad).unwrap_err();
            assert_eq!(e.code, Code::InvalidParameterValueException, "{bad}");
        }
    }
}
