//! The record schema (version [`SCHEMA_VERSION`]) and its canonical bytes.
//!
//! A record is one JSON object, serialised once by Warden with a fixed field
//! order and sorted maps, and stored byte for byte. Those bytes are the
//! Merkle leaf (`SHA-256(0x00 || bytes)`), so a verifier hashes what it is
//! given and never re-serialises. Attribute names follow the OpenTelemetry
//! GenAI semantic conventions where one exists (`gen_ai.conversation.id`,
//! `gen_ai.request.model`, `gen_ai.tool.name`, `gen_ai.tool.call.arguments`);
//! Warden's own carry a `warden.` prefix.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::evaluation::Evaluation;
use crate::request::{Context, ScoreRequest};

pub const SCHEMA_VERSION: u32 = 2;

/// The attribute holding a client event's `client_event_id`, when it has one.
pub const CLIENT_EVENT_ID: &str = "warden.client_event_id";

/// The OpenTelemetry GenAI attributes of a client event that are copied
/// among its record's facts (so indexed, queryable and shown): the event's
/// own value wins over its context's (`gen_ai.request.model` from
/// `context.model`). Token counts are facts to show, not to search.
pub const GEN_AI_FACTS: [&str; 7] = [
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.tool.name",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
];

/// The longest GenAI value kept among the facts: as long as any identifier
/// a context may carry. A longer one stays in the event, unindexed.
const MAX_FACT_BYTES: usize = 256;

/// The [`GEN_AI_FACTS`] an event's attributes carry, as strings: a string
/// (at most [`MAX_FACT_BYTES`]) or an integer; other values are left out.
/// `gen_ai.system`, the provider's name before the conventions renamed it,
/// stands in for a missing `gen_ai.provider.name`.
fn gen_ai_facts(map: &BTreeMap<String, serde_json::Value>) -> Vec<(&'static str, String)> {
    let value = |name: &str| match map.get(name)? {
        serde_json::Value::String(s) if !s.is_empty() && s.len() <= MAX_FACT_BYTES => Some(s.clone()),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    };
    GEN_AI_FACTS
        .iter()
        .filter_map(|&name| {
            let older = || if name == "gen_ai.provider.name" { value("gen_ai.system") } else { None };
            value(name).or_else(older).map(|v| (name, v))
        })
        .collect()
}

/// One reviewer's verdict on an approval, as its records keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vote {
    pub reviewer: String,
    pub approve: bool,
    pub reason: String,
    /// RFC 3339, UTC.
    pub at: String,
}

/// What a request for approval asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalTerms {
    /// RFC 3339, UTC: an undecided approval becomes a deny then.
    pub expires_at: String,
    /// Distinct reviewers who must approve.
    pub required_approvals: u32,
}

