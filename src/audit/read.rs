//! The typed read side of the log: a stored record's body as the readers
//! need it back (session and approval recovery, the reports, the console).
//!
//! [`super::record::Entry`] is what the writer says; [`Body`] is what a
//! reader gets back from the same JSON. The two differ on purpose: content
//! fields may come back protected (hashed, encrypted or erased by the
//! privacy layer, see [`Content`]), records written by older versions may
//! lack fields, and a reader must still read every record the writer
//! accepted. So every field has a default, a value a reader does not know
//! (a decision name of a newer version) reads as absent rather than failing
//! the record, and a body that does not read at all is [`Body::Unreadable`]
//! with the reason. Readers match on these types, never on JSON paths.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::record::{ApprovalTerms, Vote};
use crate::detect::Surface;
use crate::policy::{Decision, Level};
use crate::request::Context;

/// A record's body, by its kind.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    ScoreDecision(DecisionBody),
    Approval(ApprovalBody),
    ClientEvent(ClientEventBody),
    Incident(IncidentBody),
    ReportGenerated(ReportBody),
    ConsoleAction(ConsoleBody),
    SinkQuarantined(QuarantineBody),
    UnsignedTailAccepted(TailBody),
    SubjectErased(ErasedBody),
    FleetDecision(FleetDecisionBody),
    /// The body is not what its kind says (never written by this version).
    #[serde(skip)]
    Unreadable(String),
    /// A kind this version does not know (a newer writer's).
    #[serde(other)]
    Other,
}

impl Body {
    /// The body of a stored record (`{"body": ...}` as
    /// [`super::record::read_value`] or [`super::journal::AuditLog::reveal`]
    /// give it back).
    pub fn of(record: &Value) -> Body {
        Self::from_value(record.get("body").cloned().unwrap_or(Value::Null))
    }

    pub fn from_value(body: Value) -> Body {
        serde_json::from_value(body).unwrap_or_else(|e| Body::Unreadable(e.to_string()))
    }

    /// Reads a stored record's canonical bytes.
    pub fn read(canonical: &[u8]) -> Result<Body, super::AuditError> {
        Ok(Self::of(&super::record::read_value(canonical)?))
    }
}

/// A `score_decision` body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DecisionBody {
    pub request: RequestBody,
    pub evaluation: EvaluationBody,
    pub approval_id: Option<String>,
    pub caller: Option<String>,
    pub approval: Option<ApprovalTerms>,
}

/// The scored request, whatever its surface.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RequestBody {
    #[serde(deserialize_with = "known")]
    pub surface: Option<Surface>,
    pub context: Context,
    pub text: Content,
    pub system_prompt: Content,
    pub documents: Vec<DocumentBody>,
    pub tool: Content,
    pub arguments_json: Content,
    pub rationale: Content,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DocumentBody {
    pub id: String,
    pub source: String,
    pub trusted: Option<bool>,
    pub text: Content,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct EvaluationBody {
    pub verdict: VerdictBody,
    pub findings: Vec<FindingView>,
    pub skipped: Vec<SkippedBody>,
    pub effects: Vec<String>,
    pub policy_version: String,
    pub detector_versions: BTreeMap<String, String>,
    pub model_versions: BTreeMap<String, String>,
    /// Present when the evaluation kept a redacted copy of the text.
    pub redacted_text: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct VerdictBody {
    pub score: f64,
    #[serde(deserialize_with = "known")]
    pub level: Option<Level>,
    #[serde(deserialize_with = "known")]
    pub decision: Option<Decision>,
    pub required_checks: Vec<String>,
    pub reasons: Vec<String>,
}

/// A finding as it was recorded (and as a reviewer sees it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FindingView {
    pub category: String,
    pub score: f64,
    pub detector: String,
    pub source: String,
    pub span: Range<usize>,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SkippedBody {
    pub detector: String,
    pub reason: String,
}

/// An `approval` step.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ApprovalBody {
    pub approval_id: String,
    pub event: String,
    pub context: Context,
    pub actor: String,
    pub reason: String,
    pub request_record_id: String,
    pub request_sequence: u64,
    pub state: String,
    pub votes: Vec<Vote>,
    pub delivered_from: String,
    pub fleet_origin: String,
}

/// A `fleet_decision` (see [`crate::fleet::decision`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct FleetDecisionBody {
    pub context: Context,
    pub approval_id: String,
    pub instance_id: String,
    pub request_record_id: String,
    pub approve: bool,
    pub reviewer: String,
    pub roles: Vec<String>,
    pub reason: String,
    pub decided_at: String,
    pub fleet_origin: String,
    pub signature: String,
}

