//! Privacy of record content: what the log stores of each content field, and
//! erasure of one data subject's content by crypto-shredding.
//!
//! Per field (`text`, `system_prompt`, `input`, `documents`,
//! `arguments_json`, `rationale`, client-event `attributes`) the log stores
//! one of:
//!
//! - `raw`: the value as given;
//! - `redacted`: personal data and secrets masked, from the request's own
//!   findings (client events have no findings and fall back to `hash`);
//! - `hash`: `{"$hash": "sha256:<hex>"}` of a secret salt and the value, so
//!   equal values can be matched without being readable;
//! - `encrypt`: `{"$enc": {...}}`, XChaCha20-Poly1305 under a key of the
//!   record's data subject (`user_id`, else the session, else the tenant).
//!
//! Erasing a subject deletes its key: its content becomes unreadable while
//! the record bytes, and so the hash chain, the Merkle tree and every signed
//! checkpoint, stay exactly as they were. Erasure requests (GDPR Art. 17) and
//! retention duties (EU AI Act Art. 19) meet in the same log this way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::AuditError;
use crate::detect::redact::{is_redacted_category, redact};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldMode {
    Raw,
    Redacted,
    Hash,
    Encrypt,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// What content fields store unless `fields` says otherwise.
    pub default: FieldMode,
    /// Per-field overrides, by field name.
    pub fields: BTreeMap<String, FieldMode>,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self { default: FieldMode::Raw, fields: BTreeMap::new() }
    }
}

/// The content fields, as named in config and records.
pub const FIELDS: &[&str] =
    &["text", "system_prompt", "input", "documents", "arguments_json", "rationale", "attributes"];

pub struct Privacy {
    config: PrivacyConfig,
    salt: [u8; 32],
    keys_dir: PathBuf,
}

impl Privacy {
    pub fn open(audit_dir: &Path, config: &PrivacyConfig) -> Result<Self, AuditError> {
        for f in config.fields.keys() {
            if !FIELDS.contains(&f.as_str()) {
                return Err(AuditError::Io(format!(
                    "audit.privacy.fields: unknown field {f:?} (known: {})",
                    FIELDS.join(", ")
                )));
            }
        }
        let keys_dir = audit_dir.join("subject-keys");
        std::fs::create_dir_all(&keys_dir).map_err(|e| io_err(&keys_dir, e))?;
        let salt_path = audit_dir.join("privacy-salt");
        let salt = match std::fs::read(&salt_path) {
            Ok(b) if b.len() == 32 => b.try_into().expect("32 bytes"),
            _ => {
                let mut s = [0u8; 32];
                getrandom::fill(&mut s).map_err(|e| AuditError::Io(format!("random salt: {e}")))?;
                write_private(&salt_path, &s)?;
                s
            }
        };
        Ok(Self { config: config.clone(), salt, keys_dir })
    }

    fn mode(&self, field: &str) -> FieldMode {
        self.config.fields.get(field).copied().unwrap_or(self.config.default)
    }

    /// Whether any field is stored other than raw (the common case skips
    /// all work).
    pub fn is_raw(&self) -> bool {
        self.config.default == FieldMode::Raw && self.config.fields.values().all(|m| *m == FieldMode::Raw)
    }

    /// A pseudonymous, stable id for a subject: salted, so it cannot be
    /// reversed by hashing guesses without the salt.
    pub fn subject_id(&self, subject: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(b"subject\0");
        h.update(subject.as_bytes());
        hex::encode(&h.finalize()[..16])
    }

    /// Rewrites the content fields of a serialised entry (`body`) as the
    /// config says. `subject` is the record's data subject.
    pub fn protect(&self, body: &mut Value, subject: &str) -> Result<(), AuditError> {
        if self.is_raw() {
            return Ok(());
        }
        let spans_by_source = findings_by_source(body);
        let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        if super::record::Kind::parse(&kind) == Some(super::record::Kind::ScoreDecision) {
            let Some(req) = body.get_mut("request").and_then(Value::as_object_mut) else { return Ok(()) };
            for field in ["text", "system_prompt", "input", "arguments_json", "rationale"] {
                let source = match (field, req.get("surface").and_then(Value::as_str)) {
                    ("text", Some("output")) => "output",
                    ("text", _) => "input",
                    ("arguments_json", _) => "action",
                    (f, _) => f,
                };
                if let Some(v) = req.get_mut(field) {
                    self.apply(field, v, spans_by_source.get(source), subject)?;
                }
            }
            if let Some(Value::Array(docs)) = req.get_mut("documents") {
                for d in docs {
                    let source = format!("document:{}", d.get("id").and_then(Value::as_str).unwrap_or_default());
                    if let Some(v) = d.get_mut("text") {
                        self.apply("documents", v, spans_by_source.get(source.as_str()), subject)?;
                    }
                }
            }
            // The redacted copy of the main text is already safe to keep.
        } else if let Some(v) = body.get_mut("attributes") {
            self.apply("attributes", v, None, subject)?;
        }
        Ok(())
    }

