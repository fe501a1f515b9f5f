//! Secrets: cloud and SaaS credentials, private keys, JWTs, bearer tokens and
//! high-entropy values assigned to key-like names.
//!
//! The rules are the published gitleaks rule set (`rules/gitleaks.toml`, MIT,
//! gitleaks/gitleaks) plus a few of Warden's own in the same format
//! (`rules/warden-secrets.toml`), embedded in the binary. Matching follows
//! gitleaks: one Aho-Corasick pass over every rule's keywords selects the
//! rules worth running, so a text without "akia" never runs the AWS pattern;
//! then each selected rule's regex, the secret group, the entropy floor and
//! the allowlists decide.

use std::collections::BTreeSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use super::normalise::shannon_entropy;
use super::{DetectError, Detector, RawFinding, ScanItem, Source, Surface};

pub const NAME: &str = "secrets";
const GITLEAKS_RULES: &str = include_str!("../../rules/gitleaks.toml");
const WARDEN_RULES: &str = include_str!("../../rules/warden-secrets.toml");

#[derive(Deserialize)]
struct RuleFile {
    /// gitleaks' release the rules were generated for; part of our version.
    #[serde(rename = "minVersion")]
    min_version: Option<String>,
    allowlist: Option<AllowlistDef>,
    #[serde(default)]
    rules: Vec<RuleDef>,
}

#[derive(Deserialize)]
struct RuleDef {
    id: String,
    regex: Option<String>,
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(rename = "secretGroup")]
    secret_group: Option<usize>,
    #[serde(default)]
    allowlists: Vec<AllowlistDef>,
    /// Rules scoped to file paths (`*.tf`, `nuget.config`); text in an AI
    /// request has no path, so they are left out.
    path: Option<String>,
}

#[derive(Deserialize, Default)]
struct AllowlistDef {
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(rename = "regexTarget")]
    regex_target: Option<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    condition: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Secret,
    Match,
    Line,
}

struct Allowlist {
    regexes: Vec<Regex>,
    target: Target,
    stopwords: Vec<String>,
    /// gitleaks' `condition = "AND"`: both a regex and a stopword must hit.
    all: bool,
}

struct Rule {
    id: String,
    category: String,
    score: f64,
    regex: Regex,
    entropy: Option<f64>,
    secret_group: Option<usize>,
    allowlists: Vec<Allowlist>,
}

pub struct SecretsDetector {
    rules: Vec<Rule>,
    /// Aho-Corasick over every keyword; pattern i belongs to rule keyword_rule[i].
    keywords: AhoCorasick,
    keyword_rule: Vec<usize>,
    /// Rules without keywords run on every text.
    always: Vec<usize>,
    global: Allowlist,
    version: String,
}

impl SecretsDetector {
    pub fn new() -> Result<Self, String> {
        let gitleaks: RuleFile = toml::from_str(GITLEAKS_RULES).map_err(|e| format!("gitleaks rules: {e}"))?;
        let own: RuleFile = toml::from_str(WARDEN_RULES).map_err(|e| format!("warden secret rules: {e}"))?;
        let global = compile_allowlist(gitleaks.allowlist.unwrap_or_default())?;

        let mut rules = Vec::new();
        let mut unsupported = Vec::new();
        for def in gitleaks.rules.into_iter().chain(own.rules) {
            // Path-scoped rules (e.g. "a .p12 file was committed", passwords
            // in *.tf files) have no meaning for text without a path.
            let Some(pattern) = def.regex.as_deref().filter(|_| def.path.is_none()) else {
                continue;
            };
            let regex = match compile(pattern) {
                Ok(r) => r,
                Err(_) => {
                    unsupported.push(def.id.clone());
                    continue;
                }
            };
            let allowlists = def.allowlists.into_iter().map(compile_allowlist).collect::<Result<_, _>>()?;
            let rule = Rule {
                category: category_for(&def.id),
                score: score_for(&def.id),
                id: def.id,
                regex,
                entropy: def.entropy,
                secret_group: def.secret_group,
                allowlists,
            };
            rules.push((rule, def.keywords));
        }
        if !unsupported.is_empty() {
            tracing::warn!(rules = ?unsupported, "secret rules whose regex syntax this engine does not support were left out");
        }

        let mut patterns = Vec::new();
        let mut keyword_rule = Vec::new();
        let mut always = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if rule.1.is_empty() {
                always.push(i);
            }
            for k in &rule.1 {
                patterns.push(k.to_ascii_lowercase());
                keyword_rule.push(i);
            }
        }
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| e.to_string())?;
        let rules: Vec<Rule> = rules.into_iter().map(|(r, _)| r).collect();
        let version =
            format!("1.0.0+gitleaks-{}-{}rules", gitleaks.min_version.as_deref().unwrap_or("unknown"), rules.len());
        Ok(Self { rules, keywords, keyword_rule, always, global, version })
    }

    /// Number of rules compiled and active.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    pub fn scan(&self, text: &str) -> Vec<RawFinding> {
        let mut selected: BTreeSet<usize> = self.always.iter().copied().collect();
        for m in self.keywords.find_overlapping_iter(text) {
            selected.insert(self.keyword_rule[m.pattern().as_usize()]);
        }
        let mut out = Vec::new();
        for &i in &selected {
            let rule = &self.rules[i];
            for caps in rule.regex.captures_iter(text.as_bytes()) {
                let whole = caps.get(0).expect("group 0 always matches");
                let secret = match rule.secret_group {
                    Some(g) => caps.get(g),
                    None => caps.iter().skip(1).flatten().find(|m| !m.is_empty()),
                }
                .unwrap_or(whole);
                if let Some(min) = rule.entropy {
                    if shannon_entropy(&String::from_utf8_lossy(secret.as_bytes())) < min {
                        continue;
                    }
                }
                let line = line_around(text.as_bytes(), whole.start(), whole.end());
                let allowed = std::iter::once(&self.global)
                    .chain(rule.allowlists.iter())
                    .any(|a| a.allows(secret.as_bytes(), whole.as_bytes(), line));
                if allowed {
                    continue;
                }
                out.push(RawFinding {
                    category: rule.category.clone(),
                    score: rule.score,
                    span: secret.range(),
                    message: format!("credential matching rule {}", rule.id),
                });
            }
        }
        super::dedupe(out)
    }
}

