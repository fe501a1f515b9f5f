//! Custom content policies (`policy.<name>` findings): the operator's own
//! rules for inputs and outputs, per tenant and application.
//!
//! A policy file (`content_policy_file`, TOML) holds `[[policy]]` tables:
//!
//! ```toml
//! [[policy]]
//! name = "no_investment_advice"      # finding category policy.no_investment_advice
//! surfaces = ["output"]               # input, output (default: both)
//! tenants = ["acme"]                  # default: every tenant
//! applications = ["support-bot"]      # default: every application
//! score = 0.8                         # the finding's score (default 0.8)
//! phrases = ["guaranteed returns"]    # case-insensitive, whole words, any spacing
//! patterns = ['(?i)\bbuy\s+\w+\s+shares\s+now\b']
//! names = ["Globex", "Initech"]       # competitor or product names, whole words
//! languages = ["eng", "deu"]          # allowed languages (ISO 639-3)
//! [policy.topic]                      # semantic: a description and/or examples
//! description = "individual investment advice: which stocks or funds a person should buy"
//! examples = ["You should buy Tesla shares now", "Put your savings into Bitcoin"]
//! threshold = 0.6                     # cosine similarity of a sentence to the closest one
//! ```
//!
//! The file is validated at start-up (a bad one stops Warden with one line),
//! its SHA-256 goes into `policy_version`, and topic descriptions and
//! examples are encoded once, at load.

use std::ops::Range;
use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::detect::{Finding, Surface};
use crate::model::Model;
use crate::output::text;
use crate::request::Context;

pub const DETECTOR: &str = "content_policy";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    policy: Vec<PolicySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySpec {
    name: String,
    #[serde(default)]
    surfaces: Vec<Surface>,
    #[serde(default)]
    tenants: Vec<String>,
    #[serde(default)]
    applications: Vec<String>,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    phrases: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default)]
    topic: Option<TopicSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicSpec {
    #[serde(default)]
    description: String,
    #[serde(default)]
    examples: Vec<String>,
    threshold: f32,
}

struct Topic {
    texts: Vec<String>,
    embeddings: Vec<Vec<f32>>,
    threshold: f32,
}

struct Policy {
    name: String,
    surfaces: Vec<Surface>,
    tenants: Vec<String>,
    applications: Vec<String>,
    score: f64,
    /// Phrases and names as one case-insensitive regex each, with what it was.
    literals: Vec<(Regex, String)>,
    patterns: Vec<(Regex, String)>,
    languages: Vec<whatlang::Lang>,
    topic: Option<Topic>,
}

/// The loaded content policies.
pub struct ContentPolicies {
    policies: Vec<Policy>,
    version: String,
    model: Option<Arc<Model>>,
}

impl ContentPolicies {
    /// No policies.
    pub fn none() -> Self {
        Self { policies: Vec::new(), version: String::new(), model: None }
    }

