//! EventBridge's event pattern language, parsed once into a typed [`Pattern`] and matched against
//! events (JSON values). Pure: no I/O, so rules, `test-event-pattern` and the dispatcher share one
//! matcher, and the documented examples are unit-tested here.
//!
//! The semantics followed (EventBridge's "Event patterns" and "Content filtering" pages): a
//! pattern is an object whose fields must all match (AND); a field is either a nested object
//! (matched against the event's object there) or an array of matchers, any of which may match
//! (OR); an event field holding an array matches when any element does; `$or` holds two or more
//! sub-patterns, any of which may match. A field missing from the event matches only
//! `{"exists": false}`.

use serde_json::{Map, Value};

use crate::service::{Code, Result, ServiceError};

/// A parsed event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: Object,
}

/// Fields that must all match, plus `$or` alternatives (each a list of sub-patterns of which one
/// must match).
#[derive(Debug, Clone, PartialEq)]
struct Object {
    fields: Vec<(String, Field)>,
    ors: Vec<Vec<Object>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Nested(Object),
    /// Any of these.
    AnyOf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    /// A literal string, number, boolean or null.
    Exact(Literal),
    Prefix(Text),
    Suffix(Text),
    EqualsIgnoreCase(String),
    AnythingBut(AnythingBut),
    Numeric(Range),
    Exists(bool),
    Wildcard(Vec<WildPart>),
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
}