impl Detector for SecretsDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &str {
        &self.version
    }

    /// On ScoreOutput only the output itself: the input, system prompt and
    /// documents were judged when they came in, and the output checks
    /// compare what the output reveals against them.
    fn applies(&self, surface: Surface, source: &Source) -> bool {
        surface != Surface::Output || *source == Source::Output
    }

    fn detect(&self, item: &ScanItem, _tool: Option<&str>) -> Result<Vec<RawFinding>, DetectError> {
        Ok(self.scan(&item.text))
    }
}

impl Allowlist {
    fn allows(&self, secret: &[u8], whole: &[u8], line: &[u8]) -> bool {
        let target = match self.target {
            Target::Secret => secret,
            Target::Match => whole,
            Target::Line => line,
        };
        let regex_hit = self.regexes.iter().any(|r| r.is_match(target));
        let lower = String::from_utf8_lossy(secret).to_ascii_lowercase();
        let stop_hit = self.stopwords.iter().any(|w| lower.contains(w.as_str()));
        if self.all {
            (self.regexes.is_empty() || regex_hit) && (self.stopwords.is_empty() || stop_hit)
        } else {
            regex_hit || stop_hit
        }
    }
}

fn compile_allowlist(def: AllowlistDef) -> Result<Allowlist, String> {
    let regexes = def.regexes.iter().filter_map(|p| compile(p).ok()).collect();
    let target = match def.regex_target.as_deref() {
        Some("match") => Target::Match,
        Some("line") => Target::Line,
        _ => Target::Secret,
    };
    Ok(Allowlist {
        regexes,
        target,
        stopwords: def.stopwords.into_iter().map(|s| s.to_ascii_lowercase()).collect(),
        all: def.condition.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("and")),
    })
}

/// gitleaks' rules are Go RE2 patterns, where `\w`, `\s` and `\d` are
/// ASCII-only. Compiling without Unicode classes keeps those semantics and
/// makes the automata an order of magnitude smaller; matching runs on bytes
/// so offsets stay UTF-8 byte offsets.
fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).unicode(false).size_limit(16 << 20).build()
}

fn line_around(text: &[u8], start: usize, end: usize) -> &[u8] {
    let s = text[..start].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let e = text[end..].iter().position(|&b| b == b'\n').map_or(text.len(), |i| end + i);
    &text[s..e]
}

/// Maps a gitleaks rule id to a contract category `secret.<kind>`; the
/// contract's named kinds come first, everything else keeps its rule id.
fn category_for(id: &str) -> String {
    let kind = match id {
        "aws-access-token" => "aws_access_key",
        "private-key" => "private_key",
        "jwt" | "jwt-base64" => "jwt",
        "generic-api-key" => "api_key",
        id if id.starts_with("github-") => "github_token",
        other => return format!("secret.{}", other.replace('-', "_")),
    };
    format!("secret.{kind}")
}

/// Generic assignments are the noisiest rule; provider-specific formats with
/// fixed prefixes are near-certain.
fn score_for(id: &str) -> f64 {
    match id {
        "private-key" => 0.99,
        "generic-api-key" | "bearer-token" => 0.75,
        _ => 0.9,
    }
}