/// A `client_event`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ClientEventBody {
    pub event_kind: String,
    pub client_event_id: String,
    pub context: Context,
    /// The client's JSON object, as it gave it.
    pub attributes: Value,
    pub occurred_at: Option<String>,
}

/// An `incident` step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IncidentBody {
    pub incident_id: String,
    pub event: String,
    pub context: Context,
    pub actor: String,
    pub severity: String,
    pub title: String,
    pub description: String,
    pub aware_at: String,
    pub related_records: Vec<String>,
    pub authority: String,
    pub notified_at: String,
}

/// A `report_generated` record.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ReportBody {
    pub context: Context,
    pub actor: String,
    pub framework: String,
    pub mapping_version: String,
    pub from: String,
    pub to: String,
    pub report_sha256: String,
    pub html_sha256: String,
    pub statuses: BTreeMap<String, String>,
}

/// A `console_action`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ConsoleBody {
    pub context: Context,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub client: String,
}

/// A `sink_quarantined` record.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct QuarantineBody {
    pub context: Context,
    pub sink: String,
    pub store: String,
    pub sequence: u64,
    pub record_id: String,
    pub record_kind: String,
    pub reason: String,
}

/// An `unsigned_tail_accepted` record.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TailBody {
    pub context: Context,
    pub actor: String,
    pub first_sequence: u64,
    pub last_sequence: u64,
    pub reason: String,
}

/// A `subject_erased` record.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ErasedBody {
    pub context: Context,
    pub subject_id: String,
    pub reason: String,
    pub key_existed: bool,
}

/// A content field as stored: the text, or what the privacy layer left of
/// it (see [`super::privacy`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Content {
    #[default]
    Absent,
    Text(String),
    /// `{"$hash": "sha256:<hex>"}`: a salted hash.
    Hashed(String),
    /// `{"$enc": {...}}`: encrypted under a subject's key.
    Encrypted(Value),
    /// `{"$erased": "<subject>"}`: the subject's key is gone.
    Erased(String),
    /// Anything else a reader did not expect, kept as it was.
    Other(Value),
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Content::Absent,
            Value::String(s) => Content::Text(s),
            Value::Object(mut m) if m.len() == 1 => {
                if let Some(Value::String(h)) = m.get("$hash") {
                    Content::Hashed(h.clone())
                } else if let Some(e) = m.remove("$enc") {
                    Content::Encrypted(e)
                } else if let Some(Value::String(s)) = m.get("$erased") {
                    Content::Erased(s.clone())
                } else {
                    Content::Other(Value::Object(m))
                }
            }
            other => Content::Other(other),
        })
    }
}

impl Content {
    /// The plain text, when the record holds it.
    pub fn text(&self) -> Option<&str> {
        match self {
            Content::Text(s) => Some(s),
            _ => None,
        }
    }

    /// What a reader shows: the text, nothing, or a marker naming the
    /// protection (`[protected: {"$hash":"sha256:..."}]`).
    pub fn shown(&self) -> String {
        match self {
            Content::Absent => String::new(),
            Content::Text(s) => s.clone(),
            protected => format!("[protected: {}]", protected.as_json()),
        }
    }

