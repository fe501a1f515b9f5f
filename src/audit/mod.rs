//! The audit log: every Score decision becomes a durable record before the
//! caller hears the decision.
//!
//! Callers see the [`Journal`] trait only. Today's implementation,
//! [`journal::FileJournal`], is an append-only JSON-lines file with a SHA-256
//! hash chain and group commit; the tamper-evident log (Merkle tree, signed
//! checkpoints, proofs) replaces its internals behind the same trait.

pub mod journal;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::scoring::{Evaluation, ScoreRequest};

/// Version of the record schema written into every record.
pub const SCHEMA_VERSION: u32 = 1;

/// What a record says. Versioned by [`SCHEMA_VERSION`]; new kinds are added,
/// never changed in place.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A Score call: the full request, what every detector found, what was
    /// skipped, and the decision with the policy and detector versions.
    ScoreDecision {
        request: ScoreRequest,
        evaluation: Evaluation,
        approval_id: Option<String>,
        warden_version: &'static str,
    },
}

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub record_id: String,
    pub sequence: u64,
    /// UTC, RFC 3339 with nanoseconds.
    pub recorded_at: String,
    /// Seconds and nanoseconds since the Unix epoch, for the wire format.
    pub recorded_at_unix: (i64, u32),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    #[error("journal I/O: {0}")]
    Io(String),
    #[error("journal is closed")]
    Closed,
    #[error("journal is corrupt at line {line}: {reason}")]
    Corrupt { line: usize, reason: String },
}

pub type AppendFuture<'a> = Pin<Box<dyn Future<Output = Result<Appended, AuditError>> + Send + 'a>>;

/// A durable, ordered log of audit records.
pub trait Journal: Send + Sync + 'static {
    /// Resolves once the record is durable on disk (or fails; then it was
    /// not acknowledged and the caller must not report the decision).
    fn append(&self, entry: Entry) -> AppendFuture<'_>;

    /// Stops taking records, makes everything already accepted durable, and
    /// releases the file. Safe to call more than once.
    fn close(&self) -> Result<(), AuditError>;
}