/// What a record says. New kinds are added; existing ones never change
/// meaning within a schema version.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A Score call: the full request, what every detector found, what was
    /// skipped, and the decision with the policy and detector versions.
    ScoreDecision {
        request: ScoreRequest,
        evaluation: Evaluation,
        approval_id: Option<String>,
        warden_version: &'static str,
        /// The authenticated caller's identity (absent with authentication off).
        #[serde(skip_serializing_if = "Option::is_none")]
        caller: Option<String>,
        /// For a decision that asks for approval: its terms.
        #[serde(skip_serializing_if = "Option::is_none")]
        approval: Option<ApprovalTerms>,
    },
    /// A step of a human approval: shown to a reviewer, a reviewer's vote,
    /// approved, denied, expired. The request itself is the `score_decision`
    /// record named by `request_sequence`.
    Approval {
        approval_id: String,
        /// `shown`, `vote`, `approved`, `denied`, `expired`, or `refused`
        /// (a delivered decision this instance did not apply).
        event: String,
        context: Context,
        /// Who: a reviewer's identity, or `warden` for an expiry.
        actor: String,
        reason: String,
        request_record_id: String,
        request_sequence: u64,
        /// The approval's state after this step.
        state: String,
        votes: Vec<Vote>,
        /// For a decision a fleet service made and delivered: the id of the
        /// fleet's own record of it (`fleet_decision`); event `refused` when
        /// this instance did not apply it.
        #[serde(skip_serializing_if = "String::is_empty")]
        delivered_from: String,
        /// The fleet service's log origin, for a delivered decision.
        #[serde(skip_serializing_if = "String::is_empty")]
        fleet_origin: String,
    },
    /// A record a client appended: a model call, a tool call or its result,
    /// or anything else worth keeping.
    ClientEvent {
        /// `model_call`, `tool_call`, `tool_result`, `custom`, ...
        event_kind: String,
        client_event_id: String,
        context: Context,
        /// A JSON object; OpenTelemetry GenAI attribute names recommended.
        attributes: Box<RawValue>,
        /// When the client says it happened (RFC 3339), if it said.
        occurred_at: Option<String>,
    },
    /// A step of an incident's life: reported (with when the organisation
    /// first became aware), the authority notified, updated, closed. The
    /// first record of an incident carries its full description; later ones
    /// repeat the facts that may change.
    Incident {
        incident_id: String,
        /// `reported`, `notified`, `updated`, `closed`.
        event: String,
        context: Context,
        /// Who recorded this step.
        actor: String,
        /// See [`crate::compliance::incident::Severity`].
        severity: String,
        title: String,
        description: String,
        /// RFC 3339 UTC: when the provider or deployer first became aware
        /// (EU AI Act Art. 73 counts its deadlines from here).
        aware_at: String,
        /// Audit record ids the incident concerns.
        related_records: Vec<String>,
        /// The market surveillance authority told, for `notified`.
        #[serde(skip_serializing_if = "String::is_empty")]
        authority: String,
        /// RFC 3339 UTC: when the authority was told, for `notified`.
        #[serde(skip_serializing_if = "String::is_empty")]
        notified_at: String,
    },
    /// A compliance report was generated from this log.
    ReportGenerated {
        context: Context,
        actor: String,
        framework: String,
        mapping_version: String,
        /// The period reported on, RFC 3339 UTC, `to` exclusive.
        from: String,
        to: String,
        /// `sha256:<hex>` of the JSON and HTML reports as written.
        report_sha256: String,
        html_sha256: String,
        /// Clause id to status.
        statuses: BTreeMap<String, String>,
    },
    /// Something a person did in the web console: signed in (or was
    /// refused), searched, opened a timeline or a report, decided an
    /// approval, generated a report.
    ConsoleAction {
        context: Context,
        /// The signed-in identity (or the identity refused).
        actor: String,
        /// `sign_in`, `sign_in_refused`, `sign_out`, `search`,
        /// `view_approval`, `decide`, `view_timeline`, `view_proof`,
        /// `generate_report`, `open_report`.
        action: String,
        /// What it was done to (an approval, session or record id, a query).
        target: String,
        /// The outcome: `ok`, or why it was refused.
        outcome: String,
        /// The client address as the console saw it.
        client: String,
    },
    /// A downstream store refused a record for its content; the shipper
    /// quarantined it (it stays in this log) and went on. Written by the
    /// shipper, never by a client; every field is Warden's own, so this
    /// record is storable wherever the refused one was not.
    SinkQuarantined {
        context: Context,
        /// The sink's label: `postgres` or `nats`.
        sink: String,
        /// The store's URL, credentials redacted.
        store: String,
        /// The refused record.
        sequence: u64,
        record_id: String,
        record_kind: String,
        /// What the store said (control characters removed).
        reason: String,
    },
    /// The log was opened for writing over records that no checkpoint
    /// signed in time (see [`super::coverage`]) because an operator said so
    /// (`serve --accept-unsigned-tail`). Written by the writer before it
    /// signs them, so it is the last record that checkpoint covers.
    UnsignedTailAccepted {
        context: Context,
        /// Who allowed it (the process's view: the flag, the host user).
        actor: String,
        /// The records accepted, inclusive.
        first_sequence: u64,
        last_sequence: u64,
        /// What the check found.
        reason: String,
    },
    /// A reviewer's decision made in a fleet service on an approval another
    /// instance holds (see [`crate::fleet`]): written by the fleet service,
    /// signed with its decision key, and applied by that instance when it
    /// arrives (its own `approval` record names this one).
    FleetDecision {
        /// The approval's context, as the instance recorded it.
        context: Context,
        approval_id: String,
        /// The instance that holds the approval (its log's origin).
        instance_id: String,
        request_record_id: String,
        approve: bool,
        /// The authenticated reviewer and the roles the fleet service gave them.
        reviewer: String,
        roles: Vec<String>,
        reason: String,
        /// RFC 3339 UTC.
        decided_at: String,
        /// The fleet service's log origin.
        fleet_origin: String,
        /// Base64 Ed25519 signature with the fleet service's decision key.
        signature: String,
    },
    /// A data subject's content was crypto-shredded: its key is gone.
    SubjectErased {
        context: Context,
        /// The pseudonymous subject id that appears in encrypted fields.
        subject_id: String,
        reason: String,
        key_existed: bool,
    },
}

