//! The engine: what one Score call does, independent of how it arrived (gRPC
//! or the CLI). Validate, take a concurrency permit, evaluate, record the
//! decision durably, answer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tracing::field::Empty;
use tracing::Instrument as _;

use crate::approval::ApprovalStore;
use crate::audit::{Appended, Entry, Journal};
use crate::auth::Caller;
use crate::config::Config;
use crate::detect::Surface;
use crate::error::Error;
use crate::evaluation::Evaluation;
use crate::limits::Limits;
use crate::policy::{Decision, Policy};
use crate::request::ScoreRequest;
use crate::scoring::Pipeline;
use crate::session::{Observation, SessionStore, Step};

/// A finished assessment: the evaluation plus where it was recorded.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub evaluation: Evaluation,
    pub approval_id: Option<String>,
    pub record: Appended,
}

pub struct Engine {
    pipeline: Pipeline,
    journal: Arc<dyn Journal>,
    sessions: Arc<SessionStore>,
    approvals: Option<Arc<ApprovalStore>>,
    limits: Limits,
    /// Bounds concurrent Score calls; waiting is bounded by `queue_timeout`.
    permits: Arc<Semaphore>,
    queue_timeout: Duration,
}

impl Engine {
    pub fn new(
        config: &Config,
        pipeline: Pipeline,
        journal: Arc<dyn Journal>,
        sessions: Arc<SessionStore>,
        approvals: Option<Arc<ApprovalStore>>,
    ) -> Self {
        Self {
            pipeline,
            journal,
            sessions,
            approvals,
            limits: config.limits.clone(),
            permits: Arc::new(Semaphore::new(config.limits.max_concurrent_requests)),
            queue_timeout: config.queue_timeout(),
        }
    }

    pub fn policy(&self) -> &Policy {
        self.pipeline.policy()
    }