    fn apply(
        &self,
        field: &str,
        v: &mut Value,
        spans: Option<&Vec<(std::ops::Range<usize>, String)>>,
        subject: &str,
    ) -> Result<(), AuditError> {
        let empty = matches!(v, Value::String(s) if s.is_empty());
        if empty {
            return Ok(());
        }
        let (plain, is_string) = match &*v {
            Value::String(s) => (s.clone(), true),
            other => (other.to_string(), false),
        };
        *v = match self.mode(field) {
            FieldMode::Raw => return Ok(()),
            FieldMode::Redacted => match spans {
                Some(spans) if is_string => {
                    Value::String(redact(&plain, spans.iter().map(|(r, c)| (r.clone(), c.as_str()))))
                }
                // No findings in a text: nothing to mask.
                None if is_string && field != "attributes" => return Ok(()),
                // Client-event attributes have no findings to redact by.
                _ => self.hash(&plain),
            },
            FieldMode::Hash => self.hash(&plain),
            FieldMode::Encrypt => self.encrypt(&plain, subject)?,
        };
        Ok(())
    }

    fn hash(&self, plain: &str) -> Value {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(b"value\0");
        h.update(plain.as_bytes());
        json!({ "$hash": format!("sha256:{}", hex::encode(h.finalize())) })
    }

    fn key_path(&self, subject_id: &str) -> PathBuf {
        self.keys_dir.join(format!("{subject_id}.key"))
    }

    fn key(&self, subject_id: &str, create: bool) -> Result<Option<[u8; 32]>, AuditError> {
        let path = self.key_path(subject_id);
        match std::fs::read(&path) {
            Ok(b) if b.len() == 32 => Ok(Some(b.try_into().expect("32 bytes"))),
            Ok(_) => Err(AuditError::Corrupt(format!("{}: not a 32-byte key", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let mut k = [0u8; 32];
                getrandom::fill(&mut k).map_err(|e| AuditError::Io(format!("random key: {e}")))?;
                write_private(&path, &k)?;
                Ok(Some(k))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    fn encrypt(&self, plain: &str, subject: &str) -> Result<Value, AuditError> {
        let sid = self.subject_id(subject);
        let key = self.key(&sid, true)?.expect("created");
        let cipher = XChaCha20Poly1305::new_from_slice(&key).map_err(|e| AuditError::Io(e.to_string()))?;
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| AuditError::Io(format!("random nonce: {e}")))?;
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: sid.as_bytes() })
            .map_err(|e| AuditError::Io(format!("encrypting: {e}")))?;
        Ok(
            json!({ "$enc": { "alg": "xchacha20poly1305", "subject": sid, "nonce": B64.encode(nonce), "ct": B64.encode(ct) } }),
        )
    }

    /// The record with every encrypted field decrypted where the subject's
    /// key still exists, and `{"$erased": "<subject>"}` where it does not.
    /// The record as stored, except that encrypted fields whose subject was
    /// erased read `{"$erased": "<subject>"}`. Nothing is decrypted.
    pub fn mark_erased(&self, record: &[u8]) -> Result<Value, AuditError> {
        let mut v = super::record::read_value(record)?;
        self.mark_value(&mut v)?;
        Ok(v)
    }

    fn mark_value(&self, v: &mut Value) -> Result<(), AuditError> {
        walk_encrypted(v, &mut |enc| {
            let sid = enc.get("subject").and_then(Value::as_str).unwrap_or_default().to_string();
            Ok(self.key(&sid, false)?.is_none().then(|| json!({ "$erased": sid })))
        })
    }

    pub fn reveal(&self, record: &[u8]) -> Result<Value, AuditError> {
        let mut v = super::record::read_value(record)?;
        self.reveal_value(&mut v)?;
        Ok(v)
    }

    fn reveal_value(&self, v: &mut Value) -> Result<(), AuditError> {
        walk_encrypted(v, &mut |enc| self.decrypt_field(enc).map(Some))
    }

    /// The plain value of one `{"$enc": ...}` field, or `{"$erased": ...}`
    /// when its subject's key is gone.
    fn decrypt_field(&self, enc: &serde_json::Map<String, Value>) -> Result<Value, AuditError> {
        let get = |k: &str| enc.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let sid = get("subject");
        let revealed = match self.key(&sid, false)? {
            None => json!({ "$erased": sid }),
            Some(key) => {
                let cipher = XChaCha20Poly1305::new_from_slice(&key).map_err(|e| AuditError::Io(e.to_string()))?;
                let nonce = B64.decode(get("nonce")).map_err(|e| AuditError::Corrupt(e.to_string()))?;
                let ct = B64.decode(get("ct")).map_err(|e| AuditError::Corrupt(e.to_string()))?;
                if nonce.len() != 24 {
                    return Err(AuditError::Corrupt("bad nonce".into()));
                }
                let pt = cipher
                    .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ct, aad: sid.as_bytes() })
                    .map_err(|_| AuditError::Corrupt(format!("content of subject {sid} does not decrypt")))?;
                let s = String::from_utf8(pt).map_err(|e| AuditError::Corrupt(e.to_string()))?;
                // Attributes were a JSON object; strings were strings.
                serde_json::from_str::<Value>(&s).ok().filter(Value::is_object).unwrap_or(Value::String(s))
            }
        };
        Ok(revealed)
    }

