//! The model stage of the pipeline: which texts the classifiers read, the
//! cascade behind the rule stage, and findings from the heads.
//!
//! What each head reads:
//!
//! | surface | source | heads |
//! |---|---|---|
//! | input | `input` | injection (user input), toxicity, topics, entities |
//! | input | `document:<id>` | document (indirect injection; the injection head for a model without one), entities |
//! | input | `system_prompt` | none |
//! | output | `output`, sentence by sentence | toxicity, entities |
//!
//! Both injection-like heads report `prompt_injection`; the message names
//! the head. The entity head (when the model has one) reports `pii.person`,
//! `pii.location`, `pii.address` and `pii.organization` spans; one inside a
//! rule detector's personal-data finding adds nothing and is left out.
//! System prompts are the operator's own text and are not classified (the
//! rule detectors still scan them); tool arguments are judged by the action
//! policy.
//!
//! The cascade skips the encoder for a text the injection rules already
//! decided, unless the model has an entity head: then the text is still
//! encoded, for its entities alone.
//!
//! A finding's score is the head's probability, or, when the manifest gives
//! the head a `high` operating point, a calibration of it that lands the
//! manifest's two thresholds on the policy's levels ([`calibrated_score`], [`Anchors`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::detect::{Finding, ScanItem, ScanSet, Source, Surface};
use crate::model::{Entity, InjectionThresholds, Model, TextScores, WindowScores, DETECTOR};
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
    /// Which injection-like head reads this source, if any.
    injection: Option<InjectionHead>,
    toxicity: bool,
    topics: bool,
    /// Names, places, addresses and organisations (a model with an entity
    /// head).
    entities: bool,
}

/// The head that judges a source for `prompt_injection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InjectionHead {
    /// The user tries to override the system's instructions or jailbreak.
    UserInput,
    /// Retrieved data holds instructions addressed to the assistant.
    Document,
}

fn heads(surface: Surface, source: &Source) -> Option<Heads> {
    match (surface, source) {
        (Surface::Input, Source::Input) => {
            Some(Heads { injection: Some(InjectionHead::UserInput), toxicity: true, topics: true, entities: true })
        }
        (Surface::Input, Source::Document { .. }) => {
            Some(Heads { injection: Some(InjectionHead::Document), toxicity: false, topics: false, entities: true })
        }
        (Surface::Output, Source::Output) => {
            Some(Heads { injection: None, toxicity: true, topics: false, entities: true })
        }
        _ => None,
    }
}

/// Where a head's two operating points land on the policy's score scale:
/// `flag` where the policy's `medium` level begins (a review), `high` where
/// its `high` level begins (a human approves). Taken from the policy in
/// force, so that a finding at the head's `high` threshold is the one that
/// needs approval, and one between the thresholds is reviewed (with
/// severity 1, as `prompt_injection` has in the default policy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchors {
    pub flag: f64,
    pub high: f64,
}

impl Anchors {
    /// The anchors of `policy`'s levels.
    pub fn of(policy: &crate::policy::Policy) -> Self {
        use crate::policy::Level;
        Self { flag: policy.level_threshold(Level::Medium), high: policy.level_threshold(Level::High) }
    }
}

