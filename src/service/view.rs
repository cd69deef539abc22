//! What one principal may see of one table, computed from the grants it holds. Every path that
//! shows table data or its shape (queries, the catalog, `explain`) asks this one function, so
//! they cannot disagree; both backends feed it, each from its own store of grants, filters and
//! tags.
//!
//! A grant that gives SELECT is a *slice*: some rows (a row filter, or all) by some columns. A
//! principal's view is the union of its slices, as Lake Formation defines it: a row is visible
//! if any slice admits it, and a cell is visible if some slice admits both its row and column.
//! A column is visible if any slice includes it; in rows its slices do not admit, it reads NULL.
//!
//! LF-tags: a database's tags flow down to its tables and a table's to its columns, and a tag
//! set lower down overrides the same key from above. A tag-expression grant matches a table or
//! column when, for every key of the expression, its effective value is one of the key's values.

use std::collections::{BTreeMap, BTreeSet};

use super::Result;
use super::access::{ColumnDecision, ColumnWildcard, DataCellsFilter, LfTag, Permission, Resource};
use super::catalog::Table;

/// Effective tags: key -> (value, where it was set).
pub type TagSet = BTreeMap<String, (String, String)>;

#[derive(Default)]
pub struct EffectiveTags {
    pub table: TagSet,
    pub columns: Vec<(String, TagSet)>,
}

pub fn matches(tags: &TagSet, expression: &[LfTag]) -> bool {
    !expression.is_empty()
        && expression.iter().all(|t| {
            tags.get(&t.tag_key)
                .is_some_and(|(v, _)| t.tag_values.contains(v))
        })
}

/// A permission held, and whether with the grant option.
pub type Held = (Permission, bool);

#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// The row filter; `None` for every row.
    pub rows: Option<String>,
    pub columns: BTreeSet<String>,
    /// The grant that gave it, in words (`SELECT on db.t (symbol)`).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableView {
    /// Every column of the table (data columns, then partition keys), visible or not.
    pub all_columns: Vec<String>,
    pub slices: Vec<Slice>,
    /// Some permission (DESCRIBE, ALTER, ...) names the table, so it shows in the catalog.
    pub described: bool,
    /// DESCRIBE (or ALL) is held on the table itself: the principal may learn every column's
    /// name, including those it cannot select.
    pub describe_held: bool,
    /// Why each excluded column is excluded, for `explain`.
    pub exclusions: BTreeMap<String, Vec<String>>,
}

/// Where a column's cells are visible.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    Hidden,
    AllRows,
    /// Visible in rows where any of these filters holds.
    Where(Vec<String>),
}

impl TableView {
    /// The view a principal has of `table`, from the grants it holds. Lake admins (Lake
    /// Formation's data lake administrators) see everything. `filter` finds a data cells filter
    /// of the table by name; `tags` gives the table's effective tags, asked only when a tag
    /// grant needs them.
    pub fn build(
        table: &Table,
        admin: bool,
        grants: Vec<(Resource, Vec<Held>)>,
        mut filter: impl FnMut(&str) -> Result<Option<DataCellsFilter>>,
        mut tags: impl FnMut() -> Result<EffectiveTags>,
    ) -> Result<TableView> {
        let db = table.database_name.as_str();
        let name = table.name.as_str();
        let all_columns = table.column_names();
        let every: BTreeSet<String> = all_columns.iter().cloned().collect();
        let mut view = TableView {
            all_columns,
            slices: Vec::new(),
            described: false,
            describe_held: admin,
            exclusions: BTreeMap::new(),
        };
        if admin {
            view.slices.push(Slice {
                rows: None,
                columns: every,
                source: "data lake administrator".into(),
            });
            return Ok(view);
        }
        let mut column_tags = None;
        for (resource, perms) in grants {
            let select = grants_select(&perms);
            let describe = perms
                .iter()
                .any(|(p, _)| matches!(p, Permission::Describe | Permission::All));
            let words = |what: &str| {
                let p: Vec<&str> = perms.iter().map(|(p, _)| p.as_str()).collect();
                format!("{} on {what}", p.join(", "))
            };
            match &resource {
                Resource::Table {
                    database_name,
                    name: t,
                } if database_name == db && t == name => {
                    view.described = true;
                    view.describe_held |= describe;
                    if select {
                        view.slices.push(Slice {
                            rows: None,
                            columns: every.clone(),
                            source: words(&resource.describe()),
                        });
                    }
                }
                Resource::TableWithColumns {
                    database_name,
                    name: t,
                    column_names,
                    column_wildcard,
                } if database_name == db && t == name => {
                    view.described = true;
                    view.describe_held |= describe;
                    if !select {
                        continue;
                    }
                    if let Some(w) = column_wildcard {
                        for c in &w.excluded_column_names {
                            view.exclusions
                                .entry(c.clone())
                                .or_default()
                                .push(format!("excluded by {}", words(&resource.describe())));
                        }
                    }
                    let columns = chosen(&every, column_names, column_wildcard);
                    view.slices.push(Slice {
                        rows: None,
                        columns,
                        source: words(&resource.describe()),
                    });
                }
                Resource::DataCellsFilter {
                    database_name,
                    table_name,
                    name: filter_name,
                } if database_name == db && table_name == name => {
                    view.described = true;
                    if !select {
                        continue;
                    }
                    let Some(f) = filter(filter_name)? else {
                        continue;
                    };
                    let columns = chosen(&every, &f.column_names, &f.column_wildcard);
                    let rows = f
                        .row_filter
                        .filter_expression
                        .clone()
                        .filter(|e| !e.trim().eq_ignore_ascii_case("true"));
                    view.slices.push(Slice {
                        rows,
                        columns,
                        source: words(&format!("data cells filter {filter_name}")),
                    });
                }
                Resource::LfTagPolicy { expression, .. } => {
                    let tags = match &column_tags {
                        Some(t) => t,
                        None => column_tags.insert(tags()?),
                    };
                    let table_matches = matches(&tags.table, expression);
                    let columns: BTreeSet<String> = tags
                        .columns
                        .iter()
                        .filter(|(_, t)| matches(t, expression))
                        .map(|(c, _)| c.clone())
                        .collect();
                    if table_matches || !columns.is_empty() {
                        view.described = true;
                    }
                    view.describe_held |= table_matches && describe;
                    if select && !columns.is_empty() {
                        view.slices.push(Slice {
                            rows: None,
                            columns,
                            source: words(&resource.describe()),
                        });
                    }
                }
                Resource::Catalog {} => {
                    view.described = true;
                    view.describe_held |= describe;
                }
                _ => {}
            }
        }
        Ok(view)
    }

