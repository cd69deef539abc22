//! What one principal may see of one table, computed from the grants in force. Every path that
//! shows table data or its shape (queries, the catalog, `explain`) asks this one function, so
//! they cannot disagree.
//!
//! A grant that gives SELECT is a *slice*: some rows (a row filter, or all) by some columns. A
//! principal's view is the union of its slices, as Lake Formation defines it: a row is visible
//! if any slice admits it, and a cell is visible if some slice admits both its row and column.
//! A column is visible if any slice includes it; in rows its slices do not admit, it reads NULL.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Transaction, params};

use super::{Stored, tags};
use crate::local::{Caller, Lake};
use crate::service::Result;
use crate::service::access::{ColumnWildcard, Permission, Resource};
use crate::service::catalog::Table;

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

impl Lake {
    /// The view `caller` has of `table`. Lake admins (Lake Formation's data lake administrators)
    /// see everything.
    pub(in crate::local) fn table_view(
        &self,
        tx: &Transaction,
        caller: &Caller,
        table: &Table,
    ) -> Result<TableView> {
        let db = table.database_name.as_str();
        let name = table.name.as_str();
        let all_columns = table.column_names();
        let every: BTreeSet<String> = all_columns.iter().cloned().collect();
        let mut view = TableView {
            all_columns,
            slices: Vec::new(),
            described: false,
            exclusions: BTreeMap::new(),
        };
        if caller.admin {
            view.slices.push(Slice {
                rows: None,
                columns: every,
                source: "data lake administrator".into(),
            });
            return Ok(view);
        }
        let mut column_tags = None;
        for (resource, perms) in self.grants_of(tx, &caller.name)? {
            let select = grants_select(&perms);
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
                    name: filter,
                } if database_name == db && table_name == name => {
                    view.described = true;
                    if !select {
                        continue;
                    }
                    let Some(f) = self.data_cells_filter(tx, db, name, filter)? else {
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
                        source: words(&format!("data cells filter {filter}")),
                    });
                }
                Resource::LfTagPolicy { expression, .. } => {
                    let tags = match &column_tags {
                        Some(t) => t,
                        None => column_tags.insert(tags::effective(tx, table)?),
                    };
                    let table_matches = tags::matches(&tags.table, expression);
                    let columns: BTreeSet<String> = tags
                        .columns
                        .iter()
                        .filter(|(_, t)| tags::matches(t, expression))
                        .map(|(c, _)| c.clone())
                        .collect();
                    if table_matches || !columns.is_empty() {
                        view.described = true;
                    }
                    if select && !columns.is_empty() {
                        view.slices.push(Slice {
                            rows: None,
                            columns,
                            source: words(&resource.describe()),
                        });
                    }
                }
                Resource::Catalog {} => view.described = true,
                _ => {}
            }
        }
        Ok(view)
    }

    /// Every grant a principal holds, as resources with their permissions (and grant options).
    pub(in crate::local) fn grants_of(
        &self,
        tx: &Transaction,
        principal: &str,
    ) -> Result<Vec<(Resource, Vec<Held>)>> {
        let mut by_resource: BTreeMap<String, Vec<Held>> = BTreeMap::new();
        let mut stmt = tx.prepare(
            "SELECT resource, permission, grant_option FROM lf_permissions WHERE principal = ?1",
        )?;
        let rows = stmt.query_map(params![principal], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })?;
        for row in rows {
            let (resource, permission, option) = row?;
            if let Some(p) = Permission::parse(&permission) {
                by_resource.entry(resource).or_default().push((p, option));
            }
        }
        by_resource
            .into_iter()
            .map(|(text, perms)| Ok((Resource::load(&text)?, perms)))
            .collect()
    }
}