    /// Parses and checks a policy file; encodes topic examples with `model`.
    /// Topic policies need the model: without it they are refused at load.
    pub fn load(source: &str, model: Option<Arc<Model>>) -> Result<Self, String> {
        let file: File = toml::from_str(source).map_err(|e| e.to_string().replace('\n', " "))?;
        let mut policies = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for spec in file.policy {
            let name = spec.name.clone();
            let err = |m: String| format!("policy {name:?}: {m}");
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                return Err(err("name must be lower-case letters, digits and _".into()));
            }
            if !seen.insert(name.clone()) {
                return Err(err("defined twice".into()));
            }
            if spec.surfaces.contains(&Surface::Action) {
                return Err(err("surfaces may be input and output".into()));
            }
            let score = spec.score.unwrap_or(0.8);
            if !(0.0..=1.0).contains(&score) {
                return Err(err("score must be within [0, 1]".into()));
            }
            let mut literals = Vec::new();
            for p in spec.phrases.iter().chain(&spec.names) {
                let words: Vec<String> = p.split_whitespace().map(regex::escape).collect();
                if words.is_empty() {
                    return Err(err("empty phrase or name".into()));
                }
                let re = Regex::new(&format!(r"(?i)\b{}\b", words.join(r"\s+"))).map_err(|e| err(e.to_string()))?;
                literals.push((re, p.clone()));
            }
            let mut patterns = Vec::new();
            for p in &spec.patterns {
                let re = Regex::new(p).map_err(|e| err(format!("pattern {p:?}: {e}")))?;
                if re.is_match("") {
                    return Err(err(format!("pattern {p:?} matches the empty string")));
                }
                patterns.push((re, p.clone()));
            }
            let mut languages = Vec::new();
            for code in &spec.languages {
                languages.push(
                    whatlang::Lang::from_code(code)
                        .ok_or_else(|| err(format!("unknown language {code:?} (use ISO 639-3, e.g. eng, deu)")))?,
                );
            }
            let topic = match spec.topic {
                None => None,
                Some(t) => {
                    if !(0.0..=1.0).contains(&t.threshold) {
                        return Err(err("topic.threshold must be within [0, 1]".into()));
                    }
                    let texts: Vec<String> = std::iter::once(t.description)
                        .filter(|d| !d.trim().is_empty())
                        .chain(t.examples.into_iter().filter(|e| !e.trim().is_empty()))
                        .collect();
                    if texts.is_empty() {
                        return Err(err("topic needs a description or examples".into()));
                    }
                    let model =
                        model.as_ref().ok_or_else(|| err("topic policies need the model (model.enabled)".into()))?;
                    let embeddings = model.embed_blocking(texts.clone()).map_err(&err)?;
                    Some(Topic { texts, embeddings, threshold: t.threshold })
                }
            };
            if literals.is_empty() && patterns.is_empty() && languages.is_empty() && topic.is_none() {
                return Err(err("has no phrases, patterns, names, languages or topic".into()));
            }
            policies.push(Policy {
                name,
                surfaces: if spec.surfaces.is_empty() { vec![Surface::Input, Surface::Output] } else { spec.surfaces },
                tenants: spec.tenants,
                applications: spec.applications,
                score,
                literals,
                patterns,
                languages,
                topic,
            });
        }
        let version = format!("content+sha256:{}", &hex::encode(Sha256::digest(source.as_bytes()))[..12]);
        Ok(Self { policies, version, model })
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// `content+sha256:<12 hex>`, empty with no policies.
    pub fn version(&self) -> &str {
        &self.version
    }