/// The kinds of record Warden writes itself (a client event's kind is the
/// client's own string); a client's `Append` may not use them. Readers
/// match on these, not on strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    ScoreDecision,
    SubjectErased,
    SinkQuarantined,
    UnsignedTailAccepted,
    Approval,
    Incident,
    ReportGenerated,
    ConsoleAction,
    FleetDecision,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::ScoreDecision,
        Kind::SubjectErased,
        Kind::SinkQuarantined,
        Kind::UnsignedTailAccepted,
        Kind::Approval,
        Kind::Incident,
        Kind::ReportGenerated,
        Kind::ConsoleAction,
        Kind::FleetDecision,
    ];

    /// The kind as records store it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::ScoreDecision => "score_decision",
            Kind::SubjectErased => "subject_erased",
            Kind::SinkQuarantined => "sink_quarantined",
            Kind::UnsignedTailAccepted => super::coverage::UNSIGNED_TAIL_ACCEPTED,
            Kind::Approval => "approval",
            Kind::Incident => "incident",
            Kind::ReportGenerated => "report_generated",
            Kind::ConsoleAction => "console_action",
            Kind::FleetDecision => "fleet_decision",
        }
    }

    /// Warden's kind named `kind`; `None` for a client event's kind.
    pub fn parse(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}

impl Entry {
    pub fn kind(&self) -> &str {
        match self {
            Entry::ClientEvent { event_kind, .. } => event_kind,
            Entry::ScoreDecision { .. } => Kind::ScoreDecision.as_str(),
            Entry::SubjectErased { .. } => Kind::SubjectErased.as_str(),
            Entry::SinkQuarantined { .. } => Kind::SinkQuarantined.as_str(),
            Entry::UnsignedTailAccepted { .. } => Kind::UnsignedTailAccepted.as_str(),
            Entry::Approval { .. } => Kind::Approval.as_str(),
            Entry::Incident { .. } => Kind::Incident.as_str(),
            Entry::ReportGenerated { .. } => Kind::ReportGenerated.as_str(),
            Entry::ConsoleAction { .. } => Kind::ConsoleAction.as_str(),
            Entry::FleetDecision { .. } => Kind::FleetDecision.as_str(),
        }
    }

    pub fn context(&self) -> &Context {
        match self {
            Entry::ScoreDecision { request, .. } => request.context(),
            Entry::ClientEvent { context, .. }
            | Entry::SubjectErased { context, .. }
            | Entry::SinkQuarantined { context, .. }
            | Entry::UnsignedTailAccepted { context, .. }
            | Entry::Approval { context, .. }
            | Entry::Incident { context, .. }
            | Entry::ReportGenerated { context, .. }
            | Entry::ConsoleAction { context, .. }
            | Entry::FleetDecision { context, .. } => context,
        }
    }

