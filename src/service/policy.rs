//! IAM-style policy documents (key policies, bucket policies), as AWS writes them. Parsing and
//! editing live here because both backends take and give the same JSON; evaluating a document is
//! the local backend's job (AWS evaluates its own).

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use super::{Code, Result, ServiceError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PolicyDocument {
    #[serde(default = "default_version")]
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub statement: Vec<Statement>,
}

/// A statement's name in messages: its Sid, else its position.
pub fn statement_name(index: usize, st: &Statement) -> String {
    st.sid.clone().unwrap_or_else(|| format!("#{}", index + 1))
}

fn default_version() -> String {
    "2012-10-17".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Statement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: Effect,
    /// Resource policies (bucket, key) name who a statement is for; identity policies may not,
    /// since they apply to the identity they are attached to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<PrincipalSpec>,
    #[serde(deserialize_with = "one_or_many")]
    pub action: Vec<String>,
    #[serde(default = "any_resource", deserialize_with = "one_or_many")]
    pub resource: Vec<String>,
    /// operator (`StringNotEquals`, `Null`, ...) -> condition key -> values
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<String, BTreeMap<String, Values>>,
}

fn any_resource() -> Vec<String> {
    vec!["*".into()]
}

/// `"*"` or `{"AWS": "arn" | ["arn", ...]}`; `{"Service": ...}` names a service principal.
#[derive(Debug, Clone, PartialEq)]
pub enum PrincipalSpec {
    Any,
    Ids {
        aws: Vec<String>,
        service: Vec<String>,
    },
}

impl Serialize for PrincipalSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PrincipalSpec::Any => s.serialize_str("*"),
            PrincipalSpec::Ids { aws, service } => {
                let mut map = BTreeMap::new();
                if !aws.is_empty() {
                    map.insert("AWS", aws.clone());
                }
                if !service.is_empty() {
                    map.insert("Service", service.clone());
                }
                map.serialize(s)
            }
        }
    }
}

impl<'de> Deserialize<'de> for PrincipalSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Star(String),
            Map(BTreeMap<String, Values>),
        }
        match Raw::deserialize(d)? {
            Raw::Star(s) if s == "*" => Ok(PrincipalSpec::Any),
            Raw::Star(s) => Err(de::Error::custom(format!(
                "Principal must be \"*\" or {{\"AWS\": ...}}, not {s:?}"
            ))),
            Raw::Map(map) => {
                let (mut aws, mut service) = (Vec::new(), Vec::new());
                for (kind, values) in map {
                    match kind.as_str() {
                        "AWS" => aws = values.0,
                        "Service" => service = values.0,
                        other => {
                            return Err(de::Error::custom(format!(
                                "unsupported principal type {other:?} (use AWS or Service)"
                            )));
                        }
                    }
                }
                if aws.len() == 1 && aws[0] == "*" && service.is_empty() {
                    return Ok(PrincipalSpec::Any);
                }
                Ok(PrincipalSpec::Ids { aws, service })
            }
        }
    }
}

/// A string or a list of strings; booleans and numbers are read as their text, as IAM does.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Values(pub Vec<String>);

impl Serialize for Values {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fn text(v: serde_json::Value) -> Result<String, String> {
            match v {
                serde_json::Value::String(s) => Ok(s),
                serde_json::Value::Bool(b) => Ok(b.to_string()),
                serde_json::Value::Number(n) => Ok(n.to_string()),
                other => Err(format!("expected a string, found {other}")),
            }
        }
        let v = serde_json::Value::deserialize(d)?;
        let items = match v {
            serde_json::Value::Array(items) => items,
            one => vec![one],
        };
        items
            .into_iter()
            .map(text)
            .collect::<Result<Vec<_>, _>>()
            .map(Values)
            .map_err(de::Error::custom)
    }
}

fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::Many(v) => v,
        OneOrMany::One(t) => vec![t],
    })
}

impl PolicyDocument {
    /// Parses and checks a resource policy (a bucket or key policy: each statement names its
    /// Principal); anything malformed is a `MalformedPolicyDocumentException` that says where.
    pub fn parse(text: &str) -> Result<Self> {
        let doc = Self::parse_any(text, Code::MalformedPolicyDocumentException)?;
        if let Some((i, st)) = doc
            .statement
            .iter()
            .enumerate()
            .find(|(_, s)| s.principal.is_none())
        {
            return Err(ServiceError::new(
                Code::MalformedPolicyDocumentException,
                format!(
                    "statement {}: a resource policy names its Principal",
                    statement_name(i, st)
                ),
            ));
        }
        Ok(doc)
    }

    /// Parses and checks an identity policy (one attached to a principal), as IAM does: no
    /// statement may name a Principal; anything malformed is a `MalformedPolicyDocument`.
    pub fn parse_identity(text: &str) -> Result<Self> {
        let doc = Self::parse_any(text, Code::MalformedPolicyDocument)?;
        if let Some((i, st)) = doc
            .statement
            .iter()
            .enumerate()
            .find(|(_, s)| s.principal.is_some())
        {
            return Err(ServiceError::new(
                Code::MalformedPolicyDocument,
                format!(
                    "statement {}: Policy document should not specify a principal (an identity policy applies to the identity it is attached to)",
                    statement_name(i, st)
                ),
            ));
        }
        Ok(doc)
    }

