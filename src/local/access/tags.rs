//! LF-tags on the local lake: the tags assigned at each level, and the effective set of a table
//! and its columns (the rules are in service/view.rs).

use rusqlite::{Transaction, params};

use crate::service::Result;
use crate::service::access::AssignedTag;
use crate::service::catalog::Table;

pub use crate::service::view::{EffectiveTags, TagSet};

/// The tags set directly on (database, table, column); "" for the levels above.
fn assigned(tx: &Transaction, db: &str, table: &str, col: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = tx.prepare(
        "SELECT tag_key, tag_value FROM lf_tag_assignments
         WHERE database = ?1 AND tbl = ?2 AND col = ?3 ORDER BY tag_key",
    )?;
    let rows = stmt
        .query_map(params![db, table, col], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn effective(tx: &Transaction, table: &Table) -> Result<EffectiveTags> {
    let db = table.database_name.as_str();
    let name = table.name.as_str();
    let mut table_tags = TagSet::new();
    for (k, v) in assigned(tx, db, "", "")? {
        table_tags.insert(k, (v, format!("database {db}")));
    }
    for (k, v) in assigned(tx, db, name, "")? {
        table_tags.insert(k, (v, format!("table {db}.{name}")));
    }
    let mut columns = Vec::new();
    for c in table
        .storage_descriptor
        .columns
        .iter()
        .chain(&table.partition_keys)
    {
        let mut tags = table_tags.clone();
        for (k, v) in assigned(tx, db, name, &c.name)? {
            tags.insert(k, (v, format!("column {}", c.name)));
        }
        columns.push((c.name.clone(), tags));
    }
    Ok(EffectiveTags {
        table: table_tags,
        columns,
    })
}

/// The table's and each column's tags, saying which are inherited and from where.
pub fn describe(tx: &Transaction, table: &Table) -> Result<Vec<(String, Vec<AssignedTag>)>> {
    let here_table = format!("table {}.{}", table.database_name, table.name);
    let tags = effective(tx, table)?;
    let list = |set: &TagSet, here: &str| -> Vec<AssignedTag> {
        set.iter()
            .map(|(k, (v, from))| AssignedTag {
                tag_key: k.clone(),
                tag_value: v.clone(),
                inherited_from: (from != here).then(|| from.clone()),
            })
            .collect()
    };
    let mut out = vec![(String::new(), list(&tags.table, &here_table))];
    for (c, set) in &tags.columns {
        out.push((c.clone(), list(set, &format!("column {c}"))));
    }
    Ok(out)
}
