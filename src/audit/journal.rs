//! The on-disk audit log under `<data_dir>/audit/`:
//!
//! - `segments/<first seq>.jsonl`: the records, one JSON line each:
//!   `{"record":{…},"leaf":"<hex>","prev":"<hex>","hash":"<hex>"}`. `record`
//!   holds the canonical entry bytes; `leaf = SHA-256(0x00 || record)` is its
//!   RFC 9162 leaf hash; `hash = SHA-256("warden.chain.v2\0" || prev || leaf)`
//!   chains every record to the one before. A segment is closed and a new one
//!   begun once it passes `audit.segment_max_bytes`.
//! - `checkpoints.jsonl`: signed tree heads, one per line.
//! - `signing-key.pem` (unless configured elsewhere) and `instance-id`.
//!
//! One writer thread owns the files. Appends queue on a bounded channel
//! (backpressure rather than unbounded memory); the writer takes everything
//! queued (up to `max_batch`), writes it with one `write` and one
//! `fdatasync`, publishes it to readers, and only then acknowledges each
//! record: a crash loses only records nobody was told about, and one fsync
//! pays for many records. The writer signs a checkpoint whenever
//! `checkpoint_interval_ms` has passed with new records, on close, and
//! while idle every `checkpoint_heartbeat_ms` (see [`super::coverage`] for
//! what those times let a verifier conclude).
//!
//! A client event with a `client_event_id` that repeats one recorded within
//! `audit.dedup_window_secs` (same tenant) is not written again: the writer
//! answers it with the original record (see [`super::dedup`]).
//!
//! On open the log is replayed and checked: a torn last line (a crash mid
//! write) is cut off and reported; a broken chain, a leaf that does not match
//! its record, a checkpoint that the records do not reproduce, or records
//! after the last checkpoint that no live writer left unsigned (more than a
//! window of them, or stamped long after the last signature) refuses to
//! start, because appending to and signing a tampered log would launder it.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot, watch};

use super::checkpoint::{verify_checkpoint, Checkpoint, LogSigner};
use super::coverage;
use super::dedup::{self, Dedup};
use super::merkle::{leaf_hash, Hash, ProofError, Tree};
use super::privacy::{subject_of, Privacy};
use super::record::{RecordIn, RecordOut, CLIENT_EVENT_ID, SCHEMA_VERSION};
use super::{AppendFuture, Appended, AuditError, Entry, Journal};
use crate::config::AuditConfig;
use crate::telemetry;

const CHAIN_DOMAIN: &[u8] = b"warden.chain.v2\0";
const GENESIS: Hash = [0; 32];

pub fn audit_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("audit")
}

fn segments_dir(data_dir: &Path) -> PathBuf {
    audit_dir(data_dir).join("segments")
}

fn checkpoints_path(data_dir: &Path) -> PathBuf {
    audit_dir(data_dir).join("checkpoints.jsonl")
}

/// Whether `data_dir` holds an audit log: every writer (and the signing
/// identity) creates `audit/segments/` first, so its absence means nothing
/// was ever logged there. Tools that must not start a log by accident (a
/// mistyped `--data-dir`) check this before opening anything.
pub fn holds_log(data_dir: &Path) -> bool {
    segments_dir(data_dir).is_dir()
}

/// Where the signing key lives unless `audit.signing_key_file` says otherwise.
pub fn default_key_path(data_dir: &Path) -> PathBuf {
    audit_dir(data_dir).join("signing-key.pem")
}

/// One stored line.
#[derive(Serialize, Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    record: &'a RawValue,
    leaf: String,
    prev: String,
    hash: String,
}

/// A record as read back: its canonical bytes and where it sits in the tree.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub sequence: u64,
    pub record_id: String,
    pub kind: String,
    pub recorded_at: String,
    pub unix_nanos: i128,
    pub canonical: Vec<u8>,
    pub leaf: Hash,
    /// The chain hash of the previous record and of this one.
    pub prev: Hash,
    pub chain: Hash,
}

/// Filters for [`AuditLog::query`]; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub tenant: String,
    pub application: String,
    /// The pseudonymous end user (`context.user_id`).
    pub user_id: String,
    pub session_id: String,
    pub trace_id: String,
    pub tool: String,
    /// `allow`, `review`, `require_approval`, `block`.
    pub decision: String,
    /// A category or a prefix of one (`pii` matches `pii.email`).
    pub category: String,
    /// The record kind (`score_decision`, `approval`, a client event kind).
    pub kind: String,
    pub from_unix_nanos: Option<i128>,
    pub to_unix_nanos: Option<i128>,
    pub limit: usize,
}

#[derive(Debug, Clone)]
struct Location {
    segment: u32,
    offset: u64,
    len: u32,
}

/// What the index keeps per record (the facts queries filter on).
#[derive(Debug, Clone)]
struct Meta {
    unix_nanos: i128,
    tenant: String,
    application: String,
    user: String,
    decision: String,
    categories: Vec<String>,
}

#[derive(Default)]
struct Index {
    session: HashMap<String, Vec<u64>>,
    trace: HashMap<String, Vec<u64>>,
    tool: HashMap<String, Vec<u64>>,
    decision: HashMap<String, Vec<u64>>,
    category: BTreeMap<String, Vec<u64>>,
    kind: HashMap<String, Vec<u64>>,
}

struct State {
    tree: Tree,
    locations: Vec<Location>,
    metas: Vec<Meta>,
    index: Index,
    segments: Vec<Segment>,
    checkpoints: Vec<Checkpoint>,
}

/// One segment: its first sequence number and, unless retention has retired
/// its content, the open file to read records from.
struct Segment {
    first_seq: u64,
    file: Option<Arc<File>>,
}

/// What stays of a segment whose content retention removed: enough to keep
/// the tree, the chain and every checkpoint verifiable.
#[derive(Serialize, Deserialize)]
struct Seal {
    first_seq: u64,
    records: u64,
    /// Chain hash of the segment's last record (the next segment's `prev`).
    last_chain: String,
    first_unix_nanos: i128,
    last_unix_nanos: i128,
    retired_at: String,
}

/// Where record and checkpoint times come from: the system clock in
/// service, a simulated one for fixtures that lay down months of history.
#[derive(Clone, Default)]
pub enum Clock {
    #[default]
    System,
    /// Nanoseconds since the Unix epoch, set by whoever drives the clock.
    Manual(Arc<std::sync::atomic::AtomicI64>),
}

impl Clock {
    pub fn now(&self) -> time::OffsetDateTime {
        match self {
            Clock::System => time::OffsetDateTime::now_utc(),
            Clock::Manual(n) => {
                let nanos = n.load(std::sync::atomic::Ordering::SeqCst) as i128;
                time::OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
            }
        }
    }

    /// A manual clock and the handle that sets it.
    pub fn manual(start: time::OffsetDateTime) -> (Self, ManualClock) {
        let n = Arc::new(std::sync::atomic::AtomicI64::new(start.unix_timestamp_nanos() as i64));
        (Clock::Manual(n.clone()), ManualClock(n))
    }
}

/// Sets a [`Clock::Manual`].
#[derive(Clone)]
pub struct ManualClock(Arc<std::sync::atomic::AtomicI64>);

impl ManualClock {
    pub fn set(&self, t: time::OffsetDateTime) {
        self.0.store(t.unix_timestamp_nanos() as i64, std::sync::atomic::Ordering::SeqCst);
    }
}

struct Shared {
    state: RwLock<State>,
    /// The durable tree size, for `Tail` followers.
    size: watch::Sender<u64>,
    signer: LogSigner,
    privacy: Arc<Privacy>,
    clock: Clock,
    /// How far every downstream store has caught up, when there are any:
    /// retention never retires records a store has not received.
    shipped: Mutex<Option<watch::Receiver<u64>>>,
}

