//! The Grants pane: Lake Formation grants by principal or by resource, the keyboard grant
//! editor (principal → table → columns, a data cells filter or a tag expression → permissions →
//! grant option → a preview of what changes → confirm), revoke, and explain. Like every console
//! action, a grant or revoke is the `lakectl lakeformation …` command shown before it runs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};

use super::app::{App, ListView, Msg};
use super::jobs::{Job, JobOutcome, command_text};
use super::popup::{Field, Form, FormKind, Popup};
use super::view::{empty, pane_block, table};
use crate::service::access::{
    DataCellsFilter, Explanation, Grant, Permission, Resource, format_tag_expression,
};
use crate::service::{Code, Principal, Result, ServiceError, Services};

/// What a new grant covers, as the editor's first step offers it.
pub const WHAT: [&str; 5] = [
    "the whole table",
    "some columns",
    "all columns but some",
    "a data cells filter",
    "a tag expression",
];

const TABLE_PERMISSIONS: [Permission; 7] = [
    Permission::Select,
    Permission::Describe,
    Permission::Alter,
    Permission::Drop,
    Permission::Insert,
    Permission::Delete,
    Permission::All,
];

/// A catalog table as the editor offers it.
#[derive(Debug, Clone)]
pub struct TableChoice {
    pub database: String,
    pub name: String,
    pub columns: Vec<String>,
}

impl TableChoice {
    pub fn label(&self) -> String {
        format!("{}.{}", self.database, self.name)
    }
}

pub struct GrantsData {
    pub grants: Vec<Grant>,
    pub tables: Vec<TableChoice>,
    pub filters: Vec<DataCellsFilter>,
}

pub struct GrantsPane {
    pub list: ListView<Grant>,
    /// Sorted by resource rather than by principal.
    pub by_resource: bool,
    pub tables: Vec<TableChoice>,
    pub filters: Vec<DataCellsFilter>,
}

impl GrantsPane {
    pub fn new() -> Self {
        GrantsPane {
            list: ListView::new(|g: &Grant| format!("{} {}", g.principal(), g.resource.describe())),
            by_resource: false,
            tables: Vec::new(),
            filters: Vec::new(),
        }
    }

    pub fn set(&mut self, data: GrantsData) {
        self.tables = data.tables;
        self.filters = data.filters;
        let mut grants = data.grants;
        self.sort(&mut grants);
        self.list.set(grants);
    }

    fn sort(&self, grants: &mut [Grant]) {
        if self.by_resource {
            grants.sort_by_key(|g| (g.resource.describe(), g.principal().to_string()));
        } else {
            grants.sort_by_key(|g| (g.principal().to_string(), g.resource.describe()));
        }
    }

    pub fn toggle_view(&mut self) {
        self.by_resource = !self.by_resource;
        let mut grants = std::mem::take(&mut self.list.items);
        self.sort(&mut grants);
        self.list.set(grants);
    }
}

/// Grants (a principal's own unless it is an admin), the tables it can describe, and the data
/// cells filters (admins only; others get none).
pub async fn load(s: &Services, p: &Principal) -> Result<GrantsData> {
    let grants = s.access.list_permissions(p, None, None).await?;
    let mut tables = Vec::new();
    for db in s.catalog.get_databases(p).await? {
        for t in s.catalog.get_tables(p, &db.name).await? {
            tables.push(TableChoice {
                database: db.name.clone(),
                name: t.name.clone(),
                columns: t
                    .storage_descriptor
                    .columns
                    .iter()
                    .chain(&t.partition_keys)
                    .map(|c| c.name.clone())
                    .collect(),
            });
        }
    }
    let filters = s
        .access
        .list_data_cells_filters(p, None)
        .await
        .unwrap_or_default();
    Ok(GrantsData {
        grants,
        tables,
        filters,
    })
}

/// The `lakeformation grant-permissions` arguments that name a resource.
pub fn resource_args(resource: &Resource) -> Vec<String> {
    let mut w: Vec<String> = Vec::new();
    let mut push = |a: &str, b: String| {
        w.push(a.to_string());
        w.push(b);
    };
    match resource {
        Resource::Catalog {} => w.push("--catalog".into()),
        Resource::Database { name } => push("--database", name.clone()),
        Resource::Table {
            database_name,
            name,
        } => push("--table", format!("{database_name}.{name}")),
        Resource::TableWithColumns {
            database_name,
            name,
            column_names,
            column_wildcard,
        } => {
            push("--table", format!("{database_name}.{name}"));
            if let Some(c) = column_names {
                push("--columns", c.join(","));
            }
            if let Some(wc) = column_wildcard {
                push("--excluded-columns", wc.excluded_column_names.join(","));
            }
        }
        Resource::DataLocation { resource_arn } => push(
            "--data-location",
            resource_arn.replace("arn:aws:s3:::", "s3://"),
        ),
        Resource::LfTagPolicy { expression, .. } => {
            push("--lf-tag-expression", format_tag_expression(expression))
        }
        Resource::DataCellsFilter {
            database_name,
            table_name,
            name,
        } => {
            push("--data-cells-filter", name.clone());
            push("--filter-table", format!("{database_name}.{table_name}"));
        }
    }
    w
}

