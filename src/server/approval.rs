//! `warden.v1.ApprovalService`: list, read, decide and watch approvals. The
//! rules (roles, separation of duties, expiry) live in [`crate::approval`].

use std::pin::Pin;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use super::convert::{decision_to_proto, level_to_proto};
use super::{caller_of, status_from};
use crate::approval::{Approval, Reviews, State};
use crate::error::Error;
use crate::proto::v1 as pb;

pub struct ApprovalApi {
    store: Arc<dyn Reviews>,
    /// Turns true when the server shuts down, so `Watch` streams end (with
    /// UNAVAILABLE: the watcher asks again elsewhere) instead of holding the
    /// drain open until the approval is decided.
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl ApprovalApi {
    pub fn new(store: Arc<dyn Reviews>, stopping: tokio::sync::watch::Receiver<bool>) -> Self {
        Self { store, stopping }
    }
}

type ApprovalStream = Pin<Box<dyn Stream<Item = Result<pb::Approval, Status>> + Send>>;

fn timestamp(t: OffsetDateTime) -> pbjson_types::Timestamp {
    pbjson_types::Timestamp { seconds: t.unix_timestamp(), nanos: t.nanosecond() as i32 }
}

fn rfc3339_timestamp(s: &str) -> Option<pbjson_types::Timestamp> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok().map(timestamp)
}

fn state_to_proto(s: State) -> pb::ApprovalState {
    match s {
        State::Pending => pb::ApprovalState::Pending,
        State::Approved => pb::ApprovalState::Approved,
        State::Denied => pb::ApprovalState::Denied,
        State::Expired => pb::ApprovalState::Expired,
    }
}

impl From<Approval> for pb::Approval {
    fn from(a: Approval) -> Self {
        let (reviewer, reason) = match (a.state, a.verdict()) {
            (_, Some(v)) => (v.reviewer.clone(), v.reason.clone()),
            (State::Expired, None) => ("warden".to_string(), "expired without a decision".to_string()),
            _ => (String::new(), String::new()),
        };
        let subject = a.subject();
        pb::Approval {
            approval_id: a.id.clone(),
            state: state_to_proto(a.state) as i32,
            context: Some(super::convert::context_to_proto(&a.context)),
            assessment: Some(pb::Assessment {
                record_id: a.request_record_id.clone(),
                score: a.score,
                level: level_to_proto(a.level) as i32,
                decision: decision_to_proto(a.decision) as i32,
                findings: a
                    .findings
                    .iter()
                    .map(|f| pb::Finding {
                        category: f.category.clone(),
                        score: f.score,
                        detector: f.detector.clone(),
                        source: f.source.clone(),
                        span: Some(pb::Span { start: f.span.start as u32, end: f.span.end as u32 }),
                        message: f.message.clone(),
                        evidence: None,
                    })
                    .collect(),
                redacted_text: String::new(),
                policy_version: a.policy_version.clone(),
                detector_versions: a.detector_versions.clone().into_iter().collect(),
                model_versions: Default::default(),
                approval_id: a.id.clone(),
                skipped_detectors: Vec::new(),
                required_checks: a.required_checks.clone(),
                sequence: a.request_sequence,
                created_at: Some(timestamp(a.created_at)),
                reasons: a.reasons.clone(),
            }),
            subject,
            created_at: Some(timestamp(a.created_at)),
            expires_at: Some(timestamp(a.expires_at)),
            reviewer,
            reason,
            decided_at: a.decided_at.map(timestamp),
            requested_by: a.requested_by.clone(),
            required_approvals: a.required_approvals,
            votes: a
                .votes
                .iter()
                .map(|v| pb::ApprovalVote {
                    reviewer: v.reviewer.clone(),
                    approve: v.approve,
                    reason: v.reason.clone(),
                    at: rfc3339_timestamp(&v.at),
                })
                .collect(),
            decision_path: a
                .decision_path
                .iter()
                .map(|s| pb::SessionStep {
                    record_id: s.record_id.clone(),
                    sequence: s.sequence,
                    recorded_at: rfc3339_timestamp(&s.recorded_at),
                    surface: s.surface.as_str().to_string(),
                    tool: s.tool.clone(),
                    decision: decision_to_proto(s.decision) as i32,
                    level: level_to_proto(s.level) as i32,
                    summary: s.summary.clone(),
                })
                .collect(),
            surface: a.surface.as_str().to_string(),
            text: a.text,
            tool: a.tool,
            arguments_json: a.arguments_json,
            rationale: a.rationale,
            instance_id: a.instance_id,
        }
    }
}