    pub fn journal(&self) -> &Arc<dyn Journal> {
        &self.journal
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    pub fn sessions(&self) -> &Arc<SessionStore> {
        &self.sessions
    }

    pub fn approvals(&self) -> Option<&Arc<ApprovalStore>> {
        self.approvals.as_ref()
    }

    /// Scores one request for `caller`: evaluate with the session's context,
    /// record the decision durably, update the session, and open an approval
    /// when a human must decide. Traced as one GenAI `apply_guardrail` span
    /// with the pipeline's stages under it.
    pub async fn score(&self, request: ScoreRequest, caller: &Caller) -> Result<Assessment, Error> {
        let surface = request.surface().as_str();
        let span = tracing::debug_span!(
            "score",
            otel.name = %format!("{} {surface}", crate::telemetry::otel::GEN_AI_OPERATION),
            gen_ai.operation.name = crate::telemetry::otel::GEN_AI_OPERATION,
            gen_ai.conversation.id = Empty,
            gen_ai.request.model = Empty,
            gen_ai.tool.name = Empty,
            warden.surface = surface,
            warden.tenant = Empty,
            warden.application = Empty,
            warden.decision = Empty,
            warden.risk.level = Empty,
            warden.risk.score = Empty,
            warden.findings = Empty,
            warden.record_id = Empty,
        );
        self.score_traced(request, caller, &span).instrument(span.clone()).await
    }

    async fn score_traced(
        &self,
        mut request: ScoreRequest,
        caller: &Caller,
        span: &tracing::Span,
    ) -> Result<Assessment, Error> {
        caller.require("scoring", &[crate::auth::Role::Agent])?;
        request.validate(&self.limits)?;
        // The same tenant rule as for reads and appends: a caller scoped to
        // one tenant that names none writes into its own.
        let tenant = caller.scope_tenant("context.tenant", &request.context().tenant)?;
        request.context_mut().tenant = tenant;
        let ctx = request.context().clone();
        if !span.is_disabled() {
            let set = |field: &str, value: &str| {
                if !value.is_empty() {
                    span.record(field, value);
                }
            };
            set("gen_ai.conversation.id", &ctx.session_id);
            set("gen_ai.request.model", &ctx.model);
            set("warden.tenant", &ctx.tenant);
            set("warden.application", &ctx.application);
            if let ScoreRequest::Action { tool, .. } = &request {
                set("gen_ai.tool.name", tool);
            }
        }
        // The session's turn before a concurrency permit: actions queued
        // behind one another in a session do not hold permits other
        // sessions need.
        let visit = self
            .sessions
            .visit(&ctx.tenant, &ctx.session_id, request.surface() == Surface::Action)
            .instrument(tracing::debug_span!("session.turn"))
            .await;
        let _permit = self.acquire().instrument(tracing::debug_span!("queue")).await?;
        let (session, path_before) = visit.read();
        let mut evaluation = self.pipeline.evaluate(&request, &session).await;
        if let Some(store) = &self.approvals {
            // No room for one more approval: blocked, never let through
            // unreviewed, and never held without a bound.
            if evaluation.verdict.decision == Decision::RequireApproval && !store.has_room() {
                evaluation.verdict.decision = Decision::Block;
                evaluation.verdict.reasons.insert(0, store.full_reason());
                crate::telemetry::approval_step("refused_full");
            }
        }
        let verdict = &evaluation.verdict;
        span.record("warden.decision", verdict.decision.as_str());
        span.record("warden.risk.level", verdict.level.as_str());
        span.record("warden.risk.score", verdict.score);
        span.record("warden.findings", evaluation.findings.len() as u64);
        // Without an approval store (the CLI) there is nobody to ask, but the
        // decision still names the approval it needs.
        let approval_id = (verdict.decision == Decision::RequireApproval).then(|| uuid::Uuid::now_v7().to_string());
        let approval = match (&approval_id, &self.approvals) {
            (Some(_), Some(store)) => Some(store.terms(verdict.level, time::OffsetDateTime::now_utc())),
            _ => None,
        };
        let untrusted_documents = match &request {
            ScoreRequest::Input { documents, .. } | ScoreRequest::Output { documents, .. } => {
                documents.iter().any(|d| !d.trusted)
            }
            ScoreRequest::Action { .. } => false,
        };
        let tool = match &request {
            ScoreRequest::Action { tool, .. } => tool.clone(),
            _ => String::new(),
        };
        let surface = request.surface();
        let entry = Entry::ScoreDecision {
            request,
            evaluation: evaluation.clone(),
            approval_id: approval_id.clone(),
            warden_version: env!("CARGO_PKG_VERSION"),
            caller: caller.authenticated.then(|| caller.identity.clone()),
            approval,
        };
        let entry_for_approval = approval_id.is_some().then(|| entry.clone());
        let append = tracing::debug_span!("audit.append", warden.record_id = Empty, warden.audit.sequence = Empty);
        let record = self.journal.append(entry).instrument(append.clone()).await.map_err(Error::from)?;
        append.record("warden.record_id", record.record_id.as_str());
        append.record("warden.audit.sequence", record.sequence);
        span.record("warden.record_id", record.record_id.as_str());
        let verdict = &evaluation.verdict;
        visit.observe(Observation {
            at: std::time::Instant::now(),
            surface,
            findings: &evaluation.findings,
            untrusted_documents,
            effects: &evaluation.effects,
            step: Step {
                record_id: record.record_id.clone(),
                sequence: record.sequence,
                recorded_at: record.recorded_at.clone(),
                surface,
                tool,
                decision: verdict.decision,
                level: verdict.level,
                summary: verdict.reasons.first().cloned().unwrap_or_default(),
            },
        });
        if let (Some(entry), Some(store)) = (entry_for_approval, &self.approvals) {
            // The record is durable; if opening fails here, the approval is
            // recovered from it at the next start.
            if let Err(e) = store.open(&entry, &record, path_before) {
                tracing::error!(error = %e, record = record.record_id, "could not open an approval");
            }
        }
        Ok(Assessment { evaluation, approval_id, record })
    }

    async fn acquire(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Error> {
        let overloaded = || Error::Overloaded {
            in_flight: self.limits.max_concurrent_requests - self.permits.available_permits(),
            limit: self.limits.max_concurrent_requests,
        };
        match self.permits.clone().try_acquire_owned() {
            Ok(p) => return Ok(p),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(Error::ShuttingDown),
            Err(tokio::sync::TryAcquireError::NoPermits) if self.queue_timeout.is_zero() => return Err(overloaded()),
            Err(tokio::sync::TryAcquireError::NoPermits) => {}
        }
        match tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(_)) => Err(Error::ShuttingDown),
            Err(_) => Err(overloaded()),
        }
    }
}
