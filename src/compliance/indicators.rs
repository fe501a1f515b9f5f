//! Evidence indicators: each a fact about the period computed from the
//! audit log, with a status and the query an auditor re-runs to check it.
//! Clause mappings (data) name indicators; this is the only code that
//! decides what an indicator's figures mean.
//!
//! Status rules, everywhere: no records to judge by is `not_evidenced`
//! (never `met`); records that show the control working with an exception
//! (a gap, a skip, a missing approval, a late notification) are
//! `partly_met`; `met` needs records and no exception.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Value};

use super::facts::Facts;
use super::incident::Severity;
use crate::detect::Surface;
use crate::policy::{Decision as Outcome, Level};

const DAY: i128 = 86_400 * 1_000_000_000;
const HOUR: i128 = 3_600 * 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Met,
    PartlyMet,
    NotEvidenced,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::PartlyMet => "partly_met",
            Status::NotEvidenced => "not_evidenced",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Met => "Met",
            Status::PartlyMet => "Partly met",
            Status::NotEvidenced => "Not evidenced",
        }
    }

    /// A clause's status from its indicators': met only if all are met, not
    /// evidenced only if none has evidence.
    pub fn combine(all: impl IntoIterator<Item = Status>) -> Status {
        let all: Vec<Status> = all.into_iter().collect();
        if !all.is_empty() && all.iter().all(|s| *s == Status::Met) {
            Status::Met
        } else if all.iter().all(|s| *s == Status::NotEvidenced) {
            Status::NotEvidenced
        } else {
            Status::PartlyMet
        }
    }
}

/// An indicator's definition: what it is and which records it reads.
pub struct Def {
    pub id: &'static str,
    pub title: &'static str,
    /// `warden audit query` filters beyond the report's period and scope.
    pub filter: &'static str,
    /// What of those records is examined.
    pub examines: &'static str,
    /// The one computation of its figures and status.
    pub compute: fn(&Ctx<'_>) -> Computed,
}

pub const INDICATORS: &[Def] = &[
    Def { id: "logging.decisions", title: "Decisions recorded", filter: "--kind score_decision", examines: "count by request.surface", compute: decisions },
    Def { id: "logging.required_fields", title: "Required fields present", filter: "--kind score_decision", examines: "record id, recorded_at, request.surface, evaluation.verdict.level/decision, evaluation.policy_version, evaluation.detector_versions", compute: required_fields },
    Def { id: "logging.continuity", title: "Continuity of logging", filter: "", examines: "recorded_at of every record, and the time of every signed checkpoint (warden audit verify)", compute: continuity },
    Def { id: "integrity.checkpoints", title: "Signed checkpoints and consistency proofs", filter: "", examines: "checkpoints.jsonl: Ed25519 signatures, RFC 9162 consistency proofs between successive checkpoints, tree sizes against the period's last record", compute: checkpoints },
    Def { id: "logging.client_events", title: "Events the deployer recorded", filter: "--kind <model_call|tool_call|tool_result|...>", examines: "count by record kind", compute: client_events },
    Def { id: "risk.events", title: "Risk-identifying events", filter: "--kind score_decision", examines: "evaluation.verdict.level, evaluation.findings[].category", compute: risk_events },
    Def { id: "risk.detector_coverage", title: "Detector coverage (skips)", filter: "--kind score_decision", examines: "evaluation.skipped[] (detector, reason; not_applicable excluded)", compute: detector_coverage },
    Def { id: "risk.policy_history", title: "Policy, detector and model versions in force", filter: "--kind score_decision", examines: "evaluation.policy_version, evaluation.detector_versions, evaluation.model_versions with recorded_at", compute: policy_history },
    Def { id: "risk.residual", title: "Residual risk: what happened to risky requests", filter: "--kind score_decision", examines: "evaluation.verdict.decision and level, evaluation.findings", compute: residual },
    Def { id: "oversight.approvals", title: "Human approvals", filter: "--decision require_approval, then --kind approval", examines: "approval_id and approval.expires_at of each decision; event, actor and time of each approval step", compute: approvals },
    Def { id: "oversight.stop", title: "Ability to stop", filter: "--decision block, then --kind approval", examines: "blocked decisions; approval steps denied and expired", compute: stop },
    Def { id: "retention.span", title: "Retention of at least six months", filter: "", examines: "recorded_at of the oldest record in the log and of the oldest whose content is held", compute: retention },
    Def { id: "monitoring.trends", title: "Post-market monitoring trends", filter: "--kind score_decision", examines: "evaluation.verdict.level and findings by week", compute: trends },
    Def { id: "incidents.register", title: "Incident register", filter: "--kind incident (to the report's generation)", examines: "incident_id, event, severity, aware_at, notified_at, authority, related_records", compute: incidents },
    Def { id: "provenance.documents", title: "Provenance of retrieved documents", filter: "--kind score_decision", examines: "request.documents[].id, source and a hash of text", compute: provenance },
    Def { id: "privacy.personal_data", title: "Personal data and secrets", filter: "--kind score_decision --category pii (and secret)", examines: "findings by category; evaluation.redacted_text recorded", compute: privacy },
];

pub fn def(id: &str) -> &'static Def {
    INDICATORS.iter().find(|d| d.id == id).expect("mappings only name known indicators")
}

