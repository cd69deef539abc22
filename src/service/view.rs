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
mod tests {
    //! The view's rules, table-driven over a small table's rows: for each set of grants, the
    //! rows and cells a principal sees. Row filters here are `column = 'value'`, evaluated by the
    //! test itself, so what is checked is the union the view computes, not a SQL engine.
    use super::*;
    use crate::service::access::RowFilter;
    use crate::service::catalog::{Column, SerdeInfo, StorageDescriptor};

    const DATA: [&str; 4] = ["id", "name", "region", "salary"];

    fn table() -> Table {
        let col = |n: &str| Column {
            name: n.into(),
            type_name: "string".into(),
        };
        Table {
            name: "people".into(),
            database_name: "hr".into(),
            create_time: chrono::Utc::now(),
            update_time: chrono::Utc::now(),
            storage_descriptor: StorageDescriptor {
                columns: DATA.iter().map(|c| col(c)).chain([col("ssn")]).collect(),
                location: "s3://b/people/".into(),
                input_format: String::new(),
                output_format: String::new(),
                serde_info: SerdeInfo {
                    serialization_library: String::new(),
                },
                compressed: false,
            },
            partition_keys: vec![col("year")],
            table_type: "EXTERNAL_TABLE".into(),
            parameters: BTreeMap::new(),
        }
    }

    /// id, name, region, salary, ssn, year.
    const ROWS: [[&str; 6]; 3] = [
        ["1", "ann", "eu", "10", "111", "2024"],
        ["2", "bob", "us", "20", "222", "2024"],
        ["3", "cy", "ap", "30", "333", "2025"],
    ];

    /// `column = 'value'`, the only form these tests use.
    fn holds(filter: &str, row: &[&str; 6]) -> bool {
        let (col, value) = filter.split_once(" = ").expect("a test filter");
        let value = value.trim_matches('\'');
        let all = table().column_names();
        let i = all.iter().position(|c| c == col).expect("a column");
        row[i] == value
    }

    /// What the principal reads: each visible row as `col=value` for every visible column, with
    /// `col=NULL` where its cell is masked in that row.
    fn read(view: &TableView) -> Vec<String> {
        let all = view.all_columns.clone();
        let mut out = Vec::new();
        for row in &ROWS {
            let row_visible = match view.rows() {
                None => true,
                Some(filters) => filters.iter().any(|f| holds(f, row)),
            };
            if !row_visible || !view.can_select() {
                continue;
            }
            let cells: Vec<String> = all
                .iter()
                .enumerate()
                .filter_map(|(i, c)| match view.cells(c) {
                    Cells::Hidden => None,
                    Cells::AllRows => Some(format!("{c}={}", row[i])),
                    Cells::Where(fs) if fs.iter().any(|f| holds(f, row)) => {
                        Some(format!("{c}={}", row[i]))
                    }
                    Cells::Where(_) => Some(format!("{c}=NULL")),
                })
                .collect();
            out.push(cells.join(" "));
        }
        out
    }

    fn on_table() -> Resource {
        Resource::Table {
            database_name: "hr".into(),
            name: "people".into(),
        }
    }

    fn columns(cols: &[&str]) -> Resource {
        Resource::TableWithColumns {
            database_name: "hr".into(),
            name: "people".into(),
            column_names: Some(cols.iter().map(|c| c.to_string()).collect()),
            column_wildcard: None,
        }
    }

    fn all_but(cols: &[&str]) -> Resource {
        Resource::TableWithColumns {
            database_name: "hr".into(),
            name: "people".into(),
            column_names: None,
            column_wildcard: Some(ColumnWildcard {
                excluded_column_names: cols.iter().map(|c| c.to_string()).collect(),
            }),
        }
    }

    fn cells_filter(name: &str) -> Resource {
        Resource::DataCellsFilter {
            database_name: "hr".into(),
            table_name: "people".into(),
            name: name.into(),
        }
    }

    fn tagged(expression: &[(&str, &[&str])]) -> Resource {
        Resource::LfTagPolicy {
            resource_type: "TABLE".into(),
            expression: expression
                .iter()
                .map(|(k, vs)| LfTag {
                    tag_key: k.to_string(),
                    tag_values: vs.iter().map(|v| v.to_string()).collect(),
                })
                .collect(),
        }
    }

    /// The data cells filters the tests grant: name -> (row filter, columns or all but some).
    fn filters(name: &str) -> Option<DataCellsFilter> {
        let (rows, include, exclude): (&str, Option<&[&str]>, Option<&[&str]>) = match name {
            "eu" => ("region = 'eu'", None, Some(&["ssn"])),
            "us" => ("region = 'us'", None, Some(&["ssn"])),
            "eu_name_region" => ("region = 'eu'", Some(&["name", "region"]), None),
            "us_name_salary" => ("region = 'us'", Some(&["name", "salary"]), None),
            "us_salary" => ("region = 'us'", Some(&["salary"]), None),
            "every_row_ssn" => ("TRUE", Some(&["ssn"]), None),
            _ => return None,
        };
        let list = |c: &[&str]| c.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        Some(DataCellsFilter {
            table_catalog_id: "123456789012".into(),
            database_name: "hr".into(),
            table_name: "people".into(),
            name: name.into(),
            row_filter: RowFilter {
                filter_expression: Some(rows.into()),
                all_rows_wildcard: None,
            },
            column_names: include.map(list),
            column_wildcard: exclude.map(|e| ColumnWildcard {
                excluded_column_names: list(e),
            }),
        })
    }