impl Shared {
    fn new(state: State, signer: LogSigner, privacy: Arc<Privacy>, clock: Clock) -> Arc<Self> {
        let size = state.tree.size();
        Arc::new(Shared {
            state: RwLock::new(state),
            size: watch::Sender::new(size),
            signer,
            privacy,
            clock,
            shipped: Mutex::new(None),
        })
    }
}

/// Where the chain stands.
#[derive(Debug, Clone, Copy)]
struct Head {
    next_seq: u64,
    chain: Hash,
}

struct Pending {
    prepared: Prepared,
    ack: oneshot::Sender<Result<Appended, AuditError>>,
}

/// What the writer thread is asked to do.
enum Command {
    Append(Pending),
    /// Sign a checkpoint over everything durable now (none if nothing is new)
    /// and answer with the latest one.
    Checkpoint(oneshot::Sender<Result<Checkpoint, AuditError>>),
}

/// An entry ready for the writer: everything but its place in the log
/// (sequence, id, time, hashes) is computed by the caller, so the one writer
/// thread does as little as possible per record.
struct Prepared {
    kind: String,
    attributes: BTreeMap<&'static str, String>,
    categories: Vec<String>,
    body: Box<RawValue>,
    /// Tenant and `client_event_id` of a client event that has one.
    dedup: Option<dedup::Key>,
}

fn prepare(entry: &Entry, privacy: &Privacy) -> Result<Prepared, AuditError> {
    let body = if privacy.is_raw() {
        serde_json::to_string(entry).map_err(|e| AuditError::Io(format!("encoding record: {e}")))?
    } else {
        let mut v = serde_json::to_value(entry).map_err(|e| AuditError::Io(format!("encoding record: {e}")))?;
        privacy.protect(&mut v, &subject_of(entry.context()))?;
        v.to_string()
    };
    Ok(Prepared {
        kind: entry.kind().to_string(),
        attributes: entry.attributes(),
        categories: entry.categories(),
        body: RawValue::from_string(body).map_err(|e| AuditError::Io(e.to_string()))?,
        dedup: entry.dedup_key(),
    })
}

/// What a verification pass found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub segments: usize,
    pub checkpoints: usize,
    pub root: String,
    pub chain_head: String,
    /// Bytes of a torn final line (crash mid-write), not part of the log.
    pub torn_tail_bytes: u64,
    /// Records no checkpoint covers yet (at most one window of them).
    pub unsigned_records: u64,
    /// Records signed late that an operator accepted at start-up
    /// (`serve --accept-unsigned-tail`, recorded in the log).
    pub accepted_unsigned_records: u64,
}

/// How strictly a replay judges the times checkpoints were signed at
/// (see [`super::coverage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeliness {
    /// Every record: late checkpoints anywhere and an unsigned tail.
    Whole(coverage::Window),
    /// Only the records after the last checkpoint (what opening the log
    /// for writing must not sign over).
    Tail(coverage::Window),
    /// Not judged (a log laid down by a simulated clock, read as is).
    Unchecked,
}

impl Timeliness {
    /// The bounds a log written under `config` is held to: the checkpoint
    /// interval plus its grace, and with heartbeats, the heartbeat on top.
    pub fn window(config: &AuditConfig) -> coverage::Window {
        let ms = |v: u64| v as i128 * 1_000_000;
        let sign = ms(config.checkpoint_interval_ms) + ms(config.checkpoint_grace_ms);
        coverage::Window {
            sign,
            idle: (config.checkpoint_heartbeat_ms > 0).then(|| ms(config.checkpoint_heartbeat_ms) + sign),
        }
    }
}

pub struct AuditLog {
    /// `None` once closed; dropping the sender tells the writer to drain,
    /// sign a last checkpoint and stop.
    tx: Mutex<Option<mpsc::Sender<Command>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
    /// Held (with an exclusive lock) while this process may write, so two
    /// processes never append to one log; released by `close`.
    lock: Mutex<Option<File>>,
    /// When stores lag: how far they have caught up, and what to do past
    /// the bound. `None` without sinks.
    backlog: Mutex<Option<Backlog>>,
}

#[derive(Clone)]
struct Backlog {
    shipped: watch::Receiver<u64>,
    limit: u64,
    mode: crate::config::BacklogMode,
}

/// The outcome of an erasure.
#[derive(Debug, Clone)]
pub struct Erased {
    pub record: Appended,
    pub subject_id: String,
    pub key_existed: bool,
}

impl AuditLog {
    pub fn open(data_dir: &Path, config: &AuditConfig) -> Result<Self, AuditError> {
        Self::open_with_clock(data_dir, config, Clock::System)
    }

    /// [`AuditLog::open`] with record and checkpoint times from `clock`.
    pub fn open_with_clock(data_dir: &Path, config: &AuditConfig, clock: Clock) -> Result<Self, AuditError> {
        let signer = load_signer(data_dir, config)?;
        let lock = lock(data_dir)?;
        let privacy = Arc::new(Privacy::open(&audit_dir(data_dir), &config.privacy)?);

        // The replay reads every record anyway; it also refills the map of
        // event ids recorded within the window, so retries de-duplicate
        // across restarts.
        // Opening for writing signs whatever follows the last checkpoint,
        // so a tail longer than one window (checkpoints deleted, records
        // added) is refused unless an operator accepts it, on the record.
        let window = Timeliness::window(config);
        let now = clock.now().unix_timestamp_nanos();
        let mut dedup = Dedup::new(config.dedup_window_secs);
        let mut accepted = None;
        let replayed =
            match replay(data_dir, true, &signer.verifying_key(), Some((&mut dedup, now)), Timeliness::Tail(window)) {
                Err(AuditError::Unsigned(reason)) if config.accept_unsigned_tail => {
                    accepted = Some(reason);
                    dedup = Dedup::new(config.dedup_window_secs);
                    replay(data_dir, true, &signer.verifying_key(), Some((&mut dedup, now)), Timeliness::Unchecked)?
                }
                Err(AuditError::Unsigned(reason)) => {
                    return Err(AuditError::Unsigned(format!(
                        "{reason}. Warden will not sign over them; `warden audit verify` shows the whole log, and \
                     `warden serve --accept-unsigned-tail` signs them with a record saying so"
                    )))
                }
                other => other?,
            };
        if replayed.report.torn_tail_bytes > 0 {
            tracing::warn!(
                bytes = replayed.report.torn_tail_bytes,
                "recovered the audit log: cut a torn last line left by a crash (never acknowledged)"
            );
        }
        tracing::info!(
            records = replayed.report.records,
            segments = replayed.report.segments,
            checkpoints = replayed.report.checkpoints,
            event_ids = dedup.len(),
            "audit log open"
        );
        let head = replayed.head;
        let (segment_path, segment_id, segment_len) = replayed.open_segment;
        let shared = Shared::new(replayed.state, signer, privacy, clock);
        let mut writer =
            Writer::new(data_dir, shared.clone(), head, segment_path, segment_id, segment_len, config, dedup)?;
        if let Some(reason) = accepted {
            let first_sequence =
                writer.shared.state.read().expect("audit state lock").checkpoints.last().map_or(0, |c| c.tree_size);
            let last_sequence = writer.head.next_seq.saturating_sub(1);
            let entry = Entry::UnsignedTailAccepted {
                context: crate::scoring::Context::default(),
                actor: format!("operator: serve --accept-unsigned-tail ({})", whoami()),
                first_sequence,
                last_sequence,
                reason,
            };
            let appended = writer.append_now(&entry)?;
            tracing::warn!(
                first_sequence,
                last_sequence,
                record = appended.sequence,
                "signing records no checkpoint covered, as told (--accept-unsigned-tail); recorded"
            );
        }
        // A log that has records beyond its last checkpoint (a crash before
        // the next one) gets one now, so every record is covered at once.
        writer.checkpoint_if_behind()?;

        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let handle = std::thread::Builder::new()
            .name("warden-journal".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| AuditError::Io(format!("starting the journal writer: {e}")))?;
        Ok(Self {
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            shared,
            lock: Mutex::new(Some(lock)),
            backlog: Mutex::new(None),
        })
    }