#[derive(Debug, Clone, Serialize)]
pub struct QueryRef {
    /// The command that lists the records behind the indicator.
    pub cli: String,
    pub examines: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Indicator {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub summary: String,
    pub value: Value,
    pub query: QueryRef,
    /// Sequence numbers of records behind the figures (exceptions first; at
    /// most 25).
    pub records: Vec<u64>,
}

pub struct Settings {
    pub max_gap_hours: u64,
    pub retention_days: u64,
}

pub struct Ctx<'a> {
    pub facts: &'a Facts,
    pub settings: &'a Settings,
    /// `--from ... --to ... [--tenant ...] [--application ...]`.
    pub scope_args: String,
}

pub fn compute(ctx: &Ctx<'_>) -> BTreeMap<String, Indicator> {
    let mut out = BTreeMap::new();
    for d in INDICATORS {
        let (status, summary, value, mut records) = (d.compute)(ctx);
        records.truncate(25);
        let cli = format!("warden audit query {} {}", ctx.scope_args, d.filter).trim().replace("  ", " ");
        out.insert(
            d.id.to_string(),
            Indicator {
                id: d.id.into(),
                title: d.title.into(),
                status,
                summary,
                value,
                query: QueryRef { cli, examines: d.examines.into() },
                records,
            },
        );
    }
    out
}

pub type Computed = (Status, String, Value, Vec<u64>);

fn none(what: &str) -> Computed {
    (Status::NotEvidenced, format!("No {what} in the period: nothing to show this with."), json!({}), Vec::new())
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        (n as f64 * 10_000.0 / d as f64).round() / 100.0
    }
}

fn time(nanos: i128) -> String {
    crate::timestamp::format_nanos(nanos)
}

fn count_by<'a>(items: impl Iterator<Item = &'a str>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i.to_string()).or_default() += 1;
    }
    m
}

fn decisions(ctx: &Ctx<'_>) -> Computed {
    let d = &ctx.facts.decisions;
    if d.is_empty() {
        return none("Score decision");
    }
    let by_surface = count_by(d.iter().map(|x| x.surface.map_or("", Surface::as_str)));
    (
        Status::Met,
        format!("{} decisions recorded, each as its own signed-tree record.", d.len()),
        json!({ "total": d.len(), "by_surface": by_surface }),
        d.iter().map(|x| x.seq).take(5).collect(),
    )
}

fn required_fields(ctx: &Ctx<'_>) -> Computed {
    let d = &ctx.facts.decisions;
    if d.is_empty() {
        return none("Score decision");
    }
    let incomplete: Vec<_> = d.iter().filter(|x| !x.missing_fields.is_empty()).collect();
    let missing = count_by(incomplete.iter().flat_map(|x| x.missing_fields.iter().copied()));
    let share = pct(d.len() - incomplete.len(), d.len());
    let status = if incomplete.is_empty() { Status::Met } else { Status::PartlyMet };
    (
        status,
        format!("{share}% of {} decision records carry every required field.", d.len()),
        json!({ "records": d.len(), "complete": d.len() - incomplete.len(), "complete_percent": share, "missing": missing }),
        incomplete.iter().map(|x| x.seq).collect(),
    )
}