    /// What the evidence says of the content without showing it: the
    /// sha256 of the text, the salted hash, or that it is encrypted, erased
    /// or absent.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        match self {
            Content::Text(t) => format!("sha256:{}", hex::encode(Sha256::digest(t.as_bytes()))),
            Content::Hashed(h) => format!("salted {h}"),
            Content::Encrypted(_) => "encrypted".into(),
            Content::Erased(_) => "erased".into(),
            Content::Absent | Content::Other(_) => "absent".into(),
        }
    }

    /// The field as it was stored.
    fn as_json(&self) -> Value {
        match self {
            Content::Absent => Value::Null,
            Content::Text(s) => Value::String(s.clone()),
            Content::Hashed(h) => serde_json::json!({ "$hash": h }),
            Content::Encrypted(e) => serde_json::json!({ "$enc": e }),
            Content::Erased(s) => serde_json::json!({ "$erased": s }),
            Content::Other(v) => v.clone(),
        }
    }
}

/// A value of a type this version knows, or `None` (absent, or written by
/// a newer version with a name this one does not know).
fn known<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_decision_reads_back_typed_with_protected_fields() {
        let body = Body::from_value(json!({
            "kind": "score_decision",
            "request": {"surface": "action", "context": {"tenant": "t", "session_id": "s"},
                        "tool": "issue_refund", "arguments_json": {"$hash": "sha256:ab"},
                        "documents": [{"id": "d", "trusted": false, "text": {"$erased": "subj"}}]},
            "evaluation": {"verdict": {"score": 0.9, "level": "high", "decision": "require_approval",
                                       "reasons": ["refund over the limit"]},
                           "findings": [{"category": "action.payment", "score": 0.9}],
                           "policy_version": "p1", "detector_versions": {"pii": "1.0.0"}},
            "approval_id": "a1"
        }));
        let Body::ScoreDecision(d) = body else { panic!("{body:?}") };
        assert_eq!(d.request.surface, Some(Surface::Action));
        assert_eq!(d.request.context.tenant, "t");
        assert_eq!(d.request.tool.text(), Some("issue_refund"));
        assert_eq!(d.request.arguments_json, Content::Hashed("sha256:ab".into()));
        assert_eq!(d.request.arguments_json.shown(), r#"[protected: {"$hash":"sha256:ab"}]"#);
        assert_eq!(d.request.documents[0].trusted, Some(false));
        assert_eq!(d.request.documents[0].text.digest(), "erased");
        assert_eq!(d.evaluation.verdict.level, Some(Level::High));
        assert_eq!(d.evaluation.verdict.decision, Some(Decision::RequireApproval));
        assert_eq!(d.evaluation.findings[0].category, "action.payment");
        assert_eq!(d.evaluation.detector_versions["pii"], "1.0.0");
        assert_eq!(d.approval_id.as_deref(), Some("a1"));
    }

    #[test]
    fn unknown_names_read_as_absent_and_unknown_kinds_as_other() {
        let Body::ScoreDecision(d) = Body::from_value(json!({
            "kind": "score_decision",
            "request": {"surface": "telepathy"},
            "evaluation": {"verdict": {"decision": "shrug", "level": "high"}}
        })) else {
            panic!()
        };
        assert_eq!(d.request.surface, None);
        assert_eq!(d.evaluation.verdict.decision, None);
        assert_eq!(d.evaluation.verdict.level, Some(Level::High));
        assert_eq!(Body::from_value(json!({"kind": "from_the_future", "x": 1})), Body::Other);
        assert!(matches!(Body::from_value(json!({"kind": "incident", "title": 7})), Body::Unreadable(_)));
        assert!(matches!(Body::from_value(json!("not an object")), Body::Unreadable(_)));
    }

    #[test]
    fn content_digests_say_what_is_left() {
        let c = |v: Value| serde_json::from_value::<Content>(v).unwrap();
        assert_eq!(
            c(json!("hello")).digest(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(c(json!({"$hash": "sha256:00"})).digest(), "salted sha256:00");
        assert_eq!(c(json!({"$enc": {"alg": "x"}})).digest(), "encrypted");
        assert_eq!(c(json!(null)).digest(), "absent");
        assert_eq!(c(json!({"$enc": {"alg": "x"}})).shown(), r#"[protected: {"$enc":{"alg":"x"}}]"#);
        assert_eq!(c(json!(null)).shown(), "");
    }
}
