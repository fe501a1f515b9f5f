//! Output checks for `ScoreOutput`: ungrounded claims, system-prompt
//! leakage (reproduced text, confidential values) and canaries, and personal
//! data or secrets the output revealed.
//!
//! They run after the rule detectors and the classifiers. The encoder's
//! sentence embeddings (through the content cache, so documents and system
//! prompts sent again are not re-encoded) give semantic support and
//! paraphrase detection; without the model the checks run on their exact
//! parts (quantities, names, verbatim overlap) and say what they skipped.

pub mod confidential;
pub mod grounding;
pub mod leak;
pub mod quantity;
pub mod text;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::detect::Finding;
use crate::evaluation::{SkipReason, Skipped};
use crate::model::Model;
use crate::request::ScoreRequest;

/// Version of the output checks' logic, reported per detector.
pub const VERSION: &str = "2026.12.05";

/// `[output]` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Strings that must never appear in any output (added to a request's
    /// own `canaries`).
    pub canaries: Vec<String>,
    /// Strings in a system prompt matching this pattern are canaries for
    /// that request's output; empty turns it off.
    pub canary_pattern: String,
    /// Below this cosine similarity to every document passage a claim is
    /// unsupported.
    pub support_similarity: f32,
    /// At or above this similarity an output sentence paraphrases a
    /// system-prompt sentence.
    pub paraphrase_similarity: f32,
    /// Share of the system prompt's sentences reproduced that is a leak.
    pub leak_min_share: f64,
    /// Output sentences checked for grounding, and document sentences they
    /// are checked against, at most; beyond them the check says `partial`.
    pub max_claims: usize,
    pub max_passages: usize,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            canaries: Vec::new(),
            canary_pattern: r"\bWARDEN-CANARY-[A-Za-z0-9]{6,64}\b".into(),
            support_similarity: 0.7,
            paraphrase_similarity: 0.85,
            leak_min_share: 0.3,
            max_claims: 64,
            max_passages: 512,
        }
    }
}

impl OutputConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !self.canary_pattern.is_empty() {
            Regex::new(&self.canary_pattern).map_err(|e| format!("output.canary_pattern: {e}"))?;
        }
        if self.canaries.iter().any(|c| c.trim().chars().count() < 6) {
            return Err("output.canaries: each canary needs at least 6 characters".into());
        }
        for (name, v) in
            [("support_similarity", self.support_similarity), ("paraphrase_similarity", self.paraphrase_similarity)]
        {
            if !(-1.0..=1.0).contains(&v) {
                return Err(format!("output.{name} must be within [-1, 1]"));
            }
        }
        if !(0.0..=1.0).contains(&self.leak_min_share) {
            return Err("output.leak_min_share must be within [0, 1]".into());
        }
        if self.max_claims == 0 || self.max_passages == 0 {
            return Err("output.max_claims and output.max_passages must be at least 1".into());
        }
        Ok(())
    }
}

pub struct OutputChecks {
    config: OutputConfig,
    canary_pattern: Option<Regex>,
}

/// What the output checks add to an evaluation.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub skipped: Vec<Skipped>,
}

impl OutputChecks {
    pub fn new(config: &OutputConfig) -> Result<Self, String> {
        config.validate()?;
        let canary_pattern = (!config.canary_pattern.is_empty())
            .then(|| Regex::new(&config.canary_pattern).map_err(|e| e.to_string()))
            .transpose()?;
        Ok(Self { config: config.clone(), canary_pattern })
    }

    pub fn detector_versions() -> [(&'static str, &'static str); 3] {
        [(grounding::DETECTOR, VERSION), (leak::DETECTOR, VERSION), (leak::DATA_DETECTOR, VERSION)]
    }