fn continuity(ctx: &Ctx<'_>) -> Computed {
    let f = ctx.facts;
    let end = f.to.min(f.now);
    let mut times: Vec<i128> = f.record_times.clone();
    times.extend(f.checkpoints.iter().map(|c| c.unix_nanos).filter(|t| *t >= f.from && *t < end));
    if times.is_empty() {
        return none("record or checkpoint");
    }
    times.sort_unstable();
    let max_gap = ctx.settings.max_gap_hours as i128 * HOUR;
    // Before its first record the log did not exist: that time is no gap in
    // logging (a first report over a period that began earlier), and the
    // summary says when the log began. A log that began within the allowed
    // gap after the start changes nothing.
    let began = f.oldest_record.filter(|t| *t - f.from > max_gap && *t < end);
    let mut bounds = vec![began.unwrap_or(f.from)];
    bounds.extend(&times);
    bounds.push(end);
    let gaps: Vec<Value> = bounds
        .windows(2)
        .filter(|w| w[1] - w[0] > max_gap)
        .map(|w| json!({ "from": time(w[0]), "to": time(w[1]), "hours": ((w[1] - w[0]) / HOUR) as u64 }))
        .collect();
    let longest = bounds.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    let status = if gaps.is_empty() { Status::Met } else { Status::PartlyMet };
    let mut summary = if gaps.is_empty() {
        format!(
            "No period longer than {} h without a record or a signed checkpoint; the longest was {} h.",
            ctx.settings.max_gap_hours,
            longest / HOUR
        )
    } else {
        format!(
            "{} unverified period(s) longer than {} h with neither a record nor a checkpoint; the longest was {} h.",
            gaps.len(),
            ctx.settings.max_gap_hours,
            longest / HOUR
        )
    };
    if let Some(began) = began {
        summary.push_str(&format!(
            " The log began at {}, after the period's start; it is measured from then.",
            time(began)
        ));
    }
    let mut value =
        json!({ "max_gap_hours": ctx.settings.max_gap_hours, "longest_hours": (longest / HOUR) as u64, "gaps": gaps });
    if let Some(began) = began {
        value["log_began"] = time(began).into();
    }
    (status, summary, value, Vec::new())
}

fn checkpoints(ctx: &Ctx<'_>) -> Computed {
    let f = ctx.facts;
    // A fleet-wide report: an instance whose central copy does not verify
    // counts no records, and this indicator never passes while there is one.
    let unverified: Vec<&str> =
        f.instances.iter().filter(|i| i.exception.is_some()).map(|i| i.instance_id.as_str()).collect();
    if f.checked.is_empty() && unverified.is_empty() {
        return none("signed checkpoint");
    }
    let bad_sig = f.checked.iter().filter(|c| !c.signature_ok).count();
    let inconsistent = f.checked.iter().filter(|c| c.consistent == Some(false)).count();
    let in_period = f.checked.iter().filter(|c| c.at >= f.from && c.at < f.to).count();
    let status = if !unverified.is_empty() && unverified.len() == f.instances.len() {
        Status::NotEvidenced
    } else if bad_sig == 0 && inconsistent == 0 && f.uncovered == 0 && unverified.is_empty() {
        Status::Met
    } else {
        Status::PartlyMet
    };
    let mut summary = format!(
        "{} checkpoints bear on the period ({in_period} signed in it); {} signatures and {} consistency proofs failed; {} records of the period are not yet covered by a checkpoint.",
        f.checked.len(),
        bad_sig,
        inconsistent,
        f.uncovered
    );
    if !unverified.is_empty() {
        summary.push_str(&format!(
            " The central copy of {} of {} instances does not verify, so none of its records are counted: {}.",
            unverified.len(),
            f.instances.len(),
            unverified.join(", ")
        ));
    }
    let mut value = json!({
        "checkpoints": f.checked.len(), "signed_in_period": in_period, "bad_signatures": bad_sig,
        "failed_consistency_proofs": inconsistent, "uncovered_records": f.uncovered,
        "first_tree_size": f.checked.first().map(|c| c.tree_size), "last_tree_size": f.checked.last().map(|c| c.tree_size),
    });
    if !f.instances.is_empty() {
        value["instances"] = json!(f.instances.len());
        value["unverified_instances"] = json!(unverified);
    }
    (status, summary, value, Vec::new())
}

fn client_events(ctx: &Ctx<'_>) -> Computed {
    let c = &ctx.facts.client_events;
    if c.is_empty() {
        return none("event appended by the deploying application");
    }
    let total: u64 = c.values().sum();
    (
        Status::Met,
        format!("{total} events recorded by the application itself ({} kinds).", c.len()),
        json!({ "total": total, "by_kind": c }),
        Vec::new(),
    )
}

fn risk_events(ctx: &Ctx<'_>) -> Computed {
    let d = &ctx.facts.decisions;
    if d.is_empty() {
        return none("Score decision");
    }
    let by_level = count_by(d.iter().map(|x| x.level.map_or("", Level::as_str)));
    let by_category = count_by(d.iter().flat_map(|x| x.categories.iter().map(String::as_str)));
    let flagged: Vec<u64> =
        d.iter().filter(|x| matches!(x.level, Some(Level::High | Level::Critical))).map(|x| x.seq).collect();
    (
        Status::Met,
        format!(
            "{} decisions rated: {} high or critical; {} finding categories seen.",
            d.len(),
            flagged.len(),
            by_category.len()
        ),
        json!({ "by_level": by_level, "by_category": by_category }),
        flagged,
    )
}

