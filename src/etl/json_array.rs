//! Cutting a JSON array into its elements as its bytes stream in, so an array of any size is
//! read an element at a time (each at most the record limit) and never whole. Only nesting and
//! strings are followed here; each element is parsed by serde_json afterwards.

use std::io::BufRead;

use super::budget::{Budget, Exceeded, Limit};

pub(super) enum Element {
    Value,
    Broken,
    End,
}

/// Cuts a JSON array into its elements as the bytes arrive: it follows only nesting and
/// strings, so an element costs its own length (at most the record limit), and leaves parsing
/// each element to serde_json.
pub(super) struct ArrayElements {
    object: String,
    max: usize,
    opened: bool,
    done: bool,
}

impl ArrayElements {
    pub(super) fn new(object: &str, budget: &Budget) -> Self {
        ArrayElements {
            object: object.into(),
            max: budget.max_record_bytes,
            opened: false,
            done: false,
        }
    }

    /// Skips whitespace; the next byte, not consumed.
    fn peek_byte(reader: &mut dyn BufRead) -> std::io::Result<Option<u8>> {
        loop {
            let available = reader.fill_buf()?;
            let Some(&b) = available.first() else {
                return Ok(None);
            };
            if b.is_ascii_whitespace() {
                reader.consume(1);
            } else {
                return Ok(Some(b));
            }
        }
    }

    pub(super) fn next(
        &mut self,
        reader: &mut dyn BufRead,
        out: &mut Vec<u8>,
    ) -> std::io::Result<Element> {
        if self.done {
            return Ok(Element::End);
        }
        if !self.opened {
            self.opened = true;
            if Self::peek_byte(reader)? != Some(b'[') {
                return self.broken();
            }
            reader.consume(1);
            if Self::peek_byte(reader)? == Some(b']') {
                reader.consume(1);
                return self.end(reader);
            }
        }
        // One value: until a comma or the closing bracket at depth 0.
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            let available = reader.fill_buf()?;
            if available.is_empty() {
                return self.broken();
            }
            let mut used = 0;
            let mut ended = None;
            for &b in available {
                if in_string {
                    used += 1;
                    match (escaped, b) {
                        (true, _) => escaped = false,
                        (false, b'\\') => escaped = true,
                        (false, b'"') => in_string = false,
                        _ => {}
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b']' if depth == 0 => {
                        ended = Some(b);
                        break;
                    }
                    _ => {}
                }
                used += 1;
            }
            out.extend_from_slice(&available[..used]);
            reader.consume(used);
            if out.len() > self.max {
                return Err(
                    Exceeded::new(&self.object, Limit::Record { limit: self.max }).into_io(),
                );
            }
            match ended {
                None => continue,
                Some(b',') => {
                    reader.consume(1);
                    let trimmed = out.trim_ascii().len();
                    if trimmed == 0 {
                        return self.broken();
                    }
                    trim_in_place(out);
                    return Ok(Element::Value);
                }
                Some(_) => {
                    reader.consume(1);
                    trim_in_place(out);
                    if out.is_empty() {
                        return self.broken();
                    }
                    self.done = true;
                    return Ok(match self.end(reader)? {
                        Element::Broken => Element::Broken,
                        _ => Element::Value,
                    });
                }
            }
        }
    }

    /// After the closing bracket only whitespace may follow.
    fn end(&mut self, reader: &mut dyn BufRead) -> std::io::Result<Element> {
        self.done = true;
        match Self::peek_byte(reader)? {
            None => Ok(Element::End),
            Some(_) => Ok(Element::Broken),
        }
    }

    fn broken(&mut self) -> std::io::Result<Element> {
        self.done = true;
        Ok(Element::Broken)
    }
}

fn trim_in_place(buf: &mut Vec<u8>) {
    let end = buf.len() - (buf.len() - buf.trim_ascii_end().len());
    buf.truncate(end);
    let start = buf.len() - buf.trim_ascii_start().len();
    buf.drain(..start);
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::super::source::{BROKEN_ARRAY, Format, JsonRecords};
    use super::*;

    fn elements(text: &str, max: usize) -> Vec<Result<String, String>> {
        let budget = Budget {
            max_record_bytes: max,
            ..Budget::default()
        };
        let reader: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(
            3,
            std::io::Cursor::new(text.to_string()),
        ));
        let mut records = JsonRecords::new(reader, Format::JsonArray, "o", &budget);
        let mut out = Vec::new();
        loop {
            match records.next_record() {
                Ok(Some((_, r))) if r == BROKEN_ARRAY => out.push(Err("broken".into())),
                Ok(Some((_, r))) => out.push(Ok(String::from_utf8_lossy(r).into_owned())),
                Ok(None) => return out,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }

    #[test]
    fn a_json_array_is_cut_into_elements_as_it_streams() {
        let ok = |v: &[&str]| v.iter().map(|s| Ok(s.to_string())).collect::<Vec<_>>();
        assert_eq!(
            elements(r#" [ {"a":"x,]}"} , {"b":[1,{"c":2}]}, 3 ] "#, 100),
            ok(&[r#"{"a":"x,]}"}"#, r#"{"b":[1,{"c":2}]}"#, "3"])
        );
        assert_eq!(elements("[]", 100), ok(&[]));
        assert_eq!(elements(r#"[{"a":"\"]"}]"#, 100), ok(&[r#"{"a":"\"]"}"#]));
        assert_eq!(elements("[1,]", 100).last().unwrap(), &Err("broken".into()));
        assert_eq!(elements("[1", 100).last().unwrap(), &Err("broken".into()));
        assert_eq!(
            elements("[1] x", 100).last().unwrap(),
            &Err("broken".into())
        );
        let long = format!("[1, \"{}\"]", "y".repeat(50));
        let got = elements(&long, 20);
        assert_eq!(got[0], Ok("1".into()));
        assert!(
            got[1].as_ref().unwrap_err().contains("max record length"),
            "{got:?}"
        );
    }
}
