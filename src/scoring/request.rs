//! Score requests as the domain sees them, and their validation.

use std::collections::BTreeMap;

use crate::config::Limits;
use crate::detect::{ScanItem, ScanSet, Source, Surface};
use crate::error::Error;

/// Who is asking, in which conversation.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Context {
    pub tenant: String,
    pub application: String,
    pub session_id: String,
    pub trace_id: String,
    pub user_id: String,
    pub model: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DocumentIn {
    pub id: String,
    pub source: String,
    pub text: String,
    pub trusted: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "surface", rename_all = "snake_case")]
pub enum ScoreRequest {
    Input {
        context: Context,
        text: String,
        system_prompt: String,
        documents: Vec<DocumentIn>,
    },
    Output {
        context: Context,
        text: String,
        input: String,
        system_prompt: String,
        documents: Vec<DocumentIn>,
        /// Strings that must never appear in the output.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        canaries: Vec<String>,
    },
    Action {
        context: Context,
        tool: String,
        arguments_json: String,
        rationale: String,
    },
}

impl ScoreRequest {
    pub fn surface(&self) -> Surface {
        match self {
            ScoreRequest::Input { .. } => Surface::Input,
            ScoreRequest::Output { .. } => Surface::Output,
            ScoreRequest::Action { .. } => Surface::Action,
        }
    }

    pub fn context(&self) -> &Context {
        match self {
            ScoreRequest::Input { context, .. }
            | ScoreRequest::Output { context, .. }
            | ScoreRequest::Action { context, .. } => context,
        }
    }

    /// The text `redacted_text` is made from.
    pub fn main_text(&self) -> &str {
        match self {
            ScoreRequest::Input { text, .. } | ScoreRequest::Output { text, .. } => text,
            ScoreRequest::Action { arguments_json, .. } => arguments_json,
        }
    }

    pub fn main_source(&self) -> Source {
        match self {
            ScoreRequest::Input { .. } => Source::Input,
            ScoreRequest::Output { .. } => Source::Output,
            ScoreRequest::Action { .. } => Source::Action,
        }
    }

    /// Checks everything a client could get wrong, before any work is done
    /// or anything is written. Errors name the offending field as the proto
    /// spells it.
    pub fn validate(&self, limits: &Limits) -> Result<(), Error> {
        let ctx = self.context();
        validate_context(ctx)?;
        let text_field = match self {
            ScoreRequest::Action { .. } => "arguments_json",
            _ => "text",
        };
        let text = self.main_text();
        if text.trim().is_empty() {
            return Err(Error::invalid(text_field, "must not be empty"));
        }
        check_len(text_field, text, limits.max_text_bytes)?;
        match self {
            ScoreRequest::Input { system_prompt, documents, .. } => {
                check_len("system_prompt", system_prompt, limits.max_text_bytes)?;
                validate_documents(documents, limits)?;
            }
            ScoreRequest::Output { input, system_prompt, documents, canaries, .. } => {
                check_len("input", input, limits.max_text_bytes)?;
                if canaries.len() > 64 {
                    return Err(Error::invalid("canaries", "at most 64 canaries per request"));
                }
                for c in canaries {
                    if c.trim().chars().count() < 6 || c.len() > 256 {
                        return Err(Error::invalid(
                            "canaries",
                            "each canary must be 6 to 256 bytes (a shorter one would match ordinary text)",
                        ));
                    }
                }
                check_len("system_prompt", system_prompt, limits.max_text_bytes)?;
                validate_documents(documents, limits)?;
            }
            ScoreRequest::Action { tool, arguments_json, rationale, .. } => {
                if tool.trim().is_empty() {
                    return Err(Error::invalid("tool", "must not be empty"));
                }
                check_len("tool", tool, 256)?;
                check_len("rationale", rationale, limits.max_text_bytes)?;
                if let Err(e) = serde_json::from_str::<serde_json::Value>(arguments_json) {
                    return Err(Error::invalid("arguments_json", &format!("is not valid JSON: {e}")));
                }
            }
        }
        Ok(())
    }

    /// The texts the detectors scan, each with its source.
    pub fn scan_set(&self) -> ScanSet {
        let item = |source: Source, text: &str| ScanItem { source, text: text.to_string() };
        let mut items = vec![item(self.main_source(), self.main_text())];
        let docs = |documents: &[DocumentIn], items: &mut Vec<ScanItem>| {
            for d in documents {
                items.push(item(Source::Document { id: d.id.clone(), trusted: d.trusted }, &d.text));
            }
        };
        let tool = match self {
            ScoreRequest::Input { system_prompt, documents, .. } => {
                if !system_prompt.is_empty() {
                    items.push(item(Source::SystemPrompt, system_prompt));
                }
                docs(documents, &mut items);
                None
            }
            ScoreRequest::Output { input, system_prompt, documents, .. } => {
                if !input.is_empty() {
                    // The prompt that produced the output is attributed as `input`, the
                    // field it came in.
                    items.push(item(Source::Input, input));
                }
                if !system_prompt.is_empty() {
                    items.push(item(Source::SystemPrompt, system_prompt));
                }
                docs(documents, &mut items);
                None
            }
            ScoreRequest::Action { tool, .. } => Some(tool.clone()),
        };
        ScanSet { surface: self.surface(), items, tool }
    }
}

fn validate_context(ctx: &Context) -> Result<(), Error> {
    for (field, value) in [
        ("context.tenant", &ctx.tenant),
        ("context.application", &ctx.application),
        ("context.session_id", &ctx.session_id),
        ("context.user_id", &ctx.user_id),
        ("context.model", &ctx.model),
    ] {
        check_len(field, value, 256)?;
    }
    if ctx.application.trim().is_empty() {
        return Err(Error::invalid("context.application", "must name the calling application"));
    }
    if !ctx.trace_id.is_empty() && !(ctx.trace_id.len() == 32 && ctx.trace_id.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(Error::invalid("context.trace_id", "must be a W3C trace id: 32 hex characters"));
    }
    if ctx.labels.len() > 64 {
        return Err(Error::invalid("context.labels", "at most 64 labels"));
    }
    Ok(())
}

fn validate_documents(documents: &[DocumentIn], limits: &Limits) -> Result<(), Error> {
    if documents.len() > limits.max_documents {
        return Err(Error::invalid("documents", &format!("at most {} documents per request", limits.max_documents)));
    }
    let mut total = 0usize;
    let mut ids = std::collections::HashSet::new();
    for (i, d) in documents.iter().enumerate() {
        if d.id.trim().is_empty() {
            return Err(Error::invalid(&format!("documents[{i}].id"), "must not be empty"));
        }
        if !ids.insert(d.id.as_str()) {
            return Err(Error::invalid(&format!("documents[{i}].id"), &format!("duplicate document id {:?}", d.id)));
        }
        check_len(&format!("documents[{i}].text"), &d.text, limits.max_document_bytes)?;
        total += d.text.len();
    }
    if total > limits.max_total_document_bytes {
        return Err(Error::invalid(
            "documents",
            &format!("documents total {total} bytes, more than the limit of {}", limits.max_total_document_bytes),
        ));
    }
    Ok(())
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.len() > max {
        return Err(Error::invalid(field, &format!("is {} bytes, more than the limit of {max}", value.len())));
    }
    Ok(())
}
