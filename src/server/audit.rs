//! `warden.v1.AuditService`: client appends with per-record acks, queries
//! from the index, tailing from a sequence number, signed checkpoints and
//! RFC 9162 proofs. Disk reads run on the blocking pool and stream through a
//! bounded channel, so a slow reader holds no lock and no async worker.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use super::{caller_of, status_from};
use crate::audit::checkpoint::Checkpoint;
use crate::audit::erasure::EraseRequest;
use crate::audit::journal::{AuditLog, LogRead, StoredRecord};
use crate::audit::merkle::ProofError;
use crate::audit::{Entry, Journal};
use crate::auth::{Caller, Role};
use crate::error::Error;
use crate::limits::Limits;
use crate::proto::v1 as pb;
use crate::validate;

/// Client appends pipelined per stream; acks still come back in order.
const APPEND_PIPELINE: usize = 64;
/// Records read from disk per blocking task while streaming.
const READ_CHUNK: usize = 256;

pub struct AuditApi {
    log: Arc<AuditLog>,
    /// Bounds on appended events (labels, attributes size and depth).
    limits: Arc<Limits>,
    /// Turns true when the server shuts down, so `Tail` streams that follow
    /// the log end (with UNAVAILABLE) instead of holding the drain open.
    stopping: watch::Receiver<bool>,
    /// On a fleet service: other instances' logs, by `instance_id`.
    fleet: Option<crate::fleet::logs::FleetLogs>,
}

impl AuditApi {
    pub fn new(log: Arc<AuditLog>, limits: Limits, stopping: watch::Receiver<bool>) -> Self {
        Self { log, limits: Arc::new(limits), stopping, fleet: None }
    }

    /// A fleet service's: queries, checkpoints and proofs also over every
    /// instance's verified central copy.
    pub fn fleet(self, logs: crate::fleet::logs::FleetLogs) -> Self {
        Self { fleet: Some(logs), ..self }
    }

    /// The log `instance_id` names: this service's own (empty, or its
    /// origin), or on a fleet service another instance's verified copy.
    async fn log_of(&self, instance_id: &str) -> Result<Arc<dyn LogRead>, Status> {
        match &self.fleet {
            Some(logs) => logs.log(&self.log, instance_id).await.map_err(status_from),
            None if instance_id.is_empty() || instance_id == self.log.origin() => Ok(self.log.clone()),
            None => Err(status_from(Error::invalid(
                "instance_id",
                &format!("this service holds only its own log ({}); ask a fleet service", self.log.origin()),
            ))),
        }
    }
}

type RecordStream = Pin<Box<dyn Stream<Item = Result<pb::AuditRecord, Status>> + Send>>;
type AckStream = Pin<Box<dyn Stream<Item = Result<pb::AppendAck, Status>> + Send>>;

fn audit_status(e: crate::audit::AuditError) -> Status {
    status_from(e.into())
}

fn proof_status(e: ProofError, field: &str) -> Status {
    status_from(Error::invalid(field, &e.to_string()))
}

fn timestamp(unix_nanos: i128) -> pbjson_types::Timestamp {
    pbjson_types::Timestamp {
        seconds: unix_nanos.div_euclid(1_000_000_000) as i64,
        nanos: unix_nanos.rem_euclid(1_000_000_000) as i32,
    }
}

fn record_to_proto(r: StoredRecord) -> pb::AuditRecord {
    pb::AuditRecord {
        revealed_json: String::new(),
        record_id: r.record_id,
        sequence: r.sequence,
        kind: r.kind,
        recorded_at: Some(timestamp(r.unix_nanos)),
        canonical_entry: r.canonical,
        leaf_index: r.sequence,
        leaf_hash: r.leaf.to_vec(),
    }
}

fn checkpoint_to_proto(c: Checkpoint) -> pb::Checkpoint {
    use base64::Engine as _;
    let signed_note = c.signed_note();
    pb::Checkpoint {
        origin: c.origin,
        tree_size: c.tree_size,
        root_hash: c.root.to_vec(),
        timestamp: Some(timestamp(c.unix_nanos)),
        signature: base64::engine::general_purpose::STANDARD.decode(&c.signature).unwrap_or_default(),
        key_id: c.key_id,
        note: c.note.into_bytes(),
        signed_note,
    }
}