fn permission_names(ps: &[Permission]) -> String {
    ps.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
}

/// "analyst gains SELECT on processed.symbol": what a grant adds, in words.
pub fn preview(grant: &Grant, existing: &[Grant]) -> String {
    let who = grant.principal();
    let perms = permission_names(&grant.permissions).replace(',', ", ");
    let what = match &grant.resource {
        Resource::Table { name, .. } => format!("{perms} on {name} (every column, every row)"),
        Resource::TableWithColumns {
            name,
            column_names: Some(cols),
            ..
        } => format!(
            "{perms} on {}",
            cols.iter()
                .map(|c| format!("{name}.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Resource::TableWithColumns {
            name,
            column_wildcard: Some(w),
            ..
        } => format!(
            "{perms} on every column of {name} but {}",
            w.excluded_column_names.join(", ")
        ),
        Resource::DataCellsFilter {
            table_name, name, ..
        } => format!("{perms} on the rows and columns of {table_name} that filter {name} admits"),
        Resource::LfTagPolicy { expression, .. } => format!(
            "{perms} on every table and column tagged {}",
            format_tag_expression(expression)
        ),
        other => format!("{perms} on {}", other.describe()),
    };
    let option = if grant.permissions_with_grant_option.is_empty() {
        String::new()
    } else {
        ", and may grant it to others".into()
    };
    let held = existing.iter().any(|g| {
        g.principal() == who
            && g.resource == grant.resource
            && grant.permissions.iter().all(|p| g.permissions.contains(p))
    });
    let note = if held {
        "\n(it already holds this: nothing changes)"
    } else {
        ""
    };
    format!("{who} gains {what}{option}{note}")
}

/// The explanation as the console shows it.
pub fn explanation_text(e: &Explanation) -> String {
    let mut out = format!("What {} sees of {}, and why\n\n", e.principal, e.table);
    let width = e.columns.iter().map(|c| c.column.len()).max().unwrap_or(0);
    for c in &e.columns {
        let mark = if c.visible { "✔" } else { "✘" };
        let rows = c
            .visible_where
            .as_ref()
            .map(|w| format!(" [only where {w}]"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {mark} {:<width$}  {}{rows}\n",
            c.column,
            c.decided_by.join("; ")
        ));
    }
    out.push_str(&format!(
        "\nRows: {}\n",
        match &e.row_filter {
            Some(f) => format!("only where {f}"),
            None if e.columns.iter().any(|c| c.visible) => "every row".into(),
            None => "none".into(),
        }
    ));
    out.push_str(&format!("Data read as: {}\n", e.data_read_as));
    for k in &e.keys {
        out.push_str(&format!(
            "Key {}: {} ({})\n",
            k.key_id,
            if k.usable { "usable" } else { "NOT usable" },
            k.reason
        ));
    }
    out
}

fn invalid(m: &str) -> ServiceError {
    ServiceError::new(Code::InvalidArgument, m.to_string())
}

impl App {
    pub(super) fn load_grants(&mut self) {
        let (s, p) = (self.services.clone(), self.principal.clone());
        self.spawn(async move { Msg::Grants(load(&s, &p).await) });
    }

    fn principal_names(&self) -> Vec<String> {
        self.principals
            .iter()
            .map(|p| p.user_name.clone())
            .collect()
    }

    /// Step 1 of the editor: who, which table, and what of it.
    pub(super) fn new_grant(&mut self) {
        let tables: Vec<String> = self.grants.tables.iter().map(TableChoice::label).collect();
        if tables.is_empty() {
            return self.show_error(&invalid(
                "there are no tables to grant on yet: crawl some data into the catalog first",
            ));
        }
        self.popup = Some(Popup::form(Form::new(
            FormKind::GrantStart,
            "New grant (1/2): who, and on what",
            vec![
                Field::Choice {
                    label: "Principal",
                    options: self.principal_names(),
                    selected: 0,
                },
                Field::Choice {
                    label: "Table",
                    options: tables,
                    selected: 0,
                },
                Field::Choice {
                    label: "Grant on",
                    options: WHAT.iter().map(|s| s.to_string()).collect(),
                    selected: 0,
                },
            ],
        )));
    }

    /// Step 2: the columns, filter or tags, the permissions and the grant option.
    pub(super) fn grant_details(&mut self, form: &Form) {
        let principal = form.value(0);
        let table = form.value(1);
        let what = form.value(2);
        let Some(t) = self
            .grants
            .tables
            .iter()
            .find(|t| t.label() == table)
            .cloned()
        else {
            return;
        };
        let mut fields = Vec::new();
        let only_select = matches!(
            what.as_str(),
            "some columns" | "all columns but some" | "a data cells filter"
        );
        match what.as_str() {
            "some columns" | "all columns but some" => fields.push(Field::Checks {
                label: if what == "some columns" {
                    "Columns to include"
                } else {
                    "Columns to exclude"
                },
                ticked: vec![false; t.columns.len()],
                options: t.columns.clone(),
                cursor: 0,
            }),
            "a data cells filter" => {
                let names: Vec<String> = self
                    .grants
                    .filters
                    .iter()
                    .filter(|f| f.database_name == t.database && f.table_name == t.name)
                    .map(|f| f.name.clone())
                    .collect();
                if names.is_empty() {
                    return self.show_error(&invalid(&format!(
                        "{} has no data cells filter; create one with :lakeformation create-data-cells-filter --name N --table {} --row-filter \"...\"",
                        t.label(),
                        t.label()
                    )));
                }
                fields.push(Field::Choice {
                    label: "Data cells filter",
                    options: names,
                    selected: 0,
                });
            }
            "a tag expression" => fields.push(Field::Text {
                label: "Tag expression (K=V1,V2;K2=V)",
                input: super::popup::single_line(""),
            }),
            _ => {}
        }
        let perms: Vec<String> = if only_select {
            vec!["SELECT".into()]
        } else {
            TABLE_PERMISSIONS
                .iter()
                .map(|p| p.as_str().to_string())
                .collect()
        };
        let mut ticked = vec![false; perms.len()];
        ticked[0] = true;
        fields.push(Field::Checks {
            label: "Permissions",
            options: perms,
            ticked,
            cursor: 0,
        });
        fields.push(Field::Choice {
            label: "Grant option (may grant to others)",
            options: vec!["no".into(), "yes".into()],
            selected: 0,
        });
        self.popup = Some(Popup::form(Form::new(
            FormKind::GrantDetails {
                principal: principal.clone(),
                database: t.database.clone(),
                table: t.name.clone(),
                what,
            },
            format!("New grant (2/2): {principal} on {}", t.label()),
            fields,
        )));
    }

    /// Step 3: the preview and the command, to confirm.
    pub(super) fn confirm_grant(
        &mut self,
        form: &Form,
        principal: &str,
        database: &str,
        table: &str,
        what: &str,
    ) {
        let (resource, rest) = match what {
            "the whole table" => (Resource::table(database, table), 0),
            "some columns" | "all columns but some" => {
                let cols: Vec<String> = form
                    .value(0)
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(String::from)
                    .collect();
                if cols.is_empty() {
                    return self.show_error(&invalid("tick at least one column (space)"));
                }
                let resource = if what == "some columns" {
                    Resource::TableWithColumns {
                        database_name: database.into(),
                        name: table.into(),
                        column_names: Some(cols),
                        column_wildcard: None,
                    }
                } else {
                    Resource::TableWithColumns {
                        database_name: database.into(),
                        name: table.into(),
                        column_names: None,
                        column_wildcard: Some(crate::service::access::ColumnWildcard {
                            excluded_column_names: cols,
                        }),
                    }
                };
                (resource, 1)
            }
            "a data cells filter" => (
                Resource::DataCellsFilter {
                    database_name: database.into(),
                    table_name: table.into(),
                    name: form.value(0),
                },
                1,
            ),
            _ => match crate::cli::lakeformation::parse_tag_expression(&form.value(0)) {
                Ok(expression) if !expression.is_empty() => (
                    Resource::LfTagPolicy {
                        resource_type: "TABLE".into(),
                        expression,
                    },
                    1,
                ),
                Ok(_) => return self.show_error(&invalid("write a tag expression: K=V1,V2;K2=V")),
                Err(e) => return self.show_error(&e),
            },
        };
        let perms: Vec<Permission> = form
            .value(rest)
            .split(',')
            .filter_map(Permission::parse)
            .collect();
        if perms.is_empty() {
            return self.show_error(&invalid("tick at least one permission (space)"));
        }
        let option = form.value(rest + 1) == "yes";
        let mut grant = Grant::new(principal, resource, perms.clone());
        if option {
            grant.permissions_with_grant_option = perms.clone();
        }
        let mut words: Vec<String> = [
            "lakeformation",
            "grant-permissions",
            "--principal",
            principal,
            "--permissions",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        words.push(permission_names(&perms));
        if option {
            words.push("--grant-option".into());
        }
        words.extend(resource_args(&grant.resource));
        let message = format!(
            "{}\n\n{}",
            preview(&grant, &self.grants.list.items),
            command_text(&words)
        );
        self.popup = Some(Popup::Confirm {
            message,
            job: Job::command(format!("grant to {principal}"), words, false),
        });
    }

    pub(super) fn revoke_selected(&mut self) {
        let Some(g) = self.grants.list.selected() else {
            return;
        };
        let mut words: Vec<String> = [
            "lakeformation",
            "revoke-permissions",
            "--principal",
            g.principal(),
            "--permissions",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        words.push(permission_names(&g.permissions));
        words.extend(resource_args(&g.resource));
        let message = format!(
            "Revoke {} on {} from {}? Its access ends now.\n\n{}",
            permission_names(&g.permissions),
            g.resource.describe(),
            g.principal(),
            command_text(&words)
        );
        self.popup = Some(Popup::Confirm {
            message,
            job: Job::command(format!("revoke from {}", g.principal()), words, false),
        });
    }

    /// Explain: for the selected grant's principal and table when it names one, else a form.
    pub(super) fn explain(&mut self) {
        let selected = self.grants.list.selected().and_then(|g| {
            let (d, t) = g.resource.table_name()?;
            Some((g.principal().to_string(), d.to_string(), t.to_string()))
        });
        match selected {
            Some((p, d, t)) => self.run_job(explain_job(p, d, t)),
            None => {
                let tables: Vec<String> =
                    self.grants.tables.iter().map(TableChoice::label).collect();
                if tables.is_empty() {
                    return self.show_error(&invalid("there are no tables to explain yet"));
                }
                self.popup = Some(Popup::form(Form::new(
                    FormKind::Explain,
                    "Explain: why does a principal see what it sees?",
                    vec![
                        Field::Choice {
                            label: "Principal",
                            options: self.principal_names(),
                            selected: 0,
                        },
                        Field::Choice {
                            label: "Table",
                            options: tables,
                            selected: 0,
                        },
                    ],
                )));
            }
        }
    }

    pub(super) fn explain_from(&mut self, form: &Form) {
        let table = form.value(1);
        if let Some((d, t)) = table.split_once('.') {
            self.run_job(explain_job(form.value(0), d.to_string(), t.to_string()));
        }
    }
}

pub fn explain_job(principal: String, database: String, table: String) -> Job {
    Job::new(format!("explain {principal} on {table}"), move |ctx| {
        Box::pin(async move {
            let e = ctx
                .services
                .access
                .explain(&ctx.principal, &principal, &database, &table)
                .await?;
            Ok(JobOutcome::Text {
                title: format!("explain: {principal} on {database}.{table}"),
                body: explanation_text(&e),
            })
        })
    })
}

pub fn render(app: &mut App, f: &mut Frame, area: Rect) {
    let pane = &mut app.grants;
    let order = if pane.by_resource {
        "by resource"
    } else {
        "by principal"
    };
    let title = format!(" Grants ({}, {order}) ", pane.list.items.len());
    let block = pane_block(title, app.current_filter());
    let pane = &mut app.grants;
    if pane.list.items.is_empty() {
        let text = if app.principal.name() == "admin" || !pane.tables.is_empty() {
            "No Lake Formation grants yet. g makes one (principal → table → columns, a filter or tags), \
             e explains what a principal sees of a table and why."
        } else {
            "You hold no Lake Formation grants: no table's data is visible to you. e explains why."
        };
        return empty(f, area, block, text);
    }
    let rows: Vec<Row> = pane
        .list
        .visible()
        .into_iter()
        .map(|g| {
            let option = if g.permissions_with_grant_option.is_empty() {
                String::new()
            } else {
                permission_names(&g.permissions_with_grant_option)
            };
            let (first, second) = if pane.by_resource {
                (g.resource.describe(), g.principal().to_string())
            } else {
                (g.principal().to_string(), g.resource.describe())
            };
            Row::new(vec![
                Cell::from(first),
                Cell::from(second),
                Cell::from(permission_names(&g.permissions)),
                Cell::from(option),
            ])
        })
        .collect();
    let header: [&str; 4] = if pane.by_resource {
        ["Resource", "Principal", "Permissions", "Grant option"]
    } else {
        ["Principal", "Resource", "Permissions", "Grant option"]
    };
    let widths = [
        Constraint::Fill(2),
        Constraint::Fill(4),
        Constraint::Fill(2),
        Constraint::Fill(1),
    ];
    let t = table(rows, &header, &widths, block);
    f.render_stateful_widget(t, area, &mut pane.list.state);
}
