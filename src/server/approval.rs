//! `warden.v1.ApprovalService`. High-risk assessments already carry an
//! `approval_id` and their audit record; listing, deciding and watching
//! approvals answer UNIMPLEMENTED until the approval workflow lands.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::status_from;
use crate::error::Error;
use crate::proto::v1 as pb;

pub struct ApprovalApi;

type ApprovalStream = Pin<Box<dyn Stream<Item = Result<pb::Approval, Status>> + Send>>;

fn unimplemented(what: &'static str) -> Status {
    status_from(Error::Unimplemented(what))
}

#[tonic::async_trait]
impl pb::approval_service_server::ApprovalService for ApprovalApi {
    type WatchStream = ApprovalStream;

    async fn list_pending(
        &self,
        _: Request<pb::ListPendingRequest>,
    ) -> Result<Response<pb::ListPendingResponse>, Status> {
        Err(unimplemented("ApprovalService.ListPending"))
    }

    async fn get(&self, _: Request<pb::GetApprovalRequest>) -> Result<Response<pb::Approval>, Status> {
        Err(unimplemented("ApprovalService.Get"))
    }

    async fn decide(&self, _: Request<pb::DecideRequest>) -> Result<Response<pb::Approval>, Status> {
        Err(unimplemented("ApprovalService.Decide"))
    }

    async fn watch(&self, _: Request<pb::WatchRequest>) -> Result<Response<ApprovalStream>, Status> {
        Err(unimplemented("ApprovalService.Watch"))
    }
}
