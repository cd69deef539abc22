//! PostgreSQL's logical replication messages (the `pgoutput` plugin, protocol version 1), as
//! `pg_logical_slot_peek_binary_changes` returns them, one message a row. A small binary
//! format, decoded by hand: every read is bounds-checked, and a message that does not decode
//! is an error, never a panic (it comes from the network).

/// One column's value in a tuple.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Null,
    /// A TOASTed value the change did not touch (updates only): not sent.
    Unchanged,
    /// The value's text form.
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelationColumn {
    pub name: String,
    pub type_oid: u32,
    /// Part of the replica identity (the primary key by default).
    pub key: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub id: u32,
    pub namespace: String,
    pub name: String,
    pub columns: Vec<RelationColumn>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Begin {
        final_lsn: u64,
        xid: u32,
    },
    Commit {
        commit_lsn: u64,
        end_lsn: u64,
        /// Microseconds since 2000-01-01 (PostgreSQL's epoch).
        timestamp: i64,
    },
    Relation(Relation),
    Insert {
        relation: u32,
        new: Vec<Datum>,
    },
    Update {
        relation: u32,
        /// The old key ('K') or whole old row ('O'), when the replica identity sends it.
        old: Option<Vec<Datum>>,
        new: Vec<Datum>,
    },
    Delete {
        relation: u32,
        old: Vec<Datum>,
    },
    Truncate {
        relations: Vec<u32>,
    },
    /// Origin, Type and logical decoding messages: nothing a task writes.
    Other(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a pgoutput message does not decode: {}", self.0)
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| DecodeError(format!("{n} bytes wanted at offset {}", self.at)))?;
        let out = &self.buf[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn cstring(&mut self) -> Result<String, DecodeError> {
        let rest = &self.buf[self.at..];
        let nul = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| DecodeError("a string without its terminator".into()))?;
        let s = std::str::from_utf8(&rest[..nul])
            .map_err(|_| DecodeError("a name that is not UTF-8".into()))?
            .to_string();
        self.at += nul + 1;
        Ok(s)
    }
    fn tuple(&mut self) -> Result<Vec<Datum>, DecodeError> {
        let n = self.i16()?;
        if n < 0 {
            return Err(DecodeError("a negative column count".into()));
        }
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            out.push(match self.u8()? {
                b'n' => Datum::Null,
                b'u' => Datum::Unchanged,
                b't' => {
                    let len = self.i32()?;
                    let len = usize::try_from(len)
                        .map_err(|_| DecodeError("a negative value length".into()))?;
                    let bytes = self.take(len)?;
                    Datum::Text(
                        String::from_utf8(bytes.to_vec())
                            .map_err(|_| DecodeError("a value that is not UTF-8".into()))?,
                    )
                }
                other => {
                    return Err(DecodeError(format!("an unknown value kind {other}")));
                }
            });
        }
        Ok(out)
    }
}

