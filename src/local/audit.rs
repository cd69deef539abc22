//! The audit log: append-only and hash-chained, like CloudTrail with integrity validation.
//!
//! Entry n carries `hash_n = HMAC(chain key, hash_{n-1} || entry n)`; a separate head record
//! carries a MAC over the last sequence number and hash. The keys derive from the lake's root key,
//! so without the passphrase nobody can edit, insert or remove an entry (the tail included)
//! without `audit verify` naming it. The head is also kept outside the store (audit_head.rs), so
//! a store that lost its latest commits (a removed meta.db-wal) is caught. What neither catches
//! is the whole lake directory put back to an older copy: for that, record the head digest
//! `audit verify` prints elsewhere.

use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::audit_head::HeadFile;
use super::crypto::Secret;
use crate::service::Origin;
use crate::service::audit::{AuditEvent, AuditVerification};
use crate::service::{Code, Result, ServiceError};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What one audited call records.
pub struct Event<'a> {
    pub principal: &'a str,
    pub source: &'a str,
    pub name: &'a str,
    pub resource: &'a str,
    pub error_code: Option<&'a str>,
    pub detail: serde_json::Value,
    /// Set for calls that came through the lake server: recorded as CloudTrail records them.
    pub origin: Option<&'a Origin>,
}

pub struct AuditLog {
    chain: hmac::Key,
    head: hmac::Key,
    head_file: std::sync::Arc<HeadFile>,
}

struct Row {
    seq: u64,
    time: String,
    principal: String,
    source: String,
    name: String,
    resource: String,
    error_code: Option<String>,
    detail: String,
    prev: String,
    hash: String,
}

impl Row {
    fn digest(&self, key: &hmac::Key, prev: &str) -> String {
        let fields = serde_json::to_string(&(
            self.seq,
            &self.time,
            &self.principal,
            &self.source,
            &self.name,
            &self.resource,
            &self.error_code,
            &self.detail,
        ))
        .expect("audit fields serialize");
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(prev.as_bytes());
        ctx.update(fields.as_bytes());
        hex::encode(ctx.sign().as_ref())
    }
}

/// The detail with CloudTrail's `userIdentity.accessKeyId` and `sourceIPAddress` added when the
/// call came through the lake server. They go in the detail, which the chain's MAC covers, so
/// entries written before the server existed verify unchanged.
fn with_origin(detail: serde_json::Value, origin: Option<&Origin>) -> serde_json::Value {
    let Some(origin) = origin else {
        return detail;
    };
    let mut map = match detail {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => serde_json::Map::new(),
        other => serde_json::Map::from_iter([("Detail".to_string(), other)]),
    };
    map.insert(
        "UserIdentity".into(),
        serde_json::json!({ "AccessKeyId": origin.access_key_id }),
    );
    map.insert(
        "SourceIPAddress".into(),
        serde_json::Value::String(origin.source_ip.to_string()),
    );
    serde_json::Value::Object(map)
}

fn head_mac(key: &hmac::Key, seq: u64, hash: &str) -> String {
    hex::encode(hmac::sign(key, format!("head|{seq}|{hash}").as_bytes()).as_ref())
}

const ROW_COLUMNS: &str =
    "seq, time, principal, source, name, resource, error_code, detail, prev, hash";

fn read_row(r: &rusqlite::Row) -> rusqlite::Result<Row> {
    Ok(Row {
        seq: r.get(0)?,
        time: r.get(1)?,
        principal: r.get(2)?,
        source: r.get(3)?,
        name: r.get(4)?,
        resource: r.get(5)?,
        error_code: r.get(6)?,
        detail: r.get(7)?,
        prev: r.get(8)?,
        hash: r.get(9)?,
    })
}

impl AuditLog {
    pub fn new(root: &Secret, head_file: std::sync::Arc<HeadFile>) -> Self {
        AuditLog {
            chain: root.derive("audit chain").hmac(),
            head: root.derive("audit head").hmac(),
            head_file,
        }
    }