    /// Opens the log for reading only (queries, exports, verification next
    /// to a running server): no lock, no repair, no writer, no new key.
    pub fn open_read_only(data_dir: &Path, config: &AuditConfig) -> Result<Self, AuditError> {
        let key_path = config.signing_key_file.clone().unwrap_or_else(|| default_key_path(data_dir));
        if !key_path.exists() {
            return Err(AuditError::Io(format!("no audit log under {}", data_dir.display())));
        }
        let signer = load_signer(data_dir, config)?;
        let privacy = Arc::new(Privacy::open(&audit_dir(data_dir), &config.privacy)?);
        let replayed = replay(data_dir, false, &signer.verifying_key(), None, Timeliness::Unchecked)?;
        let shared = Shared::new(replayed.state, signer, privacy, Clock::System);
        Ok(Self {
            tx: Mutex::new(None),
            writer: Mutex::new(None),
            shared,
            lock: Mutex::new(None),
            backlog: Mutex::new(None),
        })
    }

    /// Signs a checkpoint over every durable record now, unless the latest
    /// one already covers them all, and returns the latest checkpoint. A
    /// compliance report calls this so its evidence covers its own record.
    pub async fn checkpoint(&self) -> Result<Checkpoint, AuditError> {
        let tx = self.tx.lock().expect("journal lock").clone().ok_or(AuditError::Closed)?;
        let (ack, done) = oneshot::channel();
        tx.send(Command::Checkpoint(ack)).await.map_err(|_| AuditError::Closed)?;
        done.await.map_err(|_| AuditError::Closed)?
    }

    /// The clock records are stamped with.
    pub fn now(&self) -> time::OffsetDateTime {
        self.shared.clock.now()
    }

    /// A record as stored, with encrypted fields of erased subjects marked
    /// `{"$erased": ...}` and nothing decrypted (what the console shows).
    pub fn mark_erased(&self, canonical: &[u8]) -> Result<serde_json::Value, AuditError> {
        self.shared.privacy.mark_erased(canonical)
    }

    /// A record with its encrypted fields decrypted where the data
    /// subject's key still exists (`{"$erased": ...}` where it does not).
    pub fn reveal(&self, canonical: &[u8]) -> Result<serde_json::Value, AuditError> {
        self.shared.privacy.reveal(canonical)
    }

    /// Crypto-shreds a data subject (`user:<id>`, `session:<id>` or
    /// `tenant:<id>`) and records that it happened.
    pub async fn erase_subject(
        &self,
        subject: &str,
        reason: &str,
        context: crate::scoring::Context,
    ) -> Result<Erased, AuditError> {
        let (subject_id, key_existed) = self.shared.privacy.erase(subject)?;
        let entry =
            Entry::SubjectErased { context, subject_id: subject_id.clone(), reason: reason.to_string(), key_existed };
        Ok(Erased { record: self.append(entry).await?, subject_id, key_existed })
    }

    /// When record `seq` was recorded (from memory; no disk read).
    pub fn recorded_unix_nanos(&self, seq: u64) -> Option<i128> {
        self.shared.state.read().expect("audit state lock").metas.get(seq as usize).map(|m| m.unix_nanos)
    }

    /// Bounds how far downstream stores may lag behind new appends.
    pub fn set_backlog(&self, shipped: watch::Receiver<u64>, limit: u64, mode: crate::config::BacklogMode) {
        *self.shared.shipped.lock().expect("shipped lock") = Some(shipped.clone());
        *self.backlog.lock().expect("backlog lock") = Some(Backlog { shipped, limit, mode });
    }

    /// The log's identity for downstream stores.
    pub fn origin(&self) -> String {
        self.shared.signer.origin().to_string()
    }

    /// Number of durable records (the tree size).
    pub fn size(&self) -> u64 {
        *self.shared.size.borrow()
    }

    /// Resolves whenever the durable size changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.size.subscribe()
    }

    pub fn public_key(&self) -> super::checkpoint::PublicKey {
        super::checkpoint::public_key(&self.shared.signer)
    }

    pub fn latest_checkpoint(&self) -> Option<Checkpoint> {
        self.shared.state.read().expect("audit state lock").checkpoints.last().cloned()
    }

    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        self.shared.state.read().expect("audit state lock").checkpoints.clone()
    }

    /// The checkpoints that bear on the period `[from, to)` (Unix nanos),
    /// oldest first: the last one before it, the last of each UTC day in it,
    /// and the first at or after its end. A busy log signs one every few
    /// seconds; a daily chain keeps a period's evidence small while every
    /// record stays covered (consistency proofs span any two sizes).
    pub fn checkpoints_for_period(&self, from: i128, to: i128) -> Vec<Checkpoint> {
        const DAY: i128 = 86_400 * 1_000_000_000;
        let state = self.shared.state.read().expect("audit state lock");
        let all = &state.checkpoints;
        let start = all.partition_point(|c| c.unix_nanos < from);
        let end = all.partition_point(|c| c.unix_nanos < to);
        let mut out: Vec<Checkpoint> = Vec::new();
        if start > 0 {
            out.push(all[start - 1].clone());
        }
        for (i, c) in all[start..end].iter().enumerate() {
            let last_of_day =
                all.get(start + i + 1).is_none_or(|n| n.unix_nanos.div_euclid(DAY) != c.unix_nanos.div_euclid(DAY));
            if last_of_day || start + i + 1 == end {
                out.push(c.clone());
            }
        }
        if let Some(after) = all.get(end) {
            out.push(after.clone());
        }
        out
    }

    pub fn root(&self, size: u64) -> Result<Hash, ProofError> {
        self.shared.state.read().expect("audit state lock").tree.root(size)
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.shared.state.read().expect("audit state lock").tree.inclusion_proof(index, size)
    }

    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
        self.shared.state.read().expect("audit state lock").tree.consistency_proof(first, second)
    }

    /// Reads one durable record.
    pub fn record(&self, seq: u64) -> Result<Option<StoredRecord>, AuditError> {
        let (file, loc, leaf, unix_nanos) = {
            let state = self.shared.state.read().expect("audit state lock");
            let Some(loc) = state.locations.get(seq as usize).cloned() else { return Ok(None) };
            // Content removed by retention: the leaf stays in the tree, the
            // record is gone.
            let Some(file) = state.segments[loc.segment as usize].file.clone() else { return Ok(None) };
            let leaf = state.tree.leaf(seq).expect("every located record has a leaf");
            (file, loc, leaf, state.metas[seq as usize].unix_nanos)
        };
        let mut buf = vec![0u8; loc.len as usize];
        read_exact_at(&file, &mut buf, loc.offset).map_err(|e| AuditError::Io(e.to_string()))?;
        let line: Line<'_> =
            serde_json::from_slice(&buf).map_err(|e| AuditError::Corrupt(format!("record {seq}: {e}")))?;
        let rec: RecordIn =
            serde_json::from_str(line.record.get()).map_err(|e| AuditError::Corrupt(format!("record {seq}: {e}")))?;
        let hash32 = |h: &str| -> Result<Hash, AuditError> {
            hex::decode(h)
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .ok_or_else(|| AuditError::Corrupt(format!("record {seq}: bad hash")))
        };
        Ok(Some(StoredRecord {
            prev: hash32(&line.prev)?,
            chain: hash32(&line.hash)?,
            sequence: rec.seq,
            record_id: rec.id,
            kind: rec.kind,
            recorded_at: rec.recorded_at,
            unix_nanos,
            canonical: line.record.get().as_bytes().to_vec(),
            leaf,
        }))
    }

    /// Sequence numbers of the records matching `q`, oldest first, answered
    /// from the index: the most selective filter's posting list is walked and
    /// the other filters are checked per record.
    pub fn query(&self, q: &Query) -> Vec<u64> {
        let state = self.shared.state.read().expect("audit state lock");
        let idx = &state.index;
        let empty: Vec<u64> = Vec::new();
        let mut lists: Vec<&Vec<u64>> = Vec::new();
        for (value, map) in [
            (&q.session_id, &idx.session),
            (&q.trace_id, &idx.trace),
            (&q.tool, &idx.tool),
            (&q.decision, &idx.decision),
            (&q.kind, &idx.kind),
        ] {
            if !value.is_empty() {
                lists.push(map.get(value.as_str()).unwrap_or(&empty));
            }
        }
        let category_seqs: Option<Vec<u64>> = (!q.category.is_empty()).then(|| {
            let mut seqs: Vec<u64> = idx
                .category
                .range(q.category.clone()..)
                .take_while(|(k, _)| k.starts_with(&q.category))
                .filter(|(k, _)| *k == &q.category || k.as_bytes().get(q.category.len()) == Some(&b'.'))
                .flat_map(|(_, v)| v.iter().copied())
                .collect();
            seqs.sort_unstable();
            seqs.dedup();
            seqs
        });
        if let Some(c) = &category_seqs {
            lists.push(c);
        }
        let n = state.metas.len() as u64;
        // Time ranges narrow by binary search: records are in time order.
        let lo = q.from_unix_nanos.map_or(0, |t| state.metas.partition_point(|m| m.unix_nanos < t) as u64);
        let hi = q.to_unix_nanos.map_or(n, |t| state.metas.partition_point(|m| m.unix_nanos < t) as u64);
        let limit = if q.limit == 0 { usize::MAX } else { q.limit };
        let matches = |seq: u64| -> bool {
            let m = &state.metas[seq as usize];
            (seq >= lo && seq < hi)
                && (q.tenant.is_empty() || m.tenant == q.tenant)
                && (q.application.is_empty() || m.application == q.application)
                && (q.user_id.is_empty() || m.user == q.user_id)
                && (q.decision.is_empty() || m.decision == q.decision)
                && (q.category.is_empty()
                    || m.categories.iter().any(|c| c == &q.category || c.starts_with(&format!("{}.", q.category))))
        };
        let mut out = Vec::new();
        match lists.iter().min_by_key(|l| l.len()) {
            Some(best) => {
                let others: Vec<&&Vec<u64>> = lists.iter().filter(|l| !std::ptr::eq(**l, *best)).collect();
                for &seq in best.iter() {
                    if matches(seq) && others.iter().all(|l| l.binary_search(&seq).is_ok()) {
                        out.push(seq);
                        if out.len() >= limit {
                            break;
                        }
                    }
                }
            }
            None => {
                for seq in lo..hi {
                    if matches(seq) {
                        out.push(seq);
                        if out.len() >= limit {
                            break;
                        }
                    }
                }
            }
        }
        out
    }
}

