//! The scoring pipeline: run every applicable detector over every source of a
//! request, attribute findings to their source, and let the policy decide.
//!
//! Detectors are CPU work, so each runs on the blocking pool, never on an
//! async worker, with a deadline. A detector that fails, panics or misses its
//! deadline is reported as skipped, and the policy decides whether that fails
//! open or closed; it is never counted as a clean pass.

pub mod request;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::detect::redact::{is_redacted_category, redact};
use crate::detect::{Detector, Finding, ScanSet, Source};
use crate::policy::{Policy, Verdict};
use crate::telemetry;

pub use request::{Context, DocumentIn, ScoreRequest};

/// Why a detector contributed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    Timeout,
    Failed,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Timeout => "timeout",
            SkipReason::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Skipped {
    pub detector: String,
    pub reason: SkipReason,
    pub message: String,
}

/// Everything the pipeline concluded about one request.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub skipped: Vec<Skipped>,
    pub verdict: Verdict,
    /// The request's main text with personal data and secrets masked.
    pub redacted_text: String,
    pub policy_version: String,
    pub detector_versions: BTreeMap<String, String>,
    pub model_versions: BTreeMap<String, String>,
}

pub struct Pipeline {
    detectors: Vec<Arc<dyn Detector>>,
    policy: Arc<Policy>,
    /// Deadline for one detector over all sources of one request.
    detector_timeout: Duration,
}

impl Pipeline {
    pub fn new(detectors: Vec<Arc<dyn Detector>>, policy: Arc<Policy>, detector_timeout: Duration) -> Self {
        Self { detectors, policy, detector_timeout }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub async fn evaluate(&self, request: &ScoreRequest) -> Evaluation {
        let scan = Arc::new(request.scan_set());
        let runs = self.detectors.iter().map(|d| run_detector(d.clone(), scan.clone(), self.detector_timeout));
        let results = futures_util::future::join_all(runs).await;

        let mut findings = Vec::new();
        let mut skipped = Vec::new();
        for (detector, result) in self.detectors.iter().zip(results) {
            match result {
                Ok(mut f) => findings.append(&mut f),
                Err(s) => {
                    telemetry::detector_skipped(detector.name(), s.reason.as_str());
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
        let skipped_names: Vec<String> = skipped.iter().map(|s| s.detector.clone()).collect();
        let verdict = self.policy.decide(scan.surface, &findings, |f| trusted_docs.contains(&f.source), &skipped_names);

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
            policy_version: self.policy.version().to_string(),
            detector_versions: self.detectors.iter().map(|d| (d.name().to_string(), d.version().to_string())).collect(),
            model_versions: BTreeMap::new(),
        }
    }
}

/// Runs one detector over every applicable source on the blocking pool.
async fn run_detector(
    detector: Arc<dyn Detector>,
    scan: Arc<ScanSet>,
    timeout: Duration,
) -> Result<Vec<Finding>, Skipped> {
    let name = detector.name();
    let started = Instant::now();
    let worker = tokio::task::spawn_blocking({
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
                    });
                }
            }
            Ok::<_, crate::detect::DetectError>(out)
        }
    });
    let skipped = |reason, message: String| Skipped { detector: name.to_string(), reason, message };
    let result = match tokio::time::timeout(timeout, worker).await {
        Err(_) => Err(skipped(SkipReason::Timeout, format!("no result within {} ms", timeout.as_millis()))),
        Ok(Err(join)) => Err(skipped(SkipReason::Failed, format!("detector panicked: {join}"))),
        Ok(Ok(Err(e))) => Err(skipped(SkipReason::Failed, e.to_string())),
        Ok(Ok(Ok(findings))) => Ok(findings),
    };
    telemetry::detector_duration(name, started.elapsed());
    result
}