/// The text of a `prefix` or `suffix`, perhaps compared ignoring case.
#[derive(Debug, Clone, PartialEq)]
struct Text {
    text: String,
    ignore_case: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Values(Vec<Literal>),
    Prefix(String),
    Suffix(String),
    IgnoreCase(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Range {
    lower: Option<(f64, bool)>,
    upper: Option<(f64, bool)>,
    equals: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
enum WildPart {
    Text(String),
    Star,
}

fn bad(reason: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(
        Code::InvalidEventPatternException,
        format!("Event pattern is not valid. Reason: {reason}"),
    )
}

impl Pattern {
    /// Parses a pattern's JSON text.
    pub fn parse(text: &str) -> Result<Pattern> {
        let value: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        Pattern::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<Pattern> {
        let Value::Object(map) = value else {
            return Err(bad("the pattern must be a JSON object"));
        };
        if map.is_empty() {
            return Err(bad("the pattern must name at least one field"));
        }
        Ok(Pattern {
            root: parse_object(map, "")?,
        })
    }

    /// Whether `event` matches.
    pub fn matches(&self, event: &Value) -> bool {
        self.root.matches(Some(event))
    }
}

fn parse_object(map: &Map<String, Value>, path: &str) -> Result<Object> {
    let mut object = Object {
        fields: Vec::new(),
        ors: Vec::new(),
    };
    for (name, value) in map {
        let here = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        if name == "$or" {
            let Value::Array(alternatives) = value else {
                return Err(bad(format!("{here} must be an array of patterns")));
            };
            if alternatives.len() < 2 {
                return Err(bad(format!("{here} needs at least two patterns")));
            }
            let parsed = alternatives
                .iter()
                .map(|a| match a {
                    Value::Object(m) if !m.is_empty() => parse_object(m, path),
                    _ => Err(bad(format!(
                        "each pattern of {here} must be a non-empty object"
                    ))),
                })
                .collect::<Result<Vec<_>>>()?;
            object.ors.push(parsed);
            continue;
        }
        let field = match value {
            Value::Object(m) if m.is_empty() => {
                return Err(bad(format!("{here} must not be an empty object")));
            }
            Value::Object(m) => Field::Nested(parse_object(m, &here)?),
            Value::Array(items) if items.is_empty() => {
                return Err(bad(format!("{here} must not be an empty array")));
            }
            Value::Array(items) => Field::AnyOf(
                items
                    .iter()
                    .map(|i| parse_matcher(i, &here))
                    .collect::<Result<_>>()?,
            ),
            _ => return Err(bad(format!("\"{here}\" must be an object or an array"))),
        };
        object.fields.push((name.clone(), field));
    }
    Ok(object)
}

fn literal(value: &Value, path: &str) -> Result<Literal> {
    Ok(match value {
        Value::String(s) => Literal::String(s.clone()),
        Value::Number(n) => Literal::Number(
            n.as_f64()
                .ok_or_else(|| bad(format!("{path}: number out of range")))?,
        ),
        Value::Bool(b) => Literal::Bool(*b),
        Value::Null => Literal::Null,
        _ => {
            return Err(bad(format!(
                "{path}: expected a string, number, boolean or null"
            )));
        }
    })
}

fn string_of(value: &Value, path: &str, op: &str) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        _ => Err(bad(format!("{path}: {op} takes a string"))),
    }
}

/// `"text"` or `{"equals-ignore-case": "text"}`, as `prefix` and `suffix` take.
fn text_of(value: &Value, path: &str, op: &str) -> Result<Text> {
    match value {
        Value::String(s) => Ok(Text {
            text: s.clone(),
            ignore_case: false,
        }),
        Value::Object(m) if m.len() == 1 && m.contains_key("equals-ignore-case") => Ok(Text {
            text: string_of(&m["equals-ignore-case"], path, op)?,
            ignore_case: true,
        }),
        _ => Err(bad(format!(
            "{path}: {op} takes a string or {{\"equals-ignore-case\": string}}"
        ))),
    }
}

fn parse_matcher(value: &Value, path: &str) -> Result<Matcher> {
    let Value::Object(m) = value else {
        return match value {
            Value::Array(_) => Err(bad(format!("{path}: arrays do not nest in a match list"))),
            v => Ok(Matcher::Exact(literal(v, path)?)),
        };
    };
    if m.len() != 1 {
        return Err(bad(format!(
            "{path}: a content filter is an object with exactly one operator"
        )));
    }
    let (op, arg) = m.iter().next().expect("one entry");
    Ok(match op.as_str() {
        "prefix" => Matcher::Prefix(text_of(arg, path, "prefix")?),
        "suffix" => Matcher::Suffix(text_of(arg, path, "suffix")?),
        "equals-ignore-case" => {
            Matcher::EqualsIgnoreCase(string_of(arg, path, "equals-ignore-case")?)
        }
        "exists" => match arg {
            Value::Bool(b) => Matcher::Exists(*b),
            _ => return Err(bad(format!("{path}: exists takes true or false"))),
        },
        "anything-but" => Matcher::AnythingBut(parse_anything_but(arg, path)?),
        "numeric" => Matcher::Numeric(parse_range(arg, path)?),
        "wildcard" => Matcher::Wildcard(parse_wildcard(&string_of(arg, path, "wildcard")?, path)?),
        other => return Err(bad(format!("{path}: unrecognized match type {other}"))),
    })
}

fn parse_anything_but(arg: &Value, path: &str) -> Result<AnythingBut> {
    Ok(match arg {
        Value::Array(items) if items.is_empty() => {
            return Err(bad(format!(
                "{path}: anything-but needs at least one value"
            )));
        }
        Value::Array(items) => AnythingBut::Values(
            items
                .iter()
                .map(|i| match i {
                    Value::String(_) | Value::Number(_) => literal(i, path),
                    _ => Err(bad(format!(
                        "{path}: anything-but lists hold strings or numbers"
                    ))),
                })
                .collect::<Result<_>>()?,
        ),
        Value::String(_) | Value::Number(_) => AnythingBut::Values(vec![literal(arg, path)?]),
        Value::Object(m) if m.len() == 1 => {
            let (op, inner) = m.iter().next().expect("one entry");
            match op.as_str() {
                "prefix" => AnythingBut::Prefix(string_of(inner, path, "anything-but prefix")?),
                "suffix" => AnythingBut::Suffix(string_of(inner, path, "anything-but suffix")?),
                "equals-ignore-case" => AnythingBut::IgnoreCase(match inner {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(items) if !items.is_empty() => items
                        .iter()
                        .map(|i| string_of(i, path, "anything-but equals-ignore-case"))
                        .collect::<Result<_>>()?,
                    _ => {
                        return Err(bad(format!(
                            "{path}: anything-but equals-ignore-case takes a string or a list of strings"
                        )));
                    }
                }),
                other => {
                    return Err(bad(format!("{path}: anything-but does not take {other}")));
                }
            }
        }
        _ => {
            return Err(bad(format!(
                "{path}: anything-but takes a value, a list of values, or prefix, suffix or equals-ignore-case"
            )));
        }
    })
}

fn parse_range(arg: &Value, path: &str) -> Result<Range> {
    let Value::Array(items) = arg else {
        return Err(bad(format!(
            "{path}: numeric takes [operator, number, ...]"
        )));
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(bad(format!(
            "{path}: numeric takes one or two [operator, number] pairs"
        )));
    }
    let mut range = Range::default();
    for pair in items.chunks(2) {
        let op = pair[0]
            .as_str()
            .ok_or_else(|| bad(format!("{path}: numeric operators are strings")))?;
        let n = pair[1]
            .as_f64()
            .ok_or_else(|| bad(format!("{path}: numeric {op} takes a number")))?;
        let slot = match op {
            ">" | ">=" => &mut range.lower,
            "<" | "<=" => &mut range.upper,
            "=" => {
                if items.len() != 2 {
                    return Err(bad(format!("{path}: numeric = stands alone")));
                }
                range.equals = Some(n);
                continue;
            }
            other => {
                return Err(bad(format!(
                    "{path}: unrecognized numeric operator {other}"
                )));
            }
        };
        if slot.is_some() {
            return Err(bad(format!("{path}: numeric has two bounds on one side")));
        }
        *slot = Some((n, op.ends_with('=')));
    }
    if let (Some((lo, _)), Some((hi, _))) = (range.lower, range.upper)
        && lo > hi
    {
        return Err(bad(format!("{path}: numeric range is empty")));
    }
    Ok(range)
}

fn parse_wildcard(text: &str, path: &str) -> Result<Vec<WildPart>> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('*' | '\\')) => current.push(e),
                _ => return Err(bad(format!("{path}: wildcard escapes only * and \\"))),
            },
            '*' => {
                if parts.last() == Some(&WildPart::Star) && current.is_empty() {
                    return Err(bad(format!("{path}: wildcard has consecutive *")));
                }
                if !current.is_empty() {
                    parts.push(WildPart::Text(std::mem::take(&mut current)));
                }
                parts.push(WildPart::Star);
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        parts.push(WildPart::Text(current));
    }
    Ok(parts)
}

