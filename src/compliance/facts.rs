//! One pass over the audit log for a report's period and scope: the facts
//! every indicator is computed from. Reading is blocking work (segment
//! files); callers run it off the async workers.

use crate::audit::read::{Body, DecisionBody};
use crate::audit::record::Kind;
use crate::detect::Surface;
use crate::policy::{Decision as Outcome, Level};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::ReportError;
use crate::audit::checkpoint::Checkpoint;
use crate::audit::journal::{LogRead, Query};

/// A Score decision, as far as reports care.
#[derive(Debug, Clone)]
pub struct Decision {
    pub seq: u64,
    pub at: i128,
    /// `None` when the record names none this version knows.
    pub surface: Option<Surface>,
    pub level: Option<Level>,
    pub decision: Option<Outcome>,
    pub categories: Vec<String>,
    /// (detector, reason) of every skip that counts (not `not_applicable`).
    pub skipped: Vec<(String, String)>,
    /// Shared between decisions made under the same versions (most of
    /// them): a report holds every decision of its period.
    pub versions: Arc<Versions>,
    pub approval_id: Option<String>,
    /// When the approval this decision asked for expires.
    pub approval_expires: Option<i128>,
    pub documents: Vec<Document>,
    /// Required fields the record lacks.
    pub missing_fields: Vec<&'static str>,
    pub redacted_text: bool,
}

/// The policy, detector and model versions a decision was made with.
#[derive(Debug, PartialEq, Eq)]
pub struct Versions {
    pub policy: String,
    pub detectors: BTreeMap<String, String>,
    pub models: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Document {
    pub seq: u64,
    pub id: String,
    pub source: String,
    /// `sha256:<hex>` of the text as given; a salted hash or `encrypted`
    /// where the privacy settings stored no plain text.
    pub digest: String,
}

#[derive(Debug, Clone)]
pub struct ApprovalStep {
    pub seq: u64,
    pub at: i128,
    pub event: String,
    pub actor: String,
}

#[derive(Debug, Clone)]
pub struct IncidentStep {
    pub seq: u64,
    pub at: i128,
    pub event: String,
    pub severity: String,
    pub title: String,
    pub aware_at: String,
    pub related_records: Vec<String>,
    pub authority: String,
    pub notified_at: String,
}

/// What the period holds.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub from: i128,
    pub to: i128,
    /// When the report was made (the log's clock).
    pub now: i128,
    pub decisions: Vec<Decision>,
    /// Approval steps by approval id, for approvals asked for in the period
    /// (steps up to now, so a decision made after the period still counts).
    pub approvals: BTreeMap<String, Vec<ApprovalStep>>,
    /// Incident steps by incident id.
    pub incidents: BTreeMap<String, Vec<IncidentStep>>,
    /// Client event counts by kind.
    pub client_events: BTreeMap<String, u64>,
    /// Every record's time and sequence in the period (ascending).
    pub record_times: Vec<i128>,
    pub record_seqs: Vec<u64>,
    /// Records in the period whose content retention already removed.
    pub retired_in_period: u64,
    /// Record ids seen in the period, to resolve incident links.
    pub ids: BTreeMap<String, u64>,
    /// The checkpoints that bear on the period (see
    /// [`AuditLog::checkpoints_for_period`]).
    pub checkpoints: Vec<Checkpoint>,
    /// The oldest record the log has (content kept or not).
    pub oldest_record: Option<i128>,
    /// The oldest record whose content is still held.
    pub oldest_readable: Option<i128>,
    pub log_size: u64,
    /// Those checkpoints, each checked.
    pub checked: Vec<CheckedCheckpoint>,
    /// Records in the period that no checkpoint covers yet.
    pub uncovered: u64,
    /// A fleet-wide report's instances, each verified or an exception
    /// (empty for a report over the local log).
    pub instances: Vec<InstanceEvidence>,
    /// Whether these are a fleet's facts (read from the central store).
    pub fleet: bool,
}

/// One instance of a fleet-wide report: what its central copy holds, or
/// why it does not verify (then none of its records count).
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstanceEvidence {
    pub instance_id: String,
    /// Its log's records (0 when its copy does not verify).
    pub log_size: u64,
    pub records_in_period: usize,
    pub decisions: usize,
    pub approvals: usize,
    /// The size of its latest checkpoint that verified.
    pub signed_size: u64,
    pub public_key_vkey: String,
    /// Why its central copy does not verify; `None`: verified.
    pub exception: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CheckedCheckpoint {
    pub tree_size: u64,
    pub at: i128,
    pub signature_ok: bool,
    /// Against the previous checked checkpoint (`None` for the first).
    pub consistent: Option<bool>,
}

pub struct Scope<'a> {
    pub from: i128,
    pub to: i128,
    pub now: i128,
    pub tenant: &'a str,
    pub application: &'a str,
}

