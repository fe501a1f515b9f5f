//! Protobuf <-> domain conversions. Every request field is destructured, so a
//! field added to the proto breaks the build here until someone handles it.

use crate::engine::Assessment;
use crate::error::Error;
use crate::policy::{Decision, Level};
use crate::proto::v1 as pb;
use crate::request::{Context, DocumentIn, ScoreRequest};

impl TryFrom<pb::ScoreInputRequest> for ScoreRequest {
    type Error = Error;

    fn try_from(r: pb::ScoreInputRequest) -> Result<Self, Error> {
        let pb::ScoreInputRequest { context, text, system_prompt, documents } = r;
        Ok(ScoreRequest::Input {
            context: context_from(context)?,
            text,
            system_prompt,
            documents: documents_from(documents)?,
        })
    }
}

impl TryFrom<pb::ScoreOutputRequest> for ScoreRequest {
    type Error = Error;

    fn try_from(r: pb::ScoreOutputRequest) -> Result<Self, Error> {
        let pb::ScoreOutputRequest { context, text, input, system_prompt, documents, canaries } = r;
        Ok(ScoreRequest::Output {
            context: context_from(context)?,
            text,
            input,
            system_prompt,
            documents: documents_from(documents)?,
            canaries,
        })
    }
}

impl TryFrom<pb::ScoreActionRequest> for ScoreRequest {
    type Error = Error;

    fn try_from(r: pb::ScoreActionRequest) -> Result<Self, Error> {
        let pb::ScoreActionRequest { context, tool, arguments_json, rationale } = r;
        Ok(ScoreRequest::Action { context: context_from(context)?, tool, arguments_json, rationale })
    }
}

fn context_from(c: Option<pb::RequestContext>) -> Result<Context, Error> {
    c.map(context_to_domain).ok_or_else(|| Error::invalid("context", "is required (at least context.application)"))
}

/// A request context as the domain keeps it (trace ids in lower case).
pub fn context_to_domain(c: pb::RequestContext) -> Context {
    let pb::RequestContext { tenant, application, session_id, trace_id, user_id, model, labels } = c;
    Context {
        tenant,
        application,
        session_id,
        trace_id: trace_id.to_ascii_lowercase(),
        user_id,
        model,
        labels: labels.into_iter().collect(),
    }
}

pub fn context_to_proto(c: &Context) -> pb::RequestContext {
    pb::RequestContext {
        tenant: c.tenant.clone(),
        application: c.application.clone(),
        session_id: c.session_id.clone(),
        trace_id: c.trace_id.clone(),
        user_id: c.user_id.clone(),
        model: c.model.clone(),
        labels: c.labels.clone().into_iter().collect(),
    }
}

fn documents_from(docs: Vec<pb::Document>) -> Result<Vec<DocumentIn>, Error> {
    docs.into_iter()
        .enumerate()
        .map(|(i, d)| {
            let pb::Document { id, source, text, trusted, content } = d;
            let text = match (text.is_empty(), content.is_empty()) {
                (_, true) => text,
                (true, false) => String::from_utf8(content).map_err(|e| {
                    Error::invalid(
                        &format!("documents[{i}].content"),
                        &format!("is not valid UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to()),
                    )
                })?,
                (false, false) => {
                    return Err(Error::invalid(&format!("documents[{i}]"), "set either text or content, not both"))
                }
            };
            Ok(DocumentIn { id, source, text, trusted })
        })
        .collect()
}

pub fn level_to_proto(l: Level) -> pb::RiskLevel {
    match l {
        Level::Low => pb::RiskLevel::Low,
        Level::Medium => pb::RiskLevel::Medium,
        Level::High => pb::RiskLevel::High,
        Level::Critical => pb::RiskLevel::Critical,
    }
}

pub fn decision_to_proto(d: Decision) -> pb::Decision {
    match d {
        Decision::Allow => pb::Decision::Allow,
        Decision::Review => pb::Decision::Review,
        Decision::RequireApproval => pb::Decision::RequireApproval,
        Decision::Block => pb::Decision::Block,
    }
}

/// A wire decision as the domain's (`None` for `DECISION_UNSPECIFIED`).
pub fn decision_from_proto(d: pb::Decision) -> Option<Decision> {
    match d {
        pb::Decision::Unspecified => None,
        pb::Decision::Allow => Some(Decision::Allow),
        pb::Decision::Review => Some(Decision::Review),
        pb::Decision::RequireApproval => Some(Decision::RequireApproval),
        pb::Decision::Block => Some(Decision::Block),
    }
}

impl From<Assessment> for pb::Assessment {
    fn from(a: Assessment) -> Self {
        let Assessment { evaluation, approval_id, record } = a;
        let e = evaluation;
        pb::Assessment {
            record_id: record.record_id,
            score: e.verdict.score,
            level: level_to_proto(e.verdict.level) as i32,
            decision: decision_to_proto(e.verdict.decision) as i32,
            findings: e
                .findings
                .into_iter()
                .map(|f| pb::Finding {
                    category: f.category,
                    score: f.score,
                    detector: f.detector.to_string(),
                    source: f.source,
                    span: Some(pb::Span { start: f.span.start as u32, end: f.span.end as u32 }),
                    message: f.message,
                    evidence: f.evidence.map(|e| pb::Evidence {
                        source: e.source,
                        span: Some(pb::Span { start: e.span.start as u32, end: e.span.end as u32 }),
                        similarity: e.similarity,
                    }),
                })
                .collect(),
            redacted_text: e.redacted_text,
            policy_version: e.policy_version,
            detector_versions: e.detector_versions.into_iter().collect(),
            model_versions: e.model_versions.into_iter().collect(),
            approval_id: approval_id.unwrap_or_default(),
            skipped_detectors: e
                .skipped
                .into_iter()
                .map(|s| pb::SkippedDetector {
                    detector: s.detector,
                    reason: s.reason.as_str().to_string(),
                    message: s.message,
                })
                .collect(),
            required_checks: e.verdict.required_checks,
            sequence: record.sequence,
            created_at: Some(pbjson_types::Timestamp {
                seconds: record.recorded_at_unix.0,
                nanos: record.recorded_at_unix.1 as i32,
            }),
            reasons: e.verdict.reasons,
        }
    }
}

/// The start of a period from `from` or its alias `from_time` (`from` is a
/// keyword in Python, so `AuditQuery(from=...)` cannot be written there):
/// either may be set, or both to the same time. Returns the field that
/// carried it, so a later check names the one the client wrote.
pub fn period_start(
    from: Option<pbjson_types::Timestamp>,
    from_time: Option<pbjson_types::Timestamp>,
) -> Result<(&'static str, Option<pbjson_types::Timestamp>), Error> {
    match (from, from_time) {
        (Some(from), Some(alias)) if from != alias => {
            Err(Error::invalid("from_time", "differs from `from`, which means the same: set only one of them"))
        }
        (None, Some(alias)) => Ok(("from_time", Some(alias))),
        (from, _) => Ok(("from", from)),
    }
}