fn detector_coverage(ctx: &Ctx<'_>) -> Computed {
    let d = &ctx.facts.decisions;
    if d.is_empty() {
        return none("Score decision");
    }
    let mut by_detector: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut seqs = Vec::new();
    for x in d.iter().filter(|x| !x.skipped.is_empty()) {
        seqs.push(x.seq);
        for (detector, reason) in &x.skipped {
            *by_detector.entry(detector.clone()).or_default().entry(reason.clone()).or_default() += 1;
        }
    }
    let rates: BTreeMap<&String, f64> =
        by_detector.iter().map(|(k, v)| (k, pct(v.values().sum::<u64>() as usize, d.len()))).collect();
    let status = if seqs.is_empty() { Status::Met } else { Status::PartlyMet };
    let summary = if seqs.is_empty() {
        format!("Every detector ran on all {} decisions.", d.len())
    } else {
        format!(
            "{} of {} decisions were made with a detector skipped ({}): those are gaps in coverage, not passes.",
            seqs.len(),
            d.len(),
            rates.iter().map(|(k, v)| format!("{k} {v}%")).collect::<Vec<_>>().join(", ")
        )
    };
    (
        status,
        summary,
        json!({ "decisions": d.len(), "with_skips": seqs.len(), "skips": by_detector, "skip_rate_percent": rates }),
        seqs,
    )
}

fn policy_history(ctx: &Ctx<'_>) -> Computed {
    let d = &ctx.facts.decisions;
    if d.is_empty() {
        return none("Score decision");
    }
    // Decisions share their versions: group by the shared set first, then
    // note each component's version with the group's first and last
    // sighting and count.
    let mut groups: Vec<(&super::facts::Versions, i128, i128, u64)> = Vec::new();
    let mut index: std::collections::HashMap<*const super::facts::Versions, usize> = std::collections::HashMap::new();
    for x in d {
        let i = *index.entry(std::sync::Arc::as_ptr(&x.versions)).or_insert_with(|| {
            groups.push((&x.versions, x.at, x.at, 0));
            groups.len() - 1
        });
        let g = &mut groups[i];
        g.1 = g.1.min(x.at);
        g.2 = g.2.max(x.at);
        g.3 += 1;
    }
    // For each versioned component: each version's first and last sighting.
    let mut seen: BTreeMap<String, BTreeMap<String, (i128, i128, u64)>> = BTreeMap::new();
    let mut note = |component: String, version: &str, first: i128, last: i128, n: u64| {
        let e = seen.entry(component).or_default().entry(version.to_string()).or_insert((first, last, 0));
        e.0 = e.0.min(first);
        e.1 = e.1.max(last);
        e.2 += n;
    };
    for (v, first, last, n) in groups {
        if !v.policy.is_empty() {
            note("policy".into(), &v.policy, first, last, n);
        }
        for (k, ver) in &v.detectors {
            note(format!("detector:{k}"), ver, first, last, n);
        }
        for (k, ver) in &v.models {
            note(format!("model:{k}"), ver, first, last, n);
        }
    }
    let unversioned: Vec<u64> = d.iter().filter(|x| x.versions.policy.is_empty()).map(|x| x.seq).collect();
    let history: BTreeMap<&String, Vec<Value>> = seen
        .iter()
        .map(|(component, versions)| {
            let mut v: Vec<(&String, &(i128, i128, u64))> = versions.iter().collect();
            v.sort_by_key(|(_, (first, _, _))| *first);
            let list = v
                .into_iter()
                .map(|(version, (first, last, n))| json!({ "version": version, "first_seen": time(*first), "last_seen": time(*last), "decisions": n }))
                .collect();
            (component, list)
        })
        .collect();
    let changes: usize = seen.values().map(|v| v.len().saturating_sub(1)).sum();
    let policies = seen.get("policy").map_or(0, |v| v.len());
    let status = if unversioned.is_empty() { Status::Met } else { Status::PartlyMet };
    (
        status,
        format!(
            "{policies} policy version(s) in force; {changes} version change(s) across policy, detectors and models; {} decisions without a policy version.",
            unversioned.len()
        ),
        json!({ "history": history, "changes": changes, "decisions_without_policy_version": unversioned.len() }),
        unversioned,
    )
}

fn residual(ctx: &Ctx<'_>) -> Computed {
    let d = &ctx.facts.decisions;
    if d.is_empty() {
        return none("Score decision");
    }
    let by_decision = count_by(d.iter().map(|x| x.decision.map_or("", Outcome::as_str)));
    let allowed_with_findings: Vec<u64> =
        d.iter().filter(|x| x.decision == Some(Outcome::Allow) && !x.categories.is_empty()).map(|x| x.seq).collect();
    let approved = ctx.facts.approvals.values().filter(|steps| steps.iter().any(|s| s.event == "approved")).count();
    let get = |k: &str| by_decision.get(k).copied().unwrap_or(0);
    (
        Status::Met,
        format!(
            "Of {} decisions: {} blocked, {} sent to a human ({} approved), {} proceeded after extra checks, {} allowed with low-severity findings.",
            d.len(),
            get("block"),
            get("require_approval"),
            approved,
            get("review"),
            allowed_with_findings.len()
        ),
        json!({
            "by_decision": by_decision, "approved_by_a_human": approved,
            "allowed_with_findings": allowed_with_findings.len(),
            "allowed_with_findings_percent": pct(allowed_with_findings.len(), d.len()),
        }),
        allowed_with_findings,
    )
}

