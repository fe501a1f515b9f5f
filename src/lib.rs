//! Warden makes AI systems in production safe to run and possible to explain.
//!
//! A tour of the crate, from the wire inwards:
//!
//! - [`server`]: the gRPC services (RiskService, AuditService,
//!   ApprovalService), health, reflection, `/metrics`. Thin: it converts
//!   protobuf to domain types and back, and maps errors to statuses.
//! - [`engine`]: one Score call: validate, bound concurrency, evaluate, write
//!   the audit record, answer. Shared by the server and the CLI.
//! - [`scoring`]: the pipeline that runs detectors over every source of a
//!   request (off the async workers, with deadlines) and asks the policy.
//! - [`detect`]: the rule detectors (personal data, secrets, injection
//!   heuristics), normalisation and redaction. Pure functions of text.
//! - [`model`]: the ONNX classifiers (injection, toxicity, topics, embedding)
//!   behind one encoder pass: windowing, micro-batching, a content cache.
//! - [`action`]: facts about tool calls and the Rego action policy.
//! - [`output`]: ScoreOutput's checks: ungrounded claims, system-prompt and
//!   data leakage, canaries.
//! - [`policy`]: thresholds per category and surface, and the decision.
//! - [`sink`]: shipping the log to PostgreSQL and NATS JetStream, with
//!   cursors, retries and a backlog bound.
//! - [`audit`]: the tamper-evident log: durable segments with a hash chain, an
//!   RFC 9162 Merkle tree, Ed25519-signed checkpoints, proofs, an index.
//! - [`config`], [`error`], [`telemetry`]: configuration layers, the error
//!   enum, metric names.
//! - [`validate`]: what every string bound for the journal must satisfy
//!   (no NUL, no control characters in identifiers, bounded JSON), checked
//!   once at the boundary; and reading over-deep JSON without recursion.
//! - [`proto`]: generated code; only `server` and the binary use it.
//!
//! [`run`] starts everything on already-bound listeners, so the binary and
//! the tests share one path.

#![forbid(unsafe_code)]

pub mod action;
pub mod approval;
pub mod audit;
pub mod auth;
pub mod compliance;
pub mod config;
pub mod console;
pub mod content;
pub mod detect;
pub mod engine;
pub mod error;
pub mod evaluation;
pub mod fleet;
pub mod limits;
pub mod model;
pub mod output;
pub mod policy;
pub mod proto;
pub mod request;
pub mod scoring;
pub mod server;
pub mod session;
pub mod sink;
pub mod telemetry;
pub mod timestamp;
pub mod tls;
pub mod validate;
pub mod witness;

use std::future::Future;
use std::sync::Arc;

pub use config::Config;
pub use server::{Listeners, ServeError};