impl AuditLog {
    /// Appends a record Warden writes about its own operation from where
    /// the backlog bound must not apply: the shippers, which are what lowers
    /// the backlog (waiting on it there would deadlock; refusing would lose
    /// the record). Otherwise the same as [`Journal::append`].
    pub fn append_system(&self, entry: Entry) -> AppendFuture<'_> {
        self.append_with(entry, false)
    }

    fn append_with(&self, entry: Entry, bounded: bool) -> AppendFuture<'_> {
        let tx = self.tx.lock().expect("journal lock").clone();
        let privacy = self.shared.privacy.clone();
        let backlog = if bounded { self.backlog.lock().expect("backlog lock").clone() } else { None };
        let size = self.shared.size.subscribe();
        Box::pin(async move {
            let started = Instant::now();
            let result = async {
                let tx = tx.ok_or(AuditError::Closed)?;
                if let Some(b) = backlog {
                    wait_for_backlog(b, size).await?;
                }
                // Raw records are serialised right here; protected ones may
                // read or create key files, which is blocking work.
                let prepared = if privacy.is_raw() {
                    prepare(&entry, &privacy)?
                } else {
                    tokio::task::spawn_blocking(move || prepare(&entry, &privacy))
                        .await
                        .map_err(|e| AuditError::Io(e.to_string()))??
                };
                let (ack, done) = oneshot::channel();
                tx.send(Command::Append(Pending { prepared, ack })).await.map_err(|_| AuditError::Closed)?;
                done.await.map_err(|_| AuditError::Closed)?
            }
            .await;
            match &result {
                Ok(_) => telemetry::audit_appended(started.elapsed()),
                Err(e) => {
                    tracing::error!(error = %e, "audit append failed");
                    telemetry::audit_failed();
                }
            }
            result
        })
    }
}