/// What became of each approval asked for in the period.
struct Trail {
    seq: u64,
    outcome: &'static str,
    seconds_to_decision: Option<i64>,
    shown: bool,
    reviewers: Vec<String>,
}

fn trails(f: &Facts) -> Vec<Trail> {
    f.decisions
        .iter()
        .filter(|x| x.decision == Some(Outcome::RequireApproval))
        .map(|x| {
            let steps =
                x.approval_id.as_ref().and_then(|id| f.approvals.get(id)).map(Vec::as_slice).unwrap_or_default();
            let last = steps.iter().find(|s| matches!(s.event.as_str(), "approved" | "denied" | "expired"));
            let outcome = match last.map(|s| s.event.as_str()) {
                Some("approved") => "approved",
                Some("denied") => "denied",
                Some("expired") => "expired",
                _ if x.approval_expires.is_some_and(|t| t > f.now) => "pending",
                _ => "missing",
            };
            let mut reviewers: Vec<String> = steps
                .iter()
                .filter(|s| s.event == "vote" || s.event == "approved" || s.event == "denied")
                .map(|s| s.actor.clone())
                .filter(|a| !a.is_empty() && a != "warden")
                .collect();
            reviewers.sort();
            reviewers.dedup();
            Trail {
                seq: x.seq,
                outcome,
                seconds_to_decision: last.map(|s| ((s.at - x.at) / 1_000_000_000) as i64),
                shown: steps.iter().any(|s| s.event == "shown"),
                reviewers,
            }
        })
        .collect()
}

pub fn decision_seconds(f: &Facts) -> Vec<i64> {
    trails(f)
        .iter()
        .filter(|t| t.outcome == "approved" || t.outcome == "denied")
        .filter_map(|t| t.seconds_to_decision)
        .collect()
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn approvals(ctx: &Ctx<'_>) -> Computed {
    let t = trails(ctx.facts);
    if t.is_empty() {
        return none("decision that needed human approval");
    }
    let outcomes = count_by(t.iter().map(|x| x.outcome));
    let missing: Vec<u64> = t.iter().filter(|x| x.outcome == "missing").map(|x| x.seq).collect();
    let decided: Vec<&Trail> = t.iter().filter(|x| x.outcome == "approved" || x.outcome == "denied").collect();
    let unshown: Vec<u64> = decided.iter().filter(|x| !x.shown).map(|x| x.seq).collect();
    let anonymous: Vec<u64> = decided.iter().filter(|x| x.reviewers.is_empty()).map(|x| x.seq).collect();
    let reviewers: BTreeSet<&String> = t.iter().flat_map(|x| x.reviewers.iter()).collect();
    let mut secs = decision_seconds(ctx.facts);
    secs.sort_unstable();
    let status =
        if missing.is_empty() && unshown.is_empty() && anonymous.is_empty() { Status::Met } else { Status::PartlyMet };
    let mut records = missing.clone();
    records.extend(&unshown);
    records.extend(&anonymous);
    records.extend(decided.iter().map(|x| x.seq).take(5));
    (
        status,
        format!(
            "{} approvals asked for: {}; {} missing (expired with no record of a decision or expiry), {} decided without a record of what the reviewer was shown, {} without a named reviewer; {} distinct reviewers; median time to decision {} s.",
            t.len(),
            outcomes.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", "),
            missing.len(),
            unshown.len(),
            anonymous.len(),
            reviewers.len(),
            percentile(&secs, 0.5)
        ),
        json!({
            "requested": t.len(), "outcomes": outcomes, "missing": missing.len(),
            "decided_without_shown_record": unshown.len(), "decided_without_reviewer": anonymous.len(),
            "reviewers": reviewers.len(),
            "seconds_to_decision": { "p50": percentile(&secs, 0.5), "p90": percentile(&secs, 0.9), "max": secs.last().copied().unwrap_or(0) },
        }),
        records,
    )
}