/// Validates one client event and turns it into a log entry, with the same
/// checks as a Score call's context and the caller's tenant scope: what is
/// refused here is never written.
fn event_to_entry(i: usize, ev: pb::AuditEvent, caller: &Caller, limits: &Limits) -> Result<Entry, Error> {
    let pb::AuditEvent { client_event_id, context, kind, attributes_json, occurred_at } = ev;
    let field = |f: &str| format!("events[{i}].{f}");
    let Some(ctx) = context else { return Err(Error::invalid(&field("context"), "is required")) };
    let mut context = super::convert::context_to_domain(ctx);
    crate::request::validate_context(&field("context"), &context, limits)?;
    context.tenant = caller.scope_tenant(&field("context.tenant"), &context.tenant)?;
    if client_event_id.len() > 256 {
        return Err(Error::invalid(&field("client_event_id"), "is longer than 256 bytes"));
    }
    validate::identifier(&field("client_event_id"), &client_event_id)?;
    validate::identifier(&field("kind"), &kind)?;
    let kind = kind.trim().to_string();
    if kind.is_empty()
        || kind.len() > 64
        || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
    {
        return Err(Error::invalid(
            &field("kind"),
            "must be a snake_case name such as model_call, tool_call, tool_result",
        ));
    }
    if crate::audit::record::Kind::parse(&kind).is_some() {
        return Err(Error::invalid(&field("kind"), &format!("{kind} records are written by Warden itself")));
    }
    let attributes_json = if attributes_json.trim().is_empty() { "{}".to_string() } else { attributes_json };
    if attributes_json.len() > limits.max_attributes_bytes {
        return Err(Error::invalid(
            &field("attributes_json"),
            &format!("is {} bytes, more than the limit of {}", attributes_json.len(), limits.max_attributes_bytes),
        ));
    }
    if !validate::json(&field("attributes_json"), &attributes_json, limits.max_json_depth)?.is_object() {
        return Err(Error::invalid(&field("attributes_json"), "must be a JSON object"));
    }
    let attributes: Box<RawValue> = RawValue::from_string(attributes_json)
        .map_err(|e| Error::invalid(&field("attributes_json"), &format!("is not valid JSON: {e}")))?;
    let occurred_at = occurred_at
        .map(|t| {
            validate::timestamp(&field("occurred_at"), t.seconds, t.nanos).and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .map_err(|_| Error::invalid(&field("occurred_at"), "is not a valid timestamp"))
            })
        })
        .transpose()?;
    Ok(Entry::ClientEvent { event_kind: kind, client_event_id, context, attributes, occurred_at })
}

