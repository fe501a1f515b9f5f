//! What the pipeline concludes about one request: its findings, the
//! detectors that were skipped and why, and the policy's verdict. Shared
//! vocabulary: the audit record, the output checks and the transports read
//! it, so it depends only on the detectors' and the policy's types.

use std::collections::BTreeMap;

use crate::detect::Finding;
use crate::policy::Verdict;

/// Why a detector contributed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    Timeout,
    Failed,
    /// Configured off, or not loaded (`model.allow_rules_only`).
    Disabled,
    /// Ran on part of the text only (`model.max_windows`).
    Partial,
    /// Nothing to check (grounding without documents). Reported so that it
    /// is not mistaken for a pass, but not a degradation: the policy's
    /// `[skipped]` rule does not apply.
    NotApplicable,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Timeout => "timeout",
            SkipReason::Failed => "failed",
            SkipReason::Disabled => "disabled",
            SkipReason::Partial => "partial",
            SkipReason::NotApplicable => "not_applicable",
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
    /// What an action adds to its session (`private_data_access`,
    /// `untrusted_content`, `outbound`), as the action policy says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<String>,
}