    /// Tags: the table is team=fin, level=public (from its database); `salary` is level=secret,
    /// `ssn` level=pii, `region` team=ops.
    fn tags() -> EffectiveTags {
        let set = |pairs: &[(&str, &str)]| -> TagSet {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), (v.to_string(), "test".to_string())))
                .collect()
        };
        let table_tags = set(&[("team", "fin"), ("level", "public")]);
        let columns = table()
            .column_names()
            .into_iter()
            .map(|c| {
                let mut t = table_tags.clone();
                let over = match c.as_str() {
                    "salary" => Some(("level", "secret")),
                    "ssn" => Some(("level", "pii")),
                    "region" => Some(("team", "ops")),
                    _ => None,
                };
                if let Some((k, v)) = over {
                    t.insert(k.into(), (v.into(), format!("column {c}")));
                }
                (c, t)
            })
            .collect();
        EffectiveTags {
            table: table_tags,
            columns,
        }
    }

    /// Grants as the tests write them: resources and the permissions held on each.
    type Grants = Vec<(Resource, Vec<Permission>)>;

    fn view(admin: bool, grants: Grants) -> TableView {
        let grants = grants
            .into_iter()
            .map(|(r, ps)| (r, ps.into_iter().map(|p| (p, false)).collect()))
            .collect();
        TableView::build(&table(), admin, grants, |n| Ok(filters(n)), || Ok(tags())).unwrap()
    }

    use Permission::{Describe, Select};

    #[test]
    fn each_set_of_grants_shows_exactly_its_rows_and_cells() {
        let all = "id={} name={} region={} salary={} ssn={} year={}";
        let full = |r: &[&str; 6]| {
            r.iter()
                .fold(all.to_string(), |s, v| s.replacen("{}", v, 1))
        };
        let cases: Vec<(&str, Grants, Vec<String>)> = vec![
            ("no grant: nothing", vec![], vec![]),
            (
                "DESCRIBE only: nothing to read",
                vec![(on_table(), vec![Describe])],
                vec![],
            ),
            (
                "SELECT on the table: every row, every column",
                vec![(on_table(), vec![Select])],
                ROWS.iter().map(full).collect(),
            ),
            (
                "a grant on another table gives nothing here",
                vec![(
                    Resource::Table {
                        database_name: "hr".into(),
                        name: "other".into(),
                    },
                    vec![Select],
                )],
                vec![],
            ),
            (
                "all but ssn and salary: the other columns of every row",
                vec![(all_but(&["ssn", "salary"]), vec![Select])],
                vec![
                    "id=1 name=ann region=eu year=2024".into(),
                    "id=2 name=bob region=us year=2024".into(),
                    "id=3 name=cy region=ap year=2025".into(),
                ],
            ),
            (
                "a column list naming a column the table lacks keeps only real ones",
                vec![(columns(&["name", "nope"]), vec![Select])],
                vec!["name=ann".into(), "name=bob".into(), "name=cy".into()],
            ),
            (
                "two row filters: a row visible if either admits it",
                vec![
                    (cells_filter("eu"), vec![Select]),
                    (cells_filter("us"), vec![Select]),
                ],
                vec![
                    "id=1 name=ann region=eu salary=10 year=2024".into(),
                    "id=2 name=bob region=us salary=20 year=2024".into(),
                ],
            ),
            (
                "one row filter alone",
                vec![(cells_filter("us"), vec![Select])],
                vec!["id=2 name=bob region=us salary=20 year=2024".into()],
            ),
            (
                "cells: a cell visible only where one grant admits both its row and column",
                vec![
                    (cells_filter("eu_name_region"), vec![Select]),
                    (cells_filter("us_name_salary"), vec![Select]),
                ],
                vec![
                    "name=ann region=eu salary=NULL".into(),
                    "name=bob region=NULL salary=20".into(),
                ],
            ),
            (
                "every row of some columns, and a column in some rows only",
                vec![
                    (columns(&["id"]), vec![Select]),
                    (cells_filter("us_salary"), vec![Select]),
                ],
                vec![
                    "id=1 salary=NULL".into(),
                    "id=2 salary=20".into(),
                    "id=3 salary=NULL".into(),
                ],
            ),
            (
                "a filter whose rows are TRUE admits every row",
                vec![(cells_filter("every_row_ssn"), vec![Select])],
                vec!["ssn=111".into(), "ssn=222".into(), "ssn=333".into()],
            ),
            (
                "a filter that no longer exists gives nothing",
                vec![(cells_filter("dropped"), vec![Select])],
                vec![],
            ),
            (
                "tags: AND across keys (team=fin and level=public)",
                vec![(
                    tagged(&[("team", &["fin"]), ("level", &["public"])]),
                    vec![Select],
                )],
                vec![
                    "id=1 name=ann year=2024".into(),
                    "id=2 name=bob year=2024".into(),
                    "id=3 name=cy year=2025".into(),
                ],
            ),
            (
                "tags: OR within a key (level public or secret), AND with team",
                vec![(
                    tagged(&[("team", &["fin"]), ("level", &["public", "secret"])]),
                    vec![Select],
                )],
                vec![
                    "id=1 name=ann salary=10 year=2024".into(),
                    "id=2 name=bob salary=20 year=2024".into(),
                    "id=3 name=cy salary=30 year=2025".into(),
                ],
            ),
            (
                "tags: OR within team admits the column whose team is overridden",
                vec![(
                    tagged(&[("team", &["fin", "ops"]), ("level", &["public"])]),
                    vec![Select],
                )],
                vec![
                    "id=1 name=ann region=eu year=2024".into(),
                    "id=2 name=bob region=us year=2024".into(),
                    "id=3 name=cy region=ap year=2025".into(),
                ],
            ),
            (
                "tags: a key no column has matches nothing",
                vec![(
                    tagged(&[("team", &["fin"]), ("owner", &["me"])]),
                    vec![Select],
                )],
                vec![],
            ),
            (
                "tags with DESCRIBE only give no rows",
                vec![(tagged(&[("team", &["fin"])]), vec![Describe])],
                vec![],
            ),
        ];
        for (what, grants, expected) in cases {
            assert_eq!(read(&view(false, grants)), expected, "{what}");
        }
    }

    #[test]
    fn an_admin_sees_everything_without_grants_filters_or_tags() {
        let v = TableView::build(
            &table(),
            true,
            vec![(cells_filter("us"), vec![(Select, false)])],
            |_| -> Result<Option<DataCellsFilter>> { panic!("an admin's view asks no filter") },
            || -> Result<EffectiveTags> { panic!("an admin's view asks no tags") },
        )
        .unwrap();
        assert_eq!(v.rows(), None);
        assert!(v.describe_held && v.can_select());
        assert_eq!(v.visible_columns(), table().column_names());
        assert_eq!(read(&v).len(), ROWS.len());
    }

    #[test]
    fn the_exclusion_list_is_what_explain_names() {
        let v = view(false, vec![(all_but(&["ssn"]), vec![Select])]);
        assert_eq!(
            v.visible_columns(),
            ["id", "name", "region", "salary", "year"]
        );
        assert!(!v.describe_held, "SELECT is not DESCRIBE");
        let decisions = column_decisions(&v, "analyst", "hr", "people");
        let ssn = decisions.iter().find(|d| d.column == "ssn").unwrap();
        assert!(!ssn.visible);
        assert_eq!(
            ssn.decided_by,
            ["excluded by SELECT on hr.people (all but ssn)"]
        );
        // Without DESCRIBE, explain shows the visible columns and only how many others there are.
        let (shown, hidden) = disclosed_columns(&v, decisions, false);
        assert_eq!(hidden, Some(1));
        assert!(shown.iter().all(|d| d.column != "ssn"));
    }

    #[test]
    fn cells_in_every_visible_row_need_no_mask_and_filters_are_shown_as_one() {
        let v = view(
            false,
            vec![
                (cells_filter("eu"), vec![Select]),
                (cells_filter("us"), vec![Select]),
            ],
        );
        assert_eq!(
            v.rows(),
            Some(vec![
                "region = 'eu'".to_string(),
                "region = 'us'".to_string()
            ])
        );
        assert_eq!(v.cells("name"), Cells::AllRows);
        assert_eq!(v.cells("ssn"), Cells::Hidden);
        assert_eq!(
            any_of(&v.rows().unwrap()),
            "(region = 'eu') OR (region = 'us')"
        );
        let v = view(
            false,
            vec![
                (cells_filter("eu_name_region"), vec![Select]),
                (cells_filter("us_name_salary"), vec![Select]),
            ],
        );
        assert_eq!(v.cells("name"), Cells::AllRows);
        assert_eq!(
            v.cells("salary"),
            Cells::Where(vec!["region = 'us'".into()])
        );
    }

    #[test]
    fn tag_expressions_match_and_across_keys_or_within_one() {
        let t = tags();
        let set = &t.table;
        let expr = |e: &[(&str, &[&str])]| match tagged(e) {
            Resource::LfTagPolicy { expression, .. } => expression,
            _ => unreachable!(),
        };
        for (e, want) in [
            (expr(&[("team", &["fin"])]), true),
            (expr(&[("team", &["hr", "fin"])]), true),
            (expr(&[("team", &["hr"])]), false),
            (expr(&[("team", &["fin"]), ("level", &["public"])]), true),
            (expr(&[("team", &["fin"]), ("level", &["secret"])]), false),
            (expr(&[("team", &["fin"]), ("owner", &["fin"])]), false),
            (vec![], false),
        ] {
            assert_eq!(matches(set, &e), want, "{e:?}");
        }
    }
}