    pub fn cells(&self, column: &str) -> Cells {
        let mut filters = Vec::new();
        for s in self.slices.iter().filter(|s| s.columns.contains(column)) {
            match &s.rows {
                None => return Cells::AllRows,
                Some(f) => filters.push(f.clone()),
            }
        }
        if filters.is_empty() {
            return Cells::Hidden;
        }
        // Cells shown in every row the principal sees need no mask of their own.
        let mut mine = filters.clone();
        mine.sort();
        mine.dedup();
        let mut all_rows = self.rows().unwrap_or_default();
        all_rows.sort();
        all_rows.dedup();
        if mine == all_rows {
            Cells::AllRows
        } else {
            Cells::Where(filters)
        }
    }

    pub fn visible_columns(&self) -> Vec<String> {
        self.all_columns
            .iter()
            .filter(|c| self.cells(c) != Cells::Hidden)
            .cloned()
            .collect()
    }

    /// The rows the principal sees: `None` for every row, else any of these filters.
    pub fn rows(&self) -> Option<Vec<String>> {
        let live = self.slices.iter().filter(|s| !s.columns.is_empty());
        let mut filters = Vec::new();
        for s in live {
            match &s.rows {
                None => return None,
                Some(f) => filters.push(f.clone()),
            }
        }
        Some(filters)
    }

    pub fn can_select(&self) -> bool {
        self.slices.iter().any(|s| !s.columns.is_empty())
    }

    pub fn can_describe(&self) -> bool {
        self.described || self.can_select()
    }
}

/// `(f1) OR (f2)`, the form a set of filters is shown and compiled in.
pub fn any_of(filters: &[String]) -> String {
    if filters.len() == 1 {
        return filters[0].clone();
    }
    filters
        .iter()
        .map(|f| format!("({f})"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The columns an include list or an exclusion wildcard leaves of `every` (all, with neither).
fn chosen(
    every: &BTreeSet<String>,
    include: &Option<Vec<String>>,
    wildcard: &Option<ColumnWildcard>,
) -> BTreeSet<String> {
    match (include, wildcard) {
        (Some(include), _) => include
            .iter()
            .filter(|c| every.contains(*c))
            .cloned()
            .collect(),
        (None, Some(w)) => every
            .iter()
            .filter(|c| !w.excluded_column_names.contains(c))
            .cloned()
            .collect(),
        (None, None) => every.clone(),
    }
}

fn grants_select(perms: &[Held]) -> bool {
    perms
        .iter()
        .any(|(p, _)| matches!(p, Permission::Select | Permission::All))
}

/// Per column: visible or not, in which rows, and the grants, filters or exclusions that
/// decided. `explain` on both backends.
pub fn column_decisions(
    view: &TableView,
    principal: &str,
    database: &str,
    table: &str,
) -> Vec<ColumnDecision> {
    view.all_columns
        .iter()
        .map(|c| {
            let sources: Vec<String> = view
                .slices
                .iter()
                .filter(|s| s.columns.contains(c))
                .map(|s| match &s.rows {
                    None => s.source.clone(),
                    Some(f) => format!("{} (rows where {f})", s.source),
                })
                .collect();
            let cells = view.cells(c);
            let decided_by = if sources.is_empty() {
                let mut why = view.exclusions.get(c).cloned().unwrap_or_default();
                if why.is_empty() {
                    why.push(if view.slices.is_empty() {
                        format!("{principal} holds no SELECT on {database}.{table}")
                    } else {
                        format!("no grant of {principal} includes {c}")
                    });
                }
                why
            } else {
                sources
            };
            ColumnDecision {
                column: c.clone(),
                visible: cells != Cells::Hidden,
                visible_where: match &cells {
                    Cells::Where(f) => Some(any_of(f)),
                    _ => None,
                },
                decided_by,
            }
        })
        .collect()
}

/// What `explain` tells a principal about a table's columns: every column to an admin, or to a
/// principal holding a permission that names the table (DESCRIBE); otherwise only the columns it
/// sees, and how many more there are, so the names of the others stay unknown to it.
pub fn disclosed_columns(
    view: &TableView,
    decisions: Vec<ColumnDecision>,
    viewer_is_admin: bool,
) -> (Vec<ColumnDecision>, Option<usize>) {
    if viewer_is_admin || view.describe_held {
        return (decisions, None);
    }
    let total = decisions.len();
    let shown: Vec<ColumnDecision> = decisions.into_iter().filter(|c| c.visible).collect();
    let hidden = total - shown.len();
    (shown, (hidden > 0).then_some(hidden))
}

#[cfg(test)]
mod tests;