/// The finding score for an injection-like head's probability `p`, or `None`
/// below `flag` (no finding).
///
/// Without a `high` threshold (older manifests) the score is `p`.
/// With one, the score is piecewise linear and monotone in `p`: from
/// `anchors.flag` at `flag` up to (not reaching) `anchors.high` just below
/// `high`, then from `anchors.high` at `high` to 1 at `p = 1`. A flag
/// threshold chosen at a low false-positive rate can sit near 0.9; as a raw
/// score, every finding would then need approval.
pub fn calibrated_score(p: f32, th: &InjectionThresholds, anchors: Anchors) -> Option<f64> {
    if p.is_nan() || p < th.flag {
        return None;
    }
    let Some(high) = th.high else { return Some(f64::from(p)) };
    let (p, flag, high) = (f64::from(p), f64::from(th.flag), f64::from(high));
    let score = if p < high {
        // flag <= p < high, so high - flag > 0; the result stays below
        // `anchors.high` (the policy's high level) by construction.
        anchors.flag + (anchors.high - anchors.flag) * (p - flag) / (high - flag)
    } else if high >= 1.0 {
        1.0
    } else {
        anchors.high + (1.0 - anchors.high) * (p - high) / (1.0 - high)
    };
    Some(score.clamp(anchors.flag.min(1.0), 1.0))
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
            let mut merged = TextScores { windows: Vec::new(), unscored_windows: 0, entities: Vec::new() };
            for (offset, _) in segs {
                let Some(s) = scores.next() else { break };
                merged.windows.extend(s.windows.iter().map(|w| WindowScores {
                    span: w.span.start + offset..w.span.end + offset,
                    heads: w.heads.clone(),
                }));
                merged.entities.extend(
                    s.entities.iter().map(|e| Entity { span: e.span.start + offset..e.span.end + offset, ..e.clone() }),
                );
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
pub async fn run(
    stage: &ModelStage,
    scan: &ScanSet,
    rule_findings: &[Finding],
    timeout: Duration,
    anchors: Anchors,
) -> StageOutcome {
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
        // A source read only by a head this model does not have is not encoded.
        let Some(h) = heads(scan.surface, &item.source)
            .filter(|h| h.injection.is_some() || h.toxicity || h.topics || (h.entities && model.has_entity_head()))
        else {
            continue;
        };
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
            if h.entities && model.has_entity_head() {
                // The rules decided injection, not what personal data the
                // text holds: encoded for the entity head alone.
                outcome.notes.push(format!(
                    "{DETECTOR} read {source} for entities only: the rules found {} at {:.2} (cascade)",
                    f.category, f.score
                ));
                work.push((item, Heads { injection: None, toxicity: false, topics: false, entities: true }));
            } else {
                outcome.notes.push(format!(
                    "{DETECTOR} not run on {source}: the rules found {} at {:.2} (cascade)",
                    f.category, f.score
                ));
            }
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
        // `score` is what the policy weighs; the message names the head and
        // keeps its probability, and the calibrated value when it differs.
        let mut push =
            |category: String, score: f64, (p, span): (f32, std::ops::Range<usize>), what: &str, head: &str| {
                let calibrated = if score == f64::from(p) { String::new() } else { format!(", calibrated {score:.2}") };
                outcome.findings.push(Finding {
                    category,
                    score,
                    detector: DETECTOR,
                    source: source.clone(),
                    message: format!(
                        "classifier: {what} ({head}, p={p:.2}{calibrated}, bytes {}..{})",
                        span.start, span.end
                    ),
                    span,
                    evidence: None,
                });
            };
        if let Some(head) = h.injection {
            let (thresholds, best, what, name) = match head {
                InjectionHead::UserInput => {
                    (&th.injection, s.max_by(|o| o.injection), "prompt injection or jailbreak", "injection head")
                }
                InjectionHead::Document if model.has_document_head() => (
                    th.document(),
                    s.max_by(|o| o.document),
                    "instructions addressed to the assistant",
                    "document head",
                ),
                // An older model: its injection head reads documents, at its
                // own thresholds (the manifest has no document ones, checked
                // at load).
                InjectionHead::Document => (
                    &th.injection,
                    s.max_by(|o| o.injection),
                    "prompt injection or jailbreak",
                    "injection head; the model has no document head",
                ),
            };
            if let Some(best) = best {
                if let Some(score) = calibrated_score(best.0, thresholds, anchors) {
                    push("prompt_injection".into(), score, best, what, name);
                }
            }
        }
        if h.toxicity {
            if let Some(best) = s.max_by(|o| o.toxicity).filter(|b| b.0 >= th.toxicity.flag) {
                push("toxicity".into(), f64::from(best.0), best, "toxic or abusive language", "toxicity head");
            }
        }
        if h.topics {
            for label in model.topic_labels() {
                let (Some(i), Some(&t)) = (model.topic_index(label), th.topic.get(label)) else { continue };
                if let Some(best) = s.max_by(|o| o.topic[i]).filter(|b| b.0 >= t) {
                    push(format!("topic.{label}"), f64::from(best.0), best, &format!("{label} topic"), "topic head");
                }
            }
        }
        if h.entities {
            // A rule finding is validated (checksums, formats): a name the
            // head sees inside an e-mail address adds nothing to it.
            let inside_rule = |e: &Entity| {
                rule_findings.iter().any(|f| {
                    f.source == source
                        && f.category.starts_with("pii.")
                        && f.span.start <= e.span.start
                        && e.span.end <= f.span.end
                })
            };
            for e in s.entities.iter().filter(|e| !inside_rule(e)) {
                let what = match e.category {
                    "pii.person" => "a person's name",
                    "pii.location" => "a place",
                    "pii.address" => "a street address",
                    "pii.organization" => "an organisation",
                    _ => "personal data",
                };
                push(e.category.into(), f64::from(e.score), (e.score, e.span.clone()), what, "entity head");
            }
        }
        if s.unscored_windows > 0 {
            let read_to = s.windows.last().map_or(0, |w| w.span.end);
            telemetry::detector_skipped(DETECTOR, SkipReason::Partial.as_str());
            outcome.skipped.push(Skipped {
                detector: DETECTOR.into(),
                reason: SkipReason::Partial,
                message: format!(
                    "{source}: the model read {} windows (bytes 0..{read_to}) and not the {} or so after them \
                     (model.max_windows per request)",
                    s.windows.len(),
                    s.unscored_windows
                ),
            });
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn th(flag: f32, high: Option<f32>) -> InjectionThresholds {
        InjectionThresholds { flag, high, confident_benign: None, flag_fpr: None, high_fpr: None }
    }

    /// The default policy's `medium` and `high` levels.
    const DEFAULT: Anchors = Anchors { flag: 0.40, high: 0.70 };

    #[test]
    fn default_anchors_are_the_default_policys_levels() {
        let policy = crate::policy::Policy::builtin();
        assert_eq!(Anchors::of(&policy), DEFAULT);
    }

    #[test]
    fn calibrated_scores_land_the_thresholds_on_the_policy_levels() {
        let new = th(0.91, Some(0.985));
        let other = Anchors { flag: 0.30, high: 0.80 };
        let table: &[(&InjectionThresholds, Anchors, f32, Option<f64>)] = &[
            // Below flag: no finding, with or without `high`.
            (&new, DEFAULT, 0.0, None),
            (&new, DEFAULT, 0.9099, None),
            (&new, DEFAULT, f32::NAN, None),
            // flag..high: 0.40 (review) up to the high level (approval).
            (&new, DEFAULT, 0.91, Some(0.40)),
            (&new, DEFAULT, 0.9475, Some(0.55)),
            (&new, DEFAULT, 0.98499, Some(0.70)),
            // high..1: 0.70 to 1.
            (&new, DEFAULT, 0.985, Some(0.70)),
            (&new, DEFAULT, 0.9925, Some(0.85)),
            (&new, DEFAULT, 1.0, Some(1.0)),
            // Another policy's levels move the scale with them.
            (&new, other, 0.91, Some(0.30)),
            (&new, other, 0.9475, Some(0.55)),
            (&new, other, 0.985, Some(0.80)),
            (&new, other, 0.9925, Some(0.90)),
            // A manifest without `high`: the probability, as before.
            (&th(0.3461, None), DEFAULT, 0.30, None),
            (&th(0.3461, None), DEFAULT, 0.5, Some(0.5)),
            (&th(0.3461, None), DEFAULT, 0.97, Some(0.97)),
            // Degenerate operating points stay in range.
            (&th(0.9, Some(0.9)), DEFAULT, 0.9, Some(0.70)),
            (&th(0.9, Some(1.0)), DEFAULT, 0.95, Some(0.55)),
            (&th(0.9, Some(1.0)), DEFAULT, 1.0, Some(1.0)),
        ];
        for (thresholds, anchors, p, want) in table {
            let got = calibrated_score(*p, thresholds, *anchors);
            match (got, want) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-3, "p={p} {thresholds:?} {anchors:?}: {g} != {w}"),
                _ => panic!("p={p} {thresholds:?} {anchors:?}: {got:?} != {want:?}"),
            }
        }
    }

    /// Under the default policy a lone finding between the head's two
    /// thresholds is reviewed, and one at `high` or above needs approval
    /// (blocked near certainty):
    /// the head's operating points are the policy's decisions.
    #[test]
    fn the_heads_operating_points_are_the_policys_decisions() {
        use crate::policy::{Decision, Policy};
        let policy = Policy::builtin();
        let t = th(0.4984, Some(0.8309));
        let decide = |p: f32| {
            let score = calibrated_score(p, &t, Anchors::of(&policy)).unwrap();
            let f = Finding {
                category: "prompt_injection".into(),
                score,
                detector: DETECTOR,
                source: "input".into(),
                span: 0..1,
                message: "m".into(),
                evidence: None,
            };
            policy.decide(Surface::Input, "app", &[f], |_| false, &[], &[]).decision
        };
        for p in [0.4984, 0.6, 0.75, 0.8308] {
            assert_eq!(decide(p), Decision::Review, "p={p} between flag and high");
        }
        for p in [0.8309, 0.88, 0.94] {
            assert_eq!(decide(p), Decision::RequireApproval, "p={p} at or above high");
        }
        // Near certainty climbs on to the critical level (0.90 at p = 0.944).
        assert_eq!(decide(0.99), Decision::Block, "p=0.99");
    }

    #[test]
    fn calibration_is_monotone() {
        let t = th(0.80, Some(0.97));
        let scores: Vec<f64> = (0..=1000).filter_map(|i| calibrated_score(i as f32 / 1000.0, &t, DEFAULT)).collect();
        assert_eq!(scores.len(), 201);
        assert!(scores.windows(2).all(|w| w[0] <= w[1]), "monotone");
    }

    #[test]
    fn each_source_is_read_by_its_head() {
        let doc = Source::Document { id: "d".into(), trusted: false };
        let table = [
            (Surface::Input, Source::Input, Some(InjectionHead::UserInput)),
            (Surface::Input, doc.clone(), Some(InjectionHead::Document)),
            (Surface::Output, Source::Output, None),
        ];
        for (surface, source, want) in table {
            assert_eq!(heads(surface, &source).and_then(|h| h.injection), want, "{surface:?} {source}");
        }
        // Entities wherever a person's data may come in or go out.
        for (surface, source) in
            [(Surface::Input, Source::Input), (Surface::Input, doc.clone()), (Surface::Output, Source::Output)]
        {
            assert!(heads(surface, &source).is_some_and(|h| h.entities), "{surface:?} {source}");
        }
        // The prompt that produced an output was read by ScoreInput; on
        // ScoreOutput it is context (the rule detectors skip it too).
        assert_eq!(heads(Surface::Output, &Source::Input), None);
        // The system prompt is the operator's text: no head reads it.
        assert_eq!(heads(Surface::Input, &Source::SystemPrompt), None);
        assert_eq!(heads(Surface::Output, &doc), None);
    }
}