pub fn scan(log: &dyn LogRead, scope: &Scope<'_>) -> Result<Facts, ReportError> {
    let mut f = Facts { from: scope.from, to: scope.to, now: scope.now, ..Facts::default() };
    let base = Query { tenant: scope.tenant.into(), application: scope.application.into(), ..Query::default() };
    let mut versions: HashMap<String, Arc<Versions>> = HashMap::new();
    let in_period =
        log.query(&Query { from_unix_nanos: Some(scope.from), to_unix_nanos: Some(scope.to), ..base.clone() });
    for seq in in_period {
        let at = log.recorded_unix_nanos(seq).unwrap_or_default();
        f.record_times.push(at);
        f.record_seqs.push(seq);
        let Some(r) = log.record(seq)? else {
            f.retired_in_period += 1;
            continue;
        };
        f.ids.insert(r.record_id.clone(), seq);
        match Kind::parse(&r.kind) {
            Some(Kind::ScoreDecision) => {
                let body = match r.body()? {
                    Body::ScoreDecision(d) => d,
                    // Read as a decision that says nothing: every field
                    // shows as missing.
                    _ => DecisionBody::default(),
                };
                f.decisions.push(decision(seq, at, &r.record_id, &r.recorded_at, body, &mut versions))
            }
            Some(_) => {}
            None => *f.client_events.entry(r.kind.clone()).or_default() += 1,
        }
    }
    // Approval and incident steps up to now: what happened to the period's
    // requests, and incidents still open in it.
    for seq in log.query(&Query { kind: Kind::Approval.as_str().into(), from_unix_nanos: Some(scope.from), ..base }) {
        let Some((at, Body::Approval(b))) = read(log, seq)? else { continue };
        let step = ApprovalStep { seq, at, event: b.event, actor: b.actor };
        f.approvals.entry(b.approval_id).or_default().push(step);
    }
    // An incident recorded without a tenant or application concerns the
    // whole organisation: it belongs in every scope's register.
    for seq in log.query(&Query {
        kind: Kind::Incident.as_str().into(),
        to_unix_nanos: Some(scope.now.max(scope.to)),
        ..Query::default()
    }) {
        let Some((at, Body::Incident(b))) = read(log, seq)? else { continue };
        let in_scope = |got: &str, want: &str| want.is_empty() || got.is_empty() || got == want;
        if !in_scope(&b.context.tenant, scope.tenant) || !in_scope(&b.context.application, scope.application) {
            continue;
        }
        let step = IncidentStep {
            seq,
            at,
            event: b.event,
            severity: b.severity,
            title: b.title,
            aware_at: b.aware_at,
            related_records: b.related_records,
            authority: b.authority,
            notified_at: b.notified_at,
        };
        f.incidents.entry(b.incident_id).or_default().push(step);
    }
    f.checkpoints = log.checkpoints_for_period(scope.from, scope.to);
    check_checkpoints(log, &mut f);
    f.log_size = log.size();
    f.oldest_record = log.recorded_unix_nanos(0);
    f.oldest_readable = (0..f.log_size).find_map(|seq| log.record(seq).ok().flatten().map(|r| r.unix_nanos));
    Ok(f)
}

fn check_checkpoints(log: &dyn LogRead, f: &mut Facts) {
    use crate::audit::checkpoint::verify_checkpoint;
    use crate::audit::merkle::verify_consistency;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&log.public_key().raw).ok();
    let mut prev: Option<&Checkpoint> = None;
    for c in &f.checkpoints {
        let signature_ok = key.as_ref().is_some_and(|k| verify_checkpoint(c, k).is_ok());
        let consistent = prev.map(|p| {
            p.tree_size == c.tree_size && p.root == c.root
                || log
                    .consistency_proof(p.tree_size, c.tree_size)
                    .is_ok_and(|proof| verify_consistency(p.tree_size, c.tree_size, &p.root, &c.root, &proof).is_ok())
        });
        f.checked.push(CheckedCheckpoint { tree_size: c.tree_size, at: c.unix_nanos, signature_ok, consistent });
        prev = Some(c);
    }
    let covered = f.checked.iter().map(|c| c.tree_size).max().unwrap_or(0);
    f.uncovered = f.record_seqs.iter().filter(|&&seq| seq >= covered).count() as u64;
}