fn require_id(id: &str) -> Result<(), Status> {
    if id.trim().is_empty() {
        return Err(status_from(Error::invalid("approval_id", "must not be empty")));
    }
    Ok(())
}

#[tonic::async_trait]
impl pb::approval_service_server::ApprovalService for ApprovalApi {
    type WatchStream = ApprovalStream;

    async fn list_pending(
        &self,
        request: Request<pb::ListPendingRequest>,
    ) -> Result<Response<pb::ListPendingResponse>, Status> {
        let caller = caller_of(&request)?;
        let pb::ListPendingRequest { tenant, limit, page_size, page_token } = request.into_inner();
        // `limit` is the field's older name, used only when `page_size` is not.
        let page_size = if page_size != 0 { i64::from(page_size) } else { i64::from(limit) };
        let page = self.store.list_pending(&caller, &tenant, page_size, &page_token).map_err(status_from)?;
        Ok(Response::new(pb::ListPendingResponse {
            approvals: page.approvals.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
            total: u32::try_from(page.total).unwrap_or(u32::MAX),
        }))
    }

    async fn get(&self, request: Request<pb::GetApprovalRequest>) -> Result<Response<pb::Approval>, Status> {
        let caller = caller_of(&request)?;
        let id = request.into_inner().approval_id;
        require_id(&id)?;
        let a = self.store.get(&caller, &id).await.map_err(status_from)?;
        Ok(Response::new(a.into()))
    }

    async fn decide(&self, request: Request<pb::DecideRequest>) -> Result<Response<pb::Approval>, Status> {
        let caller = caller_of(&request)?;
        let pb::DecideRequest { approval_id, approve, reviewer, reason } = request.into_inner();
        require_id(&approval_id)?;
        let a = self.store.decide(&caller, &approval_id, approve, &reviewer, &reason).await.map_err(status_from)?;
        Ok(Response::new(a.into()))
    }

    async fn watch(&self, request: Request<pb::WatchRequest>) -> Result<Response<ApprovalStream>, Status> {
        let caller = caller_of(&request)?;
        let id = request.into_inner().approval_id;
        require_id(&id)?;
        let mut rx = self.store.watch(&caller, &id).map_err(status_from)?;
        let mut stopping = self.stopping.clone();
        // The wait for a verdict, under the call's span (the task that feeds
        // the stream would otherwise start a trace of its own).
        let wait = tracing::debug_span!("approval.wait", warden.approval.id = %id, warden.approval.state = tracing::field::Empty);
        let stream = async_stream_from(move |tx: tokio::sync::mpsc::Sender<Result<pb::Approval, Status>>| {
            let span = wait.clone();
            async move {
                loop {
                    let current = rx.borrow_and_update().clone();
                    let terminal = current.state != State::Pending;
                    if terminal {
                        span.record("warden.approval.state", current.state.as_str());
                    }
                    if tx.send(Ok(current.into())).await.is_err() || terminal {
                        return;
                    }
                    tokio::select! {
                        // A verdict that is ready goes out before the end.
                        biased;
                        changed = rx.changed() => if changed.is_err() { return },
                        () = super::until_stopping(&mut stopping) => {
                            let _ = tx.send(Err(super::shutting_down())).await;
                            return;
                        }
                        () = tx.closed() => return,
                    }
                }
            }
            .instrument(wait)
        });
        Ok(Response::new(stream))
    }
}

/// A stream fed by a task; the task ends when the client goes away.
fn async_stream_from<F, Fut>(f: F) -> ApprovalStream
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<pb::Approval, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(f(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}