    /// Crypto-shreds a subject: deletes its key, durably. Returns the subject
    /// id and whether a key existed.
    pub fn erase(&self, subject: &str) -> Result<(String, bool), AuditError> {
        let sid = self.subject_id(subject);
        let path = self.key_path(&sid);
        let existed = match std::fs::remove_file(&path) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(io_err(&path, e)),
        };
        if let Ok(d) = std::fs::File::open(&self.keys_dir) {
            let _ = d.sync_all();
        }
        Ok((sid, existed))
    }
}

/// The data subject of a record: the user, else the session, else the tenant.
pub fn subject_of(context: &crate::request::Context) -> String {
    if !context.user_id.is_empty() {
        format!("user:{}", context.user_id)
    } else if !context.session_id.is_empty() {
        format!("session:{}", context.session_id)
    } else {
        format!("tenant:{}", context.tenant)
    }
}

/// PII and secret finding spans by source, from a serialised ScoreDecision.
fn findings_by_source(body: &Value) -> BTreeMap<String, Vec<(std::ops::Range<usize>, String)>> {
    let mut out: BTreeMap<String, Vec<(std::ops::Range<usize>, String)>> = BTreeMap::new();
    let findings = body.pointer("/evaluation/findings").and_then(Value::as_array);
    for f in findings.into_iter().flatten() {
        let cat = f.get("category").and_then(Value::as_str).unwrap_or_default();
        if !is_redacted_category(cat) {
            continue;
        }
        let (Some(start), Some(end)) =
            (f.pointer("/span/start").and_then(Value::as_u64), f.pointer("/span/end").and_then(Value::as_u64))
        else {
            continue;
        };
        let source = f.get("source").and_then(Value::as_str).unwrap_or_default().to_string();
        out.entry(source).or_default().push((start as usize..end as usize, cat.to_string()));
    }
    out
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| io_err(path, e))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| io_err(path, e))
}

fn io_err(path: &Path, e: std::io::Error) -> AuditError {
    AuditError::Io(format!("{}: {e}", path.display()))
}

/// Replaces every `{"$enc": {...}}` object in `v` for which `f` returns a
/// value; everything else is walked into.
fn walk_encrypted(
    v: &mut Value,
    f: &mut dyn FnMut(&serde_json::Map<String, Value>) -> Result<Option<Value>, AuditError>,
) -> Result<(), AuditError> {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(enc)) = map.get("$enc") {
                if let Some(new) = f(enc)? {
                    *v = new;
                }
                return Ok(());
            }
            for child in map.values_mut() {
                walk_encrypted(child, f)?;
            }
        }
        Value::Array(items) => {
            for child in items {
                walk_encrypted(child, f)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::pii::PiiDetector;

    /// The redacted mode masks what the personal-data detector found, of
    /// every kind: the stored text keeps none of the identifiers.
    #[test]
    fn redacted_fields_mask_every_kind_of_identifier() {
        let values = [
            ("NHS number", "943 476 5919"),
            ("NINO", "AB 12 34 56 C"),
            ("DNI", "12345678Z"),
            ("codice fiscale", "RSSMRA85T10A562S"),
            ("PESEL", "44051401359"),
            ("BSN", "111222333"),
            ("CPF", "529.982.247-25"),
            ("personnummer", "811228-9874"),
            ("CURP", "HEGG560427MVZRRL04"),
            ("wallet", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
            ("device", "00:1A:2B:3C:4D:5E"),
            ("call me on", "07700 900 123"),
        ];
        let text = values.iter().map(|(label, value)| format!("{label} {value}")).collect::<Vec<_>>().join("; ");
        let findings: Vec<Value> = PiiDetector::new("GB")
            .unwrap()
            .scan(&text)
            .into_iter()
            .map(|f| json!({"category": f.category, "source": "input", "span": {"start": f.span.start, "end": f.span.end}}))
            .collect();
        assert!(findings.len() >= values.len(), "{findings:?}");
        let mut body = json!({
            "kind": "score_decision",
            "request": {"surface": "input", "text": text},
            "evaluation": {"findings": findings},
        });
        let dir = tempfile::tempdir().unwrap();
        let privacy =
            Privacy::open(dir.path(), &PrivacyConfig { default: FieldMode::Redacted, fields: BTreeMap::new() })
                .unwrap();
        privacy.protect(&mut body, "user:u1").unwrap();
        let stored = body.pointer("/request/text").and_then(Value::as_str).unwrap();
        for (label, value) in values {
            assert!(!stored.contains(value), "{value} kept in {stored}");
            assert!(stored.contains(label), "{label} lost from {stored}");
        }
        assert_eq!(stored.matches("[REDACTED:pii.").count(), findings.len(), "{stored}");
    }
}
