//! A seeded, simulated history for tests, benches and demonstrations: months
//! of Score decisions, human approvals, client events, incidents and daily
//! signed checkpoints, written through the real journal with a simulated
//! clock. The same seed and options always give the same records (ids and
//! signatures aside), so reports built from them can be checked against
//! golden files.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

use serde_json::value::RawValue;
use time::{Duration, OffsetDateTime};

use crate::audit::journal::{AuditLog, Clock};
use crate::audit::record::ApprovalTerms;
use crate::audit::record::Vote;
use crate::audit::AuditConfig;
use crate::audit::{AuditError, Entry, Journal};
use crate::detect::Finding;
use crate::evaluation::{Evaluation, SkipReason, Skipped};
use crate::policy::{Decision, Level, Verdict};
use crate::request::DocumentIn;
use crate::request::{Context, ScoreRequest};

use crate::timestamp::format as format_time;

#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub start: OffsetDateTime,
    pub days: u32,
    /// Score decisions per simulated day.
    pub per_day: u32,
    /// Days (from `start`) with nothing recorded and no checkpoint.
    pub gap_days: Option<Range<u32>>,
    /// A day on which one decision is made with the model skipped.
    pub skipped_detector_on_day: Option<u32>,
    /// A day on which one approval is asked for and nothing is recorded of
    /// it again.
    pub missing_approval_on_day: Option<u32>,
    pub tenant: String,
    pub application: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed: 42,
            start: time::macros::datetime!(2026-05-01 00:00 UTC),
            days: 184,
            per_day: 16,
            gap_days: None,
            skipped_detector_on_day: None,
            missing_approval_on_day: None,
            tenant: "acme".into(),
            application: "refund-agent".into(),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seeded {
    pub records: u64,
    pub decisions: u64,
    pub approvals_requested: u64,
    pub checkpoints: u64,
    pub incidents: u64,
}

/// splitmix64: small, fixed and good enough for fixtures.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const REVIEWERS: [&str; 3] = ["alice@acme.example", "bob@acme.example", "chen@acme.example"];

enum Planned {
    Decision { entry: Box<Entry>, approval: Option<String> },
    Approval { approval_id: String, event: &'static str, actor: String, state: &'static str, votes: Vec<Vote> },
    Client { kind: &'static str, id: String, tool: &'static str },
    Incident { step: Box<super::incident::IncidentStep>, link_today: bool },
}

/// The checkpoint interval the simulated history is written with.
pub const DAY_MS: u64 = 86_400_000;

