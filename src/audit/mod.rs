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
//! - [`search`]: one way to ask the log, for every front-end.
//! - [`dedup`]: idempotent `Append`: client event ids recorded within the
//!   de-duplication window, checked by the journal's writer.
//!
//! The engine sees only the [`Journal`] trait.

pub mod checkpoint;
pub mod cosign;
pub mod coverage;
pub mod dedup;
pub mod erasure;
pub mod export;
pub mod journal;
pub mod merkle;
pub mod privacy;
pub mod read;
pub mod record;
pub mod search;

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

/// The log failing is the service being unavailable: nothing is answered
/// without its record.
impl From<AuditError> for crate::error::Error {
    fn from(e: AuditError) -> Self {
        crate::error::Error::AuditUnavailable(e.to_string())
    }
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

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Most records made durable by one fsync (group commit).
    pub max_batch: usize,
    /// Records waiting for the writer before appends wait (backpressure).
    pub queue_capacity: usize,
    /// A signed checkpoint is issued at least this often while records arrive.
    pub checkpoint_interval_ms: u64,
    /// How much later than `checkpoint_interval_ms` a checkpoint may be
    /// signed before `audit verify` (and opening the log for writing) calls
    /// the records it covers unsigned: a slow disk, a long batch.
    pub checkpoint_grace_ms: u64,
    /// While no records arrive, a checkpoint (of the same size, with a new
    /// time) is still signed this often, so that a record stamped long after
    /// the last signature with none in between is known not to come from a
    /// live writer. 0 turns heartbeats off.
    pub checkpoint_heartbeat_ms: u64,
    /// Open the log for writing even when records after the last
    /// checkpoint span more than the interval plus its grace (checkpoints
    /// deleted, or a writer that could not sign): they are signed, and an
    /// `unsigned_tail_accepted` record says so. Set by `serve
    /// --accept-unsigned-tail` for one start; never from a config file.
    #[serde(skip)]
    pub accept_unsigned_tail: bool,
    /// Witnesses every checkpoint is sent to for a cosignature (C2SP
    /// `tlog-witness`; `warden witness` is one). Each needs this log's
    /// verifier key (`warden audit pubkey`) in its own configuration.
    pub witnesses: Vec<WitnessTarget>,
    /// A segment file is closed and a new one started past this size.
    pub segment_max_bytes: u64,
    /// The log's name in its checkpoints; `warden/<instance id>` by default.
    pub origin: Option<String>,
    /// Ed25519 PKCS#8 PEM signing key; created under the data dir if absent.
    pub signing_key_file: Option<std::path::PathBuf>,
    /// Seconds record content is kept, retired in whole segments (the Merkle
    /// tree and checkpoints are kept for ever). Default 183 days (six months,
    /// EU AI Act Art. 19 / 26(6)); 0 keeps everything.
    pub retention_seconds: u64,
    /// What content fields store: raw, redacted, hash or encrypt.
    pub privacy: crate::audit::privacy::PrivacyConfig,
    /// Seconds within which an appended event that repeats a
    /// `(tenant, client_event_id)` is answered with the original record
    /// instead of being written again (a client retrying after a lost ack).
    /// Default one day; 0 turns de-duplication off.
    pub dedup_window_secs: u64,
}

/// A witness the log sends its checkpoints to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessTarget {
    /// Its HTTP submission prefix (`http://host:port`).
    pub url: String,
    /// Its C2SP verifier key (`<name>+<key id>+<key>`, type 0x04): only
    /// cosignatures by this key are kept.
    pub vkey: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            max_batch: 512,
            queue_capacity: 4096,
            checkpoint_interval_ms: 2_000,
            checkpoint_grace_ms: 30_000,
            checkpoint_heartbeat_ms: 300_000,
            accept_unsigned_tail: false,
            witnesses: Vec::new(),
            segment_max_bytes: 64 * 1024 * 1024,
            origin: None,
            signing_key_file: None,
            retention_seconds: 183 * 86_400,
            privacy: crate::audit::privacy::PrivacyConfig::default(),
            dedup_window_secs: 86_400,
        }
    }
}

/// What appends do while the slowest downstream store is more than
/// `sinks.max_backlog_records` behind: wait (`block`) or fail with
/// UNAVAILABLE (`fail_closed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BacklogMode {
    Block,
    FailClosed,
}