fn stop(ctx: &Ctx<'_>) -> Computed {
    let blocked: Vec<u64> =
        ctx.facts.decisions.iter().filter(|x| x.decision == Some(Outcome::Block)).map(|x| x.seq).collect();
    let t = trails(ctx.facts);
    let denied = t.iter().filter(|x| x.outcome == "denied").count();
    let expired = t.iter().filter(|x| x.outcome == "expired").count();
    if blocked.is_empty() && denied == 0 && expired == 0 {
        return (
            Status::NotEvidenced,
            "Nothing was blocked, denied or expired in the period, so the log does not show the system being stopped."
                .into(),
            json!({ "blocked": 0, "denied": 0, "expired_to_deny": 0 }),
            Vec::new(),
        );
    }
    let mut records = blocked.clone();
    records.extend(t.iter().filter(|x| x.outcome == "denied" || x.outcome == "expired").map(|x| x.seq));
    (
        Status::Met,
        format!(
            "Requests were stopped {} times: {} blocked by policy, {} denied by a reviewer, {} expired to a deny.",
            blocked.len() + denied + expired,
            blocked.len(),
            denied,
            expired
        ),
        json!({ "blocked": blocked.len(), "denied": denied, "expired_to_deny": expired }),
        records,
    )
}

fn retention(ctx: &Ctx<'_>) -> Computed {
    let f = ctx.facts;
    let Some(oldest) = f.oldest_record else { return none("record") };
    let required = ctx.settings.retention_days as i64;
    // Judged at the report's making: does the log hold content back at
    // least the required time? Content is retired in whole segments, so a
    // day's tolerance.
    let held_now = f.oldest_readable.map_or(0, |t| ((f.now - t) / DAY) as i64);
    let log_days = ((f.now - oldest) / DAY) as i64;
    let lost = f.oldest_readable != Some(oldest);
    let (status, summary) = if held_now + 1 >= required {
        let retired = if f.retired_in_period > 0 {
            format!(
                "; {} records of the period are past retention: their content is gone, their hashes stay in the tree",
                f.retired_in_period
            )
        } else {
            String::new()
        };
        (
            Status::Met,
            format!(
                "Content is held back to {}, {held_now} days before this report ({required} required){retired}.",
                time(f.oldest_readable.unwrap_or(oldest))
            ),
        )
    } else if !lost {
        (
            Status::PartlyMet,
            format!("The log is {log_days} days old and has lost nothing, but {required} days of retention cannot be shown yet."),
        )
    } else {
        (
            Status::PartlyMet,
            format!("Only {held_now} days of content are held ({required} required): retention is set shorter than required."),
        )
    };
    let before_end = f.oldest_readable.map_or(0, |t| ((f.to - t) / DAY).max(0) as i64);
    (
        status,
        summary,
        json!({
            "required_days": required, "oldest_record": time(oldest), "oldest_held": f.oldest_readable.map(time),
            "days_held_before_period_end": before_end, "retired_in_period": f.retired_in_period,
        }),
        Vec::new(),
    )
}

/// Weekly buckets from the period start: (label, decisions by level).
pub fn weeks(f: &Facts) -> Vec<(String, BTreeMap<String, u64>)> {
    let n = ((f.to - f.from + 7 * DAY - 1) / (7 * DAY)).max(1) as usize;
    let mut out: Vec<(String, BTreeMap<String, u64>)> =
        (0..n).map(|i| (time(f.from + i as i128 * 7 * DAY)[..10].to_string(), BTreeMap::new())).collect();
    for x in &f.decisions {
        let i = ((x.at - f.from) / (7 * DAY)) as usize;
        if let Some((_, m)) = out.get_mut(i) {
            *m.entry(x.level.map_or("", Level::as_str).to_string()).or_default() += 1;
        }
    }
    out
}

fn trends(ctx: &Ctx<'_>) -> Computed {
    let f = ctx.facts;
    if f.decisions.is_empty() {
        return none("Score decision");
    }
    let w = weeks(f);
    let active = w.iter().filter(|(_, m)| !m.is_empty()).count();
    let high_share: Vec<f64> = w
        .iter()
        .map(|(_, m)| {
            let total: u64 = m.values().sum();
            let high = m.get("high").copied().unwrap_or(0) + m.get("critical").copied().unwrap_or(0);
            pct(high as usize, total as usize)
        })
        .collect();
    let status = if active >= 2 { Status::Met } else { Status::PartlyMet };
    (
        status,
        format!("{active} of {} weeks have decisions; the weekly share of high or critical decisions ranged from {}% to {}%.", w.len(),
            high_share.iter().copied().fold(f64::INFINITY, f64::min), high_share.iter().copied().fold(0.0, f64::max)),
        json!({ "weeks": w.iter().map(|(label, m)| json!({ "week": label, "by_level": m })).collect::<Vec<_>>() }),
        Vec::new(),
    )
}