impl Journal for AuditLog {
    fn append(&self, entry: Entry) -> AppendFuture<'_> {
        self.append_with(entry, true)
    }

    fn close(&self) -> Result<(), AuditError> {
        drop(self.tx.lock().expect("journal lock").take());
        if let Some(writer) = self.writer.lock().expect("journal lock").take() {
            writer.join().map_err(|_| AuditError::Io("journal writer panicked".into()))?;
        }
        drop(self.lock.lock().expect("journal lock").take());
        Ok(())
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The writer thread's own state: the open segment and the chain head.
struct Writer {
    data_dir: PathBuf,
    shared: Arc<Shared>,
    head: Head,
    file: File,
    segment_id: u32,
    segment_len: u64,
    segment_max: u64,
    max_batch: usize,
    checkpoint_every: Duration,
    last_checkpoint: Instant,
    /// While idle, sign again this often (the same size, a new time).
    heartbeat: Option<Duration>,
    last_signed: Instant,
    /// Content older than this is retired in whole segments; `None` keeps all.
    retention: Option<Duration>,
    /// Client event ids recorded within the window: checked and filled here,
    /// on the one thread that orders appends.
    dedup: Dedup,
}

impl Writer {
    fn new(
        data_dir: &Path,
        shared: Arc<Shared>,
        head: Head,
        segment_path: PathBuf,
        segment_id: u32,
        segment_len: u64,
        config: &AuditConfig,
        dedup: Dedup,
    ) -> Result<Self, AuditError> {
        let file =
            OpenOptions::new().create(true).append(true).open(&segment_path).map_err(|e| io_err(&segment_path, e))?;
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            shared,
            head,
            file,
            segment_id,
            segment_len,
            segment_max: config.segment_max_bytes,
            max_batch: config.max_batch,
            checkpoint_every: Duration::from_millis(config.checkpoint_interval_ms),
            last_checkpoint: Instant::now(),
            heartbeat: (config.checkpoint_heartbeat_ms > 0)
                .then(|| Duration::from_millis(config.checkpoint_heartbeat_ms)),
            last_signed: Instant::now(),
            retention: (config.retention_seconds > 0).then(|| Duration::from_secs(config.retention_seconds)),
            dedup,
        })
    }

    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        // A tiny runtime of its own lets this thread wait for records with a
        // timeout, so checkpoints go out on time even when traffic stops.
        let rt = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "journal writer cannot start");
                return;
            }
        };
        loop {
            let wait =
                self.checkpoint_every.saturating_sub(self.last_checkpoint.elapsed()).max(Duration::from_millis(1));
            match rt.block_on(async { tokio::time::timeout(wait, rx.recv()).await }) {
                Ok(Some(first)) => {
                    let mut batch = Vec::new();
                    let mut next = Some(first);
                    while let Some(command) = next.take() {
                        match command {
                            Command::Append(p) => batch.push(p),
                            Command::Checkpoint(ack) => {
                                // Everything asked for before it is written first.
                                if !batch.is_empty() {
                                    self.write_batch(std::mem::take(&mut batch));
                                }
                                let result = self.checkpoint_if_behind().and_then(|()| {
                                    let state = self.shared.state.read().expect("audit state lock");
                                    state.checkpoints.last().cloned().ok_or(AuditError::Io("the log is empty".into()))
                                });
                                let _ = ack.send(result);
                            }
                        }
                        if batch.len() < self.max_batch {
                            next = rx.try_recv().ok();
                        }
                    }
                    if !batch.is_empty() {
                        self.write_batch(batch);
                    }
                }
                Ok(None) => break,
                Err(_) => {}
            }
            if self.last_checkpoint.elapsed() >= self.checkpoint_every {
                if let Err(e) = self.checkpoint_if_behind() {
                    tracing::error!(error = %e, "signing a checkpoint failed");
                }
                if let Err(e) = self.retire_expired() {
                    tracing::error!(error = %e, "retiring expired audit segments failed");
                }
            }
        }
        if let Err(e) = self.checkpoint_if_behind() {
            tracing::error!(error = %e, "signing the final checkpoint failed");
        }
        let _ = self.file.sync_all();
    }

    /// Appends one record before the writer thread runs (at open).
    fn append_now(&mut self, entry: &Entry) -> Result<Appended, AuditError> {
        let prepared = prepare(entry, &self.shared.privacy)?;
        let (ack, mut done) = oneshot::channel();
        self.write_batch(vec![Pending { prepared, ack }]);
        done.try_recv().map_err(|_| AuditError::Io("the writer did not answer".into()))?
    }

    fn write_batch(&mut self, batch: Vec<Pending>) {
        let start_head = self.head;
        let mut buf = Vec::with_capacity(batch.len() * 2048);
        let mut encoded = Vec::with_capacity(batch.len());
        self.dedup.expire(self.shared.clock.now().unix_timestamp_nanos());
        // Keys first recorded by this batch, undone if it is not written.
        let mut remembered = 0;
        for p in &batch {
            // A repeat (of a durable record, or of one earlier in this batch)
            // is answered with the original once the batch is durable.
            if let Some(original) = p.prepared.dedup.as_ref().and_then(|k| self.dedup.original(k)) {
                encoded.push(Ok(Placed::Repeat(original.clone())));
                continue;
            }
            match encode(&p.prepared, &mut self.head, self.shared.clock.now()) {
                Ok(e) => {
                    if let Some(key) = &p.prepared.dedup {
                        if self.dedup.enabled() {
                            self.dedup.insert(key.clone(), &e.appended, e.meta.unix_nanos);
                            remembered += 1;
                        }
                    }
                    encoded.push(Ok(Placed::New(e)))
                }
                Err(e) => encoded.push(Err(e)),
            }
        }
        if self.segment_len > 0 && self.segment_len + estimate(&encoded) > self.segment_max {
            if let Err(e) = self.roll() {
                self.head = start_head;
                self.dedup.undo_last(remembered);
                return fail_all(batch, e);
            }
        }
        let mut placed = Vec::with_capacity(batch.len());
        for e in new_records(&encoded) {
            placed.push(Location {
                segment: self.segment_id,
                offset: self.segment_len + buf.len() as u64,
                len: e.line.len() as u32,
            });
            buf.extend_from_slice(&e.line);
            buf.push(b'\n');
        }
        let written =
            if buf.is_empty() { Ok(()) } else { self.file.write_all(&buf).and_then(|()| self.file.sync_data()) };
        if let Err(e) = written {
            // Nothing in this batch is acknowledged; undo whatever part of it
            // reached the file so the chain stays whole.
            let _ = self.file.set_len(self.segment_len);
            self.head = start_head;
            self.dedup.undo_last(remembered);
            return fail_all(batch, io_err(&self.data_dir, e));
        }
        self.segment_len += buf.len() as u64;
        telemetry::audit_batch(batch.len());
        {
            let mut state = self.shared.state.write().expect("audit state lock");
            for (e, loc) in new_records(&encoded).zip(placed) {
                state.publish(e, loc);
            }
            let size = state.tree.size();
            drop(state);
            self.shared.size.send_replace(size);
        }
        for (p, e) in batch.into_iter().zip(encoded) {
            let _ = p.ack.send(e.map(|e| match e {
                Placed::New(e) => e.appended,
                Placed::Repeat(original) => original,
            }));
        }
    }

    /// Closes the current segment and starts the next, named by its first
    /// sequence number.
    fn roll(&mut self) -> Result<(), AuditError> {
        self.file.sync_all().map_err(|e| io_err(&self.data_dir, e))?;
        let path = segments_dir(&self.data_dir).join(segment_name(self.head_seq_of_segment_start()));
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_err(&path, e))?;
        sync_dir(&segments_dir(&self.data_dir));
        let reader = File::open(&path).map_err(|e| io_err(&path, e))?;
        let first_seq = self.head_seq_of_segment_start();
        let mut state = self.shared.state.write().expect("audit state lock");
        state.segments.push(Segment { first_seq, file: Some(Arc::new(reader)) });
        self.segment_id = (state.segments.len() - 1) as u32;
        drop(state);
        self.file = file;
        self.segment_len = 0;
        Ok(())
    }

    /// The first sequence number the new segment will hold: the first record
    /// of the batch being written (already counted into `head`).
    fn head_seq_of_segment_start(&self) -> u64 {
        self.shared.state.read().expect("audit state lock").tree.size()
    }

    /// Retires every closed segment whose newest record is older than the
    /// retention period: its leaf hashes and a seal are written (and synced)
    /// first, then the content is deleted. The tree, the chain and every
    /// checkpoint stay verifiable; the records themselves are gone.
    fn retire_expired(&mut self) -> Result<(), AuditError> {
        let Some(retention) = self.retention else { return Ok(()) };
        let cutoff = self.shared.clock.now().unix_timestamp_nanos() - retention.as_nanos() as i128;
        let seg_dir = segments_dir(&self.data_dir);
        let shipped = self.shared.shipped.lock().expect("shipped lock").as_ref().map_or(u64::MAX, |r| *r.borrow());
        let candidates: Vec<(usize, u64, u64, i128, i128, Vec<u8>)> = {
            let state = self.shared.state.read().expect("audit state lock");
            let mut out = Vec::new();
            // Never the segment being written.
            for id in 0..self.segment_id as usize {
                let seg = &state.segments[id];
                if seg.file.is_none() {
                    continue;
                }
                let end = state.segments.get(id + 1).map_or(state.tree.size(), |s| s.first_seq);
                if end == seg.first_seq {
                    continue;
                }
                let last_time = state.metas[end as usize - 1].unix_nanos;
                if last_time >= cutoff || end > shipped {
                    break; // segments are in time order; unshipped content stays
                }
                let leaves: Vec<u8> =
                    (seg.first_seq..end).flat_map(|i| state.tree.leaf(i).expect("leaf in range")).collect();
                out.push((id, seg.first_seq, end, state.metas[seg.first_seq as usize].unix_nanos, last_time, leaves));
            }
            out
        };
        for (id, first, end, first_time, last_time, leaves) in candidates {
            let path = seg_dir.join(segment_name(first));
            let last_chain = last_chain_hash(&path)?;
            let lp = leaves_path(&seg_dir, first);
            write_synced(&lp, &leaves)?;
            let seal = Seal {
                first_seq: first,
                records: end - first,
                last_chain,
                first_unix_nanos: first_time,
                last_unix_nanos: last_time,
                retired_at: self
                    .shared
                    .clock
                    .now()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            };
            let sp = seal_path(&seg_dir, first);
            write_synced(&sp, &serde_json::to_vec(&seal).map_err(|e| AuditError::Io(e.to_string()))?)?;
            sync_dir(&seg_dir);
            self.shared.state.write().expect("audit state lock").segments[id].file = None;
            std::fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
            sync_dir(&seg_dir);
            tracing::info!(
                first,
                records = end - first,
                "retired audit segment past retention (tree and checkpoints kept)"
            );
        }
        Ok(())
    }

    fn checkpoint_if_behind(&mut self) -> Result<(), AuditError> {
        self.last_checkpoint = Instant::now();
        let (size, root, behind) = {
            let state = self.shared.state.read().expect("audit state lock");
            let size = state.tree.size();
            let behind = state.checkpoints.last().is_none_or(|c| c.tree_size < size);
            (size, state.tree.root(size).expect("root of the whole tree"), behind)
        };
        let heartbeat = self.heartbeat.is_some_and(|h| self.last_signed.elapsed() >= h);
        if !behind && !heartbeat {
            return Ok(());
        }
        let cp = self.shared.signer.sign(size, root, self.shared.clock.now());
        self.last_signed = Instant::now();
        let path = checkpoints_path(&self.data_dir);
        let mut line = serde_json::to_vec(&cp).map_err(|e| AuditError::Io(e.to_string()))?;
        line.push(b'\n');
        let mut f = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_err(&path, e))?;
        f.write_all(&line).and_then(|()| f.sync_data()).map_err(|e| io_err(&path, e))?;
        self.shared.state.write().expect("audit state lock").checkpoints.push(cp);
        telemetry::audit_checkpoint();
        Ok(())
    }
}