/// Streams records `seqs` from disk on the blocking pool, decrypted too
/// when `reveal` is set.
fn stream_records(log: Arc<AuditLog>, seqs: Vec<u64>, reveal: bool) -> RecordStream {
    let (tx, rx) = mpsc::channel(READ_CHUNK);
    tokio::task::spawn_blocking(move || {
        for seq in seqs {
            let item = match log.record(seq) {
                Ok(Some(r)) if reveal => match log.reveal(&r.canonical) {
                    Ok(v) => Ok(pb::AuditRecord { revealed_json: v.to_string(), ..record_to_proto(r) }),
                    Err(e) => Err(audit_status(e)),
                },
                Ok(Some(r)) => Ok(record_to_proto(r)),
                Ok(None) => continue,
                Err(e) => Err(audit_status(e)),
            };
            if tx.blocking_send(item).is_err() {
                return; // the client went away
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

/// Sends records from `from_sequence` on, then (with `follow`) each new one
/// as it is appended; returns when done or when the client went away.
async fn tail_records(
    log: &Arc<AuditLog>,
    tx: &mpsc::Sender<Result<pb::AuditRecord, Status>>,
    from_sequence: u64,
    follow: bool,
) {
    let mut sizes = log.subscribe();
    let mut next = from_sequence;
    loop {
        let size = log.size();
        while next < size {
            let end = size.min(next + READ_CHUNK as u64);
            let chunk = tokio::task::spawn_blocking({
                let log = log.clone();
                move || (next..end).map(|s| log.record(s)).collect::<Vec<_>>()
            })
            .await;
            let Ok(chunk) = chunk else { return };
            for r in chunk {
                let item = match r {
                    Ok(Some(r)) => Ok(record_to_proto(r)),
                    Ok(None) => continue,
                    Err(e) => Err(audit_status(e)),
                };
                if tx.send(item).await.is_err() {
                    return;
                }
            }
            next = end;
        }
        if !follow {
            return;
        }
        tokio::select! {
            changed = sizes.changed() => if changed.is_err() { return },
            () = tx.closed() => return,
        }
    }
}

#[tonic::async_trait]
impl pb::audit_service_server::AuditService for AuditApi {
    type AppendStream = AckStream;
    type QueryStream = RecordStream;
    type TailStream = RecordStream;

    async fn append(&self, request: Request<Streaming<pb::AuditEvent>>) -> Result<Response<AckStream>, Status> {
        let caller = caller_of(&request)?;
        caller.require("Append", &[Role::Agent]).map_err(status_from)?;
        let log = self.log.clone();
        let limits = self.limits.clone();
        let acks = request
            .into_inner()
            .enumerate()
            .map(move |(i, event)| {
                event.and_then(|event| {
                    let client_event_id = event.client_event_id.clone();
                    event_to_entry(i, event, &caller, &limits).map(|e| (client_event_id, e)).map_err(status_from)
                })
            })
            // Events are validated as they are read, and reading stops at the
            // first refused one: nothing after it reaches the pipeline, so
            // nothing after it is written.
            .scan(false, |refused, entry| {
                let next = (!*refused).then(|| {
                    *refused = entry.is_err();
                    entry
                });
                std::future::ready(next)
            })
            .map(move |entry| {
                let log = log.clone();
                async move {
                    let (client_event_id, entry) = entry?;
                    let a = log.append(entry).await.map_err(audit_status)?;
                    Ok(pb::AppendAck { client_event_id, record_id: a.record_id, sequence: a.sequence })
                }
            })
            .buffered(APPEND_PIPELINE);
        Ok(Response::new(Box::pin(acks)))
    }

    async fn query(&self, request: Request<pb::AuditQuery>) -> Result<Response<RecordStream>, Status> {
        let caller = caller_of(&request)?;
        caller.require("Query", &[Role::Auditor]).map_err(status_from)?;
        let pb::AuditQuery {
            tenant,
            session_id,
            trace_id,
            from,
            to,
            decision,
            category,
            limit,
            tool,
            reveal,
            kind,
            application,
            user_id,
            from_time,
            instance_id,
            gen_ai_operation_name,
            gen_ai_provider_name,
            gen_ai_request_model,
        } = request.into_inner();
        let (from_field, from) = super::convert::period_start(from, from_time).map_err(status_from)?;
        let decision = match pb::Decision::try_from(decision) {
            Ok(d) => super::convert::decision_from_proto(d).map_or(String::new(), |d| d.as_str().to_string()),
            Err(_) => {
                return Err(status_from(Error::invalid("decision", &format!("unknown Decision value {decision}"))))
            }
        };
        let nanos = |field: &str, t: Option<pbjson_types::Timestamp>| {
            t.map(|t| validate::timestamp(field, t.seconds, t.nanos).map(|t| t.unix_timestamp_nanos()))
                .transpose()
                .map_err(status_from)
        };
        // The same checks and tenant rule as the console and the CLI.
        let q = crate::audit::journal::Query {
            tenant,
            application,
            user_id,
            session_id,
            trace_id,
            tool,
            decision,
            category,
            kind,
            operation: gen_ai_operation_name,
            provider: gen_ai_provider_name,
            model: gen_ai_request_model,
            from_unix_nanos: nanos(from_field, from)?,
            to_unix_nanos: nanos("to", to)?,
            limit: limit as usize,
        }
        .checked(&caller, 1000)
        .map_err(status_from)?;
        if instance_id.is_empty() || instance_id == self.log.origin() {
            let log = self.log.clone();
            let seqs = tokio::task::spawn_blocking({
                let log = log.clone();
                move || log.query(&q)
            })
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
            return Ok(Response::new(stream_records(log, seqs, reveal)));
        }
        // Another instance's copy is in memory, verified; its subject keys
        // stay on that instance.
        if reveal {
            return Err(status_from(Error::invalid(
                "reveal",
                "another instance's encrypted fields can only be revealed on that instance",
            )));
        }
        let log = self.log_of(&instance_id).await?;
        let records: Vec<Result<pb::AuditRecord, Status>> = log
            .query(&q)
            .into_iter()
            .filter_map(|seq| log.record(seq).map_err(audit_status).transpose())
            .map(|r| r.map(record_to_proto))
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(records))))
    }

    async fn tail(&self, request: Request<pb::TailRequest>) -> Result<Response<RecordStream>, Status> {
        let caller = caller_of(&request)?;
        caller.require("Tail", &[Role::Auditor]).map_err(status_from)?;
        if !caller.tenants.is_empty() {
            // Tail streams every tenant's records, as a collector needs.
            return Err(status_from(Error::PermissionDenied(format!(
                "{} is scoped to tenants and may not tail the whole log",
                caller.identity
            ))));
        }
        let pb::TailRequest { from_sequence, follow } = request.into_inner();
        let log = self.log.clone();
        let mut stopping = self.stopping.clone();
        let (tx, rx) = mpsc::channel::<Result<pb::AuditRecord, Status>>(READ_CHUNK);
        tokio::spawn(async move {
            // Shutdown ends the stream wherever it is (a long backlog, a
            // reader that stopped reading, a wait for new records), with
            // UNAVAILABLE; the follower resumes from its last sequence, so
            // it misses nothing.
            let ended = tokio::select! {
                // Stopping first: appends still finishing during the drain
                // must not keep a follower going.
                biased;
                () = super::until_stopping(&mut stopping) => true,
                () = tail_records(&log, &tx, from_sequence, follow) => false,
            };
            if ended {
                let _ = tx.send(Err(super::shutting_down())).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::Checkpoint>, Status> {
        let pb::GetCheckpointRequest { instance_id } = request.into_inner();
        let log = self.log_of(&instance_id).await?;
        let cp = log.latest_checkpoint().ok_or_else(|| Status::unavailable("no checkpoint yet"))?;
        Ok(Response::new(checkpoint_to_proto(cp)))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        let pb::GetInclusionProofRequest { leaf_index, tree_size, instance_id } = request.into_inner();
        let log = self.log_of(&instance_id).await?;
        let size = resolve_size(&*log, tree_size)?;
        let hashes = log.inclusion_proof(leaf_index, size).map_err(|e| match e {
            ProofError::IndexOutOfRange { .. } => proof_status(e, "leaf_index"),
            _ => proof_status(e, "tree_size"),
        })?;
        Ok(Response::new(pb::InclusionProof {
            leaf_index,
            tree_size: size,
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
        }))
    }

    async fn erase_subject(
        &self,
        request: Request<pb::EraseSubjectRequest>,
    ) -> Result<Response<pb::EraseSubjectResponse>, Status> {
        let caller = caller_of(&request)?;
        caller.require("EraseSubject", &[Role::Admin]).map_err(status_from)?;
        self.erase(&caller, request.into_inner()).await.map(Response::new).map_err(status_from)
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        let pb::GetConsistencyProofRequest { first_size, second_size, instance_id } = request.into_inner();
        let log = self.log_of(&instance_id).await?;
        let second = resolve_size(&*log, second_size)?;
        let hashes = log.consistency_proof(first_size, second).map_err(|e| match e {
            ProofError::SizesReversed { .. } => proof_status(e, "first_size"),
            _ => proof_status(e, "second_size"),
        })?;
        Ok(Response::new(pb::ConsistencyProof {
            first_size,
            second_size: second,
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
        }))
    }
}

impl AuditApi {
    async fn erase(&self, caller: &Caller, r: pb::EraseSubjectRequest) -> Result<pb::EraseSubjectResponse, Error> {
        let pb::EraseSubjectRequest { context, subject, reason } = r;
        let Some(ctx) = context else { return Err(Error::invalid("context", "is required")) };
        let r = EraseRequest { subject, reason, context: super::convert::context_to_domain(ctx) }
            .checked(caller, &self.limits)?;
        let erased = self.log.erase_subject(&r.subject, &r.reason, r.context).await.map_err(Error::from)?;
        Ok(pb::EraseSubjectResponse {
            subject_id: erased.subject_id,
            key_existed: erased.key_existed,
            record_id: erased.record.record_id,
            sequence: erased.record.sequence,
        })
    }
}

/// 0 means "the latest checkpoint"; anything else must exist in the log.
fn resolve_size(log: &dyn LogRead, requested: u64) -> Result<u64, Status> {
    if requested != 0 {
        return Ok(requested);
    }
    log.latest_checkpoint().map(|c| c.tree_size).ok_or_else(|| Status::unavailable("no checkpoint yet"))
}
