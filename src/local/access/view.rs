//! The local lake's side of the view (service/view.rs): the grants, filters and tags it holds,
//! read in the caller's transaction.

use std::collections::BTreeMap;

use rusqlite::{Transaction, params};

use super::{Stored, tags};
use crate::local::{Caller, Lake};
use crate::service::Result;
use crate::service::access::{Permission, Resource};
use crate::service::catalog::Table;
pub use crate::service::view::{Cells, Held, TableView};

impl Lake {
    /// The view `caller` has of `table`.
    pub(in crate::local) fn table_view(
        &self,
        tx: &Transaction,
        caller: &Caller,
        table: &Table,
    ) -> Result<TableView> {
        let (db, name) = (table.database_name.as_str(), table.name.as_str());
        TableView::build(
            table,
            caller.admin,
            self.grants_of(tx, &caller.name)?,
            |filter| self.data_cells_filter(tx, db, name, filter),
            || tags::effective(tx, table),
        )
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
