//! The risk policy: how findings become a score, a level and a decision.
//!
//! A policy is data (`policy/default.toml` is embedded; operators point
//! `policy_file` at their own), validated when loaded and identified by its
//! name, version and content hash, which go into every assessment and audit
//! record. This module does no I/O: the caller hands it the file's text.
//!
//! Per application (the request's `context.application`) a policy may
//! declare the topic domains it serves (`[applications.<name>]
//! topic_domains`): a bank's support bot talks finance all day, so its
//! `topic.finance` findings are recorded but weigh nothing.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::detect::{Finding, Surface, TOPIC_LABELS};

pub const DEFAULT_POLICY: &str = include_str!("../../policy/default.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Review,
    RequireApproval,
    Block,
}

impl Decision {
    /// The decision named `name` (as [`Decision::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Decision> {
        [Decision::Allow, Decision::Review, Decision::RequireApproval, Decision::Block]
            .into_iter()
            .find(|d| d.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Review => "review",
            Decision::RequireApproval => "require_approval",
            Decision::Block => "block",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy is not valid TOML: {0}")]
    Syntax(String),
    #[error("policy field {field}: {reason}")]
    Invalid { field: String, reason: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    name: String,
    version: String,
    levels: Thresholds,
    decisions: Decisions,
    skipped: Skipped,
    #[serde(default)]
    sources: Sources,
    #[serde(default)]
    categories: BTreeMap<String, CategoryRule>,
    #[serde(default)]
    surfaces: BTreeMap<Surface, SurfaceRules>,
    /// Per application (`context.application`), what is normal for it.
    #[serde(default)]
    applications: BTreeMap<String, ApplicationRules>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationRules {
    /// Topic labels (`finance`, `health`, `legal`) this application serves:
    /// its `topic.<label>` findings are recorded but contribute nothing to
    /// the score or the level.
    #[serde(default)]
    topic_domains: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Thresholds {
    medium: f64,
    high: f64,
    critical: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decisions {
    low: Decision,
    medium: Decision,
    high: Decision,
    critical: Decision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipMode {
    FailOpen,
    FailClosed,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Skipped {
    mode: SkipMode,
    level: Level,
    #[serde(default)]
    checks: Vec<String>,
    /// A higher floor for particular detectors (`action_policy = "high"`:
    /// when the action policy cannot run, a human decides).
    #[serde(default)]
    detectors: BTreeMap<String, Level>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sources {
    trusted_document: f64,
}

impl Default for Sources {
    fn default() -> Self {
        Self { trusted_document: 1.0 }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryRule {
    severity: Option<f64>,
    min_level: Option<Level>,
    min_score: Option<f64>,
    #[serde(default)]
    checks: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SurfaceRules {
    #[serde(default)]
    categories: BTreeMap<String, CategoryRule>,
}

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    file: PolicyFile,
    /// `name@version+sha256:<12 hex>`: names the exact bytes that decided.
    version: String,
}

/// What the policy made of one assessment's findings.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub score: f64,
    pub level: Level,
    pub decision: Decision,
    pub required_checks: Vec<String>,
    pub reasons: Vec<String>,
}

/// A level set directly by a stage that decides in levels (the action
/// policy), on top of what the findings' scores say.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub level: Level,
    pub score: f64,
    pub reason: String,
    pub checks: Vec<String>,
}

/// The effective rule for one category on one surface, after prefix lookup
/// and surface overrides.
#[derive(Debug, Clone, PartialEq)]
struct Effective {
    severity: f64,
    min_level: Option<Level>,
    min_score: f64,
    checks: Vec<String>,
}

impl Policy {
    pub fn builtin() -> Self {
        Self::parse(DEFAULT_POLICY).expect("the embedded default policy is valid (tested)")
    }

    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
        validate(&file)?;
        let hash = hex::encode(Sha256::digest(text.as_bytes()));
        let version = format!("{}@{}+sha256:{}", file.name, file.version, &hash[..12]);
        Ok(Self { file, version })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The score at which `level` begins (0 for `Low`).
    pub fn level_threshold(&self, level: Level) -> f64 {
        let t = &self.file.levels;
        match level {
            Level::Low => 0.0,
            Level::Medium => t.medium,
            Level::High => t.high,
            Level::Critical => t.critical,
        }
    }

    fn effective(&self, surface: Surface, category: &str) -> Effective {
        let mut eff = Effective { severity: 1.0, min_level: None, min_score: 0.5, checks: Vec::new() };
        let tables =
            std::iter::once(&self.file.categories).chain(self.file.surfaces.get(&surface).map(|s| &s.categories));
        for table in tables {
            // Shortest prefix first, so longer (more specific) ones override.
            for prefix in prefixes(category) {
                if let Some(rule) = table.get(prefix) {
                    if let Some(s) = rule.severity {
                        eff.severity = s;
                    }
                    if rule.min_level.is_some() {
                        eff.min_level = rule.min_level;
                    }
                    if let Some(s) = rule.min_score {
                        eff.min_score = s;
                    }
                    if !rule.checks.is_empty() {
                        eff.checks = rule.checks.clone();
                    }
                }
            }
        }
        eff
    }

    /// The topic domain of `category` that `application` declares it serves,
    /// if any: `topic.finance` (or `topic.finance.<more>`) for an
    /// application with `topic_domains = ["finance"]`.
    pub fn declared_domain<'a>(&'a self, application: &str, category: &str) -> Option<&'a str> {
        let rest = category.strip_prefix("topic.")?;
        let label = rest.split('.').next()?;
        self.file.applications.get(application)?.topic_domains.iter().map(String::as_str).find(|d| *d == label)
    }

    /// Turns findings (and the names of detectors that could not run) into a
    /// verdict. `trusted(finding)` says whether a finding came from a trusted
    /// document. `escalations` raise the level to at least theirs. Topic
    /// findings in a domain `application` declares are named in the reasons
    /// and otherwise ignored.
    pub fn decide(
        &self,
        surface: Surface,
        application: &str,
        findings: &[Finding],
        trusted: impl Fn(&Finding) -> bool,
        skipped: &[String],
        escalations: &[Escalation],
    ) -> Verdict {
        let mut per_category: BTreeMap<&str, (f64, &Finding)> = BTreeMap::new();
        let mut floor = Level::Low;
        let mut checks: Vec<String> = Vec::new();
        let mut in_domain: Vec<String> = Vec::new();
        for f in findings {
            if let Some(domain) = self.declared_domain(application, &f.category) {
                in_domain.push(format!(
                    "{} in {} (score {:.2}) not scored: {domain} is in {application}'s declared topic domains",
                    f.category, f.source, f.score
                ));
                continue;
            }
            let eff = self.effective(surface, &f.category);
            let weight = if trusted(f) { self.file.sources.trusted_document } else { 1.0 };
            let contribution = (f.score * eff.severity * weight).clamp(0.0, 1.0);
            let entry = per_category.entry(f.category.as_str()).or_insert((0.0, f));
            if contribution > entry.0 {
                *entry = (contribution, f);
            }
            if let Some(min) = eff.min_level {
                if f.score * weight >= eff.min_score && min > floor {
                    floor = min;
                }
            }
            for c in eff.checks {
                if !checks.contains(&c) {
                    checks.push(c);
                }
            }
        }
        let score = 1.0 - per_category.values().map(|(c, _)| 1.0 - c).product::<f64>();
        let t = &self.file.levels;
        let by_score = if score >= t.critical {
            Level::Critical
        } else if score >= t.high {
            Level::High
        } else if score >= t.medium {
            Level::Medium
        } else {
            Level::Low
        };
        let mut level = by_score.max(floor);
        let mut reasons: Vec<(f64, String)> = per_category
            .iter()
            .map(|(cat, (c, f))| (*c, format!("{cat} in {} (score {:.2}): {}", f.source, f.score, f.message)))
            .collect();
        let mut score = score;
        for e in escalations {
            level = level.max(e.level);
            score = score.max(e.score);
            reasons.push((e.score, e.reason.clone()));
            for c in &e.checks {
                if !checks.contains(c) {
                    checks.push(c.clone());
                }
            }
        }
        reasons.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut reasons: Vec<String> = reasons.into_iter().map(|(_, r)| r).collect();
        reasons.extend(in_domain);
        if !skipped.is_empty() {
            reasons.push(format!("detectors skipped: {}", skipped.join(", ")));
            if self.file.skipped.mode == SkipMode::FailClosed {
                let floor = skipped
                    .iter()
                    .filter_map(|d| self.file.skipped.detectors.get(d))
                    .fold(self.file.skipped.level, |a, b| a.max(*b));
                level = level.max(floor);
            }
            for c in &self.file.skipped.checks {
                if !checks.contains(c) {
                    checks.push(c.clone());
                }
            }
        }
        let d = &self.file.decisions;
        let decision = match level {
            Level::Low => d.low,
            Level::Medium => d.medium,
            Level::High => d.high,
            Level::Critical => d.critical,
        };
        if decision == Decision::Allow {
            checks.clear();
        }
        Verdict { score, level, decision, required_checks: checks, reasons }
    }
}

/// "secret.aws_access_key" -> ["secret", "secret.aws_access_key"].
fn prefixes(category: &str) -> impl Iterator<Item = &str> {
    category.match_indices('.').map(|(i, _)| &category[..i]).chain(std::iter::once(category))
}

fn validate(file: &PolicyFile) -> Result<(), PolicyError> {
    let invalid = |field: &str, reason: &str| PolicyError::Invalid { field: field.into(), reason: reason.into() };
    let in_unit = |v: f64| (0.0..=1.0).contains(&v);
    let t = &file.levels;
    if !(in_unit(t.medium) && in_unit(t.high) && in_unit(t.critical)) {
        return Err(invalid("levels", "thresholds must be within [0, 1]"));
    }
    if !(t.medium <= t.high && t.high <= t.critical) {
        return Err(invalid("levels", "thresholds must satisfy medium <= high <= critical"));
    }
    if file.name.trim().is_empty() || file.version.trim().is_empty() {
        return Err(invalid("name", "name and version must not be empty"));
    }
    if !in_unit(file.sources.trusted_document) {
        return Err(invalid("sources.trusted_document", "must be within [0, 1]"));
    }
    let all = file.categories.iter().map(|(k, v)| (format!("categories.{k}"), v)).chain(file.surfaces.iter().flat_map(
        |(s, rules)| rules.categories.iter().map(move |(k, v)| (format!("surfaces.{}.categories.{k}", s.as_str()), v)),
    ));
    for (field, rule) in all {
        for v in [rule.severity, rule.min_score].into_iter().flatten() {
            if !in_unit(v) {
                return Err(invalid(&field, "severity and min_score must be within [0, 1]"));
            }
        }
    }
    for (name, app) in &file.applications {
        let field = format!("applications.{name}.topic_domains");
        if name.trim().is_empty() {
            return Err(invalid("applications", "an application name must not be empty"));
        }
        for domain in &app.topic_domains {
            if !TOPIC_LABELS.contains(&domain.as_str()) {
                let known = TOPIC_LABELS.join(", ");
                return Err(invalid(&field, &format!("unknown topic domain {domain:?} (known: {known})")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(category: &str, score: f64, source: &str) -> Finding {
        Finding {
            category: category.into(),
            score,
            detector: "test",
            source: source.into(),
            span: 0..1,
            message: "m".into(),
            evidence: None,
        }
    }

    #[test]
    fn builtin_policy_is_valid_and_versioned() {
        let p = Policy::builtin();
        assert!(p.version().starts_with("warden-default@"), "{}", p.version());
        assert!(p.version().contains("+sha256:"));
    }

    #[test]
    fn decisions_follow_the_builtin_policy() {
        let p = Policy::builtin();
        let table: &[(Surface, &[(&str, f64)], &[&str], Decision)] = &[
            (Surface::Input, &[], &[], Decision::Allow),
            (Surface::Input, &[("pii.email", 0.95)], &[], Decision::Allow),
            (Surface::Input, &[("prompt_injection", 0.92)], &[], Decision::Block),
            (Surface::Input, &[("prompt_injection", 0.85)], &[], Decision::RequireApproval),
            (Surface::Input, &[("prompt_injection", 0.6)], &[], Decision::Review),
            (Surface::Output, &[("secret.private_key", 0.99)], &[], Decision::Block),
            (Surface::Output, &[("pii.email", 0.95)], &[], Decision::Review),
            // Names, places and organisations (the entity head): recorded
            // and redacted; an answer naming them is not reviewed for it,
            // an address leaving in one is.
            (
                Surface::Input,
                &[("pii.email", 0.95), ("pii.person", 0.95), ("pii.location", 0.95)],
                &[],
                Decision::Allow,
            ),
            (
                Surface::Output,
                &[("pii.person", 0.9), ("pii.location", 0.9), ("pii.organization", 0.9)],
                &[],
                Decision::Allow,
            ),
            (Surface::Output, &[("pii.email", 0.95), ("pii.person", 0.9)], &[], Decision::Review),
            (Surface::Output, &[("pii.address", 0.9)], &[], Decision::Review),
            // Dates, domains and group words: recorded and redacted on every
            // surface, never a review on their own; a birth date weighs as
            // other personal data.
            (
                Surface::Input,
                &[("pii.date_time", 0.85), ("pii.domain", 0.85), ("pii.nrp", 0.7), ("pii.email", 0.95)],
                &[],
                Decision::Allow,
            ),
            (Surface::Output, &[("pii.date_time", 0.9), ("pii.domain", 0.9), ("pii.nrp", 0.9)], &[], Decision::Allow),
            (Surface::Action, &[("pii.date_time", 0.9), ("pii.domain", 0.9), ("pii.nrp", 0.9)], &[], Decision::Allow),
            (Surface::Input, &[("pii.date_of_birth", 0.85), ("pii.email", 0.95)], &[], Decision::Review),
            (Surface::Output, &[("pii.date_of_birth", 0.9)], &[], Decision::Review),
            (Surface::Action, &[("secret.github_token", 0.75)], &[], Decision::RequireApproval),
            (Surface::Input, &[], &["pii"], Decision::Review),
            // An action policy that could not run sends the action to a human.
            (Surface::Action, &[], &["action_policy"], Decision::RequireApproval),
            (Surface::Action, &[], &["pii"], Decision::Review),
        ];
        for (surface, findings, skipped, want) in table {
            let fs: Vec<Finding> = findings.iter().map(|(c, s)| finding(c, *s, "input")).collect();
            let skipped: Vec<String> = skipped.iter().map(|s| s.to_string()).collect();
            let v = p.decide(*surface, "support-bot", &fs, |_| false, &skipped, &[]);
            assert_eq!(v.decision, *want, "{surface:?} {findings:?} {skipped:?}: {v:?}");
        }
    }

    #[test]
    fn trusted_documents_weigh_less() {
        let p = Policy::builtin();
        let f = [finding("prompt_injection", 0.92, "document:a")];
        let untrusted = p.decide(Surface::Input, "support-bot", &f, |_| false, &[], &[]);
        let trusted = p.decide(Surface::Input, "support-bot", &f, |_| true, &[], &[]);
        assert!(trusted.score < untrusted.score);
    }

    /// The default policy plus a bank's support bot that serves finance.
    fn with_domains(domains: &str) -> Result<Policy, PolicyError> {
        Policy::parse(&format!("{DEFAULT_POLICY}\n[applications.\"support-bot\"]\ntopic_domains = {domains}\n"))
    }

    #[test]
    fn declared_topic_domains_are_recorded_but_not_scored() {
        let p = with_domains(r#"["finance"]"#).unwrap();
        // (application, findings, decision, score)
        type Case = (&'static str, &'static [(&'static str, f64)], Decision, f64);
        let table: &[Case] = &[
            // In-domain: nothing to weigh.
            ("support-bot", &[("topic.finance", 0.95)], Decision::Allow, 0.0),
            ("support-bot", &[("topic.finance.tax", 0.95)], Decision::Allow, 0.0),
            // Out of domain, or another application: today's behaviour.
            ("support-bot", &[("topic.health", 0.95)], Decision::Review, 0.475),
            ("travel-bot", &[("topic.finance", 0.95)], Decision::Review, 0.475),
            ("", &[("topic.finance", 0.95)], Decision::Review, 0.475),
            // The domain excuses the topic only, not what comes with it.
            ("support-bot", &[("topic.finance", 0.95), ("prompt_injection", 0.9)], Decision::Block, 0.9),
            ("support-bot", &[("topic.finance", 0.95), ("topic.legal", 0.9)], Decision::Review, 0.45),
        ];
        for (app, findings, want, score) in table {
            let fs: Vec<Finding> = findings.iter().map(|(c, s)| finding(c, *s, "input")).collect();
            let v = p.decide(Surface::Input, app, &fs, |_| false, &[], &[]);
            assert_eq!(v.decision, *want, "{app} {findings:?}: {v:?}");
            assert!((v.score - score).abs() < 1e-9, "{app} {findings:?}: {v:?}");
            let noted = v.reasons.iter().any(|r| r.contains("declared topic domains"));
            let in_domain = *app == "support-bot" && findings.iter().any(|(c, _)| c.starts_with("topic.finance"));
            assert_eq!(noted, in_domain, "{app} {findings:?}: {:?}", v.reasons);
        }
        let v =
            p.decide(Surface::Input, "support-bot", &[finding("topic.finance", 0.95, "input")], |_| false, &[], &[]);
        assert_eq!(
            v.reasons,
            ["topic.finance in input (score 0.95) not scored: finance is in support-bot's declared topic domains"]
        );
        assert!(v.required_checks.is_empty());
    }

    #[test]
    fn unknown_topic_domains_are_refused_naming_the_field() {
        for bad in [r#"["banking"]"#, r#"["Finance"]"#, r#"["topic.finance"]"#] {
            let err = with_domains(bad).unwrap_err().to_string();
            assert!(err.contains("applications.support-bot.topic_domains"), "{err}");
            assert!(err.contains("known: finance, health, legal"), "{err}");
        }
        assert!(with_domains(r#"["finance", "health", "legal"]"#).is_ok());
        assert!(with_domains("[]").is_ok());
        let err = Policy::parse(&format!("{DEFAULT_POLICY}\n[applications.bot]\ntopics = [\"finance\"]\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("topics"), "{err}");
    }

    /// A user's abusive wording asks for a review; the same words in a
    /// model output need a human before they reach the user.
    #[test]
    fn toxic_input_is_reviewed_and_toxic_output_is_held() {
        let p = Policy::builtin();
        let input = p.decide(Surface::Input, "app", &[finding("toxicity", 0.99, "input")], |_| false, &[], &[]);
        assert_eq!(input.decision, Decision::Review, "{:?}", input.reasons);
        assert!(input.required_checks.iter().any(|c| c.contains("abusive")), "{:?}", input.required_checks);
        let output = p.decide(Surface::Output, "app", &[finding("toxicity", 0.99, "output")], |_| false, &[], &[]);
        assert_eq!(output.decision, Decision::RequireApproval, "{:?}", output.reasons);
        // With an injection finding beside it, the risks still combine.
        let both = p.decide(
            Surface::Input,
            "app",
            &[finding("toxicity", 0.9, "input"), finding("prompt_injection", 0.6, "input")],
            |_| false,
            &[],
            &[],
        );
        assert_eq!(both.decision, Decision::RequireApproval, "{:?}", both.reasons);
    }

    #[test]
    fn invalid_policies_name_the_field() {
        let bad = DEFAULT_POLICY.replace("medium = 0.40", "medium = 0.95");
        let err = Policy::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("levels"), "{err}");
        let bad =
            DEFAULT_POLICY.replace("[categories.toxicity]\nseverity = 0.9", "[categories.toxicity]\nseverity = 3");
        let err = Policy::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("categories.toxicity"), "{err}");
        assert!(Policy::parse("name = 1").is_err());
    }
}
