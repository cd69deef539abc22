//! The visibility rules' tests, table-driven and without SQLite: grants, filters and tags in, what a
//! principal reads of a small table out, row by row and cell by cell.

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