fn incidents(ctx: &Ctx<'_>) -> Computed {
    let f = ctx.facts;
    let mut register = Vec::new();
    let mut exceptions = Vec::new();
    let mut all = Vec::new();
    for (id, steps) in &f.incidents {
        let Some(first) = steps.iter().find(|s| s.event == "reported").or(steps.first()) else { continue };
        let latest = steps.last().unwrap_or(first);
        let aware = crate::timestamp::parse(&first.aware_at).map(|t| t.unix_timestamp_nanos()).unwrap_or(first.at);
        let closed_before = steps.iter().any(|s| s.event == "closed" && s.at < f.from);
        if aware >= f.to || closed_before {
            continue;
        }
        let severity = Severity::parse(&latest.severity).unwrap_or(Severity::Serious);
        let title = steps.iter().rev().map(|s| s.title.as_str()).find(|t| !t.is_empty()).unwrap_or_default();
        let notified = steps.iter().find(|s| s.event == "notified");
        let notified_at =
            notified.and_then(|s| crate::timestamp::parse(&s.notified_at).ok()).map(|t| t.unix_timestamp_nanos());
        let deadline = severity.deadline().map(|(days, _)| aware + days as i128 * DAY);
        let state = match (deadline, notified_at) {
            (None, _) => "no_duty_to_report",
            (Some(d), Some(n)) if n <= d => "notified_in_time",
            (Some(_), Some(_)) => "notified_late",
            (Some(d), None) if d < f.now => "overdue",
            (Some(_), None) => "open_within_deadline",
        };
        all.push(first.seq);
        if state == "notified_late" || state == "overdue" {
            exceptions.push(first.seq);
        }
        let unresolved: Vec<&String> = first.related_records.iter().filter(|r| !f.ids.contains_key(*r)).collect();
        register.push(json!({
            "incident_id": id, "title": title, "severity": severity.as_str(),
            "aware_at": first.aware_at, "deadline": deadline.map(time),
            "deadline_basis": severity.deadline().map(|(d, basis)| format!("{d} days, {basis}")),
            "notified_at": notified_at.map(time), "authority": notified.map(|s| s.authority.clone()),
            "state": state, "closed": steps.iter().any(|s| s.event == "closed"),
            "related_records": first.related_records.len(), "related_records_outside_period": unresolved.len(),
            "first_sequence": first.seq,
        }));
    }
    if register.is_empty() {
        return (
            Status::NotEvidenced,
            "No incident was recorded for the period. The register exists and is empty; the log cannot show that no incident occurred.".into(),
            json!({ "incidents": [] }),
            Vec::new(),
        );
    }
    let status = if exceptions.is_empty() { Status::Met } else { Status::PartlyMet };
    let states = count_by(register.iter().map(|r| r["state"].as_str().unwrap_or_default()));
    let mut records = exceptions.clone();
    records.extend(all);
    (
        status,
        format!(
            "{} incident(s) in the register: {}.",
            register.len(),
            states.iter().map(|(k, v)| format!("{v} {}", k.replace('_', " "))).collect::<Vec<_>>().join(", ")
        ),
        json!({ "incidents": register, "by_state": states }),
        records,
    )
}

fn provenance(ctx: &Ctx<'_>) -> Computed {
    let docs: Vec<&super::facts::Document> = ctx.facts.decisions.iter().flat_map(|x| x.documents.iter()).collect();
    if docs.is_empty() {
        return none("retrieved document");
    }
    let without_id: Vec<u64> = docs.iter().filter(|d| d.id.is_empty()).map(|d| d.seq).collect();
    let sources = count_by(docs.iter().map(|d| if d.source.is_empty() { "(none)" } else { d.source.as_str() }));
    let hashed = docs.iter().filter(|d| d.digest.starts_with("sha256:") || d.digest.starts_with("salted")).count();
    let distinct: BTreeSet<&str> = docs.iter().map(|d| d.id.as_str()).filter(|i| !i.is_empty()).collect();
    let sample: Vec<Value> = docs
        .iter()
        .take(10)
        .map(|d| json!({ "sequence": d.seq, "id": d.id, "source": d.source, "digest": d.digest }))
        .collect();
    let status = if without_id.is_empty() { Status::Met } else { Status::PartlyMet };
    let mut records = without_id.clone();
    records.extend(docs.iter().map(|d| d.seq).take(5));
    (
        status,
        format!(
            "{} retrieved documents in {} distinct ids from {} sources; {}% carry an id, {}% a content hash.",
            docs.len(),
            distinct.len(),
            sources.len(),
            pct(docs.len() - without_id.len(), docs.len()),
            pct(hashed, docs.len())
        ),
        json!({ "documents": docs.len(), "distinct_ids": distinct.len(), "without_id": without_id.len(), "by_source": sources, "hashed": hashed, "sample": sample }),
        records,
    )
}

