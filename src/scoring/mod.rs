//! The scoring pipeline: run every applicable detector over every source of a
//! request, attribute findings to their source, and let the policy decide.
//!
//! Detectors are CPU work, so each runs on the blocking pool, never on an
//! async worker, with a deadline. A detector that fails, panics or misses its
//! deadline is reported as skipped, and the policy decides whether that fails
//! open or closed; it is never counted as a clean pass.
//!
//! At most [`CpuSlots`] of that work runs at once. More threads than cores
//! buy CPU work nothing, and every thread that runs a regex while others do
//! gets a lazy-DFA cache of its own, which the regex keeps for the life of
//! the process: with the blocking pool's hundreds of threads under load,
//! those caches alone grew the server by gigabytes (issue #26's soak).

pub mod model;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::field::Empty;
use tracing::Instrument as _;

use tokio::sync::Semaphore;

use crate::action::PolicyHandle;
use crate::detect::redact::{is_redacted_category, redact};
use crate::detect::{Detector, Finding, ScanSet, Source};
use crate::policy::{Escalation, Policy};
use crate::session::SessionView;
use crate::telemetry;

pub use crate::evaluation::{Evaluation, SkipReason, Skipped};
pub use crate::request::{Context, DocumentIn, ScoreRequest};
pub use model::ModelStage;

pub struct Pipeline {
    detectors: Vec<Arc<dyn Detector>>,
    policy: Arc<Policy>,
    action_policy: PolicyHandle,
    /// Deadline for one detector over all sources of one request.
    detector_timeout: Duration,
    model: ModelStage,
    output: Option<Arc<crate::output::OutputChecks>>,
    content: Arc<crate::content::ContentPolicies>,
    cpu: CpuSlots,
}

/// How many detector, action-policy and content-policy runs may be on the
/// blocking pool at once: twice the cores the process may use, at least 4
/// (so one slow input does not hold every slot).
#[derive(Clone)]
pub struct CpuSlots(Arc<Semaphore>);

impl CpuSlots {
    pub fn new(slots: usize) -> Self {
        Self(Arc::new(Semaphore::new(slots.max(1))))
    }

    /// The default: `2 × available_parallelism`, at least 4.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new((2 * cores).max(4))
    }
}

impl Pipeline {
    pub fn new(
        detectors: Vec<Arc<dyn Detector>>,
        policy: Arc<Policy>,
        action_policy: PolicyHandle,
        detector_timeout: Duration,
    ) -> Self {
        Self {
            detectors,
            policy,
            action_policy,
            detector_timeout,
            model: ModelStage::Absent,
            output: None,
            content: Arc::new(crate::content::ContentPolicies::none()),
            cpu: CpuSlots::for_this_machine(),
        }
    }

    /// Adds the classifier stage, which runs after the rule detectors (the
    /// cascade reads their findings).
    pub fn with_model(mut self, model: ModelStage) -> Self {
        self.model = model;
        self
    }

    pub fn model(&self) -> &ModelStage {
        &self.model
    }

    /// Adds the operator's content policies (ScoreInput and ScoreOutput).
    pub fn with_content(mut self, policies: crate::content::ContentPolicies) -> Self {
        self.content = Arc::new(policies);
        self
    }