    /// Runs the checks on an output request. `findings` are the rule and
    /// model findings so far; personal data and secrets among them are
    /// re-weighted by whether the user gave them. Text work runs on the
    /// blocking pool; only the wait for embeddings is async.
    pub async fn run(
        &self,
        request: &ScoreRequest,
        model: Option<&Arc<Model>>,
        findings: &mut [Finding],
        timeout: Duration,
    ) -> Outcome {
        let ScoreRequest::Output { text, input, system_prompt, documents, canaries, .. } = request else {
            return Outcome::default();
        };
        leak::data_leaks(findings, text, input);
        let job = Arc::new(Job {
            text: text.clone(),
            input: input.clone(),
            system_prompt: system_prompt.clone(),
            documents: documents.iter().map(|d| (format!("document:{}", d.id), d.text.clone())).collect(),
            canaries: canaries.iter().chain(&self.config.canaries).cloned().collect(),
            config: self.config.clone(),
            canary_pattern: self.canary_pattern.clone(),
        });
        let failed = |reason, message: String| Outcome {
            findings: Vec::new(),
            skipped: vec![Skipped { detector: grounding::DETECTOR.into(), reason, message }],
        };
        let j = job.clone();
        let texts = match tokio::task::spawn_blocking(move || j.texts_to_embed()).await {
            Ok(t) => t,
            Err(e) => return failed(SkipReason::Failed, format!("output checks panicked: {e}")),
        };
        let mut notes = Vec::new();
        let embeddings = match model {
            Some(m) if !texts.is_empty() => match tokio::time::timeout(timeout, m.embed(texts.clone())).await {
                Ok(Ok(e)) => Some(texts.into_iter().zip(e).collect::<HashMap<String, Vec<f32>>>()),
                Ok(Err(e)) => {
                    notes.push((SkipReason::Failed, e));
                    None
                }
                Err(_) => {
                    notes.push((
                        SkipReason::Timeout,
                        format!("sentence embeddings not ready within {} ms", timeout.as_millis()),
                    ));
                    None
                }
            },
            Some(_) => None,
            None => {
                notes.push((SkipReason::Disabled, "the encoder is not loaded".into()));
                None
            }
        };
        let j = job.clone();
        match tokio::task::spawn_blocking(move || j.analyse(embeddings.as_ref(), &notes)).await {
            Ok(out) => out,
            Err(e) => failed(SkipReason::Failed, format!("output checks panicked: {e}")),
        }
    }
}

/// One output request's checks, owned so they can run on the blocking pool.
struct Job {
    text: String,
    input: String,
    system_prompt: String,
    documents: Vec<(String, String)>,
    canaries: Vec<String>,
    config: OutputConfig,
    canary_pattern: Option<Regex>,
}

/// The sentences the paraphrase check compares, and how many there were
/// before the caps.
struct LeakSentences<'a> {
    output: Vec<text::Sentence<'a>>,
    prompt: Vec<text::Sentence<'a>>,
    totals: (usize, usize),
}

impl Job {
    fn docs(&self) -> Vec<(String, &str)> {
        self.documents.iter().map(|(s, t)| (s.clone(), t.as_str())).collect()
    }

    /// The distinct sentences whose embeddings the checks use.
    fn texts_to_embed(&self) -> Vec<String> {
        let docs = self.docs();
        let mut texts: Vec<&str> = Vec::new();
        if !docs.is_empty() {
            let mut claims = grounding::claims(&self.text).claims;
            claims.truncate(self.config.max_claims);
            let mut passages = grounding::passages(&docs);
            passages.truncate(self.config.max_passages);
            texts.extend(claims.iter().map(|c| c.text));
            texts.extend(passages.iter().map(|p| p.text));
        }
        if !self.system_prompt.trim().is_empty() {
            let l = self.leak_sentences();
            texts.extend(l.output.iter().map(|s| s.text));
            texts.extend(l.prompt.iter().map(|s| s.text));
        }
        texts.sort_unstable();
        texts.dedup();
        texts.into_iter().map(str::to_string).collect()
    }