impl Object {
    /// `event` is the event's value at this object's place, `None` when absent.
    fn matches(&self, event: Option<&Value>) -> bool {
        if let Some(Value::Array(items)) = event {
            return items.iter().any(|i| self.matches(Some(i)));
        }
        let get = |name: &str| match event {
            Some(Value::Object(m)) => m.get(name),
            _ => None,
        };
        self.fields.iter().all(|(name, field)| match field {
            Field::Nested(o) => o.matches(get(name)),
            Field::AnyOf(ms) => ms.iter().any(|m| m.matches(get(name))),
        }) && self
            .ors
            .iter()
            .all(|alts| alts.iter().any(|o| o.matches(event)))
    }
}

impl Matcher {
    fn matches(&self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Matcher::Exists(want), v) => {
                let present = !matches!(v, None | Some(Value::Object(_)))
                    && !matches!(v, Some(Value::Array(a)) if a.is_empty());
                present == *want
            }
            (_, None) => false,
            (m, Some(Value::Array(items))) => items.iter().any(|i| m.matches_one(i)),
            (m, Some(v)) => m.matches_one(v),
        }
    }

    fn matches_one(&self, v: &Value) -> bool {
        match self {
            Matcher::Exact(l) => l.equals(v),
            Matcher::Prefix(t) => v.as_str().is_some_and(|s| t.is_prefix_of(s)),
            Matcher::Suffix(t) => v.as_str().is_some_and(|s| t.is_suffix_of(s)),
            Matcher::EqualsIgnoreCase(t) => v.as_str().is_some_and(|s| fold(s) == fold(t)),
            Matcher::AnythingBut(but) => match but {
                AnythingBut::Values(ls) => {
                    matches!(v, Value::String(_) | Value::Number(_))
                        && !ls.iter().any(|l| l.equals(v))
                }
                AnythingBut::Prefix(p) => v.as_str().is_some_and(|s| !s.starts_with(p.as_str())),
                AnythingBut::Suffix(p) => v.as_str().is_some_and(|s| !s.ends_with(p.as_str())),
                AnythingBut::IgnoreCase(ls) => v
                    .as_str()
                    .is_some_and(|s| !ls.iter().any(|l| fold(l) == fold(s))),
            },
            Matcher::Numeric(r) => v.as_f64().is_some_and(|n| r.contains(n)),
            Matcher::Exists(_) => unreachable!("exists is decided on presence"),
            Matcher::Wildcard(parts) => v.as_str().is_some_and(|s| wild_match(parts, s)),
        }
    }
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