    /// Adds the output checks (grounding, leaks) for ScoreOutput.
    pub fn with_output(mut self, checks: crate::output::OutputChecks) -> Self {
        self.output = Some(Arc::new(checks));
        self
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn action_policy(&self) -> &PolicyHandle {
        &self.action_policy
    }

    /// Runs the stages that apply to the request's surface, chosen once, each
    /// adding to one [`Stage`] outcome, then lets the policy decide.
    pub async fn evaluate(&self, request: &ScoreRequest, session: &SessionView) -> Evaluation {
        let scan = Arc::new(request.scan_set());
        let mut out = self.rules(&scan).await;
        let staged =
            model::run(&self.model, &scan, &out.findings, self.detector_timeout, model::Anchors::of(&self.policy))
                .instrument(stage_span("model", crate::model::DETECTOR))
                .await;
        out.findings.extend(staged.findings);
        out.skipped.extend(staged.skipped);
        out.notes.extend(staged.notes);
        out.models.extend(staged.ran);
        let action_policy = self.action_policy.current();
        match request {
            ScoreRequest::Input { .. } => {
                let content = self
                    .content_stage(request)
                    .instrument(stage_span("content_policy", crate::content::DETECTOR))
                    .await;
                out.absorb(content);
            }
            ScoreRequest::Output { .. } => {
                let output = self
                    .output_stage(request, &mut out.findings)
                    .instrument(stage_span("output", "output_checks"))
                    .await;
                out.absorb(output);
                let content = self
                    .content_stage(request)
                    .instrument(stage_span("content_policy", crate::content::DETECTOR))
                    .await;
                out.absorb(content);
            }
            ScoreRequest::Action { .. } => {
                let action = action_stage(
                    action_policy.clone(),
                    request,
                    &out.findings,
                    session,
                    self.detector_timeout,
                    &self.cpu,
                )
                .instrument(stage_span("action_policy", crate::action::DETECTOR))
                .await;
                out.absorb(action);
            }
        }
        for f in &out.findings {
            telemetry::finding(&f.category);
        }

        let trusted_docs: Vec<String> = scan
            .items
            .iter()
            .filter_map(|i| match &i.source {
                Source::Document { trusted: true, .. } => Some(i.source.to_string()),
                _ => None,
            })
            .collect();
        let skipped_names: Vec<String> =
            out.skipped.iter().filter(|s| s.reason != SkipReason::NotApplicable).map(|s| s.detector.clone()).collect();
        let policy_span = tracing::debug_span!(
            "policy",
            warden.policy.version = self.policy.version(),
            warden.decision = Empty,
            warden.risk.level = Empty,
        );
        let mut verdict = policy_span.in_scope(|| {
            self.policy.decide(
                scan.surface,
                &request.context().application,
                &out.findings,
                |f| trusted_docs.contains(&f.source),
                &skipped_names,
                &out.escalations,
            )
        });
        policy_span.record("warden.decision", verdict.decision.as_str());
        policy_span.record("warden.risk.level", verdict.level.as_str());
        verdict.reasons.extend(out.notes);
        let mut findings = out.findings;
        findings.extend(out.explanations);

        let main_source = request.main_source().to_string();
        let redacted_text = redact(
            request.main_text(),
            findings
                .iter()
                .filter(|f| f.source == main_source && is_redacted_category(&f.category))
                .map(|f| (f.span.clone(), f.category.as_str())),
        );
        Evaluation {
            findings,
            skipped: out.skipped,
            verdict,
            redacted_text,
            policy_version: if self.content.is_empty() {
                format!("{}; {}", self.policy.version(), action_policy.version())
            } else {
                format!("{}; {}; {}", self.policy.version(), action_policy.version(), self.content.version())
            },
            detector_versions: out.versions.into_iter().collect(),
            model_versions: out.models.into_iter().collect(),
            effects: out.effects,
        }
    }

    /// The rule detectors, concurrently, each over every source it applies to.
    async fn rules(&self, scan: &Arc<ScanSet>) -> Stage {
        let runs = self.detectors.iter().map(|d| {
            run_detector(d.clone(), scan.clone(), self.detector_timeout, &self.cpu)
                .instrument(stage_span("detector", d.name()))
        });
        let results = futures_util::future::join_all(runs).await;
        let mut out = Stage::default();
        for (detector, result) in self.detectors.iter().zip(results) {
            out.versions.push((detector.name().to_string(), detector.version().to_string()));
            match result {
                Ok(mut f) => out.findings.append(&mut f),
                Err(s) => {
                    telemetry::detector_skipped(detector.name(), s.reason.as_str());
                    out.skipped.push(s);
                }
            }
        }
        out
    }

    /// ScoreOutput's checks (grounding, leaks, confidential values); they may
    /// re-weight what earlier stages found (`findings`).
    async fn output_stage(&self, request: &ScoreRequest, findings: &mut [Finding]) -> Stage {
        let Some(checks) = &self.output else { return Stage::default() };
        let model = match &self.model {
            ModelStage::Ready { model, .. } => Some(model),
            _ => None,
        };
        let started = Instant::now();
        let checked = checks.run(request, model, findings, self.detector_timeout).await;
        telemetry::detector_duration(crate::output::grounding::DETECTOR, started.elapsed());
        for s in &checked.skipped {
            if s.reason != SkipReason::NotApplicable {
                let name = match s.detector.as_str() {
                    crate::output::leak::DETECTOR => crate::output::leak::DETECTOR,
                    _ => crate::output::grounding::DETECTOR,
                };
                telemetry::detector_skipped(name, s.reason.as_str());
            }
        }
        let versions = crate::output::OutputChecks::detector_versions()
            .into_iter()
            .map(|(name, version)| (name.to_string(), version.to_string()))
            .collect();
        Stage { findings: checked.findings, skipped: checked.skipped, versions, ..Stage::default() }
    }

    /// The operator's content policies, on inputs and outputs.
    async fn content_stage(&self, request: &ScoreRequest) -> Stage {
        if self.content.is_empty() {
            return Stage::default();
        }
        let mut out = Stage {
            versions: vec![(crate::content::DETECTOR.to_string(), self.content.version().to_string())],
            ..Stage::default()
        };
        match run_content_policies(self.content.clone(), request, self.detector_timeout, &self.cpu).await {
            Ok(mut f) => out.findings.append(&mut f),
            Err(s) => {
                telemetry::detector_skipped(crate::content::DETECTOR, s.reason.as_str());
                out.skipped.push(s);
            }
        }
        out
    }
}

/// The span of one stage: `kind` is `detector` (a rule detector), `model`,
/// `output` (ScoreOutput's checks), `content_policy` or `action_policy`;
/// `name` is the detector's name as assessments report it.
fn stage_span(kind: &'static str, name: &'static str) -> tracing::Span {
    tracing::debug_span!("stage", otel.name = %format!("{kind} {name}"), warden.stage = kind, warden.detector = name)
}

/// What one stage of the pipeline adds to the evaluation; every stage
/// returns one.
#[derive(Debug, Default)]
struct Stage {
    findings: Vec<Finding>,
    skipped: Vec<Skipped>,
    /// Levels a stage asks for outright (the action policy's findings).
    escalations: Vec<Escalation>,
    /// Findings that explain the escalations: reported, not scored again.
    explanations: Vec<Finding>,
    /// What an action adds to its session.
    effects: Vec<String>,
    /// Words for the assessment's reasons (the cascade).
    notes: Vec<String>,
    /// (detector, version) of what ran.
    versions: Vec<(String, String)>,
    /// (model, version) of the encoders that ran.
    models: Vec<(String, String)>,
}

impl Stage {
    fn absorb(&mut self, other: Stage) {
        self.findings.extend(other.findings);
        self.skipped.extend(other.skipped);
        self.escalations.extend(other.escalations);
        self.explanations.extend(other.explanations);
        self.effects.extend(other.effects);
        self.notes.extend(other.notes);
        self.versions.extend(other.versions);
        self.models.extend(other.models);
    }
}

/// The action policy over a ScoreAction call: its findings become
/// escalations (a floor on the level) and explanations.
async fn action_stage(
    policy: Arc<crate::action::ActionPolicy>,
    request: &ScoreRequest,
    findings: &[Finding],
    session: &SessionView,
    timeout: Duration,
    cpu: &CpuSlots,
) -> Stage {
    let mut out = Stage {
        versions: vec![(crate::action::DETECTOR.to_string(), policy.version().to_string())],
        ..Stage::default()
    };
    match run_action_policy(policy, request, findings, session, timeout, cpu).await {
        Ok(policy_out) => {
            for f in policy_out.findings {
                let score = crate::action::level_score(f.level);
                out.escalations.push(Escalation {
                    level: f.level,
                    score,
                    reason: format!("{} ({}, {}): {}", f.category, f.level.as_str(), f.id, f.message),
                    checks: f.checks,
                });
                telemetry::finding(&f.category);
                out.explanations.push(Finding {
                    category: f.category,
                    score,
                    detector: crate::action::DETECTOR,
                    source: Source::Action.to_string(),
                    span: 0..0,
                    message: f.message,
                    evidence: None,
                });
            }
            out.effects = policy_out.effects;
        }
        Err(s) => {
            telemetry::detector_skipped(crate::action::DETECTOR, s.reason.as_str());
            out.skipped.push(s);
        }
    }
    out
}

/// Runs the content policies over the request's main text: sentence
/// embeddings first when a topic policy applies, the rest on the blocking pool.
async fn run_content_policies(
    policies: Arc<crate::content::ContentPolicies>,
    request: &ScoreRequest,
    timeout: Duration,
    cpu: &CpuSlots,
) -> Result<Vec<Finding>, Skipped> {
    let name = crate::content::DETECTOR;
    let started = Instant::now();
    let skipped = |reason, message: String| Skipped { detector: name.to_string(), reason, message };
    let (surface, ctx, body) = (request.surface(), request.context().clone(), request.main_text().to_string());
    let embeddings = match (policies.needs_embeddings(surface, &ctx), policies.model()) {
        (true, Some(model)) => {
            let sentences: Vec<String> =
                crate::output::text::sentences(&body).iter().map(|s| s.text.to_string()).collect();
            match tokio::time::timeout(timeout, model.embed(sentences)).await {
                Ok(Ok(e)) => Some(e),
                Ok(Err(e)) => return Err(skipped(SkipReason::Failed, e)),
                Err(_) => {
                    return Err(skipped(SkipReason::Timeout, format!("no result within {} ms", timeout.as_millis())))
                }
            }
        }
        _ => None,
    };
    let source = request.main_source().to_string();
    let result = bounded(name, timeout, cpu, move || {
        Ok::<_, std::convert::Infallible>(policies.check(surface, &ctx, &source, &body, embeddings.as_deref()))
    })
    .await;
    telemetry::detector_duration(name, started.elapsed());
    result
}

/// Runs `work` on the blocking pool as the stage `name`, in one of `cpu`'s
/// slots, within `timeout` (waiting for the slot included): a timeout, a
/// panic or an error is a [`Skipped`] naming the stage, never a pass. Every
/// stage that leaves the async workers goes through here. The slot is held
/// until `work` returns, also when the deadline passed first, so the bound
/// holds for what really runs.
async fn bounded<T, E>(
    name: &'static str,
    timeout: Duration,
    cpu: &CpuSlots,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, Skipped>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let skipped = |reason, message: String| Skipped { detector: name.to_string(), reason, message };
    let slots = cpu.0.clone();
    let run = async move {
        let slot = slots.acquire_owned().await.expect("the slots' semaphore is never closed");
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
    };
    match tokio::time::timeout(timeout, run).await {
        Err(_) => Err(skipped(SkipReason::Timeout, format!("no result within {} ms", timeout.as_millis()))),
        Ok(Err(join)) => Err(skipped(SkipReason::Failed, format!("{name} panicked: {join}"))),
        Ok(Ok(Err(e))) => Err(skipped(SkipReason::Failed, e.to_string())),
        Ok(Ok(Ok(out))) => Ok(out),
    }
}

/// Runs the action policy on the blocking pool, with the detectors' deadline.
async fn run_action_policy(
    policy: Arc<crate::action::ActionPolicy>,
    request: &ScoreRequest,
    findings: &[Finding],
    session: &SessionView,
    timeout: Duration,
    cpu: &CpuSlots,
) -> Result<crate::action::PolicyOutput, Skipped> {
    let ScoreRequest::Action { context, tool, arguments_json, rationale } = request else {
        return Ok(Default::default());
    };
    let started = Instant::now();
    let (context, tool, args, rationale) = (context.clone(), tool.clone(), arguments_json.clone(), rationale.clone());
    let arg_findings: Vec<Finding> = findings.iter().filter(|f| f.source == "action").cloned().collect();
    let session = session.clone();
    let name = crate::action::DETECTOR;
    let result = bounded(name, timeout, cpu, move || {
        crate::action::assess(&policy, &tool, &args, &rationale, &context, &arg_findings, &session)
    })
    .await;
    telemetry::detector_duration(name, started.elapsed());
    result
}

/// Runs one detector over every applicable source on the blocking pool.
async fn run_detector(
    detector: Arc<dyn Detector>,
    scan: Arc<ScanSet>,
    timeout: Duration,
    cpu: &CpuSlots,
) -> Result<Vec<Finding>, Skipped> {
    let name = detector.name();
    let started = Instant::now();
    let result = bounded(name, timeout, cpu, {
        let detector = detector.clone();
        move || {
            let mut out = Vec::new();
            for item in scan.items.iter().filter(|i| detector.applies(scan.surface, &i.source)) {
                let source = item.source.to_string();
                for raw in detector.detect(item, scan.tool.as_deref())? {
                    out.push(Finding {
                        category: raw.category,
                        score: raw.score,
                        detector: detector.name(),
                        source: source.clone(),
                        span: raw.span,
                        message: raw.message,
                        evidence: None,
                    });
                }
            }
            Ok::<_, crate::detect::DetectError>(out)
        }
    })
    .await;
    telemetry::detector_duration(name, started.elapsed());
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_stage_runs_at_once_than_there_are_slots() {
        let cpu = CpuSlots::new(3);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let runs = (0..24).map(|_| {
            let (cpu, running, most) = (cpu.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                bounded("test", Duration::from_secs(30), &cpu, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, std::convert::Infallible>(now)
                })
                .await
            })
        });
        let results = futures_util::future::join_all(runs).await;
        assert_eq!(results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count(), 24, "every run completes");
        let most = most.load(Ordering::SeqCst);
        assert!((1..=3).contains(&most), "{most} runs at once with 3 slots");
    }

    #[tokio::test]
    async fn waiting_for_a_slot_counts_against_the_deadline() {
        let cpu = CpuSlots::new(1);
        let held = cpu.0.clone().acquire_owned().await.unwrap();
        let out = bounded("test", Duration::from_millis(50), &cpu, || Ok::<_, std::convert::Infallible>(()))
            .await
            .unwrap_err();
        assert_eq!(out.reason, SkipReason::Timeout);
        assert_eq!(out.detector, "test");
        drop(held);
        bounded("test", Duration::from_secs(5), &cpu, || Ok::<_, std::convert::Infallible>(())).await.unwrap();
    }
}
