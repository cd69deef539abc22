//! The Grants pane: Lake Formation grants by principal or by resource, revoke, and explain (the
//! grant editor is `grant_editor`). Like every console action, a grant or revoke is the
//! `lakectl lakeformation …` command shown before it runs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::app::{App, ListView, Msg};
use super::jobs::{Job, JobOutcome, command_text};
use super::popup::{Field, Form, FormKind, Popup};
use super::view::{empty, pane_block, table};
use crate::service::access::{
    DataCellsFilter, Explanation, Grant, Permission, Resource, format_tag_expression,
};
use crate::service::{Code, Principal, Result, ServiceError, Services};

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
                columns: t.column_names(),
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

pub(super) fn permission_names(ps: &[Permission]) -> String {
    ps.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
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
    if let Some(note) = e.hidden_columns_note() {
        out.push_str(&format!("  … {note}\n"));
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
            k.alias.as_deref().unwrap_or(&k.key_id),
            if k.usable { "usable" } else { "NOT usable" },
            k.reason
        ));
    }
    if !e.iam_decisions.is_empty() {
        out.push_str("\nIAM (identity and resource policies):\n");
        for d in &e.iam_decisions {
            let mark = if d.allowed { "✔" } else { "✘" };
            out.push_str(&format!("  {mark} {}  {}\n", d.action, d.decided_by));
        }
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
    let acting_admin = app
        .principals
        .iter()
        .any(|p| p.user_name == app.principal.name() && p.admin);
    let pane = &mut app.grants;
    if pane.list.items.is_empty() {
        let text = if acting_admin {
            "No Lake Formation grants yet. g makes one (principal → table → columns, a filter or tags), \
             e explains what a principal sees of a table and why."
        } else {
            "You hold no Lake Formation grants: no table's data is visible to you. e explains why."
        };
        return empty(f, area, block, text);
    }
    let rows: Vec<Vec<Line>> = pane
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
            vec![
                Line::from(first),
                Line::from(second),
                Line::from(permission_names(&g.permissions)),
                Line::from(option),
            ]
        })
        .collect();
    let header: [&str; 4] = if pane.by_resource {
        ["Resource", "Principal", "Permissions", "Grant option"]
    } else {
        ["Principal", "Resource", "Permissions", "Grant option"]
    };
    let t = table(rows, &header, block, area);
    f.render_stateful_widget(t, area, &mut pane.list.state);
}