impl Text {
    fn is_prefix_of(&self, s: &str) -> bool {
        if self.ignore_case {
            fold(s).starts_with(&fold(&self.text))
        } else {
            s.starts_with(self.text.as_str())
        }
    }
    fn is_suffix_of(&self, s: &str) -> bool {
        if self.ignore_case {
            fold(s).ends_with(&fold(&self.text))
        } else {
            s.ends_with(self.text.as_str())
        }
    }
}

impl Literal {
    fn equals(&self, v: &Value) -> bool {
        match (self, v) {
            (Literal::String(a), Value::String(b)) => a == b,
            (Literal::Number(a), Value::Number(b)) => b.as_f64() == Some(*a),
            (Literal::Bool(a), Value::Bool(b)) => a == b,
            (Literal::Null, Value::Null) => true,
            _ => false,
        }
    }
}

impl Range {
    fn contains(&self, n: f64) -> bool {
        if let Some(e) = self.equals {
            return n == e;
        }
        let lower = self
            .lower
            .is_none_or(|(lo, incl)| if incl { n >= lo } else { n > lo });
        let upper = self
            .upper
            .is_none_or(|(hi, incl)| if incl { n <= hi } else { n < hi });
        lower && upper
    }
}

/// Glob matching with `*` only, by the classic greedy algorithm with one backtrack point.
fn wild_match(parts: &[WildPart], s: &str) -> bool {
    let mut rest = s;
    let mut i = 0;
    // Anchored start: leading text must be a prefix.
    if let Some(WildPart::Text(t)) = parts.first() {
        let Some(r) = rest.strip_prefix(t.as_str()) else {
            return false;
        };
        rest = r;
        i = 1;
    }
    let mut star = false;
    while i < parts.len() {
        match &parts[i] {
            WildPart::Star => star = true,
            WildPart::Text(t) => {
                let last = i == parts.len() - 1;
                if last {
                    return if star {
                        rest.ends_with(t.as_str())
                    } else {
                        rest == t
                    };
                }
                match rest.find(t.as_str()) {
                    Some(at) if star => rest = &rest[at + t.len()..],
                    Some(0) => rest = &rest[t.len()..],
                    _ => return false,
                }
                star = false;
            }
        }
        i += 1;
    }
    star || rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// EventBridge's documented example event (an EC2 state change), with an array and numbers.
    fn ec2() -> Value {
        json!({
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "EC2 Instance State-change Notification",
            "source": "aws.ec2",
            "account": "111122223333",
            "time": "2017-12-22T18:43:48Z",
            "region": "us-west-1",
            "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
            "detail": {
                "instance-id": "i-1234567890abcdef0",
                "state": "terminated",
                "c-count": 5,
                "d-count": 3,
                "x-limit": 301.8,
                "source-ip": "10.0.0.33",
                "location": null,
                "nothing": false
            }
        })
    }

    fn s3(key: &str, size: u64) -> Value {
        json!({
            "version": "0", "id": "1", "detail-type": "Object Created", "source": "aws.s3",
            "account": "123456789012", "time": "2021-11-12T00:00:00Z", "region": "local",
            "resources": ["arn:aws:s3:::raw"],
            "detail": {"bucket": {"name": "raw"}, "object": {"key": key, "size": size}}
        })
    }

    fn m(pattern: Value, event: &Value) -> bool {
        Pattern::from_value(&pattern).expect("valid").matches(event)
    }

    #[test]
    fn exact_values_and_arrays_as_or() {
        let e = ec2();
        assert!(m(json!({"source": ["aws.ec2"]}), &e));
        assert!(!m(json!({"source": ["aws.s3"]}), &e));
        assert!(m(json!({"source": ["aws.s3", "aws.ec2"]}), &e));
        assert!(m(json!({"detail": {"c-count": [5]}}), &e));
        assert!(!m(json!({"detail": {"c-count": [6]}}), &e));
        assert!(m(json!({"detail": {"location": [null]}}), &e));
        assert!(!m(json!({"detail": {"state": [null]}}), &e));
        assert!(m(json!({"detail": {"nothing": [false]}}), &e));
        assert!(!m(json!({"detail": {"nothing": [true]}}), &e));
        // An event array matches when any element does.
        assert!(m(
            json!({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0", "x"]}),
            &e
        ));
        assert!(!m(json!({"resources": ["x"]}), &e));
        // All fields must match.
        assert!(!m(
            json!({"source": ["aws.ec2"], "detail": {"state": ["running"]}}),
            &e
        ));
    }

    #[test]
    fn prefix_suffix_and_ignore_case() {
        let e = s3("raw/customers/file.png", 10);
        assert!(m(
            json!({"detail": {"object": {"key": [{"prefix": "raw/"}]}}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"object": {"key": [{"prefix": "masked/"}]}}}),
            &e
        ));
        assert!(m(
            json!({"detail": {"object": {"key": [{"suffix": ".png"}]}}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"object": {"key": [{"suffix": ".csv"}]}}}),
            &e
        ));
        assert!(m(
            json!({"detail": {"object": {"key": [{"prefix": {"equals-ignore-case": "RAW/"}}]}}}),
            &e
        ));
        assert!(m(
            json!({"detail": {"object": {"key": [{"suffix": {"equals-ignore-case": ".PNG"}}]}}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"object": {"key": [{"prefix": "RAW/"}]}}}),
            &e
        ));
        assert!(m(json!({"source": [{"equals-ignore-case": "AWS.S3"}]}), &e));
        assert!(!m(
            json!({"source": [{"equals-ignore-case": "aws.ec2"}]}),
            &e
        ));
        // Prefix never matches a number.
        assert!(!m(
            json!({"detail": {"object": {"size": [{"prefix": "1"}]}}}),
            &e
        ));
    }

    #[test]
    fn anything_but() {
        let e = ec2();
        assert!(m(
            json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"state": [{"anything-but": "terminated"}]}}),
            &e
        ));
        assert!(m(
            json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}),
            &e
        ));
        assert!(m(
            json!({"detail": {"c-count": [{"anything-but": [100, 200]}]}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"c-count": [{"anything-but": [5]}]}}),
            &e
        ));
        assert!(m(
            json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}),
            &e
        ));
        assert!(m(
            json!({"detail": {"state": [{"anything-but": {"suffix": "ing"}}]}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"state": [{"anything-but": {"suffix": "ted"}}]}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["TERMINATED"]}}]}}),
            &e
        ));
        assert!(m(
            json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": "Running"}}]}}),
            &e
        ));
        // A missing field matches no anything-but.
        assert!(!m(
            json!({"detail": {"absent": [{"anything-but": "x"}]}}),
            &e
        ));
    }

    #[test]
    fn numeric_ranges() {
        let e = ec2();
        assert!(m(
            json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 301.8]}]}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"c-count": [{"numeric": [">", 5]}]}}),
            &e
        ));
        assert!(m(
            json!({"detail": {"c-count": [{"numeric": [">=", 5]}]}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"x-limit": [{"numeric": ["<", 301.8]}]}}),
            &e
        ));
        // Numeric never matches a string.
        assert!(!m(
            json!({"detail": {"state": [{"numeric": [">", 0]}]}}),
            &e
        ));
    }

    #[test]
    fn exists() {
        let e = ec2();
        assert!(m(json!({"detail": {"state": [{"exists": true}]}}), &e));
        assert!(!m(json!({"detail": {"state": [{"exists": false}]}}), &e));
        assert!(m(json!({"detail": {"absent": [{"exists": false}]}}), &e));
        assert!(!m(json!({"detail": {"absent": [{"exists": true}]}}), &e));
        // Under a missing object too.
        assert!(m(json!({"nowhere": {"inner": [{"exists": false}]}}), &e));
    }

    #[test]
    fn or_across_fields() {
        let e = ec2();
        let p = json!({"source": ["aws.ec2"], "$or": [
            {"detail": {"c-count": [{"numeric": [">", 100]}]}},
            {"detail": {"d-count": [{"numeric": ["<", 10]}]}}
        ]});
        assert!(m(p, &e));
        let p = json!({"$or": [
            {"detail": {"c-count": [{"numeric": [">", 100]}]}},
            {"detail": {"state": ["running"]}}
        ]});
        assert!(!m(p, &e));
    }

    #[test]
    fn wildcard() {
        let e = s3("raw/dir/file.png", 1);
        assert!(m(
            json!({"detail": {"object": {"key": [{"wildcard": "raw/*.png"}]}}}),
            &e
        ));
        assert!(m(
            json!({"detail": {"object": {"key": [{"wildcard": "raw/*/file*"}]}}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"object": {"key": [{"wildcard": "raw/*.csv"}]}}}),
            &e
        ));
        assert!(!m(
            json!({"detail": {"object": {"key": [{"wildcard": "dir/*"}]}}}),
            &e
        ));
        assert!(m(
            json!({"detail": {"object": {"key": [{"wildcard": "*"}]}}}),
            &e
        ));
    }

    #[test]
    fn bad_patterns_are_invalid_event_pattern_exceptions() {
        for text in [
            "not json",
            "[]",
            "{}",
            r#"{"source": "aws.s3"}"#,
            r#"{"source": []}"#,
            r#"{"source": [{"prefix": 1}]}"#,
            r#"{"source": [{"nonsense": "x"}]}"#,
            r#"{"source": [{"prefix": "a", "suffix": "b"}]}"#,
            r#"{"detail": {"n": [{"numeric": [">", "x"]}]}}"#,
            r#"{"detail": {"n": [{"numeric": [">", 1, ">", 2]}]}}"#,
            r#"{"detail": {"n": [{"numeric": [">", 5, "<", 1]}]}}"#,
            r#"{"detail": {"n": [{"exists": "yes"}]}}"#,
            r#"{"$or": [{"source": ["a"]}]}"#,
            r#"{"detail": {"k": [{"wildcard": "a**b"}]}}"#,
        ] {
            let err = Pattern::parse(text).expect_err(text);
            assert_eq!(err.code, Code::InvalidEventPatternException, "{text}");
        }
    }
}