fn read(log: &dyn LogRead, seq: u64) -> Result<Option<(i128, Body)>, ReportError> {
    let Some(r) = log.record(seq)? else { return Ok(None) };
    Ok(Some((r.unix_nanos, r.body()?)))
}

/// Several instances' facts as one, for a fleet-wide report: every verified
/// instance's records counted, each instance listed (an exception with no
/// facts). Sequence numbers stay each instance's own.
pub fn merge(scope: &Scope<'_>, parts: Vec<(InstanceEvidence, Option<Facts>)>) -> Facts {
    let mut m = Facts { from: scope.from, to: scope.to, now: scope.now, fleet: true, ..Facts::default() };
    for (evidence, facts) in parts {
        m.instances.push(evidence);
        let Some(f) = facts else { continue };
        m.decisions.extend(f.decisions);
        for (id, steps) in f.approvals {
            m.approvals.entry(id).or_default().extend(steps);
        }
        for (id, steps) in f.incidents {
            m.incidents.entry(id).or_default().extend(steps);
        }
        for (kind, n) in f.client_events {
            *m.client_events.entry(kind).or_default() += n;
        }
        m.record_times.extend(f.record_times);
        m.record_seqs.extend(f.record_seqs);
        m.retired_in_period += f.retired_in_period;
        m.ids.extend(f.ids);
        m.checkpoints.extend(f.checkpoints);
        m.checked.extend(f.checked);
        m.log_size += f.log_size;
        m.uncovered += f.uncovered;
        m.oldest_record = m.oldest_record.into_iter().chain(f.oldest_record).min();
        m.oldest_readable = m.oldest_readable.into_iter().chain(f.oldest_readable).min();
    }
    // Readers expect time order, as one log gives it.
    m.decisions.sort_by_key(|d| d.at);
    for steps in m.approvals.values_mut() {
        steps.sort_by_key(|s| s.at);
    }
    for steps in m.incidents.values_mut() {
        steps.sort_by_key(|s| s.at);
    }
    m.record_times.sort_unstable();
    m.checkpoints.sort_by_key(|c| c.unix_nanos);
    m
}

fn decision(
    seq: u64,
    at: i128,
    id: &str,
    recorded_at: &str,
    body: DecisionBody,
    interned: &mut HashMap<String, Arc<Versions>>,
) -> Decision {
    let DecisionBody { request, evaluation, approval_id, approval, .. } = body;
    let verdict = evaluation.verdict;
    let mut categories: Vec<String> =
        evaluation.findings.into_iter().map(|f| f.category).filter(|c| !c.is_empty()).collect();
    categories.sort();
    categories.dedup();
    let skipped = evaluation
        .skipped
        .into_iter()
        .filter(|x| x.reason != "not_applicable")
        .map(|x| (x.detector, x.reason))
        .collect();
    let documents = request
        .documents
        .iter()
        .map(|d| Document { seq, id: d.id.clone(), source: d.source.clone(), digest: d.text.digest() })
        .collect();
    let d = Decision {
        seq,
        at,
        surface: request.surface,
        level: verdict.level,
        decision: verdict.decision,
        categories,
        skipped,
        versions: {
            let (p, d, m) = (evaluation.policy_version, evaluation.detector_versions, evaluation.model_versions);
            interned
                .entry(format!("{p}\u{0}{d:?}\u{0}{m:?}"))
                .or_insert_with(|| Arc::new(Versions { policy: p, detectors: d, models: m }))
                .clone()
        },
        approval_id,
        approval_expires: approval
            .and_then(|t| crate::timestamp::parse(&t.expires_at).ok())
            .map(|t| t.unix_timestamp_nanos()),
        documents,
        missing_fields: Vec::new(),
        redacted_text: evaluation.redacted_text.is_some(),
    };
    let missing = [
        ("record_id", id.is_empty()),
        ("recorded_at", recorded_at.is_empty()),
        ("request.surface", d.surface.is_none()),
        ("verdict.level", d.level.is_none()),
        ("verdict.decision", d.decision.is_none()),
        ("policy_version", d.versions.policy.is_empty()),
        ("detector_versions", d.versions.detectors.is_empty()),
    ]
    .into_iter()
    .filter_map(|(name, missing)| missing.then_some(name))
    .collect();
    Decision { missing_fields: missing, ..d }
}