/// Decodes one message.
pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
    let mut r = Reader { buf, at: 0 };
    let tag = r.u8()?;
    let msg = match tag {
        b'B' => {
            let final_lsn = r.u64()?;
            let _timestamp = r.u64()?;
            let xid = r.u32()?;
            Message::Begin { final_lsn, xid }
        }
        b'C' => {
            let _flags = r.u8()?;
            let commit_lsn = r.u64()?;
            let end_lsn = r.u64()?;
            let timestamp = r.u64()? as i64;
            Message::Commit {
                commit_lsn,
                end_lsn,
                timestamp,
            }
        }
        b'R' => {
            let id = r.u32()?;
            let namespace = r.cstring()?;
            let name = r.cstring()?;
            let _identity = r.u8()?;
            let n = r.i16()?;
            if n < 0 {
                return Err(DecodeError("a negative column count".into()));
            }
            let mut columns = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let flags = r.u8()?;
                let name = r.cstring()?;
                let type_oid = r.u32()?;
                let _typmod = r.i32()?;
                columns.push(RelationColumn {
                    name,
                    type_oid,
                    key: flags & 1 == 1,
                });
            }
            Message::Relation(Relation {
                id,
                namespace,
                name,
                columns,
            })
        }
        b'I' => {
            let relation = r.u32()?;
            match r.u8()? {
                b'N' => Message::Insert {
                    relation,
                    new: r.tuple()?,
                },
                other => return Err(DecodeError(format!("an insert with part {other}"))),
            }
        }
        b'U' => {
            let relation = r.u32()?;
            let (old, new) = match r.u8()? {
                b'K' | b'O' => {
                    let old = r.tuple()?;
                    match r.u8()? {
                        b'N' => (Some(old), r.tuple()?),
                        other => {
                            return Err(DecodeError(format!("an update with part {other}")));
                        }
                    }
                }
                b'N' => (None, r.tuple()?),
                other => return Err(DecodeError(format!("an update with part {other}"))),
            };
            Message::Update { relation, old, new }
        }
        b'D' => {
            let relation = r.u32()?;
            match r.u8()? {
                b'K' | b'O' => Message::Delete {
                    relation,
                    old: r.tuple()?,
                },
                other => return Err(DecodeError(format!("a delete with part {other}"))),
            }
        }
        b'T' => {
            let n = r.u32()?;
            let _options = r.u8()?;
            let mut relations = Vec::new();
            for _ in 0..n {
                relations.push(r.u32()?);
            }
            Message::Truncate { relations }
        }
        b'O' | b'Y' | b'M' => Message::Other(tag),
        other => return Err(DecodeError(format!("an unknown message type {other}"))),
    };
    Ok(msg)
}

/// `0/16B3748`, PostgreSQL's text form of an LSN.
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation() -> Vec<u8> {
        let mut m = vec![b'R'];
        m.extend(16385u32.to_be_bytes());
        m.extend(b"public\0customer\0");
        m.push(b'd');
        m.extend(2i16.to_be_bytes());
        m.push(1);
        m.extend(b"id\0");
        m.extend(23u32.to_be_bytes());
        m.extend((-1i32).to_be_bytes());
        m.push(0);
        m.extend(b"name\0");
        m.extend(25u32.to_be_bytes());
        m.extend((-1i32).to_be_bytes());
        m
    }

    #[test]
    fn decodes_relations_and_changes() {
        let Message::Relation(rel) = decode(&relation()).unwrap() else {
            panic!("a relation")
        };
        assert_eq!(rel.name, "customer");
        assert!(rel.columns[0].key && !rel.columns[1].key);
        let mut ins = vec![b'I'];
        ins.extend(16385u32.to_be_bytes());
        ins.push(b'N');
        ins.extend(2i16.to_be_bytes());
        ins.push(b't');
        ins.extend(1i32.to_be_bytes());
        ins.push(b'7');
        ins.push(b'n');
        assert_eq!(
            decode(&ins).unwrap(),
            Message::Insert {
                relation: 16385,
                new: vec![Datum::Text("7".into()), Datum::Null]
            }
        );
    }

    #[test]
    fn truncated_and_hostile_input_is_an_error() {
        let rel = relation();
        for cut in 0..rel.len() {
            assert!(decode(&rel[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = vec![b'I'];
        huge.extend(1u32.to_be_bytes());
        huge.push(b'N');
        huge.extend(1i16.to_be_bytes());
        huge.push(b't');
        huge.extend(i32::MAX.to_be_bytes());
        assert!(decode(&huge).is_err());
        let mut neg = huge.clone();
        let at = neg.len() - 4;
        neg[at..].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(decode(&neg).is_err());
        assert!(decode(b"Z").is_err());
        assert!(decode(b"").is_err());
    }

    #[test]
    fn lsn_text() {
        assert_eq!(format_lsn(0x1_0000_00AB), "1/AB");
    }
}