/// Holds (or refuses) an append while the slowest store is `limit` records
/// or more behind.
async fn wait_for_backlog(mut b: Backlog, size: watch::Receiver<u64>) -> Result<(), AuditError> {
    loop {
        // The backlog gauge is the shippers' (`sink::Progress`), set from
        // the log's head and their cursors, so it moves during outages too.
        let pending = size.borrow().saturating_sub(*b.shipped.borrow());
        if pending < b.limit {
            return Ok(());
        }
        match b.mode {
            crate::config::BacklogMode::FailClosed => {
                return Err(AuditError::Backlog(format!(
                    "{pending} records are waiting to be shipped (limit {}); refusing new records",
                    b.limit
                )))
            }
            crate::config::BacklogMode::Block => {
                if b.shipped.changed().await.is_err() {
                    return Err(AuditError::Closed);
                }
            }
        }
    }
}

fn fail_all(batch: Vec<Pending>, err: AuditError) {
    for p in batch {
        let _ = p.ack.send(Err(err.clone()));
    }
}

fn estimate(encoded: &[Result<Placed, AuditError>]) -> u64 {
    new_records(encoded).map(|e| e.line.len() as u64 + 1).sum()
}

/// What the writer made of one queued append.
enum Placed {
    /// A new record, to be written.
    New(Encoded),
    /// A repeat of a client event recorded within the window: nothing is
    /// written, the ack names the original.
    Repeat(Appended),
}

/// The records of a batch that are written, in order.
fn new_records(encoded: &[Result<Placed, AuditError>]) -> impl Iterator<Item = &Encoded> {
    encoded.iter().filter_map(|e| match e {
        Ok(Placed::New(e)) => Some(e),
        _ => None,
    })
}

struct Encoded {
    line: Vec<u8>,
    leaf: Hash,
    appended: Appended,
    meta: Meta,
    keys: IndexKeys,
}

/// The posting-list keys of one record.
struct IndexKeys {
    session: String,
    trace: String,
    tool: String,
    kind: String,
}

impl State {
    fn publish(&mut self, e: &Encoded, loc: Location) {
        let seq = e.appended.sequence;
        self.tree.push(e.leaf);
        self.locations.push(loc);
        self.index.add(seq, &e.keys, &e.meta);
        self.metas.push(e.meta.clone());
    }
}

impl Index {
    fn add(&mut self, seq: u64, keys: &IndexKeys, meta: &Meta) {
        for (map, key) in [
            (&mut self.session, &keys.session),
            (&mut self.trace, &keys.trace),
            (&mut self.tool, &keys.tool),
            (&mut self.kind, &keys.kind),
        ] {
            if !key.is_empty() {
                map.entry(key.clone()).or_default().push(seq);
            }
        }
        if !meta.decision.is_empty() {
            self.decision.entry(meta.decision.clone()).or_default().push(seq);
        }
        for c in &meta.categories {
            self.category.entry(c.clone()).or_default().push(seq);
        }
    }
}

fn index_facts(
    kind: &str,
    attributes: &BTreeMap<String, String>,
    categories: Vec<String>,
    unix_nanos: i128,
) -> (Meta, IndexKeys) {
    let get = |k: &str| attributes.get(k).cloned().unwrap_or_default();
    (
        Meta {
            unix_nanos,
            tenant: get("warden.tenant"),
            application: get("warden.application"),
            user: get("user.id"),
            decision: get("warden.decision"),
            categories,
        },
        IndexKeys {
            session: get("gen_ai.conversation.id"),
            trace: get("trace_id"),
            tool: get("gen_ai.tool.name"),
            kind: kind.to_string(),
        },
    )
}

fn encode(p: &Prepared, head: &mut Head, now: time::OffsetDateTime) -> Result<Encoded, AuditError> {
    let recorded_at =
        now.format(&time::format_description::well_known::Rfc3339).map_err(|e| AuditError::Io(e.to_string()))?;
    let id = uuid::Uuid::now_v7().to_string();
    let record = RecordOut {
        v: SCHEMA_VERSION,
        seq: head.next_seq,
        id: &id,
        recorded_at: &recorded_at,
        kind: &p.kind,
        attributes: &p.attributes,
        categories: &p.categories,
        body: &p.body,
    };
    let record_json = serde_json::to_string(&record).map_err(|e| AuditError::Io(format!("encoding record: {e}")))?;
    let leaf = leaf_hash(record_json.as_bytes());
    let hash = chain_hash(&head.chain, &leaf);
    let raw = RawValue::from_string(record_json).map_err(|e| AuditError::Io(e.to_string()))?;
    let line = serde_json::to_vec(&Line {
        record: &raw,
        leaf: hex::encode(leaf),
        prev: hex::encode(head.chain),
        hash: hex::encode(hash),
    })
    .map_err(|e| AuditError::Io(e.to_string()))?;
    let attrs: BTreeMap<String, String> = p.attributes.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let (meta, keys) = index_facts(&p.kind, &attrs, p.categories.clone(), now.unix_timestamp_nanos());
    let appended = Appended {
        record_id: id,
        sequence: head.next_seq,
        recorded_at,
        recorded_at_unix: (now.unix_timestamp(), now.nanosecond()),
    };
    head.next_seq += 1;
    head.chain = hash;
    Ok(Encoded { line, leaf, appended, meta, keys })
}

/// `SHA-256("warden.chain.v2\0" || prev || leaf)`.
pub fn chain_hash(prev: &Hash, leaf: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(CHAIN_DOMAIN);
    h.update(prev);
    h.update(leaf);
    h.finalize().into()
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.jsonl")
}

struct Replayed {
    state: State,
    head: Head,
    /// The segment to keep appending to: path, id, valid length.
    open_segment: (PathBuf, u32, u64),
    report: VerifyReport,
}

/// Checks the whole log at `data_dir` without changing it: every record's
/// leaf hash and chain link, sequence numbers without gaps, and every
/// checkpoint's signature (with `key`) and root against the records.
///
/// With [`Timeliness::Whole`], it also fails when checkpoints are missing:
/// records signed only long after they were written (other than a crash
/// tail or a tail an operator accepted), or more than one window of records
/// after the last checkpoint.
pub fn verify(
    data_dir: &Path,
    key: &ed25519_dalek::VerifyingKey,
    timeliness: Timeliness,
) -> Result<VerifyReport, AuditError> {
    if !audit_dir(data_dir).exists() {
        return Err(AuditError::Io(format!("no audit log under {}", data_dir.display())));
    }
    replay(data_dir, false, key, None, timeliness).map(|r| r.report)
}