    fn parse_any(text: &str, code: Code) -> Result<Self> {
        let doc: PolicyDocument = serde_json::from_str(text)
            .map_err(|e| ServiceError::new(code, format!("policy is not valid: {e}")))?;
        doc.check()
            .map_err(|e| ServiceError::new(code, e.message))?;
        Ok(doc)
    }

    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(ServiceError::new(Code::MalformedPolicyDocumentException, m));
        if self.version != "2012-10-17" && self.version != "2008-10-17" {
            return bad(format!(
                "unsupported policy Version {:?} (use \"2012-10-17\")",
                self.version
            ));
        }
        if self.statement.is_empty() {
            return bad("policy has no Statement".into());
        }
        for (i, st) in self.statement.iter().enumerate() {
            let name = st.sid.clone().unwrap_or_else(|| format!("#{}", i + 1));
            if st.action.is_empty() {
                return bad(format!("statement {name} has no Action"));
            }
            if let Some(a) = st.action.iter().find(|a| *a != "*" && !a.contains(':')) {
                return bad(format!(
                    "statement {name}: action {a:?} is not of the form service:Operation"
                ));
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a policy document always serializes")
    }

    /// Replaces the statement `sid` by one that allows `principal_arn` the given operations of
    /// `service` (`kms`, `s3`); with no operations the statement is just removed.
    pub fn set_allow_statement(
        &mut self,
        sid: &str,
        principal_arn: &str,
        operations: &[String],
        service: &str,
    ) -> Result<()> {
        self.statement.retain(|s| s.sid.as_deref() != Some(sid));
        if operations.is_empty() {
            return Ok(());
        }
        let action = operations
            .iter()
            .map(|op| {
                let op = op.trim();
                if op.is_empty() {
                    Err(ServiceError::invalid("an operation name is empty"))
                } else if op.contains(':') {
                    Ok(op.to_string())
                } else {
                    Ok(format!("{service}:{op}"))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        self.statement.push(Statement {
            sid: Some(sid.into()),
            effect: Effect::Allow,
            principal: Some(PrincipalSpec::Ids {
                aws: vec![principal_arn.into()],
                service: vec![],
            }),
            action,
            resource: any_resource(),
            condition: BTreeMap::new(),
        });
        Ok(())
    }

    /// The principals (ARNs) that statements name, for validation against known identities.
    pub fn named_principals(&self) -> impl Iterator<Item = &str> {
        self.statement
            .iter()
            .flat_map(|s| match &s.principal {
                Some(PrincipalSpec::Ids { aws, .. }) => aws.iter(),
                _ => [].iter(),
            })
            .map(String::as_str)
    }

    /// True when some statement denies `s3:PutObject` depending on the encryption header: the
    /// seed's "refuse data not encrypted with KMS" policy, as the Buckets pane summarises it.
    pub fn denies_unencrypted_puts(&self) -> bool {
        self.statement.iter().any(|s| {
            s.effect == Effect::Deny
                && s.action
                    .iter()
                    .any(|a| a == "s3:PutObject" || a == "s3:*" || a == "*")
                && s.condition
                    .values()
                    .any(|keys| keys.contains_key("s3:x-amz-server-side-encryption"))
        })
    }

    /// The seed's bucket policy: deny any put whose encryption header is not `aws:kms`, and any
    /// put without the header.
    pub fn require_sse_kms(bucket: &str) -> Self {
        let text = format!(
            r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Sid": "DenyIncorrectEncryptionHeader",
      "Effect": "Deny",
      "Principal": "*",
      "Action": "s3:PutObject",
      "Resource": "arn:aws:s3:::{bucket}/*",
      "Condition": {{ "StringNotEquals": {{ "s3:x-amz-server-side-encryption": "aws:kms" }} }}
    }},
    {{
      "Sid": "DenyUnEncryptedObjectUploads",
      "Effect": "Deny",
      "Principal": "*",
      "Action": "s3:PutObject",
      "Resource": "arn:aws:s3:::{bucket}/*",
      "Condition": {{ "Null": {{ "s3:x-amz-server-side-encryption": "true" }} }}
    }}
  ]
}}"#
        );
        Self::parse(&text).expect("the built-in policy is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_aws_shapes() {
        let doc = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:user/a"},
                "Action":"kms:*","Condition":{"Bool":{"aws:SecureTransport":false}}}}"#,
        )
        .unwrap();
        assert_eq!(doc.statement.len(), 1);
        assert_eq!(doc.statement[0].resource, vec!["*"]);
        assert_eq!(
            doc.statement[0].condition["Bool"]["aws:SecureTransport"].0,
            vec!["false"]
        );
    }

    #[test]
    fn malformed_policies_say_why() {
        for (text, why) in [
            ("{", "not valid"),
            (r#"{"Statement":[]}"#, "no Statement"),
            (
                r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:*"}]}"#,
                "not valid",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"PutObject"}]}"#,
                "service:Operation",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"bob","Action":"s3:*"}]}"#,
                "not valid",
            ),
        ] {
            let err = PolicyDocument::parse(text).unwrap_err();
            assert_eq!(err.code, Code::MalformedPolicyDocumentException);
            assert!(err.message.contains(why), "{text}: {}", err.message);
        }
    }

    #[test]
    fn the_seed_bucket_policy_is_recognised() {
        assert!(PolicyDocument::require_sse_kms("b").denies_unencrypted_puts());
    }

    #[test]
    fn allow_statements_are_replaced_not_stacked() {
        let mut doc = PolicyDocument::require_sse_kms("b");
        let ops = vec!["Encrypt".to_string(), "Decrypt".to_string()];
        doc.set_allow_statement("x", "arn:p", &ops, "kms").unwrap();
        doc.set_allow_statement("x", "arn:p", &ops[..1], "kms")
            .unwrap();
        let x: Vec<_> = doc
            .statement
            .iter()
            .filter(|s| s.sid.as_deref() == Some("x"))
            .collect();
        assert_eq!(x.len(), 1);
        assert_eq!(x[0].action, vec!["kms:Encrypt"]);
    }
}
