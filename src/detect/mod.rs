//! Detectors: small, deterministic functions from one source text to findings.
//!
//! A detector knows nothing about gRPC, policies or the audit log. It gets one
//! text (with the surface and source it came from) and returns [`RawFinding`]s
//! with UTF-8 byte spans into exactly that text; the scoring pipeline attaches
//! the source and decides what the findings mean.

pub mod injection;
pub mod normalise;
pub mod pii;
pub mod redact;
pub mod secrets;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Which Score RPC a text is being scored for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    Input,
    Output,
    Action,
}

impl Surface {
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Input => "input",
            Surface::Output => "output",
            Surface::Action => "action",
        }
    }
}

/// The classifier's topic labels: findings are `topic.<label>`, and a
/// policy's per-application `topic_domains` name them. A model whose manifest
/// lists other labels does not load.
pub const TOPIC_LABELS: [&str; 3] = ["finance", "health", "legal"];

/// Where a scored text came from. Rendered as the contract's finding source
/// names: `input`, `system_prompt`, `document:<id>`, `output`, `action`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    Input,
    SystemPrompt,
    Document { id: String, trusted: bool },
    Output,
    Action,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Input => f.write_str("input"),
            Source::SystemPrompt => f.write_str("system_prompt"),
            Source::Document { id, .. } => write!(f, "document:{id}"),
            Source::Output => f.write_str("output"),
            Source::Action => f.write_str("action"),
        }
    }
}

/// One text to scan, with the context a detector may need to decide whether
/// it applies.
#[derive(Debug, Clone)]
pub struct ScanItem {
    pub source: Source,
    pub text: String,
}

/// Everything one Score call asks the detectors to look at.
#[derive(Debug, Clone)]
pub struct ScanSet {
    pub surface: Surface,
    pub items: Vec<ScanItem>,
    /// Tool name for ScoreAction; `None` elsewhere.
    pub tool: Option<String>,
}

/// A finding as a detector reports it, before the pipeline attaches the source.
#[derive(Debug, Clone, PartialEq)]
pub struct RawFinding {
    pub category: String,
    pub score: f64,
    pub span: Range<usize>,
    pub message: String,
}

/// A finding attributed to its source and detector.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub category: String,
    pub score: f64,
    pub detector: &'static str,
    pub source: String,
    pub span: Range<usize>,
    pub message: String,
    /// What the finding was checked against in another source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// A span of another source of the same request (the closest document
/// passage, the reproduced part of the system prompt).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evidence {
    pub source: String,
    pub span: Range<usize>,
    /// Embedding cosine similarity, where one was computed; 0 otherwise.
    pub similarity: f64,
}

/// Why a detector could not produce a result. Reported as a skip, never as a
/// clean pass.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("{0}")]
    Failed(String),
}

pub trait Detector: Send + Sync + 'static {
    /// Stable name, used in findings, metrics labels and the audit record.
    fn name(&self) -> &'static str;
    /// Version of the detector's logic and rule data.
    fn version(&self) -> &str;
    /// Whether this detector has anything to say about this source on this
    /// surface (e.g. injection heuristics do not scan model outputs).
    fn applies(&self, surface: Surface, source: &Source) -> bool;
    /// Scans one text. `tool` is the tool name on the action surface.
    fn detect(&self, item: &ScanItem, tool: Option<&str>) -> Result<Vec<RawFinding>, DetectError>;
}

/// The built-in rule detectors, in the order they run.
pub fn rule_detectors(cfg: &DetectorConfig) -> Result<Vec<Arc<dyn Detector>>, String> {
    let mut out: Vec<Arc<dyn Detector>> = Vec::new();
    if cfg.pii {
        out.push(Arc::new(pii::PiiDetector::new(&cfg.phone_region)?));
    }
    if cfg.secrets {
        out.push(Arc::new(secrets::SecretsDetector::new()?));
    }
    if cfg.injection {
        out.push(Arc::new(injection::InjectionDetector::new()?));
    }
    Ok(out)
}

/// Drops findings whose span lies inside a higher-scoring finding of the same
/// category family (the part before the first dot), keeping output stable.
pub(crate) fn dedupe(mut findings: Vec<RawFinding>) -> Vec<RawFinding> {
    findings.sort_by(|a, b| {
        a.span.start.cmp(&b.span.start).then(b.span.end.cmp(&a.span.end)).then(b.score.total_cmp(&a.score))
    });
    let mut kept: Vec<RawFinding> = Vec::with_capacity(findings.len());
    for f in findings {
        let family = f.category.split('.').next().unwrap_or("");
        let covered = kept.iter().any(|k| {
            k.category.split('.').next().unwrap_or("") == family
                && k.span.start <= f.span.start
                && f.span.end <= k.span.end
                && k.score >= f.score
        });
        if !covered {
            kept.push(f);
        }
    }
    kept
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    pub pii: bool,
    pub secrets: bool,
    pub injection: bool,
    /// ISO 3166 country assumed for phone numbers written without `+`.
    pub phone_region: String,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self { pii: true, secrets: true, injection: true, phone_region: "US".into() }
    }
}