use crate::audit::journal::AuditLog;
use crate::detect::Detector;
use crate::engine::Engine;
use crate::policy::Policy;
use crate::scoring::{ModelStage, Pipeline};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("policy file {path}: {reason}")]
    Policy { path: String, reason: String },
    #[error("action policy in {dir}: {reason}")]
    ActionPolicy { dir: String, reason: String },
    #[error("content policy file {path}: {reason}")]
    ContentPolicy { path: String, reason: String },
    #[error("auth: {0}")]
    Auth(String),
    #[error("detectors: {0}")]
    Detectors(String),
    #[error("{0} (set model.allow_rules_only = true to run with the rule detectors only)")]
    Model(model::ModelError),
    #[error("audit journal: {0}")]
    Journal(#[from] audit::AuditError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Loads the policy named by the config, or the embedded default.
pub fn load_policy(config: &Config) -> Result<Policy, StartError> {
    match &config.policy_file {
        None => Ok(Policy::builtin()),
        Some(path) => {
            let err = |reason: String| StartError::Policy { path: path.display().to_string(), reason };
            let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
            Policy::parse(&text).map_err(|e| err(e.to_string()))
        }
    }
}

/// Loads the action policy: the embedded one plus `action_policy_dir`.
pub fn load_action_policy(config: &Config) -> Result<action::PolicyHandle, StartError> {
    let dir = config.action_policy_dir.clone();
    let policy = action::ActionPolicy::load(dir.as_deref()).map_err(|e| StartError::ActionPolicy {
        dir: dir.as_deref().map(|d| d.display().to_string()).unwrap_or_else(|| "(builtin)".into()),
        reason: e.to_string(),
    })?;
    Ok(action::PolicyHandle::new(policy, dir))
}

/// Loads the classifiers as `[model]` says: a load failure stops start-up
/// unless `allow_rules_only`, and then every assessment says the model was
/// skipped.
pub fn load_model(config: &model::ModelConfig) -> Result<ModelStage, StartError> {
    if !config.enabled {
        tracing::warn!("model.enabled = false: scoring with the rule detectors only");
        return Ok(ModelStage::Disabled { reason: "model.enabled = false: rule detectors only".into() });
    }
    match model::Model::shared(config) {
        Ok(model) => Ok(ModelStage::Ready { model, cascade: config.cascade.then_some(config.cascade_rule_score) }),
        Err(e) if config.allow_rules_only => {
            tracing::error!(error = %e, "classifier model not loaded; running rules only (model.allow_rules_only)");
            Ok(ModelStage::Disabled { reason: format!("{e}; running rules only (model.allow_rules_only)") })
        }
        Err(e) => Err(StartError::Model(e)),
    }
}

/// Loads `content_policy_file`, encoding topic examples with the model.
pub fn load_content_policies(config: &Config, model: &ModelStage) -> Result<content::ContentPolicies, StartError> {
    let Some(path) = &config.content_policy_file else {
        return Ok(content::ContentPolicies::none());
    };
    let err = |reason: String| StartError::ContentPolicy { path: path.display().to_string(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let model = match model {
        ModelStage::Ready { model, .. } => Some(model.clone()),
        _ => None,
    };
    content::ContentPolicies::load(&text, model).map_err(err)
}

/// Everything a running Warden holds: the scoring engine, the audit log it
/// writes to (which the AuditService also reads), the approvals and who may
/// call what.
pub struct App {
    pub engine: Arc<Engine>,
    pub audit: Arc<AuditLog>,
    pub approvals: Arc<approval::ApprovalStore>,
    pub auth: Arc<auth::Authenticator>,
}

/// Every detector that can be skipped, by every reason, counted from 0.
fn register_detector_metrics(detectors: &[Arc<dyn Detector>]) {
    use scoring::SkipReason as R;
    telemetry::install();
    let mut names: Vec<&'static str> = detectors.iter().map(|d| d.name()).collect();
    names.extend([
        model::DETECTOR,
        content::DETECTOR,
        action::DETECTOR,
        output::grounding::DETECTOR,
        output::leak::DETECTOR,
    ]);
    // `not_applicable` is reported in the assessment but never counted.
    let reasons = [R::Timeout, R::Failed, R::Disabled, R::Partial].map(R::as_str);
    telemetry::detectors_started(&names, &reasons);
}

/// Builds the app: policies, the built-in detectors plus `extra` ones, the
/// audit log under `data_dir`, and the approvals recovered from it.
pub fn build(config: &Config, extra: Vec<Arc<dyn Detector>>) -> Result<App, StartError> {
    let policy = Arc::new(load_policy(config)?);
    let action_policy = load_action_policy(config)?;
    let auth = Arc::new(auth::Authenticator::from_config(&config.auth).map_err(StartError::Auth)?);
    let mut detectors = detect::rule_detectors(&config.detectors).map_err(StartError::Detectors)?;
    detectors.extend(extra);
    register_detector_metrics(&detectors);
    let model = load_model(&config.model)?;
    let output = output::OutputChecks::new(&config.output).map_err(StartError::Detectors)?;
    let content = load_content_policies(config, &model)?;
    let pipeline = Pipeline::new(detectors, policy, action_policy, config.detector_timeout())
        .with_model(model)
        .with_output(output)
        .with_content(content);
    let audit = Arc::new(AuditLog::open(&config.data_dir, &config.audit)?);
    let approvals = Arc::new(approval::ApprovalStore::new(audit.clone(), config.approvals.clone()));
    let recovered = approvals.recover()?;
    if recovered > 0 {
        tracing::info!(approvals = recovered, "approvals recovered from the audit log");
    }
    let sessions = Arc::new(session::SessionStore::new(config.sessions.clone()));
    let resumed = sessions.recover(&audit, config.sessions.recover_max_records)?;
    if resumed > 0 {
        tracing::info!(records = resumed, sessions = sessions.len(), "session context rebuilt from the audit log");
    }
    let engine = Arc::new(Engine::new(config, pipeline, audit.clone(), sessions, Some(approvals.clone())));
    Ok(App { engine, audit, approvals, auth })
}

/// Runs Warden until `shutdown` resolves, then drains and flushes.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let app = build(&config, Vec::new())?;
    server::serve(&config, app, listeners, shutdown).await?;
    Ok(())
}
