//! `warden.v1.AuditService`. Every Score call already writes its audit record
//! through the engine; these RPCs (client appends, queries, tailing, signed
//! checkpoints and proofs) answer UNIMPLEMENTED until the tamper-evident log
//! lands behind the journal.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use super::status_from;
use crate::error::Error;
use crate::proto::v1 as pb;

pub struct AuditApi;

type RecordStream = Pin<Box<dyn Stream<Item = Result<pb::AuditRecord, Status>> + Send>>;
type AckStream = Pin<Box<dyn Stream<Item = Result<pb::AppendAck, Status>> + Send>>;

fn unimplemented(what: &'static str) -> Status {
    status_from(Error::Unimplemented(what))
}

#[tonic::async_trait]
impl pb::audit_service_server::AuditService for AuditApi {
    type AppendStream = AckStream;
    type QueryStream = RecordStream;
    type TailStream = RecordStream;

    async fn append(&self, _: Request<Streaming<pb::AuditEvent>>) -> Result<Response<AckStream>, Status> {
        Err(unimplemented("AuditService.Append"))
    }

    async fn query(&self, _: Request<pb::AuditQuery>) -> Result<Response<RecordStream>, Status> {
        Err(unimplemented("AuditService.Query"))
    }

    async fn tail(&self, _: Request<pb::TailRequest>) -> Result<Response<RecordStream>, Status> {
        Err(unimplemented("AuditService.Tail"))
    }

    async fn get_checkpoint(&self, _: Request<pb::GetCheckpointRequest>) -> Result<Response<pb::Checkpoint>, Status> {
        Err(unimplemented("AuditService.GetCheckpoint"))
    }

    async fn get_inclusion_proof(
        &self,
        _: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        Err(unimplemented("AuditService.GetInclusionProof"))
    }

    async fn get_consistency_proof(
        &self,
        _: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        Err(unimplemented("AuditService.GetConsistencyProof"))
    }
}
