//! The model stage of the pipeline: which texts the classifiers read, the
//! cascade behind the rule stage, and findings from the heads.
//!
//! What each head reads:
//!
//! | surface | source | heads |
//! |---|---|---|
//! | input | `input` | prompt injection, toxicity, topics |
//! | input | `document:<id>` | prompt injection (indirect) |
//! | output | `output`, sentence by sentence | toxicity |
//!
//! System prompts are the operator's own text and are not classified; tool
//! arguments are judged by the action policy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::detect::{Finding, ScanItem, ScanSet, Source, Surface};
use crate::model::{Model, TextScores, WindowScores, DETECTOR};
use crate::telemetry;

use super::{SkipReason, Skipped};

/// Whether and how a pipeline runs the classifiers.
#[derive(Clone, Default)]
pub enum ModelStage {
    /// This pipeline has no model stage at all (embedded uses, benchmarks of
    /// the rules alone); nothing is reported.
    #[default]
    Absent,
    /// The model is configured off or failed to load with
    /// `model.allow_rules_only`: every assessment lists it as skipped.
    Disabled {
        reason: String,
    },
    Ready {
        model: Arc<Model>,
        cascade: Option<f64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Heads {
    injection: bool,
    toxicity: bool,
    topics: bool,
}

fn heads(surface: Surface, source: &Source) -> Option<Heads> {
    match (surface, source) {
        (Surface::Input, Source::Input) => Some(Heads { injection: true, toxicity: true, topics: true }),
        (Surface::Input, Source::Document { .. }) => Some(Heads { injection: true, toxicity: false, topics: false }),
        (Surface::Output, Source::Output) => Some(Heads { injection: false, toxicity: true, topics: false }),
        _ => None,
    }
}

/// Each text as (byte offset, segment) pairs: sentences for an output, the
/// whole text otherwise, and also for an output of more sentences than the
/// window budget (its windows cover it at a fraction of the cost).
fn segment(texts: Vec<(String, bool)>, max_sentences: usize) -> Vec<Vec<(usize, String)>> {
    texts
        .into_iter()
        .map(|(t, by_sentence)| {
            let sentences = if by_sentence { crate::output::text::sentences(&t) } else { Vec::new() };
            if sentences.is_empty() || sentences.len() > max_sentences {
                vec![(0, t)]
            } else {
                sentences.iter().map(|s| (s.span.start, s.text.to_string())).collect()
            }
        })
        .collect()
}

/// Joins segment scores back into one result per text, spans in the text.
fn regroup(segments: &[Vec<(usize, String)>], scores: Vec<Arc<TextScores>>) -> Vec<TextScores> {
    let mut scores = scores.into_iter();
    segments
        .iter()
        .map(|segs| {
            let mut merged = TextScores { windows: Vec::new(), unscored_windows: 0 };
            for (offset, _) in segs {
                let Some(s) = scores.next() else { break };
                merged.windows.extend(s.windows.iter().map(|w| WindowScores {
                    span: w.span.start + offset..w.span.end + offset,
                    heads: w.heads.clone(),
                }));
                merged.unscored_windows += s.unscored_windows;
            }
            merged
        })
        .collect()
}

/// What the model stage adds to an evaluation.
#[derive(Debug, Default)]
pub struct StageOutcome {
    pub findings: Vec<Finding>,
    pub skipped: Vec<Skipped>,
    /// (name, version) when the encoder ran for at least one text.
    pub ran: Option<(String, String)>,
    /// Human-readable notes for the assessment's reasons (cascade).
    pub notes: Vec<String>,
}

/// Runs the model stage. `rule_findings` are what the rule detectors found
/// in this request, for the cascade.
pub async fn run(stage: &ModelStage, scan: &ScanSet, rule_findings: &[Finding], timeout: Duration) -> StageOutcome {
    let mut outcome = StageOutcome::default();
    let (model, cascade) = match stage {
        ModelStage::Absent => return outcome,
        ModelStage::Disabled { reason } => {
            if scan.items.iter().any(|i| heads(scan.surface, &i.source).is_some()) {
                telemetry::detector_skipped(DETECTOR, SkipReason::Disabled.as_str());
                outcome.skipped.push(Skipped {
                    detector: DETECTOR.to_string(),
                    reason: SkipReason::Disabled,
                    message: reason.clone(),
                });
            }
            return outcome;
        }
        ModelStage::Ready { model, cascade } => (model, *cascade),
    };

    let mut work: Vec<(&ScanItem, Heads)> = Vec::new();
    for item in &scan.items {
        let Some(h) = heads(scan.surface, &item.source) else { continue };
        let source = item.source.to_string();
        let decided = cascade.and_then(|min| {
            rule_findings
                .iter()
                .filter(|f| f.source == source && (f.category == "prompt_injection" || f.category == "jailbreak"))
                .filter(|f| f.score >= min)
                .max_by(|a, b| a.score.total_cmp(&b.score))
        });
        if let Some(f) = decided {
            telemetry::model_cascade("rules_decided");
            outcome.notes.push(format!(
                "{DETECTOR} not run on {source}: the rules found {} at {:.2} (cascade)",
                f.category, f.score
            ));
            continue;
        }
        telemetry::model_cascade("model");
        work.push((item, h));
    }
    if work.is_empty() {
        return outcome;
    }

    let started = Instant::now();
    // An output is scored sentence by sentence: its toxicity points at a
    // sentence, and the output checks find the same sentences in the cache.
    // Other texts are scored whole (windowed).
    let whole: Vec<(String, bool)> = work.iter().map(|(i, _)| (i.text.clone(), i.source == Source::Output)).collect();
    let limit = model.max_windows();
    let segments = match tokio::task::spawn_blocking(move || segment(whole, limit)).await {
        Ok(s) => s,
        Err(e) => {
            outcome.skipped.push(Skipped {
                detector: DETECTOR.into(),
                reason: SkipReason::Failed,
                message: format!("sentence split panicked: {e}"),
            });
            return outcome;
        }
    };
    let flat: Vec<String> = segments.iter().flatten().map(|(_, t)| t.clone()).collect();
    let scored = tokio::time::timeout(timeout, model.score(flat)).await;
    telemetry::detector_duration(DETECTOR, started.elapsed());
    let scores = match scored {
        Ok(Ok(s)) => regroup(&segments, s),
        Ok(Err(e)) => {
            telemetry::detector_skipped(DETECTOR, SkipReason::Failed.as_str());
            outcome.skipped.push(Skipped { detector: DETECTOR.into(), reason: SkipReason::Failed, message: e });
            return outcome;
        }
        Err(_) => {
            telemetry::detector_skipped(DETECTOR, SkipReason::Timeout.as_str());
            outcome.skipped.push(Skipped {
                detector: DETECTOR.into(),
                reason: SkipReason::Timeout,
                message: format!("no result within {} ms", timeout.as_millis()),
            });
            return outcome;
        }
    };
    outcome.ran = Some((model.name().to_string(), model.version().to_string()));

    let th = model.thresholds();
    for ((item, h), s) in work.iter().zip(scores) {
        let source = item.source.to_string();
        let mut push = |category: String, (score, span): (f32, std::ops::Range<usize>), what: &str| {
            outcome.findings.push(Finding {
                category,
                score: f64::from(score),
                detector: DETECTOR,
                source: source.clone(),
                message: format!("classifier: {what} (p={score:.2}, bytes {}..{})", span.start, span.end),
                span,
                evidence: None,
            });
        };
        if h.injection {
            if let Some(best) = s.max_by(|o| o.injection).filter(|b| b.0 >= th.injection.flag) {
                push("prompt_injection".into(), best, "prompt injection or jailbreak");
            }
        }
        if h.toxicity {
            if let Some(best) = s.max_by(|o| o.toxicity).filter(|b| b.0 >= th.toxicity.flag) {
                push("toxicity".into(), best, "toxic or abusive language");
            }
        }
        if h.topics {
            for label in model.topic_labels() {
                let (Some(i), Some(&t)) = (model.topic_index(label), th.topic.get(label)) else { continue };
                if let Some(best) = s.max_by(|o| o.topic[i]).filter(|b| b.0 >= t) {
                    push(format!("topic.{label}"), best, &format!("{label} topic"));
                }
            }
        }
        if s.unscored_windows > 0 {
            let read_to = s.windows.last().map_or(0, |w| w.span.end);
            telemetry::detector_skipped(DETECTOR, SkipReason::Partial.as_str());
            outcome.skipped.push(Skipped {
                detector: DETECTOR.into(),
                reason: SkipReason::Partial,
                message: format!(
                    "{source}: the model read {} windows (bytes 0..{read_to}) and not the {} after them \
                     (model.max_windows per request)",
                    s.windows.len(),
                    s.unscored_windows
                ),
            });
        }
    }
    outcome
}