/// Checks the local log at `data_dir` against a checkpoint of it kept
/// elsewhere (published to a store, or held by a witness): signed by `key`,
/// and reproduced by the local records. A log cut short, or rewritten
/// together with its local checkpoints, fails here even when it verifies on
/// its own.
pub fn check_published(
    data_dir: &Path,
    key: &ed25519_dalek::VerifyingKey,
    published: &Checkpoint,
) -> Result<(), AuditError> {
    verify_checkpoint(published, key).map_err(|e| AuditError::Corrupt(format!("the published checkpoint: {e}")))?;
    let replayed = replay(data_dir, false, key, None, Timeliness::Unchecked)?;
    let size = replayed.state.tree.size();
    let root = replayed.state.tree.root(published.tree_size).map_err(|_| {
        AuditError::Corrupt(format!(
            "the log holds {size} records but a checkpoint published at {} covers {} (records were removed)",
            published.time, published.tree_size
        ))
    })?;
    if root != published.root {
        return Err(AuditError::Corrupt(format!(
            "the records do not reproduce the root of the checkpoint published at {} for size {} (records were \
             changed)",
            published.time, published.tree_size
        )));
    }
    Ok(())
}

/// The log's signing identity: the configured or default key (created on
/// first use) under the configured or default origin. Touches no records.
pub fn load_signer(data_dir: &Path, config: &AuditConfig) -> Result<LogSigner, AuditError> {
    let dir = audit_dir(data_dir);
    std::fs::create_dir_all(segments_dir(data_dir)).map_err(|e| io_err(&dir, e))?;
    let origin = match &config.origin {
        Some(o) => o.clone(),
        None => format!("warden/{}", instance_id(&dir)?),
    };
    let key_path = config.signing_key_file.clone().unwrap_or_else(|| default_key_path(data_dir));
    LogSigner::load_or_create(&key_path, origin)
}

/// Reads a public key from a PEM file (a public key, or the private key
/// itself when run next to the log).
pub fn read_public_key(path: &Path) -> Result<ed25519_dalek::VerifyingKey, AuditError> {
    use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
    let pem = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    if pem.contains("PRIVATE KEY") {
        let sk = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| AuditError::Io(format!("{}: {e}", path.display())))?;
        return Ok(sk.verifying_key());
    }
    ed25519_dalek::VerifyingKey::from_public_key_pem(&pem)
        .map_err(|e| AuditError::Io(format!("{}: {e}", path.display())))
}

/// Replays the log; with `dedup` (the map and the time now), also
/// remembers the client event ids recorded within its window.
fn replay(
    data_dir: &Path,
    repair: bool,
    key: &ed25519_dalek::VerifyingKey,
    mut dedup: Option<(&mut Dedup, i128)>,
    timeliness: Timeliness,
) -> Result<Replayed, AuditError> {
    let seg_dir = segments_dir(data_dir);
    // Segments by first sequence number: live ones (`.jsonl`) and retired
    // ones (`.seal` with `.leaves`).
    let mut firsts: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
    match std::fs::read_dir(&seg_dir) {
        Ok(rd) => {
            for p in rd.filter_map(|e| e.ok().map(|e| e.path())) {
                let is_segment = p.extension().is_some_and(|x| x == "jsonl" || x == "seal");
                if let (true, Some(first)) =
                    (is_segment, p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok()))
                {
                    firsts.insert(first);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&seg_dir, e)),
    }

    let mut state = State {
        tree: Tree::new(),
        locations: Vec::new(),
        metas: Vec::new(),
        index: Index::default(),
        segments: Vec::new(),
        checkpoints: Vec::new(),
    };
    let mut head = Head { next_seq: 0, chain: GENESIS };
    let mut torn = 0u64;
    let mut last_len = 0u64;
    // For the timeliness check: each record's time (`None` once retired)
    // and where operators accepted an unsigned tail.
    let mut times: Vec<Option<i128>> = Vec::new();
    let mut markers: Vec<u64> = Vec::new();
    let firsts: Vec<u64> = firsts.into_iter().collect();
    for (id, &first) in firsts.iter().enumerate() {
        let path = seg_dir.join(segment_name(first));
        let is_last = id + 1 == firsts.len();
        if first != head.next_seq {
            return Err(AuditError::Corrupt(format!(
                "segment {} should start at record {} (a segment was removed or renamed)",
                path.display(),
                head.next_seq
            )));
        }
        if !path.exists() {
            load_seal(&seg_dir, first, &mut state, &mut head, id as u32)?;
            times.resize(head.next_seq as usize, None);
            state.segments.push(Segment { first_seq: first, file: None });
            continue;
        }
        let file = File::open(&path).map_err(|e| io_err(&path, e))?;
        let mut reader = BufReader::new(file);
        let mut offset = 0u64;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(|e| io_err(&path, e))? as u64;
            if n == 0 {
                break;
            }
            let complete = buf.last() == Some(&b'\n');
            if !complete {
                if !is_last {
                    return Err(AuditError::Corrupt(format!("{}: truncated record inside the log", path.display())));
                }
                // A last line without its newline was cut short by a crash
                // before its fsync: it was never acknowledged.
                torn = n;
                break;
            }
            let body = &buf[..buf.len() - 1];
            let (leaf, rec) = check_line(body, &mut head).map_err(|reason| {
                AuditError::Corrupt(format!("{} at byte {offset} (record {}): {reason}", path.display(), head.next_seq))
            })?;
            let unix_nanos =
                time::OffsetDateTime::parse(&rec.recorded_at, &time::format_description::well_known::Rfc3339)
                    .map(|t| t.unix_timestamp_nanos())
                    .unwrap_or_default();
            let seq = rec.seq;
            if let Some((d, now)) = dedup.as_mut() {
                if let Some(id) = rec.attributes.get(CLIENT_EVENT_ID).filter(|_| d.covers(unix_nanos, *now)) {
                    let tenant = rec.attributes.get("warden.tenant").cloned().unwrap_or_default();
                    let appended = Appended {
                        record_id: rec.id.clone(),
                        sequence: seq,
                        recorded_at: rec.recorded_at.clone(),
                        recorded_at_unix: (
                            unix_nanos.div_euclid(1_000_000_000) as i64,
                            unix_nanos.rem_euclid(1_000_000_000) as u32,
                        ),
                    };
                    d.insert((tenant, id.clone()), &appended, unix_nanos);
                }
            }
            times.push(Some(unix_nanos));
            if rec.kind == coverage::UNSIGNED_TAIL_ACCEPTED {
                markers.push(seq);
            }
            let (meta, keys) = index_facts(&rec.kind, &rec.attributes, rec.categories, unix_nanos);
            state.tree.push(leaf);
            state.locations.push(Location { segment: id as u32, offset, len: body.len() as u32 });
            state.index.add(seq, &keys, &meta);
            state.metas.push(meta);
            offset += n;
        }
        if is_last {
            last_len = offset;
            if torn > 0 && repair {
                let f = OpenOptions::new().write(true).open(&path).map_err(|e| io_err(&path, e))?;
                f.set_len(offset).map_err(|e| io_err(&path, e))?;
                f.sync_all().map_err(|e| io_err(&path, e))?;
            }
        }
        state
            .segments
            .push(Segment { first_seq: first, file: Some(Arc::new(File::open(&path).map_err(|e| io_err(&path, e))?)) });
    }
    // The segment to append to: the last live one, or a new one when there
    // is none (a fresh log, or every segment retired).
    let open_segment = match state.segments.last() {
        Some(seg) if seg.file.is_some() => {
            (seg_dir.join(segment_name(seg.first_seq)), (state.segments.len() - 1) as u32, last_len)
        }
        _ => {
            let path = seg_dir.join(segment_name(head.next_seq));
            if repair {
                File::create(&path).map_err(|e| io_err(&path, e))?;
                let file = Arc::new(File::open(&path).map_err(|e| io_err(&path, e))?);
                state.segments.push(Segment { first_seq: head.next_seq, file: Some(file) });
            }
            (path, state.segments.len().saturating_sub(1) as u32, 0)
        }
    };

    state.checkpoints = load_checkpoints(data_dir, repair)?;
    for cp in &state.checkpoints {
        verify_checkpoint(cp, key).map_err(AuditError::Corrupt)?;
        let root = state.tree.root(cp.tree_size).map_err(|_| {
            AuditError::Corrupt(format!(
                "checkpoint at size {} but the log holds only {} records (records were removed)",
                cp.tree_size,
                state.tree.size()
            ))
        })?;
        if root != cp.root {
            return Err(AuditError::Corrupt(format!(
                "the records do not reproduce the signed root of checkpoint {} (records were changed)",
                cp.tree_size
            )));
        }
    }
    let signed: Vec<coverage::Signed> = state
        .checkpoints
        .iter()
        .map(|c| coverage::Signed { tree_size: c.tree_size, unix_nanos: c.unix_nanos })
        .collect();
    let records = coverage::Records { times: &times, accepted_markers: &markers };
    let judged = match timeliness {
        Timeliness::Whole(w) => coverage::check(&records, &signed, w),
        Timeliness::Tail(w) => coverage::check_tail(&records, &signed, w),
        Timeliness::Unchecked => Ok(coverage::Coverage::default()),
    };
    let covered = judged.map_err(|e| AuditError::Unsigned(e.to_string()))?;
    let report = VerifyReport {
        records: state.tree.size(),
        segments: state.segments.len(),
        checkpoints: state.checkpoints.len(),
        root: hex::encode(state.tree.root(state.tree.size()).expect("whole tree")),
        chain_head: hex::encode(head.chain),
        torn_tail_bytes: torn,
        unsigned_records: covered.unsigned,
        accepted_unsigned_records: covered.accepted,
    };
    Ok(Replayed { state, head, open_segment, report })
}