    /// The indexable facts of the record, under OpenTelemetry names.
    pub fn attributes(&self) -> BTreeMap<&'static str, String> {
        let mut a = BTreeMap::new();
        let mut context = |c: &Context| {
            for (k, v) in [
                ("warden.tenant", &c.tenant),
                ("warden.application", &c.application),
                ("gen_ai.conversation.id", &c.session_id),
                ("trace_id", &c.trace_id),
                ("user.id", &c.user_id),
                ("gen_ai.request.model", &c.model),
            ] {
                if !v.is_empty() {
                    a.insert(k, v.clone());
                }
            }
        };
        match self {
            Entry::ScoreDecision { request, evaluation, approval_id, .. } => {
                context(request.context());
                if let Some(id) = approval_id {
                    a.insert("warden.approval.id", id.clone());
                }
                a.insert("warden.surface", request.surface().as_str().to_string());
                a.insert("warden.decision", evaluation.verdict.decision.as_str().to_string());
                a.insert("warden.level", evaluation.verdict.level.as_str().to_string());
                if let ScoreRequest::Action { tool, .. } = request {
                    a.insert("gen_ai.tool.name", tool.clone());
                }
            }
            Entry::SubjectErased { context: c, .. } | Entry::UnsignedTailAccepted { context: c, .. } => context(c),
            Entry::SinkQuarantined { context: c, sink, .. } => {
                context(c);
                a.insert("warden.sink", sink.clone());
            }
            Entry::Incident { context: c, incident_id, event, severity, .. } => {
                context(c);
                a.insert("warden.incident.id", incident_id.clone());
                a.insert("warden.incident.event", event.clone());
                a.insert("warden.incident.severity", severity.clone());
            }
            Entry::ReportGenerated { context: c, framework, .. } => {
                context(c);
                a.insert("warden.report.framework", framework.clone());
            }
            Entry::ConsoleAction { context: c, actor, action, .. } => {
                context(c);
                a.insert("warden.console.actor", actor.clone());
                a.insert("warden.console.action", action.clone());
            }
            Entry::Approval { context: c, approval_id, event, fleet_origin, .. } => {
                context(c);
                a.insert("warden.approval.id", approval_id.clone());
                a.insert("warden.approval.event", event.clone());
                if !fleet_origin.is_empty() {
                    a.insert("warden.fleet.origin", fleet_origin.clone());
                }
            }
            Entry::FleetDecision { context: c, approval_id, instance_id, .. } => {
                context(c);
                a.insert("warden.approval.id", approval_id.clone());
                a.insert("warden.fleet.instance", instance_id.clone());
            }
            Entry::ClientEvent { context: c, attributes, client_event_id, .. } => {
                context(c);
                // In clear among the facts, so the writer can rebuild its
                // de-duplication map from the log when it opens.
                if !client_event_id.is_empty() {
                    a.insert(CLIENT_EVENT_ID, client_event_id.clone());
                }
                if let Ok(map) = serde_json::from_str::<BTreeMap<String, serde_json::Value>>(attributes.get()) {
                    for (name, value) in gen_ai_facts(&map) {
                        a.insert(name, value);
                    }
                }
            }
        }
        a
    }

    /// What makes a client event a repeat of an earlier one: its tenant and
    /// its `client_event_id`. `None` for events without an id and for every
    /// record Warden writes itself.
    pub fn dedup_key(&self) -> Option<(String, String)> {
        match self {
            Entry::ClientEvent { context, client_event_id, .. } if !client_event_id.is_empty() => {
                Some((context.tenant.clone(), client_event_id.clone()))
            }
            _ => None,
        }
    }

    /// Finding categories, for the index.
    pub fn categories(&self) -> Vec<String> {
        match self {
            Entry::ScoreDecision { evaluation, .. } => {
                let mut c: Vec<String> = evaluation.findings.iter().map(|f| f.category.clone()).collect();
                c.sort();
                c.dedup();
                c
            }
            Entry::ClientEvent { .. }
            | Entry::SubjectErased { .. }
            | Entry::SinkQuarantined { .. }
            | Entry::UnsignedTailAccepted { .. }
            | Entry::Approval { .. }
            | Entry::Incident { .. }
            | Entry::ReportGenerated { .. }
            | Entry::ConsoleAction { .. }
            | Entry::FleetDecision { .. } => Vec::new(),
        }
    }
}

/// A stored record as a JSON value, for the readers that walk it (queries,
/// reveal, export, reports, the console). Arrays and objects nested deeper
/// than [`crate::validate::READ_DEPTH`] levels, which only a record written
/// before client JSON was bounded can hold, are read as a string of their
/// raw text: every record the writer accepted reads, whatever its depth.
pub fn read_value(canonical: &[u8]) -> Result<serde_json::Value, super::AuditError> {
    let corrupt = |e: &dyn std::fmt::Display| super::AuditError::Corrupt(e.to_string());
    let text = std::str::from_utf8(canonical).map_err(|e| corrupt(&e))?;
    match crate::validate::fold_deep(text, crate::validate::READ_DEPTH) {
        None => serde_json::from_str(text),
        Some(folded) => serde_json::from_str(&folded),
    }
    .map_err(|e| corrupt(&e))
}

/// The canonical record, as hashed and stored.
#[derive(Serialize)]
pub(crate) struct RecordOut<'a> {
    pub v: u32,
    pub seq: u64,
    pub id: &'a str,
    pub recorded_at: &'a str,
    pub kind: &'a str,
    pub attributes: &'a BTreeMap<&'static str, String>,
    pub categories: &'a [String],
    /// The entry, serialised, with content fields as the privacy settings
    /// say (raw, redacted, hashed or encrypted).
    pub body: &'a RawValue,
}

/// The fields a reader needs back from a stored record.
#[derive(Deserialize)]
pub(crate) struct RecordIn {
    pub v: u32,
    pub seq: u64,
    pub id: String,
    pub recorded_at: String,
    pub kind: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub categories: Vec<String>,
}