/// Writes the simulated history into `data_dir` (which should be empty) and
/// closes the log.
pub async fn seed(data_dir: &Path, config: &AuditConfig, opts: &Options) -> Result<Seeded, AuditError> {
    let (clock, hand) = Clock::manual(opts.start);
    // The simulation signs once a simulated day (below) and never on the
    // real clock's ticks, so the same seed gives the same checkpoints; a
    // verifier holds the result to a window of a day.
    let config = AuditConfig { checkpoint_interval_ms: DAY_MS, checkpoint_heartbeat_ms: 0, ..config.clone() };
    let log = AuditLog::open_with_clock(data_dir, &config, clock)?;
    let mut rng = Rng(opts.seed);
    let mut out = Seeded::default();
    let mut requests: HashMap<String, (String, u64)> = HashMap::new();
    let mut incident_ids: BTreeMap<&'static str, String> = BTreeMap::new();
    let context = Context {
        tenant: opts.tenant.clone(),
        application: opts.application.clone(),
        model: "gpt-4o-2024-08-06".into(),
        ..Context::default()
    };
    for day in 0..opts.days {
        if opts.gap_days.as_ref().is_some_and(|g| g.contains(&day)) {
            continue;
        }
        let day_start = opts.start + Duration::days(day as i64);
        let mut plan: Vec<(OffsetDateTime, Planned)> = Vec::new();
        let slot = 86_400 / opts.per_day.max(1) as i64;
        for k in 0..opts.per_day {
            let t = day_start + Duration::seconds(k as i64 * slot + rng.below((slot / 2) as u64) as i64);
            let mut ctx = context.clone();
            ctx.session_id = format!("s-{day}-{}", k / 4);
            ctx.user_id = format!("u-{}", rng.below(200));
            let skipped = opts.skipped_detector_on_day == Some(day) && k == 1;
            let force_approval = opts.missing_approval_on_day == Some(day) && k == 2;
            let entry = decision(&mut rng, day, t, ctx, skipped, force_approval, opts);
            let approval_id = match &entry {
                Entry::ScoreDecision { approval_id, .. } => approval_id.clone(),
                _ => None,
            };
            if let Some(id) = &approval_id {
                out.approvals_requested += 1;
                if !force_approval {
                    plan_approval(&mut rng, &mut plan, id, t);
                }
            }
            plan.push((t, Planned::Decision { entry: Box::new(entry), approval: approval_id }));
            if rng.chance(25) {
                let tool = ["search_docs", "issue_refund", "lookup_order"][rng.below(3) as usize];
                plan.push((
                    t + Duration::seconds(2),
                    Planned::Client { kind: "tool_call", id: format!("c-{day}-{k}"), tool },
                ));
            }
        }
        if day == 60 || day == 150 {
            let serious = day == 60;
            let step = super::incident::IncidentStep {
                event: "reported".into(),
                severity: if serious { "serious" } else { "minor" }.into(),
                title: if serious {
                    "Refunds issued to a fraudulent claimant"
                } else {
                    "Reviewer saw a stale order total"
                }
                .into(),
                description: "Found in the weekly review of approved refunds.".into(),
                aware_at: format_time(day_start + Duration::hours(9)),
                actor: "risk-office@acme.example".into(),
                context: context.clone(),
                ..Default::default()
            };
            plan.push((day_start + Duration::hours(10), Planned::Incident { step: Box::new(step), link_today: true }));
        }
        if day == 70 {
            // The serious incident of day 60 is notified within 15 days.
            let step = super::incident::IncidentStep {
                event: "notified".into(),
                severity: "serious".into(),
                aware_at: format_time(opts.start + Duration::days(60) + Duration::hours(9)),
                authority: "Market surveillance authority (DE)".into(),
                notified_at: format_time(day_start + Duration::hours(11)),
                actor: "risk-office@acme.example".into(),
                context: context.clone(),
                ..Default::default()
            };
            plan.push((day_start + Duration::hours(11), Planned::Incident { step: Box::new(step), link_today: false }));
        }
        plan.sort_by_key(|(t, _)| *t);
        let mut first_today: Option<String> = None;
        for (t, p) in plan {
            hand.set(t.min(day_start + Duration::seconds(86_399)));
            let entry = match p {
                Planned::Decision { entry, approval } => {
                    let appended = log.append(*entry).await?;
                    out.decisions += 1;
                    first_today.get_or_insert(appended.record_id.clone());
                    if let Some(id) = approval {
                        requests.insert(id, (appended.record_id, appended.sequence));
                    }
                    out.records += 1;
                    continue;
                }
                Planned::Approval { approval_id, event, actor, state, votes } => {
                    let (request_record_id, request_sequence) = requests[&approval_id].clone();
                    Entry::Approval {
                        approval_id,
                        event: event.into(),
                        context: context.clone(),
                        actor,
                        reason: if event == "expired" { "nobody decided in time" } else { "" }.into(),
                        request_record_id,
                        request_sequence,
                        state: state.into(),
                        votes,
                        delivered_from: String::new(),
                        fleet_origin: String::new(),
                    }
                }
                Planned::Client { kind, id, tool } => Entry::ClientEvent {
                    event_kind: kind.into(),
                    client_event_id: id,
                    context: context.clone(),
                    attributes: RawValue::from_string(format!(r#"{{"gen_ai.tool.name":"{tool}"}}"#))
                        .expect("literal JSON"),
                    occurred_at: Some(format_time(t)),
                },
                Planned::Incident { mut step, link_today } => {
                    if link_today {
                        step.related_records = first_today.iter().cloned().collect();
                    } else {
                        step.incident_id = incident_ids.get("serious").cloned().unwrap_or_default();
                    }
                    let entry = super::incident::validate(*step, t)
                        .map_err(|e| AuditError::Io(format!("fixture incident: {e}")))?;
                    if let Entry::Incident { incident_id, severity, event, .. } = &entry {
                        if event == "reported" {
                            out.incidents += 1;
                            if severity == "serious" {
                                incident_ids.insert("serious", incident_id.clone());
                            }
                        }
                    }
                    entry
                }
            };
            log.append(entry).await?;
            out.records += 1;
        }
        hand.set(day_start + Duration::seconds(86_399));
        log.checkpoint().await?;
        out.checkpoints += 1;
    }
    log.close()?;
    Ok(out)
}

fn plan_approval(rng: &mut Rng, plan: &mut Vec<(OffsetDateTime, Planned)>, id: &str, t: OffsetDateTime) {
    let reviewer = REVIEWERS[rng.below(3) as usize].to_string();
    let shown = t + Duration::seconds(10 + rng.below(110) as i64);
    plan.push((
        shown,
        Planned::Approval {
            approval_id: id.into(),
            event: "shown",
            actor: reviewer.clone(),
            state: "pending",
            votes: vec![],
        },
    ));
    let roll = rng.below(100);
    let decided = shown + Duration::seconds(30 + rng.below(1500) as i64);
    let (event, actor, state, at) = if roll < 70 {
        ("approved", reviewer.clone(), "approved", decided)
    } else if roll < 90 {
        ("denied", reviewer.clone(), "denied", decided)
    } else {
        ("expired", "warden".to_string(), "expired", t + Duration::minutes(15))
    };
    let votes = if event == "expired" {
        vec![]
    } else {
        vec![Vote { reviewer, approve: event == "approved", reason: "checked the order".into(), at: format_time(at) }]
    };
    plan.push((at, Planned::Approval { approval_id: id.into(), event, actor, state, votes }));
}

fn finding(category: &str, detector: &'static str, source: &str, score: f64) -> Finding {
    Finding {
        category: category.into(),
        score,
        detector,
        source: source.into(),
        span: 0..8,
        message: format!("{category} found"),
        evidence: None,
    }
}

fn decision(
    rng: &mut Rng,
    day: u32,
    t: OffsetDateTime,
    context: Context,
    skipped: bool,
    force_approval: bool,
    opts: &Options,
) -> Entry {
    let roll = if force_approval { 99 } else { rng.below(100) };
    let (request, findings, level, decision) = if roll < 45 {
        let documents = if rng.chance(50) {
            (0..1 + rng.below(2))
                .map(|_| {
                    let n = rng.below(40);
                    DocumentIn {
                        id: format!("kb-{n}"),
                        source: ["confluence", "sharepoint"][(n % 2) as usize].into(),
                        text: format!("Refund policy section {n}: refunds above 500 EUR need a second check."),
                        trusted: false,
                    }
                })
                .collect()
        } else {
            vec![]
        };
        let r = rng.below(100);
        let (findings, level, decision) = match r {
            0..=69 => (vec![], Level::Low, Decision::Allow),
            70..=79 => (vec![finding("pii.email", "pii", "input", 0.5)], Level::Medium, Decision::Review),
            80..=87 => {
                (vec![finding("prompt_injection", "injection-rules", "input", 0.9)], Level::High, Decision::Block)
            }
            88..=94 => (vec![finding("topic.finance", "warden-minilm", "input", 0.6)], Level::Medium, Decision::Review),
            _ => (vec![finding("secret.api_key", "secrets", "input", 0.95)], Level::High, Decision::Block),
        };
        let request = ScoreRequest::Input {
            context,
            text: "Where is my refund for order 1234?".into(),
            system_prompt: "You are the refund assistant.".into(),
            documents,
        };
        (request, findings, level, decision)
    } else if roll < 75 {
        let r = rng.below(100);
        let (findings, level, decision) = match r {
            0..=79 => (vec![], Level::Low, Decision::Allow),
            80..=84 => (vec![finding("toxicity", "warden-minilm", "output", 0.7)], Level::High, Decision::Block),
            85..=94 => (vec![finding("ungrounded", "grounding", "output", 0.4)], Level::Low, Decision::Allow),
            _ => (vec![finding("system_prompt_leak", "leak", "output", 0.8)], Level::High, Decision::Block),
        };
        let request = ScoreRequest::Output {
            context,
            text: "Your refund was issued.".into(),
            input: "Where is my refund?".into(),
            system_prompt: String::new(),
            documents: vec![],
            canaries: vec![],
        };
        (request, findings, level, decision)
    } else {
        let r = if force_approval { 70 } else { rng.below(100) };
        let (tool, findings, level, decision) = match r {
            0..=59 => ("search_docs", vec![], Level::Low, Decision::Allow),
            60..=84 => (
                "issue_refund",
                vec![finding("action.payment", "action-policy", "action", 0.8)],
                Level::High,
                Decision::RequireApproval,
            ),
            85..=94 => (
                "send_email",
                vec![finding("action.external_communication", "action-policy", "action", 0.5)],
                Level::Medium,
                Decision::Review,
            ),
            _ => (
                "delete_records",
                vec![finding("action.data_delete", "action-policy", "action", 0.95)],
                Level::Critical,
                Decision::RequireApproval,
            ),
        };
        let request = ScoreRequest::Action {
            context,
            tool: tool.into(),
            arguments_json: r#"{"order":"1234","amount_eur":120}"#.into(),
            rationale: String::new(),
        };
        (request, findings, level, decision)
    };
    let policy_version = if day < opts.days / 2 { "builtin-2026.05.1" } else { "builtin-2026.08.1" };
    let approval_id = (decision == Decision::RequireApproval).then(|| format!("appr-{:016x}", rng.next()));
    let mut detector_versions = BTreeMap::new();
    for (k, v) in [("injection-rules", "1.3.0"), ("pii", "2.1.0"), ("secrets", "1.4.0"), ("action-policy", "1.0.0")] {
        detector_versions.insert(k.to_string(), v.to_string());
    }
    let model_versions =
        BTreeMap::from([("warden-minilm".to_string(), "warden-minilm-2026.11.1+sha256:cf8e5f4f9016".to_string())]);
    let evaluation = Evaluation {
        findings,
        skipped: if skipped {
            vec![Skipped {
                detector: "warden-minilm".into(),
                reason: SkipReason::Timeout,
                message: "model queue timed out after 250 ms".into(),
            }]
        } else {
            vec![]
        },
        verdict: Verdict {
            score: match level {
                Level::Low => 0.1,
                Level::Medium => 0.5,
                Level::High => 0.8,
                Level::Critical => 0.95,
            },
            level,
            decision,
            required_checks: vec![],
            reasons: vec![],
        },
        redacted_text: "Where is my refund for order 1234?".into(),
        policy_version: policy_version.into(),
        detector_versions,
        model_versions,
        effects: vec![],
    };
    let approval = approval_id
        .as_ref()
        .map(|_| ApprovalTerms { expires_at: format_time(t + Duration::minutes(15)), required_approvals: 1 });
    Entry::ScoreDecision {
        request,
        evaluation,
        approval_id,
        warden_version: env!("CARGO_PKG_VERSION"),
        caller: Some("refund-agent".into()),
        approval,
    }
}