fn seal_path(seg_dir: &Path, first: u64) -> PathBuf {
    seg_dir.join(format!("{first:020}.seal"))
}

fn leaves_path(seg_dir: &Path, first: u64) -> PathBuf {
    seg_dir.join(format!("{first:020}.leaves"))
}

/// Loads a retired segment: its leaf hashes go back into the tree (so every
/// root and proof still works) and the chain continues from its seal.
fn load_seal(seg_dir: &Path, first: u64, state: &mut State, head: &mut Head, id: u32) -> Result<(), AuditError> {
    let sp = seal_path(seg_dir, first);
    let seal: Seal = serde_json::from_slice(&std::fs::read(&sp).map_err(|e| io_err(&sp, e))?)
        .map_err(|e| AuditError::Corrupt(format!("{}: {e}", sp.display())))?;
    let lp = leaves_path(seg_dir, first);
    let leaves = std::fs::read(&lp).map_err(|e| io_err(&lp, e))?;
    if seal.first_seq != first || leaves.len() as u64 != seal.records * 32 {
        return Err(AuditError::Corrupt(format!("{}: does not match its leaves", sp.display())));
    }
    for (k, leaf) in leaves.chunks_exact(32).enumerate() {
        state.tree.push(leaf.try_into().expect("32-byte chunk"));
        state.locations.push(Location { segment: id, offset: 0, len: 0 });
        let t = if k == 0 { seal.first_unix_nanos } else { seal.last_unix_nanos };
        state.metas.push(Meta {
            unix_nanos: t,
            tenant: String::new(),
            application: String::new(),
            user: String::new(),
            decision: String::new(),
            categories: Vec::new(),
        });
    }
    let chain = hex::decode(&seal.last_chain)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| AuditError::Corrupt(format!("{}: bad chain hash", sp.display())))?;
    head.next_seq = first + seal.records;
    head.chain = chain;
    Ok(())
}

fn check_line(body: &[u8], head: &mut Head) -> Result<(Hash, RecordIn), String> {
    let line: Line<'_> = serde_json::from_slice(body).map_err(|e| format!("not a journal line: {e}"))?;
    let bytes = line.record.get().as_bytes();
    let leaf = leaf_hash(bytes);
    if line.leaf != hex::encode(leaf) {
        return Err("the record was modified: its leaf hash does not match its bytes".into());
    }
    if line.prev != hex::encode(head.chain) {
        return Err(
            "prev does not match the previous record's hash (a record was removed, inserted or reordered)".into()
        );
    }
    let hash = chain_hash(&head.chain, &leaf);
    if line.hash != hex::encode(hash) {
        return Err("chain hash does not match".into());
    }
    let rec: RecordIn = serde_json::from_slice(bytes).map_err(|e| format!("not a record: {e}"))?;
    if rec.v != SCHEMA_VERSION {
        return Err(format!("record schema version {} is not {SCHEMA_VERSION}", rec.v));
    }
    if rec.seq != head.next_seq {
        return Err(format!("sequence {} where {} was expected", rec.seq, head.next_seq));
    }
    head.next_seq += 1;
    head.chain = hash;
    Ok((leaf, rec))
}

fn load_checkpoints(data_dir: &Path, repair: bool) -> Result<Vec<Checkpoint>, AuditError> {
    let path = checkpoints_path(data_dir);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&path, e)),
    };
    let mut out: Vec<Checkpoint> = Vec::new();
    let mut valid = 0usize;
    for chunk in text.split_inclusive(|b| *b == b'\n') {
        if chunk.last() != Some(&b'\n') {
            break; // torn by a crash before its fsync
        }
        let cp: Checkpoint = serde_json::from_slice(&chunk[..chunk.len() - 1])
            .map_err(|e| AuditError::Corrupt(format!("{}: checkpoint {}: {e}", path.display(), out.len())))?;
        if out.last().is_some_and(|p| p.tree_size > cp.tree_size) {
            return Err(AuditError::Corrupt(format!(
                "{}: checkpoints go backwards at {}",
                path.display(),
                cp.tree_size
            )));
        }
        valid += chunk.len();
        out.push(cp);
    }
    if repair && valid < text.len() {
        let f = OpenOptions::new().write(true).open(&path).map_err(|e| io_err(&path, e))?;
        f.set_len(valid as u64).map_err(|e| io_err(&path, e))?;
    }
    Ok(out)
}

/// Who runs this process, as the environment says (for the record an
/// operator's override leaves).
fn whoami() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown user".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    if host.is_empty() {
        user
    } else {
        format!("{user}@{host}")
    }
}

fn instance_id(dir: &Path) -> Result<String, AuditError> {
    let path = dir.join("instance-id");
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => {
            let id = uuid::Uuid::now_v7().to_string();
            std::fs::write(&path, format!("{id}\n")).map_err(|e| io_err(&path, e))?;
            Ok(id)
        }
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset).map(|_| ())
}

/// The chain hash of a segment file's last record.
fn last_chain_hash(path: &Path) -> Result<String, AuditError> {
    let text = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let last = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .next_back()
        .ok_or_else(|| AuditError::Corrupt(format!("{}: empty segment", path.display())))?;
    let line: Line<'_> =
        serde_json::from_slice(last).map_err(|e| AuditError::Corrupt(format!("{}: {e}", path.display())))?;
    Ok(line.hash)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let mut f = File::create(path).map_err(|e| io_err(path, e))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| io_err(path, e))
}

/// Takes the log's exclusive lock, or says who holds it.
fn lock(data_dir: &Path) -> Result<File, AuditError> {
    let path = audit_dir(data_dir).join("LOCK");
    let f = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| io_err(&path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(AuditError::Io(format!(
            "the audit log under {} is in use by another Warden process (stop it, or use its AuditService)",
            data_dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&path, e)),
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn io_err(path: &Path, e: std::io::Error) -> AuditError {
    AuditError::Io(format!("{}: {e}", path.display()))
}
