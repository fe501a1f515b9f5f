//! The scoring pipeline: run every applicable detector over every source of a
//! request, attribute findings to their source, and let the policy decide.
//!
//! Detectors are CPU work, so each runs on the blocking pool, never on an
//! async worker, with a deadline. A detector that fails, panics or misses its
//! deadline is reported as skipped, and the policy decides whether that fails
//! open or closed; it is never counted as a clean pass.

pub mod model;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

    pub async fn evaluate(&self, request: &ScoreRequest, session: &SessionView) -> Evaluation {
        let scan = Arc::new(request.scan_set());
        let runs = self.detectors.iter().map(|d| run_detector(d.clone(), scan.clone(), self.detector_timeout));
        let results = futures_util::future::join_all(runs).await;

        let mut findings = Vec::new();
        let mut skipped: Vec<Skipped> = Vec::new();
        for (detector, result) in self.detectors.iter().zip(results) {
            match result {
                Ok(mut f) => findings.append(&mut f),
                Err(s) => {
                    telemetry::detector_skipped(detector.name(), s.reason.as_str());
                    skipped.push(s);
                }
            }
        }
        let anchors = model::Anchors::of(&self.policy);
        let staged = model::run(&self.model, &scan, &findings, self.detector_timeout, anchors).await;
        findings.extend(staged.findings);
        skipped.extend(staged.skipped);
        if let (Some(checks), ScoreRequest::Output { .. }) = (&self.output, request) {
            let model = match &self.model {
                ModelStage::Ready { model, .. } => Some(model),
                _ => None,
            };
            let started = Instant::now();
            let checked = checks.run(request, model, &mut findings, self.detector_timeout).await;
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
            findings.extend(checked.findings);
            skipped.extend(checked.skipped);
        }
        if !self.content.is_empty() && scan.surface != crate::detect::Surface::Action {
            match run_content_policies(self.content.clone(), request, self.detector_timeout).await {
                Ok(mut f) => findings.append(&mut f),
                Err(s) => {
                    telemetry::detector_skipped(crate::content::DETECTOR, s.reason.as_str());
                    skipped.push(s);
                }
            }
        }
        for f in &findings {
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
        let action_policy = self.action_policy.current();
        let mut escalations = Vec::new();
        let mut effects = Vec::new();
        let mut policy_findings = Vec::new();
        if let ScoreRequest::Action { .. } = request {
            match run_action_policy(action_policy.clone(), request, &findings, session, self.detector_timeout).await {
                Ok(out) => {
                    for f in out.findings {
                        let score = crate::action::level_score(f.level);
                        escalations.push(Escalation {
                            level: f.level,
                            score,
                            reason: format!("{} ({}, {}): {}", f.category, f.level.as_str(), f.id, f.message),
                            checks: f.checks,
                        });
                        telemetry::finding(&f.category);
                        policy_findings.push(Finding {
                            category: f.category,
                            score,
                            detector: crate::action::DETECTOR,
                            source: Source::Action.to_string(),
                            span: 0..0,
                            message: f.message,
                            evidence: None,
                        });
                    }
                    effects = out.effects;
                }
                Err(s) => {
                    telemetry::detector_skipped(crate::action::DETECTOR, s.reason.as_str());
                    skipped.push(s);
                }
            }
        }
        let skipped_names: Vec<String> =
            skipped.iter().filter(|s| s.reason != SkipReason::NotApplicable).map(|s| s.detector.clone()).collect();
        let mut verdict = self.policy.decide(
            scan.surface,
            &request.context().application,
            &findings,
            |f| trusted_docs.contains(&f.source),
            &skipped_names,
            &escalations,
        );
        verdict.reasons.extend(staged.notes);
        findings.extend(policy_findings);
        let mut detector_versions: BTreeMap<String, String> =
            self.detectors.iter().map(|d| (d.name().to_string(), d.version().to_string())).collect();
        if scan.surface == crate::detect::Surface::Output && self.output.is_some() {
            for (name, version) in crate::output::OutputChecks::detector_versions() {
                detector_versions.insert(name.to_string(), version.to_string());
            }
        }
        if scan.surface == crate::detect::Surface::Action {
            detector_versions.insert(crate::action::DETECTOR.to_string(), action_policy.version().to_string());
        } else if !self.content.is_empty() {
            detector_versions.insert(crate::content::DETECTOR.to_string(), self.content.version().to_string());
        }

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
            skipped,
            verdict,
            redacted_text,
            policy_version: if self.content.is_empty() {
                format!("{}; {}", self.policy.version(), action_policy.version())
            } else {
                format!("{}; {}; {}", self.policy.version(), action_policy.version(), self.content.version())
            },
            detector_versions,
            model_versions: staged.ran.into_iter().collect(),
            effects,
        }
    }
}

/// Runs the content policies over the request's main text: sentence
/// embeddings first when a topic policy applies, the rest on the blocking pool.
async fn run_content_policies(
    policies: Arc<crate::content::ContentPolicies>,
    request: &ScoreRequest,
    timeout: Duration,
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
    let result = bounded(name, timeout, move || {
        Ok::<_, std::convert::Infallible>(policies.check(surface, &ctx, &source, &body, embeddings.as_deref()))
    })
    .await;
    telemetry::detector_duration(name, started.elapsed());
    result
}

/// Runs `work` on the blocking pool as the stage `name`, within `timeout`:
/// a timeout, a panic or an error is a [`Skipped`] naming the stage, never a
/// pass. Every stage that leaves the async workers goes through here.
async fn bounded<T, E>(
    name: &'static str,
    timeout: Duration,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, Skipped>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let skipped = |reason, message: String| Skipped { detector: name.to_string(), reason, message };
    match tokio::time::timeout(timeout, tokio::task::spawn_blocking(work)).await {
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
) -> Result<crate::action::PolicyOutput, Skipped> {
    let ScoreRequest::Action { context, tool, arguments_json, rationale } = request else {
        return Ok(Default::default());
    };
    let started = Instant::now();
    let (context, tool, args, rationale) = (context.clone(), tool.clone(), arguments_json.clone(), rationale.clone());
    let arg_findings: Vec<Finding> = findings.iter().filter(|f| f.source == "action").cloned().collect();
    let session = session.clone();
    let name = crate::action::DETECTOR;
    let result = bounded(name, timeout, move || {
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
) -> Result<Vec<Finding>, Skipped> {
    let name = detector.name();
    let started = Instant::now();
    let result = bounded(name, timeout, {
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
