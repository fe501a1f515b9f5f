//! The audit log: every Score decision and every client event becomes a
//! durable, tamper-evident record before anyone is told it exists.
//!
//! - [`record`]: the versioned record schema and its canonical bytes.
//! - [`merkle`]: the RFC 9162 tree, proofs and their verification.
//! - [`checkpoint`]: Ed25519-signed tree heads in the C2SP note format.
//! - [`cosign`]: witness cosignatures and verifier keys (C2SP).
//! - [`privacy`]: per-field storage (raw, redacted, hashed, encrypted) and
//!   erasure of a data subject by crypto-shredding.
//! - [`export`]: evidence bundles for auditors.
//! - [`journal`]: the on-disk log (segments, group commit, recovery), the
//!   query index, reads for proofs and tailing, and `verify`.
//! - [`coverage`]: whether every record was signed in time (what
//!   deleted checkpoints cannot hide).
//! - [`dedup`]: idempotent `Append`: client event ids recorded within the
//!   de-duplication window, checked by the journal's writer.
//!
//! The engine sees only the [`Journal`] trait.

pub mod checkpoint;
pub mod cosign;
pub mod coverage;
pub mod dedup;
pub mod export;
pub mod journal;
pub mod merkle;
pub mod privacy;
pub mod record;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

pub use record::Entry;

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub record_id: String,
    /// Sequence number, which is also the record's leaf index in the tree.
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
    #[error("journal is corrupt: {0}")]
    Corrupt(String),
    #[error("downstream stores are behind: {0}")]
    Backlog(String),
    /// Records no checkpoint signed in time: missing checkpoints, or
    /// records added after the fact (see [`coverage`]).
    #[error("audit log has unsigned records: {0}")]
    Unsigned(String),
}

pub type AppendFuture<'a> = Pin<Box<dyn Future<Output = Result<Appended, AuditError>> + Send + 'a>>;

/// A durable, ordered log of audit records.
pub trait Journal: Send + Sync + 'static {
    /// Resolves once the record is durable on disk (or fails; then it was
    /// not acknowledged and the caller must not report the decision).
    fn append(&self, entry: Entry) -> AppendFuture<'_>;

    /// Stops taking records, makes everything already accepted durable,
    /// signs a final checkpoint, and releases the files. Safe to call twice.
    fn close(&self) -> Result<(), AuditError>;
}