    /// The sentences the paraphrase check compares: at most
    /// `output.max_claims` of the output and `output.max_passages` of the
    /// system prompt (a long streamed output does not re-encode without
    /// bound).
    fn leak_sentences(&self) -> LeakSentences<'_> {
        let mut output = text::sentences(&self.text);
        let mut prompt = text::sentences(&self.system_prompt);
        let totals = (output.len(), prompt.len());
        output.truncate(self.config.max_claims);
        prompt.truncate(self.config.max_passages);
        LeakSentences { output, prompt, totals }
    }

    /// `problems`: why embeddings are missing, if they are.
    fn analyse(&self, embeddings: Option<&HashMap<String, Vec<f32>>>, problems: &[(SkipReason, String)]) -> Outcome {
        let mut out = Outcome::default();
        let mut canaries = self.canaries.clone();
        if let Some(p) = &self.canary_pattern {
            canaries.extend(p.find_iter(&self.system_prompt).map(|m| m.as_str().to_string()));
        }
        canaries.sort();
        canaries.dedup();
        out.findings.extend(leak::canaries(&self.text, &canaries));

        let docs = self.docs();
        let mut claims = grounding::claims(&self.text);
        let mut passages = grounding::passages(&docs);
        let has_prompt = !self.system_prompt.trim().is_empty();
        if docs.is_empty() {
            out.skipped.push(Skipped {
                detector: grounding::DETECTOR.into(),
                reason: SkipReason::NotApplicable,
                message: "no documents were supplied: grounding not checked".into(),
            });
        } else if claims.claims.len() > self.config.max_claims || passages.len() > self.config.max_passages {
            out.skipped.push(Skipped {
                detector: grounding::DETECTOR.into(),
                reason: SkipReason::Partial,
                message: format!(
                    "checked the first {} of {} claims against the first {} of {} document sentences \
                     (output.max_claims, output.max_passages)",
                    claims.claims.len().min(self.config.max_claims),
                    claims.claims.len(),
                    passages.len().min(self.config.max_passages),
                    passages.len()
                ),
            });
            claims.claims.truncate(self.config.max_claims);
            passages.truncate(self.config.max_passages);
        }
        for (reason, why) in problems {
            for (detector, what, applies) in [
                (grounding::DETECTOR, "semantic support", !docs.is_empty()),
                (leak::DETECTOR, "paraphrases of the system prompt", has_prompt),
            ] {
                if applies {
                    out.skipped.push(Skipped {
                        detector: detector.into(),
                        reason: *reason,
                        message: format!("{what} not checked ({why}); the exact checks ran"),
                    });
                }
            }
        }

        let lookup = |t: &str| embeddings.and_then(|e| e.get(t).cloned());
        let all = |v: Vec<Option<Vec<f32>>>| v.into_iter().collect::<Option<Vec<Vec<f32>>>>();
        let LeakSentences { output: output_sentences, prompt: prompt_sentences, totals: (all_out, all_prompt) } =
            self.leak_sentences();
        if has_prompt && (all_out > output_sentences.len() || all_prompt > prompt_sentences.len()) {
            out.skipped.push(Skipped {
                detector: leak::DETECTOR.into(),
                reason: SkipReason::Partial,
                message: format!(
                    "paraphrases checked for the first {} of {} output sentences against the first {} of {} \
                         system-prompt sentences (output.max_claims, output.max_passages); verbatim runs checked \
                         in full",
                    output_sentences.len(),
                    all_out,
                    prompt_sentences.len(),
                    all_prompt
                ),
            });
        }

        if !docs.is_empty() {
            let claim_emb = all(claims.claims.iter().map(|c| lookup(c.text)).collect());
            let passage_emb = all(passages.iter().map(|p| lookup(p.text)).collect());
            out.findings.extend(grounding::check(&grounding::Check {
                claims: &claims,
                claim_embeddings: claim_emb.as_deref(),
                passages: &passages,
                passage_embeddings: passage_emb.as_deref(),
                documents: &docs,
                context: grounding::Context { input: &self.input, system_prompt: &self.system_prompt },
                min_similarity: self.config.support_similarity,
            }));
        }
        if has_prompt {
            let out_emb = all(output_sentences.iter().map(|s| lookup(s.text)).collect());
            let prompt_emb = all(prompt_sentences.iter().map(|s| lookup(s.text)).collect());
            let pair = match (&prompt_emb, &out_emb) {
                (Some(p), Some(o)) => Some((p.as_slice(), o.as_slice())),
                _ => None,
            };
            let r = leak::reproduction(
                &self.text,
                &self.system_prompt,
                &prompt_sentences,
                &output_sentences,
                pair,
                self.config.paraphrase_similarity,
            );
            let t = leak::Thresholds { min_share: self.config.leak_min_share };
            out.findings.extend(leak::leak_finding(&r, &t));
            self.confidential_values(&mut out);
        }
        out
    }

    /// Confidential values of the system prompt in the output. A value
    /// inside a canary the output repeats is already reported there.
    fn confidential_values(&self, out: &mut Outcome) {
        let (values, total) = confidential::values(&self.system_prompt);
        if total > values.len() {
            out.skipped.push(Skipped {
                detector: leak::DETECTOR.into(),
                reason: SkipReason::Partial,
                message: format!(
                    "checked {} of the {} values the system prompt holds (marked confidential ones first)",
                    values.len(),
                    total
                ),
            });
        }
        let canary_spans: Vec<_> =
            out.findings.iter().filter(|f| f.category == "system_prompt_leak.canary").map(|f| f.span.clone()).collect();
        out.findings.extend(
            confidential::leaks(&values, &self.system_prompt, &self.text, &self.input)
                .into_iter()
                .filter(|f| !canary_spans.iter().any(|c| c.start < f.span.end && f.span.start < c.end)),
        );
    }
}
