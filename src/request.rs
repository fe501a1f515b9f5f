//! Score requests as the domain sees them (who asks, what, with which
//! documents), and their validation: the vocabulary every layer shares, so
//! it depends on nothing above the detectors' scan types.

use std::collections::BTreeMap;

use crate::detect::{ScanItem, ScanSet, Source, Surface};
use crate::error::Error;
use crate::limits::Limits;
use crate::validate;

/// Who is asking, in which conversation. Read back from records with a
/// default for any field a record lacks.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
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

    pub fn context_mut(&mut self) -> &mut Context {
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
        validate_context("context", ctx, limits)?;
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
            ScoreRequest::Input { text, system_prompt, documents, .. } => {
                validate::text("text", text)?;
                check_len("system_prompt", system_prompt, limits.max_text_bytes)?;
                validate::text("system_prompt", system_prompt)?;
                validate_documents(documents, limits)?;
            }
            ScoreRequest::Output { text, input, system_prompt, documents, canaries, .. } => {
                validate::text("text", text)?;
                check_len("input", input, limits.max_text_bytes)?;
                validate::text("input", input)?;
                if canaries.len() > 64 {
                    return Err(Error::invalid("canaries", "at most 64 canaries per request"));
                }
                for (i, c) in canaries.iter().enumerate() {
                    if c.trim().chars().count() < 6 || c.len() > 256 {
                        return Err(Error::invalid(
                            "canaries",
                            "each canary must be 6 to 256 bytes (a shorter one would match ordinary text)",
                        ));
                    }
                    validate::text(&format!("canaries[{i}]"), c)?;
                }
                check_len("system_prompt", system_prompt, limits.max_text_bytes)?;
                validate::text("system_prompt", system_prompt)?;
                validate_documents(documents, limits)?;
            }
            ScoreRequest::Action { tool, arguments_json, rationale, .. } => {
                if tool.trim().is_empty() {
                    return Err(Error::invalid("tool", "must not be empty"));
                }
                check_len("tool", tool, 256)?;
                validate::identifier("tool", tool)?;
                check_len("rationale", rationale, limits.max_text_bytes)?;
                validate::text("rationale", rationale)?;
                validate::json("arguments_json", arguments_json, limits.max_json_depth)?;
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

/// Checks a request context; `prefix` is its field path (`context`, or
/// `events[3].context` for an appended event). Every audit record carries
/// one, so this is the one check for all of them.
pub fn validate_context(prefix: &str, ctx: &Context, limits: &Limits) -> Result<(), Error> {
    let field = |f: &str| format!("{prefix}.{f}");
    for (name, value) in [
        ("tenant", &ctx.tenant),
        ("application", &ctx.application),
        ("session_id", &ctx.session_id),
        ("trace_id", &ctx.trace_id),
        ("user_id", &ctx.user_id),
        ("model", &ctx.model),
    ] {
        check_len(&field(name), value, 256)?;
        validate::identifier(&field(name), value)?;
    }
    if ctx.application.trim().is_empty() {
        return Err(Error::invalid(&field("application"), "must name the calling application"));
    }
    if !ctx.trace_id.is_empty() && !(ctx.trace_id.len() == 32 && ctx.trace_id.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(Error::invalid(&field("trace_id"), "must be a W3C trace id: 32 hex characters"));
    }
    let labels = field("labels");
    if ctx.labels.len() > limits.max_labels {
        return Err(Error::invalid(&labels, &format!("at most {} labels", limits.max_labels)));
    }
    for (k, v) in &ctx.labels {
        if k.len() > limits.max_label_key_bytes {
            return Err(Error::invalid(
                &labels,
                &format!("a key is {} bytes, more than the limit of {}", k.len(), limits.max_label_key_bytes),
            ));
        }
        if v.len() > limits.max_label_value_bytes {
            return Err(Error::invalid(
                &labels,
                &format!(
                    "the value of {k:?} is {} bytes, more than the limit of {}",
                    v.len(),
                    limits.max_label_value_bytes
                ),
            ));
        }
        validate::identifier(&labels, k)
            .map_err(|e| Error::invalid(&labels, &format!("key {k:?}: {}", reason_of(e))))?;
        validate::text(&labels, v)
            .map_err(|e| Error::invalid(&labels, &format!("value of {k:?}: {}", reason_of(e))))?;
    }
    Ok(())
}

fn reason_of(e: Error) -> String {
    match e {
        Error::InvalidArgument { reason, .. } => reason,
        other => other.to_string(),
    }
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
        validate::identifier(&format!("documents[{i}].id"), &d.id)?;
        validate::text(&format!("documents[{i}].source"), &d.source)?;
        validate::text(&format!("documents[{i}].text"), &d.text)?;
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
