//! Messages derived from data (why a query, job run or crawl failed, why a classification job
//! skipped an object) are stored sealed in meta.db, as everything else derived from data is:
//! AES-256-GCM under a sub-key of the root key, bound to the record they belong to, and opened
//! only when the record is read through the service (which decides who may read it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::Lake;
use super::crypto;

/// Marks a stored message as sealed; text without it was stored before messages were sealed.
const PREFIX: &str = "lakectl-sealed:v1:";

impl Lake {
    /// `text` sealed for the record `context` (e.g. `athena:query=ID`).
    pub(super) fn seal_text(&self, context: &str, text: &str) -> String {
        let sealed = crypto::seal(&self.text_seal, text.as_bytes(), context.as_bytes());
        format!("{PREFIX}{}", B64.encode(sealed))
    }

    /// What `seal_text` sealed for `context`. A message that does not open (moved to another
    /// record, tampered with) says so instead of failing the read of the whole record.
    pub(super) fn open_text(&self, context: &str, stored: &str) -> String {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return stored.to_string();
        };
        B64.decode(encoded)
            .ok()
            .and_then(|bytes| crypto::open(&self.text_seal, &bytes, context.as_bytes()).ok())
            .and_then(|plain| String::from_utf8(plain).ok())
            .unwrap_or_else(|| "(the stored message failed authentication)".into())
    }

    pub(super) fn seal_opt(&self, context: &str, text: &mut Option<String>) {
        if let Some(t) = text {
            *t = self.seal_text(context, t);
        }
    }

    pub(super) fn open_opt(&self, context: &str, text: &mut Option<String>) {
        if let Some(t) = text {
            *t = self.open_text(context, t);
        }
    }
}