    /// Whether the store holds the entry the head file names (an error if not); `Ok(false)`
    /// when there is no head file yet. Run it in a transaction of its own: the file is read
    /// before the transaction's first query fixes its snapshot, so a commit by another process
    /// in between cannot look like a lost one.
    pub fn check_head_file(&self, tx: &Transaction) -> Result<bool> {
        self.head_file.check(tx)
    }

    /// Appends within the caller's transaction, so the entry commits with the change it records.
    pub fn append(&self, tx: &Transaction, ev: Event) -> Result<()> {
        let last: Option<(u64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (seq, prev) = match last {
            Some((s, h)) => (s + 1, h),
            None => (1, GENESIS.to_string()),
        };
        let mut row = Row {
            seq,
            time: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            principal: ev.principal.into(),
            source: ev.source.into(),
            name: ev.name.into(),
            resource: ev.resource.into(),
            error_code: ev.error_code.map(str::to_string),
            detail: with_origin(ev.detail, ev.origin).to_string(),
            prev: prev.clone(),
            hash: String::new(),
        };
        row.hash = row.digest(&self.chain, &prev);
        tx.execute(
            &format!(
                "INSERT INTO audit({ROW_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                row.seq,
                row.time,
                row.principal,
                row.source,
                row.name,
                row.resource,
                row.error_code,
                row.detail,
                row.prev,
                row.hash
            ],
        )?;
        tx.execute(
            "INSERT INTO audit_head(id, seq, hash, mac) VALUES (0, ?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac",
            params![row.seq, row.hash, head_mac(&self.head, row.seq, &row.hash)],
        )?;
        self.head_file.stage(row.seq, &row.hash);
        Ok(())
    }

    pub fn list(&self, tx: &Transaction, principal: Option<&str>) -> Result<Vec<AuditEvent>> {
        let mut stmt = tx.prepare(&format!(
            "SELECT {ROW_COLUMNS} FROM audit WHERE ?1 IS NULL OR principal = ?1 ORDER BY seq"
        ))?;
        let rows = stmt.query_map(params![principal], read_row)?;
        let mut out = Vec::new();
        for row in rows {
            let row = row?;
            out.push(AuditEvent {
                sequence: row.seq,
                event_time: DateTime::parse_from_rfc3339(&row.time)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_default(),
                principal: row.principal,
                event_source: row.source,
                event_name: row.name,
                resource: row.resource,
                error_code: row.error_code,
                detail: serde_json::from_str(&row.detail).unwrap_or(serde_json::Value::Null),
            });
        }
        Ok(out)
    }

    pub fn verify(&self, tx: &Transaction) -> Result<AuditVerification> {
        let broken = |seq: u64, why: &str| {
            Err(ServiceError::new(
                Code::AuditIntegrityException,
                format!("audit entry {seq} {why}"),
            ))
        };
        let mut stmt = tx.prepare(&format!("SELECT {ROW_COLUMNS} FROM audit ORDER BY seq"))?;
        let rows = stmt.query_map([], read_row)?;
        let (mut expected_seq, mut prev) = (1u64, GENESIS.to_string());
        for row in rows {
            let row = row?;
            if row.seq != expected_seq {
                return broken(expected_seq, "was removed");
            }
            if row.prev != prev {
                return broken(
                    row.seq,
                    "does not follow the entry before it (an entry was removed or replaced)",
                );
            }
            if row.digest(&self.chain, &prev) != row.hash {
                return broken(
                    row.seq,
                    &format!("({} {}) was altered", row.source, row.name),
                );
            }
            prev = row.hash;
            expected_seq += 1;
        }
        let entries = expected_seq - 1;
        let head: Option<(u64, String, String)> = tx
            .query_row(
                "SELECT seq, hash, mac FROM audit_head WHERE id = 0",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match head {
            None if entries == 0 => {}
            None => return broken(entries, "is the last, but the log's head record is missing"),
            Some((seq, hash, mac)) => {
                if mac != head_mac(&self.head, seq, &hash) {
                    return broken(seq, "is named by a head record that was altered");
                }
                if seq != entries || hash != prev {
                    return broken(
                        entries + 1,
                        "and the entries after it were removed (the log ends early)",
                    );
                }
            }
        }
        Ok(AuditVerification {
            valid: true,
            entries,
            head_digest: prev,
        })
    }
}
