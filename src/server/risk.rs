//! `warden.v1.RiskService`: convert, score, convert back, count.

use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use super::{caller_of, code_label, status_from};
use crate::auth::Caller;
use crate::engine::Engine;
use crate::error::Error;
use crate::proto::v1 as pb;
use crate::request::ScoreRequest;
use crate::telemetry;

pub struct RiskApi {
    engine: Arc<Engine>,
}

impl RiskApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    async fn handle(
        &self,
        rpc: &'static str,
        caller: Result<Caller, Status>,
        request: Result<ScoreRequest, Error>,
    ) -> Result<Response<pb::Assessment>, Status> {
        let caller = caller?;
        let started = Instant::now();
        telemetry::in_flight(1.0);
        let result = match request {
            Ok(r) => self.engine.score(r, &caller).await,
            Err(e) => Err(e),
        };
        telemetry::in_flight(-1.0);
        let outcome = match result {
            Ok(a) => {
                telemetry::decision(rpc, a.evaluation.verdict.decision.as_str());
                Ok(Response::new(pb::Assessment::from(a)))
            }
            Err(e) => {
                let reason = match &e {
                    Error::InvalidArgument { .. } => Some("invalid_argument"),
                    Error::Overloaded { .. } => Some("overloaded"),
                    Error::ShuttingDown => Some("shutting_down"),
                    Error::Unauthenticated(_) => Some("unauthenticated"),
                    Error::PermissionDenied(_) => Some("permission_denied"),
                    _ => None,
                };
                if let Some(reason) = reason {
                    telemetry::rejected(rpc, reason);
                }
                Err(status_from(e))
            }
        };
        let code = outcome.as_ref().map_or_else(|s| s.code(), |_| tonic::Code::Ok);
        telemetry::request_finished(rpc, code_label(code), started.elapsed());
        outcome
    }
}

/// A Score request whose context names no trace joins the trace of the
/// call's `traceparent`, so its record is found by that trace without the
/// caller copying the id into the context.
fn scored(request: Result<ScoreRequest, Error>, traced: Option<String>) -> Result<ScoreRequest, Error> {
    let mut request = request?;
    if let Some(trace_id) = traced {
        let context = request.context_mut();
        if context.trace_id.is_empty() {
            context.trace_id = trace_id;
        }
    }
    Ok(request)
}

#[tonic::async_trait]
impl pb::risk_service_server::RiskService for RiskApi {
    async fn score_input(&self, request: Request<pb::ScoreInputRequest>) -> Result<Response<pb::Assessment>, Status> {
        let caller = caller_of(&request);
        let traced = crate::telemetry::otel::incoming_trace_id(request.metadata().as_ref());
        self.handle("ScoreInput", caller, scored(ScoreRequest::try_from(request.into_inner()), traced)).await
    }

    async fn score_output(&self, request: Request<pb::ScoreOutputRequest>) -> Result<Response<pb::Assessment>, Status> {
        let caller = caller_of(&request);
        let traced = crate::telemetry::otel::incoming_trace_id(request.metadata().as_ref());
        self.handle("ScoreOutput", caller, scored(ScoreRequest::try_from(request.into_inner()), traced)).await
    }

    async fn score_action(&self, request: Request<pb::ScoreActionRequest>) -> Result<Response<pb::Assessment>, Status> {
        let caller = caller_of(&request);
        let traced = crate::telemetry::otel::incoming_trace_id(request.metadata().as_ref());
        self.handle("ScoreAction", caller, scored(ScoreRequest::try_from(request.into_inner()), traced)).await
    }
}