fn privacy(ctx: &Ctx<'_>) -> Computed {
    let d = &ctx.facts.decisions;
    if d.is_empty() {
        return none("Score decision");
    }
    let personal = |c: &String| c.starts_with("pii.") || c.starts_with("secret.");
    let with: Vec<&super::facts::Decision> = d.iter().filter(|x| x.categories.iter().any(personal)).collect();
    let categories =
        count_by(with.iter().flat_map(|x| x.categories.iter().filter(|c| personal(c)).map(String::as_str)));
    let unredacted: Vec<u64> = with.iter().filter(|x| !x.redacted_text).map(|x| x.seq).collect();
    let status = if unredacted.is_empty() { Status::Met } else { Status::PartlyMet };
    let mut records = unredacted.clone();
    records.extend(with.iter().map(|x| x.seq).take(5));
    (
        status,
        format!(
            "{} decisions found personal data or secrets ({} categories); {} of them lack a redacted text.",
            with.len(),
            categories.len(),
            unredacted.len()
        ),
        json!({ "decisions_with_personal_data": with.len(), "by_category": categories, "without_redacted_text": unredacted.len() }),
        records,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clause_is_met_only_when_every_indicator_is() {
        use Status::*;
        assert_eq!(Status::combine([Met, Met]), Met);
        assert_eq!(Status::combine([Met, PartlyMet]), PartlyMet);
        assert_eq!(Status::combine([Met, NotEvidenced]), PartlyMet);
        assert_eq!(Status::combine([NotEvidenced, NotEvidenced]), NotEvidenced);
        assert_eq!(Status::combine([]), NotEvidenced);
    }

    #[test]
    fn retention_is_judged_when_the_report_is_made() {
        let now = 400 * DAY;
        let settings = Settings { max_gap_hours: 24, retention_days: 183 };
        let status = |oldest: i128, held: i128| {
            let facts = Facts {
                from: 100 * DAY,
                to: 280 * DAY,
                now,
                oldest_record: Some(oldest),
                oldest_readable: Some(held),
                ..Facts::default()
            };
            let r = retention(&Ctx { facts: &facts, settings: &settings, scope_args: String::new() });
            (r.0, r.1)
        };
        // Retention working: content from 190 days ago still held.
        assert_eq!(status(now - 300 * DAY, now - 190 * DAY).0, Status::Met);
        // Retired in whole segments: a few hours short of 183 days is fine.
        assert_eq!(status(now - 300 * DAY, now - 183 * DAY + 3 * HOUR).0, Status::Met);
        // Content gone after 100 days: retention set too short.
        let (s, summary) = status(now - 300 * DAY, now - 100 * DAY);
        assert_eq!(s, Status::PartlyMet);
        assert!(summary.contains("shorter than required"), "{summary}");
        // A young log that lost nothing cannot show six months yet.
        let (s, summary) = status(now - 50 * DAY, now - 50 * DAY);
        assert_eq!(s, Status::PartlyMet);
        assert!(summary.contains("cannot be shown yet"), "{summary}");
    }

    #[test]
    fn time_before_the_log_began_is_no_gap_in_logging() {
        let settings = Settings { max_gap_hours: 24, retention_days: 183 };
        let hourly = |from: i128, to: i128| (0..).map(|h| from + h * HOUR).take_while(|t| *t < to).collect::<Vec<_>>();
        let continuity_of = |oldest: i128, record_times: Vec<i128>| {
            let facts = Facts {
                from: 0,
                to: 30 * DAY,
                now: 31 * DAY,
                oldest_record: Some(oldest),
                record_times,
                ..Facts::default()
            };
            continuity(&Ctx { facts: &facts, settings: &settings, scope_args: String::new() })
        };
        // A first report: the log began on day 20 and logged hourly since.
        let (status, summary, value, _) = continuity_of(20 * DAY, hourly(20 * DAY, 30 * DAY));
        assert_eq!(status, Status::Met, "{summary}");
        assert!(summary.contains("The log began at"), "{summary}");
        assert_eq!(value["log_began"], time(20 * DAY));
        // A log older than the period with the same silence is a gap.
        let (status, _, value, _) = continuity_of(-DAY, hourly(20 * DAY, 30 * DAY));
        assert_eq!(status, Status::PartlyMet);
        assert_eq!(value["gaps"].as_array().unwrap().len(), 1);
        // Silence after the log began still counts.
        let mut times = hourly(20 * DAY, 22 * DAY);
        times.extend(hourly(25 * DAY, 30 * DAY));
        assert_eq!(continuity_of(20 * DAY, times).0, Status::PartlyMet);
    }

    #[test]
    fn an_empty_period_evidences_nothing() {
        let facts = Facts { from: 0, to: 30 * DAY, now: 31 * DAY, ..Facts::default() };
        let settings = Settings { max_gap_hours: 24, retention_days: 183 };
        let all = compute(&Ctx { facts: &facts, settings: &settings, scope_args: String::new() });
        assert_eq!(all.len(), INDICATORS.len());
        for (id, i) in all {
            assert_eq!(i.status, Status::NotEvidenced, "{id}: {}", i.summary);
        }
    }
}
