//! The engine: what one Score call does, independent of how it arrived (gRPC
//! or the CLI). Validate, take a concurrency permit, evaluate, record the
//! decision durably, answer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::audit::{Appended, Entry, Journal};
use crate::config::{Config, Limits};
use crate::error::Error;
use crate::policy::{Decision, Policy};
use crate::scoring::{Evaluation, Pipeline, ScoreRequest};

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
    limits: Limits,
    /// Bounds concurrent Score calls; waiting is bounded by `queue_timeout`.
    permits: Arc<Semaphore>,
    queue_timeout: Duration,
}

impl Engine {
    pub fn new(config: &Config, pipeline: Pipeline, journal: Arc<dyn Journal>) -> Self {
        Self {
            pipeline,
            journal,
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

    pub async fn score(&self, request: ScoreRequest) -> Result<Assessment, Error> {
        request.validate(&self.limits)?;
        let _permit = self.acquire().await?;
        let evaluation = self.pipeline.evaluate(&request).await;
        // The approval workflow keys on this id; the record below is the
        // request for approval until the approval service stores its own.
        let approval_id =
            (evaluation.verdict.decision == Decision::RequireApproval).then(|| uuid::Uuid::now_v7().to_string());
        let entry = Entry::ScoreDecision {
            request,
            evaluation: evaluation.clone(),
            approval_id: approval_id.clone(),
            warden_version: env!("CARGO_PKG_VERSION"),
        };
        let record = self.journal.append(entry).await.map_err(|e| Error::AuditUnavailable(e.to_string()))?;
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