    fn applicable<'a>(&'a self, surface: Surface, ctx: &'a Context) -> impl Iterator<Item = &'a Policy> + 'a {
        self.policies.iter().filter(move |p| {
            p.surfaces.contains(&surface)
                && (p.tenants.is_empty() || p.tenants.contains(&ctx.tenant))
                && (p.applications.is_empty() || p.applications.contains(&ctx.application))
        })
    }

    /// Sentences whose embeddings the topic policies need for this text.
    pub fn needs_embeddings(&self, surface: Surface, ctx: &Context) -> bool {
        self.applicable(surface, ctx).any(|p| p.topic.is_some())
    }

    pub fn model(&self) -> Option<&Arc<Model>> {
        self.model.as_ref()
    }

    /// Checks `text` (the input or the output of `source`). `embeddings`:
    /// one per sentence of `text::sentences(text)`, when topic policies apply.
    pub fn check(
        &self,
        surface: Surface,
        ctx: &Context,
        source: &str,
        body: &str,
        embeddings: Option<&[Vec<f32>]>,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        for p in self.applicable(surface, ctx) {
            let mut push = |span: Range<usize>, message: String, score: f64| {
                out.push(Finding {
                    category: format!("policy.{}", p.name),
                    score,
                    detector: DETECTOR,
                    source: source.to_string(),
                    span,
                    message,
                    evidence: None,
                });
            };
            for (re, what) in &p.literals {
                if let Some(m) = re.find(body) {
                    push(m.range(), format!("{}: mentions {what:?}", p.name), p.score);
                }
            }
            for (re, what) in &p.patterns {
                if let Some(m) = re.find(body) {
                    push(m.range(), format!("{}: matches pattern {what:?}", p.name), p.score);
                }
            }
            if !p.languages.is_empty() && body.chars().filter(|c| c.is_alphabetic()).count() >= 40 {
                if let Some(info) = whatlang::detect(body).filter(|i| i.is_reliable()) {
                    if !p.languages.contains(&info.lang()) {
                        let allowed: Vec<&str> = p.languages.iter().map(|l| l.code()).collect();
                        push(
                            0..body.len(),
                            format!("{}: written in {}, allowed: {}", p.name, info.lang().code(), allowed.join(", ")),
                            p.score,
                        );
                    }
                }
            }
            if let (Some(topic), Some(emb)) = (&p.topic, embeddings) {
                let sentences = text::sentences(body);
                let best = sentences
                    .iter()
                    .zip(emb)
                    .flat_map(|(s, e)| {
                        topic.embeddings.iter().enumerate().map(move |(k, t)| (s, k, text::cosine(e, t)))
                    })
                    .max_by(|a, b| a.2.total_cmp(&b.2));
                if let Some((s, k, sim)) = best.filter(|b| b.2 >= topic.threshold) {
                    let example: String = topic.texts[k].chars().take(80).collect();
                    push(
                        s.span.clone(),
                        format!("{}: on a banned topic (similarity {sim:.2} to {example:?})", p.name),
                        p.score.max(f64::from(sim)).min(1.0),
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(tenant: &str, app: &str) -> Context {
        Context { tenant: tenant.into(), application: app.into(), ..Default::default() }
    }

    const FILE: &str = r#"
[[policy]]
name = "competitors"
names = ["Globex", "Initech Bank"]
tenants = ["acme"]

[[policy]]
name = "no_guarantees"
surfaces = ["output"]
phrases = ["guaranteed returns"]
patterns = ['(?i)\b100\s*%\s+safe\b']

[[policy]]
name = "english_only"
applications = ["support-bot"]
languages = ["eng"]
"#;

    #[test]
    fn phrases_names_patterns_languages_and_scope() {
        let p = ContentPolicies::load(FILE, None).unwrap();
        assert!(p.version().starts_with("content+sha256:"));
        let c = ctx("acme", "support-bot");
        let f = p.check(Surface::Output, &c, "output", "Unlike GLOBEX, we offer guaranteed   returns.", None);
        let cats: Vec<&str> = f.iter().map(|f| f.category.as_str()).collect();
        assert_eq!(cats, ["policy.competitors", "policy.no_guarantees"]);
        assert_eq!(f[0].span, 7..13);
        // Scope: another tenant, and the input surface for an output-only policy.
        assert!(p.check(Surface::Output, &ctx("other", "x"), "output", "Globex is fine here.", None).is_empty());
        assert!(p.check(Surface::Input, &c, "input", "Are returns guaranteed returns?", None).is_empty());
        assert_eq!(p.check(Surface::Output, &c, "output", "It is 100 % safe.", None).len(), 1);
        let german = "Wir bieten Ihnen einen Kredit mit einer Laufzeit von zwei Jahren und einem festen Zinssatz an.";
        let f = p.check(Surface::Output, &c, "output", german, None);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("deu"), "{}", f[0].message);
        assert!(p
            .check(
                Surface::Output,
                &c,
                "output",
                "We offer you a loan over two years at a fixed rate of interest.",
                None
            )
            .is_empty());
    }

    #[test]
    fn bad_files_are_refused_with_the_policy_named() {
        for (file, needle) in [
            ("[[policy]]\nname = \"Bad Name\"\nphrases = [\"x\"]", "name must be"),
            ("[[policy]]\nname = \"a\"\npatterns = [\"(\"]", "pattern"),
            ("[[policy]]\nname = \"a\"\nlanguages = [\"klingon\"]", "unknown language"),
            ("[[policy]]\nname = \"a\"", "has no phrases"),
            ("[[policy]]\nname = \"a\"\nphrases = [\"x\"]\n[[policy]]\nname = \"a\"\nphrases = [\"y\"]", "twice"),
            ("[[policy]]\nname = \"a\"\n[policy.topic]\nexamples = [\"x\"]\nthreshold = 0.5", "need the model"),
            ("[[policy]]\nname = \"a\"\nphrase = [\"x\"]", "unknown field"),
        ] {
            let e = ContentPolicies::load(file, None).err().expect(file);
            assert!(e.contains(needle), "{file}: {e}");
        }
    }
}
