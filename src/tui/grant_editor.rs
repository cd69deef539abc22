//! The grant editor: the keyboard path from "who" to a confirmed `lakeformation
//! grant-permissions`. Step 1 picks the principal, the table and what of it; step 2 the columns
//! (a checkbox list), the data cells filter or the tag expression, the permissions and the grant
//! option; step 3 shows what changes, in words and as the command, and asks.

use super::app::App;
use super::grants::{TableChoice, permission_names, resource_args};
use super::jobs::{Job, command_text};
use super::popup::{Field, Form, FormKind, Popup};
use crate::service::access::{Grant, Permission, Resource, format_tag_expression};
use crate::service::{Code, ServiceError};

fn invalid(m: &str) -> ServiceError {
    ServiceError::new(Code::InvalidArgument, m.to_string())
}

/// What a new grant covers, as the editor's first step offers it.
pub const WHAT: [&str; 5] = [
    "the whole table",
    "some columns",
    "all columns but some",
    "a data cells filter",
    "a tag expression",
];

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

impl App {
    pub(super) fn principal_names(&self) -> Vec<String> {
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
        // The permissions that apply to what is granted (a table stands in for tag expressions).
        let kind = if only_select {
            Resource::DataCellsFilter {
                database_name: String::new(),
                table_name: String::new(),
                name: String::new(),
            }
        } else {
            Resource::table("", "")
        };
        let perms: Vec<String> = Permission::EVERY
            .into_iter()
            .filter(|p| kind.permits(*p))
            .map(|p| p.as_str().to_string())
            .collect();
        let ticked = perms.iter().map(|p| p == "SELECT").collect();
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
}
